#!/usr/bin/python3
"""selftest.py - check the simulator, truth.py and inject.py on their own.

For every flavour (and mixed), a trace is generated and re-parsed by an
independent, strict queue_log reader (field counts per Asterisk version,
events allowed per version, timestamp order, waits = event time - entry time,
QUEUESTART only with no call in progress); the calls it reconstructs must equal
truth.csv / truth_open.csv exactly. truth.py's figures are checked against a
naive computation (sorted waits, nearest rank, then the bin's lower bound),
hist bins against hist.h's table, Paris days against zoneinfo, inject.py
against its source, and --live against the wall clock.

    /usr/bin/python3 tests/sim/selftest.py [--bench] [--keep]
--bench also generates 1,000,000 calls and requires it to take < 60 s.
Exit status 0 when everything passes.
"""

import argparse
import datetime as _dt
import filecmp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import inject  # noqa: E402
import truth  # noqa: E402
from simulate import FLAVOUR_NAMES, paris_date, paris_midnight  # noqa: E402

PY = "/usr/bin/python3"
SIM = os.path.join(HERE, "simulate.py")
VER = {"1.4": 104, "1.8": 108, "11": 1100, "13": 1300, "16": 1600, "20": 2000, "22": 2200}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


# ------------------------------------------------------------------ parser


def arity(verb, v, data):
    """Expected number of data fields for verb in version v (None = not allowed)."""
    if verb == "ENTERQUEUE":
        return 2 if v < 108 else (3 if v < 2000 else 4)
    if verb == "CONNECT":
        return 2 if v < 108 else 3
    if verb in ("COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITEMPTY"):
        return 3
    if verb == "EXITWITHTIMEOUT":
        return 1 if v < 108 else 3
    if verb == "EXITWITHKEY":
        return 2 if v < 108 else 4
    if verb == "WITHDRAW":
        return 4 if v >= 1600 else None
    if verb == "RINGNOANSWER":
        return 1
    if verb == "RINGCANCELED":
        return 1 if v >= 1500 else None
    if verb == "TRANSFER":
        return None if v >= 1200 else (4 if v < 108 else 5)
    if verb == "BLINDTRANSFER":
        return 5 if v >= 1200 else None
    if verb == "ATTENDEDTRANSFER":
        if v < 1200:
            return None
        return 6 if data and data[0] == "LINK" else 5
    if verb in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "AGENTLOGIN", "QUEUESTART",
                "CONFIGRELOAD"):
        return 1
    if verb == "AGENTLOGOFF":
        return 2
    return None


class Stint:
    __slots__ = ("callid", "queue", "entered", "connected", "hold", "agent", "ended", "outcome",
                 "reason", "wait", "talk", "transferred", "ringcanceled")


