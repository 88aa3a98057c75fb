/* test_queuelog_parse.c - the queue_log parser against every layout from
 * Asterisk 1.0 to 23, and against malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "queuelog_parse.h"
#include "utf8.h"

#define TS "1759217554"

/* The line being tested lives in its own buffer: the parser writes to it. */
struct parsed {
	char buf[512];
	struct ql_record rec;
	struct rd_call_event ev;
	const char *why;
	int prc; /* ql_parse */
	int erc; /* ql_to_event, when ql_parse succeeded */
};

static void run_len(struct parsed *p, const char *line, size_t len, const struct ql_options *opt)
{
	assert_true(len < sizeof(p->buf));
	memcpy(p->buf, line, len);
	p->why = NULL;
	p->erc = -9;
	p->prc = ql_parse(p->buf, len, &p->rec, &p->why);
	if (p->prc == 0)
		p->erc = ql_to_event(&p->rec, opt, &p->ev, &p->why);
}

static void run(struct parsed *p, const char *line)
{
	run_len(p, line, strlen(line), NULL);
}

/* A call event with the given fields. */
static void expect_call(const char *line, enum rd_call_ev_type type, const char *agent,
                        int32_t wait_s, int32_t talk_s)
{
	struct parsed p;

	run(&p, line);
	assert_int_equal(p.prc, 0);
	if (p.erc != 1)
		fail_msg("%s: rc %d (%s)", line, p.erc, p.why ? p.why : "");
	assert_int_equal(p.ev.type, type);
	assert_int_equal(p.ev.ts, INT64_C(1759217554));
	assert_string_equal(p.ev.callid, "1759217500.42");
	assert_string_equal(p.ev.queue, "support");
	if (agent == NULL)
		assert_null(p.ev.agent);
	else
		assert_string_equal(p.ev.agent, agent);
	assert_int_equal(p.ev.wait_s, wait_s);
	assert_int_equal(p.ev.talk_s, talk_s);
	assert_string_equal(p.ev.reason, p.rec.verb);
}

/* A malformed line with the given reason. */
static void expect_bad(const char *line, const char *why)
{
	struct parsed p;

	run(&p, line);
	if (p.prc == 0 && p.erc != -1)
		fail_msg("%s: accepted (rc %d)", line, p.erc);
	assert_non_null(p.why);
	assert_string_equal(p.why, why);
}

static void expect_rc(const char *line, int rc)
{
	struct parsed p;

	run(&p, line);
	assert_int_equal(p.prc, 0);
	if (p.erc != rc)
		fail_msg("%s: rc %d, expected %d (%s)", line, p.erc, rc, p.why ? p.why : "");
}

#define CALL TS "|1759217500.42|support|"

static void test_header_fields(void **state)
{
	struct parsed p;

	(void)state;
	run(&p, CALL "PJSIP/1001|CONNECT|5|1759217501.43|3");
	assert_int_equal(p.prc, 0);
	assert_int_equal(p.rec.ts, INT64_C(1759217554));
	assert_string_equal(p.rec.callid, "1759217500.42");
	assert_string_equal(p.rec.queue, "support");
	assert_string_equal(p.rec.agent, "PJSIP/1001");
	assert_string_equal(p.rec.verb, "CONNECT");
	assert_int_equal(p.rec.data_len, strlen("5|1759217501.43|3"));
	assert_memory_equal(p.rec.data, "5|1759217501.43|3", p.rec.data_len);
	assert_int_equal(p.rec.nfield, 3);
	assert_int_equal(p.rec.field[0].len, 1);
	assert_memory_equal(p.rec.field[0].p, "5", 1);
	assert_int_equal(p.rec.field[1].len, 13);
	assert_memory_equal(p.rec.field[1].p, "1759217501.43", 13);
	assert_memory_equal(p.rec.field[2].p, "3", 1);
}

