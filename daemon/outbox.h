/* outbox.h - from alert notices to mails accepted by the relay.
 *
 * Two steps, each its own PostgreSQL transaction (ledger jobs):
 *  1. dispatch: the notices of a recipients group that waited group_wait
 *     become one mail (the alert template for one notice, the digest for
 *     several, or when the hourly cap held them back); the mail is written
 *     to reach.alert_outbox, one row per envelope recipient, with a stable
 *     Message-ID, in the transaction that marks its notices dispatched;
 *  2. send: the oldest queued row of each recipient is handed to the relay
 *     by the mailer (libESMTP, in a worker thread); the row is marked sent
 *     only after the relay accepted it. 4xx, timeouts and a dead relay are
 *     retried with backoff for as long as it takes, later rows of that
 *     recipient waiting behind (order); 5xx marks the row failed.
 *
 * The one window left: a crash after the relay's acceptance and before
 * the row is marked sent sends that mail again, with the same Message-ID
 * (mail clients show one message). */
#ifndef RD_OUTBOX_H
#define RD_OUTBOX_H

struct event_base;
struct rd_config;
struct rd_ledger;
struct rd_outbox;
struct rd_rules;

/* NULL when cfg has no [smtp] (alerts are recorded, not mailed) or on
 * failure (logged). cfg and rules are borrowed until the next reload. */
struct rd_outbox *rd_outbox_new(struct event_base *base, struct rd_ledger *ledger,
                                const struct rd_config *cfg, const struct rd_rules *rules);
/* New rules (recipient groups); [smtp] changes wait for the next start. */
void rd_outbox_reload(struct rd_outbox *o, const struct rd_rules *rules);
/* Dispatch and send now (after a round queued notices). */
void rd_outbox_kick(struct rd_outbox *o);
/* Shutdown, without waiting: no new round, and what the round in flight
 * has not started stays queued. rd_outbox_sending tells when the send in
 * progress is over and recorded (handed to the ledger). */
void rd_outbox_stop(struct rd_outbox *o);
int rd_outbox_sending(const struct rd_outbox *o);
/* After the loop: waits for a send still in progress (bounded by the
 * relay's timeouts) and hands its outcome to the ledger. Before the ledger
 * is freed. */
void rd_outbox_join(struct rd_outbox *o);
/* After the ledger is freed (its jobs' callbacks use the outbox). */
void rd_outbox_free(struct rd_outbox *o);

struct rd_outbox_stats {
	unsigned long long mails, sent, retried, failed;
	/* rows waiting for the relay, and the age of the oldest, as of the
	 * last send round (every second while the relay answers) */
	unsigned long long queued;
	long long oldest_queued_s;
};
void rd_outbox_get_stats(const struct rd_outbox *o, struct rd_outbox_stats *st);

#endif
