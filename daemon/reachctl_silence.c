/* reachctl_silence.c - reachctl silence add, list and remove: rows of
 * reach.silences, which the daemon reads after each evaluation round and
 * matches with rd_silence_matches (docs/alerts.md#silences). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctltime.h"
#include "reachctl.h"
#include "tz.h"

/* Every silence with its state now; $1: one id or NULL, $2: include the
 * expired and removed ones. */
static const char SQL_LIST[] =
    "SELECT id, rule_glob, scope_glob, extract(epoch FROM starts_at)::bigint,"
    " extract(epoch FROM until)::bigint, created_by, reason,"
    " CASE WHEN removed_at IS NOT NULL THEN 'removed' WHEN until <= now() THEN 'expired'"
    " WHEN starts_at > now() THEN 'future' ELSE 'active' END,"
    " extract(epoch FROM created_at)::bigint, extract(epoch FROM removed_at)::bigint"
    " FROM reach.silences WHERE ($1::bigint IS NULL OR id = $1)"
    " AND ($2::boolean OR (removed_at IS NULL AND until > now())) ORDER BY id";

enum { L_ID, L_RULE, L_SCOPE, L_FROM, L_UNTIL, L_BY, L_REASON, L_STATE, L_CREATED, L_REMOVED };

static json_t *utc_or_null(PGresult *r, int row, int col)
{
	char buf[32];

	if (PQgetisnull(r, row, col))
		return json_null();
	rd_ctltime_utc(buf, sizeof(buf), ctl_epoch(r, row, col));
	return json_string(buf);
}

static json_t *silence_json(PGresult *r, int row)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(ctl_epoch(r, row, L_ID)));
	json_object_set_new(o, "rule", ctl_text(r, row, L_RULE));
	json_object_set_new(o, "scope", ctl_text(r, row, L_SCOPE));
	json_object_set_new(o, "from", utc_or_null(r, row, L_FROM));
	json_object_set_new(o, "until", utc_or_null(r, row, L_UNTIL));
	json_object_set_new(o, "state", ctl_text(r, row, L_STATE));
	json_object_set_new(o, "created_by", ctl_text(r, row, L_BY));
	json_object_set_new(o, "created_at", utc_or_null(r, row, L_CREATED));
	json_object_set_new(o, "removed_at", utc_or_null(r, row, L_REMOVED));
	json_object_set_new(o, "reason", ctl_text(r, row, L_REASON));
	return o;
}

static int print_list_json(PGresult *r)
{
	json_t *arr = json_array();
	int rc;

	for (int row = 0; row < PQntuples(r); row++)
		json_array_append_new(arr, silence_json(r, row));
	rc = ctl_print_json(arr);
	json_decref(arr);
	return rc;
}

/* One row of the text table; 0, or -1 out of memory. */
static int add_row(struct ctl_table *t, PGresult *r, int row, const struct rd_tz *tz)
{
	char from[40], until[40];
	const char *cells[8] = {PQgetvalue(r, row, L_ID),
	                        PQgetvalue(r, row, L_RULE),
	                        PQgetvalue(r, row, L_SCOPE),
	                        from,
	                        until,
	                        PQgetvalue(r, row, L_BY),
	                        PQgetvalue(r, row, L_STATE),
	                        PQgetvalue(r, row, L_REASON)};

	rd_ctltime_local(from, sizeof(from), tz, ctl_epoch(r, row, L_FROM));
	rd_ctltime_local(until, sizeof(until), tz, ctl_epoch(r, row, L_UNTIL));
	return ctl_table_add(t, cells);
}

static int print_list_text(PGresult *r, const struct rd_tz *tz, int all)
{
	static const char *const head[] = {"id",    "rule", "scope", "from",
	                                   "until", "by",   "state", "reason"};
	struct ctl_table t;
	int rc;

	ctl_table_init(&t, 8);
	rc = ctl_table_add(&t, head);

	if (PQntuples(r) == 0) {
		printf(all ? "no silence\n" : "no active or future silence\n");
		ctl_table_free(&t);
		return 0;
	}
	for (int row = 0; rc == 0 && row < PQntuples(r); row++)
		rc = add_row(&t, r, row, tz);
	if (rc == 0) {
		printf("times in %s\n", rd_tz_name(tz));
		ctl_table_print(&t, "");
	} else {
		fprintf(stderr, "reachctl: out of memory\n");
	}
	ctl_table_free(&t);
	return rc ? 1 : 0;
}

