/* tz.c - see tz.h.
 *
 * Layout: civil dates; the zone object (transitions, lookups, local time
 * to UTC); POSIX TZ rules and their expansion; the TZif reader; loading by
 * name, from the system, from bytes or from a rule alone. */
#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY         86400
#define MAX_OFFSET  (26 * 3600)  /* |UTC offset| is below this (RFC 8536) */
#define TZ_MAX_FILE (256 * 1024) /* real zone files are a few KiB */
#define TZ_NAME_MAX 64           /* longest accepted IANA name, NUL included */
/* A zone with no transitions follows its rule from this year on. */
#define FIRST_RULE_YEAR 1899

struct rd_tz {
	char *name;
	int32_t off0; /* offset before the first transition */
	size_t n, cap;
	int64_t *at;  /* transition instants, strictly increasing */
	int32_t *off; /* offset from at[i] on (seconds east) */
	int leap;     /* the file counts leap seconds: its instants are not POSIX time */
};

/* --- civil dates (H. Hinnant's days_from_civil / civil_from_days) -------- */

int64_t rd_tz_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int rd_tz_month_days(int64_t y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

int64_t rd_tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void rd_tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t year_of(int64_t t)
{
	int64_t y;
	int m, d;

	rd_tz_civil_from_days(rd_tz_floor_div(t, DAY), &y, &m, &d);
	return y;
}

/* --- the zone: transitions and lookups ----------------------------------- */

void rd_tz_free(struct rd_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->at);
	free(tz->off);
	free(tz);
}

/* Append a transition. Two at one instant: the later one wins, so that
 * lookups never meet an empty segment. */
static int tz_push(struct rd_tz *tz, int64_t at, int32_t off)
{
	if (tz->n && at < tz->at[tz->n - 1])
		return -1;
	if (tz->n && at == tz->at[tz->n - 1]) {
		tz->off[tz->n - 1] = off;
		return 0;
	}
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

int32_t rd_tz_offset(const struct rd_tz *tz, int64_t utc)
{
	size_t i;

	if (tz == NULL)
		return 0;
	i = tz_upper(tz, utc);
	return i ? tz->off[i - 1] : tz->off0;
}

int rd_tz_next_change(const struct rd_tz *tz, int64_t t, int64_t *at, int32_t *off)
{
	size_t i;

	if (tz == NULL)
		return 0;
	i = tz_upper(tz, t);
	if (i == tz->n)
		return 0;
	*at = tz->at[i];
	*off = tz->off[i];
	return 1;
}

const char *rd_tz_name(const struct rd_tz *tz)
{
	return tz != NULL ? tz->name : "UTC";
}

int rd_tz_counts_leap_seconds(const struct rd_tz *tz)
{
	return tz != NULL && tz->leap;
}

static void add_unique(int64_t *v, int *n, int64_t x)
{
	for (int i = 0; i < *n; i++)
		if (v[i] == x)
			return;
	v[(*n)++] = x;
}

int64_t rd_tz_to_utc(const struct rd_tz *tz, int64_t local, int64_t hint)
{
	int64_t offs[4], cand[4], best = INT64_MAX, last = INT64_MIN;
	int no = 0, nc = 0;
	int32_t before;

	if (tz == NULL)
		return local;
	/* the offsets that can be in force around this wall-clock time */
	before = rd_tz_offset(tz, local - 90000);
	add_unique(offs, &no, before);
	add_unique(offs, &no, rd_tz_offset(tz, local + 90000));
	for (int i = 0, n = no; i < n; i++)
		add_unique(offs, &no, rd_tz_offset(tz, local - offs[i]));
	for (int i = 0; i < no; i++)
		if (rd_tz_offset(tz, local - offs[i]) == offs[i])
			add_unique(cand, &nc, local - offs[i]);
	if (nc == 0)
		return local - before; /* skipped by a DST start */
	for (int i = 0; i < nc; i++) {
		if (cand[i] > last)
			last = cand[i];
		if ((hint <= 0 || cand[i] >= hint - 60) && cand[i] < best)
			best = cand[i];
	}
	return best != INT64_MAX ? best : last;
}

/* --- POSIX TZ rules ------------------------------------------------------- */

/* A rule date: Mm.w.d, Jn (1..365, no Feb 29) or n (0..365). */
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
		if (tzs_hms(&s, 167, &dt->secs) != 0) /* RFC 8536 allows -167..167 h */
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
	/* zic always writes the dates; POSIX leaves their absence open */
	if (*s++ != ',' || tzs_date(&s, &r->start) != 0 || *s++ != ',' ||
	    tzs_date(&s, &r->end) != 0 || *s)
		return -1;
	return 0;
}

