/* Unit tests: opening hours, business time, holidays and time zones
 * (daemon/calendar.h). Instants are built with timegm() and an explicit
 * UTC offset, never with the module under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>

#include <cmocka.h>

#include "calendar.h"

#define H 3600

/* Unix time of a wall-clock time at UTC offset off_h hours. */
static int64_t at(int y, int mo, int d, int h, int mi, int off_h)
{
	struct tm tm = {
	    .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};

	return (int64_t)timegm(&tm) - (int64_t)off_h * H;
}

/* Paris in winter (CET, UTC+1) and in summer (CEST, UTC+2). */
static int64_t cet(int y, int mo, int d, int h, int mi)
{
	return at(y, mo, d, h, mi, 1);
}

static int64_t cest(int y, int mo, int d, int h, int mi)
{
	return at(y, mo, d, h, mi, 2);
}

/* The end of cal_with()'s list, typed: a bare NULL may be an int. */
#define END ((const char *)NULL)

/* A calendar with key/value pairs applied, END-terminated. */
static struct rd_calendar *cal_with(const char *key, ...)
{
	struct rd_calendar *cal = rd_calendar_new();
	char err[256];
	va_list ap;

	assert_non_null(cal);
	va_start(ap, key);
	for (; key; key = va_arg(ap, const char *)) {
		const char *value = va_arg(ap, const char *);

		if (rd_calendar_set(cal, key, value, err, sizeof(err)) != 0)
			fail_msg("%s = %s: %s", key, value, err);
	}
	va_end(ap);
	return cal;
}

/* --- Easter and holidays -------------------------------------------------- */

/* Oudin's algorithm (1940), independent of the one in calendar.c. */
static void easter_oudin(int y, int *month, int *day)
{
	int g = y % 19, c = y / 100;
	int h = (c - c / 4 - (8 * c + 13) / 25 + 19 * g + 15) % 30;
	int i = h - (h / 28) * (1 - (29 / (h + 1)) * ((21 - g) / 11));
	int j = (y + y / 4 + i + 2 - c + c / 4) % 7;
	int l = i - j;

	*month = 3 + (l + 40) / 44;
	*day = l + 28 - 31 * (*month / 4);
}

static void test_easter(void **state)
{
	static const int known[][3] = {
	    {2024, 3, 31}, {2025, 4, 20}, {2026, 4, 5},  {2027, 3, 28}, {2038, 4, 25},
	    {2000, 4, 23}, {1818, 3, 22}, {2285, 3, 22}, {1943, 4, 25}, {2008, 3, 23},
	    {2011, 4, 24}, {2019, 4, 21}, {1583, 4, 10}, {2100, 3, 28}, {9999, 3, 28},
	};
	int m, d, om, od;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_int_equal(rd_easter(known[i][0], &m, &d), 0);
		assert_int_equal(m, known[i][1]);
		assert_int_equal(d, known[i][2]);
	}
	for (int y = 1583; y <= 9999; y++) {
		assert_int_equal(rd_easter(y, &m, &d), 0);
		easter_oudin(y, &om, &od);
		assert_int_equal(m * 100 + d, om * 100 + od);
	}
	assert_int_equal(rd_easter(1582, &m, &d), -1);
	assert_int_equal(rd_easter(10000, &m, &d), -1);
}

