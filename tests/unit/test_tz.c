/* test_tz.c - time zones: offsets and DST changes of a real zone file, POSIX
 * rules alone (northern, southern, fixed, Julian days), local time to UTC
 * around the changes, the errors of loading by name, the system's zone from
 * $TZ, the built-in rule zone, and the civil-date arithmetic. */
#include <errno.h>
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

#include "tz.h"

#define T_0610   INT64_C(1717977600) /* 2024-06-10T00:00:00Z */
#define PARIS_TZ RD_ZONEINFO_DIR "/Europe/Paris"
#define PARIS    "CET-1CEST,M3.5.0,M10.5.0/3"

/* NULL (the test is skipped) only when the system has no tzdata. */
static struct rd_tz *load_paris(void)
{
	char err[256];
	struct rd_tz *tz;

	if (access(PARIS_TZ, R_OK) != 0)
		return NULL;
	tz = rd_tz_load("Europe/Paris", err, sizeof(err));
	if (tz == NULL)
		fail_msg("%s", err);
	return tz;
}

static void test_paris_offsets(void **state)
{
	struct rd_tz *tz = load_paris();

	(void)state;
	if (tz == NULL)
		skip();
	assert_string_equal(rd_tz_name(tz), "Europe/Paris");
	assert_int_equal(rd_tz_offset(tz, INT64_C(1704067200)), 3600); /* 2024-01-01 */
	assert_int_equal(rd_tz_offset(tz, T_0610), 7200);
	assert_int_equal(rd_tz_offset(tz, INT64_C(1711846799)), 3600); /* DST starts */
	assert_int_equal(rd_tz_offset(tz, INT64_C(1711846800)), 7200);
	assert_int_equal(rd_tz_offset(tz, INT64_C(2224713600)), 7200); /* 2040: footer rule */
	assert_int_equal(rd_tz_offset(tz, INT64_C(2210198400)), 3600);
	assert_int_equal(rd_tz_offset(NULL, T_0610), 0);
	assert_string_equal(rd_tz_name(NULL), "UTC");
	rd_tz_free(tz);
}

static void test_next_change(void **state)
{
	struct rd_tz *tz = load_paris();
	int64_t at = 0;
	int32_t off = 0;

	(void)state;
	assert_int_equal(rd_tz_next_change(NULL, 0, &at, &off), 0);
	if (tz == NULL)
		skip();
	assert_int_equal(rd_tz_next_change(tz, INT64_C(1704067200), &at, &off), 1);
	assert_int_equal(at, INT64_C(1711846800)); /* 2024-03-31T01:00:00Z */
	assert_int_equal(off, 7200);
	/* strictly after t */
	assert_int_equal(rd_tz_next_change(tz, at, &at, &off), 1);
	assert_int_equal(at, INT64_C(1729990800)); /* 2024-10-27T01:00:00Z */
	assert_int_equal(off, 3600);
	rd_tz_free(tz);
}

static void test_spring_forward(void **state)
{
	struct rd_tz *tz = load_paris();
	int64_t local = rd_tz_days_from_civil(2024, 3, 31) * 86400;

	(void)state;
	if (tz == NULL)
		skip();
	assert_int_equal(rd_tz_to_utc(tz, local + 1 * 3600 + 3599, 0), INT64_C(1711846799));
	assert_int_equal(rd_tz_to_utc(tz, local + 3 * 3600, 0), INT64_C(1711846800));
	/* 02:30 does not exist: read with the offset before the change */
	assert_int_equal(rd_tz_to_utc(tz, local + 2 * 3600 + 1800, 0), INT64_C(1711848600));
	assert_int_equal(rd_tz_to_utc(NULL, local, 0), local);
	rd_tz_free(tz);
}

static void test_fall_back(void **state)
{
	struct rd_tz *tz = load_paris();
	int64_t local = rd_tz_days_from_civil(2024, 10, 27) * 86400 + 2 * 3600 + 1800;

	(void)state;
	if (tz == NULL)
		skip();
	/* 02:30 happens twice: the first (CEST) unless the hint is past it */
	assert_int_equal(rd_tz_to_utc(tz, local, 0), INT64_C(1729989000));
	assert_int_equal(rd_tz_to_utc(tz, local, INT64_C(1729990800)), INT64_C(1729992600));
	/* a hint past both: the latest */
	assert_int_equal(rd_tz_to_utc(tz, local, INT64_C(1730000000)), INT64_C(1729992600));
	rd_tz_free(tz);
}

