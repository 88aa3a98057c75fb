/* queuelog_parse.c - see queuelog_parse.h.
 *
 * Layouts by verb (data fields after the verb; [] = absent in older
 * versions), from Asterisk's app_queue.c across 1.0 .. 23:
 *   ENTERQUEUE       url|callerid[|opos[|cid-name]]
 *   CONNECT          holdtime[|member-uniqueid[|ringtime]]
 *   COMPLETECALLER   holdtime|calltime[|opos]      (COMPLETEAGENT alike)
 *   TRANSFER         exten|context[|holdtime|calltime[|opos]]   (<= 11)
 *   BLINDTRANSFER    exten|context|holdtime|calltime|opos       (>= 12)
 *   ATTENDEDTRANSFER BRIDGE|id|hold|call|opos, APP|app|hold|call|opos,
 *                    LINK|chan1|chan2|hold|call|opos            (>= 12)
 *   ABANDON          pos|opos|wait
 *   EXITWITHTIMEOUT  pos[|opos|wait]
 *   EXITEMPTY        pos|opos|wait
 *   EXITWITHKEY      key|pos[|opos|wait]
 *   WITHDRAW         pos|opos|wait|info
 * Fields that some versions omit are optional: absent means RD_UNKNOWN, but
 * a field that is present where a number belongs must be a number. */
#include "queuelog_parse.h"

#include <string.h>

#include "utf8.h"

enum ql_kind {
	QL_NONCALL, /* understood, no call event */
	QL_ENTER,
	QL_CONNECT,
	QL_COMPLETE,
	QL_TRANSFER, /* legacy TRANSFER and BLINDTRANSFER: exten|context|hold|call */
	QL_ATTXFER,
	QL_WAITEND, /* ABANDON and EXIT*: wait in a fixed field */
	QL_REFUSED,
	QL_RESET,
};

struct ql_verb {
	const char *name;
	enum ql_kind kind;
	enum rd_call_ev_type type;
	int wait_field; /* QL_WAITEND: index of the wait field */
};

static const struct ql_verb ql_verbs[] = {
    {"ENTERQUEUE", QL_ENTER, RD_CALL_ENTER, 0},
    {"CONNECT", QL_CONNECT, RD_CALL_CONNECT, 0},
    {"COMPLETECALLER", QL_COMPLETE, RD_CALL_COMPLETE, 0},
    {"COMPLETEAGENT", QL_COMPLETE, RD_CALL_COMPLETE, 0},
    {"TRANSFER", QL_TRANSFER, RD_CALL_TRANSFER, 0},
    {"BLINDTRANSFER", QL_TRANSFER, RD_CALL_TRANSFER, 0},
    {"ATTENDEDTRANSFER", QL_ATTXFER, RD_CALL_TRANSFER, 0},
    {"ABANDON", QL_WAITEND, RD_CALL_ABANDON, 2},
    {"EXITWITHTIMEOUT", QL_WAITEND, RD_CALL_EXIT, 2},
    {"EXITEMPTY", QL_WAITEND, RD_CALL_EXIT, 2},
    {"EXITWITHKEY", QL_WAITEND, RD_CALL_EXIT, 3},
    {"WITHDRAW", QL_WAITEND, RD_CALL_EXIT, 2},
    {"FULL", QL_REFUSED, RD_CALL_REFUSED, 0},
    {"JOINEMPTY", QL_REFUSED, RD_CALL_REFUSED, 0},
    {"JOINUNAVAIL", QL_REFUSED, RD_CALL_REFUSED, 0},
    {"CLOSED", QL_REFUSED, RD_CALL_REFUSED, 0},
    {"QUEUESTART", QL_RESET, RD_CALL_RESET, 0},
    {"RINGNOANSWER", QL_NONCALL, 0, 0},
    {"RINGCANCELED", QL_NONCALL, 0, 0},
    {"AGENTDUMP", QL_NONCALL, 0, 0},
    {"SYSCOMPAT", QL_NONCALL, 0, 0},
    {"ADDMEMBER", QL_NONCALL, 0, 0},
    {"REMOVEMEMBER", QL_NONCALL, 0, 0},
    {"PAUSE", QL_NONCALL, 0, 0},
    {"UNPAUSE", QL_NONCALL, 0, 0},
    {"PAUSEALL", QL_NONCALL, 0, 0},
    {"UNPAUSEALL", QL_NONCALL, 0, 0},
    {"PENALTY", QL_NONCALL, 0, 0},
    {"RINGINUSE", QL_NONCALL, 0, 0},
    {"AGENTLOGIN", QL_NONCALL, 0, 0},
    {"AGENTLOGOFF", QL_NONCALL, 0, 0},
    {"AGENTCALLBACKLOGIN", QL_NONCALL, 0, 0},
    {"AGENTCALLBACKLOGOFF", QL_NONCALL, 0, 0},
    {"CONFIGRELOAD", QL_NONCALL, 0, 0},
    {"OUTCALL", QL_NONCALL, 0, 0},
};

