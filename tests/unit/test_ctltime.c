/* test_ctltime.c - reachctl's times: ISO 8601 local (in the site's zone,
 * across a DST change) and with Z or offsets, durations forward and back,
 * every refusal, and the two printed forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctltime.h"
#include "tz.h"

#define NOW      INT64_C(1900000000) /* 2030-03-17T17:46:40Z */
#define T_JAN_17 INT64_C(1894726800) /* 2030-01-15T17:00:00Z */

static struct rd_tz *load_paris(void)
{
	char err[256];
	struct rd_tz *tz;

	if (access(RD_ZONEINFO_DIR "/Europe/Paris", R_OK) != 0)
		return NULL;
	tz = rd_tz_load("Europe/Paris", err, sizeof(err));
	if (tz == NULL)
		fail_msg("%s", err);
	return tz;
}

static int64_t parse_ok(const char *s, const struct rd_tz *tz, int dir)
{
	char err[256] = "";
	int64_t t = 0;

	if (rd_ctltime_parse(s, tz, NOW, dir, &t, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", s, err);
	return t;
}

static void test_local(void **state)
{
	struct rd_tz *tz = load_paris();

	(void)state;
	if (tz == NULL)
		skip();
	assert_int_equal(parse_ok("2030-01-15 18:00", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15T18:00", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15t18:00:30", tz, 1), T_JAN_17 + 30);
	assert_int_equal(parse_ok("2030-01-15", tz, 1), T_JAN_17 - 18 * 3600);
	/* summer time: 18:00 in Paris is 16:00Z */
	assert_int_equal(parse_ok("2030-07-15 18:00", tz, 1), INT64_C(1910361600));
	/* the offset given wins over the zone */
	assert_int_equal(parse_ok("2030-01-15T17:00Z", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15 17:00z", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15 18:00+01:00", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15 18:00+0100", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15 12:30-04:30", tz, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15 19:00+02", tz, 1), T_JAN_17);
	rd_tz_free(tz);
}

static void test_utc_zone(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2030-01-15 17:00", NULL, 1), T_JAN_17);
	assert_int_equal(parse_ok("2030-01-15 17:00:00Z", NULL, 1), T_JAN_17);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2h", NULL, 1), NOW + 7200);
	assert_int_equal(parse_ok("90m", NULL, 1), NOW + 5400);
	assert_int_equal(parse_ok("3d", NULL, 1), NOW + 3 * 86400);
	assert_int_equal(parse_ok("3d", NULL, -1), NOW - 3 * 86400);
	assert_int_equal(parse_ok("45", NULL, 1), NOW + 45);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2030-13-01",
	    "2030-02-30",
	    "2030-01-15 24:00",
	    "2030-01-15 18:60",
	    "2030-01-15 18",
	    "2030-01-15 18:00 ",
	    "2030-01-15 18:00+1",
	    "2030-01-15 18:00+15:00",
	    "2030-01-15X18:00",
	    "2030-1-15",
	    "tomorrow",
	    "0s",
	    "-2h",
	    "500ms",
	    "2x",
	    "2030-01-15 18:00:00.5",
	};
	char err[256];
	int64_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (rd_ctltime_parse(bad[i], NULL, NOW, 1, &t, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(t, 42);
	assert_int_equal(rd_ctltime_parse(NULL, NULL, NOW, 1, &t, err, sizeof(err)), -1);
}

static void test_print(void **state)
{
	struct rd_tz *tz = load_paris();
	char buf[64];

	(void)state;
	rd_ctltime_utc(buf, sizeof(buf), T_JAN_17);
	assert_string_equal(buf, "2030-01-15T17:00:00Z");
	rd_ctltime_local(buf, sizeof(buf), NULL, T_JAN_17 + 5);
	assert_string_equal(buf, "2030-01-15 17:00:05+00:00");
	if (tz == NULL)
		skip();
	rd_ctltime_local(buf, sizeof(buf), tz, T_JAN_17);
	assert_string_equal(buf, "2030-01-15 18:00+01:00");
	rd_ctltime_local(buf, sizeof(buf), tz, INT64_C(1910361600));
	assert_string_equal(buf, "2030-07-15 18:00+02:00");
	rd_tz_free(tz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local),     cmocka_unit_test(test_utc_zone),
	    cmocka_unit_test(test_durations), cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
