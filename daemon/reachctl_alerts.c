/* reachctl_alerts.c - reachctl alerts: the alerts that need a look now
 * (reach.alert_state), the transitions of a recent period
 * (reach.alert_events) and what became of the mails (reach.alert_outbox).
 * docs/alerts.md#reachctl-alerts-and-silences describes the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_format.h"
#include "ctltime.h"
#include "reachctl.h"
#include "rule.h"
#include "strbuf.h"
#include "tz.h"

#define DEFAULT_PERIOD_S 86400
#define MAX_RECENT       100000

struct al {
	struct ctl *c;
	struct rd_tz *tz;
	struct rd_rules *rules; /* the configured rules: figures and severities */
	const char *since;      /* Unix seconds as text, or NULL with --recent */
	const char *limit;      /* --recent N, or NULL */
	char since_buf[24];
};

/* --- values and times ------------------------------------------------------ */

static json_t *utc_json(PGresult *r, int row, int col)
{
	char buf[32];

	if (PQgetisnull(r, row, col))
		return json_null();
	rd_ctltime_utc(buf, sizeof(buf), ctl_epoch(r, row, col));
	return json_string(buf);
}

static int is_true(PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* The figure of a rule: the configured one, else (a rule since removed
 * from the file) the one of its last recorded transition. */
static const struct rd_figure *rule_figure(struct al *a, const char *rule)
{
	const struct rd_rule *r = a->rules ? rd_rules_find(a->rules, rule) : NULL;
	const struct rd_figure *f = NULL;
	PGresult *res;

	if (r)
		return r->figure;
	res = ctl_exec(a->c,
	               "SELECT figure FROM reach.alert_events WHERE rule = $1"
	               " ORDER BY id DESC LIMIT 1",
	               1, &rule, PGRES_TUPLES_OK);
	if (res && PQntuples(res) == 1)
		f = rd_figure_find(PQgetvalue(res, 0, 0));
	PQclear(res);
	return f;
}

/* The value in the figure's unit ("62.5 %", "1 h 05 min"), or NULL when
 * there is no value; buf receives it. */
static const char *value_text(const struct rd_figure *f, PGresult *r, int row, int col, char *buf,
                              size_t len)
{
	double v;

	if (PQgetisnull(r, row, col))
		return NULL;
	v = strtod(PQgetvalue(r, row, col), NULL);
	if (f)
		rd_alert_format_value(buf, len, f->unit, v, "en");
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

static json_t *alert_json(struct al *a, PGresult *r, int row)
{
	const struct rd_rule *rule =
	    a->rules ? rd_rules_find(a->rules, PQgetvalue(r, row, S_RULE)) : NULL;
	const struct rd_figure *f = rule_figure(a, PQgetvalue(r, row, S_RULE));
	char vbuf[48];
	const char *vt = value_text(f, r, row, S_VALUE, vbuf, sizeof(vbuf));
	json_t *o = json_object();

	json_object_set_new(o, "rule", ctl_text(r, row, S_RULE));
	json_object_set_new(o, "site", ctl_text(r, row, S_SITE));
	json_object_set_new(o, "entity", ctl_text(r, row, S_ENTITY));
	json_object_set_new(o, "figure", f ? json_string(f->name) : json_null());
	json_object_set_new(o, "severity",
	                    rule && rule->severity ? json_string(rule->severity) : json_null());
	json_object_set_new(o, "status", ctl_text(r, row, S_STATUS));
	json_object_set_new(o, "level", ctl_text(r, row, S_LEVEL));
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
	return strcmp(json_string_value(json_object_get(o, "status")), status) == 0;
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

static int fill_alerts(struct al *a, json_t *root)
{
	static const char *const sections[] = {"firing", "pending", "flapping", "insufficient",
	                                       "silenced"};
	PGresult *r = ctl_exec(a->c, SQL_STATES, 0, NULL, PGRES_TUPLES_OK);
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
	return 0;
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
	return PQgetisnull(r, row, col) ? json_null() : json_integer(ctl_epoch(r, row, col));
}

/* A transition was mailed when nothing held it back, except "insufficient"
 * which is recorded only and never mailed (its quiet is NULL too). */
static int event_mailed(PGresult *r, int row)
{
	return PQgetisnull(r, row, E_QUIET) &&
	       strcmp(PQgetvalue(r, row, E_ACTION), "insufficient") != 0;
}

static json_t *event_json(PGresult *r, int row)
{
	const struct rd_figure *f = rd_figure_find(PQgetvalue(r, row, E_FIGURE));
	char vbuf[48];
	const char *vt = value_text(f, r, row, E_VALUE, vbuf, sizeof(vbuf));
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(ctl_epoch(r, row, E_ID)));
	json_object_set_new(o, "at", utc_json(r, row, E_AT));
	json_object_set_new(o, "rule", ctl_text(r, row, E_RULE));
	json_object_set_new(o, "site", ctl_text(r, row, E_SITE));
	json_object_set_new(o, "entity", ctl_text(r, row, E_ENTITY));
	json_object_set_new(o, "figure", ctl_text(r, row, E_FIGURE));
	json_object_set_new(o, "action", ctl_text(r, row, E_ACTION));
	json_object_set_new(o, "level", ctl_text(r, row, E_LEVEL));
	json_object_set_new(o, "value", real_or_null(r, row, E_VALUE));
	json_object_set_new(o, "value_text", vt ? json_string(vt) : json_null());
	json_object_set_new(o, "threshold", ctl_text(r, row, E_THRESHOLD));
	json_object_set_new(o, "window", ctl_text(r, row, E_WINDOW));
	json_object_set_new(o, "mailed", json_boolean(event_mailed(r, row)));
	json_object_set_new(o, "quiet", ctl_text(r, row, E_QUIET));
	json_object_set_new(o, "notice_id", int_or_null(r, row, E_NOTICE));
	json_object_set_new(o, "mail_id", int_or_null(r, row, E_MAIL));
	return o;
}

static int fill_events(struct al *a, json_t *root)
{
	const char *p[2] = {a->since, a->limit};
	PGresult *r = ctl_exec(a->c, SQL_EVENTS, 2, p, PGRES_TUPLES_OK);
	json_t *arr = json_array();

	if (!r) {
		json_decref(arr);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++)
		json_array_append_new(arr, event_json(r, row));
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

	json_object_set_new(o, "rcpt", ctl_text(r, row, M_RCPT));
	json_object_set_new(o, "state", ctl_text(r, row, M_STATE));
	json_object_set_new(o, "attempts", json_integer(ctl_epoch(r, row, M_ATTEMPTS)));
	json_object_set_new(o, "last_code", int_or_null(r, row, M_CODE));
	json_object_set_new(o, "last_reply", ctl_text(r, row, M_REPLY));
	json_object_set_new(o, "sent_at", utc_json(r, row, M_SENT));
	json_object_set_new(o, "next_try_at", queued ? utc_json(r, row, M_NEXT) : json_null());
	return o;
}

static json_t *mail_json(PGresult *r, int row)
{
	json_t *o = json_object();

	json_object_set_new(o, "mail_id", json_integer(ctl_epoch(r, row, M_MAIL)));
	json_object_set_new(o, "created_at", utc_json(r, row, M_CREATED));
	json_object_set_new(o, "group", ctl_text(r, row, M_GRP));
	json_object_set_new(o, "subject", ctl_text(r, row, M_SUBJECT));
	json_object_set_new(o, "message_id", ctl_text(r, row, M_MSGID));
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
	if (strcmp(st, "failed") == 0 || (strcmp(st, "queued") == 0 && strcmp(cur, "sent") == 0))
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
static int fill_notices(struct al *a, json_t *mails)
{
	char *ids = mail_ids(mails);
	const char *p[1] = {ids};
	PGresult *r;
	int rc;

	if (!ids) {
		fprintf(stderr, "reachctl: out of memory\n");
		return -1;
	}
	r = ctl_exec(a->c,
	             "SELECT mail_id, rule, site, entity, action, level FROM reach.alert_notices"
	             " WHERE mail_id = ANY($1::bigint[]) ORDER BY mail_id, id",
	             1, p, PGRES_TUPLES_OK);
	free(ids);
	for (int row = 0; r && row < PQntuples(r); row++) {
		json_t *m = mail_by_id(mails, ctl_epoch(r, row, 0));

		if (m)
			json_array_append_new(
			    json_object_get(m, "notices"),
			    json_pack("{s:o, s:o, s:o, s:o, s:o}", "rule", ctl_text(r, row, 1),
			              "site", ctl_text(r, row, 2), "entity", ctl_text(r, row, 3),
			              "action", ctl_text(r, row, 4), "level", ctl_text(r, row, 5)));
	}
	rc = r ? 0 : -1;
	PQclear(r);
	return rc;
}

static int fill_mails(struct al *a, json_t *root)
{
	const char *p[2] = {a->since, a->limit};
	PGresult *r = ctl_exec(a->c, SQL_MAILS, 2, p, PGRES_TUPLES_OK);
	json_t *arr = json_array(), *cur = NULL;

	if (!r) {
		json_decref(arr);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		if (!cur || json_integer_value(json_object_get(cur, "mail_id")) !=
		                ctl_epoch(r, row, M_MAIL)) {
			cur = mail_json(r, row);
			json_array_append_new(arr, cur);
		}
		mail_add_recipient(cur, r, row);
	}
	PQclear(r);
	json_object_set_new(root, "mails", arr);
	return fill_notices(a, arr);
}

/* --- text ---------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

/* A UTC time of the JSON in the site's local time. */
static void local_of(const struct al *a, const json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));
	char err[128];
	int64_t t;

	if (!s || rd_ctltime_parse(s, NULL, 0, 1, &t, err, sizeof(err)) != 0)
		snprintf(buf, len, "-");
	else
		rd_ctltime_local(buf, len, a->tz, t);
}

static void where(const json_t *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", jstr(o, "site"), jstr(o, "entity"));
}

/* "P2, silenced, flapping": what else to know about an alert. */
static void alert_flags(const json_t *o, char *buf, size_t len)
{
	const char *sev = json_string_value(json_object_get(o, "severity"));

	snprintf(buf, len, "%s%s%s%s", sev ? sev : "", jtrue(o, "silenced") ? ", silenced" : "",
	         jtrue(o, "flapping") ? ", flapping" : "",
	         jtrue(o, "insufficient") ? ", insufficient data" : "");
	if (!sev && buf[0] == ',')
		memmove(buf, buf + 2, strlen(buf + 2) + 1);
}

static int alert_row(const struct al *a, struct ctl_table *t, const json_t *o)
{
	char loc[80], since[48], flags[96];
	const char *state = jstatus(o, "firing") ? jstr(o, "level") : jstr(o, "status");
	const char *cells[6] = {loc, jstr(o, "rule"), state, jstr(o, "value_text"), since, flags};

	where(o, loc, sizeof(loc));
	local_of(a, o, "since", since + 6, sizeof(since) - 6);
	memcpy(since, "since ", 6);
	alert_flags(o, flags, sizeof(flags));
	return ctl_table_add(t, cells);
}

static int print_section(const struct al *a, const json_t *root, const char *key, const char *title)
{
	const json_t *arr = json_object_get(root, key);
	struct ctl_table t;
	size_t i;
	json_t *o;
	int rc = 0;

	if (json_array_size(arr) == 0)
		return 0;
	printf("%s (%zu)\n", title, json_array_size(arr));
	ctl_table_init(&t, 6);
	json_array_foreach(arr, i, o) rc |= alert_row(a, &t, o);
	ctl_table_print(&t, "  ");
	ctl_table_free(&t);
	putchar('\n');
	return rc;
}

static int print_alerts(const struct al *a, const json_t *root)
{
	static const char *const sec[][2] = {{"firing", "firing"},
	                                     {"pending", "pending"},
	                                     {"flapping", "flapping"},
	                                     {"insufficient", "insufficient data"},
	                                     {"silenced", "silenced"}};
	json_int_t quiet = json_integer_value(json_object_get(root, "silenced_inactive"));
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < sizeof(sec) / sizeof(sec[0]); i++) {
		n += json_array_size(json_object_get(root, sec[i][0]));
		rc |= print_section(a, root, sec[i][0], sec[i][1]);
	}
	if (n == 0)
		printf("no active alert\n\n");
	if (quiet)
		printf("%lld more alert%s silenced with nothing wrong\n\n", (long long)quiet,
		       quiet > 1 ? "s" : "");
	return rc;
}

