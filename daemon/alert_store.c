/* alert_store.c - see alert_store.h. Rows travel as jsonb arrays
 * (jsonb_to_recordset), one statement per table, like store.c. */
#include "alert_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_STATES[] =
    "INSERT INTO reach.alert_state AS a (rule, site, entity, status, level, since, value,"
    " flapping, insufficient, silenced, state, updated_at)"
    " SELECT r.rule, r.site, r.entity, r.status, r.level,"
    " CASE WHEN r.since > 0 THEN to_timestamp(r.since) END, r.value, r.flapping,"
    " r.insufficient, r.silenced, r.state, now()"
    " FROM jsonb_to_recordset($1::jsonb) AS r(rule text, site text, entity text, status text,"
    " level text, since bigint, value double precision, flapping boolean,"
    " insufficient boolean, silenced boolean, state jsonb)"
    " ON CONFLICT (rule, site, entity) DO UPDATE SET status = excluded.status,"
    " level = excluded.level, since = excluded.since, value = excluded.value,"
    " flapping = excluded.flapping, insufficient = excluded.insufficient,"
    " silenced = excluded.silenced, state = excluded.state, updated_at = now()";

/* The notices, then the transitions, each linked to its first notice: a
 * round has at most one transition per (rule, site, entity), so these four
 * columns and the action find it among the notices just inserted. */
static const char SQL_EVENTS[] =
    "WITH n AS (INSERT INTO reach.alert_notices (grp, rule, site, entity, action, level,"
    " payload)"
    " SELECT r.grp, r.rule, r.site, r.entity, r.action, r.level, r.payload"
    " FROM jsonb_to_recordset($2::jsonb) AS r(grp text, rule text, site text, entity text,"
    " action text, level text, payload jsonb)"
    " RETURNING id, rule, site, entity, action)"
    " INSERT INTO reach.alert_events (at, rule, site, entity, figure, action, level, value,"
    " threshold, window_name, quiet, notice_id)"
    " SELECT to_timestamp(r.at), r.rule, r.site, r.entity, r.figure, r.action, r.level, r.value,"
    " r.threshold, r.window_name, r.quiet,"
    " (SELECT min(n.id) FROM n WHERE n.rule = r.rule AND n.site = r.site"
    " AND n.entity = r.entity AND n.action = r.action)"
    " FROM jsonb_to_recordset($1::jsonb) AS r(at bigint, rule text, site text, entity text,"
    " figure text, action text, level text, value double precision, threshold text,"
    " window_name text, quiet text)";

static const char SQL_SILENCES[] =
    "SELECT rule_glob, scope_glob, extract(epoch FROM starts_at)::bigint,"
    " extract(epoch FROM until)::bigint FROM reach.silences"
    " WHERE removed_at IS NULL AND until > now() ORDER BY id";

static const char SQL_LOAD[] = "SELECT rule, site, entity, state::text FROM reach.alert_state";

static int out_of_memory(struct rd_job *job, enum rd_job_status *st)
{
	snprintf(job->err, sizeof(job->err), "out of memory");
	*st = RD_JOB_FAILED;
	return -1;
}

/* The changed states: one jsonb parameter (nothing when none changed). */
static int write_states(struct rd_job *job, PGconn *pg, json_t *states, enum rd_job_status *st)
{
	char *text;
	const char *p[1];
	int rc;

	if (!states || json_array_size(states) == 0)
		return 0;
	if (!(text = json_dumps(states, JSON_COMPACT)))
		return out_of_memory(job, st);
	p[0] = text;
	rc = rd_pg_exec_ok(job, pg, SQL_STATES, 1, p, st);
	free(text);
	return rc;
}

/* The transitions and their notices (a notice always has its transition). */
static int write_events(struct rd_job *job, PGconn *pg, json_t *events, json_t *notices,
                        enum rd_job_status *st)
{
	char *e, *n;
	const char *p[2];
	int rc;