def parse_log(path, meta):
    """Independent reconstruction: (finished stints, open stints, stats)."""
    segs = [(s["from"], VER[s["flavour"]]) for s in meta["segments"]]
    open_ = {}
    done = []
    stats = {"lines": 0, "reentries": 0, "verbs": {}, "cidname": 0, "link": 0}
    seen_callid_queues = {}
    last_ts = None
    pending_cancel = None
    with open(path, "rb") as f:
        raw = f.read()
    check(raw.endswith(b"\n"), "log does not end with a newline")
    check(b"\x00" not in raw, "NUL byte in the log")
    text = raw.decode("utf-8")  # raises on invalid UTF-8
    lines = text.split("\n")[:-1]
    for ln, line in enumerate(lines, 1):
        stats["lines"] += 1
        p = line.split("|")
        if not check(len(p) >= 6, "line %d: fewer than 6 fields: %r" % (ln, line)):
            continue
        ts = int(p[0])
        callid, queue, agent, verb = p[1], p[2], p[3], p[4]
        data = p[5:]
        check(last_ts is None or ts >= last_ts, "line %d: time goes back" % ln)
        last_ts = ts
        v = [x for s, x in segs if s <= ts][-1]
        stats["verbs"][verb] = stats["verbs"].get(verb, 0) + 1
        want = arity(verb, v, data)
        if not check(want is not None, "line %d: %s not written by version %d" % (ln, verb, v)):
            continue
        check(len(data) == want, "line %d: %s has %d data fields, version %d writes %d: %r"
              % (ln, verb, len(data), v, want, line))
        if ln == 1:
            check(verb == "QUEUESTART", "first line is not QUEUESTART")
        if verb == "QUEUESTART":
            check(not open_, "line %d: QUEUESTART with %d calls in progress" % (ln, len(open_)))
            continue
        if pending_cancel is not None:
            check(verb == "ABANDON" and (callid, queue) == pending_cancel and ts == last_ts,
                  "line %d: RINGCANCELED not followed by its ABANDON" % ln)
            pending_cancel = None
        key = (callid, queue)
        if verb == "ENTERQUEUE":
            check(key not in open_, "line %d: %s entered twice" % (ln, key))
            check(queue != "NONE" and agent == "NONE", "line %d: bad ENTERQUEUE header" % ln)
            s = Stint()
            s.callid, s.queue, s.entered = callid, queue, ts
            s.connected = s.hold = s.agent = s.ended = s.talk = None
            s.transferred = False
            s.ringcanceled = False
            open_[key] = s
            if callid in seen_callid_queues and seen_callid_queues[callid] != queue:
                stats["reentries"] += 1
            seen_callid_queues[callid] = queue
            if v >= 108:
                check(data[2].isdigit() and int(data[2]) >= 1, "line %d: bad opos" % ln)
            if v >= 2000 and data[3]:
                stats["cidname"] += 1
            continue
        if verb in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "AGENTLOGIN", "AGENTLOGOFF",
                    "CONFIGRELOAD"):
            check(key not in open_, "line %d: member event with a caller's key" % ln)
            continue
        s = open_.get(key)
        if not check(s is not None, "line %d: %s for a call not in progress" % (ln, verb)):
            continue
        el = ts - s.entered
        if verb == "RINGNOANSWER":
            check(s.connected is None and data[0].isdigit(), "line %d: RINGNOANSWER" % ln)
            continue
        if verb == "RINGCANCELED":
            check(s.connected is None, "line %d: RINGCANCELED after CONNECT" % ln)
            pending_cancel = key
            s.ringcanceled = True
            continue
        if verb == "CONNECT":
            check(s.connected is None, "line %d: second CONNECT" % ln)
            check(int(data[0]) == el, "line %d: CONNECT holdtime %s != %d" % (ln, data[0], el))
            s.connected, s.hold, s.agent = ts, el, agent
            continue
        # end events
        del open_[key]
        s.ended = ts
        s.reason = verb
        if verb in ("COMPLETECALLER", "COMPLETEAGENT", "TRANSFER", "BLINDTRANSFER",
                    "ATTENDEDTRANSFER"):
            if not check(s.connected is not None, "line %d: %s without CONNECT" % (ln, verb)):
                continue
            check(agent == s.agent, "line %d: agent changed" % ln)
            if verb.startswith("COMPLETE"):
                hold, talk = int(data[0]), int(data[1])
            elif verb == "ATTENDEDTRANSFER":
                hold, talk = int(data[-3]), int(data[-2])
                check(data[0] in ("BRIDGE", "APP", "LINK"), "line %d: ATTENDEDTRANSFER kind" % ln)
                if data[0] == "LINK":
                    stats["link"] += 1
            elif verb == "TRANSFER" and v < 108:
                hold, talk = int(data[2]), int(data[3])
            else:
                hold, talk = int(data[2]), int(data[3])
            check(hold == s.hold, "line %d: holdtime %d != CONNECT's %d" % (ln, hold, s.hold))
            check(talk == ts - s.connected, "line %d: calltime %d != %d" % (ln, talk, ts - s.connected))
            s.outcome = "answered"
            s.wait = s.hold
            s.talk = talk
            s.transferred = not verb.startswith("COMPLETE")
        else:
            check(s.connected is None, "line %d: %s after CONNECT" % (ln, verb))
            if verb == "ABANDON":
                w = int(data[2])
                check(1 <= int(data[0]) <= int(data[1]), "line %d: pos > opos" % ln)
                s.outcome = "abandoned"
                s.agent = agent if agent != "NONE" else None
            elif verb == "EXITWITHTIMEOUT":
                w = int(data[2]) if v >= 108 else el
                s.outcome = "timed_out"
            elif verb == "EXITWITHKEY":
                w = int(data[3]) if v >= 108 else el
                s.outcome = "timed_out"
            elif verb == "EXITEMPTY":
                w = int(data[2])
                s.outcome = "timed_out"
            elif verb == "WITHDRAW":
                w = int(data[2])
                check(len(data[3]) <= 40, "line %d: WITHDRAW info too long" % ln)
                s.outcome = "timed_out"
            else:
                fail("line %d: unexpected verb %s" % (ln, verb))
                continue
            check(w == el, "line %d: %s wait %d != %d" % (ln, verb, w, el))
            s.wait = w
        done.append(s)
    return done, open_, stats


