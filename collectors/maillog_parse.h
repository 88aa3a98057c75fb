/* maillog_parse.h - parse one line of a Postfix / Dovecot mail log.
 *
 * Pure functions: no I/O, no global state, no allocation. Local times are
 * read in a time zone loaded by the caller (tz.h). A line is parsed in two
 * steps:
 *
 *  1. ml_parse_line(): the prefix every log writer puts in front of the
 *     message (time stamp, host, program[pid]) in any of the formats of the
 *     reference notes: RFC 3164 ("Jun  3 08:27:16 host prog[pid]: msg"),
 *     Postfix maillog_file (same with a zero-padded day), rsyslog RFC 3339
 *     ("2024-08-26T01:33:38.572449+00:00 host prog[pid]: msg"), journalctl
 *     -o short-iso ("+0100" without colon), RFC 5424 ("<22>1 TS host app pid
 *     msgid sd msg") and Dovecot's own log_path file ("Jun 14 12:01:53
 *     lda(user)<pid><session>: Info: msg", no host). The time is returned
 *     in UTC: zone-less stamps are local time of a configured zone, and
 *     year-less stamps get their year from the previous line or "now".
 *
 *  2. ml_parse_postfix() or ml_parse_dovecot(): classify the message body
 *     into the few kinds the mail collector follows (struct ml_rec).
 *
 * Both write into the line (NUL-terminating fields in place): the caller
 * passes a writable copy. Strings in the results point into it. */
#ifndef RD_MAILLOG_PARSE_H
#define RD_MAILLOG_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Stamps outside [2000-01-01, 2100-01-01) are refused as absurd. */
#define ML_TS_MIN INT64_C(946684800)
#define ML_TS_MAX INT64_C(4102444800)

/* Longest values the collector keeps (bytes, including the NUL); longer
 * ones are cut at a UTF-8 character boundary (ml_copy). */
#define ML_MSGID_MAX 256
#define ML_ADDR_MAX  320
#define ML_REFS_MAX  1024

struct rd_tz; /* tz.h */

/* --- line prefix ------------------------------------------------------------ */

enum ml_format {
	ML_FMT_BSD = 1, /* RFC 3164 / maillog_file: "Mmm dd HH:MM:SS", no year, local */
	ML_FMT_ISO,     /* RFC 3339 / short-iso, or "YYYY-MM-DD HH:MM:SS" local */
	ML_FMT_RFC5424, /* "<PRI>1 TS HOST APP PROCID MSGID SD MSG" */
};

/* What a year-less or zone-less stamp is read against. */
struct ml_clock {
	int64_t now;            /* UTC now (0: unknown) */
	int64_t prev;           /* UTC stamp of the previous line (0: none) */
	const struct rd_tz *tz; /* local zone of the log writer (NULL: UTC) */
};

struct ml_line {
	enum ml_format format;
	int64_t ts;          /* UTC epoch seconds */
	const char *host;    /* "" when the line has none (Dovecot's own file) */
	const char *program; /* tag as written: "postfix-a/submission/smtpd", "dovecot";
	                        "" when the line has no tag */
	size_t instance_len; /* program[0, instance_len) is the first path element
	                        ("postfix-a"); 0 when program has no '/' */
	const char *service; /* last path element of program: "smtpd", "dovecot" */
	int64_t pid;         /* -1 when absent */
	char *msg;           /* the message, NUL-terminated */
	int dovecot_file;    /* 1: Dovecot's own log file, msg starts with "svc(user)" */
};

/* Parse the prefix of line[0, len) (without its '\n'). line[len] must be
 * writable: it receives a NUL. Refuses NUL bytes, invalid UTF-8, unknown
 * or impossible time stamps and a missing host. 0, or -1 with a static
 * reason in *why. */
int ml_parse_line(char *line, size_t len, const struct ml_clock *clk, struct ml_line *out,
                  const char **why);

/* Year of a year-less local stamp (month 1..12): returns its UTC instant,
 * or -1 if the date does not exist. With clk->prev, the year that puts the
 * stamp nearest to it (a Dec 31 line followed by Jan 1 rolls over; a line a
 * few seconds out of order stays in its year); otherwise the latest year
 * not more than a day after clk->now (a file read on Jan 2 holding Dec 31
 * lines gives last year). Never more than a day after now. */
int64_t ml_yearless_to_utc(const struct ml_clock *clk, int mon, int day, int32_t secs);

/* --- message kinds ---------------------------------------------------------- */

