/* calendar.c - see calendar.h.
 *
 * Layout: civil dates; the time zone (read by tz.c); holidays; the opening
 * ranges of one date in wall-clock time and then in UTC; the per-year cache;
 * the queries; the parsers of the config keys. */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "tz.h"

#define DAY        86400
#define YEAR_MIN   1900
#define YEAR_MAX   2299
#define NYEARS     (YEAR_MAX - YEAR_MIN + 1)
#define MAX_RANGES 8  /* opening ranges of one weekday */
#define MAX_CLOSED 32 /* closure entries of one calendar */
/* Cutting a closure out of opening ranges adds at most one range. */
#define DAY_SPANS (MAX_RANGES + MAX_CLOSED)
/* Offset segments that can overlap one date: tz_check_density() refuses
 * zones with more than MAX_SEGS - 1 clock changes in SEG_WINDOW. */
#define MAX_SEGS   3
#define SEG_WINDOW (76 * 3600)
#define UTC_SPANS  (DAY_SPANS * MAX_SEGS)
#define MAX_OFFSET (26 * 3600) /* |UTC offset| is below this (RFC 8536) */

/* Instants run a few days past the last date: tz.c must cover them. */
_Static_assert(YEAR_MAX + 1 <= RD_TZ_LAST_YEAR, "zone rules end before the calendar does");

#define DEFAULT_ZONE "Europe/Paris"
/* Used for Europe/Paris when the system has no tz database. */
#define PARIS_RULE "CET-1CEST,M3.5.0,M10.5.0/3"

enum holiday_set { HOL_NONE, HOL_FR, HOL_ALSACE };

/* Wall-clock seconds of a day, [a, b). */
struct span {
	int32_t a, b;
};

/* UTC instants, [a, b). */
struct ispan {
	int64_t a, b;
};

struct week {
	struct span r[7][MAX_RANGES]; /* 0 = Monday; sorted, disjoint */
	int n[7];
};

struct closure {
	int32_t from, to; /* dates (days since 1970-01-01), inclusive */
	int month, mday;  /* an every-year closure (MM-DD) when month != 0 */
	struct span time; /* the closed part of each date; {0, DAY} = all day */
};

/* cum[i] = opening seconds of the year's dates before its i-th one. */
struct year_cache {
	int32_t cum[367];
};

/* Filled lazily by const queries, hence a separate, non-const object. */
struct cal_cache {
	_Atomic(struct year_cache *) year[NYEARS];
};

struct rd_calendar {
	struct rd_tz *tz;
	struct week week;
	enum holiday_set holidays;
	struct closure closed[MAX_CLOSED];
	int nclosed;
	struct cal_cache *cache;
};

/* --- civil dates (proleptic Gregorian, days since 1970-01-01) ------------ */

/* The calendar's dates fit in int32_t: tz.c's arithmetic, narrowed. */
static int32_t days_from_civil(int y, int m, int d)
{
	return (int32_t)rd_tz_days_from_civil(y, m, d);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
	int64_t y64;

	rd_tz_civil_from_days(z, &y64, m, d);
	*y = (int)y64;
}

/* 0 = Monday; 1970-01-01 was a Thursday. */
static int weekday(int32_t day)
{
	return (int)(((int64_t)day % 7 + 10) % 7);
}

static int year_of(int32_t day)
{
	int y, m, d;

	civil_from_days(day, &y, &m, &d);
	return y;
}

#define DAY_MIN ((int32_t)-25567) /* 1900-01-01 */
#define DAY_MAX ((int32_t)120529) /* 2299-12-31 */
/* Instants beyond these have local dates outside DAY_MIN..DAY_MAX, all
 * closed, so clamping to them changes no answer. */
#define T_LO ((int64_t)(DAY_MIN - 2) * DAY)
#define T_HI ((int64_t)(DAY_MAX + 3) * DAY)

static int64_t clamp_t(int64_t t)
{
	return t < T_LO ? T_LO : t > T_HI ? T_HI : t;
}

int rd_easter(int year, int *month, int *day)
{
	int a, b, c, d, e, f, g, h, i, k, l, m;

	if (year < 1583 || year > 9999)
		return -1;
	/* the anonymous Gregorian algorithm (Meeus/Jones/Butcher) */
	a = year % 19;
	b = year / 100;
	c = year % 100;
	d = b / 4;
	e = b % 4;
	f = (b + 8) / 25;
	g = (b - f + 1) / 3;
	h = (19 * a + b - d - g + 15) % 30;
	i = c / 4;
	k = c % 4;
	l = (32 + 2 * e + 2 * i - h - k) % 7;
	m = (a + 11 * h + 22 * l) / 451;
	*month = (h + l - 7 * m + 114) / 31;
	*day = (h + l - 7 * m + 114) % 31 + 1;
	return 0;
}

