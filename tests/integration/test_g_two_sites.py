#!/usr/bin/python3
"""(g) Two daemons with different sites share one Redis and one PostgreSQL,
started at the same moment on an empty database (concurrent migrations).
The two traces use the same queue names and overlapping callids. Each site's
rows, aggregates, views, Redis keys and reachctl figures equal its own truth;
reachctl without --site returns both.
"""

import sys

sys.dont_write_bytecode = True

import os
import random
import subprocess
import time

import lib


def once_together(env, cfgs, timeout=600):
    procs = []
    for i, cfg in enumerate(cfgs):
        lf = open(env.path("once-%d.log" % i), "wb")
        procs.append((subprocess.Popen([lib.REACHD, "--once", "-c", cfg], stdin=subprocess.DEVNULL,
                                       stdout=lf, stderr=subprocess.STDOUT), lf, cfg))
    errs = []
    for p, lf, cfg in procs:
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        lf.close()
        if rc != 0:
            errs.append("reachd --once -c %s: %s\n%s" % (cfg, rc, lib._tail(lf.name)))
    if errs:
        raise lib.TestFailure("\n".join(errs))


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("g") as env:
        if not os.access(lib.REACHD, os.X_OK):
            raise lib.TestFailure("no reachd binary at %s" % lib.REACHD)
        # site B's trace is site A's without a third of its callers: the same
        # queue names and callids, different figures
        ta = env.simulate(name="site-a", site="prefecture", days=3, queues=5, flavour="20", seed=seed)
        salt = rnd.randrange(3)
        tb = lib.subset(ta, env.path("site-b"), "sous-préfecture",
                        lambda cid: (int(cid.split(".")[-1]) + salt) % 3 != 0)
        ids_a = {c.callid for c in ta.truth().calls}
        ids_b = {c.callid for c in tb.truth().calls}
        lib.log("%d callids in both traces" % len(ids_a & ids_b))
        ca = env.config(ta.log, site=ta.site, name="a.conf")
        cb = env.config(tb.log, site=tb.site, name="b.conf")
        t0 = time.time()
        once_together(env, [ca, cb])
        lib.log("both --once done in %.1fs" % (time.time() - t0))
        ck = lib.Checker("(g) two sites")
        tra, trb = ta.truth(), tb.truth()
        for tr_, tr, cfg in ((ta, tra, ca), (tb, trb, cb)):
            lib.check_everything(ck, env, cfg, tr, tr_.site, rnd=rnd, redis_timeout=5)
            lib.check_live(ck, env, tr, tr_.site)
        both = lib.truthmod.Truth.merge([tra, trb])
        conn = env.db()
        ck.eq("reach.calls rows of both sites", len(tra.calls) + len(trb.calls),
              lib.q(conn, "SELECT count(*) FROM reach.calls")[0][0])
        lib.check_aggregates(ck, conn, both, None, rnd, nranges=3)
        conn.close()
        lo = min(lib.full_range(tra)[0], lib.full_range(trb)[0])
        hi = max(lib.full_range(tra)[1], lib.full_range(trb)[1])
        got, errs = lib.reachctl_indicators(env, ca, lo, hi)
        for e in errs:
            ck.fail("reachctl: " + e)
        ck.figures("reachctl indicators (no --site)", both.figures(lo, hi), got)

        # both running at once in the foreground, refreshing the same Redis
        da = env.start_reachd(ca, name="reachd-a")
        db = env.start_reachd(cb, name="reachd-b")
        r = env.rcli()
        r.flushall()
        lib.check_redis(ck, env, tra, ta.site, daemon=da, label="redis windows site A (both running)")
        lib.check_redis(ck, env, trb, tb.site, daemon=db, label="redis windows site B (both running)")
        keys = [k.decode() for k in r.keys("reach:*")]
        bad = [k for k in keys if not (k.startswith("reach:{%s}:" % lib.esc(ta.site)) or
                                       k.startswith("reach:{%s}:" % lib.esc(tb.site)))]
        ck.ok(not bad, "keys outside the two sites' hash tags: %s" % bad[:5])
        ck.eq("exit A", 0, da.term())
        ck.eq("exit B", 0, db.term())
        ck.done()


if __name__ == "__main__":
    lib.run(main)
