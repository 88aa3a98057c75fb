/* indicators.c - see indicators.h. The period is settled by PostgreSQL in
 * one statement (so reachctl, the API and the Redis windows widen it to
 * whole minutes the same way), then the figures come from the SQL
 * functions and views of sql/, never recomputed here. */
#include "indicators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT4OID    23
#define INT8OID    20
#define FLOAT8OID  701
#define NUMERICOID 1700

/* from, to as ISO text, then as timestamptz: a window ending now, or the
 * given bounds, or the last 24 hours (default span: $4). */
static const char SQL_PERIOD[] =
    "SELECT to_char(f, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(t, "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), f, t"
    " FROM (SELECT date_trunc('minute', coalesce($1::timestamptz, t0 - $3::interval)) f,"
    " date_trunc('minute', coalesce($2::timestamptz, t0) + interval '59.999999 seconds') t"
    " FROM (SELECT coalesce($2::timestamptz, now()) t0) z) x";

static const char *const windows[] = {"15m", "1h", "24h", "7d", "30d", NULL};
static const char *const spans[] = {"15 minutes", "1 hour", "24 hours", "7 days", "30 days"};

json_t *rd_pg_cell_json(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);

	if (PQgetisnull(r, row, col))
		return json_null();
	switch (PQftype(r, col)) {
	case INT4OID:
	case INT8OID: return json_integer(strtoll(v, NULL, 10));
	case FLOAT8OID:
	case NUMERICOID: return json_real(strtod(v, NULL));
	default: return json_string(v);
	}
}

/* A failed statement: a data exception (SQLSTATE class 22, e.g. a bad
 * timestamp) is the caller's mistake; anything else the database's. */
static enum rd_ind_status failed(PGresult *r, PGconn *pg, char *err, size_t errlen)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int bad = state && strncmp(state, "22", 2) == 0;

	snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(pg));
	err[strcspn(err, "\n")] = '\0';
	PQclear(r);
	return bad ? RD_IND_BAD_REQUEST : RD_IND_DB_ERROR;
}

static PGresult *run(PGconn *pg, const char *sql, int n, const char *const *p,
                     enum rd_ind_status *st, char *err, size_t errlen)
{
	PGresult *r = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	*st = failed(r, pg, err, errlen);
	return NULL;
}

/* The window's span, or NULL with *bad set when it is not one we keep. */
static const char *window_span(const char *w, int *bad)
{
	for (int i = 0; windows[i]; i++)
		if (strcmp(windows[i], w) == 0)
			return spans[i];
	*bad = 1;
	return NULL;
}

/* The period of q: row 0 of a result (from, to as text and timestamptz). */
static PGresult *period(PGconn *pg, const struct rd_ind_query *q, const char *dflt,
                        enum rd_ind_status *st, char *err, size_t errlen)
{
	const char *p[3] = {q->from, q->to, dflt};
	int bad = 0;

	if (q->window) {
		if (q->from || q->to) {
			snprintf(err, errlen, "window cannot be combined with from or to");
			*st = RD_IND_BAD_REQUEST;
			return NULL;
		}
		p[2] = window_span(q->window, &bad);
		if (bad) {
			snprintf(err, errlen, "window must be 15m, 1h, 24h, 7d or 30d, not '%s'",
			         q->window);
			*st = RD_IND_BAD_REQUEST;
			return NULL;
		}
	}
	return run(pg, SQL_PERIOD, 3, p, st, err, errlen);
}

/* One object per row: site, the entity, the period, every figure. */
static json_t *rows_json(const PGresult *r, const char *entity, const char *from, const char *to)
{
	json_t *arr = json_array();

	for (int row = 0; arr && row < PQntuples(r); row++) {
		json_t *o = json_object();

		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
		json_object_set_new(o, "site", json_string(PQgetvalue(r, row, 0)));
		json_object_set_new(o, entity, json_string(PQgetvalue(r, row, 1)));
		if (from) {
			json_object_set_new(o, "from", json_string(from));
			json_object_set_new(o, "to", json_string(to));
		}
		for (int col = 2; col < PQnfields(r); col++)
			json_object_set_new(o, PQfname(r, col), rd_pg_cell_json(r, row, col));
	}
	return arr;
}

static json_t *root_json(const char *from, const char *to, const char *window, const char *grain)
{
	json_t *root = json_object();

	if (!root)
		return NULL;
	if (grain)
		json_object_set_new(root, "grain", json_string(grain));
	json_object_set_new(root, "from", json_string(from));
	json_object_set_new(root, "to", json_string(to));
	if (!grain)
		json_object_set_new(root, "window", window ? json_string(window) : json_null());
	return root;
}

/* Fill root's calls and mail from the two results (either may be NULL:
 * an empty array). */
static enum rd_ind_status finish(json_t *root, PGresult *calls, PGresult *mail, const char *from,
                                 const char *to, json_t **out, char *err, size_t errlen)
{
	json_t *c = calls ? rows_json(calls, "queue", from, to) : json_array();
	json_t *m = mail ? rows_json(mail, "mailbox", from, to) : json_array();

	PQclear(calls);
	PQclear(mail);
	if (!root || !c || !m || json_object_set_new(root, "calls", c) != 0 ||
	    json_object_set_new(root, "mail", m) != 0) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return RD_IND_DB_ERROR;
	}
	*out = root;
	return RD_IND_OK;
}

