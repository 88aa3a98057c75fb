/* Unit tests: typed values and file:line error reporting (daemon/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static void test_durations(void **state)
{
	char err[128];
	int64_t ms;

	assert_int_equal(rd_parse_duration_ms("90s", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(rd_parse_duration_ms("15m", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 900000);
	assert_int_equal(rd_parse_duration_ms("2h", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(rd_parse_duration_ms("200ms", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 200);
	assert_int_equal(rd_parse_duration_ms("20", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 20000);
	assert_int_equal(rd_parse_duration_ms("1.5h", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(rd_parse_duration_ms("15 parsecs", &ms, err, sizeof(err)), -1);
	assert_int_equal(rd_parse_duration_ms("-3s", &ms, err, sizeof(err)), -1);
	assert_int_equal(rd_parse_duration_ms("", &ms, err, sizeof(err)), -1);
}

static void test_percent_size_bool(void **state)
{
	char err[128];
	double p;
	uint64_t sz;
	int b;

	assert_int_equal(rd_parse_percent("85%", &p, err, sizeof(err)), 0);
	assert_true(p > 0.8499 && p < 0.8501);
	assert_int_equal(rd_parse_percent("0.75", &p, err, sizeof(err)), 0);
	assert_true(p > 0.7499 && p < 0.7501);
	assert_int_equal(rd_parse_percent("120%", &p, err, sizeof(err)), -1);
	assert_int_equal(rd_parse_size("64k", &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 65536);
	assert_int_equal(rd_parse_size("1M", &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 1048576);
	assert_int_equal(rd_parse_size("3 bananas", &sz, err, sizeof(err)), -1);
	assert_int_equal(rd_parse_bool("yes", &b, err, sizeof(err)), 0);
	assert_int_equal(b, 1);
	assert_int_equal(rd_parse_bool("off", &b, err, sizeof(err)), 0);
	assert_int_equal(b, 0);
	assert_int_equal(rd_parse_bool("maybe", &b, err, sizeof(err)), -1);
}

struct errors {
	char msgs[16][512];
	int n;
};

static void collect(void *arg, const char *msg)
{
	struct errors *e = arg;

	if (e->n < 16)
		snprintf(e->msgs[e->n++], sizeof(e->msgs[0]), "%s", msg);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	FILE *fp;
	int fd;

	strcpy(path, "/tmp/reachd-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void test_contract_config_loads(void **state)
{
	const char *text = "[postgres]\nconninfo = host=/var/run/postgresql dbname=reachd\n"
	                   "[redis]\naddress = 127.0.0.1:6379          ; comment\n"
	                   "[collector \"standard\"]\ntype = queuelog\n"
	                   "path = /var/log/asterisk/queue_log\nsite = prefecture\n"
	                   "[smtp]\nserver = localhost:25\nfrom = reachd@example.gouv.fr\n"
	                   "[http]\nlisten = 127.0.0.1:8470\n"
	                   "[recipients \"qualite\"]\nto = referent.qualite@example.gouv.fr\n"
	                   "[rule \"answered-rate\"]\nfigure = answered_rate\nscope = queue:*\n"
	                   "window = 1h\nwarning = < 85%\ncritical = < 75%\nmin_samples = 20\n"
	                   "for = 10m\nnotify = qualite\n";
	char *path = write_tmp(text);
	struct errors e = {0};
	struct rd_config *cfg;
	const struct rd_section *s;

	assert_int_equal(rd_config_load(path, &cfg, collect, &e), 0);
	assert_string_equal(cfg->redis_address, "127.0.0.1:6379");
	s = rd_config_next(cfg, "collector", NULL);
	assert_non_null(s);
	assert_string_equal(s->name, "standard");
	assert_string_equal(rd_section_get(s, "path"), "/var/log/asterisk/queue_log");
	assert_int_equal(s->kv[1].line, 7);
	assert_int_equal(cfg->commit_interval_ms, 1000);
	rd_config_free(cfg);
	unlink(path);
}

static void test_errors_have_lines(void **state)
{
	const char *text = "[daemon]\ncommit_interval = soon\nbogus = 1\n"
	                   "[postgres]\nconninfo = dbname=x\n"
	                   "[redis]\naddress = redis.example.org:6379\n"
	                   "[collector]\ntype = queuelog\n"
	                   "[nonsense]\nx = 1\n";
	char *path = write_tmp(text);
	char expect[600];
	struct errors e = {0};
	struct rd_config *cfg;

	assert_true(rd_config_load(path, &cfg, collect, &e) > 0);
	rd_config_free(cfg);
	snprintf(expect, sizeof(expect), "%s:2: commit_interval:", path);
	assert_int_equal(strncmp(e.msgs[3], expect, strlen(expect)), 0);
	snprintf(expect, sizeof(expect), "%s:3: unknown key 'bogus' in [daemon]", path);
	assert_string_equal(e.msgs[0], expect);
	snprintf(expect, sizeof(expect), "%s:8: section [collector] needs a name", path);
	assert_int_equal(strncmp(e.msgs[1], expect, strlen(expect)), 0);
	snprintf(expect, sizeof(expect), "%s:10: unknown section [nonsense]", path);
	assert_string_equal(e.msgs[2], expect);
	snprintf(expect, sizeof(expect), "%s:7: address:", path);
	assert_int_equal(strncmp(e.msgs[4], expect, strlen(expect)), 0);
	unlink(path);
}

/* A line too long for the parser is one error, and lines after it keep
 * their numbers. */
