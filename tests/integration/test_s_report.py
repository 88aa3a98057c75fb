#!/usr/bin/python3
"""(s) `reachctl report` against a real PostgreSQL (no Redis: the report does
not read it, and reachd --once only warns):
  - the schema comes from `reachd --once` (migration 005_report included);
  - known aggregate rows written directly into reach.call_agg and
    reach.mail_agg for 2024 and 2025, at the three grains as reachd writes
    them, with rows on the edges of the periods (the hour of 1 January 00:00
    in Paris, which is 31 December 23:00Z; 1 April 00:30 in Paris, summer
    time; 29 February 2024, which a UTC "minus one year" would put in March):
    the text (French), CSV and Markdown (English) outputs are exactly the
    hand-computed ones, for the year, the month and --site, with "–" where a
    period has no data and "0,0 %" where it has zero;
  - the HTML output is well-formed (html.parser), self-contained, and has the
    @page A4 rule;
  - refusals: no period, both, a bad month, a bad format, exit 2;
  - end to end: two simulated years of calls (tests/sim/simulate.py) and of
    mail (simulate_mail.py) read by reachd --once; the report's CSV for 2025
    and March 2025 equals `reachctl indicators --json` over the same instants,
    this period and the previous one, figure for figure (one code path), and
    the site totals equal the sums of the queues and mailboxes. The text
    report of the simulated year is printed.
"""

import sys

sys.dont_write_bytecode = True

import csv
import html.parser
import io
import json
import os
import subprocess

import lib

sys.path.insert(0, os.path.join(lib.REPO, "tests", "sim"))
import mail_config  # noqa: E402

CONFIG = """\
[daemon]
site = prefecture
timezone = Europe/Paris
[postgres]
conninfo = {conninfo}
[redis]
address = unix:{dir}/no-redis.sock
[collector "pbx"]
type = queuelog
path = {log}
"""

CALL_COLS = ("offered", "answered", "abandoned", "short_abandoned", "ivr_handled", "sl_answered",
             "wait_answered_sum", "wait_answered_n")
MAIL_COLS = ("received", "acknowledged", "replied", "within_target", "delay_sum",
             "delay_business_sum")

# site, queue, instant (UTC), counts
CALLS = [
    # 2025 (Paris): 2024-12-31T23:00Z is 1 January 2025 00:00 in Paris
    ("prefecture", "accueil", "2024-12-31T23:00:00Z",
     dict(offered=10, answered=10, sl_answered=10, wait_answered_sum=100, wait_answered_n=10)),
    ("prefecture", "accueil", "2025-03-10T09:15:00Z",
     dict(offered=100, answered=89, abandoned=11, ivr_handled=20, sl_answered=80,
          wait_answered_sum=2670, wait_answered_n=89)),
    ("prefecture", "titres", "2025-07-01T08:00:00Z",
     dict(offered=40, answered=30, abandoned=10, short_abandoned=4, sl_answered=30,
          wait_answered_sum=600, wait_answered_n=30)),
    ("sous-prefecture", "standard", "2025-09-15T07:30:00Z",
     dict(offered=20, answered=18, abandoned=2, sl_answered=18, wait_answered_sum=180,
          wait_answered_n=18)),
    # 1 January 2026 00:30 in Paris: in neither year
    ("prefecture", "accueil", "2025-12-31T23:30:00Z", dict(offered=50, abandoned=50)),
    # 2024: 29 February (not in March), March, and 1 April 00:30 in Paris
    ("prefecture", "accueil", "2024-02-29T12:00:00Z",
     dict(offered=5, answered=5, sl_answered=5, wait_answered_sum=50, wait_answered_n=5)),
    ("prefecture", "accueil", "2024-03-12T10:00:00Z",
     dict(offered=200, answered=172, abandoned=28, ivr_handled=10, sl_answered=150,
          wait_answered_sum=6880, wait_answered_n=172)),
    ("prefecture", "vieille", "2024-03-31T22:30:00Z", dict(offered=10, abandoned=10)),
]

