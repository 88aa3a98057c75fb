/* reachctl.c - the administrator's and scripts' command line: reads
 * PostgreSQL (and pings Redis) with the daemon's own configuration. Blocking
 * I/O is fine here: this is a short-lived command, not the daemon. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_addr.h"
#include "config.h"
#include "indicators.h"
#include "mailer.h"
#include "mailmsg.h"
#include "reachctl.h"
#include "template.h"
#include "tz.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/reachd/reachd.conf"
#define FLOAT8OID      701
#define INT4OID        23
#define INT8OID        20
#define MAX_RCPTS      CTL_MAX_RCPTS

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: reachctl [-c FILE] COMMAND [options]\n"
	    "commands:\n"
	    "  indicators [--site S] [--queue Q] [--mailbox M] [--window W | --from T --to T]"
	    " [--json]\n"
	    "             every telephony and mail figure for the period (default: the last\n"
	    "             24 h); the mail backlog is the one at the end of the period\n"
	    "  status [--json]\n"
	    "             each collector's source, cursor, lag and line counts; the state of\n"
	    "             PostgreSQL and Redis\n"
	    "  test-mail --to ADDRESS [--to ADDRESS...]\n"
	    "             send the test message through the [smtp] relay and print its\n"
	    "             answer for each recipient; exit 0 only if it accepted them all\n"
	    "  alerts [--since T | --recent N] [--json]\n"
	    "             firing, pending, flapping, insufficient and silenced alerts, then\n"
	    "             the transitions and mails of the last 24 h (or since T, or the last N)\n"
	    "  silence add (--rule GLOB | --scope GLOB | --all) --until T [--from T]\n"
	    "              --reason TEXT [--json]\n"
	    "  silence list [--all] [--json]\n"
	    "  silence remove ID\n"
	    "             hold back the mails of the alerts a silence matches\n"
	    "  report (--year YYYY | --month YYYY-MM) [--site S] [--format text|csv|html|md]\n"
	    "         [--lang fr|en]\n"
	    "             the quality label's indicators for that calendar period in the\n"
	    "             site's time zone, per site, queue and mailbox, beside the same\n"
	    "             period one year earlier (docs/report.md)\n"
	    "T for indicators is ISO 8601 (2026-11-29T08:00:00Z, 2026-11-29 08:00+01:00,\n"
	    "2026-11-29); UTC when no offset is given. Periods are aligned to whole minutes.\n"
	    "T for alerts and silence is ISO 8601 in the site's [daemon] timezone when no\n"
	    "offset is given (2026-12-01 18:00), or a duration from now (2h, 90m, 3d).\n");
}

static void print_error(void *arg, const char *msg)
{
	fprintf(stderr, "%s\n", msg);
}

static PGconn *pg_connect(const struct rd_config *cfg)
{
	const char *keys[] = {"connect_timeout", "application_name", "dbname", "password", NULL};
	const char *vals[] = {"10", "reachctl", cfg->pg_conninfo, cfg->pg_password, NULL};
	PGconn *pg;

	if (!cfg->pg_password)
		keys[3] = NULL;
	pg = PQconnectdbParams(keys, vals, 1);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "reachctl: cannot connect to PostgreSQL: %s",
		        pg ? PQerrorMessage(pg) : "out of memory\n");
		PQfinish(pg);
		return NULL;
	}
	PQclear(PQexec(pg, "SET TimeZone = 'UTC'"));
	return pg;
}

/* A result cell as JSON, typed from the column's type. */
static json_t *cell(PGresult *r, int row, int col)
{
	return rd_pg_cell_json(r, row, col);
}

static PGresult *query(struct ctl *c, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexecParams(c->pg, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		if (state && strncmp(state, "22", 2) == 0)
			fprintf(stderr, "reachctl: bad --from/--to: %s", PQresultErrorMessage(r));
		else
			fprintf(stderr, "reachctl: %s", PQerrorMessage(c->pg));
		PQclear(r);
		return NULL;
	}
	return r;
}