#define QL_NVERBS (sizeof(ql_verbs) / sizeof(ql_verbs[0]))

static const struct ql_verb *ql_lookup(const char *verb)
{
	for (size_t i = 0; i < QL_NVERBS; i++)
		if (strcmp(ql_verbs[i].name, verb) == 0)
			return &ql_verbs[i];
	return NULL;
}

int ql_verb_known(const char *verb)
{
	return verb != NULL && ql_lookup(verb) != NULL;
}

/* Epoch seconds: digits only, no sign, within [QL_TS_MIN, QL_TS_MAX). */
static int parse_ts(const char *s, int64_t *out, const char **why)
{
	int64_t v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9') {
			*why = "non-numeric timestamp";
			return -1;
		}
		if (n >= 12) { /* more digits than any plausible epoch: stop before overflow */
			*why = "timestamp out of range";
			return -1;
		}
		v = v * 10 + (s[n] - '0');
	}
	if (n == 0) {
		*why = "empty timestamp";
		return -1;
	}
	if (v < QL_TS_MIN || v >= QL_TS_MAX) {
		*why = "timestamp out of range";
		return -1;
	}
	*out = v;
	return 0;
}

/* Split data on '|' into rec->field; the last field keeps the rest. */
static void split_data(struct ql_record *rec)
{
	const char *p = rec->data;
	size_t len = rec->data_len;

	while (len > 0 && p[len - 1] == '|')
		len--;
	rec->nfield = 0;
	while (len > 0) { /* after a '|' there is always more: trailing ones were dropped */
		const char *bar = rec->nfield + 1 < QL_MAX_FIELDS ? memchr(p, '|', len) : NULL;
		size_t flen = bar != NULL ? (size_t)(bar - p) : len;

		rec->field[rec->nfield].p = p;
		rec->field[rec->nfield].len = flen;
		rec->nfield++;
		if (bar == NULL)
			break;
		p += flen + 1;
		len -= flen + 1;
	}
}

/* Cut the NUL-terminated string at *cur at the next '|', advancing *cur
 * past it. Returns the field, or NULL if no '|' is left. */
static char *cut_field(char **cur)
{
	char *s = *cur, *bar = strchr(s, '|');

	if (bar == NULL)
		return NULL;
	*bar = '\0';
	*cur = bar + 1;
	return s;
}

int ql_parse(char *line, size_t len, struct ql_record *rec, const char **why)
{
	char *cur = line, *ts;

	memset(rec, 0, sizeof(*rec));
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL byte";
		return -1;
	}
	if (!rd_utf8_valid(line, len, NULL)) {
		*why = "invalid UTF-8";
		return -1;
	}
	line[len] = '\0';
	ts = cut_field(&cur);
	rec->callid = ts != NULL ? cut_field(&cur) : NULL;
	rec->queue = rec->callid != NULL ? cut_field(&cur) : NULL;
	rec->agent = rec->queue != NULL ? cut_field(&cur) : NULL;
	if (rec->agent == NULL) {
		*why = "fewer than 5 fields";
		return -1;
	}
	/* The verb ends at its '|' or, when the writer omitted it, at the end. */
	rec->verb = cur;
	if (cut_field(&cur) != NULL) {
		rec->data = cur;
		rec->data_len = (size_t)(line + len - cur);
	} else {
		rec->data = line + len;
		rec->data_len = 0;
	}
	if (rec->verb[0] == '\0') {
		*why = "empty event name";
		return -1;
	}
	if (parse_ts(ts, &rec->ts, why) != 0)
		return -1;
	split_data(rec);
	return 0;
}

/* A seconds count: optional '-', digits, at most INT32_MAX. A negative
 * value (a clock step at the PBX) is reported as RD_UNKNOWN. */
