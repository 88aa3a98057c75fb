/* alerts.c - see alerts.h. A round evaluates every rule on one site:
 * the entities are those of the site's 30-day window (so an entity with no
 * traffic in a shorter window is still evaluated, with zero counts and
 * null rates), those with a live gauge, the site's collectors for no_data,
 * and every entity that already has a state. */
#include "alerts.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_format.h"
#include "alert_store.h"
#include "alertstate.h"
#include "calendar.h"
#include "config.h"
#include "fnv.h"
#include "ledger.h"
#include "log.h"
#include "mailtrack.h"

#define NWIN        5
#define MAX_SOURCES 256
/* A steady state is written again this often, so that its last
 * evaluation time stays fresh for the outage tolerance after a restart. */
#define RESAVE_S 600
/* Silences are read back after every write, and at least this often. */
#define SILENCES_EVERY_S 5

static const int64_t win_s[NWIN] = {900, 3600, 86400, 604800, 2592000};
static const char *const win_name[NWIN] = {"15m", "1h", "24h", "7d", "30d"};

struct alert {
	struct alert *next;
	struct alert *hnext; /* its bucket of the table */
	uint64_t hash;
	char *rule, *site, *entity;
	struct rd_alert_state st;
	struct rd_alert_state saved; /* the state last written */
	int saved_silenced, has_saved;
	int64_t saved_at;
	unsigned round; /* last round that evaluated it */
};

struct named_cal {
	char *name;
	struct rd_calendar *cal;
};

struct rd_alerts {
	struct rd_ledger *ledger;
	const struct rd_config *cfg;
	/* every alert is on list (for rounds) and in tab (to be found at each
	 * evaluation without a scan); ntab a power of two */
	struct alert **tab;
	size_t ntab, count;
	const struct rd_rules *rules;
	struct rd_alert_env env;
	int smtp_ready;
	struct alert *list;
	struct rd_alert_silence_row *sil;
	size_t nsil;
	int64_t sil_read_at;
	struct named_cal *cals;
	size_t ncals;
	int loaded, loading;
	/* sites whose round is being written: the next round of a site waits
	 * for its previous one, other sites do not */
	struct busy_site {
		struct busy_site *next;
		char *site;
	} * writing;
	unsigned round;
	struct rd_alerts_stats stats;
};

/* One round being built: the three jsonb arrays of its write. */
struct round {
	struct rd_alerts *a;
	const struct rd_site_figures *f;
	int64_t now;
	json_t *states, *events, *notices;
	/* the rules firing on the site when the round began, for inhibited_by
	 * (names owned by the alerts, which outlive the round) */
	const char **firing;
	size_t nfiring;
};

/* --- states ------------------------------------------------------------- */

static uint64_t alert_hash(const char *rule, const char *site, const char *entity)
{
	uint64_t h = rd_fnv1a_str(RD_FNV_BASIS, rule);

	h = rd_fnv1a(h, "", 1); /* the NULs keep ("a", "bc") apart from ("ab", "c") */
	h = rd_fnv1a_str(h, site);
	h = rd_fnv1a(h, "", 1);
	return rd_fnv1a_str(h, entity);
}

static struct alert *alert_find(struct rd_alerts *a, const char *rule, const char *site,
                                const char *entity)
{
	uint64_t h = alert_hash(rule, site, entity);

	for (struct alert *al = a->ntab ? a->tab[h & (a->ntab - 1)] : NULL; al; al = al->hnext)
		if (al->hash == h && strcmp(al->rule, rule) == 0 && strcmp(al->site, site) == 0 &&
		    strcmp(al->entity, entity) == 0)
			return al;
	return NULL;
}

/* Twice as many buckets (256 at first), every alert placed again. */
static int tab_grow(struct rd_alerts *a)
{
	size_t n = a->ntab ? a->ntab * 2 : 256;
	struct alert **tab = calloc(n, sizeof(*tab));

	if (!tab)
		return -1;
	for (struct alert *al = a->list; al; al = al->next) {
		al->hnext = tab[al->hash & (n - 1)];
		tab[al->hash & (n - 1)] = al;
	}
	free(a->tab);
	a->tab = tab;
	a->ntab = n;
	return 0;
}

static void alert_free(struct alert *al)
{
	free(al->rule);
	free(al->site);
	free(al->entity);
	free(al);
}

