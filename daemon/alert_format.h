/* alert_format.h - the words and numbers of an alert as people read them
 * in a mail, in French or English: "62,5 %", "1 h 05 min", "< 85 %",
 * "lun. 30/11/2026 09:15 (heure locale)". */
#ifndef RD_ALERT_FORMAT_H
#define RD_ALERT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "alertstate.h"
#include "rule.h"

struct rd_calendar;

struct rd_alert_text {
	char value[48];         /* the last value, in the figure's unit */
	char threshold[48];     /* the threshold concerned, in the language */
	char threshold_raw[48]; /* the same, written like the configuration: "< 85%" */
	char since[64];         /* when the state began, local time */
	const char *state;      /* "firing", "resolved" or "flapping" (template flags) */
};

/* lang: "fr" or "en". tzcal: the calendar whose time zone dates are shown
 * in (NULL: UTC). */
void rd_alert_text_fill(struct rd_alert_text *t, const char *lang, const struct rd_rule *r,
                        const struct rd_alert_state *st, const struct rd_alert_decision *d,
                        const struct rd_threshold *th, const struct rd_calendar *tzcal);

/* A value of unit u in lang (buf of len bytes). */
void rd_alert_format_value(char *buf, size_t len, enum rd_unit u, double v, const char *lang);

#endif
