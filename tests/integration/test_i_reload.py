#!/usr/bin/python3
"""(i) SIGHUP reload without losing state: a collector added by a reload
starts; an unchanged one keeps running (not restarted, cursor kept); a changed
one restarts from its committed cursor and open calls; a configuration with
errors is refused and the running one kept; a removed collector stops.
Totals stay exact for both sources throughout.
"""

import os
import signal

import lib


def write_config(env, path, sections):
    lines = ["[daemon]", "commit_interval = 200ms", "refresh_interval = 1s",
             "[postgres]", "conninfo = %s" % env.pg.conninfo(),
             "[redis]", "address = unix:%s" % env.redis.sock, "[http]", "listen = 127.0.0.1:%d" % lib.free_port()]
    for name, log, site, short in sections:
        lines += ['[collector "%s"]' % name, "type = queuelog", "path = %s" % log,
                  "site = %s" % site, "service_level = 20s", "short_abandon = %s" % short]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def log_text(d):
    with open(d.logfile, "rb") as f:
        return f.read().decode("utf-8", "replace")


def hup_and_wait(d, marker_count):
    """SIGHUP, then poll the log until one more reload was handled."""
    d.proc.send_signal(signal.SIGHUP)
    lib.wait_until(lambda: log_text(d).count("SIGHUP: reloading") > marker_count, 30,
                   "the reload to be handled", alive=d.alive)


def main():
    with lib.Env("i") as env:
        ta = env.simulate(name="a", site="prefecture", days=2, queues=3, seed=11)
        tb = env.simulate(name="b", site="sous-prefecture", days=2, queues=3, seed=12)
        a_parts = ta.pieces(2, whole_seconds=True)
        live_a = env.path("live_a.log")
        lib.append(live_a, a_parts[0])
        cfg = env.path("reload.conf")
        write_config(env, cfg, [("pbx", live_a, ta.site, "5s")])
        d = env.start_reachd(cfg)
        lib.wait_consumed(env, ta.site, live_a, daemon=d)

        # 1. add a collector; pbx unchanged
        write_config(env, cfg, [("pbx", live_a, ta.site, "5s"), ("pbx2", tb.log, tb.site, "5s")])
        hup_and_wait(d, 0)
        lib.wait_consumed(env, tb.site, tb.log, collector="pbx2", daemon=d)
        ck = lib.Checker("(i) reload")
        ck.ok("collector pbx changed" not in log_text(d), "unchanged collector pbx was restarted")
        ck.ok("collector pbx2 started" in log_text(d), "new collector pbx2 did not start")

        # 2. a configuration with an error is refused; everything keeps running
        with open(cfg, "a", encoding="utf-8") as f:
            f.write("[collector \"broken\"]\ntype = queuelog\nbogus_key = 1\n")
        hup_and_wait(d, 1)
        ck.ok("keeping the running one" in log_text(d), "a bad configuration was not refused")

        # 3. change pbx (short_abandon stays 5s in the truth: change another
        #    harmless key order and value of max_call) and feed the rest
        write_config(env, cfg, [("pbx2", tb.log, tb.site, "5s"), ("pbx", live_a, ta.site, "5s")])
        with open(cfg, "a", encoding="utf-8") as f:
            f.write("max_call = 5h\n")
        hup_and_wait(d, 2)
        ck.ok("reload: collector pbx changed" in log_text(d), "changed collector pbx was not restarted")
        ck.ok("collector pbx2 changed" not in log_text(d), "unchanged pbx2 was restarted")
        lib.append(live_a, a_parts[1])
        lib.wait_consumed(env, ta.site, live_a, daemon=d)

        # 4. remove pbx2
        write_config(env, cfg, [("pbx", live_a, ta.site, "5s")])
        with open(cfg, "a", encoding="utf-8") as f:
            f.write("max_call = 5h\n")
        hup_and_wait(d, 3)
        ck.ok("reload: collector pbx2 removed" in log_text(d), "removed collector pbx2 still running")
        ck.eq("exit status after SIGTERM", 0, d.term())

        conn = env.db()
        lib.check_calls(ck, conn, ta.truth(), ta.site, label="reach.calls site A")
        lib.check_calls(ck, conn, tb.truth(), tb.site, collector="pbx2", label="reach.calls site B")
        lib.check_aggregates(ck, conn, ta.truth(), ta.site)
        lib.check_aggregates(ck, conn, tb.truth(), tb.site)
        conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