static void test_enterqueue_layouts(void **state)
{
	struct parsed p;

	(void)state;
	/* 1.0 .. 1.6: url|callerid */
	expect_call(CALL "NONE|ENTERQUEUE||0612345678", RD_CALL_ENTER, NULL, RD_UNKNOWN,
	            RD_UNKNOWN);
	/* 1.8+: opos */
	expect_call(CALL "NONE|ENTERQUEUE||0612345678|1", RD_CALL_ENTER, NULL, RD_UNKNOWN,
	            RD_UNKNOWN);
	/* 20.14 / 21.9 / 22.4 / 23.0 with log-caller-id-name */
	run(&p, CALL "NONE|ENTERQUEUE||0612345678|1|Jean_Dupont");
	assert_int_equal(p.erc, 1);
	assert_int_equal(p.ev.type, RD_CALL_ENTER);
	assert_int_equal(p.rec.nfield, 4);
	assert_int_equal(p.rec.field[0].len, 0);
	assert_memory_equal(p.rec.field[3].p, "Jean_Dupont", 11);
	/* empty url and callerid: only separators */
	expect_call(CALL "NONE|ENTERQUEUE||", RD_CALL_ENTER, NULL, RD_UNKNOWN, RD_UNKNOWN);
	/* UTF-8 caller name */
	expect_call(CALL "NONE|ENTERQUEUE||0612345678|1|Ren\xc3\xa9_M\xc3\xbcller", RD_CALL_ENTER,
	            NULL, RD_UNKNOWN, RD_UNKNOWN);
}

static void test_connect_layouts(void **state)
{
	(void)state;
	expect_call(CALL "Agent/1001|CONNECT|5", RD_CALL_CONNECT, "Agent/1001", 5, RD_UNKNOWN);
	expect_call(CALL "Agent/1001|CONNECT|5|1759217501.43", RD_CALL_CONNECT, "Agent/1001", 5,
	            RD_UNKNOWN);
	expect_call(CALL "PJSIP/1001|CONNECT|12|1759217501.43|3", RD_CALL_CONNECT, "PJSIP/1001", 12,
	            RD_UNKNOWN);
	expect_call(CALL "PJSIP/1001|CONNECT|0|1759217501.43|0|", RD_CALL_CONNECT, "PJSIP/1001", 0,
	            RD_UNKNOWN);
}

static void test_complete(void **state)
{
	(void)state;
	expect_call(CALL "PJSIP/1001|COMPLETECALLER|5|120|1", RD_CALL_COMPLETE, "PJSIP/1001", 5,
	            120);
	expect_call(CALL "PJSIP/1001|COMPLETEAGENT|7|65|2", RD_CALL_COMPLETE, "PJSIP/1001", 7, 65);
	/* 1.0 wrote no opos */
	expect_call(CALL "Agent/1001|COMPLETEAGENT|7|65", RD_CALL_COMPLETE, "Agent/1001", 7, 65);
	/* a negative time (the PBX clock stepped back) is unknown, not rejected */
	expect_call(CALL "PJSIP/1001|COMPLETECALLER|-3|65|1", RD_CALL_COMPLETE, "PJSIP/1001",
	            RD_UNKNOWN, 65);
}

static void test_transfer_legacy(void **state)
{
	(void)state;
	/* 1.0/1.2: exten|context */
	expect_call(CALL "Agent/1001|TRANSFER|200|from-internal", RD_CALL_TRANSFER, "Agent/1001",
	            RD_UNKNOWN, RD_UNKNOWN);
	/* 1.4: + holdtime|calltime */
	expect_call(CALL "Agent/1001|TRANSFER|200|from-internal|5|60", RD_CALL_TRANSFER,
	            "Agent/1001", 5, 60);
	/* 1.6.1 .. 11: + opos */
	expect_call(CALL "SIP/1001|TRANSFER|200|from-internal|5|60|1", RD_CALL_TRANSFER, "SIP/1001",
	            5, 60);
}

static void test_transfer_12(void **state)
{
	struct parsed p;

	(void)state;
	expect_call(CALL "PJSIP/1001|BLINDTRANSFER|200|from-internal|5|60|1", RD_CALL_TRANSFER,
	            "PJSIP/1001", 5, 60);
	expect_call(CALL "PJSIP/1001|ATTENDEDTRANSFER|BRIDGE|0a1b2c3d-4e5f|6|61|1",
	            RD_CALL_TRANSFER, "PJSIP/1001", 6, 61);
	expect_call(CALL "PJSIP/1001|ATTENDEDTRANSFER|APP|VoiceMail|7|62|2", RD_CALL_TRANSFER,
	            "PJSIP/1001", 7, 62);
	expect_call(CALL "PJSIP/1001|ATTENDEDTRANSFER|LINK|PJSIP/1001-00000001|"
	                 "PJSIP/2002-00000002|8|63|3",
	            RD_CALL_TRANSFER, "PJSIP/1001", 8, 63);
	run(&p, CALL "PJSIP/1001|ATTENDEDTRANSFER|LINK|PJSIP/1001-00000001|"
	             "PJSIP/2002-00000002|8|63|3");
	assert_int_equal(p.rec.nfield, 6);
	assert_string_equal(p.ev.reason, "ATTENDEDTRANSFER");
}