PGresult *ctl_exec(struct ctl *c, const char *sql, int n, const char *const *p, ExecStatusType want)
{
	PGresult *r = PQexecParams(c->pg, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) != want) {
		fprintf(stderr, "reachctl: %s", PQerrorMessage(c->pg));
		PQclear(r);
		return NULL;
	}
	return r;
}

struct rd_tz *ctl_zone(const struct rd_config *cfg)
{
	const char *zone = cfg->timezone ? cfg->timezone : "Europe/Paris";
	char err[256];
	struct rd_tz *tz = rd_tz_load(zone, err, sizeof(err));

	if (!tz)
		fprintf(stderr, "reachctl: time zone %s: %s; times are UTC\n", zone, err);
	return tz;
}

int ctl_print_json(json_t *o)
{
	int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;

	putchar('\n');
	return rc;
}

int64_t ctl_epoch(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

json_t *ctl_text(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

void ctl_table_init(struct ctl_table *t, size_t ncols)
{
	*t = (struct ctl_table){.ncols = ncols};
}

int ctl_table_add(struct ctl_table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));

		if (!cells)
			return -1;
		t->cells = cells;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *v = strdup(row[i] ? row[i] : "-");

		if (!v) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return -1;
		}
		/* a table is one line per row, and no escape reaches the terminal */
		for (char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		t->cells[t->nrows * t->ncols + i] = v;
	}
	t->nrows++;
	return 0;
}

/* Characters, not bytes: names and reasons may be French. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* No padding before nothing: lines end without spaces. */
static int rest_empty(const struct ctl_table *t, size_t row, size_t col)
{
	for (; col < t->ncols; col++)
		if (t->cells[row * t->ncols + col][0])
			return 0;
	return 1;
}

void ctl_table_print(const struct ctl_table *t, const char *indent)
{
	size_t width[16] = {0};

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols && i < 16; i++)
			if (text_width(t->cells[r * t->ncols + i]) > width[i])
				width[i] = text_width(t->cells[r * t->ncols + i]);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (size_t i = 0; i < t->ncols; i++) {
			const char *cellv = t->cells[r * t->ncols + i];

			fputs(cellv, stdout);
			if (i + 1 < t->ncols && !rest_empty(t, r, i + 1))
				printf("%*s", (int)(i < 16 ? width[i] - text_width(cellv) + 2 : 2),
				       "");
		}
		putchar('\n');
	}
}

void ctl_table_free(struct ctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	*t = (struct ctl_table){0};
}

/* --- indicators ------------------------------------------------------------ */

/* Every figure of each queue and mailbox, one block each. */
static void print_text(const json_t *arr, const char *entity, const char *what)
{
	size_t i;
	json_t *o;

	if (json_array_size(arr) == 0)
		printf("\nno %s in this period\n", what);
	json_array_foreach(arr, i, o)
	{
		const char *k;
		json_t *v;

		printf("\n%s / %s\n", json_string_value(json_object_get(o, "site")),
		       json_string_value(json_object_get(o, entity)));
		json_object_foreach(o, k, v)
		{
			if (!strcmp(k, "site") || !strcmp(k, entity) || !strcmp(k, "from") ||
			    !strcmp(k, "to"))
				continue;
			if (json_is_real(v))
				printf("  %-28s %.4f\n", k, json_real_value(v));
			else if (json_is_integer(v))
				printf("  %-28s %lld\n", k, (long long)json_integer_value(v));
			else
				printf("  %-28s %s\n", k,
				       json_is_null(v) ? "-" : json_string_value(v));
		}
	}
}

