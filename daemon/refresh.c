/* refresh.c - see refresh.h. */
#include "refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "ledger.h"
#include "log.h"
#include "mailtrack.h"

#define FLOAT8OID 701
#define KEY_MAX   1024

static const struct {
	const char *name;
	int64_t seconds;
} windows[] = {{"15m", 900}, {"1h", 3600}, {"24h", 86400}, {"7d", 604800}, {"30d", 2592000}};
#define NWINDOWS (sizeof(windows) / sizeof(windows[0]))

/* Calls and mail share the window logic; only names differ. */
struct family {
	const char *kind;   /* key part: reach:{site}:KIND:ENTITY:WINDOW */
	const char *entity; /* field naming the queue or mailbox */
	const char *set;    /* reach:{site}:SET lists the entities */
	const char *sql;
	const char *const *zero_counts;
};

static const char *const call_counts[] = {"offered",         "answered",  "abandoned",
                                          "short_abandoned", "timed_out", "transferred",
                                          "ivr_handled",     NULL};
static const char *const mail_counts[] = {"received", "automatic", "rejected", "acknowledged",
                                          "replied",  "closed",    NULL};

static const struct family families[] = {
    {"calls", "queue", "queues",
     "SELECT * FROM reach.call_indicators($1, to_timestamp($2), to_timestamp($3))", call_counts},
    {"mail", "mailbox", "mailboxes",
     "SELECT * FROM reach.mail_indicators($1, to_timestamp($2), to_timestamp($3))", mail_counts},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

struct site_state {
	char *site;
	int running, again;
	struct site_state *next;
};

struct rd_refresh {
	struct rd_ledger *ledger;
	struct rd_cache *cache;
	int64_t ttl_s;
	rd_gauges_fn gauges;
	rd_mail_gauges_fn mail_gauges;
	rd_mail_business_fn mail_business;
	void *arg;
	struct site_state *sites;
	int running;
	rd_windows_fn observe;
	void *observe_arg;
};

struct window_job {
	struct rd_job job;
	struct rd_refresh *r;
	struct site_state *ss;
	int64_t to;
	PGresult *res[NFAMILIES][NWINDOWS];
};

static void iso8601(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- worker side --------------------------------------------------------- */

static enum rd_job_status window_run(struct rd_job *job, PGconn *pg)
{
	struct window_job *w = (struct window_job *)job;

	for (size_t f = 0; f < NFAMILIES; f++)
		for (size_t i = 0; i < NWINDOWS; i++) {
			char from[24], to[24];
			const char *p[3] = {w->ss->site, from, to};
			PGresult *r;

			if (w->res[f][i])
				continue; /* done before a reconnect */
			snprintf(from, sizeof(from), "%lld",
			         (long long)(w->to - windows[i].seconds));
			snprintf(to, sizeof(to), "%lld", (long long)w->to);
			r = PQexecParams(pg, families[f].sql, 3, NULL, p, NULL, NULL, 0);
			if (PQresultStatus(r) != PGRES_TUPLES_OK) {
				int retry = rd_pg_retryable(pg, r);

				snprintf(job->err, sizeof(job->err), "%s", PQerrorMessage(pg));
				PQclear(r);
				return retry ? RD_JOB_RETRY : RD_JOB_FAILED;
			}
			w->res[f][i] = r;
		}
	return RD_JOB_OK;
}

/* --- loop side ----------------------------------------------------------- */

static int make_key(char *key, const char *site, const char *kind, const char *queue,
                    const char *suffix)
{
	char es[KEY_MAX / 4], eq[KEY_MAX / 2];
	int n;

	if (rd_cache_escape(site, es, sizeof(es)) < 0 ||
	    (queue && rd_cache_escape(queue, eq, sizeof(eq)) < 0))
		return -1;
	if (queue)
		n = snprintf(key, KEY_MAX, "reach:{%s}:%s:%s%s%s", es, kind, eq, suffix ? ":" : "",
		             suffix ? suffix : "");
	else
		n = snprintf(key, KEY_MAX, "reach:{%s}:%s", es, kind);
	return n > 0 && n < KEY_MAX ? 0 : -1;
}

/* One row of reach.call_indicators -> one hash. Rates and means get 6
 * decimals; NULL figures are left out. */
static void write_window(struct rd_refresh *r, const struct family *fam, const char *site,
                         PGresult *res, int row, size_t wi, int64_t to)
{
	struct rd_cache_field f[40];
	char vals[40][32], key[KEY_MAX], from_s[24], to_s[24], now_s[24];
	const char *queue = PQgetvalue(res, row, 1);
	int ncols = PQnfields(res);
	size_t n = 0;

	if (make_key(key, site, fam->kind, queue, windows[wi].name) != 0)
		return;
	iso8601(to - windows[wi].seconds, from_s, sizeof(from_s));
	iso8601(to, to_s, sizeof(to_s));
	iso8601(time(NULL), now_s, sizeof(now_s));
	f[n++] = (struct rd_cache_field){"site", site};
	f[n++] = (struct rd_cache_field){fam->entity, queue};
	f[n++] = (struct rd_cache_field){"window", windows[wi].name};
	f[n++] = (struct rd_cache_field){"from", from_s};
	f[n++] = (struct rd_cache_field){"to", to_s};
	f[n++] = (struct rd_cache_field){"updated_at", now_s};
	for (int c = 2; c < ncols && n < 40; c++) {
		const char *v = PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);

		if (v && PQftype(res, c) == FLOAT8OID) {
			snprintf(vals[n], sizeof(vals[n]), "%.6f", strtod(v, NULL));
			v = vals[n];
		}
		f[n++] = (struct rd_cache_field){PQfname(res, c), v};
	}
	rd_cache_put_hash(r->cache, key, f, n, r->ttl_s);
}

/* An entity with nothing in a window still gets its hash, with zero counts
 * and no rates, so that a dashboard never shows figures that left the window. */
static void write_empty_window(struct rd_refresh *r, const struct family *fam, const char *site,
                               const char *entity, size_t wi, int64_t to)
{
	struct rd_cache_field f[16];
	char key[KEY_MAX], from_s[24], to_s[24], now_s[24];
	size_t n = 0;

	if (make_key(key, site, fam->kind, entity, windows[wi].name) != 0)
		return;
	iso8601(to - windows[wi].seconds, from_s, sizeof(from_s));
	iso8601(to, to_s, sizeof(to_s));
	iso8601(time(NULL), now_s, sizeof(now_s));
	f[n++] = (struct rd_cache_field){"site", site};
	f[n++] = (struct rd_cache_field){fam->entity, entity};
	f[n++] = (struct rd_cache_field){"window", windows[wi].name};
	f[n++] = (struct rd_cache_field){"from", from_s};
	f[n++] = (struct rd_cache_field){"to", to_s};
	f[n++] = (struct rd_cache_field){"updated_at", now_s};
	for (const char *const *z = fam->zero_counts; *z && n < 16; z++)
		f[n++] = (struct rd_cache_field){*z, "0"};
	rd_cache_put_hash(r->cache, key, f, n, r->ttl_s);
}

static int find_row(PGresult *res, const char *queue)
{
	for (int row = 0; row < PQntuples(res); row++)
		if (strcmp(PQgetvalue(res, row, 1), queue) == 0)
			return row;
	return -1;
}

/* Every window of every entity that had activity in the last 30 days (the
 * widest window holds every entity of the narrower ones). */
static void write_windows(struct rd_refresh *r, const struct family *fam, const char *site,
                          PGresult **res, int64_t to)
{
	PGresult *month = res[NWINDOWS - 1];
	char key[KEY_MAX], member[KEY_MAX];

	for (int row = 0; row < PQntuples(month); row++) {
		const char *entity = PQgetvalue(month, row, 1);

		for (size_t i = 0; i < NWINDOWS; i++) {
			int x = i == NWINDOWS - 1 ? row : find_row(res[i], entity);

			if (x >= 0)
				write_window(r, fam, site, res[i], x, i, to);
			else
				write_empty_window(r, fam, site, entity, i, to);
		}
		if (make_key(key, site, fam->set, NULL, NULL) == 0 &&
		    rd_cache_escape(entity, member, sizeof(member)) >= 0)
			rd_cache_add_member(r->cache, key, member, r->ttl_s);
	}
}

static void write_gauge(struct rd_refresh *r, const char *site, const char *queue, long waiting,
                        int64_t oldest)
{
	char key[KEY_MAX], w[24], l[24], now_s[24];
	int64_t now = time(NULL);
	struct rd_cache_field f[3] = {
	    {"calls_waiting", w}, {"longest_wait_s", l}, {"updated_at", now_s}};

	if (make_key(key, site, "live", queue, NULL) != 0)
		return;
	snprintf(w, sizeof(w), "%ld", waiting);
	snprintf(l, sizeof(l), "%lld", (long long)(waiting && now > oldest ? now - oldest : 0));
	iso8601(now, now_s, sizeof(now_s));
	rd_cache_put_hash(r->cache, key, f, 3, r->ttl_s);
}

static const struct rd_gauge *find_gauge(const struct rd_gauge *g, size_t n, const char *queue)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(g[i].queue, queue) == 0)
			return &g[i];
	return NULL;
}

