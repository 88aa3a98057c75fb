/* filesrc.c - see filesrc.h. */
#include "filesrc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "config.h"
#include "log.h"
#include "tail.h"

#define FS_DEF_MAX_LINE ((uint64_t)1 << 20)
#define FS_MIN_MAX_LINE ((uint64_t)1 << 10)
/* Lines are a few hundred bytes; beyond this, memory would no longer be
 * bounded in any useful sense. */
#define FS_MAX_MAX_LINE ((uint64_t)64 << 20)
#define FS_DEF_STAT_MS  5000
#define FS_MIN_STAT_MS  100
#define FS_MAX_STAT_MS  3600000

int rd_filesrc_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

char *rd_filesrc_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

char *rd_filesrc_next_item(char **cur)
{
	char *item;

	while ((item = strsep(cur, ",")) != NULL) {
		item = rd_filesrc_trim(item);
		if (*item != '\0')
			return item;
	}
	return NULL;
}

void rd_filesrc_init(struct rd_filesrc *fs, struct rd_collector *c,
                     const struct rd_filesrc_ops *ops, void *arg, enum rd_filesrc_wording wording)
{
	memset(fs, 0, sizeof(*fs));
	fs->c = c;
	fs->ops = ops;
	fs->arg = arg;
	fs->wording = wording;
	fs->max_line = FS_DEF_MAX_LINE;
	fs->stat_interval_ms = FS_DEF_STAT_MS;
}

/* --- configuration ---------------------------------------------------------- */

/* key's value is outside limits ("100ms and 1h"), in the collector's words. */
static int fs_out_of_range(const struct rd_filesrc *fs, const char *key, const char *limits,
                           const char *value, char *err, size_t errlen)
{
	if (fs->wording == RD_FILESRC_SAY_RANGE)
		return rd_filesrc_fail(err, errlen, "%s out of range: '%s'", key, value);
	return rd_filesrc_fail(err, errlen, "%s must be between %s, not '%s'", key, limits, value);
}

static int fs_set_path(struct rd_filesrc *fs, const char *value, char *err, size_t errlen)
{
	char *p;

	if (*value == '\0')
		return rd_filesrc_fail(err, errlen, "path must not be empty");
	p = strdup(value);
	if (p == NULL)
		return rd_filesrc_fail(err, errlen, "out of memory");
	free(fs->path);
	fs->path = p;
	return 0;
}

static int fs_set_max_line(struct rd_filesrc *fs, const char *value, char *err, size_t errlen)
{
	uint64_t v;

	if (rd_parse_size(value, &v, err, errlen) != 0)
		return -1;
	if ((v < FS_MIN_MAX_LINE || v > FS_MAX_MAX_LINE) && fs->wording == RD_FILESRC_SAY_BYTES)
		return rd_filesrc_fail(err, errlen,
		                       "max_line must be between %" PRIu64 " and %" PRIu64
		                       " bytes, not '%s'",
		                       FS_MIN_MAX_LINE, FS_MAX_MAX_LINE, value);
	if (v < FS_MIN_MAX_LINE || v > FS_MAX_MAX_LINE)
		return fs_out_of_range(fs, "max_line", "1k and 64M", value, err, errlen);
	fs->max_line = (size_t)v;
	return 0;
}

static int fs_set_stat_interval(struct rd_filesrc *fs, const char *value, char *err, size_t errlen)
{
	int64_t ms;

	if (rd_parse_duration_ms(value, &ms, err, errlen) != 0)
		return -1;
	if (ms < FS_MIN_STAT_MS || ms > FS_MAX_STAT_MS)
		return fs_out_of_range(fs, "stat_interval", "100ms and 1h", value, err, errlen);
	fs->stat_interval_ms = (int)ms;
	return 0;
}

int rd_filesrc_configure(struct rd_filesrc *fs, const char *key, const char *value, char *err,
                         size_t errlen)
{
	if (strcmp(key, "path") == 0)
		return fs_set_path(fs, value, err, errlen);
	if (strcmp(key, "max_line") == 0)
		return fs_set_max_line(fs, value, err, errlen);
	if (strcmp(key, "stat_interval") == 0)
		return fs_set_stat_interval(fs, value, err, errlen);
	return 1;
}