static struct alert *alert_get(struct rd_alerts *a, const char *rule, const char *site,
                               const char *entity)
{
	struct alert *al = alert_find(a, rule, site, entity);

	if (al)
		return al;
	if (a->count + 1 > a->ntab && tab_grow(a) != 0)
		return NULL;
	al = calloc(1, sizeof(*al));
	if (!al || !(al->rule = strdup(rule)) || !(al->site = strdup(site)) ||
	    !(al->entity = strdup(entity))) {
		if (al)
			alert_free(al);
		return NULL;
	}
	rd_alert_state_init(&al->st);
	al->hash = alert_hash(rule, site, entity);
	al->hnext = a->tab[al->hash & (a->ntab - 1)];
	a->tab[al->hash & (a->ntab - 1)] = al;
	al->next = a->list;
	a->list = al;
	a->count++;
	return al;
}

/* Take al out of the table (it stays on the list: the caller unlinks it). */
static void tab_remove(struct rd_alerts *a, const struct alert *al)
{
	for (struct alert **pp = &a->tab[al->hash & (a->ntab - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == al) {
			*pp = al->hnext;
			a->count--;
			return;
		}
}

static void alerts_clear(struct rd_alerts *a)
{
	while (a->list) {
		struct alert *next = a->list->next;

		alert_free(a->list);
		a->list = next;
	}
	free(a->tab);
	a->tab = NULL;
	a->ntab = a->count = 0;
}

/* --- calendars ------------------------------------------------------------ */

static void cals_clear(struct rd_alerts *a)
{
	for (size_t i = 0; i < a->ncals; i++) {
		free(a->cals[i].name);
		rd_calendar_free(a->cals[i].cal);
	}
	free(a->cals);
	a->cals = NULL;
	a->ncals = 0;
}

/* The named calendars the rules use, built once per configuration. */
static void cals_build(struct rd_alerts *a)
{
	cals_clear(a);
	for (size_t i = 0; a->rules && i < a->rules->nrules; i++) {
		const struct rd_rule *r = &a->rules->rules[i];
		struct named_cal *grown;
		char err[256];
		size_t k;

		if (r->calendar_mode != RD_RULE_CAL_NAMED)
			continue;
		for (k = 0; k < a->ncals && strcmp(a->cals[k].name, r->calendar) != 0; k++)
			;
		if (k < a->ncals)
			continue;
		grown = realloc(a->cals, (a->ncals + 1) * sizeof(*grown));
		if (!grown)
			return;
		a->cals = grown;
		a->cals[a->ncals].cal = rd_calendar_load(a->cfg, r->calendar, err, sizeof(err));
		a->cals[a->ncals].name = strdup(r->calendar);
		if (!a->cals[a->ncals].cal || !a->cals[a->ncals].name) {
			rd_err("rule %s: %s", r->name, err);
			rd_calendar_free(a->cals[a->ncals].cal);
			free(a->cals[a->ncals].name);
			continue;
		}
		a->ncals++;
	}
}

/* The calendar that gates rule on entity; NULL: always open. */
static const struct rd_calendar *rule_calendar(const struct rd_alerts *a, const struct rd_rule *r,
                                               const char *site, const char *entity)
{
	switch (r->calendar_mode) {
	case RD_RULE_CAL_ALWAYS: return NULL;
	case RD_RULE_CAL_NAMED:
		for (size_t k = 0; k < a->ncals; k++)
			if (strcmp(a->cals[k].name, r->calendar) == 0)
				return a->cals[k].cal;
		return NULL;
	default: return a->env.calendar(a->env.arg, site, r->figure->entity, entity);
	}
}

/* --- recording ------------------------------------------------------------ */

static int silenced(const struct rd_alerts *a, const struct rd_rule *r, const char *site,
                    const char *entity, int64_t now)
{
	for (size_t i = 0; i < a->nsil; i++) {
		struct rd_silence s = {a->sil[i].rule_glob, a->sil[i].scope_glob, a->sil[i].starts,
		                       a->sil[i].until};

		if (rd_silence_matches(&s, r, site, entity, now))
			return 1;
	}
	return 0;
}

/* 1 if a rule named in r's inhibited_by fired on the site (on any of its
 * entities) when the round began: r's notices are held as by a silence, and go out if they
 * still apply when the inhibition ends. */
static int inhibited(const struct round *rd, const struct rd_rule *r)
{
	for (size_t i = 0; i < r->ninhibited_by; i++)
		for (size_t k = 0; k < rd->nfiring; k++)
			if (strcmp(rd->firing[k], r->inhibited_by[i]) == 0)
				return 1;
	return 0;
}

/* rd->firing: one pass over the alerts per round, only when a rule has
 * inhibited_by; NULL otherwise (or out of memory: nothing inhibited). */
static void round_firing(struct round *rd)
{
	const struct rd_rules *rules = rd->a->rules;
	size_t any = 0;

	for (size_t i = 0; i < rules->nrules; i++)
		any += rules->rules[i].ninhibited_by;
	if (!any || !(rd->firing = calloc(rules->nrules, sizeof(*rd->firing))))
		return;
	for (const struct alert *al = rd->a->list; al; al = al->next) {
		size_t k;

		if (al->st.status != RD_ALERT_FIRING || strcmp(al->site, rd->f->site) != 0)
			continue;
		for (k = 0; k < rd->nfiring && strcmp(rd->firing[k], al->rule) != 0; k++)
			;
		if (k == rd->nfiring && rd->nfiring < rules->nrules)
			rd->firing[rd->nfiring++] = al->rule;
	}
}

/* The state's row when it changed since written (the silenced column
 * included), or was last written long ago. Compared field by field: this
 * runs for every alert at every refresh, JSON is built only for a write. */
static void record_state(struct round *rd, struct alert *al, int is_silenced)
{
	json_t *js, *row;

	if (al->has_saved && rd_alert_state_same(&al->st, &al->saved) &&
	    al->saved_silenced == is_silenced && rd->now - al->saved_at < RESAVE_S)
		return;
	js = rd_alert_state_to_json(&al->st);
	row = js ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:b, s:b, s:b, s:o}", "rule",
	                     al->rule, "site", al->site, "entity", al->entity, "status",
	                     rd_alert_status_name(al->st.status), "level",
	                     rd_level_name(al->st.level), "since", (json_int_t)al->st.since,
	                     "value", al->st.has_value ? json_real(al->st.last_value) : json_null(),
	                     "flapping", al->st.flapping, "insufficient", al->st.insufficient,
	                     "silenced", is_silenced, "state", js)
	         : NULL;
	if (!row || json_array_append_new(rd->states, row) != 0)
		return;
	al->saved = al->st;
	al->saved_silenced = is_silenced;
	al->has_saved = 1;
	al->saved_at = rd->now;
}