static PGresult *list_query(struct ctl *c, const char *id, int all)
{
	const char *p[2] = {id, all ? "true" : "false"};

	return ctl_exec(c, SQL_LIST, 2, p, PGRES_TUPLES_OK);
}

static int silence_list(struct ctl *c, const struct rd_tz *tz)
{
	PGresult *r;
	int rc = 0;

	if (c->nargs != 0) {
		fprintf(stderr, "reachctl: silence list takes no argument ('%s')\n", c->args[0]);
		return 2;
	}
	r = list_query(c, NULL, c->all);
	if (!r)
		return 1;
	rc = c->json ? print_list_json(r) : print_list_text(r, tz, c->all);
	PQclear(r);
	return rc;
}

/* --- add ----------------------------------------------------------------- */

/* Who asked: the person behind sudo when there is one, since that is who
 * will be asked why. */
static void created_by(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	const struct passwd *pw;

	if (sudo && *sudo) {
		snprintf(buf, len, "%s", sudo);
		return;
	}
	pw = getpwuid(getuid());
	if (pw && pw->pw_name && *pw->pw_name)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %ld", (long)getuid());
}

/* One line of text, not empty: a silence is listed on one line. */
static int check_text(const char *what, const char *s)
{
	if (!s || !*s) {
		fprintf(stderr, "reachctl: silence add: %s must not be empty\n", what);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "reachctl: silence add: %s must be one line of text\n",
			        what);
			return -1;
		}
	}
	return 0;
}

/* The globs: at least one of --rule and --scope, or --all alone, so that
 * a forgotten option never silences every alert. */
static int check_globs(const struct ctl *c)
{
	if (c->all && (c->rule || c->scope)) {
		fprintf(stderr, "reachctl: silence add: --all silences every alert; give it "
		                "without --rule and --scope\n");
		return -1;
	}
	if (!c->all && !c->rule && !c->scope) {
		fprintf(stderr, "reachctl: silence add: give --rule GLOB, --scope GLOB or both "
		                "(--all to silence every alert)\n");
		return -1;
	}
	if (c->rule && check_text("--rule", c->rule) != 0)
		return -1;
	return c->scope ? check_text("--scope", c->scope) : 0;
}

static int parse_when(const char *opt, const char *s, const struct rd_tz *tz, int64_t now,
                      int64_t *out)
{
	char err[256];

	if (rd_ctltime_parse(s, tz, now, 1, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "reachctl: silence add: %s: %s\n", opt, err);
		return -1;
	}
	return 0;
}

/* from and until from the command line, checked. */
static int add_period(const struct ctl *c, const struct rd_tz *tz, int64_t *from, int64_t *until)
{
	int64_t now = (int64_t)time(NULL);

	*from = now;
	if (!c->until) {
		fprintf(stderr, "reachctl: silence add: --until T is required\n");
		return -1;
	}
	if ((c->from && parse_when("--from", c->from, tz, now, from) != 0) ||
	    parse_when("--until", c->until, tz, now, until) != 0)
		return -1;
	if (*until <= now) {
		char buf[40];

		rd_ctltime_local(buf, sizeof(buf), tz, *until);
		fprintf(stderr, "reachctl: silence add: --until %s is in the past\n", buf);
		return -1;
	}
	if (*until <= *from) {
		fprintf(stderr, "reachctl: silence add: --until must be after --from\n");
		return -1;
	}
	return 0;
}

static int add_checks(const struct ctl *c)
{
	if (c->nargs != 0) {
		fprintf(stderr, "reachctl: silence add takes no argument ('%s')\n", c->args[0]);
		return -1;
	}
	if (!c->reason) {
		fprintf(stderr, "reachctl: silence add: --reason TEXT is required (who asked, "
		                "why: it is shown to whoever wonders why no mail came)\n");
		return -1;
	}
	if (check_text("--reason", c->reason) != 0 || check_globs(c) != 0)
		return -1;
	return 0;
}

