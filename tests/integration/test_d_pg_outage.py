#!/usr/bin/python3
"""(d) PostgreSQL stopped for 30 s during live ingestion, then restarted: the
daemon stays up, catches up, and every total equals the truth.

Env: REACHD_TEST_SEED, REACHD_PG_OUTAGE_S (default 30).
"""

import sys

sys.dont_write_bytecode = True

import os
import random
import time

import lib


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    outage = float(os.environ.get("REACHD_PG_OUTAGE_S", "30"))
    lib.log("seed %d, outage %gs" % (seed, outage))
    rnd = random.Random(seed)
    with lib.Env("d") as env:
        tr_ = env.simulate(days=3, queues=4, flavour="16", seed=seed, rate_scale=2)
        site = tr_.site
        path = env.path("queue_log")
        pieces = tr_.pieces(8, rnd)
        cfg = env.config(path, site=site)
        lib.append(path, pieces[0])
        d = env.start_reachd(cfg)
        lib.wait_consumed(env, site, path, daemon=d)
        lib.append(path, pieces[1])
        lib.wait_consumed(env, site, path, daemon=d)
        lib.log("pieces 0-1 consumed; stopping PostgreSQL")

        env.pg.stop("fast")
        t0 = time.monotonic()
        during = pieces[2:6]
        for k, p in enumerate(during):
            # spread the writes over the outage; the daemon must stay up all along
            due = t0 + outage * k / len(during)
            lib.wait_until(lambda: time.monotonic() >= due, outage + 5, "write %d of the outage" % k,
                           interval=0.2, alive=d.alive)
            lib.append(path, p)
        lib.wait_until(lambda: time.monotonic() - t0 >= outage, outage + 5, "the end of the outage",
                       interval=0.2, alive=d.alive)
        env.pg.start()
        lib.log("PostgreSQL restarted after %.1fs" % (time.monotonic() - t0))
        for p in pieces[6:]:
            lib.append(path, p)
        lib.wait_consumed(env, site, path, daemon=d, timeout=120)
        tr = tr_.truth()
        ck = lib.Checker("(d) PostgreSQL outage")
        lib.check_everything(ck, env, cfg, tr, site, daemon=d, rnd=rnd)
        d.alive()
        rc = d.term()
        ck.eq("exit status after SIGTERM", 0, rc)
        ck.done()


if __name__ == "__main__":
    lib.run(main)