static const char *quiet_name(enum rd_alert_quiet q)
{
	static const char *names[] = {NULL, "silenced", "flapping", "closed", "not_notified"};

	return (unsigned)q < sizeof(names) / sizeof(names[0]) ? names[q] : "?";
}

/* The threshold that the decision is about, as configured. */
static const struct rd_threshold *decision_threshold(const struct rd_rule *r,
                                                     const struct rd_alert_decision *d)
{
	if (d->action == RD_ACT_RESOLVE)
		return &r->clear;
	if (d->level == RD_LEVEL_CRITICAL && r->critical.set)
		return &r->critical;
	return r->warning.set ? &r->warning : &r->critical;
}

/* One notice per recipients group of the rule, with every template field
 * formatted in the group's language. */
static void record_notices(struct round *rd, const struct rd_rule *r, const struct alert *al,
                           const struct rd_alert_decision *d, const char *window)
{
	/* dates in the entity's time zone, whatever calendar gates the rule */
	const struct rd_calendar *tzcal =
	    rd->a->env.calendar(rd->a->env.arg, al->site, r->figure->entity, al->entity);

	for (size_t i = 0; i < r->nnotify; i++) {
		const struct rd_recipients *g = rd_rules_recipients(rd->a->rules, r->notify[i]);
		struct rd_alert_text t;
		json_t *n;

		if (!g)
			continue;
		rd_alert_text_fill(&t, g->language, r, &al->st, d, decision_threshold(r, d), tzcal);
		n = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		    "s:s, s:s, s:s, s:s, s:s, s:s}}",
		    "grp", g->name, "rule", r->name, "site", al->site, "entity", al->entity,
		    "action", rd_alert_action_name(d->action), "level", rd_level_name(d->level),
		    "payload", "rule", r->name, "figure", r->figure->name, "value", t.value,
		    "threshold", t.threshold, "window", window ? window : "", "site", al->site,
		    "scope_kind", rd_entity_name(r->figure->entity), "entity", al->entity,
		    "severity", rd_level_name(d->level), "since", t.since, "state", t.state,
		    "action", rd_alert_action_name(d->action), "level", rd_level_name(d->level));
		/* the rule's own label, shown beside the level in the subject */
		if (n && r->severity &&
		    json_object_set_new(json_object_get(n, "payload"), "label",
		                        json_string(r->severity)) != 0) {
			json_decref(n);
			n = NULL;
		}
		if (!n || json_array_append_new(rd->notices, n) != 0)
			rd_err("alerts: out of memory queueing a notice of rule %s", r->name);
		else
			rd->a->stats.notices++;
	}
}