/* The same function as the HTTP API's /api/v1/indicators (indicators.c). */
static int cmd_indicators(struct ctl *c)
{
	struct rd_ind_query q = {.site = c->site,
	                         .queue = c->queue,
	                         .mailbox = c->mailbox,
	                         .from = c->from,
	                         .to = c->to,
	                         .window = c->window};
	char err[512];
	json_t *root = NULL;
	enum rd_ind_status st = rd_indicators_json(c->pg, &q, &root, err, sizeof(err));
	int rc;

	if (st != RD_IND_OK) {
		fprintf(stderr, "reachctl: %s%s\n", st == RD_IND_BAD_REQUEST ? "bad period: " : "",
		        err);
		return 1;
	}
	if (c->json) {
		rc = ctl_print_json(root);
	} else {
		printf("period %s .. %s (UTC)\n", json_string_value(json_object_get(root, "from")),
		       json_string_value(json_object_get(root, "to")));
		print_text(json_object_get(root, "calls"), "queue", "calls");
		print_text(json_object_get(root, "mail"), "mailbox", "mail");
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/* --- status -------------------------------------------------------------- */

/* A connection to the configured Redis, or NULL with the reason in buf. */
static redisContext *redis_open(const struct rd_config *cfg, char *buf, size_t len)
{
	char host[RD_CACHE_ADDR_HOSTLEN], err[256];
	struct timeval tv = {2, 0};
	redisContext *rc;
	redisReply *reply;
	int port;

	if (rd_cache_parse_address(cfg->redis_address, host, sizeof(host), &port, err,
	                           sizeof(err)) != 0) {
		snprintf(buf, len, "bad address: %s", err);
		return NULL;
	}
	rc = port ? redisConnectWithTimeout(host, port, tv) : redisConnectUnixWithTimeout(host, tv);
	if (!rc || rc->err) {
		snprintf(buf, len, "unreachable: %s", rc ? rc->errstr : "out of memory");
		redisFree(rc);
		return NULL;
	}
	redisSetTimeout(rc, tv);
	if (cfg->redis_password) {
		reply = redisCommand(rc, "AUTH %s", cfg->redis_password);
		freeReplyObject(reply);
	}
	if (cfg->redis_db) {
		reply = redisCommand(rc, "SELECT %d", cfg->redis_db);
		freeReplyObject(reply);
	}
	reply = redisCommand(rc, "PING");
	snprintf(buf, len, "%s", reply && reply->type == REDIS_REPLY_STATUS ? "ok" : "error");
	freeReplyObject(reply);
	return rc;
}

/* The daemon's own view, from reach:{site}:daemon (written every refresh). */
static json_t *daemon_health(redisContext *rc, const char *site)
{
	char esc[512], key[600];
	redisReply *reply;
	json_t *o;

	if (!rc || rd_cache_escape(site, esc, sizeof(esc)) < 0)
		return json_null();
	snprintf(key, sizeof(key), "reach:{%s}:daemon", esc);
	reply = redisCommand(rc, "HGETALL %s", key);
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
		freeReplyObject(reply);
		return json_string("no daemon seen (no heartbeat in Redis)");
	}
	o = json_object();
	for (size_t i = 0; i + 1 < reply->elements; i += 2)
		json_object_set_new(o, reply->element[i]->str,
		                    json_string(reply->element[i + 1]->str));
	freeReplyObject(reply);
	return o;
}

static json_t *collector_status(struct ctl *c, const struct rd_section *s)
{
	const char *site = rd_section_get(s, "site") ? rd_section_get(s, "site") : c->cfg->site;
	const char *path = rd_section_get(s, "path");
	const char *p[2] = {site ? site : "", s->name};
	json_t *o = json_pack("{s:s, s:s, s:s?, s:s?}", "name", s->name, "type",
	                      rd_section_get(s, "type"), "site", site, "source", path);
	PGresult *r = c->pg
	                  ? query(c,
	                          "SELECT \"offset\", source_size, lines_accepted, lines_rejected,"
	                          " lines_unknown, to_char(committed_at AT TIME ZONE 'UTC',"
	                          " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	                          " extract(epoch FROM now() - committed_at)::bigint, ino"
	                          " FROM reach.cursors WHERE site = $1 AND collector = $2",
	                          2, p)
	                  : NULL;
	struct stat sb;

	if (r && PQntuples(r) == 1) {
		long long off = strtoll(PQgetvalue(r, 0, 0), NULL, 10);

		json_object_set_new(o, "offset", json_integer(off));
		json_object_set_new(o, "lines_accepted", cell(r, 0, 2));
		json_object_set_new(o, "lines_rejected", cell(r, 0, 3));
		json_object_set_new(o, "lines_unknown", cell(r, 0, 4));
		json_object_set_new(o, "committed_at", cell(r, 0, 5));
		json_object_set_new(o, "committed_age_s", cell(r, 0, 6));
		/* lag: what the source holds beyond the cursor, when we can see it */
		if (path && stat(path, &sb) == 0)
			json_object_set_new(
			    o, "lag_bytes",
			    json_integer((long long)sb.st_ino ==
			                         strtoll(PQgetvalue(r, 0, 7), NULL, 10)
			                     ? (long long)sb.st_size - off
			                     : (long long)sb.st_size));
	}
	PQclear(r);
	return o;
}

static void print_object(const char *indent, json_t *o)
{
	const char *key;
	json_t *x;

	json_object_foreach(o, key, x)
	{
		char *str = json_is_string(x) ? NULL : json_dumps(x, JSON_ENCODE_ANY);

		if (strcmp(key, "name") != 0)
			printf("%s%-18s %s\n", indent, key, str ? str : json_string_value(x));
		free(str);
	}
}

static int cmd_status(struct ctl *c)
{
	char redis[300];
	redisContext *rc = redis_open(c->cfg, redis, sizeof(redis));
	json_t *root = json_object(), *cols = json_array(), *daemons = json_object(), *v;
	const char *key;
	size_t i;

	json_object_set_new(root, "postgres", json_string(c->pg ? "ok" : "unreachable"));
	json_object_set_new(root, "redis", json_string(redis));
	for (const struct rd_section *s = rd_config_next(c->cfg, "collector", NULL); s;
	     s = rd_config_next(c->cfg, "collector", s)) {
		const char *site =
		    rd_section_get(s, "site") ? rd_section_get(s, "site") : c->cfg->site;

		json_array_append_new(cols, collector_status(c, s));
		if (site && !json_object_get(daemons, site))
			json_object_set_new(daemons, site, daemon_health(rc, site));
	}
	json_object_set_new(root, "daemons", daemons);
	json_object_set_new(root, "collectors", cols);
	if (c->json) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("postgres  %s\nredis     %s\n", c->pg ? "ok" : "unreachable", redis);
		json_object_foreach(daemons, key, v)
		{
			printf("\ndaemon of site %s\n", key);
			if (json_is_object(v))
				print_object("  ", v);
			else if (json_is_string(v))
				printf("  %s\n", json_string_value(v));
			else
				printf("  unknown (Redis unreachable)\n");
		}
		json_array_foreach(cols, i, v)
		{
			printf("\ncollector %s\n", json_string_value(json_object_get(v, "name")));
			print_object("  ", v);
		}
	}
	json_decref(root);
	redisFree(rc);
	return c->pg ? 0 : 1;
}

