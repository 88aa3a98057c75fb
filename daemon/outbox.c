/* outbox.c - see outbox.h. Loop side: a one-second timer starts a
 * dispatch and a send round when none is in flight. Dispatch runs wholly in
 * the ledger thread (composing a mail is CPU work on a few kilobytes); a
 * send round fetches the due rows, hands them one by one to the mailer's
 * worker thread, then records every outcome in one statement. */
#include "outbox.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "alertstate.h"
#include "config.h"
#include "ledger.h"
#include "log.h"
#include "mailer.h"
#include "mailmsg.h"
#include "rule.h"
#include "strbuf.h"
#include "template.h"
#include "worker.h"

#define SEND_BATCH  8
#define MAX_NOTICES 200 /* per mail; more wait for the next one */

struct rd_outbox {
	struct event_base *base;
	struct rd_ledger *ledger;
	const struct rd_rules *rules;
	/* [smtp] as at start-up (its changes take effect at the next start) */
	char *from, *from_name, *dashboard_url, *templates;
	int64_t retry_ms, retry_max_ms;
	struct rd_mailer *mailer;
	struct rd_worker *worker;
	struct event *timer;
	int dispatching, sending;
	atomic_int halt; /* stopped: set on the loop, read by the worker thread too */
	struct rd_outbox_stats stats;
};

/* --- dispatch (ledger thread) ---------------------------------------------- */

/* Everything a dispatch needs, copied on the loop: the job never touches
 * the configuration, which a reload may free. */
struct dispatch_job {
	struct rd_job job;
	struct rd_outbox *o;
	json_t *groups; /* {name: {to: [..], cc: [..], lang, wait, cap}} */
	char *from, *from_name, *dashboard_url, *templates, *domain;
	int mails; /* result: mails composed */
};

static PGresult *q(PGconn *pg, const char *sql, int n, const char *const *p, int tuples)
{
	PGresult *r = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) != (tuples ? PGRES_TUPLES_OK : PGRES_COMMAND_OK)) {
		PQclear(r);
		return NULL;
	}
	return r;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The alert template's fields from one notice's payload. */
static void payload_fields(const json_t *p, const char *dashboard, struct rd_alert_fields *f)
{
	*f = (struct rd_alert_fields){
	    .rule = jstr(p, "rule"),
	    .figure = jstr(p, "figure"),
	    .value = jstr(p, "value"),
	    .threshold = jstr(p, "threshold"),
	    .window = jstr(p, "window"),
	    .site = jstr(p, "site"),
	    .scope_kind = jstr(p, "scope_kind"),
	    .entity = jstr(p, "entity"),
	    .severity = jstr(p, "severity"),
	    .label = json_string_value(json_object_get(p, "label")),
	    .since = jstr(p, "since"),
	    .dashboard_url = dashboard,
	    .state = jstr(p, "state"),
	};
}

static const char *state_word(const json_t *p, int fr)
{
	const char *st = jstr(p, "state"), *sev = jstr(p, "severity");

	if (strcmp(st, "resolved") == 0)
		return fr ? "RÉTABLI" : "RESOLVED";
	if (strcmp(st, "flapping") == 0)
		return fr ? "INSTABLE" : "FLAPPING";
	if (strcmp(sev, "critical") == 0)
		return fr ? "CRITIQUE" : "CRITICAL";
	return fr ? "ALERTE" : "WARNING";
}

/* One line of a digest. */
static void digest_line(struct rd_sb *b, const json_t *p, int fr)
{
	char line[1024];

	snprintf(line, sizeof(line), "- [%s] %s - %s, %s : %s (%s %s)%s%s\n", state_word(p, fr),
	         jstr(p, "rule"), jstr(p, "site"), jstr(p, "entity"), jstr(p, "value"),
	         fr ? "seuil" : "threshold", jstr(p, "threshold"), fr ? ", depuis " : ", since ",
	         jstr(p, "since"));
	if (!fr) /* English puts no space before a colon */
		for (char *c = strstr(line, " : "); c; c = strstr(c + 1, " : "))
			memmove(c, c + 1, strlen(c));
	rd_sb_adds(b, line);
}

/* Render the mail of a group's notices: the alert template for one, the
 * digest for several (or for one held back by the hourly cap). */
