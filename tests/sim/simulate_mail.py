#!/usr/bin/python3
"""simulate_mail.py - Postfix + Dovecot mail log simulator with exact ground truth.

Writes, in --out DIR:
  mail.log         Postfix and Dovecot lines interleaved in time order, as rsyslog
                   writes /var/log/mail.log on Debian 12 (Postfix 3.7, Dovecot
                   2.3.19 with Pigeonhole, mail_log plugin), default RFC 3339
  truth_mail.csv   one row per message to a functional mailbox (see below)
  meta_mail.json   mailboxes (address, Dovecot user, aliases, IMAP users and
                   folder prefixes, submission logins, closed folders), the
                   calendar, the server configuration the log assumes, counts,
                   incidents (Dovecot outages, a full mailbox)

The server. Postfix receives on port 25 (smtpd, TLS, RBL and header_checks
REJECT), takes agents' mail on submission (port 587, SASL), and delivers to
Dovecot over LMTP (private/dovecot-lmtp). header_checks has
  /^(In-Reply-To|References|Auto-Submitted|Precedence|X-Autoreply):/ INFO
so those headers appear as `info: header ...` lines (value cut at 200 chars,
newlines of folded headers shown as '?', first recipient only in to=<>).
Dovecot logs deliveries (`msgid=<...>: saved mail to INBOX`, or through Sieve
`sieve: msgid=<...>: stored mail into mailbox 'INBOX'`), Sieve vacation
acknowledgements (`sent vacation response to <...>`, `discarded duplicate
vacation response to <...>`, ...) and, with mail_log (events save copy delete
undelete expunge flag_change, fields uid box msgid size flags), every IMAP
action (msgid cut at 80 chars with '...').

The model. Citizens write to the functional mailboxes (day and evening, less
at night, at weekends and on holidays). Pigeonhole vacation acknowledges within
seconds, except automatic messages, mailing lists, null senders, Bcc copies and
senders already answered in the last 7 days (per mailbox, case-insensitive).
Agents work Mon-Fri 09:00-17:00 Europe/Paris except French public holidays
(a few start early or stay late), read messages (\\Seen), answer from
Thunderbird or Outlook through submission (In-Reply-To/References) then set
\\Answered, or set \\Answered only (reply sent from another system), move
messages to a working folder, archive them, delete them (move to Trash, or
\\Deleted + expunge), mark spam as junk, forward them (no threading headers,
$Forwarded), and every month or so bulk-archive what is older than a month
(one MOVE: a burst of copy lines, then the expunges). Around them:
newsletters, platform notifications, out-of-office replies, DSNs, spam,
NOQUEUE rejects, content rejects, personal mailboxes, agents' other mail,
scanners and password guessers, Dovecot restarts (LMTP
deferred, then delivered on a later queue run: the acknowledgement comes late),
a mailbox over quota (552, bounced, DSN to the sender), greylisting and dead
domains on outgoing replies (deferred, sent, bounced, expired), queue IDs
reused. A warm-up period (--warmup days, not written) puts UIDs, the backlog,
vacation memory and queues in a lived-in state: replies and IMAP actions on
messages received before the trace appear in the log and match no row.

truth_mail.csv columns (times are epoch seconds = the floor of the defining
line's timestamp; see truth_mail.py for the definitions of each figure):
  site, mailbox (configured address), msgid, qid, sender (envelope, '' if null),
  received_at (cleanup message-id= line; reject line for rejected),
  delivered_at (Dovecot 'saved mail to' / 'stored mail into mailbox' line),
  automatic ('' or null-sender|mailer-daemon|auto-submitted|x-autoreply|precedence),
  status (delivered|deferred|bounced|rejected),
  ack_at (Sieve 'sent vacation response'), ack_note (why Sieve sent none:
  duplicate|null-sender|own-address|mailinglist|auto-submitted|precedence|
  system-address|implicit; '' otherwise, and for mailboxes without vacation),
  replied_at, reply_route (thread|answered), reply_by (SASL or IMAP user),
  closed_at, closed_how (archive|trash|junk|expunge), kind (the generator's
  label, for debugging only)

Options:
  --days N --mailboxes N --seed S    length, number of functional mailboxes, seed
  --end T|now                        the trace covers [T - days, T) (default now)
  --site S --domain D                site label, mail domain (example.gouv.fr)
  --format F                         rfc3339 (rsyslog default on Debian 12),
                                     rfc3164 (RSYSLOG_TraditionalFileFormat),
                                     short-iso (journalctl -o short-iso),
                                     maillog_file (Postfix postlogd + Dovecot
                                     log_path in one file, as in a container)
  --profile-anchor busy              shift the behaviour clock (not the
                                     timestamps) so the trace ends (live: starts)
                                     on a busy Tuesday 10:47 Paris
  --live SPEED                       write progressively, timestamps = wall clock,
                                     the model runs SPEED times faster; the
                                     truth is rewritten every 2 s; SIGTERM/SIGINT
                                     stop cleanly
  --rate-scale X                     multiply all traffic
  --warmup DAYS                      simulated but unwritten history (default 7)

Examples:
  simulate_mail.py --out /tmp/m --days 30 --mailboxes 5 --seed 1 --end now
  simulate_mail.py --out /tmp/m --days 7 --mailboxes 3 --seed 2 --format rfc3164 \\
      --end 2026-11-24T15:47:13Z
  simulate_mail.py --out /tmp/l --days 1 --mailboxes 3 --seed 1 --live 600

Everything is a function of the options and --seed (and of the clock with
--end now or --live). Use /usr/bin/python3 (stdlib only).
"""

import argparse
import csv
import datetime as _dt
import heapq
import json
import math
import os
import random
import signal
import sys
import time
import unicodedata
from zoneinfo import ZoneInfo

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frcal import Calendar  # noqa: E402
from simulate import iso, parse_time  # noqa: E402

FORMATS = ("rfc3339", "rfc3164", "short-iso", "maillog_file")
TZNAME = "Europe/Paris"
HOST = "mail"
INFO_HEADERS = ("In-Reply-To", "References", "Auto-Submitted", "Precedence", "X-Autoreply")
CLOSED_FOLDERS = ["Archives", "Trash", "Junk"]
SEP = "/"
VMAIL_UID = 5000
ACK_WINDOW = 900
VACATION_PERIOD = 7 * 86400
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
HEX = "0123456789abcdef"

# flags as in Dovecot's imap_write_flags order
F_ANSWERED, F_FLAGGED, F_DELETED, F_SEEN, F_DRAFT, F_RECENT = 1, 2, 4, 8, 16, 32
FLAG_NAMES = ((F_ANSWERED, "\\Answered"), (F_FLAGGED, "\\Flagged"), (F_DELETED, "\\Deleted"),
              (F_SEEN, "\\Seen"), (F_DRAFT, "\\Draft"), (F_RECENT, "\\Recent"))

# --------------------------------------------------------------------------
# Catalogue of functional mailboxes:
# local part, weight, vacation (Sieve), access, reply speed factor, alias, working folder,
# yearly archives (Thunderbird "Archives/YYYY")
CATALOGUE = [
    ("contact", 1.00, True, "direct", 1.0, None, "À traiter", True),
    ("titres", 0.90, True, "shared", 0.7, None, "En cours", False),
    ("etrangers", 1.25, True, "shared", 1.8, "immigration", "À traiter", False),
    ("elections", 0.30, False, "direct", 1.0, None, "En cours", False),
    ("naturalisation", 0.50, True, "mixed", 2.2, None, "En cours", True),
    ("associations", 0.35, True, "shared", 1.2, None, "En cours", False),
    ("courrier.sg", 0.55, True, "direct", 1.0, None, "À traiter", False),
    ("permis-conduire", 0.45, True, "shared", 0.8, None, "En cours", False),
]

FIRST = ["Marie", "Jean", "Hélène", "Luc", "Zoé", "Karim", "Sophie", "Éric", "Nadia", "Paul",
         "Chloé", "Yann", "Inès", "Hugo", "Léa", "Mehdi", "Anne", "Loïc", "Sarah", "Thomas",
         "Camille", "Nicolas", "Julie", "Antoine", "Fatima", "Pierre", "Élodie", "Romain"]
LAST = ["Martin", "Dupont", "Lefèvre", "Bernard", "Moreau", "Durand", "Benali", "Nguyen",
        "Petit", "Girard", "Bonnet", "Mercier", "Faure", "Roux", "Fournier", "Müller",
        "Lambert", "Fontaine", "Chevalier", "Robin", "Garnier", "Diallo", "Rousseau", "Blanc"]

# providers: domain, weight, inbound client (host, ip prefix), MX (host, ip), msgid style, 250 text
PROVIDERS = [
    ("gmail.com", 34, "mail-{a}-f{n}.google.com", "209.85.{x}.{y}", "gmail-smtp-in.l.google.com",
     "142.250.{x}.{y}", "gmail", "250 2.0.0 OK  {e} {tok}.{n2} - gsmtp"),
    ("orange.fr", 12, "smtp-{n}.smtpout.orange.fr", "80.12.{x}.{y}", "smtp-in.orange.fr",
     "193.252.22.{y}", "javamail_orange", "250 2.0.0 {tok} mail accepted for delivery"),
    ("wanadoo.fr", 5, "smtp-{n}.smtpout.orange.fr", "80.12.{x}.{y}", "smtp-in.orange.fr",
     "193.252.23.{y}", "javamail_orange", "250 2.0.0 {tok} mail accepted for delivery"),
    ("hotmail.fr", 9, "mail-{a}eur0{n}on2{n2}.outbound.protection.outlook.com", "40.107.{x}.{y}",
     "hotmail-com.olc.protection.outlook.com", "52.101.{x}.{y}", "outlook",
     "250 2.6.0 <{msgid}> [InternalId={n2}{n}, Hostname=PAXP195MB{n}.EURP195.PROD.OUTLOOK.COM] "
     "{n2} bytes in 0.{n}, {n} KB/sec Queued mail for delivery -> 250 2.1.5"),
    ("outlook.fr", 5, "mail-{a}eur0{n}on2{n2}.outbound.protection.outlook.com", "40.107.{x}.{y}",
     "outlook-com.olc.protection.outlook.com", "52.101.{x}.{y}", "outlook",
     "250 2.6.0 <{msgid}> [InternalId={n2}{n}] Queued mail for delivery"),
    ("yahoo.fr", 7, "sonic{n}-{n2}.consmr.mail.ir2.yahoo.com", "77.238.{x}.{y}",
     "mx-eu.mail.am0.yahoodns.net", "188.125.{x}.{y}", "yahoo", "250 ok dirdel"),
    ("free.fr", 8, "smtp{n}-g21.free.fr", "212.27.42.{y}", "mx1.free.fr", "212.27.48.{y}",
     "zimbra_free", "250 2.0.0 Ok: queued as {tok}"),
    ("laposte.net", 5, "smtp{n}.laposte.net", "160.92.124.{y}", "smtp-in.laposte.net",
     "160.92.124.{y}", "laposte", "250 2.0.0 Ok: queued as {tok}"),
    ("sfr.fr", 4, "smtp{n}.sfr.fr", "93.17.128.{y}", "msfrf2.sfr.fr", "93.17.128.{y}", "sfr",
     "250 OK id={tok}"),
    ("icloud.com", 4, "qs{n}p00im-qukt{n2}.me.com", "17.57.{x}.{y}", "mx01.mail.icloud.com",
     "17.57.154.{y}", "apple", "250 2.0.0 Ok: queued as {tok}"),
    ("cabinet-avocats-lyon.fr", 2, "mail.cabinet-avocats-lyon.fr", "51.91.{x}.{y}",
     "mail.cabinet-avocats-lyon.fr", "51.91.{x}.{y}", "thunderbird", "250 2.0.0 Ok: queued as {tok}"),
]

HOURLY = [0.10, 0.06, 0.04, 0.03, 0.03, 0.05, 0.15, 0.40, 0.90, 1.40, 1.60, 1.50,
          1.20, 1.10, 1.30, 1.40, 1.30, 1.10, 0.90, 0.80, 0.80, 0.70, 0.50, 0.25]
DAY_FACTOR = [1.25, 1.10, 1.00, 1.00, 0.90, 0.45, 0.40]
HOLIDAY_FACTOR = 0.45
BASE_PER_HOUR = 2.2     # messages per hour at factor 1, weight 1

# message kinds for a functional mailbox: (kind, probability)
KINDS = [("citizen", 0.745), ("form", 0.045), ("newsletter", 0.040), ("newsletter-list", 0.015),
         ("notification", 0.040), ("spam", 0.050), ("remote-dsn", 0.012),
         ("mailer-daemon", 0.006), ("x-autoreply", 0.010), ("precedence-junk", 0.007),
         ("explicit-auto-no", 0.030)]

NEWSLETTERS = ["lettre@acteurs-publics.fr", "newsletter@info.ouest-france.fr",
               "infolettre@collectivites-locales.gouv.fr", "news@weka.fr",
               "bounce-nl-1834@mailing.lagazettedescommunes.com"]
NOTIFIERS = ["ne-pas-repondre@ants.gouv.fr", "noreply@demarches.numerique.gouv.fr",
             "no-reply@chorus-pro.gouv.fr", "ne-pas-repondre@dila.gouv.fr"]
FORM_SENDER = "ne-pas-repondre@formulaire.service-public.fr"
SPAM_DOMAINS = ["promo-deals.xyz", "mail.cheap-meds.top", "newsletter-gain.icu", "crypto-rich.bid",
                "livraison-colis-fr.info"]
SPAM_SUBJECTS = ["Gagnez un iPhone 17 maintenant", "Casino en ligne : 500 EUR offerts",
                 "VIAGRA 80% de remise"]