/* The instant of a rule change in year y; `before` is the offset in force
 * until then, in which the rule's local time is written. */
static int64_t tzs_when(const struct tz_date *dt, int64_t y, int32_t before)
{
	int64_t jan1 = rd_tz_days_from_civil(y, 1, 1), day;

	if (dt->kind == 'J') {
		day = jan1 + dt->n - 1 + (is_leap(y) && dt->n >= 60);
	} else if (dt->kind == 'D') {
		day = jan1 + dt->n;
	} else {
		int64_t first = rd_tz_days_from_civil(y, dt->m, 1);
		int wd = (int)((first % 7 + 11) % 7); /* 0 = Sunday; 1970-01-01 was a Thursday */

		day = first + (dt->d - wd + 7) % 7 + (dt->w - 1) * 7;
		while (day >= first + rd_tz_month_days(y, dt->m))
			day -= 7;
	}
	return day * DAY + dt->secs - before;
}

/* Append the rule's changes after the last transition, up to the end of
 * RD_TZ_LAST_YEAR, so that lookups never need the rule again. */
static int tz_extend(struct rd_tz *tz, const struct tz_rule *r)
{
	int64_t last = tz->n ? tz->at[tz->n - 1] : INT64_MIN;
	int64_t y = tz->n ? year_of(last) - 1 : FIRST_RULE_YEAR;

	if (!tz->n)
		tz->off0 = r->std;
	if (!r->has_dst)
		return 0;
	for (; y <= RD_TZ_LAST_YEAR; y++) {
		int64_t s = tzs_when(&r->start, y, r->std), e = tzs_when(&r->end, y, r->dst);
		struct {
			int64_t at;
			int32_t off;
		} ev[2] = {{s, r->dst}, {e, r->std}};
		int first = s <= e ? 0 : 1; /* southern zones end DST first */

		for (int k = 0; k < 2; k++) {
			int i = (first + k) % 2;

			if (ev[i].at > last && tz_push(tz, ev[i].at, ev[i].off) != 0)
				return -1;
		}
	}
	return 0;
}

/* --- the TZif reader (RFC 8536) -------------------------------------------- */

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

/* Parse a TZif file into tz; *why tells what is wrong. Leap-second
 * records are skipped, and noted in tz->leap. */
static int tzif_parse(struct rd_tz *tz, const unsigned char *buf, size_t len, const char **why)
{
	struct tzif_hdr h;
	const unsigned char *p;

	*why = "not a valid time zone file";
	if (tzif_header(buf, len, 4, &h) != 0)
		return -1;
	tz->leap = h.leap != 0;
	if (h.version == '\0')
		return tzif_body(tz, buf + 44, &h, 4);
	/* version 2+: the 64-bit block follows the 32-bit one, with its header */
	p = buf + 44 + h.body;
	if (tzif_header(p, len - (size_t)(p - buf), 8, &h) != 0 ||
	    tzif_body(tz, p + 44, &h, 8) != 0)
		return -1;
	tz->leap = h.leap != 0;
	p += 44 + h.body;
	return tzif_footer(tz, p, len - (size_t)(p - buf));
}

/* --- building a zone --------------------------------------------------------- */

static struct rd_tz *tz_new(const char *name)
{
	struct rd_tz *tz = calloc(1, sizeof(*tz));

	if (tz != NULL && (tz->name = strdup(name)) == NULL) {
		free(tz);
		return NULL;
	}
	return tz;
}

/* A zone from TZif bytes; NULL with a static reason in *why. */
static struct rd_tz *tz_build(const void *data, size_t len, const char *name, const char **why)
{
	struct rd_tz *tz = tz_new(name);

	if (tz == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (tzif_parse(tz, data, len, why) != 0) {
		rd_tz_free(tz);
		return NULL;
	}
	return tz;
}

struct rd_tz *rd_tz_parse(const void *data, size_t len, const char *name, char *err, size_t errlen)
{
	const char *why;
	struct rd_tz *tz = tz_build(data, len, name, &why);

	if (tz == NULL)
		snprintf(err, errlen, "time zone '%s' cannot be used: %s", name, why);
	return tz;
}

struct rd_tz *rd_tz_from_rule(const char *name, const char *rule, char *err, size_t errlen)
{
	struct rd_tz *tz = tz_new(name);
	struct tz_rule r;