static void record_event(struct round *rd, const struct rd_rule *r, const struct alert *al,
                         const struct rd_alert_decision *d, const char *window, const char *quiet)
{
	struct rd_alert_text t;
	json_t *e;

	rd_alert_text_fill(&t, "en", r, &al->st, d, decision_threshold(r, d), NULL);
	e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s?, s:s?}", "at",
	              (json_int_t)rd->now, "rule", r->name, "site", al->site, "entity", al->entity,
	              "figure", r->figure->name, "action", rd_alert_action_name(d->action), "level",
	              rd_level_name(d->level), "value",
	              al->st.has_value ? json_real(al->st.last_value) : json_null(), "threshold",
	              t.threshold_raw, "window_name", window, "quiet", quiet);
	if (!e || json_array_append_new(rd->events, e) != 0)
		rd_err("alerts: out of memory recording a change of rule %s", r->name);
	rd->a->stats.transitions++;
}

/* Evaluate rule on one entity with sample s (now, value, samples). */
static void evaluate(struct round *rd, const struct rd_rule *r, const char *entity,
                     struct rd_alert_sample *s)
{
	struct rd_alerts *a = rd->a;
	const char *site = rd->f->site;
	struct alert *al = alert_get(a, r->name, site, entity);
	const struct rd_calendar *cal;
	const char *window = NULL;
	struct rd_alert_decision d;
	const char *quiet;
	int sil, inh;

	if (!al) {
		rd_err("alerts: out of memory evaluating rule %s", r->name);
		return;
	}
	for (int i = 0; i < NWIN; i++)
		if (!r->figure->gauge && r->window_s == win_s[i])
			window = win_name[i];
	al->round = a->round;
	cal = rule_calendar(a, r, site, entity);
	s->now = rd->now;
	s->in_calendar = cal ? rd_calendar_is_open(cal, rd->now) : 1;
	sil = silenced(a, r, site, entity, rd->now);
	inh = inhibited(rd, r);
	s->silenced = sil || inh;
	d = rd_alert_eval(r, &al->st, s, &al->st);
	if (d.action != RD_ACT_NONE) {
		/* NULL only for what is mailed; a transition that never is
		 * (insufficient data) says so */
		quiet = d.notify                   ? NULL
		        : d.quiet != RD_QUIET_NONE ? quiet_name(d.quiet)
		                                   : "recorded_only";
		if (d.quiet == RD_QUIET_SILENCED && !sil)
			quiet = "inhibited";
		if (d.notify && !a->smtp_ready)
			quiet = "no_smtp";
		if (d.notify && r->nnotify == 0)
			quiet = "no_recipients";
		record_event(rd, r, al, &d, window, quiet);
		if (!quiet)
			record_notices(rd, r, al, &d, window);
	}
	record_state(rd, al, sil);
}

/* --- samples ---------------------------------------------------------------- */

static double col_num(const PGresult *res, int row, const char *name, int *isnull)
{
	int c = PQfnumber(res, name);

	if (c < 0 || row < 0 || PQgetisnull(res, row, c)) {
		*isnull = 1;
		return 0;
	}
	*isnull = 0;
	return strtod(PQgetvalue(res, row, c), NULL);
}

static double col_count(const PGresult *res, int row, const char *name)
{
	int isnull;
	double v = col_num(res, row, name, &isnull);

	return isnull ? 0 : v;
}

