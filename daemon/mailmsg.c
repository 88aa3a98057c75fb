/* mailmsg.c - see mailmsg.h. Line limits: RFC 5322 2.1.1 (78 recommended),
 * RFC 2047 2 (an encoded word at most 75 characters, a line holding one at
 * most 76), RFC 2045 6.7 (quoted-printable lines at most 76). */
#include "mailmsg.h"

#include "fnv.h"
#include "strbuf.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLD_PLAIN   78 /* longest header line of plain words */
#define FOLD_ENCODED 76 /* longest line holding an encoded word */
#define WORD_MAX     75 /* longest encoded word */
#define EW_OVERHEAD  12 /* "=?UTF-8?B?" + "?=" */
#define PLAIN_WORD   60 /* a longer word is encoded, so folding always works */
#define MSGID_MAX    250

/* --- text hygiene ---------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s[i] (len bytes), or 0. */
static size_t seq_len(const char *s, size_t i, size_t len)
{
	size_t bad;
	unsigned char c = (unsigned char)s[i];
	size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

	if (n > len - i || !rd_utf8_valid(s + i, n, &bad))
		return 0;
	return n;
}

char *rd_mail_utf8_repair(const char *text, size_t len, size_t *outlen)
{
	struct rd_sb sb = {0};
	char *out;

	for (size_t i = 0; i < len;) {
		size_t n = seq_len(text, i, len);

		if (n == 0) {
			rd_sb_add(&sb, "\xEF\xBF\xBD", 3); /* U+FFFD */
			i++;
		} else {
			rd_sb_add(&sb, text + i, n);
			i += n;
		}
	}
	if (outlen)
		*outlen = sb.len;
	return rd_sb_finish(&sb, &out) == 0 ? out : NULL;
}

/* A header value made safe: valid UTF-8, every control (C0, DEL) a space,
 * white space runs collapsed to one space, none at either end. CR and LF
 * cannot survive this, so the value can never end its header line. */
static char *header_clean(const char *value, size_t len)
{
	size_t n, j = 0;
	char *s = rd_mail_utf8_repair(value, len, &n);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? ' ' : s[i];

		if (c == ' ' && (j == 0 || s[j - 1] == ' '))
			continue;
		s[j++] = c;
	}
	while (j > 0 && s[j - 1] == ' ')
		j--;
	s[j] = '\0';
	return s;
}

/* --- folding emitter --------------------------------------------------------- */

struct emit {
	struct rd_sb *sb;
	size_t col; /* characters on the current line */
};

/* Put a token, preceded by a space (or a fold) when sep is set, so that the
 * line stays within limit. */
static void put(struct emit *e, const char *tok, size_t len, int sep, size_t limit)
{
	if (sep && e->col + 1 + len > limit) {
		rd_sb_add(e->sb, "\r\n ", 3);
		e->col = 1;
	} else if (sep) {
		rd_sb_addc(e->sb, ' ');
		e->col++;
	}
	rd_sb_add(e->sb, tok, len);
	e->col += len;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

static void b64(struct rd_sb *sb, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		char q[4];

		v |= i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0;
		v |= i + 2 < n ? p[i + 2] : 0;
		q[0] = B64[v >> 18 & 63];
		q[1] = B64[v >> 12 & 63];
		q[2] = i + 1 < n ? B64[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? B64[v & 63] : '=';
		rd_sb_add(sb, q, 4);
	}
}

/* The most whole UTF-8 characters of s (from i) whose encoded word fits in
 * room characters; 0 if not even one does. */
static size_t chunk(const char *s, size_t i, size_t len, size_t room)
{
	size_t n = 0;

	if (room > WORD_MAX)
		room = WORD_MAX;
	while (i + n < len) {
		size_t c = seq_len(s, i + n, len);

		if (c == 0)
			c = 1; /* cannot happen after header_clean: never loop forever */
		if (EW_OVERHEAD + b64_len(n + c) > room)
			break;
		n += c;
	}
	return n;
}

/* The whole of s as encoded words, the first one preceded by a space when
 * sep is set. Each word is as long as the line allows. */
static void put_encoded(struct emit *e, const char *s, size_t len, int sep)
{
	size_t i = 0;

	while (i < len) {
		size_t room = FOLD_ENCODED - e->col - (sep ? 1 : 0);
		size_t n = e->col + (sep ? 1 : 0) < FOLD_ENCODED ? chunk(s, i, len, room) : 0;
		struct rd_sb word = {0};

		if (n == 0) { /* not one character fits here: next line */
			rd_sb_add(e->sb, "\r\n", 2);
			e->col = 0;
			sep = 1;
			continue;
		}
		rd_sb_adds(&word, "=?UTF-8?B?");
		b64(&word, (const unsigned char *)s + i, n);
		rd_sb_adds(&word, "?=");
		if (word.oom)
			e->sb->oom = 1;
		else
			put(e, word.p, word.len, sep, FOLD_ENCODED);
		rd_sb_free(&word);
		i += n;
		sep = 1;
	}
}

/* Printable ASCII that a reader cannot take for an encoded word, and whose
 * words are short enough to fold. */
static int plain_ok(const char *s)
{
	size_t word = 0;

	if (strstr(s, "=?"))
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
			return 0;
		word = *s == ' ' ? 0 : word + 1;
		if (word > PLAIN_WORD)
			return 0;
	}
	return 1;
}