	if (tz == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (tzs_parse(rule, &r) != 0 || tz_extend(tz, &r) != 0) {
		rd_tz_free(tz);
		snprintf(err, errlen, "time zone '%s': '%s' is not a usable POSIX TZ rule", name,
		         rule);
		return NULL;
	}
	return tz;
}

/* Up to TZ_MAX_FILE + 1 bytes of fd into buf: 0, or an errno value (EFBIG
 * for a file longer than TZ_MAX_FILE). */
static int tz_read_all(int fd, unsigned char *buf, size_t *len)
{
	*len = 0;
	while (*len <= TZ_MAX_FILE) {
		ssize_t n = read(fd, buf + *len, TZ_MAX_FILE + 1 - *len);

		if (n == 0)
			return 0;
		if (n > 0)
			*len += (size_t)n;
		else if (errno != EINTR)
			return errno;
	}
	return EFBIG;
}

/* The whole of a regular file of at most TZ_MAX_FILE bytes, in a buffer
 * to free; -1 with errno. O_NONBLOCK: a FIFO put in the way must not block
 * the caller. */
static int tz_read_file(const char *path, unsigned char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), e = 0;
	struct stat st;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	else if ((*buf = malloc(TZ_MAX_FILE + 1)) == NULL)
		e = ENOMEM;
	else
		e = tz_read_all(fd, *buf, len);
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e != 0) {
		free(*buf);
		*buf = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

/* IANA names: letters, digits, '_', '+', '-' and '/' between components;
 * no '.', so no way out of the zoneinfo directory. */
static int tz_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/' ||
	    strstr(name, "//"))
		return 0;
	for (const char *s = name; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_+-/", *s))
			return 0;
	return 1;
}

/* The zone file at path. NULL with errno set and *why NULL when the file
 * cannot be read, or *why saying what is wrong in it. */
static struct rd_tz *tz_from_file(const char *path, const char *name, const char **why)
{
	unsigned char *buf;
	size_t len;
	struct rd_tz *tz;

	*why = NULL;
	if (tz_read_file(path, &buf, &len) != 0)
		return NULL;
	tz = tz_build(buf, len, name, why);
	free(buf);
	if (tz == NULL)
		errno = EINVAL;
	return tz;
}

/* What rd_tz_load() says of the system's zone file at path. */
static struct rd_tz *tz_load_file(const char *path, const char *name, char *err, size_t errlen)
{
	const char *why;
	struct rd_tz *tz = tz_from_file(path, name, &why);
	int e = errno;

	if (tz != NULL)
		return tz;
	snprintf(err, errlen, "cannot use time zone file %s: %s", path,
	         why != NULL ? why : strerror(e));
	errno = e;
	return NULL;
}

/* $TZ if it names a zone file ("Europe/Paris", ":Europe/Paris", ":/path"),
 * else /etc/localtime; NULL (UTC) with the reason the latter failed. */
static struct rd_tz *tz_load_system(char *err, size_t errlen)
{
	const char *env = getenv("TZ");
	char path[512];
	struct rd_tz *tz;
	int n;

	if (env != NULL && *env == ':')
		env++;
	/* a POSIX rule in $TZ names no file: /etc/localtime is tried next */
	if (env != NULL && *env != '\0' && strstr(env, "..") == NULL) {
		n = snprintf(path, sizeof(path), "%s%s", *env == '/' ? "" : RD_ZONEINFO_DIR "/",
		             env);
		if (n > 0 && (size_t)n < sizeof(path) &&
		    (tz = tz_load_file(path, env, err, errlen)) != NULL)
			return tz;
	}
	return tz_load_file("/etc/localtime", "/etc/localtime", err, errlen);
}

struct rd_tz *rd_tz_load(const char *name, char *err, size_t errlen)
{
	char path[sizeof(RD_ZONEINFO_DIR) + TZ_NAME_MAX + 1];
	const char *why;
	struct rd_tz *tz;
	int e;

	if (name == NULL || *name == '\0')
		return tz_load_system(err, errlen);
	if (!tz_name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a time zone name (e.g. Europe/Paris)", name);
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", RD_ZONEINFO_DIR, name);
	tz = tz_from_file(path, name, &why);
	if (tz != NULL)
		return tz;
	e = errno;
	if (why == NULL)
		snprintf(err, errlen, "unknown time zone '%s' (%s: %s)", name, path, strerror(e));
	else
		snprintf(err, errlen, "time zone '%s' cannot be used: %s", name, why);
	errno = e;
	return NULL;
}