/* --- time zone ------------------------------------------------------------ */

static int32_t local_day(const struct rd_tz *tz, int64_t t)
{
	return (int32_t)rd_tz_floor_div(t + rd_tz_offset(tz, t), DAY);
}

/* Refuse zones whose clocks change so often that one date could overlap
 * more than MAX_SEGS offset segments, which day_utc() has room for (tzdata
 * has at most one change in any 76 hours between 1900 and 2299). */
static int tz_check_density(const struct rd_tz *tz)
{
	int64_t prev[MAX_SEGS - 1]; /* the latest change instants */
	int64_t t = T_LO - SEG_WINDOW - 1;
	int32_t off;
	int np = 0;

	while (rd_tz_next_change(tz, t, &t, &off) && t <= T_HI + SEG_WINDOW) {
		int near = 1;

		for (int j = 0; j < np; j++)
			near += t - prev[j] < SEG_WINDOW;
		if (near >= MAX_SEGS)
			return -1;
		if (np == MAX_SEGS - 1) {
			memmove(prev, prev + 1, (size_t)(np - 1) * sizeof(*prev));
			np--;
		}
		prev[np++] = t;
	}
	return 0;
}

static struct rd_tz *tz_builtin_paris(void)
{
	char err[128];

	return rd_tz_from_rule(DEFAULT_ZONE, PARIS_RULE, err, sizeof(err));
}

/* A zone by name, with the checks the calendar needs: exact instants (no
 * leap seconds) and room in day_utc(). The default zone works even without
 * tzdata. */
static struct rd_tz *cal_tz_load(const char *name, char *err, size_t errlen)
{
	struct rd_tz *tz = rd_tz_load(name, err, errlen);
	const char *why;

	if (tz == NULL && errno == ENOENT && strcmp(name, DEFAULT_ZONE) == 0)
		return tz_builtin_paris();
	if (tz == NULL)
		return NULL;
	if (rd_tz_counts_leap_seconds(tz))
		why = "it counts leap seconds (a right/ zone); use the zone without right/";
	else if (tz_check_density(tz) != 0)
		why = "its clocks change too often to be supported";
	else
		return tz;
	rd_tz_free(tz);
	snprintf(err, errlen, "time zone '%s' cannot be used: %s", name, why);
	return NULL;
}

/* --- holidays ------------------------------------------------------------ */

static const struct {
	int month, day;
	enum holiday_set set; /* the smallest set holding the day */
	const char *name;
} fixed_holidays[] = {
    {1, 1, HOL_FR, "Jour de l'an"},        {5, 1, HOL_FR, "Fête du Travail"},
    {5, 8, HOL_FR, "Victoire 1945"},       {7, 14, HOL_FR, "Fête nationale"},
    {8, 15, HOL_FR, "Assomption"},         {11, 1, HOL_FR, "Toussaint"},
    {11, 11, HOL_FR, "Armistice 1918"},    {12, 25, HOL_FR, "Noël"},
    {12, 26, HOL_ALSACE, "Saint-Étienne"},
};

