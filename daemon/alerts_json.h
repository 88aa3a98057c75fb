/* alerts_json.h - the alerts as JSON, one code path for every reader:
 * `reachctl alerts --json` and the HTTP API's /api/v1/alerts build the
 * same document here, from reach.alert_state, reach.alert_events and
 * reach.alert_outbox (docs/alerts.md#reachctl-alerts-and-silences).
 *
 * BLOCKING: it runs queries on pg. Call it from reachctl or from a ledger
 * job (the thread that owns the connection), never on the loop. */
#ifndef RD_ALERTS_JSON_H
#define RD_ALERTS_JSON_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

struct rd_rules;

struct rd_alerts_query {
	const struct rd_rules *rules; /* the configured rules (figures, severities); may be NULL */
	const char *since;            /* "recent" since these Unix seconds (text), or NULL */
	const char *limit;            /* or the last N transitions and mails (text), or NULL */
	const char *language;         /* of value_text: "fr" or "en" */
};

/* {"since", "limit", "firing", "pending", "flapping", "insufficient",
 * "silenced", "silenced_inactive", "recent", "mails"}. 0, or -1 with the
 * database's message in err; retryable is set when the connection, not the
 * query, failed. */
int rd_alerts_json(PGconn *pg, const struct rd_alerts_query *q, json_t **out, int *retryable,
                   char *err, size_t errlen);

#endif
