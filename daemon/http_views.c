/* http_views.c - the answers the HTTP server builds from the daemon's
 * memory, without PostgreSQL: /api/v1/status, /api/v1/live, /readyz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "cache.h"
#include "http_priv.h"
#include "ledger.h"
#include "mailtrack.h"
#include "outbox.h"
#include "version.h"

void rd_http_iso(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *iso_or_null(int64_t t)
{
	char buf[32];

	if (!t)
		return json_null();
	rd_http_iso(buf, sizeof(buf), t);
	return json_string(buf);
}

size_t rd_http_sites(const struct rd_http_collector *c, size_t n, const char ***out)
{
	const char **s = calloc(n ? n : 1, sizeof(*s));
	size_t k = 0;

	*out = s;
	for (size_t i = 0; s && i < n; i++) {
		size_t j;

		for (j = 0; j < k && strcmp(s[j], c[i].site) != 0; j++)
			;
		if (j == k)
			s[k++] = c[i].site;
	}
	return k;
}

static json_t *collector_json(const struct rd_http_collector *c)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s?, s:o, s:I, s:I, s:I, s:o, s:b}", "name", c->name, "site", c->site,
	    "type", c->type, "source", c->source, "last_line_at", iso_or_null(c->last_line_at),
	    "lines_accepted", (json_int_t)c->accepted, "lines_rejected", (json_int_t)c->rejected,
	    "lines_unknown", (json_int_t)c->unknown, "lag_bytes",
	    c->lag_bytes < 0 ? json_null() : json_integer(c->lag_bytes), "loaded", c->loaded);
}

static json_t *collectors_json(struct rd_http *h)
{
	struct rd_http_collector *c = NULL;
	size_t n = h->env.collectors(h->env.arg, &c);
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, collector_json(&c[i]));
	free(c);
	return arr;
}

static json_t *ledger_json(struct rd_http *h)
{
	struct rd_ledger_stats st;

	rd_ledger_get_stats(h->env.ledger, &st);
	return json_pack("{s:I, s:I, s:I, s:I}", "queued", (json_int_t)st.queued,
	                 "batches_in_flight", (json_int_t)st.batches, "jobs_done",
	                 (json_int_t)st.jobs_done, "reconnects", (json_int_t)st.reconnects);
}

static json_t *alerts_json(struct rd_http *h)
{
	struct rd_alerts_stats st;

	rd_alerts_get_stats(h->env.alerts, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "alerts", (json_int_t)st.alerts,
	                 "firing", (json_int_t)st.firing, "pending", (json_int_t)st.pending,
	                 "rounds", (json_int_t)st.rounds, "transitions", (json_int_t)st.transitions,
	                 "notices", (json_int_t)st.notices);
}

static json_t *outbox_json(struct rd_http *h)
{
	struct rd_outbox_stats st;

	rd_outbox_get_stats(h->env.outbox, &st);
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "enabled", h->env.outbox != NULL,
	                 "mails", (json_int_t)st.mails, "sent", (json_int_t)st.sent, "retried",
	                 (json_int_t)st.retried, "failed", (json_int_t)st.failed, "queued",
	                 (json_int_t)st.queued, "oldest_queued_s", (json_int_t)st.oldest_queued_s);
}

static int pg_connected(struct rd_http *h)
{
	struct rd_ledger_stats st;

	rd_ledger_get_stats(h->env.ledger, &st);
	return st.connected;
}

json_t *rd_http_status_json(struct rd_http *h)
{
	char started[32];

	rd_http_iso(started, sizeof(started), h->env.started_at);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "version", REACHD_VERSION,
	                 "started_at", started, "language", h->language, "postgres",
	                 pg_connected(h) ? "connected" : "disconnected", "redis",
	                 rd_cache_connected(h->env.cache) ? "connected" : "disconnected",
	                 "collectors", collectors_json(h), "ledger", ledger_json(h), "alerts",
	                 alerts_json(h), "outbox", outbox_json(h));
}

static void live_queues(struct rd_http *h, const char *site, json_t *arr, int64_t now)
{
	struct rd_gauge *g = NULL;
	size_t n = h->env.gauges(h->env.arg, site, &g);

	for (size_t i = 0; i < n; i++) {
		int64_t wait =
		    g[i].waiting && now > g[i].oldest_entered ? now - g[i].oldest_entered : 0;

		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "site", site, "queue",
		                                     g[i].queue, "calls_waiting",
		                                     (json_int_t)g[i].waiting, "longest_wait_s",
		                                     (json_int_t)wait));
	}
	free(g);
}

static void live_mailboxes(struct rd_http *h, const char *site, json_t *arr, int64_t now)
{
	struct rd_mail_gauge *g = NULL;
	size_t n = h->env.mail_gauges(h->env.arg, site, &g);

	for (size_t i = 0; i < n; i++) {
		int64_t age = g[i].backlog && now > g[i].oldest ? now - g[i].oldest : 0;
		int64_t business =
		    g[i].backlog
		        ? h->env.mail_business(h->env.arg, site, g[i].mailbox, g[i].oldest, now)
		        : 0;

		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:I, s:I, s:I}", "site", site, "mailbox",
		                   g[i].mailbox, "backlog", (json_int_t)g[i].backlog,
		                   "oldest_unanswered_s", (json_int_t)age,
		                   "oldest_unanswered_business_s", (json_int_t)business));
	}
	free(g);
}

/* Queues with callers waiting and mailboxes with open messages, as the
 * trackers hold them now (the same figures refresh writes to Redis). */
json_t *rd_http_live_json(struct rd_http *h)
{
	struct rd_http_collector *c = NULL;
	size_t n = h->env.collectors(h->env.arg, &c);
	const char **sites = NULL;
	size_t ns = rd_http_sites(c, n, &sites);
	int64_t now = time(NULL);
	json_t *queues = json_array(), *mail = json_array();
	char at[32];

	for (size_t i = 0; sites && i < ns; i++) {
		live_queues(h, sites[i], queues, now);
		live_mailboxes(h, sites[i], mail, now);
	}
	free(sites);
	free(c);
	rd_http_iso(at, sizeof(at), now);
	return json_pack("{s:s, s:o, s:o}", "at", at, "queues", queues, "mailboxes", mail);
}

int rd_http_ready(struct rd_http *h, json_t *reasons)
{
	struct rd_http_collector *c = NULL;
	size_t n = h->env.collectors(h->env.arg, &c);
	char msg[300];

	if (!pg_connected(h))
		json_array_append_new(reasons, json_string("PostgreSQL is not connected"));
	if (!rd_cache_connected(h->env.cache))
		json_array_append_new(reasons, json_string("Redis is not connected"));
	for (size_t i = 0; i < n; i++)
		if (!c[i].loaded) {
			snprintf(msg, sizeof(msg), "collector %s has not loaded its cursor",
			         c[i].name);
			json_array_append_new(reasons, json_string(msg));
		}
	free(c);
	return json_array_size(reasons) == 0;
}
