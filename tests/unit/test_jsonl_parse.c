/* test_jsonl_parse.c - the JSON-lines schema (collectors/jsonl_parse.c):
 * every event mapped field by field, every rejection reason word for word,
 * time formats, references, flags and automatic-message reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonl_parse.h"

/* 2026-11-29T09:15:02Z */
#define T0 INT64_C(1795943702)

static struct jp_event ev;
static char why[JP_WHY_LEN];

static int parse(const char *line)
{
	jp_event_release(&ev);
	why[0] = '\0';
	return jp_parse(line, strlen(line), &ev, why, sizeof(why));
}

static int teardown(void **state)
{
	(void)state;
	jp_event_release(&ev);
	return 0;
}

static void assert_reject(const char *line, const char *reason)
{
	int rc = parse(line);

	if (rc != JP_REJECT || strcmp(why, reason) != 0)
		fail_msg("%s\n  got rc %d '%s'\n  want '%s'", line, rc, why, reason);
}

static void assert_unknown(const char *line, const char *reason)
{
	int rc = parse(line);

	if (rc != JP_UNKNOWN || strcmp(why, reason) != 0)
		fail_msg("%s\n  got rc %d '%s'\n  want unknown '%s'", line, rc, why, reason);
}

static void assert_ok(const char *line)
{
	int rc = parse(line);

	if (rc != JP_OK)
		fail_msg("%s\n  got rc %d '%s'", line, rc, why);
}

/* --- calls ------------------------------------------------------------------ */

static void test_call_every_event(void **state)
{
	static const struct {
		const char *name;
		enum rd_call_ev_type type;
	} t[] = {
	    {"enter", RD_CALL_ENTER},       {"connect", RD_CALL_CONNECT},
	    {"complete", RD_CALL_COMPLETE}, {"transfer", RD_CALL_TRANSFER},
	    {"abandon", RD_CALL_ABANDON},   {"exit", RD_CALL_EXIT},
	    {"refused", RD_CALL_REFUSED},   {"ivr", RD_CALL_IVR},
	};
	char line[512];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(
		    line, sizeof(line),
		    "{\"kind\":\"call\",\"event\":\"%s\",\"time\":\"2026-11-29T09:15:02Z\","
		    "\"callid\":\"1795943702.12\",\"queue\":\"accueil\",\"agent\":\"PJSIP/201\","
		    "\"wait_s\":12,\"talk_s\":95,\"reason\":\"EXITWITHTIMEOUT\"}",
		    t[i].name);
		assert_ok(line);
		assert_int_equal(ev.kind, JP_CALL);
		assert_int_equal(ev.call.type, t[i].type);
		assert_int_equal(ev.call.ts, T0);
		assert_string_equal(ev.call.callid, "1795943702.12");
		assert_string_equal(ev.call.queue, "accueil");
		assert_string_equal(ev.call.agent, "PJSIP/201");
		assert_int_equal(ev.call.wait_s, 12);
		assert_int_equal(ev.call.talk_s, 95);
		assert_string_equal(ev.call.reason, "EXITWITHTIMEOUT");
	}
}

static void test_call_optional_fields(void **state)
{
	(void)state;
	/* absent */
	assert_ok("{\"kind\":\"call\",\"event\":\"enter\",\"time\":1795943702,\"callid\":\"c1\","
	          "\"queue\":\"q\"}");
	assert_int_equal(ev.call.type, RD_CALL_ENTER);
	assert_null(ev.call.agent);
	assert_int_equal(ev.call.wait_s, RD_UNKNOWN);
	assert_int_equal(ev.call.talk_s, RD_UNKNOWN);
	assert_null(ev.call.reason);
	/* null and "" are absences too */
	assert_ok(
	    "{\"kind\":\"call\",\"event\":\"abandon\",\"time\":1795943702,\"callid\":\"c1\","
	    "\"queue\":\"q\",\"agent\":\"\",\"wait_s\":null,\"talk_s\":null,\"reason\":null}");
	assert_null(ev.call.agent);
	assert_int_equal(ev.call.wait_s, RD_UNKNOWN);
	assert_int_equal(ev.call.talk_s, RD_UNKNOWN);
	assert_null(ev.call.reason);
	/* fractions of a second are truncated; 0 is a duration */
	assert_ok("{\"kind\":\"call\",\"event\":\"complete\",\"time\":1795943702,\"callid\":\"c1\","
	          "\"queue\":\"q\",\"wait_s\":0,\"talk_s\":95.9}");
	assert_int_equal(ev.call.wait_s, 0);
	assert_int_equal(ev.call.talk_s, 95);
	assert_ok("{\"kind\":\"call\",\"event\":\"complete\",\"time\":1795943702,\"callid\":\"c1\","
	          "\"queue\":\"q\",\"wait_s\":2147483647}");
	assert_int_equal(ev.call.wait_s, INT32_MAX);
	/* extra fields are for the producer */
	assert_ok("{\"kind\":\"call\",\"event\":\"enter\",\"time\":1795943702,\"callid\":\"c1\","
	          "\"queue\":\"q\",\"caller\":\"0612345678\",\"x\":{\"y\":[1,2]}}");
}

