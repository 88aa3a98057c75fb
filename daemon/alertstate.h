/* alertstate.h - the state of one alert (a rule on one entity) and the
 * decision each evaluation brings, as pure functions: no clock, no I/O.
 *
 * The caller keeps one struct rd_alert_state per (rule, site, entity),
 * persists it (rd_alert_state_to_json, a PostgreSQL jsonb column) in the
 * same transaction as the outbox row of any notice, and calls
 * rd_alert_eval once per evaluation. docs/alerts.md describes the state
 * machine for administrators; the short version:
 *
 *   inactive/resolved --problem--> pending --problem for `for`--> firing
 *   firing --clear for `clear_for`--> resolved
 *   firing warning --critical for `for`--> critical (escalation)
 *   firing critical --past critical by the clear margin for `clear_for`--> warning
 *
 * The notices sent follow the state, never the other way round: a notice
 * that cannot be sent now (silence, flapping, closed hours) is sent later
 * if the state still calls for it, and a recovery goes only where a
 * problem notice went. */
#ifndef RD_ALERTSTATE_H
#define RD_ALERTSTATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rule.h"

/* Flap detection as in Nagios: 21 stored states, 20 transitions. */
#define RD_ALERT_FLAP_STATES 21
/* A state is stored at every change of the confirmed level, and one per
 * RD_ALERT_FLAP_STEP_S elapsed without a change, so that a steady alert
 * drains its history at a known pace whatever the evaluation period. */
#define RD_ALERT_FLAP_STEP_S 300
/* After a gap longer than this between two evaluations (the daemon was
 * down), running timers (for, clear_for) start again: conditions were not
 * observed in between. Prometheus's for-outage-tolerance default. */
#define RD_ALERT_OUTAGE_TOLERANCE_S 3600

enum rd_alert_status {
	RD_ALERT_INACTIVE, /* never fired, or pending gave up */
	RD_ALERT_PENDING,  /* a problem, not yet for `for` */
	RD_ALERT_FIRING,
	RD_ALERT_RESOLVED, /* fired then cleared; behaves as inactive */
};

struct rd_alert_state {
	enum rd_alert_status status;
	enum rd_level level; /* the firing level; NONE unless FIRING */
	int64_t since;       /* when status or level last changed; 0: never */
	/* Start of the current unbroken run of samples where the value...
	 * (0: not in such a run) */
	int64_t problem_since;  /* ...breaches warning (or critical alone) */
	int64_t critical_since; /* ...breaches critical */
	int64_t clear_since;    /* ...meets clear */
	int64_t relief_since;   /* ...meets relief without breaching critical */
	int64_t last_eval_at;
	int64_t last_notified_at;          /* last problem or recovery notice sent */
	enum rd_level last_notified_level; /* NONE: nothing, or a recovery, was sent last */
	/* Confirmed levels (0 ok, 1 warning, 2 critical), oldest first from
	 * flap_next (a ring). */
	uint8_t flap_history[RD_ALERT_FLAP_STATES];
	int flap_next;
	int64_t flap_recorded_at;
	double flap_percent;
	int flapping;
	int insufficient; /* the last sample had no value or too few samples */
	int has_value;    /* last_value holds the last sufficient sample's value */
	double last_value;
};

/* A zeroed state is the initial state; this is that, spelled out. */
void rd_alert_state_init(struct rd_alert_state *st);

/* One evaluation of the rule's figure on one entity. */
struct rd_alert_sample {
	int64_t now;     /* Unix seconds; never earlier than the last one */
	int has_value;   /* 0: the figure is null (a rate over zero calls) */
	double value;    /* in the figure's unit: ratio 0..1, seconds, count */
	int64_t samples; /* the figure's sample size (rd_figure.sample) */
	int in_calendar; /* the rule's calendar is open at now */
	int silenced;    /* a silence matches (rd_silence_matches) */
};

