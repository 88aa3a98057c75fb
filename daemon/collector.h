/* collector.h - the collector interface.
 *
 * A collector type is a table of callbacks (struct rd_collector_type); an
 * instance is one [collector "NAME"] section. Built-in types are compiled in
 * and registered by name; the table carries an ABI version and its own size so
 * external shared-object collectors can be added later without breaking it.
 * Lifecycle: create -> configure (one call per key) -> check -> start ->
 * (pause/resume)* -> stop -> destroy.
 *
 * Everything runs on the daemon's single libevent loop: callbacks must never
 * block. A collector reports what it read through the rd_collector_* functions
 * below, which belong to the core. */
#ifndef RD_COLLECTOR_H
#define RD_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define RD_COLLECTOR_ABI 1

struct event_base;
struct rd_collector; /* an instance, owned by the core */

struct rd_collector_type {
	uint32_t abi;     /* RD_COLLECTOR_ABI */
	uint32_t size;    /* sizeof(struct rd_collector_type) */
	const char *name; /* value of "type =" */
	/* Allocate private state; NULL on failure. */
	void *(*create)(struct rd_collector *c);
	/* One configuration key (core keys type/site are handled by the core).
	 * Return 0, or -1 with a message in err (unknown key, bad value). */
	int (*configure)(void *priv, const char *key, const char *value, char *err, size_t errlen);
	/* All keys seen: check required keys and consistency. 0 or -1 + err. */
	int (*check)(void *priv, char *err, size_t errlen);
	/* Begin reading from resume (NULL: no committed cursor). In once mode,
	 * read to the source's current end, then call rd_collector_done(). */
	int (*start)(void *priv, struct event_base *base, const struct rd_cursor *resume, int once);
	/* Backpressure: stop reading until resume (file sources just stop). */
	void (*pause)(void *priv);
	void (*resume)(void *priv);
	/* Stop reading: release fds and events. No emit after this returns. */
	void (*stop)(void *priv);
	void (*destroy)(void *priv);
	/* Human-readable description of the source, e.g. the path. */
	const char *(*source)(void *priv);
	/* Mail collectors: 1 if mailbox is one of theirs (may be NULL). */
	int (*owns)(void *priv, const char *mailbox);
};

/* --- Services the core offers to collectors ------------------------------ */

const char *rd_collector_name(const struct rd_collector *c);
const char *rd_collector_site(const struct rd_collector *c);

/* One normalized call event. */
void rd_collector_emit_call(struct rd_collector *c, const struct rd_call_event *ev);

/* One normalized mail event (mail collectors). Handling is idempotent: the
 * same event for the same message may be emitted again after a restart. */
void rd_collector_emit_mail(struct rd_collector *c, const struct rd_mail_event *ev);

/* A line was understood (whether or not it produced events). */
void rd_collector_accepted(struct rd_collector *c);

/* A line was rejected: counted, logged (rate-limited) with source:offset, and
 * kept for inspection in PostgreSQL (first bytes only). */
void rd_collector_rejected(struct rd_collector *c, uint64_t offset, const char *reason,
                           const char *line, size_t len);

/* A well-formed line whose event the collector does not know (a custom
 * verb): accepted, counted apart and kept for inspection like a reject. */
void rd_collector_unknown(struct rd_collector *c, uint64_t offset, const char *reason,
                          const char *line, size_t len);

/* Everything emitted so far is covered by cursor: the core commits it with
 * the rows derived from those events. Returns 1 when the collector must pause
 * (the ledger is full); the core calls resume() later. */
int rd_collector_checkpoint(struct rd_collector *c, const struct rd_cursor *cursor);

/* The lines that follow come from file dev:ino, the next one at offset
 * (file sources call it before each line, see filesrc.c). Kept lines are
 * stored under this identity, and lines a restart reads again are not
 * counted twice (see rd_collector_checkpoint_behind). */
void rd_collector_at(struct rd_collector *c, uint64_t dev, uint64_t ino, uint64_t offset);

/* Like rd_collector_checkpoint, for a collector that resumes behind what it
 * has read (maillog keeps the first line of the oldest open queue-ID life):
 * resume is where a restart starts, read is how far lines were counted. */
int rd_collector_checkpoint_behind(struct rd_collector *c, const struct rd_cursor *resume,
                                   const struct rd_cursor *read);

/* Once mode: the collector reached the end of its source. */
void rd_collector_done(struct rd_collector *c);

/* Log with the collector's name as prefix. */
void rd_collector_log(const struct rd_collector *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
