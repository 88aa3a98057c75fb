/* test_maillog.c - the maillog collector driven by a real event_base on the
 * hand-written fixtures of tests/fixtures/mail/ (see the README there),
 * with the core's collector services stubbed: the exact events emitted, the
 * lines accepted and rejected, and the resume point it hands to the core
 * (with a life still open, across a restart and across a rotation). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "collector.h"
#include "event.h"
#include "maillog_parse.h"
#include "tail.h"
#include "tz.h"

extern const struct rd_collector_type rd_maillog_type;

/* 2024-08-26T07:00:00Z = 09:00:00 in the fixtures' +02:00 */
#define BASE    INT64_C(1724655600)
#define CONTACT "contact@example.org"
#define TITRES  "titres@example.org"
#define MAX_EV  64
#define MAX_REJ 16

/* ========================================================================
 * STUBS of the core's services to collectors (daemon/core.c). The test
 * links the collector without the core: these record what it reports.
 * ======================================================================== */

struct rd_collector {
	int unused;
};

struct got_event {
	enum rd_mail_ev_type type;
	int64_t ts;
	char *mailbox, *msgid, *sender, *irt, *refs, *folder, *user;
	uint32_t flags, automatic;
};

static struct {
	struct got_event ev[MAX_EV];
	size_t nev;
	unsigned accepted, rejected, unknown;
	uint64_t rej_off[MAX_REJ];
	char rej_why[MAX_REJ][64];
	struct rd_cursor cp;   /* last checkpoint */
	struct rd_cursor read; /* how far it had read then */
	int ncp, done;
} G;

static struct rd_collector the_collector;