	if (!events || json_array_size(events) == 0)
		return 0;
	e = json_dumps(events, JSON_COMPACT);
	n = notices ? json_dumps(notices, JSON_COMPACT) : strdup("[]");
	if (!e || !n) {
		free(e);
		free(n);
		return out_of_memory(job, st);
	}
	p[0] = e;
	p[1] = n;
	rc = rd_pg_exec_ok(job, pg, SQL_EVENTS, 2, p, st);
	free(e);
	free(n);
	return rc;
}

void rd_alert_silences_free(struct rd_alert_silence_row *sil, size_t n)
{
	for (size_t i = 0; sil && i < n; i++) {
		free(sil[i].rule_glob);
		free(sil[i].scope_glob);
	}
	free(sil);
}

/* The silences still to come or running; -1 with the job's error set. */
static int read_silences(struct rd_job *job, PGconn *pg, struct rd_alert_silence_row **out,
                         size_t *nout, enum rd_job_status *st)
{
	PGresult *r = rd_pg_exec(job, pg, SQL_SILENCES, 0, NULL, st);
	struct rd_alert_silence_row *sil;
	int n;

	if (!r)
		return -1;
	n = PQntuples(r);
	sil = calloc((size_t)n + 1, sizeof(*sil));
	for (int i = 0; sil && i < n; i++) {
		sil[i].rule_glob = strdup(PQgetvalue(r, i, 0));
		sil[i].scope_glob = strdup(PQgetvalue(r, i, 1));
		sil[i].starts = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		sil[i].until = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		if (!sil[i].rule_glob || !sil[i].scope_glob) {
			rd_alert_silences_free(sil, (size_t)i + 1);
			sil = NULL;
		}
	}
	PQclear(r);
	if (!sil)
		return out_of_memory(job, st);
	rd_alert_silences_free(*out, *nout); /* from a try before a reconnect */
	*out = sil;
	*nout = (size_t)n;
	return 0;
}

enum rd_job_status rd_alert_store_write(struct rd_job *job, PGconn *pg)
{
	struct rd_alert_write_job *w = (struct rd_alert_write_job *)job;
	enum rd_job_status st = RD_JOB_FAILED;

	if (rd_pg_exec_ok(job, pg, "BEGIN", 0, NULL, &st) != 0)
		return st;
	if (write_states(job, pg, w->states, &st) != 0 ||
	    write_events(job, pg, w->events, w->notices, &st) != 0 ||
	    rd_pg_exec_ok(job, pg, "COMMIT", 0, NULL, &st) != 0) {
		rd_pg_rollback(pg);
		return st;
	}
	/* the round is written: from here a failure only delays the silences */
	w->have_sil = read_silences(job, pg, &w->sil, &w->nsil, &st) == 0;
	return RD_JOB_OK;
}

enum rd_job_status rd_alert_store_load(struct rd_job *job, PGconn *pg)
{
	struct rd_alert_load_job *l = (struct rd_alert_load_job *)job;
	enum rd_job_status st = RD_JOB_FAILED;

	PQclear(l->states);
	l->states = rd_pg_exec(job, pg, SQL_LOAD, 0, NULL, &st);
	if (!l->states)
		return st;
	if (read_silences(job, pg, &l->sil, &l->nsil, &st) != 0)
		return st;
	return RD_JOB_OK;
}

enum rd_job_status rd_alert_store_prune(struct rd_job *job, PGconn *pg)
{
	struct rd_alert_prune_job *p = (struct rd_alert_prune_job *)job;
	const char *params[2] = {p->rules, p->sites};
	enum rd_job_status st = RD_JOB_FAILED;

	return rd_pg_exec_ok(job, pg,
	                     "DELETE FROM reach.alert_state WHERE site IN"
	                     " (SELECT jsonb_array_elements_text($2::jsonb)) AND rule NOT IN"
	                     " (SELECT jsonb_array_elements_text($1::jsonb))",
	                     2, params, &st) == 0
	           ? RD_JOB_OK
	           : st;
}
