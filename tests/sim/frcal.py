#!/usr/bin/python3
"""frcal.py - French administrative calendar for the mail ground truth.

A Calendar is a weekly schedule of opening hours in a time zone, minus public
holidays. It answers three questions, at the second:

  is_open(ts)               is the site open at epoch ts?
  business_seconds(a, b)    how many seconds of [a, b) fall in opening hours
  add_business(ts, s)       the earliest instant t >= ts with business_seconds(ts, t) == s

Definitions (the C implementation of reply_delay_business_s must match them):
  - Opening hours are half-open local intervals [start, end) per weekday
    (Monday = 0), default Monday-Friday [09:00, 17:00), time zone
    Europe/Paris. Local times are turned into instants with zoneinfo for each
    date, so DST days are handled (an interval that would start or end in the
    hour skipped in spring is taken at the offset in force before the change;
    the default hours never meet this).
  - A date is closed all day when it is a public holiday. French public holidays
    (fixed): 1 Jan, 1 May, 8 May, 14 Jul, 15 Aug, 1 Nov, 11 Nov, 25 Dec;
    (moving, from Gregorian Easter Sunday E): Easter Monday E+1, Ascension
    E+39, Whit Monday E+50. With alsace_moselle=True: Good Friday E-2 and
    26 Dec as well. Extra closed dates (a "pont", an exceptional closure) can
    be added with closed_dates=.
  - business_seconds(a, b) = measure of [a, b) inside opening intervals; 0 when
    b <= a. Integer epochs give an integer. It is additive:
    business_seconds(a, c) == business_seconds(a, b) + business_seconds(b, c).
  - A holiday falling on a weekend changes nothing (no substitute day).

As a module:
    cal = Calendar()                                  # Paris, Mon-Fri 09-17
    cal = Calendar(hours={0: [("08:30", "12:00"), ("13:30", "17:00")], ...})
    cal.is_open(ts); cal.business_seconds(a, b); cal.add_business(ts, s)
    french_holidays(2026) -> {date: name}; easter_sunday(2026) -> date
As a CLI:
    frcal.py holidays 2026
    frcal.py between 2026-05-13T16:00:00+02:00 2026-05-18T10:00:00+02:00
    frcal.py open 2026-05-14T10:00:00+02:00
Use /usr/bin/python3 (stdlib only).
"""

import datetime as _dt
import sys
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def easter_sunday(year):
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return _dt.date(year, month, day + 1)


def french_holidays(year, alsace_moselle=False):
    """{date: name} of the French public holidays of year."""
    e = easter_sunday(year)
    td = _dt.timedelta
    h = {
        _dt.date(year, 1, 1): "Jour de l'an",
        e + td(days=1): "Lundi de Pâques",
        _dt.date(year, 5, 1): "Fête du travail",
        _dt.date(year, 5, 8): "Victoire 1945",
        e + td(days=39): "Ascension",
        e + td(days=50): "Lundi de Pentecôte",
        _dt.date(year, 7, 14): "Fête nationale",
        _dt.date(year, 8, 15): "Assomption",
        _dt.date(year, 11, 1): "Toussaint",
        _dt.date(year, 11, 11): "Armistice 1918",
        _dt.date(year, 12, 25): "Noël",
    }
    if alsace_moselle:
        h[e - td(days=2)] = "Vendredi saint"
        h[_dt.date(year, 12, 26)] = "Saint Étienne"
    return h


def _hms(x):
    """'09:00' / '9:00:30' / seconds -> seconds since local midnight."""
    if isinstance(x, (int, float)):
        return int(x)
    p = [int(v) for v in x.split(":")]
    while len(p) < 3:
        p.append(0)
    return p[0] * 3600 + p[1] * 60 + p[2]


DEFAULT_HOURS = {d: [(9 * 3600, 17 * 3600)] for d in range(5)}