static int64_t sample_size(enum rd_sample kind, const PGresult *res, int row)
{
	switch (kind) {
	case RD_SAMPLE_OFFERED_NET:
		return (int64_t)(col_count(res, row, "offered") -
		                 col_count(res, row, "short_abandoned"));
	case RD_SAMPLE_GLOBAL:
		return (int64_t)(col_count(res, row, "offered") -
		                 col_count(res, row, "short_abandoned") +
		                 col_count(res, row, "ivr_handled"));
	case RD_SAMPLE_ANSWERED: return (int64_t)col_count(res, row, "answered");
	case RD_SAMPLE_WAITED:
		return (int64_t)(col_count(res, row, "answered") +
		                 col_count(res, row, "abandoned"));
	case RD_SAMPLE_RECEIVED: return (int64_t)col_count(res, row, "received");
	case RD_SAMPLE_REPLIED: return (int64_t)col_count(res, row, "replied");
	default: return 0;
	}
}

static int find_row(const PGresult *res, const char *entity)
{
	for (int row = 0; res && row < PQntuples(res); row++)
		if (strcmp(PQgetvalue(res, row, 1), entity) == 0)
			return row;
	return -1;
}

/* A windowed figure: the value of entity's row, or zero counts and a null
 * rate when the entity had nothing in the window. */
static void window_sample(const struct rd_rule *r, const PGresult *res, const char *entity,
                          struct rd_alert_sample *s)
{
	int row = find_row(res, entity), isnull;
	double v = col_num(res, row, r->figure->name, &isnull);

	s->has_value = !isnull || r->figure->unit == RD_UNIT_COUNT;
	s->value = isnull ? 0 : v;
	s->samples = row < 0 ? 0 : sample_size(r->figure->sample, res, row);
}

static void eval_window_rule(struct round *rd, const struct rd_rule *r)
{
	const PGresult *const *fam =
	    r->figure->entity == RD_ENTITY_QUEUE ? rd->f->calls : rd->f->mail;
	const PGresult *month = fam[NWIN - 1], *res = NULL;

	for (int i = 0; i < NWIN; i++)
		if (r->window_s == win_s[i])
			res = fam[i];
	if (!res || !month)
		return;
	for (int row = 0; row < PQntuples(month); row++) {
		const char *entity = PQgetvalue(month, row, 1);
		struct rd_alert_sample s = {0};

		if (!rd_rule_scope_match(r, rd->f->site, entity))
			continue;
		window_sample(r, res, entity, &s);
		evaluate(rd, r, entity, &s);
	}
}

/* Queue gauges: every queue with calls waiting, and every queue of the
 * 30-day window (idle: 0). */
static void eval_call_gauges(struct round *rd, const struct rd_rule *r)
{
	struct rd_gauge *g = NULL;
	size_t n = rd->a->env.gauges(rd->a->env.arg, rd->f->site, &g);
	const PGresult *month = rd->f->calls[NWIN - 1];
	int longest = strcmp(r->figure->name, "longest_wait_s") == 0;

	for (size_t i = 0; i < n; i++) {
		struct rd_alert_sample s = {.has_value = 1};

		if (!rd_rule_scope_match(r, rd->f->site, g[i].queue))
			continue;
		s.value = longest ? (double)(g[i].waiting && rd->now > g[i].oldest_entered
		                                 ? rd->now - g[i].oldest_entered
		                                 : 0)
		                  : (double)g[i].waiting;
		evaluate(rd, r, g[i].queue, &s);
	}
	for (int row = 0; month && row < PQntuples(month); row++) {
		const char *q = PQgetvalue(month, row, 1);
		struct rd_alert_sample s = {.has_value = 1, .value = 0};
		size_t k;

		for (k = 0; k < n && strcmp(g[k].queue, q) != 0; k++)
			;
		if (k == n && rd_rule_scope_match(r, rd->f->site, q))
			evaluate(rd, r, q, &s);
	}
	free(g);
}

static double mail_gauge_value(struct round *rd, const struct rd_rule *r,
                               const struct rd_mail_gauge *g)
{
	int64_t age = g->backlog && rd->now > g->oldest ? rd->now - g->oldest : 0;

	if (strcmp(r->figure->name, "backlog") == 0)
		return (double)g->backlog;
	if (strcmp(r->figure->name, "oldest_unanswered_s") == 0)
		return (double)age;
	return g->backlog ? (double)rd->a->env.mail_business(rd->a->env.arg, rd->f->site,
	                                                     g->mailbox, g->oldest, rd->now)
	                  : 0;
}