static void test_abandon_and_exits(void **state)
{
	(void)state;
	expect_call(CALL "NONE|ABANDON|1|2|30", RD_CALL_ABANDON, NULL, 30, RD_UNKNOWN);
	/* app_queue.c 7502: hung up after the member answered, agent is the member */
	expect_call(CALL "PJSIP/1001|ABANDON|1|1|14", RD_CALL_ABANDON, "PJSIP/1001", 14,
	            RD_UNKNOWN);
	expect_call(CALL "NONE|ABANDON|1|2", RD_CALL_ABANDON, NULL, RD_UNKNOWN, RD_UNKNOWN);
	/* 1.4: position only */
	expect_call(CALL "NONE|EXITWITHTIMEOUT|1", RD_CALL_EXIT, NULL, RD_UNKNOWN, RD_UNKNOWN);
	expect_call(CALL "NONE|EXITWITHTIMEOUT|1|3|45", RD_CALL_EXIT, NULL, 45, RD_UNKNOWN);
	expect_call(CALL "NONE|EXITEMPTY|1|1|10", RD_CALL_EXIT, NULL, 10, RD_UNKNOWN);
	/* 1.0 .. 1.4: key|pos */
	expect_call(CALL "NONE|EXITWITHKEY|5|1", RD_CALL_EXIT, NULL, RD_UNKNOWN, RD_UNKNOWN);
	expect_call(CALL "NONE|EXITWITHKEY|5|1|2|12", RD_CALL_EXIT, NULL, 12, RD_UNKNOWN);
	/* info is free text and may hold pipes */
	expect_call(CALL "NONE|WITHDRAW|1|1|20|called back|later", RD_CALL_EXIT, NULL, 20,
	            RD_UNKNOWN);
	expect_call(CALL "NONE|WITHDRAW|1|1|20", RD_CALL_EXIT, NULL, 20, RD_UNKNOWN);
}

static void test_refused_and_reset(void **state)
{
	struct parsed p;

	(void)state;
	expect_call(CALL "NONE|FULL|", RD_CALL_REFUSED, NULL, RD_UNKNOWN, RD_UNKNOWN);
	expect_call(CALL "NONE|JOINEMPTY|", RD_CALL_REFUSED, NULL, RD_UNKNOWN, RD_UNKNOWN);
	expect_call(CALL "NONE|JOINUNAVAIL|", RD_CALL_REFUSED, NULL, RD_UNKNOWN, RD_UNKNOWN);
	expect_call(CALL "NONE|CLOSED|", RD_CALL_REFUSED, NULL, RD_UNKNOWN, RD_UNKNOWN);

	run(&p, TS "|NONE|NONE|NONE|QUEUESTART|");
	assert_int_equal(p.erc, 1);
	assert_int_equal(p.ev.type, RD_CALL_RESET);
	assert_null(p.ev.callid);
	assert_null(p.ev.queue);
	assert_null(p.ev.agent);
	assert_int_equal(p.ev.ts, INT64_C(1759217554));
	assert_string_equal(p.ev.reason, "QUEUESTART");
	assert_int_equal(p.rec.nfield, 0);
	assert_int_equal(p.rec.data_len, 0);

	/* a writer that left out the final separator */
	run(&p, TS "|NONE|NONE|NONE|QUEUESTART");
	assert_int_equal(p.erc, 1);
	assert_string_equal(p.rec.verb, "QUEUESTART");
	assert_int_equal(p.rec.nfield, 0);
}

