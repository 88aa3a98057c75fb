/* test_maillog_parse.c - the mail log parser: every line prefix of the
 * reference notes, year inference across New Year, local time across DST
 * (Europe/Paris; the zones themselves are tested in test_tz.c), every
 * Postfix and Dovecot line kind the collector follows, and hostile values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "maillog_parse.h"
#include "tz.h"
#include "utf8.h"

#define T_0603 INT64_C(1717403236) /* 2024-06-03T08:27:16Z */
#define T_0610 INT64_C(1717977600) /* 2024-06-10T00:00:00Z */
#define T_0826 INT64_C(1724636018) /* 2024-08-26T01:33:38Z */
#define T_0614 INT64_C(1718366513) /* 2024-06-14T12:01:53Z */
#define T_0901 INT64_C(1725148800) /* 2024-09-01T00:00:00Z: "now" of most tests */

/* The line lives in its own buffer: the parser writes into it. */
struct parsed {
	char buf[1024];
	struct ml_line ln;
	struct ml_rec rec;
	const char *why;
	int rc;
};

static int parse_clk(struct parsed *p, const char *line, const struct ml_clock *clk)
{
	size_t len = strlen(line);

	assert_true(len < sizeof(p->buf));
	memcpy(p->buf, line, len);
	p->why = NULL;
	p->rc = ml_parse_line(p->buf, len, clk, &p->ln, &p->why);
	return p->rc;
}

static int parse(struct parsed *p, const char *line)
{
	struct ml_clock clk = {.now = T_0901};

	return parse_clk(p, line, &clk);
}

/* Parse a whole line and classify its message. */
static int classify(struct parsed *p, const char *line)
{
	if (parse(p, line) != 0)
		fail_msg("%s: %s", line, p->why);
	if (p->ln.dovecot_file || strcmp(p->ln.program, "dovecot") == 0)
		return ml_parse_dovecot(p->ln.msg, &p->rec, &p->why);
	return ml_parse_postfix(p->ln.service, p->ln.msg, &p->rec, &p->why);
}

/* NULL (the test is skipped) when the system has no tzdata; loading
 * itself is tested in test_tz.c. */
static struct rd_tz *load_paris(void)
{
	char err[256];

	return rd_tz_load("Europe/Paris", err, sizeof(err));
}

/* --- prefixes -------------------------------------------------------------- */

static void test_prefix_rfc3164(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mail postfix/qmgr[3793]: 4A1B2C3D4E: removed"),
	                 0);
	assert_int_equal(p.ln.format, ML_FMT_BSD);
	assert_int_equal(p.ln.ts, T_0603);
	assert_string_equal(p.ln.host, "mail");
	assert_string_equal(p.ln.program, "postfix/qmgr");
	assert_string_equal(p.ln.service, "qmgr");
	assert_int_equal(p.ln.instance_len, 7);
	assert_int_equal(p.ln.pid, 3793);
	assert_string_equal(p.ln.msg, "4A1B2C3D4E: removed");
	assert_int_equal(p.ln.dovecot_file, 0);
}

static void test_prefix_maillog_file(void **state)
{
	struct parsed p;

	(void)state;
	/* postlogd: zero-padded day */
	assert_int_equal(
	    parse(&p, "Jun 03 08:27:16 mail postfix/smtpd[123]: connect from x[1.2.3.4]"), 0);
	assert_int_equal(p.ln.ts, T_0603);
	assert_string_equal(p.ln.service, "smtpd");
	assert_int_equal(p.ln.pid, 123);
	assert_string_equal(p.ln.msg, "connect from x[1.2.3.4]");
	/* a writer that pads nothing */
	assert_int_equal(parse(&p, "Jun 3 08:27:16 mail postfix/smtpd[123]: x"), 0);
	assert_int_equal(p.ln.ts, T_0603);
}

static void test_prefix_rfc3339(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, "2024-08-26T01:33:38.572449+00:00 mx1 postfix/smtpd[60203]: "
	                           "connect from a[1.2.3.4]"),
	                 0);
	assert_int_equal(p.ln.format, ML_FMT_ISO);
	assert_int_equal(p.ln.ts, T_0826);
	assert_string_equal(p.ln.host, "mx1");
	assert_int_equal(p.ln.pid, 60203);
	/* offsets with a colon, and Z */
	assert_int_equal(parse(&p, "2024-08-26T03:33:38.5+02:00 mx1 postfix/smtpd[1]: x"), 0);
	assert_int_equal(p.ln.ts, T_0826);
	assert_int_equal(parse(&p, "2024-08-26T01:33:38Z mx1 postfix/smtpd[1]: x"), 0);
	assert_int_equal(p.ln.ts, T_0826);
}

static void test_prefix_journal_short_iso(void **state)
{
	struct parsed p;

	(void)state;
	/* journalctl -o short-iso: "+0100" without colon */
	assert_int_equal(parse(&p, "2024-08-26T02:33:38+0100 mx1 postfix/smtpd[60203]: x"), 0);
	assert_int_equal(p.ln.ts, T_0826);
	assert_int_equal(parse(&p, "2024-08-25T21:33:38-0400 mx1 dovecot[241]: x"), 0);
	assert_int_equal(p.ln.ts, T_0826);
	assert_string_equal(p.ln.program, "dovecot");
	assert_int_equal(p.ln.pid, 241);
}