static int render(const struct dispatch_job *d, json_t *const *notices, size_t n, int digest,
                  const char *lang, struct rd_mail_parts *parts, char *err, size_t errlen)
{
	int fr = strcmp(lang, "en") != 0;

	memset(parts, 0, sizeof(*parts));
	if (n == 1 && !digest) {
		struct rd_alert_fields f;
		struct rd_tmpl_var vars[RD_ALERT_NVARS];

		payload_fields(notices[0], d->dashboard_url, &f);
		return rd_template_render_mail(d->templates, "alert", lang, vars,
		                               rd_alert_vars(&f, vars), parts, err, errlen);
	} else {
		struct rd_sb sb = {0};
		char count[24], period[160], *items;
		int rc;

		for (size_t i = 0; i < n; i++)
			digest_line(&sb, notices[i], fr);
		if (rd_sb_finish(&sb, &items) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(count, sizeof(count), "%zu", n);
		snprintf(period, sizeof(period), "%s%s%s", jstr(notices[0], "since"),
		         n > 1 ? " - " : "", n > 1 ? jstr(notices[n - 1], "since") : "");
		{
			const struct rd_tmpl_var vars[] = {{"site", jstr(notices[0], "site")},
			                                   {"count", count},
			                                   {"items", items},
			                                   {"period", period},
			                                   {"dashboard_url", d->dashboard_url}};

			rc = rd_template_render_mail(d->templates, "digest", lang, vars, 5, parts,
			                             err, errlen);
		}
		free(items);
		return rc;
	}
}

/* The Message-ID of the last mail that told this group about the same
 * alert firing: a resolved mail is threaded under it. */
static char *thread_of(PGconn *pg, const char *grp, const json_t *p)
{
	const char *sql =
	    "SELECT o.message_id FROM reach.alert_notices n JOIN reach.alert_outbox o"
	    " ON o.mail_id = n.mail_id WHERE n.grp = $1 AND n.rule = $2 AND n.site = $3"
	    " AND n.entity = $4 AND n.action IN ('fire', 'escalate', 'repeat') ORDER BY n.id DESC"
	    " LIMIT 1";
	const char *params[4] = {grp, jstr(p, "rule"), jstr(p, "site"), jstr(p, "entity")};
	PGresult *r = q(pg, sql, 4, params, 1);
	char *id = r && PQntuples(r) == 1 ? strdup(PQgetvalue(r, 0, 0)) : NULL;

	PQclear(r);
	return id;
}

static int strs_of(const json_t *arr, struct rd_mailbox *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(arr) && n < max; i++)
		if (json_string_value(json_array_get(arr, i)))
			out[n++] =
			    (struct rd_mailbox){json_string_value(json_array_get(arr, i)), NULL};
	return (int)n;
}

/* Insert the composed mail: one row per envelope recipient (to and cc). */
static int insert_mail(PGconn *pg, const char *mail_id, const char *grp, const json_t *g,
                       const char *msgid, const char *subject, const char *message, int digest)
{
	json_t *rcpts = json_array();
	char *rtext;
	int ok;

	/* to, then cc: every address gets its own envelope (and row) */
	for (int k = 0; k < 2; k++) {
		const json_t *list = json_object_get(g, k ? "cc" : "to");

		for (size_t i = 0; rcpts && i < json_array_size(list); i++)
			json_array_append(rcpts, json_array_get(list, i));
	}
	rtext = json_dumps(rcpts, JSON_COMPACT);
	json_decref(rcpts);
	{
		const char *p[7] = {mail_id,           grp, rtext, msgid, subject, message,
		                    digest ? "t" : "f"};
		PGresult *r =
		    rtext ? q(pg,
		              "INSERT INTO reach.alert_outbox (mail_id, grp, rcpt, message_id,"
		              " subject, message, digest)"
		              " SELECT $1, $2, r, $4, $5, $6, $7"
		              " FROM jsonb_array_elements_text($3::jsonb) AS r",
		              7, p, 0)
		          : NULL;

		ok = r != NULL;
		PQclear(r);
	}
	free(rtext);
	return ok ? 0 : -1;
}

/* Compose and queue one mail for grp from its pending notices (rows of
 * id, payload); mark them. -1 on a database error (the transaction is
 * rolled back by the caller), 0 otherwise (a template error is logged and
 * the notices stay pending). */