/* A v2 zone file with no transition at all: only the footer's rule. */
static size_t make_tzif(unsigned char *buf, const char *footer)
{
	size_t n = 0;

	for (int block = 0; block < 2; block++) {
		unsigned char h[44] = {'T', 'Z', 'i', 'f', '2'};

		h[39] = 1; /* typecnt */
		h[43] = 4; /* charcnt */
		memcpy(buf + n, h, 44);
		n += 44;
		memset(buf + n, 0, 6); /* one type: offset 0 */
		n += 6;
		memcpy(buf + n, "UTC", 4);
		n += 4;
	}
	n += (size_t)sprintf((char *)buf + n, "\n%s\n", footer);
	return n;
}

static struct rd_tz *parse_rule_file(const char *footer)
{
	unsigned char buf[256];
	char err[256];
	size_t n = make_tzif(buf, footer);
	struct rd_tz *tz = rd_tz_parse(buf, n, "test", err, sizeof(err));

	if (tz == NULL)
		fail_msg("%s: %s", footer, err);
	return tz;
}

static void test_posix_rules(void **state)
{
	struct rd_tz *tz;
	char err[256];

	(void)state;
	tz = parse_rule_file(PARIS);
	assert_int_equal(rd_tz_offset(tz, INT64_C(1711846799)), 3600);
	assert_int_equal(rd_tz_offset(tz, INT64_C(1711846800)), 7200);
	assert_int_equal(rd_tz_offset(tz, INT64_C(1729990799)), 7200);
	assert_int_equal(rd_tz_offset(tz, INT64_C(1729990800)), 3600);
	rd_tz_free(tz);
	/* southern hemisphere: DST across New Year */
	tz = parse_rule_file("AEST-10AEDT,M10.1.0,M4.1.0/3");
	assert_int_equal(rd_tz_offset(tz, INT64_C(1704067200)), 39600); /* January */
	assert_int_equal(rd_tz_offset(tz, T_0610), 36000);
	rd_tz_free(tz);
	/* quoted names, fixed offset, and a Julian-day rule */
	tz = parse_rule_file("<-03>3");
	assert_int_equal(rd_tz_offset(tz, T_0610), -10800);
	rd_tz_free(tz);
	tz = parse_rule_file("XST5XDT,J60/2,J300/2");
	assert_int_equal(rd_tz_offset(tz, T_0610), -14400);
	rd_tz_free(tz);
	/* garbage */
	assert_null(rd_tz_parse("TZif", 4, "x", err, sizeof(err)));
	assert_string_equal(err, "time zone 'x' cannot be used: not a valid time zone file");
	assert_null(rd_tz_parse("not a zone file at all, not at all, not at all!", 47, "x", err,
	                        sizeof(err)));
}

/* The built-in zone of the calendar agrees with the file, and its rule
 * still holds in the last year the calendar answers for. */
static void test_from_rule(void **state)
{
	char err[256];
	struct rd_tz *rule = rd_tz_from_rule("Europe/Paris", PARIS, err, sizeof(err));
	struct rd_tz *file = load_paris();
	int64_t t2299 = rd_tz_days_from_civil(2299, 7, 1) * 86400;

	(void)state;
	assert_non_null(rule);
	assert_string_equal(rd_tz_name(rule), "Europe/Paris");
	assert_int_equal(rd_tz_offset(rule, t2299), 7200);
	assert_int_equal(rd_tz_offset(rule, t2299 + 180 * 86400), 3600);
	if (file != NULL)
		for (int64_t t = INT64_C(1704067200); t < INT64_C(1767225600); t += 3600)
			assert_int_equal(rd_tz_offset(rule, t), rd_tz_offset(file, t));
	rd_tz_free(rule);
	rd_tz_free(file);
	assert_null(rd_tz_from_rule("x", "CET-1CEST", err, sizeof(err)));
}

static void expect_load_error(const char *name, const char *want, int want_errno)
{
	char err[256];

	errno = 0;
	assert_null(rd_tz_load(name, err, sizeof(err)));
	assert_string_equal(err, want);
	assert_int_equal(errno, want_errno);
}

static void test_load_errors(void **state)
{
	struct stat st;

	(void)state;
	expect_load_error("../../etc/passwd",
	                  "'../../etc/passwd' is not a time zone name (e.g. Europe/Paris)", EINVAL);
	expect_load_error("Europe//Paris",
	                  "'Europe//Paris' is not a time zone name (e.g. Europe/Paris)", EINVAL);
	expect_load_error("Mars/Olympus_Mons",
	                  "unknown time zone 'Mars/Olympus_Mons' (" RD_ZONEINFO_DIR
	                  "/Mars/Olympus_Mons: No such file or directory)",
	                  ENOENT);
	if (stat(RD_ZONEINFO_DIR "/Europe", &st) == 0)
		expect_load_error("Europe",
		                  "unknown time zone 'Europe' (" RD_ZONEINFO_DIR
		                  "/Europe: Is a directory)",
		                  EISDIR);
}