MAILS = [
    ("prefecture", "contact@example.gouv.fr", "2025-06-02T08:00:00Z",
     dict(received=10, acknowledged=9, replied=8, within_target=6, delay_sum=8 * 180000,
          delay_business_sum=8 * 36000)),
    ("prefecture", "contact@example.gouv.fr", "2024-06-03T08:00:00Z",
     dict(received=20, acknowledged=15, replied=16, within_target=8, delay_sum=16 * 259200,
          delay_business_sum=16 * 57600)),
]

YEAR_TEXT = """\
Indicateurs de joignabilité : année 2025 comparée à 2024
Période du 01/01/2025 au 31/12/2025 (Europe/Paris)

Site prefecture

  Ensemble du site                            2025    2024  Évolution
  Appels présentés                             150     215    -30,2 %
  Appels aboutis                               129     177    -27,1 %
  Taux d'appels aboutis                     88,4 %  82,3 %   +6,0 pts
  Appels gérés par le SVI                       20      10   +100,0 %
  Taux global (avec le SVI)                 89,8 %  83,1 %   +6,6 pts
  Niveau de service                         93,0 %  87,6 %   +5,5 pts
  Temps moyen d'attente                       26 s    39 s      -13 s
  Courriels reçus                               10      20    -50,0 %
  Taux d'accusés de réception               90,0 %  75,0 %  +15,0 pts
  Courriels répondus                             8      16    -50,0 %
  Délai moyen de réponse                   2 j 2 h     3 j      -22 h
  Délai moyen de réponse (heures ouvrées)     10 h    16 h       -6 h
  Réponses dans le délai cible              75,0 %  50,0 %  +25,0 pts

  File accueil                                2025    2024  Évolution
  Appels présentés                             110     205    -46,3 %
  Appels aboutis                                99     177    -44,1 %
  Taux d'appels aboutis                     90,0 %  86,3 %   +3,7 pts
  Appels gérés par le SVI                       20      10   +100,0 %
  Taux global (avec le SVI)                 91,5 %  87,0 %   +4,6 pts
  Niveau de service                         90,9 %  87,6 %   +3,3 pts
  Temps moyen d'attente                       28 s    39 s      -11 s

  File titres                                 2025    2024  Évolution
  Appels présentés                              40       –          –
  Appels aboutis                                30       –          –
  Taux d'appels aboutis                     83,3 %       –          –
  Appels gérés par le SVI                        0       –          –
  Taux global (avec le SVI)                 83,3 %       –          –
  Niveau de service                        100,0 %       –          –
  Temps moyen d'attente                       20 s       –          –

  File vieille                                2025    2024  Évolution
  Appels présentés                               –      10          –
  Appels aboutis                                 –       0          –
  Taux d'appels aboutis                          –   0,0 %          –
  Appels gérés par le SVI                        –       0          –
  Taux global (avec le SVI)                      –   0,0 %          –
  Niveau de service                              –       –          –
  Temps moyen d'attente                          –       –          –

  Boîte contact@example.gouv.fr               2025    2024  Évolution
  Courriels reçus                               10      20    -50,0 %
  Taux d'accusés de réception               90,0 %  75,0 %  +15,0 pts
  Courriels répondus                             8      16    -50,0 %
  Délai moyen de réponse                   2 j 2 h     3 j      -22 h
  Délai moyen de réponse (heures ouvrées)     10 h    16 h       -6 h
  Réponses dans le délai cible              75,0 %  50,0 %  +25,0 pts

Site sous-prefecture

  Ensemble du site                            2025    2024  Évolution
  Appels présentés                              20       –          –
  Appels aboutis                                18       –          –
  Taux d'appels aboutis                     90,0 %       –          –
  Appels gérés par le SVI                        0       –          –
  Taux global (avec le SVI)                 90,0 %       –          –
  Niveau de service                        100,0 %       –          –
  Temps moyen d'attente                       10 s       –          –

  File standard                               2025    2024  Évolution
  Appels présentés                              20       –          –
  Appels aboutis                                18       –          –
  Taux d'appels aboutis                     90,0 %       –          –
  Appels gérés par le SVI                        0       –          –
  Taux global (avec le SVI)                 90,0 %       –          –
  Niveau de service                        100,0 %       –          –
  Temps moyen d'attente                       10 s       –          –

Évolution : en points pour les taux, en % pour les volumes, en écart pour les délais ; « – » : pas de données sur la période.
"""