static int compose_group(struct dispatch_job *d, PGconn *pg, const char *grp, const json_t *g,
                         int digest)
{
	const char *lang = json_string_value(json_object_get(g, "lang"));
	const char *pg_grp[1] = {grp};
	PGresult *r = q(pg,
	                "SELECT id, payload::text FROM reach.alert_notices WHERE grp = $1"
	                " AND mail_id IS NULL ORDER BY id LIMIT 200",
	                1, pg_grp, 1);
	PGresult *seq = r ? q(pg, "SELECT nextval('reach.alert_mail_seq')", 0, NULL, 1) : NULL;
	json_t *notices[MAX_NOTICES];
	struct rd_mailbox to[32], cc[32];
	struct rd_mail_parts parts = {0};
	char msgid[300], err[512], *thread = NULL, *text = NULL;
	int n = 0, rc = -1;

	if (!r || !seq)
		goto out;
	for (int i = 0; i < PQntuples(r) && n < MAX_NOTICES; i++)
		if ((notices[n] = json_loads(PQgetvalue(r, i, 1), 0, NULL)))
			n++;
	rc = 0;
	if (n == 0)
		goto out;
	snprintf(msgid, sizeof(msgid), "<reachd-alert-%s@%s>", PQgetvalue(seq, 0, 0), d->domain);
	if (n == 1 && strcmp(jstr(notices[0], "state"), "firing") != 0)
		thread = thread_of(pg, grp, notices[0]);
	if (render(d, notices, (size_t)n, digest, lang ? lang : "fr", &parts, err, sizeof(err)) ==
	    0) {
		struct rd_mailmsg m = {.from = {d->from, d->from_name},
		                       .to = to,
		                       .nto = (size_t)strs_of(json_object_get(g, "to"), to, 32),
		                       .cc = cc,
		                       .ncc = (size_t)strs_of(json_object_get(g, "cc"), cc, 32),
		                       .subject = parts.subject,
		                       .message_id = msgid,
		                       .in_reply_to = thread,
		                       .date = time(NULL),
		                       .text = parts.text,
		                       .html = parts.html};

		if (rd_mailmsg_compose(&m, &text, err, sizeof(err)) != 0)
			text = NULL;
	}
	if (!text) {
		rd_err("outbox: cannot compose the mail of group %s: %s", grp, err);
		goto out;
	}
	{
		char last[24];
		const char *p[3] = {PQgetvalue(seq, 0, 0), grp, last};
		PGresult *u;

		snprintf(last, sizeof(last), "%s", PQgetvalue(r, PQntuples(r) - 1, 0));
		if (insert_mail(pg, p[0], grp, g, msgid, parts.subject, text, digest) != 0 ||
		    !(u = q(pg,
		            "UPDATE reach.alert_notices SET mail_id = $1 WHERE grp = $2"
		            " AND mail_id IS NULL AND id <= $3",
		            3, p, 0))) {
			rc = -1;
			goto out;
		}
		PQclear(u);
		d->mails++;
	}
out:
	for (int i = 0; i < n; i++)
		json_decref(notices[i]);
	rd_mail_parts_clear(&parts);
	free(text);
	free(thread);
	PQclear(seq);
	PQclear(r);
	return rc;
}

/* When a group's mails went out in the last hour, oldest first. */
/* When the busiest address of group g got its mails of the last hour,
 * oldest first, whatever group they came from: the hourly cap is per
 * recipient, so an address in two groups is not mailed twice as often. */