/* --- test-mail ----------------------------------------------------------- */

/* now, in the site's zone, for the test message's text */
static void local_now(const struct rd_config *cfg, time_t now, const char *lang, char *buf,
                      size_t len)
{
	const char *zone = cfg->timezone ? cfg->timezone : "Europe/Paris";
	char err[256];
	struct rd_tz *tz = rd_tz_load(zone, err, sizeof(err));
	time_t local = now + (tz ? rd_tz_offset(tz, now) : 0);
	struct tm tm;

	if (!gmtime_r(&local, &tm)) {
		snprintf(buf, len, "?");
	} else {
		char day[32];

		strftime(day, sizeof(day),
		         strcmp(lang, "fr") == 0 ? "%d/%m/%Y %H:%M:%S" : "%Y-%m-%d %H:%M:%S",
		         &tm); /* digits only: no locale in these formats */
		snprintf(buf, len, "%s (%s)", day, tz ? zone : "UTC");
	}
	rd_tz_free(tz);
}

/* Render the test template and compose the message. 0, or 1 with a message. */
static int test_message(const struct ctl *c, const char *msgid, char **out)
{
	const struct rd_config *cfg = c->cfg;
	const char *lang = cfg->smtp_language ? cfg->smtp_language : "fr";
	char date[96], err[512];
	const struct rd_tmpl_var vars[] = {{"site", cfg->site ? cfg->site : "reachd"},
	                                   {"server", cfg->smtp.server},
	                                   {"date", date},
	                                   {"dashboard_url", cfg->smtp_dashboard_url}};
	struct rd_mailbox to[MAX_RCPTS];
	struct rd_mail_parts parts;
	struct rd_mailmsg m = {.from = {cfg->smtp.from, cfg->smtp.from_name},
	                       .to = to,
	                       .nto = c->nrcpts,
	                       .message_id = msgid,
	                       .date = time(NULL)};
	int rc = 1;

	local_now(cfg, m.date, lang, date, sizeof(date));
	for (size_t i = 0; i < c->nrcpts; i++)
		to[i] = (struct rd_mailbox){c->rcpts[i], NULL};
	if (rd_template_render_mail(cfg->smtp_templates, "test", lang, vars, 4, &parts, err,
	                            sizeof(err)) != 0) {
		fprintf(stderr, "reachctl: %s\n", err);
	} else {
		m.subject = parts.subject;
		m.text = parts.text;
		m.html = parts.html;
		if (rd_mailmsg_compose(&m, out, err, sizeof(err)) != 0)
			fprintf(stderr, "reachctl: cannot compose the test message: %s\n", err);
		else
			rc = 0;
	}
	rd_mail_parts_clear(&parts);
	return rc;
}

