#!/usr/bin/python3
"""truth_mail.py - expected mail figures from simulate_mail.py's truth_mail.csv.

DEFINITIONS. This is the reference the C implementation (maillog collector +
mail tracker) must match to the unit. Defaults are those of shared/INDICATORS.md.

0. Time. Every instant is an integer epoch second: the FLOOR of the timestamp of
   the log line that defines it (RFC 3339 lines carry microseconds: floor, never
   round). A period is half-open: an event at t is in [from, to) when
   from <= t < to. Day periods are local days of the site (Europe/Paris), hour
   periods are UTC hours.

1. Rows. One row per (site, mailbox, Message-ID) of an incoming message to a
   functional mailbox. The mailbox of a delivery is its recipient after virtual
   alias expansion (`to=<R>` of the Postfix delivery line; `orig_to=<A>` is the
   address the sender used) or the Dovecot LMTP user `lmtp(R)`, compared
   case-insensitively with the configured addresses. A row exists as soon as the
   log holds BOTH the inbound message's Postfix `cleanup: QID: message-id=<M>`
   line AND a delivery record for that recipient: a Postfix `QID: to=<R>, ...
   status=sent|deferred|bounced` line of that queue-ID life, or the Dovecot LMTP
   lines of that delivery (`save:`, `saved mail to`, `stored mail into mailbox`,
   `save failed`, Sieve lines; the LMTP session id is the one in Postfix's
   `250 2.0.0 <R> SESSION Saved`, the msgid is the same).
   - received_at: floor of that `message-id=` line (the MTA accepted the
     message: a later LMTP retry does not change it). This is the receipt
     instant of every figure below. Why: the citizen's wait starts when our
     MTA takes the message, and a Dovecot outage that holds deliveries back
     then shows as late acknowledgements (with delivery dating the Sieve ack
     is always within a second and ack_window means nothing).
   - delivered_at: floor of Dovecot's `msgid=<M>: saved mail to INBOX` or
     `sieve: msgid=<M>: stored mail into mailbox 'INBOX'` line of that
     delivery. With received_time='delivered' (CLI --received-time delivered)
     every figure uses delivered_at instead of received_at as the receipt
     instant (and a message still in the queue is not received yet): this is
     the alternative to choose if reachd dates receipt at delivery. The two
     differ by 1 s for messages whose lines straddle a second, and by the
     queue time for deliveries deferred by an outage.
   - status: delivered (status=sent, or Dovecot saved it), bounced
     (status=bounced / Dovecot 'save failed'), deferred (only status=deferred so
     far: accepted, not in the mailbox yet at the end of the log), rejected.
   - rejected rows: a `NOQUEUE: reject: RCPT from ...; from=<S> to=<R>` line
     (no Message-ID, key = that line; received_at = its time), or a cleanup
     `QID: reject: header ...` line (received_at = its time).
   - if the log starts in the middle of a message's cleanup lines, the row
     exists when its message-id= line is there, with the INFO lines that are.
   - automatic: from the envelope sender S (qmgr `from=<S>`, also in every INFO
     line) and the header_checks INFO lines of that queue ID, first match wins:
       null-sender     S is empty (`from=<>`)
       mailer-daemon   the local part of S is 'mailer-daemon', any case
       auto-submitted  Auto-Submitted whose first token (lowercased, cut at a
                       space, tab, ';' or '(') is not 'no' ('no' = human)
       x-autoreply     an X-Autoreply header, whatever its value
       precedence      Precedence (trimmed, lowercased) in bulk|junk|list|auto_reply
     The first logged instance of each header counts. Headers that are not
     logged (List-Id, List-Unsubscribe, ...) make nothing automatic: a newsletter
     without Precedence is a received message.

2. Acknowledgement. ack_at = the first Dovecot line
   `sieve: msgid=<M>: sent vacation response to <S>` of the message's LMTP
   delivery to the mailbox (prefix `lmtp(<mailbox user>)<pid><session>`; the
   msgid there is cut only beyond 200 chars). The acknowledgement Postfix then
   sends (pickup `uid=... from=<>`, `In-Reply-To: <M>`, `Auto-Submitted:
   auto-replied`) is within a second of it and may be used to confirm it. A
   message is acknowledged when ack_at - received_at <= ack_window (900 s). A
   delivery delayed by a Dovecot outage is acknowledged late: its ack can miss
   the window. Sieve lines 'discarded duplicate vacation response' (the same
   sender was answered in the last 7 days) make ack_note=duplicate.

3. First human reply. replied_at = the earliest of:
   (thread) an outgoing message O, at the time of O's cleanup `message-id=`
     line (O counts once its qmgr `from=` line is logged), such that
     - O is not automatic (rule 1 applied to O's envelope sender and INFO
       headers: acknowledgements, which carry In-Reply-To, are thus excluded);
     - O's envelope sender is the mailbox address (case-insensitive) OR O was
       submitted by a SASL user (`client=..., sasl_username=U`) listed as one of
       the mailbox's submission users (agents' own addresses, meta_mail.json);
     - O's target in the mailbox is found by taking the Message-IDs written
       whole (`<...>`, the logged value is cut at 200 chars and folding shows
       as '?') in O's In-Reply-To value, in order, then those of its References
       value from LAST to FIRST; the first one that is the Message-ID of a row of
       the mailbox with status delivered or deferred is the target. O credits at
       most that row in that mailbox, even if it was replied already (no fall
       through to older references).
   (answered) the first mail_log `flag_change` line, by any IMAP user of the
     mailbox, on a copy (folder, uid) of the message whose flags=(...) contain
     \\Answered while the previous flags of that copy did not (\\Recent is per
     session: ignore it). Copies are known from the LMTP `save: box=INBOX,
     uid=N` line of the delivery and `copy from` lines (the destination
     box/uid; the msgid= field, cut to 77 chars + '...' when longer than 80,
     identifies the message). Copy lines carry flags over: a copy already
     \\Answered is no new reply.
   reply_route = thread or answered, whichever came first (thread on a tie);
   reply_by = the SASL user of O, or the IMAP user of the flag_change.
   Only received rows (see FIGURES) count as replied; a reply to an automatic
   row is kept in the CSV and never counted. Replies, flags and moves of
   messages that have no row (received before the log starts) are ignored.

4. Closure. closed_at = the first `expunge` (or `autoexpunge`) line after which
   no copy of the message is left in a folder of the mailbox that is not a
   closed folder. Folder names are mailbox-relative: the IMAP user's prefix
   (`shared/<address>/` in the shared namespace, '' for the owner) is removed;
   closed folders are Archives, Trash, Junk and their subfolders
   (`Archives/2026`, separator '/'). So an IMAP MOVE into Archives/Trash/Junk
   (`copy from INBOX: box=Archives, ...` then `expunge: box=INBOX, ...`) closes
   at its expunge line; a move to a working folder ('À traiter', 'En cours')
   does not; a `delete:` line (\\Deleted set) alone does not (`undelete:` can
   follow); an expunge of the last copy closes. Closure is final.
   closed_how = archive|trash|junk (the folder of the copy left) or expunge.

FIGURES per site + mailbox over [from, to):
  received        rows: status delivered|deferred, automatic == '', received_at in period
  automatic       rows: status delivered|deferred, automatic != '', received_at in period
  rejected        rows: status rejected|bounced, received_at in period
  acknowledged    received rows (dated at receipt) with ack_at - received_at <= ack_window
  ack_rate        acknowledged / received                       (null if received == 0)
  ack_suppressed_duplicate  received rows, not acknowledged, ack_note == duplicate
  replied         received rows (received whenever, even before `from`) with replied_at
                  in the period: dated at the reply
  replied_thread, replied_answered   replied, split by reply_route
  reply_delay_s            replied_at - received_at, calendar seconds
  reply_delay_business_s   seconds of [received_at, replied_at) inside the site's opening
                           hours (frcal.Calendar: Mon-Fri 09:00-17:00 Europe/Paris, French
                           public holidays incl. Easter Monday, Ascension, Whit Monday)
  reply_delay_avg_s / _p50_s / _p90_s / _max_s, and reply_delay_business_avg_s / _p50_s /
                  _p90_s / _max_s: over the messages REPLIED IN THE PERIOD (the same set as
                  `replied`). avg = sum / n (float). Quantiles are nearest rank on the
                  exact values sorted ascending: rank = ceil(n * pct / 100) computed as
                  (n * pct + 99) // 100, at least 1; value = sorted[rank - 1]. All null
                  when replied == 0. A histogram with monotone bins returns the bin of
                  that same value: compare bin(truth value) with reachd's bin.
  within_target   replied in the period with reply_delay_business_s <= reply_target
                  (default 2 business days = 2 x 8 h = 57600 business seconds)
  replied_within_target   within_target / replied              (null if replied == 0)
  closed          received rows closed without reply, dated at closed_at: closed_at in
                  the period and (replied_at is null or closed_at < replied_at)

GAUGES at an instant T (integer epoch; "now" = the end of the log):
  backlog         received rows with received_at < T, and not (replied_at < T), and not
                  (closed_at < T)
  oldest_unanswered_s           T - min(received_at) over the backlog; 0 if empty
  oldest_unanswered_business_s  business seconds of [min(received_at), T); 0 if empty
  (messages received before the first line of the log are unknown to both sides)

As a module:
    t = MailTruth.load(DIR, ack_window=900, reply_target=57600)
    t.figures(frm, to, site=None, mailbox=None) -> {(site, mailbox): {figure: value}}
    t.by_period("hour"|"day")                   -> {(site, mailbox, period): {...}}
    t.gauges(T, site=None, mailbox=None)        -> {(site, mailbox): {backlog, ...}}
    t.rows                                      -> [Row]
As a CLI (prints JSON):
    truth_mail.py DIR [--from T] [--to T] [--site S] [--mailbox M] [--by total|hour|day]
                      [--ack-window 900] [--reply-target 57600] [--gauges-at T|end|now]
Use /usr/bin/python3.
"""

