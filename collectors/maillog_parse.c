/* maillog_parse.c - see maillog_parse.h.
 *
 * Formats follow the reference notes (shared/reference/mail-logs.md) and
 * the sources they cite: Postfix global/log_adhoc.c, cleanup_message.c
 * (cleanup_act_log), smtpd.c, qmgr; Dovecot lib-lda/mail-deliver.c,
 * plugins/mail-log, Pigeonhole vacation. Every value taken from a line can
 * come from a stranger (headers, addresses, HELO names): nothing here trusts
 * a length, and the collector copies values with ml_copy() into bounded
 * buffers. */
#include "maillog_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "tz.h"
#include "utf8.h"

/* --- small helpers -------------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* s after prefix p, or NULL. */
static char *after(char *s, const char *p)
{
	size_t n = strlen(p);

	return strncmp(s, p, n) == 0 ? s + n : NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Last occurrence of needle in hay, or NULL. */
static char *find_last(char *hay, const char *needle)
{
	char *last = NULL, *p = hay;

	while ((p = strstr(p, needle)) != NULL)
		last = p++;
	return last;
}

/* Digits s[0, n) as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* --- bounded copies ------------------------------------------------------- */

size_t ml_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (cap == 0)
		return 0;
	if (n >= cap) {
		n = cap - 1;
		/* never end inside a multi-byte character */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* --- dates ------------------------------------------------------------------ */

static int64_t civil_year(int64_t days)
{
	int64_t y;
	int m, d;

	rd_tz_civil_from_days(days, &y, &m, &d);
	return y;
}

/* --- year inference --------------------------------------------------------- */

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* Among last year, this year and next year (of the reference), the best
 * reading of a year-less stamp; bounded: never later than now + 1 day. */
static int64_t yearless_pick(const struct ml_clock *clk, int mon, int day, int32_t secs,
                             int bounded)
{
	int64_t ref = clk->prev > 0 ? clk->prev : clk->now, best = -1;
	int64_t y0 = civil_year(rd_tz_floor_div(ref + rd_tz_offset(clk->tz, ref), 86400));

	for (int64_t y = y0 - 1; y <= y0 + 1; y++) {
		int64_t u;

		if (day > rd_tz_month_days(y, mon))
			continue; /* Feb 29 of a common year */
		u = rd_tz_to_utc(clk->tz, rd_tz_days_from_civil(y, mon, day) * 86400 + secs,
		                 clk->prev);
		if (bounded && clk->now > 0 && u > clk->now + 86400)
			continue;
		if (best < 0 ||
		    (clk->prev > 0 ? abs64(u - clk->prev) < abs64(best - clk->prev) : u > best))
			best = u;
	}
	return best;
}

int64_t ml_yearless_to_utc(const struct ml_clock *clk, int mon, int day, int32_t secs)
{
	int64_t u;

	if (clk->prev <= 0 && clk->now <= 0)
		return -1;
	u = yearless_pick(clk, mon, day, secs, 1);
	/* a log ahead of our clock: better the nearest reading than nothing */
	return u >= 0 ? u : yearless_pick(clk, mon, day, secs, 0);
}

/* --- time stamps ---------------------------------------------------------- */

/* "HH:MM:SS" (a leap second :60 is read as :59). */
static const char *parse_hms(const char *s, int32_t *secs)
{
	int h = digits(s, 2), m, sec;

	if (h < 0 || h > 23 || s[2] != ':' || (m = digits(s + 3, 2)) < 0 || m > 59 || s[5] != ':' ||
	    (sec = digits(s + 6, 2)) < 0 || sec > 60)
		return NULL;
	*secs = h * 3600 + m * 60 + (sec == 60 ? 59 : sec);
	return s + 8;
}

/* "Jun  3 08:27:16" (RFC 3164), "Jun 03 08:27:16" (maillog_file), "Jun 3 ...". */
static const char *parse_bsd(const char *s, int *mon, int *day, int32_t *secs)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	*mon = 0;
	for (int i = 0; i < 12; i++)
		if (strncmp(s, months + 3 * i, 3) == 0)
			*mon = i + 1;
	if (*mon == 0 || s[3] != ' ')
		return NULL;
	s += 4;
	if (s[0] == ' ' && is_digit(s[1]) && s[2] == ' ') {
		*day = s[1] - '0';
		s += 3;
	} else if (is_digit(s[0]) && is_digit(s[1]) && s[2] == ' ') {
		*day = digits(s, 2);
		s += 3;
	} else if (is_digit(s[0]) && s[1] == ' ') {
		*day = s[0] - '0';
		s += 2;
	} else {
		return NULL;
	}
	if (*day < 1 || *day > 31)
		return NULL;
	return parse_hms(s, secs);
}

/* "Z", "+01:00", "+0100" or "+01": seconds east into *off. */
static const char *parse_zone(const char *s, int32_t *off, int *has)
{
	int sign, h, m = 0;

	*has = 1;
	if (*s == 'Z' || *s == 'z') {
		*off = 0;
		return s + 1;
	}
	if (*s != '+' && *s != '-') {
		*has = 0;
		return s;
	}
	sign = *s == '-' ? -1 : 1;
	if ((h = digits(s + 1, 2)) < 0 || h > 23)
		return NULL;
	s += 3;
	if (*s == ':')
		s++;
	if (is_digit(*s)) {
		if ((m = digits(s, 2)) < 0 || m > 59)
			return NULL;
		s += 2;
	}
	*off = sign * (h * 3600 + m * 60);
	return s;
}

/* "2024-08-26T01:33:38[.frac][zone]", also with a space for 'T'. Without a
 * zone the stamp is local time of clk->tz. */
static const char *parse_iso(const char *s, const struct ml_clock *clk, int64_t *ts)
{
	int y = digits(s, 4), mo, d, has;
	int32_t secs, off = 0;

	if (y < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 1 || d > rd_tz_month_days(y, mo) ||
	    (s[10] != 'T' && s[10] != ' '))
		return NULL;
	if (!(s = parse_hms(s + 11, &secs)))
		return NULL;
	if (*s == '.' || *s == ',') {
		if (!is_digit(*++s))
			return NULL;
		while (is_digit(*s))
			s++;
	}
	if (!(s = parse_zone(s, &off, &has)))
		return NULL;
	*ts = rd_tz_days_from_civil(y, mo, d) * 86400 + secs;
	*ts = has ? *ts - off : rd_tz_to_utc(clk->tz, *ts, clk->prev);
	return s;
}

/* --- origin: host and tag ----------------------------------------------------- */

static void set_program(struct ml_line *out, char *prog)
{
	char *first = strchr(prog, '/'), *last = strrchr(prog, '/');

	out->program = prog;
	out->instance_len = first != NULL ? (size_t)(first - prog) : 0;
	out->service = last != NULL ? last + 1 : prog;
}

/* "prog[pid]: msg" or "prog: msg"; anything else is a message without a
 * tag (e.g. "-- MARK --"). Solaris' "[ID 197553 mail.info] " is skipped. */
static void parse_tag(char *s, struct ml_line *out)
{
	char *p = s, *end;

	while (*p != '\0' && *p != '[' && *p != ':' && *p != ' ')
		p++;
	end = p;
	if (*p == '[') {
		int64_t pid = 0;

		for (p++; is_digit(*p) && pid < INT64_C(1) << 40; p++)
			pid = pid * 10 + (*p - '0');
		if (*p != ']' || p == end + 1)
			goto untagged;
		out->pid = pid;
		p++;
	}
	if (p == s || *p != ':' || (p[1] != ' ' && p[1] != '\0'))
		goto untagged;
	*end = '\0';
	set_program(out, s);
	out->msg = p[1] == ' ' ? p + 2 : p + 1;
	if (strncmp(out->msg, "[ID ", 4) == 0 && (p = strstr(out->msg, "] ")) != NULL)
		out->msg = p + 2;
	return;
untagged:
	out->pid = -1;
	out->program = out->service = "";
	out->msg = s;
}

/* What follows the time stamp: "host tag: msg", "tag: msg" (no host) or
 * Dovecot's own file "svc(user)...: msg". */
static int parse_origin(char *s, struct ml_line *out, const char **why)
{
	size_t tok = strcspn(s, " ");

	if (tok == 0) {
		*why = "no host after the time stamp";
		return -1;
	}
	if (memchr(s, '(', tok) != NULL) {
		/* host names have no parentheses: Dovecot's log_path file */
		out->host = "";
		out->program = out->service = "dovecot";
		out->msg = s;
		out->dovecot_file = 1;
		return 0;
	}
	if (s[tok - 1] == ':') {
		out->host = ""; /* a writer that omits the host */
		parse_tag(s, out);
		return 0;
	}
	out->host = s;
	if (s[tok] == '\0') {
		*why = "no message after the host";
		return -1;
	}
	s[tok] = '\0';
	parse_tag(s + tok + 1, out);
	return 0;
}

/* --- RFC 5424 -------------------------------------------------------------- */

/* One space-separated header field; "-" reads as "". */
static char *field_5424(char **s)
{
	char *f = *s, *sp = strchr(f, ' ');

	if (sp == NULL)
		return NULL;
	*sp = '\0';
	*s = sp + 1;
	return strcmp(f, "-") == 0 ? f + 1 : f;
}

/* STRUCTURED-DATA: "-" or "[id k="v\]"]..." (quotes and escapes honoured). */
static char *skip_sd(char *s)
{
	if (*s == '-')
		return s + 1;
	while (*s == '[') {
		int quoted = 0;

		for (s++; *s != '\0' && (quoted || *s != ']'); s++) {
			if (quoted && *s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '"')
				quoted = !quoted;
		}
		if (*s != ']')
			return NULL;
		s++;
	}
	return s;
}

static int parse_5424(char *s, const struct ml_clock *clk, struct ml_line *out, const char **why)
{
	char *p = s + 1, *host, *app, *procid;
	int n = 0;

	*why = "malformed RFC 5424 header";
	while (is_digit(*p) && n < 3)
		p++, n++;
	if (n == 0 || strncmp(p, ">1 ", 3) != 0)
		return -1;
	p += 3;
	if (*p == '-') {
		*why = "RFC 5424 line without a time stamp";
		return -1;
	}
	if (!(p = (char *)parse_iso(p, clk, &out->ts)) || *p != ' ')
		return -1;
	p++;
	if (!(host = field_5424(&p)) || !(app = field_5424(&p)) || !(procid = field_5424(&p)) ||
	    !field_5424(&p) || !(p = skip_sd(p)) || (*p != ' ' && *p != '\0'))
		return -1;
	out->format = ML_FMT_RFC5424;
	out->host = host;
	set_program(out, app);
	out->pid =
	    *procid != '\0' && strspn(procid, "0123456789") == strlen(procid) && strlen(procid) < 12
	        ? strtoll(procid, NULL, 10)
	        : -1;
	out->msg = *p == ' ' ? p + 1 : p;
	if (strncmp(out->msg, "\xEF\xBB\xBF", 3) == 0)
		out->msg += 3; /* BOM */
	return 0;
}

/* --- one line ----------------------------------------------------------------- */

static int parse_stamp(char **s, const struct ml_clock *clk, struct ml_line *out, const char **why)
{
	const char *p;
	int mon, day;
	int32_t secs;

	if (is_digit(**s)) {
		out->format = ML_FMT_ISO;
		p = parse_iso(*s, clk, &out->ts);
	} else {
		out->format = ML_FMT_BSD;
		p = parse_bsd(*s, &mon, &day, &secs);
		if (p != NULL && (out->ts = ml_yearless_to_utc(clk, mon, day, secs)) < 0) {
			*why = "date that exists in no nearby year";
			return -1;
		}
	}
	if (p == NULL || *p != ' ') {
		*why = "unknown time stamp";
		return -1;
	}
	*s = (char *)p + 1;
	return 0;
}

int ml_parse_line(char *line, size_t len, const struct ml_clock *clk, struct ml_line *out,
                  const char **why)
{
	char *s = line;
	int rc;

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL byte in line";
		return -1;
	}
	if (!rd_utf8_valid(line, len, NULL)) {
		*why = "invalid UTF-8";
		return -1;
	}
	line[len] = '\0';
	if (*s == '<')
		rc = parse_5424(s, clk, out, why);
	else
		rc = parse_stamp(&s, clk, out, why) == 0 ? parse_origin(s, out, why) : -1;
	if (rc != 0)
		return -1;
	if (out->ts < ML_TS_MIN || out->ts >= ML_TS_MAX) {
		*why = "time stamp out of range";
		return -1;
	}
	return 0;
}

