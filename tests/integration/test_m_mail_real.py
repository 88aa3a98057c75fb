#!/usr/bin/python3
"""(m) reachd on real mail servers: the mail lab's Postfix and Dovecot
(tests/integration/maillab.py) play the standard scenario while reachd
follows their own log files live (one maillog collector per file). Then
reachd's figures, from PostgreSQL, Redis and reachctl, equal what the lab's
own clock expects: received, automatic, rejected, acknowledged, replied (each
message, with its delay within the logs' 1-second resolution), closed and the
backlog.

Needs what test_j_maillab.py needs (exit 77 when the mail servers cannot be
installed) plus Redis and PostgreSQL (started by lib).
"""

import json
import time

import lib
import maillab

SLACK_S = 2  # log stamps have one-second resolution on both ends of a delay


def write_config(env, lab, path):
    # IMAP agents log in as master users (shown as the mailbox itself) and
    # replies leave with the mailbox as envelope sender: no `users` needed.
    common = ["type = maillog", "site = prefecture",
              "mailboxes = %s" % ", ".join(maillab.MAILBOXES),
              "closed_folders = %s" % ", ".join(maillab.CLOSE_FOLDERS),
              "timezone = %s" % lab.tz]
    lines = ["[daemon]", "commit_interval = 200ms", "refresh_interval = 1s",
             "timezone = %s" % lab.tz,
             "[postgres]", "conninfo = %s" % env.pg.conninfo(),
             "[redis]", "address = unix:%s" % env.redis.sock, "[http]", "listen = 127.0.0.1:%d" % lib.free_port(),
             '[collector "postfix"]', "path = %s" % lab.postfix_log] + common + [
             '[collector "dovecot"]', "path = %s" % lab.dovecot_log] + common
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def check(ck, env, cfg, lab, truth, t_from):
    conn = env.db()
    rows = lib.q(conn, "SELECT mailbox, msgid, automatic IS NOT NULL, rejected, ack_at IS NOT NULL,"
                       " replied_at IS NOT NULL, reply_delay_s, closed_at IS NOT NULL"
                       " FROM reach.mails WHERE site = 'prefecture'")
    conn.close()
    got = {(r[0], r[1]): r for r in rows}
    for mb, t in truth.items():
        for what, idx in (("automatic", 2), ("acknowledged", 4), ("replied", 5), ("closed", 7)):
            want = set(t[what + "_msgids"])
            have = {k[1] for k, r in got.items() if k[0] == mb and r[idx]
                    and (what != "acknowledged" or not r[2])}
            ck.eq("%s %s messages" % (mb, what), sorted(want), sorted(have))
        for mid, delay in t["reply_delays_s"].items():
            r = got.get((mb, mid))
            ck.ok(r is not None and r[6] is not None and abs(r[6] - delay) <= SLACK_S,
                  "%s reply delay of %s: lab %.3f s, reachd %r" % (mb, mid, delay, r and r[6]))
    out = env.reachctl(cfg, "indicators", "--json", "--from",
                       time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_from)))
    mail = {m["mailbox"]: m for m in json.loads(out)["mail"]}
    for mb, t in truth.items():
        m = mail.get(mb)
        if not ck.ok(m is not None, "reachctl has no row for %s" % mb):
            continue
        for k in ("received", "automatic", "rejected", "acknowledged", "replied", "closed",
                  "backlog"):
            ck.eq("reachctl %s %s" % (mb, k), t[k], m[k])
        if t["received"]:
            ck.ok(abs(m["ack_rate"] - t["acknowledged"] / t["received"]) < 1e-9,
                  "%s ack_rate %r" % (mb, m["ack_rate"]))
        if t["reply_delays_s"]:
            ck.ok(abs(m["reply_delay_max_s"] - max(t["reply_delays_s"].values())) <= SLACK_S,
                  "%s reply_delay_max_s %r" % (mb, m["reply_delay_max_s"]))
    r = env.rcli()

    def live_ok():
        for mb, t in truth.items():
            h = r.hgetall("reach:{%s}:mail-live:%s" % (lib.esc("prefecture"), lib.esc(mb)))
            if not h or int(h.get(b"backlog", -1)) != t["backlog"]:
                return False
        return True
    lib.wait_until(live_ok, 30, "the Redis backlog gauges")
    ck.ok(True, "Redis backlog gauges")


def main():
    try:
        maillab.ensure_packages()
    except maillab.Skip as e:
        raise lib.Skip(str(e))
    lab = maillab.Lab()
    with lib.Env("m") as env:
        try:
            lab.start()
        except maillab.Skip as e:
            raise lib.Skip(str(e))
        try:
            t_from = int(time.time()) - 60
            cfg = env.path("mail.conf")
            write_config(env, lab, cfg)
            d = env.start_reachd(cfg)
            maillab.standard_scenario(lab)
            truth = lab.truth(now=time.time())
            for path, name in ((lab.postfix_log, "postfix"), (lab.dovecot_log, "dovecot")):
                lib.wait_consumed(env, "prefecture", path, collector=name, daemon=d)
            ck = lib.Checker("(m) real mail servers")
            check(ck, env, cfg, lab, truth, t_from)
            ck.eq("exit status after SIGTERM", 0, d.term())
            ck.done()
        finally:
            lab.stop()


if __name__ == "__main__":
    lib.run(main)
