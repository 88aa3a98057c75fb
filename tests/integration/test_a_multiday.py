#!/usr/bin/python3
"""(a) A multi-day trace (7 days, 5 queues, every Asterisk layout from 1.4 to
22 with restarts in between) read with `reachd --once`: reach.calls, the
minute/hour/day aggregates, the hourly and daily views, every Redis window,
the live gauges and `reachctl indicators --json` equal the truth exactly.
A second --once over the same file changes nothing.

Env: REACHD_TEST_SEED (default: random, printed), REACHD_TEST_DAYS (7).
"""

import sys

sys.dont_write_bytecode = True

import os
import random

import lib


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    days = float(os.environ.get("REACHD_TEST_DAYS", "7"))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("a") as env:
        tr_ = env.simulate(days=days, queues=5, flavour="mixed", seed=seed)
        site = tr_.site
        cfg = env.config(tr_.log, site=site)
        env.reachd_once(cfg)
        tr = tr_.truth()
        ck = lib.Checker("(a) multi-day --once")
        lib.check_everything(ck, env, cfg, tr, site, rnd=rnd, redis_timeout=5)
        lib.check_live(ck, env, tr, site)
        conn = env.db()
        cur = lib.cursor_row(conn, site)
        st = os.stat(tr_.log)
        ck.ok(cur is not None and cur["offset"] == st.st_size and cur["ino"] == st.st_ino,
              "cursor %r, file ino %d size %d" % (cur, st.st_ino, st.st_size))
        if cur:
            ck.eq("cursor lines_rejected", 0, cur["lines_rejected"])
            ck.eq("cursor lines_unknown", 0, cur["lines_unknown"])
            ck.eq("cursor lines_accepted", tr_.meta["lines"], cur["lines_accepted"])
        before = lib.q(conn, "SELECT count(*), coalesce(sum(offered), 0) FROM reach.call_agg")[0]
        conn.close()

        # again: idempotent
        env.reachd_once(cfg, name="once-again")
        conn = env.db()
        after = lib.q(conn, "SELECT count(*), coalesce(sum(offered), 0) FROM reach.call_agg")[0]
        ck.eq("call_agg rows and offered sum after a second --once", before, after)
        lib.check_calls(ck, conn, tr, site, label="reach.calls after a second --once")
        lib.check_aggregates(ck, conn, tr, site, rnd, nranges=3)
        conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
