#!/usr/bin/python3
"""truth.py - expected figures from a simulator's truth.csv / truth_open.csv.

Definitions are those of shared/INDICATORS.md as fixed for reachd: a call is
one (site, callid, queue) stint dated at its END time; figures over [from, to)
per site + queue; histogram quantiles with the exact bins of daemon/hist.h.

As a module:
    t = Truth.load(DIR, short_abandon_s=5, service_level_s=20)
    t.figures(frm, to)                 -> {(site, queue): {figure: value}}
    t.figures(frm, to, site=, queue=)  -> filtered
    t.hourly() / t.daily()             -> {(site, queue, period_start): {...}}
    t.live(now)                        -> {(site, queue): {calls_waiting, longest_wait_s}}
As a CLI:
    truth.py DIR [--from T] [--to T] [--site S] [--queue Q] [--by total|hour|day]
                 [--short-abandon 5] [--service-level 20] [--live-at T]
Prints JSON. Use /usr/bin/python3.
"""

import argparse
import bisect
import csv
import datetime as _dt
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simulate import iso, paris_date, paris_midnight, parse_time  # noqa: E402

# ---------------------------------------------------------------- histogram
HIST_BINS = 128


def hist_bin(s):
    """Same as rd_hist_bin() in daemon/hist.c."""
    if s < 0:
        s = 0
    if s < 60:
        return s
    if s < 300:
        return 60 + (s - 60) // 10
    if s < 1800:
        return 84 + (s - 300) // 60
    if s < 7200:
        return 109 + (s - 1800) // 300
    return HIST_BINS - 1


def hist_bin_low(b):
    if b < 60:
        return b
    if b < 84:
        return 60 + (b - 60) * 10
    if b < 109:
        return 300 + (b - 84) * 60
    if b < 127:
        return 1800 + (b - 109) * 300
    return 7200


def hist_quantile(h, pct):
    """Nearest rank (ceil(n*pct/100), integer arithmetic) -> bin lower bound; None if empty."""
    n = sum(h)
    if n == 0:
        return None
    rank = max(1, (n * pct + 99) // 100)
    seen = 0
    for i, c in enumerate(h):
        seen += c
        if seen >= rank:
            return hist_bin_low(i)
    return hist_bin_low(HIST_BINS - 1)


# ---------------------------------------------------------------- figures
COUNT_FIELDS = ["offered", "answered", "abandoned", "short_abandoned", "timed_out",
                "transferred", "ivr_handled"]
RATE_FIELDS = ["answered_rate", "global_rate", "abandon_rate", "service_level", "asa_s",
               "talk_avg_s"]
QUANTILE_FIELDS = ["wait_p50_s", "wait_p90_s"]
FIGURES = COUNT_FIELDS + RATE_FIELDS + QUANTILE_FIELDS
WINDOWS = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}


class Call:
    __slots__ = ("site", "queue", "callid", "entered", "ended", "outcome", "transferred",
                 "wait", "talk", "end_reason", "agent")

    def key(self):
        return (self.site, self.queue, self.callid, self.entered)


class OpenCall:
    __slots__ = ("site", "queue", "callid", "entered", "state", "connected", "agent")


def new_counters():
    return {"offered": 0, "answered": 0, "abandoned": 0, "short_abandoned": 0, "timed_out": 0,
            "transferred": 0, "ivr_handled": 0, "sl_answered": 0, "wait_answered_sum": 0,
            "wait_answered_n": 0, "talk_sum": 0, "talk_n": 0, "hist": [0] * HIST_BINS}


def add_call(c, call, short_abandon_s, service_level_s):
    o = call.outcome
    c["offered"] += 1
    if o == "answered":
        c["answered"] += 1
        if call.transferred:
            c["transferred"] += 1
        if call.wait <= service_level_s:
            c["sl_answered"] += 1
        c["wait_answered_sum"] += call.wait
        c["wait_answered_n"] += 1
        if call.end_reason in ("COMPLETECALLER", "COMPLETEAGENT"):
            c["talk_sum"] += call.talk
            c["talk_n"] += 1
        c["hist"][hist_bin(call.wait)] += 1
    elif o == "abandoned":
        c["abandoned"] += 1
        if call.wait < short_abandon_s:
            c["short_abandoned"] += 1
        c["hist"][hist_bin(call.wait)] += 1
    elif o == "timed_out":
        c["timed_out"] += 1
    elif o == "ivr_handled":
        c["ivr_handled"] += 1
        c["offered"] -= 1   # IVR-handled calls are not offered to a queue
    else:
        raise ValueError("unknown outcome %r" % o)