def compare_truth(d, meta, done, open_):
    t = truth.Truth.load(d)
    site = meta["site"]
    exp = {c.key(): c for c in t.calls}
    got = {(site, s.queue, s.callid, s.entered): s for s in done if s.ended < meta["end"]}
    check(len(exp) == len(t.calls), "duplicate keys in truth.csv")
    missing = set(exp) - set(got)
    extra = set(got) - set(exp)
    check(not missing, "%d truth calls not in the log, e.g. %s" % (len(missing), sorted(missing)[:3]))
    check(not extra, "%d log calls not in truth, e.g. %s" % (len(extra), sorted(extra)[:3]))
    bad = 0
    for k in set(exp) & set(got):
        c, s = exp[k], got[k]
        fields = [("ended", c.ended, s.ended), ("outcome", c.outcome, s.outcome),
                  ("transferred", c.transferred, s.transferred), ("wait", c.wait, s.wait),
                  ("talk", c.talk, s.talk), ("reason", c.end_reason, s.reason),
                  ("agent", c.agent, s.agent)]
        for name, a, b in fields:
            if a != b:
                bad += 1
                if bad <= 5:
                    fail("%s: %s truth=%r log=%r" % (k, name, a, b))
    check(bad == 0, "%d field mismatches between truth.csv and the log" % bad)
    # open calls
    eo = {(o.callid, o.queue): o for o in t.open}
    check(set(eo) == set(open_), "open calls differ: truth %d, log %d" % (len(eo), len(open_)))
    for k in set(eo) & set(open_):
        o, s = eo[k], open_[k]
        state = "talking" if s.connected is not None else "waiting"
        check(o.state == state and o.entered == s.entered,
              "open call %s: truth %s/%d, log %s/%d" % (k, o.state, o.entered, state, s.entered))
    return t