static const struct {
	int after_easter;
	enum holiday_set set;
	const char *name;
} easter_holidays[] = {
    {-2, HOL_ALSACE, "Vendredi saint"},
    {1, HOL_FR, "Lundi de Pâques"},
    {39, HOL_FR, "Ascension"},
    {50, HOL_FR, "Lundi de Pentecôte"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The holiday's name, or NULL; y/m/d must be the civil date of `day`. */
static const char *holiday(enum holiday_set set, int32_t day, int y, int m, int d)
{
	int em, ed;

	if (set == HOL_NONE)
		return NULL;
	for (size_t i = 0; i < NELEM(fixed_holidays); i++)
		if (fixed_holidays[i].month == m && fixed_holidays[i].day == d &&
		    set >= fixed_holidays[i].set)
			return fixed_holidays[i].name;
	if (m < 3 || m > 6 || rd_easter(y, &em, &ed) != 0)
		return NULL; /* Good Friday .. Whit Monday lie in March..June */
	for (size_t i = 0; i < NELEM(easter_holidays); i++)
		if (day - days_from_civil(y, em, ed) == easter_holidays[i].after_easter &&
		    set >= easter_holidays[i].set)
			return easter_holidays[i].name;
	return NULL;
}

/* --- the opening time of one date ---------------------------------------- */

/* Remove c from n sorted, disjoint spans; returns the new count. */
static int spans_cut(struct span *s, int n, struct span c)
{
	struct span out[DAY_SPANS] = {{0, 0}};
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (s[i].b <= c.a || s[i].a >= c.b) {
			out[k++] = s[i];
			continue;
		}
		if (s[i].a < c.a)
			out[k++] = (struct span){s[i].a, c.a};
		if (s[i].b > c.b && k < DAY_SPANS)
			out[k++] = (struct span){c.b, s[i].b};
	}
	memcpy(s, out, (size_t)k * sizeof(*s));
	return k;
}

static int closure_hits(const struct closure *c, int32_t day, int m, int d)
{
	if (c->month)
		return c->month == m && c->mday == d;
	return day >= c->from && day <= c->to;
}

/* The opening ranges of a local date, in wall-clock seconds. */
static int day_wall(const struct rd_calendar *cal, int32_t day, struct span out[DAY_SPANS])
{
	int y, m, d, wd, n;

	if (day < DAY_MIN || day > DAY_MAX)
		return 0;
	civil_from_days(day, &y, &m, &d);
	if (holiday(cal->holidays, day, y, m, d))
		return 0;
	wd = weekday(day);
	n = cal->week.n[wd];
	memcpy(out, cal->week.r[wd], (size_t)n * sizeof(*out));
	for (int i = 0; i < cal->nclosed && n > 0; i++)
		if (closure_hits(&cal->closed[i], day, m, d))
			n = spans_cut(out, n, cal->closed[i].time);
	return n;
}

/* Add the instants of [s, e) (offset off) whose wall clock lies in one of
 * the date's ranges; lo is the date's midnight as a wall-clock count. */
static int map_segment(const struct span *w, int nw, int64_t lo, int64_t s, int64_t e, int32_t off,
                       struct ispan *out, int n)
{
	for (int i = 0; i < nw; i++) {
		int64_t a = lo + w[i].a - off, b = lo + w[i].b - off;

		a = a > s ? a : s;
		b = b < e ? b : e;
		if (a >= b)
			continue;
		if (n && out[n - 1].b == a)
			out[n - 1].b = b;
		else if (n < UTC_SPANS) /* always true, see tz_check_density() */
			out[n++] = (struct ispan){a, b};
	}
	return n;
}

/* The opening instants of a local date: every t whose wall clock falls on
 * that date in one of its ranges. Around a clock change the offset changes
 * inside the date, so each constant-offset segment is mapped on its own:
 * a skipped hour holds no instant, a repeated hour is counted twice. The
 * result is sorted and disjoint. */
static int day_utc(const struct rd_calendar *cal, int32_t day, struct ispan out[UTC_SPANS])
{
	struct span w[DAY_SPANS];
	int nw = day_wall(cal, day, w), n = 0;
	int64_t lo = (int64_t)day * DAY, s = lo - MAX_OFFSET, end = lo + DAY + MAX_OFFSET;
	int32_t off = rd_tz_offset(cal->tz, s), next = off;

	if (nw == 0)
		return 0;
	for (;;) {
		int64_t e;

		if (!rd_tz_next_change(cal->tz, s, &e, &next) || e > end)
			e = end;
		n = map_segment(w, nw, lo, s, e, off, out, n);
		if (e == end)
			return n;
		off = next;
		s = e;
	}
}

static int64_t spans_overlap(const struct ispan *u, int n, int64_t from, int64_t to)
{
	int64_t sum = 0;

	for (int i = 0; i < n; i++) {
		int64_t a = u[i].a > from ? u[i].a : from, b = u[i].b < to ? u[i].b : to;

		if (a < b)
			sum += b - a;
	}
	return sum;
}

static int64_t day_overlap(const struct rd_calendar *cal, int32_t day, int64_t from, int64_t to)
{
	struct ispan u[UTC_SPANS];
	int n = day_utc(cal, day, u);

	return spans_overlap(u, n, from, to);
}

static int32_t day_total(const struct rd_calendar *cal, int32_t day)
{
	return (int32_t)day_overlap(cal, day, INT64_MIN, INT64_MAX);
}

/* --- per-year cache ------------------------------------------------------ */

static struct year_cache *year_build(const struct rd_calendar *cal, int y)
{
	struct year_cache *yc = malloc(sizeof(*yc));
	int32_t jan1 = days_from_civil(y, 1, 1), ndays = rd_tz_month_days(y, 2) == 29 ? 366 : 365;

	if (!yc)
		return NULL;
	yc->cum[0] = 0;
	for (int32_t i = 0; i < ndays; i++)
		yc->cum[i + 1] = yc->cum[i] + day_total(cal, jan1 + i);
	return yc;
}

/* The year's cache, built on first use; NULL only when out of memory. Two
 * threads may build the same year: the first to publish wins. */
static const struct year_cache *year_get(const struct rd_calendar *cal, int y)
{
	_Atomic(struct year_cache *) *slot = &cal->cache->year[y - YEAR_MIN];
	struct year_cache *yc = atomic_load_explicit(slot, memory_order_acquire), *old = NULL;

	if (yc)
		return yc;
	yc = year_build(cal, y);
	if (!yc)
		return NULL;
	if (!atomic_compare_exchange_strong_explicit(slot, &old, yc, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		free(yc);
		return old;
	}
	return yc;
}

static void cache_reset(struct cal_cache *cache)
{
	for (int i = 0; i < NYEARS; i++) {
		free(atomic_load_explicit(&cache->year[i], memory_order_relaxed));
		atomic_store_explicit(&cache->year[i], NULL, memory_order_relaxed);
	}
}

static int64_t day_open(const struct rd_calendar *cal, int32_t day)
{
	const struct year_cache *yc;
	int32_t jan1;
	int y;

	if (day < DAY_MIN || day > DAY_MAX)
		return 0;
	y = year_of(day);
	jan1 = days_from_civil(y, 1, 1);
	yc = year_get(cal, y);
	if (!yc)
		return day_total(cal, day);
	return yc->cum[day - jan1 + 1] - yc->cum[day - jan1];
}

/* Opening seconds of the whole dates [a, b). */
static int64_t days_open(const struct rd_calendar *cal, int32_t a, int32_t b)
{
	int64_t sum = 0;

	a = a < DAY_MIN ? DAY_MIN : a;
	b = b > DAY_MAX + 1 ? DAY_MAX + 1 : b;
	while (a < b) {
		int y = year_of(a);
		int32_t jan1 = days_from_civil(y, 1, 1), next = days_from_civil(y + 1, 1, 1);
		int32_t end = b < next ? b : next;
		const struct year_cache *yc = year_get(cal, y);

		if (yc) {
			sum += yc->cum[end - jan1] - yc->cum[a - jan1];
		} else {
			for (int32_t d = a; d < end; d++)
				sum += day_total(cal, d);
		}
		a = end;
	}
	return sum;
}

/* --- queries ------------------------------------------------------------- */

int rd_calendar_is_open(const struct rd_calendar *cal, int64_t t)
{
	struct ispan u[UTC_SPANS];
	int n;

	t = clamp_t(t);
	n = day_utc(cal, local_day(cal->tz, t), u);
	for (int i = 0; i < n; i++)
		if (t >= u[i].a && t < u[i].b)
			return 1;
	return 0;
}

int64_t rd_calendar_business_seconds(const struct rd_calendar *cal, int64_t from, int64_t to)
{
	int32_t df, dt;
	int64_t sum = 0;

	from = clamp_t(from);
	to = clamp_t(to);
	if (to <= from)
		return 0;
	df = local_day(cal->tz, from);
	dt = local_day(cal->tz, to);
	/* A clock change across midnight can interleave the instants of two
	 * neighbouring dates, so the dates next to each end are clipped to
	 * [from, to) exactly; those in between lie wholly inside. */
	if (dt - df < 5) {
		for (int32_t d = df - 1; d <= dt + 1; d++)
			sum += day_overlap(cal, d, from, to);
		return sum;
	}
	for (int32_t d = df - 1; d <= df + 1; d++)
		sum += day_overlap(cal, d, from, to);
	sum += days_open(cal, df + 2, dt - 1);
	for (int32_t d = dt - 1; d <= dt + 1; d++)
		sum += day_overlap(cal, d, from, to);
	return sum;
}

/* The first open instant at or after t, and its date; -1 if none. */
static int first_open(const struct rd_calendar *cal, int64_t t, int32_t *day, int64_t *s)
{
	struct ispan u[UTC_SPANS];
	int32_t d0 = local_day(cal->tz, t);
	int n;

	*s = INT64_MAX;
	/* dates before d0 + 1 may hold instants after those of later dates
	 * (see business_seconds), so look at d0 - 1 .. d0 + 1 before stopping */
	for (int32_t d = d0 - 1; d <= DAY_MAX; d++) {
		if (*s != INT64_MAX && d > d0 + 1)
			return 0;
		if (day_open(cal, d) == 0)
			continue;
		n = day_utc(cal, d, u);
		for (int i = 0; i < n; i++) {
			int64_t c = u[i].a > t ? u[i].a : t;

			if (u[i].b > t && c < *s) {
				*s = c;
				*day = d;
			}
		}
	}
	return *s != INT64_MAX ? 0 : -1;
}

/* The instant after x seconds of opening time of the spans; a position
 * that ends a range moves to the start of the next one. */
static int64_t spans_position(const struct ispan *u, int n, int64_t x)
{
	for (int i = 0; i < n; i++) {
		if (x < u[i].b - u[i].a)
			return u[i].a + x;
		x -= u[i].b - u[i].a;
	}
	return u[n - 1].b;
}

int64_t rd_calendar_add_business_days(const struct rd_calendar *cal, int64_t t, int n)
{
	struct ispan u[UTC_SPANS];
	int32_t day;
	int64_t s, x;
	int k;

	if (n < 0 || first_open(cal, clamp_t(t), &day, &s) != 0)
		return -1;
	if (n == 0)
		return s;
	k = day_utc(cal, day, u);
	x = spans_overlap(u, k, INT64_MIN, s);
	while (n > 0) {
		if (++day > DAY_MAX)
			return -1;
		if (day_open(cal, day) > 0)
			n--;
	}
	k = day_utc(cal, day, u);
	return k > 0 ? spans_position(u, k, x) : -1;
}

int rd_calendar_holiday_name(const struct rd_calendar *cal, int year, int month, int day,
                             const char **name)
{
	*name = NULL;
	if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12 || day < 1 ||
	    day > rd_tz_month_days(year, month))
		return -1;
	*name = holiday(cal->holidays, days_from_civil(year, month, day), year, month, day);
	return *name ? 1 : 0;
}

int32_t rd_calendar_utc_offset(const struct rd_calendar *cal, int64_t t)
{
	return rd_tz_offset(cal->tz, t);
}

const char *rd_calendar_timezone(const struct rd_calendar *cal)
{
	return rd_tz_name(cal->tz);
}

/* --- parsing ------------------------------------------------------------- */

static int failf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Length of the token at p: up to a blank, ',' or ';'. */
static int toklen(const char *p)
{
	return (int)strcspn(p, " \t,;");
}

/* H:MM or HH:MM, 00:00 to 24:00, as seconds; -1 if it is not one. */
static int32_t parse_hhmm(const char *p, size_t len)
{
	int h, m;

	if (len < 4 || len > 5 || p[len - 3] != ':' || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[len - 4]) || !isdigit((unsigned char)p[len - 2]) ||
	    !isdigit((unsigned char)p[len - 1]))
		return -1;
	h = len == 5 ? (p[0] - '0') * 10 + p[1] - '0' : p[0] - '0';
	m = (p[len - 2] - '0') * 10 + p[len - 1] - '0';
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 3600 + m * 60;
}

