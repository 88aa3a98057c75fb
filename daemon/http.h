/* http.h - the HTTP server inside reachd (evhttp, on the daemon's loop):
 * the JSON API (/api/v1/...), /metrics for Prometheus, /healthz, /readyz
 * and the built-in dashboard. docs/http.md is the reference.
 *
 * Nothing here blocks the loop: answers that need PostgreSQL are ledger
 * jobs (the same blocking functions reachctl calls, run in the ledger's
 * thread), the others come from the daemon's memory. */
#ifndef RD_HTTP_H
#define RD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "refresh.h"

struct event_base;
struct rd_alerts;
struct rd_cache;
struct rd_config;
struct rd_http;
struct rd_ledger;
struct rd_outbox;
struct rd_site_figures;

/* One collector as status, /metrics and /readyz show it. */
struct rd_http_collector {
	const char *name, *site, *type, *source;
	int64_t last_line_at; /* wall clock; 0: no line since start */
	uint64_t accepted, rejected, unknown;
	int64_t lag_bytes; /* bytes of the source not read yet; -1: unknown */
	int loaded;        /* its committed cursor is loaded: it reads */
};

/* What the core lends the server (called on the loop). */
struct rd_http_env {
	void *arg;
	/* every collector (array allocated by the callee, freed by the caller;
	 * strings valid until the loop runs again) */
	size_t (*collectors)(void *arg, struct rd_http_collector **out);
	rd_gauges_fn gauges;
	rd_mail_gauges_fn mail_gauges;
	rd_mail_business_fn mail_business;
	struct rd_ledger *ledger;
	struct rd_cache *cache;
	struct rd_alerts *alerts;
	struct rd_outbox *outbox; /* NULL without [smtp] */
	int64_t started_at;
};

/* Listen on cfg's [http] listen; NULL after logging why. cfg is read at
 * start only ([http] changes need a restart). */
struct rd_http *rd_http_new(struct event_base *base, const struct rd_config *cfg,
                            const struct rd_http_env *env);
/* Shutdown: stop accepting; answers in progress go on. */
void rd_http_stop(struct rd_http *h);
/* After the ledger is freed (its jobs answer requests through h). */
void rd_http_free(struct rd_http *h);

/* A reload: the rules /api/v1/alerts reads come from cfg from now on. */
void rd_http_reload(struct rd_http *h, const struct rd_config *cfg);

/* A site's freshly computed windows (from refresh, via the core): kept
 * for /metrics until the next ones. */
void rd_http_site_figures(struct rd_http *h, const struct rd_site_figures *f);

#endif