static char *dup_or_null(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

const char *rd_collector_name(const struct rd_collector *c)
{
	return "mail";
}

const char *rd_collector_site(const struct rd_collector *c)
{
	return "test";
}

void rd_collector_emit_mail(struct rd_collector *c, const struct rd_mail_event *ev)
{
	struct got_event *g;

	assert_ptr_equal(c, &the_collector);
	assert_true(G.nev < MAX_EV);
	g = &G.ev[G.nev++];
	g->type = ev->type;
	g->ts = ev->ts;
	g->mailbox = dup_or_null(ev->mailbox);
	g->msgid = dup_or_null(ev->msgid);
	g->sender = dup_or_null(ev->sender);
	g->irt = dup_or_null(ev->in_reply_to);
	g->refs = dup_or_null(ev->references);
	g->folder = dup_or_null(ev->folder);
	g->user = dup_or_null(ev->user);
	g->flags = ev->flags;
	g->automatic = ev->automatic;
}

void rd_collector_accepted(struct rd_collector *c)
{
	G.accepted++;
}

void rd_collector_rejected(struct rd_collector *c, uint64_t offset, const char *reason,
                           const char *line, size_t len)
{
	if (G.rejected < MAX_REJ) {
		G.rej_off[G.rejected] = offset;
		snprintf(G.rej_why[G.rejected], sizeof(G.rej_why[0]), "%s", reason);
	}
	G.rejected++;
}

void rd_collector_unknown(struct rd_collector *c, uint64_t offset, const char *reason,
                          const char *line, size_t len)
{
	G.unknown++;
}

int rd_collector_checkpoint(struct rd_collector *c, const struct rd_cursor *cursor)
{
	G.cp = *cursor;
	G.ncp++;
	return 0;
}

int rd_collector_checkpoint_behind(struct rd_collector *c, const struct rd_cursor *resume,
                                   const struct rd_cursor *read)
{
	G.read = *read;
	return rd_collector_checkpoint(c, resume);
}

void rd_collector_at(struct rd_collector *c, uint64_t dev, uint64_t ino, uint64_t offset)
{
}

void rd_collector_done(struct rd_collector *c)
{
	G.done++;
}

void rd_collector_log(const struct rd_collector *c, int level, const char *fmt, ...)
{
	va_list ap;

	if (getenv("TEST_VERBOSE") == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ======================== end of the stubs ============================= */

static void reset(void)
{
	for (size_t i = 0; i < G.nev; i++) {
		struct got_event *g = &G.ev[i];

		free(g->mailbox);
		free(g->msgid);
		free(g->sender);
		free(g->irt);
		free(g->refs);
		free(g->folder);
		free(g->user);
	}
	memset(&G, 0, sizeof(G));
}

static int teardown(void **state)
{
	(void)state;
	reset();
	return 0;
}

/* tests/fixtures/mail/NAME, found from this file's own path. */
static void fixture(char *out, size_t len, const char *name)
{
	const char *unit = strstr(__FILE__, "unit/test_maillog.c");
	int n = unit != NULL ? (int)(unit - __FILE__) : 0;

	assert_true((size_t)snprintf(out, len, "%.*sfixtures/mail/%s", n, __FILE__, name) < len);
}

static const struct {
	const char *key, *value;
} base_conf[] = {
    {"mailboxes", CONTACT ", " TITRES},
    {"users", CONTACT "=agent1 agent2, " TITRES "=agent3"},
    {"closed_folders", "Trash, Archives/Closed"},
};

/* A configured collector on path, with extra keys (NULL-terminated pairs). */
static void *make(const char *path, const char *const *extra)
{
	void *priv = rd_maillog_type.create(&the_collector);
	char err[256] = "";

	assert_non_null(priv);
	assert_int_equal(rd_maillog_type.configure(priv, "path", path, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(base_conf) / sizeof(base_conf[0]); i++)
		if (rd_maillog_type.configure(priv, base_conf[i].key, base_conf[i].value, err,
		                              sizeof(err)) != 0)
			fail_msg("%s: %s", base_conf[i].key, err);
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i += 2)
		if (rd_maillog_type.configure(priv, extra[i], extra[i + 1], err, sizeof(err)) != 0)
			fail_msg("%s = %s: %s", extra[i], extra[i + 1], err);
	if (rd_maillog_type.check(priv, err, sizeof(err)) != 0)
		fail_msg("check: %s", err);
	return priv;
}

/* Read the source to its end in once mode, as `reachd --once` does. */
static void run(void *priv, const struct rd_cursor *resume)
{
	struct event_base *base = event_base_new();

	assert_non_null(base);
	G.done = 0;
	assert_int_equal(rd_maillog_type.start(priv, base, resume, 1), 0);
	assert_true(event_base_dispatch(base) >= 0);
	assert_int_equal(G.done, 1);
	rd_maillog_type.stop(priv);
	event_base_free(base);
}

static void run_fixture(const char *name, const char *const *extra)
{
	char path[512];
	void *priv;

	fixture(path, sizeof(path), name);
	priv = make(path, extra);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void assert_str(const char *what, const char *got, const char *want)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", what, got ? got : "(null)",
		         want ? want : "(null)");
}

static void dump_events(void)
{
	for (size_t i = 0; i < G.nev; i++)
		fprintf(stderr, "  #%zu type=%d ts=%lld box=%s msgid=%s sender=%s auto=%u\n", i,
		        G.ev[i].type, (long long)G.ev[i].ts, G.ev[i].mailbox,
		        G.ev[i].msgid ? G.ev[i].msgid : "-", G.ev[i].sender ? G.ev[i].sender : "-",
		        G.ev[i].automatic);
}

static void expect_count(size_t n)
{
	if (G.nev != n) {
		dump_events();
		fail_msg("%zu events, want %zu", G.nev, n);
	}
}

/* Event i: the fields every type has. */
static const struct got_event *expect_ev(size_t i, enum rd_mail_ev_type type, int64_t ts,
                                         const char *mailbox, const char *msgid, const char *sender,
                                         uint32_t automatic)
{
	const struct got_event *g = &G.ev[i];

	assert_true(i < G.nev);
	if (g->type != type || g->ts != ts) {
		dump_events();
		fail_msg("event %zu: type %d ts %lld, want type %d ts %lld", i, g->type,
		         (long long)g->ts, type, (long long)ts);
	}
	assert_str("mailbox", g->mailbox, mailbox);
	assert_str("msgid", g->msgid, msgid);
	assert_str("sender", g->sender, sender);
	assert_int_equal(g->automatic, automatic);
	return g;
}

static void expect_clean(const char *name)
{
	char path[512];

	fixture(path, sizeof(path), name);
	if (G.rejected != 0)
		fail_msg("%s: %u lines rejected, the first at %llu: %s", name, G.rejected,
		         (unsigned long long)G.rej_off[0], G.rej_why[0]);
	assert_true(G.ncp > 0);
	/* no life left open: the resume point is the end of the file */
	assert_int_equal(G.cp.offset, file_size(path));
}

/* --- scenarios ------------------------------------------------------------- */

/* A person writes to contact@; Sieve stores it and answers with a vacation
 * message, which Postfix then sends (In-Reply-To, Auto-Submitted INFO). */
static void test_human_with_vacation_ack(void **state)
{
	(void)state;
	run_fixture("human_vacation.log", NULL);
	expect_count(2);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 1, CONTACT, "<CAB1234.human@example.net>",
	          "alice@example.net", 0);
	expect_ev(1, RD_MAIL_ACK, BASE + 1, CONTACT, "<CAB1234.human@example.net>",
	          "alice@example.net", 0);
	assert_int_equal(G.accepted, 18);
	expect_clean("human_vacation.log");
}

/* Auto-Submitted / X-Autoreply INFO lines; a list message whose INFO line is
 * in the queue ID before a content filter, delivered under the next one. */
static void test_automatic_messages(void **state)
{
	(void)state;
	run_fixture("autoreply.log", NULL);
	expect_count(2);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 300, CONTACT, "<auto-77@example.com>",
	          "noreply@example.com", RD_MAIL_AUTO_SUBMITTED | RD_MAIL_AUTO_XAUTOREPLY);
	expect_ev(1, RD_MAIL_RECEIVED, BASE + 361, CONTACT, "<newsletter-5@list.example.com>",
	          "bounces@list.example.com", RD_MAIL_AUTO_PRECEDENCE);
	expect_clean("autoreply.log");
}

