/* report_fmt.h - how `reachctl report` writes its figures for people, in
 * French (the default: 89,0 %, 12 345, 2 j 3 h, +2,4 pts) or English (89.0%,
 * 12,345, 2 d 3 h, +2.4 pts): the labels of the quality-label figures, the
 * values by kind, and the progression from the previous period (points for
 * rates, percent for counts, an absolute difference for delays).
 *
 * Pure: no I/O, no locale (the C locale's "%.1f", then our own separators),
 * so the output is the same on every server. Every function writes a
 * NUL-terminated string, cut to len if it does not fit. */
#ifndef RD_REPORT_FMT_H
#define RD_REPORT_FMT_H

#include <stddef.h>

enum rd_report_lang { RD_REPORT_FR, RD_REPORT_EN };

/* What a figure's value is (reach.indicator_report's kind column). */
enum rd_report_kind {
	RD_REPORT_RATE,     /* a fraction, 0..1 */
	RD_REPORT_COUNT,    /* a whole number */
	RD_REPORT_SECONDS,  /* calendar seconds */
	RD_REPORT_BSECONDS, /* seconds of opening time */
	RD_REPORT_UNKNOWN
};

/* The text shown for a missing value: an en dash, never 0. */
#define RD_REPORT_NONE "\xe2\x80\x93"

/* "fr" or "en"; -1 for anything else. */
int rd_report_lang_parse(const char *s);
enum rd_report_kind rd_report_kind_parse(const char *s);

/* The figure's label ("Taux d'appels aboutis"), or NULL for an unknown one. */
const char *rd_report_label(const char *figure, enum rd_report_lang lang);

/* 12 345 / 12,345 (rounded to a whole number). */
void rd_report_count(char *buf, size_t len, double v, enum rd_report_lang lang);

/* 89,0 % / 89.0% from the fraction 0.89. */
void rd_report_rate(char *buf, size_t len, double v, enum rd_report_lang lang);

/* 35 s, 1 min 5 s, 52 min, 3 h 25 min, 2 j 3 h (English: 2 d 3 h): seconds
 * below 10 min, minutes below a day, hours above. Opening time
 * (business) never shows days: a day of opening time is not 24 h, so
 * 16 h of it reads "16 h", not "0 j 16 h". */
void rd_report_duration(char *buf, size_t len, double s, int business, enum rd_report_lang lang);

/* A value of that kind; v NULL prints RD_REPORT_NONE. */
void rd_report_value(char *buf, size_t len, enum rd_report_kind kind, const double *v,
                     enum rd_report_lang lang);

/* The progression, from reach.indicator_report's change column: "+2,4 pts"
 * for a rate (change in fraction), "+12,2 %" for a count (change/previous),
 * "-3 h" for a delay (seconds). Zero after rounding has no sign. change NULL
 * prints RD_REPORT_NONE. */
void rd_report_change(char *buf, size_t len, enum rd_report_kind kind, const double *change,
                      enum rd_report_lang lang);

/* Characters (not bytes) of a UTF-8 string: for aligning columns of
 * French labels. */
size_t rd_report_width(const char *s);

/* "année 2025" / "mars 2025" / "year 2025" / "March 2025" (month 0: the
 * year). */
void rd_report_period_name(char *buf, size_t len, int year, int month, enum rd_report_lang lang);

/* The column heading: "2025" or "mars 2025" / "March 2025". */
void rd_report_period_short(char *buf, size_t len, int year, int month, enum rd_report_lang lang);

/* "du 01/03/2025 au 31/03/2025" / "2025-03-01 to 2025-03-31": the
 * period's first and last day. */
void rd_report_period_days(char *buf, size_t len, int year, int month, enum rd_report_lang lang);

#endif
