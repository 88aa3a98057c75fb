/* test_template.c - the template renderer and the shipped templates
 * (daemon/template.c, templates/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "template.h"

static const struct rd_tmpl_var VARS[] = {
    {"site", "prefecture"}, {"entity", "accueil <1> & \"2\""}, {"empty", ""}, {"none", NULL},
    {"yes", "1"},
};
#define NVARS (sizeof(VARS) / sizeof(VARS[0]))

static void expect(const char *tmpl, enum rd_tmpl_mode mode, const char *want)
{
	char *out = NULL, err[256] = "";

	assert_int_equal(rd_template_render(tmpl, VARS, NVARS, mode, &out, err, sizeof(err)), 0);
	assert_string_equal(out, want);
	free(out);
}

static void expect_error(const char *tmpl, const char *want)
{
	char *out = (char *)1, err[256] = "";

	assert_int_equal(
	    rd_template_render(tmpl, VARS, NVARS, RD_TMPL_TEXT, &out, err, sizeof(err)), -1);
	assert_null(out);
	assert_string_equal(err, want);
}

static void test_substitution(void **state)
{
	(void)state;
	expect("", RD_TMPL_TEXT, "");
	expect("no tags", RD_TMPL_TEXT, "no tags");
	expect("{{site}}/{{ entity }}.", RD_TMPL_TEXT, "prefecture/accueil <1> & \"2\".");
	expect("[{{empty}}][{{none}}]", RD_TMPL_TEXT, "[][]");
	/* values are escaped in HTML, the template's own markup is not */
	expect("<b>{{entity}}</b>", RD_TMPL_HTML, "<b>accueil &lt;1&gt; &amp; &quot;2&quot;</b>");
	expect("single { brace }", RD_TMPL_TEXT, "single { brace }");
}

static void test_conditions(void **state)
{
	(void)state;
	expect("a{{#if yes}}b{{/if}}c", RD_TMPL_TEXT, "abc");
	expect("a{{#if empty}}b{{/if}}c{{#if none}}d{{/if}}", RD_TMPL_TEXT, "ac");
	expect("{{#if yes}}1{{#if empty}}2{{/if}}3{{/if}}", RD_TMPL_TEXT, "13");
	expect("{{#if empty}}1{{#if yes}}2{{/if}}3{{/if}}4", RD_TMPL_TEXT, "4");
	/* a block tag alone on its line takes its line break along */
	expect("a\n{{#if yes}}\nb\n{{/if}}\nc\n{{#if empty}}\nd\n{{/if}}\ne\n", RD_TMPL_TEXT,
	       "a\nb\nc\ne\n");
}

static void test_errors(void **state)
{
	(void)state;
	/* every unknown name is listed once, even inside a false block */
	expect_error("{{sit}} {{site}} {{#if typo}}{{sit}}{{/if}}", "unknown fields: sit, typo");
	expect_error("{{#if empty}}{{missing}}{{/if}}", "unknown field: missing");
	expect_error("a\n{{#if yes}}b", "{{#if}} without {{/if}}");
	expect_error("a\nb{{/if}}", "line 2: {{/if}} without {{#if}}");
	expect_error("x\ny\n{{site", "line 3: '{{' without '}}'");
	expect_error("{{Site}}",
	             "line 1: bad tag '{{Site}}' (expected {{name}}, {{#if name}} or {{/if}})");
	expect_error("{{#ifyes}}{{/if}}",
	             "line 1: bad tag '{{#ifyes}}' (expected {{name}}, {{#if name}} or {{/if}})");
}

static const struct rd_alert_fields ALERT = {
    .rule = "answered-rate",
    .figure = "answered_rate",
    .value = "72 %",
    .threshold = "< 75 %",
    .window = "1h",
    .site = "prefecture",
    .scope_kind = "queue",
    .entity = "accueil",
    .severity = "critical",
    .since = "29/11/2026 09:00",
    .dashboard_url = "https://reach.example/d?a=1&b=2",
    .state = "firing",
};