/* --- Postfix ------------------------------------------------------------------ */

/* Short queue IDs are upper-case hex; long ones (enable_long_queue_ids) use
 * digits and consonants with one 'z' separator. Vowels exclude the words
 * that start other messages ("warning:", "statistics:"). */
static int pf_is_qid(const char *s, size_t n)
{
	int hex = 1, lng = 1;

	if (n < 5 || n > 20)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!is_digit(c) && !(c >= 'A' && c <= 'F'))
			hex = 0;
		if (!is_digit(c) && !is_alpha(c) && c != 'z')
			return 0;
		if (strchr("AEIOUaeiou", c) != NULL)
			lng = 0;
	}
	return hex || lng;
}

/* "QID: rest" -> r->qid, *rest. 0 if the message has no queue ID. */
static int pf_split_qid(char *msg, struct ml_rec *r, char **rest)
{
	size_t n = strspn(msg, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	if (msg[n] != ':' || msg[n + 1] != ' ')
		return 0;
	if (!(n == 7 && strncmp(msg, "NOQUEUE", 7) == 0) && !pf_is_qid(msg, n))
		return 0;
	msg[n] = '\0';
	r->qid = msg;
	*rest = msg + n + 2;
	return 1;
}

/* End of an address "<...>" value started at s: the first '>' followed by
 * one of the terminators, or the last '>' of the string. */
static char *addr_end(char *s, const char *const *terms)
{
	char *best = NULL;

	for (; *terms != NULL; terms++) {
		char *p = strstr(s, *terms);

		if (p != NULL && (best == NULL || p < best))
			best = p;
	}
	return best != NULL ? best : strrchr(s, '>');
}

/* "...; from=<s> to=<r> proto=P helo=<h>[: text]" as smtpd and cleanup
 * write it. The first "; from=<" is taken: what comes before it is the
 * rejection text or header, bounded by Postfix. */
static int pf_envelope(char *s, struct ml_rec *r)
{
	static const char *const sterm[] = {"> to=<", "> proto=", "> helo=<", ">: ", NULL};
	static const char *const rterm[] = {"> proto=", "> helo=<", ">: ", NULL};
	char *p = strstr(s, "; from=<"), *e;

	if (p == NULL)
		return -1;
	*p = '\0';
	p += 8;
	if ((e = addr_end(p, sterm)) == NULL)
		return -1;
	r->sender = p;
	p = e + 1;
	*e = '\0';
	if ((p = after(p, " to=<")) != NULL && (e = addr_end(p, rterm)) != NULL) {
		*e = '\0';
		r->rcpt = p;
	}
	return 0;
}

/* "Name: value from host[ip]" (cut by Postfix at 200 bytes before " from"). */
static int pf_header(char *s, struct ml_rec *r)
{
	char *from, *colon;

	if (pf_envelope(s, r) != 0)
		return 0;
	from = find_last(s, " from ");
	if (from != NULL)
		*from = '\0';
	colon = strchr(s, ':');
	if (colon == NULL || colon == s)
		return 0;
	for (char *p = s; p < colon; p++)
		if (*p <= ' ' || *p > '~')
			return 0; /* not a header name */
	*colon = '\0';
	r->header_name = s;
	for (s = colon + 1; *s == ' ' || *s == '\t'; s++)
		;
	r->header_value = s;
	r->kind = ML_PF_HEADER;
	return 1;
}

static int pf_reject(char *s, struct ml_rec *r)
{
	if (pf_envelope(s, r) != 0 || r->rcpt == NULL)
		return 0; /* MAIL FROM / CONNECT stage: no recipient */
	r->kind = ML_PF_REJECT;
	return 1;
}

/* "to=<r>[, orig_to=<o>], relay=R[, conn_use=N], delay=D, delays=a/b/c/d
 * [, tls=...], dsn=X.Y.Z, status=S (text)" (global/log_adhoc.c). */
static int pf_delivery(char *s, struct ml_rec *r, const char **why)
{
	char *orig = strstr(s, ">, orig_to=<"), *relay = strstr(s, ">, relay="), *p, *st;

	*why = "delivery line without relay= or status=";
	if (relay == NULL)
		return -1;
	if (orig != NULL && orig < relay) {
		*orig = '\0';
		r->orig_rcpt = orig + 12;
	}
	*relay = '\0';
	r->rcpt = s;
	r->relay = p = relay + 9;
	if ((p = strstr(p, ", ")) == NULL)
		return -1;
	*p = '\0';
	if ((st = strstr(p + 2, ", status=")) == NULL && strncmp(p + 2, "status=", 7) != 0)
		return -1;
	st = st != NULL ? st + 9 : p + 9;
	r->status = st;
	r->status_text = "";
	p = st + strcspn(st, " ");
	if (*p == ' ') {
		*p++ = '\0';
		if (*p == '(' && ends_with(p, ")")) {
			p[strlen(p) - 1] = '\0';
			r->status_text = p + 1;
		}
	}
	if (*r->status == '\0')
		return -1;
	r->kind = ML_PF_DELIVERY;
	return 1;
}

/* qmgr "from=<s>, size=N, nrcpt=N (queue active)" or "from=<s>,
 * status=expired, returned to sender". The sender is whatever the client
 * said: the fixed tail is matched from the end. */
static int pf_qmgr_from(char *s, struct ml_rec *r)
{
	char *p;

	if (ends_with(s, " (queue active)") && (p = find_last(s, ">, size=")) != NULL) {
		r->kind = ML_PF_QUEUED;
	} else if ((p = find_last(s, ">, status=")) != NULL && (strstr(p, "expired") != NULL)) {
		r->kind = ML_PF_EXPIRED;
	} else {
		return 0;
	}
	*p = '\0';
	r->sender = s;
	return 1;
}

/* smtpd "client=host[ip][, sasl_method=M, sasl_username=U][, ...]". */
static int pf_client(char *s, struct ml_rec *r)
{
	char *u = strstr(s, ", sasl_username=");

	if (u != NULL) {
		u += 16;
		u[strcspn(u, ",")] = '\0';
		if (*u != '\0')
			r->sasl_username = u;
	}
	r->kind = ML_PF_CLIENT;
	return 1;
}

/* pickup "uid=N from=<s>". */
static int pf_pickup(char *s, struct ml_rec *r)
{
	char *p = s + strspn(s, "0123456789"), *e;

	if (p == s || (p = after(p, " from=<")) == NULL || (e = strrchr(p, '>')) == NULL)
		return 0;
	*e = '\0';
	r->sender = p;
	r->kind = ML_PF_PICKUP;
	return 1;
}

/* cleanup "message-id=V": verbatim header value, "<>" when there is none. */
static int pf_msgid(char *s, struct ml_rec *r)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	r->msgid = n == 0 || strcmp(s, "<>") == 0 ? NULL : s;
	r->kind = ML_PF_MSGID;
	return 1;
}