PERSONAL = ["prefet", "sous-prefet.arrondissement", "cabinet", "secretariat.general",
            "jean-luc.morel", "isabelle.garnier", "communication", "dsi", "rh",
            "courrier.cabinet", "bureau.elections", "sdis.liaison"]


def ascii_fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def sanitize(s, n):
    """Dovecot str_sanitize(): longer than n bytes -> first n-3 bytes (UTF-8 safe) + '...'."""
    b = s.encode("utf-8")
    if len(b) <= n:
        return s
    b = b[:n - 3]
    while b and (b[-1] & 0xC0) == 0x80:
        b = b[:-1]
    if b and b[-1] >= 0xC0:
        b = b[:-1]
    return b.decode("utf-8") + "..."


def format_tv(sec, usec, sig=2, maxd=2):
    """Postfix format_tv() with delay_logging_resolution_limit = 2."""
    pow10 = (1, 10, 100, 1000, 10000, 100000, 1000000)
    ures = 1000000 // pow10[maxd]
    wid = pow10[sig]
    if ures < 1000000:
        if sec > 0:
            n = 1
            while sec >= n and n <= wid // 10:
                n *= 10
            ures = (1000000 // wid) * n
        else:
            while usec >= wid * ures:
                ures *= 10
    if ures > 1:
        usec += ures // 2
        if usec >= 1000000:
            sec += 1
            usec -= 1000000
    out = str(sec)
    if usec >= ures:
        out += "."
        rem, n = usec, 100000
        while rem >= ures and n > 0:
            out += "0123456789"[rem // n]
            rem %= n
            n //= 10
    return out


def fmt_delay(us):
    if us < 0:
        us = 0
    return format_tv(us // 1000000, us % 1000000)


def flags_str(fl, kws):
    parts = [n for b, n in FLAG_NAMES if fl & b]
    parts.extend(kws)
    return "(" + " ".join(parts) + ")"


# -------------------------------------------------------------------- classification


def msgids_in(text):
    """Message-IDs <...> appearing complete in a logged header value, in order."""
    out = []
    i = 0
    while True:
        a = text.find("<", i)
        if a < 0:
            return out
        b = text.find(">", a + 1)
        if b < 0:
            return out
        c = text.find("<", a + 1)
        if 0 <= c < b:
            i = c
            continue
        tok = text[a:b + 1]
        if len(tok) > 2 and " " not in tok:
            out.append(tok)
        i = b + 1


def classify(sender, headers):
    """Automatic reason ('' if none) from the envelope sender and the logged headers
    [(name, value)] - the rule of truth_mail.py."""
    if sender == "":
        return "null-sender"
    if sender.split("@", 1)[0].lower() == "mailer-daemon":
        return "mailer-daemon"
    hv = {}
    for n, v in headers:
        hv.setdefault(n.lower(), v)
    v = hv.get("auto-submitted")
    if v is not None:
        tok = v.strip().lower()
        for ch in " \t;(":
            tok = tok.split(ch, 1)[0]
        if tok != "no":
            return "auto-submitted"
    if "x-autoreply" in hv:
        return "x-autoreply"
    v = hv.get("precedence")
    if v is not None and v.strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "precedence"
    return ""


# -------------------------------------------------------------------- model objects


class Agent:
    __slots__ = ("name", "email", "imap_user", "prefix", "sasl", "ip", "host", "helo", "style", "mailboxes")


class Mailbox:
    def __init__(self):
        self.inst = {}      # msgid -> [Inst] current copies in this mailbox
        self.uidnext = {}
        self.vac_last = {}  # sender lowercased -> last vacation sent (virtual)
        self.quota = []     # [(v0, v1)] mailbox full
        self.keywords = []  # keyword creation order


class Inst:
    __slots__ = ("folder", "uid", "flags", "kws", "size", "msg", "t")


class Msg:
    __slots__ = ("msgid", "sender", "headers", "size", "rcpts", "kind", "client", "hdr_order",
                 "reply_to", "subject", "style", "bcc", "refs")


class Life:
    __slots__ = ("qid", "arr_us", "sender", "size", "msg", "rcpts", "origin", "msgid_logged",
                 "recv_sec", "active_us", "tries", "backoff", "logged_headers", "sasl",
                 "nrcpt", "done", "arr_v", "msgid_us")


class Rcpt:
    __slots__ = ("addr", "orig", "final", "mb", "local", "done", "status", "user", "retry_forced")


class Row:
    __slots__ = ("site", "mailbox", "msgid", "qid", "sender", "received_at", "delivered_at", "automatic", "status",
                 "ack_at", "ack_note", "replied_at", "reply_route", "reply_by", "closed_at",
                 "closed_how", "kind")

    def as_list(self):
        def s(x):
            return "" if x is None else x
        return [self.site, self.mailbox, self.msgid, self.qid, self.sender, s(self.received_at),
                s(self.delivered_at), self.automatic, self.status, s(self.ack_at), self.ack_note, s(self.replied_at),
                self.reply_route, self.reply_by, s(self.closed_at), self.closed_how, self.kind]


TRUTH_HEADER = ["site", "mailbox", "msgid", "qid", "sender", "received_at", "delivered_at", "automatic", "status",
                "ack_at", "ack_note", "replied_at", "reply_route", "reply_by", "closed_at",
                "closed_how", "kind"]


# ============================================================================


class Sim:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.site = a.site
        self.domain = a.domain.lower()
        self.myhost = "%s.%s" % (HOST, self.domain)
        self.tz = ZoneInfo(TZNAME)
        self.cal = Calendar(TZNAME)
        self.live = a.live is not None
        self.evq = []
        self.evseq = 0
        self.lines = []
        self.lseq = 0
        self.rows = {}
        self.nrows_rej = 0
        self.stats = {"lines": 0, "postfix_lives": 0, "inbound": 0, "replies": 0, "acks": 0,
                      "imap_actions": 0, "noqueue": 0}
        self.active_qids = {}
        self.released = []      # [(avail_us, qid)]
        self.pids = {}
        self.uid_line_us = {}
        self.sessions = {}
        self.lmtp_pid = None
        self.outages = []
        self.incidents = []
        self.msgid_prefixes = set()
        self.msgid_count = 0
        self.citizens = []      # recent senders, for repeat writers
        self.scan0 = 0.0
        self.build_mailboxes()

    # ------------------------------------------------------------------ set-up
    def build_mailboxes(self):
        rnd = self.rnd
        a = self.a
        self.mailboxes = []
        used = {}

        def person():
            while True:
                fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
                em = "%s.%s@%s" % (ascii_fold(fn).lower(), ascii_fold(ln).lower().replace(" ", ""),
                                   self.domain)
                if em not in used:
                    used[em] = 1
                    return "%s %s" % (fn, ln), em

        for i in range(a.mailboxes):
            if i < len(CATALOGUE):
                name, w, vac, access, speed, alias, work, yearly = CATALOGUE[i]
            else:
                name = "boite%02d" % (i + 1)
                w = 0.25 + 0.5 * rnd.random()
                vac = rnd.random() < 0.8
                access = rnd.choice(["direct", "shared"])
                speed = 0.8 + rnd.random()
                alias, work, yearly = None, "En cours", False
            mb = Mailbox()
            mb.idx = i
            mb.name = name
            mb.address = "%s@%s" % (name, self.domain)
            mb.user = mb.address
            mb.aliases = ["%s@%s" % (alias, self.domain)] if alias else []
            mb.weight = w
            mb.vacation = vac
            mb.sieve = vac
            mb.access = access
            mb.speed = speed
            mb.work_folder = work
            mb.yearly = yearly
            mb.agents = []
            for k in range(2 + (i % 3)):
                nm, em = person()
                ag = Agent()
                ag.name, ag.email = nm, em
                ag.mailboxes = [mb]
                direct = access == "direct" or (access == "mixed" and k == 0)
                ag.imap_user = mb.address if direct else em
                ag.prefix = "" if direct else "shared/%s/" % mb.address
                ag.sasl = mb.address if direct else em
                ag.ip = "10.12.%d.%d" % (3 + i, 20 + 7 * k + i)
                ag.host = "pc-%s-%02d.prefecture.local" % (ascii_fold(name).replace(".", "-")[:10], k + 1) \
                    if k % 2 == 0 else "unknown"
                ag.style = "outlook" if (k + i) % 4 == 3 else "tb"
                ag.helo = "[%s]" % ag.ip if ag.style == "tb" else \
                    "PC-%s-%02d" % (ascii_fold(name).replace(".", "-")[:10].upper(), k + 1)
                mb.agents.append(ag)
            mb.uidnext = {"INBOX": 1000 + rnd.randrange(9000), "Sent": 200 + rnd.randrange(3000)}
            self.mailboxes.append(mb)
        # one agent of titres also handles permis-conduire (shared namespace of both)
        if len(self.mailboxes) >= 8:
            ag = self.mailboxes[1].agents[-1]
            if ag.prefix:
                ag2 = Agent()
                ag2.name, ag2.email, ag2.imap_user = ag.name, ag.email, ag.imap_user
                ag2.prefix = "shared/%s/" % self.mailboxes[7].address
                ag2.sasl, ag2.ip, ag2.host, ag2.style, ag2.helo = ag.sasl, ag.ip, ag.host, ag.style, ag.helo
                ag2.mailboxes = [self.mailboxes[7]]
                self.mailboxes[7].agents.append(ag2)
        self.by_addr = {}
        for mb in self.mailboxes:
            self.by_addr[mb.address] = mb
            for al in mb.aliases:
                self.by_addr[al] = mb
        self.personal = ["%s@%s" % (p, self.domain) for p in PERSONAL]
        for mb in self.mailboxes:
            for ag in mb.agents:
                if ag.email not in self.personal:
                    self.personal.append(ag.email)
        self.personal_uid = {p: 100 + rnd.randrange(20000) for p in self.personal}
        self.sasl_agents = {}
        for mb in self.mailboxes:
            for ag in mb.agents:
                self.sasl_agents.setdefault(ag.sasl, [])
                if mb not in self.sasl_agents[ag.sasl]:
                    self.sasl_agents[ag.sasl].append(mb)

    # ------------------------------------------------------------------ clocks
    def W(self, v):
        if self.live:
            return self.wall0 + (v - self.wall0) / self.speed
        return v

    def us(self, v):
        return int(round(self.W(v) * 1000000.0))

    def profile_local(self, v):
        """Local datetime of the behaviour clock at virtual v."""
        return _dt.datetime.fromtimestamp(v + self.shift, self.tz)

    def office(self, v, busy_s):
        """Virtual instant after busy_s seconds of agents' office time counted from v."""
        p = self.cal.add_business(v + self.shift, busy_s)
        t = p - self.shift
        r = self.rnd.random()
        if r < 0.05:
            t -= 300 + self.rnd.random() * 2400       # starts early
        elif r < 0.08:
            # stays late: the same amount after closing time
            d = self.profile_local(t).date()
            iv = self.cal.open_intervals(d)
            if iv:
                t = iv[-1][1] - self.shift + 60 + self.rnd.random() * 4000
        if t < v + 30:
            t = v + 30 + self.rnd.random() * 60
        return t

    # ------------------------------------------------------------------ events and lines
    def at(self, v, fn, *args):
        self.evseq += 1
        heapq.heappush(self.evq, (v, self.evseq, fn, args))

    def _push(self, ts, kind, a, b, eff):
        self.lseq += 1
        heapq.heappush(self.lines, (ts, self.lseq, kind, a, b, eff))

    def P(self, v, prog, text, eff=None, pid=None):
        ts = self.us(v)
        if pid is None:
            pid = self.pid(prog)
        self._push(ts, 0, "postfix/%s[%d]" % (prog, pid), text, eff)
        return ts

    def D(self, v, prefix, text, eff=None, warn=False, uidkey=None):
        ts = self.us(v)
        if uidkey is not None:
            last = self.uid_line_us.get(uidkey)
            if last is not None and ts <= last:
                raise AssertionError("UID line out of order in %r" % (uidkey,))
            self.uid_line_us[uidkey] = ts
        self._push(ts, 2 if warn else 1, prefix, text, eff)
        return ts

    def V(self, ts_us):
        """Virtual time of a wall-clock microsecond (inverse of us())."""
        t = ts_us / 1000000.0
        if self.live:
            return self.wall0 + (t - self.wall0) * self.speed
        return t

    def after_uid(self, v, key):
        """v, or the first instant after the last line that assigned a UID in folder key: UIDs
        then grow in log order, and the lines that follow are moved along."""
        last = self.uid_line_us.get(key)
        if last is not None and self.us(v) <= last:
            v = self.V(last + 1)
            while self.us(v) <= last:
                v += 1e-6 * (self.speed if self.live else 1.0)
        return v

    def pid(self, prog):
        """PIDs of long-lived processes, renewed now and then."""
        p = self.pids.get(prog)
        rnd = self.rnd
        if p is None or (prog != "qmgr" and rnd.random() < 0.02):
            self.pidseq += 1 + rnd.randrange(400)
            p = self.pidseq
            self.pids[prog] = p
        return p

    def new_pid(self):
        self.pidseq += 1 + self.rnd.randrange(60)
        return self.pidseq

    def b64(self, n):
        r = self.rnd.random
        return "".join(B64[int(r() * 62)] for _ in range(n))

    # ------------------------------------------------------------------ queue ids
    def new_qid(self, v):
        rnd = self.rnd
        now = self.us(v)
        if self.released and rnd.random() < 0.015:
            # reuse a queue ID whose previous life ended at least a second ago
            for i in range(len(self.released)):
                avail, q = self.released[i]
                if avail + 1000000 <= now and q not in self.active_qids:
                    del self.released[i]
                    self.active_qids[q] = 1
                    self.stats["qid_reused"] = self.stats.get("qid_reused", 0) + 1
                    return q
        while True:
            q = "%05X%X" % (now % 1000000, 0x100000 + rnd.randrange(0x200000))
            if q not in self.active_qids and q not in self.qid_seen:
                break
            now += 1
        self.qid_seen.add(q)
        self.active_qids[q] = 1
        return q

    def release_qid(self, life, ts):
        self.active_qids.pop(life.qid, None)
        self.released.append((ts, life.qid))
        if len(self.released) > 400:
            del self.released[:200]

    # ------------------------------------------------------------------ identifiers
    def msgid_for(self, style, dom, v):
        rnd = self.rnd
        r = rnd.random
        self.msgid_count += 1
        n = self.msgid_count
        e = int(self.W(v))
        while True:
            if style == "gmail":
                body = "CA" + self.b64(2 + int(r() * 3)).replace("/", "_") + "=" + \
                    "".join(rnd.choice(B64[:62] + "-_+") for _ in range(36 + int(r() * 14)))
                m = "<%s%d@mail.gmail.com>" % (body, n % 97)
            elif style == "javamail_orange":
                m = "<%d.%d.%d%03d.JavaMail.open-xchange@opme11oxm%02dnd1.rouen.francetelecom.fr>" % (
                    1000000000 + rnd.randrange(900000000), n, e, rnd.randrange(1000), 1 + rnd.randrange(40))
            elif style == "outlook":
                m = "<%s%s%dMB%04d%s@%s%s%dMB%04d.EURP%d.PROD.OUTLOOK.COM>" % (
                    rnd.choice(["AM0P", "PAXP", "DB9P", "VI1P"]), rnd.choice(["R04", "R07", "195"]),
                    rnd.randrange(10), rnd.randrange(10000),
                    "".join(rnd.choice("0123456789ABCDEF") for _ in range(24 + n % 9)),
                    rnd.choice(["AM0P", "PAXP", "DB9P"]), rnd.choice(["R04", "195"]), rnd.randrange(10),
                    rnd.randrange(10000), 190 + rnd.randrange(9))
            elif style == "yahoo":
                m = "<%d.%d.%d%03d@mail.yahoo.com>" % (1000000000 + rnd.randrange(900000000), n, e,
                                                       rnd.randrange(1000))
            elif style == "zimbra_free":
                m = "<%d.%d.%d.JavaMail.root@zimbra%d-e%d.priv.proxad.net>" % (
                    rnd.randrange(10 ** 9), n, e, 1 + rnd.randrange(60), 1 + rnd.randrange(3))
            elif style == "apple":
                h = "".join(rnd.choice("0123456789ABCDEF") for _ in range(32))
                m = "<%s-%s-%s-%s-%s@%s>" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:], dom)
            elif style == "sfr":
                m = "<%x.%x%d@sfr.fr>" % (rnd.randrange(16 ** 10), rnd.randrange(16 ** 6), n)
            elif style == "laposte":
                m = "<%d.%s.%d@laposte.net>" % (e, self.b64(6).replace("/", "x").replace("+", "y"), n)
            elif style == "tb":
                h = "".join(HEX[int(r() * 16)] for _ in range(32))
                m = "<%s-%s-%s-%s-%s@%s>" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:], dom)
            elif style == "bulk":
                m = "<%d.%d.%s@%s>" % (e, n, "".join(HEX[int(r() * 16)] for _ in range(16)), dom)
            elif style == "spam":
                m = "<%s$%d@%s>" % ("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                             for _ in range(12)), n, dom)
            else:
                h = "".join(HEX[int(r() * 16)] for _ in range(32))
                m = "<%s-%s-%s-%s-%s@%s>" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:], dom)
            k = m[:77]
            if k not in self.msgid_prefixes:
                self.msgid_prefixes.add(k)
                return m

    def citizen(self, v):
        """(sender address, provider tuple) - some senders write again."""
        rnd = self.rnd
        if self.citizens and rnd.random() < 0.16:
            s, p = self.citizens[int(rnd.random() ** 2 * len(self.citizens))] if rnd.random() < 0.5 \
                else self.citizens[-1 - rnd.randrange(min(60, len(self.citizens)))]
            if rnd.random() < 0.15:
                s = s[0].upper() + s[1:]        # same sender, other case
            return s, p
        tot = sum(x[1] for x in PROVIDERS)
        x = rnd.random() * tot
        for prov in PROVIDERS:
            x -= prov[1]
            if x < 0:
                break
        fn = ascii_fold(rnd.choice(FIRST)).lower()
        ln = ascii_fold(rnd.choice(LAST)).lower()
        r = rnd.random()
        if r < 0.45:
            local = "%s.%s" % (fn, ln)
        elif r < 0.65:
            local = "%s%s%d" % (fn[0], ln, rnd.randrange(100))
        elif r < 0.75:
            local = "%s.%s%d" % (fn, ln, 1950 + rnd.randrange(60))
        elif r < 0.80:
            local = "%s+prefecture" % fn
        elif r < 0.85:
            local = "%s_%s" % (ln, fn)
        else:
            local = "%s-%s.%s" % (fn, rnd.choice(["marie", "pierre", "anne"]), ln)
        s = "%s@%s" % (local, prov[0])
        if rnd.random() < 0.04:
            s = s[0].upper() + s[1:].replace("." + ln, "." + ln.capitalize())
        self.citizens.append((s, prov))
        if len(self.citizens) > 3000:
            del self.citizens[:1000]
        return s, prov

    def fill(self, tmpl, msgid=""):
        rnd = self.rnd
        return tmpl.format(a=rnd.choice(["wm1", "ej1", "wr1", "lj1", "ed1"]), n=1 + rnd.randrange(99),
                           n2=rnd.randrange(10 ** 4), x=rnd.randrange(1, 255), y=rnd.randrange(1, 255),
                           e=1700000000 + rnd.randrange(10 ** 8),
                           tok=self.b64(10).replace("/", "x").replace("+", "z"), msgid=msgid)

    def client_of(self, prov):
        h = self.fill(prov[2])
        ip = self.fill(prov[3])
        return h, ip, h

    # ------------------------------------------------------------------ truth effects
    def ensure_row(self, life, rc):
        if not life.msgid_logged or rc.mb is None:
            return None
        key = (rc.mb.address, life.msg.msgid)
        row = self.rows.get(key)
        if row is None:
            row = Row()
            row.site = self.site
            row.mailbox = rc.mb.address
            row.msgid = life.msg.msgid
            row.qid = life.qid
            row.sender = life.sender
            row.received_at = life.recv_sec
            row.delivered_at = None
            row.automatic = classify(life.sender, life.logged_headers)
            row.status = "deferred"
            row.ack_at = row.replied_at = row.closed_at = None
            row.ack_note = row.reply_route = row.reply_by = row.closed_how = ""
            row.kind = life.msg.kind
            self.rows[key] = row
        return row

    def eff_msgid(self, life):
        def f(ts):
            life.msgid_logged = True
            life.recv_sec = ts // 1000000
        return f

    def eff_header(self, life, name, value):
        def f(ts):
            life.logged_headers.append((name, value))
        return f

    def eff_status(self, life, rc, status):
        def f(ts):
            row = self.ensure_row(life, rc)
            if row is not None and (row.status == "deferred" or status != "deferred"):
                if row.status != "delivered":
                    row.status = status
        return f

    def eff_delivered(self, life, rc):
        """Dovecot's 'saved mail to' / 'stored mail into mailbox' line: delivered_at."""
        def f(ts):
            row = self.ensure_row(life, rc)
            if row is not None:
                if row.delivered_at is None:
                    row.delivered_at = ts // 1000000
                if row.status != "delivered":
                    row.status = "delivered"
        return f

    def eff_ack(self, life, rc, note=None):
        def f(ts):
            row = self.ensure_row(life, rc)
            if row is None:
                return
            if note is None:
                if row.ack_at is None:
                    row.ack_at = ts // 1000000
                    row.ack_note = ""
            elif row.ack_at is None and not row.ack_note:
                row.ack_note = note
        return f

    def eff_reply(self, out):
        """Credit of an outgoing message (truth_mail.py rule), at its qmgr line."""
        def f(ts):
            if not out.msgid_logged:
                return
            if classify(out.sender, out.logged_headers):
                return
            irt, refs = [], []
            for n, v in out.logged_headers:
                if n == "In-Reply-To":
                    irt.extend(msgids_in(v))
                elif n == "References":
                    refs.extend(msgids_in(v))
            if not irt and not refs:
                return
            cands = list(irt) + list(reversed(refs))
            for mb in self.mailboxes:
                if not (out.sender.lower() == mb.address or mb in self.sasl_agents.get(out.sasl or "", ())):
                    continue
                for m in cands:
                    row = self.rows.get((mb.address, m))
                    if row is not None and row.status in ("delivered", "deferred"):
                        if row.replied_at is None:
                            row.replied_at = out.recv_sec
                            row.reply_route = "thread"
                            row.reply_by = out.sasl or ""
                        break
        return f

    def eff_answered(self, mb, msgid, user):
        def f(ts):
            row = self.rows.get((mb.address, msgid))
            if row is not None and row.replied_at is None:
                row.replied_at = ts // 1000000
                row.reply_route = "answered"
                row.reply_by = user
        return f

    def eff_closed(self, mb, msgid, how):
        def f(ts):
            row = self.rows.get((mb.address, msgid))
            if row is not None and row.closed_at is None:
                row.closed_at = ts // 1000000
                row.closed_how = how
        return f

    def eff_reject_row(self, mb, msgid, sender, kind, qid):
        def f(ts):
            row = Row()
            row.site = self.site
            row.mailbox = mb.address
            row.msgid = msgid
            row.qid = qid
            row.sender = sender
            row.received_at = ts // 1000000
            row.delivered_at = None
            row.automatic = ""
            row.status = "rejected"
            row.ack_at = row.replied_at = row.closed_at = None
            row.ack_note = row.reply_route = row.reply_by = row.closed_how = ""
            row.kind = kind
            if msgid:
                self.rows[(mb.address, msgid)] = row
            else:
                self.nrows_rej += 1
                self.rows[(mb.address, "", self.nrows_rej)] = row
        return f

    # ------------------------------------------------------------------ Postfix: inbound
    def new_life(self, v, origin, msg, sender):
        life = Life()
        life.qid = self.new_qid(v)
        life.origin = origin
        life.msg = msg
        life.sender = sender
        life.size = msg.size
        life.msgid_logged = False
        life.recv_sec = None
        life.arr_v = v
        life.tries = 0
        life.backoff = 300
        life.logged_headers = []
        life.sasl = None
        life.done = False
        life.rcpts = []
        for addr in msg.rcpts:
            rc = Rcpt()
            rc.addr = addr
            low = addr.lower()
            mb = self.by_addr.get(low)
            rc.mb = mb
            rc.orig = None
            rc.final = addr
            if mb is not None and low in mb.aliases:
                rc.orig = addr
                rc.final = mb.address
            rc.local = low.endswith("@" + self.domain)
            rc.user = (mb.user if mb is not None else low) if rc.local else None
            rc.done = False
            rc.status = None
            rc.retry_forced = None
            life.rcpts.append(rc)
        life.nrcpt = len(life.rcpts)
        self.stats["postfix_lives"] += 1
        return life

    def cleanup_group(self, v, life, origin_txt, proto_helo):
        """message-id and header INFO lines in header order; returns v after the group."""
        msg = life.msg
        cpid = self.pid("cleanup")
        qid = life.qid
        first_rcpt = msg.rcpts[0] if msg.rcpts else ""
        ctx = " from %s; from=<%s> to=<%s>%s" % (origin_txt, life.sender, first_rcpt, proto_helo)
        for name, value in msg.hdr_order:
            v += 0.000013 + self.rnd.random() * 0.00004
            if name == "Message-ID":
                life.msgid_us = self.P(v, "cleanup", "%s: message-id=%s" % (qid, value), self.eff_msgid(life),
                                       pid=cpid)
            elif name == "Subject":
                continue
            else:
                content = ("%s: %s" % (name, value))[:200]
                shown = content.replace("\n", "?").replace("\t", "?")
                self.P(v, "cleanup", "%s: info: header %s%s" % (qid, shown, ctx),
                       self.eff_header(life, name, shown.split(": ", 1)[1] if ": " in shown else ""),
                       pid=cpid)
        return v

    def smtp_in(self, v, msg, rbl=False):
        """An SMTP client on port 25 delivering msg (or being rejected)."""
        rnd = self.rnd
        host, ip, helo = msg.client
        spid = self.new_pid() if rnd.random() < 0.3 else self.pid("smtpd")
        ci = "%s[%s]" % (host, ip)
        self.P(v, "smtpd", "connect from %s" % ci, pid=spid)
        self.stats["inbound"] += 1
        if rbl:
            v += 0.05 + rnd.random() * 0.3
            mb = self.by_addr.get(msg.rcpts[0].lower())
            reason = rbl
            eff = self.eff_reject_row(mb, "", msg.sender, msg.kind, "NOQUEUE") if mb is not None else None
            self.P(v, "smtpd", "NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>"
                   % (ci, reason, msg.sender, msg.rcpts[0], helo), eff, pid=spid)
            self.stats["noqueue"] += 1
            v += 0.01 + rnd.random() * 0.2
            self.P(v, "smtpd", "disconnect from %s ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4" % ci, pid=spid)
            return
        tls = rnd.random() < 0.85
        v += 0.02 + rnd.random() * 0.15
        if tls:
            self.P(v, "smtpd", "Anonymous TLS connection established from %s: TLSv1.3 with cipher "
                   "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS "
                   "(2048 bits) server-digest SHA256" % ci, pid=spid)
            v += 0.03 + rnd.random() * 0.1
        life = self.new_life(v, "smtpd", msg, msg.sender)
        life.arr_us = self.P(v, "smtpd", "%s: client=%s" % (life.qid, ci), pid=spid)
        v += 0.05 + rnd.random() * 0.4 + msg.size / 4.0e6
        if msg.kind == "spam-reject":
            self.content_reject(v, life, ci, helo, spid, tls)
            return
        v = self.cleanup_group(v, life, ci, " proto=ESMTP helo=<%s>" % helo)
        v += 0.0005 + rnd.random() * 0.002
        life.active_us = self.P(v, "qmgr", "%s: from=<%s>, size=%d, nrcpt=%d (queue active)"
                                % (life.qid, life.sender, life.size, life.nrcpt))
        n = len(msg.rcpts)
        self.P(v + 0.01 + rnd.random() * 0.05, "smtpd", "disconnect from %s ehlo=%d%s mail=1 rcpt=%d data=1 "
               "quit=1 commands=%d" % (ci, 2 if tls else 1, " starttls=1" if tls else "", n,
                                      (2 if tls else 1) + (1 if tls else 0) + 3 + n), pid=spid)
        self.at(v + 0.002 + rnd.random() * 0.01, self.deliver, life)

    def content_reject(self, v, life, ci, helo, spid, tls):
        msg = life.msg
        cpid = self.pid("cleanup")
        qid = life.qid
        mb = self.by_addr.get(msg.rcpts[0].lower())
        ctx = " from %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>" % (ci, life.sender, msg.rcpts[0], helo)
        for name, value in msg.hdr_order:
            v += 0.00002
            if name == "Message-ID":
                self.P(v, "cleanup", "%s: message-id=%s" % (qid, value), pid=cpid)
            elif name == "Subject":
                eff = self.eff_reject_row(mb, msg.msgid, msg.sender, "spam-reject", qid) if mb else None
                ts = self.P(v, "cleanup", "%s: reject: %s%s: 5.7.1 Message content rejected"
                            % (qid, ("header Subject: " + value)[:200], ctx), eff, pid=cpid)
                self.release_qid(life, ts)
                break
        v += 0.01 + self.rnd.random() * 0.1
        self.P(v, "smtpd", "disconnect from %s ehlo=%d%s mail=1 rcpt=1 data=0/1 quit=1 commands=%d/%d"
               % (ci, 2 if tls else 1, " starttls=1" if tls else "", 5 + tls * 2, 6 + tls * 2), pid=spid)

    # ------------------------------------------------------------------ Postfix: delivery
    def dovecot_down(self, v):
        for a, b in self.outages:
            if a <= v < b:
                return b
        return None

    def next_scan(self, due):
        """Deferred queue scans every 300 s on a fixed grid."""
        k = math.ceil((due - self.scan0) / 300.0)
        return self.scan0 + k * 300.0 + self.rnd.random() * 2.0

    def delay_fields(self, life, done_us, conn_us=None):
        a_us = life.active_us - life.arr_us
        hand = life.active_us + 2000 + int(self.rnd.random() * 8000)
        if hand > done_us:
            hand = done_us
        b_us = hand - life.active_us
        if conn_us is not None and conn_us < hand:
            conn_us = hand
        if conn_us is None:
            c_us, d_us = 0, done_us - hand
        else:
            c_us, d_us = conn_us - hand, done_us - conn_us
        return "delay=%s, delays=%s/%s/%s/%s" % (fmt_delay(done_us - life.arr_us), fmt_delay(a_us),
                                                 fmt_delay(b_us), fmt_delay(c_us), fmt_delay(d_us))

    def deliver(self, v, life):
        """One delivery attempt of every pending recipient (qmgr already logged 'queue active')."""
        rnd = self.rnd
        life.tries += 1
        pend = [rc for rc in life.rcpts if not rc.done]
        local = [rc for rc in pend if rc.local]
        remote = [rc for rc in pend if not rc.local]
        deferred = False
        t = v
        if local:
            deferred, t = self.lmtp(v, life, local)
        for rc in remote:
            d, t2 = self.smtp_out(v, life, rc)
            deferred = deferred or d
            if t2 > t:
                t = t2
        v = t
        if deferred:
            if v - life.arr_v > 5 * 86400:
                self.expire(v + 0.01, life)
                return
            due = v + life.backoff
            life.backoff = min(life.backoff * 2, 4000)
            forced = [rc.retry_forced for rc in life.rcpts if not rc.done and rc.retry_forced]
            t = forced[0] if forced else self.next_scan(due)
            for rc in life.rcpts:
                rc.retry_forced = None
            self.at(t, self.retry, life)
            return
        self.finish(v + 0.0003 + rnd.random() * 0.001, life)

    def retry(self, v, life):
        life.active_us = self.P(v, "qmgr", "%s: from=<%s>, size=%d, nrcpt=%d (queue active)"
                                % (life.qid, life.sender, life.size, life.nrcpt))
        self.deliver(v + 0.001 + self.rnd.random() * 0.005, life)

    def finish(self, v, life):
        bounced = [rc for rc in life.rcpts if rc.status == "bounced"]
        if bounced and life.sender:
            self.notify(v, life, "sender non-delivery notification")
            v += 0.003
        ts = self.P(v, "qmgr", "%s: removed" % life.qid)
        life.done = True
        self.release_qid(life, ts)

    def expire(self, v, life):
        self.P(v, "qmgr", "%s: from=<%s>, status=expired, returned to sender" % (life.qid, life.sender))
        for rc in life.rcpts:
            if not rc.done:
                rc.done = True
                rc.status = "bounced"
        self.finish(v + 0.002, life)

    def notify(self, v, life, what):
        """Postfix bounce: a DSN to the sender of life."""
        rnd = self.rnd
        msg = Msg()
        msg.kind = "dsn"
        msg.sender = ""
        msg.rcpts = [life.sender]
        msg.size = 3000 + life.size // 10 + rnd.randrange(2000)
        msg.headers = []
        msg.subject = "Undelivered Mail Returned to Sender"
        msg.client = None
        msg.bcc = False
        msg.refs = []
        msg.style = "postfix"
        msg.reply_to = None
        nl = self.new_life(v, "bounce", msg, "")
        stamp = _dt.datetime.fromtimestamp(int(self.W(v)), _dt.timezone.utc).strftime("%Y%m%d%H%M%S")
        msg.msgid = "<%s.%s@%s>" % (stamp, nl.qid, self.myhost)
        msg.hdr_order = [("Message-ID", msg.msgid)]
        nl.arr_us = self.P(v, "cleanup", "%s: message-id=%s" % (nl.qid, msg.msgid), self.eff_msgid(nl))
        self.P(v + 0.0004, "bounce", "%s: %s: %s" % (life.qid, what, nl.qid))
        v += 0.001 + rnd.random() * 0.003
        nl.active_us = self.P(v, "qmgr", "%s: from=<>, size=%d, nrcpt=1 (queue active)" % (nl.qid, nl.size))
        self.at(v + 0.003, self.deliver, nl)

    def lmtp(self, v, life, rcpts):
        """LMTP to Dovecot; returns True when something was deferred."""
        rnd = self.rnd
        lpid = self.pid("lmtp")
        relay = "%s[private/dovecot-lmtp]" % self.myhost
        if self.dovecot_down(v):
            for rc in rcpts:
                v += 0.0005
                ts = self.us(v)
                self.P(v, "lmtp", "%s: to=<%s>%s, relay=none, %s, dsn=4.4.1, status=deferred (connect to "
                       "%s: Connection refused)" % (life.qid, rc.final, self.orig(rc), self.delay_fields(
                           life, ts), relay), self.eff_status(life, rc, "deferred"), pid=lpid)
                rc.status = "deferred"
            return True, v
        dpid = self.lmtp_process()
        trans = self.b64(22)
        conn_us = self.us(v + 0.001 + rnd.random() * 0.002)
        self.D(v, "lmtp(%d)" % dpid, "Connect from local")
        v += 0.004 + rnd.random() * 0.01 + life.size / 5.0e7
        results = []
        for i, rc in enumerate(rcpts):
            sess = trans if i == 0 else "%s:R%d" % (trans, i + 1)
            v = self.dovecot_deliver(v, life, rc, dpid, sess, results)
        v += 0.001 + rnd.random() * 0.004
        deferred = False
        reuse = rnd.random() < 0.2
        for rc, sess, ok, err in results:
            v += 0.00005
            ts = self.us(v)
            df = self.delay_fields(life, ts, conn_us)
            cu = ", conn_use=%d" % (2 + rnd.randrange(3)) if reuse else ""
            if ok:
                self.P(v, "lmtp", "%s: to=<%s>%s, relay=%s%s, %s, dsn=2.0.0, status=sent (250 2.0.0 <%s> %s "
                       "Saved)" % (life.qid, rc.final, self.orig(rc), relay, cu, df, rc.final, sess),
                       self.eff_status(life, rc, "delivered"), pid=lpid)
                rc.done = True
                rc.status = "delivered"
            else:
                self.P(v, "lmtp", "%s: to=<%s>%s, relay=%s%s, %s, dsn=5.2.2, status=bounced (host %s said: "
                       "552 5.2.2 <%s> %s (in reply to end of DATA command))" % (
                           life.qid, rc.final, self.orig(rc), relay, cu, df, relay, rc.final, err),
                       self.eff_status(life, rc, "bounced"), pid=lpid)
                rc.done = True
                rc.status = "bounced"
        self.D(v + 0.0008 + rnd.random() * 0.002, "lmtp(%d)" % dpid,
               "Disconnect from local: Client has quit the connection (state=READY)")
        return deferred, v

    def orig(self, rc):
        return ", orig_to=<%s>" % rc.orig if rc.orig else ""

    def lmtp_process(self):
        if self.lmtp_pid is None or self.rnd.random() < 0.05:
            self.lmtp_pid = self.new_pid()
        return self.lmtp_pid

    def dovecot_deliver(self, v, life, rc, dpid, sess, results):
        """Dovecot LMTP side for one recipient: Sieve, mail_log save, delivery line."""
        rnd = self.rnd
        msg = life.msg
        mb = rc.mb
        user = rc.user
        pre = "lmtp(%s)<%d><%s>" % (user, dpid, sess)
        mid = msg.msgid
        shown = sanitize(mid, 200) if mid else "unspecified"
        v += 0.001 + rnd.random() * 0.004
        if mb is not None and any(a <= v < b for a, b in mb.quota):
            err = "Quota exceeded (mailbox for user is full)"
            if mb.sieve:
                self.D(v, pre, "sieve: msgid=%s: failed to store into mailbox 'INBOX': %s" % (shown, err),
                       self.eff_status(life, rc, "bounced"))
            else:
                self.D(v, pre, "msgid=%s: save failed to INBOX: %s" % (shown, err),
                       self.eff_status(life, rc, "bounced"))
            results.append((rc, sess, False, err))
            return v
        if mb is None:
            # personal mailbox
            uid = self.personal_uid.get(user, 100)
            self.personal_uid[user] = uid + 1
            v = self.after_uid(v, (user, "INBOX"))
            self.D(v, pre, "save: box=INBOX, uid=%d, msgid=%s, size=%d, flags=()" % (
                uid, sanitize(mid, 80) if mid else "", life.size - 200), uidkey=(user, "INBOX"))
            self.D(v + 0.0002, pre, "msgid=%s: saved mail to INBOX" % shown)
            results.append((rc, sess, True, None))
            return v + 0.001
        st = self.eff_status(life, rc, "delivered")
        if mb.sieve:
            v = self.vacation(v, life, rc, pre, shown)
        uid = mb.uidnext["INBOX"]
        mb.uidnext["INBOX"] = uid + 1
        inst = Inst()
        inst.folder = "INBOX"
        inst.uid = uid
        inst.flags = 0
        inst.kws = []
        inst.size = life.size - 150 - rnd.randrange(100)
        inst.msg = msg
        inst.t = v
        mb.inst.setdefault(mid, []).append(inst)
        v = self.after_uid(v + 0.0003 + rnd.random() * 0.002, (mb.user, "INBOX"))
        self.D(v, pre, "save: box=INBOX, uid=%d, msgid=%s, size=%d, flags=()" % (
            uid, sanitize(mid, 80), inst.size), st, uidkey=(mb.user, "INBOX"))
        v += 0.0002 + rnd.random() * 0.001
        dl = self.eff_delivered(life, rc)
        if mb.sieve:
            self.D(v, pre, "sieve: msgid=%s: stored mail into mailbox 'INBOX'" % shown, dl)
        else:
            self.D(v, pre, "msgid=%s: saved mail to INBOX" % shown, dl)
        results.append((rc, sess, True, None))
        # the agents will deal with it
        self.plan(v + 1, mb, msg, life)
        return v

    def vacation(self, v, life, rc, pre, shown):
        """Pigeonhole vacation action (checks in Pigeonhole 0.5 order)."""
        rnd = self.rnd
        msg = life.msg
        mb = rc.mb
        s = life.sender
        hv = {n.lower(): val for n, val in msg.headers}
        note = None
        v += 0.002 + rnd.random() * 0.01
        if s == "":
            note, text = "null-sender", "discarded vacation reply to <>"
        elif s.lower() == mb.address:
            note, text = "own-address", "discarded vacation reply to own address <%s>" % s
        elif mb.vac_last.get(s.lower()) is not None and v < mb.vac_last[s.lower()] + VACATION_PERIOD:
            note, text = "duplicate", "discarded duplicate vacation response to <%s>" % s
        elif msg.kind in ("newsletter", "newsletter-list"):
            note, text = "mailinglist", "discarding vacation response to mailinglist recipient <%s>" % s
        elif "auto-submitted" in hv and hv["auto-submitted"].strip().lower().split(" ")[0].split(";")[0] != "no":
            note, text = "auto-submitted", "discarding vacation response to auto-submitted message from <%s>" % s
        elif hv.get("precedence", "").strip().lower() in ("junk", "bulk", "list"):
            note = "precedence"
            text = "discarding vacation response to precedence=%s message from <%s>" % (
                hv["precedence"].strip(), s)
        elif s.split("@")[0].lower() in ("mailer-daemon", "listserv", "majordomo") or \
                "-request@" in s.lower() or s.lower().startswith("owner-"):
            note, text = "system-address", "not sending vacation response to system address <%s>" % s
        elif msg.bcc:
            note, text = "implicit", "discarding vacation response for message implicitly delivered to <%s>" \
                % rc.final
        if note is not None:
            self.D(v, pre, "sieve: msgid=%s: %s" % (shown, text), self.eff_ack(life, rc, note))
            return v
        # send it: sendmail -> postdrop -> pickup
        mb.vac_last[s.lower()] = v
        ack = Msg()
        ack.kind = "vacation"
        ack.sender = ""
        ack.rcpts = [s]
        ack.size = 1400 + rnd.randrange(600)
        e = self.us(v)
        self.vac_count = getattr(self, "vac_count", 0) + 1
        ack.msgid = "<dovecot-sieve-%d-%d-%d@%s>" % (e // 1000000, e % 1000000, self.vac_count % 3, self.myhost)
        refs = list(msg.refs) + [msg.msgid]
        ack.headers = [("In-Reply-To", msg.msgid), ("References", self.fold(refs, "\n ")),
                       ("Auto-Submitted", "auto-replied (vacation)"), ("Precedence", "bulk")]
        ack.hdr_order = [("Message-ID", ack.msgid)] + ack.headers
        ack.client = None
        ack.bcc = False
        ack.refs = refs
        ack.reply_to = mb.address          # From: of the acknowledgement
        ack.style = "sieve"
        ack.subject = ""
        self.D(v, pre, "sieve: msgid=%s: sent vacation response to <%s>" % (shown, s), self.eff_ack(life, rc))
        self.stats["acks"] += 1
        self.at(v + 0.004 + rnd.random() * 0.03, self.pickup, ack)
        return v

    def fold(self, ids, sep):
        """A References value as a client folds it (lines < 78 chars)."""
        out = ""
        line = 12
        for i, m in enumerate(ids):
            if i == 0:
                out = m
                line += len(m)
            elif line + 1 + len(m) > 78:
                out += sep + m
                line = len(m) + 1
            else:
                out += " " + m
                line += 1 + len(m)
        return out

    def pickup(self, v, msg):
        life = self.new_life(v, "pickup", msg, msg.sender)
        life.arr_us = self.P(v, "pickup", "%s: uid=%d from=<%s>" % (life.qid, VMAIL_UID, msg.sender))
        v += 0.002 + self.rnd.random() * 0.01
        v = self.cleanup_group(v, life, "local", "")
        v += 0.0005 + self.rnd.random() * 0.002
        life.active_us = self.P(v, "qmgr", "%s: from=<%s>, size=%d, nrcpt=%d (queue active)"
                                % (life.qid, life.sender, life.size, life.nrcpt))
        self.at(v + 0.003, self.deliver, life)

    def smtp_out(self, v, life, rc):
        """SMTP delivery to a remote domain; returns True when deferred."""
        rnd = self.rnd
        dom = rc.final.split("@")[-1].lower()
        prov = None
        for p in PROVIDERS:
            if p[0] == dom:
                prov = p
        v += 0.2 + rnd.random() * 1.5
        spid = self.pid("smtp")
        if getattr(life.msg, "kind", "") == "dead-domain" or dom.endswith(".invalid-fai.fr"):
            # no MX: Host or domain name not found
            ts = self.us(v)
            self.P(v, "smtp", "%s: to=<%s>, relay=none, %s, dsn=4.4.3, status=deferred (Host or domain name not "
                   "found. Name service error for name=%s type=MX: Host not found, try again)"
                   % (life.qid, rc.final, self.delay_fields(life, ts), dom), pid=spid)
            return True, v
        if prov is None:
            mxh, mxip = "mx.%s" % dom, "51.91.%d.%d" % (rnd.randrange(1, 255), rnd.randrange(1, 255))
            text = "250 2.0.0 Ok: queued as %s" % self.b64(12).replace("/", "x").replace("+", "Z")
        else:
            mxh, mxip = prov[4], self.fill(prov[5])
            text = self.fill(prov[7], life.msg.msgid.strip("<>") if life.msg.msgid else "")
        relay = "%s[%s]:25" % (mxh, mxip)
        conn = self.us(v - 0.1 - rnd.random() * 0.3)
        ts = self.us(v)
        if conn < life.active_us:
            conn = life.active_us + 5000
        r = rnd.random()
        if life.msg.kind == "bad-rcpt" and not rc.done:
            self.P(v, "smtp", "%s: to=<%s>, relay=%s, %s, dsn=5.1.1, status=bounced (host %s said: 550 5.1.1 "
                   "<%s>: Recipient address rejected: User unknown (in reply to RCPT TO command))"
                   % (life.qid, rc.final, relay, self.delay_fields(life, ts, conn), relay[:-3], rc.final), pid=spid)
            rc.done = True
            rc.status = "bounced"
            return False, v
        if life.tries == 1 and r < 0.025:
            self.P(v, "smtp", "%s: to=<%s>, relay=%s, %s, dsn=4.7.1, status=deferred (host %s said: 450 4.7.1 "
                   "<%s>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/%s.html "
                   "(in reply to RCPT TO command))" % (life.qid, rc.final, relay, self.delay_fields(life, ts, conn),
                                                       relay[:-3], rc.final, dom), pid=spid)
            return True, v
        self.P(v, "smtp", "%s: to=<%s>, relay=%s, %s, dsn=2.0.0, status=sent (%s)"
               % (life.qid, rc.final, relay, self.delay_fields(life, ts, conn), text), pid=spid)
        rc.done = True
        rc.status = "delivered"
        # the other side may answer automatically (out of office)
        if life.sender != "" or life.msg.kind == "vacation":
            if rnd.random() < 0.02 and prov is not None:
                self.at(v + 5 + rnd.random() * 120, self.ooo, life, rc, prov)
        return False, v

    # ------------------------------------------------------------------ messages
    def base_msg(self, kind, sender, rcpts, style, dom, v, size=None):
        rnd = self.rnd
        m = Msg()
        m.kind = kind
        m.sender = sender
        m.rcpts = rcpts
        m.size = size if size is not None else int(min(2.5e7, rnd.lognormvariate(math.log(9000), 1.2))) + 1500
        m.msgid = self.msgid_for(style, dom, v)
        m.headers = []
        m.client = None
        m.bcc = False
        m.refs = []
        m.reply_to = None
        m.style = style
        m.subject = ""
        return m

    def order_headers(self, m):
        """Header order as the sending software writes it."""
        h = {n: val for n, val in m.headers}
        st = m.style
        if st == "gmail":
            order = ["References", "In-Reply-To", "Message-ID", "Auto-Submitted", "X-Autoreply", "Precedence"]
        elif st == "outlook":
            order = ["Message-ID", "References", "In-Reply-To", "Auto-Submitted", "X-Autoreply", "Precedence"]
        elif st == "tb":
            order = ["Message-ID", "References", "In-Reply-To", "Auto-Submitted", "X-Autoreply", "Precedence"]
        else:
            order = ["Precedence", "Auto-Submitted", "X-Autoreply", "Message-ID", "In-Reply-To", "References"]
        out = []
        for n in order:
            if n == "Message-ID":
                out.append(("Message-ID", m.msgid))
            elif n in h:
                out.append((n, h[n]))
        for n, val in m.headers:
            if n not in order:
                out.append((n, val))
        m.hdr_order = out

    def arrival(self, v, mb):
        """Next message of mailbox mb's stream (thinning), then schedule the following one."""
        rnd = self.rnd
        lam_max = self.rate_max(mb.weight)
        v2 = v + rnd.expovariate(lam_max)
        self.at(v2, self.arrival, mb)
        if rnd.random() * lam_max > self.rate(mb.weight, v):
            return
        self.new_incoming(v, mb)

    def rate_max(self, w):
        return w * self.a.rate_scale * BASE_PER_HOUR * 1.6 * 1.25 / 3600.0

    def rate(self, w, v):
        d = self.profile_local(v)
        f = DAY_FACTOR[d.weekday()]
        if self.cal.is_holiday(d.date()):
            f = min(f, HOLIDAY_FACTOR)
        return w * self.a.rate_scale * BASE_PER_HOUR * HOURLY[d.hour] * f / 3600.0

    def pick_kind(self):
        x = self.rnd.random()
        for k, p in KINDS:
            x -= p
            if x < 0:
                return k
        return "citizen"

    def new_incoming(self, v, mb, kind=None, reply_of=None, sender=None, prov=None):
        rnd = self.rnd
        kind = kind or self.pick_kind()
        to = mb.address
        r = rnd.random()
        if mb.aliases and r < 0.3:
            to = mb.aliases[0]
        elif r < 0.02:
            to = to.capitalize() if rnd.random() < 0.7 else to.upper()
        rcpts = [to]
        if kind in ("citizen", "explicit-auto-no", "resend", "followup") and rnd.random() < 0.10:
            if len(self.mailboxes) > 1 and rnd.random() < 0.55:
                other = self.mailboxes[(mb.idx + 1 + rnd.randrange(len(self.mailboxes) - 1)) % len(self.mailboxes)]
                rcpts.append(other.address)
            else:
                rcpts.append(rnd.choice(self.personal))
            if rnd.random() < 0.5:
                rcpts.reverse()
        if sender is None:
            if kind in ("citizen", "explicit-auto-no", "x-autoreply", "resend", "followup", "ooo"):
                sender, prov = self.citizen(v)
            elif kind == "form":
                sender, prov = FORM_SENDER, PROVIDERS[-1]
            elif kind in ("newsletter", "newsletter-list"):
                sender, prov = rnd.choice(NEWSLETTERS), PROVIDERS[-1]
            elif kind == "notification":
                sender, prov = rnd.choice(NOTIFIERS), PROVIDERS[-1]
            elif kind in ("spam", "precedence-junk"):
                sender = "%s%d@%s" % (rnd.choice(["info", "promo", "contact", "service"]), rnd.randrange(999),
                                      rnd.choice(SPAM_DOMAINS))
                prov = PROVIDERS[-1]
            elif kind == "remote-dsn":
                sender, prov = "", rnd.choice(PROVIDERS[:10])
            elif kind == "mailer-daemon":
                prov = rnd.choice(PROVIDERS[:10])
                sender = "MAILER-DAEMON@%s" % self.fill(prov[4])
        sdom = sender.split("@")[-1] if sender else prov[0]
        style = prov[6]
        if kind in ("newsletter", "newsletter-list", "notification", "form"):
            style = "bulk"
        elif kind in ("spam", "precedence-junk"):
            style = "spam"
        elif kind in ("remote-dsn", "mailer-daemon"):
            style = "bulk"
        m = self.base_msg(kind, sender, rcpts, style, sdom.lower() if style in ("bulk", "spam", "apple", "tb")
                          else prov[0], v)
        if style in ("bulk", "spam"):
            m.style = "other"
        if kind in ("newsletter", "newsletter-list", "notification", "spam", "precedence-junk", "form",
                    "remote-dsn", "mailer-daemon"):
            host = "mail-out%d.%s" % (1 + rnd.randrange(9), sdom or "example.net")
            m.client = (host, "%d.%d.%d.%d" % (51 + rnd.randrange(150), rnd.randrange(255), rnd.randrange(255),
                                               1 + rnd.randrange(254)), host)
            if kind == "spam" and rnd.random() < 0.5:
                m.client = ("unknown", m.client[1], "localhost")
        else:
            m.client = self.client_of(prov)
        h = m.headers
        if kind == "newsletter":
            h.append(("Precedence", "bulk" if rnd.random() < 0.85 else "Bulk"))
        elif kind == "notification":
            h.append(("Auto-Submitted", "auto-generated"))
            if rnd.random() < 0.4:
                h.append(("Precedence", "bulk"))
        elif kind == "x-autoreply":
            h.append(("X-Autoreply", "yes"))
        elif kind == "precedence-junk":
            h.append(("Precedence", "junk"))
        elif kind == "explicit-auto-no":
            h.append(("Auto-Submitted", "no"))
        elif kind == "remote-dsn" and rnd.random() < 0.5:
            h.append(("Auto-Submitted", "auto-replied"))
        elif kind == "citizen" and rnd.random() < 0.05:
            # the citizen answers our acknowledgement, or an old thread we never saw
            old = "<%s@%s>" % (self.b64(20).replace("/", "x").replace("+", "y"), prov[0])
            h.append(("In-Reply-To", old))
            h.append(("References", old))
            m.refs = [old]
        if kind == "citizen" and rnd.random() < 0.03:
            m.bcc = True
        if reply_of is not None:
            refs, parent = reply_of
            m.refs = list(refs)
            h.append(("In-Reply-To", parent if rnd.random() < 0.97 else
                      "%s (message from %s)" % (parent, self.domain)))
            h.append(("References", self.fold(m.refs, "\n\t" if style == "outlook" else "\n ")))
        self.order_headers(m)
        if kind == "spam" and rnd.random() < 0.2:
            m.kind = "spam-reject"
            m.hdr_order.append(("Subject", rnd.choice(SPAM_SUBJECTS)))
        self.smtp_in(v, m)

    # ------------------------------------------------------------------ agents
    def session(self, v, ag):
        """The agent's IMAP session for the day (login when needed)."""
        rnd = self.rnd
        day = self.profile_local(v).date()
        key = ag.email
        s = self.sessions.get(key)
        if s is not None and s[2] == day and s[3] > v:
            return s
        pid = self.new_pid()
        sid = self.b64(16)
        d = self.profile_local(v)
        end = v + max(600.0, (18 * 3600 - (d.hour * 3600 + d.minute * 60)) + rnd.random() * 3600)
        s = [pid, sid, day, end, 0, 0]
        self.sessions[key] = s
        self.D(v, "imap-login", "Login: user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.5, mpid=%d, TLS, "
               "session=<%s>" % (ag.imap_user, ag.ip, pid, sid))
        self.at(end, self.logout, ag, s)
        return s

    def logout(self, v, ag, s):
        if self.sessions.get(ag.email) is not s:
            return
        del self.sessions[ag.email]
        if self.dovecot_down(v):
            return
        rnd = self.rnd
        self.D(v, "imap(%s)<%d><%s>" % (ag.imap_user, s[0], s[1]),
               "Logged out in=%d out=%d deleted=%d expunged=%d trashed=0 hdr_count=%d hdr_bytes=%d "
               "body_count=%d body_bytes=%d" % (2000 + rnd.randrange(90000), 30000 + rnd.randrange(9000000),
                                                s[4], s[5], rnd.randrange(400), rnd.randrange(90000),
                                                rnd.randrange(60), rnd.randrange(5000000)))

    def imap_prefix(self, v, ag):
        s = self.session(v, ag)
        return "imap(%s)<%d><%s>" % (ag.imap_user, s[0], s[1]), s

    def box(self, ag, folder):
        return sanitize(ag.prefix + folder, 64)

    def plan(self, v, mb, msg, life):
        """What the agents will do with a message just delivered to mb (a list of steps)."""
        rnd = self.rnd
        ag = rnd.choice(mb.agents)
        auto = classify(life.sender, msg.headers)
        steps = []
        kind = msg.kind
        t = v
        if auto or kind in ("dsn",):
            r = rnd.random()
            if r < 0.55:
                t = self.office(t, 600 + rnd.random() * 20 * 3600)
                steps.append((t, "seen"))
                steps.append((t + 3 + rnd.random() * 20, rnd.choice(["trash", "trash", "delete", "junk"])))
            elif r < 0.75:
                t = self.office(t, 600 + rnd.random() * 30 * 3600)
                steps.append((t, "seen"))
                steps.append((t + 5 + rnd.random() * 30, "archive"))
            elif r < 0.85:
                steps.append((self.office(t, 300 + rnd.random() * 8 * 3600), "seen"))
            self.start_plan(mb, msg, ag, steps)
            return
        if kind in ("spam", "newsletter-list"):
            t = self.office(t, 300 + rnd.random() * 6 * 3600)
            steps.append((t, "seen"))
            steps.append((t + 2 + rnd.random() * 15, "junk" if kind == "spam" and rnd.random() < 0.5 else
                          rnd.choice(["trash", "delete"])))
            self.start_plan(mb, msg, ag, steps)
            return
        # a human message
        d = self.reply_delay(mb)
        t_act = self.office(v, d)
        r = rnd.random()
        t_read = self.office(v, d * (0.05 + rnd.random() * 0.5))
        if t_read >= t_act:
            t_read = t_act - 20 - rnd.random() * 100
            if t_read <= v:
                t_read = v + (t_act - v) / 2
        steps.append((t_read, "seen"))
        # what happens between reading and acting, in this order
        mid = []
        if rnd.random() < 0.08:
            mid.append("flag")
        if rnd.random() < 0.10:
            mid.append("work")
        if rnd.random() < 0.03:
            mid.append("forward")
        closed_first = r < 0.74 and rnd.random() < 0.015
        if closed_first:
            mid.append("archive")          # archived first, answered later from Archives
        busy = self.cal.business_seconds(t_read + self.shift, t_act + self.shift)
        if mid and busy > 120 * (len(mid) + 1):
            for k, w in enumerate(mid):
                b = busy * (k + 1 + rnd.random() * 0.3) / (len(mid) + 1)
                steps.append((self.cal.add_business(t_read + self.shift, b) - self.shift, w))
        else:
            closed_first = False
        post = []
        if r < 0.74:
            steps.append((t_act, "reply"))
            if rnd.random() < 0.06:
                # a second reply in the thread, later
                post.append((self.office(t_act, 3600 + rnd.random() * 16 * 3600), "reply2"))
            if not closed_first:
                r2 = rnd.random()
                if r2 < 0.55:
                    post.append((self.office(t_act, 60 + rnd.random() * 20 * 3600), "archive"))
                elif r2 < 0.62:
                    post.append((self.office(t_act, 60 + rnd.random() * 8 * 3600), "trash"))
        elif r < 0.80:
            steps.append((t_act, "answered"))
            if rnd.random() < 0.5:
                post.append((t_act + 30 + rnd.random() * 600, "archive"))
        elif r < 0.90:
            steps.append((t_act, rnd.choice(["archive", "archive", "trash", "delete", "delete-undelete"])))
        steps.extend(sorted(post))
        # else: nothing more (the backlog's tail)
        self.start_plan(mb, msg, ag, steps)
        # citizens who write again when nobody answers
        if kind in ("citizen", "followup") and rnd.random() < 0.15:
            first_reply = min([x[0] for x in steps if x[1] in ("reply", "answered")] or [1e18])
            again = v + 86400 * (2 + rnd.random() * 3)
            if again < first_reply:
                self.at(again, self.resend, mb, life.sender)

    def reply_delay(self, mb):
        rnd = self.rnd
        r = rnd.random()
        if r < 0.22:
            d = 180 + rnd.random() * 3420
        elif r < 0.62:
            d = min(8 * 3600, max(3600, rnd.lognormvariate(math.log(3 * 3600), 0.7)))
        elif r < 0.92:
            d = 8 * 3600 + rnd.random() * 24 * 3600
        else:
            d = 32 * 3600 + rnd.random() * 64 * 3600
        return d * mb.speed

    def resend(self, v, mb, sender):
        self.new_incoming(v, mb, kind="resend", sender=sender, prov=self.prov_of(sender))

    def prov_of(self, addr):
        dom = addr.split("@")[-1].lower()
        for p in PROVIDERS:
            if p[0] == dom:
                return p
        return PROVIDERS[-1]

    def start_plan(self, mb, msg, ag, steps):
        if steps:
            self.at(steps[0][0], self.step, mb, msg, ag, steps, 0)

    def step(self, v, mb, msg, ag, steps, i):
        end = self.dovecot_down(v)
        if end is not None:
            self.at(end + 60 + self.rnd.random() * 600, self.step, mb, msg, ag, steps, i)
            return
        self.act(v, mb, msg, ag, steps[i][1])
        if i + 1 < len(steps):
            t = steps[i + 1][0]
            if t < v + 8:
                t = v + 8 + self.rnd.random() * 5
            self.at(t, self.step, mb, msg, ag, steps, i + 1)

    def primary(self, mb, msg):
        lst = mb.inst.get(msg.msgid)
        if not lst:
            return None
        for x in lst:
            if not self.closed_folder(x.folder):
                return x
        return lst[0]

    def closed_folder(self, f):
        for c in CLOSED_FOLDERS:
            if f == c or f.startswith(c + SEP):
                return True
        return False

    def mlog(self, v, ag, mb, inst, what, eff=None, box=None):
        pre, s = self.imap_prefix(v, ag)
        b = box or self.box(ag, inst.folder)
        return self.D(v, pre, "%s: box=%s, uid=%d, msgid=%s, size=%d, flags=%s" % (
            what, b, inst.uid, sanitize(inst.msg.msgid, 80), inst.size, flags_str(inst.flags, inst.kws)),
            eff, uidkey=(mb.user, inst.folder) if what.startswith(("copy", "save")) else None)

    def act(self, v, mb, msg, ag, what):
        rnd = self.rnd
        inst = self.primary(mb, msg)
        if inst is None:
            return
        self.stats["imap_actions"] += 1
        if what == "seen":
            if inst.flags & F_SEEN:
                return
            inst.flags |= F_SEEN
            if rnd.random() < 0.05:
                inst.flags |= F_RECENT
            self.mlog(v, ag, mb, inst, "flag_change")
            inst.flags &= ~F_RECENT
        elif what == "flag":
            inst.flags |= F_FLAGGED
            self.mlog(v, ag, mb, inst, "flag_change")
        elif what in ("reply", "reply2"):
            out = self.submit_reply(v, mb, msg, ag, second=(what == "reply2"))
            if out is not None and what == "reply" and rnd.random() < 0.88:
                # the client sets \Answered once the message is sent
                self.at(v + 1.5 + rnd.random() * 4, self.later, mb, msg, ag, "answered")
        elif what == "answered":
            if not inst.flags & F_ANSWERED:
                inst.flags |= F_ANSWERED | F_SEEN
                self.mlog(v, ag, mb, inst, "flag_change", self.eff_answered(mb, msg.msgid, ag.imap_user))
        elif what in ("archive", "trash", "junk", "junk-move", "work"):
            if what == "junk":
                if "Junk" not in mb.keywords:
                    mb.keywords.append("Junk")
                inst.kws = [k for k in mb.keywords if k in inst.kws + ["Junk"]]
                inst.flags |= F_SEEN
                self.mlog(v, ag, mb, inst, "flag_change")
                self.at(v + 0.2 + rnd.random(), self.later, mb, msg, ag, "junk-move")
                return
            if what == "archive":
                dest = "Archives" + (SEP + str(self.profile_local(v).year) if mb.yearly else "")
            elif what == "trash":
                dest = "Trash"
            elif what in ("junk", "junk-move"):
                dest = "Junk"
            else:
                dest = mb.work_folder
            if dest == inst.folder:
                return
            self.move(v, mb, msg, ag, inst, dest, what)
        elif what == "delete":
            inst.flags |= F_DELETED | F_SEEN
            self.mlog(v, ag, mb, inst, "delete")
            self.at(v + 2 + rnd.random() * 600, self.expunge_deleted, mb, msg, ag, inst)
        elif what == "delete-undelete":
            inst.flags |= F_DELETED | F_SEEN
            self.mlog(v, ag, mb, inst, "delete")
            self.at(v + 3 + rnd.random() * 40, self.later, mb, msg, ag, "undelete")
        elif what == "undelete":
            if inst.flags & F_DELETED:
                inst.flags &= ~F_DELETED
                self.mlog(v, ag, mb, inst, "undelete")
        elif what == "forwarded":
            if "$Forwarded" not in mb.keywords:
                mb.keywords.append("$Forwarded")
            inst.kws = [k for k in mb.keywords if k in inst.kws + ["$Forwarded"]]
            self.mlog(v, ag, mb, inst, "flag_change")
        elif what == "forward":
            self.submit_forward(v, mb, msg, ag)
            self.at(v + 1 + rnd.random() * 3, self.later, mb, msg, ag, "forwarded")

    def cleanup(self, v, mb):
        """Now and then an agent selects everything older than a month in INBOX and archives it
        (one IMAP MOVE of many messages: a burst of copy/expunge lines)."""
        rnd = self.rnd
        self.at(self.office(v + (28 + rnd.random() * 14) * 86400, rnd.random() * 4 * 3600), self.cleanup, mb)
        if self.dovecot_down(v):
            return
        ag = rnd.choice(mb.agents)
        old = []
        for lst in mb.inst.values():
            for x in lst:
                if x.folder == "INBOX" and x.t < v - 30 * 86400 and not x.flags & F_DELETED:
                    old.append(x)
        old.sort(key=lambda x: x.uid)
        dest = "Archives" + (SEP + str(self.profile_local(v).year) if mb.yearly else "")
        # Dovecot logs the whole transaction at commit: every copy, then every expunge
        step = 0.0004
        for k, x in enumerate(old):
            self.move(v + k * step, mb, x.msg, ag, x, dest, "archive", t_expunge=v + (len(old) + k + 1) * step)
        self.stats["bulk_archived"] = self.stats.get("bulk_archived", 0) + len(old)

    def later(self, v, mb, msg, ag, what):
        """An IMAP action that follows another one by a few seconds (its own event, so that
        every flags=() written reflects the state at its own time)."""
        if self.dovecot_down(v):
            return
        self.act(v, mb, msg, ag, what)

    def move(self, v, mb, msg, ag, inst, dest, what, t_expunge=None):
        """IMAP MOVE: copy line in the destination, expunge line in the source."""
        rnd = self.rnd
        uid = mb.uidnext.get(dest)
        if uid is None:
            uid = 1 + rnd.randrange(3000)
        mb.uidnext[dest] = uid + 1
        ni = Inst()
        ni.folder, ni.uid, ni.flags, ni.kws, ni.size, ni.msg, ni.t = dest, uid, inst.flags & ~F_RECENT, \
            list(inst.kws), inst.size, inst.msg, inst.t
        v = self.after_uid(v, (mb.user, dest))
        self.mlog(v, ag, mb, ni, "copy from %s" % self.box(ag, inst.folder), box=self.box(ag, dest))
        lst = mb.inst[msg.msgid]
        lst.append(ni)
        lst.remove(inst)
        eff = None
        if not any(not self.closed_folder(x.folder) for x in lst):
            how = {"Trash": "trash", "Junk": "junk"}.get(dest, "archive")
            eff = self.eff_closed(mb, msg.msgid, how)
        te = v + 0.0005 + rnd.random() * 0.002
        if t_expunge is not None and t_expunge > v:
            te = t_expunge
        self.mlog(te, ag, mb, inst, "expunge", eff)
        s = self.sessions.get(ag.email)
        if s is not None:
            s[5] += 1

    def expunge_deleted(self, v, mb, msg, ag, inst):
        lst = mb.inst.get(msg.msgid, [])
        if inst not in lst or self.dovecot_down(v):
            return
        lst.remove(inst)
        eff = None
        if not any(not self.closed_folder(x.folder) for x in lst):
            eff = self.eff_closed(mb, msg.msgid, "expunge" if not lst else
                                  {"Trash": "trash", "Junk": "junk"}.get(lst[0].folder.split(SEP)[0], "archive"))
        self.mlog(v, ag, mb, inst, "expunge", eff)

    def submit(self, v, ag, env_from, rcpts, headers, kind, style, sasl=None):
        """An agent's mail client sends a message through submission; returns the life."""
        rnd = self.rnd
        m = Msg()
        m.kind = kind
        m.sender = env_from
        m.rcpts = rcpts
        m.size = int(rnd.lognormvariate(math.log(6000), 0.9)) + 1200
        m.msgid = self.msgid_for("outlook" if style == "outlook" else "tb", self.domain, v)
        m.headers = headers
        m.client = None
        m.bcc = False
        m.refs = []
        m.reply_to = None
        m.style = style
        m.subject = ""
        self.order_headers(m)
        spid = self.new_pid() if rnd.random() < 0.5 else self.pid("submission/smtpd")
        ci = "%s[%s]" % (ag.host, ag.ip)
        self.P(v, "submission/smtpd", "connect from %s" % ci, pid=spid)
        v += 0.01 + rnd.random() * 0.05
        self.P(v, "submission/smtpd", "Anonymous TLS connection established from %s: TLSv1.3 with cipher "
               "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) "
               "server-digest SHA256" % ci, pid=spid)
        v += 0.05 + rnd.random() * 0.2
        life = self.new_life(v, "submission", m, env_from)
        life.sasl = sasl or ag.sasl
        life.arr_us = self.P(v, "submission/smtpd", "%s: client=%s, sasl_method=PLAIN, sasl_username=%s"
                             % (life.qid, ci, life.sasl), pid=spid)
        v += 0.05 + rnd.random() * 0.3 + m.size / 2.0e6
        v = self.cleanup_group(v, life, ci, " proto=ESMTP helo=<%s>" % ag.helo)
        v += 0.0005 + rnd.random() * 0.002
        life.active_us = self.P(v, "qmgr", "%s: from=<%s>, size=%d, nrcpt=%d (queue active)"
                                % (life.qid, life.sender, life.size, life.nrcpt), self.eff_reply(life))
        n = len(rcpts)
        self.P(v + 0.01 + rnd.random() * 0.04, "submission/smtpd", "disconnect from %s ehlo=2 starttls=1 auth=1 "
               "mail=1 rcpt=%d data=1 quit=1 commands=%d" % (ci, n, 7 + n), pid=spid)
        self.at(v + 0.002 + rnd.random() * 0.01, self.deliver, life)
        return life

    def submit_reply(self, v, mb, msg, ag, second=False):
        rnd = self.rnd
        if msg.kind == "form":
            to = self.citizen(v)[0]            # the citizen's address (Reply-To of the form)
        elif msg.sender == "":
            return None
        else:
            to = msg.sender
        refs = list(msg.refs) + [msg.msgid]
        parent = refs[-1]
        env = mb.address
        if ag.sasl != mb.address and rnd.random() < 0.10:
            env = ag.sasl                        # sent from the agent's own address
        r = rnd.random()
        sep = "\n\t" if ag.style == "outlook" else "\n "
        if r < 0.90:
            hdrs = [("References", self.fold(refs, sep)), ("In-Reply-To", parent)]
        elif r < 0.96:
            hdrs = [("References", self.fold(refs, sep))]           # References only
        else:
            hdrs = [("In-Reply-To", parent)]
        rcpts = [to]
        if rnd.random() < 0.05:
            rcpts.append(rnd.choice(self.personal))
        dead = rnd.random()
        life_kind = "reply"
        if dead < 0.006:
            life_kind = "bad-rcpt"
        elif dead < 0.009:
            life_kind = "dead-domain"
            rcpts[0] = to.split("@")[0] + "@" + to.split("@")[-1].split(".")[0] + ".invalid-fai.fr"
        life = self.submit(v, ag, env, rcpts, hdrs, life_kind, ag.style)
        self.stats["replies"] += 1
        # save the copy in Sent (Thunderbird/Outlook APPEND)
        self.at(v + 0.8 + rnd.random(), self.sent_copy, ag, life)
        # the citizen may write back in the thread
        if life_kind == "reply" and rnd.random() < 0.12 and msg.kind != "form":
            back = v + rnd.lognormvariate(math.log(6 * 3600), 1.2)
            self.at(back, self.followup, mb, to, refs + [life.msg.msgid], life.msg.msgid)
        return life

    def sent_copy(self, v, ag, life):
        """The client APPENDs its copy to Sent (the agent's own, or the functional mailbox's)."""
        if self.dovecot_down(v):
            return
        key = (ag.imap_user, "Sent")
        v = self.after_uid(v, key)
        pre, s = self.imap_prefix(v, ag)
        uid = self.sent_uid.get(key, 300 + self.rnd.randrange(5000))
        self.sent_uid[key] = uid + 1
        self.D(v, pre, "save: box=Sent, uid=%d, msgid=%s, size=%d, flags=(\\Seen)"
               % (uid, sanitize(life.msg.msgid, 80), life.size - 300), uidkey=key)

    def followup(self, v, mb, sender, refs, parent):
        self.new_incoming(v, mb, kind="followup", reply_of=(refs, parent), sender=sender,
                          prov=self.prov_of(sender))

    def submit_forward(self, v, mb, msg, ag):
        rnd = self.rnd
        to = rnd.choice(self.personal)
        self.submit(v, ag, mb.address if rnd.random() < 0.7 else ag.sasl, [to], [], "forward", ag.style)

    def ooo(self, v, life, rc, prov):
        """An out-of-office answer from the citizen's server to one of our messages."""
        rnd = self.rnd
        back_to = life.msg.reply_to or life.msg.sender      # the From: header
        mb = self.by_addr.get((back_to or "").lower())
        if mb is None:
            return
        r = rnd.random()
        m = self.base_msg("ooo", rc.final, [mb.address], prov[6], prov[0], v, size=3000 + rnd.randrange(4000))
        m.client = self.client_of(prov)
        if r < 0.55:
            m.headers = [("Auto-Submitted", "auto-replied")]
            if rnd.random() < 0.4:
                m.headers.append(("X-Autoreply", "yes"))
        elif r < 0.70:
            m.headers = [("X-Autoreply", "yes")]
        elif r < 0.85:
            m.sender = ""
        else:
            m.headers = [("Precedence", "auto_reply")]
        m.headers.append(("In-Reply-To", life.msg.msgid))
        self.order_headers(m)
        self.smtp_in(v, m)

    # ------------------------------------------------------------------ background traffic
    def personal_traffic(self, v):
        rnd = self.rnd
        lam_max = self.rate_max(self.pers_weight)
        self.at(v + rnd.expovariate(lam_max), self.personal_traffic)
        if rnd.random() * lam_max > self.rate(self.pers_weight, v):
            return
        r = rnd.random()
        if r < 0.55:
            sender, prov = self.citizen(v) if rnd.random() < 0.5 else (
                "%s@%s" % (rnd.choice(["dgcl", "cabinet", "info"]), rnd.choice(["interieur.gouv.fr",
                                                                               "region-exemple.fr"])),
                PROVIDERS[-1])
            rc = [rnd.choice(self.personal)]
            if rnd.random() < 0.2:
                rc.append(rnd.choice(self.personal))
                if rc[1] == rc[0]:
                    rc.pop()
            m = self.base_msg("personal", sender, rc, prov[6], prov[0], v)
            m.client = self.client_of(prov)
            if rnd.random() < 0.01:
                m.msgid = ""
                m.hdr_order = [("Message-ID", "<>")]
                m.kind = "no-msgid"
                self.msgid_none(v, m)
                return
            self.order_headers(m)
            self.smtp_in(v, m)
        else:
            # an agent's own mail, sometimes answering an external thread (mostly at work)
            if not self.cal.is_open(v + self.shift) and rnd.random() < 0.9:
                return
            mb = rnd.choice(self.mailboxes)
            ag = rnd.choice(mb.agents)
            to = self.citizen(v)[0] if rnd.random() < 0.6 else rnd.choice(self.personal)
            hdrs = []
            if rnd.random() < 0.3:
                ext = "<%s@%s>" % (self.b64(18).replace("/", "x").replace("+", "y"), "mail.gmail.com")
                hdrs = [("References", ext), ("In-Reply-To", ext)]
            env = ag.email
            self.submit(v, ag, env, [to], hdrs, "personal-out", ag.style, sasl=ag.email)

    def msgid_none(self, v, m):
        """A scanner's mail without Message-ID (Postfix logs message-id=<>)."""
        m.msgid = ""
        self.smtp_in(v, m)

    def noise(self, v):
        rnd = self.rnd
        self.at(v + rnd.expovariate(1.0 / 1500.0), self.noise)
        r = rnd.random()
        ip = "%d.%d.%d.%d" % (rnd.choice([45, 80, 92, 141, 185, 193, 194]), rnd.randrange(255),
                              rnd.randrange(255), 1 + rnd.randrange(254))
        ci = "unknown[%s]" % ip
        pid = self.new_pid()
        if r < 0.45:
            self.P(v, "smtpd", "connect from %s" % ci, pid=pid)
            self.P(v + 0.3 + rnd.random(), "smtpd", "lost connection after EHLO from %s" % ci, pid=pid)
            self.P(v + 1.4 + rnd.random(), "smtpd", "disconnect from %s ehlo=1 commands=1" % ci, pid=pid)
        elif r < 0.75:
            self.P(v, "submission/smtpd", "connect from %s" % ci, pid=pid)
            self.P(v + 1 + rnd.random(), "submission/smtpd", "warning: %s: SASL LOGIN authentication failed: "
                   "UGFzc3dvcmQ6" % ci, pid=pid)
            self.P(v + 1.2 + rnd.random(), "submission/smtpd", "lost connection after AUTH from %s" % ci, pid=pid)
            self.P(v + 2.5 + rnd.random(), "submission/smtpd", "disconnect from %s ehlo=1 auth=0/1 commands=1/2"
                   % ci, pid=pid)
        elif r < 0.85:
            self.P(v, "smtpd", "warning: hostname %d-%d-%d-%d.dyn.example.net does not resolve to address %s"
                   % (rnd.randrange(255), rnd.randrange(255), rnd.randrange(255), rnd.randrange(255), ip), pid=pid)
        elif r < 0.95:
            self.D(v, "imap-login", "Disconnected: Connection closed (no auth attempts in %d secs): user=<>, "
                   "rip=%s, lip=10.0.0.5, TLS handshaking: Connection closed, session=<%s>" % (
                       rnd.randrange(3), ip, self.b64(16)))
        else:
            self.P(v, "anvil", "statistics: max connection rate %d/60s for (smtp:%s) at %s" % (
                2 + rnd.randrange(5), ip, self.profile_stamp(v)), pid=self.pid("anvil"))

    def profile_stamp(self, v):
        d = _dt.datetime.fromtimestamp(self.W(v), self.tz)
        return "%s %2d %02d:%02d:%02d" % (MONTHS[d.month - 1], d.day, d.hour, d.minute, d.second)

    def rejects(self, v):
        """NOQUEUE rejects at RCPT (RBL, unknown sender domain, reverse DNS)."""
        rnd = self.rnd
        self.at(v + rnd.expovariate(self.reject_rate), self.rejects)
        ip = "%d.%d.%d.%d" % (rnd.choice([5, 31, 45, 91, 103, 185, 193]), rnd.randrange(255), rnd.randrange(255),
                              1 + rnd.randrange(254))
        if rnd.random() < 0.7:
            to = rnd.choice(self.mailboxes).address
        else:
            to = rnd.choice(self.personal)
        sdom = rnd.choice(SPAM_DOMAINS)
        sender = "%s@%s" % (rnd.choice(["admin", "noreply", "support", "hr"]), sdom)
        r = rnd.random()
        if r < 0.6:
            reason = ("554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org; "
                      "https://www.spamhaus.org/query/ip/%s" % (ip, ip))
        elif r < 0.8:
            reason = "450 4.7.1 Client host rejected: cannot find your reverse hostname, [%s]" % ip
        else:
            reason = "450 4.1.8 <%s>: Sender address rejected: Domain not found" % sender
        m = Msg()
        m.kind = "rejected-rbl"
        m.sender = sender
        m.rcpts = [to]
        m.client = ("unknown", ip, "WIN-%s" % self.b64(8).upper().replace("/", "X").replace("+", "Y"))
        self.smtp_in(v, m, rbl=reason)

    # ------------------------------------------------------------------ incidents
    def plan_incidents(self, v0, v1):
        """Dovecot restarts (LMTP refused for a while) and one mailbox over quota."""
        rnd = self.rnd
        span = v1 - v0
        n = max(1, int(span / (9 * 86400)))
        cands = []
        for k in range(n):
            t = v0 + span * (k + 0.3 + 0.5 * rnd.random()) / n
            # at an office hour of the behaviour clock
            p = self.cal.next_open(t + self.shift) - self.shift + 3600 * (1 + rnd.random() * 4)
            if p < v1 - 7200:
                cands.append(p)
        for i, a in enumerate(cands):
            dur = (16 + rnd.random() * 10) * 60 if i % 2 == 0 else (4 + rnd.random() * 8) * 60
            self.outages.append((a, a + dur))
            self.at(a, self.outage_start, a + dur)
        self.probe_outage = self.outages[0] if self.outages and self.outages[0][0] > self.vstart else None
        mbs = [m for m in self.mailboxes if not m.sieve] or self.mailboxes
        if span > 4 * 86400:
            mb = mbs[0]
            p = self.cal.next_open(v0 + span * 0.6 + self.shift)
            p = self.cal.open_intervals(self.cal.local_date(p))[0][0]
            if p < v0 + span * 0.6 + self.shift:
                p = self.cal.next_open(p + 86400)
            a = p - self.shift + 3600                 # 10:00 on a working day, full until the evening
            b = a + (7 + rnd.random() * 3) * 3600
            mb.quota.append((a, b))
            self.incidents.append({"kind": "quota_full", "mailbox": mb.address, "from": int(self.W(a)),
                                   "to": int(self.W(b))})

    def outage_start(self, v, until):
        self.D(v, "master", "Killed with signal 15 (by pid=1 uid=0 code=kill)", warn=True)
        for key in list(self.sessions):
            s = self.sessions.pop(key)
            self.D(v + 0.01, "imap(%s)<%d><%s>" % (self.user_of(key), s[0], s[1]),
                   "Disconnected: Server shutting down. in=%d out=%d deleted=0 expunged=%d trashed=0 "
                   "hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0" % (1000 + self.rnd.randrange(9000),
                                                                         9000 + self.rnd.randrange(90000), s[5]))
        self.lmtp_pid = None
        self.at(until, self.outage_end)
        self.incidents.append({"kind": "dovecot_outage", "from": int(self.W(v)), "to": int(self.W(until))})
        # two probe messages whose acknowledgement lands exactly 900 s and 901 s after receipt
        if self.probe_outage is not None and v == self.probe_outage[0] and not self.live:
            mbs = [m for m in self.mailboxes if m.vacation]
            if mbs:
                for k, extra in enumerate((900, 901)):
                    self.at(max(v + 5, until - 200 - 40 * k), self.probe, mbs[0], extra)

    def user_of(self, email):
        for mb in self.mailboxes:
            for ag in mb.agents:
                if ag.email == email:
                    return ag.imap_user
        return email

    def outage_end(self, v):
        self.D(v, "master", "Dovecot v2.3.19.1 (9b53102964) starting up for imap, lmtp, sieve "
                            "(core dumps disabled)")

    def probe(self, v, mb, extra):
        """A citizen message whose LMTP retry is timed so that ack_at - received_at == extra."""
        sender, prov = self.citizen(v)
        while sender.lower() in mb.vac_last:
            sender, prov = self.citizen(v)
        m = self.base_msg("citizen", sender, [mb.address], prov[6], prov[0], v, size=4000)
        m.client = self.client_of(prov)
        self.order_headers(m)
        self.probe_next = (mb, extra, m.msgid)
        self.smtp_in(v, m)

    # ------------------------------------------------------------------ output
    def fmt_lines(self, chunk):
        f = self.a.format
        out = []
        tz = self.tz
        cache = self.tcache
        host = HOST
        for ts, _, kind, a, b, _e in chunk:
            sec = ts // 1000000
            c = cache.get(sec)
            if c is None:
                d = _dt.datetime.fromtimestamp(sec, tz)
                off = d.utcoffset().total_seconds()
                sign = "+" if off >= 0 else "-"
                off = abs(int(off))
                if f == "rfc3339":
                    c = (d.strftime("%Y-%m-%dT%H:%M:%S"), "%s%02d:%02d" % (sign, off // 3600, off % 3600 // 60))
                elif f == "short-iso":
                    c = (d.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d%02d" % (sign, off // 3600, off % 3600 // 60), "")
                elif f == "rfc3164":
                    c = ("%s %2d %s" % (MONTHS[d.month - 1], d.day, d.strftime("%H:%M:%S")), "")
                else:
                    c = ("%s %02d %s" % (MONTHS[d.month - 1], d.day, d.strftime("%H:%M:%S")), "")
                if len(cache) > 5000:
                    cache.clear()
                cache[sec] = c
            if f == "rfc3339":
                stamp = "%s.%06d%s" % (c[0], ts % 1000000, c[1])
            else:
                stamp = c[0]
            if kind == 0:
                out.append("%s %s %s: %s" % (stamp, host, a, b))
            elif f == "maillog_file":
                out.append("%s %s: %s: %s" % (stamp, a, "Info" if kind == 1 else "Warning", b))
            elif kind == 1:
                out.append("%s %s dovecot: %s: %s" % (stamp, host, a, b))
            else:
                out.append("%s %s dovecot: %s: Warning: %s" % (stamp, host, a, b))
        return out

    def flush_until(self, limit_us):
        lines = self.lines
        chunk = []
        start = self.start_us
        while lines and lines[0][0] < limit_us:
            item = heapq.heappop(lines)
            if item[0] < start:
                continue
            chunk.append(item)
            if item[5] is not None:
                item[5](item[0])
        if chunk:
            txt = self.fmt_lines(chunk)
            self.stats["lines"] += len(txt)
            txt.append("")
            self.logf.write("\n".join(txt))

    def write_truth(self, path):
        rows = sorted(self.rows.values(), key=lambda r: (r.received_at, r.mailbox, r.msgid, r.sender))
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(TRUTH_HEADER)
            for r in rows:
                w.writerow(r.as_list())
        os.replace(tmp, path)
        return rows

    def meta(self, final):
        a = self.a
        mbs = []
        for mb in self.mailboxes:
            imap = []
            seen = set()
            for ag in mb.agents:
                k = (ag.imap_user, ag.prefix)
                if k not in seen:
                    seen.add(k)
                    imap.append({"user": ag.imap_user, "prefix": ag.prefix})
            mbs.append({
                "address": mb.address, "name": mb.name, "dovecot_user": mb.user, "aliases": mb.aliases,
                "vacation": mb.vacation, "sieve": mb.sieve, "access": mb.access,
                "imap": imap,
                "agents": [{"name": ag.name, "email": ag.email, "imap_user": ag.imap_user,
                            "submission_user": ag.sasl} for ag in mb.agents],
                "submission_users": sorted({ag.sasl for ag in mb.agents}),
                "inbox": "INBOX", "closed_folders": CLOSED_FOLDERS, "working_folder": mb.work_folder,
                "archives": "Archives/YYYY" if mb.yearly else "Archives",
            })
        m = {
            "site": self.site, "seed": a.seed, "params": {k: v for k, v in vars(a).items()},
            "format": a.format, "hostname": HOST, "myhostname": self.myhost, "domain": self.domain,
            "timezone": TZNAME, "calendar": self.cal.describe(),
            "start": self.start_sec, "end": self.end_sec, "start_iso": iso(self.start_sec),
            "end_iso": iso(self.end_sec), "profile_shift": self.shift, "live": self.live,
            "ack_window_s": ACK_WINDOW, "reply_target_business_s": 2 * 8 * 3600,
            "separator": SEP, "mailboxes": mbs,
            "personal_addresses": self.personal,
            "info_headers": list(INFO_HEADERS),
            "postfix": {"version": "3.7.11", "myhostname": self.myhost,
                        "header_checks": ["/^(In-Reply-To|References|Auto-Submitted|Precedence|X-Autoreply):/ INFO",
                                          "/^Subject:.*(iphone|casino|viagra)/ REJECT Message content rejected"],
                        "lmtp": "private/dovecot-lmtp", "queue_run_delay": 300},
            "dovecot": {"version": "2.3.19.1", "mail_log_events": "save copy delete undelete expunge flag_change",
                        "mail_log_fields": "uid box msgid size flags", "deliver_log_format": "msgid=%m: %$",
                        "vacation_days": 7, "shared_namespace_prefix": "shared/%%u/"},
            "incidents": self.incidents,
            "final": final,
        }
        if final:
            rows = list(self.rows.values())
            m["counts"] = dict(self.stats)
            m["rows"] = len(rows)
            m["rows_received"] = sum(1 for r in rows if r.status in ("delivered", "deferred") and not r.automatic)
        return m

    def write_meta(self, final):
        p = os.path.join(self.a.out, "meta_mail.json")
        with open(p + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.meta(final), f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(p + ".tmp", p)

    # ------------------------------------------------------------------ main
    def run(self):
        a = self.a
        rnd = self.rnd
        os.makedirs(a.out, exist_ok=True)
        self.pidseq = 900 + rnd.randrange(5000)
        self.qid_seen = set()
        self.sent_uid = {}
        self.tcache = {}
        self.speed = float(a.live) if self.live else 1.0
        if self.live:
            self.wall0 = time.time()
            vstart = self.wall0
            vend = vstart + a.days * 86400.0
        else:
            vend = float(parse_time(a.end))
            vstart = vend - a.days * 86400.0
        self.vstart, self.vend = vstart, vend
        self.shift = 0
        if a.profile_anchor == "busy":
            anchor = vstart if self.live else vend
            d = _dt.datetime.fromtimestamp(anchor, self.tz).date()
            d -= _dt.timedelta(days=(d.weekday() - 1) % 7)
            while self.cal.is_holiday(d):
                d -= _dt.timedelta(days=7)
            target = int(_dt.datetime(d.year, d.month, d.day, 10, 47, tzinfo=self.tz).timestamp())
            if target > anchor:
                target -= 7 * 86400
                while self.cal.is_holiday(_dt.datetime.fromtimestamp(target, self.tz).date()):
                    target -= 7 * 86400
            self.shift = int(target - anchor)
        vwarm = vstart - a.warmup * 86400.0
        self.start_us = self.us(vstart)
        self.start_sec = int(math.ceil(self.W(vstart)))
        self.end_sec = int(self.W(vend))
        self.scan0 = vwarm + rnd.random() * 300
        self.pers_weight = 0.9 * sum(mb.weight for mb in self.mailboxes)
        self.reject_rate = a.rate_scale * (0.5 + 0.12 * len(self.mailboxes)) / 3600.0
        self.probe_next = None
        self.plan_incidents(vstart if not self.live else vwarm, vend)
        for mb in self.mailboxes:
            self.at(vwarm + rnd.expovariate(self.rate_max(mb.weight)), self.arrival, mb)
            self.at(self.office(vwarm + rnd.random() * 35 * 86400, 3600), self.cleanup, mb)
        self.at(vwarm + rnd.random() * 600, self.personal_traffic)
        self.at(vwarm + rnd.random() * 900, self.noise)
        self.at(vwarm + rnd.random() * 900, self.rejects)
        self.logf = open(os.path.join(a.out, "mail.log"), "w", encoding="utf-8", newline="\n")
        truth_path = os.path.join(a.out, "truth_mail.csv")
        self.write_meta(False)
        stop = [False]
        if self.live:
            def _sig(signum, frame):
                stop[0] = True
            signal.signal(signal.SIGTERM, _sig)
            signal.signal(signal.SIGINT, _sig)
            self.write_truth(truth_path)
        last_truth = time.time()
        evq = self.evq
        heappop = heapq.heappop
        while evq:
            v = evq[0][0]
            if v >= vend:
                break
            if self.live:
                while not stop[0]:
                    now = time.time()
                    if self.W(v) <= now:
                        break
                    self.flush_until(int(now * 1e6))
                    self.logf.flush()
                    if now - last_truth >= 2.0:
                        self.write_truth(truth_path)
                        last_truth = now
                    time.sleep(min(0.2, max(0.01, self.W(v) - now)))
                if stop[0]:
                    break
            _, _, fn, args = heappop(evq)
            if not self.live:
                self.flush_until(self.us(v))
            if self.probe_next is not None and fn == self.deliver:
                self.arm_probe(v, args[0])
            fn(v, *args)
        if self.live:
            end_wall = min(time.time(), self.W(vend))
            if not stop[0]:
                while time.time() < self.W(vend) and not stop[0]:
                    now = time.time()
                    self.flush_until(int(now * 1e6))
                    self.logf.flush()
                    time.sleep(0.1)
                end_wall = min(time.time(), self.W(vend))
            self.end_sec = int(end_wall)
            self.flush_until(int(end_wall * 1e6))
        else:
            self.flush_until(self.us(vend))
        self.logf.close()
        self.write_truth(truth_path)
        self.write_meta(True)
        return self.meta(True)

    def arm_probe(self, v, life):
        """First delivery of the probe message: force the LMTP retry instant."""
        mb, extra, mid = self.probe_next
        if life.origin != "smtpd" or life.tries != 0 or life.msg.msgid != mid:
            return
        if not self.dovecot_down(v):
            return
        self.probe_next = None
        rsec = life.msgid_us // 1000000       # received_at: floor of the message-id line
        # the sieve line comes 0.002 - 0.020 s after the retry; aim at rsec + extra + 0.3
        life.rcpts[0].retry_forced = rsec + extra + 0.3 - 0.06
        self.incidents.append({"kind": "ack_probe", "mailbox": mb.address, "msgid": life.msg.msgid,
                               "ack_minus_received": extra})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--days", type=float, default=7, help="length of the trace in days (default 7)")
    ap.add_argument("--mailboxes", type=int, default=5, help="functional mailboxes (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", default="now", help="end of the trace: ISO 8601, epoch or 'now' (default)")
    ap.add_argument("--site", default="prefecture")
    ap.add_argument("--domain", default="example.gouv.fr")
    ap.add_argument("--format", default="rfc3339", choices=FORMATS)
    ap.add_argument("--live", type=float, default=None, metavar="SPEED",
                    help="write progressively, timestamps = wall clock, SPEED x faster than real time")
    ap.add_argument("--profile-anchor", choices=["real", "busy"], default="real")
    ap.add_argument("--rate-scale", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=7.0, help="unwritten history, in days (default 7)")
    a = ap.parse_args(argv)
    if a.mailboxes < 1:
        ap.error("--mailboxes must be >= 1")
    if a.live is not None and a.live <= 0:
        ap.error("--live SPEED must be > 0")
    if a.days <= 0:
        ap.error("--days must be > 0")
    t0 = time.time()
    meta = Sim(a).run()
    c = meta["counts"]
    sys.stderr.write("simulate_mail: %d lines, %d rows (%d received), %d replies, %d acks, %s .. %s, %.1fs\n" % (
        c["lines"], meta["rows"], meta["rows_received"], c["replies"], c["acks"], meta["start_iso"],
        meta["end_iso"], time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