static void test_holidays_2026(void **state)
{
	static const struct {
		int m, d;
		const char *name;
	} fr[] = {
	    {1, 1, "Jour de l'an"},     {4, 6, "Lundi de Pâques"}, {5, 1, "Fête du Travail"},
	    {5, 8, "Victoire 1945"},    {5, 14, "Ascension"},      {5, 25, "Lundi de Pentecôte"},
	    {7, 14, "Fête nationale"},  {8, 15, "Assomption"},     {11, 1, "Toussaint"},
	    {11, 11, "Armistice 1918"}, {12, 25, "Noël"},
	};
	struct rd_calendar *cal = cal_with(NULL);
	const char *name;
	int n = 0;

	for (size_t i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		assert_int_equal(rd_calendar_holiday_name(cal, 2026, fr[i].m, fr[i].d, &name), 1);
		assert_string_equal(name, fr[i].name);
	}
	/* exactly these eleven days in the year */
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= 31; d++)
			n += rd_calendar_holiday_name(cal, 2026, m, d, &name) == 1;
	assert_int_equal(n, 11);
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 4, 3, &name), 0); /* Good Friday */
	assert_null(name);
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 12, 26, &name), 0);
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 2, 29, &name), -1);
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 13, 1, &name), -1);
	assert_int_equal(rd_calendar_holiday_name(cal, 1899, 1, 1, &name), -1);
	/* 2027: Easter 28 March, Ascension 6 May, Whit Monday 17 May */
	assert_int_equal(rd_calendar_holiday_name(cal, 2027, 3, 29, &name), 1);
	assert_int_equal(rd_calendar_holiday_name(cal, 2027, 5, 6, &name), 1);
	assert_string_equal(name, "Ascension");
	assert_int_equal(rd_calendar_holiday_name(cal, 2027, 5, 17, &name), 1);
	rd_calendar_free(cal);

	cal = cal_with("holidays", "fr-alsace-moselle", END);
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 4, 3, &name), 1);
	assert_string_equal(name, "Vendredi saint");
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 12, 26, &name), 1);
	assert_string_equal(name, "Saint-Étienne");
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 5, 25, &name), 1);
	n = 0;
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= 31; d++)
			n += rd_calendar_holiday_name(cal, 2026, m, d, &name) == 1;
	assert_int_equal(n, 13);
	rd_calendar_free(cal);

	cal = cal_with("holidays", "none", END);
	assert_int_equal(rd_calendar_holiday_name(cal, 2026, 1, 1, &name), 0);
	/* and New Year's Day 2026 (a Thursday) is then an ordinary day */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 1, 0, 0), cet(2026, 1, 2, 0, 0)), 8 * H);
	rd_calendar_free(cal);
}

/* --- business time -------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct rd_calendar *cal = cal_with(NULL);

	assert_string_equal(rd_calendar_timezone(cal), "Europe/Paris");
	assert_int_equal(rd_calendar_utc_offset(cal, cet(2026, 1, 12, 12, 0)), H);
	assert_int_equal(rd_calendar_utc_offset(cal, cest(2026, 7, 13, 12, 0)), 2 * H);
	/* Mon 2026-01-12, 09:00-17:00 */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 0, 0), cet(2026, 1, 13, 0, 0)),
	    8 * H);
	/* a whole year: 252 working days in 2026 */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 1, 0, 0), cet(2027, 1, 1, 0, 0)),
	    252 * 8 * H);
	/* empty and reversed intervals */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 10, 0), cet(2026, 1, 12, 10, 0)), 0);
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 11, 0), cet(2026, 1, 12, 10, 0)), 0);
	/* inside one opening range */
	assert_int_equal(rd_calendar_business_seconds(cal, cet(2026, 1, 12, 10, 0) + 17,
	                                              cet(2026, 1, 12, 10, 0) + 59),
	                 42);
	/* absurd instants are closed, not a crash */
	assert_int_equal(rd_calendar_business_seconds(cal, INT64_MIN, INT64_MIN + 1), 0);
	assert_int_equal(rd_calendar_is_open(cal, INT64_MAX), 0);
	assert_true(rd_calendar_business_seconds(cal, INT64_MIN, INT64_MAX) > 0);
	rd_calendar_free(cal);
}