/* "mailed", "not mailed: silenced", "recorded only" (insufficient). */
static const char *event_fate(const json_t *o, char *buf, size_t len)
{
	if (jtrue(o, "mailed"))
		return "mailed";
	if (!json_string_value(json_object_get(o, "quiet")))
		return "recorded only";
	snprintf(buf, len, "not mailed: %s", jstr(o, "quiet"));
	return buf;
}

static int event_row(const struct al *a, struct ctl_table *t, const json_t *o)
{
	char at[48], loc[80], th[80], fate[48];
	const char *win = json_string_value(json_object_get(o, "window"));
	const char *cells[8] = {at,
	                        loc,
	                        jstr(o, "rule"),
	                        jstr(o, "action"),
	                        jstr(o, "level"),
	                        jstr(o, "value_text"),
	                        th,
	                        event_fate(o, fate, sizeof(fate))};

	local_of(a, o, "at", at, sizeof(at));
	where(o, loc, sizeof(loc));
	snprintf(th, sizeof(th), "%s%s%s", jstr(o, "threshold"), win ? " over " : "",
	         win ? win : "");
	return ctl_table_add(t, cells);
}

static void period_title(const struct al *a, const char *what, size_t n)
{
	char since[48];

	if (a->limit) {
		printf("last %s %s (%zu)\n", a->limit, what, n);
		return;
	}
	rd_ctltime_local(since, sizeof(since), a->tz, strtoll(a->since, NULL, 10));
	printf("%s since %s (%zu)\n", what, since, n);
}

