#!/usr/bin/python3
"""(j) The mail lab: real Debian 12 Postfix + Dovecot (Pigeonhole Sieve) on
loopback, configured as docs/mail-setup.md recommends, driven by real SMTP
and IMAP clients through a small realistic scenario; checks that the servers'
own logs carry every line reachd needs (deliveries with Message-ID, header
INFO lines, vacation acknowledgements and their refusals, \\Answered flag
changes, copies saved to Sent, deletions, moves, rejections) and that the
lab's ground truth is what the scenario meant.

Needs root and the Debian packages postfix dovecot-core dovecot-imapd
dovecot-lmtpd dovecot-sieve (installed here if missing; exit 77 = skip only
when they cannot be installed). No reachd, Redis or PostgreSQL needed.

MAILLAB_CAPTURE=1 also writes the logs and scenario.json to
tests/fixtures/mail-real/ (MAILLAB_CAPTURE=DIR: to DIR) for parser unit tests.
MAILLAB_KEEP=1 keeps the lab's temporary directory.
"""

import sys

sys.dont_write_bytecode = True

import datetime as _dt
import json
import os
import re
import time
import zoneinfo

import maillab
from maillab import LabError, log

T_START = time.time()
C = maillab.SC_C
T = maillab.SC_T
EXPECTED = maillab.SCENARIO_EXPECTED

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


# ---------------------------------------------------------------- log checks

PF_LINE = re.compile(r"^(?P<ts>[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d) mail (?P<prog>postfix(?:/[a-z-]+)*)\[\d+\]: "
                     r"(?P<msg>.*)$")
DC_LINE = re.compile(r"^(?P<ts>[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d) (?P<prefix>[a-z-]+(?:\([^)]*\))?"
                     r"(?:<\d+><[^>]+>)?): (?P<level>Info|Warning|Error|Fatal|Panic): (?P<msg>.*)$")


class Logs:
    def __init__(self, lab):
        self.pf = lab.read_log("postfix").splitlines()
        self.dc = lab.read_log("dovecot").splitlines()
        self.tz = zoneinfo.ZoneInfo(lab.tz)
        self.year = time.localtime(lab.started_at).tm_year
        self.errors = []

    def grep(self, which, rx):
        lines = self.pf if which == "postfix" else self.dc
        r = re.compile(rx)
        return [l for l in lines if r.search(l)]

    def need(self, which, rx, what, count=None):
        hits = self.grep(which, rx)
        if not hits or (count is not None and len(hits) != count):
            self.errors.append("%s log: %s: want %s line(s) /%s/, got %d" % (
                which, what, count or ">=1", rx, len(hits)))
        return hits

    def never(self, which, rx, what):
        hits = self.grep(which, rx)
        if hits:
            self.errors.append("%s log: %s: unexpected %r" % (which, what, hits[0]))

    def epoch(self, line):
        ts = line[:15]
        d = _dt.datetime.strptime("%d %s" % (self.year, ts), "%Y %b %d %H:%M:%S").replace(tzinfo=self.tz)
        return d.timestamp()