class Calendar:
    def __init__(self, tz="Europe/Paris", hours=None, alsace_moselle=False, closed_dates=()):
        self.tzname = tz
        self.tz = ZoneInfo(tz)
        src = DEFAULT_HOURS if hours is None else hours
        self.hours = {}
        for d in range(7):
            iv = src.get(d, src.get(WEEKDAYS[d], []))
            iv = sorted((_hms(a), _hms(b)) for a, b in iv)
            for (a, b), nxt in zip(iv, iv[1:] + [None]):
                if not 0 <= a < b <= 86400:
                    raise ValueError("bad opening interval %r" % ((a, b),))
                if nxt is not None and nxt[0] < b:
                    raise ValueError("overlapping opening intervals on %s" % WEEKDAYS[d])
            self.hours[d] = iv
        self.alsace_moselle = alsace_moselle
        self.closed_dates = set(closed_dates)
        self._hol = {}
        self._day = {}

    # -- days ------------------------------------------------------------
    def is_holiday(self, d):
        h = self._hol.get(d.year)
        if h is None:
            h = self._hol[d.year] = french_holidays(d.year, self.alsace_moselle)
        return d in h or d in self.closed_dates

    def local_date(self, ts):
        return _dt.datetime.fromtimestamp(ts, self.tz).date()

    def _local_epoch(self, d, secs):
        if secs >= 86400:
            return self._local_epoch(d + _dt.timedelta(days=1), secs - 86400)
        hh, rem = divmod(secs, 3600)
        mm, ss = divmod(rem, 60)
        return int(_dt.datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=self.tz).timestamp())

    def open_intervals(self, d):
        """[(start_epoch, end_epoch)] of date d (local), empty on closed days."""
        r = self._day.get(d)
        if r is None:
            if self.is_holiday(d):
                r = []
            else:
                r = [(self._local_epoch(d, a), self._local_epoch(d, b)) for a, b in self.hours[d.weekday()]]
            if len(self._day) > 20000:
                self._day.clear()
            self._day[d] = r
        return r

    def day_bounds(self, d):
        """[midnight, next midnight) of local date d, as epochs."""
        return self._local_epoch(d, 0), self._local_epoch(d + _dt.timedelta(days=1), 0)

    # -- queries ---------------------------------------------------------
    def is_open(self, ts):
        for a, b in self.open_intervals(self.local_date(ts)):
            if a <= ts < b:
                return True
        return False

    def business_seconds(self, a, b):
        """Seconds of [a, b) inside opening hours (0 if b <= a)."""
        if b <= a:
            return 0
        d = self.local_date(a)
        last = self.local_date(b)
        tot = 0
        one = _dt.timedelta(days=1)
        while d <= last:
            for s, e in self.open_intervals(d):
                lo = s if s > a else a
                hi = e if e < b else b
                if hi > lo:
                    tot += hi - lo
            d += one
        return tot

    def add_business(self, ts, secs):
        """Earliest t >= ts with business_seconds(ts, t) == secs. secs == 0 -> ts."""
        if secs <= 0:
            return ts
        d = self.local_date(ts)
        one = _dt.timedelta(days=1)
        for _ in range(3700):       # ten years of closed days at most
            for s, e in self.open_intervals(d):
                if e <= ts:
                    continue
                lo = s if s > ts else ts
                avail = e - lo
                if secs <= avail:
                    return lo + secs
                secs -= avail
            d += one
        raise ValueError("calendar has no opening hours")

    def next_open(self, ts):
        """First instant >= ts at which the site is open."""
        d = self.local_date(ts)
        one = _dt.timedelta(days=1)
        for _ in range(3700):
            for s, e in self.open_intervals(d):
                if e > ts:
                    return s if s > ts else ts
            d += one
        raise ValueError("calendar has no opening hours")

    def describe(self):
        """JSON-able description (for meta files)."""
        def f(s):
            return "%02d:%02d" % (s // 3600, s % 3600 // 60) + (":%02d" % (s % 60) if s % 60 else "")
        return {"timezone": self.tzname,
                "hours": {WEEKDAYS[d]: [[f(a), f(b)] for a, b in self.hours[d]] for d in range(7)},
                "holidays": "FR" + ("+alsace-moselle" if self.alsace_moselle else ""),
                "closed_dates": sorted(str(x) for x in self.closed_dates)}


def _parse(s):
    t = s.replace("Z", "+00:00")
    if t.lstrip("-").isdigit():
        return int(t)
    d = _dt.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=ZoneInfo("Europe/Paris"))
    return int(d.timestamp())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    cal = Calendar()
    if len(argv) == 2 and argv[0] == "holidays":
        for d, n in sorted(french_holidays(int(argv[1])).items()):
            print("%s %s %s" % (d, WEEKDAYS[d.weekday()], n))
        return 0
    if len(argv) == 3 and argv[0] == "between":
        a, b = _parse(argv[1]), _parse(argv[2])
        s = cal.business_seconds(a, b)
        print("calendar %d s, business %d s (%.2f h)" % (b - a, s, s / 3600.0))
        return 0
    if len(argv) == 2 and argv[0] == "open":
        print("open" if cal.is_open(_parse(argv[1])) else "closed")
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
