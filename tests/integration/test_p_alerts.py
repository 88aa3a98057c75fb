#!/usr/bin/python3
"""(p) Threshold alerts end to end: call events written through a jsonl
collector make an answered-rate rule fire and resolve on the real reachd,
which mails the referents through a real SMTP relay (smtpd.py: aiosmtpd on
loopback, STARTTLS with its own certificate, AUTH). Checked exactly:
  - the firing and the resolved mail: headers, encoded subject, the
    quoted-printable body's lines, In-Reply-To threading the resolved mail
    under the firing one;
  - a queue name holding CR/LF, "Bcc:" and non-ASCII text: no header can be
    injected, the relay gets one recipient, the subject decodes cleanly;
  - the relay down for REACHD_TEST_OUTAGE_S seconds (15 by default; 600 is
    the issue's 10 minutes) with two alerts waiting: both delivered once, in
    order, after it comes back;
  - a 450 for the recipient (retried, then delivered once), a 550 (failed,
    recorded, and the next mail is not held up by it);
  - a relay that accepts the connection and never answers: reachd keeps
    ingesting meanwhile, and the mail goes out once the relay answers;
  - a silence (a row of reach.silences, as reachctl silence add writes it):
    the firing is recorded as silenced and not mailed; once the silence is
    removed, the held notice goes out;
  - reachd stopped between a state change and its delivery: the mail goes
    out after the restart, once, and nothing else is mailed again.
At the end the relay holds exactly the expected mails, one each.
"""

import sys

sys.dont_write_bytecode = True

import email
import email.header
import email.policy
import json
import os
import re
import time
import urllib.request

import lib

try:
    import smtpd  # tests/integration/smtpd.py
except ImportError as e:  # pragma: no cover
    smtpd = None
    IMPORT_ERROR = e

TO = "referent.qualite@example.gouv.fr"
FROM = "reachd@example.gouv.fr"
OUTAGE_S = float(os.environ.get("REACHD_TEST_OUTAGE_S", "15"))
EVIL = "Accueil\r\nBcc: intrus@example.org\r\n\u00c9tat civil \u2013 \u00e9t\u00e9"

CONFIG = """\
[daemon]
site = prefecture
timezone = Europe/Paris
commit_interval = 200ms
refresh_interval = 1s
[postgres]
conninfo = {conninfo}
[redis]
address = unix:{redis}
[http]
listen = 127.0.0.1:{http}
[collector "pbx"]
type = jsonl
path = {events}
site = prefecture
[smtp]
server = localhost:{port}
from = Indicateurs d'accueil <{sender}>
starttls = required
username = {user}
password_file = {pwfile}
ca_file = {cert}
timeout = 2s
retry = 1s
retry_max = 2s
dashboard_url = https://reach.example.gouv.fr/
[recipients "qualite"]
to = {to}
group_wait = 1s
max_per_hour = 100
[rule "taux-decroche"]
figure = answered_rate
scope = queue:*
window = 15m
warning = < 85%
critical = < 75%
min_samples = 5
calendar = always
notify = qualite
"""


class Calls:
    """Writes call events for the jsonl collector, dated a minute ago."""

    def __init__(self, path):
        self.path = path
        self.n = 0

    def add(self, queue, answered, abandoned):
        t = int(time.time()) - 60
        lines = []
        for i in range(answered + abandoned):
            self.n += 1
            cid = "c%d" % self.n
            lines.append({"kind": "call", "event": "enter", "time": t, "callid": cid,
                          "queue": queue})
            if i < answered:
                lines.append({"kind": "call", "event": "connect", "time": t + 5, "callid": cid,
                              "queue": queue, "wait_s": 5})
                lines.append({"kind": "call", "event": "complete", "time": t + 30,
                              "callid": cid, "queue": queue, "talk_s": 25})
            else:
                lines.append({"kind": "call", "event": "abandon", "time": t + 40,
                              "callid": cid, "queue": queue, "wait_s": 40})
        lib.append(self.path, "".join(json.dumps(x) + "\n" for x in lines).encode())


def parse(rec):
    with open(rec["eml"], "rb") as f:
        raw = f.read()
    return raw, email.message_from_bytes(raw, policy=email.policy.compat32)