static void test_weekend_and_holiday(void **state)
{
	struct rd_calendar *cal = cal_with(NULL);

	/* received Friday 16:30, answered Monday 09:30: one hour */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 3, 13, 16, 30), cet(2026, 3, 16, 9, 30)),
	    H);
	/* Fri 16:00 -> Mon 10:00 */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 9, 16, 0), cet(2026, 1, 12, 10, 0)),
	    2 * H);
	/* Thu 7 May 16:00 -> Mon 11 May 10:00: Fri 8 May is a holiday */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cest(2026, 5, 7, 16, 0), cest(2026, 5, 11, 10, 0)),
	    2 * H);
	/* Wed 13 May 16:00 -> Fri 15 May 10:00: Ascension on Thursday */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cest(2026, 5, 13, 16, 0), cest(2026, 5, 15, 10, 0)),
	    2 * H);
	/* a long span: Mon 5 Jan 2026 09:00 -> Mon 2 Mar 2026 09:00 = 40 working days */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 5, 9, 0), cet(2026, 3, 2, 9, 0)),
	    40 * 8 * H);
	/* additive: [a, c) = [a, b) + [b, c) */
	for (int64_t b = cet(2026, 4, 30, 0, 0); b < cest(2026, 5, 20, 0, 0); b += 7 * H + 13) {
		int64_t a = cet(2026, 3, 20, 15, 7), c = cest(2026, 6, 2, 11, 3);

		assert_int_equal(rd_calendar_business_seconds(cal, a, c),
		                 rd_calendar_business_seconds(cal, a, b) +
		                     rd_calendar_business_seconds(cal, b, c));
	}
	rd_calendar_free(cal);
}

static void test_dst_paris(void **state)
{
	struct rd_calendar *cal = cal_with(NULL);
	struct rd_calendar *all = cal_with("hours", "mon-sun 09:00-17:00", END);
	struct rd_calendar *sun = cal_with("hours", "sun 00:00-24:00", END);
	struct rd_calendar *night = cal_with("hours", "sun 01:00-04:00", END);

	/* clocks go forward on Sunday 29 March 2026, back on Sunday 25 October */
	assert_int_equal(rd_calendar_utc_offset(cal, at(2026, 3, 29, 0, 59, 0) + 59), H);
	assert_int_equal(rd_calendar_utc_offset(cal, at(2026, 3, 29, 1, 0, 0)), 2 * H);
	assert_int_equal(rd_calendar_utc_offset(cal, at(2026, 10, 25, 0, 59, 0) + 59), 2 * H);
	assert_int_equal(rd_calendar_utc_offset(cal, at(2026, 10, 25, 1, 0, 0)), H);
	/* Fri 27 March 09:00 CET -> Mon 30 March 17:00 CEST: two 8-hour days */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 3, 27, 9, 0), cest(2026, 3, 30, 17, 0)),
	    16 * H);
	/* Fri 23 October 09:00 CEST -> Mon 26 October 17:00 CET */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cest(2026, 10, 23, 9, 0), cet(2026, 10, 26, 17, 0)),
	    16 * H);
	/* open on the Sundays themselves: still 8 hours */
	assert_int_equal(
	    rd_calendar_business_seconds(all, cet(2026, 3, 29, 0, 0), cest(2026, 3, 30, 0, 0)),
	    8 * H);
	assert_int_equal(
	    rd_calendar_business_seconds(all, cest(2026, 10, 25, 0, 0), cet(2026, 10, 26, 0, 0)),
	    8 * H);
	assert_int_equal(rd_calendar_is_open(all, cest(2026, 3, 29, 9, 0)), 1);
	assert_int_equal(rd_calendar_is_open(all, cest(2026, 3, 29, 8, 59)), 0);
	assert_int_equal(rd_calendar_is_open(all, cet(2026, 10, 25, 16, 59)), 1);
	assert_int_equal(rd_calendar_is_open(all, cet(2026, 10, 25, 17, 0)), 0);
	/* the whole day: 23 hours in spring, 25 in autumn */
	assert_int_equal(
	    rd_calendar_business_seconds(sun, cet(2026, 3, 28, 0, 0), cest(2026, 3, 31, 0, 0)),
	    23 * H);
	assert_int_equal(
	    rd_calendar_business_seconds(sun, cest(2026, 10, 24, 0, 0), cet(2026, 10, 27, 0, 0)),
	    25 * H);
	/* 01:00-04:00: the skipped hour 02:00-03:00 is not counted, the
	 * repeated one is counted twice */
	assert_int_equal(
	    rd_calendar_business_seconds(night, cet(2026, 3, 29, 0, 0), cest(2026, 3, 30, 0, 0)),
	    2 * H);
	assert_int_equal(
	    rd_calendar_business_seconds(night, cest(2026, 10, 25, 0, 0), cet(2026, 10, 26, 0, 0)),
	    4 * H);
	assert_int_equal(rd_calendar_is_open(night, at(2026, 10, 25, 0, 30, 0)),
	                 1); /* 02:30 CEST */
	assert_int_equal(rd_calendar_is_open(night, at(2026, 10, 25, 1, 30, 0)), 1); /* 02:30 CET */
	assert_int_equal(rd_calendar_is_open(night, at(2026, 10, 25, 3, 0, 0)), 0);  /* 04:00 CET */
	/* after 2037 the zone's rule (the TZif footer) takes over: 2040 */
	assert_int_equal(
	    rd_calendar_business_seconds(sun, cet(2040, 3, 24, 0, 0), cest(2040, 3, 27, 0, 0)),
	    23 * H);
	assert_int_equal(rd_calendar_utc_offset(cal, cest(2040, 7, 1, 12, 0)), 2 * H);
	rd_calendar_free(cal);
	rd_calendar_free(all);
	rd_calendar_free(sun);
	rd_calendar_free(night);
}