/* bounce "sender non-delivery notification: NEWQID" and the like. */
static int pf_notify(char *s, struct ml_rec *r)
{
	char *p = strstr(s, " notification: ");

	if (p == NULL || (strncmp(s, "sender ", 7) != 0 && strncmp(s, "postmaster ", 11) != 0))
		return 0;
	p += 15;
	if (!pf_is_qid(p, strlen(p)))
		return 0;
	r->new_qid = p;
	r->kind = ML_PF_NOTIFY;
	return 1;
}

static int pf_by_service(const char *service, char *rest, struct ml_rec *r)
{
	char *p;

	if (strcmp(service, "smtpd") == 0 && (p = after(rest, "client=")) != NULL)
		return pf_client(p, r);
	if (strcmp(service, "pickup") == 0 && (p = after(rest, "uid=")) != NULL)
		return pf_pickup(p, r);
	if (strcmp(service, "cleanup") == 0) {
		if ((p = after(rest, "message-id=")) != NULL)
			return pf_msgid(p, r);
		if ((p = after(rest, "info: header ")) != NULL)
			return pf_header(p, r);
	}
	if (strcmp(service, "qmgr") == 0 && (p = after(rest, "from=<")) != NULL)
		return pf_qmgr_from(p, r);
	if (strcmp(service, "bounce") == 0)
		return pf_notify(rest, r);
	return 0;
}

