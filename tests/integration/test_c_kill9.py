#!/usr/bin/python3
"""(c) kill -9 at several random points while a large trace is ingested,
restarting each time (once during start-up, the others at random offsets in
the file, and once with the log rotated while the daemon was down): the final
calls, aggregates, views, Redis windows and reachctl equal the truth exactly,
with no call counted twice.

Env: REACHD_TEST_SEED, REACHD_TEST_SCALE (rate scale of the trace, default 4),
REACHD_TEST_KILLS (default 6).
"""

import sys

sys.dont_write_bytecode = True

import os
import random
import time

import lib


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    scale = float(os.environ.get("REACHD_TEST_SCALE", "4"))
    kills = int(os.environ.get("REACHD_TEST_KILLS", "6"))
    lib.log("seed %d, scale %g, %d kills" % (seed, scale, kills))
    rnd = random.Random(seed)
    with lib.Env("c") as env:
        tr_ = env.simulate(days=14, queues=6, flavour="mixed", seed=seed, rate_scale=scale)
        site = tr_.site
        data = tr_.data()
        cut = data.index(b"\n", int(len(data) * 0.8)) + 1
        logdir = env.path("asterisk")
        os.makedirs(logdir)
        path = os.path.join(logdir, "queue_log")
        lib.append(path, data[:cut])
        cfg = env.config(path, site=site)
        conn = env.db()
        rotate_after = max(1, kills // 2)
        rotated = False
        # offsets (fractions of the file) of the kills before the rotation
        targets = [0.0] + sorted(rnd.uniform(0.05, 0.95) for _ in range(rotate_after - 1)) + [1.0] * kills
        for i in range(kills):
            d = env.start_reachd(cfg, name="reachd-%d" % i)
            if i == 0:
                # during start-up (migrations, first transaction)
                time.sleep(rnd.uniform(0.02, 0.4))
                where = "start-up"
            elif not rotated:
                size = os.path.getsize(path)
                target = int(size * targets[i])

                def reached():
                    d.alive()
                    c = lib.cursor_row(conn, site)
                    return c is not None and (c["offset"] >= target or c["offset"] == size)
                try:
                    lib.wait_until(reached, 300, "cursor offset >= %d" % target, interval=0.01)
                except lib.TestFailure:
                    raise
                # and a little further, mid-transaction
                time.sleep(rnd.uniform(0, 0.15))
                where = "offset >= %d of %d" % (target, size)
            else:
                # once the daemon has made progress (or finished), a little later
                c0 = lib.cursor_row(conn, site)
                new_ino = os.stat(path).st_ino
                size = os.path.getsize(path)

                def moved():
                    d.alive()
                    c = lib.cursor_row(conn, site)
                    return c is not None and (c != c0 or (c["ino"] == new_ino and c["offset"] == size))
                lib.wait_until(moved, 300, "the cursor to move after a restart", interval=0.01)
                time.sleep(rnd.uniform(0.0, 0.2))
                where = "progress after the rotation"
            c = lib.cursor_row(conn, site)
            d.kill9()
            lib.log("kill %d at %s (cursor offset then %s)" % (i, where, c and c["offset"]))
            if i + 1 == rotate_after:
                os.rename(path, path + ".1")
                lib.append(path, data[cut:])
                rotated = True
                lib.log("log rotated while reachd is down")
        conn.close()
        if not rotated:
            os.rename(path, path + ".1")
            lib.append(path, data[cut:])
        d = env.start_reachd(cfg, name="reachd-final")
        lib.wait_consumed(env, site, path, daemon=d, timeout=300)
        tr = tr_.truth()
        ck = lib.Checker("(c) kill -9")
        lib.check_everything(ck, env, cfg, tr, site, daemon=d, rnd=rnd)
        conn = env.db()
        n = lib.q(conn, "SELECT count(*), count(DISTINCT (site, queue, callid, entered_at)) FROM reach.calls")[0]
        ck.eq("reach.calls rows vs distinct keys", n[1], n[0])
        ck.eq("reach.calls rows", len(tr.calls), n[0])
        conn.close()
        rc = d.term()
        ck.eq("exit status after SIGTERM", 0, rc)
        ck.done()


if __name__ == "__main__":
    lib.run(main)
