/* tail.h - follow a log file by lines, across rotation and truncation.
 *
 * inotify on the file's directory drives reading (no busy polling), with a
 * slow stat() fallback timer. Handles: a file that does not exist yet;
 * rename-and-create rotation (the old file is drained to EOF first);
 * copytruncate and truncation (size < offset: restart at 0); partial last
 * lines (never delivered until their newline arrives); lines longer than
 * max_line (delivered once as too_long with their first bytes, the rest is
 * skipped, memory stays bounded).
 *
 * Resuming: given a committed cursor, the tail reopens the same file
 * identity. If the path now holds another file, the rotated file with the
 * cursor's identity is looked for beside it (same directory, name starting
 * with the base name, e.g. queue_log.1, queue_log-20260101) and finished
 * first, then the new file is read from its start.
 *
 * Reading is done in bounded chunks per loop iteration; after each chunk the
 * chunk callback receives the cursor covering every line delivered so far. */
#ifndef RD_TAIL_H
#define RD_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct event_base;
struct rd_tail;

struct rd_tail_callbacks {
	/* One complete line without its '\n'. offset = byte offset of the
	 * line's start in the current file. too_long: the line exceeded
	 * max_line; line holds its first max_line bytes. */
	void (*line)(void *arg, const char *line, size_t len, uint64_t offset, int too_long);
	/* After a chunk of lines: cursor = position after the last complete
	 * line delivered. Return 1 to pause (rd_tail_resume restarts). */
	int (*chunk)(void *arg, const struct rd_cursor *cursor);
	/* Once mode only: the current end of the source was reached. */
	void (*at_end)(void *arg);
	/* Informational: file rotated / truncated / appeared (for logging). */
	void (*notice)(void *arg, const char *what);
};

struct rd_tail_options {
	size_t max_line;      /* longest accepted line in bytes (default 1 MiB) */
	size_t chunk_bytes;   /* bytes read per loop iteration (default 256 KiB) */
	int stat_interval_ms; /* fallback stat() period (default 5000) */
	int once;             /* read to the current end, call at_end, stop */
};

struct rd_tail *rd_tail_new(struct event_base *base, const char *path,
                            const struct rd_tail_options *opts, const struct rd_tail_callbacks *cb,
                            void *arg);
/* Start reading; resume may be NULL (read the file from its start). */
int rd_tail_start(struct rd_tail *t, const struct rd_cursor *resume);
void rd_tail_pause(struct rd_tail *t);
void rd_tail_resume(struct rd_tail *t);
void rd_tail_free(struct rd_tail *t);

/* The device and inode of the file lines are read from now (0, 0: none). */
void rd_tail_identity(const struct rd_tail *t, uint64_t *dev, uint64_t *ino);

/* FNV-1a hash of the first min(len, RD_TAIL_FP_BYTES) bytes of a file, used
 * with dev+inode to recognise a file after a restart. A cursor stores the
 * hash over min(offset, RD_TAIL_FP_BYTES) bytes; to check identity the same
 * number of bytes is hashed again. Returns 0 when fewer bytes are readable. */
#define RD_TAIL_FP_BYTES 256
uint64_t rd_tail_fingerprint(int fd, uint64_t len);

#endif
