#!/usr/bin/python3
"""(w) The hourly cap is per recipient: an address in two recipients groups
gets at most max_per_hour mails in a rolling hour whatever group they come
through. Two groups share one address A (cap 2): one firing mails both
groups (A gets 2 mails: the cap), the next firing waits for both groups
(nothing more to A, nor to B who shares a group with A), while a third group
without A is mailed at once. Nothing is dropped: the held notices wait in
reach.alert_notices for the next digest.
"""

import sys

sys.dont_write_bytecode = True

import json
import time

import lib

try:
    import smtpd  # tests/integration/smtpd.py
except ImportError as e:  # pragma: no cover
    smtpd = None
    IMPORT_ERROR = e

A, B, C = "a@example.gouv.fr", "b@example.gouv.fr", "c@example.gouv.fr"

CONFIG = """\
[daemon]
site = prefecture
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
server = 127.0.0.1:{port}
from = reachd@example.gouv.fr
starttls = no
timeout = 2s
[recipients "g1"]
to = {a}
group_wait = 1s
max_per_hour = 2
[recipients "g2"]
to = {b}
cc = {a}
group_wait = 1s
max_per_hour = 2
[recipients "g3"]
to = {c}
group_wait = 1s
[rule "taux"]
figure = answered_rate
scope = queue:q*
window = 15m
critical = < 75%
calendar = always
notify = g1, g2
[rule "taux-autre"]
figure = answered_rate
scope = queue:autre*
window = 15m
critical = < 75%
calendar = always
notify = g3
"""


def abandons(path, queue, n=5):
    t = int(time.time()) - 30
    lib.append(path, "".join(json.dumps({"kind": "call", "event": "abandon", "time": t,
                                         "callid": "%s-%d" % (queue, i), "queue": queue,
                                         "wait_s": 20}) + "\n" for i in range(n)).encode())


def main():
    if smtpd is None:
        raise lib.TestFailure("tests/integration/smtpd.py cannot be imported: %s" % IMPORT_ERROR)
    with lib.Env("w") as env, smtpd.Lab(auth_required=False) as lab:
        ck = lib.Checker("(w) per-recipient cap")
        events = env.path("events.jsonl")
        open(events, "w").close()
        cfg = env.path("storm.conf")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(conninfo=env.pg.conninfo(), redis=env.redis.sock, http=lib.free_port(),
                                  events=events, port=lab.port, a=A, b=B, c=C))
        d = env.start_reachd(cfg)
        conn = env.db()
        conn.autocommit = True

        def rows(rcpt):
            return lib.q(conn, "SELECT count(*) FROM reach.alert_outbox WHERE rcpt = %s",
                         (rcpt,))[0][0]

        abandons(events, "q1")
        lib.wait_until(lambda: len(lab.messages()) >= 3, 30, "the first firing's mails",
                       alive=d.alive)
        ck.eq("first firing: rows to A, B, C", (2, 1, 0), (rows(A), rows(B), rows(C)))

        abandons(events, "q2")
        lib.wait_until(lambda: lib.q(conn, "SELECT count(*) FROM reach.alert_notices"
                                           " WHERE mail_id IS NULL")[0][0] == 2, 30,
                       "the second firing's notices", alive=d.alive)
        # once they are past their group_wait, a firing for a group without A
        # goes out: the dispatcher looked at the held notices, and held them
        lib.wait_until(lambda: lib.q(conn, "SELECT count(*) FROM reach.alert_notices"
                                           " WHERE mail_id IS NULL"
                                           " AND created_at < now() - interval '2 seconds'")[0][0]
                       == 2, 30, "the held notices to be past their group_wait", alive=d.alive)
        abandons(events, "autre")
        lib.wait_until(lambda: rows(C) == 1, 30, "the mail to C", alive=d.alive)
        lib.wait_until(lambda: len(lab.messages()) >= 4, 30, "C's mail delivered", alive=d.alive)
        ck.eq("capped: rows to A, B, C", (2, 1, 1), (rows(A), rows(B), rows(C)))
        ck.eq("capped: notices held, not dropped", [("g1", "q2"), ("g2", "q2")],
              lib.q(conn, "SELECT grp, entity FROM reach.alert_notices WHERE mail_id IS NULL"
                          " ORDER BY grp"))
        ck.eq("mails delivered in all", 4, len(lab.messages()))
        ck.eq("exit status after SIGTERM", 0, d.term())
        conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
