/* core.c - see core.h. */
#include "core.h"

#include <event2/event.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "batch.h"
#include "cache.h"
#include "calendar.h"
#include "calltrack.h"
#include "collector.h"
#include "http.h"
#include "ledger.h"
#include "log.h"
#include "mailtrack.h"
#include "outbox.h"
#include "refresh.h"
#include "registry.h"
#include "rule.h"
#include "version.h"

#define MAX_BATCHES_IN_FLIGHT 4  /* per daemon: beyond this, sources pause */
#define DRAIN_DEADLINE_S      30 /* SIGTERM: longest wait for PostgreSQL */
#define POLL_MS               20

enum coll_state { CS_LOADING, CS_RUNNING, CS_DONE, CS_STOPPED };

struct rd_collector {
	struct rd_core *core;
	const struct rd_collector_type *type;
	void *priv;
	const struct rd_section *section; /* in core->cfg */
	char *name, *site;
	struct rd_calltrack_options topt;
	struct rd_calltrack *track;
	struct rd_mailtrack_options mopt;
	int64_t reply_target_days;
	struct rd_calendar *cal;     /* opening hours for business time */
	struct rd_mailtrack *mtrack; /* the site's, shared (see site_tracker) */
	struct rd_batch *batch;      /* accumulating */
	int64_t batch_started_ms;    /* monotonic */
	int dirty;                   /* events since the last checkpoint */
	uint64_t accepted, rejected, unknown, mail_events;
	enum coll_state state;
	int paused, retiring;
	/* A source read for the first time has no committed position: until one
	 * is, a rotation would leave its file behind unnoticed after a crash.
	 * So the first checkpoint is committed at once, reading paused until. */
	int anchored, anchor_pending;
	/* The file and offset of the line being handled (rd_collector_at): a
	 * kept line is stored under its own file, not the cursor's. */
	uint64_t line_dev, line_ino;
	int64_t last_line_at; /* wall clock, for no_data rules */
	/* A collector may commit a resume point behind what it had read
	 * (maillog: the oldest open queue-ID life). After a restart the lines
	 * before the read mark were counted already: while replaying they are
	 * not counted again. */
	struct rd_cursor resumed, read_mark;
	int replaying;
	struct rd_cursor read_pos; /* after the last line checkpointed (lag) */
	struct rd_ratelimit rl;
	struct rd_collector *next;
};

struct rd_core {
	struct event_base *base;
	struct rd_config *cfg;
	struct rd_ledger *ledger;
	struct rd_cache *cache;
	struct rd_refresh *refresh;
	struct rd_collector *collectors;
	struct rd_collector *retired; /* stopped by a reload; freed at the end */
	struct event *tick;           /* commit + refresh + completion checks */
	int once, stopping, finishing;
	int64_t last_refresh_ms, stop_deadline_ms;
	int64_t started_at;
	int exit_status;
	/* One mail tracker per site: a site's Postfix and Dovecot lines may come
	 * through several collectors (files), and a reply seen by one must find
	 * the message another one received. */
	struct site_mail *mail_sites;
	struct rd_collector *emitting; /* the collector whose event is being handled */
	struct rd_rules *rules;        /* [rule] and [recipients] of cfg */
	struct rd_alerts *alerts;
	struct rd_outbox *outbox; /* NULL without [smtp] */
	struct rd_http *http;     /* NULL in once mode */
};

struct site_mail {
	char *site;
	struct rd_mailtrack *track;
	struct site_mail *next;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- configuration of one collector ------------------------------------- */

/* Build the calendar of [calendar "name"] for a collector. */
static int collector_calendar(struct rd_collector *c, const struct rd_config *cfg, const char *name,
                              char *err, size_t errlen)
{
	struct rd_calendar *cal = rd_calendar_load(cfg, name, err, errlen);

	if (!cal)
		return -1;
	rd_calendar_free(c->cal);
	c->cal = cal;
	return 0;
}

/* Business days: "2" or "2d". */
static int parse_business_days(const char *v, int64_t *out, char *err, size_t errlen)
{
	char num[32];
	size_t len = strlen(v);

	if (len && v[len - 1] == 'd')
		len--;
	snprintf(num, sizeof(num), "%.*s", (int)len, v);
	return rd_parse_int(num, 1, 365, out, err, errlen);
}

/* Keys every call collector has; the core applies them to the tracker. */
static int core_key(struct rd_collector *c, const struct rd_config *cfg, const struct rd_kv *kv,
                    char *err, size_t errlen)
{
	int64_t ms;

	if (strcmp(kv->key, "type") == 0)
		return 0;
	if (strcmp(kv->key, "site") == 0) {
		if (!*kv->value) {
			snprintf(err, errlen, "site must not be empty");
			return -1;
		}
		return 0;
	}
	if (strcmp(kv->key, "service_level") == 0 || strcmp(kv->key, "short_abandon") == 0 ||
	    strcmp(kv->key, "max_call") == 0) {
		if (rd_parse_duration_ms(kv->value, &ms, err, errlen) != 0)
			return -1;
		if (strcmp(kv->key, "service_level") == 0)
			c->topt.service_level_s = (int32_t)(ms / 1000);
		else if (strcmp(kv->key, "short_abandon") == 0)
			c->topt.short_abandon_s = (int32_t)(ms / 1000);
		else
			c->topt.max_call_s = ms / 1000;
		return 0;
	}
	if (strcmp(kv->key, "ack_window") == 0) {
		if (rd_parse_duration_ms(kv->value, &ms, err, errlen) != 0)
			return -1;
		c->mopt.ack_window_s = ms / 1000;
		return 0;
	}
	if (strcmp(kv->key, "reply_target") == 0)
		return parse_business_days(kv->value, &c->reply_target_days, err, errlen);
	if (strcmp(kv->key, "calendar") == 0)
		return collector_calendar(c, cfg, kv->value, err, errlen);
	return 1; /* not a core key */
}

static void collector_free(struct rd_collector *c)
{
	if (!c)
		return;
	if (c->priv)
		c->type->destroy(c->priv);
	rd_calltrack_free(c->track);
	rd_calendar_free(c->cal);
	rd_batch_free(c->batch);
	free(c->name);
	free(c->site);
	free(c);
}

/* Without calendar =, the default schedule in [daemon] timezone. */
static struct rd_calendar *default_calendar(const struct rd_config *cfg, char *err, size_t errlen)
{
	struct rd_calendar *cal = rd_calendar_new();