/* HH:MM-HH:MM with start < end. */
static int parse_range(const char *p, int len, struct span *r, char *err, size_t errlen)
{
	const char *dash = memchr(p, '-', (size_t)len);

	if (!dash)
		return failf(err, errlen,
		             "'%.*s' is not a time range (HH:MM-HH:MM, e.g. 09:00-12:00)", len, p);
	r->a = parse_hhmm(p, (size_t)(dash - p));
	r->b = parse_hhmm(dash + 1, (size_t)(len - (dash - p) - 1));
	if (r->a < 0 || r->b < 0)
		return failf(err, errlen,
		             "'%.*s' is not a time range (HH:MM-HH:MM, times from 00:00 to 24:00)",
		             len, p);
	if (r->a >= r->b)
		return failf(err, errlen, "'%.*s': a range must end after it starts", len, p);
	return 0;
}

static const char *day_name(int d)
{
	static const char names[7][4] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

	return names[d];
}

static int parse_day(const char *p, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (len == 3 && strncasecmp(p, day_name(i), 3) == 0)
			return i;
	return -1;
}

static const char *bad_day(const char *p, int len, char *err, size_t errlen)
{
	if (len == 0)
		failf(err, errlen, "a day is missing%s%.1s%s", *p ? " before '" : " at the end", p,
		      *p ? "'" : "");
	else if (isdigit((unsigned char)*p))
		failf(err, errlen,
		      "'%.*s': days come first (e.g. mon-fri 09:00-17:00), and the ranges of one "
		      "day are separated by blanks",
		      len, p);
	else
		failf(err, errlen,
		      "'%.*s' is not a day or day range (mon, tue, wed, thu, fri, sat, sun; "
		      "e.g. mon-fri)",
		      len, p);
	return NULL;
}