int ml_parse_postfix(const char *service, char *msg, struct ml_rec *r, const char **why)
{
	char *rest, *p;
	int noqueue;

	memset(r, 0, sizeof(*r));
	if (strcmp(service, "smtpd") == 0 && strncmp(msg, "disconnect from ", 16) == 0) {
		r->kind = ML_PF_DISCONNECT;
		return 1;
	}
	if (!pf_split_qid(msg, r, &rest))
		return 0;
	noqueue = strcmp(r->qid, "NOQUEUE") == 0;
	if ((p = after(rest, "reject: ")) != NULL || (p = after(rest, "milter-reject: ")) != NULL)
		return strcmp(service, "smtpd") == 0 || strcmp(service, "cleanup") == 0
		           ? pf_reject(p, r)
		           : 0;
	if (noqueue)
		return 0;
	if ((p = after(rest, "to=<")) != NULL)
		return pf_delivery(p, r, why);
	if (strcmp(rest, "removed") == 0) {
		r->kind = ML_PF_REMOVED;
		return 1;
	}
	return pf_by_service(service, rest, r);
}

/* --- Dovecot ------------------------------------------------------------------ */

/* "svc(user)<pid><session>: ", "svc(pid, user): ", "svc(user): ". */
static char *dc_prefix(char *s, struct ml_rec *r)
{
	char *p = s, *close, *user;
	int groups = 0;

	while ((*p >= 'a' && *p <= 'z') || is_digit(*p) || *p == '-' || *p == '_')
		p++;
	if (p == s || *p != '(' || (close = strchr(p, ')')) == NULL)
		return NULL;
	*p = '\0';
	*close = '\0';
	r->service = s;
	user = p + 1;
	if (is_digit(*user) && (p = strstr(user, ", ")) != NULL &&
	    strspn(user, "0123456789") == (size_t)(p - user))
		user = p + 2; /* old "lmtp(12345, user)" */
	if (*user == '\0')
		return NULL;
	r->user = user;
	for (p = close + 1; *p == '<'; groups++) {
		char *gt = strchr(p, '>');

		if (gt == NULL)
			return NULL;
		*gt = '\0';
		if (groups == 1)
			r->session = p + 1;
		p = gt + 1;
	}
	return after(p, ": ");
}