static void test_prefix_rfc5424(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, "<22>1 2024-08-26T01:33:38.572449Z mx1 postfix/smtpd 60203 - - "
	                           "4A1B2C3D4E: client=a[1.2.3.4]"),
	                 0);
	assert_int_equal(p.ln.format, ML_FMT_RFC5424);
	assert_int_equal(p.ln.ts, T_0826);
	assert_string_equal(p.ln.host, "mx1");
	assert_string_equal(p.ln.program, "postfix/smtpd");
	assert_string_equal(p.ln.service, "smtpd");
	assert_int_equal(p.ln.pid, 60203);
	assert_string_equal(p.ln.msg, "4A1B2C3D4E: client=a[1.2.3.4]");
	/* structured data with an escaped bracket, a BOM, no procid */
	assert_int_equal(parse(&p, "<22>1 2024-08-26T01:33:38Z mx1 dovecot - ID47 "
	                           "[meta x=\"a\\]b\"][o y=\"1\"] \xEF\xBB\xBFimap(u): x"),
	                 0);
	assert_int_equal(p.ln.pid, -1);
	assert_string_equal(p.ln.msg, "imap(u): x");
	assert_int_equal(parse(&p, "<22>1 - mx1 postfix/smtpd 1 - - x"), -1);
	assert_int_equal(parse(&p, "<22>1 2024-08-26T01:33:38Z mx1 postfix/smtpd 1 - [x"), -1);
}

static void test_prefix_dovecot_file(void **state)
{
	struct parsed p;

	(void)state;
	/* log_path=/file: no host, zero-padded day, "Info:" after the prefix */
	assert_int_equal(parse(&p, "Jun 14 12:01:53 lda(user)<723443><1Vw7abcdef>: Info: "
	                           "msgid=<a@b>: saved mail to INBOX"),
	                 0);
	assert_int_equal(p.ln.ts, T_0614);
	assert_int_equal(p.ln.dovecot_file, 1);
	assert_string_equal(p.ln.host, "");
	assert_string_equal(p.ln.program, "dovecot");
	assert_string_equal(p.ln.msg,
	                    "lda(user)<723443><1Vw7abcdef>: Info: msgid=<a@b>: saved mail "
	                    "to INBOX");
	/* master's lines have a bare tag */
	assert_int_equal(parse(&p, "Jun 14 12:01:53 master: Info: Dovecot v2.3.21 starting up"), 0);
	assert_string_equal(p.ln.host, "");
	assert_string_equal(p.ln.program, "master");
	assert_string_equal(p.ln.msg, "Info: Dovecot v2.3.21 starting up");
	/* a custom log_timestamp "%Y-%m-%d %H:%M:%S " (local time) */
	assert_int_equal(parse(&p, "2024-06-14 12:01:53 imap(u)<1><s>: Info: x"), 0);
	assert_int_equal(p.ln.ts, T_0614);
	assert_int_equal(p.ln.dovecot_file, 1);
}

static void test_prefix_programs(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(
	    parse(&p, "Jun  3 08:27:16 mx postfix-170.55.103.23/smtpd[5]: connect from x"), 0);
	assert_string_equal(p.ln.program, "postfix-170.55.103.23/smtpd");
	assert_int_equal(p.ln.instance_len, strlen("postfix-170.55.103.23"));
	assert_string_equal(p.ln.service, "smtpd");
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx postfix/submission/smtpd[5]: x"), 0);
	assert_int_equal(p.ln.instance_len, 7);
	assert_string_equal(p.ln.service, "smtpd");
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx postfix/amavis/smtp[5]: x"), 0);
	assert_string_equal(p.ln.service, "smtp");
	/* no pid, no slash */
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx dovecot: imap(u): x"), 0);
	assert_int_equal(p.ln.pid, -1);
	assert_int_equal(p.ln.instance_len, 0);
	assert_string_equal(p.ln.service, "dovecot");
	assert_string_equal(p.ln.msg, "imap(u): x");
	/* Solaris */
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx postfix/qmgr[9]: [ID 197553 mail.info] "
	                           "ABCDEF12: removed"),
	                 0);
	assert_string_equal(p.ln.msg, "ABCDEF12: removed");
	/* a writer without host */
	assert_int_equal(parse(&p, "Jun  3 08:27:16 postfix/qmgr[9]: ABCDEF12: removed"), 0);
	assert_string_equal(p.ln.host, "");
	assert_string_equal(p.ln.service, "qmgr");
	/* a message without a tag */
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx -- MARK --"), 0);
	assert_string_equal(p.ln.program, "");
	assert_string_equal(p.ln.msg, "-- MARK --");
}

