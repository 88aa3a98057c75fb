/* ctltime.c - see ctltime.h. The ISO 8601 subset is parsed by hand, field
 * by field, because strptime() knows neither offsets with a colon nor a
 * zone other than the process's, and PostgreSQL's parser accepts words
 * ("tomorrow", "epoch") that have no place in a silence. */
#include "ctltime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tz.h"

/* Exactly n digits at *p; advances *p. */
static int take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* c at *p; advances *p. */
static int take_char(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

/* "YYYY-MM-DD": the day number. */
static int parse_date(const char **p, int64_t *day)
{
	int y, m, d;

	if (take_digits(p, 4, &y) || take_char(p, '-') || take_digits(p, 2, &m) ||
	    take_char(p, '-') || take_digits(p, 2, &d))
		return -1;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > rd_tz_month_days(y, m))
		return -1;
	*day = rd_tz_days_from_civil(y, m, d);
	return 0;
}

/* "HH:MM" or "HH:MM:SS": seconds into the day. */
static int parse_clock(const char **p, int64_t *secs)
{
	int h, m, s = 0;

	if (take_digits(p, 2, &h) || take_char(p, ':') || take_digits(p, 2, &m))
		return -1;
	if (**p == ':' && (take_char(p, ':') || take_digits(p, 2, &s)))
		return -1;
	if (h > 23 || m > 59 || s > 59)
		return -1;
	*secs = h * 3600 + m * 60 + s;
	return 0;
}

/* "Z", "+01", "+0100", "+01:00" (or '-'): seconds east of UTC. */
static int parse_offset(const char **p, int32_t *off)
{
	int sign, h, m = 0;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*off = 0;
		return 0;
	}
	sign = **p == '+' ? 1 : **p == '-' ? -1 : 0;
	if (!sign)
		return -1;
	(*p)++;
	if (take_digits(p, 2, &h))
		return -1;
	if (**p == ':')
		(*p)++;
	if (**p && take_digits(p, 2, &m))
		return -1;
	if (h > 14 || m > 59)
		return -1;
	*off = sign * (h * 3600 + m * 60);
	return 0;
}

static int parse_iso(const char *s, const struct rd_tz *tz, int64_t *out)
{
	const char *p = s;
	int64_t day, secs = 0;
	int32_t off;

	if (parse_date(&p, &day) != 0)
		return -1;
	if (*p == '\0') {
		*out = rd_tz_to_utc(tz, day * 86400, 0);
		return 0;
	}
	if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, parse_clock(&p, &secs) != 0))
		return -1;
	if (*p == '\0') {
		*out = rd_tz_to_utc(tz, day * 86400 + secs, 0);
		return 0;
	}
	if (parse_offset(&p, &off) != 0 || *p != '\0')
		return -1;
	*out = day * 86400 + secs - off;
	return 0;
}

/* Four digits and a '-': a date, whatever follows; anything else is read
 * as a duration, so that a mistyped date is reported as a date. */
static int looks_like_date(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return s[4] == '-';
}

int rd_ctltime_parse(const char *s, const struct rd_tz *tz, int64_t now, int dir, int64_t *out,
                     char *err, size_t errlen)
{
	char derr[128];
	int64_t ms;

	if (!s || !*s) {
		snprintf(err, errlen, "empty time");
		return -1;
	}
	if (looks_like_date(s)) {
		if (parse_iso(s, tz, out) == 0)
			return 0;
		snprintf(err, errlen,
		         "'%s' is not a time (2026-12-01T18:00, 2026-12-01 18:00+01:00, "
		         "2026-12-01T17:00Z, 2026-12-01)",
		         s);
		return -1;
	}
	if (rd_parse_duration_ms(s, &ms, derr, sizeof(derr)) != 0) {
		snprintf(err, errlen,
		         "%s; a time is ISO 8601 (2026-12-01 18:00) or a duration (2h)", derr);
		return -1;
	}
	if (ms <= 0 || ms % 1000 != 0) {
		snprintf(err, errlen, "'%s': a duration must be whole seconds, more than 0", s);
		return -1;
	}
	*out = now + (dir < 0 ? -ms / 1000 : ms / 1000);
	return 0;
}

void rd_ctltime_local(char *buf, size_t len, const struct rd_tz *tz, int64_t t)
{
	int32_t off = rd_tz_offset(tz, t);
	int64_t local = t + off, y, day = rd_tz_floor_div(local, 86400);
	int64_t secs = local - day * 86400;
	int m, d, aoff = off < 0 ? -off : off;
	char sec[8] = "";

	rd_tz_civil_from_days(day, &y, &m, &d);
	if (secs % 60)
		snprintf(sec, sizeof(sec), ":%02d", (int)(secs % 60));
	snprintf(buf, len, "%04lld-%02d-%02d %02d:%02d%s%c%02d:%02d", (long long)y, m, d,
	         (int)(secs / 3600), (int)(secs % 3600 / 60), sec, off < 0 ? '-' : '+', aoff / 3600,
	         aoff % 3600 / 60);
}

void rd_ctltime_utc(char *buf, size_t len, int64_t t)
{
	int64_t y, day = rd_tz_floor_div(t, 86400), secs = t - day * 86400;
	int m, d;

	rd_tz_civil_from_days(day, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
	         (int)(secs / 3600), (int)(secs % 3600 / 60), (int)(secs % 60));
}
