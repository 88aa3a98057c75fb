/* calendar.c - see calendar.h.
 *
 * Layout: civil dates; the time zone (TZif reader, POSIX TZ footer rules);
 * holidays; the opening ranges of one date in wall-clock time and then in
 * UTC; the per-year cache; the queries; the parsers of the config keys. */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef RD_ZONEINFO_DIR
#define RD_ZONEINFO_DIR "/usr/share/zoneinfo"
#endif

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
#define MAX_SEGS    3
#define SEG_WINDOW  (76 * 3600)
#define UTC_SPANS   (DAY_SPANS * MAX_SEGS)
#define MAX_OFFSET  (26 * 3600) /* |UTC offset| is below this (RFC 8536) */
#define TZ_MAX_FILE (256 * 1024)

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

struct rd_tz {
	char name[64];
	int32_t off0; /* offset before the first transition */
	size_t n, cap;
	int64_t *at;  /* transition instants, non-decreasing */
	int32_t *off; /* offset from at[i] on (seconds east) */
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
	struct rd_tz tz;
	struct week week;
	enum holiday_set holidays;
	struct closure closed[MAX_CLOSED];
	int nclosed;
	struct cal_cache *cache;
};

/* --- civil dates (proleptic Gregorian, days since 1970-01-01) ------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int32_t days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
	int era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
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

/* --- time zone: transitions from the TZif file, then the footer rule ----- */

static void tz_clear(struct rd_tz *tz)
{
	free(tz->at);
	free(tz->off);
	memset(tz, 0, sizeof(*tz));
}

static int tz_push(struct rd_tz *tz, int64_t at, int32_t off)
{
	if (tz->n && at < tz->at[tz->n - 1])
		return -1;
	if (tz->n == tz->cap) {
		size_t cap = tz->cap ? tz->cap * 2 : 256;
		int64_t *a = realloc(tz->at, cap * sizeof(*a));
		int32_t *o;

		if (!a)
			return -1;
		tz->at = a;
		o = realloc(tz->off, cap * sizeof(*o));
		if (!o)
			return -1;
		tz->off = o;
		tz->cap = cap;
	}
	tz->at[tz->n] = at;
	tz->off[tz->n] = off;
	tz->n++;
	return 0;
}

/* Index of the first transition after t. */
static size_t tz_upper(const struct rd_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int32_t tz_offset(const struct rd_tz *tz, int64_t t)
{
	size_t i = tz_upper(tz, t);

	return i ? tz->off[i - 1] : tz->off0;
}

static int32_t local_day(const struct rd_tz *tz, int64_t t)
{
	return (int32_t)floor_div(t + tz_offset(tz, t), DAY);
}

/* A POSIX TZ rule date: Mm.w.d, Jn (1..365, no Feb 29) or n (0..365). */
struct tz_date {
	char kind; /* 'M', 'J' or 'D' */
	int m, w, d, n;
	int32_t secs; /* local time of the change, may be negative or > 24 h */
};

struct tz_rule {
	int32_t std, dst; /* seconds east */
	int has_dst;
	struct tz_date start, end;
};

static int tzs_uint(const char **p, int max, int *out)
{
	const char *s = *p;
	int v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	*p = s;
	return 0;
}

static int tzs_name(const char **p)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '<') {
		for (s++; isalnum((unsigned char)*s) || *s == '+' || *s == '-'; s++)
			n++;
		if (*s++ != '>')
			return -1;
	} else {
		for (; isalpha((unsigned char)*s); s++)
			n++;
	}
	*p = s;
	return n >= 3 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]], hh <= maxh. */
static int tzs_hms(const char **p, int maxh, int32_t *out)
{
	const char *s = *p;
	int sign = 1, v[3] = {0, 0, 0};

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		if (tzs_uint(&s, i ? 59 : maxh, &v[i]) != 0)
			return -1;
		if (*s != ':' || i == 2)
			break;
		s++;
	}
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*p = s;
	return 0;
}

