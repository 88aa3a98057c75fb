/* tail.c - see tail.h.
 *
 * State: one open file (fd) read with pread() at pos; buf holds the bytes of
 * the unfinished line, which starts at line_off (the cursor offset). A line
 * longer than max_line keeps only its first max_line bytes in buf; the
 * bytes beyond are counted in skipped and dropped, so buf never exceeds
 * max_line + chunk_bytes.
 *
 * "detached" means fd is not (or no longer) the file at path: a rotated
 * file being drained, or the copy left by copytruncate. At its EOF the tail
 * switches to the file at path, read from 0.
 *
 * Every user callback runs inside tail_work() or rd_tail_start(), which hold
 * t->busy: rd_tail_free() called from a callback only marks the tail dead,
 * and the outermost frame frees it once the callback has returned. */
#include "tail.h"

#include "fnv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define TAIL_DEF_MAX_LINE ((size_t)1 << 20)
#define TAIL_DEF_CHUNK    ((size_t)256 << 10)
#define TAIL_DEF_STAT_MS  5000
#define TAIL_MIN_BUF      ((size_t)4096)
/* A copy (copytruncate) is recognised by content only over at least this
 * many leading bytes: fewer would match unrelated files too easily. */
#define TAIL_FP_MIN_MATCH 32
#define TAIL_WATCH_MASK                                                                            \
	(IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE |        \
	 IN_ATTRIB)

struct rd_tail {
	struct event_base *base;
	char *path;
	char *dir;  /* directory of path, for inotify and the rotated-file search */
	char *name; /* base name of path */
	struct rd_tail_options opt;
	struct rd_tail_callbacks cb;
	void *arg;

	int ifd; /* inotify, -1 when unavailable (the stat timer still runs) */
	int wd;  /* watch on dir, -1 until the directory exists */
	struct event *inotify_ev;
	struct event *stat_ev;
	struct event *work_ev; /* 0-timeout: one chunk per loop iteration */

	int fd; /* the file being read, -1 while waiting for path */
	uint64_t dev, ino;
	int detached;
	int64_t idle_since_ms; /* detached and at EOF with no growth since (0: not) */
	uint64_t pos;          /* next byte to read */
	uint64_t line_off;     /* start of the unfinished line */
	uint64_t fp;           /* fingerprint of the first fp_len bytes (0: unknown) */
	uint64_t fp_len;

	char *buf;
	size_t len;     /* bytes of the unfinished line(s) in buf */
	size_t scan;    /* buf[0, scan) holds no '\n' not yet delivered */
	size_t cap;     /* allocated */
	size_t cap_max; /* max_line + chunk_bytes */
	uint64_t skipped;

	int started, paused, ended, dead, busy;
	int dirty;         /* cursor changed since the last chunk callback */
	int missing_noted; /* "waiting for path" was reported */
	int open_errno;    /* last open error reported, to report each once */
	int read_errno;
};

/* --- small helpers ------------------------------------------------------ */

static int64_t tail_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tail_running(const struct rd_tail *t)
{
	return !t->paused && !t->dead && !t->ended;
}

