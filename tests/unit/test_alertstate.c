/* Unit tests: the alert state machine, silences and grouping
 * (daemon/alertstate.c). Each test feeds a sequence of samples, one a
 * minute unless said otherwise, and checks the exact decision of each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alertstate.h"

#define BASE                                                                                       \
	"[postgres]\nconninfo = x\n[redis]\naddress = 127.0.0.1:6379\n"                            \
	"[collector \"c\"]\ntype = queuelog\npath = /q\nsite = s\n"

/* The ARCHITECTURE.md rule; tests add or override keys after it. */
#define CONTRACT                                                                                   \
	"[rule \"answered-rate\"]\nfigure = answered_rate\nscope = queue:*\nwindow = 1h\n"         \
	"warning = < 85%\ncritical = < 75%\nmin_samples = 20\n"

#define T0     1767258000 /* Thursday 1 January 2026, 09:00 UTC */
#define MIN(m) ((int64_t)T0 + (int64_t)(m)*60)

static void fail_on_error(void *arg, const char *msg)
{
	fail_msg("unexpected configuration error: %s", msg);
}

struct fx {
	struct rd_rules *rules;
	const struct rd_rule *rule;
	struct rd_alert_state st;
	int in_calendar, silenced;
};

/* A fixture for the one rule in text (after BASE). */
static void setup(struct fx *f, const char *text)
{
	char path[] = "/tmp/reachd-alert-XXXXXX";
	char all[2048];
	struct rd_config *cfg;
	FILE *fp;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	snprintf(all, sizeof(all), "%s%s", BASE, text);
	assert_true(fputs(all, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rd_config_load(path, &cfg, fail_on_error, NULL), 0);
	assert_int_equal(rd_rules_load(cfg, &f->rules, fail_on_error, NULL), 0);
	rd_config_free(cfg);
	unlink(path);
	assert_int_equal(f->rules->nrules, 1);
	f->rule = &f->rules->rules[0];
	rd_alert_state_init(&f->st);
	f->in_calendar = 1;
	f->silenced = 0;
}

static void teardown(struct fx *f)
{
	rd_rules_free(f->rules);
}

static struct rd_alert_decision ev(struct fx *f, int64_t t, double v, int64_t n)
{
	struct rd_alert_sample s = {t, 1, v, n, f->in_calendar, f->silenced};

	return rd_alert_eval(f->rule, &f->st, &s, &f->st);
}

/* Expect action and level, mailed or not. */
#define EXPECT(f, t, v, act, lvl, mail)                                                            \
	do {                                                                                       \
		struct rd_alert_decision d_ = ev((f), (t), (v), 50);                               \
		if (d_.action != (act) || d_.level != (lvl) || d_.notify != (mail))                \
			fail_msg("at %+lld min: got %s/%s notify %d, want %s/%s notify %d",        \
			         (long long)(((t)-T0) / 60), rd_alert_action_name(d_.action),      \
			         rd_level_name(d_.level), d_.notify, rd_alert_action_name(act),    \
			         rd_level_name(lvl), (mail));                                      \
	} while (0)

#define NONE_AT(f, t, v) EXPECT(f, t, v, RD_ACT_NONE, RD_LEVEL_NONE, 0)

static void near(double a, double b)
{
	if (!(a > b - 1e-6 && a < b + 1e-6))
		fail_msg("%.9f is not %.9f", a, b);
}

/* for = 10m: pending at the first bad sample, firing 10 minutes later. */
static void test_pending_then_firing(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "for = 10m\n");
	NONE_AT(&f, MIN(0), 0.80);
	assert_int_equal(f.st.status, RD_ALERT_PENDING);
	assert_int_equal(f.st.problem_since, MIN(0));
	NONE_AT(&f, MIN(5), 0.80);
	NONE_AT(&f, MIN(9), 0.80);
	EXPECT(&f, MIN(10), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	assert_int_equal(f.st.status, RD_ALERT_FIRING);
	assert_int_equal(f.st.since, MIN(10));
	assert_int_equal(f.st.last_notified_level, RD_LEVEL_WARNING);
	assert_int_equal(f.st.last_notified_at, MIN(10));
	NONE_AT(&f, MIN(11), 0.80);
	teardown(&f);
}

/* A good sample before `for` ends the run: nothing is sent, and the next
 * bad one starts a new 10 minutes. */
static void test_flip_back_before_for(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "for = 10m\n");
	NONE_AT(&f, MIN(0), 0.80);
	NONE_AT(&f, MIN(9), 0.80);
	NONE_AT(&f, MIN(9) + 30, 0.90);
	assert_int_equal(f.st.status, RD_ALERT_INACTIVE);
	NONE_AT(&f, MIN(10), 0.80);
	assert_int_equal(f.st.status, RD_ALERT_PENDING);
	NONE_AT(&f, MIN(19), 0.80);
	EXPECT(&f, MIN(20), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	teardown(&f);
}

/* clear = 90%: a value between warning (85%) and clear keeps firing. */
static void test_hysteresis(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "clear = 90%\n");
	EXPECT(&f, MIN(0), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1); /* for = 0 */
	NONE_AT(&f, MIN(1), 0.87);
	NONE_AT(&f, MIN(2), 0.899);
	assert_int_equal(f.st.status, RD_ALERT_FIRING);
	EXPECT(&f, MIN(3), 0.90, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	assert_int_equal(f.st.status, RD_ALERT_RESOLVED);
	assert_int_equal(f.st.last_notified_level, RD_LEVEL_NONE);
	/* between clear and warning again: not a problem, nothing to say */
	NONE_AT(&f, MIN(4), 0.87);
	EXPECT(&f, MIN(5), 0.84, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	teardown(&f);
}

/* clear_for = 5m: the value must stay clear 5 minutes, unbroken. */
static void test_clear_for(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "clear = 90%\nclear_for = 5m\n");
	EXPECT(&f, MIN(0), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	NONE_AT(&f, MIN(1), 0.91);
	NONE_AT(&f, MIN(3), 0.87); /* not clear: the run breaks */
	NONE_AT(&f, MIN(4), 0.91);
	NONE_AT(&f, MIN(8), 0.95);
	EXPECT(&f, MIN(9), 0.92, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	teardown(&f);
}

/* Too few calls: "insufficient data", once, and no verdict either way. */
static void test_min_samples(void **state)
{
	struct fx f;
	struct rd_alert_sample null = {MIN(3), 0, 0, 0, 1, 0};
	struct rd_alert_decision d;

	setup(&f, CONTRACT "for = 10m\n");
	NONE_AT(&f, MIN(0), 0.80);
	/* pending gives up: `for` needs evidence all along */
	d = ev(&f, MIN(5), 0.80, 19);
	assert_int_equal(d.action, RD_ACT_INSUFFICIENT);
	assert_int_equal(d.notify, 0);
	assert_int_equal(f.st.status, RD_ALERT_INACTIVE);
	assert_true(f.st.insufficient);
	NONE_AT(&f, MIN(6), 0.80);
	NONE_AT(&f, MIN(15), 0.80);
	EXPECT(&f, MIN(16), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	/* firing, then traffic drops: the alert stays, no resolve storm */
	d = ev(&f, MIN(17), 1.0, 3);
	assert_int_equal(d.action, RD_ACT_INSUFFICIENT);
	assert_int_equal(f.st.status, RD_ALERT_FIRING);
	d = ev(&f, MIN(18), 0.0, 0);
	assert_int_equal(d.action, RD_ACT_NONE);
	/* a null figure (a rate over zero calls) is insufficient too */
	null.now = MIN(19);
	d = rd_alert_eval(f.rule, &f.st, &null, &f.st);
	assert_int_equal(d.action, RD_ACT_NONE);
	assert_int_equal(f.st.status, RD_ALERT_FIRING);
	/* no repeat while there is no evidence either (repeat 4h) */
	null.now = MIN(16 + 240);
	d = rd_alert_eval(f.rule, &f.st, &null, &f.st);
	assert_int_equal(d.action, RD_ACT_NONE);
	EXPECT(&f, MIN(16 + 241), 0.95, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	assert_false(f.st.insufficient);
	near(f.st.last_value, 0.95);
	teardown(&f);
}

/* Outside opening hours nothing new fires and pending makes no progress;
 * a firing alert stays firing with no repeat and no escalation, but may
 * resolve (the good news is not held until morning). */
static void test_calendar_closed(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "for = 10m\n");
	f.in_calendar = 0;
	NONE_AT(&f, MIN(0), 0.50);
	NONE_AT(&f, MIN(30), 0.50);
	assert_int_equal(f.st.status, RD_ALERT_INACTIVE);
	f.in_calendar = 1;
	NONE_AT(&f, MIN(40), 0.80);
	assert_int_equal(f.st.status, RD_ALERT_PENDING);
	f.in_calendar = 0;
	NONE_AT(&f, MIN(45), 0.80); /* closes: pending gives up */
	assert_int_equal(f.st.status, RD_ALERT_INACTIVE);
	f.in_calendar = 1;
	NONE_AT(&f, MIN(50), 0.80);
	EXPECT(&f, MIN(60), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	f.in_calendar = 0;
	NONE_AT(&f, MIN(61), 0.50); /* critical, but closed: no escalation */
	NONE_AT(&f, MIN(80), 0.50);
	assert_int_equal(f.st.level, RD_LEVEL_WARNING);
	NONE_AT(&f, MIN(60 + 240), 0.80); /* repeat due, held while closed */
	f.in_calendar = 1;
	EXPECT(&f, MIN(60 + 300), 0.80, RD_ACT_REPEAT, RD_LEVEL_WARNING, 1);
	f.in_calendar = 0;
	EXPECT(&f, MIN(60 + 301), 0.95, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	teardown(&f);
}

/* warning -> critical after `for` at critical, and back when the value
 * passes critical by the clear margin (here 5 points: relief >= 80%). */
static void test_escalation(void **state)
{
	struct fx f;

	/* four changes in 23 minutes would be flapping (see test_flapping) */
	setup(&f, CONTRACT "for = 10m\nclear = 90%\nflap_high = off\n");
	NONE_AT(&f, MIN(0), 0.80);
	EXPECT(&f, MIN(10), 0.70, RD_ACT_FIRE, RD_LEVEL_WARNING, 1); /* critical for 0 min */
	NONE_AT(&f, MIN(15), 0.70);
	EXPECT(&f, MIN(20), 0.70, RD_ACT_ESCALATE, RD_LEVEL_CRITICAL, 1);
	NONE_AT(&f, MIN(21), 0.78); /* out of critical, not past the margin */
	EXPECT(&f, MIN(22), 0.81, RD_ACT_DEESCALATE, RD_LEVEL_WARNING, 1);
	assert_int_equal(f.st.last_notified_level, RD_LEVEL_WARNING);
	EXPECT(&f, MIN(23), 0.95, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	/* critical all along fires critical at once */
	NONE_AT(&f, MIN(30), 0.70);
	EXPECT(&f, MIN(40), 0.70, RD_ACT_FIRE, RD_LEVEL_CRITICAL, 1);
	/* straight from critical to clear: one resolve, no de-escalation */
	EXPECT(&f, MIN(41), 0.95, RD_ACT_RESOLVE, RD_LEVEL_CRITICAL, 1);
	/* good news is not held by closed hours: de-escalation goes out */
	NONE_AT(&f, MIN(50), 0.70);
	EXPECT(&f, MIN(60), 0.70, RD_ACT_FIRE, RD_LEVEL_CRITICAL, 1);
	f.in_calendar = 0;
	EXPECT(&f, MIN(61), 0.82, RD_ACT_DEESCALATE, RD_LEVEL_WARNING, 1);
	teardown(&f);
}

/* repeat = 1h: a reminder every hour while firing, counted from the last
 * notice; repeat = 0: never. */
static void test_repeat(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "repeat = 1h\n");
	EXPECT(&f, MIN(0), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	NONE_AT(&f, MIN(59), 0.80);
	EXPECT(&f, MIN(60), 0.80, RD_ACT_REPEAT, RD_LEVEL_WARNING, 1);
	NONE_AT(&f, MIN(119), 0.80);
	EXPECT(&f, MIN(120), 0.70, RD_ACT_ESCALATE, RD_LEVEL_CRITICAL, 1);
	NONE_AT(&f, MIN(179), 0.70);
	EXPECT(&f, MIN(180), 0.70, RD_ACT_REPEAT, RD_LEVEL_CRITICAL, 1);
	teardown(&f);

	setup(&f, CONTRACT "repeat = 0\n");
	EXPECT(&f, MIN(0), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	NONE_AT(&f, MIN(10000), 0.80);
	teardown(&f);
}

/* Nagios's detector on the confirmed level (for = 0, so every sample
 * confirms). History: 21 states, all ok at first; transition x (1..20,
 * oldest to newest) weighs w(x) = 0.75 + (x - 1) / 38; percent = sum w x
 * 100 / 20 = 5 x sum w. Alternating every minute from 0 min:
 *   0 min fire     states ..0 1       w20                = 1.25  ->  6.25 %
 *   1 min resolve  ..0 1 0            w19+w20            = 2.473684 -> 12.368421 %
 *   2 min fire     ..0 1 0 1          w18..w20           = 3.671053 -> 18.355263 %
 *   3 min resolve  ..0 1 0 1 0        w17..w20 = 3+70/38 = 4.842105 -> 24.210526 % >= 20: start
 *   4 min fire     w16..w20 = 3.75 + 85/38 = 5.986842 -> 29.934211 % (suppressed)
 *   5 min resolve  w15..w20 = 4.5 + 99/38 = 7.105263 -> 35.526316 % (suppressed)
 * Then ok: one state every 5 minutes shifts the six transitions to
 * x = 15-k..20-k; those at x < 1 leave. k = 17 (90 min): w1+w2+w3 =
 * 2.25 + 3/38 -> 11.644737 %; k = 18: w1+w2 = 1.5 + 1/38 -> 7.631579 %;
 * k = 19 (100 min): w1 = 0.75 -> 3.75 % <= 5: stop, and the recovery
 * deferred since 3 min goes with it (warning was notified at 2 min). */
static void test_flapping(void **state)
{
	struct fx f;
	struct rd_alert_decision d;

	setup(&f, CONTRACT);
	EXPECT(&f, MIN(0), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	near(f.st.flap_percent, 6.25);
	EXPECT(&f, MIN(1), 0.90, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	near(f.st.flap_percent, 12.368421);
	EXPECT(&f, MIN(2), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	near(f.st.flap_percent, 18.355263);
	EXPECT(&f, MIN(3), 0.90, RD_ACT_FLAPPING_START, RD_LEVEL_NONE, 1);
	near(f.st.flap_percent, 24.210526);
	assert_true(f.st.flapping);
	assert_int_equal(f.st.status, RD_ALERT_RESOLVED);
	assert_int_equal(f.st.last_notified_level, RD_LEVEL_WARNING);
	d = ev(&f, MIN(4), 0.80, 50);
	assert_int_equal(d.action, RD_ACT_FIRE);
	assert_int_equal(d.notify, 0);
	assert_int_equal(d.quiet, RD_QUIET_FLAPPING);
	near(f.st.flap_percent, 29.934211);
	d = ev(&f, MIN(5), 0.90, 50);
	assert_int_equal(d.action, RD_ACT_RESOLVE);
	assert_int_equal(d.quiet, RD_QUIET_FLAPPING);
	near(f.st.flap_percent, 35.526316);
	for (int m = 6; m < 100; m++) {
		NONE_AT(&f, MIN(m), 0.90);
		if (m == 94)
			near(f.st.flap_percent, 11.644737);
		if (m == 99)
			near(f.st.flap_percent, 7.631579);
	}
	assert_true(f.st.flapping);
	d = ev(&f, MIN(100), 0.90, 50);
	assert_int_equal(d.action, RD_ACT_FLAPPING_STOP);
	assert_int_equal(d.then, RD_ACT_RESOLVE);
	assert_int_equal(d.then_level, RD_LEVEL_WARNING);
	assert_int_equal(d.notify, 1);
	near(f.st.flap_percent, 3.75);
	assert_false(f.st.flapping);
	assert_int_equal(f.st.last_notified_level, RD_LEVEL_NONE);
	NONE_AT(&f, MIN(101), 0.90);
	teardown(&f);
}

/* flap_high = off: the same alternation notifies every change. */
static void test_flapping_off(void **state)
{
	struct fx f;

	setup(&f, CONTRACT "flap_high = off\n");
	for (int m = 0; m < 10; m += 2) {
		EXPECT(&f, MIN(m), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
		EXPECT(&f, MIN(m + 1), 0.90, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	}
	assert_false(f.st.flapping);
	teardown(&f);
}

/* Persist, reload, evaluate the same condition: nothing to send. */
static struct rd_alert_state roundtrip(const struct rd_alert_state *st)
{
	json_t *j = rd_alert_state_to_json(st), *back;
	char *text, err[256];
	struct rd_alert_state out;
	json_error_t jerr;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	json_decref(j);
	back = json_loads(text, 0, &jerr);
	assert_non_null(back);
	free(text);
	if (rd_alert_state_from_json(back, &out, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	json_decref(back);
	return out;
}

static char *dump(const struct rd_alert_state *st)
{
	json_t *j = rd_alert_state_to_json(st);
	char *text;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	json_decref(j);
	return text;
}

static void test_restart(void **state)
{
	struct fx f;
	struct rd_alert_state copy;
	char err[256], *a, *b;
	json_t *bad;

	setup(&f, CONTRACT "for = 10m\nclear_for = 5m\n");
	NONE_AT(&f, MIN(0), 0.80);
	f.st = roundtrip(&f.st); /* restart while pending: the run goes on */
	NONE_AT(&f, MIN(5), 0.80);
	EXPECT(&f, MIN(10), 0.70, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	copy = roundtrip(&f.st);
	a = dump(&f.st);
	b = dump(&copy);
	assert_string_equal(a, b);
	free(a);
	free(b);
	near(copy.flap_percent, f.st.flap_percent);
	/* the same state read back, whatever its evaluation time: nothing to
	 * write again; any other difference is one */
	copy.last_eval_at = f.st.last_eval_at + 60;
	assert_true(rd_alert_state_same(&copy, &f.st));
	copy.flap_history[3] ^= 1;
	assert_false(rd_alert_state_same(&copy, &f.st));
	copy = roundtrip(&f.st);
	copy.clear_since = 1;
	assert_false(rd_alert_state_same(&copy, &f.st));
	copy = roundtrip(&f.st);
	f.st = copy;
	NONE_AT(&f, MIN(11), 0.70); /* the same condition after a restart: nothing */
	f.st = roundtrip(&f.st);
	EXPECT(&f, MIN(20), 0.70, RD_ACT_ESCALATE, RD_LEVEL_CRITICAL, 1);
	NONE_AT(&f, MIN(21), 0.95);
	/* down for more than an hour: clear_for starts again */
	f.st = roundtrip(&f.st);
	NONE_AT(&f, MIN(21 + 61), 0.95);
	assert_int_equal(f.st.clear_since, MIN(82));
	NONE_AT(&f, MIN(86), 0.95);
	EXPECT(&f, MIN(87), 0.95, RD_ACT_RESOLVE, RD_LEVEL_CRITICAL, 1);
	NONE_AT(&f, MIN(88), 0.80);
	f.st = roundtrip(&f.st);
	NONE_AT(&f, MIN(88 + 70), 0.80); /* and so does `for` */
	assert_int_equal(f.st.problem_since, MIN(158));
	NONE_AT(&f, MIN(167), 0.80);
	EXPECT(&f, MIN(168), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	/* the gaps were filled with one state per 5 minutes, so the changes
	 * at 10 and 20 min have left the history; the resolve at 87 min is
	 * transition x = 3 (16 states since), this fire x = 20:
	 * 5 x (0.75 + 2/38 + 1.25) = 10.263158 % */
	near(f.st.flap_percent, 10.263158);
	/* a damaged state is refused, not guessed */
	bad = json_pack("{s:i}", "version", 2);
	assert_int_equal(rd_alert_state_from_json(bad, &copy, err, sizeof(err)), -1);
	json_decref(bad);
	teardown(&f);
}

/* Silenced transitions are computed and reported, not mailed; what is
 * due is mailed when the silence ends; a recovery of a problem notified
 * before the silence is mailed anyway. */
static void test_silenced_transitions(void **state)
{
	struct fx f;
	struct rd_alert_decision d;

	setup(&f, CONTRACT "flap_high = off\n");
	f.silenced = 1;
	d = ev(&f, MIN(0), 0.80, 50);
	assert_int_equal(d.action, RD_ACT_FIRE);
	assert_int_equal(d.notify, 0);
	assert_int_equal(d.quiet, RD_QUIET_SILENCED);
	NONE_AT(&f, MIN(1), 0.80);
	f.silenced = 0;
	EXPECT(&f, MIN(2), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	f.silenced = 1;
	EXPECT(&f, MIN(3), 0.95, RD_ACT_RESOLVE, RD_LEVEL_WARNING, 1);
	/* fired and resolved under the silence: nobody was told */
	d = ev(&f, MIN(4), 0.80, 50);
	assert_int_equal(d.quiet, RD_QUIET_SILENCED);
	d = ev(&f, MIN(5), 0.95, 50);
	assert_int_equal(d.action, RD_ACT_RESOLVE);
	assert_int_equal(d.notify, 0);
	assert_int_equal(d.quiet, RD_QUIET_NOT_NOTIFIED);
	/* the same for a de-escalation: nobody heard of the critical */
	f.silenced = 1;
	d = ev(&f, MIN(6), 0.70, 50);
	assert_int_equal(d.action, RD_ACT_FIRE);
	assert_int_equal(d.level, RD_LEVEL_CRITICAL);
	assert_int_equal(d.quiet, RD_QUIET_SILENCED);
	f.silenced = 0;
	f.in_calendar = 0;
	d = ev(&f, MIN(7), 0.80, 50);
	assert_int_equal(d.action, RD_ACT_DEESCALATE);
	assert_int_equal(d.notify, 0);
	assert_int_equal(d.quiet, RD_QUIET_NOT_NOTIFIED);
	/* and at opening, the warning nobody was told of goes out */
	f.in_calendar = 1;
	EXPECT(&f, MIN(8), 0.80, RD_ACT_FIRE, RD_LEVEL_WARNING, 1);
	teardown(&f);
}

static void test_silence_match(void **state)
{
	struct fx f;
	struct rd_silence s = {"answered-*", NULL, 0, MIN(60)};

	setup(&f, CONTRACT);
	assert_true(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(0)));
	assert_false(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(60)));
	s.starts = MIN(10);
	assert_false(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(9)));
	assert_true(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(10)));
	s.rule_glob = "backlog";
	assert_false(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(10)));
	s.rule_glob = "";
	s.scope_glob = "accueil";
	assert_true(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(10)));
	assert_false(rd_silence_matches(&s, f.rule, "prefecture", "titres", MIN(10)));
	s.scope_glob = "sous-*/accueil";
	assert_false(rd_silence_matches(&s, f.rule, "prefecture", "accueil", MIN(10)));
	assert_true(rd_silence_matches(&s, f.rule, "sous-pref", "accueil", MIN(10)));
	teardown(&f);
}

static void test_grouping(void **state)
{
	struct rd_recipients g = {.group_wait_s = 30, .max_per_hour = 3};
	const int64_t sent[] = {1000, 1500, 2000};
	struct rd_group_plan p;

	rd_alert_plan_group(&g, 900, NULL, 0, 0, 0, &p);
	assert_int_equal(p.send, 0);
	assert_int_equal(p.next_at, 0);
	/* the first notice waits group_wait for others to join it */
	rd_alert_plan_group(&g, 910, NULL, 0, 900, 2, &p);
	assert_int_equal(p.send, 0);
	assert_int_equal(p.next_at, 930);
	rd_alert_plan_group(&g, 930, NULL, 0, 900, 2, &p);
	assert_int_equal(p.send, 1);
	assert_int_equal(p.digest, 0);
	/* three mails in the last hour: wait until the oldest leaves it */
	rd_alert_plan_group(&g, 2100, sent, 3, 2050, 1, &p);
	assert_int_equal(p.send, 0);
	assert_int_equal(p.next_at, 4600);
	rd_alert_plan_group(&g, 4599, sent, 3, 2050, 5, &p);
	assert_int_equal(p.send, 0);
	rd_alert_plan_group(&g, 4600, sent, 3, 2050, 5, &p);
	assert_int_equal(p.send, 1);
	assert_int_equal(p.digest, 1);
	/* held by group_wait only: not a digest */
	rd_alert_plan_group(&g, 4700, sent, 3, 4650, 1, &p);
	assert_int_equal(p.send, 1);
	assert_int_equal(p.digest, 0);
	/* no cap */
	g.max_per_hour = 0;
	rd_alert_plan_group(&g, 2100, sent, 3, 2050, 1, &p);
	assert_int_equal(p.send, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pending_then_firing),
	    cmocka_unit_test(test_flip_back_before_for),
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_clear_for),
	    cmocka_unit_test(test_min_samples),
	    cmocka_unit_test(test_calendar_closed),
	    cmocka_unit_test(test_escalation),
	    cmocka_unit_test(test_repeat),
	    cmocka_unit_test(test_flapping),
	    cmocka_unit_test(test_flapping_off),
	    cmocka_unit_test(test_restart),
	    cmocka_unit_test(test_silenced_transitions),
	    cmocka_unit_test(test_silence_match),
	    cmocka_unit_test(test_grouping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