static size_t sent_times(PGconn *pg, const json_t *g, int64_t *out, size_t max)
{
	json_t *all = json_array();
	char *addrs;
	PGresult *r = NULL;
	size_t n = 0;

	for (int k = 0; all && k < 2; k++) {
		const json_t *list = json_object_get(g, k ? "cc" : "to");

		for (size_t i = 0; i < json_array_size(list); i++)
			json_array_append(all, json_array_get(list, i));
	}
	addrs = all ? json_dumps(all, JSON_COMPACT) : NULL;
	json_decref(all);
	if (addrs) {
		const char *p[1] = {addrs};

		r = q(pg,
		      "WITH recent AS (SELECT rcpt, created_at FROM reach.alert_outbox"
		      " WHERE rcpt IN (SELECT jsonb_array_elements_text($1::jsonb))"
		      " AND created_at > now() - interval '1 hour'),"
		      " busiest AS (SELECT rcpt FROM recent GROUP BY rcpt"
		      " ORDER BY count(*) DESC, rcpt LIMIT 1)"
		      " SELECT extract(epoch FROM created_at)::bigint FROM recent"
		      " WHERE rcpt = (SELECT rcpt FROM busiest) ORDER BY 1",
		      1, p, 1);
	}
	for (int i = 0; r && i < PQntuples(r) && n < max; i++)
		out[n++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
	free(addrs);
	return n;
}

static enum rd_job_status dispatch_fail(struct rd_job *job, PGconn *pg)
{
	int retry = rd_pg_retryable(pg, NULL);

	snprintf(job->err, sizeof(job->err), "%s", PQerrorMessage(pg));
	if (PQstatus(pg) == CONNECTION_OK)
		PQclear(PQexec(pg, "ROLLBACK"));
	return retry ? RD_JOB_RETRY : RD_JOB_FAILED;
}

static enum rd_job_status dispatch_run(struct rd_job *job, PGconn *pg)
{
	struct dispatch_job *d = (struct dispatch_job *)job;
	PGresult *r, *b = PQexec(pg, "BEGIN");
	int64_t now = (int64_t)time(NULL), sent[256];

	d->mails = 0;
	if (PQresultStatus(b) != PGRES_COMMAND_OK) {
		PQclear(b);
		return dispatch_fail(job, pg);
	}
	PQclear(b);
	r = q(pg,
	      "SELECT grp, extract(epoch FROM min(created_at))::bigint, count(*)"
	      " FROM reach.alert_notices WHERE mail_id IS NULL GROUP BY grp ORDER BY grp",
	      0, NULL, 1);
	if (!r)
		return dispatch_fail(job, pg);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *grp = PQgetvalue(r, i, 0);
		const json_t *g = json_object_get(d->groups, grp);
		struct rd_recipients rg = {0};
		struct rd_group_plan plan;
		size_t nsent;

		if (!g)
			continue; /* a group removed by a reload: its notices wait */
		rg.group_wait_s = json_integer_value(json_object_get(g, "wait"));
		rg.max_per_hour = json_integer_value(json_object_get(g, "cap"));
		nsent = sent_times(pg, g, sent, 256);
		rd_alert_plan_group(&rg, now, sent, nsent, strtoll(PQgetvalue(r, i, 1), NULL, 10),
		                    (size_t)strtoll(PQgetvalue(r, i, 2), NULL, 10), &plan);
		if (plan.send && compose_group(d, pg, grp, g, plan.digest) != 0) {
			PQclear(r);
			return dispatch_fail(job, pg);
		}
	}
	PQclear(r);
	b = PQexec(pg, "COMMIT");
	if (PQresultStatus(b) != PGRES_COMMAND_OK) {
		PQclear(b);
		return dispatch_fail(job, pg);
	}
	PQclear(b);
	return RD_JOB_OK;
}

/* --- send (loop, worker thread, ledger) ------------------------------------------ */

struct send_task {
	struct rd_task task;
	struct rd_outbox *o;
	struct send_round *round;
	long long id;
	char *rcpt, *message;
	int attempts;
	int halted; /* not tried: reachd was stopping */
	struct rd_mail_result res;
};

struct send_round {
	struct rd_job job;
	struct rd_outbox *o;
	PGresult *rows;             /* fetch: id, rcpt, message, attempts */
	long long queued, oldest_s; /* fetch: the outbox's size */
	json_t *outcome;            /* mark: [{id, state, code, reply, wait}] */
	size_t pending;             /* tasks not back yet */
	int64_t retry_ms, retry_max_ms;
};

static void send_round_free(struct send_round *s)
{
	PQclear(s->rows);
	json_decref(s->outcome);
	free(s);
}

/* Touches nothing but its job: at shutdown it may run after the outbox
 * is gone. */
static void mark_done(struct rd_job *job)
{
	struct send_round *s = (struct send_round *)job;

	if (job->status != RD_JOB_OK)
		rd_err("outbox: cannot record what the relay answered: %s; those mails will be"
		       " sent again",
		       job->status == RD_JOB_CANCELLED ? "reachd stopped first" : job->err);
	send_round_free(s);
}

