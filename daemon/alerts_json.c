/* alerts_json.c - see alerts_json.h. Moved from reachctl_alerts.c so that
 * the HTTP API answers with the very document reachctl prints. */
#include "alerts_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_format.h"
#include "ctltime.h"
#include "ledger.h"
#include "rule.h"
#include "strbuf.h"

struct aj {
	PGconn *pg;
	const struct rd_alerts_query *q;
	char *err;
	size_t errlen;
	int failed, retryable;
};

/* sql with text parameters; the result when its status is want, else NULL
 * with the reason kept (the first one only). */
static PGresult *exec(struct aj *a, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexecParams(a->pg, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	if (!a->failed) {
		snprintf(a->err, a->errlen, "%s", PQerrorMessage(a->pg));
		a->retryable = rd_pg_retryable(a->pg, r);
	}
	a->failed = 1;
	PQclear(r);
	return NULL;
}

static int64_t epoch(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static json_t *text(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

/* --- values and times ------------------------------------------------------ */

static json_t *utc_json(PGresult *r, int row, int col)
{
	char buf[32];

	if (PQgetisnull(r, row, col))
		return json_null();
	rd_ctltime_utc(buf, sizeof(buf), epoch(r, row, col));
	return json_string(buf);
}

static int is_true(PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* The figure of a rule: the configured one, else (a rule since removed
 * from the file) the one of its last recorded transition. */
static const struct rd_figure *rule_figure(struct aj *a, const char *rule)
{
	const struct rd_rule *r = a->q->rules ? rd_rules_find(a->q->rules, rule) : NULL;
	const struct rd_figure *f = NULL;
	PGresult *res;

	if (r)
		return r->figure;
	res = exec(a,
	           "SELECT figure FROM reach.alert_events WHERE rule = $1"
	           " ORDER BY id DESC LIMIT 1",
	           1, &rule);
	if (res && PQntuples(res) == 1)
		f = rd_figure_find(PQgetvalue(res, 0, 0));
	PQclear(res);
	return f;
}

/* The value in the figure's unit ("62.5 %", "1 h 05 min"), or NULL when
 * there is no value; buf receives it. */
static const char *value_text(const struct aj *a, const struct rd_figure *f, PGresult *r, int row,
                              int col, char *buf, size_t len)
{
	double v;

	if (PQgetisnull(r, row, col))
		return NULL;
	v = strtod(PQgetvalue(r, row, col), NULL);
	if (f)
		rd_alert_format_value(buf, len, f->unit, v, a->q->language);
	else
		snprintf(buf, len, "%g", v);
	return buf;
}

static json_t *real_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null()
	                                : json_real(strtod(PQgetvalue(r, row, col), NULL));
}

/* --- the alerts now ---------------------------------------------------------- */

static const char SQL_STATES[] =
    "SELECT rule, site, entity, status, level, extract(epoch FROM since)::bigint, value,"
    " flapping, insufficient, silenced, extract(epoch FROM updated_at)::bigint"
    " FROM reach.alert_state"
    " WHERE status IN ('pending', 'firing') OR flapping OR insufficient OR silenced"
    " ORDER BY site, rule, entity";

enum {
	S_RULE,
	S_SITE,
	S_ENTITY,
	S_STATUS,
	S_LEVEL,
	S_SINCE,
	S_VALUE,
	S_FLAP,
	S_INSUF,
	S_SIL,
	S_UPD
};

static json_t *alert_json(struct aj *a, PGresult *r, int row)
{
	const struct rd_rule *rule =
	    a->q->rules ? rd_rules_find(a->q->rules, PQgetvalue(r, row, S_RULE)) : NULL;
	const struct rd_figure *f = rule_figure(a, PQgetvalue(r, row, S_RULE));
	char vbuf[48];
	const char *vt = value_text(a, f, r, row, S_VALUE, vbuf, sizeof(vbuf));
	json_t *o = json_object();

	json_object_set_new(o, "rule", text(r, row, S_RULE));
	json_object_set_new(o, "site", text(r, row, S_SITE));
	json_object_set_new(o, "entity", text(r, row, S_ENTITY));
	json_object_set_new(o, "figure", f ? json_string(f->name) : json_null());
	json_object_set_new(o, "severity",
	                    rule && rule->severity ? json_string(rule->severity) : json_null());
	json_object_set_new(o, "status", text(r, row, S_STATUS));
	json_object_set_new(o, "level", text(r, row, S_LEVEL));
	json_object_set_new(o, "since", utc_json(r, row, S_SINCE));
	json_object_set_new(o, "value", real_or_null(r, row, S_VALUE));
	json_object_set_new(o, "value_text", vt ? json_string(vt) : json_null());
	json_object_set_new(o, "flapping", json_boolean(is_true(r, row, S_FLAP)));
	json_object_set_new(o, "insufficient", json_boolean(is_true(r, row, S_INSUF)));
	json_object_set_new(o, "silenced", json_boolean(is_true(r, row, S_SIL)));
	json_object_set_new(o, "updated_at", utc_json(r, row, S_UPD));
	return o;
}

static int jtrue(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static int jstatus(const json_t *o, const char *status)
{
	const char *s = json_string_value(json_object_get(o, "status"));

	return s && strcmp(s, status) == 0;
}

/* An alert is active when it is pending or firing, flaps or lacks data. */
static int active(const json_t *o)
{
	return jstatus(o, "pending") || jstatus(o, "firing") || jtrue(o, "flapping") ||
	       jtrue(o, "insufficient");
}

/* Sort each alert into every section it belongs to. */
static void sort_alert(json_t *root, json_t *o)
{
	if (jstatus(o, "firing"))
		json_array_append(json_object_get(root, "firing"), o);
	if (jstatus(o, "pending"))
		json_array_append(json_object_get(root, "pending"), o);
	if (jtrue(o, "flapping"))
		json_array_append(json_object_get(root, "flapping"), o);
	if (jtrue(o, "insufficient"))
		json_array_append(json_object_get(root, "insufficient"), o);
	if (jtrue(o, "silenced") && active(o))
		json_array_append(json_object_get(root, "silenced"), o);
}

static int fill_alerts(struct aj *a, json_t *root)
{
	static const char *const sections[] = {"firing", "pending", "flapping", "insufficient",
	                                       "silenced"};
	PGresult *r = exec(a, SQL_STATES, 0, NULL);
	json_int_t quiet = 0;

	if (!r)
		return -1;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		json_object_set_new(root, sections[i], json_array());
	for (int row = 0; row < PQntuples(r); row++) {
		json_t *o = alert_json(a, r, row);

		if (active(o))
			sort_alert(root, o);
		else
			quiet++; /* silenced, nothing wrong: counted, not listed */
		json_decref(o);
	}
	json_object_set_new(root, "silenced_inactive", json_integer(quiet));
	PQclear(r);
	return a->failed ? -1 : 0;
}

/* --- recent transitions ------------------------------------------------------ */

/* $1: since (Unix seconds) or NULL; $2: at most this many, or NULL. */
static const char SQL_EVENTS[] =
    "SELECT e.id, extract(epoch FROM e.at)::bigint, e.rule, e.site, e.entity, e.figure,"
    " e.action, e.level, e.value, e.threshold, e.window_name, e.quiet, e.notice_id,"
    " n.mail_id FROM reach.alert_events e"
    " LEFT JOIN reach.alert_notices n ON n.id = e.notice_id"
    " WHERE $1::bigint IS NULL OR e.at >= to_timestamp($1::bigint)"
    " ORDER BY e.at DESC, e.id DESC LIMIT $2::bigint";

enum {
	E_ID,
	E_AT,
	E_RULE,
	E_SITE,
	E_ENTITY,
	E_FIGURE,
	E_ACTION,
	E_LEVEL,
	E_VALUE,
	E_THRESHOLD,
	E_WINDOW,
	E_QUIET,
	E_NOTICE,
	E_MAIL
};

static json_t *int_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null() : json_integer(epoch(r, row, col));
}

/* A transition was mailed when nothing held it back, except "insufficient"
 * which is recorded only and never mailed (its quiet is NULL too). */
static int event_mailed(PGresult *r, int row)
{
	return PQgetisnull(r, row, E_QUIET) &&
	       strcmp(PQgetvalue(r, row, E_ACTION), "insufficient") != 0;
}

static json_t *event_json(const struct aj *a, PGresult *r, int row)
{
	const struct rd_figure *f = rd_figure_find(PQgetvalue(r, row, E_FIGURE));
	char vbuf[48];
	const char *vt = value_text(a, f, r, row, E_VALUE, vbuf, sizeof(vbuf));
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(epoch(r, row, E_ID)));
	json_object_set_new(o, "at", utc_json(r, row, E_AT));
	json_object_set_new(o, "rule", text(r, row, E_RULE));
	json_object_set_new(o, "site", text(r, row, E_SITE));
	json_object_set_new(o, "entity", text(r, row, E_ENTITY));
	json_object_set_new(o, "figure", text(r, row, E_FIGURE));
	json_object_set_new(o, "action", text(r, row, E_ACTION));
	json_object_set_new(o, "level", text(r, row, E_LEVEL));
	json_object_set_new(o, "value", real_or_null(r, row, E_VALUE));
	json_object_set_new(o, "value_text", vt ? json_string(vt) : json_null());
	json_object_set_new(o, "threshold", text(r, row, E_THRESHOLD));
	json_object_set_new(o, "window", text(r, row, E_WINDOW));
	json_object_set_new(o, "mailed", json_boolean(event_mailed(r, row)));
	json_object_set_new(o, "quiet", text(r, row, E_QUIET));
	json_object_set_new(o, "notice_id", int_or_null(r, row, E_NOTICE));
	json_object_set_new(o, "mail_id", int_or_null(r, row, E_MAIL));
	return o;
}

static int fill_events(struct aj *a, json_t *root)
{
	const char *p[2] = {a->q->since, a->q->limit};
	PGresult *r = exec(a, SQL_EVENTS, 2, p);
	json_t *arr = json_array();

	if (!r) {
		json_decref(arr);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++)
		json_array_append_new(arr, event_json(a, r, row));
	json_object_set_new(root, "recent", arr);
	PQclear(r);
	return 0;
}

/* --- mails ------------------------------------------------------------------- */

/* The mails of the period, and older ones still queued (they matter
 * most), newest first; one row per recipient. $1, $2: as SQL_EVENTS. */
static const char SQL_MAILS[] =
    "WITH m AS (SELECT mail_id, min(created_at) AS created_at FROM reach.alert_outbox"
    " GROUP BY mail_id HAVING $1::bigint IS NULL OR min(created_at) >= to_timestamp($1::bigint)"
    " OR bool_or(state = 'queued') ORDER BY 2 DESC, 1 DESC LIMIT $2::bigint)"
    " SELECT o.mail_id, extract(epoch FROM m.created_at)::bigint, o.grp, o.subject,"
    " o.message_id, o.digest, o.rcpt, o.state, o.attempts, o.last_code, o.last_reply,"
    " extract(epoch FROM o.sent_at)::bigint, extract(epoch FROM o.next_try_at)::bigint"
    " FROM reach.alert_outbox o JOIN m USING (mail_id)"
    " ORDER BY m.created_at DESC, o.mail_id DESC, o.id";

enum {
	M_MAIL,
	M_CREATED,
	M_GRP,
	M_SUBJECT,
	M_MSGID,
	M_DIGEST,
	M_RCPT,
	M_STATE,
	M_ATTEMPTS,
	M_CODE,
	M_REPLY,
	M_SENT,
	M_NEXT
};

static json_t *recipient_json(PGresult *r, int row)
{
	int queued = strcmp(PQgetvalue(r, row, M_STATE), "queued") == 0;
	json_t *o = json_object();

	json_object_set_new(o, "rcpt", text(r, row, M_RCPT));
	json_object_set_new(o, "state", text(r, row, M_STATE));
	json_object_set_new(o, "attempts", json_integer(epoch(r, row, M_ATTEMPTS)));
	json_object_set_new(o, "last_code", int_or_null(r, row, M_CODE));
	json_object_set_new(o, "last_reply", text(r, row, M_REPLY));
	json_object_set_new(o, "sent_at", utc_json(r, row, M_SENT));
	json_object_set_new(o, "next_try_at", queued ? utc_json(r, row, M_NEXT) : json_null());
	return o;
}

static json_t *mail_json(PGresult *r, int row)
{
	json_t *o = json_object();

	json_object_set_new(o, "mail_id", json_integer(epoch(r, row, M_MAIL)));
	json_object_set_new(o, "created_at", utc_json(r, row, M_CREATED));
	json_object_set_new(o, "group", text(r, row, M_GRP));
	json_object_set_new(o, "subject", text(r, row, M_SUBJECT));
	json_object_set_new(o, "message_id", text(r, row, M_MSGID));
	json_object_set_new(o, "digest", json_boolean(is_true(r, row, M_DIGEST)));
	json_object_set_new(o, "state", json_string("sent"));
	json_object_set_new(o, "recipients", json_array());
	json_object_set_new(o, "notices", json_array());
	return o;
}

/* A mail is failed if one recipient failed, else queued if one is. */
static void mail_add_recipient(json_t *mail, PGresult *r, int row)
{
	const char *st = PQgetvalue(r, row, M_STATE);
	const char *cur = json_string_value(json_object_get(mail, "state"));

	json_array_append_new(json_object_get(mail, "recipients"), recipient_json(r, row));
	if (strcmp(st, "failed") == 0 ||
	    (strcmp(st, "queued") == 0 && cur && strcmp(cur, "sent") == 0))
		json_object_set_new(mail, "state", json_string(st));
}

/* "{12,11}": the mails' ids as a PostgreSQL array, or NULL out of memory. */
static char *mail_ids(json_t *mails)
{
	struct rd_sb sb = {0};
	size_t i;
	json_t *m;
	char *out;

	rd_sb_addc(&sb, '{');
	json_array_foreach(mails, i, m)
	{
		char num[24];

		snprintf(num, sizeof(num), "%s%lld", i ? "," : "",
		         (long long)json_integer_value(json_object_get(m, "mail_id")));
		rd_sb_adds(&sb, num);
	}
	rd_sb_addc(&sb, '}');
	return rd_sb_finish(&sb, &out) == 0 ? out : NULL;
}

static json_t *mail_by_id(json_t *mails, int64_t id)
{
	size_t i;
	json_t *m;

	json_array_foreach(mails, i, m)
	{
		if (json_integer_value(json_object_get(m, "mail_id")) == id)
			return m;
	}
	return NULL;
}

/* What each mail told: its notices (rule, entity, action, level). */
static int fill_notices(struct aj *a, json_t *mails)
{
	char *ids = mail_ids(mails);
	const char *p[1] = {ids};
	PGresult *r;
	int rc;

	if (!ids) {
		snprintf(a->err, a->errlen, "out of memory\n");
		return -1;
	}
	r = exec(a,
	         "SELECT mail_id, rule, site, entity, action, level FROM reach.alert_notices"
	         " WHERE mail_id = ANY($1::bigint[]) ORDER BY mail_id, id",
	         1, p);
	free(ids);
	for (int row = 0; r && row < PQntuples(r); row++) {
		json_t *m = mail_by_id(mails, epoch(r, row, 0));

		if (m)
			json_array_append_new(json_object_get(m, "notices"),
			                      json_pack("{s:o, s:o, s:o, s:o, s:o}", "rule",
			                                text(r, row, 1), "site", text(r, row, 2),
			                                "entity", text(r, row, 3), "action",
			                                text(r, row, 4), "level", text(r, row, 5)));
	}
	rc = r ? 0 : -1;
	PQclear(r);
	return rc;
}

static int fill_mails(struct aj *a, json_t *root)
{
	const char *p[2] = {a->q->since, a->q->limit};
	PGresult *r = exec(a, SQL_MAILS, 2, p);
	json_t *arr = json_array(), *cur = NULL;

	if (!r) {
		json_decref(arr);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		if (!cur ||
		    json_integer_value(json_object_get(cur, "mail_id")) != epoch(r, row, M_MAIL)) {
			cur = mail_json(r, row);
			json_array_append_new(arr, cur);
		}
		mail_add_recipient(cur, r, row);
	}
	PQclear(r);
	json_object_set_new(root, "mails", arr);
	return fill_notices(a, arr);
}

/* The period first, so that a reader sees what "recent" means. */
static void period_json(const struct rd_alerts_query *q, json_t *root)
{
	char buf[32];

	if (q->since)
		rd_ctltime_utc(buf, sizeof(buf), strtoll(q->since, NULL, 10));
	json_object_set_new(root, "since", q->since ? json_string(buf) : json_null());
	json_object_set_new(root, "limit",
	                    q->limit ? json_integer(strtoll(q->limit, NULL, 10)) : json_null());
}

int rd_alerts_json(PGconn *pg, const struct rd_alerts_query *q, json_t **out, int *retryable,
                   char *err, size_t errlen)
{
	struct aj a = {.pg = pg, .q = q, .err = err, .errlen = errlen};
	json_t *root = json_object();

	*out = NULL;
	*retryable = 0;
	if (!root) {
		snprintf(err, errlen, "out of memory\n");
		return -1;
	}
	period_json(q, root);
	if (fill_alerts(&a, root) || fill_events(&a, root) || fill_mails(&a, root)) {
		*retryable = a.retryable;
		json_decref(root);
		return -1;
	}
	*out = root;
	return 0;
}