import argparse
import csv
import datetime as _dt
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frcal import Calendar  # noqa: E402
from simulate import iso, parse_time  # noqa: E402

ACK_WINDOW = 900
REPLY_TARGET = 2 * 8 * 3600

COUNT_FIELDS = ["received", "automatic", "rejected", "acknowledged", "ack_suppressed_duplicate",
                "replied", "replied_thread", "replied_answered", "within_target", "closed"]
RATE_FIELDS = ["ack_rate", "replied_within_target"]
DELAY_FIELDS = ["reply_delay_avg_s", "reply_delay_p50_s", "reply_delay_p90_s", "reply_delay_max_s",
                "reply_delay_business_avg_s", "reply_delay_business_p50_s", "reply_delay_business_p90_s",
                "reply_delay_business_max_s"]
FIGURES = COUNT_FIELDS + RATE_FIELDS + DELAY_FIELDS


class Row:
    __slots__ = ("site", "mailbox", "msgid", "qid", "sender", "received_at", "delivered_at", "automatic", "status",
                 "ack_at", "ack_note", "replied_at", "reply_route", "reply_by", "closed_at", "closed_how",
                 "kind", "_bdelay")

    @property
    def is_received(self):
        return self.status in ("delivered", "deferred") and self.automatic == ""

    @property
    def delay(self):
        return None if self.replied_at is None else self.replied_at - self.received_at

    def closed_without_reply(self):
        return self.closed_at is not None and (self.replied_at is None or self.closed_at < self.replied_at)


