/* mailmsg.h - composes the complete RFC 5322 text of an alert e-mail
 * (CRLF line ends, 7-bit clean, ready for rd_mailer_send) from UTF-8 inputs.
 *
 * libESMTP does no folding, encoding or escaping and writes the strings it
 * is given verbatim, so every header is written here: Date (C-locale names,
 * never through setlocale), From, To, Subject (RFC 2047 encoded words when
 * needed), Message-ID, In-Reply-To and References (threading), Auto-Submitted,
 * MIME-Version and the MIME structure, with quoted-printable bodies.
 *
 * Values such as queue names, mailbox addresses or site names come from log
 * lines: no value can ever start a header line of its own. Control
 * characters (C0, DEL) in header values become spaces, white space runs are
 * collapsed, and display names are encoded words as soon as they hold a
 * special or a non-ASCII character. Addresses and message IDs are not
 * repaired but refused, with a message saying why. Text that is not valid
 * UTF-8 has each offending byte replaced by U+FFFD, so the message is
 * always what it says it is (charset=UTF-8). */
#ifndef RD_MAILMSG_H
#define RD_MAILMSG_H

#include <stddef.h>
#include <time.h>

struct rd_mailbox {
	const char *addr; /* local@domain, ASCII (no SMTPUTF8 in libESMTP) */
	const char *name; /* display name, UTF-8, or NULL */
};

struct rd_mailmsg {
	struct rd_mailbox from;
	const struct rd_mailbox *to;
	size_t nto;
	const struct rd_mailbox *cc; /* a Cc header when ncc > 0 */
	size_t ncc;
	const char *subject;           /* UTF-8 */
	const char *message_id;        /* "<alert-123-4@reachd.example>": stable across retries */
	const char *in_reply_to;       /* the message this one answers (a "resolved" mail
	                                * names its "firing" mail), or NULL */
	const char *const *references; /* the thread, oldest first; when NULL,
	                                * in_reply_to alone */
	size_t nreferences;
	time_t date;
	const char *text; /* text/plain body, UTF-8, LF or CRLF line ends */
	const char *html; /* optional text/html alternative, or NULL */
};

/* Compose the message. Returns 0 with a malloc'ed NUL-terminated text in
 * *out, or -1 with a message in err (bad address or message ID, no
 * recipient, out of memory). The same inputs always give the same bytes. */
int rd_mailmsg_compose(const struct rd_mailmsg *m, char **out, char *err, size_t errlen);

/* --- the building blocks, for the mailer and the tests ------------------- */

/* 0 if addr is a plain ASCII address local@domain (dot-atom local part,
 * letters/digits/hyphens domain, no space, CR, LF, NUL, '<' or '>'), else -1
 * with the reason in err. */
int rd_mail_address_check(const char *addr, char *err, size_t errlen);

/* 0 if id is a message ID "<dot-atom@dot-atom>" of at most 250 characters,
 * else -1 with the reason in err. */
int rd_mail_msgid_check(const char *id, char *err, size_t errlen);

#define RD_MAIL_DATE_LEN 32

/* "Sun, 29 Nov 2026 08:00:00 +0000": RFC 5322 date-time of t in UTC, with
 * English names whatever the locale. */
void rd_mail_date(time_t t, char out[RD_MAIL_DATE_LEN]);

/* The header field "name: value\r\n" with value taken as unstructured
 * text: sanitised, then plain and folded at spaces (lines of at most 78
 * characters) when it is printable ASCII, else encoded words
 * =?UTF-8?B?...?= of at most 75 characters, cut between UTF-8 characters,
 * separated by CRLF SP, no line longer than 76. len bytes of value are read
 * (NUL bytes included, as controls). NULL when out of memory. */
char *rd_mail_header_text(const char *name, const char *value, size_t len);

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text: LF, CRLF and lone CR
 * become CRLF hard breaks; lines of at most 76 characters with "=" soft
 * breaks that never cut an =XX escape; "=" and non-ASCII bytes escaped, a
 * space or tab at the end of a line escaped. NULL when out of memory. */
char *rd_mail_qp(const char *text, size_t len);

/* text with every byte that does not start a well-formed UTF-8 sequence
 * replaced by U+FFFD; *outlen (if not NULL) gets its length. NULL when out
 * of memory. */
char *rd_mail_utf8_repair(const char *text, size_t len, size_t *outlen);

#endif