static int print_events(const struct al *a, const json_t *root)
{
	const json_t *arr = json_object_get(root, "recent");
	struct ctl_table t;
	size_t i;
	json_t *o;
	int rc = 0;

	period_title(a, "transitions", json_array_size(arr));
	ctl_table_init(&t, 8);
	json_array_foreach(arr, i, o) rc |= event_row(a, &t, o);
	ctl_table_print(&t, "  ");
	ctl_table_free(&t);
	putchar('\n');
	return rc;
}

static int rcpt_row(const struct al *a, struct ctl_table *t, const json_t *o)
{
	char tries[32], reply[600], when[64];
	json_int_t n = json_integer_value(json_object_get(o, "attempts"));
	const json_t *code = json_object_get(o, "last_code");
	const char *key =
	    json_string_value(json_object_get(o, "sent_at")) ? "sent_at" : "next_try_at";
	const char *cells[5] = {jstr(o, "rcpt"), jstr(o, "state"), tries, reply, when};

	snprintf(tries, sizeof(tries), "%lld attempt%s", (long long)n, n == 1 ? "" : "s");
	if (json_is_integer(code))
		snprintf(reply, sizeof(reply), "%lld %s", (long long)json_integer_value(code),
		         jstr(o, "last_reply"));
	else
		snprintf(reply, sizeof(reply), "%s", jstr(o, "last_reply"));
	snprintf(when, sizeof(when), "%s ", strcmp(key, "sent_at") == 0 ? "sent" : "next try");
	local_of(a, o, key, when + strlen(when), sizeof(when) - strlen(when));
	if (!json_string_value(json_object_get(o, key)))
		when[0] = '\0';
	return ctl_table_add(t, cells);
}