/* day or day-day, joined by ',': sets the bits of *mask (bit 0 = mon). */
static const char *parse_days(const char *p, unsigned *mask, char *err, size_t errlen)
{
	for (;;) {
		const char *dash;
		int len, a, b;

		p = skip_ws(p);
		len = toklen(p);
		dash = memchr(p, '-', (size_t)len);
		a = parse_day(p, dash ? (size_t)(dash - p) : (size_t)len);
		b = dash ? parse_day(dash + 1, (size_t)(len - (dash - p) - 1)) : a;
		if (a < 0 || b < 0)
			return bad_day(p, len, err, errlen);
		if (b < a) {
			failf(err, errlen, "'%.*s': a day range runs from mon towards sun", len, p);
			return NULL;
		}
		for (int d = a; d <= b; d++) {
			if (*mask & 1u << d) {
				failf(err, errlen, "'%.*s': %s is given twice", len, p,
				      day_name(d));
				return NULL;
			}
			*mask |= 1u << d;
		}
		p = skip_ws(p + len);
		if (*p != ',')
			return p;
		p++;
	}
}

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	return (a->a > b->a) - (a->a < b->a);
}

static void fmt_range(char buf[32], struct span r)
{
	snprintf(buf, 32, "%02d:%02d-%02d:%02d", r.a / 3600, r.a / 60 % 60, r.b / 3600,
	         r.b / 60 % 60);
}