static void test_prefix_rejects(void **state)
{
	struct parsed p;
	char nul[] = "Jun  3 08:27:16 mx postfix/qmgr[9]: A\0B";

	(void)state;
	memcpy(p.buf, nul, sizeof(nul));
	assert_int_equal(
	    ml_parse_line(p.buf, sizeof(nul) - 1, &(struct ml_clock){.now = T_0610}, &p.ln, &p.why),
	    -1);
	assert_string_equal(p.why, "NUL byte in line");
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx postfix/qmgr[9]: \xC3\x28"), -1);
	assert_string_equal(p.why, "invalid UTF-8");
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx x: \xED\xA0\x80"), -1); /* surrogate */
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx x: \xC0\xAF"), -1);     /* overlong */
	assert_int_equal(parse(&p, "hello world"), -1);
	assert_string_equal(p.why, "unknown time stamp");
	assert_int_equal(parse(&p, "Jun 31 08:27:16 mx x: y"), -1);
	assert_int_equal(parse(&p, "Foo  3 08:27:16 mx x: y"), -1);
	assert_int_equal(parse(&p, "Jun  3 24:27:16 mx x: y"), -1);
	assert_int_equal(parse(&p, "2024-02-30T01:00:00Z mx x: y"), -1);
	assert_int_equal(parse(&p, "2024-08-26T01:33:38+25:00 mx x: y"), -1);
	assert_int_equal(parse(&p, "1999-08-26T01:33:38Z mx x: y"), -1);
	assert_string_equal(p.why, "time stamp out of range");
	assert_int_equal(parse(&p, "Jun  3 08:27:16 "), -1);
	assert_int_equal(parse(&p, "Jun  3 08:27:16 mx"), -1);
	assert_int_equal(parse(&p, ""), -1);
}

/* --- year inference ----------------------------------------------------------- */

static void test_year_new_year_rollover(void **state)
{
	struct parsed p;
	struct ml_clock clk = {.now = INT64_C(1735689630)}; /* 2025-01-01T00:00:30Z */

	(void)state;
	assert_int_equal(parse_clk(&p, "Dec 31 23:59:59 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735689599)); /* 2024 */
	clk.prev = p.ln.ts;
	assert_int_equal(parse_clk(&p, "Jan  1 00:00:00 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735689600)); /* rolled to 2025 */
	/* a line slightly out of order stays in the old year */
	clk.prev = INT64_C(1735689601);
	assert_int_equal(parse_clk(&p, "Dec 31 23:59:59 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735689599));
}

static void test_year_file_read_later(void **state)
{
	struct parsed p;
	struct ml_clock clk = {.now = INT64_C(1735812000)}; /* 2025-01-02T10:00:00Z */

	(void)state;
	assert_int_equal(parse_clk(&p, "Dec 31 23:59:00 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735689540)); /* last year */
	clk.prev = p.ln.ts;
	assert_int_equal(parse_clk(&p, "Jan  1 00:00:10 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735689610));
	/* a writer slightly ahead of our clock on Dec 31 */
	clk = (struct ml_clock){.now = INT64_C(1735689540)};
	assert_int_equal(parse_clk(&p, "Jan  1 00:00:10 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735689610));
	/* Feb 29 exists only in the leap year */
	clk = (struct ml_clock){.now = INT64_C(1740787200)}; /* 2025-03-01 */
	assert_int_equal(parse_clk(&p, "Feb 29 10:00:00 mx x: y", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1709200800)); /* 2024 */
	/* no reference at all */
	clk = (struct ml_clock){0};
	assert_int_equal(parse_clk(&p, "Feb 28 10:00:00 mx x: y", &clk), -1);
}

static void test_year_local_zone(void **state)
{
	struct rd_tz *tz = load_paris();
	struct parsed p;
	struct ml_clock clk = {.now = INT64_C(1735689630), .tz = tz};

	(void)state;
	if (tz == NULL)
		skip();
	/* 00:30 in Paris on Jan 1 is still 2024 in UTC */
	assert_int_equal(parse_clk(&p, "Jan  1 00:30:00 mx postfix/qmgr[1]: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1735687800));
	rd_tz_free(tz);
}

/* --- time zones and DST ----------------------------------------------------- */

static void test_tz_fall_back_sequence(void **state)
{
	static const char *const stamps[] = {"Oct 27 01:59:59", "Oct 27 02:00:00",
	                                     "Oct 27 02:59:59", "Oct 27 02:00:00",
	                                     "Oct 27 02:30:00", "Oct 27 03:00:00"};
	static const int64_t want[] = {INT64_C(1729987199), INT64_C(1729987200),
	                               INT64_C(1729990799), INT64_C(1729990800),
	                               INT64_C(1729992600), INT64_C(1729994400)};
	struct rd_tz *tz = load_paris();
	struct ml_clock clk = {.now = INT64_C(1730419200)};
	struct parsed p;
	char line[128];

	(void)state;
	if (tz == NULL)
		skip();
	clk.tz = tz;
	for (size_t i = 0; i < 6; i++) {
		snprintf(line, sizeof(line), "%s mx postfix/qmgr[1]: x", stamps[i]);
		assert_int_equal(parse_clk(&p, line, &clk), 0);
		if (p.ln.ts != want[i])
			fail_msg("%s: got %lld, want %lld", stamps[i], (long long)p.ln.ts,
			         (long long)want[i]);
		clk.prev = p.ln.ts;
	}
	/* a zone-less ISO stamp is local time too */
	clk.prev = 0;
	assert_int_equal(parse_clk(&p, "2024-10-27 02:30:00 imap(u)<1><s>: x", &clk), 0);
	assert_int_equal(p.ln.ts, INT64_C(1729989000)); /* the first 02:30 (CEST) */
	rd_tz_free(tz);
}

/* --- Postfix ------------------------------------------------------------------- */

static void test_pf_client(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtpd[1]: 4A1B2C3D4E: "
	                              "client=mail-a.example.net[203.0.113.5]"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_CLIENT);
	assert_string_equal(p.rec.qid, "4A1B2C3D4E");
	assert_null(p.rec.sasl_username);
	assert_int_equal(
	    classify(&p,
	             "2024-08-26T01:33:38Z mx postfix/submission/smtpd[1]: 3mPVKl0Mhjz7sXv: "
	             "client=pc[192.0.2.4], sasl_method=PLAIN, sasl_username=agent1@example.org"),
	    1);
	assert_int_equal(p.rec.kind, ML_PF_CLIENT);
	assert_string_equal(p.rec.qid, "3mPVKl0Mhjz7sXv"); /* long queue ID */
	assert_string_equal(p.rec.sasl_username, "agent1@example.org");
	/* not a queue ID: nothing */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtpd[1]: warning: "
	                              "hostname x does not resolve"),
	                 0);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtpd[1]: disconnect from "
	                              "x[1.2.3.4] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_DISCONNECT);
	assert_int_equal(p.ln.pid, 1);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtpd[1]: connect from "
	                              "x[1.2.3.4]"),
	                 0);
}

static void test_pf_noqueue_reject(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(
	    classify(&p,
	             "2024-08-26T01:33:38Z mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
	             "unknown[198.51.100.7]: 550 5.1.1 <contact@example.org>: Recipient address "
	             "rejected: Mailbox full; from=<Bob@Example.NET> to=<contact@example.org> "
	             "proto=ESMTP helo=<spam.example>"),
	    1);
	assert_int_equal(p.rec.kind, ML_PF_REJECT);
	assert_string_equal(p.rec.qid, "NOQUEUE");
	assert_string_equal(p.rec.sender, "Bob@Example.NET");
	assert_string_equal(p.rec.rcpt, "contact@example.org");
	/* milter reject at end of data, null sender */
	assert_int_equal(
	    classify(&p,
	             "2024-08-26T01:33:38Z mx postfix/smtpd[1]: 4A1B2C3D4E: milter-reject: "
	             "END-OF-MESSAGE from x[1.2.3.4]: 5.7.1 Spam; from=<> to=<titres@example.org> "
	             "proto=ESMTP helo=<x>"),
	    1);
	assert_string_equal(p.rec.sender, "");
	assert_string_equal(p.rec.rcpt, "titres@example.org");
	/* rejected before RCPT: no recipient, nothing to follow */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtpd[1]: NOQUEUE: reject: "
	                              "MAIL from x[1.2.3.4]: 554 5.7.1 no; proto=ESMTP helo=<x>"),
	                 0);
	/* other NOQUEUE lines */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtpd[1]: NOQUEUE: "
	                              "client=x[1.2.3.4]"),
	                 0);
}

static void test_pf_pickup_cleanup(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/pickup[1]: 5B6C7D8E9F: "
	                              "uid=33 from=<contact@example.org>"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_PICKUP);
	assert_string_equal(p.rec.sender, "contact@example.org");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 5B6C7D8E9F: "
	                              "message-id=<20240826013338.5B6C7D8E9F@mx.example.org>"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_MSGID);
	assert_string_equal(p.rec.msgid, "<20240826013338.5B6C7D8E9F@mx.example.org>");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 5B6C7D8E9F: "
	                              "message-id=<>"),
	                 1);
	assert_null(p.rec.msgid);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 5B6C7D8E9F: "
	                              "resent-message-id=<a@b>"),
	                 0);
}

