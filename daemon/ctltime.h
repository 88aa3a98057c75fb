/* ctltime.h - the times an administrator types on reachctl's command line
 * (silence ends, "since" of alerts) and the way reachctl prints them back.
 *
 * Pure: no clock, no I/O. A time is either ISO 8601 or a duration from now:
 *
 *   2026-12-01T18:00, 2026-12-01 18:00:30, 2026-12-01   the site's local time
 *   2026-12-01T17:00Z, 2026-12-01 18:00+01:00, ...+0100  that instant
 *   2h, 90m, 3d, 1w                                     now + or - the duration
 *
 * Local times are read in the zone given (the site's [daemon] timezone),
 * not in the server's, because the administrator thinks in the site's
 * opening hours. */
#ifndef RD_CTLTIME_H
#define RD_CTLTIME_H

#include <stddef.h>
#include <stdint.h>

struct rd_tz;

/* Parse s into Unix seconds *out. A duration counts from now, forward when
 * dir > 0 (an end: "--until 2h") and backward when dir < 0 (a start:
 * "--since 2h"); it must be positive and whole seconds. tz NULL = UTC.
 * Returns 0, or -1 with the reason in err. */
int rd_ctltime_parse(const char *s, const struct rd_tz *tz, int64_t now, int dir, int64_t *out,
                     char *err, size_t errlen);

/* "2030-01-15 18:00+01:00": local time in tz (NULL = UTC), to the minute,
 * with its offset so that the hour repeated at a DST end is not ambiguous;
 * seconds are shown only when not zero. */
void rd_ctltime_local(char *buf, size_t len, const struct rd_tz *tz, int64_t t);

/* "2030-01-15T17:00:00Z", as in every JSON output of reachctl. */
void rd_ctltime_utc(char *buf, size_t len, int64_t t);

#endif
