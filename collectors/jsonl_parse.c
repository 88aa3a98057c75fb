/* jsonl_parse.c - see jsonl_parse.h and docs/jsonl.md. */
#include "jsonl_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tz.h"

/* Field flags for jp_str(). */
#define JP_REQ        0x1 /* missing, null or "" is an error */
#define JP_KEEP_EMPTY 0x2 /* "" is a value (the null sender), not an absence */

/* Values quoted in reasons are cut here: reasons are logged and stored. */
#define JP_QUOTE_MAX 64

/* The object being mapped and where to write why it is refused. */
struct jp_ctx {
	json_t *obj;
	char *why;
	size_t whylen;
};

struct jp_call_def {
	const char *name;
	enum rd_call_ev_type type;
};

static const struct jp_call_def jp_calls[] = {
    {"enter", RD_CALL_ENTER},       {"connect", RD_CALL_CONNECT}, {"complete", RD_CALL_COMPLETE},
    {"transfer", RD_CALL_TRANSFER}, {"abandon", RD_CALL_ABANDON}, {"exit", RD_CALL_EXIT},
    {"refused", RD_CALL_REFUSED},   {"ivr", RD_CALL_IVR},         {"reset", RD_CALL_RESET},
};

struct jp_mail_def {
	const char *name;
	enum rd_mail_ev_type type;
	int needs_msgid; /* the tracker ignores the event without one */
};

static const struct jp_mail_def jp_mails[] = {
    {"received", RD_MAIL_RECEIVED, 1}, {"rejected", RD_MAIL_REJECTED, 1},
    {"ack", RD_MAIL_ACK, 1},           {"sent", RD_MAIL_SENT, 0},
    {"flags", RD_MAIL_FLAGS, 1},       {"closed", RD_MAIL_CLOSED, 1},
};

struct jp_name_bit {
	const char *name;
	uint32_t bit;
};

/* IMAP system flags, with or without their backslash; keywords are ignored. */
static const struct jp_name_bit jp_flag_names[] = {
    {"answered", RD_MAIL_F_ANSWERED}, {"flagged", RD_MAIL_F_FLAGGED},
    {"deleted", RD_MAIL_F_DELETED},   {"seen", RD_MAIL_F_SEEN},
    {"draft", RD_MAIL_F_DRAFT},
};

static const struct jp_name_bit jp_auto_names[] = {
    {"auto-submitted", RD_MAIL_AUTO_SUBMITTED},
    {"x-autoreply", RD_MAIL_AUTO_XAUTOREPLY},
    {"precedence", RD_MAIL_AUTO_PRECEDENCE},
    {"null-sender", RD_MAIL_AUTO_NULLSENDER},
    {"daemon", RD_MAIL_AUTO_DAEMON},
    {"mailer-daemon", RD_MAIL_AUTO_DAEMON},
};

#define JP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- reasons ---------------------------------------------------------------- */

