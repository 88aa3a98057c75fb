/* calltrack.h - assembles each caller's stint in a queue from normalized
 * events and classifies it as INDICATORS.md defines.
 *
 * One tracker per collector. Time is the source's own clock (the events'
 * timestamps), never the wall clock, so replaying the same lines after a crash
 * gives exactly the same calls. */
#ifndef RD_CALLTRACK_H
#define RD_CALLTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum rd_outcome {
	RD_OUT_ANSWERED = 1,
	RD_OUT_ABANDONED,
	RD_OUT_TIMED_OUT,
	RD_OUT_IVR,
};

/* A finished call; strings are owned by the tracker and valid during the
 * on_finished callback only. */
struct rd_call {
	const char *queue, *callid, *agent, *reason;
	int64_t entered, ended; /* epoch seconds; ended dates the call */
	enum rd_outcome outcome;
	int32_t wait_s, talk_s; /* RD_UNKNOWN when not known */
	unsigned transferred : 1;
	unsigned short_abandoned : 1;
	unsigned within_sl : 1;
	unsigned talk_counted : 1; /* COMPLETE*: counts in talk_avg_s */
};

/* A call still in progress (waiting, or answered and talking). */
struct rd_open_call {
	const char *queue, *callid, *agent;
	int64_t entered;
	int64_t connected; /* 0 while waiting */
	int32_t wait_s;    /* hold time once connected */
};

struct rd_calltrack_options {
	int32_t service_level_s; /* answered with wait <= this are within SL */
	int32_t short_abandon_s; /* abandoned with wait < this are short */
	int64_t max_call_s;      /* an open call older than this is closed */
};

typedef void (*rd_call_finished_fn)(void *arg, const struct rd_call *call);

struct rd_calltrack;

struct rd_calltrack *rd_calltrack_new(const struct rd_calltrack_options *opt,
                                      rd_call_finished_fn finished, void *arg);
void rd_calltrack_free(struct rd_calltrack *t);

/* Feed one event; finished calls are reported through the callback. */
int rd_calltrack_event(struct rd_calltrack *t, const struct rd_call_event *ev);
/* Put back a call that was open when the cursor was committed. */
int rd_calltrack_restore(struct rd_calltrack *t, const struct rd_open_call *oc);

size_t rd_calltrack_open_count(const struct rd_calltrack *t);
void rd_calltrack_foreach_open(const struct rd_calltrack *t,
                               void (*fn)(void *arg, const struct rd_open_call *oc), void *arg);

#endif