static int dc_op_at(const char *s);

/* A session ID is random base64: it has an upper-case letter or a digit,
 * which the words that may stand there ("autoexpunge:") have not. */
static int dc_is_session(const char *s, size_t n)
{
	size_t k = strcspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

	return n >= 10 && k < n && dc_op_at(s) < 0;
}

/* 2.2's "SESSION: " before the text, or a custom "session=S " prefix. */
static char *dc_session(char *s, struct ml_rec *r)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	char *p;

	if (dc_is_session(s, n) && s[n] == ':' && s[n + 1] == ' ') {
		s[n] = '\0';
		r->session = s;
		return s + n + 2;
	}
	if ((p = after(s, "session=")) != NULL && (n = strcspn(p, " ")) > 0 && p[n] == ' ') {
		p[n] = '\0';
		r->session = p;
		return p + n + 1;
	}
	return s;
}

/* "msgid=<m>: text" of LDA/LMTP and Sieve ("unspecified" when absent). */
static int dc_delivery(char *s, struct ml_rec *r)
{
	char *end = *s == '<' ? strstr(s, ">: ") : NULL, *text, *p;

	if (end != NULL)
		end++;
	else if ((end = strstr(s, ": ")) == NULL)
		return 0;
	*end = '\0';
	text = end + 2;
	r->msgid = *s == '\0' || strcmp(s, "unspecified") == 0 ? NULL : s;
	if ((p = after(text, "saved mail to ")) != NULL) {
		r->folder = p;
	} else if ((p = strstr(text, "stored mail into mailbox '")) != NULL && ends_with(p, "'")) {
		p[strlen(p) - 1] = '\0';
		r->folder = p + 26;
	} else if ((p = strstr(text, "sent vacation response to <")) != NULL && ends_with(p, ">")) {
		p[strlen(p) - 1] = '\0';
		r->vacation_to = p + 27;
		r->kind = ML_DC_VACATION;
		return 1;
	} else {
		return 0;
	}
	r->kind = ML_DC_DELIVERED;
	return 1;
}