enum ml_kind {
	ML_NONE = 0,
	/* Postfix (qid set; "NOQUEUE" for rejects before a queue file) */
	ML_PF_CLIENT,   /* smtpd "QID: client=host[ip][, sasl_username=U]" */
	ML_PF_PICKUP,   /* pickup "QID: uid=N from=<s>" */
	ML_PF_MSGID,    /* cleanup "QID: message-id=<...>" (msgid NULL for "<>") */
	ML_PF_HEADER,   /* cleanup "QID: info: header Name: value from ...; from=<s> to=<r> ..." */
	ML_PF_REJECT,   /* smtpd / cleanup "QID|NOQUEUE: reject|milter-reject: ...; from=<s> to=<r>"
	                 */
	ML_PF_QUEUED,   /* qmgr "QID: from=<s>, size=N, nrcpt=N (queue active)" */
	ML_PF_EXPIRED,  /* qmgr "QID: from=<s>, status=expired, returned to sender" */
	ML_PF_DELIVERY, /* "QID: to=<r>[, orig_to=<o>], relay=..., dsn=..., status=S (text)" */
	ML_PF_NOTIFY,   /* bounce "QID: sender non-delivery notification: NEWQID" */
	ML_PF_REMOVED,  /* "QID: removed" */
	ML_PF_DISCONNECT, /* smtpd "disconnect from host[ip] ...": the session's queue IDs
	                     that never reached cleanup are gone (no "removed" then) */
	/* Dovecot (service, user set) */
	ML_DC_DELIVERED, /* LDA/LMTP "msgid=<m>: saved mail to BOX" or Sieve "stored mail into
	                    mailbox 'BOX'" */
	ML_DC_VACATION,  /* Sieve "msgid=<m>: sent vacation response to <s>" */
	ML_DC_MAILLOG,   /* mail_log plugin: op, folder, msgid, flags */
};

/* mail_log events */
enum ml_op {
	ML_OP_SAVE = 1,
	ML_OP_COPY, /* folder = destination, src_folder = source */
	ML_OP_EXPUNGE,
	ML_OP_AUTOEXPUNGE,
	ML_OP_DELETE, /* \Deleted set */
	ML_OP_UNDELETE,
	ML_OP_FLAG_CHANGE,
};

struct ml_rec {
	enum ml_kind kind;
	/* Postfix */
	const char *qid;
	const char *sasl_username; /* CLIENT, or NULL */
	const char *sender;        /* from=<...>: "" is the null sender; NULL when absent */
	const char *rcpt;          /* to=<...> */
	const char *orig_rcpt;     /* orig_to=<...>, or NULL */
	const char *relay;         /* DELIVERY */
	const char *status;        /* DELIVERY: sent, deferred, bounced, expired... */
	const char *status_text;   /* DELIVERY: inside the parentheses, or "" */
	const char *header_name;   /* HEADER */
	const char *header_value;  /* HEADER: at most 200 bytes (Postfix cuts there) */
	const char *new_qid;       /* NOTIFY */
	/* both */
	const char *msgid; /* Message-ID as logged ("<...>"), or NULL if none */
	/* Dovecot */
	const char *service; /* lmtp, lda, imap, pop3, doveadm ... */
	const char *user;
	const char *session; /* or NULL */
	const char *folder;  /* DELIVERED: mailbox saved to; MAILLOG: box (NULL if not logged) */
	const char *src_folder;
	const char *vacation_to; /* VACATION: the address the response went to */
	enum ml_op op;
	int has_flags; /* MAILLOG: flags=(...) was logged */
	uint32_t flags;
};

/* Classify a Postfix message. service is the last element of the program
 * ("smtpd", "cleanup"...). 1 with r filled, 0 understood but not followed
 * (r->kind ML_NONE), -1 malformed with a static reason in *why. */
int ml_parse_postfix(const char *service, char *msg, struct ml_rec *r, const char **why);

/* Classify a Dovecot message "svc(user)<pid><session>: ..." (the part after
 * "dovecot: " in syslog, or the whole message of Dovecot's own file). Same
 * return values. */
int ml_parse_dovecot(char *msg, struct ml_rec *r, const char **why);

/* --- values ----------------------------------------------------------------- */

/* RD_MAIL_AUTO_* reason given by one header (name case-insensitive):
 * Auto-Submitted other than "no", X-Autoreply other than "no", Precedence
 * bulk/junk/list/auto_reply. 0 otherwise. */
uint32_t ml_header_automatic(const char *name, const char *value);

/* RD_MAIL_AUTO_* reasons given by an envelope sender: null sender; local
 * part mailer-daemon, postmaster, owner-*, *-request. */
uint32_t ml_sender_automatic(const char *sender);

/* Message-IDs "<...>" at the start of value, separated by spaces, into out
 * (at most max ids; the first max ids of References are its oldest ones,
 * the last the most recent: the last max are kept). Stops at the first
 * word that is not a Message-ID. Returns the number of ids written. */
size_t ml_msgid_list(const char *value, size_t max, char *out, size_t outlen);

/* Copy src into dst[cap], cut at a UTF-8 character boundary so that the
 * copy stays valid UTF-8 and NUL-terminated. Returns strlen(dst). */
size_t ml_copy(char *dst, size_t cap, const char *src);

/* IMAP system flags "(\Answered \Seen kw)" content -> RD_MAIL_F_* bits. */
uint32_t ml_parse_flags(const char *s);

#endif
