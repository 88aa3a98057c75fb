#!/usr/bin/python3
"""(e) Redis loses everything during the run: FLUSHALL once after ingestion,
once right after new lines were written, and once Redis is restarted empty
while lines arrive. Each time every window, live gauge and the queue set are
rebuilt and exact (polled); PostgreSQL stays exact throughout.
"""

import sys

sys.dont_write_bytecode = True

import os
import random

import lib


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("e") as env:
        tr_ = env.simulate(days=3, queues=5, flavour="22", seed=seed)
        site = tr_.site
        tr = tr_.truth()
        path = env.path("queue_log")
        data = tr_.data()
        # the first part ends well before the trace's end: windows of the full
        # trace are compared only once everything is written
        pieces = tr_.pieces(4, rnd, whole_seconds=True)
        allq = tr_.meta["queues"]
        cfg = env.config(path, site=site)
        lib.append(path, pieces[0] + pieces[1])
        d = env.start_reachd(cfg)
        lib.wait_consumed(env, site, path, daemon=d)
        part = _until(tr, pieces[0] + pieces[1])
        ck = lib.Checker("(e) Redis rebuilt")
        lib.check_redis(ck, env, part, site, daemon=d, label="redis windows (first part)", all_queues=allq)

        r = env.rcli()
        r.flushall()
        lib.log("FLUSHALL")
        lib.check_redis(ck, env, part, site, daemon=d, label="redis windows after FLUSHALL", all_queues=allq)

        lib.append(path, pieces[2])
        r.flushall()
        lib.log("lines written, then FLUSHALL")
        lib.wait_consumed(env, site, path, daemon=d)
        part2 = _until(tr, pieces[0] + pieces[1] + pieces[2])
        lib.check_redis(ck, env, part2, site, daemon=d, label="redis windows after write + FLUSHALL", all_queues=allq)

        env.redis.stop()
        lib.log("Redis stopped")
        lib.append(path, pieces[3])
        lib.wait_consumed(env, site, path, daemon=d)
        env.redis.start()
        lib.log("Redis restarted empty")
        lib.check_redis(ck, env, tr, site, daemon=d, label="redis windows after a Redis restart")
        lib.check_live(ck, env, tr, site)
        ck.ok(len(data) == os.path.getsize(path), "file written completely")
        conn = env.db()
        lib.check_calls(ck, conn, tr, site)
        lib.check_aggregates(ck, conn, tr, site, rnd, nranges=4)
        conn.close()
        lib.check_reachctl(ck, env, cfg, tr, site, rnd, nranges=1)
        rc = d.term(lib.signal.SIGINT)
        ck.eq("exit status after SIGINT", 0, rc)
        ck.done()


def _until(tr, prefix):
    """The truth of the calls whose end line is in prefix (cut between seconds)."""
    last = prefix.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    cut = int(last.split(b"|", 1)[0])
    return lib.truthmod.Truth([c for c in tr.calls if c.ended <= cut], [], tr.short_abandon_s,
                              tr.service_level_s)


if __name__ == "__main__":
    lib.run(main)
