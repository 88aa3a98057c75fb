/* alerts.h - alert rules evaluated on the loop, persisted by the ledger.
 *
 * Each refresh of a site hands its freshly computed windows here
 * (rd_alerts_site_figures). Every rule is evaluated on every matching
 * entity with the pure state machine of alertstate.c; the states that
 * changed, the transitions and the notices they must send are written in
 * one PostgreSQL transaction (alert_store.c). The notices wait there to be
 * gathered into mails per recipients group, and the outbox (outbox.c)
 * hands the mails to the relay.
 *
 * States live in memory on the loop, read back from reach.alert_state at
 * start-up before the first evaluation: a restart neither forgets an alert
 * nor notifies again what nothing changed. */
#ifndef RD_ALERTS_H
#define RD_ALERTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "refresh.h"
#include "rule.h"

struct rd_alerts;
struct rd_calendar;
struct rd_config;
struct rd_ledger;

/* A collector of a site, for no_data and for the default calendars. */
struct rd_alert_source {
	const char *name;
	int64_t last_line_at; /* wall clock of its last line; 0: none since start */
};

/* What the core lends the engine (all called on the loop). */
struct rd_alert_env {
	void *arg;
	rd_gauges_fn gauges;
	rd_mail_gauges_fn mail_gauges;
	rd_mail_business_fn mail_business;
	/* the collectors of site (array owned by the caller's buffer) */
	size_t (*sources)(void *arg, const char *site, struct rd_alert_source *out, size_t max);
	/* the opening hours of an entity: the calendar of its collector */
	const struct rd_calendar *(*calendar)(void *arg, const char *site, enum rd_entity kind,
	                                      const char *entity);
	int64_t started_at; /* the daemon's start: no_data counts from there at most */
};

/* The windows of one site, as refresh.c computed them. */
struct rd_site_figures {
	const char *site;
	int64_t to;               /* end of every window (Unix seconds) */
	const PGresult *calls[5]; /* reach.call_indicators, windows 15m 1h 24h 7d 30d */
	const PGresult *mail[5];  /* reach.mail_indicators, same windows */
};

/* rules and cfg are borrowed: the core keeps them until the next reload
 * (jobs in flight copy what they need). smtp_ready: mails can be sent;
 * without it alerts are recorded, not mailed. */
struct rd_alerts *rd_alerts_new(struct rd_ledger *ledger, const struct rd_config *cfg,
                                const struct rd_rules *rules, const struct rd_alert_env *env,
                                int smtp_ready);
void rd_alerts_free(struct rd_alerts *a);

/* Read the persisted states and silences (a ledger job); evaluation waits
 * for it. */
void rd_alerts_load(struct rd_alerts *a);

/* Evaluate every rule on one site's figures. Rounds that come while the
 * previous one is still being written are skipped (timers are instants:
 * nothing is lost). */
void rd_alerts_site_figures(struct rd_alerts *a, const struct rd_site_figures *f);

/* A reload: new rules and configuration; the states of rules that still
 * exist stay. */
void rd_alerts_reload(struct rd_alerts *a, const struct rd_config *cfg,
                      const struct rd_rules *rules, int smtp_ready);

/* 1 while a load or a write is in flight (once mode waits for it). */
int rd_alerts_busy(const struct rd_alerts *a);

/* Counters for status and metrics. */
struct rd_alerts_stats {
	size_t alerts, firing, pending;
	unsigned long long rounds, transitions, notices;
};
void rd_alerts_get_stats(const struct rd_alerts *a, struct rd_alerts_stats *st);

#endif
