/* test_filesrc.c - the file-source glue shared by queuelog, maillog and
 * jsonl: its keys and their three wordings, the list helpers, and a real
 * tail in once mode wired to stubbed collector services (lines, too-long
 * lines, offsets, writable copies, checkpoints, the end); then the queuelog
 * collector, which is nothing but that glue and its parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "collector.h"
#include "event.h"
#include "filesrc.h"
#include "log.h"

extern const struct rd_collector_type rd_queuelog_type;

/* ===== STUBS: the core's services to collectors (daemon/core.c) ======== */

struct rd_collector {
	int unused;
};

#define MAX_RECS 32

static struct rd_collector coll;
static char recs[MAX_RECS][160]; /* what the services were told, in order */
static int nrecs, ndone, nchunks;
static struct rd_cursor last_cursor;
static char last_log[256];
static int last_level;

static void add_rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void add_rec(const char *fmt, ...)
{
	va_list ap;

	assert_true(nrecs < MAX_RECS);
	va_start(ap, fmt);
	vsnprintf(recs[nrecs++], sizeof(recs[0]), fmt, ap);
	va_end(ap);
}

void rd_collector_emit_call(struct rd_collector *c, const struct rd_call_event *e)
{
	assert_ptr_equal(c, &coll);
	add_rec("call %d %s %s", (int)e->type, e->callid, e->queue);
}

void rd_collector_accepted(struct rd_collector *c)
{
	assert_ptr_equal(c, &coll);
	add_rec("accepted");
}

void rd_collector_rejected(struct rd_collector *c, uint64_t offset, const char *reason,
                           const char *line, size_t len)
{
	assert_ptr_equal(c, &coll);
	add_rec("reject @%llu %.*s: %s", (unsigned long long)offset, (int)(len < 8 ? len : 8), line,
	        reason);
}

void rd_collector_unknown(struct rd_collector *c, uint64_t offset, const char *reason,
                          const char *line, size_t len)
{
	assert_ptr_equal(c, &coll);
	add_rec("unknown @%llu %s", (unsigned long long)offset, reason);
}

int rd_collector_checkpoint(struct rd_collector *c, const struct rd_cursor *cursor)
{
	assert_ptr_equal(c, &coll);
	last_cursor = *cursor;
	nchunks++;
	return 0;
}

int rd_collector_checkpoint_behind(struct rd_collector *c, const struct rd_cursor *resume,
                                   const struct rd_cursor *read)
{
	return rd_collector_checkpoint(c, resume);
}

static uint64_t at_dev, at_ino, at_offset;

void rd_collector_at(struct rd_collector *c, uint64_t dev, uint64_t ino, uint64_t offset)
{
	at_dev = dev;
	at_ino = ino;
	at_offset = offset;
}

void rd_collector_done(struct rd_collector *c)
{
	assert_ptr_equal(c, &coll);
	ndone++;
}