static void print_answer(const char *who, enum rd_mail_outcome o, int code, const char *text)
{
	if (code)
		printf("%s: %s: %d %s\n", who, rd_mail_outcome_name(o), code, text);
	else
		printf("%s: %s: %s\n", who, rd_mail_outcome_name(o), text);
}

static int cmd_test_mail(struct ctl *c)
{
	const struct rd_config *cfg = c->cfg;
	struct rd_mailer *mailer = NULL;
	struct rd_mail_result res;
	char err[512], msgid[300], *message = NULL;
	int rc;

	if (!cfg->smtp_present) {
		fprintf(stderr, "reachctl: %s has no [smtp] section\n", cfg->path);
		return 1;
	}
	if (c->nrcpts == 0) {
		fprintf(stderr, "reachctl: test-mail needs --to ADDRESS\n");
		return 2;
	}
	/* the sender's domain names where the test came from */
	snprintf(msgid, sizeof(msgid), "<test-%lld-%ld@%s>", (long long)time(NULL), (long)getpid(),
	         strchr(cfg->smtp.from, '@') + 1);
	if (rd_mailer_new(&cfg->smtp, &mailer, err, sizeof(err)) != 0) {
		fprintf(stderr, "reachctl: [smtp]: %s\n", err);
		return 1;
	}
	if (test_message(c, msgid, &message) != 0) {
		rd_mailer_free(mailer);
		return 1;
	}
	printf("Message-ID: %s\nrelay: %s%s%s\n", msgid, cfg->smtp.server,
	       cfg->smtp.starttls == RD_STARTTLS_REQUIRED ? ", STARTTLS" : "",
	       cfg->smtp.username ? ", AUTH" : "");
	fflush(stdout);
	rc = rd_mailer_send(mailer, c->rcpts, c->nrcpts, message, &res) == 0 ? 0 : 1;
	for (size_t i = 0; i < res.nrcpt; i++)
		print_answer(c->rcpts[i], res.rcpt[i].outcome, res.rcpt[i].code, res.rcpt[i].text);
	print_answer("result", res.outcome, res.code, res.text);
	rd_mail_result_clear(&res);
	free(message);
	rd_mailer_free(mailer);
	return rc;
}

