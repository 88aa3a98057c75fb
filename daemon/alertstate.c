/* alertstate.c - see alertstate.h. An evaluation has two steps: the
 * condition step moves the state (timers, status, level, flap history)
 * from the value alone; the notice step compares the level now with the
 * level last notified and decides what may be mailed. Keeping them apart
 * is what makes a suppressed notice (silence, flapping, closed hours)
 * come out later, once, instead of being lost or repeated. */
#include "alertstate.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

void rd_alert_state_init(struct rd_alert_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status = RD_ALERT_INACTIVE;
	st->level = RD_LEVEL_NONE;
	st->last_notified_level = RD_LEVEL_NONE;
}

const char *rd_alert_action_name(enum rd_alert_action a)
{
	static const char *names[] = {"none",           "fire",          "escalate",
	                              "deescalate",     "resolve",       "repeat",
	                              "flapping_start", "flapping_stop", "insufficient"};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const char *rd_alert_status_name(enum rd_alert_status s)
{
	static const char *names[] = {"inactive", "pending", "firing", "resolved"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* --- flap detection -------------------------------------------------------- */

double rd_alert_flap_percent(const struct rd_alert_state *st)
{
	const int n = RD_ALERT_FLAP_STATES;
	double sum = 0;
	int prev = st->flap_history[st->flap_next % n];

	for (int x = 1; x < n; x++) {
		int cur = st->flap_history[(st->flap_next + x) % n];

		if (cur != prev)
			sum += 0.75 + (double)(x - 1) * 0.5 / (double)(n - 2);
		prev = cur;
	}
	return sum * 100.0 / (double)(n - 1);
}

static int flap_last(const struct rd_alert_state *st)
{
	return st->flap_history[(st->flap_next + RD_ALERT_FLAP_STATES - 1) % RD_ALERT_FLAP_STATES];
}

static void flap_push(struct rd_alert_state *st, int level)
{
	st->flap_history[st->flap_next] = (uint8_t)level;
	st->flap_next = (st->flap_next + 1) % RD_ALERT_FLAP_STATES;
}

/* Store one state per step elapsed without a change (an evaluation
 * cadence slower than the step, or the daemon being down, must not leave
 * old transitions weighing as if recent), then the confirmed level if it
 * changed. */
static void flap_record(struct rd_alert_state *st, int64_t now)
{
	int level = st->status == RD_ALERT_FIRING ? (int)st->level : 0;
	int64_t steps =
	    st->flap_recorded_at ? (now - st->flap_recorded_at) / RD_ALERT_FLAP_STEP_S : 1;

	if (steps > 0) {
		for (int64_t i = 0; i < steps && i < RD_ALERT_FLAP_STATES; i++)
			flap_push(st, flap_last(st));
		st->flap_recorded_at = st->flap_recorded_at
		                           ? st->flap_recorded_at + steps * RD_ALERT_FLAP_STEP_S
		                           : now;
	}
	if (level != flap_last(st)) {
		flap_push(st, level);
		st->flap_recorded_at = now;
	}
	st->flap_percent = rd_alert_flap_percent(st);
}

/* Start at >= flap_high, stop at <= flap_low: +1 started, -1 stopped. */
static int flap_update(const struct rd_rule *r, struct rd_alert_state *st, int64_t now)
{
	flap_record(st, now);
	if (st->flapping && r->flap_high <= 0) {
		st->flapping = 0; /* detection turned off by a reload */
		return -1;
	}
	if (r->flap_high <= 0)
		return 0;
	if (!st->flapping && st->flap_percent >= r->flap_high) {
		st->flapping = 1;
		return 1;
	}
	if (st->flapping && st->flap_percent <= r->flap_low) {
		st->flapping = 0;
		return -1;
	}
	return 0;
}

/* --- the condition step ------------------------------------------------------ */

static void reset_timers(struct rd_alert_state *st)
{
	st->problem_since = st->critical_since = st->clear_since = st->relief_since = 0;
}

static void set_status(struct rd_alert_state *st, enum rd_alert_status status, enum rd_level level,
                       int64_t now)
{
	if (st->status != status || st->level != level)
		st->since = now;
	st->status = status;
	st->level = level;
}

/* Extend or break each run with this sample. Outside the calendar, no
 * problem run may start or go on: nothing new fires while closed. */
static void update_timers(const struct rd_rule *r, struct rd_alert_state *st,
                          const struct rd_alert_sample *s)
{
	enum rd_level lvl = rd_rule_level(r, s->value);
	int problem = lvl != RD_LEVEL_NONE && s->in_calendar;
	int critical = lvl == RD_LEVEL_CRITICAL && s->in_calendar;
	int clear = rd_threshold_holds(&r->clear, s->value);
	int relief = lvl != RD_LEVEL_CRITICAL && rd_threshold_holds(&r->relief, s->value);

	st->problem_since = problem ? (st->problem_since ? st->problem_since : s->now) : 0;
	st->critical_since = critical ? (st->critical_since ? st->critical_since : s->now) : 0;
	st->clear_since = clear ? (st->clear_since ? st->clear_since : s->now) : 0;
	st->relief_since = relief ? (st->relief_since ? st->relief_since : s->now) : 0;
}

static int held(int64_t since, int64_t now, int64_t len)
{
	return since && now - since >= len;
}

static void step_idle(const struct rd_rule *r, struct rd_alert_state *st, int64_t now)
{
	if (held(st->problem_since, now, r->for_s))
		set_status(st, RD_ALERT_FIRING,
		           held(st->critical_since, now, r->for_s) || !r->warning.set
		               ? RD_LEVEL_CRITICAL
		               : RD_LEVEL_WARNING,
		           now);
	else if (st->problem_since)
		set_status(st, RD_ALERT_PENDING, RD_LEVEL_NONE, now);
	else if (st->status == RD_ALERT_PENDING)
		set_status(st, RD_ALERT_INACTIVE, RD_LEVEL_NONE, now);
}

static void step_firing(const struct rd_rule *r, struct rd_alert_state *st, int64_t now)
{
	if (held(st->clear_since, now, r->clear_for_s))
		set_status(st, RD_ALERT_RESOLVED, RD_LEVEL_NONE, now);
	else if (st->level == RD_LEVEL_WARNING && held(st->critical_since, now, r->for_s))
		set_status(st, RD_ALERT_FIRING, RD_LEVEL_CRITICAL, now);
	else if (st->level == RD_LEVEL_CRITICAL && r->warning.set &&
	         held(st->relief_since, now, r->clear_for_s))
		set_status(st, RD_ALERT_FIRING, RD_LEVEL_WARNING, now);
}

static int insufficient(const struct rd_rule *r, const struct rd_alert_sample *s)
{
	return !s->has_value ||
	       (r->figure->sample != RD_SAMPLE_NONE && s->samples < r->min_samples);
}

/* --- the notice step ---------------------------------------------------------- */

static enum rd_level firing_level(const struct rd_alert_state *st)
{
	return st->status == RD_ALERT_FIRING ? st->level : RD_LEVEL_NONE;
}

/* The move from level a to level b, as an action. */
static struct rd_alert_decision move(enum rd_level a, enum rd_level b)
{
	struct rd_alert_decision d = {RD_ACT_NONE, RD_LEVEL_NONE, RD_ACT_NONE, RD_LEVEL_NONE,
	                              0,           RD_QUIET_NONE};

	if (a == b)
		return d;
	d.level = b;
	if (a == RD_LEVEL_NONE)
		d.action = RD_ACT_FIRE;
	else if (b == RD_LEVEL_NONE)
		d.action = RD_ACT_RESOLVE, d.level = a;
	else
		d.action = b > a ? RD_ACT_ESCALATE : RD_ACT_DEESCALATE;
	return d;
}

/* What the recipients should be told to be up to date, or a repeat. */
static struct rd_alert_decision wanted(const struct rd_rule *r, const struct rd_alert_state *st,
                                       int64_t now)
{
	enum rd_level cur = firing_level(st);
	struct rd_alert_decision d = move(st->last_notified_level, cur);

	if (d.action == RD_ACT_NONE && cur != RD_LEVEL_NONE && r->repeat_s > 0 &&
	    now - st->last_notified_at >= r->repeat_s) {
		d.action = RD_ACT_REPEAT;
		d.level = cur;
	}
	return d;
}

/* Why d cannot be mailed now (RD_QUIET_NONE: it can). A recovery always
 * can, silenced or closed, when its problem was notified (Icinga's rule);
 * a de-escalation is good news too and is not held by closed hours. */
static enum rd_alert_quiet blocked(const struct rd_alert_decision *d,
                                   const struct rd_alert_sample *s)
{
	if (d->action == RD_ACT_RESOLVE)
		return RD_QUIET_NONE;
	if (s->silenced)
		return RD_QUIET_SILENCED;
	if (!s->in_calendar && d->action != RD_ACT_DEESCALATE)
		return RD_QUIET_CLOSED;
	return RD_QUIET_NONE;
}

static void notified(struct rd_alert_state *st, enum rd_level level, int64_t now)
{
	st->last_notified_level = level;
	st->last_notified_at = now;
}

static struct rd_alert_decision flapping_stop(const struct rd_rule *r, struct rd_alert_state *st,
                                              const struct rd_alert_sample *s)
{
	struct rd_alert_decision want = wanted(r, st, s->now);
	struct rd_alert_decision d = {
	    RD_ACT_FLAPPING_STOP, firing_level(st), RD_ACT_NONE, RD_LEVEL_NONE, 0, RD_QUIET_NONE};

	if (want.action != RD_ACT_NONE && want.action != RD_ACT_REPEAT &&
	    blocked(&want, s) == RD_QUIET_NONE) {
		d.then = want.action;
		d.then_level = want.level;
		notified(st, firing_level(st), s->now);
	}
	d.notify = !s->silenced || d.then == RD_ACT_RESOLVE;
	d.quiet = d.notify ? RD_QUIET_NONE : RD_QUIET_SILENCED;
	return d;
}

static struct rd_alert_decision notice(const struct rd_rule *r, struct rd_alert_state *st,
                                       const struct rd_alert_sample *s,
                                       struct rd_alert_decision trans, int flap)
{
	struct rd_alert_decision want;

	if (flap > 0) {
		trans.action = RD_ACT_FLAPPING_START;
		trans.level = firing_level(st);
		trans.notify = !s->silenced;
		trans.quiet = s->silenced ? RD_QUIET_SILENCED : RD_QUIET_NONE;
		return trans;
	}
	if (flap < 0)
		return flapping_stop(r, st, s);
	if (st->flapping) {
		trans.quiet = trans.action != RD_ACT_NONE ? RD_QUIET_FLAPPING : RD_QUIET_NONE;
		return trans;
	}
	want = wanted(r, st, s->now);
	if (want.action != RD_ACT_NONE && blocked(&want, s) == RD_QUIET_NONE) {
		want.notify = 1;
		notified(st, firing_level(st), s->now);
		return want;
	}
	/* a change that nothing holds yet is not mailed: its problem never
	 * was (a recovery, or a de-escalation, after a silenced fire) */
	if (trans.action != RD_ACT_NONE) {
		trans.quiet = blocked(&trans, s);
		if (trans.quiet == RD_QUIET_NONE)
			trans.quiet = RD_QUIET_NOT_NOTIFIED;
	}
	return trans;
}

struct rd_alert_decision rd_alert_eval(const struct rd_rule *r, const struct rd_alert_state *prev,
                                       const struct rd_alert_sample *s, struct rd_alert_state *next)
{
	struct rd_alert_decision none = {RD_ACT_NONE, RD_LEVEL_NONE, RD_ACT_NONE, RD_LEVEL_NONE,
	                                 0,           RD_QUIET_NONE};
	enum rd_level before = firing_level(prev);
	int was_insufficient = prev->insufficient, flap;

	if (next != prev)
		*next = *prev;
	if (next->last_eval_at && s->now - next->last_eval_at > RD_ALERT_OUTAGE_TOLERANCE_S)
		reset_timers(next);
	next->last_eval_at = s->now;
	if (insufficient(r, s)) {
		/* no verdict: a firing alert stays as it is (no recovery storm
		 * when traffic drops), pending gives up, and every run breaks */
		reset_timers(next);
		next->insufficient = 1;
		if (next->status == RD_ALERT_PENDING)
			set_status(next, RD_ALERT_INACTIVE, RD_LEVEL_NONE, s->now);
		flap_record(next, s->now);
		if (!was_insufficient)
			none.action = RD_ACT_INSUFFICIENT;
		return none;
	}
	next->insufficient = 0;
	next->has_value = 1;
	next->last_value = s->value;
	update_timers(r, next, s);
	if (next->status == RD_ALERT_FIRING)
		step_firing(r, next, s->now);
	else
		step_idle(r, next, s->now);
	flap = flap_update(r, next, s->now);
	return notice(r, next, s, move(before, firing_level(next)), flap);
}

/* --- persistence ------------------------------------------------------------ */

static const char *const level_names[] = {"ok", "warning", "critical"};

/* The flap histories in time order (the ring's start is not part of it). */
static int same_history(const struct rd_alert_state *a, const struct rd_alert_state *b)
{
	for (int x = 0; x < RD_ALERT_FLAP_STATES; x++)
		if (a->flap_history[(a->flap_next + x) % RD_ALERT_FLAP_STATES] !=
		    b->flap_history[(b->flap_next + x) % RD_ALERT_FLAP_STATES])
			return 0;
	return 1;
}

/* flap_percent is left out: it follows from the history. */
int rd_alert_state_same(const struct rd_alert_state *a, const struct rd_alert_state *b)
{
	return a->status == b->status && a->level == b->level && a->since == b->since &&
	       a->problem_since == b->problem_since && a->critical_since == b->critical_since &&
	       a->clear_since == b->clear_since && a->relief_since == b->relief_since &&
	       a->last_notified_at == b->last_notified_at &&
	       a->last_notified_level == b->last_notified_level && same_history(a, b) &&
	       a->flap_recorded_at == b->flap_recorded_at && a->flapping == b->flapping &&
	       a->insufficient == b->insufficient && a->has_value == b->has_value &&
	       (!a->has_value || a->last_value == b->last_value);
}

json_t *rd_alert_state_to_json(const struct rd_alert_state *st)
{
	json_t *hist = json_array(), *j;

	if (!hist)
		return NULL;
	/* oldest first, so the stored ring does not depend on flap_next */
	for (int x = 0; x < RD_ALERT_FLAP_STATES; x++)
		if (json_array_append_new(
		        hist, json_integer(
		                  st->flap_history[(st->flap_next + x) % RD_ALERT_FLAP_STATES])) !=
		    0) {
			json_decref(hist);
			return NULL;
		}
	j = json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:I, s:b, s:b, "
	              "s:o}",
	              "version", 1, "status", rd_alert_status_name(st->status), "level",
	              level_names[st->level], "since", (json_int_t)st->since, "problem_since",
	              (json_int_t)st->problem_since, "critical_since",
	              (json_int_t)st->critical_since, "clear_since", (json_int_t)st->clear_since,
	              "relief_since", (json_int_t)st->relief_since, "last_eval_at",
	              (json_int_t)st->last_eval_at, "last_notified_at",
	              (json_int_t)st->last_notified_at, "last_notified_level",
	              level_names[st->last_notified_level], "flap_history", hist,
	              "flap_recorded_at", (json_int_t)st->flap_recorded_at, "flapping",
	              st->flapping, "insufficient", st->insufficient, "last_value",
	              st->has_value ? json_real(st->last_value) : json_null());
	return j;
}

static int name_index(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* The ring, oldest first; every entry a level. */
static int history_from_json(const json_t *hist, struct rd_alert_state *st)
{
	size_t i;
	json_t *v;

	if (!json_is_array(hist) || json_array_size(hist) != RD_ALERT_FLAP_STATES)
		return -1;
	json_array_foreach(hist, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 2)
			return -1;
		st->flap_history[i] = (uint8_t)json_integer_value(v);
	}
	st->flap_next = 0;
	st->flap_percent = rd_alert_flap_percent(st);
	return 0;
}

int rd_alert_state_from_json(const json_t *j, struct rd_alert_state *st, char *err, size_t errlen)
{
	static const char *const status_names[] = {"inactive", "pending", "firing", "resolved"};
	json_int_t since, ps, cs, cls, rs, eval, nat, rec;
	const char *status, *level, *nlevel;
	json_t *hist, *value;
	int version, flapping, insuff, a, b, c;
	json_error_t jerr;

	rd_alert_state_init(st);
	if (json_unpack_ex((json_t *)j, &jerr, JSON_STRICT,
	                   "{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:I, "
	                   "s:b, s:b, s:o}",
	                   "version", &version, "status", &status, "level", &level, "since", &since,
	                   "problem_since", &ps, "critical_since", &cs, "clear_since", &cls,
	                   "relief_since", &rs, "last_eval_at", &eval, "last_notified_at", &nat,
	                   "last_notified_level", &nlevel, "flap_history", &hist,
	                   "flap_recorded_at", &rec, "flapping", &flapping, "insufficient", &insuff,
	                   "last_value", &value) != 0) {
		snprintf(err, errlen, "alert state: %s", jerr.text);
		return -1;
	}
	a = name_index(status, status_names, 4);
	b = name_index(level, level_names, 3);
	c = name_index(nlevel, level_names, 3);
	if (version != 1 || a < 0 || b < 0 || c < 0 || history_from_json(hist, st) != 0 ||
	    !(json_is_null(value) || json_is_number(value))) {
		snprintf(err, errlen, "alert state: bad version, status, level or history");
		return -1;
	}
	st->status = (enum rd_alert_status)a;
	st->level = (enum rd_level)b;
	st->last_notified_level = (enum rd_level)c;
	st->since = since;
	st->problem_since = ps;
	st->critical_since = cs;
	st->clear_since = cls;
	st->relief_since = rs;
	st->last_eval_at = eval;
	st->last_notified_at = nat;
	st->flap_recorded_at = rec;
	st->flapping = flapping;
	st->insufficient = insuff;
	st->has_value = !json_is_null(value);
	st->last_value = st->has_value ? json_number_value(value) : 0;
	return 0;
}

/* --- silences --------------------------------------------------------------- */

static int glob_any(const char *g)
{
	return !g || !*g;
}

int rd_silence_matches(const struct rd_silence *sil, const struct rd_rule *rule, const char *site,
                       const char *entity, int64_t now)
{
	int flags = rule->figure->entity == RD_ENTITY_MAILBOX ? FNM_CASEFOLD : 0;
	char both[1024];

	if (now < sil->starts || now >= sil->until)
		return 0;
	if (!glob_any(sil->rule_glob) && fnmatch(sil->rule_glob, rule->name, 0) != 0)
		return 0;
	if (glob_any(sil->scope_glob))
		return 1;
	if (!strchr(sil->scope_glob, '/'))
		return fnmatch(sil->scope_glob, entity, flags) == 0;
	if (snprintf(both, sizeof(both), "%s/%s", site, entity) >= (int)sizeof(both))
		return 0; /* longer than any real name: cannot be the one meant */
	return fnmatch(sil->scope_glob, both, flags) == 0;
}

/* --- grouping ---------------------------------------------------------------- */

/* The first mail of sent (ascending) in (t - 1h, t], and how many there
 * are in that hour. */
static size_t hour_of(const int64_t *sent, size_t nsent, int64_t t, size_t *count)
{
	size_t first = 0, n = 0;

	while (first < nsent && sent[first] <= t - 3600)
		first++;
	while (first + n < nsent && sent[first + n] <= t)
		n++;
	*count = n;
	return first;
}

void rd_alert_plan_group(const struct rd_recipients *g, int64_t now, const int64_t *sent,
                         size_t nsent, int64_t oldest, size_t npending, struct rd_group_plan *out)
{
	int64_t due = oldest + g->group_wait_s;
	size_t cap = (size_t)g->max_per_hour, n, first;

	memset(out, 0, sizeof(*out));
	if (npending == 0)
		return;
	if (now < due) {
		out->next_at = due;
		return;
	}
	if (cap > 0) {
		first = hour_of(sent, nsent, now, &n);
		if (n >= cap) {
			/* a slot frees when the (n - cap + 1)-th oldest leaves the hour */
			out->next_at = sent[first + n - cap] + 3600;
			return;
		}
		/* held at its due time by the cap: this mail gathers the rest */
		(void)hour_of(sent, nsent, due, &n);
		out->digest = n >= cap;
	}
	out->send = 1;
}