static enum rd_job_status mark_run(struct rd_job *job, PGconn *pg)
{
	struct send_round *s = (struct send_round *)job;
	char *text = json_dumps(s->outcome, JSON_COMPACT);
	const char *p[1] = {text};
	enum rd_job_status st = RD_JOB_OK;

	if (!text) {
		snprintf(job->err, sizeof(job->err), "out of memory");
		return RD_JOB_FAILED;
	}
	(void)rd_pg_exec_ok(job, pg,
	                    "UPDATE reach.alert_outbox o SET state = r.state,"
	                    " attempts = o.attempts + 1, last_code = r.code, last_reply = r.reply,"
	                    " sent_at = CASE WHEN r.state = 'sent' THEN now() END,"
	                    " next_try_at = now() + make_interval(secs => r.wait / 1000.0)"
	                    " FROM jsonb_to_recordset($1::jsonb)"
	                    " AS r(id bigint, state text, code integer, reply text, wait bigint)"
	                    " WHERE o.id = r.id AND o.state = 'queued'",
	                    1, p, &st);
	free(text);
	return st;
}

static void send_task_run(struct rd_task *task)
{
	struct send_task *t = (struct send_task *)task;
	const char *rcpts[1] = {t->rcpt};

	if (atomic_load(&t->o->halt)) {
		t->halted = 1; /* the rest of a round after a stop: left queued */
		return;
	}
	(void)rd_mailer_send(t->o->mailer, rcpts, 1, t->message, &t->res);
}

/* The wait before the next try: retry, doubled per attempt, up to max. */
static int64_t backoff_ms(const struct send_round *s, int attempts)
{
	int64_t w = s->retry_ms;

	for (int i = 0; i < attempts && w < s->retry_max_ms; i++)
		w *= 2;
	return w < s->retry_max_ms ? w : s->retry_max_ms;
}

/* What the relay answered, as a row for mark_run; logged unless sent. */
static json_t *outcome_row(struct rd_outbox *o, const struct send_round *s,
                           const struct send_task *t)
{
	const struct rd_mail_rcpt_result *rr = t->res.nrcpt ? &t->res.rcpt[0] : NULL;
	enum rd_mail_outcome out = rr ? rr->outcome : t->res.outcome;
	int code = rr && rr->code ? rr->code : t->res.code;
	const char *reply = rr && rr->code ? rr->text : t->res.text;
	char codes[16];

	snprintf(codes, sizeof(codes), "%d", code);
	if (out == RD_MAILER_SENT)
		o->stats.sent++;
	else if (out == RD_MAILER_FAILED)
		o->stats.failed++;
	else
		o->stats.retried++;
	if (out != RD_MAILER_SENT)
		rd_log(out == RD_MAILER_FAILED ? RD_LOG_ERR : RD_LOG_WARN,
		       "outbox: mail %lld to %s: %s (%s%s%s)", t->id, t->rcpt,
		       out == RD_MAILER_FAILED ? "refused for good" : "will be retried",
		       code ? codes : "", code ? " " : "", reply);
	return json_pack("{s:I, s:s, s:i, s:s, s:I}", "id", (json_int_t)t->id, "state",
	                 out == RD_MAILER_SENT     ? "sent"
	                 : out == RD_MAILER_FAILED ? "failed"
	                                           : "queued",
	                 "code", code, "reply", reply, "wait",
	                 (json_int_t)(out == RD_MAILER_RETRY ? backoff_ms(s, t->attempts) : 0));
}

/* A task not tried (reachd stopping) leaves its row as it was. */
static void send_task_done(struct rd_task *task, int cancelled)
{
	struct send_task *t = (struct send_task *)task;
	struct send_round *s = t->round;
	struct rd_outbox *o = t->o;

	if (!cancelled && !t->halted) {
		json_t *row = outcome_row(o, s, t);

		if (!row || json_array_append_new(s->outcome, row) != 0)
			rd_err("outbox: out of memory recording mail %lld", t->id);
	}
	rd_mail_result_clear(&t->res);
	free(t->rcpt);
	free(t->message);
	free(t);
	if (--s->pending > 0)
		return;
	if (json_array_size(s->outcome) == 0) {
		send_round_free(s);
		o->sending = 0;
		return;
	}
	s->job.run = mark_run;
	s->job.done = mark_done;
	s->job.persist = 1; /* an acceptance must be recorded */
	rd_ledger_submit(o->ledger, &s->job);
	/* the ledger runs jobs in order: the next fetch sees these marks */
	o->sending = 0;
}