/* Sort one group's ranges, merge touching ones, refuse overlaps. */
static int ranges_tidy(struct span *r, int *n, char *err, size_t errlen)
{
	char x[32], y[32];
	int k = 0;

	qsort(r, (size_t)*n, sizeof(*r), span_cmp);
	for (int i = 0; i < *n; i++) {
		if (k && r[i].a < r[k - 1].b) {
			fmt_range(x, r[k - 1]);
			fmt_range(y, r[i]);
			return failf(err, errlen, "ranges %s and %s overlap", x, y);
		}
		if (k && r[i].a == r[k - 1].b)
			r[k - 1].b = r[i].b;
		else
			r[k++] = r[i];
	}
	*n = k;
	return 0;
}

/* One group: days, then one or more ranges separated by blanks. */
static const char *parse_group(const char *p, struct week *w, unsigned *seen, char *err,
                               size_t errlen)
{
	struct span r[MAX_RANGES];
	unsigned mask = 0;
	int n = 0;

	p = parse_days(p, &mask, err, errlen);
	if (!p)
		return NULL;
	if (mask & *seen) {
		int d = 0;

		while (!(mask & *seen & 1u << d))
			d++;
		failf(err, errlen, "%s is given in two groups", day_name(d));
		return NULL;
	}
	*seen |= mask;
	while (*p && *p != ';' && *p != ',') {
		int len = toklen(p);

		if (!isdigit((unsigned char)*p)) {
			failf(err, errlen,
			      "unexpected '%.*s' (a time range, or ';' before the next days, is "
			      "expected)",
			      len ? len : 1, p);
			return NULL;
		}
		if (n == MAX_RANGES) {
			failf(err, errlen, "more than %d ranges for one day", MAX_RANGES);
			return NULL;
		}
		if (parse_range(p, len, &r[n++], err, errlen) != 0)
			return NULL;
		p = skip_ws(p + len);
	}
	if (n == 0) {
		failf(err, errlen, "no time range after the days (e.g. mon-fri 09:00-17:00)");
		return NULL;
	}
	if (ranges_tidy(r, &n, err, errlen) != 0)
		return NULL;
	for (int d = 0; d < 7; d++) {
		if (mask & 1u << d) {
			memcpy(w->r[d], r, (size_t)n * sizeof(*r));
			w->n[d] = n;
		}
	}
	return p;
}