static void tail_notice(struct rd_tail *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tail_notice(struct rd_tail *t, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (t->cb.notice == NULL || t->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->cb.notice(t->arg, msg);
}

static void tail_schedule(struct rd_tail *t)
{
	static const struct timeval zero = {0, 0};

	if (t->started && tail_running(t) && event_add(t->work_ev, &zero) != 0)
		tail_notice(t, "cannot schedule reading %s", t->path);
}

uint64_t rd_tail_fingerprint(int fd, uint64_t len)
{
	unsigned char b[RD_TAIL_FP_BYTES] = {0};
	size_t want = len < RD_TAIL_FP_BYTES ? (size_t)len : RD_TAIL_FP_BYTES;
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, b + got, want - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return rd_fnv1a(RD_FNV_BASIS, b, want);
}

static uint64_t fp_len_for(uint64_t offset)
{
	return offset < RD_TAIL_FP_BYTES ? offset : RD_TAIL_FP_BYTES;
}

/* Open a regular file without blocking (a FIFO at path would block). */
static int open_regular_at(int dirfd, const char *name, struct stat *st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	int e;

	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0)
		e = errno;
	else if (!S_ISREG(st->st_mode))
		e = EINVAL; /* reported as "not a regular file" */
	else
		return fd;
	close(fd);
	errno = e;
	return -1;
}

/* --- the current file ----------------------------------------------------- */

static void tail_reset_buffer(struct rd_tail *t)
{
	t->len = 0;
	t->scan = 0;
	t->skipped = 0;
}

static void tail_close_file(struct rd_tail *t)
{
	if (t->fd >= 0 && close(t->fd) != 0)
		tail_notice(t, "cannot close %s: %s", t->path, strerror(errno));
	t->fd = -1;
	t->detached = 0;
	t->idle_since_ms = 0;
	tail_reset_buffer(t);
}

/* Take fd (described by st) as the file to read, from offset. */
static void tail_set_file(struct rd_tail *t, int fd, const struct stat *st, uint64_t offset,
                          int detached)
{
	tail_close_file(t);
	t->fd = fd;
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	t->detached = detached;
	t->pos = offset;
	t->line_off = offset;
	t->fp_len = fp_len_for(offset);
	t->fp = rd_tail_fingerprint(fd, t->fp_len);
	t->dirty = 1;
	t->read_errno = 0;
}

/* Open path from its start. A missing file is normal (not created yet, or
 * between rename and create): it is reported once, not at every wake-up. */
static int tail_open_path(struct rd_tail *t)
{
	struct stat st;
	int fd = open_regular_at(AT_FDCWD, t->path, &st);

	if (fd < 0) {
		if (errno == ENOENT) {
			if (!t->missing_noted)
				tail_notice(t, "waiting for %s to appear", t->path);
			t->missing_noted = 1;
		} else if (errno != t->open_errno) {
			tail_notice(t, "cannot open %s: %s", t->path,
			            errno == EINVAL ? "not a regular file" : strerror(errno));
		}
		t->open_errno = errno;
		return -1;
	}
	if (t->missing_noted)
		tail_notice(t, "%s appeared", t->path);
	t->missing_noted = 0;
	t->open_errno = 0;
	tail_set_file(t, fd, &st, 0, 0);
	return 0;
}

/* --- rotated files beside path ------------------------------------------- */

/* What a rotated sibling must look like: its identity (by_ident), or else
 * its first fp_len bytes (a copy), and at least min_size bytes. */
struct sibling_want {
	int by_ident;
	uint64_t dev, ino;
	uint64_t fp, fp_len;
	uint64_t min_size;
	uint64_t skip_ino; /* by content: never the file itself */
};

/* Compressed rotations cannot be read as text. */
static int is_compressed(const char *name)
{
	static const char *const ext[] = {".gz",   ".bz2", ".xz",  ".zst", ".lz4",
	                                  ".lzma", ".Z",   ".zip", ".lzo", ".br"};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && strcmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

static int sibling_matches(const struct sibling_want *w, int fd, const struct stat *st)
{
	if ((uint64_t)st->st_size < w->min_size)
		return 0;
	if (w->by_ident) {
		if ((uint64_t)st->st_dev != w->dev || (uint64_t)st->st_ino != w->ino)
			return 0;
		return w->fp == 0 || rd_tail_fingerprint(fd, w->fp_len) == w->fp;
	}
	if ((uint64_t)st->st_ino == w->skip_ino)
		return 0;
	return rd_tail_fingerprint(fd, w->fp_len) == w->fp;
}

/* Search the directory of path for a file named like "<name>.1" or
 * "<name>-20260101" matching w. Returns an open fd (st filled, its name in
 * found) or -1. */
static int tail_find_sibling(struct rd_tail *t, const struct sibling_want *w, struct stat *st,
                             char *found, size_t foundlen)
{
	size_t nlen = strlen(t->name);
	DIR *d = opendir(t->dir);
	struct dirent *de;
	int fd = -1;

	if (d == NULL)
		return -1;
	while (fd < 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, t->name, nlen) != 0 || de->d_name[nlen] == '\0' ||
		    is_compressed(de->d_name))
			continue;
		fd = open_regular_at(dirfd(d), de->d_name, st);
		if (fd >= 0 && !sibling_matches(w, fd, st)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0)
			snprintf(found, foundlen, "%s/%s", t->dir, de->d_name);
	}
	closedir(d);
	return fd;
}

/* Continue in the copy that copytruncate left of the file we were reading,
 * from line_off. Returns 1 if found. */