static void eval_mail_gauges(struct round *rd, const struct rd_rule *r)
{
	struct rd_mail_gauge *g = NULL;
	size_t n = rd->a->env.mail_gauges(rd->a->env.arg, rd->f->site, &g);
	const PGresult *month = rd->f->mail[NWIN - 1];

	for (size_t i = 0; i < n; i++) {
		struct rd_alert_sample s = {.has_value = 1};

		if (!rd_rule_scope_match(r, rd->f->site, g[i].mailbox))
			continue;
		s.value = mail_gauge_value(rd, r, &g[i]);
		evaluate(rd, r, g[i].mailbox, &s);
	}
	for (int row = 0; month && row < PQntuples(month); row++) {
		const char *mb = PQgetvalue(month, row, 1);
		struct rd_alert_sample s = {.has_value = 1, .value = 0};
		size_t k;

		for (k = 0; k < n && strcmp(g[k].mailbox, mb) != 0; k++)
			;
		if (k == n && rd_rule_scope_match(r, rd->f->site, mb))
			evaluate(rd, r, mb, &s);
	}
	free(g);
}

/* no_data: opening time since the source's last line (or since the daemon
 * started, when it has read nothing since), in the rule's calendar. */
static void eval_no_data(struct round *rd, const struct rd_rule *r)
{
	struct rd_alert_source src[MAX_SOURCES];
	size_t n = rd->a->env.sources(rd->a->env.arg, rd->f->site, src, MAX_SOURCES);

	for (size_t i = 0; i < n; i++) {
		const struct rd_calendar *cal = rule_calendar(rd->a, r, rd->f->site, src[i].name);
		int64_t last = src[i].last_line_at > rd->a->env.started_at ? src[i].last_line_at
		                                                           : rd->a->env.started_at;
		struct rd_alert_sample s = {.has_value = 1};

		if (!rd_rule_scope_match(r, rd->f->site, src[i].name))
			continue;
		s.value = (double)(cal ? rd_calendar_business_seconds(cal, last, rd->now)
		                       : (rd->now > last ? rd->now - last : 0));
		evaluate(rd, r, src[i].name, &s);
	}
}

/* States of this site that nothing above evaluated (the entity left every
 * window, a collector was removed): no value, so no verdict either way. */
static void eval_leftovers(struct round *rd)
{
	for (struct alert *al = rd->a->list; al; al = al->next) {
		const struct rd_rule *r;
		struct rd_alert_sample s = {0};

		if (al->round == rd->a->round || strcmp(al->site, rd->f->site) != 0)
			continue;
		r = rd_rules_find(rd->a->rules, al->rule);
		if (r && rd_rule_scope_match(r, al->site, al->entity))
			evaluate(rd, r, al->entity, &s);
	}
}

/* --- the round ------------------------------------------------------------ */

static int site_busy(const struct rd_alerts *a, const char *site)
{
	for (const struct busy_site *b = a->writing; b; b = b->next)
		if (strcmp(b->site, site) == 0)
			return 1;
	return 0;
}

static void site_done(struct rd_alerts *a, const char *site)
{
	for (struct busy_site **pp = &a->writing; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->site, site) == 0) {
			struct busy_site *b = *pp;

			*pp = b->next;
			free(b->site);
			free(b);
			return;
		}
}

static void write_done(struct rd_job *job)
{
	struct rd_alert_write_job *w = (struct rd_alert_write_job *)job;
	struct rd_alerts *a = job->arg;

	if (job->status == RD_JOB_OK && w->have_sil) {
		rd_alert_silences_free(a->sil, a->nsil);
		a->sil = w->sil;
		a->nsil = w->nsil;
		a->sil_read_at = (int64_t)time(NULL);
		w->sil = NULL;
		w->nsil = 0;
	} else if (job->status != RD_JOB_OK && job->status != RD_JOB_CANCELLED) {
		rd_err("alerts: cannot record a round: %s", job->err);
	}
	rd_alert_silences_free(w->sil, w->nsil);
	json_decref(w->states);
	json_decref(w->events);
	json_decref(w->notices);
	site_done(a, w->site);
	free(w->site);
	free(w);
}

/* Write what the round changed; with nothing to write, only read the
 * silences again when they are SILENCES_EVERY_S old (a silence added with
 * reachctl applies within seconds). */
