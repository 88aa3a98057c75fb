#!/usr/bin/python3
"""simulate.py - Asterisk queue_log traffic simulator with exact ground truth.

Writes, in --out DIR:
  queue_log        the trace, in the exact field layouts of the chosen Asterisk
                   version(s), events in timestamp order, calls interleaved
  truth.csv        one row per finished call (a caller's stint in one queue)
  truth_open.csv   calls still in progress at the end of the trace
  meta.json        parameters, time range, flavour segments, queues, counts

The model: a FIFO multi-agent queue per queue (Erlang-A like: Poisson arrivals
with an office-hours profile, agents on shifts with lunch breaks and absences,
log-normal talk times, callers abandoning after a patience draw, queue
timeouts, keys pressed, withdrawals, transfers and re-entries into a second
queue with the same callid). Every wait written in the log equals the event
time minus the ENTERQUEUE time, so layouts without wait fields give the same
numbers.

Timestamps are integers (queue_log writes epoch seconds). Everything is a
function of --seed and the parameters (and of the clock with --end now).
Use /usr/bin/python3 (stdlib only).

Options worth knowing:
  --flavour V        1.4 1.8 11 13 16 20 22: that version's field layouts and
                     events; mixed: the PBX is upgraded 1.4 -> ... -> 22 over the
                     trace (QUEUESTART at 03:00 on quiet nights, no call open)
  --end T|now        the trace covers [T - days, T); calls still open at T go
                     to truth_open.csv (state waiting or talking)
  --profile-anchor busy
                     shift the office-hours profile (not the timestamps) so the
                     trace ends on a busy Tuesday morning: rolling windows have
                     content whatever the time the tests run
  --calls N          stop after N calls (all finished); without --days the
                     length is chosen to hold them
  --live SPEED       write progressively, timestamps = wall clock: the model
                     runs SPEED times faster than real time (arrivals, waits and
                     talk times compressed alike, so logged waits still equal
                     the differences of logged times); truth.csv grows as calls
                     end; SIGTERM/SIGINT stops cleanly (truth_open.csv, meta.json)

Examples:
  simulate.py --out /tmp/t --days 7 --queues 5 --seed 1 --flavour mixed --end now
  simulate.py --out /tmp/b --queues 5 --seed 1 --calls 1000000 --end 2026-11-29T00:00:00Z
  simulate.py --out /tmp/l --queues 4 --seed 1 --live 60
"""

import argparse
import bisect
import datetime as _dt
import heapq
import json
import math
import os
import random
import signal
import sys
import time

INF = float("inf")

# --------------------------------------------------------------------------
# Time helpers (Europe/Paris without tzdata: EU rule, valid since 1996)


def _last_sunday_utc(year, month):
    """Epoch of the last Sunday of month at 01:00 UTC."""
    d = _dt.date(year, month + 1, 1) - _dt.timedelta(days=1) if month < 12 else _dt.date(year, 12, 31)
    d -= _dt.timedelta(days=(d.weekday() - 6) % 7)
    return int(_dt.datetime(d.year, d.month, d.day, 1, 0, tzinfo=_dt.timezone.utc).timestamp())


_DST_CACHE = {}


def paris_offset(ts):
    """UTC offset of Europe/Paris at epoch ts, in seconds (3600 or 7200)."""
    year = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).year
    r = _DST_CACHE.get(year)
    if r is None:
        r = _DST_CACHE[year] = (_last_sunday_utc(year, 3), _last_sunday_utc(year, 10))
    return 7200 if r[0] <= ts < r[1] else 3600


def paris_date(ts):
    return _dt.datetime.fromtimestamp(ts + paris_offset(ts), _dt.timezone.utc).date()


def paris_midnight(d):
    """Epoch of 00:00 Europe/Paris on date d."""
    e = int(_dt.datetime(d.year, d.month, d.day, tzinfo=_dt.timezone.utc).timestamp())
    return e - paris_offset(e - 3 * 3600)


def iso(ts):
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    """ISO 8601 ('2026-11-29T08:00:00Z', '2026-11-29 08:00', with or without
    offset; UTC if none), an epoch number, or 'now'."""
    s = s.strip()
    if s == "now":
        return int(time.time())
    if s.lstrip("-").isdigit():
        return int(s)
    t = s.replace("Z", "+00:00")
    if "T" not in t and " " in t:
        t = t.replace(" ", "T", 1)
    d = _dt.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return int(d.timestamp())


# --------------------------------------------------------------------------
# Asterisk versions and their queue_log layouts (see
# shared/reference/telephony-formats-and-kpis.md section 1)