def check_logs(lab, ids):
    L = Logs(lab)
    q = re.escape
    # Every line has the documented shape (maillog_file / log_path).
    for l in L.pf:
        if not PF_LINE.match(l):
            L.errors.append("postfix line shape: %r" % l)
    for l in L.dc:
        if not DC_LINE.match(l):
            L.errors.append("dovecot line shape: %r" % l)
    L.never("postfix", r"postfix/[a-z/]+\[\d+\]: (warning|error|fatal|panic):", "no Postfix warnings")
    L.never("dovecot", r": (Warning|Error|Fatal|Panic): (?!Killed with signal 15)", "no Dovecot warnings")

    for label, mid in ids.items():
        rec = lab.messages[mid]
        if not rec["boxes"]:
            continue
        # Postfix: message-id, envelope sender, one LMTP delivery per mailbox.
        mline = L.need("postfix", r"postfix/cleanup\[\d+\]: [0-9A-F]+: message-id=%s$" % q(mid), label + " message-id",
                       count=1)
        if not mline:
            continue
        qid = re.search(r": ([0-9A-F]+): message-id", mline[0]).group(1)
        L.need("postfix", r"postfix/qmgr\[\d+\]: %s: from=<%s>, size=\d+, nrcpt=%d \(queue active\)" % (
            qid, q(rec["envelope_from"]), len(rec["rcpts"])), label + " qmgr from=", count=1)
        for mb, box in rec["boxes"].items():
            d = L.need("postfix", r"postfix/lmtp\[\d+\]: %s: to=<%s>, relay=%s\[[^]]+\], delay=[\d.]+, "
                       r"delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <%s> (\S+) Saved\)" % (
                           qid, q(mb), q(maillab.HOSTNAME), q(mb)), "%s delivered to %s" % (label, mb), count=1)
            # Dovecot: the same LMTP session id, the Sieve delivery line and the mail_log save.
            sess = re.search(r"> (\S+) Saved\)", d[0]).group(1) if d else r"[^>]+"
            if d and (mb == rec["rcpts"][0]) == sess.endswith(":R2"):
                L.errors.append("%s: LMTP session %s for recipient %s" % (label, sess, mb))
            pre = r"lmtp\(%s\)<\d+><%s>: Info: " % (q(mb), q(sess) if d else sess)
            st = L.need("dovecot", pre + r"sieve: msgid=%s: stored mail into mailbox 'INBOX'$" % q(mid),
                        "%s stored in %s" % (label, mb), count=1)
            L.need("dovecot", pre + r"save: box=INBOX, uid=\d+, msgid=%s, size=\d+, from=.*, flags=\(\)$" % q(mid),
                   "%s mail_log save in %s" % (label, mb), count=1)
            if st and d and abs(L.epoch(st[0]) - rec["accepted_at"]) > 2:
                L.errors.append("%s: log stamp %s is not the lab clock %s in %s" % (
                    label, st[0][:15], maillab.iso(rec["accepted_at"]), lab.tz))
            # Acknowledgement (or Sieve's refusal), in Dovecot and in Postfix.
            if box["ack"]:
                snd = addr_of_env(rec)
                L.need("dovecot", pre + r"sieve: msgid=%s: vacation action: sent vacation response to <%s>$" % (
                    q(mid), q(snd)), "%s acknowledged by %s" % (label, mb), count=1)
                aid = box["ack"]["msgid"]
                aq = L.need("postfix", r"postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=%s$" % q(aid),
                            label + " ack message-id", count=1)
                if aq:
                    aqid = re.search(r": ([0-9A-F]+): message-id", aq[0]).group(1)
                    tail = r" from localhost\[127\.0\.0\.1\]; from=<> to=<%s> proto=ESMTP helo=<%s>$" % (
                        q(snd), q(maillab.HOSTNAME))
                    L.need("postfix", r"%s: info: header In-Reply-To: %s%s" % (aqid, q(mid), tail),
                           label + " ack In-Reply-To INFO", count=1)
                    L.need("postfix", r"%s: info: header Auto-Submitted: auto-replied \(vacation\)%s" % (aqid, tail),
                           label + " ack Auto-Submitted INFO", count=1)
                    L.need("postfix", r"postfix/qmgr\[\d+\]: %s: from=<>, size=\d+, nrcpt=1" % aqid,
                           label + " ack null sender", count=1)
                    L.need("postfix", r"postfix/smtp\[\d+\]: %s: to=<%s>, relay=127\.0\.0\.1.*status=sent" % (
                        aqid, q(snd)), label + " ack sent out", count=1)
                if not aid.startswith("<dovecot-sieve-"):
                    L.errors.append("%s: ack Message-ID %s is not Pigeonhole's" % (label, aid))
                if box["ack"]["mail_from"] != "":
                    L.errors.append("%s: ack envelope sender %r, want <>" % (label, box["ack"]["mail_from"]))
            else:
                L.need("dovecot", pre + r"sieve: msgid=%s: vacation action: (discard|not sending)" % q(mid),
                       "%s not acknowledged by %s" % (label, mb), count=1)
            # Replies: submission with SASL user, threading INFO, Sent copy, \Answered.
            for rep in box["replies"]:
                rid, routes = rep["msgid"], rep["routes"]
                if rep["smtp_at"]:
                    rq = L.need("postfix", r"postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=%s$" % q(rid),
                                label + " reply message-id", count=1)
                    if rq:
                        rqid = re.search(r": ([0-9A-F]+): message-id", rq[0]).group(1)
                        L.need("postfix", r"postfix/submission/smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\], "
                               r"sasl_method=PLAIN, sasl_username=%s$" % (rqid, q(rep["sasl_user"])),
                               label + " reply SASL user", count=1)
                        L.need("postfix", r"postfix/qmgr\[\d+\]: %s: from=<%s>, size=\d+, nrcpt=1" % (rqid, q(mb)),
                               label + " reply from the mailbox", count=1)
                        tail = r" from localhost\[127\.0\.0\.1\]; from=<%s> to=<%s> proto=ESMTP helo=<[^>]+>$" % (
                            q(mb), q(addr_of_env(rec)))
                        irt = r"%s: info: header In-Reply-To: %s%s" % (rqid, q(mid), tail)
                        refs = r"%s: info: header References: (<[^>]+> )*%s%s" % (rqid, q(mid), tail)
                        if routes["in_reply_to"]:
                            L.need("postfix", irt, label + " reply In-Reply-To INFO", count=1)
                        else:
                            L.never("postfix", r"%s: info: header In-Reply-To" % rqid, label + " no In-Reply-To")
                        if routes["references"]:
                            L.need("postfix", refs, label + " reply References INFO", count=1)
                        L.need("postfix", r"postfix/smtp\[\d+\]: %s: to=<%s>, relay=127\.0\.0\.1.*status=sent" % (
                            rqid, q(addr_of_env(rec))), label + " reply sent out", count=1)
                else:
                    L.never("postfix", r"message-id=%s" % q(rid), label + " reply from elsewhere is invisible")
                imap = r"imap\(%s\)<\d+><[^>]+>: Info: " % q(mb)
                acted = []
                if routes["sent_copy"]:
                    acted += L.need("dovecot", imap + r"save: box=Sent, uid=\d+, msgid=%s, size=\d+, from=%s, "
                                    r"flags=\(\\Seen\)$" % (q(rid), q(mb)), label + " reply saved to Sent", count=1)
                ans = imap + r"flag_change: box=INBOX, uid=\d+, msgid=%s, .*flags=\(\\Answered[^)]*\)$" % q(mid)
                if routes["answered_flag"]:
                    acted += L.need("dovecot", ans, label + " \\Answered flag_change", count=1)
                else:
                    L.never("dovecot", ans, label + " no \\Answered")
                # The IMAP session's Login line names the agent (auth_user, master-user login).
                who = maillab.AGENTS[rep["agent"]][0] if rep["agent"] else mb
                for a in acted:
                    sess = re.search(r"\)<\d+><([^>]+)>: ", a).group(1)
                    L.need("dovecot", r"imap-login: Info: Login: user=<%s>, auth_user=<%s>, method=PLAIN, "
                           r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, secured, session=<%s>$" % (
                               q(mb), q(who), q(sess)), label + " login line of the acting session", count=1)
            if box["seen_at"]:
                L.need("dovecot", r"imap\(%s\)<\d+><[^>]+>: Info: flag_change: box=INBOX, uid=\d+, msgid=%s, "
                       r".*flags=\(\\Seen( \\Recent)?\)$" % (q(mb), q(mid)), label + " read (\\Seen)")
            for mv in box["moves"]:
                L.need("dovecot", r"imap\(%s\)<\d+><[^>]+>: Info: copy from INBOX: box=%s, uid=\d+, msgid=%s, " % (
                    q(mb), q(mv["folder"]), q(mid)), label + " moved (copy)", count=1)
                L.need("dovecot", r"imap\(%s\)<\d+><[^>]+>: Info: expunge: box=INBOX, uid=\d+, msgid=%s, " % (
                    q(mb), q(mid)), label + " moved (expunge)", count=1)
            if box["closed"] and box["closed"]["how"] == "expunge":
                for ev in ("delete", "expunge"):
                    L.need("dovecot", r"imap\(%s\)<\d+><[^>]+>: Info: %s: box=INBOX, uid=\d+, msgid=%s, .*"
                           r"flags=\(.*\\Deleted.*\)$" % (q(mb), ev, q(mid)), "%s %s" % (label, ev), count=1)
        # Header INFO lines of the incoming message itself.
        for h, v in rec["headers"].items():
            if h in ("Auto-Submitted", "Precedence", "X-Autoreply", "In-Reply-To", "References"):
                # A folded header shows its line break as "?" (Postfix prints
                # non-printable characters so): "References:? <a> <b>".
                val = r"\??\s*".join(q(w) for w in v.split())
                L.need("postfix", r"%s: info: header %s:\??\s*%s from localhost\[127\.0\.0\.1\]; from=<%s> to=<%s> "
                       r"proto=ESMTP helo=<[^>]+>$" % (qid, q(h), val, q(rec["envelope_from"]), q(rec["rcpts"][0])),
                       "%s header %s INFO" % (label, h), count=1)

    # Rejections: the RCPT is refused before a queue id exists.
    L.need("postfix", r"postfix/smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 554 5\.7\.1 "
           r"<spammer@spam\.example>: Sender address rejected: .*; from=<spammer@spam\.example> to=<%s> "
           r"proto=ESMTP helo=<mx\.spam\.example>$" % q(C), "x1 rejected (sender policy)", count=1)
    L.need("postfix", r"postfix/smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 550 5\.1\.1 "
           r"<inconnu@%s>: Recipient address rejected: User unknown in virtual mailbox table; "
           r"from=<mallory@example\.org> to=<inconnu@%s>" % (q(maillab.DOMAIN), q(maillab.DOMAIN)),
           "x2 rejected (unknown recipient)", count=1)
    return L