/* Acknowledgements sent through Postfix: from titres@ with Auto-Submitted
 * (SENT, automatic, and an ACK of bob's message, found as the latest from
 * bob), and from the null sender with In-Reply-To (an ACK only). */
static void test_outgoing_acks(void **state)
{
	const struct got_event *g;

	(void)state;
	run_fixture("outgoing_ack.log", NULL);
	expect_count(5);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 18000, TITRES, "<bob-1@example.net>",
	          "bob@example.net", 0);
	g = expect_ev(1, RD_MAIL_SENT, BASE + 18005, TITRES, "<ack-1@example.org>", TITRES,
	              RD_MAIL_AUTO_SUBMITTED | RD_MAIL_AUTO_XAUTOREPLY);
	assert_null(g->irt);
	assert_null(g->user);
	expect_ev(2, RD_MAIL_ACK, BASE + 18006, TITRES, "<bob-1@example.net>", "bob@example.net",
	          0);
	expect_ev(3, RD_MAIL_RECEIVED, BASE + 18600, CONTACT, "<dan-1@example.net>",
	          "dan@example.net", 0);
	expect_ev(4, RD_MAIL_ACK, BASE + 18603, CONTACT, "<dan-1@example.net>", "dan@example.net",
	          0);
	expect_clean("outgoing_ack.log");
}

/* Delivered, bounced (its non-delivery notice to carol is no ack although
 * carol wrote to contact@ before), deferred to titres@ then expired. */
static void test_bounce(void **state)
{
	(void)state;
	run_fixture("bounce.log", NULL);
	expect_count(3);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 600, CONTACT, "<carol-1@example.net>",
	          "carol@example.net", 0);
	expect_ev(1, RD_MAIL_REJECTED, BASE + 720, CONTACT, "<carol-2@example.net>",
	          "carol@example.net", 0);
	expect_ev(2, RD_MAIL_REJECTED, BASE + 4440, TITRES, "<carol-3@example.net>",
	          "carol@example.net", 0);
	expect_clean("bounce.log");
}

/* NOQUEUE RCPT reject to titres@ (and to an address that is none of ours),
 * a header_checks REJECT to contact@, a session abandoned before DATA: no
 * queue ID stays open (Postfix logs no "removed" for those). */
