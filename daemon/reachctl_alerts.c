/* reachctl_alerts.c - reachctl alerts: the alerts that need a look now
 * (reach.alert_state), the transitions of a recent period
 * (reach.alert_events) and what became of the mails (reach.alert_outbox).
 * docs/alerts.md#reachctl-alerts-and-silences describes the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts_json.h"
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

static int jtrue(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static int jstatus(const json_t *o, const char *status)
{
	const char *s = json_string_value(json_object_get(o, "status"));

	return s && strcmp(s, status) == 0;
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

/* The document, built by the same function as the HTTP API's; value_text
 * in English, as reachctl always printed it. */
static int fetch(struct al *a, json_t **root)
{
	struct rd_alerts_query q = {a->rules, a->since, a->limit, "en"};
	char err[1024];
	int retryable;

	if (rd_alerts_json(a->c->pg, &q, root, &retryable, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "reachctl: %s", err);
	return -1;
}

int ctl_alerts(struct ctl *c)
{
	struct al a = {.c = c};
	json_t *root = NULL;
	int rc = 2;

	if (c->nargs != 0) {
		fprintf(stderr, "reachctl: alerts takes no argument ('%s')\n", c->args[0]);
		return 2;
	}
	a.tz = ctl_zone(c->cfg);
	if (period(&a) == 0) {
		/* the count of errors is reachd -t's business: valid rules are in */
		(void)rd_rules_load(c->cfg, &a.rules, no_report, NULL);
		rc = fetch(&a, &root) != 0 ? 1 : output(&a, root);
	}
	json_decref(root);
	rd_rules_free(a.rules);
	rd_tz_free(a.tz);
	return rc;
}