	if (!cal) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cfg->timezone && rd_calendar_set(cal, "timezone", cfg->timezone, err, errlen) != 0) {
		rd_calendar_free(cal);
		return NULL;
	}
	return cal;
}

/* Create and configure an instance; errors go to err (one per problem). */
static struct rd_collector *collector_build(const struct rd_config *cfg, const struct rd_section *s,
                                            rd_config_error_fn errfn, void *arg, int *nerr)
{
	const char *type = rd_section_get(s, "type");
	const char *site = rd_section_get(s, "site");
	const struct rd_collector_type *t;
	struct rd_collector *c;
	char err[512];

	if (!type) {
		rd_config_report(cfg, s->line, errfn, arg, "collector \"%s\" needs a type",
		                 s->name);
		(*nerr)++;
		return NULL;
	}
	t = rd_registry_find(type);
	if (!t) {
		int planned = rd_registry_planned(type);

		if (!planned) {
			rd_config_report(cfg, s->line, errfn, arg,
			                 "collector \"%s\": unknown type '%s'", s->name, type);
			(*nerr)++;
		}
		return NULL;
	}
	if (!site && !cfg->site) {
		rd_config_report(cfg, s->line, errfn, arg,
		                 "collector \"%s\" needs a site (or set [daemon] site)", s->name);
		(*nerr)++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(s->name)) || !(c->site = strdup(site ? site : cfg->site))) {
		collector_free(c);
		(*nerr)++;
		return NULL;
	}
	c->type = t;
	c->section = s;
	c->topt = (struct rd_calltrack_options){20, 0, cfg->max_call_ms / 1000};
	c->mopt = (struct rd_mailtrack_options){15 * 60, 8 * 86400};
	c->reply_target_days = 2;
	c->priv = t->create(c);
	if (!c->priv) {
		collector_free(c);
		(*nerr)++;
		return NULL;
	}
	for (size_t i = 0; i < s->nkv; i++) {
		int rc = core_key(c, cfg, &s->kv[i], err, sizeof(err));

		if (rc == 1)
			rc = t->configure(c->priv, s->kv[i].key, s->kv[i].value, err, sizeof(err));
		if (rc != 0) {
			rd_config_report(cfg, s->kv[i].line, errfn, arg, "%s", err);
			(*nerr)++;
		}
	}
	if (!c->cal && !(c->cal = default_calendar(cfg, err, sizeof(err)))) {
		rd_config_report(cfg, s->line, errfn, arg, "collector \"%s\": %s", s->name, err);
		(*nerr)++;
	}
	if (t->check(c->priv, err, sizeof(err)) != 0) {
		rd_config_report(cfg, s->line, errfn, arg, "collector \"%s\": %s", s->name, err);
		(*nerr)++;
	}
	return c;
}

