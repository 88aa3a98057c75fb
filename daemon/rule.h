/* rule.h - alert rules ([rule "NAME"]) and recipient groups
 * ([recipients "NAME"]), loaded and checked from a struct rd_config.
 *
 * Pure logic: no I/O, no clock. The daemon evaluates a rule by feeding
 * samples to the state machine of alertstate.h; docs/alerts.md is the
 * administrator's reference for every key, its default and its meaning. */
#ifndef RD_RULE_H
#define RD_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* What a figure is measured on. */
enum rd_entity {
	RD_ENTITY_QUEUE,
	RD_ENTITY_MAILBOX,
	RD_ENTITY_SOURCE, /* a collector, by its name (no_data) */
};

/* How a threshold's value is written: ratios as percentages ("85%",
 * "0.85"), seconds as durations ("10m"), counts as integers. */
enum rd_unit {
	RD_UNIT_RATIO,
	RD_UNIT_SECONDS,
	RD_UNIT_COUNT,
};

/* The count that is a figure's sample size, for min_samples. The caller
 * computes it from the same window's counters as the figure. */
enum rd_sample {
	RD_SAMPLE_NONE,        /* counts and gauges: min_samples does not apply */
	RD_SAMPLE_OFFERED_NET, /* offered - short_abandoned */
	RD_SAMPLE_GLOBAL,      /* offered - short_abandoned + ivr_handled */
	RD_SAMPLE_ANSWERED,    /* answered */
	RD_SAMPLE_WAITED,      /* answered + abandoned (the waits' histogram) */
	RD_SAMPLE_RECEIVED,    /* received */
	RD_SAMPLE_REPLIED,     /* replied */
};

struct rd_figure {
	const char *name; /* as in INDICATORS.md, e.g. "answered_rate" */
	enum rd_entity entity;
	enum rd_unit unit;
	enum rd_sample sample;
	int gauge; /* a value "now" (live gauge, no_data): no window */
};

/* The figure called name, or NULL. */
const struct rd_figure *rd_figure_find(const char *name);
/* "offered - short_abandoned", ...: for messages and documentation. */
const char *rd_sample_name(enum rd_sample s);
/* "queue", "mailbox", "source". */
const char *rd_entity_name(enum rd_entity e);

enum rd_cmp {
	RD_CMP_LT,
	RD_CMP_LE,
	RD_CMP_GT,
	RD_CMP_GE,
};

/* "value CMP threshold" is the condition: breached for warning and
 * critical, met for clear. Seconds are stored as seconds, ratios as
 * 0..1, counts as integers. */
struct rd_threshold {
	int set;
	enum rd_cmp cmp;
	double value;
};

/* 1 if v satisfies the threshold's condition, 0 if not (or not set). */
int rd_threshold_holds(const struct rd_threshold *t, double v);

/* Parse "< 85%", "<= 0.8", "> 10m", ">= 30" for a unit. Returns 0, or -1
 * with the reason in err. */
int rd_threshold_parse(const char *s, enum rd_unit unit, struct rd_threshold *out, char *err,
                       size_t errlen);

enum rd_level {
	RD_LEVEL_NONE = 0,
	RD_LEVEL_WARNING = 1,
	RD_LEVEL_CRITICAL = 2,
};

const char *rd_level_name(enum rd_level l); /* "ok", "warning", "critical" */

/* Which opening hours gate a rule (see docs/alerts.md#calendars). */
enum rd_rule_calendar {
	RD_RULE_CAL_SITE,   /* default: the calendar of the entity's collector */
	RD_RULE_CAL_ALWAYS, /* calendar = always */
	RD_RULE_CAL_NAMED,  /* calendar = NAME, a [calendar "NAME"] section */
};

struct rd_rule {
	char *name;
	int line; /* of the [rule] header */
	const struct rd_figure *figure;
	char *site_glob;   /* NULL: any site */
	char *entity_glob; /* never NULL ("*" by default) */
	int64_t window_s;  /* 900, 3600, 86400, 604800, 2592000; 0 for gauges */
	struct rd_threshold warning, critical;
	/* The OK-side condition that resolves a firing alert: the "clear"
	 * key, or the complement of the least strict threshold set. */
	struct rd_threshold clear;
	/* The OK-side condition that brings a critical alert back to
	 * warning: critical shifted by the clear margin (clear - warning). */
	struct rd_threshold relief;
	int64_t min_samples;
	int64_t for_s, clear_for_s, repeat_s; /* repeat 0: never */
	enum rd_rule_calendar calendar_mode;
	char *calendar; /* NAMED only */
	char **notify;  /* recipients group names */
	size_t nnotify;
	char **inhibited_by; /* rules whose firing on the site holds these notices */
	size_t ninhibited_by;
	char *severity;  /* a free label for mails and reachctl, or NULL */
	double flap_low; /* percent; flap_high 0: flap detection off */
	double flap_high;
};

/* A [recipients "NAME"] group. */
struct rd_recipients {
	char *name;
	int line;
	char **to, **cc;
	size_t nto, ncc;
	char language[3];     /* "fr" or "en" */
	int64_t group_wait_s; /* notices gathered into one mail (default 30s) */
	int64_t max_per_hour; /* mails per rolling hour; 0 = no cap (default 10) */
};

struct rd_rules {
	struct rd_rule *rules;
	size_t nrules;
	struct rd_recipients *groups;
	size_t ngroups;
};

/* Load and check every [rule] and [recipients] section. Returns the number
 * of errors, each reported through err as "file:line: message"; *out is
 * set (errors or not) unless out of memory, and only valid rules and
 * groups are in it. Free it with rd_rules_free either way. */
int rd_rules_load(const struct rd_config *cfg, struct rd_rules **out, rd_config_error_fn err,
                  void *arg);
void rd_rules_free(struct rd_rules *rules);

const struct rd_recipients *rd_rules_recipients(const struct rd_rules *rules, const char *name);
const struct rd_rule *rd_rules_find(const struct rd_rules *rules, const char *name);

/* 1 if the rule's scope covers entity (a queue, mailbox or collector name
 * of the figure's kind) of site. Mailboxes match without regard to case,
 * as everywhere in reachd. */
int rd_rule_scope_match(const struct rd_rule *rule, const char *site, const char *entity);

/* The level a value breaches: critical if it meets critical, else warning
 * if it meets warning, else none. */
enum rd_level rd_rule_level(const struct rd_rule *rule, double value);

/* Check an e-mail address: ASCII, no control characters, no <>, no
 * spaces, exactly one @ with something on both sides. 0 or -1 + err. */
int rd_rule_check_address(const char *addr, char *err, size_t errlen);

#endif
