#!/usr/bin/python3
"""test_harness.py - the harness alone, without reachd.

Starts the private Redis and PostgreSQL, applies sql/*.sql itself, fills
reach.calls and reach.call_agg (minute and hour rows) from the truth in
Python, and requires the harness readers (rows, summed minute ranges through
reach.call_figures, the hourly and daily views) to equal the truth exactly;
does the same for Redis windows written by hand in the documented format.
Then checks that the comparisons do catch errors, that PostgreSQL and Redis
can be stopped and restarted, and that everything is gone after cleanup.
"""

import sys

sys.dont_write_bytecode = True

import glob
import os
import random
import subprocess

import lib
from lib import truthmod


def apply_schema(conn):
    with conn.cursor() as c:
        c.execute("CREATE SCHEMA IF NOT EXISTS reach")
        for f in sorted(glob.glob(os.path.join(lib.REPO, "sql", "[0-9]*.sql"))):
            with open(f, encoding="utf-8") as fh:
                c.execute(fh.read())


def fill_pg(conn, tr, collector="pbx"):
    rows = []
    for x in tr.calls:
        rows.append((x.site, x.queue, x.callid, x.entered, x.ended, x.outcome, x.end_reason, x.agent,
                     x.wait, x.talk if x.outcome == "answered" else None, x.transferred,
                     x.outcome == "abandoned" and x.wait < tr.short_abandon_s,
                     x.outcome == "answered" and x.wait <= tr.service_level_s, collector))
    with conn.cursor() as c:
        c.executemany(
            "INSERT INTO reach.calls (site, queue, callid, entered_at, ended_at, outcome, end_reason, agent, "
            "wait_s, talk_s, transferred, short_abandoned, within_sl, collector) VALUES "
            "(%s, %s, %s, to_timestamp(%s), to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        for grain, size in (("minute", 60), ("hour", 3600), ("day", 86400)):
            agg = {}
            for x in tr.calls:
                k = (x.site, x.queue, x.ended - x.ended % size)
                cs = agg.get(k)
                if cs is None:
                    cs = agg[k] = truthmod.new_counters()
                truthmod.add_call(cs, x, tr.short_abandon_s, tr.service_level_s)
            vals = []
            for (s, qn, b), cs in agg.items():
                h = cs["hist"]
                while h and h[-1] == 0:   # arrays of any length must add up
                    h = h[:-1]
                vals.append((s, qn, grain, b) + tuple(cs[f] for f in lib._SUM_COLS) + (h,))
            c.executemany(
                "INSERT INTO reach.call_agg (site, queue, grain, bucket, " + ", ".join(lib._SUM_COLS) +
                ", wait_hist) VALUES (%s, %s, %s, to_timestamp(%s), " + ", ".join(["%s"] * len(lib._SUM_COLS)) +
                ", %s::integer[])", vals)


def fill_redis(r, tr, site, now):
    to = now - now % 60 + 60
    for qn in sorted({x.queue for x in tr.calls}):
        r.sadd(lib.queues_key(site), lib.esc(qn))
        for w, secs in lib.WINDOWS.items():
            f = tr.figures(to - secs, to, site=site, queue=qn).get((site, qn))
            if f is None:
                f = truthmod.figures_from_counters(truthmod.new_counters())
            h = {"site": site, "queue": qn, "window": w, "from": lib.iso(to - secs), "to": lib.iso(to),
                 "updated_at": lib.iso(now)}
            for k, v in f.items():
                if v is None:
                    continue
                h[k] = ("%.6f" % v) if k in lib.RATE_FIELDS else str(v)
            r.delete(lib.window_key(site, qn, w))
            r.hset(lib.window_key(site, qn, w), mapping=h)


def main():
    rnd = random.Random(5)
    with lib.Env("harness") as env:
        conn = env.db()
        apply_schema(conn)
        tr_ = env.simulate(days=3, queues=6, flavour="mixed", seed=8)
        tr = tr_.truth()
        fill_pg(conn, tr)
        ck = lib.Checker("harness (correct data)")
        lib.check_calls(ck, conn, tr, tr_.site)
        lib.check_aggregates(ck, conn, tr, tr_.site, rnd)
        fill_redis(env.rcli(), tr, tr_.site, int(lib.parse_time("now")))
        lib.check_redis(ck, env, tr, tr_.site, timeout=2)
        # escaping
        ck.eq("esc", "sous-pr%C3%A9fecture", lib.esc("sous-préfecture"))
        ck.eq("esc2", "cartes%20grises", lib.esc("cartes grises"))
        ck.eq("esc3", "rdv%3Aguichet", lib.esc("rdv:guichet"))
        ck.eq("key", "reach:{prefecture}:calls:%C3%A9lections:15m", lib.window_key("prefecture", "élections", "15m"))
        ck.done()

        # the comparisons must catch errors
        neg = lib.Checker("harness (corrupted data)", quiet=True)
        with conn.cursor() as c:
            c.execute("UPDATE reach.call_agg SET abandoned = abandoned + 1 WHERE ctid = "
                      "(SELECT ctid FROM reach.call_agg WHERE grain = 'minute' LIMIT 1)")
            c.execute("UPDATE reach.calls SET wait_s = wait_s + 1 WHERE ctid = "
                      "(SELECT ctid FROM reach.calls WHERE outcome = 'answered' LIMIT 1)")
        lib.check_calls(neg, conn, tr, tr_.site)
        lib.check_aggregates(neg, conn, tr, tr_.site, rnd, nranges=0)
        r = env.rcli()
        k = lib.window_key(tr_.site, tr.calls[0].queue, "30d")
        r.hset(k, "answered_rate", "0.5")
        errs = lib.redis_windows_diff(r, tr, tr_.site, [tr.calls[0].queue])
        ck2 = lib.Checker("harness (negative checks)")
        ck2.ok(len(neg.errors) >= 3, "corrupted rows were not all detected: %s" % neg.errors)
        ck2.ok(any("answered_rate" in e for e in errs), "corrupted Redis field not detected: %s" % errs)
        # nulls: a figure absent from the hash is null
        meta, figs, ferr = lib.parse_redis_hash({b"from": b"2026-11-29T08:00:00Z", b"to": b"2026-11-29T08:15:00Z",
                                                 b"updated_at": b"2026-11-29T08:14:01Z", b"offered": b"0"})
        ck2.ok(figs["answered_rate"] is None and figs["offered"] == 0 and not ferr, "hash parsing %r %r" % (figs, ferr))

        # servers can be stopped and restarted (used by the outage tests)
        conn.close()
        env.pg.stop()
        ck2.ok(subprocess.run(["pg_isready" if False else os.path.join(lib.PG_BIN, "pg_isready"), "-h",
                               env.pg.sockdir, "-p", str(env.pg.port)], capture_output=True).returncode != 0,
               "PostgreSQL still answers after stop")
        env.pg.start()
        conn = env.db()
        ck2.eq("rows after PostgreSQL restart", len(tr.calls), lib.q(conn, "SELECT count(*) FROM reach.calls")[0][0])
        conn.close()
        env.redis.stop()
        env.redis.start()
        ck2.eq("Redis empty after restart", 0, env.rcli().dbsize())
        pgdata, rproc_dir = env.pg.data, env.dir
        ck2.done()
    # everything is gone
    ck3 = lib.Checker("harness (cleanup)")
    ck3.ok(not os.path.exists(rproc_dir), "temp dir %s left behind" % rproc_dir)
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    ck3.ok(pgdata not in out, "a postgres process still runs on %s" % pgdata)
    ck3.ok(rproc_dir not in out, "a process still refers to %s" % rproc_dir)
    ck3.done()


if __name__ == "__main__":
    lib.run(main)