static void test_pf_header_info(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 4A1B2C3D4E: info: header "
	                 "In-Reply-To: <orig-1@example.net> from pc[192.0.2.4]; "
	                 "from=<contact@example.org> to=<bob@example.net> proto=ESMTP helo=<pc>"),
	    1);
	assert_int_equal(p.rec.kind, ML_PF_HEADER);
	assert_string_equal(p.rec.header_name, "In-Reply-To");
	assert_string_equal(p.rec.header_value, "<orig-1@example.net>");
	assert_string_equal(p.rec.sender, "contact@example.org");
	assert_string_equal(p.rec.rcpt, "bob@example.net");
	/* a value holding " from " itself; local submission has no proto */
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 4A1B2C3D4E: info: header "
	                 "Auto-Submitted: auto-replied (vacation from Bob) from local; from=<> "
	                 "to=<bob@example.net>"),
	    1);
	assert_string_equal(p.rec.header_name, "Auto-Submitted");
	assert_string_equal(p.rec.header_value, "auto-replied (vacation from Bob)");
	assert_string_equal(p.rec.sender, "");
	assert_string_equal(p.rec.rcpt, "bob@example.net");
	/* the INFO text after the envelope */
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 4A1B2C3D4E: info: header "
	                 "Precedence: bulk from x[1.2.3.4]; from=<list@x> to=<c@example.org> "
	                 "proto=SMTP helo=<x>: automatic"),
	    1);
	assert_string_equal(p.rec.header_value, "bulk");
	assert_string_equal(p.rec.rcpt, "c@example.org");
	/* warnings are not INFO */
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 4A1B2C3D4E: warning: header "
	                 "Subject: x from a[1.2.3.4]; from=<a@b> to=<c@d> proto=ESMTP helo=<a>"),
	    0);
}