static int tzs_date(const char **p, struct tz_date *dt)
{
	const char *s = *p;
	int rc;

	memset(dt, 0, sizeof(*dt));
	dt->secs = 7200;
	if (*s == 'M') {
		s++;
		dt->kind = 'M';
		rc = tzs_uint(&s, 12, &dt->m) || *s++ != '.' || tzs_uint(&s, 5, &dt->w) ||
		     *s++ != '.' || tzs_uint(&s, 6, &dt->d) || dt->m < 1 || dt->w < 1;
	} else if (*s == 'J') {
		s++;
		dt->kind = 'J';
		rc = tzs_uint(&s, 365, &dt->n) || dt->n < 1;
	} else {
		dt->kind = 'D';
		rc = tzs_uint(&s, 365, &dt->n);
	}
	if (rc)
		return -1;
	if (*s == '/') {
		s++;
		if (tzs_hms(&s, 167, &dt->secs) != 0)
			return -1;
	}
	*p = s;
	return 0;
}

/* std offset [dst [offset] ,start[/time],end[/time]]; POSIX offsets count
 * west, ours east. */
static int tzs_parse(const char *s, struct tz_rule *r)
{
	int32_t o;

	memset(r, 0, sizeof(*r));
	if (tzs_name(&s) != 0 || tzs_hms(&s, 24, &o) != 0)
		return -1;
	r->std = r->dst = -o;
	if (!*s)
		return 0;
	if (tzs_name(&s) != 0)
		return -1;
	r->has_dst = 1;
	r->dst = r->std + 3600;
	if (*s != ',') {
		if (tzs_hms(&s, 24, &o) != 0)
			return -1;
		r->dst = -o;
	}
	/* zic always writes the rules; POSIX leaves their absence open */
	if (*s++ != ',' || tzs_date(&s, &r->start) != 0 || *s++ != ',' ||
	    tzs_date(&s, &r->end) != 0 || *s)
		return -1;
	return 0;
}

/* The instant of a rule change in year y; `before` is the offset in force
 * until then, in which the rule's local time is written. */
static int64_t tzs_when(const struct tz_date *dt, int y, int32_t before)
{
	int32_t jan1 = days_from_civil(y, 1, 1), day;

	if (dt->kind == 'J') {
		day = jan1 + dt->n - 1 + (is_leap(y) && dt->n >= 60);
	} else if (dt->kind == 'D') {
		day = jan1 + dt->n;
	} else {
		int32_t first = days_from_civil(y, dt->m, 1);
		int wd = (weekday(first) + 1) % 7; /* 0 = Sunday here */

		day = first + (dt->d - wd + 7) % 7 + (dt->w - 1) * 7;
		while (day >= first + month_days(y, dt->m))
			day -= 7;
	}
	return (int64_t)day * DAY + dt->secs - before;
}

/* Append the rule's changes after the last transition, up to the end of
 * the supported range, so that lookups never need the rule again. */
static int tz_extend(struct rd_tz *tz, const struct tz_rule *r)
{
	int64_t last = tz->n ? tz->at[tz->n - 1] : INT64_MIN;
	int y = tz->n ? year_of((int32_t)floor_div(last, DAY)) - 1 : YEAR_MIN - 1;

	if (!tz->n)
		tz->off0 = r->std;
	if (!r->has_dst)
		return 0;
	for (; y <= YEAR_MAX + 1; y++) {
		int64_t s = tzs_when(&r->start, y, r->std), e = tzs_when(&r->end, y, r->dst);
		struct {
			int64_t at;
			int32_t off;
		} ev[2] = {{s, r->dst}, {e, r->std}};
		int first = s <= e ? 0 : 1;

		for (int k = 0; k < 2; k++) {
			int i = (first + k) % 2;

			if (ev[i].at > last && tz_push(tz, ev[i].at, ev[i].off) != 0)
				return -1;
		}
	}
	return 0;
}

/* Refuse zones whose clocks change so often that one date could overlap
 * more than MAX_SEGS offset segments, which day_utc() has room for (tzdata
 * has at most one change in any 76 hours between 1900 and 2299). */