static void test_call_reset(void **state)
{
	(void)state;
	assert_ok("{\"kind\":\"call\",\"event\":\"reset\",\"time\":1795943702}");
	assert_int_equal(ev.call.type, RD_CALL_RESET);
	assert_null(ev.call.callid);
	assert_null(ev.call.queue);
	/* the whole source restarted, whatever else is said */
	assert_ok("{\"kind\":\"call\",\"event\":\"reset\",\"time\":1795943702,\"callid\":\"c\","
	          "\"queue\":\"q\",\"reason\":\"QUEUESTART\"}");
	assert_null(ev.call.callid);
	assert_null(ev.call.queue);
	assert_string_equal(ev.call.reason, "QUEUESTART");
}

/* --- mail ------------------------------------------------------------------- */

static void test_mail_every_event(void **state)
{
	static const struct {
		const char *name;
		enum rd_mail_ev_type type;
	} t[] = {
	    {"received", RD_MAIL_RECEIVED}, {"rejected", RD_MAIL_REJECTED},
	    {"ack", RD_MAIL_ACK},           {"sent", RD_MAIL_SENT},
	    {"flags", RD_MAIL_FLAGS},       {"closed", RD_MAIL_CLOSED},
	};
	char line[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(
		    line, sizeof(line),
		    "{\"kind\":\"mail\",\"event\":\"%s\",\"time\":\"2026-11-29T10:15:02+01:00\","
		    "\"mailbox\":\"Contact@Example.GOUV.fr\",\"msgid\":\"<a1@x.fr>\","
		    "\"sender\":\"Jean@x.fr\",\"in_reply_to\":\"<p@x.fr>\","
		    "\"references\":[\"<r1@x.fr>\",\"<p@x.fr>\"],\"folder\":\"INBOX\","
		    "\"user\":\"agent1\",\"flags\":[\"\\\\Answered\",\"\\\\Seen\"],"
		    "\"automatic\":false}",
		    t[i].name);
		assert_ok(line);
		assert_int_equal(ev.kind, JP_MAIL);
		assert_int_equal(ev.mail.type, t[i].type);
		assert_int_equal(ev.mail.ts, T0);
		assert_string_equal(ev.mail.mailbox, "contact@example.gouv.fr");
		assert_string_equal(ev.mail.msgid, "<a1@x.fr>");
		assert_string_equal(ev.mail.sender, "Jean@x.fr");
		assert_string_equal(ev.mail.in_reply_to, "<p@x.fr>");
		assert_string_equal(ev.mail.references, "<r1@x.fr> <p@x.fr>");
		assert_string_equal(ev.mail.folder, "INBOX");
		assert_string_equal(ev.mail.user, "agent1");
		assert_int_equal(ev.mail.flags, RD_MAIL_F_ANSWERED | RD_MAIL_F_SEEN);
		assert_int_equal(ev.mail.automatic, 0);
	}
}