def naive_figures(calls, sa=5, sl=20):
    """Figures computed the plain way, for checking truth.py."""
    ans = [c for c in calls if c.outcome == "answered"]
    ab = [c for c in calls if c.outcome == "abandoned"]
    to = [c for c in calls if c.outcome == "timed_out"]
    short = [c for c in ab if c.wait < sa]
    off = len(calls)
    f = {"offered": off, "answered": len(ans), "abandoned": len(ab), "short_abandoned": len(short),
         "timed_out": len(to), "transferred": sum(1 for c in ans if c.transferred), "ivr_handled": 0}
    den = off - len(short)
    f["answered_rate"] = len(ans) / den if den else None
    f["global_rate"] = f["answered_rate"]
    f["abandon_rate"] = (len(ab) - len(short)) / den if den else None
    f["service_level"] = sum(1 for c in ans if c.wait <= sl) / len(ans) if ans else None
    f["asa_s"] = sum(c.wait for c in ans) / len(ans) if ans else None
    comp = [c for c in ans if not c.transferred]
    f["talk_avg_s"] = sum(c.talk for c in comp) / len(comp) if comp else None
    waits = sorted(c.wait for c in ans + ab)
    for name, pct in (("wait_p50_s", 50), ("wait_p90_s", 90)):
        if not waits:
            f[name] = None
        else:
            rank = -(-len(waits) * pct // 100)
            w = waits[max(rank, 1) - 1]
            f[name] = truth.hist_bin_low(truth.hist_bin(w))
    return f


def check_figures(t, rnd):
    calls = t.calls
    if not calls:
        return
    lo, hi = min(c.ended for c in calls), max(c.ended for c in calls) + 1
    ranges = [(lo, hi)]
    for _ in range(30):
        a = rnd.randrange(lo - 600, hi)
        b = a + rnd.choice([60, 900, 3600, 86400, 7 * 86400])
        ranges.append((a - a % 60, b - b % 60))
    for a, b in ranges:
        got = t.figures(a, b)
        keys = {(c.site, c.queue) for c in calls if a <= c.ended < b}
        check(set(got) == keys, "figures keys for [%d,%d)" % (a, b))
        for k in keys:
            sub = [c for c in calls if (c.site, c.queue) == k and a <= c.ended < b]
            n = naive_figures(sub, t.short_abandon_s, t.service_level_s)
            for f, v in n.items():
                g = got[k][f]
                same = (g is None and v is None) or (g is not None and v is not None and abs(g - v) <= 1e-9)
                check(same, "figure %s of %s over [%d,%d): truth.py %r, naive %r" % (f, k, a, b, g, v))
    # hourly / daily partitions add up to the total
    tot = t.figures(lo, hi)
    for name, parts in (("hourly", t.hourly()), ("daily", t.daily())):
        sums = {}
        for (s, q, _), f in parts.items():
            x = sums.setdefault((s, q), dict.fromkeys(truth.COUNT_FIELDS, 0))
            for c in truth.COUNT_FIELDS:
                x[c] += f[c]
        for k, f in tot.items():
            check(all(sums[k][c] == f[c] for c in truth.COUNT_FIELDS), "%s sums differ for %s" % (name, k))


def check_hist():
    # the layout of hist.h / 002_call_views.sql hist_bin_low
    for s in range(0, 9000):
        b = truth.hist_bin(s)
        check(0 <= b < 128, "bin range")
        check(truth.hist_bin_low(b) <= s, "bin %d low > %d" % (b, s))
        if b < 127:
            check(s < truth.hist_bin_low(b + 1), "bin %d high <= %d" % (b, s))
    check([truth.hist_bin(x) for x in (0, 59, 60, 69, 70, 299, 300, 359, 1799, 1800, 7199, 7200)] ==
          [0, 59, 60, 60, 61, 83, 84, 84, 108, 109, 126, 127], "bin boundaries")
    h = [0] * 128
    check(truth.hist_quantile(h, 50) is None, "empty quantile")
    h[3] = 1
    h[70] = 1
    check(truth.hist_quantile(h, 50) == 3 and truth.hist_quantile(h, 90) == 160, "quantile ranks")


def check_paris():
    try:
        import zoneinfo
        tz = zoneinfo.ZoneInfo("Europe/Paris")
    except Exception:  # pragma: no cover
        print("  (zoneinfo unavailable, Paris days not cross-checked)")
        return
    d = _dt.date(2019, 1, 1)
    while d < _dt.date(2031, 1, 1):
        m = paris_midnight(d)
        ref = int(_dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp())
        check(m == ref, "Paris midnight of %s: %d != %d" % (d, m, ref))
        check(paris_date(m) == d and paris_date(m - 1) == d - _dt.timedelta(days=1), "paris_date %s" % d)
        d += _dt.timedelta(days=1)


def sim(out, *args):
    cmd = [PY, SIM, "--out", out] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail("simulate %s: %s" % (" ".join(map(str, args)), r.stderr[-2000:]))
        return None
    return truth.load_meta(out)


def run_trace(tmp, name, args, rnd):
    d = os.path.join(tmp, name)
    meta = sim(d, *args)
    if meta is None:
        return None
    done, open_, stats = parse_log(os.path.join(d, "queue_log"), meta)
    t = compare_truth(d, meta, done, open_)
    check(stats["lines"] == meta["lines"], "%s: line count" % name)
    check(len(t.calls) == meta["finished_calls"], "%s: finished count" % name)
    check_figures(t, rnd)
    print("  %-8s %7d lines %6d calls %4d open %4d re-entries  verbs: %s" % (
        name, stats["lines"], len(t.calls), len(t.open), stats["reentries"],
        " ".join("%s=%d" % kv for kv in sorted(stats["verbs"].items()))))
    return meta, stats, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    rnd = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="reachd-simtest-")
    t0 = time.time()
    try:
        print("hist bins / quantiles")
        check_hist()
        print("Paris calendar")
        check_paris()
        end = "2026-11-24T15:47:13Z"   # a Tuesday afternoon: calls in progress at the end
        print("flavours")
        for fl in FLAVOUR_NAMES:
            r = run_trace(tmp, fl, ["--days", 3, "--queues", 4, "--seed", 11, "--end", end,
                                    "--flavour", fl], rnd)
            if r is None:
                continue
            meta, stats, t = r
            v = VER[fl]
            for verb, ok in (("TRANSFER", v < 1200), ("BLINDTRANSFER", v >= 1200),
                             ("ATTENDEDTRANSFER", v >= 1200), ("RINGCANCELED", v >= 1500),
                             ("WITHDRAW", v >= 1600), ("EXITWITHKEY", True), ("EXITEMPTY", True),
                             ("EXITWITHTIMEOUT", True), ("RINGNOANSWER", True), ("PAUSE", True),
                             ("ADDMEMBER", True), ("AGENTLOGIN", True)):
                check((stats["verbs"].get(verb, 0) > 0) == ok,
                      "flavour %s: %s %s" % (fl, verb, "missing" if ok else "present"))
            check(stats["reentries"] > 0, "flavour %s: no call re-enters a second queue" % fl)
            check((stats["cidname"] > 0) == (v >= 2000), "flavour %s: caller-id names" % fl)
            check(t.open, "flavour %s: no call in progress at the end" % fl)
            check(any(c.outcome == "abandoned" and c.wait < 5 for c in t.calls),
                  "flavour %s: no short abandon" % fl)
            if v >= 1200:
                check(stats["link"] > 0, "flavour %s: no ATTENDEDTRANSFER LINK" % fl)
        print("mixed, 7 days, 5 queues, busy profile, ending now")
        r = run_trace(tmp, "mixed", ["--days", 7, "--queues", 5, "--seed", 3, "--end", "now",
                                     "--flavour", "mixed", "--profile-anchor", "busy"], rnd)
        if r:
            meta, stats, t = r
            check(len(meta["segments"]) == 7, "mixed: %d segments" % len(meta["segments"]))
            check(stats["verbs"].get("QUEUESTART") == 7, "mixed: QUEUESTART count")
            now = meta["end"]
            recent = t.figures(now - 900, now + 60)
            check(sum(f["offered"] for f in recent.values()) > 20, "busy anchor: few calls in the last 15 min")
            check(t.open, "mixed: no open calls")
            # pass the 5 s short-abandon boundary and the 20 s service level boundary
            check(any(c.outcome == "abandoned" and c.wait == 5 for c in t.calls), "no abandon at exactly 5 s")
            check(any(c.outcome == "answered" and c.wait == 20 for c in t.calls), "no answer at exactly 20 s")
        print("8 queues (names needing escapes), rate x3")
        r = run_trace(tmp, "q8", ["--days", 2, "--queues", 10, "--seed", 5, "--end", end,
                                  "--rate-scale", 3], rnd)
        print("determinism")
        m1 = sim(os.path.join(tmp, "d1"), "--days", 2, "--seed", 9, "--end", end, "--flavour", "mixed")
        m2 = sim(os.path.join(tmp, "d2"), "--days", 2, "--seed", 9, "--end", end, "--flavour", "mixed")
        if m1 and m2:
            for fn in ("queue_log", "truth.csv", "truth_open.csv"):
                check(filecmp.cmp(os.path.join(tmp, "d1", fn), os.path.join(tmp, "d2", fn), shallow=False),
                      "same seed, different %s" % fn)
        print("--calls")
        m = sim(os.path.join(tmp, "c"), "--calls", 5000, "--seed", 2, "--end", end, "--queues", 3)
        if m:
            check(m["finished_calls"] == 5000 and m["open_calls"] == 0, "--calls 5000 gave %d/%d" % (
                m["finished_calls"], m["open_calls"]))
            done, open_, _ = parse_log(os.path.join(tmp, "c", "queue_log"), m)
            compare_truth(os.path.join(tmp, "c"), m, done, open_)
        print("inject")
        src = os.path.join(tmp, "mixed", "queue_log")
        dst = os.path.join(tmp, "injected_log")
        inj = inject.inject(src, dst, seed=4)
        with open(dst, "rb") as f:
            data = f.read()
        with open(src, "rb") as f:
            orig = f.read()
        rebuilt = bytearray()
        prev = 0
        for it in inj:
            check(it.offset == 0 or data[it.offset - 1:it.offset] == b"\n", "injected line not at a line start")
            check(data[it.offset + it.length - 1:it.offset + it.length] == b"\n", "injected line end")
            rebuilt += data[prev:it.offset]
            prev = it.offset + it.length
        rebuilt += data[prev:]
        check(bytes(rebuilt) == orig, "removing injected lines does not give the source back")
        check(any(it.length > 5 * 1024 * 1024 for it in inj), "no 5 MB line")
        check(sorted(it.kind for it in inj) == sorted(k for k, _, _ in inject.bad_lines(b"1", rnd)),
              "injected kinds")
        print("  %d lines injected" % len(inj))
        print("--live (speed 600, 0.02 day)")
        ld = os.path.join(tmp, "live")
        w0 = time.time()
        ml = sim(ld, "--live", 600, "--days", 0.02, "--seed", 1, "--queues", 3, "--profile-anchor", "busy")
        w1 = time.time()
        if ml:
            check(1.0 <= w1 - w0 <= 8, "live run ran %.1fs instead of about 2s" % (w1 - w0))
            check(ml["start"] >= int(w0) - 1 and ml["end"] <= int(w1) + 2, "live timestamps are not the wall clock")
            done, open_, _ = parse_log(os.path.join(ld, "queue_log"), ml)
            compare_truth(ld, ml, done, open_)
            print("  live: %d lines in %.1fs" % (ml["lines"], w1 - w0))
        if a.bench:
            print("bench: 1,000,000 calls")
            b0 = time.time()
            mb = sim(os.path.join(tmp, "bench"), "--calls", 1000000, "--seed", 1, "--end", end)
            dt = time.time() - b0
            if mb:
                check(mb["finished_calls"] == 1000000, "bench calls")
                check(dt < 60, "1M calls took %.1fs" % dt)
                print("  %d lines in %.1fs" % (mb["lines"], dt))
    finally:
        if a.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("selftest: %s in %.1fs (%d failure%s)" % ("FAILED" if failures else "ok", time.time() - t0,
                                                     len(failures), "" if len(failures) == 1 else "s"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