/* right/ zones are read, their leap records skipped: the caller decides
 * (the calendar refuses them, see test_calendar.c). */
static void test_leap_seconds(void **state)
{
	char err[256];
	struct rd_tz *right = rd_tz_load("right/Europe/Paris", err, sizeof(err));
	struct rd_tz *posix = load_paris();

	(void)state;
	if (right == NULL || posix == NULL) {
		rd_tz_free(right);
		rd_tz_free(posix);
		skip();
	}
	assert_int_equal(rd_tz_counts_leap_seconds(right), 1);
	assert_int_equal(rd_tz_counts_leap_seconds(posix), 0);
	assert_int_equal(rd_tz_counts_leap_seconds(NULL), 0);
	assert_int_equal(rd_tz_offset(right, T_0610), 7200);
	/* the change comes the leap seconds late */
	assert_int_equal(rd_tz_offset(right, INT64_C(1711846800) + 26), 3600);
	assert_int_equal(rd_tz_offset(right, INT64_C(1711846800) + 27), 7200);
	rd_tz_free(right);
	rd_tz_free(posix);
}

/* NULL or "": $TZ when it names a zone file, else /etc/localtime. */
static void test_system_zone(void **state)
{
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;
	char err[256];
	struct rd_tz *tz;

	(void)state;
	if (access(PARIS_TZ, R_OK) != 0)
		skip();
	assert_int_equal(setenv("TZ", ":Europe/Paris", 1), 0);
	tz = rd_tz_load(NULL, err, sizeof(err));
	assert_non_null(tz);
	assert_string_equal(rd_tz_name(tz), "Europe/Paris");
	assert_int_equal(rd_tz_offset(tz, T_0610), 7200);
	rd_tz_free(tz);
	assert_int_equal(setenv("TZ", PARIS_TZ, 1), 0);
	tz = rd_tz_load("", err, sizeof(err));
	assert_non_null(tz);
	assert_string_equal(rd_tz_name(tz), PARIS_TZ);
	rd_tz_free(tz);
	/* a POSIX rule names no file: /etc/localtime, or UTC (NULL) */
	assert_int_equal(setenv("TZ", PARIS, 1), 0);
	tz = rd_tz_load(NULL, err, sizeof(err));
	if (access("/etc/localtime", R_OK) == 0) {
		assert_non_null(tz);
		assert_string_equal(rd_tz_name(tz), "/etc/localtime");
	} else {
		assert_null(tz);
		assert_non_null(strstr(err, "/etc/localtime"));
	}
	rd_tz_free(tz);
	if (saved != NULL)
		assert_int_equal(setenv("TZ", saved, 1), 0);
	else
		assert_int_equal(unsetenv("TZ"), 0);
	free(saved);
}

static void test_civil(void **state)
{
	int64_t y;
	int m, d;

	(void)state;
	assert_int_equal(rd_tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(rd_tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(rd_tz_days_from_civil(1900, 1, 1), -25567);
	assert_int_equal(rd_tz_days_from_civil(2299, 12, 31), 120529);
	for (int64_t day = -25567; day <= 120529; day += 97) {
		rd_tz_civil_from_days(day, &y, &m, &d);
		assert_int_equal(rd_tz_days_from_civil(y, m, d), day);
	}
	rd_tz_civil_from_days(-1, &y, &m, &d);
	assert_true(y == 1969 && m == 12 && d == 31);
	assert_int_equal(rd_tz_month_days(2024, 2), 29);
	assert_int_equal(rd_tz_month_days(2100, 2), 28);
	assert_int_equal(rd_tz_month_days(2000, 2), 29);
	assert_int_equal(rd_tz_month_days(2023, 4), 30);
	assert_int_equal(rd_tz_floor_div(-1, 86400), -1);
	assert_int_equal(rd_tz_floor_div(-86400, 86400), -1);
	assert_int_equal(rd_tz_floor_div(86399, 86400), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paris_offsets),  cmocka_unit_test(test_next_change),
	    cmocka_unit_test(test_spring_forward), cmocka_unit_test(test_fall_back),
	    cmocka_unit_test(test_posix_rules),    cmocka_unit_test(test_from_rule),
	    cmocka_unit_test(test_load_errors),    cmocka_unit_test(test_leap_seconds),
	    cmocka_unit_test(test_system_zone),    cmocka_unit_test(test_civil),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
