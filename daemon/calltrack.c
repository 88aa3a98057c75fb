/* calltrack.c - see calltrack.h.
 *
 * Open calls live in a chained hash table keyed by (callid, queue). The rules
 * below are the documented classification (docs/indicators.md); where the
 * source lost an event (reading began mid-file, an end event never came) the
 * call is still finished once, deterministically, from what is known. */
#include "calltrack.h"

#include "fnv.h"

#include <stdlib.h>
#include <string.h>

#define EXPIRE_EVERY_S 60 /* how often (source time) stale calls are looked for */

struct open_entry {
	struct open_entry *next;
	uint64_t hash;
	char *queue, *callid, *agent;
	int64_t entered, connected;
	int32_t wait_s;
};

struct rd_calltrack {
	struct rd_calltrack_options opt;
	rd_call_finished_fn finished;
	void *arg;
	struct open_entry **slots;
	size_t nslots, count;
	int64_t now;         /* latest event time seen */
	int64_t last_expire; /* source time of the last expiry scan */
};

static uint64_t key_hash(const char *callid, const char *queue)
{
	static const unsigned char sep = 0xff; /* never in a UTF-8 call id */

	return rd_fnv1a_str(rd_fnv1a(rd_fnv1a_str(RD_FNV_BASIS, callid), &sep, 1), queue);
}