static int field_num(const struct ql_field *f, int32_t *out)
{
	size_t i = 0;
	int neg = 0;
	int64_t v = 0;

	if (f->len > 0 && f->p[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == f->len)
		return -1;
	for (; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		v = v * 10 + (f->p[i] - '0');
		if (v > INT32_MAX)
			return -1;
	}
	*out = neg ? RD_UNKNOWN : (int32_t)v;
	return 0;
}

/* Field idx as seconds: RD_UNKNOWN when absent (older layouts), an error
 * when present but not a number. */
static int opt_num(const struct ql_record *rec, size_t idx, int32_t *out, const char *bad,
                   const char **why)
{
	if (idx >= rec->nfield) {
		*out = RD_UNKNOWN;
		return 0;
	}
	if (field_num(&rec->field[idx], out) != 0) {
		*why = bad;
		return -1;
	}
	return 0;
}

/* Field idx as seconds, written by every version: must be there. */
static int req_num(const struct ql_record *rec, size_t idx, int32_t *out, const char *missing,
                   const char *bad, const char **why)
{
	if (idx >= rec->nfield) {
		*why = missing;
		return -1;
	}
	return opt_num(rec, idx, out, bad, why);
}

static int field_is(const struct ql_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

/* ATTENDEDTRANSFER: the target takes 2 fields (BRIDGE|id, APP|app) or 3
 * (LINK|chan1|chan2), then holdtime|calltime|opos. */
static int attended_times(const struct ql_record *rec, struct rd_call_event *ev, const char **why)
{
	size_t hold;

	if (rec->nfield == 0) {
		*why = "ATTENDEDTRANSFER without a transfer target";
		return -1;
	}
	if (field_is(&rec->field[0], "LINK"))
		hold = 3;
	else if (field_is(&rec->field[0], "BRIDGE") || field_is(&rec->field[0], "APP"))
		hold = 2;
	else {
		*why = "ATTENDEDTRANSFER with an unknown transfer type";
		return -1;
	}
	if (opt_num(rec, hold, &ev->wait_s, "non-numeric hold time", why) != 0)
		return -1;
	return opt_num(rec, hold + 1, &ev->talk_s, "non-numeric talk time", why);
}

static int fill_times(const struct ql_verb *v, const struct ql_record *rec,
                      struct rd_call_event *ev, const char **why)
{
	switch (v->kind) {
	case QL_CONNECT:
		return req_num(rec, 0, &ev->wait_s, "CONNECT without a hold time",
		               "non-numeric hold time", why);
	case QL_COMPLETE:
		if (req_num(rec, 0, &ev->wait_s, "call end without a hold time",
		            "non-numeric hold time", why) != 0)
			return -1;
		return req_num(rec, 1, &ev->talk_s, "call end without a talk time",
		               "non-numeric talk time", why);
	case QL_TRANSFER:
		if (opt_num(rec, 2, &ev->wait_s, "non-numeric hold time", why) != 0)
			return -1;
		return opt_num(rec, 3, &ev->talk_s, "non-numeric talk time", why);
	case QL_ATTXFER: return attended_times(rec, ev, why);
	case QL_WAITEND:
		return opt_num(rec, (size_t)v->wait_field, &ev->wait_s, "non-numeric wait time",
		               why);
	default: return 0;
	}
}

/* "NONE" and "" stand for "no value" in the header fields. */
static int is_none(const char *s)
{
	return s[0] == '\0' || strcmp(s, "NONE") == 0;
}

static int is_ivr_verb(const char *verb, const struct ql_options *opt)
{
	if (opt == NULL || opt->ivr_verbs == NULL)
		return 0;
	for (size_t i = 0; i < opt->n_ivr_verbs; i++)
		if (opt->ivr_verbs[i] != NULL && strcmp(opt->ivr_verbs[i], verb) == 0)
			return 1;
	return 0;
}

/* Common part of every call event: a real call id and queue. */
static int call_header(const struct ql_record *rec, enum rd_call_ev_type type,
                       struct rd_call_event *ev, const char **why)
{
	if (is_none(rec->callid)) {
		*why = "call event without a call id";
		return -1;
	}
	if (is_none(rec->queue)) {
		*why = "call event without a queue";
		return -1;
	}
	ev->type = type;
	ev->callid = rec->callid;
	ev->queue = rec->queue;
	ev->agent = is_none(rec->agent) ? NULL : rec->agent;
	return 0;
}

int ql_to_event(const struct ql_record *rec, const struct ql_options *opt, struct rd_call_event *ev,
                const char **why)
{
	const struct ql_verb *v = ql_lookup(rec->verb);

	memset(ev, 0, sizeof(*ev));
	ev->ts = rec->ts;
	ev->wait_s = RD_UNKNOWN;
	ev->talk_s = RD_UNKNOWN;
	ev->reason = rec->verb;
	if (v == NULL) {
		if (!is_ivr_verb(rec->verb, opt))
			return 2;
		return call_header(rec, RD_CALL_IVR, ev, why) == 0 ? 1 : -1;
	}
	if (v->kind == QL_NONCALL)
		return 0;
	if (v->kind == QL_RESET) {
		ev->type = RD_CALL_RESET;
		return 1;
	}
	if (call_header(rec, v->type, ev, why) != 0)
		return -1;
	return fill_times(v, rec, ev, why) == 0 ? 1 : -1;
}