static const char *const dc_fields[] = {
    "box=", "uid=", "msgid=", "size=", "vsize=", "from=", "subject=", NULL};

/* s starts with one of the mail_log fields. */
static int dc_is_field(const char *s)
{
	for (int i = 0; dc_fields[i] != NULL; i++)
		if (strncmp(s, dc_fields[i], strlen(dc_fields[i])) == 0)
			return 1;
	return strncmp(s, "flags=(", 7) == 0;
}

/* Where the value of field i ends: the next ", <later field>=". */
static char *dc_value_end(char *v, int i)
{
	char *best = NULL, pat[16];

	for (int k = i + 1; dc_fields[k] != NULL; k++) {
		char *p;

		pat[0] = ',';
		pat[1] = ' ';
		memcpy(pat + 2, dc_fields[k], strlen(dc_fields[k]) + 1);
		if ((p = strstr(v, pat)) != NULL && (best == NULL || p < best))
			best = p;
	}
	return best;
}

/* "box=B, uid=N, msgid=<m>, size=N, vsize=N, from=F, subject=S, flags=(...)"
 * in that order, each optional. Values may hold ", ": flags, last, is taken
 * from the end and every other value ends at a later field's name. */
static void dc_fields_parse(char *s, struct ml_rec *r)
{
	char *fl = find_last(s, "flags=(");

	if (fl != NULL && ends_with(fl, ")") && (fl == s || (fl - s >= 2 && fl[-2] == ','))) {
		r->has_flags = 1;
		r->flags = ml_parse_flags(fl + 7);
		if (fl == s)
			*s = '\0';
		else
			fl[-2] = '\0';
	}
	for (int i = 0; dc_fields[i] != NULL && *s != '\0'; i++) {
		char *v = after(s, dc_fields[i]), *end;

		if (v == NULL)
			continue;
		end = dc_value_end(v, i);
		if (end != NULL)
			*end = '\0';
		if (i == 0 && r->folder == NULL)
			r->folder = v;
		else if (i == 2 && *v != '\0')
			r->msgid = v;
		s = end != NULL ? end + 2 : v + strlen(v);
	}
}

