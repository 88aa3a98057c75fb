/* test_tail.c - rd_tail against real files in a temporary directory, driven
 * by a real event_base: lines, partial lines, long lines, rotation,
 * truncation, late creation, resuming from a cursor, once mode, pause. */
#include <dirent.h>
#include <errno.h>
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

#include "tail.h"

#define MAX_NOTICES 32

struct got_line {
	char *text;
	size_t len;
	uint64_t off;
	int too_long;
};

struct h {
	struct event_base *base;
	char dir[64];
	char path[128];
	struct rd_tail *t;
	struct rd_tail_options opt;

	struct got_line *lines;
	size_t nlines, cap;
	struct rd_cursor cur;
	int nchunks;
	uint64_t max_step; /* largest cursor advance between two chunk callbacks */
	int at_end;
	char *notices[MAX_NOTICES];
	int nnotices;

	size_t pause_at_line; /* pause from the line callback when reached (0: never) */
	int pause_from_chunk; /* chunk callback returns 1 */
	int free_in_line;     /* rd_tail_free from the line callback */
};

/* --- callbacks ------------------------------------------------------------ */

static void on_line(void *arg, const char *line, size_t len, uint64_t off, int too_long)
{
	struct h *h = arg;
	struct got_line *g;

	if (h->nlines == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->lines = realloc(h->lines, h->cap * sizeof(*h->lines));
		assert_non_null(h->lines);
	}
	g = &h->lines[h->nlines++];
	g->text = malloc(len + 1);
	assert_non_null(g->text);
	memcpy(g->text, line, len);
	g->text[len] = '\0';
	g->len = len;
	g->off = off;
	g->too_long = too_long;
	if (h->pause_at_line != 0 && h->nlines == h->pause_at_line)
		rd_tail_pause(h->t);
	if (h->free_in_line) {
		rd_tail_free(h->t);
		h->t = NULL;
		h->free_in_line = 0;
	}
}

static int on_chunk(void *arg, const struct rd_cursor *c)
{
	struct h *h = arg;

	if (c->ino == h->cur.ino && c->offset > h->cur.offset &&
	    c->offset - h->cur.offset > h->max_step)
		h->max_step = c->offset - h->cur.offset;
	h->cur = *c;
	h->nchunks++;
	return h->pause_from_chunk;
}

static void on_end(void *arg)
{
	struct h *h = arg;

	h->at_end++;
}

static void on_notice(void *arg, const char *what)
{
	struct h *h = arg;

	if (h->nnotices < MAX_NOTICES)
		h->notices[h->nnotices++] = strdup(what);
}

static const struct rd_tail_callbacks cbs = {on_line, on_chunk, on_end, on_notice};

/* --- files ---------------------------------------------------------------- */

static void put(const char *path, const char *mode, const char *data, size_t len)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_s(const char *path, const char *mode, const char *data)
{
	put(path, mode, data, strlen(data));
}

static void sibling(const struct h *h, const char *suffix, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", h->path, suffix);

	assert_true(n > 0 && (size_t)n < outlen);
}

static void copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(fclose(in), 0);
	assert_int_equal(fclose(out), 0);
}

static struct stat stat_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st;
}

/* The cursor a caller would have saved after the first `offset` bytes. */
static struct rd_cursor cursor_at(const char *path, uint64_t offset)
{
	struct stat st = stat_of(path);
	struct rd_cursor c = {.dev = (uint64_t)st.st_dev,
	                      .ino = (uint64_t)st.st_ino,
	                      .offset = offset,
	                      .size = (uint64_t)st.st_size};
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	c.fingerprint =
	    rd_tail_fingerprint(fd, offset < RD_TAIL_FP_BYTES ? offset : RD_TAIL_FP_BYTES);
	close(fd);
	return c;
}