static void submit_round(struct round *rd)
{
	struct rd_alert_write_job *w;
	struct busy_site *busy;

	if (json_array_size(rd->states) + json_array_size(rd->events) +
	            json_array_size(rd->notices) ==
	        0 &&
	    rd->now - rd->a->sil_read_at < SILENCES_EVERY_S) {
		json_decref(rd->states);
		json_decref(rd->events);
		json_decref(rd->notices);
		return;
	}
	w = calloc(1, sizeof(*w));
	busy = calloc(1, sizeof(*busy));
	if (w)
		w->site = strdup(rd->f->site);
	if (busy)
		busy->site = strdup(rd->f->site);
	if (!w || !w->site || !busy || !busy->site) {
		if (w)
			free(w->site);
		if (busy)
			free(busy->site);
		free(w);
		free(busy);
		rd_err("alerts: out of memory writing a round");
		json_decref(rd->states);
		json_decref(rd->events);
		json_decref(rd->notices);
		return;
	}
	w->job.run = rd_alert_store_write;
	w->job.done = write_done;
	w->job.arg = rd->a;
	w->job.persist = 1; /* a transition must never be dropped */
	w->states = rd->states;
	w->events = rd->events;
	w->notices = rd->notices;
	busy->next = rd->a->writing;
	rd->a->writing = busy;
	rd_ledger_submit(rd->a->ledger, &w->job);
}

void rd_alerts_site_figures(struct rd_alerts *a, const struct rd_site_figures *f)
{
	struct round rd = {.a = a,
	                   .f = f,
	                   .now = (int64_t)time(NULL),
	                   .states = json_array(),
	                   .events = json_array(),
	                   .notices = json_array()};

	if (!a->loaded || site_busy(a, f->site) || !a->rules || !a->rules->nrules || !rd.states ||
	    !rd.events || !rd.notices) {
		json_decref(rd.states);
		json_decref(rd.events);
		json_decref(rd.notices);
		return;
	}
	a->round++;
	a->stats.rounds++;
	round_firing(&rd);
	for (size_t i = 0; i < a->rules->nrules; i++) {
		const struct rd_rule *r = &a->rules->rules[i];

		if (r->site_glob && fnmatch(r->site_glob, f->site, 0) != 0)
			continue;
		if (r->figure->entity == RD_ENTITY_SOURCE)
			eval_no_data(&rd, r);
		else if (!r->figure->gauge)
			eval_window_rule(&rd, r);
		else if (r->figure->entity == RD_ENTITY_QUEUE)
			eval_call_gauges(&rd, r);
		else
			eval_mail_gauges(&rd, r);
	}
	eval_leftovers(&rd);
	submit_round(&rd);
	free(rd.firing);
}

/* --- rules removed ------------------------------------------------------------ */

static void prune_done(struct rd_job *job)
{
	struct rd_alert_prune_job *p = (struct rd_alert_prune_job *)job;

	if (job->status == RD_JOB_FAILED)
		rd_err("alerts: cannot forget the alerts of removed rules: %s", job->err);
	free(p->rules);
	free(p->sites);
	free(p);
}

/* The configured rules and this daemon's sites, as JSON arrays. */
static int prune_lists(const struct rd_alerts *a, char **rules, char **sites)
{
	json_t *r = json_array(), *s = json_array();

	for (size_t i = 0; r && a->rules && i < a->rules->nrules; i++)
		json_array_append_new(r, json_string(a->rules->rules[i].name));
	for (const struct rd_section *c = rd_config_next(a->cfg, "collector", NULL); s && c;
	     c = rd_config_next(a->cfg, "collector", c)) {
		const char *site = rd_section_get(c, "site");

		if (site || a->cfg->site)
			json_array_append_new(s, json_string(site ? site : a->cfg->site));
	}
	*rules = r ? json_dumps(r, JSON_COMPACT) : NULL;
	*sites = s ? json_dumps(s, JSON_COMPACT) : NULL;
	json_decref(r);
	json_decref(s);
	return *rules && *sites ? 0 : -1;
}

/* A rule left the configuration: its alerts leave memory and the table
 * (their history stays in reach.alert_events). */