static const struct {
	const char *desc;
	enum ml_op op;
} dc_ops[] = {
    {"save: ", ML_OP_SAVE},
    {"copy from ", ML_OP_COPY},
    {"expunge: ", ML_OP_EXPUNGE},
    {"autoexpunge: ", ML_OP_AUTOEXPUNGE},
    {"delete: ", ML_OP_DELETE},
    {"undelete: ", ML_OP_UNDELETE},
    {"flag_change: ", ML_OP_FLAG_CHANGE},
};

static int dc_op_at(const char *s)
{
	for (size_t i = 0; i < sizeof(dc_ops) / sizeof(dc_ops[0]); i++)
		if (strncmp(s, dc_ops[i].desc, strlen(dc_ops[i].desc)) == 0)
			return (int)i;
	return -1;
}

/* "DESC: fields" of the mail_log plugin; "copy from SRC: fields". */
static int dc_maillog(char *s, struct ml_rec *r)
{
	int i = dc_op_at(s);

	if (i < 0)
		return 0;
	r->op = dc_ops[i].op;
	s += strlen(dc_ops[i].desc);
	if (r->op == ML_OP_COPY) {
		/* the source name ends at the ": " before the first field */
		char *sep = strstr(s, ": ");

		while (sep != NULL && !dc_is_field(sep + 2))
			sep = strstr(sep + 1, ": ");
		if (sep == NULL)
			return 0;
		*sep = '\0';
		r->src_folder = s;
		s = sep + 2;
	}
	dc_fields_parse(s, r);
	r->kind = ML_DC_MAILLOG;
	return 1;
}

/* 2.4: "Mailbox NAME: DESC: fields" (the box event's prefix). */
static int dc_mailbox_prefix(char *s, struct ml_rec *r)
{
	char *p;

	for (p = strstr(s, ": "); p != NULL && dc_op_at(p + 2) < 0; p = strstr(p + 1, ": "))
		;
	if (p == NULL || p == s)
		return 0;
	*p = '\0';
	r->folder = s;
	return dc_maillog(p + 2, r);
}

int ml_parse_dovecot(char *msg, struct ml_rec *r, const char **why)
{
	char *s, *p;

	memset(r, 0, sizeof(*r));
	if ((s = dc_prefix(msg, r)) == NULL)
		return 0;
	if ((p = after(s, "Info: ")) != NULL)
		s = p;
	else if (strncmp(s, "Warning: ", 9) == 0 || strncmp(s, "Error: ", 7) == 0 ||
	         strncmp(s, "Fatal: ", 7) == 0 || strncmp(s, "Panic: ", 7) == 0 ||
	         strncmp(s, "Debug: ", 7) == 0)
		return 0; /* failures are not events ("save failed to ...") */
	s = dc_session(s, r);
	if ((p = after(s, "sieve: ")) != NULL)
		s = p;
	if ((p = after(s, "msgid=")) != NULL)
		return dc_delivery(p, r);
	if ((p = after(s, "Mailbox ")) != NULL && dc_mailbox_prefix(p, r))
		return 1;
	(void)why;
	return dc_maillog(s, r);
}

