/* queuelog_parse.h - parse one Asterisk queue_log line into a call event.
 *
 * A line is "time|callid|queue|agent|verb|data..." (Asterisk 1.0 to 23).
 * The parser is pure: no allocation, no I/O, no global state. ql_parse()
 * validates the line and splits it in place; ql_to_event() maps a record to
 * the core's normalized event according to the verb's layout in every
 * Asterisk version (see the reference notes, section 1). */
#ifndef RD_QUEUELOG_PARSE_H
#define RD_QUEUELOG_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Data fields kept apart; the last one keeps the rest of the line, pipes
 * included (ATTENDEDTRANSFER LINK writes 6 values, QueueLog() free text). */
#define QL_MAX_FIELDS 8

/* Timestamps outside [2000-01-01, 2100-01-01) are rejected as absurd. */
#define QL_TS_MIN INT64_C(946684800)
#define QL_TS_MAX INT64_C(4102444800)

/* A data field: not NUL-terminated (it may be followed by '|'). */
struct ql_field {
	const char *p;
	size_t len;
};

struct ql_record {
	int64_t ts;         /* epoch seconds */
	const char *callid; /* the five header fields, NUL-terminated in place */
	const char *queue;
	const char *agent;
	const char *verb;
	/* Everything after the verb's '|', as written (may contain '|'). */
	const char *data;
	size_t data_len;
	/* data split on '|' after dropping trailing '|': a trailing separator
	 * never counts as an extra empty field, and "" gives no field. */
	struct ql_field field[QL_MAX_FIELDS];
	size_t nfield;
};

struct ql_options {
	/* Verbs written by the dialplan when a call ends in the IVR without
	 * reaching an agent (RD_CALL_IVR); matched exactly. May be NULL. */
	const char *const *ivr_verbs;
	size_t n_ivr_verbs;
};

/* Validate and split one line (without its '\n'). line[len] must be
 * writable: it receives a NUL. Rejects NUL bytes, invalid UTF-8 (strict:
 * no overlongs, surrogates or code points above U+10FFFF), fewer than five
 * fields, an empty verb and a non-numeric or absurd timestamp.
 * Returns 0, or -1 with a static reason in *why. rec's strings point into
 * line. */
int ql_parse(char *line, size_t len, struct ql_record *rec, const char **why);

/* Map a parsed record to a call event. opt may be NULL. Returns
 *   1  ev filled (strings borrowed from rec),
 *   0  understood, but not a call event (member, agent and system events),
 *   2  unknown verb (well-formed, kept for inspection),
 *  -1  malformed, with a static reason in *why. */
int ql_to_event(const struct ql_record *rec, const struct ql_options *opt, struct rd_call_event *ev,
                const char **why);

/* 1 if verb is a queue_log event this parser knows (call or not). Used to
 * refuse configuring a standard verb as an IVR verb. */
int ql_verb_known(const char *verb);

#endif
