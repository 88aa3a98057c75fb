/* report_fmt.c - see report_fmt.h. */
#include "report_fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct label {
	const char *figure, *fr, *en;
};

/* The label's French names are those of the quality-label guides. */
static const struct label labels[] = {
    {"offered", "Appels présentés", "Calls offered"},
    {"answered", "Appels aboutis", "Calls answered"},
    {"answered_rate", "Taux d'appels aboutis", "Answered-call rate"},
    {"ivr_handled", "Appels gérés par le SVI", "Calls handled by the IVR"},
    {"global_rate", "Taux global (avec le SVI)", "Global rate (with the IVR)"},
    {"service_level", "Niveau de service", "Service level"},
    {"asa_s", "Temps moyen d'attente", "Average speed of answer"},
    {"received", "Courriels reçus", "E-mails received"},
    {"ack_rate", "Taux d'accusés de réception", "Acknowledgement rate"},
    {"replied", "Courriels répondus", "E-mails replied"},
    {"reply_delay_avg_s", "Délai moyen de réponse", "Average reply delay"},
    {"reply_delay_business_avg_s", "Délai moyen de réponse (heures ouvrées)",
     "Average reply delay (business hours)"},
    {"replied_within_target", "Réponses dans le délai cible", "Replied within target"},
};

static const char *const months_fr[] = {"janvier",   "février", "mars",     "avril",
                                        "mai",       "juin",    "juillet",  "août",
                                        "septembre", "octobre", "novembre", "décembre"};
static const char *const months_en[] = {"January",   "February", "March",    "April",
                                        "May",       "June",     "July",     "August",
                                        "September", "October",  "November", "December"};

int rd_report_lang_parse(const char *s)
{
	if (strcmp(s, "fr") == 0)
		return RD_REPORT_FR;
	if (strcmp(s, "en") == 0)
		return RD_REPORT_EN;
	return -1;
}

enum rd_report_kind rd_report_kind_parse(const char *s)
{
	static const char *const names[] = {"rate", "count", "seconds", "business_seconds"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum rd_report_kind)i;
	return RD_REPORT_UNKNOWN;
}

const char *rd_report_label(const char *figure, enum rd_report_lang lang)
{
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(figure, labels[i].figure) == 0)
			return lang == RD_REPORT_FR ? labels[i].fr : labels[i].en;
	return NULL;
}

