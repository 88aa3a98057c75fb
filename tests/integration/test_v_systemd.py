#!/usr/bin/python3
"""(v) systemd's notification protocol (Type=notify, WatchdogSec=), spoken by
the real reachd over $NOTIFY_SOCKET to a datagram socket of the test:
READY=1 once started, WATCHDOG=1 at half the period of $WATCHDOG_USEC while
the loop turns (none for another process's $WATCHDOG_PID), RELOADING=1 then
READY=1 around a SIGHUP, STOPPING=1 at SIGTERM, and exit status 0.
"""

import sys

sys.dont_write_bytecode = True

import os
import signal
import socket
import time

import lib


class Notify:
    """The socket systemd would listen on; collects what reachd says."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.got = []  # (monotonic time, message)

    def drain(self):
        while True:
            try:
                msg = self.sock.recv(4096).decode()
            except BlockingIOError:
                return self.got
            self.got.append((time.monotonic(), msg))

    def count(self, msg):
        return sum(1 for _, m in self.drain() if m == msg)

    def close(self):
        self.sock.close()


def main():
    with lib.Env("v") as env:
        ck = lib.Checker("(v) systemd notify")
        tr = env.simulate(days=0.2, queues=1, seed=3)
        cfg = env.config(tr.log, site=tr.site)
        n = Notify(env.path("notify.sock"))
        period_s = 1.0
        t0 = time.monotonic()
        d = env.start_reachd(cfg, extra_env={"NOTIFY_SOCKET": n.path,
                                             "WATCHDOG_USEC": str(int(period_s * 1e6))})
        lib.wait_until(lambda: n.count("READY=1") >= 1, 30, "READY=1", alive=d.alive)
        lib.wait_until(lambda: n.count("WATCHDOG=1") >= 4, 30, "four WATCHDOG=1", alive=d.alive)
        dogs = [t for t, m in n.drain() if m == "WATCHDOG=1"]
        gaps = [b - a for a, b in zip(dogs, dogs[1:])]
        ck.ok(all(0.3 <= g <= 0.9 for g in gaps),
              "WATCHDOG=1 every half period (%.1fs): gaps %r" % (period_s / 2, gaps))
        ck.ok(dogs[0] - t0 <= period_s * 2, "first WATCHDOG=1 after %.2fs" % (dogs[0] - t0))
        before = n.count("READY=1")
        d.proc.send_signal(signal.SIGHUP)
        lib.wait_until(lambda: n.count("READY=1") > before, 30, "READY=1 after the reload",
                       alive=d.alive)
        msgs = [m for _, m in n.drain()]
        ck.ok("RELOADING=1" in msgs and msgs.index("RELOADING=1") < len(msgs) - 1 - msgs[::-1].index("READY=1"),
              "RELOADING=1 before the last READY=1: %r" % msgs[-6:])
        ck.eq("exit status after SIGTERM", 0, d.term())
        ck.eq("STOPPING=1 sent", 1, n.count("STOPPING=1"))

        # a watchdog meant for another process (WATCHDOG_PID) is not fed
        n.got.clear()
        d = env.start_reachd(cfg, name="reachd-other-pid",
                             extra_env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "400000",
                                        "WATCHDOG_PID": "1"})
        lib.wait_until(lambda: n.count("READY=1") >= 1, 30, "READY=1 (second run)",
                       alive=d.alive)
        # two heartbeats of the daemon in Redis (refresh_interval 1s): the loop
        # turned for over a second, five periods of that watchdog
        rc = env.rcli()
        key = "reach:{%s}:daemon" % lib.esc(tr.site)
        seen = set()
        lib.wait_until(lambda: seen.add(rc.hget(key, "updated_at")) or len(seen - {None}) >= 2,
                       30, "two heartbeats", interval=0.1, alive=d.alive)
        ck.eq("exit status after SIGTERM (second run)", 0, d.term())
        ck.eq("no WATCHDOG=1 for another process's watchdog", 0, n.count("WATCHDOG=1"))
        n.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