static void test_lunch_break(void **state)
{
	struct rd_calendar *cal = cal_with("hours", "mon-fri 09:00-12:00 13:30-17:00", END);

	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 11, 0), cet(2026, 1, 12, 14, 0)),
	    H + H / 2);
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 0, 0), cet(2026, 1, 13, 0, 0)),
	    6 * H + H / 2);
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 12, 0), cet(2026, 1, 12, 13, 30)),
	    0);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 11, 59) + 59), 1);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 12, 0)), 0);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 13, 29) + 59), 0);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 13, 30)), 1);
	rd_calendar_free(cal);
}

static void test_closed(void **state)
{
	struct rd_calendar *cal =
	    cal_with("closed", "2026-12-24, 2026-12-31, 2027-07-12..2027-07-16", END);
	struct rd_calendar *half = cal_with("closed", "12-24 12:00-24:00, 2026-06-01 10:00-11:00",
	                                    "hours", "mon-fri 09:00-12:00 13:30-17:00", END);

	/* Wed 23 Dec 16:00 -> Mon 28 Dec 10:00: 24 closed, 25 Christmas */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 12, 23, 16, 0), cet(2026, 12, 28, 10, 0)),
	    2 * H);
	/* the whole week of 12 July 2027 is closed (14 July too) */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cest(2027, 7, 12, 0, 0), cest(2027, 7, 19, 0, 0)), 0);
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cest(2027, 7, 9, 16, 0), cest(2027, 7, 19, 10, 0)),
	    2 * H);
	assert_int_equal(rd_calendar_is_open(cal, cest(2027, 7, 16, 10, 0)), 0);
	assert_int_equal(rd_calendar_is_open(cal, cest(2027, 7, 19, 10, 0)), 1);
	/* a closed afternoon every 24 December: the morning only */
	assert_int_equal(
	    rd_calendar_business_seconds(half, cet(2026, 12, 24, 0, 0), cet(2026, 12, 25, 0, 0)),
	    3 * H);
	assert_int_equal(
	    rd_calendar_business_seconds(half, cet(2027, 12, 24, 0, 0), cet(2027, 12, 25, 0, 0)),
	    3 * H);
	/* an hour cut out of a morning */
	assert_int_equal(
	    rd_calendar_business_seconds(half, cest(2026, 6, 1, 0, 0), cest(2026, 6, 2, 0, 0)),
	    5 * H + H / 2);
	assert_int_equal(rd_calendar_is_open(half, cest(2026, 6, 1, 10, 30)), 0);
	assert_int_equal(rd_calendar_is_open(half, cest(2026, 6, 1, 11, 0)), 1);
	rd_calendar_free(cal);
	rd_calendar_free(half);
}

static void test_is_open_boundaries(void **state)
{
	struct rd_calendar *cal = cal_with(NULL);

	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 9, 0)), 1);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 9, 0) - 1), 0);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 17, 0) - 1), 1);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 12, 17, 0)), 0);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 10, 10, 0)), 0);  /* Saturday */
	assert_int_equal(rd_calendar_is_open(cal, cest(2026, 5, 1, 10, 0)), 0);  /* 1 May */
	assert_int_equal(rd_calendar_is_open(cal, cest(2026, 5, 25, 10, 0)), 0); /* Whit Monday */
	rd_calendar_free(cal);
}

