/* test_report_fmt.c - the report's figures for people: French and English
 * numbers, rates, durations (calendar and opening time), progressions in
 * points, percent and time, the en dash for missing data, rounding that
 * never prints "-0", labels and period names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "report_fmt.h"

#define FR RD_REPORT_FR
#define EN RD_REPORT_EN

static char buf[128];

static const char *count(double v, enum rd_report_lang l)
{
	rd_report_count(buf, sizeof(buf), v, l);
	return buf;
}

static const char *rate(double v, enum rd_report_lang l)
{
	rd_report_rate(buf, sizeof(buf), v, l);
	return buf;
}

static const char *dur(double s, int business, enum rd_report_lang l)
{
	rd_report_duration(buf, sizeof(buf), s, business, l);
	return buf;
}

static const char *change(enum rd_report_kind k, double v, enum rd_report_lang l)
{
	rd_report_change(buf, sizeof(buf), k, &v, l);
	return buf;
}

static void test_counts(void **state)
{
	(void)state;
	assert_string_equal(count(0, FR), "0");
	assert_string_equal(count(999, FR), "999");
	assert_string_equal(count(24672, FR), "24 672");
	assert_string_equal(count(24672, EN), "24,672");
	assert_string_equal(count(1234567, FR), "1 234 567");
	assert_string_equal(count(1000, EN), "1,000");
	assert_string_equal(count(-1500, FR), "-1 500");
}

static void test_rates(void **state)
{
	(void)state;
	assert_string_equal(rate(0.89, FR), "89,0 %");
	assert_string_equal(rate(0.89, EN), "89.0%");
	assert_string_equal(rate(1.0, FR), "100,0 %");
	assert_string_equal(rate(0.0, FR), "0,0 %");
	assert_string_equal(rate(0.66666, FR), "66,7 %");
	assert_string_equal(rate(0.00049, EN), "0.0%");
}

static void test_durations(void **state)
{
	(void)state;
	assert_string_equal(dur(0, 0, FR), "0 s");
	assert_string_equal(dur(35.4, 0, FR), "35 s");
	assert_string_equal(dur(59.6, 0, FR), "1 min");
	assert_string_equal(dur(65, 0, FR), "1 min 5 s");
	assert_string_equal(dur(3132, 0, FR), "52 min");
	assert_string_equal(dur(3599.7, 0, FR), "1 h");
	assert_string_equal(dur(3 * 3600 + 25 * 60, 0, FR), "3 h 25 min");
	assert_string_equal(dur(2 * 86400 + 3 * 3600 + 10, 0, FR), "2 j 3 h");
	assert_string_equal(dur(2 * 86400 + 3 * 3600 + 10, 0, EN), "2 d 3 h");
	assert_string_equal(dur(172800, 0, FR), "2 j");
	assert_string_equal(dur(86370, 0, FR), "1 j");
	/* opening time never shows days */
	assert_string_equal(dur(2 * 86400 + 3 * 3600, 1, FR), "51 h");
	assert_string_equal(dur(37015, 1, FR), "10 h 17 min");
	assert_string_equal(dur(-7200, 0, FR), "-2 h");
	assert_string_equal(dur(-0.4, 0, FR), "0 s");
}

static void test_values(void **state)
{
	double v = 0.75;

	(void)state;
	rd_report_value(buf, sizeof(buf), RD_REPORT_RATE, &v, FR);
	assert_string_equal(buf, "75,0 %");
	rd_report_value(buf, sizeof(buf), RD_REPORT_RATE, NULL, FR);
	assert_string_equal(buf, "\xe2\x80\x93");
	v = 4;
	rd_report_value(buf, sizeof(buf), RD_REPORT_COUNT, &v, EN);
	assert_string_equal(buf, "4");
	v = 90000;
	rd_report_value(buf, sizeof(buf), RD_REPORT_SECONDS, &v, FR);
	assert_string_equal(buf, "1 j 1 h");
	rd_report_value(buf, sizeof(buf), RD_REPORT_BSECONDS, &v, FR);
	assert_string_equal(buf, "25 h");
	rd_report_value(buf, sizeof(buf), RD_REPORT_UNKNOWN, &v, FR);
	assert_string_equal(buf, RD_REPORT_NONE);
}