static int tail_adopt_copy(struct rd_tail *t, uint64_t fp, uint64_t fp_len, uint64_t offset,
                           uint64_t skip_ino)
{
	struct sibling_want w = {
	    .fp = fp, .fp_len = fp_len, .min_size = offset, .skip_ino = skip_ino};
	char found[PATH_MAX + 256];
	struct stat st;
	int fd;

	if (fp == 0 || fp_len < TAIL_FP_MIN_MATCH)
		return 0;
	fd = tail_find_sibling(t, &w, &st, found, sizeof(found));
	if (fd < 0)
		return 0;
	tail_set_file(t, fd, &st, offset, 1);
	tail_notice(t,
	            "%s was truncated: finishing its copy %s from offset %" PRIu64
	            ", then reading %s from its start",
	            t->path, found, offset, t->path);
	return 1;
}

/* --- truncation, rotation ------------------------------------------------- */

/* The file at fd shrank below what was read, or its first bytes changed
 * (copytruncate followed by new writes beyond our offset). */
static void tail_restart(struct rd_tail *t, uint64_t size)
{
	uint64_t was = t->line_off, ino = t->ino;

	if (t->detached) {
		/* a rotated file is not expected to change: go on with path */
		tail_close_file(t);
		t->dirty = 1;
		return;
	}
	if (tail_adopt_copy(t, t->fp, t->fp_len, was, ino))
		return;
	tail_notice(t,
	            "%s was truncated or rewritten (size %" PRIu64 ", offset %" PRIu64
	            "): reading it again from the start; lines written after offset %" PRIu64
	            " may have been lost",
	            t->path, size, was, was);
	tail_reset_buffer(t);
	t->pos = 0;
	t->line_off = 0;
	t->fp = rd_tail_fingerprint(t->fd, 0);
	t->fp_len = 0;
	t->dirty = 1;
}

static void tail_check_replaced(struct rd_tail *t)
{
	struct stat st;

	if (fstat(t->fd, &st) != 0)
		return;
	if ((uint64_t)st.st_size < t->pos)
		tail_restart(t, (uint64_t)st.st_size);
	else if (t->fp != 0 && t->fp_len > 0 && rd_tail_fingerprint(t->fd, t->fp_len) != t->fp)
		tail_restart(t, (uint64_t)st.st_size);
}

/* Leave the drained file for the one at path (read from 0). */
static void tail_switch(struct rd_tail *t)
{
	if (t->len > 0 || t->skipped > 0)
		tail_notice(t,
		            "the rotated file ended with %" PRIu64
		            " bytes without a newline: they were lost",
		            (uint64_t)t->len + t->skipped);
	tail_close_file(t);
	if (tail_open_path(t) == 0)
		tail_notice(t, "%s was rotated: reading the new file", t->path);
	t->dirty = 1;
}

static void tail_finish(struct rd_tail *t)
{
	t->ended = 1;
	if (t->stat_ev != NULL)
		event_del(t->stat_ev);
	if (t->inotify_ev != NULL)
		event_del(t->inotify_ev);
	event_del(t->work_ev);
	tail_close_file(t);
	if (t->cb.at_end != NULL)
		t->cb.at_end(t->arg);
}

/* At EOF of fd: switch if path now holds another file. A rotated file is
 * left once the writer has moved on: the new file has data, or the old one
 * has not grown for stat_interval (Asterisk writes to the renamed file until
 * it reopens its log). */
static void tail_at_eof(struct rd_tail *t)
{
	struct stat st;
	int64_t now = tail_now_ms();
	int exists = stat(t->path, &st) == 0 && S_ISREG(st.st_mode);
	int same = exists && (uint64_t)st.st_dev == t->dev && (uint64_t)st.st_ino == t->ino;

	if (exists && !same) {
		t->detached = 1;
		if (t->idle_since_ms == 0)
			t->idle_since_ms = now;
		if (t->opt.once || st.st_size > 0 ||
		    now - t->idle_since_ms >= t->opt.stat_interval_ms) {
			tail_switch(t);
			tail_schedule(t);
			return;
		}
	} else if (same) {
		t->detached = 0; /* moved back into place */
	}
	if (t->opt.once)
		tail_finish(t);
}

/* --- lines ---------------------------------------------------------------- */

/* Deliver every complete line in buf; stop early when paused or freed from
 * a callback (the rest stays in buf for the next run). */