/* --- business days -------------------------------------------------------- */

static void test_business_days(void **state)
{
	struct rd_calendar *cal = cal_with(NULL);

	/* Mon 10:00 + 2 = Wed 10:00 */
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 12, 10, 0), 2),
	                 cet(2026, 1, 14, 10, 0));
	/* Fri 16:30 + 1 = Mon 16:30, + 2 = Tue 16:30 */
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 9, 16, 30), 1),
	                 cet(2026, 1, 12, 16, 30));
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 9, 16, 30), 2),
	                 cet(2026, 1, 13, 16, 30));
	/* received on Saturday: counting starts Monday 09:00 */
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 10, 11, 0), 2),
	                 cet(2026, 1, 14, 9, 0));
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 10, 11, 0), 0),
	                 cet(2026, 1, 12, 9, 0));
	/* after closing: from Tuesday 09:00 */
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 12, 18, 0), 2),
	                 cet(2026, 1, 15, 9, 0));
	/* Thu 7 May 10:00 + 2: Fri 8 May is a holiday -> Tue 12 May 10:00 */
	assert_int_equal(rd_calendar_add_business_days(cal, cest(2026, 5, 7, 10, 0), 2),
	                 cest(2026, 5, 12, 10, 0));
	/* Wed 13 May 15:00 + 1: Ascension -> Fri 15 May 15:00 */
	assert_int_equal(rd_calendar_add_business_days(cal, cest(2026, 5, 13, 15, 0), 1),
	                 cest(2026, 5, 15, 15, 0));
	/* across the spring change: same wall-clock time */
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 3, 27, 10, 0), 1),
	                 cest(2026, 3, 30, 10, 0));
	/* with the same hours every day: exactly n days of 8 hours */
	for (int64_t t = cet(2026, 1, 5, 9, 0); t < cet(2026, 1, 10, 0, 0); t += 3 * H + 7)
		if (rd_calendar_is_open(cal, t))
			assert_int_equal(rd_calendar_business_seconds(
			                     cal, t, rd_calendar_add_business_days(cal, t, 2)),
			                 2 * 8 * H);
	assert_int_equal(rd_calendar_add_business_days(cal, cet(2026, 1, 12, 10, 0), -1), -1);
	rd_calendar_free(cal);
}

static void test_business_days_uneven(void **state)
{
	struct rd_calendar *lunch = cal_with("hours", "mon-fri 09:00-12:00 13:30-17:00", END);
	struct rd_calendar *sat = cal_with("hours", "mon-fri 09:00-17:00; sat 09:00-12:00", END);
	struct rd_calendar *never = cal_with("closed", "2026-01-01..2299-12-31", END);

	assert_int_equal(rd_calendar_add_business_days(lunch, cet(2026, 1, 12, 14, 0), 2),
	                 cet(2026, 1, 14, 14, 0));
	/* received at lunch time: counting starts at 13:30, and so does the deadline */
	assert_int_equal(rd_calendar_add_business_days(lunch, cet(2026, 1, 12, 12, 15), 2),
	                 cet(2026, 1, 14, 13, 30));
	/* Saturday has 3 hours: Fri 16:30 + 1 is Saturday's closing time */
	assert_int_equal(rd_calendar_add_business_days(sat, cet(2026, 1, 9, 16, 30), 1),
	                 cet(2026, 1, 10, 12, 0));
	assert_int_equal(rd_calendar_add_business_days(sat, cet(2026, 1, 10, 11, 0), 1),
	                 cet(2026, 1, 12, 11, 0));
	/* no open day left before 2300 */
	assert_int_equal(rd_calendar_add_business_days(never, cet(2026, 3, 2, 10, 0), 1), -1);
	assert_int_equal(
	    rd_calendar_business_seconds(never, cet(2026, 1, 1, 0, 0), cet(2030, 1, 1, 0, 0)), 0);
	rd_calendar_free(lunch);
	rd_calendar_free(sat);
	rd_calendar_free(never);
}

/* --- other zones ------------------------------------------------------------ */