static void warn_planned(const struct rd_config *cfg)
{
	for (const struct rd_section *s = rd_config_next(cfg, "collector", NULL); s;
	     s = rd_config_next(cfg, "collector", s)) {
		const char *type = rd_section_get(s, "type");

		if (type && rd_registry_planned(type))
			rd_warn("collector \"%s\": type '%s' is not available in this version yet;"
			        " ignored",
			        s->name, type);
	}
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* A site's messages go through one mail tracker whichever file a line
 * comes from (see site_tracker), so the mail collectors of a site must
 * agree on what the tracker and the business clock use. */
static int check_site_mail(const struct rd_config *cfg, const struct rd_collector *a,
                           const struct rd_collector *b, rd_config_error_fn err, void *arg)
{
	const char *what = NULL;

	if (!a->type->owns || !b->type->owns || strcmp(a->site, b->site) != 0)
		return 0;
	if (a->mopt.ack_window_s != b->mopt.ack_window_s)
		what = "ack_window";
	else if (a->reply_target_days != b->reply_target_days)
		what = "reply_target";
	else if (!same_str(rd_section_get(a->section, "calendar"),
	                   rd_section_get(b->section, "calendar")))
		what = "calendar";
	if (!what)
		return 0;
	rd_config_report(cfg, b->section->line, err, arg,
	                 "collector \"%s\": %s differs from collector \"%s\" of site %s (the"
	                 " mail of a site is tracked once: give them the same %s)",
	                 b->name, what, a->name, a->site, what);
	return 1;
}

int rd_core_check(const struct rd_config *cfg, rd_config_error_fn err, void *arg)
{
	struct rd_collector *all = NULL;
	struct rd_rules *rules = NULL;
	int nerr = rd_rules_load(cfg, &rules, err, arg);

	rd_rules_free(rules);
	warn_planned(cfg);
	for (const struct rd_section *s = rd_config_next(cfg, "collector", NULL); s;
	     s = rd_config_next(cfg, "collector", s)) {
		struct rd_collector *c = collector_build(cfg, s, err, arg, &nerr);

		for (const struct rd_collector *o = all; c && o; o = o->next)
			if (check_site_mail(cfg, o, c, err, arg)) {
				nerr++;
				break;
			}
		if (c) {
			c->next = all;
			all = c;
		}
	}
	while (all) {
		struct rd_collector *next = all->next;

		collector_free(all);
		all = next;
	}
	return nerr;
}

/* --- services to collectors ---------------------------------------------- */

const char *rd_collector_name(const struct rd_collector *c)
{
	return c->name;
}

const char *rd_collector_site(const struct rd_collector *c)
{
	return c->site;
}

void rd_collector_log(const struct rd_collector *c, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rd_log((enum rd_log_level)level, "collector %s: %s", c->name, msg);
}

static struct rd_batch *current_batch(struct rd_collector *c)
{
	if (!c->batch) {
		c->batch = rd_batch_new(c->site, c->name, c->type->source(c->priv));
		c->batch_started_ms = mono_ms();
	}
	return c->batch;
}

static void on_call_finished(void *arg, const struct rd_call *call)
{
	struct rd_collector *c = arg;
	struct rd_batch *b = current_batch(c);

	if (!b || rd_batch_add_call(b, call) != 0)
		rd_err("collector %s: out of memory: call %s lost", c->name, call->callid);
}

void rd_collector_emit_call(struct rd_collector *c, const struct rd_call_event *ev)
{
	c->dirty = 1;
	if (rd_calltrack_event(c->track, ev) != 0)
		rd_err("collector %s: out of memory tracking call %s", c->name,
		       ev->callid ? ev->callid : "-");
}

void rd_collector_emit_mail(struct rd_collector *c, const struct rd_mail_event *ev)
{
	c->dirty = 1;
	c->mail_events++;
	c->core->emitting = c; /* changes go to this collector's batch and cursor */
	if (rd_mailtrack_event(c->mtrack, ev) != 0)
		rd_err("collector %s: out of memory tracking mail %s", c->name,
		       ev->msgid ? ev->msgid : "-");
	c->core->emitting = NULL;
}

static void on_mail_change(void *arg, const struct rd_mail_change *ch)
{
	struct rd_core *core = arg;
	struct rd_collector *c = core->emitting;
	struct rd_batch *b = c ? current_batch(c) : NULL;

	if (!b || rd_batch_add_mail(b, ch) != 0)
		rd_err("collector %s: out of memory: change of mail %s lost", c->name, ch->msgid);
}

/* Business time in the calendar of the collector that saw the reply. */
static int64_t clock_business(void *arg, int64_t from, int64_t to)
{
	const struct rd_core *core = arg;

	return rd_calendar_business_seconds(core->emitting->cal, from, to);
}

static int64_t clock_deadline(void *arg, int64_t received)
{
	const struct rd_core *core = arg;
	const struct rd_collector *c = core->emitting;
	int64_t d = rd_calendar_add_business_days(c->cal, received, (int)c->reply_target_days);

	/* a calendar with no open day ahead: fall back to calendar days */
	return d >= 0 ? d : received + c->reply_target_days * 86400;
}

static int same_file(const struct rd_cursor *a, uint64_t dev, uint64_t ino)
{
	return a->dev == dev && a->ino == ino;
}

void rd_collector_at(struct rd_collector *c, uint64_t dev, uint64_t ino, uint64_t offset)
{
	c->line_dev = dev;
	c->line_ino = ino;
	c->last_line_at = (int64_t)time(NULL);
	/* the replay ends at the read mark, or in a file that is neither the
	 * one resumed nor the one of the mark (the mark's file is gone) */
	if (c->replaying &&
	    ((same_file(&c->read_mark, dev, ino) && offset >= c->read_mark.offset) ||
	     (!same_file(&c->read_mark, dev, ino) && !same_file(&c->resumed, dev, ino))))
		c->replaying = 0;
}

void rd_collector_accepted(struct rd_collector *c)
{
	if (!c->replaying)
		c->accepted++;
	c->dirty = 1;
}

static void keep_line(struct rd_collector *c, uint64_t offset, int unknown, const char *reason,
                      const char *line, size_t len)
{
	struct rd_batch *b = current_batch(c);
	uint32_t suppressed;

	c->dirty = 1;
	if (!b ||
	    rd_batch_add_line(b, c->line_dev, c->line_ino, offset, unknown, reason, line, len) != 0)
		rd_err("collector %s: out of memory keeping a line", c->name);
	if (rd_ratelimit_allow(&c->rl, &suppressed)) {
		if (suppressed)
			rd_warn("collector %s: %u similar messages suppressed", c->name,
			        suppressed);
		rd_log(unknown ? RD_LOG_INFO : RD_LOG_WARN, "collector %s: %s:%llu: %s: %s",
		       c->name, c->type->source(c->priv), (unsigned long long)offset,
		       unknown ? "unknown event kept" : "rejected", reason);
	}
}

void rd_collector_rejected(struct rd_collector *c, uint64_t offset, const char *reason,
                           const char *line, size_t len)
{
	if (!c->replaying)
		c->rejected++;
	keep_line(c, offset, 0, reason, line, len);
}

void rd_collector_unknown(struct rd_collector *c, uint64_t offset, const char *reason,
                          const char *line, size_t len)
{
	if (!c->replaying) {
		c->unknown++;
		c->accepted++;
	}
	keep_line(c, offset, 1, reason, line, len);
}

static void snapshot_open(void *arg, const struct rd_open_call *oc)
{
	struct rd_batch *b = arg;

	if (rd_batch_add_open(b, oc) != 0)
		rd_err("out of memory saving open call %s", oc->callid);
}

static void batch_done(struct rd_job *job);

/* Hand the accumulated batch (with its cursor) to the ledger. */
static void submit(struct rd_collector *c)
{
	struct rd_batch *b = c->batch;

	if (!b || !b->has_cursor)
		return;
	c->batch = NULL;
	rd_calltrack_foreach_open(c->track, snapshot_open, b);
	b->accepted = c->accepted;
	b->rejected = c->rejected;
	b->unknown = c->unknown;
	b->job.done = batch_done;
	b->job.arg = c->core;
	rd_ledger_submit(c->core->ledger, &b->job);
}

int rd_collector_checkpoint(struct rd_collector *c, const struct rd_cursor *cursor)
{
	return rd_collector_checkpoint_behind(c, cursor, cursor);
}

int rd_collector_checkpoint_behind(struct rd_collector *c, const struct rd_cursor *resume,
                                   const struct rd_cursor *read)
{
	struct rd_core *core = c->core;
	struct rd_batch *b = current_batch(c);

	if (!b)
		return 1; /* out of memory: pause, retry later */
	b->cursor = *resume;
	/* while replaying, the old mark stays: it is further on */
	b->read = c->replaying ? c->read_mark : *read;
	b->has_cursor = 1;
	c->read_pos = *read;
	c->dirty = 0;
	if (!c->anchored) {
		if (!c->anchor_pending) {
			c->anchor_pending = 1;
			submit(c);
		}
		c->paused = 1;
		return 1;
	}
	if (b->ncalls + b->nlines + b->nmails >= core->cfg->batch_max ||
	    mono_ms() - c->batch_started_ms >= core->cfg->commit_interval_ms)
		submit(c);
	if (rd_ledger_batches(core->ledger) >= MAX_BATCHES_IN_FLIGHT) {
		c->paused = 1;
		return 1;
	}
	return 0;
}

void rd_collector_done(struct rd_collector *c)
{
	if (c->state == CS_RUNNING)
		c->state = CS_DONE;
	submit(c);
}

/* --- batches back from the ledger ---------------------------------------- */

static void resume_paused(struct rd_core *core)
{
	if (rd_ledger_batches(core->ledger) >= MAX_BATCHES_IN_FLIGHT)
		return;
	for (struct rd_collector *c = core->collectors; c; c = c->next)
		if (c->paused && c->state == CS_RUNNING && !c->anchor_pending) {
			c->paused = 0;
			c->type->resume(c->priv);
		}
}

/* The first position of a collector is in PostgreSQL: it may read on. */
static void anchor_committed(struct rd_core *core, const struct rd_batch *b)
{
	for (struct rd_collector *c = core->collectors; c; c = c->next)
		if (c->anchor_pending && strcmp(c->name, b->collector) == 0 &&
		    strcmp(c->site, b->site) == 0) {
			c->anchor_pending = 0;
			c->anchored = 1;
		}
}

static void batch_done(struct rd_job *job)
{
	struct rd_batch *b = (struct rd_batch *)job;
	struct rd_core *core = job->arg;

	if (job->status == RD_JOB_OK)
		anchor_committed(core, b);
	if (job->status == RD_JOB_OK)
		rd_debug("committed %s/%s: %zu calls (%zu new), offset %llu", b->site, b->collector,
		         b->ncalls, b->inserted, (unsigned long long)b->cursor.offset);
	else
		rd_warn("batch of %s/%s not committed (%s): it will be read again", b->site,
		        b->collector, job->err[0] ? job->err : "stopped");
	rd_batch_free(b);
	if (!core->stopping)
		resume_paused(core);
}

/* --- start-up: load the committed state, then start reading -------------- */

struct load_job {
	struct rd_job job;
	struct rd_collector *c;
	char *site, *name, *timezone;
	PGresult *cursor, *open, *mails;
};

static enum rd_job_status load_run(struct rd_job *job, PGconn *pg)
{
	struct load_job *lj = (struct load_job *)job;
	const char *p[2] = {lj->site, lj->name}, *tz[2] = {lj->site, lj->timezone};
	PGresult *r;

	/* the site's calendar for the daily views */
	r = PQexecParams(pg,
	                 "INSERT INTO reach.sites (site, timezone) VALUES ($1, $2)"
	                 " ON CONFLICT (site) DO UPDATE SET timezone = excluded.timezone",
	                 2, NULL, tz, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(job->err, sizeof(job->err), "%s", PQerrorMessage(pg));
		job->status = rd_pg_retryable(pg, r) ? RD_JOB_RETRY : RD_JOB_FAILED;
		PQclear(r);
		return job->status;
	}
	PQclear(r);
	PQclear(lj->cursor);
	PQclear(lj->open);
	lj->open = NULL;
	lj->cursor = PQexecParams(pg,
	                          "SELECT dev, ino, \"offset\", fingerprint, source_size,"
	                          " lines_accepted, lines_rejected, lines_unknown,"
	                          " read_dev, read_ino, read_offset"
	                          " FROM reach.cursors WHERE site = $1 AND collector = $2",
	                          2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(lj->cursor) == PGRES_TUPLES_OK)
		lj->open =
		    PQexecParams(pg,
		                 "SELECT queue, callid, extract(epoch FROM entered_at)::bigint,"
		                 " coalesce(extract(epoch FROM connected_at)::bigint, 0),"
		                 " agent, coalesce(wait_s, -1)"
		                 " FROM reach.call_open WHERE site = $1 AND collector = $2",
		                 2, NULL, p, NULL, NULL, 0);
	PQclear(lj->mails);
	lj->mails = NULL;
	/* open messages (the backlog) and those finished lately: a collector
	 * resuming from a safe point may replay their events */
	if (PQresultStatus(lj->open) == PGRES_TUPLES_OK)
		lj->mails = PQexecParams(
		    pg,
		    "SELECT mailbox, msgid, sender, extract(epoch FROM received_at)::bigint,"
		    " (replied_at IS NOT NULL OR closed_at IS NOT NULL OR automatic IS NOT NULL"
		    " OR rejected),"
		    " (replied_at IS NULL AND automatic IS NULL AND NOT rejected)"
		    " FROM reach.mails WHERE site = $1 AND $2::text IS NOT NULL"
		    " AND ((replied_at IS NULL AND closed_at IS NULL AND automatic IS NULL"
		    " AND NOT rejected) OR received_at > now() - interval '8 days')",
		    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(lj->cursor) != PGRES_TUPLES_OK ||
	    PQresultStatus(lj->open) != PGRES_TUPLES_OK ||
	    PQresultStatus(lj->mails) != PGRES_TUPLES_OK) {
		snprintf(job->err, sizeof(job->err), "%s", PQerrorMessage(pg));
		return rd_pg_retryable(pg, NULL) ? RD_JOB_RETRY : RD_JOB_FAILED;
	}
	return RD_JOB_OK;
}

static uint64_t col_u64(PGresult *r, int col)
{
	return (uint64_t)strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

static void restore_open(struct rd_collector *c, PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct rd_open_call oc = {
		    .queue = PQgetvalue(r, i, 0),
		    .callid = PQgetvalue(r, i, 1),
		    .agent = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4),
		    .entered = strtoll(PQgetvalue(r, i, 2), NULL, 10),
		    .connected = strtoll(PQgetvalue(r, i, 3), NULL, 10),
		    .wait_s = (int32_t)strtol(PQgetvalue(r, i, 5), NULL, 10),
		};

		if (rd_calltrack_restore(c->track, &oc) != 0)
			rd_err("collector %s: out of memory restoring call %s", c->name, oc.callid);
	}
}