static void prune_removed(struct rd_alerts *a)
{
	struct rd_alert_prune_job *p;

	if (!a->rules)
		return;
	for (struct alert **pp = &a->list; *pp;) {
		struct alert *al = *pp;

		if (rd_rules_find(a->rules, al->rule)) {
			pp = &al->next;
			continue;
		}
		*pp = al->next;
		tab_remove(a, al);
		alert_free(al);
	}
	p = calloc(1, sizeof(*p));
	if (!p || prune_lists(a, &p->rules, &p->sites) != 0) {
		if (p) {
			free(p->rules);
			free(p->sites);
		}
		free(p);
		rd_err("alerts: out of memory");
		return;
	}
	p->job.run = rd_alert_store_prune;
	p->job.done = prune_done;
	rd_ledger_submit(a->ledger, &p->job);
}

/* --- loading ---------------------------------------------------------------- */

static void restore_states(struct rd_alerts *a, PGresult *res)
{
	for (int i = 0; res && i < PQntuples(res); i++) {
		json_error_t jerr;
		json_t *js = json_loads(PQgetvalue(res, i, 3), 0, &jerr);
		struct alert *al;
		char err[256];

		al = js ? alert_get(a, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		                    PQgetvalue(res, i, 2))
		        : NULL;
		if (!al || rd_alert_state_from_json(js, &al->st, err, sizeof(err)) != 0)
			rd_warn(
			    "alerts: the state of rule %s on %s/%s cannot be read back; it starts"
			    " again",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		json_decref(js);
	}
}

static void load_done(struct rd_job *job)
{
	struct rd_alert_load_job *l = (struct rd_alert_load_job *)job;
	struct rd_alerts *a = job->arg;

	a->loading = 0;
	if (job->status == RD_JOB_OK) {
		restore_states(a, l->states);
		rd_alert_silences_free(a->sil, a->nsil);
		a->sil = l->sil;
		a->nsil = l->nsil;
		l->sil = NULL;
		l->nsil = 0;
		a->sil_read_at = (int64_t)time(NULL);
		a->loaded = 1;
		prune_removed(a);
	} else if (job->status != RD_JOB_CANCELLED) {
		rd_err("alerts: cannot read the alert states back: %s", job->err);
	}
	PQclear(l->states);
	rd_alert_silences_free(l->sil, l->nsil);
	free(l);
}

void rd_alerts_load(struct rd_alerts *a)
{
	struct rd_alert_load_job *l;

	if (a->loaded || a->loading)
		return;
	l = calloc(1, sizeof(*l));
	if (!l) {
		rd_err("alerts: out of memory");
		return;
	}
	l->job.run = rd_alert_store_load;
	l->job.done = load_done;
	l->job.arg = a;
	l->job.persist = 1;
	a->loading = 1;
	rd_ledger_submit(a->ledger, &l->job);
}

/* --- lifecycle ---------------------------------------------------------------- */

struct rd_alerts *rd_alerts_new(struct rd_ledger *ledger, const struct rd_config *cfg,
                                const struct rd_rules *rules, const struct rd_alert_env *env,
                                int smtp_ready)
{
	struct rd_alerts *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->ledger = ledger;
	a->env = *env;
	a->smtp_ready = smtp_ready;
	rd_alerts_reload(a, cfg, rules, smtp_ready);
	return a;
}

void rd_alerts_reload(struct rd_alerts *a, const struct rd_config *cfg,
                      const struct rd_rules *rules, int smtp_ready)
{
	a->cfg = cfg;
	a->rules = rules;
	a->smtp_ready = smtp_ready;
	cals_build(a);
	if (a->loaded)
		prune_removed(a);
}

void rd_alerts_free(struct rd_alerts *a)
{
	if (!a)
		return;
	alerts_clear(a);
	cals_clear(a);
	rd_alert_silences_free(a->sil, a->nsil);
	while (a->writing)
		site_done(a, a->writing->site);
	free(a);
}

int rd_alerts_busy(const struct rd_alerts *a)
{
	return a->loading || a->writing != NULL;
}

void rd_alerts_get_stats(const struct rd_alerts *a, struct rd_alerts_stats *st)
{
	*st = a->stats;
	st->alerts = st->firing = st->pending = 0;
	for (const struct alert *al = a->list; al; al = al->next) {
		st->alerts++;
		st->firing += al->st.status == RD_ALERT_FIRING;
		st->pending += al->st.status == RD_ALERT_PENDING;
	}
}
