#!/usr/bin/python3
"""selftest_mail.py - check simulate_mail.py, truth_mail.py and frcal.py on their own.

Traces are generated and re-read by an independent, strict reader of mail.log
(the four line formats; Postfix queue-ID lives from their first line to
`removed` or a reject, queue IDs reused only after that; qmgr nrcpt = recipients
delivered; delay= and delays= = differences of the logged times; INFO lines
consistent with the envelope and cut at 200 chars; Dovecot LMTP sessions =
Postfix's `250 ... SESSION Saved`, `:R2` for further recipients; mail_log field
order, 80-char msgid and 64-char box cuts, flag order, UIDs increasing per
folder; IMAP sessions opened by imap-login before use; timestamps in order).
From the log alone, following the definitions written at the top of
truth_mail.py, the reader rebuilds every row and it must equal truth_mail.csv
field by field. truth_mail.py's figures are checked against a naive
computation over the reader's rows, frcal against a minute-by-minute walk and
known dates, the traces against a list of features they must contain, the
seed for determinism, the four formats for identical truths, and --live
against the wall clock.

    /usr/bin/python3 tests/sim/selftest_mail.py [--keep] [--quick]
Exit status 0 when everything passes.
"""

import argparse
import calendar
import csv
import datetime as _dt
import filecmp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import frcal  # noqa: E402
import truth_mail  # noqa: E402

PY = "/usr/bin/python3"
SIM = os.path.join(HERE, "simulate_mail.py")
MONTHS = {m: i + 1 for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                          "Oct", "Nov", "Dec"))}

failures = []


def fail(msg):
    failures.append(msg)
    if len(failures) <= 60:
        print("FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


# ===================================================================== line grammar

RE_3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})([+-])(\d\d):(\d\d) (\S+) (.*)$")
RE_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)([+-])(\d\d)(\d\d) (\S+) (.*)$")
RE_3164 = re.compile(r"^([A-Z][a-z]{2}) ([ 123]\d) (\d\d):(\d\d):(\d\d) (\S+) (.*)$")
RE_FILE = re.compile(r"^([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d):(\d\d) (.*)$")
RE_PROG = re.compile(r"^(postfix(?:/submission)?/[a-z]+)\[(\d+)\]: (.*)$")
RE_QID = re.compile(r"^([0-9A-F]{10,12}): (.*)$")
RE_CLIENT = re.compile(r"^client=([^\[\s]+)\[([0-9.]+)\](?:, sasl_method=PLAIN, sasl_username=(\S+))?$")
RE_ACTIVE = re.compile(r"^from=<([^>]*)>, size=(\d+), nrcpt=(\d+) \(queue active\)$")
RE_INFO = re.compile(r"^info: header ([A-Za-z-]+): (.*) from ([^;]+); from=<([^>]*)> to=<([^>]*)>"
                     r"(?: proto=ESMTP helo=<([^>]*)>)?$")
RE_REJ_HDR = re.compile(r"^reject: header (.*) from ([^;]+); from=<([^>]*)> to=<([^>]*)> proto=ESMTP "
                        r"helo=<([^>]*)>: 5\.7\.1 Message content rejected$")
RE_DELIV = re.compile(r"^to=<([^>]+)>(?:, orig_to=<([^>]+)>)?, relay=(\S+?)(?:, conn_use=(\d+))?, "
                      r"delay=([0-9.]+), delays=([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+), "
                      r"dsn=(\d\.\d\.\d), status=(sent|deferred|bounced) \((.*)\)$")
RE_NOQ = re.compile(r"^NOQUEUE: reject: RCPT from ([^\[]+)\[([0-9.]+)\]: (\d{3} \d\.\d\.\d .*); from=<([^>]*)> "
                    r"to=<([^>]+)> proto=ESMTP helo=<([^>]*)>$")
RE_PICKUP = re.compile(r"^uid=(\d+) from=<([^>]*)>$")
RE_LMTP_OK = re.compile(r"^250 2\.0\.0 <([^>]+)> ([A-Za-z0-9+/]{22}(?::R\d+)?) Saved$")
RE_DV_PRE = re.compile(r"^(lmtp|imap)\(([^)]+)\)<(\d+)><([^>]+)>$")
RE_MAILLOG = re.compile(r"^(save|copy from (.+)|expunge|autoexpunge|delete|undelete|flag_change): "
                        r"box=(.*), uid=(\d+), msgid=(.*), size=(\d+), flags=\(([^)]*)\)$")
RE_SIEVE = re.compile(r"^sieve: msgid=(<[^>]*>|unspecified): (.*)$")
RE_DELIVER = re.compile(r"^msgid=(<[^>]*>|unspecified): (saved mail to (.+)|save failed to (\S+): (.*))$")
RE_LOGIN = re.compile(r"^Login: user=<([^>]+)>, method=PLAIN, rip=([0-9.]+), lip=[0-9.]+, mpid=(\d+), TLS, "
                      r"session=<([A-Za-z0-9+/]{16})>$")
FLAG_ORDER = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"]
SIEVE_NOTES = [("sent vacation response to <", None),
               ("discarded duplicate vacation response to <", "duplicate"),
               ("discarded vacation reply to <>", "null-sender"),
               ("discarded vacation reply to own address", "own-address"),
               ("discarding vacation response to mailinglist recipient <", "mailinglist"),
               ("discarding vacation response to auto-submitted message from <", "auto-submitted"),
               ("discarding vacation response to precedence=", "precedence"),
               ("not sending vacation response to system address <", "system-address"),
               ("discarding vacation response for message implicitly delivered to <", "implicit")]


def trunc(s, n):
    b = s.encode("utf-8")
    if len(b) <= n:
        return s
    b = b[:n - 3]
    while b and (b[-1] & 0xC0) == 0x80:
        b = b[:-1]
    if b and b[-1] >= 0xC0:
        b = b[:-1]
    return b.decode("utf-8") + "..."


def ids_in(v):
    """Message-IDs written whole in a logged header value."""
    return re.findall(r"<[^<>\s]+>", v)