/* hours = GROUP { (";" | ",") GROUP }; days not named are closed. */
static int parse_hours(const char *v, struct week *w, char *err, size_t errlen)
{
	const char *p = skip_ws(v);
	unsigned seen = 0;

	memset(w, 0, sizeof(*w));
	if (!*p)
		return failf(err, errlen, "no opening hours given (e.g. mon-fri 09:00-17:00)");
	for (;;) {
		p = parse_group(p, w, &seen, err, errlen);
		if (!p)
			return -1;
		if (!*p)
			return 0;
		p = skip_ws(p + 1); /* the ';' or ',' */
	}
}

/* n decimal digits; -1 if any is not a digit. */
static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + p[i] - '0';
	}
	return v;
}

/* YYYY-MM-DD within 1900..2299 into *day, or, if annual is not NULL, MM-DD
 * into annual[0] (month) and annual[1] (day of month). */
static int parse_date(const char *p, int len, int32_t *day, int *annual)
{
	int y = -1, m, d;

	if (len == 10 && p[4] == '-') {
		y = digits(p, 4);
		p += 5;
	} else if (len != 5 || !annual) {
		return -1;
	}
	m = digits(p, 2);
	d = digits(p + 3, 2);
	if (p[2] != '-' || m < 1 || m > 12 || d < 1)
		return -1;
	if (len == 5) {
		if (d > rd_tz_month_days(2000, m)) /* 2000 is leap: 02-29 is allowed */
			return -1;
		annual[0] = m;
		annual[1] = d;
		return 0;
	}
	if (y < YEAR_MIN || y > YEAR_MAX || d > rd_tz_month_days(y, m))
		return -1;
	*day = days_from_civil(y, m, d);
	return 0;
}

/* DATE | DATE..DATE | MM-DD */
static int parse_when(const char *p, int len, struct closure *c, char *err, size_t errlen)
{
	const char *dots = NULL;

	for (int i = 0; i + 1 < len; i++)
		if (p[i] == '.' && p[i + 1] == '.')
			dots = p + i;
	if (!dots) {
		int annual[2] = {0, 0};

		if (parse_date(p, len, &c->from, annual) != 0)
			goto bad;
		c->to = c->from;
		c->month = annual[0];
		c->mday = annual[1];
		return 0;
	}
	if (parse_date(p, (int)(dots - p), &c->from, NULL) != 0 ||
	    parse_date(dots + 2, len - (int)(dots - p) - 2, &c->to, NULL) != 0)
		goto bad;
	if (c->to < c->from)
		return failf(err, errlen, "'%.*s': the range ends before it starts", len, p);
	return 0;
bad:
	return failf(err, errlen,
	             "'%.*s' is not a date (YYYY-MM-DD, years 1900 to 2299), a date range "
	             "(YYYY-MM-DD..YYYY-MM-DD) or a yearly date (MM-DD)",
	             len, p);
}

/* One entry: WHEN [HH:MM-HH:MM]. */
static const char *parse_closure(const char *p, struct closure *c, char *err, size_t errlen)
{
	int len = toklen(p);

	memset(c, 0, sizeof(*c));
	c->time = (struct span){0, DAY};
	if (len == 0) {
		failf(err, errlen, "an entry is empty (entries are separated by ',')");
		return NULL;
	}
	if (parse_when(p, len, c, err, errlen) != 0)
		return NULL;
	p = skip_ws(p + len);
	if (isdigit((unsigned char)*p)) {
		len = toklen(p);
		if (parse_range(p, len, &c->time, err, errlen) != 0)
			return NULL;
		p = skip_ws(p + len);
	}
	if (*p && *p != ',') {
		failf(err, errlen, "unexpected '%.*s' (entries are separated by ',')",
		      toklen(p) ? toklen(p) : 1, p);
		return NULL;
	}
	return p;
}

/* closed = none | ENTRY { "," ENTRY } */
static int parse_closed(const char *v, struct closure *out, int *n, char *err, size_t errlen)
{
	const char *p = skip_ws(v);

	*n = 0;
	if (strcmp(p, "none") == 0)
		return 0;
	if (!*p)
		return failf(err, errlen, "no date given (use 'none' for no closures)");
	for (;;) {
		if (*n == MAX_CLOSED)
			return failf(err, errlen, "more than %d entries", MAX_CLOSED);
		p = parse_closure(p, &out[(*n)++], err, errlen);
		if (!p)
			return -1;
		if (!*p)
			return 0;
		p = skip_ws(p + 1);
	}
}