static void test_mail_minimal(void **state)
{
	(void)state;
	assert_ok("{\"kind\":\"mail\",\"event\":\"received\",\"time\":1795943702,"
	          "\"mailbox\":\"c@x.fr\",\"msgid\":\"<m@x>\"}");
	assert_int_equal(ev.mail.type, RD_MAIL_RECEIVED);
	assert_string_equal(ev.mail.mailbox, "c@x.fr");
	assert_null(ev.mail.sender);
	assert_null(ev.mail.in_reply_to);
	assert_null(ev.mail.references);
	assert_null(ev.mail.folder);
	assert_null(ev.mail.user);
	assert_int_equal(ev.mail.flags, 0);
	assert_int_equal(ev.mail.automatic, 0);
	/* a reply needs no Message-ID of its own */
	assert_ok("{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,"
	          "\"mailbox\":\"c@x.fr\",\"in_reply_to\":\"<m@x>\"}");
	assert_null(ev.mail.msgid);
	assert_string_equal(ev.mail.in_reply_to, "<m@x>");
	/* the null sender is a value, and makes the message automatic */
	assert_ok("{\"kind\":\"mail\",\"event\":\"received\",\"time\":1795943702,"
	          "\"mailbox\":\"c@x.fr\",\"msgid\":\"<m@x>\",\"sender\":\"\"}");
	assert_string_equal(ev.mail.sender, "");
	assert_int_equal(ev.mail.automatic, RD_MAIL_AUTO_NULLSENDER);
	/* closed without a folder: deleted */
	assert_ok("{\"kind\":\"mail\",\"event\":\"closed\",\"time\":1795943702,"
	          "\"mailbox\":\"c@x.fr\",\"msgid\":\"<m@x>\",\"folder\":\"\"}");
	assert_null(ev.mail.folder);
}

static void test_mail_references(void **state)
{
	static char line[20000];
	char *p;
	size_t n;

	(void)state;
	/* a string, with any spacing (folded headers), or commas */
	assert_ok("{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"references\":\"  <a@x>\\t<b@x>\\r\\n <c@x>,<d@x> \"}");
	assert_string_equal(ev.mail.references, "<a@x> <b@x> <c@x> <d@x>");
	/* array elements holding several ids */
	assert_ok("{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"references\":[\"<a@x> <b@x>\",\"\",\"<c@x>\"]}");
	assert_string_equal(ev.mail.references, "<a@x> <b@x> <c@x>");
	/* nothing in it */
	assert_ok("{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"references\":[]}");
	assert_null(ev.mail.references);
	assert_ok("{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"references\":\" \"}");
	assert_null(ev.mail.references);

	/* 100 ids of 99 bytes (with the space): only the most recent ones that
	 * fit in JP_MAX_REFS are kept, the newest last */
	p = line + sprintf(line, "{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,"
	                         "\"mailbox\":\"c@x\",\"references\":[");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s\"<%03d%0*d@x>\"", i ? "," : "", i, 98 - 2 - 3 - 2, 0);
	strcpy(p, "]}");
	assert_ok(line);
	n = strlen(ev.mail.references);
	assert_true(n <= JP_MAX_REFS);
	assert_int_equal(n, 41 * 99 - 1); /* 41 ids of 98 bytes + 40 spaces */
	assert_memory_equal(ev.mail.references, "<059", 4);
	assert_memory_equal(ev.mail.references + n - 98, "<099", 4);
}

static void test_mail_flags(void **state)
{
	(void)state;
	assert_ok("{\"kind\":\"mail\",\"event\":\"flags\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"msgid\":\"<m>\",\"flags\":[\"\\\\Answered\",\"\\\\Flagged\",\"\\\\Deleted\","
	          "\"\\\\Seen\",\"\\\\Draft\",\"$Forwarded\",\"Junk\"]}");
	assert_int_equal(ev.mail.flags, RD_MAIL_F_ANSWERED | RD_MAIL_F_FLAGGED | RD_MAIL_F_DELETED |
	                                    RD_MAIL_F_SEEN | RD_MAIL_F_DRAFT);
	/* a string, case-insensitive, backslash optional */
	assert_ok("{\"kind\":\"mail\",\"event\":\"flags\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"msgid\":\"<m>\",\"flags\":\"\\\\seen ANSWERED\"}");
	assert_int_equal(ev.mail.flags, RD_MAIL_F_ANSWERED | RD_MAIL_F_SEEN);
	/* the full set after a change may be empty */
	assert_ok("{\"kind\":\"mail\",\"event\":\"flags\",\"time\":1795943702,\"mailbox\":\"c@x\","
	          "\"msgid\":\"<m>\",\"flags\":[]}");
	assert_int_equal(ev.mail.flags, 0);
}