/* --- loop driving ----------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef int (*cond_fn)(const struct h *h, size_t arg);

static int have_lines(const struct h *h, size_t n)
{
	return h->nlines >= n;
}

static int have_end(const struct h *h, size_t n)
{
	(void)n;
	return h->at_end > 0;
}

static int cursor_on_ino(const struct h *h, size_t ino)
{
	return h->cur.ino == (uint64_t)ino;
}

static int poll_until(struct h *h, cond_fn cond, size_t arg, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (!cond(h, arg)) {
		if (now_ms() > deadline)
			return 0;
		assert_true(event_base_loop(h->base, EVLOOP_NONBLOCK) >= 0);
	}
	return 1;
}

static void wait_lines(struct h *h, size_t n)
{
	if (!poll_until(h, have_lines, n, 5000))
		fail_msg("timed out with %zu of %zu lines", h->nlines, n);
}

/* Run the loop for a while to show that nothing more arrives. */
static void settle(struct h *h, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end)
		assert_true(event_base_loop(h->base, EVLOOP_NONBLOCK) >= 0);
}

static void expect_line(const struct h *h, size_t i, const char *text, uint64_t off)
{
	if (i >= h->nlines)
		fail_msg("line %zu missing (have %zu)", i, h->nlines);
	assert_string_equal(h->lines[i].text, text);
	assert_int_equal(h->lines[i].len, strlen(text));
	assert_int_equal(h->lines[i].off, off);
	assert_int_equal(h->lines[i].too_long, 0);
}

static int has_notice(const struct h *h, const char *needle)
{
	for (int i = 0; i < h->nnotices; i++)
		if (strstr(h->notices[i], needle) != NULL)
			return 1;
	return 0;
}

static int count_notices(const struct h *h, const char *needle)
{
	int n = 0;

	for (int i = 0; i < h->nnotices; i++)
		if (strstr(h->notices[i], needle) != NULL)
			n++;
	return n;
}

static void start(struct h *h, const struct rd_cursor *resume)
{
	h->t = rd_tail_new(h->base, h->path, &h->opt, &cbs, h);
	assert_non_null(h->t);
	assert_int_equal(rd_tail_start(h->t, resume), 0);
}

/* --- fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	struct h *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	strcpy(h->dir, "/tmp/test_tail.XXXXXX");
	if (mkdtemp(h->dir) == NULL)
		return -1;
	snprintf(h->path, sizeof(h->path), "%s/queue_log", h->dir);
	h->base = event_base_new();
	if (h->base == NULL)
		return -1;
	/* inotify must do the work; the timer is slow unless a test needs it */
	h->opt.stat_interval_ms = 60000;
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct h *h = *state;
	DIR *d = opendir(h->dir);
	struct dirent *de;

	rd_tail_free(h->t);
	event_base_free(h->base);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	rmdir(h->dir);
	for (size_t i = 0; i < h->nlines; i++)
		free(h->lines[i].text);
	free(h->lines);
	for (int i = 0; i < h->nnotices; i++)
		free(h->notices[i]);
	free(h);
	return 0;
}

/* --- tests ------------------------------------------------------------------ */