/* Gauges for every queue seen in 30 days or waiting now (0 when idle). */
static void write_gauges(struct rd_refresh *r, const char *site, PGresult *month)
{
	struct rd_gauge *g = NULL;
	size_t n = r->gauges(r->arg, site, &g);

	for (int row = 0; month && row < PQntuples(month); row++) {
		const char *q = PQgetvalue(month, row, 1);
		const struct rd_gauge *x = find_gauge(g, n, q);

		if (!x)
			write_gauge(r, site, q, 0, 0);
	}
	for (size_t i = 0; i < n; i++)
		write_gauge(r, site, g[i].queue, g[i].waiting, g[i].oldest_entered);
	free(g);
}

static void write_mail_gauge(struct rd_refresh *r, const char *site, const struct rd_mail_gauge *g)
{
	char key[KEY_MAX], b[24], o[24], ob[24], now_s[24];
	int64_t now = time(NULL);
	int64_t age = g->backlog && now > g->oldest ? now - g->oldest : 0;
	struct rd_cache_field f[4] = {{"backlog", b},
	                              {"oldest_unanswered_s", o},
	                              {"oldest_unanswered_business_s", ob},
	                              {"updated_at", now_s}};

	if (make_key(key, site, "mail-live", g->mailbox, NULL) != 0)
		return;
	snprintf(b, sizeof(b), "%ld", g->backlog);
	snprintf(o, sizeof(o), "%lld", (long long)age);
	snprintf(ob, sizeof(ob), "%lld",
	         (long long)(g->backlog ? r->mail_business(r->arg, site, g->mailbox, g->oldest, now)
	                                : 0));
	iso8601(now, now_s, sizeof(now_s));
	rd_cache_put_hash(r->cache, key, f, 4, r->ttl_s);
}