static void test_reject(void **state)
{
	(void)state;
	run_fixture("reject.log", NULL);
	expect_count(2);
	/* a RCPT reject has no Message-ID yet: named after its time and offset */
	expect_ev(0, RD_MAIL_REJECTED, BASE + 1200, TITRES,
	          "<rejected.1724656800.93@reachd.invalid>", "spammer@bad.example", 0);
	expect_ev(1, RD_MAIL_REJECTED, BASE + 1200, CONTACT, "<spam-1@bad.example>",
	          "spammer@bad.example", 0);
	expect_clean("reject.log");
}

/* agent1 answers through submission: one SENT (qmgr logs the message twice
 * because of a deferral), dated at submission, with its thread headers. */
static void test_reply_through_submission(void **state)
{
	const struct got_event *g;

	(void)state;
	run_fixture("reply_submission.log", NULL);
	expect_count(1);
	g = expect_ev(0, RD_MAIL_SENT, BASE + 3601, CONTACT, "<reply-1@example.org>", CONTACT, 0);
	assert_str("in_reply_to", g->irt, "<CAB1234.human@example.net>");
	assert_str("references", g->refs, "<older-0@example.net> <CAB1234.human@example.net>");
	assert_str("user", g->user, "agent1");
	expect_clean("reply_submission.log");
}

static void expect_flags(size_t i, int64_t ts, const char *box, const char *msgid,
                         const char *folder, const char *user, uint32_t flags)
{
	const struct got_event *g = expect_ev(i, RD_MAIL_FLAGS, ts, box, msgid, NULL, 0);

	assert_str("folder", g->folder, folder);
	assert_str("user", g->user, user);
	assert_int_equal(g->flags, flags);
}

static void expect_closed(size_t i, int64_t ts, const char *msgid, const char *folder,
                          const char *user)
{
	const struct got_event *g = expect_ev(i, RD_MAIL_CLOSED, ts, CONTACT, msgid, NULL, 0);

	assert_str("folder", g->folder, folder);
	assert_str("user", g->user, user);
}

/* mail_log: \Answered set by an agent's client (2.3 and 2.4 forms), an
 * expunge, a delete then expunge (one CLOSED), a move to a closed folder,
 * a move to a working folder (nothing), a user acting for no mailbox, a
 * Message-ID cut at 80 bytes. */
static void test_imap_flags_and_closing(void **state)
{
	const char *longid = "<a-very-long-message-identifier-0123456789-0123456789-0123456789-"
	                     "0123456789@long.example.net>";

	(void)state;
	run_fixture("imap.log", NULL);
	expect_count(9);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 7140, CONTACT, longid, NULL, 0);
	expect_flags(1, BASE + 7200, CONTACT, "<CAB1234.human@example.net>", "INBOX", "agent1",
	             RD_MAIL_F_SEEN);
	expect_flags(2, BASE + 9000, CONTACT, "<reply-2@example.org>", "Sent", "agent1",
	             RD_MAIL_F_SEEN);
	expect_flags(3, BASE + 9001, CONTACT, "<CAB1234.human@example.net>", "INBOX", "agent1",
	             RD_MAIL_F_ANSWERED | RD_MAIL_F_SEEN);
	expect_flags(4, BASE + 9060, TITRES, "<titres-9@example.net>", "INBOX", "agent3",
	             RD_MAIL_F_ANSWERED);
	expect_closed(5, BASE + 9600, "<spam-ish@example.net>", NULL, "agent2");
	/* \Deleted alone can be undone: closed at the expunge, 5 s later */
	expect_closed(6, BASE + 9665, "<dup-21@example.net>", NULL, "agent2");
	expect_closed(7, BASE + 10200, "<closed-1@example.net>", "Archives/Closed", "agent1");
	expect_flags(8, BASE + 10500, CONTACT, longid, "INBOX", "agent2",
	             RD_MAIL_F_ANSWERED | RD_MAIL_F_SEEN);
	expect_clean("imap.log");
}