/* --- tail callbacks ------------------------------------------------------------ */

static void fs_on_line(void *arg, const char *line, size_t len, uint64_t offset, int too_long)
{
	struct rd_filesrc *fs = arg;
	struct rd_filesrc_line ln = {.text = line, .len = len, .offset = offset};
	uint64_t dev, ino;

	rd_tail_identity(fs->tail, &dev, &ino);
	rd_collector_at(fs->c, dev, ino, offset);
	if (fs->ops->seen != NULL)
		fs->ops->seen(fs->arg, offset);
	if (too_long || len > fs->max_line) {
		rd_collector_rejected(fs->c, offset, "line longer than max_line", line, len);
		return;
	}
	if (fs->scratch != NULL) {
		memcpy(fs->scratch, line, len);
		fs->scratch[len] = '\0';
		ln.copy = fs->scratch;
	}
	fs->ops->line(fs->arg, &ln);
}

static int fs_on_chunk(void *arg, const struct rd_cursor *cursor)
{
	struct rd_filesrc *fs = arg;

	if (fs->ops->chunk != NULL)
		return fs->ops->chunk(fs->arg, cursor);
	return rd_collector_checkpoint(fs->c, cursor);
}

static void fs_on_end(void *arg)
{
	struct rd_filesrc *fs = arg;

	rd_collector_done(fs->c);
}

/* rd_tail's notices carry no level: those that report possible data loss
 * or a failure are worded with "lost" or start with "cannot". */
static void fs_on_notice(void *arg, const char *what)
{
	struct rd_filesrc *fs = arg;
	int warn = strstr(what, "lost") != NULL || strncmp(what, "cannot", 6) == 0;

	rd_collector_log(fs->c, warn ? RD_LOG_WARN : RD_LOG_INFO, "%s", what);
}

/* --- lifecycle -------------------------------------------------------------------- */

int rd_filesrc_start(struct rd_filesrc *fs, struct event_base *base, const char *path,
                     const struct rd_cursor *resume, int once)
{
	static const struct rd_tail_callbacks cb = {fs_on_line, fs_on_chunk, fs_on_end,
	                                            fs_on_notice};
	struct rd_tail_options opt = {
	    .max_line = fs->max_line, .stat_interval_ms = fs->stat_interval_ms, .once = once};

	if (fs->tail != NULL || path == NULL)
		return -1;
	free(fs->scratch);
	fs->scratch = NULL;
	/* the copy has room for the parsers' terminating NUL */
	if (fs->ops->copy && (fs->scratch = malloc(fs->max_line + 1)) == NULL) {
		rd_collector_log(fs->c, RD_LOG_ERR, "out of memory");
		return -1;
	}
	fs->tail = rd_tail_new(base, path, &opt, &cb, fs);
	if (fs->tail == NULL) {
		rd_collector_log(fs->c, RD_LOG_ERR, "cannot follow %s", path);
		return -1;
	}
	if (rd_tail_start(fs->tail, resume) != 0) {
		rd_collector_log(fs->c, RD_LOG_ERR, "cannot start following %s", path);
		rd_tail_free(fs->tail);
		fs->tail = NULL;
		return -1;
	}
	return 0;
}

int rd_filesrc_running(const struct rd_filesrc *fs)
{
	return fs->tail != NULL;
}

void rd_filesrc_pause(struct rd_filesrc *fs)
{
	rd_tail_pause(fs->tail);
}

void rd_filesrc_resume(struct rd_filesrc *fs)
{
	rd_tail_resume(fs->tail);
}

/* rd_tail_free() is safe from inside a tail callback: nothing is delivered
 * after it, and the tail is released once the callback has returned. */
void rd_filesrc_stop(struct rd_filesrc *fs)
{
	rd_tail_free(fs->tail);
	fs->tail = NULL;
}

void rd_filesrc_release(struct rd_filesrc *fs)
{
	rd_filesrc_stop(fs);
	free(fs->scratch);
	fs->scratch = NULL;
	free(fs->path);
	fs->path = NULL;
}
