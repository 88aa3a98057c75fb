/* refresh.h - keeps Redis equal to what PostgreSQL says: the rolling windows
 * of every site (computed by reach.call_indicators, the same function
 * reachctl reads) and the live gauges from the call trackers. Everything is
 * written as absolute values with a TTL, so a rewrite never inflates, and an
 * emptied Redis is complete again after one refresh. */
#ifndef RD_REFRESH_H
#define RD_REFRESH_H

#include <stddef.h>
#include <stdint.h>

struct rd_cache;
struct rd_ledger;
struct rd_refresh;

/* Live gauge of one queue, gathered from the trackers by the core. */
struct rd_gauge {
	const char *queue;
	long waiting;
	int64_t oldest_entered; /* 0 when nobody waits */
};

/* The core supplies the gauges of a site on demand. */
typedef size_t (*rd_gauges_fn)(void *arg, const char *site, struct rd_gauge **out);

/* Mail backlogs of a site (array of struct rd_mail_gauge, freed by the caller),
 * and business seconds between two instants in a mailbox's calendar. */
struct rd_mail_gauge;
typedef size_t (*rd_mail_gauges_fn)(void *arg, const char *site, struct rd_mail_gauge **out);
typedef int64_t (*rd_mail_business_fn)(void *arg, const char *site, const char *mailbox,
                                       int64_t from, int64_t to);

struct rd_refresh *rd_refresh_new(struct rd_ledger *ledger, struct rd_cache *cache, int64_t ttl_s,
                                  rd_gauges_fn gauges, rd_mail_gauges_fn mail_gauges,
                                  rd_mail_business_fn mail_business, void *arg);
void rd_refresh_free(struct rd_refresh *r);
/* Recompute and rewrite everything about site (coalesced while one runs). */
void rd_refresh_site(struct rd_refresh *r, const char *site);
/* The daemon's own health for a site, as reach:{site}:daemon (absolute
 * values with the same TTL: a missing hash means no daemon is alive). */
struct rd_daemon_health {
	long pid;
	const char *version;
	int64_t started_at;
	int postgres_connected;
	size_t ledger_queued, batches_in_flight;
	uint64_t lines_accepted, lines_rejected, lines_unknown;
};
void rd_refresh_health(struct rd_refresh *r, const char *site, const struct rd_daemon_health *h);

/* Called on the loop with every site's freshly computed windows (the
 * alert rules read them): results in window order 15m 1h 24h 7d 30d, calls
 * then mail; valid during the call only. */
typedef void (*rd_windows_fn)(void *arg, const char *site, int64_t to, const void *const *calls,
                              const void *const *mail);
void rd_refresh_observe(struct rd_refresh *r, rd_windows_fn fn, void *arg);

/* 1 while a refresh is computing or its writes are in flight. */
int rd_refresh_busy(const struct rd_refresh *r);

#endif