static void test_alert_fr(void **state)
{
	struct rd_tmpl_var vars[RD_ALERT_NVARS];
	size_t n = rd_alert_vars(&ALERT, vars);
	struct rd_mail_parts p;
	char err[256];

	(void)state;
	assert_int_equal(
	    rd_template_render_mail(NULL, "alert", "fr", vars, n, &p, err, sizeof(err)), 0);
	assert_string_equal(p.subject, "[reachd] CRITIQUE : answered-rate – prefecture, accueil");
	assert_string_equal(
	    p.text, "Bonjour,\n"
	            "\n"
	            "L'indicateur « answered_rate » a franchi le seuil critique de la règle "
	            "answered-rate.\n"
	            "\n"
	            "Site : prefecture\n"
	            "File d'attente : accueil\n"
	            "Valeur : 72 % sur 1h (seuil : < 75 %)\n"
	            "Depuis : 29/11/2026 09:00\n"
	            "\n"
	            "Tableau de bord : https://reach.example/d?a=1&b=2\n"
	            "\n"
	            "-- \n"
	            "reachd, indicateurs d'accueil\n"
	            "Message automatique : merci de ne pas y répondre.\n");
	assert_non_null(p.html);
	assert_non_null(strstr(p.html,
	                       "<tr><td>Valeur</td><td>72 % sur 1h (seuil : &lt; 75 %)</td></tr>\n"
	                       "<tr><td>Depuis</td>"));
	assert_non_null(strstr(p.html, "<a href=\"https://reach.example/d?a=1&amp;b=2\">"));
	assert_null(strstr(p.html, "Boîte fonctionnelle"));
	rd_mail_parts_clear(&p);
}

static void test_alert_states(void **state)
{
	static const struct {
		const char *lang, *st, *severity, *subject;
	} cases[] = {
	    {"fr", "firing", "warning",
	     "[reachd] Alerte : answered-rate – prefecture, contact@example.gouv.fr"},
	    {"fr", "resolved", "warning",
	     "[reachd] Rétabli : answered-rate – prefecture, contact@example.gouv.fr"},
	    {"fr", "flapping", "critical",
	     "[reachd] Instable : answered-rate – prefecture, contact@example.gouv.fr"},
	    {"en", "firing", "critical",
	     "[reachd] CRITICAL: answered-rate – prefecture, contact@example.gouv.fr"},
	    {"en", "resolved", "critical",
	     "[reachd] Resolved: answered-rate – prefecture, contact@example.gouv.fr"},
	    {"en", "flapping", "warning",
	     "[reachd] Flapping: answered-rate – prefecture, contact@example.gouv.fr"},
	    {"fr", "firing", "critical",
	     "[reachd] CRITIQUE (P2) : answered-rate – prefecture, contact@example.gouv.fr"},
	    {"en", "resolved", "warning",
	     "[reachd] Resolved (P2): answered-rate – prefecture, contact@example.gouv.fr"},
	};
	struct rd_alert_fields f = ALERT;
	struct rd_tmpl_var vars[RD_ALERT_NVARS];
	struct rd_mail_parts p;
	char err[256];

	(void)state;
	f.scope_kind = "mailbox";
	f.entity = "contact@example.gouv.fr";
	f.dashboard_url = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;

		f.state = cases[i].st;
		f.severity = cases[i].severity;
		f.label = i >= 6 ? "P2" : NULL; /* the last two: a rule with severity = P2 */
		n = rd_alert_vars(&f, vars);
		assert_int_equal(rd_template_render_mail(NULL, "alert", cases[i].lang, vars, n, &p,
		                                         err, sizeof(err)),
		                 0);
		assert_string_equal(p.subject, cases[i].subject);
		assert_non_null(
		    strstr(p.text, strcmp(cases[i].lang, "fr") == 0
		                       ? "Boîte fonctionnelle : contact@example.gouv.fr\n"
		                       : "Mailbox: contact@example.gouv.fr\n"));
		assert_null(strstr(p.text, "{{"));
		assert_null(strstr(p.text, "https://"));
		rd_mail_parts_clear(&p);
	}
}