def _div(a, b):
    return None if b == 0 else a / b


def figures_from_counters(c):
    off, ans, ab, sh = c["offered"], c["answered"], c["abandoned"], c["short_abandoned"]
    ivr = c["ivr_handled"]
    f = {k: c[k] for k in COUNT_FIELDS}
    f["answered_rate"] = _div(ans, off - sh)
    f["global_rate"] = _div(ans + ivr, off - sh + ivr)
    f["abandon_rate"] = _div(ab - sh, off - sh)
    f["service_level"] = _div(c["sl_answered"], ans)
    f["asa_s"] = _div(c["wait_answered_sum"], c["wait_answered_n"])
    f["talk_avg_s"] = _div(c["talk_sum"], c["talk_n"])
    f["wait_p50_s"] = hist_quantile(c["hist"], 50)
    f["wait_p90_s"] = hist_quantile(c["hist"], 90)
    return f


# ---------------------------------------------------------------- loading


def load_calls(d):
    calls = []
    with open(os.path.join(d, "truth.csv"), newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        hdr = next(r)
        ix = {h: i for i, h in enumerate(hdr)}
        i_site, i_q, i_id, i_e, i_x = ix["site"], ix["queue"], ix["callid"], ix["entered"], ix["ended"]
        i_o, i_t, i_w, i_k, i_r = ix["outcome"], ix["transferred"], ix["wait_s"], ix["talk_s"], ix["end_reason"]
        i_a = ix.get("agent")
        for row in r:
            c = Call()
            c.site = row[i_site]
            c.queue = row[i_q]
            c.callid = row[i_id]
            c.entered = int(row[i_e])
            c.ended = int(row[i_x])
            c.outcome = row[i_o]
            c.transferred = row[i_t] == "1"
            c.wait = int(row[i_w]) if row[i_w] != "" else None
            c.talk = int(row[i_k]) if row[i_k] != "" else None
            c.end_reason = row[i_r]
            c.agent = (row[i_a] or None) if i_a is not None else None
            calls.append(c)
    return calls


def load_open(d):
    out = []
    p = os.path.join(d, "truth_open.csv")
    if not os.path.exists(p):
        return out
    with open(p, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            o = OpenCall()
            o.site = row["site"]
            o.queue = row["queue"]
            o.callid = row["callid"]
            o.entered = int(row["entered"])
            o.state = row["state"]
            o.connected = int(row["connected"]) if row.get("connected") else None
            o.agent = row.get("agent") or None
            out.append(o)
    return out


def load_meta(d):
    with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------- Truth


class Truth:
    def __init__(self, calls, open_calls=(), short_abandon_s=5, service_level_s=20, meta=None):
        self.short_abandon_s = short_abandon_s
        self.service_level_s = service_level_s
        self.meta = meta or {}
        self.calls = list(calls)
        self.open = list(open_calls)
        self.by_sq = {}
        for c in sorted(self.calls, key=lambda c: c.ended):
            self.by_sq.setdefault((c.site, c.queue), []).append(c)
        self.ends = {k: [c.ended for c in v] for k, v in self.by_sq.items()}

    @classmethod
    def load(cls, d, short_abandon_s=5, service_level_s=20):
        meta = load_meta(d) if os.path.exists(os.path.join(d, "meta.json")) else None
        return cls(load_calls(d), load_open(d), short_abandon_s, service_level_s, meta)

    @classmethod
    def merge(cls, truths):
        calls, opn = [], []
        for t in truths:
            calls += t.calls
            opn += t.open
        return cls(calls, opn, truths[0].short_abandon_s, truths[0].service_level_s)

    def keys(self):
        return sorted(self.by_sq)

    def counters(self, frm, to, site=None, queue=None):
        out = {}
        for (s, q), lst in self.by_sq.items():
            if (site is not None and s != site) or (queue is not None and q != queue):
                continue
            e = self.ends[(s, q)]
            i = bisect.bisect_left(e, frm)
            j = bisect.bisect_left(e, to)
            if i == j:
                continue
            c = new_counters()
            for call in lst[i:j]:
                add_call(c, call, self.short_abandon_s, self.service_level_s)
            out[(s, q)] = c
        return out

    def figures(self, frm, to, site=None, queue=None):
        """{(site, queue): figures} for every site+queue with calls ended in [frm, to)."""
        return {k: figures_from_counters(c) for k, c in self.counters(frm, to, site, queue).items()}

    def by_period(self, period_of):
        cs = {}
        for c in self.calls:
            k = (c.site, c.queue, period_of(c.ended))
            x = cs.get(k)
            if x is None:
                x = cs[k] = new_counters()
            add_call(x, c, self.short_abandon_s, self.service_level_s)
        return {k: figures_from_counters(v) for k, v in cs.items()}

    def hourly(self):
        """{(site, queue, hour_start_epoch): figures} (UTC hours)."""
        return self.by_period(lambda t: t - t % 3600)

    def minutely(self):
        return self.by_period(lambda t: t - t % 60)

    def daily(self):
        """{(site, queue, date): figures}, days in Europe/Paris."""
        return self.by_period(paris_date)

    def live(self, now=None):
        """Expected live gauges: {(site, queue): {'calls_waiting', 'longest_wait_s', 'oldest'}}
        for every site+queue seen (finished or open). longest_wait_s = now - oldest entry
        of a waiting call (0 when none waiting)."""
        out = {}
        for (s, q) in self.by_sq:
            out[(s, q)] = {"calls_waiting": 0, "longest_wait_s": 0, "oldest": None}
        for o in self.open:
            g = out.setdefault((o.site, o.queue), {"calls_waiting": 0, "longest_wait_s": 0, "oldest": None})
            if o.state == "waiting":
                g["calls_waiting"] += 1
                if g["oldest"] is None or o.entered < g["oldest"]:
                    g["oldest"] = o.entered
        for g in out.values():
            if g["oldest"] is not None and now is not None:
                g["longest_wait_s"] = int(now) - g["oldest"]
        return out

    def range(self):
        if not self.calls:
            return None
        return min(c.ended for c in self.calls), max(c.ended for c in self.calls)


def day_range(d):
    """[start, end) epochs of Paris date d."""
    return paris_midnight(d), paris_midnight(d + _dt.timedelta(days=1))


def _jsonable(figs):
    return [dict(site=k[0], queue=k[1], **v) for k, v in sorted(figs.items())]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--from", dest="frm")
    ap.add_argument("--to")
    ap.add_argument("--site")
    ap.add_argument("--queue")
    ap.add_argument("--by", choices=["total", "hour", "day"], default="total")
    ap.add_argument("--short-abandon", type=int, default=5)
    ap.add_argument("--service-level", type=int, default=20)
    ap.add_argument("--live-at", help="print live gauges as seen at this time (or 'now')")
    a = ap.parse_args(argv)
    t = Truth.load(a.dir, a.short_abandon, a.service_level)
    if a.live_at:
        now = parse_time(a.live_at)
        out = [dict(site=k[0], queue=k[1], calls_waiting=v["calls_waiting"],
                    longest_wait_s=v["longest_wait_s"]) for k, v in sorted(t.live(now).items())]
        print(json.dumps({"live": out}, ensure_ascii=False, indent=1))
        return 0
    if a.by == "total":
        rng = t.range() or (0, 0)
        frm = parse_time(a.frm) if a.frm else rng[0]
        to = parse_time(a.to) if a.to else rng[1] + 1
        res = t.figures(frm, to, a.site, a.queue)
        out = [dict(site=k[0], queue=k[1], **{"from": iso(frm), "to": iso(to)}, **v)
               for k, v in sorted(res.items())]
        print(json.dumps({"calls": out}, ensure_ascii=False, indent=1))
    else:
        res = t.hourly() if a.by == "hour" else t.daily()
        out = []
        for (s, q, p), v in sorted(res.items()):
            if (a.site and s != a.site) or (a.queue and q != a.queue):
                continue
            out.append(dict(site=s, queue=q, period_start=iso(p) if a.by == "hour" else str(p), **v))
        print(json.dumps({"calls": out}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