/* --- values ----------------------------------------------------------------- */

/* First word of a header value, into w (lower bytes kept as is). */
static void first_word(const char *v, char *w, size_t cap)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, " \t;(,");
	if (n >= cap)
		n = cap - 1;
	memcpy(w, v, n);
	w[n] = '\0';
}

uint32_t ml_header_automatic(const char *name, const char *value)
{
	char w[32];

	first_word(value, w, sizeof(w));
	if (strcasecmp(name, "Auto-Submitted") == 0)
		return *w != '\0' && strcasecmp(w, "no") != 0 ? RD_MAIL_AUTO_SUBMITTED : 0;
	if (strcasecmp(name, "X-Autoreply") == 0)
		return *w != '\0' && strcasecmp(w, "no") != 0 && strcasecmp(w, "false") != 0
		           ? RD_MAIL_AUTO_XAUTOREPLY
		           : 0;
	if (strcasecmp(name, "Precedence") == 0)
		return strcasecmp(w, "bulk") == 0 || strcasecmp(w, "junk") == 0 ||
		               strcasecmp(w, "list") == 0 || strcasecmp(w, "auto_reply") == 0
		           ? RD_MAIL_AUTO_PRECEDENCE
		           : 0;
	return 0;
}

uint32_t ml_sender_automatic(const char *sender)
{
	const char *at;
	size_t n;

	if (sender == NULL)
		return 0;
	if (*sender == '\0')
		return RD_MAIL_AUTO_NULLSENDER;
	at = strrchr(sender, '@');
	n = at != NULL ? (size_t)(at - sender) : strlen(sender);
	if ((n == 13 && strncasecmp(sender, "mailer-daemon", 13) == 0) ||
	    (n == 10 && strncasecmp(sender, "postmaster", 10) == 0) ||
	    (n > 6 && strncasecmp(sender, "owner-", 6) == 0) ||
	    (n > 8 && strncasecmp(sender + n - 8, "-request", 8) == 0))
		return RD_MAIL_AUTO_DAEMON;
	return 0;
}

#define ML_MAX_IDS 64

size_t ml_msgid_list(const char *value, size_t max, char *out, size_t outlen)
{
	const char *id[ML_MAX_IDS];
	size_t len[ML_MAX_IDS], n = 0, first, total = 0, w = 0;
	const char *p = value;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	for (;;) {
		size_t k;

		/* Postfix shows the line breaks of a folded header as '?' */
		while (*p == ' ' || *p == '\t' || *p == '?' || *p == ',')
			p++;
		if (*p != '<')
			break;
		k = strcspn(p + 1, "<> \t") + 1;
		if (p[k] != '>' || k < 2 || k + 1 >= ML_MSGID_MAX)
			break;
		if (n == ML_MAX_IDS) { /* keep the most recent ones */
			memmove(id, id + 1, sizeof(id[0]) * (n - 1));
			memmove(len, len + 1, sizeof(len[0]) * (n - 1));
			n--;
		}
		id[n] = p;
		len[n++] = k + 1;
		p += k + 1;
	}
	/* the last ones that fit, oldest first */
	for (first = n; first > 0 && n - first < max; first--) {
		if (total + len[first - 1] + (total > 0) >= outlen)
			break;
		total += len[first - 1] + (total > 0);
	}
	for (size_t i = first; i < n; i++) {
		if (w > 0)
			out[w++] = ' ';
		memcpy(out + w, id[i], len[i]);
		w += len[i];
	}
	out[w] = '\0';
	return n - first;
}

uint32_t ml_parse_flags(const char *s)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} f[] = {{"\\Answered", RD_MAIL_F_ANSWERED},
	         {"\\Flagged", RD_MAIL_F_FLAGGED},
	         {"\\Deleted", RD_MAIL_F_DELETED},
	         {"\\Seen", RD_MAIL_F_SEEN},
	         {"\\Draft", RD_MAIL_F_DRAFT}};
	uint32_t bits = 0;

	while (*s != '\0' && *s != ')') {
		size_t n = strcspn(s, " )");

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (n == strlen(f[i].name) && strncasecmp(s, f[i].name, n) == 0)
				bits |= f[i].bit;
		s += n;
		while (*s == ' ')
			s++;
	}
	return bits;
}