/* Backlog of every mailbox seen in 30 days or with messages open now. */
static void write_mail_gauges(struct rd_refresh *r, const char *site, PGresult *month)
{
	struct rd_mail_gauge *g = NULL;
	size_t n = r->mail_gauges(r->arg, site, &g);

	for (int row = 0; month && row < PQntuples(month); row++) {
		const char *mb = PQgetvalue(month, row, 1);
		size_t k;

		for (k = 0; k < n && strcmp(g[k].mailbox, mb) != 0; k++)
			;
		if (k == n) {
			struct rd_mail_gauge zero = {mb, 0, 0};

			write_mail_gauge(r, site, &zero);
		}
	}
	for (size_t k = 0; k < n; k++)
		write_mail_gauge(r, site, &g[k]);
	free(g);
}

static void start_job(struct rd_refresh *r, struct site_state *ss);

static void window_done(struct rd_job *job)
{
	struct window_job *w = (struct window_job *)job;
	struct rd_refresh *r = w->r;
	struct site_state *ss = w->ss;

	if (job->status == RD_JOB_OK && r->observe)
		r->observe(r->observe_arg, ss->site, w->to, (const void *const *)w->res[0],
		           (const void *const *)w->res[1]);
	if (job->status == RD_JOB_OK && rd_cache_connected(r->cache)) {
		for (size_t f = 0; f < NFAMILIES; f++)
			write_windows(r, &families[f], ss->site, w->res[f], w->to);
		write_gauges(r, ss->site, w->res[0][NWINDOWS - 1]);
		write_mail_gauges(r, ss->site, w->res[1][NWINDOWS - 1]);
	} else if (job->status == RD_JOB_FAILED) {
		rd_err("refresh of site %s failed: %s", ss->site, job->err);
	}
	for (size_t f = 0; f < NFAMILIES; f++)
		for (size_t i = 0; i < NWINDOWS; i++)
			PQclear(w->res[f][i]);
	free(w);
	ss->running = 0;
	r->running--;
	if (ss->again) {
		ss->again = 0;
		start_job(r, ss);
	}
}