static void tail_deliver(struct rd_tail *t)
{
	size_t start = 0, scan = t->scan;
	int stopped = 0;

	for (;;) {
		char *nl;
		size_t end, n;
		uint64_t raw, off;
		int too_long;

		if (!tail_running(t)) {
			stopped = 1;
			break;
		}
		nl = scan < t->len ? memchr(t->buf + scan, '\n', t->len - scan) : NULL;
		if (nl == NULL)
			break;
		end = (size_t)(nl - t->buf);
		raw = t->skipped + (end - start); /* line bytes before '\n' */
		off = t->line_off;
		too_long = raw > t->opt.max_line;
		n = too_long ? t->opt.max_line : end - start;
		if (!too_long && n > 0 && t->buf[start + n - 1] == '\r')
			n--;
		t->line_off += raw + 1;
		t->skipped = 0;
		t->dirty = 1;
		t->cb.line(t->arg, t->buf + start, n, off, too_long);
		start = end + 1;
		scan = start;
	}
	if (start > 0) {
		memmove(t->buf, t->buf + start, t->len - start);
		t->len -= start;
	}
	if (stopped) {
		t->scan = scan - start; /* complete lines may be left: rescan them */
		return;
	}
	t->scan = t->len;
	if (t->len > t->opt.max_line) {
		/* keep the first max_line bytes of a long line, drop the rest */
		t->skipped += t->len - t->opt.max_line;
		t->len = t->opt.max_line;
		t->scan = t->len;
	}
}

static int tail_reserve(struct rd_tail *t, size_t need)
{
	size_t cap = t->cap ? t->cap : TAIL_MIN_BUF;
	char *nb;

	if (need > t->cap_max)
		need = t->cap_max;
	if (need <= t->cap)
		return 0;
	while (cap < need)
		cap = cap > t->cap_max / 2 ? t->cap_max : cap * 2;
	nb = realloc(t->buf, cap);
	if (nb == NULL)
		return -1;
	t->buf = nb;
	t->cap = cap;
	return 0;
}

/* Read one chunk and deliver its lines. Returns the bytes read, 0 at EOF,
 * -1 on error (reported once per kind). */
static ssize_t tail_read_chunk(struct rd_tail *t)
{
	size_t want = t->opt.chunk_bytes;
	ssize_t n;

	/* on allocation failure, read into what is there */
	if (tail_reserve(t, t->len + want) != 0 && t->cap == t->len) {
		tail_notice(t, "cannot read %s: out of memory", t->path);
		return -1;
	}
	if (want > t->cap - t->len)
		want = t->cap - t->len;
	do
		n = pread(t->fd, t->buf + t->len, want, (off_t)t->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != t->read_errno)
			tail_notice(t, "cannot read %s: %s", t->path, strerror(errno));
		t->read_errno = errno;
		return -1;
	}
	t->read_errno = 0;
	if (n > 0) {
		t->len += (size_t)n;
		t->pos += (uint64_t)n;
		t->idle_since_ms = 0;
		tail_deliver(t);
	}
	return n;
}

/* Hand the cursor to the owner. Returns 1 if it asked to pause. */
static int tail_chunk_done(struct rd_tail *t)
{
	struct rd_cursor c = {0};
	struct stat st;
	uint64_t want = fp_len_for(t->line_off);

	t->dirty = 0;
	if (t->cb.chunk == NULL || t->fd < 0)
		return 0;
	if (t->fp_len != want) {
		t->fp = rd_tail_fingerprint(t->fd, want);
		t->fp_len = want;
	}
	c.dev = t->dev;
	c.ino = t->ino;
	c.offset = t->line_off;
	c.fingerprint = t->fp;
	c.size = fstat(t->fd, &st) == 0 ? (uint64_t)st.st_size : t->pos;
	if (t->cb.chunk(t->arg, &c) == 1 && !t->dead)
		rd_tail_pause(t);
	return t->paused || t->dead;
}

/* One step: at most one chunk read, then either continue on the next loop
 * iteration or, at EOF, look for rotation and wait for inotify/timer. */
static void tail_step(struct rd_tail *t)
{
	ssize_t n = 0;

	if (t->fd < 0 && tail_open_path(t) != 0) {
		if (t->opt.once)
			tail_finish(t);
		return;
	}
	tail_deliver(t); /* lines left by a pause */
	if (tail_running(t)) {
		tail_check_replaced(t);
		n = t->fd >= 0 ? tail_read_chunk(t) : 0;
	}
	if (t->dead || (t->dirty && t->fd >= 0 && tail_chunk_done(t)))
		return;
	if (!tail_running(t))
		return;
	if (t->fd < 0 || n > 0) {
		tail_schedule(t);
		return;
	}
	if (n < 0) {
		if (t->opt.once) /* no timer will retry: give up on the source */
			tail_finish(t);
		return;
	}
	tail_at_eof(t);
}