static void test_digest_and_test(void **state)
{
	const struct rd_tmpl_var digest[] = {{"site", "prefecture"},
	                                     {"count", "2"},
	                                     {"items", "09:00 a <b>\n09:10 c"},
	                                     {"period", "29/11"},
	                                     {"dashboard_url", NULL}};
	const struct rd_tmpl_var test[] = {{"site", "prefecture"},
	                                   {"server", "localhost:25"},
	                                   {"date", "29/11/2026 09:00"},
	                                   {"dashboard_url", ""}};
	const char *langs[] = {"fr", "en"};
	struct rd_mail_parts p;
	char err[256];

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rd_template_render_mail(NULL, "digest", langs[i], digest, 5, &p,
		                                         err, sizeof(err)),
		                 0);
		assert_non_null(strstr(p.text, "09:00 a <b>\n09:10 c\n"));
		assert_non_null(strstr(p.html, "<pre>09:00 a &lt;b&gt;\n09:10 c</pre>"));
		rd_mail_parts_clear(&p);
		assert_int_equal(
		    rd_template_render_mail(NULL, "test", langs[i], test, 4, &p, err, sizeof(err)),
		    0);
		assert_null(p.html); /* the test message is text only */
		rd_mail_parts_clear(&p);
	}
	assert_int_equal(rd_template_render_mail(NULL, "test", "fr", test, 4, &p, err, sizeof(err)),
	                 0);
	assert_string_equal(p.subject,
	                    "[reachd] Message de test : envoi des alertes vérifié pour prefecture");
	rd_mail_parts_clear(&p);
	/* a field missing from the caller's list names the template */
	assert_int_equal(rd_template_render_mail(NULL, "test", "fr", test, 2, &p, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "template test.fr.txt: unknown fields: date, dashboard_url");
	rd_mail_parts_clear(&p);
	assert_int_equal(rd_template_render_mail(NULL, "test", "de", test, 4, &p, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "template test.de.subject: no such template");
	rd_mail_parts_clear(&p);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_override_dir(void **state)
{
	char dir[] = "/tmp/reachd-tmpl-XXXXXX", path[256], *text = NULL, err[256];
	const struct rd_tmpl_var test[] = {{"site", "prefecture"},
	                                   {"server", "localhost:25"},
	                                   {"date", "d"},
	                                   {"dashboard_url", ""}};
	struct rd_mail_parts p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "test.fr.subject", "Essai {{site}}\n");
	write_file(dir, "test.fr.html", "<p>{{site}}</p>\n");
	/* replaced file by file: the subject and an added HTML part, the
	 * shipped text body stays */
	assert_int_equal(rd_template_render_mail(dir, "test", "fr", test, 4, &p, err, sizeof(err)),
	                 0);
	assert_string_equal(p.subject, "Essai prefecture");
	assert_string_equal(p.html, "<p>prefecture</p>\n");
	assert_non_null(strstr(p.text, "Ce message de test"));
	rd_mail_parts_clear(&p);
	assert_int_equal(rd_template_load(dir, "test.en.subject", &text, err, sizeof(err)), 0);
	assert_string_equal(text, "[reachd] Test message: alert delivery checked for {{site}}\n");
	free(text);
	write_file(dir, "test.en.subject", "caf\xe9\n");
	assert_int_equal(rd_template_load(dir, "test.en.subject", &text, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/test.en.subject: not UTF-8 text (byte 3)", dir);
	assert_string_equal(err, path);
	assert_int_equal(rd_template_load(dir, "../etc/passwd", &text, err, sizeof(err)), -1);
	assert_int_equal(rd_template_load(NULL, "nothing.fr.txt", &text, err, sizeof(err)), -1);
	assert_string_equal(err, "no template nothing.fr.txt");
	for (const char *f = "test.fr.subject\0test.fr.html\0test.en.subject\0"; *f;
	     f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_substitution), cmocka_unit_test(test_conditions),
	    cmocka_unit_test(test_errors),       cmocka_unit_test(test_alert_fr),
	    cmocka_unit_test(test_alert_states), cmocka_unit_test(test_digest_and_test),
	    cmocka_unit_test(test_override_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