static void restore_mails(struct rd_collector *c, PGresult *r)
{
	for (int i = 0; r && i < PQntuples(r); i++) {
		struct rd_mail_state st = {
		    .mailbox = PQgetvalue(r, i, 0),
		    .msgid = PQgetvalue(r, i, 1),
		    .sender = PQgetvalue(r, i, 2),
		    .received = strtoll(PQgetvalue(r, i, 3), NULL, 10),
		    .finished = PQgetvalue(r, i, 4)[0] == 't',
		    .replyable = PQgetvalue(r, i, 5)[0] == 't',
		};

		if (rd_mailtrack_restore(c->mtrack, &st) != 0)
			rd_err("collector %s: out of memory restoring mail %s", c->name, st.msgid);
	}
}

static void start_collector(struct rd_collector *c, const struct rd_cursor *resume)
{
	c->state = CS_RUNNING;
	if (c->type->start(c->priv, c->core->base, resume, c->core->once) != 0) {
		rd_err("collector %s: cannot start", c->name);
		c->state = CS_DONE; /* in once mode, do not wait for it */
		c->core->exit_status = 1;
	}
}

static void load_done(struct rd_job *job)
{
	struct load_job *lj = (struct load_job *)job;
	struct rd_collector *c = lj->c;
	struct rd_cursor cur, *resume = NULL;

	if (job->status != RD_JOB_OK || c->retiring || c->core->stopping) {
		if (job->status == RD_JOB_FAILED)
			rd_err("collector %s: cannot load its state: %s", c->name, job->err);
		c->state = CS_STOPPED;
		goto out;
	}
	if (PQntuples(lj->cursor) == 1) {
		cur = (struct rd_cursor){col_u64(lj->cursor, 0), col_u64(lj->cursor, 1),
		                         col_u64(lj->cursor, 2), col_u64(lj->cursor, 3),
		                         col_u64(lj->cursor, 4)};
		c->accepted = col_u64(lj->cursor, 5);
		c->rejected = col_u64(lj->cursor, 6);
		c->unknown = col_u64(lj->cursor, 7);
		resume = &cur;
		c->anchored = 1;
		c->resumed = cur;
		c->read_mark = (struct rd_cursor){.dev = col_u64(lj->cursor, 8),
		                                  .ino = col_u64(lj->cursor, 9),
		                                  .offset = col_u64(lj->cursor, 10)};
		/* no mark (a row from before migration 006): nothing to skip */
		c->replaying = (c->read_mark.dev || c->read_mark.ino) &&
		               (!same_file(&cur, c->read_mark.dev, c->read_mark.ino) ||
		                c->read_mark.offset > cur.offset);
	}
	restore_open(c, lj->open);
	restore_mails(c, lj->mails);
	rd_info("collector %s: starting at offset %llu with %zu calls in progress", c->name,
	        resume ? (unsigned long long)resume->offset : 0ULL,
	        rd_calltrack_open_count(c->track));
	start_collector(c, resume);
out:
	PQclear(lj->cursor);
	PQclear(lj->open);
	PQclear(lj->mails);
	free(lj->site);
	free(lj->name);
	free(lj->timezone);
	free(lj);
}