static void test_basic_lines(void **state)
{
	struct h *h = *state;
	struct stat st;
	int fd;

	put_s(h->path, "w", "a\nbb\r\nccc\n");
	start(h, NULL);
	wait_lines(h, 3);
	expect_line(h, 0, "a", 0);
	expect_line(h, 1, "bb", 2); /* "\r\n": the \r goes too */
	expect_line(h, 2, "ccc", 6);
	st = stat_of(h->path);
	assert_int_equal(h->cur.dev, (uint64_t)st.st_dev);
	assert_int_equal(h->cur.ino, (uint64_t)st.st_ino);
	assert_int_equal(h->cur.offset, 10);
	assert_int_equal(h->cur.size, 10);
	fd = open(h->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(h->cur.fingerprint, rd_tail_fingerprint(fd, 10));
	close(fd);

	/* appended lines arrive through inotify (the timer is at 60 s) */
	put_s(h->path, "a", "dddd\n");
	wait_lines(h, 4);
	expect_line(h, 3, "dddd", 10);
	assert_int_equal(h->cur.offset, 15);
	fd = open(h->path, O_RDONLY);
	assert_int_equal(h->cur.fingerprint, rd_tail_fingerprint(fd, 15));
	close(fd);
	settle(h, 100);
	assert_int_equal(h->nlines, 4);
	assert_int_equal(h->at_end, 0);
}

static void test_nul_and_binary_delivered(void **state)
{
	struct h *h = *state;
	static const char data[] = "a\0b\n\xff\xfe\n\r\n";

	put(h->path, "w", data, sizeof(data) - 1);
	start(h, NULL);
	wait_lines(h, 3);
	assert_int_equal(h->lines[0].len, 3);
	assert_memory_equal(h->lines[0].text, "a\0b", 3);
	assert_int_equal(h->lines[1].len, 2);
	assert_memory_equal(h->lines[1].text, "\xff\xfe", 2);
	assert_int_equal(h->lines[1].off, 4);
	assert_int_equal(h->lines[2].len, 0); /* "\r\n" alone is an empty line */
	assert_int_equal(h->lines[2].off, 7);
}

static void test_partial_line(void **state)
{
	struct h *h = *state;

	put_s(h->path, "w", "first\nsec");
	start(h, NULL);
	wait_lines(h, 1);
	settle(h, 100);
	assert_int_equal(h->nlines, 1);
	assert_int_equal(h->cur.offset, 6); /* not past the partial line */
	put_s(h->path, "a", "ond");
	settle(h, 100);
	assert_int_equal(h->nlines, 1);
	put_s(h->path, "a", "\nthird\n");
	wait_lines(h, 3);
	expect_line(h, 1, "second", 6);
	expect_line(h, 2, "third", 13);
	assert_int_equal(h->cur.offset, 19);
}

static void test_long_line(void **state)
{
	struct h *h = *state;
	char big[200];

	/* chunks smaller than the line: the skipping spans several reads */
	h->opt.max_line = 16;
	h->opt.chunk_bytes = 8;
	memset(big, 'x', 100);
	memcpy(big, "0123456789abcdefTAIL", 20);
	big[100] = '\0';
	put_s(h->path, "w", "short\n");
	put_s(h->path, "a", big);
	put_s(h->path, "a", "\nexactly-16-bytes\nafter\n");
	start(h, NULL);
	wait_lines(h, 4);
	expect_line(h, 0, "short", 0);
	assert_int_equal(h->lines[1].too_long, 1);
	assert_int_equal(h->lines[1].len, 16);
	assert_memory_equal(h->lines[1].text, "0123456789abcdef", 16);
	assert_int_equal(h->lines[1].off, 6);
	expect_line(h, 2, "exactly-16-bytes", 107); /* max_line itself is fine */
	expect_line(h, 3, "after", 124);
	assert_int_equal(h->cur.offset, 130);
	settle(h, 50);
	assert_int_equal(h->nlines, 4);
}

static void test_long_line_in_one_chunk(void **state)
{
	struct h *h = *state;
	char big[300];

	h->opt.max_line = 32;
	memset(big, 'y', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	put_s(h->path, "w", big);
	start(h, NULL);
	/* the long line is not delivered until its newline arrives */
	settle(h, 100);
	assert_int_equal(h->nlines, 0);
	assert_int_equal(h->cur.offset, 0);
	put_s(h->path, "a", "\nok\n");
	wait_lines(h, 2);
	assert_int_equal(h->lines[0].too_long, 1);
	assert_int_equal(h->lines[0].len, 32);
	assert_int_equal(h->lines[0].off, 0);
	expect_line(h, 1, "ok", 300);
	assert_int_equal(h->cur.offset, 303);
}

static void test_huge_line_default_limit(void **state)
{
	struct h *h = *state;
	size_t big = 3u << 20; /* 3 MiB, default max_line is 1 MiB */
	char *data = malloc(big + 16);

	assert_non_null(data);
	memset(data, 'L', big);
	memcpy(data + big, "\nnext\n", 6);
	put(h->path, "w", data, big + 6);
	free(data);
	start(h, NULL);
	wait_lines(h, 2);
	assert_int_equal(h->lines[0].too_long, 1);
	assert_int_equal(h->lines[0].len, (size_t)1 << 20);
	assert_int_equal(h->lines[0].off, 0);
	expect_line(h, 1, "next", big + 1);
	assert_int_equal(h->cur.offset, big + 6);
}

static void test_rotation_rename_create(void **state)
{
	struct h *h = *state;
	char old[160];
	struct stat st_new;

	sibling(h, ".1", old, sizeof(old));
	put_s(h->path, "w", "1\n2\n");
	start(h, NULL);
	wait_lines(h, 2);
	/* while the loop is not running: a line lands in the old file, the
	 * file is renamed, a new one is created with data */
	put_s(h->path, "a", "3\n");
	assert_int_equal(rename(h->path, old), 0);
	put_s(h->path, "w", "4\n5\n");
	wait_lines(h, 5);
	expect_line(h, 2, "3", 4); /* old file drained first */
	expect_line(h, 3, "4", 0);
	expect_line(h, 4, "5", 2);
	st_new = stat_of(h->path);
	assert_int_equal(h->cur.ino, (uint64_t)st_new.st_ino);
	assert_int_equal(h->cur.offset, 4);
	assert_true(has_notice(h, "rotated"));
	settle(h, 100);
	assert_int_equal(h->nlines, 5);
}

static void test_rotation_writer_late(void **state)
{
	struct h *h = *state;
	char old[160];

	/* Asterisk keeps writing the renamed file until it reopens its log:
	 * the old file is followed until the new one gets data. */
	sibling(h, "-20260101", old, sizeof(old));
	put_s(h->path, "w", "1\n");
	start(h, NULL);
	wait_lines(h, 1);
	assert_int_equal(rename(h->path, old), 0);
	put_s(h->path, "w", "");
	settle(h, 50);
	put_s(old, "a", "2\n");
	wait_lines(h, 2);
	expect_line(h, 1, "2", 2);
	put_s(h->path, "a", "3\n");
	wait_lines(h, 3);
	expect_line(h, 2, "3", 0);
	assert_int_equal(h->cur.ino, (uint64_t)stat_of(h->path).st_ino);
	settle(h, 50);
	assert_int_equal(h->nlines, 3);
}

static void test_rotation_empty_new_file_grace(void **state)
{
	struct h *h = *state;
	char old[160];

	/* the new file stays empty: after stat_interval the tail moves to it
	 * anyway, so its cursor names the live file */
	h->opt.stat_interval_ms = 100;
	sibling(h, ".1", old, sizeof(old));
	put_s(h->path, "w", "1\n");
	start(h, NULL);
	wait_lines(h, 1);
	assert_int_equal(rename(h->path, old), 0);
	put_s(h->path, "w", "");
	if (!poll_until(h, cursor_on_ino, (size_t)stat_of(h->path).st_ino, 5000))
		fail_msg("the tail did not move to the new, empty file");
	assert_int_equal(h->cur.offset, 0);
	put_s(h->path, "a", "2\n");
	wait_lines(h, 2);
	expect_line(h, 1, "2", 0);
}

static void test_copytruncate(void **state)
{
	struct h *h = *state;
	char copy[160];
	const char *head = "1759217554|first-line-long-enough-to-fingerprint|q|NONE|X|\n";
	size_t hl = strlen(head);

	sibling(h, ".1", copy, sizeof(copy));
	put_s(h->path, "w", head);
	start(h, NULL);
	wait_lines(h, 1);
	/* a line lands, logrotate copies then truncates, the writer goes on */
	put_s(h->path, "a", "unread\n");
	copy_file(h->path, copy);
	assert_int_equal(truncate(h->path, 0), 0);
	put_s(h->path, "a", "new\n");
	wait_lines(h, 3);
	expect_line(h, 1, "unread", hl); /* finished from the copy */
	expect_line(h, 2, "new", 0);
	assert_int_equal(h->cur.ino, (uint64_t)stat_of(h->path).st_ino);
	assert_int_equal(h->cur.offset, 4);
	assert_true(has_notice(h, "truncated"));
	settle(h, 100);
	assert_int_equal(h->nlines, 3);
}

static void test_truncation_without_copy(void **state)
{
	struct h *h = *state;

	put_s(h->path, "w", "aaaa\nbbbb\n");
	start(h, NULL);
	wait_lines(h, 2);
	put_s(h->path, "w", "c\n");
	wait_lines(h, 3);
	expect_line(h, 2, "c", 0);
	assert_int_equal(h->cur.offset, 2);
	assert_true(has_notice(h, "truncated"));
	assert_true(has_notice(h, "lost"));
}

static void test_truncation_regrown(void **state)
{
	struct h *h = *state;

	/* truncated and rewritten past the old offset before the tail looked:
	 * the changed first bytes give it away */
	put_s(h->path, "w", "old1\nold2\n");
	start(h, NULL);
	wait_lines(h, 2);
	rd_tail_pause(h->t);
	put_s(h->path, "w", "NEW1\nNEW2\nNEW3\n");
	rd_tail_resume(h->t);
	wait_lines(h, 5);
	expect_line(h, 2, "NEW1", 0);
	expect_line(h, 3, "NEW2", 5);
	expect_line(h, 4, "NEW3", 10);
	assert_int_equal(h->cur.offset, 15);
}

static void test_file_created_later(void **state)
{
	struct h *h = *state;

	h->opt.stat_interval_ms = 30;
	start(h, NULL);
	settle(h, 200); /* several stat ticks: still one notice */
	assert_int_equal(h->nlines, 0);
	assert_int_equal(count_notices(h, "waiting for"), 1);
	put_s(h->path, "w", "hello\n");
	wait_lines(h, 1);
	expect_line(h, 0, "hello", 0);
	assert_true(has_notice(h, "appeared"));
}

static void test_missing_directory_then_created(void **state)
{
	struct h *h = *state;
	char sub[96];

	/* the directory itself appears later: only the stat timer sees it */
	h->opt.stat_interval_ms = 30;
	snprintf(sub, sizeof(sub), "%s/sub", h->dir);
	snprintf(h->path, sizeof(h->path), "%s/queue_log", sub);
	start(h, NULL);
	settle(h, 100);
	assert_int_equal(mkdir(sub, 0700), 0);
	put_s(h->path, "w", "x\n");
	wait_lines(h, 1);
	expect_line(h, 0, "x", 0);
	unlink(h->path);
	rmdir(sub);
}

static void test_resume_same_file(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;

	put_s(h->path, "w", "one\ntwo\nthree\n");
	c = cursor_at(h->path, 4);
	start(h, &c);
	wait_lines(h, 2);
	expect_line(h, 0, "two", 4);
	expect_line(h, 1, "three", 8);
	settle(h, 50);
	assert_int_equal(h->nlines, 2);
	assert_int_equal(h->nnotices, 0);
}

static void test_resume_device_renumbered(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;

	/* after a reboot the device number may differ: inode + content agree */
	put_s(h->path, "w", "one\ntwo\n");
	c = cursor_at(h->path, 4);
	c.dev += 1;
	start(h, &c);
	wait_lines(h, 1);
	expect_line(h, 0, "two", 4);
	settle(h, 50);
	assert_int_equal(h->nlines, 1);
	assert_int_equal(h->nnotices, 0);
}

static void test_resume_device_renumbered_no_fingerprint(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;

	/* without a fingerprint, another device means another file */
	put_s(h->path, "w", "one\ntwo\n");
	c = cursor_at(h->path, 4);
	c.dev += 1;
	c.fingerprint = 0;
	start(h, &c);
	wait_lines(h, 2);
	expect_line(h, 0, "one", 0);
	assert_true(has_notice(h, "data may have been lost"));
}

static void test_resume_fingerprint_mismatch(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;

	put_s(h->path, "w", "one\ntwo\nthree\n");
	c = cursor_at(h->path, 4);
	c.fingerprint ^= 1; /* same inode, other content */
	start(h, &c);
	wait_lines(h, 3);
	expect_line(h, 0, "one", 0);
	assert_true(has_notice(h, "lost"));
}

static void test_resume_truncated_while_stopped(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;

	put_s(h->path, "w", "one\ntwo\nthree\n");
	c = cursor_at(h->path, 8);
	assert_int_equal(truncate(h->path, 0), 0);
	put_s(h->path, "a", "x\n");
	start(h, &c);
	wait_lines(h, 1);
	expect_line(h, 0, "x", 0);
	assert_true(has_notice(h, "truncated"));
}

static void test_resume_rotated_while_stopped(void **state)
{
	struct h *h = *state;
	char old[160], gz[160];
	struct rd_cursor c;

	sibling(h, ".1", old, sizeof(old));
	sibling(h, ".2.gz", gz, sizeof(gz));
	put_s(h->path, "w", "1\n2\n");
	c = cursor_at(h->path, 2);
	put_s(h->path, "a", "3\n");
	assert_int_equal(rename(h->path, old), 0);
	put_s(gz, "w", "not text\n");
	put_s(h->path, "w", "4\n");
	start(h, &c);
	wait_lines(h, 3);
	expect_line(h, 0, "2", 2);
	expect_line(h, 1, "3", 4);
	expect_line(h, 2, "4", 0);
	assert_true(has_notice(h, "resuming in the rotated file"));
	assert_int_equal(h->cur.ino, (uint64_t)stat_of(h->path).st_ino);
	settle(h, 50);
	assert_int_equal(h->nlines, 3);
}

static void test_resume_rotated_file_gone(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;
	char gz[160];

	/* the saved file was compressed (same inode, renamed to .gz here):
	 * not readable, so not a candidate */
	sibling(h, ".1.gz", gz, sizeof(gz));
	put_s(h->path, "w", "1\n2\n");
	c = cursor_at(h->path, 2);
	assert_int_equal(rename(h->path, gz), 0);
	put_s(h->path, "w", "new\n");
	start(h, &c);
	wait_lines(h, 1);
	expect_line(h, 0, "new", 0);
	assert_true(has_notice(h, "data may have been lost"));
	settle(h, 50);
	assert_int_equal(h->nlines, 1);
}

static void test_resume_copytruncate_while_stopped(void **state)
{
	struct h *h = *state;
	struct rd_cursor c;
	char copy[160];
	const char *head = "1759217554|first-line-long-enough-to-fingerprint|q|NONE|X|\n";

	sibling(h, ".1", copy, sizeof(copy));
	put_s(h->path, "w", head);
	c = cursor_at(h->path, strlen(head));
	put_s(h->path, "a", "late\n");
	copy_file(h->path, copy);
	assert_int_equal(truncate(h->path, 0), 0);
	put_s(h->path, "a", "new\n");
	start(h, &c);
	wait_lines(h, 2);
	expect_line(h, 0, "late", strlen(head));
	expect_line(h, 1, "new", 0);
}

static void test_once_mode(void **state)
{
	struct h *h = *state;

	h->opt.once = 1;
	put_s(h->path, "w", "a\nb\npartial");
	start(h, NULL);
	if (!poll_until(h, have_end, 0, 5000))
		fail_msg("at_end not called");
	assert_int_equal(h->nlines, 2);
	assert_int_equal(h->at_end, 1);
	assert_int_equal(h->cur.offset, 4);
	/* no longer watching */
	put_s(h->path, "a", "\nc\n");
	settle(h, 100);
	assert_int_equal(h->nlines, 2);
	assert_int_equal(h->at_end, 1);
}

static void test_once_mode_resume_rotated(void **state)
{
	struct h *h = *state;
	char old[160];
	struct rd_cursor c;

	h->opt.once = 1;
	sibling(h, ".1", old, sizeof(old));
	put_s(h->path, "w", "1\n2\n");
	c = cursor_at(h->path, 2);
	assert_int_equal(rename(h->path, old), 0);
	put_s(h->path, "w", "3\n");
	start(h, &c);
	if (!poll_until(h, have_end, 0, 5000))
		fail_msg("at_end not called");
	assert_int_equal(h->nlines, 2);
	expect_line(h, 0, "2", 2);
	expect_line(h, 1, "3", 0);
	assert_int_equal(h->at_end, 1);
}

static void test_once_mode_missing_file(void **state)
{
	struct h *h = *state;

	h->opt.once = 1;
	start(h, NULL);
	if (!poll_until(h, have_end, 0, 5000))
		fail_msg("at_end not called");
	assert_int_equal(h->nlines, 0);
}

static void test_bounded_chunks(void **state)
{
	struct h *h = *state;
	char line[16];

	h->opt.chunk_bytes = 64;
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line%04d\n", i); /* 9 bytes */
		put_s(h->path, i == 0 ? "w" : "a", line);
	}
	start(h, NULL);
	wait_lines(h, 100);
	/* one chunk per step: the cursor never moves by more than a chunk and
	 * the unfinished line carried over from the previous one */
	assert_true(h->max_step > 0);
	assert_true(h->max_step <= 64 + 8);
	assert_true(h->nchunks >= 900 / 64);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line%04d", i);
		expect_line(h, (size_t)i, line, (uint64_t)i * 9);
	}
	assert_int_equal(h->cur.offset, 900);
}