SITE_TEXT = """\
Indicateurs de joignabilité : année 2025 comparée à 2024
Période du 01/01/2025 au 31/12/2025 (Europe/Paris)

Site sous-prefecture

  Ensemble du site              2025  2024  Évolution
  Appels présentés                20     –          –
  Appels aboutis                  18     –          –
  Taux d'appels aboutis       90,0 %     –          –
  Appels gérés par le SVI          0     –          –
  Taux global (avec le SVI)   90,0 %     –          –
  Niveau de service          100,0 %     –          –
  Temps moyen d'attente         10 s     –          –

  File standard                 2025  2024  Évolution
  Appels présentés                20     –          –
  Appels aboutis                  18     –          –
  Taux d'appels aboutis       90,0 %     –          –
  Appels gérés par le SVI          0     –          –
  Taux global (avec le SVI)   90,0 %     –          –
  Niveau de service          100,0 %     –          –
  Temps moyen d'attente         10 s     –          –

Évolution : en points pour les taux, en % pour les volumes, en écart pour les délais ; « – » : pas de données sur la période.
"""

MONTH_TEXT = """\
Indicateurs de joignabilité : mars 2025 comparé à mars 2024
Période du 01/03/2025 au 31/03/2025 (Europe/Paris)

Site prefecture

  Ensemble du site           mars 2025  mars 2024  Évolution
  Appels présentés                 100        200    -50,0 %
  Appels aboutis                    89        172    -48,3 %
  Taux d'appels aboutis         89,0 %     86,0 %   +3,0 pts
  Appels gérés par le SVI           20         10   +100,0 %
  Taux global (avec le SVI)     90,8 %     86,7 %   +4,2 pts
  Niveau de service             89,9 %     87,2 %   +2,7 pts
  Temps moyen d'attente           30 s       40 s      -10 s

  File accueil               mars 2025  mars 2024  Évolution
  Appels présentés                 100        200    -50,0 %
  Appels aboutis                    89        172    -48,3 %
  Taux d'appels aboutis         89,0 %     86,0 %   +3,0 pts
  Appels gérés par le SVI           20         10   +100,0 %
  Taux global (avec le SVI)     90,8 %     86,7 %   +4,2 pts
  Niveau de service             89,9 %     87,2 %   +2,7 pts
  Temps moyen d'attente           30 s       40 s      -10 s

Évolution : en points pour les taux, en % pour les volumes, en écart pour les délais ; « – » : pas de données sur la période.
"""

MONTH_MD_EN = """\
# Reachability indicators: March 2025 compared with March 2024

Period 2025-03-01 to 2025-03-31 (Europe/Paris)

## Site prefecture

| Whole site | March 2025 | March 2024 | Change |
|:--|--:|--:|--:|
| Calls offered | 100 | 200 | -50.0% |
| Calls answered | 89 | 172 | -48.3% |
| Answered-call rate | 89.0% | 86.0% | +3.0 pts |
| Calls handled by the IVR | 20 | 10 | +100.0% |
| Global rate (with the IVR) | 90.8% | 86.7% | +4.2 pts |
| Service level | 89.9% | 87.2% | +2.7 pts |
| Average speed of answer | 30 s | 40 s | -10 s |

| Queue accueil | March 2025 | March 2024 | Change |
|:--|--:|--:|--:|
| Calls offered | 100 | 200 | -50.0% |
| Calls answered | 89 | 172 | -48.3% |
| Answered-call rate | 89.0% | 86.0% | +3.0 pts |
| Calls handled by the IVR | 20 | 10 | +100.0% |
| Global rate (with the IVR) | 90.8% | 86.7% | +4.2 pts |
| Service level | 89.9% | 87.2% | +2.7 pts |
| Average speed of answer | 30 s | 40 s | -10 s |

Change: in points for rates, in % for counts, as a difference for delays; “–”: no data for the period.
"""