static void test_mail_automatic(void **state)
{
	static const struct {
		const char *value;
		uint32_t bits;
	} t[] = {
	    {"true", RD_MAIL_AUTO_SUBMITTED},
	    {"false", 0},
	    {"null", 0},
	    {"[]", 0},
	    {"[\"auto-submitted\"]", RD_MAIL_AUTO_SUBMITTED},
	    {"[\"X-Autoreply\"]", RD_MAIL_AUTO_XAUTOREPLY},
	    {"[\"precedence\"]", RD_MAIL_AUTO_PRECEDENCE},
	    {"[\"null-sender\"]", RD_MAIL_AUTO_NULLSENDER},
	    {"[\"daemon\"]", RD_MAIL_AUTO_DAEMON},
	    {"[\"mailer-daemon\",\"precedence\"]", RD_MAIL_AUTO_DAEMON | RD_MAIL_AUTO_PRECEDENCE},
	    {"[\"vacation-robot\"]", RD_MAIL_AUTO_SUBMITTED}, /* unknown: still automatic */
	};
	char line[512];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(
		    line, sizeof(line),
		    "{\"kind\":\"mail\",\"event\":\"received\",\"time\":1795943702,"
		    "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"sender\":\"s@y\",\"automatic\":%s}",
		    t[i].value);
		assert_ok(line);
		assert_int_equal(ev.mail.automatic, t[i].bits);
	}
}

/* --- time --------------------------------------------------------------------- */

static void test_time_formats(void **state)
{
	static const char *const same[] = {
	    "2026-11-29T09:15:02Z",      "2026-11-29t09:15:02z",        "2026-11-29 09:15:02Z",
	    "2026-11-29T10:15:02+01:00", "2026-11-29T10:15:02+0100",    "2026-11-29T03:45:02-05:30",
	    "2026-11-29T09:15:02.999Z",  "2026-11-29T10:15:02.5+01:00", "2026-11-29T09:15:02-00:00",
	};
	int64_t ts;

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		ts = 0;
		if (jp_parse_time(same[i], &ts) != 0 || ts != T0)
			fail_msg("%s -> %lld", same[i], (long long)ts);
	}
	assert_int_equal(jp_parse_time("2024-02-29T23:59:60Z", &ts), 0); /* leap day + second */
	assert_int_equal(ts, INT64_C(1709251200));
	assert_int_equal(jp_parse_time("2000-01-01T00:00:00Z", &ts), 0);
	assert_int_equal(ts, INT64_C(946684800));

	/* through the parser: strings and epoch numbers */
	assert_ok(
	    "{\"kind\":\"call\",\"event\":\"reset\",\"time\":\"2026-11-29T10:15:02.75+01:00\"}");
	assert_int_equal(ev.call.ts, T0);
	assert_ok("{\"kind\":\"call\",\"event\":\"reset\",\"time\":1795943702}");
	assert_int_equal(ev.call.ts, T0);
	assert_ok("{\"kind\":\"call\",\"event\":\"reset\",\"time\":1795943702.999}");
	assert_int_equal(ev.call.ts, T0);
	assert_ok("{\"kind\":\"call\",\"event\":\"reset\",\"time\":946684800}");
	assert_int_equal(ev.call.ts, INT64_C(946684800));
	assert_ok("{\"kind\":\"call\",\"event\":\"reset\",\"time\":4102444799.9}");
	assert_int_equal(ev.call.ts, INT64_C(4102444799));
}

