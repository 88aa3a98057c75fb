/* http_metrics.c - /metrics: the Prometheus text exposition (format 0.0.4)
 * of the last windows refresh computed (reach.call_indicators and
 * reach.mail_indicators, one family per figure, labelled site, queue or
 * mailbox, window), the live gauges, and reachd's own health. Every family
 * has its # HELP and # TYPE and all its samples together. */
#include "cache.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "http_priv.h"
#include "ledger.h"
#include "mailtrack.h"
#include "outbox.h"
#include "version.h"

#define INT4OID    23
#define INT8OID    20
#define FLOAT8OID  701
#define NUMERICOID 1700

/* A label value: backslash, double quote and newline escaped. */
static void add_label(struct rd_sb *sb, const char *name, const char *v, int first)
{
	rd_sb_adds(sb, first ? "{" : ",");
	rd_sb_adds(sb, name);
	rd_sb_adds(sb, "=\"");
	for (; *v; v++) {
		if (*v == '\\')
			rd_sb_adds(sb, "\\\\");
		else if (*v == '"')
			rd_sb_adds(sb, "\\\"");
		else if (*v == '\n')
			rd_sb_adds(sb, "\\n");
		else
			rd_sb_addc(sb, *v);
	}
	rd_sb_addc(sb, '"');
}

static void family(struct rd_sb *sb, const char *name, const char *type, const char *help)
{
	rd_sb_adds(sb, "# HELP ");
	rd_sb_adds(sb, name);
	rd_sb_addc(sb, ' ');
	rd_sb_adds(sb, help);
	rd_sb_adds(sb, "\n# TYPE ");
	rd_sb_adds(sb, name);
	rd_sb_addc(sb, ' ');
	rd_sb_adds(sb, type);
	rd_sb_addc(sb, '\n');
}