/* One queue ID, three messages; the second "removed" is missing. */
static void test_queue_id_reuse(void **state)
{
	(void)state;
	run_fixture("qid_reuse.log", NULL);
	expect_count(3);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 1800, CONTACT, "<first@example.net>",
	          "dave@example.net", 0);
	expect_ev(1, RD_MAIL_RECEIVED, BASE + 1860, CONTACT, "<second@example.net>",
	          "erin@example.net", 0);
	expect_ev(2, RD_MAIL_RECEIVED, BASE + 1920, CONTACT, "<third@example.net>",
	          "frank@example.net", 0);
	expect_clean("qid_reuse.log");
}

/* One message to both mailboxes: Dovecot reports each delivery first, then
 * Postfix; one RECEIVED per mailbox. */
static void test_two_functional_mailboxes(void **state)
{
	(void)state;
	run_fixture("two_mailboxes.log", NULL);
	expect_count(2);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 2400, CONTACT, "<both@example.net>",
	          "gina@example.net", 0);
	expect_ev(1, RD_MAIL_RECEIVED, BASE + 2400, TITRES, "<both@example.net>",
	          "gina@example.net", 0);
	expect_clean("two_mailboxes.log");
}

/* Year-less stamps (RFC 3164) and Dovecot's own file, in Europe/Paris. */
static void test_traditional_local_time(void **state)
{
	time_t now = time(NULL);
	struct tm tm;
	int64_t day;
	const char *const tz[] = {"timezone", "Europe/Paris", NULL};

	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Paris", R_OK) != 0)
		skip();
	assert_non_null(gmtime_r(&now, &tm));
	/* Aug 26 of this year, unless that is more than a day ahead */
	day = rd_tz_days_from_civil(tm.tm_year + 1900, 8, 26);
	if (day * 86400 + 7 * 3600 > (int64_t)now + 86400)
		day = rd_tz_days_from_civil(tm.tm_year + 1900 - 1, 8, 26);
	run_fixture("traditional.log", tz);
	expect_count(2);
	expect_ev(0, RD_MAIL_RECEIVED, day * 86400 + 7 * 3600 + 2, CONTACT, "<trad-1@example.net>",
	          "jack@example.net", 0);
	expect_flags(1, day * 86400 + 7 * 3600 + 600, CONTACT, "<trad-1@example.net>", "INBOX",
	             "agent1", RD_MAIL_F_ANSWERED | RD_MAIL_F_SEEN);
	expect_clean("traditional.log");
}

/* Byte offset of the line holding needle. */
static uint64_t line_offset(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	char line[4096];
	uint64_t off = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, needle) != NULL) {
			fclose(f);
			return off;
		}
		off += strlen(line);
	}
	fclose(f);
	fail_msg("'%s' not in %s", needle, path);
	return 0;
}

/* Bad lines are rejected with their offsets; unrelated lines accepted. */
static void test_malformed_lines(void **state)
{
	char path[512];

	(void)state;
	fixture(path, sizeof(path), "malformed.log");
	run_fixture("malformed.log", NULL);
	expect_count(0);
	assert_int_equal(G.accepted, 4);
	assert_int_equal(G.rejected, 4);
	assert_int_equal(G.rej_off[0], line_offset(path, "no time stamp"));
	assert_string_equal(G.rej_why[0], "unknown time stamp");
	assert_int_equal(G.rej_off[1], line_offset(path, "not UTF-8"));
	assert_string_equal(G.rej_why[1], "invalid UTF-8");
	assert_int_equal(G.rej_off[2], line_offset(path, "to=<x@example.net>"));
	assert_string_equal(G.rej_why[2], "delivery line without relay= or status=");
	assert_int_equal(G.rej_off[3], line_offset(path, "a NUL"));
	assert_string_equal(G.rej_why[3], "NUL byte in line");
	assert_int_equal(G.cp.offset, file_size(path));
}

/* --- the resume point ----------------------------------------------------- */

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_maillog.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/mail.log", t->dir);
}

static void tmp_clean(struct tmp *t)
{
	char p[192];

	snprintf(p, sizeof(p), "%s.1", t->path);
	unlink(p);
	unlink(t->path);
	rmdir(t->dir);
}

