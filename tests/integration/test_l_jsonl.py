#!/usr/bin/python3
"""(l) The jsonl collector end to end: a simulated telephony trace, turned
into generic JSON call events, is pushed by a client through reachd's UNIX
socket in pieces (a partial line among them), with bad objects in between;
reachd is killed with SIGKILL half-way and restarted. reach.calls, the
aggregates, Redis and reachctl equal the simulator's truth exactly, and each
bad object is rejected once with the reason.
"""

import json
import os
import socket

import lib


def events(tr):
    """The JSON events of every finished and open call, in time order."""
    out = []
    for c in tr.calls:
        base = {"kind": "call", "callid": c.callid, "queue": c.queue}
        out.append((c.entered, 0, dict(base, event="enter", time=c.entered)))
        if c.outcome == "answered":
            out.append((c.entered + c.wait, 1, dict(base, event="connect", time=c.entered + c.wait,
                                                    wait_s=c.wait, agent=c.agent)))
            ev = "transfer" if c.transferred else "complete"
            end = dict(base, event=ev, time=c.ended, reason=c.end_reason, agent=c.agent)
            if c.talk is not None:
                end["talk_s"] = c.talk
            if not c.transferred:
                end["wait_s"] = c.wait
            out.append((c.ended, 2, end))
        else:
            ev = "abandon" if c.outcome == "abandoned" else "exit"
            out.append((c.ended, 2, dict(base, event=ev, time=c.ended, wait_s=c.wait,
                                         reason=c.end_reason)))
    for o in tr.open:
        base = {"kind": "call", "callid": o.callid, "queue": o.queue}
        out.append((o.entered, 0, dict(base, event="enter", time=o.entered)))
        if o.connected:
            out.append((o.connected, 1, dict(base, event="connect", time=o.connected,
                                             wait_s=o.connected - o.entered, agent=o.agent)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [json.dumps(e, ensure_ascii=False).encode() + b"\n" for _, _, e in out]


BAD = [b'{"kind":"call","event":"enter","time":"yesterday","callid":"x","queue":"q"}\n',
       b'[1,2,3]\n',
       b'{"kind":"call","event":"enter","time":1795000000}\n']


def connect(sock_path, alive):
    """A connection, once the daemon listens (a stale socket file may be
    there before it does)."""
    box = []

    def ok():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock_path)
        except OSError:
            s.close()
            return False
        box.append(s)
        return True
    lib.wait_until(ok, 30, "reachd to listen on %s" % sock_path, alive=alive)
    return box[0]


def write_config(env, path, sock, spool):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join([
            "[daemon]", "commit_interval = 200ms", "refresh_interval = 1s",
            "[postgres]", "conninfo = %s" % env.pg.conninfo(),
            "[redis]", "address = unix:%s" % env.redis.sock, "[http]", "listen = 127.0.0.1:%d" % lib.free_port(),
            '[collector "pbx"]', "type = jsonl", "socket = %s" % sock, "spool = %s" % spool,
            "site = prefecture", "service_level = 20s", "short_abandon = 5s"]) + "\n")


def main():
    with lib.Env("l") as env:
        trace = env.simulate(name="t", days=2, queues=3, seed=31, flavour="20")
        tr = trace.truth()
        lines = events(tr)
        sock, spool = env.path("pbx.sock"), env.path("spool")
        cfg = env.path("jsonl.conf")
        write_config(env, cfg, sock, spool)
        d = env.start_reachd(cfg)
        half = len(lines) // 2
        first = b"".join(lines[:half]) + BAD[0]
        spooled = os.path.join(spool, "pbx.jsonl")
        c = connect(sock, d.alive)
        c.sendall(first[:-30])             # a partial last line ...
        lib.wait_until(lambda: os.path.exists(spooled) and os.path.getsize(spooled) > 0, 30,
                       "the spool to grow", alive=d.alive)
        c.sendall(first[-30:])             # ... completed later on the same connection
        c.close()
        lib.wait_until(lambda: os.path.getsize(spooled) == len(first), 30,
                       "the first half in the spool", alive=d.alive)
        lib.wait_consumed(env, "prefecture", spooled, daemon=d)
        d.kill9()

        d = env.start_reachd(cfg, name="reachd-2")
        c = connect(sock, d.alive)
        c.sendall(BAD[1] + b"".join(lines[half:]) + BAD[2])
        c.close()
        lib.wait_until(lambda: os.path.getsize(spooled) >= len(b"".join(lines)) + sum(map(len, BAD)),
                       60, "every line in the spool", alive=d.alive)
        lib.wait_consumed(env, "prefecture", spooled, daemon=d)

        ck = lib.Checker("(l) jsonl socket")
        conn = env.db()
        lib.check_calls(ck, conn, tr, "prefecture")
        lib.check_aggregates(ck, conn, tr, "prefecture")
        rej = lib.q(conn, "SELECT reason FROM reach.source_lines WHERE kind = 'rejected'"
                          " ORDER BY \"offset\"")
        ck.eq("rejected objects", 3, len(rej))
        ck.ok(any("time" in r[0] for r in rej), "the bad time is named: %r" % rej)
        ck.ok(any("object" in r[0] for r in rej), "the non-object is named: %r" % rej)
        ck.ok(any("callid" in r[0] for r in rej), "the missing callid is named: %r" % rej)
        conn.close()
        lib.check_redis(ck, env, tr, "prefecture", daemon=d)
        lib.check_live(ck, env, tr, "prefecture")
        lib.check_reachctl(ck, env, cfg, tr, "prefecture")
        ck.eq("exit status after SIGTERM", 0, d.term())
        ck.done()


if __name__ == "__main__":
    lib.run(main)
