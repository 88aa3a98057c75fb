/* alert_format.c - see alert_format.h. */
#include "alert_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calendar.h"

static int is_fr(const char *lang)
{
	return !lang || strcmp(lang, "en") != 0;
}

/* "1 h 05 min", "4 min 10 s", "3 j 4 h" (fr) / "3 d 4 h" (en). */
static void format_duration(char *buf, size_t len, double v, const char *lang)
{
	long long s = llround(v < 0 ? 0 : v);
	long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;

	if (d)
		snprintf(buf, len, "%lld %s %lld h", d, is_fr(lang) ? "j" : "d", h);
	else if (h)
		snprintf(buf, len, "%lld h %02lld min", h, m);
	else if (m)
		snprintf(buf, len, "%lld min %02lld s", m, sec);
	else
		snprintf(buf, len, "%lld s", sec);
}

/* French writes a decimal comma. */
static void decimal_comma(char *buf, const char *lang)
{
	char *dot = strchr(buf, '.');

	if (dot && is_fr(lang))
		*dot = ',';
}

void rd_alert_format_value(char *buf, size_t len, enum rd_unit u, double v, const char *lang)
{
	switch (u) {
	case RD_UNIT_RATIO:
		snprintf(buf, len, "%.1f %%", v * 100.0);
		decimal_comma(buf, lang);
		break;
	case RD_UNIT_SECONDS: format_duration(buf, len, v, lang); break;
	default: snprintf(buf, len, "%.0f", v); break;
	}
}

static const char *cmp_text(enum rd_cmp c)
{
	static const char *names[] = {"<", "<=", ">", ">="};

	return (unsigned)c < 4 ? names[c] : "?";
}

/* The configuration's way: "< 85%", "> 600s", ">= 30". */
static void format_raw(char *buf, size_t len, enum rd_unit u, const struct rd_threshold *th)
{
	if (!th || !th->set)
		snprintf(buf, len, "-");
	else if (u == RD_UNIT_RATIO)
		snprintf(buf, len, "%s %g%%", cmp_text(th->cmp), th->value * 100.0);
	else if (u == RD_UNIT_SECONDS)
		snprintf(buf, len, "%s %gs", cmp_text(th->cmp), th->value);
	else
		snprintf(buf, len, "%s %g", cmp_text(th->cmp), th->value);
}

static void format_since(char *buf, size_t len, int64_t t, const struct rd_calendar *cal,
                         const char *lang)
{
	static const char *const fr_days[] = {"dim.", "lun.", "mar.", "mer.",
	                                      "jeu.", "ven.", "sam."};
	static const char *const en_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	int32_t off = cal ? rd_calendar_utc_offset(cal, t) : 0;
	time_t local = (time_t)(t + off);
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&local, &tm);
	if (is_fr(lang))
		snprintf(buf, len, "%s %02d/%02d/%04d %02d:%02d (UTC%+03d:%02d)",
		         fr_days[tm.tm_wday], tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
		         tm.tm_hour, tm.tm_min, off / 3600, (off < 0 ? -off : off) % 3600 / 60);
	else
		snprintf(buf, len, "%s %04d-%02d-%02d %02d:%02d (UTC%+03d:%02d)",
		         en_days[tm.tm_wday], tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		         tm.tm_hour, tm.tm_min, off / 3600, (off < 0 ? -off : off) % 3600 / 60);
}

void rd_alert_text_fill(struct rd_alert_text *t, const char *lang, const struct rd_rule *r,
                        const struct rd_alert_state *st, const struct rd_alert_decision *d,
                        const struct rd_threshold *th, const struct rd_calendar *tzcal)
{
	enum rd_unit u = r->figure->unit;
	char v[40];

	memset(t, 0, sizeof(*t));
	if (st->has_value)
		rd_alert_format_value(t->value, sizeof(t->value), u, st->last_value, lang);
	else
		snprintf(t->value, sizeof(t->value), "-");
	format_raw(t->threshold_raw, sizeof(t->threshold_raw), u, th);
	if (th && th->set) {
		rd_alert_format_value(v, sizeof(v), u, th->value, lang);
		snprintf(t->threshold, sizeof(t->threshold), "%s %s", cmp_text(th->cmp), v);
	} else {
		snprintf(t->threshold, sizeof(t->threshold), "-");
	}
	format_since(t->since, sizeof(t->since), st->since, tzcal, lang);
	switch (d->action) {
	case RD_ACT_RESOLVE: t->state = "resolved"; break;
	case RD_ACT_FLAPPING_START: t->state = "flapping"; break;
	case RD_ACT_FLAPPING_STOP:
		t->state =
		    d->then == RD_ACT_RESOLVE || d->then == RD_ACT_NONE ? "resolved" : "firing";
		break;
	default: t->state = "firing"; break;
	}
}