static void test_long_line(void **state)
{
	char text[1024], expect[600];
	char *path;
	struct errors e = {0};
	struct rd_config *cfg;

	snprintf(text, sizeof(text),
	         "[postgres]\nconninfo = %0300d\n[redis]\naddress = 127.0.0.1:6379\n"
	         "[collector \"x\"]\ntype = queuelog\npath = /q\nsite = s\n[daemon]\nbogus = 1\n",
	         0);
	path = write_tmp(text);
	/* the long line, the unknown key, and conninfo missing (it was skipped) */
	assert_int_equal(rd_config_load(path, &cfg, collect, &e), 3);
	snprintf(expect, sizeof(expect), "%s:2: line longer than", path);
	assert_int_equal(strncmp(e.msgs[0], expect, strlen(expect)), 0);
	snprintf(expect, sizeof(expect), "%s:10: unknown key 'bogus' in [daemon]", path);
	assert_string_equal(e.msgs[1], expect);
	rd_config_free(cfg);
	unlink(path);
}

/* An indented line continues the value before it (long mailbox lists). */
static void test_continuation(void **state)
{
	char *path = write_tmp("[postgres]\nconninfo = x\n[redis]\naddress = 127.0.0.1:6379\n"
	                       "[collector \"m\"]\ntype = queuelog\npath = /q\nsite = s\n"
	                       "mailboxes = a@x.fr,\n    b@x.fr,\n\tc@x.fr\nmax_line = 1M\n");
	struct errors e = {0};
	struct rd_config *cfg;

	assert_int_equal(rd_config_load(path, &cfg, collect, &e), 0);
	assert_string_equal(rd_section_get(rd_config_next(cfg, "collector", NULL), "mailboxes"),
	                    "a@x.fr, b@x.fr, c@x.fr");
	assert_string_equal(rd_section_get(rd_config_next(cfg, "collector", NULL), "max_line"),
	                    "1M");
	rd_config_free(cfg);
	unlink(path);
}

#define BASE                                                                                       \
	"[postgres]\nconninfo = x\n[redis]\naddress = 127.0.0.1:6379\n"                            \
	"[collector \"m\"]\ntype = queuelog\npath = /q\nsite = s\n"

/* [smtp]: typed values, and each mistake on its own line. */
static void test_smtp_section(void **state)
{
	char *path =
	    write_tmp(BASE "[smtp]\nserver = relay.example.gouv.fr:587\n"
	                   "from = Indicateurs d'accueil <reachd@example.gouv.fr>\n"
	                   "starttls = required\nusername = reachd\ntimeout = 20s\n"
	                   "helo = reachd.example.gouv.fr\nlanguage = en\ntls_verify = no\n"
	                   "dashboard_url = https://reach.example.gouv.fr/\n");
	char expect[600];
	struct errors e = {0};
	struct rd_config *cfg;

	setenv("REACHD_SMTP_PASSWORD", "pw", 1);
	assert_int_equal(rd_config_load(path, &cfg, collect, &e), 0);
	assert_int_equal(cfg->smtp_present, 1);
	assert_string_equal(cfg->smtp.server, "relay.example.gouv.fr:587");
	assert_string_equal(cfg->smtp.from, "reachd@example.gouv.fr");
	assert_string_equal(cfg->smtp.from_name, "Indicateurs d'accueil");
	assert_int_equal(cfg->smtp.starttls, RD_STARTTLS_REQUIRED);
	assert_string_equal(cfg->smtp.password, "pw");
	assert_int_equal(cfg->smtp.timeout_ms, 20000);
	assert_int_equal(cfg->smtp.tls_verify, 0);
	assert_string_equal(cfg->smtp_language, "en");
	rd_config_free(cfg);
	unlink(path);
	unsetenv("REACHD_SMTP_PASSWORD");

	path = write_tmp(BASE "[smtp]\nserver = relay:99999\nfrom = <reachd at example>\n"
	                      "starttls = opportunistic\nusername = reachd\nlanguage = de\n"
	                      "ca_file = /nonexistent/ca.pem\ntimeout = 10ms\n");
	assert_int_equal(rd_config_load(path, &cfg, collect, &e), 8);
	rd_config_free(cfg);
	/* in the order they are checked: as read, then values, then AUTH */
	snprintf(expect, sizeof(expect),
	         "%s:11: from: 'reachd at example' is not a valid address: it contains a space",
	         path);
	assert_string_equal(e.msgs[0], expect);
	snprintf(expect, sizeof(expect),
	         "%s:12: starttls: 'opportunistic' is neither required nor no", path);
	assert_int_equal(strncmp(e.msgs[1], expect, strlen(expect)), 0);
	snprintf(expect, sizeof(expect), "%s:16: timeout: must be at least 1000 ms", path);
	assert_string_equal(e.msgs[2], expect);
	snprintf(expect, sizeof(expect),
	         "%s:10: server: 'relay:99999' is not host:port (e.g. localhost:25)", path);
	assert_string_equal(e.msgs[3], expect);
	snprintf(expect, sizeof(expect), "%s:14: language: 'de' is not fr or en", path);
	assert_string_equal(e.msgs[4], expect);
	snprintf(expect, sizeof(expect), "%s:15: ca_file: cannot read /nonexistent/ca.pem:", path);
	assert_int_equal(strncmp(e.msgs[5], expect, strlen(expect)), 0);
	snprintf(expect, sizeof(expect), "%s:13: username needs starttls = required", path);
	assert_int_equal(strncmp(e.msgs[6], expect, strlen(expect)), 0);
	snprintf(expect, sizeof(expect), "%s:13: username is set but no password", path);
	assert_int_equal(strncmp(e.msgs[7], expect, strlen(expect)), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_percent_size_bool),
	    cmocka_unit_test(test_contract_config_loads),
	    cmocka_unit_test(test_errors_have_lines),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_continuation),
	    cmocka_unit_test(test_smtp_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