class Flavour:
    def __init__(self, name):
        v = {"1.4": 104, "1.8": 108, "11": 1100, "13": 1300, "16": 1600, "20": 2000, "22": 2200}[name]
        self.name = name
        self.v = v
        self.enter_opos = v >= 108       # ENTERQUEUE url|cid|opos (1.8.0)
        self.cidname = v >= 2000         # log-caller-id-name (20.14, 22.4)
        self.connect_ring = v >= 108     # CONNECT hold|uid|ringtime (1.6.0)
        self.exit_long = v >= 108        # EXITWITHTIMEOUT pos|opos|wait, EXITWITHKEY key|pos|opos|wait (1.6.0)
        self.old_transfer = v < 1200     # TRANSFER (<= 11), BLIND/ATTENDEDTRANSFER (>= 12)
        self.transfer_opos = v >= 108    # TRANSFER ...|opos (1.6.1)
        self.ringcanceled = v >= 1500    # RINGCANCELED (15.0)
        self.withdraw = v >= 1600        # WITHDRAW (16.25, 20.0): 16 = last 16.x
        self.pause_reason = v >= 108
        self.tech = "PJSIP" if v >= 1300 else "SIP"


FLAVOUR_NAMES = ["1.4", "1.8", "11", "13", "16", "20", "22"]

# --------------------------------------------------------------------------
# Queues: name, load weight, queue timeout (0 = none), leavewhenempty,
# open on Saturday morning, talk median (s)

CATALOGUE = [
    ("accueil", 1.00, 600, False, True, 170),
    ("etrangers", 1.40, 900, True, False, 260),
    ("cartes grises", 0.80, 300, False, False, 200),
    ("permis.conduire", 0.60, 0, True, False, 180),
    ("naturalisation", 0.40, 420, False, False, 300),
    ("élections", 0.20, 300, True, False, 150),
    ("rdv:guichet", 0.50, 240, False, True, 120),
    ("standard", 0.90, 180, False, True, 90),
]

FIRST = ["Marie", "Jean", "Hélène", "Luc", "Zoé", "Karim", "Sophie", "Éric", "Nadia", "Paul",
         "Chloé", "Yann", "Inès", "Hugo", "Léa", "Mehdi", "Anne", "Loïc", "Sarah", "Thomas"]
LAST = ["Martin", "Dupont", "Lefèvre", "Bernard", "Moreau", "Durand", "Benali", "Nguyen",
        "Petit", "Girard", "Bonnet", "Mercier", "Faure", "Roux", "Fournier", "Müller"]

# Arrival profile: factor per 15-minute slot of a local day (96 slots).


def _weekday_profile():
    p = [0.0] * 96
    for k in range(96):
        m = k * 15
        if 510 <= m < 540:
            p[k] = 0.8
        elif 540 <= m < 660:
            p[k] = 1.6      # morning peak 9:00-11:00
        elif 660 <= m < 720:
            p[k] = 1.2
        elif 720 <= m < 810:
            p[k] = 0.5      # lunch dip
        elif 810 <= m < 960:
            p[k] = 1.0
        elif 960 <= m < 1050:
            p[k] = 0.7
    return p


WEEKDAY_PROFILE = _weekday_profile()
DAY_FACTOR = [1.25, 1.1, 1.0, 1.0, 0.85, 0.0, 0.0]
SATURDAY_PROFILE = [0.5 if 540 <= k * 15 < 720 else 0.0 for k in range(96)]
NIGHT_RATE_PER_HOUR = 0.08      # rare calls when closed, per queue
BASE_PER_HOUR = 35.0            # calls per hour at profile factor 1, weight 1


class Queue:
    pass


def build_queues(n, rate_scale, rnd):
    qs = []
    ext = 2101
    for i in range(n):
        if i < len(CATALOGUE):
            name, w, tmo, lwe, sat, talk = CATALOGUE[i]
        else:
            name = "file%02d" % (i + 1)
            w = 0.3 + 0.7 * rnd.random()
            tmo = rnd.choice([0, 300, 600])
            lwe = rnd.random() < 0.5
            sat = False
            talk = rnd.choice([120, 180, 240])
        q = Queue()
        q.idx = i
        q.name = name
        q.weight = w
        q.timeout = tmo
        q.lwe = lwe
        q.saturday = sat
        q.talk_mu = math.log(talk)
        peak = w * rate_scale * BASE_PER_HOUR * 1.6
        q.nagents = max(1, int(round(peak * (talk + 20) / 3600.0 * 1.3)))
        q.agents = []      # membername (agent field of call events)
        q.ifaces = []      # extension numbers
        for a in range(q.nagents):
            q.agents.append("%s %s" % (rnd.choice(FIRST), rnd.choice(LAST)) if rnd.random() < 0.7
                            else None)
            q.ifaces.append(ext)
            ext += 1
        qs.append(q)
    return qs


# --------------------------------------------------------------------------