/* The mail tracker of c's site, created with c's options at first use. */
static struct rd_mailtrack *site_tracker(struct rd_core *core, const struct rd_collector *c)
{
	struct rd_mail_clock clock = {clock_business, clock_deadline, core};
	struct site_mail *sm;

	for (sm = core->mail_sites; sm; sm = sm->next)
		if (strcmp(sm->site, c->site) == 0) {
			/* the site's mail collectors agree (check_site_mail);
			 * a call collector's defaults do not count */
			if (c->type->owns)
				rd_mailtrack_set_options(sm->track, &c->mopt);
			return sm->track;
		}
	sm = calloc(1, sizeof(*sm));
	if (!sm || !(sm->site = strdup(c->site)) ||
	    !(sm->track = rd_mailtrack_new(&c->mopt, &clock, on_mail_change, core))) {
		if (sm)
			free(sm->site);
		free(sm);
		return NULL;
	}
	sm->next = core->mail_sites;
	core->mail_sites = sm;
	return sm->track;
}

static int collector_launch(struct rd_core *core, struct rd_collector *c)
{
	struct load_job *lj = calloc(1, sizeof(*lj));

	c->core = core;
	c->track = rd_calltrack_new(&c->topt, on_call_finished, c);
	c->mtrack = site_tracker(core, c);
	if (!c->mtrack) {
		free(lj);
		return -1;
	}
	if (!lj || !c->track || !(lj->site = strdup(c->site)) || !(lj->name = strdup(c->name)) ||
	    !(lj->timezone = strdup(core->cfg->timezone ? core->cfg->timezone : "Europe/Paris"))) {
		if (lj) {
			free(lj->site);
			free(lj->name);
		}
		free(lj);
		return -1;
	}
	lj->c = c;
	lj->job.run = load_run;
	lj->job.done = load_done;
	c->state = CS_LOADING;
	rd_ledger_submit(core->ledger, &lj->job);
	return 0;
}

/* --- sites, gauges and Redis ---------------------------------------------- */

static size_t site_gauges(void *arg, const char *site, struct rd_gauge **out);

static void write_health(struct rd_core *core, const char *site)
{
	struct rd_ledger_stats ls;
	struct rd_daemon_health h = {
	    .pid = (long)getpid(), .version = REACHD_VERSION, .started_at = core->started_at};

	rd_ledger_get_stats(core->ledger, &ls);
	h.postgres_connected = ls.connected;
	h.ledger_queued = ls.queued;
	h.batches_in_flight = ls.batches;
	for (const struct rd_collector *c = core->collectors; c; c = c->next)
		if (strcmp(c->site, site) == 0) {
			h.lines_accepted += c->accepted;
			h.lines_rejected += c->rejected;
			h.lines_unknown += c->unknown;
		}
	rd_refresh_health(core->refresh, site, &h);
}

static void refresh_all(struct rd_core *core)
{
	for (struct rd_collector *c = core->collectors; c; c = c->next) {
		struct rd_collector *d;

		for (d = core->collectors; d != c; d = d->next)
			if (strcmp(d->site, c->site) == 0)
				break;
		if (d == c) {
			rd_refresh_site(core->refresh, c->site);
			write_health(core, c->site);
		}
	}
	core->last_refresh_ms = mono_ms();
}

static void on_cache_ready(void *arg)
{
	struct rd_core *core = arg;

	if (core->refresh)
		refresh_all(core);
}

struct gauge_ctx {
	struct rd_gauge *g;
	size_t n, cap;
	int64_t failed;
};

static void gauge_add(void *arg, const struct rd_open_call *oc)
{
	struct gauge_ctx *ctx = arg;
	size_t i;

	if (oc->connected)
		return;
	for (i = 0; i < ctx->n; i++)
		if (strcmp(ctx->g[i].queue, oc->queue) == 0)
			break;
	if (i == ctx->n) {
		if (ctx->n == ctx->cap) {
			size_t cap = ctx->cap ? ctx->cap * 2 : 16;
			struct rd_gauge *g = realloc(ctx->g, cap * sizeof(*g));

			if (!g) {
				ctx->failed = 1;
				return;
			}
			ctx->g = g;
			ctx->cap = cap;
		}
		ctx->g[ctx->n++] = (struct rd_gauge){oc->queue, 0, oc->entered};
	}
	ctx->g[i].waiting++;
	if (oc->entered < ctx->g[i].oldest_entered)
		ctx->g[i].oldest_entered = oc->entered;
}