/* Append fixture `name` (or text when name is NULL) to path. */
static void append(const char *path, const char *name, const char *text)
{
	char src[512], buf[8192];
	FILE *out = fopen(path, "ab"), *in;
	size_t n;

	assert_non_null(out);
	if (name != NULL) {
		fixture(src, sizeof(src), name);
		in = fopen(src, "rb");
		assert_non_null(in);
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			assert_int_equal(fwrite(buf, 1, n, out), n);
		fclose(in);
	} else {
		assert_int_equal(fwrite(text, 1, strlen(text), out), strlen(text));
	}
	assert_int_equal(fclose(out), 0);
}

static void expect_cursor_at(const char *path, uint64_t off)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(G.cp.dev, (uint64_t)st.st_dev);
	assert_int_equal(G.cp.ino, (uint64_t)st.st_ino);
	assert_int_equal(G.cp.offset, off);
	assert_int_equal(G.cp.fingerprint,
	                 rd_tail_fingerprint(fd, off < RD_TAIL_FP_BYTES ? off : RD_TAIL_FP_BYTES));
	assert_int_equal(close(fd), 0);
}

/* A queue ID still open at the end: the cursor stays on its first line;
 * after a crash the rest is appended and reading resumes from there, which
 * sees the whole life again and delivers it with its Message-ID. */
static void test_safe_cursor_with_open_life(void **state)
{
	struct rd_cursor saved;
	struct tmp t;
	uint64_t start;
	void *priv;

	(void)state;
	tmp_make(&t);
	append(t.path, "open_life.log", NULL);
	start = line_offset(t.path, "3EBC2AD9FA: client=");
	assert_true(start > RD_TAIL_FP_BYTES);
	priv = make(t.path, NULL);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
	expect_count(1);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 3 * 3600, CONTACT, "<done-1@example.net>",
	          "hank@example.net", 0);
	assert_int_equal(G.rejected, 0);
	expect_cursor_at(t.path, start);
	assert_int_equal(G.cp.size, file_size(t.path));
	/* the lines after the resume point were read (and counted) */
	assert_int_equal(G.read.offset, file_size(t.path));
	assert_int_equal(G.read.ino, G.cp.ino);

	/* crash: the collector is gone; the log goes on */
	saved = G.cp;
	reset();
	append(t.path, "open_life_rest.log", NULL);
	priv = make(t.path, NULL);
	run(priv, &saved);
	rd_maillog_type.destroy(priv);
	expect_count(1);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 3 * 3600 + 363, CONTACT, "<pending-1@example.net>",
	          "ivy@example.net", 0);
	expect_cursor_at(t.path, file_size(t.path));
	tmp_clean(&t);
}

/* Within the fingerprint's first bytes, the resume point is 0. */
static void test_safe_cursor_near_start(void **state)
{
	struct tmp t;
	void *priv;

	(void)state;
	tmp_make(&t);
	append(t.path, NULL,
	       "2024-08-26T12:00:00Z mx kernel: boot\n"
	       "2024-08-26T12:00:01Z mx postfix/smtpd[1]: 5F6A7B8C9D: client=a[192.0.2.1]\n"
	       "2024-08-26T12:00:02Z mx postfix/cleanup[2]: 5F6A7B8C9D: message-id=<x@y>\n");
	priv = make(t.path, NULL);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
	assert_int_equal(G.cp.offset, 0);
	assert_int_equal(G.cp.fingerprint, 0);
	tmp_clean(&t);
}

/* A life older than max_open bytes, or than max_open_age of log time, no
 * longer holds the resume point. */
static void test_max_open_forgets(void **state)
{
	const char *const small[] = {"max_open", "64k", NULL};
	char line[200];
	struct tmp t;
	void *priv;

	(void)state;
	tmp_make(&t);
	append(t.path, NULL,
	       "2024-08-26T12:00:01Z mx postfix/smtpd[1]: 5F6A7B8C9D: client=a[192.0.2.1]\n");
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line),
		         "2024-08-26T12:00:02Z mx kernel: filler line %04d to push the open queue "
		         "ID more than max_open behind\n",
		         i);
		append(t.path, NULL, line);
	}
	priv = make(t.path, small);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
	assert_int_equal(G.cp.offset, file_size(t.path));
	tmp_clean(&t);

	reset();
	tmp_make(&t);
	append(t.path, NULL,
	       "2024-08-26T12:00:01Z mx postfix/smtpd[1]: 5F6A7B8C9D: client=a[192.0.2.1]\n"
	       "2024-08-26T12:00:02Z mx postfix/cleanup[2]: 5F6A7B8C9D: message-id=<x@y>\n"
	       "2024-08-27T12:00:03Z mx kernel: a day later\n");
	priv = make(t.path, NULL);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
	assert_int_equal(G.cp.offset, file_size(t.path));
	tmp_clean(&t);
}