static void print_about(const json_t *mail)
{
	size_t i;
	json_t *n;

	json_array_foreach(json_object_get(mail, "notices"), i, n)
	{
		printf("    about %s/%s %s: %s %s\n", jstr(n, "site"), jstr(n, "entity"),
		       jstr(n, "rule"), jstr(n, "action"), jstr(n, "level"));
	}
}

static int print_mail(const struct al *a, const json_t *m)
{
	const char *st = jstr(m, "state");
	char created[48];
	struct ctl_table t;
	size_t i;
	json_t *o;
	int rc = 0;

	local_of(a, m, "created_at", created, sizeof(created));
	printf("  mail %lld  %s  %s  %s%s  %s\n",
	       (long long)json_integer_value(json_object_get(m, "mail_id")), created,
	       jstr(m, "group"), strcmp(st, "failed") == 0 ? "FAILED" : st,
	       jtrue(m, "digest") ? " (digest)" : "", jstr(m, "subject"));
	print_about(m);
	ctl_table_init(&t, 5);
	json_array_foreach(json_object_get(m, "recipients"), i, o) rc |= rcpt_row(a, &t, o);
	ctl_table_print(&t, "    ");
	ctl_table_free(&t);
	return rc;
}

static int print_mails(const struct al *a, const json_t *root)
{
	const json_t *arr = json_object_get(root, "mails");
	size_t i;
	json_t *m;
	int rc = 0;

	period_title(a, "mails", json_array_size(arr));
	json_array_foreach(arr, i, m) rc |= print_mail(a, m);
	return rc;
}

