/* calendar.h - opening hours and business time of a site ([calendar "NAME"]).
 *
 * A calendar is an IANA time zone, a weekly schedule (several opening ranges
 * a day), a set of French public holidays and extra closures. It answers
 * "is the office open at t?", "how much opening time lies in [from, to)?"
 * (reply_delay_business_s, oldest_unanswered_s) and "when do n business days
 * after t end?" (replied_within_target). docs/calendars.md is the reference
 * for the syntax and the exact rules; the short version:
 *
 *   timezone = Europe/Paris                     (default)
 *   hours    = mon-fri 09:00-12:00 13:30-17:00; sat 09:00-12:00
 *                                               (default mon-fri 09:00-17:00)
 *   closed   = 2026-12-24, 2027-07-12..2027-07-16, 12-31 12:00-24:00
 *                                               (default none)
 *   holidays = fr | fr-alsace-moselle | none    (default fr)
 *
 * Instants are Unix seconds (UTC). Opening hours are wall-clock times of the
 * calendar's zone: a 09:00-17:00 day is 8 hours on the days clocks change
 * too. Only local dates from 1900-01-01 to 2299-12-31 can be open; outside
 * them the calendar is closed.
 *
 * Time zones are read from the system's compiled tz database
 * (/usr/share/zoneinfo) by tz.c: the process-wide TZ variable and
 * localtime()/mktime() are never used, so nothing here races with other
 * threads' time conversions.
 *
 * Thread safety: build a calendar (rd_calendar_new, rd_calendar_set) in one
 * thread. Once it is shared, it must not be changed; every query function
 * (those taking a const calendar) may then be called from any number of
 * threads at once. Queries fill an internal per-year cache lazily; it is
 * published with atomic operations and needs no lock. To change a shared
 * calendar, build a new one, swap the pointer, and free the old one when no
 * thread uses it any more. */
#ifndef RD_CALENDAR_H
#define RD_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

struct rd_calendar;

/* A calendar with the defaults: Europe/Paris, mon-fri 09:00-17:00, French
 * public holidays, no closures. If the system has no tz database, the
 * current Europe/Paris rule (CET/CEST, last Sunday of March to last Sunday
 * of October) is used for every year. NULL only when out of memory. */
struct rd_calendar *rd_calendar_new(void);
void rd_calendar_free(struct rd_calendar *cal);

/* Set one key of a [calendar] section: "timezone", "hours", "closed" or
 * "holidays"; the value replaces the key's previous value. Returns 0, or -1
 * with the reason in err (without the key's name) and the calendar
 * unchanged. An unknown key is an error too. */
int rd_calendar_set(struct rd_calendar *cal, const char *key, const char *value, char *err,
                    size_t errlen);

/* The calendar of section [calendar "name"] of cfg: NULL with the reason
 * in err when there is no such section, a key is wrong (its line is
 * named), or out of memory. */
struct rd_config;
struct rd_calendar *rd_calendar_load(const struct rd_config *cfg, const char *name, char *err,
                                     size_t errlen);

/* 1 if the office is open at instant t (an opening range includes its
 * start and excludes its end), else 0. */
int rd_calendar_is_open(const struct rd_calendar *cal, int64_t t);

/* Seconds of opening time in [from, to); 0 if to <= from. */
int64_t rd_calendar_business_seconds(const struct rd_calendar *cal, int64_t from, int64_t to);

/* The deadline n business days after t, for reply targets such as "2
 * business days". Counting starts at s, the first open instant at or after
 * t, on the open day D0 that holds s; x is the opening time of D0 before s.
 * The deadline is on Dn, the n-th open day after D0 (a day is open when it
 * has any opening time left after holidays and closures), at the instant
 * where x seconds of Dn's opening time have passed: with the same hours
 * every open day, the same time of day as s. If Dn has less than x seconds
 * of opening time, the deadline is Dn's closing time; if x seconds end
 * exactly where a break starts, it is the end of the break. n = 0 gives s.
 * A reply is within the target when it is at or before the deadline.
 * Returns -1 if n < 0 or no such instant exists before 2300. */
int64_t rd_calendar_add_business_days(const struct rd_calendar *cal, int64_t t, int n);

/* 1 with *name set (French, UTF-8, e.g. "Lundi de Pâques") if the date is a
 * public holiday of the calendar's holiday set; 0 with *name = NULL if it is
 * not (closures from "closed" are not holidays); -1 if the date is invalid
 * or outside 1900..2299. */
int rd_calendar_holiday_name(const struct rd_calendar *cal, int year, int month, int day,
                             const char **name);

/* The zone's offset from UTC at instant t, in seconds east (3600 for CET). */
int32_t rd_calendar_utc_offset(const struct rd_calendar *cal, int64_t t);

/* The IANA name of the calendar's zone. */
const char *rd_calendar_timezone(const struct rd_calendar *cal);

/* Western Easter Sunday of a Gregorian year (1583..9999): 0 with *month
 * and *day set, or -1 for a year out of range. */
int rd_easter(int year, int *month, int *day);

#endif