static void test_time_rejects(void **state)
{
	static const char *const bad[] = {
	    "2026-11-29T09:15:02", /* no zone: ambiguous */
	    "2026-11-29",
	    "2026-11-29T09:15Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "2100-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-11-29T24:00:00Z",
	    "2026-11-29T09:60:00Z",
	    "2026-11-29T09:15:61Z",
	    "2026-11-29T09:15:02.Z",
	    "2026-11-29T09:15:02+01",
	    "2026-11-29T09:15:02+24:00",
	    "2026-11-29T09:15:02+01:60",
	    "2026-11-29T09:15:02Zjunk",
	    "2026-11-29T09:15:02 Z",
	    "26-11-29T09:15:02Z",
	    "2026/11/29T09:15:02Z",
	    "1795943702",
	    "",
	    "2026-11-29T09:15:0",
	};
	char line[256], want[256];
	int64_t ts;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jp_parse_time(bad[i], &ts) == 0)
			fail_msg("'%s' accepted", bad[i]);
		snprintf(line, sizeof(line),
		         "{\"kind\":\"call\",\"event\":\"reset\",\"time\":\"%s\"}", bad[i]);
		snprintf(want, sizeof(want),
		         "bad time '%s' (expected e.g. 2026-11-29T09:15:02Z, with a zone, or epoch "
		         "seconds)",
		         bad[i]);
		assert_reject(line, want);
	}
	/* the range */
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":\"1999-12-31T23:59:59Z\"}",
	              "time out of range [2000, 2100)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":\"2100-01-01T00:00:00Z\"}",
	              "time out of range [2000, 2100)");
	assert_reject(
	    "{\"kind\":\"call\",\"event\":\"reset\",\"time\":\"2000-01-01T00:30:00+01:00\"}",
	    "time out of range [2000, 2100)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":0}",
	              "time out of range [2000, 2100)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":-5}",
	              "time out of range [2000, 2100)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":4102444800}",
	              "time out of range [2000, 2100)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":1e300}",
	              "time out of range [2000, 2100)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":9223372036854775807}",
	              "time out of range [2000, 2100)");
	/* the types */
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\"}", "missing field 'time'");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":null}",
	              "missing field 'time'");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":true}",
	              "field 'time' has the wrong type (a boolean, expected a string or a number)");
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":[1795943702]}",
	              "field 'time' has the wrong type (an array, expected a string or a number)");
	/* control characters are not echoed into logs */
	assert_reject("{\"kind\":\"call\",\"event\":\"reset\",\"time\":\"x\\ny\"}",
	              "bad time 'x?y' (expected e.g. 2026-11-29T09:15:02Z, with a zone, or epoch "
	              "seconds)");
}

/* --- rejections ------------------------------------------------------------------ */

#define CALL "{\"kind\":\"call\",\"event\":\"enter\",\"time\":1795943702,"
#define MAIL "{\"kind\":\"mail\",\"event\":\"received\",\"time\":1795943702,"

static void test_reject_not_an_object(void **state)
{
	(void)state;
	assert_reject("", "empty line");
	assert_reject(" \t\r", "empty line");
	assert_reject("hello", "not JSON: invalid token near 'hello' (byte 5)");
	assert_reject("{\"kind\":\"call\"", "not JSON: '}' expected near end of file (byte 14)");
	assert_reject("{} {}", "not JSON: end of file expected near '{' (byte 4)");
	assert_reject("[1,2]", "not an object (an array)");
	assert_reject("42", "not an object (a number)");
	assert_reject("\"call\"", "not an object (a string)");
	assert_reject("null", "not an object (null)");
	assert_reject("{\"kind\":\"call\",\"kind\":\"mail\"}", "duplicate key (byte 21)");
	assert_reject(CALL "\"callid\":\"a\\u0000b\",\"queue\":\"q\"}",
	              "NUL (\\u0000) in a string (byte 68)");
	assert_reject(CALL "\"callid\":\"\xc3\x28\",\"queue\":\"q\"}", "invalid UTF-8 (byte 59)");
	assert_reject(CALL "\"callid\":\"\xed\xa0\x80\",\"queue\":\"q\"}",
	              "invalid UTF-8 (byte 59)"); /* a surrogate */
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"wait_s\":1e999}",
	              "number out of range (byte 88)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"x\":123456789012345678901234}",
	              "number out of range (byte 102)");
}

static void test_reject_raw_nul(void **state)
{
	static const char line[] = "{\"kind\":\"call\",\0\"event\":\"reset\",\"time\":1795943702}";

	(void)state;
	assert_int_equal(jp_parse(line, sizeof(line) - 1, &ev, why, sizeof(why)), JP_REJECT);
	assert_string_equal(why, "NUL byte in the line");
}