/* Rotation while a life is open: resuming finishes the rotated file (the
 * life is read again), then the new file; the life ends in the new file and
 * is delivered with its Message-ID; the cursor never points back into the
 * rotated file, but at the life opened in the new one. */
static void test_cursor_across_rotation(void **state)
{
	struct rd_cursor saved;
	char rotated[192];
	struct tmp t;
	uint64_t start;
	void *priv;

	(void)state;
	tmp_make(&t);
	append(t.path, "open_life.log", NULL);
	priv = make(t.path, NULL);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
	saved = G.cp;
	reset();

	snprintf(rotated, sizeof(rotated), "%s.1", t.path);
	assert_int_equal(rename(t.path, rotated), 0);
	append(t.path, "open_life_rest.log", NULL);
	append(t.path, NULL,
	       "2024-08-26T12:07:00.000000+02:00 mx postfix/smtpd[2705]: 6A7B8C9DAE: "
	       "client=mail.example.net[198.51.100.51]\n"
	       "2024-08-26T12:07:00.100000+02:00 mx postfix/cleanup[2702]: 6A7B8C9DAE: "
	       "message-id=<pending-2@example.net>\n");
	start = line_offset(t.path, "6A7B8C9DAE: client=");
	priv = make(t.path, NULL);
	run(priv, &saved);
	rd_maillog_type.destroy(priv);
	expect_count(1);
	expect_ev(0, RD_MAIL_RECEIVED, BASE + 3 * 3600 + 363, CONTACT, "<pending-1@example.net>",
	          "ivy@example.net", 0);
	expect_cursor_at(t.path, start);
	tmp_clean(&t);
}

/* --- configuration ------------------------------------------------------------ */

static int conf(void *priv, const char *key, const char *value)
{
	char err[256];

	return rd_maillog_type.configure(priv, key, value, err, sizeof(err));
}

