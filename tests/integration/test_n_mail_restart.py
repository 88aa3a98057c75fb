#!/usr/bin/python3
"""(n) The maillog collector keeps the guarantees of queuelog: a simulated
mail.log is appended in pieces while reachd follows it; reachd is killed
with SIGKILL at random points and restarted, the log is rotated by rename +
create once, and bad lines (garbage, invalid UTF-8, a NUL byte, a 2 MB line)
sit between the pieces. At the end every figure equals the truth exactly, and
each bad line is kept once in reach.source_lines.
"""

import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lib  # noqa: E402

sys.path.insert(0, os.path.join(lib.REPO, "tests", "sim"))
import mail_config  # noqa: E402
import truth_mail  # noqa: E402

BAD = [b"this is not a syslog line\n",
       b"2026-11-20T10:00:00.000000+01:00 mail postfix/smtpd[1]: caf\xe9 invalid utf-8\n",
       b"2026-11-20T10:00:01.000000+01:00 mail postfix/smtpd[1]: a NUL \x00 here\n",
       b"2026-11-20T10:00:02.000000+01:00 mail postfix/smtpd[1]: " + b"x" * (2 << 20) + b"\n"]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def pieces(data, n, rnd):
    cuts = sorted(rnd.sample(range(1, len(data)), n - 1))
    out, prev = [], 0
    for c in cuts:
        c = data.index(b"\n", c) + 1 if data.find(b"\n", c) >= 0 else len(data)
        if c > prev:
            out.append(data[prev:c])
            prev = c
    out.append(data[prev:])
    return [p for p in out if p]


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("n") as env:
        out = env.path("sim")
        r = subprocess.run([lib.PY, os.path.join(lib.REPO, "tests", "sim", "simulate_mail.py"),
                            "--out", out, "--days", "6", "--mailboxes", "3", "--seed", str(seed),
                            "--end", "now", "--profile-anchor", "busy"], capture_output=True, text=True)
        if r.returncode != 0:
            raise lib.TestFailure(r.stderr[-2000:])
        meta = mail_config.load(out)
        tr = truth_mail.MailTruth.load(out, received_time="delivered")
        with open(os.path.join(out, "mail.log"), "rb") as f:
            parts = pieces(f.read(), 8, rnd)
        log = env.path("mail.log")
        cfg = env.path("mail.conf")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write("\n".join(["[daemon]", "site = prefecture", "commit_interval = 200ms",
                               "refresh_interval = 1s", "timezone = Europe/Paris",
                               "[postgres]", "conninfo = %s" % env.pg.conninfo(),
                               "[redis]", "address = unix:%s" % env.redis.sock, "[http]", "listen = 127.0.0.1:%d" % lib.free_port(),
                               '[collector "mail"]', "type = maillog", "path = %s" % log,
                               "timezone = Europe/Paris", "stat_interval = 200ms"]
                              + mail_config.keys([meta])) + "\n")
        kills = set(rnd.sample(range(1, len(parts)), 3))
        rotate_at = rnd.choice([i for i in range(1, len(parts)) if i not in kills])
        d = env.start_reachd(cfg)
        lib.append(log, parts[0])
        # A source read for the first time is anchored (its first position
        # committed) before more is read; from then on no kill loses data.
        conn = env.db()
        lib.wait_until(lambda: lib.cursor_row(conn, "prefecture", "mail") is not None, 30,
                       "the first position to be committed", alive=d.alive)
        conn.close()
        for i, p in enumerate(parts):
            if i == 0:
                lib.append(log, BAD[0])
                continue
            if i == rotate_at:  # the tail drains the renamed file first
                os.rename(log, log + ".1")
                lib.log("rotated before piece %d" % i)
            lib.append(log, p)
            if i < len(BAD):
                lib.append(log, BAD[i])
            if i in kills:
                # let it read part of the piece, then kill it wherever it is
                time.sleep(rnd.uniform(0, 0.3))
                d.kill9()
                d = env.start_reachd(cfg, name="reachd-%d" % i)
        # The maillog cursor stays at the first line of the oldest queue-ID
        # life still open (deferred mail): poll the figures, not the cursor.
        lo, hi = tr.range()
        lo -= lo % 60
        hi = hi - hi % 60 + 60
        expected = tr.figures(lo, hi)
        gauges = tr.gauges(hi)

        def mismatches():
            got = json.loads(env.reachctl(cfg, "indicators", "--json", "--from", iso(lo),
                                          "--to", iso(hi)))
            mail = {(m["site"], m["mailbox"]): m for m in got["mail"]}
            bad = []
            for key, e in expected.items():
                m = mail.get(key, {})
                for f in ("received", "automatic", "rejected", "acknowledged", "replied",
                          "closed"):
                    if e.get(f, 0) != m.get(f, 0):
                        bad.append("%s %s: expected %r, got %r" % (key[1], f, e.get(f, 0),
                                                                  m.get(f, 0)))
                if gauges[key]["backlog"] != m.get("backlog", 0):
                    bad.append("%s backlog: expected %r, got %r" % (
                        key[1], gauges[key]["backlog"], m.get("backlog", 0)))
            return bad
        last = []

        def settled():
            last[:] = mismatches()
            return not last
        ck = lib.Checker("(n) mail restarts")
        try:
            lib.wait_until(settled, 90, "reachd's mail figures to reach the truth", alive=d.alive)
        except lib.TestFailure:
            pass
        for m in last:
            ck.fail(m)
        ck.ok(True, "figures equal the truth")
        conn = env.db()
        if last:  # name the messages whose closing differs, to start a diagnosis
            got = {(r[0], r[1]): r[2] for r in lib.q(
                conn, "SELECT mailbox, msgid, closed_at IS NOT NULL AND"
                      " (replied_at IS NULL OR closed_at < replied_at) FROM reach.mails")}
            for r in tr.rows:
                if r.is_received and got.get((r.mailbox, r.msgid)) != r.closed_without_reply():
                    lib.log("closing differs: %s %s qid %s truth closed_at=%s how=%s db=%s" % (
                        r.mailbox, r.msgid, r.qid, r.closed_at, r.closed_how,
                        got.get((r.mailbox, r.msgid))))
        rej = lib.q(conn, "SELECT count(*), count(DISTINCT (ino, \"offset\")) FROM reach.source_lines"
                          " WHERE kind = 'rejected'")[0]
        ck.eq("bad lines kept once each", (len(BAD), len(BAD)), tuple(rej))
        conn.close()
        ck.eq("exit status after SIGTERM", 0, d.term())
        # lines read again after a restart (from the resume point behind
        # what had been read) are not counted twice
        conn = env.db()
        counted = lib.q(conn, "SELECT lines_accepted, lines_rejected FROM reach.cursors"
                              " WHERE site = 'prefecture' AND collector = 'mail'")[0]
        conn.close()
        ck.eq("lines counted once (accepted, rejected)",
              (sum(p.count(b"\n") for p in parts), len(BAD)), tuple(counted))
        ck.done()


if __name__ == "__main__":
    lib.run(main)