/* Queue names point into the trackers: valid until the loop runs again. */
static size_t site_gauges(void *arg, const char *site, struct rd_gauge **out)
{
	struct rd_core *core = arg;
	struct gauge_ctx ctx = {0};

	for (struct rd_collector *c = core->collectors; c; c = c->next)
		if (c->track && strcmp(c->site, site) == 0)
			rd_calltrack_foreach_open(c->track, gauge_add, &ctx);
	*out = ctx.g;
	return ctx.n;
}

struct mail_gauge_ctx {
	struct rd_mail_gauge *g;
	size_t n, cap;
};

static void mail_gauge_add(void *arg, const struct rd_mail_gauge *g)
{
	struct mail_gauge_ctx *ctx = arg;
	size_t i;

	for (i = 0; i < ctx->n && strcmp(ctx->g[i].mailbox, g->mailbox) != 0; i++)
		;
	if (i == ctx->n) {
		if (ctx->n == ctx->cap) {
			size_t cap = ctx->cap ? ctx->cap * 2 : 8;
			struct rd_mail_gauge *grown = realloc(ctx->g, cap * sizeof(*grown));

			if (!grown)
				return; /* gauges are rewritten at the next refresh */
			ctx->g = grown;
			ctx->cap = cap;
		}
		ctx->g[ctx->n++] = (struct rd_mail_gauge){g->mailbox, 0, g->oldest};
	}
	ctx->g[i].backlog += g->backlog;
	if (g->oldest < ctx->g[i].oldest)
		ctx->g[i].oldest = g->oldest;
}

/* Mailbox names point into the trackers: valid until the loop runs again. */
static size_t site_mail_gauges(void *arg, const char *site, struct rd_mail_gauge **out)
{
	struct rd_core *core = arg;
	struct mail_gauge_ctx ctx = {0};

	for (struct site_mail *sm = core->mail_sites; sm; sm = sm->next)
		if (strcmp(sm->site, site) == 0)
			rd_mailtrack_gauges(sm->track, mail_gauge_add, &ctx);
	*out = ctx.g;
	return ctx.n;
}

/* Business seconds in the calendar of the collector that owns the mailbox. */
static int64_t site_mail_business(void *arg, const char *site, const char *mailbox, int64_t from,
                                  int64_t to)
{
	struct rd_core *core = arg;
	const struct rd_collector *any = NULL;

	for (const struct rd_collector *c = core->collectors; c; c = c->next) {
		if (strcmp(c->site, site) != 0 || !c->cal)
			continue;
		any = c;
		if (c->type->owns && c->type->owns(c->priv, mailbox))
			break;
	}
	return any ? rd_calendar_business_seconds(any->cal, from, to) : to - from;
}

/* --- the tick: commits by time, refreshes, completion -------------------- */

static int all_read(const struct rd_core *core)
{
	for (const struct rd_collector *c = core->collectors; c; c = c->next)
		if (c->state == CS_LOADING || c->state == CS_RUNNING)
			return 0;
	return 1;
}

static void flush_due(struct rd_core *core, int force)
{
	int64_t now = mono_ms();

	for (struct rd_collector *c = core->collectors; c; c = c->next)
		if (c->batch && !c->dirty &&
		    (force || now - c->batch_started_ms >= core->cfg->commit_interval_ms))
			submit(c);
}