static int tz_check_density(const struct rd_tz *tz)
{
	int64_t prev[MAX_SEGS - 1]; /* the latest distinct change instants */
	int np = 0;

	for (size_t i = 0; i < tz->n; i++) {
		int64_t t = tz->at[i];
		int near = 1;

		if (t < T_LO - SEG_WINDOW || t > T_HI + SEG_WINDOW || (np && t == prev[np - 1]))
			continue;
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

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	char version;
	uint32_t isut, isstd, leap, time, type, chars;
	size_t body; /* length of the data block after the 44-byte header */
};

static int tzif_header(const unsigned char *p, size_t len, int tsize, struct tzif_hdr *h)
{
	uint64_t body;

	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = (char)p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	body = (uint64_t)h->time * (tsize + 1) + (uint64_t)h->type * 6 + h->chars +
	       (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
	if (h->type == 0 || h->type > 256 || h->chars == 0 || body > len - 44)
		return -1;
	h->body = (size_t)body;
	return 0;
}

static int tzif_body(struct rd_tz *tz, const unsigned char *p, const struct tzif_hdr *h, int tsize)
{
	const unsigned char *idx = p + (size_t)h->time * tsize, *types = idx + h->time;

	for (uint32_t i = 0; i < h->type; i++) {
		int32_t off = (int32_t)be32(types + 6 * i);

		if (off <= -MAX_OFFSET || off >= MAX_OFFSET || types[6 * i + 4] > 1 ||
		    types[6 * i + 5] >= h->chars)
			return -1;
	}
	tz->off0 = (int32_t)be32(types);
	for (uint32_t i = 0; i < h->time; i++) {
		int64_t at = tsize == 8 ? be64(p + 8 * i) : (int32_t)be32(p + 4 * i);

		if (idx[i] >= h->type || (tz->n && at <= tz->at[tz->n - 1]) ||
		    tz_push(tz, at, (int32_t)be32(types + 6 * idx[i])) != 0)
			return -1;
	}
	return 0;
}

/* The footer of a version 2+ file: "\n" TZ-string "\n". */
static int tzif_footer(struct rd_tz *tz, const unsigned char *p, size_t len)
{
	char rule[128];
	const unsigned char *nl;
	struct tz_rule r;

	if (len < 2 || p[0] != '\n' || !(nl = memchr(p + 1, '\n', len - 1)))
		return -1;
	if (nl == p + 1)
		return 0; /* no rule: the last transition's offset holds */
	if ((size_t)(nl - p - 1) >= sizeof(rule))
		return -1;
	memcpy(rule, p + 1, (size_t)(nl - p - 1));
	rule[nl - p - 1] = '\0';
	if (tzs_parse(rule, &r) != 0)
		return -1;
	return tz_extend(tz, &r);
}

/* Parse a TZif file (RFC 8536) into tz; *why tells what is wrong. */
static int tzif_parse(struct rd_tz *tz, const unsigned char *buf, size_t len, const char **why)
{
	struct tzif_hdr h;
	const unsigned char *p;

	*why = "not a valid time zone file";
	if (tzif_header(buf, len, 4, &h) != 0)
		return -1;
	if (h.version == '\0') {
		if (h.leap)
			goto leap;
		return tzif_body(tz, buf + 44, &h, 4);
	}
	p = buf + 44 + h.body;
	if (tzif_header(p, len - (size_t)(p - buf), 8, &h) != 0)
		return -1;
	if (h.leap)
		goto leap;
	if (tzif_body(tz, p + 44, &h, 8) != 0)
		return -1;
	p += 44 + h.body;
	return tzif_footer(tz, p, len - (size_t)(p - buf));
leap:
	*why = "it counts leap seconds (a right/ zone); use the zone without right/";
	return -1;
}

/* IANA names: letters, digits, '_', '+', '-' and '/' between components;
 * no '.', so no way out of the zoneinfo directory. */
static int tz_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(((struct rd_tz *)0)->name) || name[0] == '/' ||
	    name[n - 1] == '/' || strstr(name, "//"))
		return 0;
	for (const char *s = name; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_+-/", *s))
			return 0;
	return 1;
}

static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp)
		return -1;
	*buf = malloc(TZ_MAX_FILE + 1);
	if (!*buf) {
		fclose(fp);
		errno = ENOMEM;
		return -1;
	}
	n = fread(*buf, 1, TZ_MAX_FILE + 1, fp);
	if (ferror(fp) || n > TZ_MAX_FILE) {
		int e = ferror(fp) ? errno : EFBIG;

		fclose(fp);
		free(*buf);
		errno = e;
		return -1;
	}
	fclose(fp);
	*len = n;
	return 0;
}

