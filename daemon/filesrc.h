/* filesrc.h - what the collectors that follow a file with rd_tail share
 * (queuelog, maillog, jsonl): the keys path, max_line and stat_interval,
 * and a tail whose callbacks report to the core through the rd_collector_*
 * services.
 *
 * The tail's services are wired once here: a chunk's cursor goes to
 * rd_collector_checkpoint (the ledger's "pause" is passed back to the
 * tail), the end of a once-mode read to rd_collector_done, the tail's
 * notices to rd_collector_log (warnings for those that mean lost data or a
 * failure), and a line longer than max_line to rd_collector_rejected. The
 * collector only parses lines.
 *
 * A struct rd_filesrc lives inside the collector's state; everything runs
 * on the daemon's loop, like the collector itself. */
#ifndef RD_FILESRC_H
#define RD_FILESRC_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct event_base;
struct rd_collector;
struct rd_tail;

/* How a max_line or stat_interval out of range is worded: each collector
 * keeps the messages its users already know. */
enum rd_filesrc_wording {
	RD_FILESRC_SAY_LIMITS, /* "max_line must be between 1k and 64M, not '0'" */
	RD_FILESRC_SAY_BYTES,  /* "max_line must be between 1024 and 67108864 bytes, not '0'" */
	RD_FILESRC_SAY_RANGE,  /* "max_line out of range: '0'" */
};

/* One line of at most max_line bytes. */
struct rd_filesrc_line {
	const char *text; /* as read, not NUL-terminated: what rejects keep */
	char *copy;       /* ops.copy: a writable copy, NUL-terminated (parsers
	                     split lines in place); else NULL */
	size_t len;
	uint64_t offset; /* of the line's start in the current file */
};

struct rd_filesrc_ops {
	/* A line to parse; longer lines never get here. */
	void (*line)(void *arg, const struct rd_filesrc_line *ln);
	/* Optional: the offset of every line, too long ones included, before
	 * anything else (to notice that another file is being read). */
	void (*seen)(void *arg, uint64_t offset);
	/* Optional: after a chunk of lines, instead of checkpointing cursor
	 * as it is. Must call rd_collector_checkpoint and return its result. */
	int (*chunk)(void *arg, const struct rd_cursor *cursor);
	int copy; /* lines come with a writable copy */
};

struct rd_filesrc {
	struct rd_collector *c;
	const struct rd_filesrc_ops *ops;
	void *arg; /* for ops */
	enum rd_filesrc_wording wording;
	/* configuration */
	char *path; /* NULL until the key is set */
	size_t max_line;
	int stat_interval_ms;
	/* running */
	struct rd_tail *tail;
	char *scratch; /* max_line + 1 bytes when ops->copy */
};

/* Defaults: no path, max_line 1M, stat_interval 5s. */
void rd_filesrc_init(struct rd_filesrc *fs, struct rd_collector *c,
                     const struct rd_filesrc_ops *ops, void *arg, enum rd_filesrc_wording wording);

/* path (not empty), max_line (size, 1k to 64M), stat_interval (duration,
 * 100ms to 1h). 0, -1 with a message in err (rd_collector_type.configure's
 * contract), or 1 if key is none of them. */
int rd_filesrc_configure(struct rd_filesrc *fs, const char *key, const char *value, char *err,
                         size_t errlen);

/* Follow path (the configured one, or another file such as a spool) from
 * resume (NULL: from its start); once: read to the current end, then
 * rd_collector_done. 0, or -1 after logging why. */
int rd_filesrc_start(struct rd_filesrc *fs, struct event_base *base, const char *path,
                     const struct rd_cursor *resume, int once);
int rd_filesrc_running(const struct rd_filesrc *fs);
void rd_filesrc_pause(struct rd_filesrc *fs);
void rd_filesrc_resume(struct rd_filesrc *fs);
/* Safe from inside an ops callback: nothing is delivered after it. */
void rd_filesrc_stop(struct rd_filesrc *fs);
/* Stop, and free what configuration and start allocated. */
void rd_filesrc_release(struct rd_filesrc *fs);

/* --- helpers for the collectors' configure() --------------------------- */

/* Format a message into err; returns -1. */
int rd_filesrc_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s without its leading and trailing blanks and tabs (cut in place). */
char *rd_filesrc_trim(char *s);

/* The next element of a comma-separated list that is cut in place, trimmed;
 * empty elements are skipped. *cur starts at (a writable copy of) the list
 * and moves on; NULL after the last element. */
char *rd_filesrc_next_item(char **cur);

#endif