/* Plain words of s, folded before a space when a line would grow too long. */
static void put_plain(struct emit *e, const char *s, int sep)
{
	while (*s) {
		size_t n = strcspn(s, " ");

		put(e, s, n, sep, FOLD_PLAIN);
		s += n;
		s += *s == ' ';
		sep = 1;
	}
}

/* Unstructured text (already clean) after "Name:". */
static void put_text(struct emit *e, const char *clean)
{
	if (plain_ok(clean))
		put_plain(e, clean, 1);
	else
		put_encoded(e, clean, strlen(clean), 1);
}

char *rd_mail_header_text(const char *name, const char *value, size_t len)
{
	struct rd_sb sb = {0};
	struct emit e = {&sb, 0};
	char *clean = header_clean(value, len), *out;

	if (!clean)
		return NULL;
	rd_sb_adds(&sb, name);
	rd_sb_addc(&sb, ':');
	e.col = sb.len;
	put_text(&e, clean);
	rd_sb_add(&sb, "\r\n", 2);
	free(clean);
	return rd_sb_finish(&sb, &out) == 0 ? out : NULL;
}

/* --- checks ------------------------------------------------------------------ */

/* RFC 5322 atext. */
static int atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* s[0, n) is a dot-atom-text: atoms of atext joined by single dots. */
static int dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(atext(s[i]) || (s[i] == '.' && s[i + 1] != '.')))
			return 0;
	return 1;
}