static void test_reunion_vs_paris(void **state)
{
	struct rd_calendar *paris = cal_with(NULL);
	struct rd_calendar *reunion = cal_with("timezone", "Indian/Reunion", END);
	/* Mon 12 January 2026, 05:00 to 09:00 UTC */
	int64_t from = at(2026, 1, 12, 5, 0, 0), to = at(2026, 1, 12, 9, 0, 0);

	assert_string_equal(rd_calendar_timezone(reunion), "Indian/Reunion");
	assert_int_equal(rd_calendar_utc_offset(reunion, from), 4 * H);
	assert_int_equal(rd_calendar_utc_offset(reunion, cest(2026, 7, 1, 12, 0)), 4 * H);
	/* 09:00-13:00 in Saint-Denis, 06:00-10:00 in Paris */
	assert_int_equal(rd_calendar_business_seconds(reunion, from, to), 4 * H);
	assert_int_equal(rd_calendar_business_seconds(paris, from, to), H);
	assert_int_equal(rd_calendar_is_open(reunion, at(2026, 1, 12, 4, 59, 0)), 0);
	assert_int_equal(rd_calendar_is_open(reunion, at(2026, 1, 12, 5, 0, 0)), 1);
	assert_int_equal(rd_calendar_is_open(reunion, at(2026, 1, 12, 13, 0, 0)), 0);
	/* no clock change: 25 October is an ordinary Sunday there */
	assert_int_equal(rd_calendar_add_business_days(reunion, at(2026, 10, 23, 10, 0, 4), 1),
	                 at(2026, 10, 26, 10, 0, 4));
	rd_calendar_free(paris);
	rd_calendar_free(reunion);
}

static void test_other_zones(void **state)
{
	struct rd_calendar *ny = cal_with("timezone", "America/New_York", "holidays", "none", END);
	struct rd_calendar *nou = cal_with("timezone", "Pacific/Noumea", END);

	/* New York springs forward on Sunday 8 March 2026 */
	assert_int_equal(rd_calendar_utc_offset(ny, at(2026, 3, 6, 12, 0, 0)), -5 * H);
	assert_int_equal(rd_calendar_utc_offset(ny, at(2026, 3, 9, 12, 0, 0)), -4 * H);
	assert_int_equal(
	    rd_calendar_business_seconds(ny, at(2026, 3, 6, 9, 0, -5), at(2026, 3, 9, 17, 0, -4)),
	    16 * H);
	/* Nouméa, UTC+11: Monday 12 January opens at 22:00 UTC on Sunday */
	assert_int_equal(rd_calendar_is_open(nou, at(2026, 1, 11, 22, 0, 0)), 1);
	assert_int_equal(rd_calendar_is_open(nou, at(2026, 1, 11, 22, 0, 0) - 1), 0);
	assert_int_equal(
	    rd_calendar_business_seconds(nou, at(2026, 1, 12, 0, 0, 11), at(2026, 1, 13, 0, 0, 11)),
	    8 * H);
	assert_int_equal(
	    rd_calendar_business_seconds(nou, at(2026, 1, 11, 0, 0, 0), at(2026, 1, 13, 0, 0, 0)),
	    10 * H); /* Mon 12, then Tue 13 09:00-11:00 local */
	rd_calendar_free(ny);
	rd_calendar_free(nou);
}

/* --- configuration ------------------------------------------------------------ */

static void expect_error(const char *key, const char *value, const char *msg)
{
	struct rd_calendar *cal = cal_with(NULL);
	char err[256] = "";

	if (rd_calendar_set(cal, key, value, err, sizeof(err)) != -1)
		fail_msg("%s = %s was accepted", key, value);
	assert_string_equal(err, msg);
	/* the calendar is unchanged */
	assert_string_equal(rd_calendar_timezone(cal), "Europe/Paris");
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 5, 0, 0), cet(2026, 1, 12, 0, 0)),
	    5 * 8 * H);
	rd_calendar_free(cal);
}