enum rd_ind_status rd_indicators_json(PGconn *pg, const struct rd_ind_query *q, json_t **out,
                                      char *err, size_t errlen)
{
	enum rd_ind_status st = RD_IND_OK;
	PGresult *per = period(pg, q, "24 hours", &st, err, errlen), *calls = NULL, *mail = NULL;
	const char *p[4];
	char from[32], to[32];

	*out = NULL;
	if (!per)
		return st;
	snprintf(from, sizeof(from), "%s", PQgetvalue(per, 0, 0));
	snprintf(to, sizeof(to), "%s", PQgetvalue(per, 0, 1));
	p[0] = q->site;
	p[1] = PQgetvalue(per, 0, 2);
	p[2] = PQgetvalue(per, 0, 3);
	/* a queue alone asks for calls only, a mailbox alone for mail only */
	p[3] = q->mailbox && !q->queue ? "" : q->queue;
	calls = run(pg,
	            "SELECT * FROM reach.call_indicators($1, $2, $3)"
	            " WHERE $4::text IS NULL OR queue = $4",
	            4, p, &st, err, errlen);
	p[3] = q->queue && !q->mailbox ? "" : q->mailbox;
	mail = calls ? run(pg,
	                   "SELECT * FROM reach.mail_indicators($1, $2, $3)"
	                   " WHERE $4::text IS NULL OR mailbox = $4",
	                   4, p, &st, err, errlen)
	             : NULL;
	PQclear(per);
	if (!calls || !mail) {
		PQclear(calls);
		PQclear(mail);
		return st;
	}
	return finish(root_json(from, to, q->window, NULL), calls, mail, from, to, out, err,
	              errlen);
}

/* The views' rows in [from, to): hours by their UTC start, days by their
 * date in the site's time zone. */
static const char SQL_SERIES_CALLS[] =
    "SELECT v.site, v.queue, %s AS bucket, v.offered, v.answered, v.abandoned,"
    " v.short_abandoned, v.timed_out, v.transferred, v.ivr_handled, v.answered_rate,"
    " v.global_rate, v.abandon_rate, v.service_level, v.asa_s, v.wait_p50_s, v.wait_p90_s,"
    " v.talk_avg_s FROM reach.call_indicators_%s v LEFT JOIN reach.sites s USING (site)"
    " WHERE ($1::text IS NULL OR v.site = $1) AND ($4::text IS NULL OR v.queue = $4)"
    " AND v.period_start >= %s AND v.period_start < %s ORDER BY 1, 2, 3";
static const char SQL_SERIES_MAIL[] =
    "SELECT v.site, v.mailbox, %s AS bucket, v.received, v.automatic, v.rejected,"
    " v.acknowledged, v.ack_rate, v.replied, v.replied_within_target, v.closed,"
    " v.reply_delay_avg_s, v.reply_delay_p50_s, v.reply_delay_p90_s, v.reply_delay_max_s,"
    " v.reply_delay_business_avg_s FROM reach.mail_indicators_%s v"
    " LEFT JOIN reach.sites s USING (site)"
    " WHERE ($1::text IS NULL OR v.site = $1) AND ($4::text IS NULL OR v.mailbox = $4)"
    " AND v.period_start >= %s AND v.period_start < %s ORDER BY 1, 2, 3";
/* buckets: an hour as ISO 8601 UTC, a day as its date in the site's zone */
#define HOUR_BUCKET "to_char(v.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define DAY_BUCKET  "to_char(v.period_start, 'YYYY-MM-DD')"
#define HOUR_LO     "$2::timestamptz"
#define HOUR_HI     "$3::timestamptz"
#define DAY_LO      "($2::timestamptz AT TIME ZONE coalesce(s.timezone, 'Europe/Paris'))::date"
#define DAY_HI      "($3::timestamptz AT TIME ZONE coalesce(s.timezone, 'Europe/Paris'))::date + 1"

enum rd_ind_status rd_series_json(PGconn *pg, const struct rd_ind_query *q, json_t **out, char *err,
                                  size_t errlen)
{
	enum rd_ind_status st = RD_IND_OK;
	int day = q->grain && strcmp(q->grain, "day") == 0;
	const char *view = day ? "daily" : "hourly";
	PGresult *per, *calls, *mail = NULL;
	char sql[2048], from[32], to[32];
	const char *p[4];

	*out = NULL;
	if (q->grain && !day && strcmp(q->grain, "hour") != 0) {
		snprintf(err, errlen, "grain must be hour or day, not '%s'", q->grain);
		return RD_IND_BAD_REQUEST;
	}
	per = period(pg, q, day ? "30 days" : "24 hours", &st, err, errlen);
	if (!per)
		return st;
	snprintf(from, sizeof(from), "%s", PQgetvalue(per, 0, 0));
	snprintf(to, sizeof(to), "%s", PQgetvalue(per, 0, 1));
	p[0] = q->site;
	p[1] = PQgetvalue(per, 0, 2);
	p[2] = PQgetvalue(per, 0, 3);
	p[3] = q->mailbox && !q->queue ? "" : q->queue;
	snprintf(sql, sizeof(sql), SQL_SERIES_CALLS, day ? DAY_BUCKET : HOUR_BUCKET, view,
	         day ? DAY_LO : HOUR_LO, day ? DAY_HI : HOUR_HI);
	calls = run(pg, sql, 4, p, &st, err, errlen);
	p[3] = q->queue && !q->mailbox ? "" : q->mailbox;
	snprintf(sql, sizeof(sql), SQL_SERIES_MAIL, day ? DAY_BUCKET : HOUR_BUCKET, view,
	         day ? DAY_LO : HOUR_LO, day ? DAY_HI : HOUR_HI);
	if (calls)
		mail = run(pg, sql, 4, p, &st, err, errlen);
	PQclear(per);
	if (!calls || !mail) {
		PQclear(calls);
		PQclear(mail);
		return st;
	}
	return finish(root_json(from, to, NULL, day ? "day" : "hour"), calls, mail, NULL, NULL, out,
	              err, errlen);
}