enum rd_alert_action {
	RD_ACT_NONE,
	RD_ACT_FIRE,
	RD_ACT_ESCALATE,
	RD_ACT_DEESCALATE,
	RD_ACT_RESOLVE,
	RD_ACT_REPEAT,
	RD_ACT_FLAPPING_START,
	RD_ACT_FLAPPING_STOP,
	RD_ACT_INSUFFICIENT, /* entered "insufficient data"; never mailed */
};

/* Why a decision is not mailed. */
enum rd_alert_quiet {
	RD_QUIET_NONE,
	RD_QUIET_SILENCED,
	RD_QUIET_FLAPPING,
	RD_QUIET_CLOSED,       /* outside the rule's calendar */
	RD_QUIET_NOT_NOTIFIED, /* the end or easing of a problem nobody was told of */
};

struct rd_alert_decision {
	enum rd_alert_action action;
	enum rd_level level; /* FIRE/ESCALATE/DEESCALATE/REPEAT: the new level;
	                        RESOLVE: the level resolved; FLAPPING_*: current */
	/* FLAPPING_STOP only: the notice deferred while flapping, sent in the
	 * same mail (RESOLVE if a problem was notified and it is over, FIRE,
	 * ESCALATE or DEESCALATE if the level differs from the one notified). */
	enum rd_alert_action then;
	enum rd_level then_level;
	int notify;                /* 1: the caller queues one mail for it */
	enum rd_alert_quiet quiet; /* notify 0 with an action: why */
};

/* The state after sample s, from prev, into *next (which may be prev),
 * and the decision. Every transition is reported, mailed or not, so the
 * caller can record it; RD_ACT_NONE means nothing to record. */
struct rd_alert_decision rd_alert_eval(const struct rd_rule *rule,
                                       const struct rd_alert_state *prev,
                                       const struct rd_alert_sample *s,
                                       struct rd_alert_state *next);

/* The weighted percentage of state change of a history (Nagios's
 * formula): transitions weighted from 0.75 (oldest) to 1.25 (newest),
 * sum x 100 / 20. */
double rd_alert_flap_percent(const struct rd_alert_state *st);

const char *rd_alert_action_name(enum rd_alert_action a); /* "fire", ... */
const char *rd_alert_status_name(enum rd_alert_status s); /* "pending", ... */

/* 1 if a and b are the same state, their evaluation time aside (whether a
 * state must be written again). Kept beside to_json: a new field goes in
 * both. */
int rd_alert_state_same(const struct rd_alert_state *a, const struct rd_alert_state *b);

/* A JSON object with every field (new reference, NULL if out of memory),
 * and back. from_json returns 0, or -1 with the reason in err. */
json_t *rd_alert_state_to_json(const struct rd_alert_state *st);
int rd_alert_state_from_json(const json_t *j, struct rd_alert_state *st, char *err, size_t errlen);

/* --- silences ------------------------------------------------------------- */

/* A silence (reachctl silence): NULL or "" globs match everything. scope
 * is matched against "SITE/ENTITY" when it holds a '/', else against the
 * entity alone, mailboxes without regard to case. Active from starts (0:
 * at once) until until, excluded. */
struct rd_silence {
	const char *rule_glob;
	const char *scope_glob;
	int64_t starts;
	int64_t until;
};

int rd_silence_matches(const struct rd_silence *sil, const struct rd_rule *rule, const char *site,
                       const char *entity, int64_t now);

/* --- grouping -------------------------------------------------------------- */

/* What to do now with the notices waiting for one recipients group. */
struct rd_group_plan {
	int send;        /* 1: send every pending notice now, in one mail */
	int digest;      /* that mail was held back by the rate cap */
	int64_t next_at; /* send 0 with notices pending: ask again then */
};

/* Decide for one group at now. sent: when its previous mails went out,
 * in ascending order (only the last hour counts); oldest: when the oldest pending
 * notice was queued; npending: how many are pending. A batch waits
 * group_wait after its oldest notice so that notices of several rules go
 * out together; past max_per_hour mails in a rolling hour, notices wait
 * for a free slot and then leave as one digest. */
void rd_alert_plan_group(const struct rd_recipients *g, int64_t now, const int64_t *sent,
                         size_t nsent, int64_t oldest, size_t npending, struct rd_group_plan *out);

#endif