class Sim:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.site = a.site
        self.queues = build_queues(a.queues, a.rate_scale, self.rnd)
        for q in self.queues:
            for i, m in enumerate(q.agents):
                if m is None:
                    q.agents[i] = "%s/%d" % ("Agent", q.ifaces[i])

    # -- calendar (in the profile clock: p = ts + shift) -------------------
    def build_days(self, start, end):
        """Local days covering [start, end) in the profile clock."""
        sh = self.shift
        d = paris_date(start + sh) - _dt.timedelta(days=1)
        last = paris_date(end + sh) + _dt.timedelta(days=1)
        self.day_start = []   # epochs (real clock) of local midnights of the profile
        self.day_wd = []
        while d <= last + _dt.timedelta(days=1):
            self.day_start.append(paris_midnight(d) - sh)
            self.day_wd.append(d.weekday())
            d += _dt.timedelta(days=1)

    def rate_slots(self, q, di):
        """List of 96 arrival rates (per second) for queue q on day index di."""
        wd = self.day_wd[di]
        night = NIGHT_RATE_PER_HOUR / 3600.0
        scale = q.weight * self.a.rate_scale * BASE_PER_HOUR / 3600.0
        if wd < 5:
            f = DAY_FACTOR[wd]
            return [scale * f * x if x > 0 else night for x in WEEKDAY_PROFILE]
        if wd == 5 and q.saturday:
            return [scale * x if x > 0 else night for x in SATURDAY_PROFILE]
        return [night] * 96

    def agent_intervals(self, q, start, end):
        """On-duty intervals (real epochs) of each agent, and member events."""
        rnd = self.rnd
        starts = [[] for _ in range(q.nagents)]
        ends = [[] for _ in range(q.nagents)]
        ev = []   # (ts, kind, agent index, extra)
        for di in range(len(self.day_start) - 1):
            ds = self.day_start[di]
            if ds + 86400 < start - 86400 or ds > end:
                continue
            wd = self.day_wd[di]
            for i in range(q.nagents):
                if wd < 5:
                    if rnd.random() < 0.07:
                        continue   # absent
                    s = 510 if i % 3 != 2 else 540
                    e = 1050 if i % 2 == 0 else 1020
                    if wd == 4 and i % 2 == 1:
                        e = 990
                    ls = 720 + (i % 3) * 30 + int(rnd.random() * 10)
                    le = ls + 55 + int(rnd.random() * 30)
                    segs = [(s, ls), (le, e)]
                elif wd == 5 and q.saturday and i < 2:
                    segs = [(540, 720)]
                else:
                    continue
                jitter = int(rnd.random() * 240) - 120
                a0 = ds + segs[0][0] * 60 + jitter
                b1 = ds + segs[-1][1] * 60 + int(rnd.random() * 300)
                if a0 >= end or b1 <= start:
                    continue
                prev_end = None
                for k, (x, y) in enumerate(segs):
                    a_ = a0 if k == 0 else ds + x * 60 + int(rnd.random() * 60)
                    b_ = b1 if k == len(segs) - 1 else ds + y * 60 + int(rnd.random() * 60)
                    starts[i].append(a_)
                    ends[i].append(b_)
                    if k == 0:
                        ev.append((a_, "login", i, None))
                    else:
                        ev.append((prev_end, "pause", i, None))
                        ev.append((a_, "unpause", i, None))
                    prev_end = b_
                ev.append((b1, "logoff", i, b1 - a0))
        return starts, ends, ev

    # -- flavour segments --------------------------------------------------
    def build_segments(self, start, end):
        """[(from_ts, Flavour)] and the restart instants (QUEUESTART)."""
        a = self.a
        if a.flavour != "mixed":
            return [(start, Flavour(a.flavour))], []
        # restart at 03:00 (profile clock) on evenly spaced days, one per version
        cands = []
        for di in range(len(self.day_start)):
            r = self.day_start[di] + 3 * 3600
            if start + 5 * 3600 < r < end - 3600:
                cands.append(r)
        n = min(len(FLAVOUR_NAMES) - 1, len(cands))
        names = FLAVOUR_NAMES[len(FLAVOUR_NAMES) - 1 - n:]
        picks = [cands[int((k + 1) * len(cands) / (n + 1))] for k in range(n)] if n else []
        picks = sorted(set(picks))
        names = names[len(names) - 1 - len(picks):]
        segs = [(start, Flavour(names[0]))]
        for k, r in enumerate(picks):
            segs.append((r, Flavour(names[k + 1])))
        return segs, picks

    # -- main generation ---------------------------------------------------
    def run(self):
        a = self.a
        rnd = self.rnd
        rr = rnd.random
        expo = rnd.expovariate
        lognorm = rnd.lognormvariate
        out = a.out
        os.makedirs(out, exist_ok=True)
        live = a.live is not None

        calls_mode = bool(a.calls) and a.days is None and not live
        if live:
            wall0 = int(time.time())
            end_ts = wall0 + int((a.days if a.days else 365) * 86400)
            start = wall0
            self.shift = 0
            speed = float(a.live)
        else:
            end_ts = parse_time(a.end)
            if calls_mode:
                per_day = self._calls_per_day()
                days = math.ceil(a.calls / per_day * 1.3) + 2
            else:
                days = a.days if a.days is not None else 7
            start = end_ts - int(days * 86400)
            self.shift = 0
        if a.profile_shift is not None:
            self.shift = a.profile_shift
        elif a.profile_anchor == "busy":
            # the profile clock reads Tuesday ~10:47 Paris at the end of the trace
            # (at its start in live mode)
            anchor = start if live else end_ts
            d = paris_date(anchor)
            d -= _dt.timedelta(days=(d.weekday() - 1) % 7)
            target = paris_midnight(d) + 10 * 3600 + 47 * 60
            if target > anchor:
                target -= 7 * 86400
            self.shift = target - anchor
        gen_end = end_ts
        if calls_mode:
            end_ts = 2 ** 40   # the trace ends with the last call

        self.build_days(start - 86400, gen_end + 86400)
        segs, restarts = self.build_segments(start, gen_end)
        seg_starts = [s for s, _ in segs]
        seg_fl = [f for _, f in segs]
        quiet = [(r - 4 * 3600, r) for r in restarts]

        # time map for live mode (virtual -> wall clock)
        if live:
            def T(x):
                return wall0 + int((x - wall0) / speed)
        else:
            T = None

        # buckets: second -> list of lines; truth rows by end second
        buckets = {}
        bkeys = []
        tb = {}
        tkeys = []

        def put(ts, line):
            b = buckets.get(ts)
            if b is None:
                b = buckets[ts] = []
                heapq.heappush(bkeys, ts)
            b.append(line)

        # -- system and member events
        seq = [int(rr() * 50) + 10]   # uniqueid counter of callers (per boot)
        mseq = [500000]               # agents' channels (kept apart: never equal to a callid)

        def uid(ts):
            mseq[0] += 1 + int(rr() * 3)
            return "%d.%d" % (ts, mseq[0])

        def fl_at(ts):
            return seg_fl[bisect.bisect_right(seg_starts, ts) - 1]

        def sys_line(ts, ev):
            t = T(ts) if live else ts
            put(t, "%d|NONE|NONE|NONE|%s|" % (t, ev))

        def addmembers(ts, fl):
            t = T(ts) if live else ts
            for q in self.queues:
                for i in range(q.nagents):
                    put(t, "%d|MANAGER|%s|%s/%d|ADDMEMBER|" % (t, q.name, fl.tech, q.ifaces[i]))

        sys_line(start, "QUEUESTART")
        addmembers(start, seg_fl[0])
        for r in restarts:
            sys_line(r, "QUEUESTART")
            addmembers(r, fl_at(r))
        # one configuration reload in the middle of an office day (calls go on)
        mid = start + (gen_end - start) // 2
        for di in range(len(self.day_start)):
            if self.day_start[di] > mid and self.day_wd[di] < 5:
                cr = self.day_start[di] + 10 * 3600 + 1234
                if cr < gen_end and not any(x <= cr < y for x, y in quiet):
                    sys_line(cr, "CONFIGRELOAD")
                break

        for q in self.queues:
            st, en, ev = self.agent_intervals(q, start, gen_end)
            q.iv_s, q.iv_e = st, en
            # union of on-duty intervals for "empty queue" checks
            allv = sorted((x, y) for i in range(q.nagents) for x, y in zip(st[i], en[i]))
            us, ue = [], []
            for x, y in allv:
                if us and x <= ue[-1]:
                    if y > ue[-1]:
                        ue[-1] = y
                else:
                    us.append(x)
                    ue.append(y)
            q.u_s, q.u_e = us, ue
            chans = {}
            for ts, kind, i, extra in ev:
                if ts < start or ts >= gen_end:
                    continue
                fl = fl_at(ts)
                t = T(ts) if live else ts
                member = q.agents[i]
                if kind == "login":
                    ch = "%s/%d-%08x" % (fl.tech, q.ifaces[i], int(rr() * 0xffffffff))
                    chans[i] = (ch, uid(ts))
                    if q.idx == 0:
                        # agent channel's uniqueid as callid, queue NONE (chan_agent / app_agent_pool)
                        put(t, "%d|%s|NONE|Agent/%d|AGENTLOGIN|%s" % (t, chans[i][1], q.ifaces[i], ch))
                    put(t, "%d|%s|%s|%s|ADDMEMBER|" % (t, uid(ts), q.name, member))
                elif kind == "pause":
                    put(t, "%d|NONE|%s|%s|PAUSE|%s" % (t, q.name, member,
                                                       "Déjeuner" if fl.pause_reason else ""))
                elif kind == "unpause":
                    put(t, "%d|NONE|%s|%s|UNPAUSE|" % (t, q.name, member))
                else:
                    put(t, "%d|NONE|%s|%s|REMOVEMEMBER|" % (t, q.name, member))
                    if q.idx == 0 and i in chans:
                        ch, cu = chans.pop(i)
                        put(t, "%d|%s|NONE|Agent/%d|AGENTLOGOFF|%s|%d" % (t, cu, q.ifaces[i], ch, extra))
            # agent heap: (available-from, index)
            q.free = [0] * q.nagents
            h = []
            for i in range(q.nagents):
                h.append((self._next_on(q, i, start), i))
            heapq.heapify(h)
            q.aheap = h
            q.waiters = []   # heap of times callers stop waiting (for positions)

        # -- arrivals: one generator per queue, merged in a heap with re-entries
        def arrivals(q):
            days = self.day_start
            di = bisect.bisect_right(days, start) - 1
            t = float(start)
            while di < len(days) - 1:
                rates = self.rate_slots(q, di)
                ds = days[di]
                dlen = days[di + 1] - ds
                k = int((t - ds) // 900)
                while k * 900 < dlen:
                    s_end = ds + min((k + 1) * 900, dlen)
                    lam = rates[k if k < 96 else 95]
                    if quiet:
                        for x, y in quiet:
                            if x < s_end and t < y:
                                lam = 0.0
                    if lam > 0:
                        t += expo(lam)
                        if t < s_end:
                            yield int(t)
                            continue
                    t = float(s_end)
                    k += 1
                di += 1

        heap = []
        gens = []
        hseq = 0
        for q in self.queues:
            g = arrivals(q)
            gens.append(g)
            t0 = next(g, None)
            if t0 is not None:
                heap.append((t0, hseq, q.idx, None, 0))
                hseq += 1
        heapq.heapify(heap)

        # -- output files
        qlog = open(os.path.join(out, "queue_log"), "w", encoding="utf-8", newline="\n")
        tcsv = open(os.path.join(out, "truth.csv"), "w", encoding="utf-8", newline="\n")
        tcsv.write("site,queue,callid,entered,ended,outcome,transferred,wait_s,talk_s,short,end_reason,agent\n")
        site = self.site
        short_s = a.short_abandon
        nlines = [0]
        nfinished = [0]

        def csvq(s):
            if s is None:
                return ""
            if any(c in s for c in ',"\n'):
                return '"' + s.replace('"', '""') + '"'
            return s

        qcsv = [csvq(q.name) for q in self.queues]
        site_csv = csvq(site)

        def flush_until(limit):
            """Write every line with ts < limit and truth rows of calls ended before limit."""
            chunk = []
            while bkeys and bkeys[0] < limit:
                k = heapq.heappop(bkeys)
                chunk.extend(buckets.pop(k))
            if chunk:
                nlines[0] += len(chunk)
                chunk.append("")
                qlog.write("\n".join(chunk))
            rows = []
            while tkeys and tkeys[0] < limit:
                k = heapq.heappop(tkeys)
                rows.extend(r[0] for r in tb.pop(k))
            if rows:
                nfinished[0] += len(rows)
                rows.append("")
                tcsv.write("\n".join(rows))

        stop = [False]
        if live:
            def _sig(signum, frame):
                stop[0] = True
            signal.signal(signal.SIGTERM, _sig)
            signal.signal(signal.SIGINT, _sig)

        # probabilities
        P_KEY = 0.015
        P_WITHDRAW = 0.02
        P_AGENT_ABANDON = 0.003
        P_TRANSFER = 0.08
        queues = self.queues
        nq = len(queues)
        max_calls = a.calls or 0
        ncalls = 0
        last_ts = start
        next_on = self._next_on
        heappush = heapq.heappush
        heappop = heapq.heappop
        bisect_right = bisect.bisect_right
        cur_seg = -1
        fl = seg_fl[0]

        while heap:
            t, _, qi, callid, depth = heap[0]
            if t >= gen_end or (max_calls and ncalls >= max_calls):
                break
            if live:
                # the wall clock paces the writing
                while True:
                    if stop[0]:
                        break
                    now = int(time.time())
                    if T(t) <= now:
                        break
                    flush_until(now + 1)
                    qlog.flush()
                    tcsv.flush()
                    time.sleep(max(0.05, (now + 1) - time.time()))
                if stop[0]:
                    break
            heappop(heap)
            q = queues[qi]
            if callid is None:
                # fresh caller; next arrival of this queue
                nt = next(gens[qi], None)
                if nt is not None:
                    heappush(heap, (nt, hseq, qi, None, 0))
                    hseq += 1
            if not live:
                flush_until(t)
            ncalls += 1
            si = bisect_right(seg_starts, t) - 1
            if si != cur_seg:
                cur_seg = si
                fl = seg_fl[si]
                seq[0] = int(rr() * 50) + 10 if si > 0 else seq[0]
            if callid is None:
                seq[0] += 1 + int(rr() * 3)
                callid = "%d.%d" % (T(t) if live else t, seq[0])

            # position on entry
            w = q.waiters
            while w and w[0] <= t:
                heappop(w)
            opos = len(w) + 1

            # when the caller leaves unless answered
            r = rr()
            if r < 0.05:
                patience = int(rr() * 6)          # 0..5 s: short abandons (and the 5 s boundary)
            else:
                # most callers give up after a few minutes, some wait for a long time
                patience = 6 + int(expo(1.0 / 150.0) if r < 0.8 else expo(1.0 / 900.0))
                if patience > 1800:
                    patience = 1800
            leave = t + patience
            reason = "ABANDON"
            if q.timeout:
                tl = t + q.timeout + int(rr() * 2)
                if tl < leave:
                    leave, reason = tl, "EXITWITHTIMEOUT"
            if rr() < P_KEY:
                kt = t + 15 + int(rr() * 100)
                if kt < leave:
                    leave, reason = kt, "EXITWITHKEY"
            if fl.withdraw and rr() < P_WITHDRAW:
                wt = t + 30 + int(rr() * 300)
                if wt < leave:
                    leave, reason = wt, "WITHDRAW"

            # agents
            ah = q.aheap
            best = None
            empty = False
            if q.lwe:
                j = bisect_right(q.u_e, t)
                empty = j >= len(q.u_s) or q.u_s[j] > t
            if empty:
                et = t + int(rr() * 3)
                if et <= leave:
                    leave, reason = et, "EXITEMPTY"
            else:
                while True:
                    k0, i0 = ah[0]
                    if k0 >= t:
                        best = (k0, i0)
                        break
                    s0 = next_on(q, i0, t)
                    if s0 == t:
                        best = (t, i0)
                        break
                    heapq.heapreplace(ah, (s0, i0))
            connect = INF
            rna = 0
            if best is not None and best[0] < INF:
                s = best[0]
                r = rr()
                rna = 0 if r < 0.84 else (1 if r < 0.97 else 2)
                ring_start = s + rna * 16
                connect = ring_start + 1 + int(rr() * 8)
            agent_abandon = False
            if connect < leave or (connect == leave and reason != "EXITEMPTY"):
                if rr() < P_AGENT_ABANDON:
                    agent_abandon = True
                    leave, reason = connect, "ABANDON"
                    outcome = "abandoned"
                else:
                    outcome = "answered"
            else:
                outcome = "abandoned" if reason == "ABANDON" else "timed_out"
            i = best[1] if best is not None else -1
            member = q.agents[i] if i >= 0 else None
            if outcome == "answered":
                talk = int(lognorm(q.talk_mu, 0.65))
                if talk < 3:
                    talk = 3
                elif talk > 3600:
                    talk = 3600
                end = connect + talk
                free = end + 5 + int(rr() * 25)
                heapq.heapreplace(ah, (next_on(q, i, free), i)) if ah[0][1] == i else None
                heappush(w, connect)
            else:
                end = leave
                heappush(w, leave)

            # ---- emit the stint
            if live:
                te, tc, tn = T(t), (T(connect) if connect < INF else INF), T(end)
            else:
                te, tc, tn = t, connect, end
            pre = "%s|%s|" % (callid, q.name)
            # ENTERQUEUE
            r = rr()
            if r < 0.03:
                cid = "anonymous"
            elif r < 0.05:
                cid = ""
            else:
                cid = "0%d%08d" % (1 + int(rr() * 7), int(rr() * 100000000))
            if fl.cidname:
                if rr() < 0.6:
                    nm = "%s %s" % (FIRST[int(rr() * len(FIRST))], LAST[int(rr() * len(LAST))])
                else:
                    nm = ""
                put(te, "%d|%sNONE|ENTERQUEUE||%s|%d|%s" % (te, pre, cid, opos, nm))
            elif fl.enter_opos:
                put(te, "%d|%sNONE|ENTERQUEUE||%s|%d" % (te, pre, cid, opos))
            else:
                put(te, "%d|%sNONE|ENTERQUEUE||%s" % (te, pre, cid))
            # ring attempts that were not answered
            for k in range(rna):
                rv = best[0] + k * 16 + 15
                if rv < (connect if outcome == "answered" else leave):
                    rts = T(rv) if live else rv
                    other = q.agents[int(rr() * q.nagents)]
                    put(rts, "%d|%s%s|RINGNOANSWER|%d" % (rts, pre, other, 15000 + int(rr() * 900)))
            wait = tn - te if outcome != "answered" else tc - te
            pos = 1 + int(rr() * opos)
            transferred = 0
            talk_s = ""
            agent_col = ""
            if outcome == "answered":
                ringt = tc - (T(best[0] + rna * 16) if live else best[0] + rna * 16)
                seq[0] += 1
                muid = "%d.%d" % (tc, seq[0])
                if fl.connect_ring:
                    put(tc, "%d|%s%s|CONNECT|%d|%s|%d" % (tc, pre, member, wait, muid, ringt))
                else:
                    put(tc, "%d|%s%s|CONNECT|%d|%s" % (tc, pre, member, wait, muid))
                tk = tn - tc
                talk_s = str(tk)
                agent_col = member
                r = rr()
                if r < P_TRANSFER:
                    transferred = 1
                    ext = "%d" % (3000 + int(rr() * 900))
                    if fl.old_transfer:
                        reason = "TRANSFER"
                        if fl.transfer_opos:
                            put(tn, "%d|%s%s|TRANSFER|%s|from-internal|%d|%d|%d" % (tn, pre, member, ext, wait, tk, opos))
                        else:
                            put(tn, "%d|%s%s|TRANSFER|%s|from-internal|%d|%d" % (tn, pre, member, ext, wait, tk))
                    else:
                        r2 = rr()
                        if r2 < 0.55:
                            reason = "BLINDTRANSFER"
                            put(tn, "%d|%s%s|BLINDTRANSFER|%s|from-queue|%d|%d|%d" % (tn, pre, member, ext, wait, tk, opos))
                        else:
                            reason = "ATTENDEDTRANSFER"
                            if r2 < 0.80:
                                dest = "BRIDGE|%08x-%04x-%04x-%04x-%012x" % (
                                    int(rr() * 0xffffffff), int(rr() * 0xffff), int(rr() * 0xffff),
                                    int(rr() * 0xffff), int(rr() * 0xffffffffffff))
                            elif r2 < 0.85:
                                dest = "APP|Voicemail"
                            else:
                                n = int(rr() * 0xffffff)
                                dest = "LINK|Local/%s@from-internal-%08x;1|Local/%s@from-internal-%08x;2" % (ext, n, ext, n)
                            put(tn, "%d|%s%s|ATTENDEDTRANSFER|%s|%d|%d|%d" % (tn, pre, member, dest, wait, tk, opos))
                else:
                    reason = "COMPLETECALLER" if r < 0.6 else "COMPLETEAGENT"
                    put(tn, "%d|%s%s|%s|%d|%d|%d" % (tn, pre, member, reason, wait, tk, opos))
            else:
                # the agent may be ringing when the caller leaves
                if reason == "ABANDON" and agent_abandon:
                    agent_col = member
                    put(tn, "%d|%s%s|ABANDON|%d|%d|%d" % (tn, pre, member, pos, opos, wait))
                else:
                    if (reason == "ABANDON" and fl.ringcanceled and best is not None
                            and best[0] <= leave < connect):
                        off = (leave - best[0]) % 16
                        if off < 15:
                            put(tn, "%d|%s%s|RINGCANCELED|%d" % (tn, pre, member, off * 1000 + int(rr() * 999)))
                    if reason == "ABANDON":
                        put(tn, "%d|%sNONE|ABANDON|%d|%d|%d" % (tn, pre, pos, opos, wait))
                    elif reason == "EXITWITHTIMEOUT":
                        if fl.exit_long:
                            put(tn, "%d|%sNONE|EXITWITHTIMEOUT|%d|%d|%d" % (tn, pre, pos, opos, wait))
                        else:
                            put(tn, "%d|%sNONE|EXITWITHTIMEOUT|%d" % (tn, pre, pos))
                    elif reason == "EXITWITHKEY":
                        key = "019"[int(rr() * 3)]
                        if fl.exit_long:
                            put(tn, "%d|%sNONE|EXITWITHKEY|%s|%d|%d|%d" % (tn, pre, key, pos, opos, wait))
                        else:
                            put(tn, "%d|%sNONE|EXITWITHKEY|%s|%d" % (tn, pre, key, pos))
                    elif reason == "EXITEMPTY":
                        put(tn, "%d|%sNONE|EXITEMPTY|%d|%d|%d" % (tn, pre, pos, opos, wait))
                    else:
                        info = ("", "rappel programmé", "callback")[int(rr() * 3)]
                        put(tn, "%d|%sNONE|WITHDRAW|%d|%d|%d|%s" % (tn, pre, pos, opos, wait, info))
            short = 1 if outcome == "abandoned" and wait < short_s else 0
            row = "%s,%s,%s,%d,%d,%s,%d,%d,%s,%d,%s,%s" % (
                site_csv, qcsv[qi], callid, te, tn, outcome, transferred, wait, talk_s, short,
                reason, csvq(agent_col))
            rec = (row, te, tc, qi, callid, member)
            b = tb.get(tn)
            if b is None:
                tb[tn] = [rec]
                heappush(tkeys, tn)
            else:
                b.append(rec)
            if end > last_ts:
                last_ts = end

            # ---- re-entry into another queue with the same callid
            if depth == 0 and nq > 1:
                p = 0.0
                if reason == "EXITWITHTIMEOUT":
                    p = 0.25
                elif reason == "EXITWITHKEY":
                    p = 0.5
                elif reason in ("TRANSFER", "BLINDTRANSFER"):
                    p = 0.35
                if p and rr() < p:
                    q2 = (qi + 1 + int(rr() * (nq - 1))) % nq
                    heappush(heap, (end + int(rr() * 3), hseq, q2, callid, 1))
                    hseq += 1

        # ---- finish
        if live:
            final_end = T(gen_end)
            while not stop[0] and int(time.time()) < final_end:
                now = int(time.time())
                flush_until(now + 1)
                qlog.flush()
                tcsv.flush()
                time.sleep(max(0.05, (now + 1) - time.time()))
            final_end = min(final_end, int(time.time()) + 1)
            flush_until(final_end)
            end_ts = final_end
        elif calls_mode:
            end_ts = last_ts + 1
            flush_until(end_ts)
        else:
            flush_until(end_ts)
        qlog.close()
        tcsv.close()
        # calls in progress at end_ts
        nopen = 0
        with open(os.path.join(out, "truth_open.csv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("site,queue,callid,entered,state,connected,agent\n")
            for k in sorted(tb):
                for row, te, tc, qi, callid, member in tb[k]:
                    if te < end_ts:
                        nopen += 1
                        if tc < end_ts:
                            f.write("%s,%s,%s,%d,talking,%d,%s\n" % (site_csv, qcsv[qi], callid, te, tc, csvq(member)))
                        else:
                            f.write("%s,%s,%s,%d,waiting,,\n" % (site_csv, qcsv[qi], callid, te))
        meta = {
            "site": site,
            "seed": a.seed,
            "params": dict(vars(a)),
            "start": start,
            "end": end_ts,
            "start_iso": iso(start),
            "end_iso": iso(end_ts),
            "profile_shift": self.shift,
            "segments": [{"from": s if not live else T(s), "from_iso": iso(s), "flavour": f.name}
                         for s, f in segs],
            "restarts": restarts,
            "queues": [q.name for q in self.queues],
            "agents": {q.name: q.nagents for q in self.queues},
            "lines": nlines[0],
            "finished_calls": nfinished[0],
            "open_calls": nopen,
            "short_abandon_s": a.short_abandon,
            "service_level_s": 20,
        }
        with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1, ensure_ascii=False)
            f.write("\n")
        return meta

    def _next_on(self, q, i, x):
        """First instant >= x when agent i of q is on duty (INF if none)."""
        e = q.iv_e[i]
        j = bisect.bisect_right(e, x)
        if j >= len(e):
            return INF
        s = q.iv_s[i][j]
        return s if s > x else x

    def _calls_per_day(self):
        tot = 0.0
        for q in self.queues:
            sc = q.weight * self.a.rate_scale * BASE_PER_HOUR / 4.0
            for wd in range(5):
                tot += sum(WEEKDAY_PROFILE) * sc * DAY_FACTOR[wd]
            if q.saturday:
                tot += sum(SATURDAY_PROFILE) * sc
        return max(1.0, tot / 7.0 * 1.05)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--days", type=float, default=None, help="length of the trace in days (default 7)")
    ap.add_argument("--queues", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", default="now", help="end of the trace: ISO 8601, epoch or 'now' (default)")
    ap.add_argument("--flavour", default="16", choices=FLAVOUR_NAMES + ["mixed"])
    ap.add_argument("--rate-scale", type=float, default=1.0, help="multiply arrival rates (and staff)")
    ap.add_argument("--calls", type=int, default=0, help="stop after N calls (stints)")
    ap.add_argument("--live", type=float, default=None, metavar="SPEED",
                    help="write progressively, timestamps = wall clock, SPEED x faster than real time")
    ap.add_argument("--site", default="prefecture")
    ap.add_argument("--short-abandon", type=int, default=5, help="threshold for the 'short' column")
    ap.add_argument("--profile-anchor", choices=["real", "busy"], default="real",
                    help="busy: shift the office-hours profile so the trace ends on a busy Tuesday morning")
    ap.add_argument("--profile-shift", type=int, default=None, help="explicit profile clock shift (s)")
    a = ap.parse_args(argv)
    if a.queues < 1:
        ap.error("--queues must be >= 1")
    if a.live is not None and a.live <= 0:
        ap.error("--live SPEED must be > 0")
    t0 = time.time()
    meta = Sim(a).run()
    sys.stderr.write("simulate: %d lines, %d finished calls, %d open, %s .. %s, %.1fs\n" % (
        meta["lines"], meta["finished_calls"], meta["open_calls"], meta["start_iso"], meta["end_iso"],
        time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