/* How many rows wait for the relay, and since when (for /metrics). */
static enum rd_job_status outbox_size(PGconn *pg, struct send_round *s)
{
	PGresult *r = PQexec(pg, "SELECT count(*), coalesce(extract(epoch FROM now() -"
	                         " min(created_at)), 0)::bigint FROM reach.alert_outbox"
	                         " WHERE state = 'queued'");

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		s->queued = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		s->oldest_s = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	} else {
		s->queued = -1; /* unknown: the figures stay as they were */
	}
	PQclear(r);
	return RD_JOB_OK;
}

static enum rd_job_status fetch_run(struct rd_job *job, PGconn *pg)
{
	struct send_round *s = (struct send_round *)job;
	char lim[16];
	const char *p[1] = {lim};
	enum rd_job_status st = RD_JOB_FAILED;

	snprintf(lim, sizeof(lim), "%d", SEND_BATCH);
	PQclear(s->rows);
	s->rows = rd_pg_exec(job, pg,
	                     "SELECT id, rcpt, message, attempts FROM (SELECT DISTINCT ON (rcpt)"
	                     " id, rcpt, message, attempts, next_try_at FROM reach.alert_outbox"
	                     " WHERE state = 'queued' ORDER BY rcpt, id) q"
	                     " WHERE next_try_at <= now() ORDER BY id LIMIT $1",
	                     1, p, &st);
	return s->rows ? outbox_size(pg, s) : st;
}

static void fetch_done(struct rd_job *job)
{
	struct send_round *s = (struct send_round *)job;
	struct rd_outbox *o = s->o;
	int n = job->status == RD_JOB_OK && s->rows ? PQntuples(s->rows) : 0;

	if (job->status == RD_JOB_FAILED)
		rd_err("outbox: cannot read the mails to send: %s", job->err);
	if (job->status == RD_JOB_OK && s->queued >= 0) {
		o->stats.queued = (unsigned long long)s->queued;
		o->stats.oldest_queued_s = s->oldest_s;
	}
	for (int i = 0; i < n && !atomic_load(&o->halt); i++) {
		struct send_task *t = calloc(1, sizeof(*t));

		if (!t || !(t->rcpt = strdup(PQgetvalue(s->rows, i, 1))) ||
		    !(t->message = strdup(PQgetvalue(s->rows, i, 2)))) {
			if (t)
				free(t->rcpt);
			free(t);
			rd_err("outbox: out of memory sending a mail");
			break;
		}
		t->task.run = send_task_run;
		t->task.done = send_task_done;
		t->o = o;
		t->round = s;
		t->id = strtoll(PQgetvalue(s->rows, i, 0), NULL, 10);
		t->attempts = (int)strtol(PQgetvalue(s->rows, i, 3), NULL, 10);
		s->pending++;
		rd_worker_submit(o->worker, &t->task);
	}
	PQclear(s->rows);
	s->rows = NULL;
	if (s->pending == 0) {
		o->sending = 0;
		send_round_free(s);
	}
}

/* --- loop side ------------------------------------------------------------------ */