static int tz_builtin_paris(struct rd_tz *tz)
{
	struct tz_rule r;

	snprintf(tz->name, sizeof(tz->name), "%s", DEFAULT_ZONE);
	if (tzs_parse(PARIS_RULE, &r) != 0)
		return -1;
	return tz_extend(tz, &r);
}

static int tz_load(struct rd_tz *tz, const char *name, char *err, size_t errlen)
{
	char path[sizeof(RD_ZONEINFO_DIR) + sizeof(tz->name) + 1];
	unsigned char *buf;
	size_t len;
	const char *why;
	int rc;

	memset(tz, 0, sizeof(*tz));
	if (!tz_name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a time zone name (e.g. Europe/Paris)", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", RD_ZONEINFO_DIR, name);
	if (read_file(path, &buf, &len) != 0) {
		int e = errno;

		/* the default zone must work even without tzdata */
		if (e == ENOENT && strcmp(name, DEFAULT_ZONE) == 0 && tz_builtin_paris(tz) == 0)
			return 0;
		tz_clear(tz);
		snprintf(err, errlen, "unknown time zone '%s' (%s: %s)", name, path, strerror(e));
		return -1;
	}
	rc = tzif_parse(tz, buf, len, &why);
	free(buf);
	if (rc == 0 && tz_check_density(tz) != 0) {
		why = "its clocks change too often to be supported";
		rc = -1;
	}
	if (rc != 0) {
		tz_clear(tz);
		snprintf(err, errlen, "time zone '%s' cannot be used: %s", name, why);
		return -1;
	}
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	return 0;
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
	const struct rd_tz *tz = &cal->tz;
	int nw = day_wall(cal, day, w), n = 0;
	int64_t lo = (int64_t)day * DAY, s = lo - MAX_OFFSET, end = lo + DAY + MAX_OFFSET;
	size_t i;
	int32_t off;

	if (nw == 0)
		return 0;
	i = tz_upper(tz, s);
	off = i ? tz->off[i - 1] : tz->off0;
	for (;;) {
		int64_t e = i < tz->n && tz->at[i] < end ? tz->at[i] : end;

		n = map_segment(w, nw, lo, s, e, off, out, n);
		if (e == end)
			return n;
		off = tz->off[i++];
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
	int32_t jan1 = days_from_civil(y, 1, 1), ndays = is_leap(y) ? 366 : 365;

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
	n = day_utc(cal, local_day(&cal->tz, t), u);
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
	df = local_day(&cal->tz, from);
	dt = local_day(&cal->tz, to);
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
	int32_t d0 = local_day(&cal->tz, t);
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
	    day > month_days(year, month))
		return -1;
	*name = holiday(cal->holidays, days_from_civil(year, month, day), year, month, day);
	return *name ? 1 : 0;
}

int32_t rd_calendar_utc_offset(const struct rd_calendar *cal, int64_t t)
{
	return tz_offset(&cal->tz, t);
}

const char *rd_calendar_timezone(const struct rd_calendar *cal)
{
	return cal->tz.name;
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
		if (d > month_days(2000, m)) /* 2000 is leap: 02-29 is allowed */
			return -1;
		annual[0] = m;
		annual[1] = d;
		return 0;
	}
	if (y < YEAR_MIN || y > YEAR_MAX || d > month_days(y, m))
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
	if (!cal->cache || tz_load(&cal->tz, DEFAULT_ZONE, err, sizeof(err)) != 0) {
		/* tzdata present but unreadable: the built-in rule still works */
		if (!cal->cache || tz_builtin_paris(&cal->tz) != 0) {
			rd_calendar_free(cal);
			return NULL;
		}
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
	tz_clear(&cal->tz);
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
		struct rd_tz tz;

		if (tz_load(&tz, v, err, errlen) != 0)
			return -1;
		tz_clear(&cal->tz);
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