static void test_pause_from_chunk_and_line(void **state)
{
	struct h *h = *state;

	h->opt.chunk_bytes = 4;
	h->pause_from_chunk = 1;
	put_s(h->path, "w", "a\nb\nc\nd\ne\n");
	start(h, NULL);
	wait_lines(h, 2);
	settle(h, 50);
	assert_int_equal(h->nlines, 2); /* paused after the first chunk */
	assert_int_equal(h->cur.offset, 4);
	h->pause_from_chunk = 0;
	h->pause_at_line = 3;
	rd_tail_resume(h->t);
	wait_lines(h, 3);
	settle(h, 50);
	assert_int_equal(h->nlines, 3); /* paused from inside the line callback */
	assert_int_equal(h->cur.offset, 6);
	rd_tail_resume(h->t);
	wait_lines(h, 5);
	expect_line(h, 3, "d", 6);
	expect_line(h, 4, "e", 8);
	assert_int_equal(h->cur.offset, 10);
}

static void test_free_from_callback(void **state)
{
	struct h *h = *state;

	put_s(h->path, "w", "a\nb\nc\n");
	h->free_in_line = 1;
	start(h, NULL);
	wait_lines(h, 1);
	settle(h, 50);
	assert_null(h->t);
	assert_int_equal(h->nlines, 1);
}