def _int(x):
    return int(x) if x != "" else None


def load_rows(d):
    rows = []
    with open(os.path.join(d, "truth_mail.csv"), newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            r = Row()
            r.site = rec["site"]
            r.mailbox = rec["mailbox"]
            r.msgid = rec["msgid"]
            r.qid = rec["qid"]
            r.sender = rec["sender"]
            r.received_at = int(rec["received_at"])
            r.delivered_at = _int(rec.get("delivered_at", ""))
            r.automatic = rec["automatic"]
            r.status = rec["status"]
            r.ack_at = _int(rec["ack_at"])
            r.ack_note = rec["ack_note"]
            r.replied_at = _int(rec["replied_at"])
            r.reply_route = rec["reply_route"]
            r.reply_by = rec["reply_by"]
            r.closed_at = _int(rec["closed_at"])
            r.closed_how = rec["closed_how"]
            r.kind = rec.get("kind", "")
            r._bdelay = None
            rows.append(r)
    return rows


def load_meta(d):
    p = os.path.join(d, "meta_mail.json")
    if not os.path.exists(p):
        return {}
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def nearest_rank(sorted_vals, pct):
    """Nearest-rank quantile of an ascending list; None if empty."""
    n = len(sorted_vals)
    if n == 0:
        return None
    rank = max(1, (n * pct + 99) // 100)
    return sorted_vals[rank - 1]


def new_acc():
    return {k: 0 for k in COUNT_FIELDS} | {"delays": [], "bdelays": []}


def finish(acc):
    f = {k: acc[k] for k in COUNT_FIELDS}
    rec, rep = acc["received"], acc["replied"]
    f["ack_rate"] = None if rec == 0 else acc["acknowledged"] / rec
    f["replied_within_target"] = None if rep == 0 else acc["within_target"] / rep
    for name, vals in (("reply_delay", acc["delays"]), ("reply_delay_business", acc["bdelays"])):
        vals = sorted(vals)
        f[name + "_avg_s"] = (sum(vals) / len(vals)) if vals else None
        f[name + "_p50_s"] = nearest_rank(vals, 50)
        f[name + "_p90_s"] = nearest_rank(vals, 90)
        f[name + "_max_s"] = vals[-1] if vals else None
    return f


class MailTruth:
    def __init__(self, rows, meta=None, ack_window=ACK_WINDOW, reply_target=REPLY_TARGET, calendar=None,
                 received_time="accepted"):
        if received_time not in ("accepted", "delivered"):
            raise ValueError("received_time is accepted or delivered")
        self.received_time = received_time
        self.rows = list(rows)
        self.meta = meta or {}
        self.ack_window = ack_window
        self.reply_target = reply_target
        if calendar is None:
            calendar = Calendar(self.meta.get("timezone", "Europe/Paris"))
        self.cal = calendar
        self.mailboxes = {}
        for r in self.rows:
            self.mailboxes[(r.site, r.mailbox)] = 1
        site = self.meta.get("site")
        for mb in self.meta.get("mailboxes", []):
            self.mailboxes.setdefault((site, mb["address"]), 1)

    @classmethod
    def load(cls, d, ack_window=ACK_WINDOW, reply_target=REPLY_TARGET, calendar=None, received_time="accepted"):
        return cls(load_rows(d), load_meta(d), ack_window, reply_target, calendar, received_time)

    def recv(self, r):
        """The receipt instant of a row (None: not received yet in 'delivered' mode)."""
        if self.received_time == "delivered" and r.status in ("delivered", "deferred"):
            return r.delivered_at
        return r.received_at

    def keys(self):
        return sorted(self.mailboxes)

    def bdelay(self, r):
        if r._bdelay is None and r.replied_at is not None:
            r._bdelay = self.cal.business_seconds(self.recv(r), r.replied_at)
        return r._bdelay

    def _accumulate(self, period_of, site=None, mailbox=None):
        """{(site, mailbox, period): acc}; period_of(t) -> key or None (outside)."""
        out = {}

        def acc(r, t):
            p = period_of(t)
            if p is None:
                return None
            k = (r.site, r.mailbox, p)
            a = out.get(k)
            if a is None:
                a = out[k] = new_acc()
            return a

        for r in self.rows:
            if (site is not None and r.site != site) or (mailbox is not None and r.mailbox != mailbox):
                continue
            if r.status in ("rejected", "bounced"):
                a = acc(r, r.received_at)
                if a is not None:
                    a["rejected"] += 1
                continue
            rt = self.recv(r)
            if rt is None:
                continue            # still in the queue ('delivered' mode)
            if r.automatic:
                a = acc(r, rt)
                if a is not None:
                    a["automatic"] += 1
                continue
            a = acc(r, rt)
            if a is not None:
                a["received"] += 1
                if r.ack_at is not None and r.ack_at - rt <= self.ack_window:
                    a["acknowledged"] += 1
                elif r.ack_note == "duplicate":
                    a["ack_suppressed_duplicate"] += 1
            if r.replied_at is not None:
                a = acc(r, r.replied_at)
                if a is not None:
                    a["replied"] += 1
                    a["replied_" + r.reply_route] += 1
                    d = r.replied_at - rt
                    b = self.bdelay(r)
                    a["delays"].append(d)
                    a["bdelays"].append(b)
                    if b <= self.reply_target:
                        a["within_target"] += 1
            if r.closed_without_reply():
                a = acc(r, r.closed_at)
                if a is not None:
                    a["closed"] += 1
        return out

    def figures(self, frm, to, site=None, mailbox=None):
        """{(site, mailbox): figures} over [frm, to) for every known site+mailbox (zeros, null rates)."""
        accs = self._accumulate(lambda t: 0 if frm <= t < to else None, site, mailbox)
        res = {}
        for (s, m) in self.keys():
            if (site is not None and s != site) or (mailbox is not None and m != mailbox):
                continue
            res[(s, m)] = finish(accs.get((s, m, 0)) or new_acc())
        return res

    def by_period(self, kind):
        """{(site, mailbox, period): figures}: kind 'hour' (UTC hour start epoch) or 'day' (local date)."""
        if kind == "hour":
            def pf(t):
                return t - t % 3600
        elif kind == "minute":
            def pf(t):
                return t - t % 60
        else:
            def pf(t):
                return self.cal.local_date(t)
        return {k: finish(a) for k, a in self._accumulate(pf).items()}

    def gauges(self, at, site=None, mailbox=None):
        """{(site, mailbox): {backlog, oldest_unanswered_s, oldest_unanswered_business_s, oldest_msgid}}."""
        out = {}
        for (s, m) in self.keys():
            if (site is not None and s != site) or (mailbox is not None and m != mailbox):
                continue
            out[(s, m)] = {"backlog": 0, "oldest_unanswered_s": 0, "oldest_unanswered_business_s": 0,
                           "oldest_msgid": None, "_oldest": None}
        for r in self.rows:
            if (site is not None and r.site != site) or (mailbox is not None and r.mailbox != mailbox):
                continue
            rt = self.recv(r)
            if not r.is_received or rt is None or rt >= at:
                continue
            if r.replied_at is not None and r.replied_at < at:
                continue
            if r.closed_at is not None and r.closed_at < at:
                continue
            g = out[(r.site, r.mailbox)]
            g["backlog"] += 1
            if g["_oldest"] is None or rt < g["_oldest"] or (rt == g["_oldest"] and r.msgid < g["oldest_msgid"]):
                g["_oldest"] = rt
                g["oldest_msgid"] = r.msgid
        for g in out.values():
            o = g.pop("_oldest")
            if o is not None:
                g["oldest_unanswered_s"] = at - o
                g["oldest_unanswered_business_s"] = self.cal.business_seconds(o, at)
        return out

    def range(self):
        ts = [r.received_at for r in self.rows]
        return (min(ts), max(ts)) if ts else None


def _jsonable(v):
    if isinstance(v, _dt.date):
        return str(v)
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--from", dest="frm")
    ap.add_argument("--to")
    ap.add_argument("--site")
    ap.add_argument("--mailbox")
    ap.add_argument("--by", choices=["total", "hour", "day"], default="total")
    ap.add_argument("--ack-window", type=int, default=ACK_WINDOW)
    ap.add_argument("--reply-target", type=int, default=REPLY_TARGET, help="business seconds (57600)")
    ap.add_argument("--gauges-at", help="backlog gauges at T (ISO, epoch, 'now' or 'end')")
    ap.add_argument("--received-time", choices=["accepted", "delivered"], default="accepted",
                    help="receipt instant: cleanup message-id= line (default) or Dovecot delivery line")
    a = ap.parse_args(argv)
    t = MailTruth.load(a.dir, a.ack_window, a.reply_target, received_time=a.received_time)
    if a.gauges_at:
        at = t.meta.get("end") if a.gauges_at == "end" else parse_time(a.gauges_at)
        res = t.gauges(at, a.site, a.mailbox)
        out = [dict(site=k[0], mailbox=k[1], at=iso(at), **v) for k, v in sorted(res.items())]
        print(json.dumps({"gauges": out}, ensure_ascii=False, indent=1))
        return 0
    if a.by == "total":
        rng = t.range() or (0, 0)
        frm = parse_time(a.frm) if a.frm else t.meta.get("start", rng[0])
        to = parse_time(a.to) if a.to else t.meta.get("end", rng[1] + 1)
        res = t.figures(frm, to, a.site, a.mailbox)
        out = [dict(site=k[0], mailbox=k[1], **{"from": iso(frm), "to": iso(to)}, **v)
               for k, v in sorted(res.items())]
    else:
        res = t.by_period(a.by)
        out = []
        for (s, m, p), v in sorted(res.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
            if (a.site and s != a.site) or (a.mailbox and m != a.mailbox):
                continue
            out.append(dict(site=s, mailbox=m, period_start=iso(p) if a.by == "hour" else str(p), **v))
    print(json.dumps({"mail": out}, ensure_ascii=False, indent=1, default=_jsonable))
    return 0


if __name__ == "__main__":
    sys.exit(main())