static void test_parse_errors(void **state)
{
	expect_error("color", "blue",
	             "unknown calendar key 'color' (timezone, hours, closed, holidays)");
	expect_error("hours", "", "no opening hours given (e.g. mon-fri 09:00-17:00)");
	expect_error("hours", "mon-fri 9:00-25:00",
	             "'9:00-25:00' is not a time range (HH:MM-HH:MM, times from 00:00 to 24:00)");
	expect_error("hours", "mon-fri 09:00-24:30",
	             "'09:00-24:30' is not a time range (HH:MM-HH:MM, times from 00:00 to 24:00)");
	expect_error("hours", "mon-fri 09h00-17h00",
	             "'09h00-17h00' is not a time range (HH:MM-HH:MM, times from 00:00 to 24:00)");
	expect_error("hours", "mon-fri 17:00-09:00",
	             "'17:00-09:00': a range must end after it starts");
	expect_error("hours", "mon-fri 0900",
	             "'0900' is not a time range (HH:MM-HH:MM, e.g. 09:00-12:00)");
	expect_error("hours", "lun-ven 09:00-17:00",
	             "'lun-ven' is not a day or day range (mon, tue, wed, thu, fri, sat, sun; e.g. "
	             "mon-fri)");
	expect_error("hours", "fri-mon 09:00-17:00",
	             "'fri-mon': a day range runs from mon towards sun");
	expect_error("hours", "mon-fri", "no time range after the days (e.g. mon-fri 09:00-17:00)");
	expect_error("hours", "mon-fri 09:00-12:00 11:00-14:00",
	             "ranges 09:00-12:00 and 11:00-14:00 overlap");
	expect_error("hours", "mon-fri 09:00-17:00; wed 18:00-19:00", "wed is given in two groups");
	expect_error("hours", "mon,tue,mon 09:00-17:00", "'mon': mon is given twice");
	expect_error("hours", "mon-fri 09:00-17:00 sat 09:00-12:00",
	             "unexpected 'sat' (a time range, or ';' before the next days, is expected)");
	expect_error("hours", "mon-fri 09:00-12:00, 13:30-17:00",
	             "'13:30-17:00': days come first (e.g. mon-fri 09:00-17:00), and the ranges "
	             "of one day are separated by blanks");
	expect_error("hours", "mon-fri 09:00-17:00;", "a day is missing at the end");
	expect_error("hours",
	             "mon-fri 1:00-2:00 3:00-4:00 5:00-6:00 7:00-8:00 9:00-10:00 "
	             "11:00-12:00 13:00-14:00 15:00-16:00 17:00-18:00",
	             "more than 8 ranges for one day");
	expect_error("closed", "2026-02-30",
	             "'2026-02-30' is not a date (YYYY-MM-DD, years 1900 to 2299), a date range "
	             "(YYYY-MM-DD..YYYY-MM-DD) or a yearly date (MM-DD)");
	expect_error("closed", "24/12/2026",
	             "'24/12/2026' is not a date (YYYY-MM-DD, years 1900 to 2299), a date range "
	             "(YYYY-MM-DD..YYYY-MM-DD) or a yearly date (MM-DD)");
	expect_error("closed", "2027-07-16..2027-07-12",
	             "'2027-07-16..2027-07-12': the range ends before it starts");
	expect_error("closed", "2026-12-24; 2026-12-31",
	             "unexpected ';' (entries are separated by ',')");
	expect_error("closed", "2026-12-24,,2026-12-31",
	             "an entry is empty (entries are separated by ',')");
	expect_error("closed", "2026-12-24 afternoon",
	             "unexpected 'afternoon' (entries are separated by ',')");
	expect_error("closed", "", "no date given (use 'none' for no closures)");
	expect_error("holidays", "fr-alsace",
	             "'fr-alsace' is not a holiday set (fr, fr-alsace-moselle, none)");
	expect_error("timezone", "../../etc/passwd",
	             "'../../etc/passwd' is not a time zone name (e.g. Europe/Paris)");
	expect_error(
	    "timezone", "Mars/Olympus_Mons",
	    "unknown time zone 'Mars/Olympus_Mons' (/usr/share/zoneinfo/Mars/Olympus_Mons: "
	    "No such file or directory)");
	expect_error("timezone", "Europe",
	             "unknown time zone 'Europe' (/usr/share/zoneinfo/Europe: Is a directory)");
}

