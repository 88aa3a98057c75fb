/* mailtrack.h - follows each incoming message of the functional mailboxes
 * from receipt to acknowledgement, first human reply or closing, from
 * normalized mail events, and reports each state change once.
 *
 * Events may come again after a restart (a mail collector resumes from a safe
 * point before the lives it had not finished): the tracker ignores changes it
 * has already made, and PostgreSQL ignores those it has already stored. Time
 * is the source's own clock. */
#ifndef RD_MAILTRACK_H
#define RD_MAILTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum rd_mail_change_kind {
	RD_MC_RECEIVED = 1, /* a message arrived (human, automatic or rejected) */
	RD_MC_ACK,          /* acknowledged within ack_window */
	RD_MC_REPLIED,      /* first human reply */
	RD_MC_CLOSED,       /* closed without a reply */
	/* A message first seen as a person's turned out automatic: its receipt
	 * moves from received to automatic (and its acknowledgement, if any,
	 * no longer counts). Happens when Dovecot's delivery line is read
	 * before Postfix's, which carries the headers. */
	RD_MC_RECLASSIFIED,
	RD_MC_UNACKED, /* store only: the acknowledgement of a reclassified message */
};

struct rd_mail_change {
	enum rd_mail_change_kind kind;
	const char *mailbox, *msgid, *sender;
	int64_t ts;       /* when this change happened */
	int64_t received; /* when the message arrived */
	uint32_t automatic;
	int rejected;
	const char *route; /* REPLIED: "thread" or "answered" */
	int64_t delay_s, delay_business_s;
	int within_target;
	const char *closed_how; /* CLOSED: "deleted" or the folder */
};

/* Business time comes from the site's calendar, through the core. */
struct rd_mail_clock {
	int64_t (*business_seconds)(void *arg, int64_t from, int64_t to);
	int64_t (*deadline)(void *arg, int64_t received); /* reply target */
	void *arg;
};

struct rd_mailtrack_options {
	int64_t ack_window_s; /* default 900 */
	int64_t forget_s;     /* finished messages remembered this long (replays) */
};

typedef void (*rd_mail_change_fn)(void *arg, const struct rd_mail_change *ch);

/* A message as stored, for restoring the tracker at start-up. */
struct rd_mail_state {
	const char *mailbox, *msgid, *sender;
	int64_t received;
	int finished;  /* replied, closed, automatic or rejected */
	int replyable; /* a person's message without a reply (maybe closed) */
};

struct rd_mailtrack;

struct rd_mailtrack *rd_mailtrack_new(const struct rd_mailtrack_options *opt,
                                      const struct rd_mail_clock *clock, rd_mail_change_fn fn,
                                      void *arg);
void rd_mailtrack_free(struct rd_mailtrack *t);
/* New options (a mail collector of the site started or was reloaded):
 * they apply to the events that follow. */
void rd_mailtrack_set_options(struct rd_mailtrack *t, const struct rd_mailtrack_options *opt);
int rd_mailtrack_event(struct rd_mailtrack *t, const struct rd_mail_event *ev);
int rd_mailtrack_restore(struct rd_mailtrack *t, const struct rd_mail_state *st);

/* Backlog of one mailbox: open messages and the oldest receipt (0 if none). */
struct rd_mail_gauge {
	const char *mailbox;
	long backlog;
	int64_t oldest;
};
/* Calls fn once per mailbox with open messages. */
void rd_mailtrack_gauges(const struct rd_mailtrack *t,
                         void (*fn)(void *arg, const struct rd_mail_gauge *g), void *arg);
size_t rd_mailtrack_open_count(const struct rd_mailtrack *t);

#endif
