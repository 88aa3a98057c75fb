#!/usr/bin/python3
"""(q) `reachctl alerts` and `reachctl silence` against a real PostgreSQL
(no Redis: neither command needs it, and reachd --once only warns):
  - the schema comes from `reachd --once` (any run applies the migrations);
  - with no alert at all: "no active alert", exit 0, empty JSON sections;
  - alert states, transitions, notices and outbox rows written directly: the
    --json output is exactly what they say (sections, values in the figure's
    unit from the configured rule or, for a rule no longer configured, from
    its last transition; severity; why a transition was not mailed; each
    mail's recipients, attempts, last reply; failed mails flagged), and the
    text output holds the expected lines in the site's time zone;
  - --recent N and --since T select the transitions and mails;
  - silence add/list/remove round trip, field by field and in the table:
    `--until "2030-01-15 18:00"` in Europe/Paris is 17:00Z, a duration counts
    from now, created_by is the Unix user (or $SUDO_USER);
  - every refusal exits non-zero with a clear message, and writes nothing.
"""

import sys

sys.dont_write_bytecode = True

import datetime as _dt
import json
import os
import pwd
import re
import subprocess
import time

import lib

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

PARIS = "Europe/Paris"

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
[recipients "qualite"]
to = referent@example.gouv.fr
[rule "answered-rate"]
figure = answered_rate
scope = queue:*
warning = < 85%
critical = < 75%
severity = P2
notify = qualite
"""


def ctl(cfg, *args, env=None):
    """reachctl; returns (rc, stdout, stderr)."""
    r = subprocess.run([lib.REACHCTL, "-c", cfg] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, env=env)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def ctl_ok(ck, cfg, *args, env=None):
    rc, out, err = ctl(cfg, *args, env=env)
    ck.ok(rc == 0 and err == "", "reachctl %s: exit %d, stderr %r" % (" ".join(args), rc, err))
    return out


def iso(t):
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(t):
    """As reachctl prints it: 2030-01-15 18:00+01:00 (seconds only when not 0)."""
    d = _dt.datetime.fromtimestamp(t, ZoneInfo(PARIS))
    off = d.utcoffset().total_seconds()
    s = d.strftime("%Y-%m-%d %H:%M") + (":%02d" % d.second if d.second else "")
    return s + "%s%02d:%02d" % ("+" if off >= 0 else "-", abs(off) // 3600, abs(off) % 3600 // 60)


def has_line(ck, out, pattern, what):
    ck.ok(re.search(pattern, out, re.M) is not None,
          "%s: no line matching %r in:\n%s" % (what, pattern, out))


# ---------------------------------------------------------------- alerts


def setup(env):
    log = env.path("queue_log")
    open(log, "w").close()
    cfg = env.path("reachd.conf")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(conninfo=env.pg.conninfo(), dir=env.dir, log=log))
    env.reachd_once(cfg, timeout=120)
    return cfg


def clear(conn):
    lib.q(conn, "TRUNCATE reach.alert_state, reach.alert_events, reach.alert_notices,"
                " reach.alert_outbox, reach.silences RESTART IDENTITY")


def case_nothing(ck, cfg, conn):
    clear(conn)
    out = ctl_ok(ck, cfg, "alerts")
    has_line(ck, out, r"^no active alert$", "empty alerts")
    has_line(ck, out, r"^transitions since .* \(0\)$", "empty alerts")
    got = json.loads(ctl_ok(ck, cfg, "alerts", "--json"))
    for k in ("firing", "pending", "flapping", "insufficient", "silenced", "recent", "mails"):
        ck.eq("empty alerts --json %s" % k, [], got.get(k))
    ck.eq("empty alerts --json silenced_inactive", 0, got.get("silenced_inactive"))


def insert_alerts(conn, now):
    """The rows of one situation; returns the times used."""
    t = {"fire": now - 3600, "pend": now - 300, "flap": now - 7200, "upd": now - 60,
         "ev1": now - 3600, "ev2": now - 300, "ev3": now - 180, "old": now - 3 * 86400,
         "mail": now - 3590, "sent": now - 3580}
    states = [
        # rule, entity, status, level, since, value, flapping, insufficient, silenced
        ("answered-rate", "accueil", "firing", "critical", t["fire"], 0.625, False, False, False),
        ("answered-rate", "titres", "firing", "warning", t["flap"], 0.8, True, False, False),
        ("mail-delay", "contact@example.gouv.fr", "pending", "ok", t["pend"], 200000.0,
         False, False, True),
        ("answered-rate", "standard", "inactive", "ok", None, None, False, True, False),
        ("answered-rate", "rh", "inactive", "ok", None, 0.9, False, False, True),
        ("answered-rate", "etrangers", "resolved", "ok", t["fire"], 0.95, False, False, False),
    ]
    for s in states:
        lib.q(conn, "INSERT INTO reach.alert_state (rule, site, entity, status, level, since,"
                    " value, flapping, insufficient, silenced, state, updated_at) VALUES"
                    " (%s, 'prefecture', %s, %s, %s, to_timestamp(%s), %s, %s, %s, %s, '{}',"
                    " to_timestamp(%s))", s + (t["upd"],))
    events = [
        # at, rule, entity, figure, action, level, value, threshold, window, quiet
        (t["old"], "answered-rate", "accueil", "answered_rate", "resolve", "warning", 0.9,
         ">= 85%", "1h", None),
        (t["ev1"], "answered-rate", "accueil", "answered_rate", "fire", "critical", 0.625,
         "< 75%", "1h", None),
        (t["ev2"], "mail-delay", "contact@example.gouv.fr", "reply_delay_p90_s", "fire",
         "warning", 200000.0, "> 2d", "7d", "silenced"),
        (t["ev3"], "answered-rate", "standard", "answered_rate", "insufficient", "ok", None,
         "< 85%", "1h", None),
    ]
    for e in events:
        lib.q(conn, "INSERT INTO reach.alert_events (at, rule, site, entity, figure, action,"
                    " level, value, threshold, window_name, quiet) VALUES (to_timestamp(%s),"
                    " %s, 'prefecture', %s, %s, %s, %s, %s, %s, %s, %s)", e)
    lib.q(conn, "INSERT INTO reach.alert_notices (grp, rule, site, entity, action, level,"
                " payload, mail_id) VALUES ('qualite', 'answered-rate', 'prefecture',"
                " 'accueil', 'fire', 'critical', '{}', 7)")
    subject = "[reachd] critique : taux de décroché à accueil"
    outbox = [
        (7, "referent@example.gouv.fr", "sent", 1, 250, "2.0.0 Ok: queued as 4F2A", t["sent"],
         t["mail"]),
        (7, "chef@example.gouv.fr", "failed", 3, 550, "5.1.1 unknown user", None, t["mail"]),
        (3, "referent@example.gouv.fr", "sent", 1, 250, "2.0.0 Ok", t["old"] + 10, t["old"]),
        (5, "referent@example.gouv.fr", "queued", 2, 451, "4.3.0 try later", None, t["old"]),
    ]
    for o in outbox:
        lib.q(conn, "INSERT INTO reach.alert_outbox (mail_id, grp, rcpt, message_id, subject,"
                    " message, state, attempts, last_code, last_reply, sent_at, created_at,"
                    " next_try_at) VALUES (%s, 'qualite', %s, '<m' || %s || '@example.gouv.fr>',"
                    " %s, 'x', %s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s),"
                    " to_timestamp(%s))",
              (o[0], o[1], o[0], subject, o[2], o[3], o[4], o[5], o[6], o[7], o[7] + 600))
    return t, subject


def alert(entity, status, level, since, value, vtext, rule="answered-rate",
          figure="answered_rate", severity="P2", flapping=False, insufficient=False,
          silenced=False, upd=None):
    return {"rule": rule, "site": "prefecture", "entity": entity, "figure": figure,
            "severity": severity, "status": status, "level": level,
            "since": iso(since) if since else None, "value": value, "value_text": vtext,
            "flapping": flapping, "insufficient": insufficient, "silenced": silenced,
            "updated_at": iso(upd)}


def expected_alerts(t):
    accueil = alert("accueil", "firing", "critical", t["fire"], 0.625, "62.5 %", upd=t["upd"])
    titres = alert("titres", "firing", "warning", t["flap"], 0.8, "80.0 %", flapping=True,
                   upd=t["upd"])
    # mail-delay is not configured: its figure (unit) comes from its last transition
    contact = alert("contact@example.gouv.fr", "pending", "ok", t["pend"], 200000.0, "2 d 7 h",
                    rule="mail-delay", figure="reply_delay_p90_s", severity=None, silenced=True,
                    upd=t["upd"])
    standard = alert("standard", "inactive", "ok", None, None, None, insufficient=True,
                     upd=t["upd"])
    return {"firing": [accueil, titres], "pending": [contact], "flapping": [titres],
            "insufficient": [standard], "silenced": [contact], "silenced_inactive": 1}


def event(i, at, rule, entity, figure, action, level, value, vtext, threshold, window,
          mailed, quiet):
    return {"id": i, "at": iso(at), "rule": rule, "site": "prefecture", "entity": entity,
            "figure": figure, "action": action, "level": level, "value": value,
            "value_text": vtext, "threshold": threshold, "window": window, "mailed": mailed,
            "quiet": quiet, "notice_id": None, "mail_id": None}


def expected_events(t):
    return [
        event(4, t["ev3"], "answered-rate", "standard", "answered_rate", "insufficient", "ok",
              None, None, "< 85%", "1h", False, None),
        event(3, t["ev2"], "mail-delay", "contact@example.gouv.fr", "reply_delay_p90_s", "fire",
              "warning", 200000.0, "2 d 7 h", "> 2d", "7d", False, "silenced"),
        event(2, t["ev1"], "answered-rate", "accueil", "answered_rate", "fire", "critical",
              0.625, "62.5 %", "< 75%", "1h", True, None),
    ]


def rcpt(addr, state, attempts, code, reply, sent, next_try):
    return {"rcpt": addr, "state": state, "attempts": attempts, "last_code": code,
            "last_reply": reply, "sent_at": iso(sent) if sent else None,
            "next_try_at": iso(next_try) if next_try else None}


def mail(mid, created, subject, state, rcpts, notices):
    return {"mail_id": mid, "created_at": iso(created), "group": "qualite", "subject": subject,
            "message_id": "<m%d@example.gouv.fr>" % mid, "digest": False, "state": state,
            "recipients": rcpts, "notices": notices}


def expected_mails(t, subject):
    m7 = mail(7, t["mail"], subject, "failed", [
        rcpt("referent@example.gouv.fr", "sent", 1, 250, "2.0.0 Ok: queued as 4F2A", t["sent"],
             None),
        rcpt("chef@example.gouv.fr", "failed", 3, 550, "5.1.1 unknown user", None, None)],
        [{"rule": "answered-rate", "site": "prefecture", "entity": "accueil", "action": "fire",
          "level": "critical"}])
    # three days old but still queued: listed, whatever the period
    m5 = mail(5, t["old"], subject, "queued", [
        rcpt("referent@example.gouv.fr", "queued", 2, 451, "4.3.0 try later", None,
             t["old"] + 600)], [])
    return m7, m5


def compare(ck, label, exp, got):
    for k in exp:
        ck.eq("%s %s" % (label, k), exp[k], got.get(k))
    extra = sorted(set(got) - set(exp))
    ck.eq("%s: fields beyond the expected ones" % label, [], extra)


def case_alerts_json(ck, cfg, conn):
    clear(conn)
    now = int(time.time())
    t, subject = insert_alerts(conn, now)
    got = json.loads(ctl_ok(ck, cfg, "alerts", "--json"))
    exp = expected_alerts(t)
    m7, m5 = expected_mails(t, subject)
    exp["recent"] = expected_events(t)
    exp["mails"] = [m7, m5]
    exp["limit"] = None
    since = lib.parse_time(got.get("since", "1970-01-01T00:00:00Z"))
    ck.ok(abs(since - (now - 86400)) <= 5, "alerts --json since %r is not now - 24 h" % got.get("since"))
    exp["since"] = got.get("since")
    compare(ck, "alerts --json", exp, got)
    ck.eq("alerts --json key order", ["since", "limit", "firing", "pending", "flapping",
                                      "insufficient", "silenced", "silenced_inactive", "recent",
                                      "mails"], list(got))
    # --recent 1: the newest transition and the newest mail, whatever their age
    got = json.loads(ctl_ok(ck, cfg, "alerts", "--json", "--recent", "1"))
    ck.eq("alerts --recent 1 since", None, got.get("since"))
    ck.eq("alerts --recent 1 limit", 1, got.get("limit"))
    ck.eq("alerts --recent 1 recent", expected_events(t)[:1], got.get("recent"))
    ck.eq("alerts --recent 1 mails", [m7], got.get("mails"))
    got = json.loads(ctl_ok(ck, cfg, "alerts", "--json", "--recent", "9"))
    ck.eq("alerts --recent 9: every transition", [4, 3, 2, 1],
          [e["id"] for e in got.get("recent", [])])
    ck.eq("alerts --recent 9: every mail", [7, 5, 3], [m["mail_id"] for m in got.get("mails", [])])
    # --since in the site's zone (no offset given), just after the first firing
    got = json.loads(ctl_ok(ck, cfg, "alerts", "--json", "--since", local(t["ev1"] + 1)[:-6]))
    ck.eq("alerts --since local", [4, 3], [e["id"] for e in got.get("recent", [])])
    got = json.loads(ctl_ok(ck, cfg, "alerts", "--json", "--since", "4m"))
    ck.eq("alerts --since 4m", [4], [e["id"] for e in got.get("recent", [])])
    ck.eq("alerts --since 4m mails (the queued one stays)", [5],
          [m["mail_id"] for m in got.get("mails", [])])
    return t, subject


def case_alerts_text(ck, cfg, t, subject):
    out = ctl_ok(ck, cfg, "alerts")
    lib.log("reachctl alerts:\n" + "\n".join("    | " + x for x in out.splitlines()))
    for title in ("firing (2)", "pending (1)", "flapping (1)", "insufficient data (1)",
                  "silenced (1)", "1 more alert silenced with nothing wrong"):
        has_line(ck, out, "^%s$" % re.escape(title), "alerts text")
    ck.ok("no active alert" not in out, "alerts text says 'no active alert' with alerts")
    sp = r"\s+"
    has_line(ck, out, "^  prefecture/accueil" + sp + "answered-rate" + sp + "critical" + sp +
             re.escape("62.5 %") + sp + "since " + re.escape(local(t["fire"])) + sp + "P2$",
             "firing line")
    has_line(ck, out, "^  prefecture/titres" + sp + "answered-rate" + sp + "warning" + sp +
             re.escape("80.0 %") + sp + "since " + re.escape(local(t["flap"])) + sp +
             "P2, flapping$", "flapping line")
    has_line(ck, out, "^  prefecture/contact@example.gouv.fr" + sp + "mail-delay" + sp +
             "pending" + sp + "2 d 7 h" + sp + "since " + re.escape(local(t["pend"])) + sp +
             "silenced$", "pending line")
    has_line(ck, out, "^  prefecture/standard" + sp + "answered-rate" + sp + "inactive" + sp +
             "-" + sp + "since -" + sp + "P2, insufficient data$", "insufficient line")
    has_line(ck, out, r"^transitions since .* \(3\)$", "transitions title")
    has_line(ck, out, "^  " + re.escape(local(t["ev2"])) + sp +
             "prefecture/contact@example.gouv.fr" + sp + "mail-delay" + sp + "fire" + sp +
             "warning" + sp + "2 d 7 h" + sp + "> 2d over 7d" + sp + "not mailed: silenced$",
             "silenced transition")
    has_line(ck, out, "^  " + re.escape(local(t["ev1"])) + sp + "prefecture/accueil" + sp +
             "answered-rate" + sp + "fire" + sp + "critical" + sp + re.escape("62.5 %") + sp +
             "< 75% over 1h" + sp + "mailed$", "mailed transition")
    has_line(ck, out, "^  " + re.escape(local(t["ev3"])) + sp + "prefecture/standard" + sp +
             "answered-rate" + sp + "insufficient" + sp + "ok" + sp + "-" + sp +
             "< 85% over 1h" + sp + "recorded only$", "insufficient transition")
    has_line(ck, out, r"^mails since .* \(2\)$", "mails title")
    has_line(ck, out, "^  mail 7  " + re.escape(local(t["mail"])) + "  qualite  FAILED  " +
             re.escape(subject) + "$", "failed mail")
    has_line(ck, out, "^    about prefecture/accueil answered-rate: fire critical$", "about")
    has_line(ck, out, "^    referent@example.gouv.fr" + sp + "sent" + sp + "1 attempt" + sp +
             "250 2.0.0 Ok: queued as 4F2A" + sp + "sent " + re.escape(local(t["sent"])) + "$",
             "sent recipient")
    has_line(ck, out, "^    chef@example.gouv.fr" + sp + "failed" + sp + "3 attempts" + sp +
             "550 5.1.1 unknown user$", "failed recipient")
    has_line(ck, out, "^  mail 5  " + re.escape(local(t["old"])) + "  qualite  queued  ",
             "queued mail")
    has_line(ck, out, "^    referent@example.gouv.fr" + sp + "queued" + sp + "2 attempts" + sp +
             "451 4.3.0 try later" + sp + "next try " + re.escape(local(t["old"] + 600)) + "$",
             "queued recipient")
    ck.ok(not re.search(r" +$", out, re.M), "alerts text has trailing spaces")


def case_alerts_refused(ck, cfg):
    for args, msg in ((["--recent", "0"], "--recent 0: a number from 1 to 100000"),
                      (["--recent", "x"], "--recent x: a number"),
                      (["--since", "2h", "--recent", "3"], "--since or --recent, not both"),
                      (["--since", "2030-02-30"], "'2030-02-30' is not a time"),
                      (["extra"], "alerts takes no argument")):
        rc, out, err = ctl(cfg, "alerts", *args)
        ck.ok(rc == 2 and msg in err and out == "",
              "alerts %s: exit %d, stderr %r (expected 2 and %r)" % (args, rc, err, msg))


# ---------------------------------------------------------------- silences


def me():
    return os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name


def silence_rows(conn):
    return lib.q(conn, "SELECT id, rule_glob, scope_glob, extract(epoch FROM starts_at)::bigint,"
                       " extract(epoch FROM until)::bigint, reason, created_by,"
                       " removed_at IS NOT NULL FROM reach.silences ORDER BY id")


def case_silence_add(ck, cfg, conn):
    clear(conn)
    out = ctl_ok(ck, cfg, "silence", "list")
    ck.eq("silence list, empty", "no active or future silence\n", out)
    ck.eq("silence list --json, empty", [], json.loads(ctl_ok(ck, cfg, "silence", "list", "--json")))
    t0 = int(time.time())
    got = json.loads(ctl_ok(ck, cfg, "silence", "add", "--rule", "answered-*", "--until",
                            "2030-01-15 18:00", "--reason", "travaux PBX (ticket 4521)",
                            "--json"))
    t1 = int(time.time())
    ck.eq("silence 1 until (18:00 in Paris)", "2030-01-15T17:00:00Z", got.get("until"))
    frm = lib.parse_time(got.get("from", "1970-01-01T00:00:00Z"))
    ck.ok(t0 <= frm <= t1, "silence 1 from %r is not now" % got.get("from"))
    exp = {"id": 1, "rule": "answered-*", "scope": "*", "from": iso(frm),
           "until": "2030-01-15T17:00:00Z", "state": "active", "created_by": me(),
           "created_at": got.get("created_at"), "removed_at": None,
           "reason": "travaux PBX (ticket 4521)"}
    compare(ck, "silence add --json", exp, got)
    ck.eq("key order", list(exp), list(got))
    # the same through sudo: the person, not root
    env = dict(os.environ, SUDO_USER="agent.dupont")
    out = ctl_ok(ck, cfg, "silence", "add", "--scope", "prefecture/accueil", "--from",
                 "2030-01-01T08:00+01:00", "--until", "2030-01-02", "--reason", "fermeture",
                 env=env)
    ck.eq("silence add text", "silence 2 added: rule *, scope prefecture/accueil, from "
          "2030-01-01 08:00+01:00 until 2030-01-02 00:00+01:00\n", out)
    t0 = int(time.time())
    ctl_ok(ck, cfg, "silence", "add", "--all", "--until", "90m", "--reason", "migration")
    t1 = int(time.time())
    rows = silence_rows(conn)
    ck.eq("silences stored", 3, len(rows))
    if len(rows) == 3:
        ck.eq("row 1", (1, "answered-*", "*", frm, 1894726800, "travaux PBX (ticket 4521)",
                        me(), False), rows[0])
        ck.eq("row 2", (2, "*", "prefecture/accueil", 1893481200, 1893538800, "fermeture",
                        "agent.dupont", False), rows[1])
        ck.ok(rows[2][1:3] == ("*", "*") and t0 <= rows[2][3] <= t1 and
              rows[2][4] == rows[2][3] + 5400, "row 3 (--all, --until 90m): %r" % (rows[2],))
    return frm


def case_silence_list_remove(ck, cfg, conn, frm):
    lib.q(conn, "INSERT INTO reach.silences (rule_glob, scope_glob, starts_at, until, reason,"
                " created_by) VALUES ('no-data', '*', now() - interval '2 days',"
                " now() - interval '1 day', 'old', 'someone')")
    got = json.loads(ctl_ok(ck, cfg, "silence", "list", "--json"))
    ck.eq("silence list --json ids and states", [(1, "active"), (2, "future"), (3, "active")],
          [(s["id"], s["state"]) for s in got])
    out = ctl_ok(ck, cfg, "silence", "list")
    lines = out.splitlines()
    ck.eq("silence list header", ["times in Europe/Paris"], lines[:1])
    ck.ok(len(lines) > 1 and re.match(r"^id +rule +scope +from +until +by +state +reason$",
                                      lines[1]), "silence list columns: %r" % lines[1:2])
    has_line(ck, out, r"^1 +answered-\* +\* +%s +2030-01-15 18:00\+01:00 +%s +active +"
             r"travaux PBX \(ticket 4521\)$" % (re.escape(local(frm)), re.escape(me())),
             "silence list row 1")
    has_line(ck, out, r"^2 +\* +prefecture/accueil +2030-01-01 08:00\+01:00 +"
             r"2030-01-02 00:00\+01:00 +agent\.dupont +future +fermeture$", "silence list row 2")
    ck.ok("old" not in out, "an expired silence is listed without --all")
    out = ctl_ok(ck, cfg, "silence", "remove", "1")
    ck.eq("silence remove 1", "silence 1 removed\n", out)
    ck.eq("removed_at set", [(True,)], lib.q(conn, "SELECT removed_at IS NOT NULL AND"
                                                   " removed_at <= now() FROM reach.silences"
                                                   " WHERE id = 1"))
    ctl_ok(ck, cfg, "silence", "remove", "2")  # a future one may be removed too
    got = json.loads(ctl_ok(ck, cfg, "silence", "list", "--json"))
    ck.eq("silence list after removals", [3], [s["id"] for s in got])
    got = json.loads(ctl_ok(ck, cfg, "silence", "list", "--all", "--json"))
    ck.eq("silence list --all states", [(1, "removed"), (2, "removed"), (3, "active"),
                                        (4, "expired")], [(s["id"], s["state"]) for s in got])
    ck.ok(all((s["removed_at"] is None) == (s["state"] != "removed") for s in got),
          "removed_at only on removed silences: %r" % got)
    out = ctl_ok(ck, cfg, "silence", "list", "--all")
    has_line(ck, out, r"^4 +no-data +\* +.* +someone +expired +old$", "list --all expired row")


def refuse(ck, cfg, conn, args, code, msg):
    before = silence_rows(conn)
    rc, out, err = ctl(cfg, "silence", *args)
    ck.ok(rc == code and msg in err and out == "",
          "silence %s: exit %d, stdout %r, stderr %r (expected %d and %r)" % (
              " ".join(args), rc, out, err, code, msg))
    ck.eq("silence %s wrote nothing" % " ".join(args), before, silence_rows(conn))


def case_silence_refused(ck, cfg, conn):
    u = ["--until", "2h"]
    refuse(ck, cfg, conn, ["add", "--rule", "x"] + u, 2, "--reason TEXT is required")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", ""] + u, 2,
           "--reason must not be empty")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", "a\nb"] + u, 2,
           "--reason must be one line")
    refuse(ck, cfg, conn, ["add", "--reason", "r"] + u, 2,
           "give --rule GLOB, --scope GLOB or both (--all to silence every alert)")
    refuse(ck, cfg, conn, ["add", "--all", "--rule", "x", "--reason", "r"] + u, 2,
           "--all silences every alert")
    refuse(ck, cfg, conn, ["add", "--rule", "", "--reason", "r"] + u, 2,
           "--rule must not be empty")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", "r"], 2, "--until T is required")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", "r", "--until", "2020-01-15 18:00"],
           2, "--until 2020-01-15 18:00+01:00 is in the past")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", "r", "--from", "3h"] + u, 2,
           "--until must be after --from")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", "r", "--until", "tomorrow"], 2,
           "'tomorrow' is not a duration")
    refuse(ck, cfg, conn, ["add", "--rule", "x", "--reason", "r", "--until", "2030-01-15 25:00"],
           2, "'2030-01-15 25:00' is not a time")
    refuse(ck, cfg, conn, ["remove", "999"], 1, "no silence 999")
    refuse(ck, cfg, conn, ["remove", "1"], 1, "silence 1 is not active: removed at ")
    refuse(ck, cfg, conn, ["remove", "4"], 1, "silence 4 is not active: expired at ")
    refuse(ck, cfg, conn, ["remove", "abc"], 2, "'abc' is not a silence id")
    refuse(ck, cfg, conn, ["remove"], 2, "silence remove takes one ID")
    refuse(ck, cfg, conn, ["frob"], 2, "silence add, list or remove, not 'frob'")
    refuse(ck, cfg, conn, [], 2, "silence add, list or remove, not ''")


def main():
    if ZoneInfo is None:
        raise lib.Skip("no zoneinfo module (Python 3.9+)")
    if not os.access(lib.REACHCTL, os.X_OK):
        raise lib.TestFailure("no reachctl binary at %s" % lib.REACHCTL)
    with lib.Env("q", redis=False) as env:
        ck = lib.Checker("(q) reachctl alerts and silence")
        cfg = setup(env)
        conn = env.db()
        try:
            case_nothing(ck, cfg, conn)
            t, subject = case_alerts_json(ck, cfg, conn)
            case_alerts_text(ck, cfg, t, subject)
            case_alerts_refused(ck, cfg)
            frm = case_silence_add(ck, cfg, conn)
            case_silence_list_remove(ck, cfg, conn, frm)
            case_silence_refused(ck, cfg, conn)
        finally:
            conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