def addr_of_env(rec):
    return rec["envelope_from"] or maillab.addr_of(rec["from"])


def check_truth(lab, ids):
    truth = lab.truth(now=time.time())
    lbl = {v: k for k, v in ids.items()}
    errs = []
    for mb, want in EXPECTED.items():
        t = truth[mb]
        for k, labels in want.items():
            got = sorted(lbl[m] for m in t[k + "_msgids"])
            if got != sorted(labels):
                errs.append("%s %s: want %s, got %s" % (mb, k, sorted(labels), got))
            if t[k] != len(labels):
                errs.append("%s %s count: want %d, got %d" % (mb, k, len(labels), t[k]))
        d = t["reply_delays_s"]
        if sorted(d) != sorted(ids[x] for x in want["replied"]) or any(v <= 0 for v in d.values()):
            errs.append("%s reply delays: %r" % (mb, d))
    # The 1.5-s pacing makes every reply delay distinct at 1-s resolution.
    delays = sorted(v for t in truth.values() for v in t["reply_delays_s"].values())
    if any(b - a < 1.0 for a, b in zip(delays, delays[1:])):
        errs.append("reply delays too close for 1-s log stamps: %r" % delays)
    return truth, errs


def main():
    try:
        maillab.ensure_packages()
    except maillab.Skip as e:
        print("SKIP: %s" % e)
        return 77
    capture = os.environ.get("MAILLAB_CAPTURE")
    timings = {}
    lab = maillab.Lab()
    try:
        t0 = time.time()
        try:
            lab.start()
        except maillab.Skip as e:
            print("SKIP: %s" % e)
            return 77
        timings["start"] = time.time() - t0
        t0 = time.time()
        ids = maillab.standard_scenario(lab)
        timings["scenario"] = time.time() - t0
        t0 = time.time()
        L = check_logs(lab, ids)
        truth, terrs = check_truth(lab, ids)
        timings["checks"] = time.time() - t0
        for mb, t in truth.items():
            log("%s: received %d, acknowledged %d, replied %d (delays %s), closed %d, backlog %d "
                "(oldest %.1fs), automatic %d, rejected %d" % (
                    mb, t["received"], t["acknowledged"], t["replied"],
                    sorted(t["reply_delays_s"].values()), t["closed"], t["backlog"],
                    t["oldest_unanswered_s"] or 0, t["automatic"], t["rejected"]))
        log("logs: postfix %d lines, dovecot %d lines" % (len(L.pf), len(L.dc)))
        # snapshot() works (the fixtures are made with it): into the lab's own directory.
        snap = lab.snapshot(os.path.join(lab.base, "snapshot"))
        with open(os.path.join(snap, "scenario.json"), encoding="utf-8") as f:
            sc = json.load(f)
        if sc["labels"] != ids or sc["truth"][C]["received"] != len(EXPECTED[C]["received"]):
            L.errors.append("scenario.json does not describe the scenario")
        if capture:
            dest = capture if capture not in ("1", "yes") else os.path.join(REPO, "tests", "fixtures", "mail-real")
            lab.snapshot(dest)
            log("captured logs and scenario.json into %s" % dest)
        errors = L.errors + terrs
        if errors:
            for e in errors:
                print("FAIL: " + e)
            print("--- postfix log:\n" + "\n".join(L.pf[-40:]))
            print("--- dovecot log:\n" + "\n".join(L.dc[-40:]))
            return 1
    except (LabError, OSError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
        return 1
    finally:
        t0 = time.time()
        base = lab.base
        try:
            lab.stop()
        except LabError as e:
            print("FAIL: stop: %s" % e)
            return 1
        timings["stop"] = time.time() - t0
        if base and not lab.keep and os.path.exists(base):
            print("FAIL: %s left behind" % base)
            return 1
    timings["total"] = time.time() - T_START
    log("timings: " + ", ".join("%s %.2fs" % kv for kv in timings.items()))
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