static void test_parse_accepts(void **state)
{
	struct rd_calendar *cal = cal_with(NULL);
	char err[256];

	/* blanks, upper case, lists, ',' between groups, touching ranges */
	assert_int_equal(rd_calendar_set(cal, "hours",
	                                 "  Mon,Wed-Thu 13:30-17:00 9:00-12:00 , fri 08:00-10:00 "
	                                 "10:00-12:00;sat-sun 10:00-11:00 ",
	                                 err, sizeof(err)),
	                 0);
	/* Mon 12 .. Mon 19 Jan 2026: 3 x 6.5 h + 4 h + 2 x 1 h */
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 12, 0, 0), cet(2026, 1, 19, 0, 0)),
	    3 * (6 * H + H / 2) + 4 * H + 2 * H);
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 13, 10, 0)), 0); /* Tuesday */
	assert_int_equal(rd_calendar_is_open(cal, cet(2026, 1, 16, 10, 0)), 1);
	assert_int_equal(rd_calendar_set(cal, "closed", "none", err, sizeof(err)), 0);
	assert_int_equal(rd_calendar_set(cal, "closed", "02-29, 2026-01-01..2026-01-01 09:00-24:00",
	                                 err, sizeof(err)),
	                 0);
	assert_int_equal(rd_calendar_set(cal, "timezone", "UTC", err, sizeof(err)), 0);
	assert_int_equal(rd_calendar_utc_offset(cal, 0), 0);
	assert_int_equal(rd_calendar_set(cal, "timezone", "Europe/Paris", err, sizeof(err)), 0);
	assert_int_equal(rd_calendar_set(cal, "holidays", "none", err, sizeof(err)), 0);
	/* 24/7 */
	assert_int_equal(rd_calendar_set(cal, "hours", "mon-sun 00:00-24:00", err, sizeof(err)), 0);
	assert_int_equal(rd_calendar_set(cal, "closed", "none", err, sizeof(err)), 0);
	assert_int_equal(
	    rd_calendar_business_seconds(cal, cet(2026, 1, 1, 0, 0), cet(2027, 1, 1, 0, 0)),
	    365 * 24 * H);
	rd_calendar_free(cal);
}

static void test_leap_second_zone(void **state)
{
	struct stat st;

	if (stat("/usr/share/zoneinfo/right/Europe/Paris", &st) != 0)
		skip();
	expect_error("timezone", "right/Europe/Paris",
	             "time zone 'right/Europe/Paris' cannot be used: it counts leap seconds (a "
	             "right/ zone); use the zone without right/");
}

/* --- threads ------------------------------------------------------------------ */

struct job {
	const struct rd_calendar *cal;
	int64_t sum;
};

static void *worker(void *arg)
{
	struct job *j = arg;

	for (int y = 2000; y < 2060; y++)
		j->sum += rd_calendar_business_seconds(j->cal, at(y, 1, 1, 0, 0, 0),
		                                       at(y + 1, 1, 1, 0, 0, 0));
	return NULL;
}

/* Queries on a shared calendar fill its cache from several threads at once. */
static void test_threads(void **state)
{
	struct rd_calendar *cal = cal_with("hours", "mon-fri 09:00-12:00 13:30-17:00", END);
	struct rd_calendar *ref = cal_with("hours", "mon-fri 09:00-12:00 13:30-17:00", END);
	struct job jobs[4], one = {ref, 0};
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){cal, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
	}
	worker(&one);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].sum, one.sum);
	}
	rd_calendar_free(cal);
	rd_calendar_free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_easter),           cmocka_unit_test(test_holidays_2026),
	    cmocka_unit_test(test_defaults),         cmocka_unit_test(test_weekend_and_holiday),
	    cmocka_unit_test(test_dst_paris),        cmocka_unit_test(test_lunch_break),
	    cmocka_unit_test(test_closed),           cmocka_unit_test(test_is_open_boundaries),
	    cmocka_unit_test(test_business_days),    cmocka_unit_test(test_business_days_uneven),
	    cmocka_unit_test(test_reunion_vs_paris), cmocka_unit_test(test_other_zones),
	    cmocka_unit_test(test_parse_errors),     cmocka_unit_test(test_parse_accepts),
	    cmocka_unit_test(test_leap_second_zone), cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
