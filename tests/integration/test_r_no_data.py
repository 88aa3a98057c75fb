#!/usr/bin/python3
"""(r) A no_data rule and inhibition: a source that produced nothing for
longer than the threshold fires (counted from reachd's start when it has read
nothing since), its referents get one mail, and the first line it reads
again resolves it with a second mail threaded under the first. Meanwhile an
answered-rate rule with `inhibited_by = source-silent` fires on another
source's queue: its notice is held (recorded as inhibited, not mailed) while
the source is silent, and mailed once when the inhibition ends. The mails go
through a real SMTP relay (smtpd.py, plain SMTP on loopback). Nothing else is
mailed.
"""

import sys

sys.dont_write_bytecode = True

import email
import email.header
import email.policy
import json
import re
import time

import lib

try:
    import smtpd  # tests/integration/smtpd.py
except ImportError as e:  # pragma: no cover
    smtpd = None
    IMPORT_ERROR = e

TO = "exploitation@example.gouv.fr"
QUALITE = "qualite@example.gouv.fr"
QUIET_S = 4

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
[collector "pbx2"]
type = jsonl
path = {events2}
site = prefecture
[smtp]
server = 127.0.0.1:{port}
from = reachd@example.gouv.fr
starttls = no
timeout = 2s
language = en
[recipients "exploitation"]
to = {to}
language = en
group_wait = 1s
[rule "source-silent"]
figure = no_data
scope = source:pbx
critical = > {quiet}s
calendar = always
notify = exploitation
[recipients "qualite"]
to = {qualite}
group_wait = 1s
[rule "taux"]
figure = answered_rate
scope = queue:*
window = 15m
critical = < 75%
calendar = always
notify = qualite
inhibited_by = source-silent
severity = priorit\u00e9 1
"""


def parse(rec):
    with open(rec["eml"], "rb") as f:
        return email.message_from_bytes(f.read(), policy=email.policy.compat32)


def subject(msg):
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def body(msg):
    part = [p for p in msg.walk() if p.get_content_type() == "text/plain"][0]
    return part.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")


def main():
    if smtpd is None:
        raise lib.TestFailure("tests/integration/smtpd.py cannot be imported: %s" % IMPORT_ERROR)
    with lib.Env("r") as env, smtpd.Lab(auth_required=False) as lab:
        ck = lib.Checker("(r) no_data")
        events = env.path("events.jsonl")
        open(events, "w").close()
        events2 = env.path("events2.jsonl")
        cfg = env.path("nodata.conf")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(conninfo=env.pg.conninfo(), redis=env.redis.sock, http=lib.free_port(),
                                  events=events, events2=events2, port=lab.port, to=TO,
                                  qualite=QUALITE, quiet=QUIET_S))
        t0 = time.monotonic()
        d = env.start_reachd(cfg)
        lib.wait_until(lambda: len(lab.messages()) >= 1, 30, "the no_data mail", alive=d.alive)
        took = time.monotonic() - t0
        ck.ok(took > QUIET_S, "fired after %.1fs, before the %ds threshold" % (took, QUIET_S))
        first = parse(lab.messages()[0])
        ck.eq("fired: subject", "[reachd] CRITICAL: source-silent \u2013 prefecture, pbx",
              subject(first))
        text = body(first)
        m = re.search(r"^Value: (\d+) s \(threshold: > %d s\)$" % QUIET_S, text, re.M)
        ck.ok(m is not None and int(m.group(1)) > QUIET_S,
              "fired: no 'Value: N s (threshold: > %d s)' line in %r" % (QUIET_S, text))
        ck.eq("fired: envelope", [TO], lab.messages()[0]["rcpts"])

        # the other source's queue fails while pbx is silent: held
        t = int(time.time()) - 30
        lib.append(events2, "".join(json.dumps({"kind": "call", "event": "abandon", "time": t,
                                                "callid": "a%d" % i, "queue": "accueil",
                                                "wait_s": 20}) + "\n"
                                    for i in range(6)).encode())
        conn = env.db()
        conn.autocommit = True
        lib.wait_until(lambda: lib.q(conn, "SELECT count(*) FROM reach.alert_events"
                                           " WHERE rule = 'taux'")[0][0] == 1, 30,
                       "the inhibited firing", alive=d.alive)
        ck.eq("inhibited: recorded, not mailed",
              [("taux", "accueil", "fire", "critical", "inhibited")],
              lib.q(conn, "SELECT rule, entity, action, level, quiet FROM reach.alert_events"
                          " WHERE rule = 'taux'"))
        ck.eq("inhibited: nothing queued for qualite", 0,
              lib.q(conn, "SELECT count(*) FROM reach.alert_outbox WHERE rcpt = %s",
                    (QUALITE,))[0][0])

        lib.append(events, (json.dumps({"kind": "call", "event": "enter", "time": int(time.time()),
                                        "callid": "x1", "queue": "accueil"}) + "\n").encode())
        lib.wait_until(lambda: len(lab.messages()) >= 3, 30,
                       "the resolved mail, and the notice held by the inhibition", alive=d.alive)
        ck.eq("exit status after SIGTERM", 0, d.term())
        mine = [m for m in lab.messages() if m["rcpts"] == [TO]]
        held = [m for m in lab.messages() if m["rcpts"] == [QUALITE]]
        ck.eq("mails to each group", (2, 1), (len(mine), len(held)))
        if held:
            ck.eq("the held notice, once the inhibition ended",
                  "[reachd] CRITIQUE (priorit\u00e9 1) : taux \u2013 prefecture, accueil",
                  subject(parse(held[0])))
        second = parse(mine[1])
        ck.eq("resolved: subject", "[reachd] Resolved: source-silent \u2013 prefecture, pbx",
              subject(second))
        ck.eq("resolved: threaded under the firing mail", first["Message-ID"],
              second["In-Reply-To"])
        ck.eq("mails in all", 3, len(lab.messages()))
        ev = lib.q(conn, "SELECT rule, entity, figure, action, level, quiet"
                         " FROM reach.alert_events WHERE rule = 'source-silent' ORDER BY id")
        ck.eq("transitions", [("source-silent", "pbx", "no_data", "fire", "critical", None),
                              ("source-silent", "pbx", "no_data", "resolve", "critical", None)],
              ev)

        # the rule "taux" leaves the configuration: its alerts leave reach.alert_state
        # (and the reach.alerts view) at the next start; their history stays
        with open(cfg, encoding="utf-8") as f:
            text = f.read()
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text[:text.index('[rule "taux"]')])
        d = env.start_reachd(cfg, name="reachd-without-taux")
        lib.wait_until(lambda: lib.q(conn, "SELECT count(*) FROM reach.alert_state"
                                           " WHERE rule = 'taux'")[0][0] == 0, 30,
                       "the removed rule's alerts to be forgotten", alive=d.alive)
        # (held while inhibited, then told once the inhibition ended)
        ck.eq("the removed rule's history kept", [("fire", "inhibited"), ("fire", None)],
              lib.q(conn, "SELECT action, quiet FROM reach.alert_events WHERE rule = 'taux'"
                          " ORDER BY id"))
        ck.eq("the other rule's state kept", 1,
              lib.q(conn, "SELECT count(*) FROM reach.alert_state"
                          " WHERE rule = 'source-silent'")[0][0])
        ck.eq("exit status after SIGTERM (second run)", 0, d.term())
        conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
