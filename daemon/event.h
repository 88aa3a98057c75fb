/* event.h - the normalized events that collectors emit to the core.
 *
 * A collector turns its source's lines into these, whatever the source
 * (queue_log, AMI, CDR, JSON). Strings are borrowed: they are valid only for
 * the duration of the emit call; the core copies what it keeps. */
#ifndef RD_EVENT_H
#define RD_EVENT_H

#include <stdint.h>

enum rd_call_ev_type {
	RD_CALL_ENTER = 1, /* caller joined the queue */
	RD_CALL_CONNECT,   /* an agent picked up; wait_s = hold time */
	RD_CALL_COMPLETE,  /* answered call ended normally; talk_s = talk time */
	RD_CALL_TRANSFER,  /* answered call ended by transfer; talk_s if known */
	RD_CALL_ABANDON,   /* caller hung up while waiting; wait_s */
	RD_CALL_EXIT,      /* the system removed the caller (timeout, empty, key, withdraw) */
	RD_CALL_REFUSED,   /* join refused (full, join-empty, closed) where the source says so */
	RD_CALL_IVR,       /* call completed inside the IVR without an agent */
	RD_CALL_RESET,     /* the source restarted (QUEUESTART): every open call of it ends */
};

#define RD_UNKNOWN (-1) /* for wait_s / talk_s when the source does not report it */

struct rd_call_event {
	enum rd_call_ev_type type;
	int64_t ts;         /* UTC epoch seconds at which the source wrote the event */
	const char *callid; /* caller's unique id (NULL for RD_CALL_RESET) */
	const char *queue;  /* queue name (NULL for RD_CALL_RESET) */
	const char *agent;  /* member name, or NULL */
	int32_t wait_s;     /* RD_UNKNOWN when not reported */
	int32_t talk_s;     /* RD_UNKNOWN when not reported */
	const char *reason; /* source verb, e.g. "EXITWITHTIMEOUT"; may be NULL */
};

/* Position of a collector in its source: the file identity and the byte
 * offset just after the last complete line consumed. Committed to
 * PostgreSQL in the same transaction as the rows derived from the lines. */
struct rd_cursor {
	uint64_t dev;
	uint64_t ino;
	uint64_t offset;
	uint64_t fingerprint; /* hash of the file's first bytes (see tail.h); 0 = unknown */
	uint64_t size;        /* size of the file when the cursor was taken (for lag) */
};

#endif