static void tail_destroy(struct rd_tail *t)
{
	if (t->inotify_ev != NULL)
		event_free(t->inotify_ev);
	if (t->stat_ev != NULL)
		event_free(t->stat_ev);
	if (t->work_ev != NULL)
		event_free(t->work_ev);
	if (t->ifd >= 0)
		close(t->ifd);
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	free(t->path);
	free(t->dir);
	free(t->name);
	free(t);
}

/* Callbacks may free the tail: it is freed only once the outermost frame
 * that runs callbacks is done. */
static void tail_enter(struct rd_tail *t)
{
	t->busy++;
}

/* Returns -1 if t was freed, 0 if it is still alive. */
static int tail_leave(struct rd_tail *t)
{
	if (--t->busy == 0 && t->dead) {
		tail_destroy(t);
		return -1;
	}
	return 0;
}

static void tail_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_tail *t = arg;

	(void)fd;
	(void)what;
	tail_enter(t);
	if (tail_running(t))
		tail_step(t);
	tail_leave(t);
}

/* --- wake-ups: inotify and the stat() fallback --------------------------- */

static void tail_add_watch(struct rd_tail *t)
{
	if (t->ifd < 0 || t->wd >= 0)
		return;
	t->wd = inotify_add_watch(t->ifd, t->dir, TAIL_WATCH_MASK);
	/* failure (directory missing) is retried by the stat timer */
}

static void tail_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_tail *t = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int wake = 0;
	ssize_t n;

	(void)what;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN: drained */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED))
				wake = 1;
			if ((ev->mask & IN_IGNORED) && ev->wd == t->wd)
				t->wd = -1; /* directory gone: the timer re-adds the watch */
			/* a detached file was renamed: any change may be its growth */
			if (t->detached || (ev->len > 0 && strcmp(ev->name, t->name) == 0))
				wake = 1;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (wake) {
		tail_enter(t); /* a failure is reported through a callback */
		tail_schedule(t);
		tail_leave(t);
	}
}

static void tail_stat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_tail *t = arg;

	(void)fd;
	(void)what;
	tail_enter(t);
	tail_add_watch(t);
	tail_schedule(t);
	tail_leave(t);
}

/* --- resuming from a cursor ------------------------------------------------ */

static int cursor_fp_ok(int fd, const struct rd_cursor *c)
{
	return c->fingerprint == 0 ||
	       rd_tail_fingerprint(fd, fp_len_for(c->offset)) == c->fingerprint;
}

/* The cursor's file is no longer at path: find it beside path, by identity,
 * then by content (a copy). Returns 1 if found and adopted. */
static int tail_adopt_rotated(struct rd_tail *t, const struct rd_cursor *c, uint64_t path_ino)
{
	struct sibling_want w = {.by_ident = 1,
	                         .dev = c->dev,
	                         .ino = c->ino,
	                         .fp = c->fingerprint,
	                         .fp_len = fp_len_for(c->offset),
	                         .min_size = c->offset};
	char found[PATH_MAX + 256];
	struct stat st;
	int fd = tail_find_sibling(t, &w, &st, found, sizeof(found));

	if (fd < 0)
		return tail_adopt_copy(t, c->fingerprint, fp_len_for(c->offset), c->offset,
		                       path_ino);
	tail_set_file(t, fd, &st, c->offset, 1);
	tail_notice(t,
	            "resuming in the rotated file %s at offset %" PRIu64
	            ", then reading %s from its start",
	            found, c->offset, t->path);
	return 1;
}