NODATA_TEXT = """\
Indicateurs de joignabilité : année 2025 comparée à 2024
Période du 01/01/2025 au 31/12/2025 (Europe/Paris)

Site nulle-part

  aucune donnée sur ces deux périodes

Évolution : en points pour les taux, en % pour les volumes, en écart pour les délais ; « – » : pas de données sur la période.
"""


def ctl(cfg, *args):
    r = subprocess.run([lib.REACHCTL, "-c", cfg] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def ctl_ok(ck, cfg, *args):
    rc, out, err = ctl(cfg, *args)
    ck.ok(rc == 0 and err == "", "reachctl %s: exit %d, stderr %r" % (" ".join(args), rc, err))
    return out


def same_text(ck, label, exp, got):
    if exp != got:
        import difflib
        diff = "".join(difflib.unified_diff(exp.splitlines(True), got.splitlines(True),
                                            "expected", "got"))
        ck.fail("%s differs:\n%s" % (label, diff))


# ---------------------------------------------------------------- known rows


def insert_rows(conn):
    """Each row at the minute, hour and day grains, as reachd writes them."""
    lib.q(conn, "TRUNCATE reach.call_agg, reach.mail_agg")
    for site, queue, at, counts in CALLS:
        cols = ", ".join(counts)
        for grain in ("minute", "hour", "day"):
            lib.q(conn, "INSERT INTO reach.call_agg (site, queue, grain, bucket, %s)"
                        " VALUES (%%s, %%s, %%s, date_trunc(%%s, %%s::timestamptz, 'UTC'), %s)"
                  % (cols, ", ".join(["%s"] * len(counts))),
                  (site, queue, grain, grain, at) + tuple(counts.values()))
    for site, mailbox, at, counts in MAILS:
        cols = ", ".join(counts)
        for grain in ("minute", "hour", "day"):
            lib.q(conn, "INSERT INTO reach.mail_agg (site, mailbox, grain, bucket, %s)"
                        " VALUES (%%s, %%s, %%s, date_trunc(%%s, %%s::timestamptz, 'UTC'), %s)"
                  % (cols, ", ".join(["%s"] * len(counts))),
                  (site, mailbox, grain, grain, at) + tuple(counts.values()))
    conn.commit()


def sums(rows, site, entity, lo, hi, cols):
    """Summed counts of the rows of site (and entity, None = all) in [lo, hi);
    None when there is none."""
    got = [c for s, e, at, c in rows if s == site and (entity is None or e == entity)
           and lo <= lib.parse_time(at) < hi]
    if not got:
        return None
    return {k: sum(c.get(k, 0) for c in got) for k in cols}


def div(a, b):
    return None if b == 0 else a / b


def call_figures(s):
    if s is None:
        return {}
    den = s["offered"] - s["short_abandoned"]
    return {"offered": float(s["offered"]), "answered": float(s["answered"]),
            "answered_rate": div(s["answered"], den),
            "ivr_handled": float(s["ivr_handled"]),
            "global_rate": div(s["answered"] + s["ivr_handled"], den + s["ivr_handled"]),
            "service_level": div(s["sl_answered"], s["answered"]),
            "asa_s": div(s["wait_answered_sum"], s["wait_answered_n"])}


def mail_figures(s):
    if s is None:
        return {}
    return {"received": float(s["received"]), "ack_rate": div(s["acknowledged"], s["received"]),
            "replied": float(s["replied"]),
            "reply_delay_avg_s": div(s["delay_sum"], s["replied"]),
            "reply_delay_business_avg_s": div(s["delay_business_sum"], s["replied"]),
            "replied_within_target": div(s["within_target"], s["replied"])}


KINDS = {"offered": "count", "answered": "count", "answered_rate": "rate", "ivr_handled": "count",
         "global_rate": "rate", "service_level": "rate", "asa_s": "seconds",
         "received": "count", "ack_rate": "rate", "replied": "count",
         "reply_delay_avg_s": "seconds", "reply_delay_business_avg_s": "business_seconds",
         "replied_within_target": "rate"}
CALL_FIGS = ("offered", "answered", "answered_rate", "ivr_handled", "global_rate",
             "service_level", "asa_s")
MAIL_FIGS = ("received", "ack_rate", "replied", "reply_delay_avg_s",
             "reply_delay_business_avg_s", "replied_within_target")


def num(v):
    """As PostgreSQL writes a float8: the shortest text that reads back."""
    if v is None:
        return ""
    if v == int(v) and abs(v) < 1e15:
        return "%d" % v
    return repr(v)


def change(kind, v, p):
    if v is None or p is None:
        return None
    if kind != "count":
        return v - p
    if v == 0 and p == 0:
        return 0.0
    return None if p == 0 else v / p - 1


def expected_csv(site, cur, prev, ids):
    """The CSV lines of one site, computed here from the rows above."""
    lines = []

    def group(scope, entity, figs, fn, rows, cols, ent):
        v = fn(sums(rows, site, ent, cur[0], cur[1], cols))
        p = fn(sums(rows, site, ent, prev[0], prev[1], cols))
        if not v and not p:
            return
        for f in figs:
            a, b = v.get(f), p.get(f)
            lines.append(",".join([site, scope, entity, f, KINDS[f], ids[0], num(a), ids[1],
                                   num(b), num(change(KINDS[f], a, b))]))

    calls = (CALL_FIGS, call_figures, CALLS, CALL_COLS)
    mail = (MAIL_FIGS, mail_figures, MAILS, MAIL_COLS)
    for figs, fn, rows, cols in (calls, mail):  # the site: calls, then mail
        group("site", "", figs, fn, rows, cols, None)
    for scope, (figs, fn, rows, cols) in (("queue", calls), ("mailbox", mail)):
        for ent in sorted({e for s, e, at, c in rows if s == site}):
            group(scope, ent, figs, fn, rows, cols, ent)
    return lines


CSV_HEAD = "site,scope,entity,figure,kind,period,value,previous_period,previous,change"
Y2025 = (lib.parse_time("2024-12-31T23:00:00Z"), lib.parse_time("2025-12-31T23:00:00Z"))
Y2024 = (lib.parse_time("2023-12-31T23:00:00Z"), lib.parse_time("2024-12-31T23:00:00Z"))
M2025 = (lib.parse_time("2025-02-28T23:00:00Z"), lib.parse_time("2025-03-31T22:00:00Z"))
M2024 = (lib.parse_time("2024-02-29T23:00:00Z"), lib.parse_time("2024-03-31T22:00:00Z"))


class HTMLCheck(html.parser.HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input", "col"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags, self.style = [], [], [], ""

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") or (v and "://" in v):
                self.errors.append("external reference %s=%r" % (k, v))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %r" % (tag, self.stack[-1:]))
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style += data


def check_html(ck, out, label):
    p = HTMLCheck()
    p.feed(out)
    p.close()
    ck.ok(out.startswith("<!DOCTYPE html>"), "%s: no doctype" % label)
    ck.ok(not p.errors and not p.stack, "%s: not well-formed: %s, open %s" % (label, p.errors, p.stack))
    ck.ok("@page { size: A4;" in p.style, "%s: no @page A4 rule in the style" % label)
    ck.ok("page-break-inside: avoid" in p.style, "%s: tables may be cut" % label)
    ck.ok("link" not in p.tags and "script" not in p.tags and "img" not in p.tags,
          "%s: external resources: %s" % (label, p.tags))
    return p


def case_known(ck, env, cfg):
    conn = env.db()
    try:
        insert_rows(conn)
    finally:
        conn.close()
    same_text(ck, "text --year 2025", YEAR_TEXT, ctl_ok(ck, cfg, "report", "--year", "2025"))
    same_text(ck, "text --month 2025-03", MONTH_TEXT,
              ctl_ok(ck, cfg, "report", "--month", "2025-03", "--format", "text"))
    same_text(ck, "md --month 2025-03 --lang en", MONTH_MD_EN,
              ctl_ok(ck, cfg, "report", "--month", "2025-03", "--format", "md", "--lang", "en"))
    # --site: that site only, its columns as wide as it needs
    same_text(ck, "text --year 2025 --site sous-prefecture", SITE_TEXT,
              ctl_ok(ck, cfg, "report", "--year", "2025", "--site", "sous-prefecture"))
    same_text(ck, "--site nulle-part", NODATA_TEXT,
              ctl_ok(ck, cfg, "report", "--year", "2025", "--site", "nulle-part"))
    # csv: every line computed here from the rows
    for args, cur, prev, ids in ((["--year", "2025"], Y2025, Y2024, ("2025", "2024")),
                                 (["--month", "2025-03"], M2025, M2024, ("2025-03", "2024-03"))):
        exp = [CSV_HEAD]
        for site in ("prefecture", "sous-prefecture"):
            exp += expected_csv(site, cur, prev, ids)
        got = ctl_ok(ck, cfg, "report", "--format", "csv", *args)
        ck.ok(got.endswith("\r\n"), "csv %s: lines end with CRLF" % args)
        same_text(ck, "csv %s" % " ".join(args), "\n".join(exp) + "\n",
                  got.replace("\r\n", "\n"))
    got = ctl_ok(ck, cfg, "report", "--format", "csv", "--year", "2025", "--site", "prefecture")
    ck.ok("sous-prefecture" not in got and got.count("\r\n") == 1 + 13 + 7 * 3 + 6,
          "csv --site prefecture: %r" % got[:300])
    for lang in ("fr", "en"):
        out = ctl_ok(ck, cfg, "report", "--year", "2025", "--format", "html", "--lang", lang)
        check_html(ck, out, "html %s" % lang)
        ck.ok('<html lang="%s">' % lang in out, "html %s: lang attribute" % lang)
        ck.ok(("Taux d&#x27;appels aboutis" in out or "Taux d'appels aboutis" in out)
              if lang == "fr" else "Answered-call rate" in out, "html %s: labels" % lang)
        ck.ok(out.count("<table>") == 7, "html %s: %d tables, expected 7" % (lang, out.count("<table>")))


def case_refusals(ck, cfg):
    for args, what in ((["report"], "no period"),
                       (["report", "--year", "2025", "--month", "2025-03"], "both"),
                       (["report", "--month", "2025-13"], "month 13"),
                       (["report", "--month", "2025-3"], "month 2025-3"),
                       (["report", "--year", "25"], "year 25"),
                       (["report", "--year", "2025", "--format", "pdf"], "format pdf"),
                       (["report", "--year", "2025", "--lang", "de"], "lang de")):
        rc, out, err = ctl(cfg, *args)
        ck.ok(rc == 2 and out == "" and err.startswith("reachctl: "),
              "%s: exit %d, stdout %r, stderr %r" % (what, rc, out, err))


# ---------------------------------------------------------------- end to end


def simulate_mail(env, **kw):
    out = env.path("mail")
    cmd = [lib.PY, os.path.join(lib.REPO, "tests", "sim", "simulate_mail.py"), "--out", out]
    for k, v in kw.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise lib.TestFailure("simulate_mail.py failed: %s" % r.stderr[-2000:])
    lib.log(r.stderr.strip())
    return out


def sim_config(env, trace, mail_out):
    with open(os.path.join(mail_out, "meta_mail.json"), encoding="utf-8") as f:
        meta = json.load(f)
    lines = ["[daemon]", "site = prefecture", "timezone = Europe/Paris",
             "[postgres]", "conninfo = %s" % env.pg.conninfo(),
             "[redis]", "address = unix:%s/no-redis.sock" % env.dir,
             '[collector "pbx"]', "type = queuelog", "path = %s" % trace.log,
             "short_abandon = 5s", "service_level = 20s",
             '[collector "mail"]', "type = maillog", "path = %s" % os.path.join(mail_out, "mail.log"),
             "timezone = Europe/Paris"] + mail_config.keys([meta])
    p = env.path("sim.conf")
    with open(p, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return p


def report_csv(ck, cfg, *args):
    out = ctl_ok(ck, cfg, "report", "--format", "csv", *args)
    return list(csv.DictReader(io.StringIO(out)))


def fl(s):
    return None if s == "" else float(s)


def indicators(env, cfg, frm, to):
    got = json.loads(env.reachctl(cfg, "indicators", "--json", "--from", lib.iso(frm),
                                  "--to", lib.iso(to)))
    calls = {(c["site"], c["queue"]): c for c in got["calls"]}
    mail = {(m["site"], m["mailbox"]): m for m in got["mail"] if m["received"] or m["replied"]
            or m["acknowledged"]}
    return calls, mail


def site_totals(calls, mail):
    """The site figures recomputed from the entities' JSON counts."""
    t = {}
    if calls:
        s = {k: sum(c[k] for c in calls.values()) for k in ("offered", "answered",
                                                             "short_abandoned", "ivr_handled")}
        den = s["offered"] - s["short_abandoned"]
        t.update(offered=s["offered"], answered=s["answered"], ivr_handled=s["ivr_handled"],
                 answered_rate=div(s["answered"], den),
                 global_rate=div(s["answered"] + s["ivr_handled"], den + s["ivr_handled"]))
    if mail:
        s = {k: sum(m[k] for m in mail.values()) for k in ("received", "acknowledged", "replied")}
        t.update(received=s["received"], replied=s["replied"],
                 ack_rate=div(s["acknowledged"], s["received"]))
    return t


def compare_period(ck, env, cfg, rows, cur, prev, label):
    by = {(r["scope"], r["entity"], r["figure"]): r for r in rows}
    for col, (frm, to) in (("value", cur), ("previous", prev)):
        calls, mail = indicators(env, cfg, frm, to)
        ck.ok(calls and mail, "%s %s: the simulated period has calls and mail" % (label, col))
        for (site, queue), c in calls.items():
            for f in CALL_FIGS:
                r = by.get(("queue", queue, f))
                ck.eq("%s %s queue %s %s" % (label, col, queue, f), c[f],
                      r and fl(r[col]))
        for (site, box), m in mail.items():
            for f in MAIL_FIGS:
                r = by.get(("mailbox", box, f))
                ck.eq("%s %s mailbox %s %s" % (label, col, box, f), m[f], r and fl(r[col]))
        for f, v in site_totals(calls, mail).items():
            r = by.get(("site", "", f))
            g = r and fl(r[col])
            ck.ok(g is not None and abs(g - v) <= 1e-12 * max(1, abs(v)),
                  "%s %s site %s: expected %r, got %r" % (label, col, f, v, g))
        n_ent = len(calls) + len(mail)
        ck.ok(len({(r["scope"], r["entity"]) for r in rows if r["scope"] != "site"}) >= n_ent,
              "%s: entities missing from the report" % label)


def case_simulated(ck, env):
    end = "2025-12-31T23:00:00Z"  # 1 January 2026 00:00 in Paris: 2024 and 2025 whole
    trace = lib.simulate(env.path("calls"), days=731, queues=3, rate_scale=0.05, seed=7, end=end)
    mail_out = simulate_mail(env, days=731, mailboxes=2, rate_scale=0.1, seed=7, end=end)
    cfg = sim_config(env, trace, mail_out)
    env.reachd_once(cfg)
    for args, cur, prev in ((["--year", "2025"], Y2025, Y2024),
                            (["--month", "2025-03"], M2025, M2024)):
        rows = report_csv(ck, cfg, *args)
        compare_period(ck, env, cfg, rows, cur, prev, " ".join(args))
    text = ctl_ok(ck, cfg, "report", "--year", "2025")
    ck.ok("Taux d'appels aboutis" in text and "Boîte " in text, "simulated text report: %r" % text)
    check_html(ck, ctl_ok(ck, cfg, "report", "--year", "2025", "--format", "html"), "simulated html")
    check_dashboard(ck, env)
    lib.log("reachctl report --year 2025 on the simulated trace:\n" + text)
    out = os.environ.get("REACHD_REPORT_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)


DASHBOARD_OBJECTS = {"reach.call_indicators_hourly", "reach.call_indicators_daily",
                     "reach.call_indicators", "reach.mail_indicators",
                     "reach.mail_indicators_daily", "reach.mail_backlog", "reach.alerts",
                     "reach.sites", "reach.indicator_report"}


def check_dashboard(ck, env):
    """docs/grafana/reachd-dashboard.json: valid JSON; every query reads only
    the documented views and functions, and runs on the simulated data with
    Grafana's macros replaced."""
    import re
    with open(os.path.join(lib.REPO, "docs", "grafana", "reachd-dashboard.json"),
              encoding="utf-8") as f:
        dash = json.load(f)
    sqls = [t["rawSql"] for p in dash["panels"] for t in p["targets"]]
    sqls += [v["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    ck.ok(len(sqls) >= 9, "dashboard: %d queries" % len(sqls))
    conn = env.db()
    try:
        for sql in sqls:
            used = set(re.findall(r"reach\.[a-z_]+", sql))
            ck.ok(used and used <= DASHBOARD_OBJECTS, "dashboard reads %s" % (used - DASHBOARD_OBJECTS))
            q = (sql.replace("$site", "prefecture")
                 .replace("$__timeFrom()", "'2025-11-01T00:00:00Z'")
                 .replace("$__timeTo()", "'2025-12-31T23:00:00Z'")
                 .replace("$__interval_ms", "3600000"))
            q = re.sub(r"\$__timeFilter\((\w+)\)", r"\1 BETWEEN '2025-11-01T00:00:00Z'"
                       r" AND '2025-12-31T23:00:00Z'", q)
            try:
                rows = lib.q(conn, q)
                ck.ok(rows or "reach.alerts" in sql, "dashboard query gave no row: %s" % q)
            except Exception as e:  # noqa: BLE001 - reported as a mismatch
                conn.rollback()
                ck.fail("dashboard query failed: %s\n%s" % (e, q))
    finally:
        conn.close()


def main():
    with lib.Env("s", redis=False) as env:
        log = env.path("queue_log")
        open(log, "w").close()
        cfg = env.path("reachd.conf")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(conninfo=env.pg.conninfo(), dir=env.dir, log=log))
        env.reachd_once(cfg, timeout=120)
        ck = lib.Checker("(s) report")
        case_known(ck, env, cfg)
        case_refusals(ck, cfg)
        conn = env.db()
        try:
            lib.q(conn, "TRUNCATE reach.call_agg, reach.mail_agg, reach.calls, reach.mails,"
                        " reach.cursors, reach.call_open")
            conn.commit()
        finally:
            conn.close()
        case_simulated(ck, env)
        ck.done()


if __name__ == "__main__":
    lib.run(main)