static void test_reject_kind_event(void **state)
{
	(void)state;
	assert_reject("{}", "missing field 'kind'");
	assert_reject("{\"event\":\"enter\"}", "missing field 'kind'");
	assert_reject("{\"kind\":7,\"event\":\"enter\"}",
	              "field 'kind' has the wrong type (a number, expected a string)");
	assert_reject("{\"kind\":\"\",\"event\":\"enter\"}", "field 'kind' is empty");
	assert_reject("{\"kind\":\"call\"}", "missing field 'event'");
	assert_reject("{\"kind\":\"call\",\"event\":[\"enter\"]}",
	              "field 'event' has the wrong type (an array, expected a string)");
	/* well-formed, from a newer producer: counted apart, not as errors */
	assert_unknown("{\"kind\":\"sms\",\"event\":\"sent\"}", "unknown kind 'sms'");
	assert_unknown("{\"kind\":\"call\",\"event\":\"hold\"}", "unknown call event 'hold'");
	assert_unknown("{\"kind\":\"mail\",\"event\":\"moved\"}", "unknown mail event 'moved'");
	assert_unknown("{\"kind\":\"call\",\"event\":\"ENTER\"}", "unknown call event 'ENTER'");
}

static void test_reject_call_fields(void **state)
{
	char line[2048];

	(void)state;
	assert_reject(CALL "\"queue\":\"q\"}", "missing field 'callid'");
	assert_reject(CALL "\"callid\":null,\"queue\":\"q\"}", "missing field 'callid'");
	assert_reject(CALL "\"callid\":\"\",\"queue\":\"q\"}", "field 'callid' is empty");
	assert_reject(CALL "\"callid\":12,\"queue\":\"q\"}",
	              "field 'callid' has the wrong type (a number, expected a string)");
	assert_reject(CALL "\"callid\":\"c\"}", "missing field 'queue'");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":{}}",
	              "field 'queue' has the wrong type (an object, expected a string)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"agent\":false}",
	              "field 'agent' has the wrong type (a boolean, expected a string)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"reason\":[]}",
	              "field 'reason' has the wrong type (an array, expected a string)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"wait_s\":\"12\"}",
	              "field 'wait_s' has the wrong type (a string, expected a number of seconds)");
	assert_reject(
	    CALL "\"callid\":\"c\",\"queue\":\"q\",\"talk_s\":true}",
	    "field 'talk_s' has the wrong type (a boolean, expected a number of seconds)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"wait_s\":-1}",
	              "field 'wait_s' is out of range (0 to 2147483647 seconds)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"talk_s\":2147483648}",
	              "field 'talk_s' is out of range (0 to 2147483647 seconds)");
	assert_reject(CALL "\"callid\":\"c\",\"queue\":\"q\",\"talk_s\":-0.5}",
	              "field 'talk_s' is out of range (0 to 2147483647 seconds)");

	/* JP_MAX_STR bytes pass, one more does not */
	snprintf(line, sizeof(line), CALL "\"callid\":\"%0*d\",\"queue\":\"q\"}", JP_MAX_STR, 7);
	assert_ok(line);
	assert_int_equal(strlen(ev.call.callid), JP_MAX_STR);
	snprintf(line, sizeof(line), CALL "\"callid\":\"%0*d\",\"queue\":\"q\"}", JP_MAX_STR + 1,
	         7);
	assert_reject(line, "field 'callid' is too long (1025 bytes, at most 1024)");
	/* bytes, not characters: 513 two-byte characters */
	strcpy(line, CALL "\"callid\":\"c\",\"queue\":\"");
	for (int i = 0; i < 513; i++)
		strcat(line, "\xc3\xa9");
	strcat(line, "\"}");
	assert_reject(line, "field 'queue' is too long (1026 bytes, at most 1024)");
}