/* name{labels} value: labels is a NULL-terminated list of name, value. */
static void sample(struct rd_sb *sb, const char *name, const char *const *labels, double v)
{
	char num[64];

	rd_sb_adds(sb, name);
	for (int i = 0; labels && labels[i]; i += 2)
		add_label(sb, labels[i], labels[i + 1], i == 0);
	if (labels && labels[0])
		rd_sb_addc(sb, '}');
	if (isnan(v))
		snprintf(num, sizeof(num), " NaN\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(num, sizeof(num), " %.0f\n", v);
	else
		snprintf(num, sizeof(num), " %.17g\n", v);
	rd_sb_adds(sb, num);
}

static void one(struct rd_sb *sb, const char *name, const char *type, const char *help, double v)
{
	family(sb, name, type, help);
	sample(sb, name, NULL, v);
}

/* --- the windows ------------------------------------------------------------ */

static int numeric(const PGresult *r, int col)
{
	Oid t = PQftype(r, col);

	return t == INT4OID || t == INT8OID || t == FLOAT8OID || t == NUMERICOID;
}

/* A result with columns, to name the families (every site has the same). */
static const PGresult *model(const struct rd_http *h, int mail)
{
	for (const struct rd_http_site *s = h->sites; s; s = s->next)
		for (int w = 0; w < 5; w++)
			if (mail ? s->mail[w] : s->calls[w])
				return mail ? s->mail[w] : s->calls[w];
	return NULL;
}

static void window_family(struct rd_http *h, struct rd_sb *sb, int mail, const char *col)
{
	const char *entity = mail ? "mailbox" : "queue";
	char name[160], help[256];
	size_t len = strlen(col);

	/* Prometheus names spell their unit out: asa_s -> asa_seconds */
	if (len > 2 && strcmp(col + len - 2, "_s") == 0)
		snprintf(name, sizeof(name), "reachd_%s_%.*sseconds", mail ? "mail" : "calls",
		         (int)(len - 1), col);
	else
		snprintf(name, sizeof(name), "reachd_%s_%s", mail ? "mail" : "calls", col);
	snprintf(help, sizeof(help),
	         "%s of reach.%s_indicators over the window ending at the last refresh", col,
	         mail ? "mail" : "call");
	family(sb, name, "gauge", help);
	for (const struct rd_http_site *s = h->sites; s; s = s->next)
		for (int w = 0; w < 5; w++) {
			const PGresult *r = mail ? s->mail[w] : s->calls[w];
			int c = r ? PQfnumber(r, col) : -1;

			for (int row = 0; c >= 0 && row < PQntuples(r); row++) {
				const char *labels[] = {
				    "site",   PQgetvalue(r, row, 0), entity, PQgetvalue(r, row, 1),
				    "window", rd_http_windows[w],    NULL};

				if (!PQgetisnull(r, row, c))
					sample(sb, name, labels,
					       strtod(PQgetvalue(r, row, c), NULL));
			}
		}
}

static void windows(struct rd_http *h, struct rd_sb *sb)
{
	family(sb, "reachd_window_end_timestamp_seconds", "gauge",
	       "End of the windows of the last refresh of a site (Unix seconds, exclusive)");
	for (const struct rd_http_site *s = h->sites; s; s = s->next) {
		const char *labels[] = {"site", s->site, NULL};

		sample(sb, "reachd_window_end_timestamp_seconds", labels, (double)s->to);
	}
	for (int mail = 0; mail < 2; mail++) {
		const PGresult *m = model(h, mail);

		for (int col = 2; m && col < PQnfields(m); col++)
			if (numeric(m, col))
				window_family(h, sb, mail, PQfname(m, col));
	}
}

/* --- live gauges ---------------------------------------------------------------- */

static void live(struct rd_http *h, struct rd_sb *sb)
{
	json_t *live = rd_http_live_json(h);
	static const char *const q[][3] = {
	    {"calls_waiting", "reachd_queue_calls_waiting", "Callers waiting in the queue now"},
	    {"longest_wait_s", "reachd_queue_longest_wait_seconds",
	     "Wait of the longest-waiting caller now"}};
	static const char *const m[][3] = {
	    {"backlog", "reachd_mailbox_backlog", "Messages waiting for a reply now"},
	    {"oldest_unanswered_s", "reachd_mailbox_oldest_unanswered_seconds",
	     "Age of the oldest message waiting for a reply"},
	    {"oldest_unanswered_business_s", "reachd_mailbox_oldest_unanswered_business_seconds",
	     "Age in opening hours of the oldest message waiting for a reply"}};
	size_t i;
	json_t *o;

	for (size_t f = 0; f < 2; f++) {
		family(sb, q[f][1], "gauge", q[f][2]);
		json_array_foreach(json_object_get(live, "queues"), i, o)
		{
			const char *labels[] = {
			    "site", json_string_value(json_object_get(o, "site")), "queue",
			    json_string_value(json_object_get(o, "queue")), NULL};

			sample(sb, q[f][1], labels,
			       (double)json_integer_value(json_object_get(o, q[f][0])));
		}
	}
	for (size_t f = 0; f < 3; f++) {
		family(sb, m[f][1], "gauge", m[f][2]);
		json_array_foreach(json_object_get(live, "mailboxes"), i, o)
		{
			const char *labels[] = {
			    "site", json_string_value(json_object_get(o, "site")), "mailbox",
			    json_string_value(json_object_get(o, "mailbox")), NULL};

			sample(sb, m[f][1], labels,
			       (double)json_integer_value(json_object_get(o, m[f][0])));
		}
	}
	json_decref(live);
}

/* --- the daemon ------------------------------------------------------------------ */

enum col_field { F_ACCEPTED, F_REJECTED, F_UNKNOWN, F_LAG, F_AGE, F_LOADED };

static void collector_family(struct rd_sb *sb, const struct rd_http_collector *c, size_t n,
                             enum col_field f, const char *name, const char *type, const char *help)
{
	int64_t now = time(NULL);

	family(sb, name, type, help);
	for (size_t i = 0; i < n; i++) {
		const char *labels[] = {"site", c[i].site, "collector", c[i].name, NULL};
		double v;

		switch (f) {
		case F_ACCEPTED: v = (double)c[i].accepted; break;
		case F_REJECTED: v = (double)c[i].rejected; break;
		case F_UNKNOWN: v = (double)c[i].unknown; break;
		case F_LAG: v = (double)c[i].lag_bytes; break;
		case F_AGE: v = (double)(now - c[i].last_line_at); break;
		default: v = c[i].loaded; break;
		}
		if ((f == F_LAG && c[i].lag_bytes < 0) || (f == F_AGE && !c[i].last_line_at))
			continue;
		sample(sb, name, labels, v);
	}
}

static void collectors(struct rd_sb *sb, const struct rd_http_collector *c, size_t n)
{
	collector_family(sb, c, n, F_ACCEPTED, "reachd_collector_lines_accepted_total", "counter",
	                 "Lines understood by the collector (committed count included)");
	collector_family(sb, c, n, F_REJECTED, "reachd_collector_lines_rejected_total", "counter",
	                 "Malformed lines rejected by the collector");
	collector_family(sb, c, n, F_UNKNOWN, "reachd_collector_lines_unknown_total", "counter",
	                 "Well-formed lines with an unknown event");
	collector_family(sb, c, n, F_LAG, "reachd_collector_lag_bytes", "gauge",
	                 "Bytes of the source not read yet");
	collector_family(sb, c, n, F_AGE, "reachd_collector_last_line_age_seconds", "gauge",
	                 "Seconds since the collector's last line (absent before the first)");
	collector_family(sb, c, n, F_LOADED, "reachd_collector_running", "gauge",
	                 "1 when the collector has loaded its cursor and reads");
}

static void daemon_health(struct rd_http *h, struct rd_sb *sb)
{
	struct rd_ledger_stats ls;
	struct rd_cache_stats cs;
	struct rd_alerts_stats as;
	struct rd_outbox_stats os;
	const char *ver[] = {"version", REACHD_VERSION, NULL};

	rd_ledger_get_stats(h->env.ledger, &ls);
	rd_cache_get_stats(h->env.cache, &cs);
	rd_alerts_get_stats(h->env.alerts, &as);
	rd_outbox_get_stats(h->env.outbox, &os);
	family(sb, "reachd_build_info", "gauge", "Always 1; the version is a label");
	sample(sb, "reachd_build_info", ver, 1);
	one(sb, "reachd_start_time_seconds", "gauge", "Start of the daemon (Unix seconds)",
	    (double)h->env.started_at);
	one(sb, "reachd_postgres_up", "gauge", "1 when the ledger's PostgreSQL connection is up",
	    ls.connected);
	one(sb, "reachd_redis_up", "gauge", "1 when the Redis connection is up", cs.connected);
	one(sb, "reachd_ledger_queued_jobs", "gauge", "Jobs waiting for PostgreSQL",
	    (double)ls.queued);
	one(sb, "reachd_ledger_batches_in_flight", "gauge", "Batches of rows not committed yet",
	    (double)ls.batches);
	one(sb, "reachd_ledger_jobs_total", "counter", "PostgreSQL jobs done",
	    (double)ls.jobs_done);
	one(sb, "reachd_ledger_reconnects_total", "counter", "PostgreSQL reconnections",
	    (double)ls.reconnects);
	one(sb, "reachd_redis_inflight_commands", "gauge", "Redis commands waiting for a reply",
	    (double)cs.inflight);
	one(sb, "reachd_redis_writes_dropped_total", "counter",
	    "Redis writes dropped (disconnected or too many in flight; rewritten at the next "
	    "refresh)",
	    (double)cs.writes_dropped);
	one(sb, "reachd_redis_reconnects_total", "counter", "Redis reconnections",
	    (double)cs.reconnects);
	one(sb, "reachd_alerts_firing", "gauge", "Alerts firing", (double)as.firing);
	one(sb, "reachd_alerts_pending", "gauge", "Alerts pending", (double)as.pending);
	one(sb, "reachd_alert_transitions_total", "counter", "Alert transitions recorded",
	    (double)as.transitions);
	one(sb, "reachd_outbox_mails_total", "counter", "Alert mails composed", (double)os.mails);
	one(sb, "reachd_outbox_sent_total", "counter", "Alert mails the relay accepted",
	    (double)os.sent);
	one(sb, "reachd_outbox_retried_total", "counter", "Alert mail attempts to retry",
	    (double)os.retried);
	one(sb, "reachd_outbox_failed_total", "counter", "Alert mails the relay refused for good",
	    (double)os.failed);
	one(sb, "reachd_outbox_queued", "gauge", "Alert mail rows waiting for the relay",
	    (double)os.queued);
	one(sb, "reachd_outbox_oldest_queued_seconds", "gauge",
	    "Age of the oldest alert mail row waiting for the relay", (double)os.oldest_queued_s);
}

void rd_http_metrics(struct rd_http *h, struct rd_sb *sb)
{
	struct rd_http_collector *c = NULL;
	size_t n = h->env.collectors(h->env.arg, &c);

	daemon_health(h, sb);
	collectors(sb, c, n);
	free(c);
	live(h, sb);
	windows(h, sb);
}
