#!/usr/bin/python3
"""(t) The dashboard in a real headless Chromium (Debian's chromium).

A 31-day telephony trace and a mail trace (tests/sim) are read with
`reachd --once` (rules that fire included). The page of web/ is then opened
in Chromium, served by an HTTP server that answers the JSON API of the
dashboard contract (docs/dashboard.md): by default a small server in this
test (api_fixture_server: the page's files as they are compiled in, the
indicators from `reachctl indicators --json`, the series, live gauges,
alerts and collectors from PostgreSQL, Redis and `reachctl`), or the real
reachd when REACHD_DASHBOARD_URL is set or the daemon run on the same data
serves `/`. Checked:
  - the page loads with no console error and no uncaught exception;
  - every figure element (data-figure, data-site, data-entity, data-window)
    shows exactly what the API returned, formatted as the page formats it
    (fr by default: "85,3 %", "2 h 05 min"; en when the status says so);
    null rates show "-" (an en dash), never 0 % or 100 %;
  - the charts hold one bar per hourly/daily bucket the series returned;
  - alerts: firing first, by level; freshness per source;
  - the bearer token of /?token=... is sent on every fetch (the fixture
    server refuses requests without it);
  - PostgreSQL down (the API answering 503): a visible banner, the live
    figures still shown, no uncaught error (fixture server only).
Screenshots (wall screen 1920x1080 and phone 390 px) are kept in
tests/artifacts/ (printed at the end).

Env: REACHD_DASHBOARD_URL (a running reachd's base URL, e.g.
http://127.0.0.1:8470/), REACHD_DASHBOARD_TOKEN (its bearer token),
CHROMIUM (default: chromium), REACHD_TEST_SEED, REACHD_TEST_DAYS (31).
"""

import sys

sys.dont_write_bytecode = True

import datetime as _dt
import html.parser
import http.server
import json
import math
import os
import random
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import lib

sys.path.insert(0, os.path.join(lib.REPO, "tests", "sim"))
import mail_config  # noqa: E402

WEB = os.path.join(lib.REPO, "web")
ARTIFACTS = os.path.join(lib.REPO, "tests", "artifacts")
TOKEN = "s3cr3t-t0ken"
NBSP = "\u00a0"
DASH = "\u2013"

CONFIG = """\
[daemon]
site = {site}
timezone = Europe/Paris
commit_interval = 200ms
refresh_interval = 1s
[postgres]
conninfo = {conninfo}
[redis]
address = unix:{redis}
[http]
listen = 127.0.0.1:{port}
[collector "standard"]
type = queuelog
path = {queue_log}
site = {site}
service_level = 20s
short_abandon = 5s
[collector "courriels"]
type = maillog
path = {mail_log}
site = {site}
timezone = Europe/Paris
{mail_keys}
[rule "taux-decroche"]
figure = answered_rate
scope = queue:*
window = 24h
warning = < 99%
critical = < 90%
calendar = always
[rule "attente"]
figure = calls_waiting
scope = queue:*
warning = > 0
calendar = always
[rule "accuses"]
figure = ack_rate
scope = mailbox:*
window = 30d
warning = < 100%
calendar = always
"""


# ---------------------------------------------------------------- formats (mirror of web/app.js)


def js_round(x):
    """Math.round: the nearest integer, ties towards +infinity."""
    n = math.floor(x)
    return n + 1 if x - n >= 0.5 else n