struct rd_calltrack *rd_calltrack_new(const struct rd_calltrack_options *opt,
                                      rd_call_finished_fn finished, void *arg)
{
	struct rd_calltrack *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->opt = *opt;
	t->finished = finished;
	t->arg = arg;
	t->nslots = 256;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

static void entry_free(struct open_entry *e)
{
	free(e->queue);
	free(e->callid);
	free(e->agent);
	free(e);
}

void rd_calltrack_free(struct rd_calltrack *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nslots; i++) {
		struct open_entry *e = t->slots[i], *next;

		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(t->slots);
	free(t);
}

static struct open_entry **find_slot(struct rd_calltrack *t, const char *callid, const char *queue,
                                     uint64_t h)
{
	struct open_entry **pp = &t->slots[h & (t->nslots - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->callid, callid) == 0 &&
		    strcmp((*pp)->queue, queue) == 0)
			return pp;
	return pp; /* points at the terminating NULL: where to insert */
}

static int grow(struct rd_calltrack *t)
{
	size_t n = t->nslots * 2;
	struct open_entry **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < t->nslots; i++) {
		struct open_entry *e = t->slots[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

static struct open_entry *insert(struct rd_calltrack *t, const char *callid, const char *queue,
                                 const char *agent, int64_t entered)
{
	struct open_entry *e, **pp;
	uint64_t h = key_hash(callid, queue);

	if (t->count >= t->nslots && grow(t) != 0)
		return NULL;
	pp = find_slot(t, callid, queue, h);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->hash = h;
	e->queue = strdup(queue);
	e->callid = strdup(callid);
	e->agent = agent ? strdup(agent) : NULL;
	if (!e->queue || !e->callid || (agent && !e->agent)) {
		entry_free(e);
		return NULL;
	}
	e->entered = entered;
	e->wait_s = RD_UNKNOWN;
	*pp = e;
	t->count++;
	return e;
}

/* Finish a call: classify, report, forget. e may be a temporary on the stack. */
static void finish(struct rd_calltrack *t, const struct open_entry *e, enum rd_outcome outcome,
                   int64_t ended, int32_t wait_s, int32_t talk_s, const char *reason,
                   unsigned transferred, unsigned talk_counted)
{
	struct rd_call c = {
	    .queue = e->queue,
	    .callid = e->callid,
	    .agent = e->agent,
	    .reason = reason,
	    .entered = e->entered,
	    .ended = ended,
	    .outcome = outcome,
	    .wait_s = wait_s,
	    .talk_s = talk_s,
	    .transferred = transferred,
	    .talk_counted = talk_counted && talk_s >= 0,
	};

	if (outcome == RD_OUT_ABANDONED && wait_s >= 0 && wait_s < t->opt.short_abandon_s)
		c.short_abandoned = 1;
	if (outcome == RD_OUT_ANSWERED && wait_s >= 0 && wait_s <= t->opt.service_level_s)
		c.within_sl = 1;
	t->finished(t->arg, &c);
}

static void unlink_entry(struct rd_calltrack *t, struct open_entry **pp)
{
	struct open_entry *e = *pp;

	*pp = e->next;
	t->count--;
	entry_free(e);
}

/* Wait of a call that ends now while waiting: the source's figure if it gave
 * one, else the time since it entered. */
static int32_t waited(const struct open_entry *e, const struct rd_call_event *ev)
{
	if (ev->wait_s >= 0)
		return ev->wait_s;
	return ev->ts >= e->entered ? (int32_t)(ev->ts - e->entered) : 0;
}

/* End of an answered call (COMPLETE* or transfer). */
static void end_answered(struct rd_calltrack *t, struct open_entry *e,
                         const struct rd_call_event *ev)
{
	int transfer = ev->type == RD_CALL_TRANSFER;
	int32_t wait = e->connected ? e->wait_s : waited(e, ev);

	if (!e->connected && ev->wait_s >= 0)
		wait = ev->wait_s;
	finish(t, e, RD_OUT_ANSWERED, ev->ts, wait, ev->talk_s, ev->reason, transfer, !transfer);
}

/* End event for a call we never saw enter (reading began after its ENTER):
 * reconstruct its entry time from the durations the event carries. */
static void end_unknown(struct rd_calltrack *t, const struct rd_call_event *ev)
{
	struct open_entry tmp = {.queue = (char *)ev->queue,
	                         .callid = (char *)ev->callid,
	                         .agent = (char *)ev->agent,
	                         .entered = ev->ts,
	                         .wait_s = RD_UNKNOWN};
	int32_t wait = ev->wait_s >= 0 ? ev->wait_s : 0;

	switch (ev->type) {
	case RD_CALL_COMPLETE:
	case RD_CALL_TRANSFER:
		tmp.entered = ev->ts - wait - (ev->talk_s > 0 ? ev->talk_s : 0);
		tmp.connected = tmp.entered + wait;
		tmp.wait_s = ev->wait_s;
		end_answered(t, &tmp, ev);
		break;
	case RD_CALL_ABANDON:
		tmp.entered = ev->ts - wait;
		finish(t, &tmp, RD_OUT_ABANDONED, ev->ts, ev->wait_s, RD_UNKNOWN, ev->reason, 0, 0);
		break;
	case RD_CALL_EXIT:
	case RD_CALL_REFUSED:
		tmp.entered = ev->ts - wait;
		finish(t, &tmp, RD_OUT_TIMED_OUT, ev->ts,
		       ev->type == RD_CALL_REFUSED ? 0 : ev->wait_s, RD_UNKNOWN, ev->reason, 0, 0);
		break;
	case RD_CALL_IVR:
		finish(t, &tmp, RD_OUT_IVR, ev->ts, RD_UNKNOWN, ev->talk_s, ev->reason, 0, 0);
		break;
	default: break;
	}
}

/* A call that can no longer end normally (source restart, stale, re-entry):
 * answered if an agent had picked up, otherwise left by the system. */
static void end_lost(struct rd_calltrack *t, struct open_entry *e, int64_t ts, const char *reason)
{
	if (e->connected)
		finish(t, e, RD_OUT_ANSWERED, ts, e->wait_s, RD_UNKNOWN, reason, 0, 0);
	else
		finish(t, e, RD_OUT_TIMED_OUT, ts,
		       ts >= e->entered ? (int32_t)(ts - e->entered) : 0, RD_UNKNOWN, reason, 0, 0);
}

static void end_all(struct rd_calltrack *t, int64_t ts, const char *reason, int64_t older_than)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct open_entry **pp = &t->slots[i];

		while (*pp) {
			if (older_than < 0) {
				end_lost(t, *pp, ts, reason);
				unlink_entry(t, pp);
			} else if (ts - (*pp)->entered > older_than) {
				/* dated at its deadline, not at the scan, so a replay
				 * that scans at other moments dates it the same */
				end_lost(t, *pp, (*pp)->entered + older_than, reason);
				unlink_entry(t, pp);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
}

static void expire(struct rd_calltrack *t)
{
	if (t->now - t->last_expire < EXPIRE_EVERY_S)
		return;
	t->last_expire = t->now;
	if (t->opt.max_call_s > 0)
		end_all(t, t->now, "EXPIRED", t->opt.max_call_s);
}

static int on_enter(struct rd_calltrack *t, struct open_entry **pp, const struct rd_call_event *ev)
{
	if (*pp) { /* the previous stint never ended: close it first */
		end_lost(t, *pp, ev->ts, "REENTER");
		unlink_entry(t, pp);
	}
	return insert(t, ev->callid, ev->queue, NULL, ev->ts) ? 0 : -1;
}

static int on_connect(struct rd_calltrack *t, struct open_entry *e, const struct rd_call_event *ev)
{
	int32_t wait = ev->wait_s >= 0 ? ev->wait_s : 0;

	if (!e) {
		e = insert(t, ev->callid, ev->queue, NULL, ev->ts - wait);
		if (!e)
			return -1;
	}
	if (e->connected) /* a second CONNECT (re-ring after transfer): keep the first */
		return 0;
	e->connected = ev->ts;
	e->wait_s = ev->wait_s >= 0 ? ev->wait_s : waited(e, ev);
	if (ev->agent && !e->agent)
		e->agent = strdup(ev->agent); /* NULL on OOM only loses the name */
	return 0;
}

/* Event that ends a known open call. */
static void on_end(struct rd_calltrack *t, struct open_entry *e, const struct rd_call_event *ev)
{
	switch (ev->type) {
	case RD_CALL_COMPLETE:
	case RD_CALL_TRANSFER: end_answered(t, e, ev); break;
	case RD_CALL_ABANDON:
		if (e->connected) /* hung up while the agent was connecting */
			finish(t, e, RD_OUT_ANSWERED, ev->ts, e->wait_s, RD_UNKNOWN, ev->reason, 0,
			       0);
		else
			finish(t, e, RD_OUT_ABANDONED, ev->ts, waited(e, ev), RD_UNKNOWN,
			       ev->reason, 0, 0);
		break;
	default: /* EXIT, REFUSED while open */
		if (e->connected)
			finish(t, e, RD_OUT_ANSWERED, ev->ts, e->wait_s, RD_UNKNOWN, ev->reason, 0,
			       0);
		else
			finish(t, e, RD_OUT_TIMED_OUT, ev->ts, waited(e, ev), RD_UNKNOWN,
			       ev->reason, 0, 0);
		break;
	}
}

int rd_calltrack_event(struct rd_calltrack *t, const struct rd_call_event *ev)
{
	struct open_entry **pp;

	if (ev->ts > t->now)
		t->now = ev->ts;
	if (ev->type == RD_CALL_RESET) {
		end_all(t, ev->ts, ev->reason ? ev->reason : "RESET", -1);
		return 0;
	}
	if (!ev->callid || !ev->queue)
		return -1;
	pp = find_slot(t, ev->callid, ev->queue, key_hash(ev->callid, ev->queue));
	switch (ev->type) {
	case RD_CALL_ENTER:
		if (on_enter(t, pp, ev) != 0)
			return -1;
		break;
	case RD_CALL_CONNECT:
		if (on_connect(t, *pp, ev) != 0)
			return -1;
		break;
	case RD_CALL_IVR: end_unknown(t, ev); break;
	default:
		if (*pp) {
			on_end(t, *pp, ev);
			unlink_entry(t, pp);
		} else {
			end_unknown(t, ev);
		}
		break;
	}
	expire(t);
	return 0;
}

int rd_calltrack_restore(struct rd_calltrack *t, const struct rd_open_call *oc)
{
	struct open_entry *e = insert(t, oc->callid, oc->queue, oc->agent, oc->entered);

	if (!e)
		return -1;
	e->connected = oc->connected;
	e->wait_s = oc->wait_s;
	if (oc->entered > t->now)
		t->now = oc->entered;
	return 0;
}

size_t rd_calltrack_open_count(const struct rd_calltrack *t)
{
	return t->count;
}

void rd_calltrack_foreach_open(const struct rd_calltrack *t,
                               void (*fn)(void *arg, const struct rd_open_call *oc), void *arg)
{
	for (size_t i = 0; i < t->nslots; i++)
		for (const struct open_entry *e = t->slots[i]; e; e = e->next) {
			struct rd_open_call oc = {e->queue,   e->callid,    e->agent,
			                          e->entered, e->connected, e->wait_s};
			fn(arg, &oc);
		}
}