static void tail_resume_from(struct rd_tail *t, const struct rd_cursor *c)
{
	struct stat st;
	int fd = open_regular_at(AT_FDCWD, t->path, &st);
	int same_ino = fd >= 0 && (uint64_t)st.st_ino == c->ino;
	int same = same_ino && (uint64_t)st.st_dev == c->dev;

	/* A device number can change across reboots (device-mapper, btrfs):
	 * the inode plus the content of the first bytes still identify it. */
	if (same_ino && (same || c->fingerprint != 0) && (uint64_t)st.st_size >= c->offset &&
	    cursor_fp_ok(fd, c)) {
		tail_set_file(t, fd, &st, c->offset, 0);
		return;
	}
	if (tail_adopt_rotated(t, c, fd >= 0 ? (uint64_t)st.st_ino : 0)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (same)
		tail_notice(t,
		            "%s was truncated or rewritten while stopped (size %" PRIu64
		            ", saved offset %" PRIu64 "): reading it from the start; "
		            "lines after the saved offset may have been lost",
		            t->path, (uint64_t)st.st_size, c->offset);
	else
		tail_notice(t,
		            "the file of the saved position (device %" PRIu64 ", inode %" PRIu64
		            ", offset %" PRIu64 ") is no longer beside %s: reading %s from its "
		            "start; data may have been lost",
		            c->dev, c->ino, c->offset, t->path, t->path);
	if (fd >= 0)
		tail_set_file(t, fd, &st, 0, 0);
}

/* --- public API ------------------------------------------------------------ */

static int tail_split_path(struct rd_tail *t, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (path[0] == '\0' || (slash != NULL && slash[1] == '\0'))
		return -1;
	t->path = strdup(path);
	if (slash == NULL) {
		t->dir = strdup(".");
		t->name = strdup(path);
	} else {
		t->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
		t->name = strdup(slash + 1);
	}
	return t->path && t->dir && t->name ? 0 : -1;
}

struct rd_tail *rd_tail_new(struct event_base *base, const char *path,
                            const struct rd_tail_options *opts, const struct rd_tail_callbacks *cb,
                            void *arg)
{
	struct rd_tail *t;

	if (base == NULL || path == NULL || cb == NULL || cb->line == NULL)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->base = base;
	t->cb = *cb;
	t->arg = arg;
	t->ifd = t->wd = t->fd = -1;
	if (opts != NULL)
		t->opt = *opts;
	if (t->opt.max_line == 0)
		t->opt.max_line = TAIL_DEF_MAX_LINE;
	if (t->opt.chunk_bytes == 0)
		t->opt.chunk_bytes = TAIL_DEF_CHUNK;
	if (t->opt.stat_interval_ms <= 0)
		t->opt.stat_interval_ms = TAIL_DEF_STAT_MS;
	t->cap_max = t->opt.max_line + t->opt.chunk_bytes;
	t->work_ev = evtimer_new(base, tail_work_cb, t);
	if (t->cap_max < t->opt.max_line || tail_split_path(t, path) != 0 || t->work_ev == NULL) {
		tail_destroy(t);
		return NULL;
	}
	return t;
}

/* inotify and the stat timer; failures degrade to the timer alone. */
static int tail_start_watching(struct rd_tail *t)
{
	struct timeval tv = {t->opt.stat_interval_ms / 1000,
	                     (t->opt.stat_interval_ms % 1000) * 1000};

	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0) {
		tail_notice(t, "cannot use inotify (%s): checking %s every %d ms", strerror(errno),
		            t->path, t->opt.stat_interval_ms);
	} else {
		t->inotify_ev =
		    event_new(t->base, t->ifd, EV_READ | EV_PERSIST, tail_inotify_cb, t);
		if (t->inotify_ev == NULL || event_add(t->inotify_ev, NULL) != 0)
			return -1;
		tail_add_watch(t);
	}
	t->stat_ev = event_new(t->base, -1, EV_PERSIST, tail_stat_cb, t);
	if (t->stat_ev == NULL || event_add(t->stat_ev, &tv) != 0)
		return -1;
	return 0;
}

int rd_tail_start(struct rd_tail *t, const struct rd_cursor *resume)
{
	int rc = 0;

	if (t == NULL || t->started)
		return -1;
	tail_enter(t);
	t->started = 1;
	if (!t->opt.once && tail_start_watching(t) != 0)
		rc = -1;
	if (rc == 0 && resume != NULL && (resume->ino != 0 || resume->offset != 0))
		tail_resume_from(t, resume);
	if (rc == 0)
		tail_schedule(t);
	tail_leave(t); /* t may be gone after this if a notice freed it */
	return rc;
}

void rd_tail_pause(struct rd_tail *t)
{
	if (t == NULL || t->paused)
		return;
	t->paused = 1;
	event_del(t->work_ev);
}

void rd_tail_resume(struct rd_tail *t)
{
	if (t == NULL || !t->paused)
		return;
	t->paused = 0;
	tail_schedule(t);
}

void rd_tail_free(struct rd_tail *t)
{
	if (t == NULL)
		return;
	if (t->busy > 0) {
		t->dead = 1; /* freed by the frame that runs the callback */
		return;
	}
	tail_destroy(t);
}

void rd_tail_identity(const struct rd_tail *t, uint64_t *dev, uint64_t *ino)
{
	*dev = t->fd >= 0 ? t->dev : 0;
	*ino = t->fd >= 0 ? t->ino : 0;
}