/* Only the last message is kept, with its level. */
void rd_collector_log(const struct rd_collector *c, int level, const char *fmt, ...)
{
	va_list ap;

	assert_ptr_equal(c, &coll);
	last_level = level;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

/* ======================== end of the stubs ============================= */

static int teardown(void **state)
{
	(void)state;
	nrecs = ndone = nchunks = 0;
	last_log[0] = '\0';
	memset(&last_cursor, 0, sizeof(last_cursor));
	return 0;
}

static void expect_recs(const char *const *want, int n)
{
	for (int i = 0; i < n && i < nrecs; i++)
		assert_string_equal(recs[i], want[i]);
	assert_int_equal(nrecs, n);
}

/* A temporary file holding text. */
static void write_tmp(char *path, size_t len, const char *text)
{
	FILE *f;
	int fd;

	assert_true((size_t)snprintf(path, len, "/tmp/rd-filesrc-XXXXXX") < len);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* --- configuration --------------------------------------------------------- */

static void expect_conf(struct rd_filesrc *fs, const char *key, const char *value, int rc,
                        const char *msg)
{
	char err[256] = "";

	assert_int_equal(rd_filesrc_configure(fs, key, value, err, sizeof(err)), rc);
	if (msg != NULL)
		assert_string_equal(err, msg);
}

static void test_keys(void **state)
{
	static const struct rd_filesrc_ops ops = {0};
	struct rd_filesrc fs;

	(void)state;
	rd_filesrc_init(&fs, &coll, &ops, NULL, RD_FILESRC_SAY_LIMITS);
	assert_null(fs.path);
	assert_int_equal(fs.max_line, 1 << 20);
	assert_int_equal(fs.stat_interval_ms, 5000);
	expect_conf(&fs, "colour", "blue", 1, "");
	expect_conf(&fs, "path", "", -1, "path must not be empty");
	expect_conf(&fs, "path", "/var/log/a", 0, NULL);
	expect_conf(&fs, "path", "/var/log/b", 0, NULL);
	assert_string_equal(fs.path, "/var/log/b");
	expect_conf(&fs, "max_line", "4k", 0, NULL);
	assert_int_equal(fs.max_line, 4096);
	expect_conf(&fs, "max_line", "64M", 0, NULL);
	expect_conf(&fs, "max_line", "1023", -1, "max_line must be between 1k and 64M, not '1023'");
	expect_conf(&fs, "max_line", "65M", -1, "max_line must be between 1k and 64M, not '65M'");
	expect_conf(&fs, "stat_interval", "100ms", 0, NULL);
	assert_int_equal(fs.stat_interval_ms, 100);
	expect_conf(&fs, "stat_interval", "99ms", -1,
	            "stat_interval must be between 100ms and 1h, not '99ms'");
	expect_conf(&fs, "stat_interval", "2h", -1,
	            "stat_interval must be between 100ms and 1h, not '2h'");
	assert_int_equal(fs.stat_interval_ms, 100); /* unchanged by errors */
	assert_int_equal(fs.max_line, 64 << 20);
	rd_filesrc_release(&fs);
	assert_null(fs.path);

	/* each collector keeps its wording */
	rd_filesrc_init(&fs, &coll, &ops, NULL, RD_FILESRC_SAY_BYTES);
	expect_conf(&fs, "max_line", "10", -1,
	            "max_line must be between 1024 and 67108864 bytes, not '10'");
	expect_conf(&fs, "stat_interval", "1ms", -1,
	            "stat_interval must be between 100ms and 1h, not '1ms'");
	rd_filesrc_init(&fs, &coll, &ops, NULL, RD_FILESRC_SAY_RANGE);
	expect_conf(&fs, "max_line", "10", -1, "max_line out of range: '10'");
	expect_conf(&fs, "stat_interval", "1ms", -1, "stat_interval out of range: '1ms'");
	/* the parsers' own messages pass through */
	expect_conf(&fs, "stat_interval", "soon", -1, NULL);
	expect_conf(&fs, "max_line", "big", -1, NULL);
}

static void test_list_helpers(void **state)
{
	char list[] = " a , ,b\t,, c d ,", *cur = list, *item;
	const char *const want[] = {"a", "b", "c d"};
	char err[32];
	int n = 0;

	(void)state;
	while ((item = rd_filesrc_next_item(&cur)) != NULL) {
		assert_true(n < 3);
		assert_string_equal(item, want[n++]);
	}
	assert_int_equal(n, 3);
	assert_null(rd_filesrc_next_item(&cur)); /* stays at the end */
	assert_int_equal(rd_filesrc_fail(err, sizeof(err), "x=%d", 4), -1);
	assert_string_equal(err, "x=4");
}

/* --- a tail wired to the services ------------------------------------------ */

struct probe {
	int copies_ok; /* every copy matched its text and was NUL-terminated */
	uint64_t seen[8];
	int nseen;
};

static void probe_line(void *arg, const struct rd_filesrc_line *ln)
{
	struct probe *p = arg;

	if (ln->copy == NULL || memcmp(ln->copy, ln->text, ln->len) != 0 || ln->copy[ln->len])
		p->copies_ok = 0;
	ln->copy[0] = '#'; /* writable; the text is left alone */
	add_rec("line @%llu %.*s", (unsigned long long)ln->offset, (int)ln->len, ln->text);
}

static void probe_seen(void *arg, uint64_t offset)
{
	struct probe *p = arg;

	assert_true(p->nseen < 8);
	p->seen[p->nseen++] = offset;
}

static int probe_chunk(void *arg, const struct rd_cursor *cursor)
{
	struct rd_cursor c = *cursor;

	(void)arg;
	c.offset = 1; /* what the collector hands the core instead */
	return rd_collector_checkpoint(&coll, &c);
}

static void run_once(struct rd_filesrc *fs, const char *path)
{
	struct event_base *base = event_base_new();

	assert_non_null(base);
	assert_int_equal(rd_filesrc_start(fs, base, path, NULL, 1), 0);
	assert_int_equal(rd_filesrc_running(fs), 1);
	assert_int_equal(rd_filesrc_start(fs, base, path, NULL, 1), -1); /* already running */
	assert_true(event_base_dispatch(base) >= 0);
	rd_filesrc_stop(fs);
	assert_int_equal(rd_filesrc_running(fs), 0);
	event_base_free(base);
}

static void test_tail_wiring(void **state)
{
	static const struct rd_filesrc_ops ops = {
	    .line = probe_line, .seen = probe_seen, .chunk = probe_chunk, .copy = 1};
	const char *const want[] = {"line @0 one", "reject @4 xxxxxxxx: line longer than max_line",
	                            "line @1030 three"};
	struct probe p = {.copies_ok = 1};
	struct rd_filesrc fs;
	char path[64], text[1100], err[64];

	(void)state;
	memset(text, 'x', sizeof(text));
	memcpy(text, "one\n", 4);
	memcpy(text + 1029, "\nthree\npartial", 15); /* 1025 x: one too many */
	write_tmp(path, sizeof(path), text);
	rd_filesrc_init(&fs, &coll, &ops, &p, RD_FILESRC_SAY_LIMITS);
	assert_int_equal(rd_filesrc_configure(&fs, "max_line", "1k", err, sizeof(err)), 0);
	run_once(&fs, path);
	expect_recs(want, 3);
	assert_int_equal(p.copies_ok, 1);
	assert_int_equal(p.nseen, 3); /* the long line's offset too */
	assert_int_equal(p.seen[1], 4);
	assert_int_equal(ndone, 1);
	assert_true(nchunks >= 1);
	assert_int_equal(last_cursor.offset, 1); /* ops.chunk had the last word */
	/* the core learnt each line's own file and offset */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(at_dev, (uint64_t)st.st_dev);
		assert_int_equal(at_ino, (uint64_t)st.st_ino);
		assert_int_equal(at_offset, 1030);
	}
	rd_filesrc_release(&fs);
	assert_int_equal(unlink(path), 0);
}

static void plain_line(void *arg, const struct rd_filesrc_line *ln)
{
	(void)arg;
	add_rec("plain @%llu %.*s%s", (unsigned long long)ln->offset, (int)ln->len, ln->text,
	        ln->copy != NULL ? " (copy)" : "");
}

/* Without ops.chunk the cursor goes to the core as it is; no copy unless
 * asked for. */
static void test_plain_checkpoint(void **state)
{
	static const struct rd_filesrc_ops ops = {.line = plain_line};
	const char *const want[] = {"plain @0 abc", "plain @4 de"};
	struct rd_filesrc fs;
	char path[64];

	(void)state;
	write_tmp(path, sizeof(path), "abc\nde\n");
	rd_filesrc_init(&fs, &coll, &ops, NULL, RD_FILESRC_SAY_LIMITS);
	assert_int_equal(rd_filesrc_start(&fs, NULL, NULL, NULL, 1), -1); /* no path */
	run_once(&fs, path);
	expect_recs(want, 2);
	assert_int_equal(last_cursor.offset, 7);
	assert_int_equal(ndone, 1);
	rd_filesrc_release(&fs);
	assert_int_equal(unlink(path), 0);
}

/* The tail's notices carry no level: failures become warnings. */
static void test_notices(void **state)
{
	static const struct rd_filesrc_ops ops = {.line = plain_line};
	struct rd_filesrc fs;
	char file[64], path[80];

	(void)state;
	write_tmp(file, sizeof(file), "");
	rd_filesrc_init(&fs, &coll, &ops, NULL, RD_FILESRC_SAY_LIMITS);
	snprintf(path, sizeof(path), "%s.none", file);
	run_once(&fs, path); /* not there yet */
	assert_non_null(strstr(last_log, "waiting for"));
	assert_int_equal(last_level, RD_LOG_INFO);
	snprintf(path, sizeof(path), "%s/x", file);
	run_once(&fs, path); /* a file where a directory should be */
	assert_non_null(strstr(last_log, "cannot open"));
	assert_int_equal(last_level, RD_LOG_WARN);
	assert_int_equal(ndone, 2);
	rd_filesrc_release(&fs);
	assert_int_equal(unlink(file), 0);
}

/* --- the queuelog collector ------------------------------------------------ */

static int ql_conf(void *q, const char *key, const char *value, char *err)
{
	return rd_queuelog_type.configure(q, key, value, err, 256);
}

static void test_queuelog_config(void **state)
{
	void *q = rd_queuelog_type.create(&coll);
	char err[256];

	(void)state;
	assert_non_null(q);
	assert_int_equal(rd_queuelog_type.check(q, err, sizeof(err)), -1);
	assert_string_equal(err, "a queuelog collector needs a path");
	assert_int_equal(ql_conf(q, "colour", "blue", err), -1);
	assert_string_equal(err, "unknown key 'colour' for a queuelog collector");
	assert_int_equal(ql_conf(q, "max_line", "10", err), -1);
	assert_string_equal(err, "max_line must be between 1k and 64M, not '10'");
	assert_int_equal(ql_conf(q, "stat_interval", "1ms", err), -1);
	assert_string_equal(err, "stat_interval must be between 100ms and 1h, not '1ms'");
	assert_int_equal(ql_conf(q, "ivr_events", "IVRDONE, ABANDON", err), -1);
	assert_string_equal(err,
	                    "ivr_events: 'ABANDON' is a standard queue_log event, not an IVR one");
	assert_int_equal(ql_conf(q, "ivr_events", " IVRDONE,, IVRHANGUP ", err), 0);
	assert_int_equal(ql_conf(q, "path", "/var/log/asterisk/queue_log", err), 0);
	assert_int_equal(rd_queuelog_type.check(q, err, sizeof(err)), 0);
	assert_string_equal(rd_queuelog_type.source(q), "/var/log/asterisk/queue_log");
	rd_queuelog_type.destroy(q);
}

static void test_queuelog_lines(void **state)
{
	const char *const want[] = {
	    "accepted",           "call 1 c1 support", /* ENTERQUEUE */
	    "accepted",                                /* PAUSE: no call event */
	    "unknown @85 MYVERB", "reject @120 x: fewer than 5 fields",
	    "accepted",           "call 8 c1 support", /* the IVR verb */
	};
	char path[64], err[256];
	void *q = rd_queuelog_type.create(&coll);
	struct event_base *base = event_base_new();

	(void)state;
	write_tmp(path, sizeof(path),
	          "1759217554|c1|support|NONE|ENTERQUEUE||0601|1\n"
	          "1759217555|NONE|support|Agent/1|PAUSE|\n"
	          "1759217556|c1|support|NONE|MYVERB|\n"
	          "x\n"
	          "1759217557|c1|support|NONE|IVRDONE|\n");
	assert_int_equal(ql_conf(q, "path", path, err), 0);
	assert_int_equal(ql_conf(q, "ivr_events", "IVRDONE", err), 0);
	assert_int_equal(rd_queuelog_type.start(q, base, NULL, 1), 0);
	assert_true(event_base_dispatch(base) >= 0);
	rd_queuelog_type.stop(q);
	expect_recs(want, 7);
	assert_int_equal(ndone, 1);
	assert_int_equal(last_cursor.offset, 158);
	rd_queuelog_type.destroy(q);
	event_base_free(base);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_keys, teardown),
	    cmocka_unit_test_teardown(test_list_helpers, teardown),
	    cmocka_unit_test_teardown(test_tail_wiring, teardown),
	    cmocka_unit_test_teardown(test_plain_checkpoint, teardown),
	    cmocka_unit_test_teardown(test_notices, teardown),
	    cmocka_unit_test_teardown(test_queuelog_config, teardown),
	    cmocka_unit_test_teardown(test_queuelog_lines, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