static void test_non_call_events(void **state)
{
	static const char *const lines[] = {
	    CALL "PJSIP/1001|RINGNOANSWER|15000",
	    CALL "PJSIP/1001|RINGCANCELED|2300",
	    CALL "PJSIP/1001|AGENTDUMP|",
	    CALL "PJSIP/1001|SYSCOMPAT|",
	    TS "|MANAGER|support|PJSIP/1001|ADDMEMBER|",
	    TS "|REALTIME|support|PJSIP/1001|ADDMEMBER|PAUSED",
	    TS "|CLI|support|PJSIP/1001|REMOVEMEMBER|",
	    TS "|NONE|support|PJSIP/1001|PAUSE|lunch",
	    TS "|NONE|support|PJSIP/1001|UNPAUSE|Auto-Unpause",
	    TS "|NONE|NONE|PJSIP/1001|PAUSEALL|",
	    TS "|NONE|NONE|PJSIP/1001|UNPAUSEALL|",
	    TS "|NONE|support|PJSIP/1001|PENALTY|3",
	    TS "|NONE|support|PJSIP/1001|RINGINUSE|1",
	    TS "|1759217500.42|NONE|Agent/1001|AGENTLOGIN|PJSIP/1001-0000000a",
	    TS "|1759217500.42|NONE|Agent/1001|AGENTLOGOFF|PJSIP/1001-0000000a|3600",
	    TS "|1759217500.42|NONE|Agent/1001|AGENTCALLBACKLOGIN|1001@from-internal",
	    TS "|1759217500.42|NONE|Agent/1001|AGENTCALLBACKLOGOFF|1001@from-internal|3600|",
	    TS "|NONE|NONE|NONE|CONFIGRELOAD|",
	    CALL "PJSIP/1001|OUTCALL|ANSWER|65|params",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		expect_rc(lines[i], 0);
}

static void test_unknown_verbs(void **state)
{
	struct parsed p;

	(void)state;
	/* FreePBX writes DID before Queue() */
	run(&p, TS "|1759217500.42|NONE|NONE|DID|0123456789");
	assert_int_equal(p.erc, 2);
	assert_string_equal(p.rec.verb, "DID");
	/* QueueLog() free text keeps its pipes */
	run(&p, CALL "NONE|INFO|a|b||c|");
	assert_int_equal(p.erc, 2);
	assert_int_equal(p.rec.data_len, strlen("a|b||c|"));
	assert_memory_equal(p.rec.data, "a|b||c|", p.rec.data_len);
	assert_int_equal(p.rec.nfield, 4);
	assert_int_equal(p.rec.field[2].len, 0);
	assert_memory_equal(p.rec.field[3].p, "c", 1);
	expect_rc(CALL "NONE|CALLERONHOLD|", 2);
	/* verbs are case-sensitive, as Asterisk writes them */
	expect_rc(CALL "NONE|enterqueue||0612345678|1", 2);
	/* an unknown verb does not need a call id or a queue */
	expect_rc(TS "|NONE|NONE|NONE|CUSTOM|x", 2);
}

static void test_ivr_verbs(void **state)
{
	static const char *const ivr[] = {"IVRHANGUP", "IVRDONE"};
	struct ql_options opt = {.ivr_verbs = ivr, .n_ivr_verbs = 2};
	struct parsed p;
	const char *line = CALL "NONE|IVRDONE|menu-1|press-3";

	(void)state;
	run_len(&p, line, strlen(line), &opt);
	assert_int_equal(p.erc, 1);
	assert_int_equal(p.ev.type, RD_CALL_IVR);
	assert_string_equal(p.ev.callid, "1759217500.42");
	assert_string_equal(p.ev.queue, "support");
	assert_null(p.ev.agent);
	assert_string_equal(p.ev.reason, "IVRDONE");
	/* without the option the verb is unknown */
	run_len(&p, line, strlen(line), NULL);
	assert_int_equal(p.erc, 2);
	line = TS "|NONE|support|NONE|IVRHANGUP|";
	run_len(&p, line, strlen(line), &opt);
	assert_int_equal(p.erc, -1);
	assert_string_equal(p.why, "call event without a call id");
}

static void test_trailing_and_many_fields(void **state)
{
	struct parsed p;

	(void)state;
	/* a trailing '|' adds no field */
	run(&p, CALL "PJSIP/1001|COMPLETECALLER|5|120|1|");
	assert_int_equal(p.erc, 1);
	assert_int_equal(p.rec.nfield, 3);
	/* realtime exports pad data1..data5 */
	run(&p, CALL "NONE|ABANDON|1|2|30||");
	assert_int_equal(p.erc, 1);
	assert_int_equal(p.rec.nfield, 3);
	assert_int_equal(p.ev.wait_s, 30);
	/* beyond QL_MAX_FIELDS, the last field keeps the rest */
	run(&p, CALL "NONE|NOTE|a|b|c|d|e|f|g|h|i|j");
	assert_int_equal(p.erc, 2);
	assert_int_equal(p.rec.nfield, QL_MAX_FIELDS);
	assert_int_equal(p.rec.field[7].len, 5);
	assert_memory_equal(p.rec.field[7].p, "h|i|j", 5);
	/* only separators */
	run(&p, CALL "NONE|NOTE||||");
	assert_int_equal(p.rec.nfield, 0);
	assert_int_equal(p.rec.data_len, 3);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_bad("", "fewer than 5 fields");
	expect_bad(TS "|1759217500.42|support|NONE", "fewer than 5 fields");
	expect_bad("garbage", "fewer than 5 fields");
	expect_bad(TS "|1759217500.42|support|NONE|", "empty event name");
	expect_bad("|1759217500.42|support|NONE|ENTERQUEUE||1", "empty timestamp");
	expect_bad("abc|1759217500.42|support|NONE|ENTERQUEUE||1", "non-numeric timestamp");
	expect_bad("-1759217554|1759217500.42|support|NONE|ENTERQUEUE||1", "non-numeric timestamp");
	expect_bad("1759217554.5|1759217500.42|support|NONE|ENTERQUEUE||1",
	           "non-numeric timestamp");
	expect_bad(" 1759217554|1759217500.42|support|NONE|ENTERQUEUE||1", "non-numeric timestamp");
	expect_bad("100|1759217500.42|support|NONE|ENTERQUEUE||1", "timestamp out of range");
	expect_bad("0|1759217500.42|support|NONE|ENTERQUEUE||1", "timestamp out of range");
	expect_bad("4102444800|1759217500.42|support|NONE|ENTERQUEUE||1", "timestamp out of range");
	expect_bad("99999999999999999999999|1759217500.42|support|NONE|ENTERQUEUE||1",
	           "timestamp out of range");
	expect_bad(TS "||support|NONE|ENTERQUEUE||1", "call event without a call id");
	expect_bad(TS "|NONE|support|NONE|ABANDON|1|1|3", "call event without a call id");
	expect_bad(TS "|1759217500.42||NONE|ENTERQUEUE||1", "call event without a queue");
	expect_bad(TS "|1759217500.42|NONE|NONE|ENTERQUEUE||1", "call event without a queue");
	expect_bad(CALL "PJSIP/1001|CONNECT|", "CONNECT without a hold time");
	expect_bad(CALL "PJSIP/1001|CONNECT|abc|x|1", "non-numeric hold time");
	expect_bad(CALL "PJSIP/1001|CONNECT||x|1", "non-numeric hold time");
	expect_bad(CALL "PJSIP/1001|CONNECT|-|x|1", "non-numeric hold time");
	expect_bad(CALL "PJSIP/1001|CONNECT|99999999999|x|1", "non-numeric hold time");
	expect_bad(CALL "PJSIP/1001|COMPLETECALLER|5", "call end without a talk time");
	expect_bad(CALL "PJSIP/1001|COMPLETEAGENT|", "call end without a hold time");
	expect_bad(CALL "PJSIP/1001|COMPLETECALLER|5|2m|1", "non-numeric talk time");
	expect_bad(CALL "PJSIP/1001|COMPLETECALLER|5s|20|1", "non-numeric hold time");
	expect_bad(CALL "PJSIP/1001|TRANSFER|200|ctx|5|x", "non-numeric talk time");
	expect_bad(CALL "PJSIP/1001|BLINDTRANSFER|200|ctx|x|60|1", "non-numeric hold time");
	expect_bad(CALL "PJSIP/1001|ATTENDEDTRANSFER|LINK|a|b|5|6x|1", "non-numeric talk time");
	expect_bad(CALL "PJSIP/1001|ATTENDEDTRANSFER|PARK|a|5|6|1",
	           "ATTENDEDTRANSFER with an unknown transfer type");
	expect_bad(CALL "PJSIP/1001|ATTENDEDTRANSFER|",
	           "ATTENDEDTRANSFER without a transfer target");
	expect_bad(CALL "NONE|ABANDON|1|2|3x", "non-numeric wait time");
	expect_bad(CALL "NONE|EXITWITHTIMEOUT|1|2| 3", "non-numeric wait time");
	expect_bad(CALL "NONE|EXITWITHKEY|5|1|2|x", "non-numeric wait time");
	expect_bad(CALL "NONE|WITHDRAW|1|1|x|info", "non-numeric wait time");
}

static void test_nul_byte(void **state)
{
	static const char line[] = CALL "NONE|ENTERQUEUE||06\0"
	                                "12|1";
	struct parsed p;

	(void)state;
	run_len(&p, line, sizeof(line) - 1, NULL);
	assert_int_equal(p.prc, -1);
	assert_string_equal(p.why, "NUL byte");
	run_len(&p, "\0", 1, NULL);
	assert_int_equal(p.prc, -1);
	assert_string_equal(p.why, "NUL byte");
}

static void expect_utf8(const char *bytes, int valid)
{
	char line[128];
	struct parsed p;
	int n = snprintf(line, sizeof(line), CALL "NONE|ENTERQUEUE||06|1|%s", bytes);

	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_int_equal(rd_utf8_valid(bytes, strlen(bytes), NULL), valid);
	run(&p, line);
	if (valid) {
		assert_int_equal(p.prc, 0);
	} else {
		assert_int_equal(p.prc, -1);
		assert_string_equal(p.why, "invalid UTF-8");
	}
}

static void test_utf8(void **state)
{
	(void)state;
	expect_utf8("plain", 1);
	expect_utf8("\xc3\xa9", 1);         /* U+00E9 */
	expect_utf8("\xc2\x80", 1);         /* U+0080, smallest 2-byte */
	expect_utf8("\xdf\xbf", 1);         /* U+07FF */
	expect_utf8("\xe0\xa0\x80", 1);     /* U+0800 */
	expect_utf8("\xe2\x82\xac", 1);     /* U+20AC */
	expect_utf8("\xed\x9f\xbf", 1);     /* U+D7FF, just below surrogates */
	expect_utf8("\xee\x80\x80", 1);     /* U+E000, just above */
	expect_utf8("\xef\xbf\xbf", 1);     /* U+FFFF */
	expect_utf8("\xf0\x90\x80\x80", 1); /* U+10000 */
	expect_utf8("\xf0\x9d\x84\x9e", 1); /* U+1D11E */
	expect_utf8("\xf4\x8f\xbf\xbf", 1); /* U+10FFFF */
	expect_utf8("\x80", 0);             /* lone continuation */
	expect_utf8("\xbf", 0);
	expect_utf8("\xc0\xaf", 0);         /* overlong '/' */
	expect_utf8("\xc1\xbf", 0);         /* overlong */
	expect_utf8("\xe0\x80\xaf", 0);     /* overlong 3-byte */
	expect_utf8("\xe0\x9f\xbf", 0);     /* overlong U+07FF */
	expect_utf8("\xf0\x80\x80\xaf", 0); /* overlong 4-byte */
	expect_utf8("\xf0\x8f\xbf\xbf", 0); /* overlong U+FFFF */
	expect_utf8("\xed\xa0\x80", 0);     /* U+D800 surrogate */
	expect_utf8("\xed\xbf\xbf", 0);     /* U+DFFF surrogate */
	expect_utf8("\xf4\x90\x80\x80", 0); /* U+110000 */
	expect_utf8("\xf5\x80\x80\x80", 0); /* lead byte beyond F4 */
	expect_utf8("\xff", 0);
	expect_utf8("\xfe", 0);
	expect_utf8("\xc3", 0); /* truncated at the end */
	expect_utf8("\xe2\x82", 0);
	expect_utf8("\xf0\x9d\x84", 0);
	expect_utf8("\xc3"
	            "A",
	            0); /* continuation missing */
	expect_utf8("\xe2\x82"
	            "A",
	            0);
	expect_utf8("\xf0\x9d\x84"
	            "A",
	            0);
	expect_utf8("Ren\xe9", 0); /* Latin-1 */
}

static void test_verb_known(void **state)
{
	(void)state;
	assert_true(ql_verb_known("ENTERQUEUE"));
	assert_true(ql_verb_known("ATTENDEDTRANSFER"));
	assert_true(ql_verb_known("PAUSEALL"));
	assert_false(ql_verb_known("DID"));
	assert_false(ql_verb_known("enterqueue"));
	assert_false(ql_verb_known(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_fields),
	    cmocka_unit_test(test_enterqueue_layouts),
	    cmocka_unit_test(test_connect_layouts),
	    cmocka_unit_test(test_complete),
	    cmocka_unit_test(test_transfer_legacy),
	    cmocka_unit_test(test_transfer_12),
	    cmocka_unit_test(test_abandon_and_exits),
	    cmocka_unit_test(test_refused_and_reset),
	    cmocka_unit_test(test_non_call_events),
	    cmocka_unit_test(test_unknown_verbs),
	    cmocka_unit_test(test_ivr_verbs),
	    cmocka_unit_test(test_trailing_and_many_fields),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_verb_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