static void finish_once(struct rd_core *core)
{
	if (!core->finishing) {
		/* everything is committed: one last refresh of Redis */
		core->finishing = 1;
		refresh_all(core);
		return;
	}
	if (rd_refresh_busy(core->refresh) || rd_alerts_busy(core->alerts))
		return;
	event_base_loopexit(core->base, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rd_core *core = arg;
	int64_t now = mono_ms();

	flush_due(core, core->stopping || core->once);
	if (core->stopping) {
		/* the batches, and the alert rounds and sent mails to record */
		if (rd_ledger_batches(core->ledger) == 0 && rd_ledger_queued(core->ledger) == 0 &&
		    !rd_outbox_sending(core->outbox)) {
			event_base_loopexit(core->base, NULL);
		} else if (now > core->stop_deadline_ms) {
			rd_warn("PostgreSQL did not take the last batches in time; they will be"
			        " read again at the next start");
			rd_ledger_cancel(core->ledger);
			core->exit_status = 1;
			event_base_loopexit(core->base, NULL);
		}
		return;
	}
	if (core->once) {
		if (all_read(core) && rd_ledger_batches(core->ledger) == 0)
			finish_once(core);
		return;
	}
	if (now - core->last_refresh_ms >= core->cfg->refresh_interval_ms)
		refresh_all(core);
}

/* --- lifecycle ----------------------------------------------------------- */

static void log_error(void *arg, const char *msg)
{
	rd_err("%s", msg);
}

static int build_collectors(struct rd_core *core, struct rd_config *cfg, struct rd_collector **list)
{
	int nerr = 0;

	*list = NULL;
	for (const struct rd_section *s = rd_config_next(cfg, "collector", NULL); s;
	     s = rd_config_next(cfg, "collector", s)) {
		struct rd_collector *c = collector_build(cfg, s, log_error, NULL, &nerr);

		if (c) {
			c->next = *list;
			*list = c;
		}
	}
	return nerr;
}

/* --- alerts ------------------------------------------------------------- */

static size_t site_sources(void *arg, const char *site, struct rd_alert_source *out, size_t max)
{
	struct rd_core *core = arg;
	size_t n = 0;

	for (const struct rd_collector *c = core->collectors; c && n < max; c = c->next)
		if (strcmp(c->site, site) == 0)
			out[n++] = (struct rd_alert_source){c->name, c->last_line_at};
	return n;
}

/* The opening hours of an entity: its mail collector's for a mailbox, the
 * collector's own for a source, else the site's first collector's. */
static const struct rd_calendar *entity_calendar(void *arg, const char *site, enum rd_entity kind,
                                                 const char *entity)
{
	struct rd_core *core = arg;
	const struct rd_calendar *any = NULL;

	for (const struct rd_collector *c = core->collectors; c; c = c->next) {
		if (strcmp(c->site, site) != 0 || !c->cal)
			continue;
		if (!any)
			any = c->cal;
		if ((kind == RD_ENTITY_SOURCE && strcmp(c->name, entity) == 0) ||
		    (kind == RD_ENTITY_MAILBOX && c->type->owns &&
		     c->type->owns(c->priv, entity)) ||
		    (kind == RD_ENTITY_QUEUE && !c->type->owns))
			return c->cal;
	}
	return any;
}

static void on_windows(void *arg, const char *site, int64_t to, const void *const *calls,
                       const void *const *mail)
{
	struct rd_core *core = arg;
	struct rd_site_figures f = {.site = site, .to = to};

	for (int i = 0; i < 5; i++) {
		f.calls[i] = calls[i];
		f.mail[i] = mail[i];
	}
	rd_alerts_site_figures(core->alerts, &f);
	rd_http_site_figures(core->http, &f);
	rd_outbox_kick(core->outbox);
}

static int start_alerts(struct rd_core *core)
{
	struct rd_alert_env env = {.arg = core,
	                           .gauges = site_gauges,
	                           .mail_gauges = site_mail_gauges,
	                           .mail_business = site_mail_business,
	                           .sources = site_sources,
	                           .calendar = entity_calendar,
	                           .started_at = core->started_at};

	if (rd_rules_load(core->cfg, &core->rules, log_error, NULL) != 0)
		return -1;
	core->outbox = rd_outbox_new(core->base, core->ledger, core->cfg, core->rules);
	if (core->cfg->smtp_present && !core->outbox)
		return -1;
	core->alerts =
	    rd_alerts_new(core->ledger, core->cfg, core->rules, &env, core->outbox != NULL);
	if (!core->alerts)
		return -1;
	rd_refresh_observe(core->refresh, on_windows, core);
	rd_alerts_load(core->alerts);
	return 0;
}

/* New rules for the alerts and the outbox; states of the rules kept stay.
 * [smtp] changes take effect at the next restart. */
static void reload_alerts(struct rd_core *core, const struct rd_config *cfg)
{
	struct rd_rules *rules = NULL;

	if (rd_rules_load(cfg, &rules, log_error, NULL) != 0 || !rules) {
		rd_rules_free(rules);
		rd_err("reload: the rules have errors; the previous rules stay");
		rd_alerts_reload(core->alerts, cfg, core->rules, core->outbox != NULL);
		return;
	}
	rd_alerts_reload(core->alerts, cfg, rules, core->outbox != NULL);
	if (core->outbox)
		rd_outbox_reload(core->outbox, rules);
	rd_rules_free(core->rules);
	core->rules = rules;
}

/* --- the HTTP server ----------------------------------------------------- */

/* Bytes of a file source beyond what was read: the file at the configured
 * path, less the read position when it is the same file (a rotated file
 * not read yet counts whole). A stat(): a local metadata lookup, the tail
 * does the same on the loop. */
static int64_t collector_lag(const struct rd_collector *c)
{
	const char *path = rd_section_get(c->section, "path");
	struct stat sb;

	if (!path || stat(path, &sb) != 0)
		return -1;
	if ((uint64_t)sb.st_ino == c->read_pos.ino && (uint64_t)sb.st_dev == c->read_pos.dev)
		return sb.st_size > (off_t)c->read_pos.offset
		           ? sb.st_size - (off_t)c->read_pos.offset
		           : 0;
	return sb.st_size;
}

static size_t http_collectors(void *arg, struct rd_http_collector **out)
{
	struct rd_core *core = arg;
	size_t n = 0;

	for (const struct rd_collector *c = core->collectors; c; c = c->next)
		n++;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return 0;
	n = 0;
	for (const struct rd_collector *c = core->collectors; c; c = c->next)
		(*out)[n++] = (struct rd_http_collector){
		    .name = c->name,
		    .site = c->site,
		    .type = c->type->name,
		    .source = c->type->source(c->priv),
		    .last_line_at = c->last_line_at,
		    .accepted = c->accepted,
		    .rejected = c->rejected,
		    .unknown = c->unknown,
		    .lag_bytes = collector_lag(c),
		    .loaded = c->state == CS_RUNNING || c->state == CS_DONE,
		};
	return n;
}

static int start_http(struct rd_core *core)
{
	struct rd_http_env env = {.arg = core,
	                          .collectors = http_collectors,
	                          .gauges = site_gauges,
	                          .mail_gauges = site_mail_gauges,
	                          .mail_business = site_mail_business,
	                          .ledger = core->ledger,
	                          .cache = core->cache,
	                          .alerts = core->alerts,
	                          .outbox = core->outbox,
	                          .started_at = core->started_at};

	if (core->once)
		return 0; /* a back-fill serves nobody */
	core->http = rd_http_new(core->base, core->cfg, &env);
	return core->http ? 0 : -1;
}

struct rd_core *rd_core_new(struct event_base *base, struct rd_config *cfg, int once)
{
	struct rd_core *core = calloc(1, sizeof(*core));
	struct rd_cache_options copt;
	struct timeval tv = {0, POLL_MS * 1000};

	if (!core)
		return NULL;
	core->base = base;
	core->cfg = cfg;
	core->once = once;
	core->started_at = time(NULL);
	if (build_collectors(core, cfg, &core->collectors) != 0)
		goto fail;
	copt = (struct rd_cache_options){cfg->redis_address, cfg->redis_password, cfg->redis_db,
	                                 cfg->redis_timeout_ms, 0};
	core->ledger = rd_ledger_new(base, cfg->pg_conninfo, cfg->pg_password);
	core->cache = rd_cache_new(base, &copt, on_cache_ready, core);
	if (!core->ledger || !core->cache)
		goto fail;
	core->refresh = rd_refresh_new(core->ledger, core->cache, cfg->redis_ttl_s, site_gauges,
	                               site_mail_gauges, site_mail_business, core);
	core->tick = event_new(base, -1, EV_PERSIST, on_tick, core);
	if (!core->refresh || !core->tick || event_add(core->tick, &tv) != 0)
		goto fail;
	if (start_alerts(core) != 0 || start_http(core) != 0)
		goto fail;
	for (struct rd_collector *c = core->collectors; c; c = c->next)
		if (collector_launch(core, c) != 0)
			goto fail;
	return core;
fail:
	rd_err("cannot start: out of memory or bad configuration");
	rd_core_free(core);
	return NULL;
}

static void collector_stop(struct rd_collector *c)
{
	if (c->state == CS_RUNNING || c->state == CS_DONE)
		c->type->stop(c->priv);
	c->state = CS_STOPPED;
	submit(c);
}

void rd_core_shutdown(struct rd_core *core)
{
	if (core->stopping)
		return;
	rd_info("stopping: committing what was read");
	core->stopping = 1;
	core->stop_deadline_ms = mono_ms() + DRAIN_DEADLINE_S * 1000;
	rd_outbox_stop(core->outbox);
	rd_http_stop(core->http);
	for (struct rd_collector *c = core->collectors; c; c = c->next)
		collector_stop(c);
}

/* Same collector, same settings: order of keys does not matter. */
static int same_section(const struct rd_section *a, const struct rd_section *b)
{
	if (a->nkv != b->nkv)
		return 0;
	for (size_t i = 0; i < a->nkv; i++) {
		const char *v = rd_section_get(b, a->kv[i].key);

		if (!v || strcmp(v, a->kv[i].value) != 0)
			return 0;
	}
	return 1;
}

/* Settings a collector takes from [daemon] when its section does not say. */
static int same_inherited(const struct rd_config *old, const struct rd_config *cfg,
                          const struct rd_section *s)
{
	if (!rd_section_get(s, "site") &&
	    (!old->site || !cfg->site || strcmp(old->site, cfg->site) != 0))
		return 0;
	return rd_section_get(s, "max_call") || old->max_call_ms == cfg->max_call_ms;
}

static const struct rd_section *find_named(const struct rd_config *cfg, const char *name)
{
	for (const struct rd_section *s = rd_config_next(cfg, "collector", NULL); s;
	     s = rd_config_next(cfg, "collector", s))
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* The outbox keeps the relay it started with (its thread may be talking to
 * it): say so when the file now names another. */
static int smtp_changed(const struct rd_config *a, const struct rd_config *b)
{
	const struct rd_smtp_settings *x = &a->smtp, *y = &b->smtp;

	return a->smtp_present != b->smtp_present || !same_str(x->server, y->server) ||
	       !same_str(x->from, y->from) || !same_str(x->from_name, y->from_name) ||
	       !same_str(x->username, y->username) || !same_str(x->password, y->password) ||
	       !same_str(x->helo, y->helo) || !same_str(x->ca_file, y->ca_file) ||
	       x->starttls != y->starttls || x->tls_verify != y->tls_verify ||
	       x->timeout_ms != y->timeout_ms || a->smtp_retry_ms != b->smtp_retry_ms ||
	       a->smtp_retry_max_ms != b->smtp_retry_max_ms ||
	       !same_str(a->smtp_dashboard_url, b->smtp_dashboard_url) ||
	       !same_str(a->smtp_templates, b->smtp_templates);
}

void rd_core_reload(struct rd_core *core, struct rd_config *cfg)
{
	struct rd_collector *keep = NULL, *c, *next, *fresh = NULL;
	int nerr = 0;

	if (strcmp(cfg->pg_conninfo, core->cfg->pg_conninfo) != 0 ||
	    strcmp(cfg->redis_address, core->cfg->redis_address) != 0)
		rd_warn("reload: [postgres] and [redis] changes take effect at the next restart");
	/* Unchanged collectors keep running; the others stop and commit. Their
	 * successors load the state the final batch committed (jobs run in order). */
	for (c = core->collectors; c; c = next) {
		const struct rd_section *s = find_named(cfg, c->name);

		next = c->next;
		if (s && c->state != CS_STOPPED && same_section(c->section, s) &&
		    same_inherited(core->cfg, cfg, s)) {
			c->section = s;
			c->next = keep;
			keep = c;
		} else {
			rd_info("reload: collector %s %s", c->name, s ? "changed" : "removed");
			collector_stop(c);
			c->retiring = 1;
			c->next = core->retired;
			core->retired = c;
		}
	}
	core->collectors = keep;
	for (const struct rd_section *s = rd_config_next(cfg, "collector", NULL); s;
	     s = rd_config_next(cfg, "collector", s)) {
		for (c = keep; c && strcmp(c->name, s->name) != 0; c = c->next)
			;
		if (c)
			continue;
		c = collector_build(cfg, s, log_error, NULL, &nerr);
		if (!c)
			continue;
		rd_info("reload: collector %s started", c->name);
		c->next = fresh;
		fresh = c;
	}
	reload_alerts(core, cfg);
	if (!same_str(cfg->http_listen, core->cfg->http_listen) ||
	    !same_str(cfg->http_token, core->cfg->http_token) ||
	    cfg->http_timeout_ms != core->cfg->http_timeout_ms ||
	    cfg->http_max_connections != core->cfg->http_max_connections ||
	    cfg->http_max_header_size != core->cfg->http_max_header_size ||
	    cfg->http_max_body_size != core->cfg->http_max_body_size ||
	    !same_str(cfg->http_language, core->cfg->http_language))
		rd_warn("reload: [http] changes take effect at the next restart");
	if (smtp_changed(core->cfg, cfg))
		rd_warn("reload: [smtp] changes take effect at the next restart");
	rd_http_reload(core->http, cfg);
	rd_config_free(core->cfg);
	core->cfg = cfg;
	for (c = fresh; c; c = next) {
		next = c->next;
		c->next = core->collectors;
		core->collectors = c;
		if (collector_launch(core, c) != 0)
			rd_err("reload: cannot start collector %s", c->name);
	}
	refresh_all(core);
}

int rd_core_exit_status(const struct rd_core *core)
{
	return core->exit_status;
}

void rd_core_free(struct rd_core *core)
{
	struct rd_collector *c, *next;

	if (!core)
		return;
	for (c = core->collectors; c; c = c->next) {
		if (c->state == CS_RUNNING || c->state == CS_DONE)
			c->type->stop(c->priv);
		c->state = CS_STOPPED;
	}
	core->stopping = 1;
	rd_outbox_join(core->outbox); /* what it sent is queued before the ledger ends */
	if (core->ledger)
		rd_ledger_cancel(core->ledger);
	rd_ledger_free(core->ledger); /* completes or cancels every job */
	rd_http_free(core->http);     /* its jobs answered their requests */
	rd_alerts_free(core->alerts); /* their jobs are done: now */
	rd_outbox_free(core->outbox);
	rd_rules_free(core->rules);
	rd_refresh_free(core->refresh);
	rd_cache_free(core->cache);
	if (core->tick)
		event_free(core->tick);
	for (c = core->collectors; c; c = next) {
		next = c->next;
		collector_free(c);
	}
	for (c = core->retired; c; c = next) {
		next = c->next;
		collector_free(c);
	}
	while (core->mail_sites) {
		struct site_mail *sm = core->mail_sites;

		core->mail_sites = sm->next;
		rd_mailtrack_free(sm->track);
		free(sm->site);
		free(sm);
	}
	rd_config_free(core->cfg);
	free(core);
}