static int print_added(struct ctl *c, const struct rd_tz *tz, const char *id)
{
	PGresult *r = list_query(c, id, 1);
	char from[40], until[40];
	int rc = 0;

	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		printf("silence %s added\n", id);
		return r ? 0 : 1;
	}
	if (c->json) {
		json_t *o = silence_json(r, 0);

		rc = ctl_print_json(o);
		json_decref(o);
	} else {
		rd_ctltime_local(from, sizeof(from), tz, ctl_epoch(r, 0, L_FROM));
		rd_ctltime_local(until, sizeof(until), tz, ctl_epoch(r, 0, L_UNTIL));
		printf("silence %s added: rule %s, scope %s, from %s until %s\n", id,
		       PQgetvalue(r, 0, L_RULE), PQgetvalue(r, 0, L_SCOPE), from, until);
	}
	PQclear(r);
	return rc;
}

static int silence_add(struct ctl *c, const struct rd_tz *tz)
{
	char from[24], until[24], by[256];
	const char *p[6] = {
	    c->rule ? c->rule : "*", c->scope ? c->scope : "*", from, until, c->reason, by};
	int64_t f, u;
	PGresult *r;
	int rc;

	if (add_checks(c) != 0 || add_period(c, tz, &f, &u) != 0)
		return 2;
	snprintf(from, sizeof(from), "%lld", (long long)f);
	snprintf(until, sizeof(until), "%lld", (long long)u);
	created_by(by, sizeof(by));
	r = ctl_exec(c,
	             "INSERT INTO reach.silences (rule_glob, scope_glob, starts_at, until, reason,"
	             " created_by) VALUES ($1, $2, to_timestamp($3::bigint),"
	             " to_timestamp($4::bigint), $5, $6) RETURNING id",
	             6, p, PGRES_TUPLES_OK);
	if (!r)
		return 1;
	rc = print_added(c, tz, PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* --- remove -------------------------------------------------------------- */

/* Why id could not be removed: it does not exist, or is over. */
static void explain_not_removed(struct ctl *c, const struct rd_tz *tz, const char *id)
{
	PGresult *r = list_query(c, id, 1);

	if (!r)
		return;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "reachctl: no silence %s\n", id);
	} else {
		char buf[40];
		int removed = strcmp(PQgetvalue(r, 0, L_STATE), "removed") == 0;

		rd_ctltime_local(buf, sizeof(buf), tz,
		                 ctl_epoch(r, 0, removed ? L_REMOVED : L_UNTIL));
		fprintf(stderr, "reachctl: silence %s is not active: %s %s\n", id,
		        removed ? "removed at" : "expired at", buf);
	}
	PQclear(r);
}

static int parse_id(const struct ctl *c, const char **id)
{
	char *end;
	long long v;

	if (c->nargs != 1) {
		fprintf(stderr, "reachctl: silence remove takes one ID (see silence list)\n");
		return -1;
	}
	v = strtoll(c->args[0], &end, 10);
	if (end == c->args[0] || *end || v <= 0) {
		fprintf(stderr, "reachctl: silence remove: '%s' is not a silence id\n", c->args[0]);
		return -1;
	}
	*id = c->args[0];
	return 0;
}

static int silence_remove(struct ctl *c, const struct rd_tz *tz)
{
	const char *id;
	PGresult *r;
	int rc = 1;

	if (parse_id(c, &id) != 0)
		return 2;
	/* a future silence may be removed too: it is not over */
	r = ctl_exec(c,
	             "UPDATE reach.silences SET removed_at = now() WHERE id = $1::bigint"
	             " AND removed_at IS NULL AND until > now() RETURNING id",
	             1, &id, PGRES_TUPLES_OK);
	if (r && PQntuples(r) == 1) {
		printf("silence %s removed\n", id);
		rc = 0;
	} else if (r) {
		explain_not_removed(c, tz, id);
	}
	PQclear(r);
	return rc;
}

int ctl_silence(struct ctl *c, const char *sub)
{
	struct rd_tz *tz = ctl_zone(c->cfg);
	int rc;

	if (strcmp(sub, "add") == 0)
		rc = silence_add(c, tz);
	else if (strcmp(sub, "list") == 0)
		rc = silence_list(c, tz);
	else
		rc = silence_remove(c, tz);
	rd_tz_free(tz);
	return rc;
}