static int known_command(const char *cmd)
{
	static const char *const cmds[] = {"indicators", "status",  "test-mail",
	                                   "alerts",     "silence", "report"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}

/* The command's options; 0, or 2 for a bad command line. */
static int parse_options(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"site", required_argument, NULL, 's'},
	                                         {"queue", required_argument, NULL, 'q'},
	                                         {"mailbox", required_argument, NULL, 'm'},
	                                         {"from", required_argument, NULL, 'f'},
	                                         {"to", required_argument, NULL, 't'},
	                                         {"json", no_argument, NULL, 'j'},
	                                         {"rule", required_argument, NULL, 'r'},
	                                         {"scope", required_argument, NULL, 'S'},
	                                         {"until", required_argument, NULL, 'u'},
	                                         {"reason", required_argument, NULL, 'R'},
	                                         {"since", required_argument, NULL, 'i'},
	                                         {"recent", required_argument, NULL, 'n'},
	                                         {"all", no_argument, NULL, 'a'},
	                                         {"year", required_argument, NULL, 'Y'},
	                                         {"month", required_argument, NULL, 'M'},
	                                         {"format", required_argument, NULL, 'F'},
	                                         {"lang", required_argument, NULL, 'L'},
	                                         {"window", required_argument, NULL, 'w'},
	                                         {NULL, 0, NULL, 0}};
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': c->site = optarg; break;
		case 'q': c->queue = optarg; break;
		case 'm': c->mailbox = optarg; break;
		case 'f': c->from = optarg; break;
		case 't':
			c->to = optarg;
			if (c->nrcpts == MAX_RCPTS) {
				fprintf(stderr, "reachctl: at most %d --to\n", MAX_RCPTS);
				return 2;
			}
			c->rcpts[c->nrcpts++] = optarg;
			break;
		case 'j': c->json = 1; break;
		case 'r': c->rule = optarg; break;
		case 'S': c->scope = optarg; break;
		case 'u': c->until = optarg; break;
		case 'R': c->reason = optarg; break;
		case 'i': c->since = optarg; break;
		case 'n': c->recent = optarg; break;
		case 'a': c->all = 1; break;
		case 'w': c->window = optarg; break;
		case 'Y': c->year = optarg; break;
		case 'M': c->month = optarg; break;
		case 'F': c->format = optarg; break;
		case 'L': c->lang = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	c->args = argv + optind;
	c->nargs = argc - optind;
	return 0;
}

static int run(struct ctl *c, const char *cmd, const char *sub)
{
	if (strcmp(cmd, "test-mail") == 0)
		return cmd_test_mail(c); /* needs neither PostgreSQL nor Redis */
	c->pg = pg_connect(c->cfg);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(c);
	if (!c->pg)
		return 1;
	if (strcmp(cmd, "indicators") == 0)
		return cmd_indicators(c);
	if (strcmp(cmd, "alerts") == 0)
		return ctl_alerts(c);
	if (strcmp(cmd, "report") == 0)
		return ctl_report(c);
	return ctl_silence(c, sub);
}

int main(int argc, char **argv)
{
	static const struct option mainopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {"version", no_argument, NULL, 'V'},
	                                         {NULL, 0, NULL, 0}};
	struct ctl c = {0};
	const char *config = DEFAULT_CONFIG, *cmd, *sub = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:hV", mainopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("reachctl %s\n", REACHD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (!known_command(cmd)) {
		fprintf(stderr, "reachctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	/* getopt stops at the first word ("+" above): take silence's own */
	if (strcmp(cmd, "silence") == 0) {
		sub = optind < argc ? argv[optind++] : "";
		if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
		    strcmp(sub, "remove") != 0) {
			fprintf(stderr, "reachctl: silence add, list or remove, not '%s'\n", sub);
			usage(stderr);
			return 2;
		}
	}
	if (parse_options(&c, argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN); /* libESMTP and hiredis write to sockets */
	if (rd_config_load(config, &c.cfg, print_error, NULL) != 0) {
		rd_config_free(c.cfg);
		return 1;
	}
	rc = run(&c, cmd, sub);
	PQfinish(c.pg);
	rd_config_free(c.cfg);
	return rc;
}