static void test_pf_header_reject(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 4A1B2C3D4E: reject: header "
	                 "Subject: Win money from x[1.2.3.4]; from=<spam@x.example> "
	                 "to=<contact@example.org> proto=ESMTP helo=<x>: 5.7.1 No spam"),
	    1);
	assert_int_equal(p.rec.kind, ML_PF_REJECT);
	assert_string_equal(p.rec.qid, "4A1B2C3D4E");
	assert_string_equal(p.rec.sender, "spam@x.example");
	assert_string_equal(p.rec.rcpt, "contact@example.org");
}

static void test_pf_qmgr(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/qmgr[1]: 4A1B2C3D4E: "
	                              "from=<bob@example.net>, size=2345, nrcpt=2 (queue active)"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_QUEUED);
	assert_string_equal(p.rec.sender, "bob@example.net");
	/* a sender holding the separator: the tail is matched from the end */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/qmgr[1]: 4A1B2C3D4E: "
	                              "from=<\"x>, size=1\"@evil>, size=2, nrcpt=1 (queue active)"),
	                 1);
	assert_string_equal(p.rec.sender, "\"x>, size=1\"@evil");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/qmgr[1]: 4A1B2C3D4E: "
	                              "from=<>, size=2, nrcpt=1 (queue active)"),
	                 1);
	assert_string_equal(p.rec.sender, "");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/qmgr[1]: 4A1B2C3D4E: "
	                              "from=<bob@example.net>, status=expired, returned to sender"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_EXPIRED);
	assert_string_equal(p.rec.sender, "bob@example.net");
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/qmgr[1]: 4A1B2C3D4E: removed"), 1);
	assert_int_equal(p.rec.kind, ML_PF_REMOVED);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/postsuper[1]: 4A1B2C3D4E: "
	                              "removed"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_REMOVED);
}

static void test_pf_delivery(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/lmtp[1]: 4A1B2C3D4E: "
	                 "to=<contact@example.org>, relay=mx[private/dovecot-lmtp], delay=0.11, "
	                 "delays=0.05/0.01/0.01/0.04, dsn=2.0.0, status=sent (250 2.0.0 "
	                 "<contact@example.org> N2hLF3ffMGaEtyoA0J78UA Saved)"),
	    1);
	assert_int_equal(p.rec.kind, ML_PF_DELIVERY);
	assert_string_equal(p.rec.rcpt, "contact@example.org");
	assert_null(p.rec.orig_rcpt);
	assert_string_equal(p.rec.relay, "mx[private/dovecot-lmtp]");
	assert_string_equal(p.rec.status, "sent");
	assert_string_equal(p.rec.status_text,
	                    "250 2.0.0 <contact@example.org> N2hLF3ffMGaEtyoA0J78UA Saved");
	/* orig_to, conn_use and Postfix 3.11's tls= */
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/smtp[1]: 4A1B2C3D4E: "
	                 "to=<bob@example.net>, orig_to=<Bob@Example.net>, relay=mx.example.net"
	                 "[198.51.100.1]:25, conn_use=2, delay=1.2, delays=0.1/0/0.5/0.6, "
	                 "tls=may/(dane)/!opportunistic, dsn=4.4.2, status=deferred (lost "
	                 "connection with mx.example.net[198.51.100.1] while receiving the initial "
	                 "server greeting)"),
	    1);
	assert_string_equal(p.rec.rcpt, "bob@example.net");
	assert_string_equal(p.rec.orig_rcpt, "Bob@Example.net");
	assert_string_equal(p.rec.relay, "mx.example.net[198.51.100.1]:25");
	assert_string_equal(p.rec.status, "deferred");
	/* local, bounced */
	assert_int_equal(
	    classify(&p, "2024-08-26T01:33:38Z mx postfix/local[1]: 4A1B2C3D4E: "
	                 "to=<contact@example.org>, relay=local, delay=0.1, delays=0/0/0/0.1, "
	                 "dsn=5.2.2, status=bounced (cannot update mailbox: quota exceeded)"),
	    1);
	assert_string_equal(p.rec.status, "bounced");
	assert_string_equal(p.rec.status_text, "cannot update mailbox: quota exceeded");
	/* malformed: no relay / no status */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtp[1]: 4A1B2C3D4E: "
	                              "to=<bob@example.net>"),
	                 -1);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/smtp[1]: 4A1B2C3D4E: "
	                              "to=<bob@example.net>, relay=x, delay=1"),
	                 -1);
}

static void test_pf_bounce_notification(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/bounce[1]: 4A1B2C3D4E: "
	                              "sender non-delivery notification: 7C8D9E0F1A"),
	                 1);
	assert_int_equal(p.rec.kind, ML_PF_NOTIFY);
	assert_string_equal(p.rec.qid, "4A1B2C3D4E");
	assert_string_equal(p.rec.new_qid, "7C8D9E0F1A");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx postfix/bounce[1]: 4A1B2C3D4E: "
	                              "sender delivery status notification: 7C8D9E0F1B"),
	                 1);
	assert_string_equal(p.rec.new_qid, "7C8D9E0F1B");
}