static void test_fingerprint(void **state)
{
	struct h *h = *state;
	char data[400];
	int fd;

	memset(data, 'z', sizeof(data));
	put(h->path, "w", data, sizeof(data));
	fd = open(h->path, O_RDONLY);
	assert_true(fd >= 0);
	/* only the first 256 bytes count */
	assert_int_equal(rd_tail_fingerprint(fd, 300), rd_tail_fingerprint(fd, 256));
	assert_true(rd_tail_fingerprint(fd, 255) != rd_tail_fingerprint(fd, 256));
	assert_true(rd_tail_fingerprint(fd, 10) != 0);
	close(fd);
	put_s(h->path, "w", "short");
	fd = open(h->path, O_RDONLY);
	assert_int_equal(rd_tail_fingerprint(fd, 10), 0); /* fewer bytes readable */
	assert_true(rd_tail_fingerprint(fd, 5) != 0);
	close(fd);
}

static void test_bad_arguments(void **state)
{
	struct h *h = *state;
	struct rd_tail_callbacks none = {0};

	assert_null(rd_tail_new(h->base, "/tmp/dir/", &h->opt, &cbs, h));
	assert_null(rd_tail_new(h->base, "", &h->opt, &cbs, h));
	assert_null(rd_tail_new(h->base, h->path, &h->opt, &none, h));
	assert_null(rd_tail_new(NULL, h->path, &h->opt, &cbs, h));
	h->t = rd_tail_new(h->base, h->path, NULL, &cbs, h);
	assert_non_null(h->t);
	assert_int_equal(rd_tail_start(h->t, NULL), 0);
	assert_int_equal(rd_tail_start(h->t, NULL), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_basic_lines),
	    T(test_nul_and_binary_delivered),
	    T(test_partial_line),
	    T(test_long_line),
	    T(test_long_line_in_one_chunk),
	    T(test_huge_line_default_limit),
	    T(test_rotation_rename_create),
	    T(test_rotation_writer_late),
	    T(test_rotation_empty_new_file_grace),
	    T(test_copytruncate),
	    T(test_truncation_without_copy),
	    T(test_truncation_regrown),
	    T(test_file_created_later),
	    T(test_missing_directory_then_created),
	    T(test_resume_same_file),
	    T(test_resume_device_renumbered),
	    T(test_resume_device_renumbered_no_fingerprint),
	    T(test_resume_fingerprint_mismatch),
	    T(test_resume_truncated_while_stopped),
	    T(test_resume_rotated_while_stopped),
	    T(test_resume_rotated_file_gone),
	    T(test_resume_copytruncate_while_stopped),
	    T(test_once_mode),
	    T(test_once_mode_resume_rotated),
	    T(test_once_mode_missing_file),
	    T(test_bounded_chunks),
	    T(test_pause_from_chunk_and_line),
	    T(test_free_from_callback),
	    T(test_fingerprint),
	    T(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