class Fmt:
    def __init__(self, lang):
        self.lang = lang
        self.thousands = NBSP if lang == "fr" else ","
        self.decimal = "," if lang == "fr" else "."
        self.percent = NBSP + "%" if lang == "fr" else "%"
        self.day = "j" if lang == "fr" else "d"

    def group(self, n):
        s = str(n)
        out = ""
        while len(s) > 3:
            out = self.thousands + s[-3:] + out
            s = s[:-3]
        return s + out

    def rate(self, v):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return DASH
        n = js_round(v * 1000)
        return self.group(n // 10) + self.decimal + str(n % 10) + self.percent

    def int(self, v):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return DASH
        n = js_round(v)
        return ("-" if n < 0 else "") + self.group(abs(n))

    def dur(self, v):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return DASH
        s = max(0, js_round(v))
        if s < 60:
            return "%d%ss" % (s, NBSP)
        if s < 3600:
            return "%d%smin%s%02d%ss" % (s // 60, NBSP, NBSP, s % 60, NBSP)
        if s < 86400:
            return "%d%sh%s%02d%smin" % (s // 3600, NBSP, NBSP, s % 3600 // 60, NBSP)
        return "%s%s%s%s%02d%sh" % (self.group(s // 86400), NBSP, self.day, NBSP, s % 86400 // 3600, NBSP)

    def figure(self, name, v):
        if re.search(r"_rate$|^service_level$|^replied_within_target$", name or ""):
            return self.rate(v)
        if re.search(r"_s$", name or ""):
            return self.dur(v)
        return self.int(v)

    def state(self, v):
        if not isinstance(v, (int, float)):
            return {"fr": "sans appel", "en": "no calls"}[self.lang]
        if v >= 0.85:
            return {"fr": "bon", "en": "good"}[self.lang]
        if v >= 0.75:
            return {"fr": "\u00e0 surveiller", "en": "watch"}[self.lang]
        return {"fr": "insuffisant", "en": "poor"}[self.lang]


def selftest_formats():
    fr, en = Fmt("fr"), Fmt("en")
    cases = [(fr.rate(0.8532), "85,3" + NBSP + "%"), (en.rate(0.8532), "85.3%"), (fr.rate(None), DASH),
             (fr.rate(1.0), "100,0" + NBSP + "%"), (fr.rate(0.0), "0,0" + NBSP + "%"),
             (fr.dur(7500), "2" + NBSP + "h" + NBSP + "05" + NBSP + "min"), (fr.dur(45), "45" + NBSP + "s"),
             (fr.dur(725), "12" + NBSP + "min" + NBSP + "05" + NBSP + "s"),
             (fr.dur(3 * 86400 + 4 * 3600), "3" + NBSP + "j" + NBSP + "04" + NBSP + "h"),
             (fr.int(24672), "24" + NBSP + "672"), (en.int(24672), "24,672")]
    for got, want in cases:
        if got != want:
            raise lib.TestFailure("format self-test: %r != %r" % (got, want))
    o = "http://127.0.0.1:1"
    err = ('[1:1:1129/121448.906082:INFO:CONSOLE:1] "boom", source: %s/app.js (1)\n'
           '[1:1:1129/121448.906243:INFO:CONSOLE(3)] "Uncaught TypeError: x", source: %s/app.js (3)\n'
           '[1:1:1129/121448.906243:INFO:CONSOLE:1] "other", source: chrome://newtab/ (1)\n'
           '[1:1:1129/121448.906243:WARNING:foo.cc(1)] unrelated\n') % (o, o)
    if len(console_problems(err, o)) != 2 or console_problems(err, o, allow=("boom", "Uncaught")):
        raise lib.TestFailure("console self-test: %r" % console_problems(err, o))


# ---------------------------------------------------------------- Chromium


def find_chromium():
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    lib.log("chromium missing: apt-get install -y chromium")
    cmd = ["apt-get", "install", "-y", "-qq", "chromium"]
    if os.geteuid() != 0:
        cmd = ["sudo", "-n"] + cmd
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        out = (r.stdout + r.stderr)[-1500:]
    except (OSError, subprocess.TimeoutExpired) as e:
        out = str(e)
    exe = shutil.which("chromium")
    if not exe:
        raise lib.TestFailure("the dashboard test needs Debian's chromium and it could not be installed "
                              "(apt-get install -y chromium: %s). Install it (tools/deps.sh does) and "
                              "run again." % out.strip())
    return exe


class Chromium:
    def __init__(self, exe, workdir):
        self.exe = exe
        self.workdir = workdir
        self.n = 0

    def run(self, url, extra, timeout=120):
        """Run headless Chromium once; returns (stdout, stderr)."""
        self.n += 1
        profile = os.path.join(self.workdir, "chromium-profile-%d" % self.n)
        cmd = [self.exe, "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--disable-sync", "--disable-background-networking",
               "--disable-component-update", "--disable-dev-shm-usage", "--hide-scrollbars",
               "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
               "--virtual-time-budget=8000", "--lang=fr-FR"]
        if os.geteuid() == 0:
            cmd.append("--no-sandbox")
        cmd += extra + [url]
        env = dict(os.environ, TZ="Europe/Paris", LANG="C.UTF-8")
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise lib.TestFailure("chromium did not finish within %ds: %s" % (timeout, " ".join(cmd)))
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        if r.returncode != 0:
            raise lib.TestFailure("chromium exited with %d:\n%s" % (r.returncode, err[-3000:]))
        return out, err

    def dom(self, url):
        return self.run(url, ["--dump-dom", "--window-size=1920,1080"])

    def screenshot(self, url, path, size):
        if os.path.exists(path):
            os.unlink(path)
        _, err = self.run(url, ["--screenshot=" + path, "--window-size=" + size])
        if not os.path.exists(path) or os.path.getsize(path) < 1000:
            raise lib.TestFailure("chromium wrote no screenshot at %s:\n%s" % (path, err[-2000:]))
        return err


# Chromium 156 logs every console message of a page at INFO, whatever its
# level ("...:INFO:CONSOLE:12] "msg", source: URL (12)"; older versions wrote
# CONSOLE(12) and ERROR for console.error), so a console.log cannot be told
# from a console.error: the page never writes to the console, and any
# console line of its origin (an uncaught exception, console.error, a CSP
# violation) is a failure.
CONSOLE_RE = re.compile(r":([A-Z]+|VERBOSE\d+):CONSOLE[:(](\d+)\)?\] \"(.*)\", source: (\S*)")


def console_problems(stderr, origin, allow=()):
    """The page's console lines, and any "Uncaught" line, minus allowed ones."""
    bad = []
    for line in stderr.splitlines():
        m = CONSOLE_RE.search(line)
        if m is None:
            if "Uncaught" in line or ("CONSOLE" in line and origin in line):
                bad.append(line.strip())
            continue
        msg, src = m.group(3), m.group(4)
        if src and not src.startswith(origin) and "Uncaught" not in msg:
            continue
        if any(a in msg for a in allow):
            continue
        bad.append(line.strip())
    return bad


class FigureParser(html.parser.HTMLParser):
    """The elements of a dumped DOM that carry data-figure (their attributes
    and text), the chart bars in them, and the banners."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.figures = []
        self.banners = []
        self.body = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rec = None
        if tag == "body":
            self.body = a
        if "data-figure" in a:
            rec = {"tag": tag, "attrs": a, "text": "", "bars": []}
            self.figures.append(rec)
        elif "data-banner" in a:
            rec = {"tag": tag, "attrs": a, "text": "", "bars": [], "banner": True}
            self.banners.append(rec)
        if tag == "rect" and "data-bucket" in a:
            for t, r in reversed(self.stack):
                if r is not None and r["attrs"].get("data-figure", "").startswith("chart_"):
                    r["bars"].append(a)
                    break
        if tag not in self.VOID:
            self.stack.append((tag, rec))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        # the text of an element: its own and its descendants', but not a chart's <title>
        for t, r in self.stack:
            if r is not None and not r["attrs"].get("data-figure", "").startswith("chart_"):
                r["text"] += data


def parse_dom(dom):
    p = FigureParser()
    p.feed(dom)
    p.close()
    index = {}
    for f in p.figures:
        a = f["attrs"]
        k = (a.get("data-figure"), a.get("data-site"), a.get("data-entity"), a.get("data-window"))
        index.setdefault(k, []).append(f)
    return p, index


# ---------------------------------------------------------------- the API fixture server


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_iso(s):
    return int(_dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


WINDOW_S = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}


class Fixture:
    """The JSON of every endpoint, from a real reachd --once run: indicators
    from `reachctl indicators --json`, the rest from PostgreSQL (lib.q),
    Redis and `reachctl status/alerts --json`."""

    def __init__(self, env, cfg, site, sources):
        self.env, self.cfg, self.site, self.sources = env, cfg, site, sources
        self.language = "fr"
        self.pg_down = False
        self.now = int(time.time())
        self.started_at = iso(self.now - 3600)
        self.indicators = {w: self._indicators(w) for w in ("1h", "24h", "30d")}
        self.live = self._live()
        self.alerts = self._alerts()
        self.status_doc = self._status()

    def _indicators(self, w, site=None):
        to = self.now - self.now % 60 + 60
        frm = to - WINDOW_S[w]
        args = ["indicators", "--json", "--from", iso(frm), "--to", iso(to)]
        doc = json.loads(self.env.reachctl(self.cfg, *args))
        doc.update({"from": iso(frm), "to": iso(to), "window": w})
        return doc

    def _live(self):
        r = self.env.rcli()
        queues, boxes = [], []
        for key in sorted(k.decode() for k in r.keys("reach:{%s}:live:*" % lib.esc(self.site))):
            h = {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
            queues.append({"site": self.site, "queue": urllib.parse.unquote(key.split(":live:", 1)[1]),
                           "calls_waiting": int(h.get("calls_waiting", 0)),
                           "longest_wait_s": int(h.get("longest_wait_s", 0))})
        for key in sorted(k.decode() for k in r.keys("reach:{%s}:mail-live:*" % lib.esc(self.site))):
            h = {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
            boxes.append({"site": self.site, "mailbox": urllib.parse.unquote(key.split(":mail-live:", 1)[1]),
                          "backlog": int(h.get("backlog", 0)),
                          "oldest_unanswered_s": int(h.get("oldest_unanswered_s", 0)),
                          "oldest_unanswered_business_s": int(h.get("oldest_unanswered_business_s", 0))})
        return {"at": iso(self.now), "queues": queues, "mailboxes": boxes}

    def _alerts(self):
        doc = json.loads(self.env.reachctl(self.cfg, "alerts", "--json"))
        return {k: doc.get(k, []) for k in ("firing", "pending", "silenced", "recent")}

    def _status(self):
        st = json.loads(self.env.reachctl(self.cfg, "status", "--json"))
        cols = []
        for c in st.get("collectors", []):
            name = c.get("name")
            src = self.sources.get(name, {})
            cols.append({"name": name, "site": c.get("site") or self.site, "type": src.get("type"),
                         "source": c.get("source") or src.get("path"),
                         "last_line_at": src.get("last_line_at"),
                         "lines_accepted": c.get("lines_accepted"), "lines_rejected": c.get("lines_rejected"),
                         "lag_bytes": c.get("lag_bytes")})
        return {"version": "test", "started_at": self.started_at, "language": self.language,
                "postgres": "disconnected" if self.pg_down else "connected",
                "redis": "connected", "collectors": cols}

    def series(self, grain, frm, to):
        conn = self.env.db()
        try:
            if grain == "hour":
                calls = lib.q(conn, "SELECT site, queue, period_start, offered, answered, answered_rate, "
                                    "service_level FROM reach.call_indicators_hourly "
                                    "WHERE period_start >= to_timestamp(%s) AND period_start < to_timestamp(%s) "
                                    "ORDER BY site, queue, period_start", (frm, to))
                mail = lib.q(conn, "SELECT site, mailbox, period_start, received, replied, ack_rate, "
                                   "reply_delay_avg_s FROM reach.mail_indicators_hourly "
                                   "WHERE period_start >= to_timestamp(%s) AND period_start < to_timestamp(%s) "
                                   "ORDER BY site, mailbox, period_start", (frm, to))
                b = lambda d: iso(int(d.timestamp()))  # noqa: E731
            else:
                # days are the site's calendar days; [from, to) selects them by their start
                day_lo = _dt.datetime.fromtimestamp(frm, _dt.timezone.utc).date()
                day_hi = _dt.datetime.fromtimestamp(to, _dt.timezone.utc).date()
                calls = lib.q(conn, "SELECT site, queue, period_start, offered, answered, answered_rate, "
                                    "service_level FROM reach.call_indicators_daily "
                                    "WHERE period_start >= %s AND period_start < %s "
                                    "ORDER BY site, queue, period_start", (day_lo, day_hi))
                mail = lib.q(conn, "SELECT site, mailbox, period_start, received, replied, ack_rate, "
                                   "reply_delay_avg_s FROM reach.mail_indicators_daily "
                                   "WHERE period_start >= %s AND period_start < %s "
                                   "ORDER BY site, mailbox, period_start", (day_lo, day_hi))
                b = lambda d: d.isoformat() + "T00:00:00Z"  # noqa: E731
        finally:
            conn.close()
        return {"grain": grain, "from": iso(frm), "to": iso(to),
                "calls": [{"site": r[0], "queue": r[1], "bucket": b(r[2]), "offered": int(r[3]),
                           "answered": int(r[4]), "answered_rate": r[5], "service_level": r[6]} for r in calls],
                "mail": [{"site": r[0], "mailbox": r[1], "bucket": b(r[2]), "received": int(r[3]),
                          "replied": int(r[4]), "ack_rate": r[5], "reply_delay_avg_s": r[6]} for r in mail]}

    def answer(self, path, qs):
        """(status, document) for an API path."""
        down = (503, {"error": "PostgreSQL unreachable", "status": 503})
        if path == "/api/v1/status":
            self.status_doc["language"] = self.language
            self.status_doc["postgres"] = "disconnected" if self.pg_down else "connected"
            return 200, self.status_doc
        if path == "/api/v1/live":
            return 200, self.live
        if path == "/api/v1/alerts":
            return (down if self.pg_down else (200, self.alerts))
        if path == "/api/v1/indicators":
            if self.pg_down:
                return down
            w = qs.get("window", ["24h"])[0]
            if w not in self.indicators:
                return 400, {"error": "unknown window %r" % w, "status": 400}
            doc = self.indicators[w]
            site = qs.get("site", [None])[0]
            if site:
                doc = dict(doc, calls=[c for c in doc["calls"] if c["site"] == site],
                           mail=[m for m in doc["mail"] if m["site"] == site])
            return 200, doc
        if path == "/api/v1/series":
            if self.pg_down:
                return down
            grain = qs.get("grain", [""])[0]
            try:
                frm, to = parse_iso(qs["from"][0]), parse_iso(qs["to"][0])
            except (KeyError, ValueError):
                return 400, {"error": "from and to are required (ISO 8601)", "status": 400}
            if grain not in ("hour", "day"):
                return 400, {"error": "grain must be hour or day", "status": 400}
            return 200, self.series(grain, frm, to)
        return 404, {"error": "no such endpoint", "status": 404}


WEB_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
             ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def web_assets():
    """{path: (content type, bytes)} as tools/embed.c -w compiles web/ in
    (daemon/dashboard.c serves "/" as /index.html)."""
    out = {}
    for name in sorted(os.listdir(WEB)):
        ext = os.path.splitext(name)[1]
        if ext in WEB_TYPES:
            with open(os.path.join(WEB, name), "rb") as f:
                out["/" + name] = (WEB_TYPES[ext], f.read())
    out["/"] = out["/index.html"]
    return out


def api_fixture_server(fixture, token):
    """Start the fixture server on 127.0.0.1; returns (base URL, stop(), log list)."""
    assets = web_assets()
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, status, ctype, body):
            requests.append((urllib.parse.urlsplit(self.path).path, self.headers.get("Authorization"), status))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            u = urllib.parse.urlsplit(self.path)
            auth = self.headers.get("Authorization")
            if u.path.startswith("/api/"):
                if token and auth != "Bearer " + token:
                    st, doc = 401, {"error": "missing or invalid bearer token", "status": 401}
                else:
                    try:
                        st, doc = fixture.answer(u.path, urllib.parse.parse_qs(u.query))
                    except Exception as e:  # noqa: BLE001 - shown to the page as a 500
                        st, doc = 500, {"error": "%s: %s" % (type(e).__name__, e), "status": 500}
                self.send(st, "application/json", json.dumps(doc).encode("utf-8"))
                return
            a = assets.get(u.path)
            if a is None:
                self.send(404, "text/plain; charset=utf-8", b"not found\n")
            else:
                self.send(200, a[0], a[1])

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()

    def stop():
        srv.shutdown()
        srv.server_close()
    return "http://127.0.0.1:%d/" % srv.server_address[1], stop, requests


def http_get(url, token, timeout=20):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def serves_dashboard(base, token):
    try:
        st, ctype, body = http_get(base, token, timeout=3)
    except (OSError, ValueError):
        return False
    return st == 200 and ctype.startswith("text/html") and b"app.js" in body


# ---------------------------------------------------------------- what the page should show


def snapshot(base, token):
    """Every document the page reads, as the API returns them now."""
    def get(path):
        st, _, body = http_get(urllib.parse.urljoin(base, path), token)
        if st != 200:
            raise lib.TestFailure("GET %s: HTTP %d %s" % (path, st, body[:300]))
        return json.loads(body)
    now = time.time()
    hour_end = int(now // 3600 * 3600 + 3600)
    day_end = int(now // 86400 * 86400 + 86400)
    snap = {"status": get("api/v1/status"), "live": get("api/v1/live"), "alerts": get("api/v1/alerts"),
            "hour": get("api/v1/series?grain=hour&from=%s&to=%s" % (iso(hour_end - 86400), iso(hour_end))),
            "day": get("api/v1/series?grain=day&from=%s&to=%s" % (iso(day_end - 31 * 86400), iso(day_end)))}
    for w in ("1h", "24h", "30d"):
        snap[w] = get("api/v1/indicators?window=" + w)
    return snap


def expected_figures(snap, fmt):
    """{(figure, site, entity, window): text} the page must show."""
    exp = {}
    ages = {}  # live ages in seconds: they grow while the page loads
    queues, boxes = set(), set()
    for w in ("1h", "24h", "30d"):
        queues |= {(c["site"], c["queue"]) for c in snap[w]["calls"]}
        boxes |= {(m["site"], m["mailbox"]) for m in snap[w]["mail"]}
    queues |= {(q["site"], q["queue"]) for q in snap["live"]["queues"]}
    boxes |= {(m["site"], m["mailbox"]) for m in snap["live"]["mailboxes"]}
    queues |= {(c["site"], c["queue"]) for g in ("hour", "day") for c in snap[g]["calls"]}

    def row(w, kind, key, site, name):
        for r in snap[w][kind]:
            if r["site"] == site and r[key] == name:
                return r
        return {}

    def live(kind, key, site, name):
        for r in snap["live"][kind]:
            if r["site"] == site and r[key] == name:
                return r
        return {}
    for site, q in queues:
        r24 = row("24h", "calls", "queue", site, q)
        exp[("answered_rate", site, q, "24h")] = fmt.rate(r24.get("answered_rate"))
        exp[("answered_state", site, q, "24h")] = fmt.state(r24.get("answered_rate"))
        for w in ("1h", "30d"):
            exp[("answered_rate", site, q, w)] = fmt.rate(row(w, "calls", "queue", site, q).get("answered_rate"))
        exp[("service_level", site, q, "24h")] = fmt.rate(r24.get("service_level"))
        exp[("offered", site, q, "24h")] = fmt.int(r24.get("offered"))
        exp[("answered", site, q, "24h")] = fmt.int(r24.get("answered"))
        lv = live("queues", "queue", site, q)
        exp[("calls_waiting", site, q, "live")] = fmt.int(lv.get("calls_waiting"))
        exp[("longest_wait_s", site, q, "live")] = fmt.dur(lv.get("longest_wait_s"))
        ages[("longest_wait_s", site, q, "live")] = lv.get("longest_wait_s")
    for site, m in boxes:
        lv = live("mailboxes", "mailbox", site, m)
        exp[("backlog", site, m, "live")] = fmt.int(lv.get("backlog"))
        exp[("oldest_unanswered_s", site, m, "live")] = fmt.dur(lv.get("oldest_unanswered_s"))
        ages[("oldest_unanswered_s", site, m, "live")] = lv.get("oldest_unanswered_s")
        for w in ("24h", "30d"):
            r = row(w, "mail", "mailbox", site, m)
            exp[("ack_rate", site, m, w)] = fmt.rate(r.get("ack_rate"))
            exp[("reply_delay_avg_s", site, m, w)] = fmt.dur(r.get("reply_delay_avg_s"))
        exp[("reply_delay_business_avg_s", site, m, "30d")] = fmt.dur(
            row("30d", "mail", "mailbox", site, m).get("reply_delay_business_avg_s"))
        r24 = row("24h", "mail", "mailbox", site, m)
        exp[("received", site, m, "24h")] = fmt.int(r24.get("received"))
        exp[("replied", site, m, "24h")] = fmt.int(r24.get("replied"))
    for c in snap["status"]["collectors"]:
        exp[("lines_rejected", c["site"], c["name"], None)] = fmt.int(c.get("lines_rejected"))
    return exp, queues, boxes, ages


def fresh_state(c, now):
    if not c.get("last_line_at"):
        return "none", None
    age = now - parse_iso(c["last_line_at"])
    return ("ok" if age < 300 else "warn" if age <= 1800 else "bad"), age


LEVELS = {"critical": 0, "warning": 1, "ok": 2}


def check_page(ck, label, dom, snaps, fmt):
    """Compare the dumped DOM with the API documents (the page may have read
    either snapshot, taken before and after Chromium ran)."""
    p, index = parse_dom(dom)
    ck.eq("%s: body data-ready" % label, "true", p.body.get("data-ready"))
    ck.eq("%s: html lang" % label, fmt.lang, re.search(r'<html[^>]* lang="(\w+)"', dom).group(1)
          if re.search(r'<html[^>]* lang="(\w+)"', dom) else None)
    ck.eq("%s: banners" % label, [], [b["text"] for b in p.banners])
    exps = [expected_figures(s, fmt) for s in snaps]
    shown = 0
    for k in sorted(set(exps[0][0]) | set(exps[-1][0]), key=repr):
        els = index.get(k, [])
        if not ck.ok(len(els) == 1, "%s: %d elements for %s (expected 1)" % (label, len(els), k)):
            continue
        got = els[0]["text"]
        wants = [e[0].get(k) for e in exps]
        raw = [e[3].get(k) for e in exps if isinstance(e[3].get(k), int)]
        if len(raw) == len(exps) and raw:
            # a live age read by the page between the two snapshots
            wants += [fmt.dur(v) for v in range(min(raw), max(raw) + 1)]
        if ck.ok(got in wants, "%s: %s shows %r, the API says %r" % (label, k, got, wants[0])):
            shown += 1
    lib.log("%s: %d figures shown exactly as the API returned them" % (label, shown))
    # nothing shown that the API did not return
    queues = exps[0][1] | exps[-1][1]
    cards = {(f["attrs"].get("data-site"), f["attrs"].get("data-entity")) for f in p.figures
             if f["attrs"].get("data-figure") == "queue"}
    ck.eq("%s: queue cards" % label, sorted(queues), sorted(cards))
    boxes = exps[0][2] | exps[-1][2]
    mcards = {(f["attrs"].get("data-site"), f["attrs"].get("data-entity")) for f in p.figures
              if f["attrs"].get("data-figure") == "mailbox"}
    ck.eq("%s: mailbox cards" % label, sorted(boxes), sorted(mcards))
    # charts: one bar per bucket of the series with a rate, none elsewhere
    for grain in ("hour", "day"):
        series = {}
        for s in snaps:
            for r in s[grain]["calls"]:
                series.setdefault((r["site"], r["queue"], r["bucket"][:13 if grain == "hour" else 10]), set()).add(
                    r["answered_rate"])
        nbars = 0
        for (site, q) in sorted(queues):
            els = index.get(("chart_" + grain, site, q, "24h" if grain == "hour" else "30d"), [])
            if not ck.ok(len(els) == 1, "%s: chart_%s of %s/%s missing" % (label, grain, site, q)):
                continue
            bars = els[0]["bars"]
            ck.eq("%s: chart_%s %s bars" % (label, grain, q), 24 if grain == "hour" else 30, len(bars))
            for b in bars:
                want = series.get((site, q, b["data-bucket"]), {None})
                v = b.get("data-value", "")
                got = float(v) if v else None
                ok = any((w is None and got is None) or (w is not None and got is not None and abs(w - got) < 1e-9)
                         for w in want)
                ck.ok(ok, "%s: chart_%s %s bucket %s shows %r, the series says %r" % (
                    label, grain, q, b["data-bucket"], got, want))
                nbars += got is not None
        lib.log("%s: chart_%s: %d bars with a rate, as in the series" % (label, grain, nbars))
        ck.ok(nbars > 0, "%s: chart_%s: no bar at all" % (label, grain))
    # alerts: the same set, firing first, by level
    alerts = [f for f in p.figures if f["attrs"].get("data-figure") == "alert"
              and f["attrs"].get("data-status") != "recent"]
    got = [(a["attrs"]["data-status"], a["attrs"]["data-rule"], a["attrs"]["data-site"],
            a["attrs"]["data-entity"], a["attrs"]["data-level"]) for a in alerts]
    wants = []
    for s in snaps:
        w = []
        for st in ("firing", "pending", "silenced"):
            w += sorted([(st, a["rule"], a["site"], a["entity"], a["level"]) for a in s["alerts"].get(st, [])],
                        key=lambda x: (LEVELS.get(x[4], 3),))
        wants.append(w)
    ck.ok(any(sorted(got) == sorted(w) for w in wants), "%s: alerts shown %s, the API has %s" % (label, got, wants[0]))
    order = [(x[0] != "firing", LEVELS.get(x[4], 3)) for x in got]
    ck.ok(order == sorted(order), "%s: alerts not firing-first by level: %s" % (label, got))
    vals = {}
    for s in snaps:
        for st in ("firing", "pending", "silenced"):
            for a in s["alerts"].get(st, []):
                vals.setdefault((st, a["rule"], a["site"], a["entity"]), set()).add(
                    fmt.figure(a.get("figure"), a.get("value")) if a.get("value") is not None
                    else (a.get("value_text") or DASH))
    for v in p.figures:
        a = v["attrs"]
        if a.get("data-figure") != "alert_value" or a.get("data-status") == "recent":
            continue
        k = (a.get("data-status"), a.get("data-rule"), a.get("data-site"), a.get("data-entity"))
        ck.ok(v["text"] in vals.get(k, ()), "%s: alert value of %s shows %r, the API says %r" % (
            label, k, v["text"], vals.get(k)))
    lib.log("%s: %d alerts shown, firing first by level" % (label, len(got)))
    # freshness per source
    now = time.time()
    for c in snaps[-1]["status"]["collectors"]:
        want, age = fresh_state(c, now)
        els = index.get(("freshness", c["site"], c["name"], None), [])
        if not ck.ok(len(els) == 1, "%s: freshness of %s missing" % (label, c["name"])):
            continue
        near = age is not None and any(abs(age - b) < 120 for b in (300, 1800))
        if not near:
            ck.eq("%s: freshness of %s (last line %s)" % (label, c["name"], c.get("last_line_at")), want,
                  els[0]["attrs"].get("data-state"))
    return p, index


# ---------------------------------------------------------------- the test


def last_queue_log_time(path):
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    return max(int(x.split(b"|", 1)[0]) for x in lines[-50:] if x.strip())


def last_mail_log_time(path):
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        lines = f.read().splitlines()[1:]
    ts = []
    for x in lines:
        try:
            ts.append(int(_dt.datetime.fromisoformat(x.split(b" ", 1)[0].decode()).timestamp()))
        except ValueError:
            pass
    return max(ts)


def simulate_mail(env, days, seed):
    out = env.path("mail")
    cmd = [lib.PY, os.path.join(lib.REPO, "tests", "sim", "simulate_mail.py"), "--out", out, "--days", str(days),
           "--mailboxes", "2", "--seed", str(seed), "--end", "now", "--profile-anchor", "busy"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise lib.TestFailure("simulate_mail.py failed: %s" % r.stderr[-2000:])
    lib.log(r.stderr.strip())
    return out


def main():
    selftest_formats()
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    days = float(os.environ.get("REACHD_TEST_DAYS", "31"))
    lib.log("seed %d" % seed)
    exe = find_chromium()
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    lib.log("browser: %s (%s)" % (ver, exe))
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot_wall = os.path.join(ARTIFACTS, "dashboard-1920.png")
    shot_phone = os.path.join(ARTIFACTS, "dashboard-phone.png")
    ck = lib.Checker("(t) dashboard")
    with lib.Env("t") as env:
        tr = env.simulate(days=days, queues=3, flavour="20", seed=seed)
        site = tr.site
        mail = simulate_mail(env, min(days, 31), seed)
        port = lib.free_port()
        cfg = env.path("reachd.conf")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(CONFIG.format(site=site, conninfo=env.pg.conninfo(), redis=env.redis.sock, port=port,
                                  queue_log=tr.log, mail_log=os.path.join(mail, "mail.log"),
                                  mail_keys="\n".join(mail_config.keys([mail_config.load(mail)]))))
        env.reachd_once(cfg)
        sources = {"standard": {"type": "queuelog", "path": tr.log, "last_line_at": iso(last_queue_log_time(tr.log))},
                   "courriels": {"type": "maillog", "path": os.path.join(mail, "mail.log"),
                                 "last_line_at": iso(last_mail_log_time(os.path.join(mail, "mail.log")))}}

        # which server: the one named, the real reachd if it serves the page, else the fixture
        base = os.environ.get("REACHD_DASHBOARD_URL")
        token = os.environ.get("REACHD_DASHBOARD_TOKEN", "")
        fixture = None
        stop = None
        requests = None
        if not base:
            d = env.start_reachd(cfg, name="reachd")
            real = "http://127.0.0.1:%d/" % port
            try:
                lib.wait_until(lambda: serves_dashboard(real, token), 5, "reachd to serve / (HTML)", interval=0.25,
                               alive=d.alive)
                base = real
                lib.log("the running reachd serves the dashboard: testing %s" % base)
            except lib.TestFailure:
                d.term()
                lib.log("reachd does not serve / yet: using the test's API fixture server")
        if not base:
            fixture = Fixture(env, cfg, site, sources)
            token = TOKEN
            base, stop, requests = api_fixture_server(fixture, token)
        if not base.endswith("/"):
            base += "/"
        origin = base.split("/", 3)[0] + "//" + base.split("/", 3)[2]
        page = base + ("?token=" + urllib.parse.quote(token) if token else "")
        lib.log("dashboard at %s" % page)
        br = Chromium(exe, env.dir)
        try:
            # 1. French (the default): every figure as the API says
            before = snapshot(base, token)
            lang = before["status"].get("language", "fr")
            dom, err = br.dom(page)
            after = snapshot(base, token)
            probs = console_problems(err, origin)
            ck.ok(not probs, "console errors:\n    " + "\n    ".join(probs))
            check_page(ck, "page (%s)" % lang, dom, [before, after], Fmt(lang))
            if requests is not None:
                api_calls = [r for r in requests if r[0].startswith("/api/")]
                ck.ok(api_calls and all(a == "Bearer " + token for _, a, _ in api_calls),
                      "the page sent its bearer token on every fetch: %s" % [
                          (p_, a) for p_, a, _ in api_calls if a != "Bearer " + token][:5])
                seen = {p_ for p_, _, _ in api_calls}
                ck.eq("endpoints read by the page", {"/api/v1/status", "/api/v1/live", "/api/v1/alerts",
                                                     "/api/v1/indicators", "/api/v1/series"}, seen)
                lib.log("%d API requests, each with the bearer token" % len(api_calls))
                missing = sorted({p_ for p_, _, st in requests if st != 200})
                ck.ok(not missing, "the page asked for files the server does not have: %s" % missing)

            # 2. screenshots: wall screen and phone
            err = br.screenshot(page, shot_wall, "1920,1080")
            probs = console_problems(err, origin)
            ck.ok(not probs, "console errors (1920x1080):\n    " + "\n    ".join(probs))
            err = br.screenshot(page, shot_phone, "390,1600")
            probs = console_problems(err, origin)
            ck.ok(not probs, "console errors (phone):\n    " + "\n    ".join(probs))

            if fixture is not None:
                # 3. English by configuration
                fixture.language = "en"
                s_en = snapshot(base, token)
                dom, err = br.dom(page)
                probs = console_problems(err, origin)
                ck.ok(not probs, "console errors (en):\n    " + "\n    ".join(probs))
                _, idx = check_page(ck, "page (en)", dom, [s_en], Fmt("en"))
                ck.ok('<h1 id="title" data-i18n="title">Service reachability</h1>' in dom,
                      "English title missing")
                fixture.language = "fr"

                # 4. PostgreSQL down: a banner, the live figures stay, nothing breaks
                fixture.pg_down = True
                dom, err = br.dom(page)
                probs = console_problems(err, origin, allow=("status of 503",))
                ck.ok(not probs, "console errors (PostgreSQL down):\n    " + "\n    ".join(probs))
                p, idx = parse_dom(dom)
                texts = [b["text"] for b in p.banners]
                ck.ok(any("PostgreSQL injoignable" in t for t in texts),
                      "PostgreSQL down: no banner saying so (banners: %r)" % texts)
                ck.eq("PostgreSQL down: body data-ready", "true", p.body.get("data-ready"))
                fr = Fmt("fr")
                for q in before["live"]["queues"]:
                    els = idx.get(("calls_waiting", q["site"], q["queue"], "live"), [])
                    ck.ok(len(els) == 1 and els[0]["text"] == fr.int(q["calls_waiting"]),
                          "PostgreSQL down: live calls_waiting of %s not shown (%r)" % (
                              q["queue"], [e["text"] for e in els]))
                lib.log("PostgreSQL down: banner %r, live figures still shown" % texts)
                fixture.pg_down = False

                # 5. without the token: refused, and the page says so
                dom, err = br.dom(base)
                p, _ = parse_dom(dom)
                texts = [b["text"] for b in p.banners]
                ck.ok(any("jeton" in t for t in texts), "no token: no banner about it (%r)" % texts)
        finally:
            if stop:
                stop()
    print("screenshots: %s %s" % (shot_wall, shot_phone))
    ck.done()


if __name__ == "__main__":
    lib.run(main)
