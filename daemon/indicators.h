/* indicators.h - the figures as JSON, one code path for every reader:
 * `reachctl indicators --json` and the HTTP API (`/api/v1/indicators`,
 * `/api/v1/series`) call these same functions, so they agree to the unit.
 *
 * BLOCKING: they run queries on pg. Call them from reachctl or from a
 * ledger job (the thread that owns the connection), never on the loop. */
#ifndef RD_INDICATORS_H
#define RD_INDICATORS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* NULL fields mean "all" (site, queue, mailbox) or "default" (period). */
struct rd_ind_query {
	const char *site, *queue, *mailbox;
	/* window "15m", "1h", "24h", "7d" or "30d" ending now; or from/to (ISO
	 * 8601 or anything PostgreSQL reads as a timestamptz); default: the
	 * last 24 hours. Periods are widened to whole minutes. */
	const char *window, *from, *to;
	const char *grain; /* series: "hour" or "day" */
};

enum rd_ind_status {
	RD_IND_OK = 0,
	RD_IND_BAD_REQUEST = 1, /* a parameter is wrong: err says which */
	RD_IND_DB_ERROR = 2,    /* the query failed (connection...): err */
};

/* {"from", "to", "window", "calls": [...], "mail": [...]}: every figure of
 * reach.call_indicators and reach.mail_indicators for the period, one
 * object per queue and per mailbox, under its column name. --queue alone
 * asks for calls only, --mailbox alone for mail only. */
enum rd_ind_status rd_indicators_json(PGconn *pg, const struct rd_ind_query *q, json_t **out,
                                      char *err, size_t errlen);

/* {"grain", "from", "to", "calls": [{site, queue, bucket, ...}], "mail":
 * [...]} from the hourly or daily views; default period: the last 24 hours
 * (hour) or 30 days (day). */
enum rd_ind_status rd_series_json(PGconn *pg, const struct rd_ind_query *q, json_t **out, char *err,
                                  size_t errlen);

/* A result cell as JSON, typed from its column (numbers, null, text). */
json_t *rd_pg_cell_json(const PGresult *r, int row, int col);

#endif