/* --- the command --------------------------------------------------------------- */

static void no_report(void *arg, const char *msg)
{
	/* rule errors are reachd -t's to report; such rules are left out */
}

/* --since and --recent into a->since / a->limit. 0, or 2. */
static int period(struct al *a)
{
	const struct ctl *c = a->c;
	int64_t now = (int64_t)time(NULL), t = now - DEFAULT_PERIOD_S;
	char err[256], *end;
	long long n;

	if (c->since && c->recent) {
		fprintf(stderr, "reachctl: alerts: --since or --recent, not both\n");
		return 2;
	}
	if (c->recent) {
		n = strtoll(c->recent, &end, 10);
		if (end == c->recent || *end || n < 1 || n > MAX_RECENT) {
			fprintf(stderr, "reachctl: alerts: --recent %s: a number from 1 to %d\n",
			        c->recent, MAX_RECENT);
			return 2;
		}
		a->limit = c->recent;
		return 0;
	}
	if (c->since && rd_ctltime_parse(c->since, a->tz, now, -1, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "reachctl: alerts: --since: %s\n", err);
		return 2;
	}
	snprintf(a->since_buf, sizeof(a->since_buf), "%lld", (long long)t);
	a->since = a->since_buf;
	return 0;
}

static int output(struct al *a, json_t *root)
{
	int rc;

	if (a->c->json)
		return ctl_print_json(root);
	rc = print_alerts(a, root);
	rc |= print_events(a, root);
	rc |= print_mails(a, root);
	return rc ? 1 : 0;
}

/* The period first, so that a reader sees what "recent" means. */
static void period_json(const struct al *a, json_t *root)
{
	char buf[32];

	if (a->since)
		rd_ctltime_utc(buf, sizeof(buf), strtoll(a->since, NULL, 10));
	json_object_set_new(root, "since", a->since ? json_string(buf) : json_null());
	json_object_set_new(root, "limit",
	                    a->limit ? json_integer(strtoll(a->limit, NULL, 10)) : json_null());
}

int ctl_alerts(struct ctl *c)
{
	struct al a = {.c = c};
	json_t *root = json_object();
	int rc = 2;

	if (c->nargs != 0) {
		fprintf(stderr, "reachctl: alerts takes no argument ('%s')\n", c->args[0]);
		json_decref(root);
		return 2;
	}
	a.tz = ctl_zone(c->cfg);
	if (period(&a) == 0) {
		/* the count of errors is reachd -t's business: valid rules are in */
		(void)rd_rules_load(c->cfg, &a.rules, no_report, NULL);
		period_json(&a, root);
		rc = fill_alerts(&a, root) || fill_events(&a, root) || fill_mails(&a, root)
		         ? 1
		         : output(&a, root);
	}
	json_decref(root);
	rd_rules_free(a.rules);
	rd_tz_free(a.tz);
	return rc;
}
