/* tz.h - time zones read from the system's compiled tz database
 * (tzfile(5), RFC 8536: "TZif" versions 1 to 4), and the civil-date
 * arithmetic their rules need.
 *
 * The process-wide TZ variable and localtime()/mktime() are never used, so
 * nothing here races with other threads' time conversions. A zone is built
 * once (rd_tz_load and friends, from one thread), then never changes: every
 * function taking a const zone may be called from any number of threads at
 * once. NULL stands for UTC in every query.
 *
 * The POSIX TZ rule in the footer of a version 2+ file (e.g.
 * "CET-1CEST,M3.5.0,M10.5.0/3") is expanded into transitions at load time,
 * up to the end of RD_TZ_LAST_YEAR; after that the last offset stays. */
#ifndef RD_TZ_H
#define RD_TZ_H

#include <stddef.h>
#include <stdint.h>

#ifndef RD_ZONEINFO_DIR
#define RD_ZONEINFO_DIR "/usr/share/zoneinfo"
#endif

/* The calendar answers for local dates up to 2299-12-31: its instants run a
 * few days into 2300. */
#define RD_TZ_LAST_YEAR 2300

struct rd_tz;

/* A zone by IANA name, e.g. "Europe/Paris": letters, digits, '_', '+', '-'
 * and '/' between components, read from RD_ZONEINFO_DIR. NULL or "" is the
 * system's zone: $TZ if it names a zone file (":Europe/Paris",
 * "/path/file"), else /etc/localtime.
 * Returns NULL with a message in err and errno set: ENOENT when there is
 * no such zone file, EINVAL for a bad name or a bad file, else why the file
 * could not be read. For the system's zone, NULL means UTC: neither source
 * could be used, err says why. */
struct rd_tz *rd_tz_load(const char *name, char *err, size_t errlen);

/* A zone from the bytes of a TZif file (tests, embedded zones); name is
 * what rd_tz_name() returns and what messages quote. NULL with err. */
struct rd_tz *rd_tz_parse(const void *data, size_t len, const char *name, char *err, size_t errlen);

/* A zone from a POSIX TZ rule alone, for every year from 1899 to
 * RD_TZ_LAST_YEAR (a built-in zone when the system has no tz database). */
struct rd_tz *rd_tz_from_rule(const char *name, const char *rule, char *err, size_t errlen);

void rd_tz_free(struct rd_tz *tz);

/* The name given at load ("UTC" for NULL). */
const char *rd_tz_name(const struct rd_tz *tz);

/* 1 for a zone that counts leap seconds (right/...): its leap records are
 * ignored, so its changes are read up to the leap seconds so far (27 s
 * since 2017) late. Callers that need exact instants refuse such zones. */
int rd_tz_counts_leap_seconds(const struct rd_tz *tz);

/* Offset of local time from UTC at instant utc, in seconds east. */
int32_t rd_tz_offset(const struct rd_tz *tz, int64_t utc);

/* UTC instant of a wall-clock local time (given as seconds since the epoch
 * as if it were UTC). In the repeated hour after a DST end, the earliest
 * instant not before hint - 60 s is chosen (hint <= 0: the earliest; none:
 * the latest), so that a log crossing the change keeps going forward; a time
 * skipped by a DST start is read with the offset in force before it. */
int64_t rd_tz_to_utc(const struct rd_tz *tz, int64_t local, int64_t hint);

/* The first change of offset strictly after t: 1 with its instant in *at
 * and the offset in force from then on in *off, or 0 if there is none.
 * Instants where only the abbreviation changes count as changes too. */
int rd_tz_next_change(const struct rd_tz *tz, int64_t t, int64_t *at, int32_t *off);

/* --- civil dates: proleptic Gregorian, days since 1970-01-01 ------------- */

/* Day number of y-m-d (month 1..12). */
int64_t rd_tz_days_from_civil(int64_t y, int m, int d);
/* The date of a day number. */
void rd_tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Days in month m (1..12) of year y. */
int rd_tz_month_days(int64_t y, int m);
/* a / b rounded towards minus infinity (b != 0): the day of an instant. */
int64_t rd_tz_floor_div(int64_t a, int64_t b);

#endif