def subject(msg):
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def text_body(msg):
    part = msg
    if msg.is_multipart():
        part = [p for p in msg.walk() if p.get_content_type() == "text/plain"][0]
    return part.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")


def outbox(conn):
    return lib.q(conn, "SELECT id, mail_id, rcpt, state, attempts, last_code, subject, message_id"
                       " FROM reach.alert_outbox ORDER BY id")


def fires(conn, entity):
    return lib.q(conn, "SELECT count(*) FROM reach.alert_events WHERE entity = %s AND action = 'fire'",
                 (entity,))[0][0]


class Run:
    def __init__(self, env, lab, ck):
        self.env, self.lab, self.ck = env, lab, ck
        self.calls = Calls(env.path("events.jsonl"))
        self.cfg = env.path("alerts.conf")
        pw = env.path("smtp-password")
        with open(pw, "w") as f:
            f.write(lab.password + "\n")
        os.chmod(pw, 0o600)
        with open(self.cfg, "w") as f:
            self.http = lib.free_port()
            f.write(CONFIG.format(conninfo=env.pg.conninfo(), redis=env.redis.sock, http=self.http,
                                  events=self.calls.path, port=lab.port, sender=FROM,
                                  user=lab.user, pwfile=pw, cert=lab.cert, to=TO))
        self.conn = env.db()
        self.conn.autocommit = True
        self.d = env.start_reachd(self.cfg)

    def wait_mails(self, n, what, timeout=60):
        lib.wait_until(lambda: len(self.lab.messages()) >= n, timeout, what, alive=self.d.alive)
        return self.lab.messages()

    def wait_queued(self, n, what):
        lib.wait_until(lambda: len(outbox(self.conn)) >= n, 30, what, alive=self.d.alive)

    def wait_rounds(self, n):
        """n refreshes of the site (each evaluates the rules): the Redis
        window of a queue is rewritten with a new updated_at each time."""
        rc = self.env.rcli()
        key = lib.window_key("prefecture", "accueil", "15m")
        seen = []

        def moved():
            v = rc.hget(key, "updated_at")
            if v is not None and (not seen or seen[-1] != v):
                seen.append(v)
            return len(seen) > n
        lib.wait_until(moved, 30, "%d evaluation rounds" % n, interval=0.2, alive=self.d.alive)

    def metric(self, name):
        """A value of reachd's /metrics (no proxy: it is on loopback)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        text = opener.open("http://127.0.0.1:%d/metrics" % self.http, timeout=10).read().decode()
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        return float(m.group(1)) if m else None

    def subjects(self):
        return [subject(parse(m)[1]) for m in self.lab.messages()]


def case_fire_and_resolve(r):
    ck = r.ck
    r.calls.add("accueil", 2, 8)  # 2 answered of 10: 20 %, critical
    msgs = r.wait_mails(1, "the firing mail")
    raw, msg = parse(msgs[0])
    ck.eq("firing: envelope", {"mail_from": FROM, "rcpts": [TO], "auth_user": r.lab.user,
                               "tls": True},
          {k: msgs[0][k] for k in ("mail_from", "rcpts", "auth_user", "tls")})
    ck.eq("firing: header names", ["Date", "From", "To", "Subject", "Message-ID",
                                   "Auto-Submitted", "MIME-Version", "Content-Type"],
          [k for k, _ in msg.items()])
    ck.eq("firing: From", "Indicateurs d'accueil <%s>" % FROM, msg["From"])
    ck.eq("firing: To", TO, msg["To"])
    ck.eq("firing: Subject", "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, accueil",
          subject(msg))
    ck.ok(re.fullmatch(r"<reachd-alert-\d+@example\.gouv\.fr>", msg["Message-ID"] or ""),
          "firing: Message-ID %r" % msg["Message-ID"])
    ck.ok(all(len(x) <= 78 for x in raw.split(b"\r\n")), "firing: a line longer than 78")
    plain = [p for p in msg.walk() if p.get_content_type() == "text/plain"][0]
    ck.eq("firing: text part encoding", "quoted-printable", plain["Content-Transfer-Encoding"])
    ck.eq("firing: text part charset", "text/plain; charset=UTF-8", plain["Content-Type"])
    body = text_body(msg)
    for line in ["L'indicateur \u00ab answered_rate \u00bb a franchi le seuil critique de la "
                 "r\u00e8gle taux-decroche.",
                 "Site : prefecture", "File d'attente : accueil",
                 "Valeur : 20,0 % sur 15m (seuil : < 75,0 %)",
                 "Tableau de bord : https://reach.example.gouv.fr/"]:
        ck.ok(line in body.split("\n"), "firing: body line %r missing in %r" % (line, body))
    ck.ok(re.search(r"^Depuis : \w+\. \d\d/\d\d/\d{4} \d\d:\d\d \(UTC\+0[12]:00\)$", body, re.M),
          "firing: no local 'Depuis' line in %r" % body)
    firing_id = msg["Message-ID"]
    st = lib.q(r.conn, "SELECT status, level, round(value::numeric, 4) FROM reach.alert_state"
                       " WHERE rule = 'taux-decroche' AND entity = 'accueil'")
    ck.eq("firing: reach.alert_state", [("firing", "critical", 0.2)],
          [(a, b, float(c)) for a, b, c in st])

    r.calls.add("accueil", 60, 0)  # 62 of 70: 88.6 %, past the clear threshold (85 %)
    msgs = r.wait_mails(2, "the resolved mail")
    _, msg = parse(msgs[1])
    ck.eq("resolved: Subject", "[reachd] R\u00e9tabli : taux-decroche \u2013 prefecture, accueil",
          subject(msg))
    ck.eq("resolved: In-Reply-To", firing_id, msg["In-Reply-To"])
    body = text_body(msg)
    ck.ok("Valeur : 88,6 % sur 15m (seuil : >= 85,0 %)" in body.split("\n"),
          "resolved: value line in %r" % body)
    ev = lib.q(r.conn, "SELECT action, level, quiet FROM reach.alert_events"
                       " WHERE entity = 'accueil' ORDER BY id")
    ck.eq("fire then resolve, both mailed", [("fire", "critical", None),
                                             ("resolve", "critical", None)], ev)
    # each transition names its notice, and the notice the mail that carried it
    ids = lib.q(r.conn, "SELECT o.message_id FROM reach.alert_events e"
                        " JOIN reach.alert_notices n ON n.id = e.notice_id"
                        " JOIN reach.alert_outbox o ON o.mail_id = n.mail_id"
                        " WHERE e.entity = 'accueil' ORDER BY e.id")
    ck.eq("transitions linked to their mails", [(firing_id,), (msg["Message-ID"],)], ids)


def case_injection(r):
    ck = r.ck
    before = len(r.lab.messages())
    r.calls.add(EVIL, 0, 6)
    msgs = r.wait_mails(before + 1, "the mail about the evil queue")
    rec = msgs[before]
    raw, msg = parse(rec)
    head = raw.split(b"\r\n\r\n", 1)[0]
    ck.eq("evil queue: envelope recipients", [TO], rec["rcpts"])
    ck.ok(not re.search(rb"^bcc:", head, re.I | re.M), "a Bcc header was injected: %r" % head)
    ck.eq("evil queue: header names", ["Date", "From", "To", "Subject", "Message-ID",
                                       "Auto-Submitted", "MIME-Version", "Content-Type"],
          [k for k, _ in msg.items()])
    ck.ok(all(x.isascii() for x in head.decode("latin-1")), "8-bit bytes in the header")
    ck.eq("evil queue: Subject",
          "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, Accueil Bcc: intrus@example.org "
          "\u00c9tat civil \u2013 \u00e9t\u00e9", subject(msg))
    ent = lib.q(r.conn, "SELECT entity FROM reach.alert_state WHERE entity LIKE 'Accueil%%'")
    ck.eq("evil queue: its name kept as is in reach.alert_state", [(EVIL,)], ent)


def case_outage(r):
    ck = r.ck
    before = len(r.lab.messages())
    n0 = len(outbox(r.conn))
    r.lab.set_mode("down")
    t0 = time.monotonic()
    r.calls.add("titres", 1, 9)
    r.wait_queued(n0 + 1, "the first mail of the outage to be queued")
    r.calls.add("etrangers", 0, 10)
    r.wait_queued(n0 + 2, "the second mail of the outage to be queued")
    lib.wait_until(lambda: all(x[4] >= 2 for x in outbox(r.conn)[n0:n0 + 1]), 30,
                   "a retry during the outage", alive=r.d.alive)
    # the outbox's size, as /metrics tells a Prometheus
    lib.wait_until(lambda: r.metric("reachd_outbox_queued") == 2, 30,
                   "reachd_outbox_queued 2 during the outage", alive=r.d.alive)
    ck.ok(r.metric("reachd_outbox_oldest_queued_seconds") >= 1,
          "reachd_outbox_oldest_queued_seconds during the outage")
    rest = OUTAGE_S - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)  # the outage itself: nothing to poll, the relay is just down
    ck.eq("nothing delivered while the relay is down", before, len(r.lab.messages()))
    r.lab.set_mode("accept")
    msgs = r.wait_mails(before + 2, "the two mails after the outage")
    got = [subject(parse(m)[1]) for m in msgs[before:]]
    ck.eq("after the outage: both, in order",
          ["[reachd] CRITIQUE : taux-decroche \u2013 prefecture, titres",
           "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, etrangers"], got)
    lib.wait_until(lambda: all(x[3] != "queued" for x in outbox(r.conn)[n0:]), 30,
                   "the rows to be marked", alive=r.d.alive)
    rows = outbox(r.conn)[n0:]
    ck.eq("after the outage: rows sent", ["sent", "sent"], [x[3] for x in rows])
    # in order: the second waits behind the first, it is tried once the first went
    ck.ok(rows[0][4] >= 2 and rows[1][4] == 1, "attempts %r" % [x[4] for x in rows])
    lib.wait_until(lambda: r.metric("reachd_outbox_queued") == 0, 30,
                   "reachd_outbox_queued 0 after the outage", alive=r.d.alive)


def case_4xx_5xx(r):
    ck = r.ck
    before = len(r.lab.messages())
    n0 = len(outbox(r.conn))
    r.lab.set_mode("tempfail-rcpt", TO)
    r.calls.add("naturalisation", 0, 7)
    r.wait_queued(n0 + 1, "the 4xx mail to be queued")
    lib.wait_until(lambda: outbox(r.conn)[n0][4] >= 2 and outbox(r.conn)[n0][5] == 450, 30,
                   "two 450 answers", alive=r.d.alive)
    r.lab.set_mode("accept")
    r.wait_mails(before + 1, "the mail after the 450s")
    # the relay has it; the row is marked once the mailer's answer is committed
    lib.wait_until(lambda: outbox(r.conn)[n0][3] != "queued", 30, "the row to be marked",
                   alive=r.d.alive)
    row = outbox(r.conn)[n0]
    ck.eq("450 then accepted: state and last code", ("sent", 250), (row[3], row[5]))

    r.lab.set_mode("reject-rcpt", TO)
    r.calls.add("permis", 0, 8)
    r.wait_queued(n0 + 2, "the 5xx mail to be queued")
    lib.wait_until(lambda: outbox(r.conn)[n0 + 1][3] == "failed", 30, "the 550 to fail the row",
                   alive=r.d.alive)
    row = outbox(r.conn)[n0 + 1]
    ck.eq("550: failed after one attempt, code kept", ("failed", 1, 550), (row[3], row[4], row[5]))
    r.lab.set_mode("accept")
    r.calls.add("cartes grises", 0, 9)
    msgs = r.wait_mails(before + 2, "the mail after the refused one")
    ck.eq("the next mail goes out after a 550",
          "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, cartes grises",
          subject(parse(msgs[before + 1])[1]))


def case_hang(r):
    ck = r.ck
    before = len(r.lab.messages())
    n0 = len(outbox(r.conn))
    r.lab.set_mode("hang")
    r.calls.add("accueil-2", 1, 9)
    r.wait_queued(n0 + 1, "the mail to a hanging relay to be queued")
    # reachd keeps reading while the mailer waits on the relay
    lines_before = lib.cursor_row(r.conn, "prefecture")["lines_accepted"]
    r.calls.add("ingestion-pendant-blocage", 5, 0)
    lib.wait_until(lambda: lib.cursor_row(r.conn, "prefecture")["lines_accepted"] >=
                   lines_before + 15, 20, "lines read while the relay hangs", alive=r.d.alive)
    lib.wait_until(lambda: r.lab.hung >= 2, 30, "two hung attempts", alive=r.d.alive)
    ck.eq("nothing delivered while the relay hangs", before, len(r.lab.messages()))
    r.lab.set_mode("accept")
    msgs = r.wait_mails(before + 1, "the mail once the relay answers")
    ck.eq("after the hang", "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, accueil-2",
          subject(parse(msgs[before])[1]))


def case_silence(r):
    ck = r.ck
    before = len(r.lab.messages())
    n0 = len(outbox(r.conn))
    r.calls.add("tutelle", 10, 0)  # an entity with a state, answered 100 %
    lib.wait_until(lambda: lib.q(r.conn, "SELECT count(*) FROM reach.alert_state"
                                         " WHERE entity = 'tutelle'")[0][0] == 1, 30,
                   "the state of 'tutelle'", alive=r.d.alive)
    sid = lib.q(r.conn, "INSERT INTO reach.silences (rule_glob, scope_glob, until, reason)"
                        " VALUES ('taux-*', 'prefecture/tut*', now() + interval '1 hour',"
                        " 'travaux') RETURNING id")[0][0]
    lib.wait_until(lambda: lib.q(r.conn, "SELECT silenced FROM reach.alert_state"
                                         " WHERE entity = 'tutelle'")[0][0], 30,
                   "the silence to be applied", alive=r.d.alive)
    r.calls.add("tutelle", 0, 40)  # 10 of 50: 20 %
    lib.wait_until(lambda: fires(r.conn, "tutelle") == 1, 30, "the silenced firing",
                   alive=r.d.alive)
    ev = lib.q(r.conn, "SELECT action, level, quiet FROM reach.alert_events"
                       " WHERE entity = 'tutelle' ORDER BY id")
    ck.eq("silenced: recorded, not mailed", [("fire", "critical", "silenced")], ev)
    r.wait_rounds(2)
    ck.eq("silenced: nothing queued", n0, len(outbox(r.conn)))
    lib.q(r.conn, "UPDATE reach.silences SET removed_at = now() WHERE id = %s", (sid,))
    msgs = r.wait_mails(before + 1, "the held notice once the silence is removed")
    ck.eq("after the silence", "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, tutelle",
          subject(parse(msgs[before])[1]))


def case_restart(r):
    ck = r.ck
    before = len(r.lab.messages())
    n0 = len(outbox(r.conn))
    r.lab.set_mode("down")
    r.calls.add("standard", 2, 8)
    r.wait_queued(n0 + 1, "the mail to be queued before the stop")
    ck.eq("exit status after SIGTERM", 0, r.d.term())
    r.lab.set_mode("accept")
    r.d = r.env.start_reachd(r.cfg, name="reachd-restarted")
    msgs = r.wait_mails(before + 1, "the mail after the restart")
    ck.eq("after the restart", "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, standard",
          subject(parse(msgs[before])[1]))
    # evaluation rounds after the restart: nothing changed, nothing more is queued
    r.wait_rounds(3)
    ck.eq("outbox rows after the restart's rounds", n0 + 1, len(outbox(r.conn)))
    ck.eq("fire events for 'standard'", 1, fires(r.conn, "standard"))


def main():
    if smtpd is None:
        raise lib.TestFailure("tests/integration/smtpd.py cannot be imported: %s" % IMPORT_ERROR)
    with lib.Env("p") as env, smtpd.Lab() as lab:
        ck = lib.Checker("(p) alerts")
        r = Run(env, lab, ck)
        case_fire_and_resolve(r)
        case_injection(r)
        case_outage(r)
        case_4xx_5xx(r)
        case_hang(r)
        case_silence(r)
        case_restart(r)
        # quiet rounds after everything: the relay holds each mail once
        r.wait_rounds(3)
        subjects = r.subjects()
        ck.eq("mails delivered, one each, in order", [
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, accueil",
            "[reachd] R\u00e9tabli : taux-decroche \u2013 prefecture, accueil",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, Accueil Bcc: intrus@example.org "
            "\u00c9tat civil \u2013 \u00e9t\u00e9",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, titres",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, etrangers",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, naturalisation",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, cartes grises",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, accueil-2",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, tutelle",
            "[reachd] CRITIQUE : taux-decroche \u2013 prefecture, standard"], subjects)
        ids = [parse(m)[1]["Message-ID"] for m in lab.messages()]
        ck.eq("Message-IDs all different", len(ids), len(set(ids)))
        ck.eq("exit status after SIGTERM", 0, r.d.term())
        r.conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