/* --- Dovecot ------------------------------------------------------------------ */

static void test_dc_lmtp_saved(void **state)
{
	struct parsed p;

	(void)state;
	/* 2.3/2.4 */
	assert_int_equal(classify(&p,
	                          "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<2799492>"
	                          "<N2hLF3ffMGaEtyoA0J78UA>: msgid=<m1@example.net>: saved mail "
	                          "to INBOX"),
	                 1);
	assert_int_equal(p.rec.kind, ML_DC_DELIVERED);
	assert_string_equal(p.rec.service, "lmtp");
	assert_string_equal(p.rec.user, "contact");
	assert_string_equal(p.rec.session, "N2hLF3ffMGaEtyoA0J78UA");
	assert_string_equal(p.rec.msgid, "<m1@example.net>");
	assert_string_equal(p.rec.folder, "INBOX");
	/* 2.2 */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: lmtp(contact@example.org): "
	                              "7gyQI4yjXlxlJAAAUbDMYQ: msgid=<m2@x>: saved mail to INBOX"),
	                 1);
	assert_string_equal(p.rec.user, "contact@example.org");
	assert_string_equal(p.rec.session, "7gyQI4yjXlxlJAAAUbDMYQ");
	assert_string_equal(p.rec.msgid, "<m2@x>");
	/* older 2.x */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: lmtp(12345, contact): "
	                              "msgid=<m3@x>: saved mail to INBOX"),
	                 1);
	assert_string_equal(p.rec.user, "contact");
	assert_string_equal(p.rec.msgid, "<m3@x>");
	/* LDA, own file with Info:, no Message-ID */
	assert_int_equal(classify(&p, "Jun 14 12:01:53 lda(contact)<723443><1Vw7abcdef>: Info: "
	                              "msgid=unspecified: saved mail to INBOX"),
	                 1);
	assert_string_equal(p.rec.service, "lda");
	assert_null(p.rec.msgid);
	/* failures are not deliveries */
	assert_int_equal(classify(&p,
	                          "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<1><s>: Error: "
	                          "msgid=<m4@x>: save failed to INBOX: Quota exceeded"),
	                 0);
}

static void test_dc_sieve(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<1><sess1>: "
	                              "sieve: msgid=<m1@example.net>: stored mail into mailbox "
	                              "'INBOX'"),
	                 1);
	assert_int_equal(p.rec.kind, ML_DC_DELIVERED);
	assert_string_equal(p.rec.folder, "INBOX");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<1><sess1>: "
	                              "sieve: msgid=<m1@x>: fileinto action: stored mail into "
	                              "mailbox '10,Server Admin's'"),
	                 1);
	assert_string_equal(p.rec.folder, "10,Server Admin's");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<1><sess1>: "
	                              "sieve: msgid=<m1@example.net>: sent vacation response to "
	                              "<bob@example.net>"),
	                 1);
	assert_int_equal(p.rec.kind, ML_DC_VACATION);
	assert_string_equal(p.rec.msgid, "<m1@example.net>");
	assert_string_equal(p.rec.vacation_to, "bob@example.net");
	assert_int_equal(classify(&p,
	                          "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<1><sess1>: "
	                          "sieve: msgid=<m1@x>: vacation action: sent vacation response "
	                          "to <bob@example.net>"),
	                 1);
	assert_string_equal(p.rec.vacation_to, "bob@example.net");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: lmtp(contact)<1><sess1>: "
	                              "sieve: msgid=<m1@x>: discarded duplicate vacation response "
	                              "to <bob@example.net>"),
	                 0);
}

