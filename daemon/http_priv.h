/* http_priv.h - what the files of the HTTP server share: http.c (server,
 * routing, tokens, jobs), http_views.c (answers from memory: status, live,
 * readiness) and http_metrics.c (the Prometheus exposition). */
#ifndef RD_HTTP_PRIV_H
#define RD_HTTP_PRIV_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"
#include "strbuf.h"

struct evhttp_request;

/* The last windows of a site (copies of refresh's results). */
struct rd_http_site {
	char *site;
	int64_t to;         /* end of every window (Unix seconds) */
	PGresult *calls[5]; /* windows 15m 1h 24h 7d 30d */
	PGresult *mail[5];
	struct rd_http_site *next;
};

struct rd_http {
	struct event_base *base;
	const struct rd_config *cfg; /* the current one (rd_http_reload) */
	struct rd_http_env env;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *gate; /* re-opens the listener when descriptors are free */
	int fd_limit;       /* refuse connections from this descriptor number on */
	char *token;        /* NULL: none required */
	char language[3];
	int64_t deadline_ms;     /* longest wait for a ledger job */
	struct pending *pending; /* requests waiting for a ledger job */
	struct rd_http_site *sites;
};

extern const char *const rd_http_windows[5];

/* --- http_views.c ---------------------------------------------------------- */

/* The distinct sites of the collectors c[0..n), in order (array of borrowed
 * strings, freed by the caller). */
size_t rd_http_sites(const struct rd_http_collector *c, size_t n, const char ***out);
json_t *rd_http_status_json(struct rd_http *h);
json_t *rd_http_live_json(struct rd_http *h);
/* 1 when ready; else 0 and the reasons appended to reasons. */
int rd_http_ready(struct rd_http *h, json_t *reasons);

/* "2026-11-29T08:00:00Z". */
void rd_http_iso(char *buf, size_t len, int64_t t);

/* --- http_metrics.c -------------------------------------------------------- */

/* The whole exposition (text format 0.0.4) into sb. */
void rd_http_metrics(struct rd_http *h, struct rd_sb *sb);

#endif
