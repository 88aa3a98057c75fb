#!/usr/bin/python3
"""(u) The HTTP server: a real reachd (not --once) on a 75-day trace.

/api/v1/indicators (24h, 30d, an explicit period) equals `reachctl
indicators --json` with the same parameters; /api/v1/series equals the
hourly and daily views; /metrics passes `promtool check metrics` and its
window figures equal reachctl's for the refresh's own period; /api/v1/live
equals the Redis live gauges; /api/v1/alerts equals `reachctl alerts
--json`; status, healthz, readyz; errors 400, 401 (token), 404, 405, 503
(PostgreSQL stopped, then back); a header too large is refused and the
daemon lives on; `reachd -t` refuses a listen beyond loopback without a
token, with file:line.

Env: REACHD_TEST_SEED (default: random, printed).
"""

import sys

sys.dont_write_bytecode = True

import http.client
import json
import os
import random
import re
import socket
import subprocess
import time

import lib

TOKEN = "s3cret-token-for-the-test-0123456789"


class Api:
    def __init__(self, port, token=TOKEN):
        self.port = port
        self.token = token

    def req(self, path, method="GET", token=True, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token is True and self.token:
            h["Authorization"] = "Bearer " + self.token
        elif isinstance(token, str):
            h["Authorization"] = "Bearer " + token
        c.request(method, path, headers=h)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def json(self, path, want=200, **kw):
        st, hd, body = self.req(path, **kw)
        if st != want:
            raise lib.TestFailure("GET %s: %d (wanted %d): %s" % (path, st, want, body[:500]))
        return json.loads(body)


def port_of(cfg):
    with open(cfg) as f:
        return int(re.search(r"listen = 127\.0\.0\.1:(\d+)", f.read()).group(1))


def ctl_json(env, cfg, *args):
    return json.loads(env.reachctl(cfg, *args, "--json"))


def check_indicators(ck, env, cfg, api, site):
    for label, q, args in (
            ("window=24h", "window=24h", ["--window", "24h"]),
            ("window=30d", "window=30d", ["--window", "30d"]),
            ("explicit period", "from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
             ["--from", "2026-01-01T00:00:00Z", "--to", "2030-01-01T00:00:00Z"]),
            ("site and queue", "window=7d&site=%s&queue=q1" % site,
             ["--window", "7d", "--site", site, "--queue", "q1"])):
        for attempt in range(3):  # a minute may turn between the two reads
            got = api.json("/api/v1/indicators?" + q)
            want = ctl_json(env, cfg, "indicators", *args)
            if got == want:
                break
        ck.eq("/api/v1/indicators %s == reachctl indicators --json" % label, want, got)
        ck.ok(len(got["calls"]) > 0 or label == "site and queue",
              "/api/v1/indicators %s has calls" % label)


def check_series(ck, env, api, site):
    conn = env.db()
    for grain, view in (("hour", "call_indicators_hourly"), ("day", "call_indicators_daily")):
        frm, to = "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z"
        got = api.json("/api/v1/series?grain=%s&from=%s&to=%s" % (grain, frm, to))
        bucket = ("to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                  if grain == "hour" else "to_char(period_start, 'YYYY-MM-DD')")
        rows = lib.q(conn, "SELECT site, queue, %s, offered, answered, abandoned"
                           " FROM reach.%s WHERE site = %%s ORDER BY 1, 2, 3" % (bucket, view),
                     (site,))
        want = [tuple(r) for r in rows]
        have = [(r["site"], r["queue"], r["bucket"], r["offered"], r["answered"], r["abandoned"])
                for r in got["calls"]]
        ck.eq("/api/v1/series grain=%s rows == reach.%s" % (grain, view), want, have)
        ck.ok(len(want) > 10, "series %s has rows (%d)" % (grain, len(want)))
    conn.close()


def promtool(ck, text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
    ck.ok(r.returncode == 0, "promtool check metrics: %s %s" % (
        r.stdout.decode()[-2000:], r.stderr.decode()[-2000:]))


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            raise lib.TestFailure("bad metrics line %r" % line)
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def check_metrics(ck, env, cfg, api, site):
    st, hd, body = api.req("/metrics")
    ck.eq("/metrics status", 200, st)
    ck.ok(hd.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "/metrics content type %r" % hd.get("content-type"))
    text = body.decode()
    promtool(ck, text)
    m = parse_metrics(text)
    end = m.get(("reachd_window_end_timestamp_seconds", (("site", site),)))
    ck.ok(end is not None, "reachd_window_end_timestamp_seconds for %s" % site)
    if end is None:
        return
    end = int(end)
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    for window, span in (("24h", 86400), ("30d", 30 * 86400)):
        # the refresh's period [end - span, end): reachctl widens --to to its minute's end
        want = ctl_json(env, cfg, "indicators", "--site", site, "--from", iso(end - span),
                        "--to", iso(end - 1))
        n = 0
        for row in want["calls"]:
            for fig in ("offered", "answered", "abandoned", "answered_rate", "service_level",
                        "asa_s", "wait_p90_s"):
                name = "reachd_calls_" + re.sub(r"_s$", "_seconds", fig)
                key = (name,
                       tuple(sorted((("site", site), ("queue", row["queue"]), ("window", window)))))
                got = m.get(key)
                ck.eq("metrics %s %s %s" % (fig, row["queue"], window),
                      None if row[fig] is None else float(row[fig]), got)
                n += 1
        ck.ok(n > 0, "metrics compared for window %s" % window)
    acc = m.get(("reachd_collector_lines_accepted_total", (("collector", "pbx"), ("site", site))))
    conn = env.db()
    cur = lib.cursor_row(conn, site)
    conn.close()
    ck.eq("reachd_collector_lines_accepted_total == cursor", float(cur["lines_accepted"]), acc)
    ck.eq("reachd_postgres_up", 1.0, m.get(("reachd_postgres_up", ())))
    ck.eq("reachd_redis_up", 1.0, m.get(("reachd_redis_up", ())))
    ck.eq("reachd_collector_lag_bytes", 0.0,
          m.get(("reachd_collector_lag_bytes", (("collector", "pbx"), ("site", site)))))


def check_live(ck, env, api, site):
    live = api.json("/api/v1/live")
    r = env.rcli()
    ck.ok(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", live["at"]), "live at %r" % live["at"])
    queues = {x.decode() for x in r.smembers(lib.queues_key(site))}
    got = {q["queue"]: q for q in live["queues"] if q["site"] == site}
    for queue in sorted(queues | set(got)):
        h = {k.decode(): v.decode() for k, v in r.hgetall(lib.live_key(site, queue)).items()}
        g = got.get(queue, {"calls_waiting": 0, "longest_wait_s": 0})
        ck.eq("live %s calls_waiting == Redis" % queue, int(h.get("calls_waiting", 0)),
              g["calls_waiting"])
        ck.ok(abs(int(h.get("longest_wait_s", 0)) - g["longest_wait_s"]) <= 5,
              "live %s longest_wait_s %s ~ Redis %s" % (queue, g["longest_wait_s"],
                                                       h.get("longest_wait_s")))
    lib.log("live: %d callers waiting" % sum(q["calls_waiting"] for q in live["queues"]))
    ck.eq("live mailboxes (no mail collector)", [], live["mailboxes"])


def check_alerts_status(ck, env, cfg, api, site):
    got = api.json("/api/v1/alerts")
    want = ctl_json(env, cfg, "alerts")
    for k in ("firing", "pending", "silenced", "recent"):
        ck.eq("/api/v1/alerts %s == reachctl alerts --json" % k, want[k], got.get(k))
    st = api.json("/api/v1/status")
    ck.eq("status postgres", "connected", st["postgres"])
    ck.eq("status redis", "connected", st["redis"])
    ck.eq("status language", "fr", st["language"])
    c = st["collectors"][0]
    ck.eq("status collector", ("pbx", site, "queuelog", 0), (c["name"], c["site"], c["type"],
                                                               c["lag_bytes"]))
    ck.ok(c["lines_accepted"] > 0 and c["last_line_at"], "status collector counters %r" % c)
    for k in ("ledger", "alerts", "outbox", "version", "started_at"):
        ck.ok(k in st, "status has %s" % k)
    ck.eq("/healthz", {"status": "ok"}, api.json("/healthz", token=False))
    ck.eq("/readyz", "ready", api.json("/readyz", token=False)["status"])


def check_errors(ck, api):
    def err(path, want, **kw):
        st, hd, body = api.req(path, **kw)
        ck.eq("%s %s status" % (kw.get("method", "GET"), path), want, st)
        try:
            j = json.loads(body)
        except ValueError:
            j = {}
        ck.eq("%s error body status" % path, want, j.get("status"))
        ck.ok(isinstance(j.get("error"), str), "%s error message %r" % (path, j.get("error")))
        return hd

    err("/api/v1/indicators?window=2h", 400)
    err("/api/v1/indicators?from=yesterday-ish", 400)
    err("/api/v1/indicators?colour=blue", 400)
    err("/api/v1/series?grain=week", 400)
    hd = err("/api/v1/indicators", 401, token=False)
    ck.ok(hd.get("www-authenticate", "").startswith("Bearer"), "401 has WWW-Authenticate: Bearer")
    err("/api/v1/indicators", 401, token="wrong")
    err("/metrics", 401, token=TOKEN[:-1])
    err("/api/v1/nothing", 404)
    err("/nothing.html", 404)
    hd = err("/api/v1/indicators", 405, method="POST")
    ck.ok("GET" in hd.get("allow", ""), "405 has Allow: %r" % hd.get("allow"))
    st, hd, body = api.req("/", token=False)
    ck.eq("GET / (dashboard)", 200, st)
    ck.ok(hd.get("content-type", "").startswith("text/html"), "dashboard is HTML")
    st, hd, body = api.req("/api/v1/status", method="HEAD")
    ck.eq("HEAD /api/v1/status", (200, b""), (st, body))


def check_big_header(ck, api, d):
    s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    m = re.match(rb"HTTP/1\.\d (\d+)", data)
    ck.ok(not m or 400 <= int(m.group(1)) < 500, "header too large: %r" % data[:80])
    d.alive()
    ck.eq("healthz after a header too large", {"status": "ok"}, api.json("/healthz"))


def check_pg_down(ck, env, api, d):
    env.pg.stop()
    try:
        # the ledger notices at its next job (a refresh every second)
        def refused():
            st, hd, body = api.req("/api/v1/indicators?window=24h")
            return st == 503
        lib.wait_until(refused, 60, "/api/v1/indicators to answer 503", interval=0.5,
                       alive=d.alive)
        st, hd, body = api.req("/api/v1/indicators?window=24h")
        ck.eq("indicators with PostgreSQL down", 503, st)
        ck.eq("alerts with PostgreSQL down", 503, api.req("/api/v1/alerts")[0])
        ck.eq("healthz with PostgreSQL down", 200, api.req("/healthz")[0])
        st, hd, body = api.req("/readyz")
        ck.eq("readyz with PostgreSQL down", 503, st)
        ck.ok("PostgreSQL" in " ".join(json.loads(body)["reasons"]), "readyz says why: %r" % body)
        ck.eq("status with PostgreSQL down", "disconnected", api.json("/api/v1/status")["postgres"])
        ck.eq("live with PostgreSQL down", 200, api.req("/api/v1/live")[0])
    finally:
        env.pg.start()
    lib.wait_until(lambda: api.req("/api/v1/indicators?window=24h")[0] == 200, 90,
                   "/api/v1/indicators to answer 200 again", interval=0.5, alive=d.alive)
    ck.eq("readyz after PostgreSQL came back", 200, api.req("/readyz")[0])


def check_config(ck, env, cfg):
    bad = env.path("public.conf")
    with open(cfg) as f:
        text = f.read()
    text = re.sub(r"listen = 127\.0\.0\.1:\d+", "listen = 0.0.0.0:8470", text)
    text = re.sub(r"token_file = .*\n", "", text)
    with open(bad, "w") as f:
        f.write(text)
    line = text.splitlines().index("listen = 0.0.0.0:8470") + 1
    env_ = dict(os.environ)
    env_.pop("REACHD_HTTP_TOKEN", None)
    r = subprocess.run([lib.REACHD, "-t", "-c", bad], capture_output=True, text=True, env=env_)
    ck.ok(r.returncode != 0, "reachd -t refuses a public listen without a token")
    ck.ok("%s:%d:" % (bad, line) in r.stderr and "token" in r.stderr,
          "reachd -t says file:line: %r" % r.stderr[-500:])
    r = subprocess.run([lib.REACHD, "-t", "-c", cfg], capture_output=True, text=True)
    ck.eq("reachd -t on the test's configuration", 0, r.returncode)


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    with lib.Env("u") as env:
        tr = env.simulate(days=75, queues=3, rate_scale=0.2, seed=seed)
        site = tr.site
        cfg = env.config(tr.log, site=site)
        tok = env.path("http-token")
        with open(tok, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(tok, 0o600)
        with open(cfg) as f:
            text = f.read()
        text = text.replace("[http]\n", "[http]\ntoken_file = %s\n" % tok)
        with open(cfg, "w") as f:
            f.write(text)
        api = Api(port_of(cfg))
        d = env.start_reachd(cfg)
        lib.wait_consumed(env, site, tr.log, daemon=d)
        ck = lib.Checker("(u) HTTP server")
        lib.wait_until(lambda: api.req("/readyz")[0] == 200, 30, "/readyz", alive=d.alive)
        # a refresh after everything was committed
        time.sleep(2.5)
        check_indicators(ck, env, cfg, api, site)
        check_series(ck, env, api, site)
        check_metrics(ck, env, cfg, api, site)
        check_live(ck, env, api, site)
        check_alerts_status(ck, env, cfg, api, site)
        check_errors(ck, api)
        check_big_header(ck, api, d)
        check_pg_down(ck, env, api, d)
        check_config(ck, env, cfg)
        d.alive()
        ck.eq("reachd exit status after SIGTERM", 0, d.term())
        ck.done()


if __name__ == "__main__":
    lib.run(main)
