/* Unit tests: loading and checking [rule] and [recipients] sections
 * (daemon/rule.c), with the exact file:line messages an administrator
 * sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rule.h"

/* The sections every configuration needs, 8 lines. */
#define BASE                                                                                       \
	"[postgres]\nconninfo = x\n[redis]\naddress = 127.0.0.1:6379\n"                            \
	"[collector \"c\"]\ntype = queuelog\npath = /q\nsite = s\n"

struct errors {
	char msgs[32][512];
	int n;
};

static void collect(void *arg, const char *msg)
{
	struct errors *e = arg;

	if (e->n < 32)
		snprintf(e->msgs[e->n++], sizeof(e->msgs[0]), "%s", msg);
}

static char path[64];

static void write_tmp(const char *text)
{
	FILE *fp;
	int fd;

	strcpy(path, "/tmp/reachd-rule-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

/* Load text; returns the rule errors (the file itself must be clean). */
static int load(const char *text, struct rd_rules **rules, struct errors *e)
{
	struct rd_config *cfg;
	int n;

	write_tmp(text);
	assert_int_equal(rd_config_load(path, &cfg, collect, e), 0);
	n = rd_rules_load(cfg, rules, collect, e);
	assert_non_null(*rules);
	rd_config_free(cfg);
	unlink(path);
	return n;
}

static void near(double a, double b)
{
	assert_true(a > b - 1e-9 && a < b + 1e-9);
}

/* The ARCHITECTURE.md example, with every default spelled out. */
static void test_contract_rule(void **state)
{
	struct errors e = {0};
	struct rd_rules *rs;
	const struct rd_rule *r;
	const struct rd_recipients *g;

	assert_int_equal(load(BASE "[recipients \"qualite\"]\n"
	                           "to = referent.qualite@example.gouv.fr\n"
	                           "[rule \"answered-rate\"]\nfigure = answered_rate\n"
	                           "scope = queue:*\nwindow = 1h\nwarning = < 85%\n"
	                           "critical = < 75%\nmin_samples = 20\nfor = 10m\n"
	                           "notify = qualite\n",
	                      &rs, &e),
	                 0);
	assert_int_equal(rs->nrules, 1);
	r = rd_rules_find(rs, "answered-rate");
	assert_non_null(r);
	assert_string_equal(r->figure->name, "answered_rate");
	assert_int_equal(r->figure->entity, RD_ENTITY_QUEUE);
	assert_int_equal(r->figure->sample, RD_SAMPLE_OFFERED_NET);
	assert_null(r->site_glob);
	assert_string_equal(r->entity_glob, "*");
	assert_int_equal(r->window_s, 3600);
	assert_int_equal(r->warning.cmp, RD_CMP_LT);
	near(r->warning.value, 0.85);
	assert_int_equal(r->critical.cmp, RD_CMP_LT);
	near(r->critical.value, 0.75);
	/* clear defaults to "not warning", relief to "not critical" */
	assert_int_equal(r->clear.cmp, RD_CMP_GE);
	near(r->clear.value, 0.85);
	assert_true(r->relief.set);
	assert_int_equal(r->relief.cmp, RD_CMP_GE);
	near(r->relief.value, 0.75);
	assert_int_equal(r->min_samples, 20);
	assert_int_equal(r->for_s, 600);
	assert_int_equal(r->clear_for_s, 0);
	assert_int_equal(r->repeat_s, 4 * 3600);
	assert_int_equal(r->calendar_mode, RD_RULE_CAL_SITE);
	assert_int_equal(r->nnotify, 1);
	assert_string_equal(r->notify[0], "qualite");
	assert_null(r->severity);
	near(r->flap_low, 5.0);
	near(r->flap_high, 20.0);
	g = rd_rules_recipients(rs, "qualite");
	assert_non_null(g);
	assert_int_equal(g->nto, 1);
	assert_string_equal(g->to[0], "referent.qualite@example.gouv.fr");
	assert_int_equal(g->ncc, 0);
	assert_string_equal(g->language, "fr");
	assert_int_equal(g->group_wait_s, 30);
	assert_int_equal(g->max_per_hour, 10);
	assert_int_equal(rd_rule_level(r, 0.80), RD_LEVEL_WARNING);
	assert_int_equal(rd_rule_level(r, 0.74), RD_LEVEL_CRITICAL);
	assert_int_equal(rd_rule_level(r, 0.75), RD_LEVEL_WARNING);
	assert_int_equal(rd_rule_level(r, 0.85), RD_LEVEL_NONE);
	rd_rules_free(rs);
}

/* Every other key, typed by the figure's unit. */
static void test_all_keys(void **state)
{
	struct errors e = {0};
	struct rd_rules *rs;
	const struct rd_rule *r;
	const struct rd_recipients *g;

	assert_int_equal(
	    load(BASE "[calendar \"accueil\"]\nhours = mon-fri 08:30-12:00\n"
	              "[recipients \"a\"]\nto = x@ex.fr, y@ex.fr\ncc = z@ex.fr\nlanguage = en\n"
	              "group_wait = 2m\nmax_per_hour = 0\n"
	              "[recipients \"b\"]\nto = w@ex.fr\n"
	              "[rule \"delay\"]\nfigure = reply_delay_p90_s\n"
	              "scope = site:pref*/mailbox:contact@*\nwindow = 7d\nwarning = > 2d\n"
	              "critical = >= 3d\nclear = 1d\nclear_for = 1h\ncalendar = accueil\n"
	              "repeat = 0\nnotify = a, b\nseverity = P2\nflap_low = 10%\n"
	              "flap_high = 30%\n"
	              "[rule \"waiting\"]\nfigure = calls_waiting\nwindow = 15m\n"
	              "critical = >= 30\ncalendar = always\nflap_high = off\n"
	              "[rule \"silent\"]\nfigure = no_data\nscope = site:prefecture\n"
	              "warning = > 30m\n",
	         &rs, &e),
	    0);
	assert_int_equal(rs->nrules, 3);
	r = rd_rules_find(rs, "delay");
	assert_string_equal(r->site_glob, "pref*");
	assert_string_equal(r->entity_glob, "contact@*");
	assert_int_equal(r->window_s, 7 * 86400);
	assert_int_equal(r->warning.cmp, RD_CMP_GT);
	near(r->warning.value, 2 * 86400);
	near(r->critical.value, 3 * 86400);
	assert_int_equal(r->clear.cmp, RD_CMP_LE); /* a bare value: on the OK side */
	near(r->clear.value, 86400);
	/* critical 3d, less the clear margin of 1d: back to warning at <= 2d */
	assert_int_equal(r->relief.cmp, RD_CMP_LE);
	near(r->relief.value, 2 * 86400);
	assert_int_equal(r->clear_for_s, 3600);
	assert_int_equal(r->calendar_mode, RD_RULE_CAL_NAMED);
	assert_string_equal(r->calendar, "accueil");
	assert_int_equal(r->repeat_s, 0);
	assert_int_equal(r->nnotify, 2);
	assert_string_equal(r->notify[1], "b");
	assert_string_equal(r->severity, "P2");
	near(r->flap_low, 10.0);
	near(r->flap_high, 30.0);
	r = rd_rules_find(rs, "waiting");
	assert_int_equal(r->window_s, 0); /* a gauge has no window */
	assert_false(r->warning.set);
	assert_int_equal(r->clear.cmp, RD_CMP_LT);
	near(r->clear.value, 30);
	assert_false(r->relief.set);
	assert_int_equal(r->calendar_mode, RD_RULE_CAL_ALWAYS);
	near(r->flap_high, 0);
	r = rd_rules_find(rs, "silent");
	assert_int_equal(r->figure->entity, RD_ENTITY_SOURCE);
	assert_string_equal(r->site_glob, "prefecture");
	assert_string_equal(r->entity_glob, "*");
	g = rd_rules_recipients(rs, "a");
	assert_int_equal(g->nto, 2);
	assert_string_equal(g->to[1], "y@ex.fr");
	assert_string_equal(g->cc[0], "z@ex.fr");
	assert_string_equal(g->language, "en");
	assert_int_equal(g->group_wait_s, 120);
	assert_int_equal(g->max_per_hour, 0);
	rd_rules_free(rs);
}

/* Every mistake at once, each at its line, in the order of the file
 * (recipients groups first). */
static void test_errors(void **state)
{
	static const char *const want[] = {
	    "12: recipients \"qualite\": to: 'bad address@x' is not a plain address (ASCII, "
	    "no spaces, no <>)",
	    "12: recipients \"qualite\": to: '<b@x.fr>' is not a plain address (ASCII, no "
	    "spaces, no <>)",
	    "13: recipients \"qualite\": language: 'de' is not fr or en",
	    "14: recipients \"vide\": to is required (one or more addresses)",
	    "18: rule \"r1\": scope: answered_rate is a queue figure, not a mailbox one",
	    "19: rule \"r1\": window: '2h' is not one of 15m, 1h, 24h, 7d, 30d (the rolling "
	    "windows reachd keeps)",
	    "21: rule \"r1\": critical: must be stricter than warning (< 85%)",
	    "22: rule \"r1\": clear: must be on the OK side of warning (< 85%)",
	    "23: rule \"r1\": for: '1.5s' is not a whole number of seconds",
	    "25: rule \"r1\": calendar: no [calendar \"nuit\"] section (or use always)",
	    "24: rule \"r1\": notify: no [recipients \"nobody\"] section",
	    "29: rule \"r2\": warning: '10m' is not an integer",
	    "28: rule \"r2\": min_samples: backlog has no sample size (a count or a gauge)",
	    "31: rule \"r3\": figure: unknown figure 'nope' (see docs/alerts.md)",
	    "34: rule \"r4\": scope: empty pattern in 'mailbox:'",
	    "36: rule \"r4\": clear: must be on the OK side of critical (>= 2d)",
	    "37: rule \"r4\": flap_low (30%) must be below flap_high (20%)",
	    "38: rule \"r5\": warning or critical is required (e.g. warning = < 85%)",
	    "40: rule \"r5\": repeat: must be 0 or at least 60s",
	    "44: rule \"r6\": critical: must compare the same way as warning (> 10)",
	    "46: rule \"r6\": notify: empty item in 'qualite,'",
	    "48: rule \"r6\": inhibited_by: no [rule \"nobody\"] section",
	    "48: rule \"r6\": inhibited_by: a rule cannot inhibit itself",
	    "47: rule \"r6\": severity: not valid UTF-8",
	};
	const char *text = BASE "[calendar \"bureaux\"]\nhours = mon-fri 09:00-17:00\n"
	                        "[recipients \"qualite\"]\n"
	                        "to = a@x.fr, bad address@x, <b@x.fr>\n" /* 12 */
	                        "language = de\n"
	                        "[recipients \"vide\"]\ncc = c@x.fr\n"
	                        "[rule \"r1\"]\nfigure = answered_rate\n" /* 16 */
	                        "scope = mailbox:*\nwindow = 2h\nwarning = < 85%\n"
	                        "critical = < 90%\nclear = 80%\nfor = 1.5s\n"
	                        "notify = qualite, nobody\ncalendar = nuit\n"
	                        "[rule \"r2\"]\nfigure = backlog\nmin_samples = 5\n" /* 26 */
	                        "warning = > 10m\n"
	                        "[rule \"r3\"]\nfigure = nope\n"                /* 30 */
	                        "[rule \"r4\"]\nfigure = oldest_unanswered_s\n" /* 32 */
	                        "scope = mailbox:\ncritical = >= 2d\nclear = >= 3d\n"
	                        "flap_low = 30%\n"
	                        "[rule \"r5\"]\nfigure = ack_rate\nrepeat = 10s\n"        /* 38 */
	                        "[rule \"r6\"]\nfigure = calls_waiting\nwarning = > 10\n" /* 41 */
	                        "critical = < 2\nrepeat = 0\nnotify = qualite,\n"
	                        "severity = qualit\xe9\n" /* Latin-1 */
	                        "inhibited_by = r5, nobody, r6\n";
	struct errors e = {0};
	struct rd_rules *rs;
	char expect[600];

	assert_int_equal(load(text, &rs, &e), (int)(sizeof(want) / sizeof(want[0])));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(expect, sizeof(expect), "%s:%s", path, want[i]);
		assert_string_equal(e.msgs[i], expect);
	}
	/* rules and groups with errors are left out */
	assert_int_equal(rs->nrules, 0);
	assert_int_equal(rs->ngroups, 0);
	rd_rules_free(rs);
}

static void test_thresholds(void **state)
{
	struct rd_threshold t;
	char err[256];

	assert_int_equal(rd_threshold_parse("<= 0.8", RD_UNIT_RATIO, &t, err, sizeof(err)), 0);
	assert_int_equal(t.cmp, RD_CMP_LE);
	near(t.value, 0.8);
	assert_true(rd_threshold_holds(&t, 0.8));
	assert_false(rd_threshold_holds(&t, 0.81));
	assert_int_equal(rd_threshold_parse(">10m", RD_UNIT_SECONDS, &t, err, sizeof(err)), 0);
	assert_int_equal(t.cmp, RD_CMP_GT);
	near(t.value, 600);
	assert_false(rd_threshold_holds(&t, 600));
	assert_int_equal(rd_threshold_parse(">= 30", RD_UNIT_COUNT, &t, err, sizeof(err)), 0);
	assert_true(rd_threshold_holds(&t, 30));
	assert_int_equal(rd_threshold_parse("85%", RD_UNIT_RATIO, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "'85%' needs a comparison first: <, <=, > or >=");
	assert_int_equal(rd_threshold_parse("< 120%", RD_UNIT_RATIO, &t, err, sizeof(err)), -1);
	assert_int_equal(rd_threshold_parse("> 2.5", RD_UNIT_COUNT, &t, err, sizeof(err)), -1);
	assert_int_equal(rd_threshold_parse("= 3", RD_UNIT_COUNT, &t, err, sizeof(err)), -1);
}

/* clear exactly on warning is allowed only when that value is not a
 * breach: "< 85%" then "clear = >= 85%" but not "<= 85%" then ">= 85%". */
static void test_clear_edges(void **state)
{
	struct errors e = {0};
	struct rd_rules *rs;

	assert_int_equal(load(BASE "[rule \"a\"]\nfigure = answered_rate\nwarning = < 85%\n"
	                           "clear = >= 85%\n"
	                           "[rule \"b\"]\nfigure = answered_rate\nwarning = <= 85%\n"
	                           "clear = >= 85%\n"
	                           "[rule \"c\"]\nfigure = answered_rate\nwarning = <= 85%\n"
	                           "clear = > 85%\n",
	                      &rs, &e),
	                 1);
	assert_non_null(strstr(e.msgs[0], ":16: rule \"b\": clear: must be on the OK side"));
	assert_int_equal(rs->nrules, 2);
	rd_rules_free(rs);
}

static void test_scope_match(void **state)
{
	struct errors e = {0};
	struct rd_rules *rs;

	assert_int_equal(load(BASE "[rule \"q\"]\nfigure = asa_s\n"
	                           "scope = site:sous-pref-*/queue:accueil-?\nwarning = > 1m\n"
	                           "[rule \"m\"]\nfigure = backlog\nscope = mailbox:contact@*\n"
	                           "warning = > 10\n"
	                           "[rule \"s\"]\nfigure = no_data\nscope = source:pbx*\n"
	                           "warning = > 30m\n",
	                      &rs, &e),
	                 0);
	assert_true(rd_rule_scope_match(&rs->rules[0], "sous-pref-nord", "accueil-1"));
	assert_false(rd_rule_scope_match(&rs->rules[0], "prefecture", "accueil-1"));
	assert_false(rd_rule_scope_match(&rs->rules[0], "sous-pref-nord", "accueil-12"));
	/* mailboxes match without regard to case, queues do not */
	assert_true(rd_rule_scope_match(&rs->rules[1], "any", "Contact@Example.gouv.fr"));
	assert_false(rd_rule_scope_match(&rs->rules[1], "any", "titres@example.gouv.fr"));
	assert_false(rd_rule_scope_match(&rs->rules[0], "sous-pref-nord", "ACCUEIL-1"));
	assert_true(rd_rule_scope_match(&rs->rules[2], "x", "pbx-standard"));
	assert_false(rd_rule_scope_match(&rs->rules[2], "x", "mail"));
	rd_rules_free(rs);
}

static void test_addresses(void **state)
{
	char err[256];

	assert_int_equal(rd_rule_check_address("a.b+c@ex.gouv.fr", err, sizeof(err)), 0);
	assert_int_equal(rd_rule_check_address("a@b@c", err, sizeof(err)), -1);
	assert_int_equal(rd_rule_check_address("@ex.fr", err, sizeof(err)), -1);
	assert_int_equal(rd_rule_check_address("a@", err, sizeof(err)), -1);
	assert_int_equal(rd_rule_check_address("noat", err, sizeof(err)), -1);
	assert_int_equal(rd_rule_check_address("a@ex.fr\r\nBcc: x@y", err, sizeof(err)), -1);
	assert_int_equal(rd_rule_check_address("é@ex.fr", err, sizeof(err)), -1);
	assert_int_equal(rd_rule_check_address("A <a@ex.fr>", err, sizeof(err)), -1);
}

static void test_figures(void **state)
{
	assert_null(rd_figure_find("answered_rat"));
	assert_int_equal(rd_figure_find("global_rate")->sample, RD_SAMPLE_GLOBAL);
	assert_int_equal(rd_figure_find("wait_p90_s")->sample, RD_SAMPLE_WAITED);
	assert_int_equal(rd_figure_find("ack_rate")->sample, RD_SAMPLE_RECEIVED);
	assert_int_equal(rd_figure_find("ack_rate")->unit, RD_UNIT_RATIO);
	assert_int_equal(rd_figure_find("replied_within_target")->sample, RD_SAMPLE_REPLIED);
	assert_true(rd_figure_find("longest_wait_s")->gauge);
	assert_int_equal(rd_figure_find("oldest_unanswered_business_s")->entity, RD_ENTITY_MAILBOX);
	assert_string_equal(rd_sample_name(RD_SAMPLE_OFFERED_NET), "offered - short_abandoned");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contract_rule), cmocka_unit_test(test_all_keys),
	    cmocka_unit_test(test_errors),        cmocka_unit_test(test_thresholds),
	    cmocka_unit_test(test_clear_edges),   cmocka_unit_test(test_scope_match),
	    cmocka_unit_test(test_addresses),     cmocka_unit_test(test_figures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