static void test_dc_maillog_23(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p,
	                          "2024-08-26T01:33:38Z mx dovecot: imap(agent1)<51452><fffff>: "
	                          "flag_change: box=INBOX, uid=5999, msgid=<m1@example.net>, "
	                          "size=6168, from=Bob <bob@example.net>, flags=(\\Answered "
	                          "\\Seen NonJunk)"),
	                 1);
	assert_int_equal(p.rec.kind, ML_DC_MAILLOG);
	assert_int_equal(p.rec.op, ML_OP_FLAG_CHANGE);
	assert_string_equal(p.rec.service, "imap");
	assert_string_equal(p.rec.user, "agent1");
	assert_string_equal(p.rec.folder, "INBOX");
	assert_string_equal(p.rec.msgid, "<m1@example.net>");
	assert_int_equal(p.rec.has_flags, 1);
	assert_int_equal(p.rec.flags, RD_MAIL_F_ANSWERED | RD_MAIL_F_SEEN);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(user@test.ro)<51452>"
	                              "<fffff>: expunge: box=Drafts, uid=2942, msgid=<MsgID>, "
	                              "size=3122"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_EXPUNGE);
	assert_string_equal(p.rec.folder, "Drafts");
	assert_string_equal(p.rec.msgid, "<MsgID>");
	assert_int_equal(p.rec.has_flags, 0);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><s>: copy from "
	                              "INBOX: box=Archives/Closed, uid=12, msgid=<m1@x>, size=1"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_COPY);
	assert_string_equal(p.rec.src_folder, "INBOX");
	assert_string_equal(p.rec.folder, "Archives/Closed");
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><s>: delete: "
	                              "box=INBOX, uid=3, msgid=<m1@x>, flags=(\\Deleted)"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_DELETE);
	assert_int_equal(p.rec.flags, RD_MAIL_F_DELETED);
	assert_int_equal(classify(&p,
	                          "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><s>: autoexpunge: "
	                          "box=Trash, uid=3, msgid=<m1@x>, size=2"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_AUTOEXPUNGE);
	assert_null(p.rec.session == NULL ? NULL : strstr(p.rec.session, "autoexpunge"));
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><s>: save: "
	                              "box=Sent, uid=, msgid=<r1@example.org>, size=1, "
	                              "flags=(\\Seen)"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_SAVE);
	assert_string_equal(p.rec.folder, "Sent");
	assert_string_equal(p.rec.msgid, "<r1@example.org>");
	/* empty msgid (cached_only), subject holding ", " and a fake field */
	assert_int_equal(classify(&p,
	                          "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><s>: flag_change: "
	                          "box=INBOX, uid=3, msgid=, subject=a, box=x, flags=(y), "
	                          "flags=(\\Flagged)"),
	                 1);
	assert_null(p.rec.msgid);
	assert_string_equal(p.rec.folder, "INBOX");
	assert_int_equal(p.rec.flags, RD_MAIL_F_FLAGGED);
	/* custom mail_log_prefix "%s(%u): session=%{session} " */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(augie): "
	                              "session=h6/hvXfOIQBAjhIX flag_change: box=INBOX, uid=5999, "
	                              "msgid=<a@b>, size=6168, flags=(\\Seen NonJunk)"),
	                 1);
	assert_string_equal(p.rec.session, "h6/hvXfOIQBAjhIX");
	assert_int_equal(p.rec.flags, RD_MAIL_F_SEEN);
	/* mailbox events: not followed */
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><s>: Mailbox "
	                              "created: Foo"),
	                 0);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap-login: Login: "
	                              "user=<u>, method=PLAIN"),
	                 0);
}

static void test_dc_maillog_24(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(agent1)<1><sess>: "
	                              "Mailbox INBOX: flag_change: uid=5, msgid=<m1@x>, size=1234, "
	                              "flags=(\\Answered)"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_FLAG_CHANGE);
	assert_string_equal(p.rec.folder, "INBOX");
	assert_string_equal(p.rec.msgid, "<m1@x>");
	assert_int_equal(p.rec.flags, RD_MAIL_F_ANSWERED);
	assert_int_equal(classify(&p, "2024-08-26T01:33:38Z mx dovecot: imap(u)<1><sess>: Mailbox "
	                              "Archives: Closed: copy from INBOX: uid=7, msgid=<m1@x>"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_COPY);
	assert_string_equal(p.rec.folder, "Archives: Closed");
	assert_string_equal(p.rec.src_folder, "INBOX");
	assert_string_equal(p.rec.msgid, "<m1@x>");
	assert_int_equal(classify(&p, "Jun 14 12:01:53 imap(u)<1><sess>: Info: Mailbox INBOX: "
	                              "expunge: uid=5, msgid=<m1@x>, size=1"),
	                 1);
	assert_int_equal(p.rec.op, ML_OP_EXPUNGE);
	assert_string_equal(p.rec.folder, "INBOX");
}

/* --- values ------------------------------------------------------------------- */

static void test_automatic(void **state)
{
	(void)state;
	assert_int_equal(ml_header_automatic("Auto-Submitted", "auto-replied (vacation)"),
	                 RD_MAIL_AUTO_SUBMITTED);
	assert_int_equal(ml_header_automatic("auto-submitted", "No"), 0);
	assert_int_equal(ml_header_automatic("Auto-Submitted", ""), 0);
	assert_int_equal(ml_header_automatic("X-Autoreply", "yes"), RD_MAIL_AUTO_XAUTOREPLY);
	assert_int_equal(ml_header_automatic("Precedence", "bulk"), RD_MAIL_AUTO_PRECEDENCE);
	assert_int_equal(ml_header_automatic("Precedence", "Auto_Reply"), RD_MAIL_AUTO_PRECEDENCE);
	assert_int_equal(ml_header_automatic("Precedence", "first-class"), 0);
	assert_int_equal(ml_header_automatic("Subject", "bulk"), 0);
	assert_int_equal(ml_sender_automatic(""), RD_MAIL_AUTO_NULLSENDER);
	assert_int_equal(ml_sender_automatic("MAILER-DAEMON@mx.example.org"), RD_MAIL_AUTO_DAEMON);
	assert_int_equal(ml_sender_automatic("postmaster@example.net"), RD_MAIL_AUTO_DAEMON);
	assert_int_equal(ml_sender_automatic("owner-list@example.net"), RD_MAIL_AUTO_DAEMON);
	assert_int_equal(ml_sender_automatic("list-request@example.net"), RD_MAIL_AUTO_DAEMON);
	assert_int_equal(ml_sender_automatic("bob@example.net"), 0);
	assert_int_equal(ml_sender_automatic(NULL), 0);
}

