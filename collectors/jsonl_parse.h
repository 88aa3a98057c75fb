/* jsonl_parse.h - validate one JSON-lines object and map it to a call or
 * mail event (the schema is documented in docs/jsonl.md).
 *
 * One line holds one JSON object. It is parsed with jansson, refusing
 * duplicate keys, NUL characters (raw or \u0000) and invalid UTF-8; then
 * every known field is checked whenever it is present (a wrong type is
 * always an error, whatever the event), and the fields the event needs must
 * be there. Unknown extra fields are ignored so that producers can add
 * their own. The parser does no I/O and keeps no global state. */
#ifndef RD_JSONL_PARSE_H
#define RD_JSONL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"

/* Longest string field, in bytes: identifiers and addresses are far
 * shorter; anything longer is a producer's bug, not data. */
#define JP_MAX_STR 1024
/* References kept for a reply: the mail tracker reads at most 4095 bytes
 * and looks for the most recent ids first, so the oldest ids are dropped
 * beyond this instead of rejecting the message. */
#define JP_MAX_REFS 4095

/* Times outside [2000-01-01, 2100-01-01) are rejected as absurd. */
#define JP_TS_MIN INT64_C(946684800)
#define JP_TS_MAX INT64_C(4102444800)

/* Room for any reason jp_parse() writes. */
#define JP_WHY_LEN 256

enum jp_result {
	JP_REJECT = -1, /* invalid: reason in why */
	JP_OK = 0,      /* ev filled */
	JP_UNKNOWN = 1, /* well-formed, but a kind or event this version does not know */
};

enum jp_kind { JP_NONE = 0, JP_CALL, JP_MAIL };

struct jp_event {
	enum jp_kind kind;
	struct rd_call_event call; /* kind == JP_CALL */
	struct rd_mail_event mail; /* kind == JP_MAIL */
	/* What the events' strings point into; released by jp_event_release. */
	json_t *root;
	char mailbox[JP_MAX_STR + 1]; /* lowercased */
	char refs[JP_MAX_REFS + 1];   /* references joined by single spaces */
};

/* Parse line[0, len) (without its '\n'). Returns enum jp_result; on
 * JP_REJECT and JP_UNKNOWN, why holds a precise reason. Call
 * jp_event_release() after using ev, whatever the result. */
int jp_parse(const char *line, size_t len, struct jp_event *ev, char *why, size_t whylen);
void jp_event_release(struct jp_event *ev);

/* "2026-11-29T09:15:02Z", "2026-11-29 10:15:02.250+01:00", "...+0100":
 * RFC 3339 with a mandatory zone; fractions are truncated. 0 or -1. The
 * range is not checked here. Exposed for tests. */
int jp_parse_time(const char *s, int64_t *ts);

#endif