static void dispatch_done(struct rd_job *job)
{
	struct dispatch_job *d = (struct dispatch_job *)job;
	struct rd_outbox *o = d->o;

	if (job->status == RD_JOB_FAILED)
		rd_err("outbox: cannot turn notices into mails: %s", job->err);
	o->stats.mails += (unsigned long long)d->mails;
	o->dispatching = 0;
	json_decref(d->groups);
	free(d->from);
	free(d->from_name);
	free(d->dashboard_url);
	free(d->templates);
	free(d->domain);
	free(d);
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *groups_json(const struct rd_rules *rules)
{
	json_t *all = json_object();

	for (size_t i = 0; all && rules && i < rules->ngroups; i++) {
		const struct rd_recipients *g = &rules->groups[i];

		json_object_set_new(
		    all, g->name,
		    json_pack("{s:o, s:o, s:s, s:I, s:I}", "to", str_array(g->to, g->nto), "cc",
		              str_array(g->cc, g->ncc), "lang", g->language, "wait",
		              (json_int_t)g->group_wait_s, "cap", (json_int_t)g->max_per_hour));
	}
	return all;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void start_dispatch(struct rd_outbox *o)
{
	struct dispatch_job *d = calloc(1, sizeof(*d));
	const char *at = strchr(o->from, '@');

	if (!d || !(d->groups = groups_json(o->rules)) || !(d->from = strdup(o->from)) ||
	    !(d->domain = strdup(at ? at + 1 : "localhost"))) {
		if (d) {
			json_decref(d->groups);
			free(d->from);
		}
		free(d);
		rd_err("outbox: out of memory");
		return;
	}
	d->from_name = dup_or_null(o->from_name);
	d->dashboard_url = dup_or_null(o->dashboard_url);
	d->templates = dup_or_null(o->templates);
	d->job.run = dispatch_run;
	d->job.done = dispatch_done;
	d->job.arg = o;
	d->o = o;
	o->dispatching = 1;
	rd_ledger_submit(o->ledger, &d->job);
}

static void start_send(struct rd_outbox *o)
{
	struct send_round *s = calloc(1, sizeof(*s));

	if (!s || !(s->outcome = json_array())) {
		free(s);
		rd_err("outbox: out of memory");
		return;
	}
	s->job.run = fetch_run;
	s->job.done = fetch_done;
	s->o = o;
	s->retry_ms = o->retry_ms;
	s->retry_max_ms = o->retry_max_ms;
	o->sending = 1;
	rd_ledger_submit(o->ledger, &s->job);
}

void rd_outbox_kick(struct rd_outbox *o)
{
	if (!o || atomic_load(&o->halt))
		return;
	if (!o->dispatching)
		start_dispatch(o);
	if (!o->sending)
		start_send(o);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rd_outbox_kick(arg);
}

struct rd_outbox *rd_outbox_new(struct event_base *base, struct rd_ledger *ledger,
                                const struct rd_config *cfg, const struct rd_rules *rules)
{
	static const struct timeval second = {1, 0};
	struct rd_outbox *o;
	char err[512];

	if (!cfg->smtp_present)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->base = base;
	o->ledger = ledger;
	o->rules = rules;
	o->retry_ms = cfg->smtp_retry_ms;
	o->retry_max_ms = cfg->smtp_retry_max_ms;
	o->from_name = dup_or_null(cfg->smtp.from_name);
	o->dashboard_url = dup_or_null(cfg->smtp_dashboard_url);
	o->templates = dup_or_null(cfg->smtp_templates);
	if (!(o->from = strdup(cfg->smtp.from)) ||
	    rd_mailer_new(&cfg->smtp, &o->mailer, err, sizeof(err)) != 0) {
		rd_err("[smtp]: %s", o->from ? err : "out of memory");
		rd_outbox_free(o);
		return NULL;
	}
	o->worker = rd_worker_new(base, "mailer");
	o->timer = event_new(base, -1, EV_PERSIST, on_timer, o);
	if (!o->worker || !o->timer || event_add(o->timer, &second) != 0) {
		rd_outbox_free(o);
		return NULL;
	}
	return o;
}

void rd_outbox_reload(struct rd_outbox *o, const struct rd_rules *rules)
{
	o->rules = rules;
}

void rd_outbox_get_stats(const struct rd_outbox *o, struct rd_outbox_stats *st)
{
	*st = o ? o->stats : (struct rd_outbox_stats){0};
}

/* No new round; the tasks of the round in flight that have not started
 * yet return at once and their rows stay queued. Does not wait. */
void rd_outbox_stop(struct rd_outbox *o)
{
	if (!o || atomic_load(&o->halt))
		return;
	atomic_store(&o->halt, 1);
	if (o->timer)
		event_del(o->timer);
}

int rd_outbox_sending(const struct rd_outbox *o)
{
	return o && o->sending;
}

/* Waits for the send in progress, if any (at most the relay's timeouts),
 * and hands what it got to the ledger. After the loop has exited. */
void rd_outbox_join(struct rd_outbox *o)
{
	if (!o)
		return;
	rd_outbox_stop(o);
	rd_worker_free(o->worker);
	o->worker = NULL;
}

void rd_outbox_free(struct rd_outbox *o)
{
	if (!o)
		return;
	rd_outbox_join(o);
	if (o->timer)
		event_free(o->timer);
	rd_mailer_free(o->mailer);
	free(o->from);
	free(o->from_name);
	free(o->dashboard_url);
	free(o->templates);
	free(o);
}