static void test_msgid_list(void **state)
{
	char out[64], big[2048];
	size_t n;

	(void)state;
	n = ml_msgid_list("<a@x> <b@x>\t<c@x> from x[1.2.3.4]", 16, out, sizeof(out));
	assert_int_equal(n, 3);
	assert_string_equal(out, "<a@x> <b@x> <c@x>");
	n = ml_msgid_list("<a@x> <b@x> <c@x>", 1, out, sizeof(out));
	assert_int_equal(n, 1);
	assert_string_equal(out, "<c@x>");
	/* only what fits, most recent kept */
	n = ml_msgid_list("<aaaaaaaaaa@x> <bbbbbbbbbb@x> <cccccccccc@x>", 16, out, 32);
	assert_int_equal(n, 2);
	assert_string_equal(out, "<bbbbbbbbbb@x> <cccccccccc@x>");
	/* junk, empty, cut by Postfix at 200 bytes */
	assert_int_equal(ml_msgid_list("Re: hello", 4, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(ml_msgid_list("<> <a@x>", 4, out, sizeof(out)), 0);
	assert_int_equal(ml_msgid_list("<a@x> <b@x", 4, out, sizeof(out)), 1);
	assert_string_equal(out, "<a@x>");
	/* many ids: bounded */
	big[0] = '\0';
	for (int i = 0; i < 100; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "<%d@x> ", i);
	n = ml_msgid_list(big, 100, out, sizeof(out));
	assert_true(n > 0 && strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "<99@x>"));
}

static void test_copy_and_flags(void **state)
{
	char dst[6];

	(void)state;
	assert_int_equal(ml_copy(dst, sizeof(dst), "abc"), 3);
	assert_string_equal(dst, "abc");
	assert_int_equal(ml_copy(dst, sizeof(dst), "abcdefgh"), 5);
	assert_string_equal(dst, "abcde");
	/* "abcé!" is 6 bytes: the 2-byte é is not cut in half */
	assert_int_equal(ml_copy(dst, 5, "abc\xC3\xA9!"), 3);
	assert_string_equal(dst, "abc");
	assert_true(rd_utf8_valid(dst, strlen(dst), NULL));
	assert_int_equal(
	    ml_parse_flags("\\Answered \\Flagged \\Deleted \\Seen \\Draft \\Recent kw)"),
	    RD_MAIL_F_ANSWERED | RD_MAIL_F_FLAGGED | RD_MAIL_F_DELETED | RD_MAIL_F_SEEN |
	        RD_MAIL_F_DRAFT);
	assert_int_equal(ml_parse_flags(")"), 0);
	assert_int_equal(ml_parse_flags("\\AnsweredX \\Seen"), RD_MAIL_F_SEEN);
}

/* Hostile values never overflow: a 4000-byte header, address and msgid. */
static void test_hostile_lengths(void **state)
{
	static char line[16000], big[4001];
	struct ml_line ln;
	struct ml_rec r;
	const char *why;
	int n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	n = snprintf(line, sizeof(line),
	             "2024-08-26T01:33:38Z mx postfix/cleanup[1]: 4A1B2C3D4E: info: header "
	             "References: <%s@x> from x[1.2.3.4]; from=<%s@x> to=<c@example.org> "
	             "proto=ESMTP helo=<%s>",
	             big, big, big);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_int_equal(
	    ml_parse_line(line, (size_t)n, &(struct ml_clock){.now = T_0901}, &ln, &why), 0);
	assert_int_equal(ml_parse_postfix(ln.service, ln.msg, &r, &why), 1);
	{
		char out[ML_REFS_MAX], addr[ML_ADDR_MAX];

		assert_int_equal(ml_msgid_list(r.header_value, 16, out, sizeof(out)), 0);
		assert_true(ml_copy(addr, sizeof(addr), r.sender) < sizeof(addr));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_rfc3164),
	    cmocka_unit_test(test_prefix_maillog_file),
	    cmocka_unit_test(test_prefix_rfc3339),
	    cmocka_unit_test(test_prefix_journal_short_iso),
	    cmocka_unit_test(test_prefix_rfc5424),
	    cmocka_unit_test(test_prefix_dovecot_file),
	    cmocka_unit_test(test_prefix_programs),
	    cmocka_unit_test(test_prefix_rejects),
	    cmocka_unit_test(test_year_new_year_rollover),
	    cmocka_unit_test(test_year_file_read_later),
	    cmocka_unit_test(test_year_local_zone),
	    cmocka_unit_test(test_tz_fall_back_sequence),
	    cmocka_unit_test(test_pf_client),
	    cmocka_unit_test(test_pf_noqueue_reject),
	    cmocka_unit_test(test_pf_pickup_cleanup),
	    cmocka_unit_test(test_pf_header_info),
	    cmocka_unit_test(test_pf_header_reject),
	    cmocka_unit_test(test_pf_qmgr),
	    cmocka_unit_test(test_pf_delivery),
	    cmocka_unit_test(test_pf_bounce_notification),
	    cmocka_unit_test(test_dc_lmtp_saved),
	    cmocka_unit_test(test_dc_sieve),
	    cmocka_unit_test(test_dc_maillog_23),
	    cmocka_unit_test(test_dc_maillog_24),
	    cmocka_unit_test(test_automatic),
	    cmocka_unit_test(test_msgid_list),
	    cmocka_unit_test(test_copy_and_flags),
	    cmocka_unit_test(test_hostile_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