static void start_job(struct rd_refresh *r, struct site_state *ss)
{
	struct window_job *w = calloc(1, sizeof(*w));
	int64_t now = time(NULL);

	if (!w) {
		rd_err("refresh: out of memory");
		return;
	}
	w->job.run = window_run;
	w->job.done = window_done;
	w->r = r;
	w->ss = ss;
	w->to = now - now % 60 + 60; /* end of the current minute */
	ss->running = 1;
	r->running++;
	rd_ledger_submit(r->ledger, &w->job);
}

void rd_refresh_site(struct rd_refresh *r, const char *site)
{
	struct site_state *ss;

	for (ss = r->sites; ss; ss = ss->next)
		if (strcmp(ss->site, site) == 0)
			break;
	if (!ss) {
		ss = calloc(1, sizeof(*ss));
		if (!ss || !(ss->site = strdup(site))) {
			free(ss);
			return;
		}
		ss->next = r->sites;
		r->sites = ss;
	}
	if (ss->running)
		ss->again = 1;
	else
		start_job(r, ss);
}

void rd_refresh_health(struct rd_refresh *r, const char *site, const struct rd_daemon_health *h)
{
	char key[KEY_MAX], v[8][24], started[24], now_s[24];
	struct rd_cache_field f[10];
	const uint64_t nums[] = {(uint64_t)h->pid,  h->ledger_queued,  h->batches_in_flight,
	                         h->lines_accepted, h->lines_rejected, h->lines_unknown};
	static const char *const names[] = {"pid",
	                                    "postgres_queue",
	                                    "batches_in_flight",
	                                    "lines_accepted",
	                                    "lines_rejected",
	                                    "lines_unknown"};
	size_t n = 0;

	if (make_key(key, site, "daemon", NULL, NULL) != 0)
		return;
	for (size_t i = 0; i < 6; i++) {
		snprintf(v[i], sizeof(v[i]), "%llu", (unsigned long long)nums[i]);
		f[n++] = (struct rd_cache_field){names[i], v[i]};
	}
	iso8601(h->started_at, started, sizeof(started));
	iso8601(time(NULL), now_s, sizeof(now_s));
	f[n++] = (struct rd_cache_field){"version", h->version};
	f[n++] = (struct rd_cache_field){"started_at", started};
	f[n++] = (struct rd_cache_field){"updated_at", now_s};
	f[n++] = (struct rd_cache_field){"postgres",
	                                 h->postgres_connected ? "connected" : "disconnected"};
	rd_cache_put_hash(r->cache, key, f, n, r->ttl_s);
}

void rd_refresh_observe(struct rd_refresh *r, rd_windows_fn fn, void *arg)
{
	r->observe = fn;
	r->observe_arg = arg;
}

int rd_refresh_busy(const struct rd_refresh *r)
{
	struct rd_cache_stats st;

	rd_cache_get_stats(r->cache, &st);
	return r->running > 0 || (st.connected && st.inflight > 0);
}

struct rd_refresh *rd_refresh_new(struct rd_ledger *ledger, struct rd_cache *cache, int64_t ttl_s,
                                  rd_gauges_fn gauges, rd_mail_gauges_fn mail_gauges,
                                  rd_mail_business_fn mail_business, void *arg)
{
	struct rd_refresh *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ledger = ledger;
	r->cache = cache;
	r->ttl_s = ttl_s;
	r->gauges = gauges;
	r->mail_gauges = mail_gauges;
	r->mail_business = mail_business;
	r->arg = arg;
	return r;
}

/* Jobs still queued hold pointers to their site: free only after the
 * ledger has been freed (it completes or cancels every job). */
void rd_refresh_free(struct rd_refresh *r)
{
	struct site_state *ss, *next;

	if (!r)
		return;
	for (ss = r->sites; ss; ss = next) {
		next = ss->next;
		free(ss->site);
		free(ss);
	}
	free(r);
}