static int parse_holidays(const char *v, enum holiday_set *set, char *err, size_t errlen)
{
	if (strcmp(v, "fr") == 0)
		*set = HOL_FR;
	else if (strcmp(v, "fr-alsace-moselle") == 0)
		*set = HOL_ALSACE;
	else if (strcmp(v, "none") == 0)
		*set = HOL_NONE;
	else
		return failf(err, errlen, "'%s' is not a holiday set (fr, fr-alsace-moselle, none)",
		             v);
	return 0;
}

/* --- the calendar object ------------------------------------------------- */

static void default_week(struct week *w)
{
	memset(w, 0, sizeof(*w));
	for (int d = 0; d < 5; d++) {
		w->r[d][0] = (struct span){9 * 3600, 17 * 3600};
		w->n[d] = 1;
	}
}

struct rd_calendar *rd_calendar_new(void)
{
	struct rd_calendar *cal = calloc(1, sizeof(*cal));
	char err[256];

	if (!cal)
		return NULL;
	cal->cache = calloc(1, sizeof(*cal->cache));
	if (cal->cache)
		cal->tz = cal_tz_load(DEFAULT_ZONE, err, sizeof(err));
	/* tzdata present but unreadable: the built-in rule still works */
	if (cal->cache && !cal->tz)
		cal->tz = tz_builtin_paris();
	if (!cal->tz) {
		rd_calendar_free(cal);
		return NULL;
	}
	for (int i = 0; i < NYEARS; i++)
		atomic_init(&cal->cache->year[i], NULL);
	default_week(&cal->week);
	cal->holidays = HOL_FR;
	return cal;
}

void rd_calendar_free(struct rd_calendar *cal)
{
	if (!cal)
		return;
	if (cal->cache) {
		cache_reset(cal->cache);
		free(cal->cache);
	}
	rd_tz_free(cal->tz);
	free(cal);
}

/* The value without surrounding blanks, in buf; -1 if too long. */
static int trim(const char *v, char *buf, size_t len)
{
	size_t n;

	v = skip_ws(v);
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	if (n >= len)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

static int set_value(struct rd_calendar *cal, const char *key, const char *v, char *err,
                     size_t errlen)
{
	if (strcmp(key, "timezone") == 0) {
		struct rd_tz *tz = cal_tz_load(v, err, errlen);

		if (!tz)
			return -1;
		rd_tz_free(cal->tz);
		cal->tz = tz;
	} else if (strcmp(key, "hours") == 0) {
		struct week w;

		if (parse_hours(v, &w, err, errlen) != 0)
			return -1;
		cal->week = w;
	} else if (strcmp(key, "closed") == 0) {
		struct closure c[MAX_CLOSED];
		int n;

		if (parse_closed(v, c, &n, err, errlen) != 0)
			return -1;
		memcpy(cal->closed, c, sizeof(c));
		cal->nclosed = n;
	} else if (strcmp(key, "holidays") == 0) {
		if (parse_holidays(v, &cal->holidays, err, errlen) != 0)
			return -1;
	} else {
		return failf(err, errlen,
		             "unknown calendar key '%s' (timezone, hours, closed, holidays)", key);
	}
	return 0;
}

int rd_calendar_set(struct rd_calendar *cal, const char *key, const char *value, char *err,
                    size_t errlen)
{
	char v[1024];

	if (!key || !value)
		return failf(err, errlen, "no key or no value");
	if (trim(value, v, sizeof(v)) != 0)
		return failf(err, errlen, "value longer than %zu characters", sizeof(v) - 1);
	if (set_value(cal, key, v, err, errlen) != 0)
		return -1;
	/* every cached year depends on all four keys */
	cache_reset(cal->cache);
	return 0;
}

struct rd_calendar *rd_calendar_load(const struct rd_config *cfg, const char *name, char *err,
                                     size_t errlen)
{
	const struct rd_section *s;
	struct rd_calendar *cal;

	for (s = rd_config_next(cfg, "calendar", NULL); s; s = rd_config_next(cfg, "calendar", s))
		if (strcmp(s->name, name) == 0)
			break;
	if (!s) {
		snprintf(err, errlen, "no [calendar \"%s\"] section", name);
		return NULL;
	}
	if (!(cal = rd_calendar_new())) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < s->nkv; i++) {
		char why[256];

		if (rd_calendar_set(cal, s->kv[i].key, s->kv[i].value, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "calendar \"%s\" (line %d): %.200s", name,
			         s->kv[i].line, why);
			rd_calendar_free(cal);
			return NULL;
		}
	}
	return cal;
}