static int jp_fail(struct jp_ctx *x, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jp_fail(struct jp_ctx *x, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, x->whylen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Copy at most JP_QUOTE_MAX bytes of a producer's value for a reason, with
 * control characters replaced: reasons end up in logs. */
static const char *jp_quote(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t n = len < JP_QUOTE_MAX ? len : JP_QUOTE_MAX;

	if (n >= dstlen)
		n = dstlen - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	strcpy(dst + n, len > n ? "..." : "");
	return dst;
}

static const char *jp_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

static int jp_wrong_type(struct jp_ctx *x, const char *field, const json_t *v, const char *want)
{
	return jp_fail(x, JP_REJECT, "field '%s' has the wrong type (%s, expected %s)", field,
	               jp_type_name(v), want);
}

/* --- time ------------------------------------------------------------------- */

/* Exactly n decimal digits. */
static int jp_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* One of the characters of set; never steps over the terminating NUL. */
static int jp_lit(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return -1;
	(*p)++;
	return 0;
}

/* The zone: Z, +HH:MM or +HHMM. Sets the offset east of UTC in seconds. */
static int jp_zone(const char **p, int64_t *east)
{
	int sign, oh, om;

	if (jp_lit(p, "Zz") == 0) {
		*east = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (jp_digits(p, 2, &oh) != 0)
		return -1;
	if (**p == ':')
		(*p)++;
	if (jp_digits(p, 2, &om) != 0 || oh > 23 || om > 59)
		return -1;
	*east = sign * (oh * 3600 + om * 60);
	return 0;
}

int jp_parse_time(const char *s, int64_t *ts)
{
	const char *p = s;
	int y, mo, d, h, mi, sec;
	int64_t east;

	if (jp_digits(&p, 4, &y) || jp_lit(&p, "-") || jp_digits(&p, 2, &mo) || jp_lit(&p, "-") ||
	    jp_digits(&p, 2, &d) || jp_lit(&p, "Tt ") || jp_digits(&p, 2, &h) || jp_lit(&p, ":") ||
	    jp_digits(&p, 2, &mi) || jp_lit(&p, ":") || jp_digits(&p, 2, &sec))
		return -1;
	if (*p == '.') { /* fraction: at least one digit, truncated */
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (jp_zone(&p, &east) != 0 || *p != '\0')
		return -1;
	/* 60: a leap second, as RFC 3339 allows */
	if (mo < 1 || mo > 12 || d < 1 || d > rd_tz_month_days(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	*ts = rd_tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - east;
	return 0;
}

static int jp_time(struct jp_ctx *x, int64_t *ts)
{
	json_t *v = json_object_get(x->obj, "time");
	char q[JP_QUOTE_MAX + 4];

	if (v == NULL || json_is_null(v))
		return jp_fail(x, JP_REJECT, "missing field 'time'");
	if (json_is_string(v)) {
		if (jp_parse_time(json_string_value(v), ts) != 0)
			return jp_fail(
			    x, JP_REJECT,
			    "bad time '%s' (expected e.g. 2026-11-29T09:15:02Z, with a "
			    "zone, or epoch seconds)",
			    jp_quote(q, sizeof(q), json_string_value(v), json_string_length(v)));
	} else if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		/* clamp before converting: out of range either way */
		*ts = n < JP_TS_MIN ? JP_TS_MIN - 1 : n >= JP_TS_MAX ? JP_TS_MAX : (int64_t)n;
	} else if (json_is_real(v)) {
		double r = json_real_value(v);

		*ts = r < (double)JP_TS_MIN    ? JP_TS_MIN - 1
		      : r >= (double)JP_TS_MAX ? JP_TS_MAX
		                               : (int64_t)r; /* truncates the fraction */
	} else {
		return jp_wrong_type(x, "time", v, "a string or a number");
	}
	if (*ts < JP_TS_MIN || *ts >= JP_TS_MAX)
		return jp_fail(x, JP_REJECT, "time out of range [2000, 2100)");
	return 0;
}

/* --- plain fields ----------------------------------------------------------- */

/* A string field. Absent or null gives NULL (an error with JP_REQ). jansson
 * already refused NUL characters and invalid UTF-8. */
static int jp_str(struct jp_ctx *x, const char *field, int flags, const char **out)
{
	json_t *v = json_object_get(x->obj, field);
	size_t n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return flags & JP_REQ ? jp_fail(x, JP_REJECT, "missing field '%s'", field) : 0;
	if (!json_is_string(v))
		return jp_wrong_type(x, field, v, "a string");
	n = json_string_length(v);
	if (n > JP_MAX_STR)
		return jp_fail(x, JP_REJECT, "field '%s' is too long (%zu bytes, at most %d)",
		               field, n, JP_MAX_STR);
	if (n == 0 && (flags & JP_REQ))
		return jp_fail(x, JP_REJECT, "field '%s' is empty", field);
	if (n > 0 || (flags & JP_KEEP_EMPTY))
		*out = json_string_value(v);
	return 0;
}

/* A duration in seconds: absent or null is RD_UNKNOWN; a fraction is
 * truncated (scripts often compute durations as floats). */
static int jp_secs(struct jp_ctx *x, const char *field, int32_t *out)
{
	json_t *v = json_object_get(x->obj, field);
	double r;

	*out = RD_UNKNOWN;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		r = (double)json_integer_value(v);
	else if (json_is_real(v))
		r = json_real_value(v);
	else
		return jp_wrong_type(x, field, v, "a number of seconds");
	if (r < 0 || r >= (double)INT32_MAX + 1)
		return jp_fail(x, JP_REJECT, "field '%s' is out of range (0 to %d seconds)", field,
		               INT32_MAX);
	*out = (int32_t)r;
	return 0;
}

/* --- lists: flags, automatic, references -------------------------------------- */

static uint32_t jp_lookup_bit(const struct jp_name_bit *t, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && strncasecmp(t[i].name, s, len) == 0)
			return t[i].bit;
	return 0;
}

static uint32_t jp_flag_bit(const char *s, size_t len)
{
	if (len > 0 && s[0] == '\\') {
		s++;
		len--;
	}
	return jp_lookup_bit(jp_flag_names, JP_COUNT(jp_flag_names), s, len);
}

/* Separators between ids or flags written as one string. */
static const char jp_seps[] = " \t\r\n,";

/* Call fn for each word of s (split on jp_seps); stops at fn's non-zero. */
static int jp_words(const char *s, size_t len, int (*fn)(void *, const char *, size_t), void *arg)
{
	size_t i = 0;

	while (i < len) {
		size_t start;
		int rc;

		while (i < len && strchr(jp_seps, s[i]) != NULL)
			i++;
		start = i;
		while (i < len && strchr(jp_seps, s[i]) == NULL)
			i++;
		rc = i > start ? fn(arg, s + start, i - start) : 0;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A string, or an array whose elements are all strings, word by word.
 * Returns 1 (wrong type) without calling fn when an element is not a
 * string, else fn's first non-zero or 0. */
static int jp_each_word(json_t *v, int (*fn)(void *, const char *, size_t), void *arg)
{
	size_t i;
	json_t *e;
	int rc;

	if (json_is_string(v))
		return jp_words(json_string_value(v), json_string_length(v), fn, arg);
	if (!json_is_array(v))
		return 1;
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return 1;
	for (i = 0; i < json_array_size(v); i++) {
		e = json_array_get(v, i);
		rc = jp_words(json_string_value(e), json_string_length(e), fn, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int jp_add_flag(void *arg, const char *s, size_t len)
{
	uint32_t *flags = arg;

	*flags |= jp_flag_bit(s, len);
	return 0;
}

/* flags: ["\\Answered", "\\Seen"] or "\\Answered \\Seen" (the full set). */
static int jp_flags(struct jp_ctx *x, int required, uint32_t *out)
{
	json_t *v = json_object_get(x->obj, "flags");

	*out = 0;
	if (v == NULL || json_is_null(v))
		return required ? jp_fail(x, JP_REJECT, "missing field 'flags'") : 0;
	if (jp_each_word(v, jp_add_flag, out) != 0)
		return jp_wrong_type(x, "flags", v, "an array of strings or a string");
	return 0;
}

/* automatic: true/false, or the reasons. An unknown reason still makes the
 * message automatic: the producer said it is. */
static int jp_automatic(struct jp_ctx *x, uint32_t *out)
{
	json_t *v = json_object_get(x->obj, "automatic"), *e;
	size_t i;

	*out = 0;
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return 0;
	if (json_is_true(v)) {
		*out = RD_MAIL_AUTO_SUBMITTED;
		return 0;
	}
	if (!json_is_array(v))
		return jp_wrong_type(x, "automatic", v, "true, false or an array of strings");
	for (i = 0; i < json_array_size(v); i++) {
		uint32_t bit;

		e = json_array_get(v, i);
		if (!json_is_string(e))
			return jp_wrong_type(x, "automatic", v,
			                     "true, false or an array of strings");
		bit = jp_lookup_bit(jp_auto_names, JP_COUNT(jp_auto_names), json_string_value(e),
		                    json_string_length(e));
		*out |= bit != 0 ? bit : RD_MAIL_AUTO_SUBMITTED;
	}
	return 0;
}

/* Two passes over the ids: measure, then copy the most recent ones. */
struct jp_refs_pass {
	size_t count, total; /* first pass: ids, and their joined length */
	size_t seen, rest;   /* second pass: ids met, length of those from here on */
	char *out;
	size_t len;
};

static int jp_refs_measure(void *arg, const char *s, size_t len)
{
	struct jp_refs_pass *r = arg;

	if (len > JP_MAX_STR)
		return 2;
	r->total += (r->count > 0) + len;
	r->count++;
	return 0;
}

static int jp_refs_copy(void *arg, const char *s, size_t len)
{
	struct jp_refs_pass *r = arg;

	r->seen++;
	if (r->rest > JP_MAX_REFS) { /* too long yet: leave this old id out */
		r->rest -= len + (r->seen < r->count);
		return 0;
	}
	if (r->len > 0)
		r->out[r->len++] = ' ';
	memcpy(r->out + r->len, s, len);
	r->len += len;
	return 0;
}

/* references: an array of ids or one string of ids, joined into ev->refs. */
static int jp_refs(struct jp_ctx *x, struct jp_event *ev, const char **out)
{
	json_t *v = json_object_get(x->obj, "references");
	struct jp_refs_pass r = {0};
	int rc;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	rc = jp_each_word(v, jp_refs_measure, &r);
	if (rc == 1)
		return jp_wrong_type(x, "references", v, "an array of strings or a string");
	if (rc == 2)
		return jp_fail(x, JP_REJECT,
		               "an id in field 'references' is too long (at most %d "
		               "bytes)",
		               JP_MAX_STR);
	if (r.count == 0)
		return 0;
	r.rest = r.total;
	r.out = ev->refs;
	(void)jp_each_word(v, jp_refs_copy, &r); /* same words: cannot fail now */
	ev->refs[r.len] = '\0';
	*out = ev->refs;
	return 0;
}

/* --- events ----------------------------------------------------------------- */

static int jp_call(struct jp_ctx *x, const char *event, struct jp_event *ev)
{
	struct rd_call_event *c = &ev->call;
	const struct jp_call_def *d = NULL;
	char q[JP_QUOTE_MAX + 4];
	int req;

	for (size_t i = 0; i < JP_COUNT(jp_calls) && d == NULL; i++)
		if (strcmp(jp_calls[i].name, event) == 0)
			d = &jp_calls[i];
	if (d == NULL)
		return jp_fail(x, JP_UNKNOWN, "unknown call event '%s'",
		               jp_quote(q, sizeof(q), event, strlen(event)));
	memset(c, 0, sizeof(*c));
	c->type = d->type;
	req = d->type == RD_CALL_RESET ? 0 : JP_REQ;
	if (jp_time(x, &c->ts) || jp_str(x, "callid", req, &c->callid) ||
	    jp_str(x, "queue", req, &c->queue) || jp_str(x, "agent", 0, &c->agent) ||
	    jp_secs(x, "wait_s", &c->wait_s) || jp_secs(x, "talk_s", &c->talk_s) ||
	    jp_str(x, "reason", 0, &c->reason))
		return JP_REJECT;
	if (d->type == RD_CALL_RESET) /* the whole source restarted */
		c->callid = c->queue = NULL;
	ev->kind = JP_CALL;
	return JP_OK;
}

/* Mailboxes are identified lowercased, as configured. */
static void jp_lower_copy(char *dst, const char *src)
{
	for (; *src != '\0'; src++, dst++)
		*dst = *src >= 'A' && *src <= 'Z' ? (char)(*src - 'A' + 'a') : *src;
	*dst = '\0';
}

static int jp_mail_fields(struct jp_ctx *x, const struct jp_mail_def *d, struct jp_event *ev)
{
	struct rd_mail_event *m = &ev->mail;
	const char *mailbox;

	if (jp_time(x, &m->ts) || jp_str(x, "mailbox", JP_REQ, &mailbox) ||
	    jp_str(x, "msgid", d->needs_msgid ? JP_REQ : 0, &m->msgid) ||
	    jp_str(x, "sender", JP_KEEP_EMPTY, &m->sender) ||
	    jp_str(x, "in_reply_to", 0, &m->in_reply_to) || jp_refs(x, ev, &m->references) ||
	    jp_str(x, "folder", 0, &m->folder) || jp_str(x, "user", 0, &m->user) ||
	    jp_flags(x, d->type == RD_MAIL_FLAGS, &m->flags) || jp_automatic(x, &m->automatic))
		return JP_REJECT;
	jp_lower_copy(ev->mailbox, mailbox);
	m->mailbox = ev->mailbox;
	/* the indicators count a null-sender message as automatic, whatever
	 * the producer says */
	if (m->sender != NULL && m->sender[0] == '\0')
		m->automatic |= RD_MAIL_AUTO_NULLSENDER;
	return JP_OK;
}

static int jp_mail(struct jp_ctx *x, const char *event, struct jp_event *ev)
{
	const struct jp_mail_def *d = NULL;
	char q[JP_QUOTE_MAX + 4];

	for (size_t i = 0; i < JP_COUNT(jp_mails) && d == NULL; i++)
		if (strcmp(jp_mails[i].name, event) == 0)
			d = &jp_mails[i];
	if (d == NULL)
		return jp_fail(x, JP_UNKNOWN, "unknown mail event '%s'",
		               jp_quote(q, sizeof(q), event, strlen(event)));
	memset(&ev->mail, 0, sizeof(ev->mail));
	ev->mail.type = d->type;
	if (jp_mail_fields(x, d, ev) != JP_OK)
		return JP_REJECT;
	ev->kind = JP_MAIL;
	return JP_OK;
}

/* --- the line --------------------------------------------------------------- */

static int jp_json_error(struct jp_ctx *x, const json_error_t *err)
{
	char q[JP_QUOTE_MAX + 4];

	switch (json_error_code(err)) {
	case json_error_invalid_utf8:
		return jp_fail(x, JP_REJECT, "invalid UTF-8 (byte %d)", err->position);
	case json_error_null_character:
		return jp_fail(x, JP_REJECT, "NUL (\\u0000) in a string (byte %d)", err->position);
	case json_error_duplicate_key:
		return jp_fail(x, JP_REJECT, "duplicate key (byte %d)", err->position);
	case json_error_numeric_overflow:
		return jp_fail(x, JP_REJECT, "number out of range (byte %d)", err->position);
	default:
		return jp_fail(x, JP_REJECT, "not JSON: %s (byte %d)",
		               jp_quote(q, sizeof(q), err->text, strlen(err->text)), err->position);
	}
}

static int jp_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

/* kind and event: both required strings. */
static int jp_dispatch(struct jp_ctx *x, struct jp_event *ev)
{
	const char *kind, *event;
	char q[JP_QUOTE_MAX + 4];

	if (jp_str(x, "kind", JP_REQ, &kind) || jp_str(x, "event", JP_REQ, &event))
		return JP_REJECT;
	if (strcmp(kind, "call") == 0)
		return jp_call(x, event, ev);
	if (strcmp(kind, "mail") == 0)
		return jp_mail(x, event, ev);
	return jp_fail(x, JP_UNKNOWN, "unknown kind '%s'",
	               jp_quote(q, sizeof(q), kind, strlen(kind)));
}

int jp_parse(const char *line, size_t len, struct jp_event *ev, char *why, size_t whylen)
{
	struct jp_ctx x = {.why = why, .whylen = whylen};
	json_error_t err;

	ev->kind = JP_NONE;
	ev->root = NULL;
	if (jp_blank(line, len))
		return jp_fail(&x, JP_REJECT, "empty line");
	/* jansson would say "control character" or "invalid token" */
	if (memchr(line, '\0', len) != NULL)
		return jp_fail(&x, JP_REJECT, "NUL byte in the line");
	ev->root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (ev->root == NULL)
		return jp_json_error(&x, &err);
	if (!json_is_object(ev->root))
		return jp_fail(&x, JP_REJECT, "not an object (%s)", jp_type_name(ev->root));
	x.obj = ev->root;
	return jp_dispatch(&x, ev);
}

void jp_event_release(struct jp_event *ev)
{
	json_decref(ev->root); /* NULL-safe */
	ev->root = NULL;
	ev->kind = JP_NONE;
}