static void test_changes(void **state)
{
	(void)state;
	/* points: a difference of fractions */
	assert_string_equal(change(RD_REPORT_RATE, 0.024, FR), "+2,4 pts");
	assert_string_equal(change(RD_REPORT_RATE, 0.024, EN), "+2.4 pts");
	assert_string_equal(change(RD_REPORT_RATE, -0.015, FR), "-1,5 pt");
	assert_string_equal(change(RD_REPORT_RATE, 0.01, EN), "+1.0 pt");
	assert_string_equal(change(RD_REPORT_RATE, -0.0004, FR), "0,0 pt");
	assert_string_equal(change(RD_REPORT_RATE, 0.0004, FR), "0,0 pt");
	/* counts: relative */
	assert_string_equal(change(RD_REPORT_COUNT, 0.122, FR), "+12,2 %");
	assert_string_equal(change(RD_REPORT_COUNT, -0.018, EN), "-1.8%");
	assert_string_equal(change(RD_REPORT_COUNT, 0, FR), "0,0 %");
	/* delays: a difference of times */
	assert_string_equal(change(RD_REPORT_SECONDS, -11400, FR), "-3 h 10 min");
	assert_string_equal(change(RD_REPORT_SECONDS, 4, FR), "+4 s");
	assert_string_equal(change(RD_REPORT_SECONDS, 0.3, FR), "0 s");
	assert_string_equal(change(RD_REPORT_SECONDS, 90000, EN), "+1 d 1 h");
	assert_string_equal(change(RD_REPORT_BSECONDS, 90000, FR), "+25 h");
	rd_report_change(buf, sizeof(buf), RD_REPORT_RATE, NULL, FR);
	assert_string_equal(buf, RD_REPORT_NONE);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rd_report_label("answered_rate", FR), "Taux d'appels aboutis");
	assert_string_equal(rd_report_label("ivr_handled", FR), "Appels gérés par le SVI");
	assert_string_equal(rd_report_label("answered_rate", EN), "Answered-call rate");
	assert_null(rd_report_label("nope", FR));
	assert_int_equal(rd_report_lang_parse("fr"), FR);
	assert_int_equal(rd_report_lang_parse("en"), EN);
	assert_int_equal(rd_report_lang_parse("de"), -1);
	assert_int_equal(rd_report_kind_parse("business_seconds"), RD_REPORT_BSECONDS);
	assert_int_equal(rd_report_kind_parse("x"), RD_REPORT_UNKNOWN);
	assert_int_equal(rd_report_width("Évolution"), 9);
	rd_report_period_name(buf, sizeof(buf), 2025, 0, FR);
	assert_string_equal(buf, "année 2025");
	rd_report_period_name(buf, sizeof(buf), 2025, 3, EN);
	assert_string_equal(buf, "March 2025");
	rd_report_period_short(buf, sizeof(buf), 2024, 8, FR);
	assert_string_equal(buf, "août 2024");
	rd_report_period_days(buf, sizeof(buf), 2024, 2, FR);
	assert_string_equal(buf, "du 01/02/2024 au 29/02/2024");
	rd_report_period_days(buf, sizeof(buf), 2025, 0, EN);
	assert_string_equal(buf, "2025-01-01 to 2025-12-31");
}

static void test_truncation(void **state)
{
	char small[6];

	(void)state;
	rd_report_count(small, sizeof(small), 1234567, FR);
	assert_string_equal(small, "1 234");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),     cmocka_unit_test(test_rates),
	    cmocka_unit_test(test_durations),  cmocka_unit_test(test_values),
	    cmocka_unit_test(test_changes),    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