static void test_configuration(void **state)
{
	void *priv = rd_maillog_type.create(&the_collector);
	char err[256];

	(void)state;
	assert_non_null(priv);
	assert_int_equal(rd_maillog_type.check(priv, err, sizeof(err)), -1); /* no path */
	assert_int_equal(conf(priv, "path", "/var/log/mail.log"), 0);
	assert_int_equal(rd_maillog_type.check(priv, err, sizeof(err)), -1); /* no mailboxes */
	assert_non_null(strstr(err, "mailboxes"));
	assert_int_equal(conf(priv, "queue", "x"), -1);
	assert_int_equal(conf(priv, "mailboxes", "contact"), -1);
	assert_int_equal(conf(priv, "mailboxes", "a@x, A@X"), -1);
	assert_int_equal(conf(priv, "mailboxes", " , "), -1);
	assert_int_equal(conf(priv, "mailboxes", "Contact@Example.ORG , titres@example.org"), 0);
	assert_int_equal(rd_maillog_type.owns(priv, "contact@example.org"), 1);
	assert_int_equal(rd_maillog_type.owns(priv, "other@example.org"), 0);
	assert_int_equal(conf(priv, "users", "contact@example.org"), -1);
	assert_int_equal(conf(priv, "users", "contact@example.org="), -1);
	assert_int_equal(conf(priv, "users", "nobody@example.org=agent9"), 0);
	assert_int_equal(rd_maillog_type.check(priv, err, sizeof(err)), -1); /* not a mailbox */
	assert_non_null(strstr(err, "nobody@example.org"));
	assert_int_equal(conf(priv, "users", "contact@example.org=agent1 agent2"), 0);
	assert_int_equal(conf(priv, "closed_folders", "Trash, Archives/Closed"), 0);
	assert_int_equal(conf(priv, "timezone", "Mars/Olympus"), -1);
	assert_int_equal(conf(priv, "timezone", "../etc/passwd"), -1);
	assert_int_equal(rd_maillog_type.configure(priv, "max_line", "10", err, sizeof(err)), -1);
	assert_string_equal(err, "max_line out of range: '10'");
	assert_int_equal(conf(priv, "max_line", "4k"), 0);
	assert_int_equal(rd_maillog_type.configure(priv, "stat_interval", "1ms", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "stat_interval out of range: '1ms'");
	assert_int_equal(conf(priv, "stat_interval", "1s"), 0);
	assert_int_equal(rd_maillog_type.configure(priv, "timezone", "", err, sizeof(err)), -1);
	assert_string_equal(err, "timezone: '' is not a time zone name (e.g. Europe/Paris)");
	/* as docs/configuration.md shows them */
	assert_int_equal(
	    rd_maillog_type.configure(priv, "timezone", "Europe Paris", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "timezone: 'Europe Paris' is not a time zone name (e.g. Europe/Paris)");
	assert_int_equal(
	    rd_maillog_type.configure(priv, "timezone", "Mars/Olympus", err, sizeof(err)), -1);
	assert_string_equal(err, "timezone: unknown time zone 'Mars/Olympus' "
	                         "(/usr/share/zoneinfo/Mars/Olympus: No such file or directory)");
	assert_int_equal(conf(priv, "max_open", "1"), -1);
	assert_int_equal(conf(priv, "max_open", "16M"), 0);
	assert_int_equal(conf(priv, "max_open_age", "2h"), 0);
	if (access("/usr/share/zoneinfo/Europe/Paris", R_OK) == 0)
		assert_int_equal(conf(priv, "timezone", "Europe/Paris"), 0);
	assert_int_equal(rd_maillog_type.check(priv, err, sizeof(err)), 0);
	assert_string_equal(rd_maillog_type.source(priv), "/var/log/mail.log");
	assert_string_equal(rd_maillog_type.name, "maillog");
	rd_maillog_type.destroy(priv);
}

/* A line over max_line is rejected once, whole. */
static void test_long_line(void **state)
{
	const char *const small[] = {"max_line", "1k", NULL};
	static char big[3000];
	struct tmp t;
	void *priv;

	(void)state;
	tmp_make(&t);
	memset(big, 'x', sizeof(big) - 2);
	memcpy(big, "2024-08-26T12:00:00Z mx kernel: ", 32);
	big[sizeof(big) - 2] = '\n';
	append(t.path, NULL, big);
	append(t.path, NULL, "2024-08-26T12:00:01Z mx kernel: short\n");
	priv = make(t.path, small);
	run(priv, NULL);
	rd_maillog_type.destroy(priv);
	assert_int_equal(G.rejected, 1);
	assert_int_equal(G.rej_off[0], 0);
	assert_string_equal(G.rej_why[0], "line longer than max_line");
	assert_int_equal(G.accepted, 1);
	tmp_clean(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_human_with_vacation_ack, teardown),
	    cmocka_unit_test_teardown(test_automatic_messages, teardown),
	    cmocka_unit_test_teardown(test_outgoing_acks, teardown),
	    cmocka_unit_test_teardown(test_bounce, teardown),
	    cmocka_unit_test_teardown(test_reject, teardown),
	    cmocka_unit_test_teardown(test_reply_through_submission, teardown),
	    cmocka_unit_test_teardown(test_imap_flags_and_closing, teardown),
	    cmocka_unit_test_teardown(test_queue_id_reuse, teardown),
	    cmocka_unit_test_teardown(test_two_functional_mailboxes, teardown),
	    cmocka_unit_test_teardown(test_traditional_local_time, teardown),
	    cmocka_unit_test_teardown(test_malformed_lines, teardown),
	    cmocka_unit_test_teardown(test_safe_cursor_with_open_life, teardown),
	    cmocka_unit_test_teardown(test_safe_cursor_near_start, teardown),
	    cmocka_unit_test_teardown(test_max_open_forgets, teardown),
	    cmocka_unit_test_teardown(test_cursor_across_rotation, teardown),
	    cmocka_unit_test_teardown(test_configuration, teardown),
	    cmocka_unit_test_teardown(test_long_line, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