def automatic(sender, headers):
    """Rule 1 of truth_mail.py, written again."""
    if sender == "":
        return "null-sender"
    if sender.split("@")[0].lower() == "mailer-daemon":
        return "mailer-daemon"
    first = {}
    for n, v in headers:
        first.setdefault(n.lower(), v)
    if "auto-submitted" in first:
        tok = re.split(r"[ \t;(]", first["auto-submitted"].strip().lower(), 1)[0]
        if tok != "no":
            return "auto-submitted"
    if "x-autoreply" in first:
        return "x-autoreply"
    if first.get("precedence", "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "precedence"
    return ""


class Life:
    def __init__(self, qid, origin, ts):
        self.qid = qid
        self.origin = origin
        self.start = ts
        self.arrival = ts
        self.msgid = None
        self.recv = None
        self.headers = []
        self.sender = None
        self.size = None
        self.nrcpt = None
        self.active = None
        self.sasl = None
        self.final = {}        # recipient -> status
        self.tried = set()
        self.credited = False
        self.info_to = None


class RRow:
    __slots__ = ("mailbox", "msgid", "qid", "sender", "received_at", "delivered_at", "automatic", "status", "ack_at",
                 "ack_note", "replied_at", "reply_route", "reply_by", "closed_at", "closed_how")


class Reader:
    """Independent strict reader of one mail.log (see the module docstring)."""

    def __init__(self, meta):
        self.meta = meta
        self.fmt = meta["format"]
        self.host = meta["hostname"]
        self.tz = ZoneInfo(meta["timezone"])
        self.domain = meta["domain"]
        self.mbs = {}          # address -> meta dict
        self.user_mb = {}      # dovecot user -> address
        self.alias = {}
        self.imap_map = []     # (user, prefix, address)
        self.subm = {}         # address -> submission users
        for mb in meta["mailboxes"]:
            a = mb["address"]
            self.mbs[a] = mb
            self.user_mb[mb["dovecot_user"]] = a
            for al in mb["aliases"]:
                self.alias[al] = a
            for e in mb["imap"]:
                self.imap_map.append((e["user"], e["prefix"], a))
            self.subm[a] = set(mb["submission_users"])
        self.closed = meta["mailboxes"][0]["closed_folders"] if meta["mailboxes"] else []
        self.sep = meta["separator"]
        self.lives = {}
        self.ended_qids = set()
        self.orphans = set()
        self.internal_pending = {}
        self.rows = {}
        self.rej_rows = []
        self.sessions = {}     # lmtp session -> dict
        self.lmtp_pending = {}  # (user, msgid) -> life
        self.imap_sessions = {}
        self.inst = {}         # (address, folder, uid) -> [trunc msgid, flags set]
        self.by_msg = {}       # (address, trunc msgid) -> {(address, folder, uid)}
        self.msgid_life = {}   # msgid -> active life
        self.uid_last = {}
        self.trunc_index = {}  # (address, trunc80) -> full msgid
        self.last_ts = None
        self.first_ts = None
        self.ln = 0
        self.year = None
        self.prev_month = None
        self.stats = {k: 0 for k in (
            "lines", "postfix", "dovecot", "lives", "qid_reused", "orphan_lines", "noqueue", "content_reject",
            "deferred_lmtp", "deferred_smtp", "bounced", "expired", "dsn", "orig_to", "conn_use", "rcpt_r2",
            "msgid_cut80", "refs_folded", "irt_phrase", "refs_only_reply", "thread_reply", "answered_only",
            "closed_archive", "closed_trash", "closed_junk", "closed_expunge", "work_moves", "undelete",
            "forwarded_kw", "vacation_sent", "vac_duplicate", "vac_implicit", "auto_no", "x_autoreply",
            "prec_auto_reply", "late_ack", "msgid_empty", "quota_fail", "imap_login", "warnings",
            "reply_agent_addr", "recent_flag", "multi_mailbox", "case_rcpt", "pre_trace_imap", "pre_trace_session",
            "partial_life")}
        self.features = {}

    # ------------------------------------------------------------------ time
    def epoch_local(self, y, mo, d, hh, mm, ss):
        """Epoch of a local wall time, choosing the fold that keeps time monotonic."""
        cands = []
        for fold in (0, 1):
            dt = _dt.datetime(y, mo, d, hh, mm, ss, tzinfo=self.tz, fold=fold)
            e = int(dt.timestamp())
            back = _dt.datetime.fromtimestamp(e, self.tz)
            if (back.year, back.month, back.day, back.hour, back.minute, back.second) == (y, mo, d, hh, mm, ss):
                cands.append(e)
        check(cands, "line %d: local time %s does not exist" % (self.ln, (y, mo, d, hh, mm, ss)))
        cands = sorted(set(cands))
        if self.last_ts is not None:
            for e in cands:
                if e * 1000000 >= self.last_ts - 999999:
                    return e
        return cands[0]

    def stamp(self, line):
        """-> (ts_us, rest after the host) or None."""
        f = self.fmt
        if f == "rfc3339":
            m = RE_3339.match(line)
            if not m:
                return None
            g = m.groups()
            off = (int(g[8]) * 3600 + int(g[9]) * 60) * (1 if g[7] == "+" else -1)
            e = calendar.timegm((int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]))) - off
            real = _dt.datetime.fromtimestamp(e, self.tz).utcoffset().total_seconds()
            check(real == off, "line %d: offset %d is not Paris's %d" % (self.ln, off, real))
            check(g[10] == self.host, "line %d: host %s" % (self.ln, g[10]))
            return e * 1000000 + int(g[6]), g[11]
        if f == "short-iso":
            m = RE_ISO.match(line)
            if not m:
                return None
            g = m.groups()
            off = (int(g[7]) * 3600 + int(g[8]) * 60) * (1 if g[6] == "+" else -1)
            e = calendar.timegm((int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]))) - off
            check(g[9] == self.host, "line %d: host" % self.ln)
            return e * 1000000, g[10]
        m = (RE_3164 if f == "rfc3164" else RE_FILE).match(line)
        if not m:
            return None
        g = m.groups()
        mo = MONTHS.get(g[0])
        if not check(mo is not None, "line %d: month %r" % (self.ln, g[0])):
            return None
        if f == "rfc3164":
            check(g[1] == "%2d" % int(g[1]), "line %d: day not space-padded" % self.ln)
        if self.year is None:
            self.year = _dt.datetime.fromtimestamp(self.meta["start"], self.tz).year
            self.prev_month = mo
        if mo < self.prev_month:
            self.year += 1
        self.prev_month = mo
        e = self.epoch_local(self.year, mo, int(g[1]), int(g[2]), int(g[3]), int(g[4]))
        rest = g[5]
        if f == "rfc3164":
            check(rest == self.host, "line %d: host" % self.ln)
            rest = g[6]
            return e * 1000000, rest
        return e * 1000000, rest

    # ------------------------------------------------------------------ feed
    def feed(self, line):
        self.ln += 1
        self.stats["lines"] += 1
        st = self.stamp(line)
        if not check(st is not None, "line %d: bad time stamp: %r" % (self.ln, line[:120])):
            return
        ts, rest = st
        check(self.last_ts is None or ts >= self.last_ts, "line %d: time goes back" % self.ln)
        self.last_ts = ts
        if self.first_ts is None:
            self.first_ts = ts
        if self.fmt == "maillog_file":
            if rest.startswith(self.host + " postfix"):
                rest = rest[len(self.host) + 1:]
            else:
                m = re.match(r"^(\S+): (Info|Warning): (.*)$", rest)
                if not check(m is not None, "line %d: not a Dovecot file line: %r" % (self.ln, rest[:100])):
                    return
                self.dovecot(ts, m.group(1), m.group(3), m.group(2) == "Warning")
                return
        elif rest.startswith("dovecot: "):
            body = rest[9:]
            i = body.find(": ")
            if not check(i > 0, "line %d: dovecot line without prefix" % self.ln):
                return
            pre, text = body[:i], body[i + 2:]
            warn = text.startswith("Warning: ")
            if warn:
                text = text[9:]
            self.dovecot(ts, pre, text, warn)
            return
        m = RE_PROG.match(rest)
        if not check(m is not None, "line %d: unknown program: %r" % (self.ln, rest[:100])):
            return
        self.postfix(ts, m.group(1).split("/")[-1], m.group(1), int(m.group(2)), m.group(3))

    # ------------------------------------------------------------------ Postfix
    def life_of(self, qid, what, ts):
        lf = self.lives.get(qid)
        if lf is None:
            # a life that started before the first line of the log
            check(qid not in self.ended_qids or what in (), "line %d: %s for ended queue ID %s" % (
                self.ln, what, qid))
            self.orphans.add(qid)
            self.stats["orphan_lines"] += 1
        return lf

    def start_life(self, qid, origin, ts):
        check(qid not in self.lives, "line %d: queue ID %s started while active" % (self.ln, qid))
        if qid in self.ended_qids:
            self.stats["qid_reused"] += 1
        if qid in self.orphans:
            fail("line %d: queue ID %s of an unfinished older life starts again" % (self.ln, qid))
        lf = Life(qid, origin, ts)
        self.lives[qid] = lf
        self.stats["lives"] += 1
        return lf

    def end_life(self, lf, ts):
        del self.lives[lf.qid]
        if lf.msgid is not None and self.msgid_life.get(lf.msgid) is lf:
            del self.msgid_life[lf.msgid]
        self.ended_qids.add(lf.qid)

    def postfix(self, ts, daemon, prog, pid, text):
        self.stats["postfix"] += 1
        if text.startswith("warning: "):
            self.stats["warnings"] += 1
            return
        if daemon == "smtpd":
            if text.startswith(("connect from ", "disconnect from ", "lost connection after ",
                                "Anonymous TLS connection established from ")):
                return
            m = RE_NOQ.match(text)
            if m:
                self.stats["noqueue"] += 1
                to = m.group(5).lower()
                mb = self.mailbox_of(to)
                if mb:
                    self.rej_rows.append((mb, ts // 1000000, m.group(4)))
                return
            m = RE_QID.match(text)
            if not check(m is not None, "line %d: smtpd: %r" % (self.ln, text[:100])):
                return
            qid, rest = m.groups()
            mc = RE_CLIENT.match(rest)
            if not check(mc is not None, "line %d: smtpd client=: %r" % (self.ln, rest)):
                return
            lf = self.start_life(qid, "submission" if "submission" in prog else "smtpd", ts)
            lf.sasl = mc.group(3)
            check((lf.sasl is not None) == ("submission" in prog), "line %d: SASL on the wrong port" % self.ln)
            return
        if daemon == "anvil":
            check(text.startswith("statistics: "), "line %d: anvil" % self.ln)
            return
        m = RE_QID.match(text)
        if not check(m is not None, "line %d: %s without queue ID: %r" % (self.ln, prog, text[:100])):
            return
        qid, rest = m.groups()
        if daemon == "pickup":
            mp = RE_PICKUP.match(rest)
            if check(mp is not None, "line %d: pickup: %r" % (self.ln, rest)):
                lf = self.start_life(qid, "pickup", ts)
                lf.sender = mp.group(2)
            return
        if daemon == "cleanup":
            if qid not in self.lives and qid not in self.ended_qids and ts - self.first_ts <= 60 * 1000000 \
                    and not re.match(r"^message-id=<\d{14}\.%s@" % qid, rest):
                # the log starts in the middle of this message's cleanup lines
                self.start_life(qid, "partial", ts)
                self.stats["partial_life"] += 1
            if rest.startswith("message-id="):
                lf = self.lives.get(qid)
                if lf is None:
                    # a bounce notification starts with its message-id (the bounce line follows)
                    lf = self.start_life(qid, "internal", ts)
                    self.internal_pending[qid] = ts
                    check(re.match(r"^message-id=<\d{14}\.%s@%s>$" % (qid, re.escape(self.meta["myhostname"])),
                                   rest) is not None, "line %d: internal message-id %r" % (self.ln, rest))
                check(lf.msgid is None, "line %d: second message-id for %s" % (self.ln, qid))
                v = rest[len("message-id="):]
                check(v == "<>" or re.match(r"^<[^<>\s]+>$", v) is not None, "line %d: message-id %r" % (self.ln, v))
                lf.msgid = "" if v == "<>" else v
                self.msgid_life[lf.msgid] = lf
                if v == "<>":
                    self.stats["msgid_empty"] += 1
                lf.recv = ts // 1000000
                return
            lf = self.lives.get(qid)
            if not check(lf is not None, "line %d: cleanup line for inactive %s" % (self.ln, qid)):
                return
            mi = RE_INFO.match(rest)
            if mi:
                name, value, origin, frm, to, helo = mi.groups()
                check(len("%s: %s" % (name, value)) <= 200, "line %d: header longer than 200" % self.ln)
                check("\n" not in value and "\t" not in value, "line %d: control char" % self.ln)
                check(origin == "local" or lf.origin != "pickup", "line %d: INFO origin" % self.ln)
                check((origin == "local") == (helo is None), "line %d: proto/helo" % self.ln)
                if lf.sender is not None and lf.origin == "pickup":
                    check(frm == lf.sender, "line %d: INFO from= differs from pickup's" % self.ln)
                lf.sender = frm if lf.sender is None else lf.sender
                check(frm == lf.sender, "line %d: INFO from=" % self.ln)
                check(lf.info_to is None or lf.info_to == to, "line %d: INFO to= changes" % self.ln)
                lf.info_to = to
                check(lf.active is None, "line %d: header after queue active" % self.ln)
                lf.headers.append((name, value))
                if name == "References" and "?" in value:
                    self.stats["refs_folded"] += 1
                if name == "In-Reply-To" and "(" in value:
                    self.stats["irt_phrase"] += 1
                if name == "Auto-Submitted" and value == "no":
                    self.stats["auto_no"] += 1
                if name == "X-Autoreply":
                    self.stats["x_autoreply"] += 1
                if name == "Precedence" and value == "auto_reply":
                    self.stats["prec_auto_reply"] += 1
                return
            mr = RE_REJ_HDR.match(rest)
            if check(mr is not None, "line %d: cleanup: %r" % (self.ln, rest[:120])):
                self.stats["content_reject"] += 1
                mb = self.mailbox_of(mr.group(4).lower())
                if mb and lf.msgid:
                    self.add_rej_msgid(mb, lf, ts, mr.group(3))
                self.end_life(lf, ts)
            return
        if daemon == "bounce":
            mb_ = re.match(r"^sender non-delivery notification: ([0-9A-F]{10,12})$", rest)
            if check(mb_ is not None, "line %d: bounce: %r" % (self.ln, rest)):
                n = mb_.group(1)
                check(n in self.internal_pending, "line %d: notification %s not announced" % (self.ln, n))
                self.internal_pending.pop(n, None)
                self.stats["dsn"] += 1
            return
        if daemon == "qmgr":
            lf = self.life_of(qid, "qmgr", ts)
            if rest == "removed":
                if lf is not None:
                    check(lf.nrcpt is not None and len(lf.final) == lf.nrcpt,
                          "line %d: %s removed with %s/%s final recipients" % (
                              self.ln, qid, len(lf.final), lf.nrcpt))
                    self.end_life(lf, ts)
                else:
                    self.ended_qids.add(qid)
                    self.orphans.discard(qid)
                return
            me = re.match(r"^from=<([^>]*)>, status=expired, returned to sender$", rest)
            if me:
                self.stats["expired"] += 1
                if lf is not None:
                    for r in lf.tried:
                        if not r.startswith("@mb:"):
                            lf.final.setdefault(r, "bounced")
                return
            ma = RE_ACTIVE.match(rest)
            if not check(ma is not None, "line %d: qmgr: %r" % (self.ln, rest)):
                return
            if lf is None:
                return
            s, size, n = ma.group(1), int(ma.group(2)), int(ma.group(3))
            if lf.sender is not None:
                check(s == lf.sender, "line %d: qmgr from= differs" % self.ln)
            lf.sender = s
            if lf.size is not None:
                check(size == lf.size and n == lf.nrcpt, "line %d: size/nrcpt changed on retry" % self.ln)
            lf.size, lf.nrcpt = size, n
            first = lf.active is None
            lf.active = ts
            check(lf.msgid is not None or lf.origin == "orphan", "line %d: queue active before message-id"
                  % self.ln)
            if first:
                self.credit_reply(lf)
            return
        if daemon in ("lmtp", "smtp"):
            md = RE_DELIV.match(rest)
            if not check(md is not None, "line %d: %s: %r" % (self.ln, daemon, rest[:160])):
                return
            lf = self.life_of(qid, daemon, ts)
            to, orig, relay, cu, delay, a, b, c, d, dsn, status, resp = md.groups()
            if cu:
                self.stats["conn_use"] += 1
            if orig:
                self.stats["orig_to"] += 1
            if lf is None:
                return
            check(lf.active is not None, "line %d: delivery before queue active" % self.ln)
            actual = (ts - lf.arrival) / 1e6
            dv = float(delay)
            tol = 0.0061 if actual < 1 else (0.051 if actual < 10 else 0.51)
            if self.fmt != "rfc3339":
                tol += 1.0          # whole-second time stamps
            check(abs(dv - actual) <= tol + 1e-9, "line %d: delay=%s but %.6f s since arrival" % (
                self.ln, delay, actual))
            parts = sum(float(x) for x in (a, b, c, d))
            check(abs(parts - dv) <= 4 * tol + 0.02 + (2 if dv >= 10 else 0), "line %d: delays sum %.3f != %s"
                  % (self.ln, parts, delay))
            check(to not in lf.final, "line %d: %s delivered twice" % (self.ln, to))
            lf.tried.add(to)
            local = to.lower().endswith("@" + self.domain)
            check(local == (daemon == "lmtp"), "line %d: transport" % self.ln)
            if status == "deferred":
                self.stats["deferred_lmtp" if local else "deferred_smtp"] += 1
            else:
                lf.final[to] = status
                if status == "bounced":
                    self.stats["bounced"] += 1
            if local:
                mb = self.mailbox_of(to.lower())
                if status == "sent":
                    mo = RE_LMTP_OK.match(resp)
                    if check(mo is not None, "line %d: LMTP 250 text %r" % (self.ln, resp)):
                        check(mo.group(1) == to, "line %d: 250 for another recipient" % self.ln)
                        s = self.sessions.get(mo.group(2))
                        if check(s is not None, "line %d: LMTP session %s unknown to Dovecot" % (
                                self.ln, mo.group(2))):
                            check(s["user"] == to.lower() and s["msgid"] == (lf.msgid or "unspecified")
                                  and s["saved"], "line %d: session %s is another delivery" % (self.ln, mo.group(2)))
                        if ":R" in mo.group(2):
                            self.stats["rcpt_r2"] += 1
                if to != to.lower():
                    self.stats["case_rcpt"] += 1
                if mb:
                    row = self.ensure_row(lf, mb)
                    if row is not None:
                        self.set_status(row, {"sent": "delivered"}.get(status, status))
            return
        fail("line %d: unexpected Postfix program %s" % (self.ln, prog))

    def mailbox_of(self, addr):
        addr = addr.lower()
        if addr in self.mbs:
            return addr
        return self.alias.get(addr)

    def add_rej_msgid(self, mb, lf, ts, sender):
        r = RRow()
        r.mailbox, r.msgid, r.qid, r.sender = mb, lf.msgid, lf.qid, sender
        r.received_at = ts // 1000000
        r.delivered_at = None
        r.automatic, r.status = "", "rejected"
        r.ack_at = r.replied_at = r.closed_at = None
        r.ack_note = r.reply_route = r.reply_by = r.closed_how = ""
        self.rows[(mb, lf.msgid)] = r

    def ensure_row(self, lf, mb):
        if lf.msgid is None or lf.recv is None:
            return None
        key = (mb, lf.msgid)
        r = self.rows.get(key)
        if r is None:
            r = RRow()
            r.mailbox, r.msgid, r.qid = mb, lf.msgid, lf.qid
            r.sender = lf.sender if lf.sender is not None else ""
            r.received_at = lf.recv
            r.delivered_at = None
            r.automatic = automatic(r.sender, lf.headers)
            r.status = "deferred"
            r.ack_at = r.replied_at = r.closed_at = None
            r.ack_note = r.reply_route = r.reply_by = r.closed_how = ""
            self.rows[key] = r
            self.trunc_index[(mb, trunc(lf.msgid, 80))] = lf.msgid
            lf.tried.add("@mb:" + mb)
            if sum(1 for x in lf.tried if x.startswith("@mb:")) == 2:
                self.stats["multi_mailbox"] += 1
        return r

    @staticmethod
    def set_status(r, st):
        if r.status == "delivered":
            return
        if st != "deferred" or r.status == "deferred":
            r.status = st

    def credit_reply(self, lf):
        """Rule 3 (thread) at the first 'queue active' line of a life."""
        if lf.msgid is None or lf.recv is None:
            return
        if automatic(lf.sender or "", lf.headers):
            return
        irt = [x for n, v in lf.headers if n == "In-Reply-To" for x in ids_in(v)]
        refs = [x for n, v in lf.headers if n == "References" for x in ids_in(v)]
        if not irt and not refs:
            return
        cands = irt + refs[::-1]
        for mb in self.mbs:
            if not ((lf.sender or "").lower() == mb or (lf.sasl is not None and lf.sasl in self.subm[mb])):
                continue
            for m in cands:
                r = self.rows.get((mb, m))
                if r is not None and r.status in ("delivered", "deferred"):
                    if r.replied_at is None:
                        r.replied_at = lf.recv
                        r.reply_route = "thread"
                        r.reply_by = lf.sasl or ""
                        self.stats["thread_reply"] += 1
                        if "In-Reply-To" not in [n for n, _ in lf.headers]:
                            self.stats["refs_only_reply"] += 1
                        if lf.sender.lower() != mb:
                            self.stats["reply_agent_addr"] += 1
                    break

    # ------------------------------------------------------------------ Dovecot
    def dovecot(self, ts, pre, text, warn):
        self.stats["dovecot"] += 1
        if warn:
            self.stats["warnings"] += 1
            check(pre == "master", "line %d: warning from %s" % (self.ln, pre))
            return
        if pre == "master":
            check(text.startswith("Dovecot v2.3.19.1 "), "line %d: master: %r" % (self.ln, text))
            return
        if pre == "imap-login":
            m = RE_LOGIN.match(text)
            if m:
                self.stats["imap_login"] += 1
                self.imap_sessions[(m.group(1), int(m.group(3)), m.group(4))] = True
                return
            check(text.startswith("Disconnected: "), "line %d: imap-login: %r" % (self.ln, text[:80]))
            return
        m = re.match(r"^lmtp\((\d+)\)$", pre)
        if m:
            check(text in ("Connect from local",
                           "Disconnect from local: Client has quit the connection (state=READY)"),
                  "line %d: lmtp: %r" % (self.ln, text))
            return
        m = RE_DV_PRE.match(pre)
        if not check(m is not None, "line %d: Dovecot prefix %r" % (self.ln, pre)):
            return
        proto, user, pid, sess = m.groups()
        if proto == "imap":
            k = (user, int(pid), sess)
            if k not in self.imap_sessions:
                # sessions opened before the first line are possible during the first hours only
                check(ts - self.first_ts <= 14 * 3600 * 1000000, "line %d: IMAP session %s not logged in" % (
                    self.ln, sess))
                self.imap_sessions[k] = True
                self.stats["pre_trace_session"] += 1
            if text.startswith(("Logged out ", "Disconnected: ")):
                self.imap_sessions.pop((user, int(pid), sess), None)
                return
            self.maillog(ts, user, text, imap=True)
            return
        # LMTP delivery session
        check(re.match(r"^[A-Za-z0-9+/]{22}(:R\d+)?$", sess) is not None, "line %d: session id %r" % (self.ln, sess))
        s = self.sessions.get(sess)
        if s is None:
            s = self.sessions[sess] = {"user": user, "msgid": None, "saved": False, "uid": None}
        check(s["user"] == user, "line %d: session user changes" % self.ln)
        ms = RE_SIEVE.match(text)
        md = RE_DELIVER.match(text)
        if ms or md:
            mid = (ms or md).group(1)
            check(s["msgid"] in (None, mid), "line %d: msgid changes in a session" % self.ln)
            s["msgid"] = mid
            check(len(mid) <= 200, "line %d: msgid longer than 200" % self.ln)
            mb = self.user_mb.get(user)
            lf = self.life_for_session(user, mid)
            row = self.ensure_row(lf, mb) if (mb and lf is not None) else None
            if ms:
                t = ms.group(2)
                if t.startswith("stored mail into mailbox 'INBOX'"):
                    s["saved"] = True
                    check(s["uid"] is not None, "line %d: stored without save line" % self.ln)
                    if row is not None:
                        self.set_status(row, "delivered")
                        if row.delivered_at is None:
                            row.delivered_at = ts // 1000000
                    return
                if t.startswith("failed to store into mailbox"):
                    self.stats["quota_fail"] += 1
                    if row is not None:
                        self.set_status(row, "bounced")
                    return
                for p, note in SIEVE_NOTES:
                    if t.startswith(p):
                        if note is None:
                            self.stats["vacation_sent"] += 1
                            if row is not None and row.ack_at is None:
                                row.ack_at = ts // 1000000
                                row.ack_note = ""
                                if row.ack_at - row.received_at > 900:
                                    self.stats["late_ack"] += 1
                        else:
                            if note == "duplicate":
                                self.stats["vac_duplicate"] += 1
                            if note == "implicit":
                                self.stats["vac_implicit"] += 1
                            if row is not None and row.ack_at is None and not row.ack_note:
                                row.ack_note = note
                        return
                fail("line %d: sieve: %r" % (self.ln, t[:80]))
                return
            if md.group(3) is not None:
                check(md.group(3) == "INBOX", "line %d: delivered to %s" % (self.ln, md.group(3)))
                s["saved"] = True
                check(s["uid"] is not None, "line %d: saved without save line" % self.ln)
                if row is not None:
                    self.set_status(row, "delivered")
                    if row.delivered_at is None:
                        row.delivered_at = ts // 1000000
            else:
                self.stats["quota_fail"] += 1
                if row is not None:
                    self.set_status(row, "bounced")
            return
        self.maillog(ts, user, text, imap=False, session=s)

    def life_for_session(self, user, mid):
        """The active queue-ID life whose message-id is mid and that has not delivered to user yet."""
        return self.msgid_life.get("" if mid == "unspecified" else mid)

    def where(self, user, box, imap):
        """(address or None, folder, physical key)."""
        if not imap:
            a = self.user_mb.get(user)
            return a, box, (a or user, box)
        for u, prefix, a in self.imap_map:
            if u == user and box.startswith(prefix) and (prefix or u == a):
                return a, box[len(prefix):], (a, box[len(prefix):])
        return None, box, (user, box)

    def is_closed(self, folder):
        return any(folder == c or folder.startswith(c + self.sep) for c in self.closed)

    def maillog(self, ts, user, text, imap, session=None):
        m = RE_MAILLOG.match(text)
        if not check(m is not None, "line %d: mail_log: %r" % (self.ln, text[:120])):
            return
        ev, src, box, uid, mid, size, flags = m.groups()
        uid = int(uid)
        check(len(box.encode()) <= 64, "line %d: box longer than 64" % self.ln)
        check(len(mid.encode()) <= 80, "line %d: msgid longer than 80" % self.ln)
        if mid.endswith("..."):
            check(len(mid.encode()) == 80, "line %d: cut msgid of %d bytes" % (self.ln, len(mid.encode())))
            self.stats["msgid_cut80"] += 1
        else:
            check(mid == "" or (mid.startswith("<") and mid.endswith(">")), "line %d: msgid %r" % (self.ln, mid))
        fl = flags.split() if flags else []
        sysf = [f for f in fl if f.startswith("\\")]
        kws = [f for f in fl if not f.startswith("\\")]
        check(fl == sysf + kws, "line %d: keywords before system flags" % self.ln)
        check(sysf == [f for f in FLAG_ORDER if f in sysf] and all(f in FLAG_ORDER for f in sysf),
              "line %d: flag order %r" % (self.ln, flags))
        if "\\Recent" in sysf:
            self.stats["recent_flag"] += 1
        a, folder, phys = self.where(user, box, imap)
        if ev.startswith("copy from"):
            ev = "copy"
        if ev in ("save", "copy"):
            last = self.uid_last.get(phys)
            check(last is None or uid > last, "line %d: uid %d not above %s in %s" % (self.ln, uid, last, phys))
            self.uid_last[phys] = uid
        if not imap:
            check(ev == "save" and box == "INBOX" and flags == "", "line %d: LMTP mail_log %r" % (self.ln, text[:60]))
            session["uid"] = uid
        if a is None:
            return
        key = (a, folder, uid)
        fs = set(fl) - {"\\Recent"}      # \Recent belongs to a session, not to the message
        if ev in ("save", "copy"):
            self.inst[key] = [mid, fs]
            self.by_msg.setdefault((a, mid), set()).add(key)
            if ev == "copy" and not self.is_closed(folder) and folder != "INBOX":
                self.stats["work_moves"] += 1
            return
        cur = self.inst.get(key)
        if cur is None:
            self.stats["pre_trace_imap"] += 1
            return          # a message from before the log
        check(cur[0] == mid, "line %d: msgid of %s changed" % (self.ln, key))
        prev = cur[1]
        if ev == "flag_change":
            check(("\\Deleted" in fs) == ("\\Deleted" in prev), "line %d: flag_change of \\Deleted" % self.ln)
            if "$Forwarded" in fs and "$Forwarded" not in prev:
                self.stats["forwarded_kw"] += 1
            if "\\Answered" in fs and "\\Answered" not in prev:
                full = self.trunc_index.get((a, mid))
                r = self.rows.get((a, full)) if full else None
                if r is not None and r.replied_at is None:
                    r.replied_at = ts // 1000000
                    r.reply_route = "answered"
                    r.reply_by = user
                    self.stats["answered_only"] += 1
            cur[1] = fs
            return
        if ev == "delete":
            check("\\Deleted" in fs and "\\Deleted" not in prev, "line %d: delete" % self.ln)
            cur[1] = fs
            return
        if ev == "undelete":
            check("\\Deleted" not in fs and "\\Deleted" in prev, "line %d: undelete" % self.ln)
            self.stats["undelete"] += 1
            cur[1] = fs
            return
        # expunge
        check(fs == prev, "line %d: flags changed at expunge" % self.ln)
        del self.inst[key]
        keys = self.by_msg.get((a, mid), set())
        keys.discard(key)
        left = sorted(keys)
        if any(not self.is_closed(k[1]) for k in left):
            return
        full = self.trunc_index.get((a, mid))
        r = self.rows.get((a, full)) if full else None
        if r is not None and r.closed_at is None:
            r.closed_at = ts // 1000000
            if left:
                top = left[0][1].split(self.sep)[0]
                r.closed_how = {"Trash": "trash", "Junk": "junk"}.get(top, "archive")
            else:
                r.closed_how = "expunge"
            self.stats["closed_" + r.closed_how] += 1

    def finish(self):
        check(not self.internal_pending or all(
            t >= self.last_ts - 2000000 for t in self.internal_pending.values()),
            "bounce notifications never announced: %s" % list(self.internal_pending)[:3])


def read_log(path, meta):
    r = Reader(meta)
    with open(path, "rb") as f:
        raw = f.read()
    check(raw == b"" or raw.endswith(b"\n"), "log does not end with a newline")
    check(b"\x00" not in raw, "NUL byte in the log")
    text = raw.decode("utf-8")
    # the inst index is scanned per expunge: keep it keyed for speed
    for line in text.split("\n")[:-1]:
        r.feed(line)
    r.finish()
    return r


# ===================================================================== comparisons


def load_truth(d):
    with open(os.path.join(d, "truth_mail.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def compare(d, rd, name):
    truth = load_truth(d)
    tr = {}
    trej = []
    for t in truth:
        if t["msgid"] == "" and t["status"] == "rejected":
            trej.append((t["mailbox"], int(t["received_at"]), t["sender"]))
        else:
            k = (t["mailbox"], t["msgid"])
            check(k not in tr, "%s: truth key %s twice" % (name, k))
            tr[k] = t
    check(sorted(trej) == sorted(rd.rej_rows), "%s: NOQUEUE rows differ (%d truth, %d log)" % (
        name, len(trej), len(rd.rej_rows)))
    only_t = [k for k in tr if k not in rd.rows]
    only_l = [k for k in rd.rows if k not in tr]
    check(not only_t, "%s: %d truth rows not in the log, e.g. %s" % (name, len(only_t), only_t[:2]))
    check(not only_l, "%s: %d log rows not in the truth, e.g. %s" % (name, len(only_l), only_l[:2]))
    nbad = 0
    fields = ("qid", "sender", "received_at", "delivered_at", "automatic", "status", "ack_at", "ack_note", "replied_at",
              "reply_route", "reply_by", "closed_at", "closed_how")
    for k, t in tr.items():
        r = rd.rows.get(k)
        if r is None:
            continue
        for fld in fields:
            v = getattr(r, fld)
            v = "" if v is None else str(v)
            if v != t[fld]:
                nbad += 1
                if nbad <= 8:
                    fail("%s: %s %s: truth %r, log %r (kind %s)" % (name, k, fld, t[fld], v, t["kind"]))
    check(nbad == 0, "%s: %d field differences" % (name, nbad))
    return truth


def naive_figures(rows, frm, to, cal, ack_window=900, target=57600, rt=lambda r: r.received_at):
    """Straight from the definitions, for one mailbox's rows (RRow objects from the reader);
    rt gives a row's receipt instant (received_at, or delivered_at for the alternative)."""
    rec = [r for r in rows if r.status in ("delivered", "deferred") and r.automatic == "" and rt(r) is not None]
    f = {}
    inp = [r for r in rec if frm <= rt(r) < to]
    f["received"] = len(inp)
    f["acknowledged"] = sum(1 for r in inp if r.ack_at is not None and r.ack_at - rt(r) <= ack_window)
    f["ack_rate"] = f["acknowledged"] / len(inp) if inp else None
    rep = [r for r in rec if r.replied_at is not None and frm <= r.replied_at < to]
    f["replied"] = len(rep)
    d = sorted(r.replied_at - rt(r) for r in rep)
    b = sorted(cal.business_seconds(rt(r), r.replied_at) for r in rep)
    import math
    for nm, vals in (("reply_delay", d), ("reply_delay_business", b)):
        n = len(vals)
        f[nm + "_avg_s"] = sum(vals) / n if n else None
        f[nm + "_p50_s"] = vals[math.ceil(n * 50 / 100) - 1] if n else None
        f[nm + "_p90_s"] = vals[math.ceil(n * 90 / 100) - 1] if n else None
        f[nm + "_max_s"] = max(vals) if n else None
    f["within_target"] = sum(1 for x in b if x <= target)
    f["replied_within_target"] = f["within_target"] / len(rep) if rep else None
    f["closed"] = sum(1 for r in rec if r.closed_at is not None and frm <= r.closed_at < to
                      and (r.replied_at is None or r.closed_at < r.replied_at))
    return f


def naive_backlog(rows, at, cal):
    bl = [r for r in rows if r.status in ("delivered", "deferred") and r.automatic == "" and r.received_at < at
          and not (r.replied_at is not None and r.replied_at < at)
          and not (r.closed_at is not None and r.closed_at < at)]
    if not bl:
        return 0, 0, 0
    o = min(r.received_at for r in bl)
    return len(bl), at - o, cal.business_seconds(o, at)


def check_figures(d, rd, rnd, name):
    t = truth_mail.MailTruth.load(d)
    meta = t.meta
    cal = frcal.Calendar()
    by_mb = {}
    for r in rd.rows.values():
        by_mb.setdefault(r.mailbox, []).append(r)
    s, e = meta["start"], meta["end"]
    windows = [(s, e + 1)]
    for _ in range(6):
        a = rnd.randrange(s, e)
        windows.append((a, a + rnd.choice([900, 3600, 86400, 7 * 86400])))
    for frm, to in windows:
        figs = t.figures(frm, to)
        for mb, rows in by_mb.items():
            want = naive_figures(rows, frm, to, cal)
            got = figs.get((meta["site"], mb))
            if not check(got is not None, "%s: no figures for %s" % (name, mb)):
                continue
            for k, v in want.items():
                g = got[k]
                ok = (g == v) if not isinstance(v, float) else (g is not None and abs(g - v) < 1e-9)
                check(ok, "%s: %s [%d,%d) %s: truth_mail %r, naive %r" % (name, mb, frm, to, k, g, v))
    for at in (e, s + (e - s) // 3, s + 2 * (e - s) // 3):
        g = t.gauges(at)
        for mb, rows in by_mb.items():
            n, o, ob = naive_backlog(rows, at, cal)
            x = g[(meta["site"], mb)]
            check((x["backlog"], x["oldest_unanswered_s"], x["oldest_unanswered_business_s"]) == (n, o, ob),
                  "%s: gauges %s at %d: %r != %r" % (name, mb, at, x, (n, o, ob)))
    # the alternative receipt instant (Dovecot's delivery line)
    td = truth_mail.MailTruth.load(d, received_time="delivered")
    for frm, to in windows[:3]:
        figs = td.figures(frm, to)
        for mb, rows in by_mb.items():
            want = naive_figures(rows, frm, to, cal, rt=lambda r: r.delivered_at)
            got = figs[(meta["site"], mb)]
            for k, v in want.items():
                g = got[k]
                ok = (g == v) if not isinstance(v, float) else (g is not None and abs(g - v) < 1e-9)
                check(ok, "%s: delivered mode %s %s: truth_mail %r, naive %r" % (name, mb, k, g, v))
    # hourly buckets add up to the total
    tot = t.figures(s, e + 1)
    hours = t.by_period("hour")
    for key, f in tot.items():
        for k in ("received", "replied", "acknowledged", "closed"):
            sm = sum(v[k] for (si, mb, p), v in hours.items() if (si, mb) == key)
            check(sm == f[k], "%s: hourly %s of %s sum %d != %d" % (name, k, key[1], sm, f[k]))
    return t


# ===================================================================== frcal


def check_frcal(rnd):
    cal = frcal.Calendar()
    known = {2024: ["2024-04-01", "2024-05-09", "2024-05-20"], 2025: ["2025-04-21", "2025-05-29", "2025-06-09"],
             2026: ["2026-04-06", "2026-05-14", "2026-05-25"], 2027: ["2027-03-29", "2027-05-06", "2027-05-17"]}
    for y, ds in known.items():
        h = frcal.french_holidays(y)
        check(len(h) == 11, "frcal: %d holidays in %d" % (len(h), y))
        for x in ds:
            check(_dt.date.fromisoformat(x) in h, "frcal: %s is not a holiday" % x)
        for md in ("01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25"):
            check(_dt.date.fromisoformat("%d-%s" % (y, md)) in h, "frcal: %d-%s" % (y, md))
    am = frcal.french_holidays(2026, alsace_moselle=True)
    check(_dt.date(2026, 4, 3) in am and _dt.date(2026, 12, 26) in am, "frcal: Alsace-Moselle days")
    tz = ZoneInfo("Europe/Paris")

    def ep(s):
        return int(_dt.datetime.fromisoformat(s).replace(tzinfo=tz).timestamp())
    # hand-made cases
    cases = [
        ("2026-05-13T16:00", "2026-05-18T10:00", 10 * 3600),       # Ascension Thursday, weekend
        ("2026-03-27T16:30", "2026-03-30T09:30", 3600),            # DST spring weekend
        ("2026-10-23T16:59:59", "2026-10-26T09:00:01", 2),         # DST autumn weekend
        ("2026-11-10T18:00", "2026-11-12T08:00", 0),               # 11 November
        ("2026-12-24T08:00", "2026-12-24T12:00", 3 * 3600),
        ("2026-07-13T12:00", "2026-07-15T12:00", 5 * 3600 + 3 * 3600),
        ("2026-06-01T10:00", "2026-06-01T10:00", 0),
    ]
    for a, b, want in cases:
        got = cal.business_seconds(ep(a), ep(b))
        check(got == want, "frcal: business_seconds(%s, %s) = %d, want %d" % (a, b, got, want))
    check(cal.is_open(ep("2026-11-24T09:00")) and not cal.is_open(ep("2026-11-24T17:00")) and
          not cal.is_open(ep("2026-11-24T08:59:59")), "frcal: is_open boundaries")
    check(not cal.is_open(ep("2026-05-14T10:00")), "frcal: open on Ascension")
    # random intervals against a minute walk (opening hours are whole minutes)
    base = ep("2026-03-20T00:00")
    for _ in range(25):
        a = base + 60 * rnd.randrange(0, 60 * 24 * 250)
        b = a + 60 * rnd.randrange(0, 60 * 24 * 9)
        walk = sum(60 for m in range(a, b, 60) if cal.is_open(m))
        got = cal.business_seconds(a, b)
        check(got == walk, "frcal: [%d,%d) %d != walk %d" % (a, b, got, walk))
        c = a + (b - a) // 3
        check(cal.business_seconds(a, c) + cal.business_seconds(c, b) == got, "frcal: not additive")
        s = rnd.randrange(1, 40 * 3600)
        t = cal.add_business(a, s)
        check(cal.business_seconds(a, t) == s and (cal.business_seconds(a, t - 1) < s), "frcal: add_business")
    # fractional instants
    check(abs(cal.business_seconds(ep("2026-11-24T09:00") + 0.25, ep("2026-11-24T09:00") + 10.5) - 10.25) < 1e-9,
          "frcal: fractions")


def check_helpers():
    import simulate_mail as sm
    cases = [(130000, "0.13"), (4500000, "4.5"), (12300000, "12"), (0, "0"), (9999, "0.01"), (4000, "0"),
             (95000, "0.1"), (995000, "1"), (1049000, "1"), (1051000, "1.1"), (99600000, "100")]
    for us, want in cases:
        check(sm.fmt_delay(us) == want, "format_tv(%d) = %s, want %s" % (us, sm.fmt_delay(us), want))
    check(sm.sanitize("a" * 81, 80) == "a" * 77 + "...", "sanitize 81")
    check(sm.sanitize("a" * 80, 80) == "a" * 80, "sanitize 80")
    check(sm.sanitize("é" * 50, 80).encode().__len__() <= 80, "sanitize utf-8")
    check(sm.classify("", []) == "null-sender" and sm.classify("MAILER-DAEMON@x.fr", []) == "mailer-daemon",
          "classify sender")
    check(sm.classify("a@b", [("Auto-Submitted", "no")]) == "" and
          sm.classify("a@b", [("Auto-Submitted", "No (manual)")]) == "" and
          sm.classify("a@b", [("Auto-Submitted", "auto-replied (vacation)")]) == "auto-submitted" and
          sm.classify("a@b", [("Precedence", " Bulk ")]) == "precedence" and
          sm.classify("a@b", [("Precedence", "first-class")]) == "" and
          sm.classify("a@b", [("X-Autoreply", "no")]) == "x-autoreply", "classify headers")
    for s, h in ((("a@b", [("Auto-Submitted", "no;x")])), ("x@y", [("Precedence", "auto_reply")])):
        check(sm.classify(s, h) == automatic(s, h), "two classifiers disagree on %r" % (h,))
    check(sm.msgids_in("<a@b>? <c@d> <e@f") == ["<a@b>", "<c@d>"] and ids_in("<a@b>? <c@d> <e@f") ==
          ["<a@b>", "<c@d>"], "msgids_in")


# ===================================================================== runs


def sim(out, *args):
    cmd = [PY, SIM, "--out", out] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail("simulate_mail %s: %s" % (" ".join(map(str, args)), r.stderr[-3000:]))
        return None
    return truth_mail.load_meta(out)


FEATURES = ["qid_reused", "noqueue", "content_reject", "deferred_lmtp", "deferred_smtp", "bounced", "expired",
            "dsn", "orig_to", "conn_use", "rcpt_r2", "msgid_cut80", "refs_folded", "irt_phrase",
            "refs_only_reply", "thread_reply", "answered_only", "closed_archive", "closed_trash", "closed_junk",
            "closed_expunge", "work_moves", "undelete", "forwarded_kw", "vacation_sent", "vac_duplicate",
            "vac_implicit", "auto_no", "x_autoreply", "prec_auto_reply", "late_ack", "msgid_empty", "quota_fail",
            "imap_login", "warnings", "reply_agent_addr", "recent_flag", "case_rcpt", "pre_trace_imap",
            "multi_mailbox"]


def run_trace(tmp, name, args, rnd, features=False):
    d = os.path.join(tmp, name)
    t0 = time.time()
    meta = sim(d, *args)
    dt = time.time() - t0
    if meta is None:
        return None
    rd = read_log(os.path.join(d, "mail.log"), meta)
    check(rd.stats["lines"] == meta["counts"]["lines"], "%s: line count %d != meta %d" % (
        name, rd.stats["lines"], meta["counts"]["lines"]))
    truth = compare(d, rd, name)
    t = check_figures(d, rd, rnd, name)
    rows = list(rd.rows.values())
    rec = [r for r in rows if r.status in ("delivered", "deferred") and not r.automatic]
    print("  %-10s %7d lines %5d rows %5d received %5d acked %5d replied %4d closed %4d lives-reused "
          "%.1fs" % (name, rd.stats["lines"], len(truth), len(rec),
                     sum(1 for r in rec if r.ack_at is not None and r.ack_at - r.received_at <= 900),
                     sum(1 for r in rec if r.replied_at is not None),
                     sum(1 for r in rec if r.closed_at is not None), rd.stats["qid_reused"], dt))
    if features:
        missing = [f for f in FEATURES if rd.stats.get(f, 0) == 0]
        check(not missing, "%s: features missing from the trace: %s" % (name, missing))
        kinds = {}
        for x in truth:
            kinds[x["automatic"]] = kinds.get(x["automatic"], 0) + 1
        for k in ("", "null-sender", "mailer-daemon", "auto-submitted", "x-autoreply", "precedence"):
            check(kinds.get(k, 0) > 0, "%s: no row with automatic=%r" % (name, k))
        # the two acknowledgement probes land on the window's boundary
        probes = [i for i in meta["incidents"] if i["kind"] == "ack_probe"]
        check(len(probes) == 2, "%s: %d ack probes" % (name, len(probes)))
        for p in probes:
            r = rd.rows.get((p["mailbox"], p["msgid"]))
            if check(r is not None and r.ack_at is not None, "%s: probe %s has no ack" % (name, p["msgid"])):
                check(r.ack_at - r.received_at == p["ack_minus_received"], "%s: probe ack %d != %d" % (
                    name, r.ack_at - r.received_at, p["ack_minus_received"]))
        figs = t.figures(meta["start"], meta["end"] + 1)
        vac = {m["address"]: m["vacation"] for m in meta["mailboxes"]}
        for k, f in figs.items():
            if f["received"] > 50:
                if vac[k[1]]:
                    check(0.5 < f["ack_rate"] < 0.97, "%s: %s ack_rate %.2f" % (name, k[1], f["ack_rate"]))
                check(0.3 < f["replied_within_target"] < 0.97, "%s: %s within target %.2f" % (
                    name, k[1], f["replied_within_target"]))
        print("    features: " + " ".join("%s=%d" % (f, rd.stats[f]) for f in FEATURES))
    return meta, rd, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--quick", action="store_true", help="skip the other formats")
    a = ap.parse_args()
    rnd = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="reachd-mailtest-")
    t0 = time.time()
    try:
        print("helpers, frcal")
        check_helpers()
        check_frcal(rnd)
        end = "2026-11-24T15:47:13Z"
        print("30 days, 5 mailboxes (rfc3339)")
        r = run_trace(tmp, "main", ["--days", 30, "--mailboxes", 5, "--seed", 1, "--end", end], rnd, features=True)
        if r:
            check(r[0]["counts"]["lines"] > 50000, "main: few lines")
        if not a.quick:
            for fmt in ("rfc3164", "short-iso", "maillog_file"):
                print("format %s (over the October DST change)" % fmt)
                run_trace(tmp, fmt, ["--days", 6, "--mailboxes", 3, "--seed", 4, "--end", "2026-10-29T11:00:00Z",
                                     "--format", fmt], rnd)
            run_trace(tmp, "rfc3339-b", ["--days", 6, "--mailboxes", 3, "--seed", 4, "--end",
                                         "2026-10-29T11:00:00Z"], rnd)
            for fmt in ("rfc3164", "short-iso", "maillog_file"):
                check(filecmp.cmp(os.path.join(tmp, fmt, "truth_mail.csv"),
                                  os.path.join(tmp, "rfc3339-b", "truth_mail.csv"), shallow=False),
                      "format %s changes the truth" % fmt)
            print("8 mailboxes, busy anchor, ending now")
            r = run_trace(tmp, "busy", ["--days", 5, "--mailboxes", 8, "--seed", 3, "--end", "now",
                                        "--profile-anchor", "busy"], rnd)
            if r:
                meta, rd, t = r
                f = t.figures(meta["end"] - 3600, meta["end"] + 1)
                check(sum(x["received"] for x in f.values()) >= 5, "busy anchor: little mail in the last hour")
            print("determinism")
            for k in ("d1", "d2"):
                sim(os.path.join(tmp, k), "--days", 3, "--mailboxes", 4, "--seed", 9, "--end", end)
            for fn in ("mail.log", "truth_mail.csv"):
                check(filecmp.cmp(os.path.join(tmp, "d1", fn), os.path.join(tmp, "d2", fn), shallow=False),
                      "same seed, different %s" % fn)
            sim(os.path.join(tmp, "d3"), "--days", 3, "--mailboxes", 4, "--seed", 10, "--end", end)
            check(not filecmp.cmp(os.path.join(tmp, "d1", "mail.log"), os.path.join(tmp, "d3", "mail.log"),
                                  shallow=False), "another seed, same log")
        print("--live (speed 600, 0.02 day)")
        ld = os.path.join(tmp, "live")
        w0 = time.time()
        ml = sim(ld, "--live", 600, "--days", 0.02, "--mailboxes", 3, "--seed", 1, "--profile-anchor", "busy",
                 "--rate-scale", 8)
        w1 = time.time()
        if ml:
            check(2.0 <= w1 - w0 <= 12, "live run took %.1fs instead of about 3s" % (w1 - w0))
            check(ml["start"] >= int(w0) - 1 and ml["end"] <= int(w1) + 1, "live timestamps are not the wall clock")
            rd = read_log(os.path.join(ld, "mail.log"), ml)
            compare(ld, rd, "live")
            check(rd.stats["lines"] > 20, "live: only %d lines" % rd.stats["lines"])
            if rd.last_ts is not None:
                check(int(w0) - 2 <= rd.last_ts // 1000000 <= int(w1) + 1, "live: last line not near now")
            print("  live: %d lines, %d rows in %.1fs" % (rd.stats["lines"], len(rd.rows), w1 - w0))
        print("--live stopped by SIGTERM")
        ld = os.path.join(tmp, "live-term")
        p = subprocess.Popen([PY, SIM, "--out", ld, "--live", "300", "--days", "2", "--mailboxes", "4", "--seed", "5",
                              "--rate-scale", "6"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(3.5)
        snap = load_truth(ld) if os.path.exists(os.path.join(ld, "truth_mail.csv")) else None
        check(snap is not None, "live: no truth_mail.csv while running")
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("live: SIGTERM did not stop the simulator")
        check(p.returncode == 0, "live: exit status %s after SIGTERM" % p.returncode)
        mt = truth_mail.load_meta(ld)
        if check(mt.get("final") is True, "live: meta_mail.json not final after SIGTERM"):
            rd = read_log(os.path.join(ld, "mail.log"), mt)
            compare(ld, rd, "live-term")
            check(len(rd.rows) + len(rd.rej_rows) >= len(snap or []), "live: rows shrank")
            print("  stopped after %d lines, %d rows" % (rd.stats["lines"], len(rd.rows)))
    finally:
        if a.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("selftest_mail: %s in %.1fs (%d failure%s)" % ("FAILED" if failures else "ok", time.time() - t0,
                                                          len(failures), "" if len(failures) == 1 else "s"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