/* A whole number with a separator every three digits. */
static void group_digits(char *buf, size_t len, unsigned long long n, enum rd_report_lang lang)
{
	char digits[32], out[48];
	size_t nd = (size_t)snprintf(digits, sizeof(digits), "%llu", n), o = 0;

	for (size_t i = 0; i < nd; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			out[o++] = lang == RD_REPORT_FR ? ' ' : ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
}

/* x rounded to one decimal, "-" when negative (and not -0.0), in the
 * language's decimal separator: "2,4" / "2.4". */
static void one_decimal(char *buf, size_t len, double x, enum rd_report_lang lang)
{
	double r = round(x * 10.0) / 10.0;
	char *dot;

	if (r == 0.0)
		r = 0.0; /* -0.0 prints "-0.0" */
	snprintf(buf, len, "%.1f", r);
	dot = strchr(buf, '.');
	if (dot && lang == RD_REPORT_FR)
		*dot = ',';
}

void rd_report_count(char *buf, size_t len, double v, enum rd_report_lang lang)
{
	double r = round(v);
	char digits[48];

	group_digits(digits, sizeof(digits), (unsigned long long)fabs(r), lang);
	snprintf(buf, len, "%s%s", r < 0 ? "-" : "", digits);
}

void rd_report_rate(char *buf, size_t len, double v, enum rd_report_lang lang)
{
	char num[32];

	one_decimal(num, sizeof(num), v * 100.0, lang);
	snprintf(buf, len, lang == RD_REPORT_FR ? "%s %%" : "%s%%", num);
}

/* s >= 0, rounded here to the unit shown. */
static void duration_abs(char *buf, size_t len, double s, int business, enum rd_report_lang lang)
{
	long long sec = llround(s), min, hour;

	if (sec < 60) {
		snprintf(buf, len, "%lld s", sec);
		return;
	}
	if (sec < 600) {
		if (sec % 60)
			snprintf(buf, len, "%lld min %lld s", sec / 60, sec % 60);
		else
			snprintf(buf, len, "%lld min", sec / 60);
		return;
	}
	min = llround(s / 60.0);
	if (min < 60) {
		snprintf(buf, len, "%lld min", min);
		return;
	}
	if (business || min < 24 * 60) {
		if (min % 60)
			snprintf(buf, len, "%lld h %lld min", min / 60, min % 60);
		else
			snprintf(buf, len, "%lld h", min / 60);
		return;
	}
	hour = llround(s / 3600.0);
	if (hour % 24)
		snprintf(buf, len, "%lld %s %lld h", hour / 24, lang == RD_REPORT_FR ? "j" : "d",
		         hour % 24);
	else
		snprintf(buf, len, "%lld %s", hour / 24, lang == RD_REPORT_FR ? "j" : "d");
}

void rd_report_duration(char *buf, size_t len, double s, int business, enum rd_report_lang lang)
{
	char abs_text[64];

	duration_abs(abs_text, sizeof(abs_text), fabs(s), business, lang);
	/* "-0 s" would say a change where the rounding left none */
	snprintf(buf, len, "%s%s", s < 0 && strcmp(abs_text, "0 s") != 0 ? "-" : "", abs_text);
}

void rd_report_value(char *buf, size_t len, enum rd_report_kind kind, const double *v,
                     enum rd_report_lang lang)
{
	if (!v || kind == RD_REPORT_UNKNOWN) {
		snprintf(buf, len, "%s", RD_REPORT_NONE);
		return;
	}
	switch (kind) {
	case RD_REPORT_RATE: rd_report_rate(buf, len, *v, lang); break;
	case RD_REPORT_COUNT: rd_report_count(buf, len, *v, lang); break;
	case RD_REPORT_SECONDS: rd_report_duration(buf, len, *v, 0, lang); break;
	default: rd_report_duration(buf, len, *v, 1, lang); break;
	}
}

/* "+2,4" / "-2,4" / "0,0": a signed number with one decimal; what rounds
 * to zero has no sign. */
static void signed_decimal(char *buf, size_t len, double x, enum rd_report_lang lang)
{
	char num[32];

	one_decimal(num, sizeof(num), x, lang);
	snprintf(buf, len, "%s%s", round(x * 10.0) > 0 ? "+" : "", num);
}

/* French writes "pt" below two ("+1,5 pt"), English below or at one. */
static const char *points_unit(double pts, enum rd_report_lang lang)
{
	double a = fabs(round(pts * 10.0) / 10.0);

	if (lang == RD_REPORT_FR)
		return a < 2.0 ? "pt" : "pts";
	return a == 1.0 ? "pt" : "pts";
}

void rd_report_change(char *buf, size_t len, enum rd_report_kind kind, const double *change,
                      enum rd_report_lang lang)
{
	char num[64];

	if (!change || kind == RD_REPORT_UNKNOWN) {
		snprintf(buf, len, "%s", RD_REPORT_NONE);
		return;
	}
	switch (kind) {
	case RD_REPORT_RATE:
		signed_decimal(num, sizeof(num), *change * 100.0, lang);
		snprintf(buf, len, "%s %s", num, points_unit(*change * 100.0, lang));
		break;
	case RD_REPORT_COUNT:
		signed_decimal(num, sizeof(num), *change * 100.0, lang);
		snprintf(buf, len, lang == RD_REPORT_FR ? "%s %%" : "%s%%", num);
		break;
	default:
		rd_report_duration(num, sizeof(num), *change, kind == RD_REPORT_BSECONDS, lang);
		snprintf(buf, len, "%s%s", *change > 0 && strcmp(num, "0 s") != 0 ? "+" : "", num);
		break;
	}
}

size_t rd_report_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static const char *month_name(int month, enum rd_report_lang lang)
{
	if (month < 1 || month > 12)
		return "?";
	return lang == RD_REPORT_FR ? months_fr[month - 1] : months_en[month - 1];
}

void rd_report_period_name(char *buf, size_t len, int year, int month, enum rd_report_lang lang)
{
	if (month == 0)
		snprintf(buf, len, "%s %d", lang == RD_REPORT_FR ? "année" : "year", year);
	else
		snprintf(buf, len, "%s %d", month_name(month, lang), year);
}

void rd_report_period_short(char *buf, size_t len, int year, int month, enum rd_report_lang lang)
{
	if (month == 0)
		snprintf(buf, len, "%d", year);
	else
		snprintf(buf, len, "%s %d", month_name(month, lang), year);
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return month == 2 && leap(year) ? 29 : days[month - 1];
}

void rd_report_period_days(char *buf, size_t len, int year, int month, enum rd_report_lang lang)
{
	int m0 = month ? month : 1, m1 = month ? month : 12, d1;

	if (m0 < 1 || m0 > 12) {
		snprintf(buf, len, "?");
		return;
	}
	d1 = month_days(year, m1);
	if (lang == RD_REPORT_FR)
		snprintf(buf, len, "du 01/%02d/%d au %02d/%02d/%d", m0, year, d1, m1, year);
	else
		snprintf(buf, len, "%d-%02d-01 to %d-%02d-%02d", year, m0, year, m1, d1);
}