static int domain_ok(const char *s)
{
	if (!dot_atom(s, strlen(s)))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* The reason addr is not acceptable, or NULL. */
static const char *address_problem(const char *addr)
{
	const char *at = strchr(addr, '@');

	if (!*addr)
		return "it is empty";
	for (const char *p = addr; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return "it contains a line break";
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			return "it contains a control character";
		if ((unsigned char)*p > 0x7E)
			return "it is not ASCII";
		if (*p == ' ')
			return "it contains a space";
		if (*p == '<' || *p == '>')
			return "it contains '<' or '>' (give the bare address)";
	}
	if (!at || strchr(at + 1, '@'))
		return "it needs exactly one '@'";
	if (strlen(addr) > 254 || at - addr > 64)
		return "it is too long";
	if (!dot_atom(addr, (size_t)(at - addr)))
		return "its local part is not a dot-atom";
	if (!domain_ok(at + 1))
		return "its domain is not a host name";
	return NULL;
}

/* addr for a message: its printable ASCII, anything else as '?'. */
static void printable(const char *s, char *out, size_t outlen)
{
	size_t i = 0;

	for (; *s && i + 1 < outlen; s++, i++)
		out[i] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7F ? *s : '?';
	out[i] = '\0';
}

int rd_mail_address_check(const char *addr, char *err, size_t errlen)
{
	const char *why = addr ? address_problem(addr) : "it is missing";
	char shown[128];

	if (!why)
		return 0;
	printable(addr ? addr : "", shown, sizeof(shown));
	snprintf(err, errlen, "'%s' is not a valid address: %s", shown, why);
	return -1;
}

int rd_mail_msgid_check(const char *id, char *err, size_t errlen)
{
	size_t n = id ? strlen(id) : 0;
	const char *at = id ? strchr(id, '@') : NULL;
	char shown[128];

	if (n >= 5 && n <= MSGID_MAX && id[0] == '<' && id[n - 1] == '>' && at &&
	    !strchr(at + 1, '@') && dot_atom(id + 1, (size_t)(at - id - 1)) &&
	    dot_atom(at + 1, (size_t)(id + n - 1 - at - 1)))
		return 0;
	printable(id ? id : "", shown, sizeof(shown));
	snprintf(err, errlen,
	         "'%s' is not a valid message ID (expected <left@right>, at most %d characters)",
	         shown, MSGID_MAX);
	return -1;
}

void rd_mail_date(time_t t, char out[RD_MAIL_DATE_LEN])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	/* UTC: the same bytes whatever the process's zone; readers show local time */
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, RD_MAIL_DATE_LEN, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	/* the modulos only bound the widths for the compiler: gmtime's fields fit */
	snprintf(out, RD_MAIL_DATE_LEN, "%s, %02u %s %04u %02u:%02u:%02u +0000",
	         days[tm.tm_wday % 7], (unsigned)tm.tm_mday % 100u, months[tm.tm_mon % 12],
	         (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 100u,
	         (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

/* --- quoted-printable ------------------------------------------------------ */

/* One input line (no line end) as QP, with soft breaks. */
static void qp_line(struct rd_sb *sb, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		int last = i + 1 == n;
		char enc[3];
		size_t len = 1;

		enc[0] = (char)s[i];
		if ((s[i] < 33 || s[i] > 126 || s[i] == '=') &&
		    !((s[i] == ' ' || s[i] == '\t') && !last)) {
			enc[0] = '=';
			enc[1] = hex[s[i] >> 4];
			enc[2] = hex[s[i] & 15];
			len = 3;
		}
		/* leave room for the soft break "=" unless this ends the line */
		if (col + len > (last ? 76u : 75u)) {
			rd_sb_add(sb, "=\r\n", 3);
			col = 0;
		}
		rd_sb_add(sb, enc, len);
		col += len;
	}
}

char *rd_mail_qp(const char *text, size_t len)
{
	struct rd_sb sb = {0};
	size_t i = 0;
	char *out;

	while (i < len) {
		size_t n = 0;

		while (i + n < len && text[i + n] != '\n' && text[i + n] != '\r')
			n++;
		qp_line(&sb, (const unsigned char *)text + i, n);
		i += n;
		if (i < len) { /* a line end: CRLF, LF or a lone CR */
			i += text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
			rd_sb_add(&sb, "\r\n", 2);
		}
	}
	return rd_sb_finish(&sb, &out) == 0 ? out : NULL;
}

/* --- the message ------------------------------------------------------------ */

/* A mailbox: "addr", "name <addr>" or encoded words then <addr>. */
static void put_mailbox(struct emit *e, const struct rd_mailbox *mb, int sep)
{
	char *name = mb->name ? header_clean(mb->name, strlen(mb->name)) : NULL;
	char angle[260];
	int n = snprintf(angle, sizeof(angle), "<%s>", mb->addr);
	int plain = 1;

	if (mb->name && !name) {
		e->sb->oom = 1;
		return;
	}
	for (const char *p = name; p && *p; p++)
		if (!atext(*p) && *p != ' ')
			plain = 0; /* a special or non-ASCII: encoded (RFC 2047 5.3) */
	if (!name || !*name) {
		put(e, mb->addr, strlen(mb->addr), sep, FOLD_PLAIN);
	} else {
		if (plain && plain_ok(name))
			put_plain(e, name, sep);
		else
			put_encoded(e, name, strlen(name), sep);
		put(e, angle, (size_t)n, 1, FOLD_PLAIN);
	}
	free(name);
}

static int check_ids(const struct rd_mailmsg *m, char *err, size_t errlen)
{
	if (rd_mail_msgid_check(m->message_id, err, errlen) != 0)
		return -1;
	if (m->in_reply_to && rd_mail_msgid_check(m->in_reply_to, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < m->nreferences; i++)
		if (rd_mail_msgid_check(m->references[i], err, errlen) != 0)
			return -1;
	return 0;
}

static int check_inputs(const struct rd_mailmsg *m, char *err, size_t errlen)
{
	char why[256];

	if (rd_mail_address_check(m->from.addr, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "From: %s", why);
		return -1;
	}
	if (m->nto == 0) {
		snprintf(err, errlen, "no recipient");
		return -1;
	}
	for (size_t i = 0; i < m->nto; i++)
		if (rd_mail_address_check(m->to[i].addr, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "To: %s", why);
			return -1;
		}
	for (size_t i = 0; i < m->ncc; i++)
		if (rd_mail_address_check(m->cc[i].addr, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "Cc: %s", why);
			return -1;
		}
	return check_ids(m, err, errlen);
}

/* An address list, comma-separated, folded by put_mailbox. */
static void put_list(struct emit *e, const struct rd_mailbox *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put_mailbox(e, &list[i], 1);
		if (i + 1 < n) {
			rd_sb_addc(e->sb, ',');
			e->col++;
		}
	}
}

static void put_headers(struct rd_sb *sb, const struct rd_mailmsg *m)
{
	struct emit e = {sb, 0};
	char date[RD_MAIL_DATE_LEN], *subject;

	rd_mail_date(m->date, date);
	rd_sb_adds(sb, "Date: ");
	rd_sb_adds(sb, date);
	rd_sb_adds(sb, "\r\nFrom:");
	e.col = 5;
	put_mailbox(&e, &m->from, 1);
	rd_sb_adds(sb, "\r\nTo:");
	e.col = 3;
	put_list(&e, m->to, m->nto);
	if (m->ncc) {
		rd_sb_adds(sb, "\r\nCc:");
		e.col = 3;
		put_list(&e, m->cc, m->ncc);
	}
	rd_sb_adds(sb, "\r\n");
	subject = rd_mail_header_text("Subject", m->subject ? m->subject : "",
	                              m->subject ? strlen(m->subject) : 0);
	if (subject)
		rd_sb_adds(sb, subject);
	else
		sb->oom = 1;
	free(subject);
	rd_sb_adds(sb, "Message-ID: ");
	rd_sb_adds(sb, m->message_id);
	rd_sb_adds(sb, "\r\n");
	if (m->in_reply_to) {
		rd_sb_adds(sb, "In-Reply-To: ");
		rd_sb_adds(sb, m->in_reply_to);
		rd_sb_adds(sb, "\r\n");
	}
	if (m->nreferences || m->in_reply_to) {
		rd_sb_adds(sb, "References:");
		e.col = 11;
		for (size_t i = 0; i < m->nreferences; i++)
			put(&e, m->references[i], strlen(m->references[i]), 1, FOLD_PLAIN);
		if (!m->nreferences)
			put(&e, m->in_reply_to, strlen(m->in_reply_to), 1, FOLD_PLAIN);
		rd_sb_adds(sb, "\r\n");
	}
	rd_sb_adds(sb, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
}

/* A text part's body: repaired, quoted-printable, ending with CRLF. */
static void put_qp_body(struct rd_sb *sb, const char *text)
{
	size_t n;
	char *clean = rd_mail_utf8_repair(text ? text : "", text ? strlen(text) : 0, &n);
	char *qp = clean ? rd_mail_qp(clean, n) : NULL;

	if (!qp) {
		sb->oom = 1;
	} else {
		rd_sb_adds(sb, qp);
		if (sb->len < 2 || memcmp(sb->p + sb->len - 2, "\r\n", 2) != 0)
			rd_sb_adds(sb, "\r\n");
	}
	free(qp);
	free(clean);
}

static void put_part_headers(struct rd_sb *sb, const char *subtype)
{
	rd_sb_adds(sb, "Content-Type: text/");
	rd_sb_adds(sb, subtype);
	rd_sb_adds(sb, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
}

/* multipart/alternative. The boundary starts with "=_": a quoted-printable
 * text never holds "=" followed by anything but two hex digits or a line
 * end, so the boundary cannot occur in either part. Derived from the
 * message ID, so that a retry sends the same bytes. */
static void put_alternative(struct rd_sb *sb, const struct rd_mailmsg *m)
{
	char boundary[40];

	snprintf(boundary, sizeof(boundary), "=_reachd_%016llx",
	         (unsigned long long)rd_fnv1a_str(RD_FNV_BASIS, m->message_id));
	rd_sb_adds(sb, "Content-Type: multipart/alternative; boundary=\"");
	rd_sb_adds(sb, boundary);
	rd_sb_adds(sb, "\"\r\n\r\n--");
	rd_sb_adds(sb, boundary);
	rd_sb_adds(sb, "\r\n");
	put_part_headers(sb, "plain");
	put_qp_body(sb, m->text);
	rd_sb_adds(sb, "--");
	rd_sb_adds(sb, boundary);
	rd_sb_adds(sb, "\r\n");
	put_part_headers(sb, "html");
	put_qp_body(sb, m->html);
	rd_sb_adds(sb, "--");
	rd_sb_adds(sb, boundary);
	rd_sb_adds(sb, "--\r\n");
}

int rd_mailmsg_compose(const struct rd_mailmsg *m, char **out, char *err, size_t errlen)
{
	struct rd_sb sb = {0};

	*out = NULL;
	if (check_inputs(m, err, errlen) != 0)
		return -1;
	put_headers(&sb, m);
	if (m->html) {
		put_alternative(&sb, m);
	} else {
		put_part_headers(&sb, "plain");
		put_qp_body(&sb, m->text);
	}
	if (rd_sb_finish(&sb, out) != 0) {
		snprintf(err, errlen, "out of memory composing the message");
		return -1;
	}
	return 0;
}