static void test_reject_mail_fields(void **state)
{
	char line[2048];

	(void)state;
	assert_reject(MAIL "\"msgid\":\"<m>\"}", "missing field 'mailbox'");
	assert_reject(MAIL "\"mailbox\":\"\",\"msgid\":\"<m>\"}", "field 'mailbox' is empty");
	assert_reject(MAIL "\"mailbox\":[\"c@x\"],\"msgid\":\"<m>\"}",
	              "field 'mailbox' has the wrong type (an array, expected a string)");
	assert_reject(MAIL "\"mailbox\":\"c@x\"}", "missing field 'msgid'");
	assert_reject(
	    "{\"kind\":\"mail\",\"event\":\"ack\",\"time\":1795943702,\"mailbox\":\"c@x\"}",
	    "missing field 'msgid'");
	assert_reject("{\"kind\":\"mail\",\"event\":\"closed\",\"time\":1795943702,"
	              "\"mailbox\":\"c@x\",\"msgid\":\"\"}",
	              "field 'msgid' is empty");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"sender\":null,\"user\":1}",
	              "field 'user' has the wrong type (a number, expected a string)");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"folder\":{}}",
	              "field 'folder' has the wrong type (an object, expected a string)");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"in_reply_to\":[\"<p>\"]}",
	              "field 'in_reply_to' has the wrong type (an array, expected a string)");
	assert_reject("{\"kind\":\"mail\",\"event\":\"flags\",\"time\":1795943702,"
	              "\"mailbox\":\"c@x\",\"msgid\":\"<m>\"}",
	              "missing field 'flags'");
	assert_reject("{\"kind\":\"mail\",\"event\":\"flags\",\"time\":1795943702,"
	              "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"flags\":8}",
	              "field 'flags' has the wrong type (a number, expected an array of strings or "
	              "a string)");
	/* a known field is checked on every event, even one that ignores it */
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"flags\":[\"\\\\Seen\",1]}",
	              "field 'flags' has the wrong type (an array, expected an array of strings or "
	              "a string)");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"automatic\":\"yes\"}",
	              "field 'automatic' has the wrong type (a string, expected true, false or an "
	              "array of strings)");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"automatic\":[true]}",
	              "field 'automatic' has the wrong type (an array, expected true, false or an "
	              "array of strings)");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"references\":{}}",
	              "field 'references' has the wrong type (an object, expected an array of "
	              "strings or a string)");
	assert_reject(MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"references\":[\"<a>\",null]}",
	              "field 'references' has the wrong type (an array, expected an array of "
	              "strings or a string)");
	snprintf(line, sizeof(line),
	         MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"references\":"
	              "\"<a> <%0*d>\"}",
	         JP_MAX_STR - 1, 0);
	assert_reject(line, "an id in field 'references' is too long (at most 1024 bytes)");
	snprintf(line, sizeof(line),
	         MAIL "\"mailbox\":\"c@x\",\"msgid\":\"<m>\",\"references\":"
	              "\"<a> <%0*d>\"}",
	         JP_MAX_STR - 2, 0);
	assert_ok(line);
}

/* The first problem found is the one reported, in a fixed order. */
static void test_reject_order(void **state)
{
	(void)state;
	assert_reject("{\"kind\":\"call\",\"event\":\"enter\",\"callid\":3}",
	              "missing field 'time'");
	assert_reject(CALL "\"callid\":3,\"queue\":4}",
	              "field 'callid' has the wrong type (a number, expected a string)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_call_every_event, teardown),
	    cmocka_unit_test_teardown(test_call_optional_fields, teardown),
	    cmocka_unit_test_teardown(test_call_reset, teardown),
	    cmocka_unit_test_teardown(test_mail_every_event, teardown),
	    cmocka_unit_test_teardown(test_mail_minimal, teardown),
	    cmocka_unit_test_teardown(test_mail_references, teardown),
	    cmocka_unit_test_teardown(test_mail_flags, teardown),
	    cmocka_unit_test_teardown(test_mail_automatic, teardown),
	    cmocka_unit_test_teardown(test_time_formats, teardown),
	    cmocka_unit_test_teardown(test_time_rejects, teardown),
	    cmocka_unit_test_teardown(test_reject_not_an_object, teardown),
	    cmocka_unit_test_teardown(test_reject_raw_nul, teardown),
	    cmocka_unit_test_teardown(test_reject_kind_event, teardown),
	    cmocka_unit_test_teardown(test_reject_call_fields, teardown),
	    cmocka_unit_test_teardown(test_reject_mail_fields, teardown),
	    cmocka_unit_test_teardown(test_reject_order, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
