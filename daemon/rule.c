/* rule.c - see rule.h. Loading goes on after an error so that an
 * administrator sees every problem of every rule at once; a rule or group
 * with an error is left out of the result. */
#include "rule.h"

#include "utf8.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- figures ------------------------------------------------------------- */

#define Q     RD_ENTITY_QUEUE
#define M     RD_ENTITY_MAILBOX
#define RATIO RD_UNIT_RATIO
#define SECS  RD_UNIT_SECONDS
#define COUNT RD_UNIT_COUNT

/* INDICATORS.md, in its order. The sample size of a rate is its
 * denominator; that of a mean or quantile is the number of values in it. */
static const struct rd_figure figures[] = {
    {"offered", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"answered", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"abandoned", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"short_abandoned", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"timed_out", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"transferred", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"ivr_handled", Q, COUNT, RD_SAMPLE_NONE, 0},
    {"answered_rate", Q, RATIO, RD_SAMPLE_OFFERED_NET, 0},
    {"global_rate", Q, RATIO, RD_SAMPLE_GLOBAL, 0},
    {"abandon_rate", Q, RATIO, RD_SAMPLE_OFFERED_NET, 0},
    {"service_level", Q, RATIO, RD_SAMPLE_ANSWERED, 0},
    {"asa_s", Q, SECS, RD_SAMPLE_ANSWERED, 0},
    {"wait_p50_s", Q, SECS, RD_SAMPLE_WAITED, 0},
    {"wait_p90_s", Q, SECS, RD_SAMPLE_WAITED, 0},
    {"talk_avg_s", Q, SECS, RD_SAMPLE_ANSWERED, 0},
    {"calls_waiting", Q, COUNT, RD_SAMPLE_NONE, 1},
    {"longest_wait_s", Q, SECS, RD_SAMPLE_NONE, 1},
    {"received", M, COUNT, RD_SAMPLE_NONE, 0},
    {"acknowledged", M, COUNT, RD_SAMPLE_NONE, 0},
    {"ack_rate", M, RATIO, RD_SAMPLE_RECEIVED, 0},
    {"replied", M, COUNT, RD_SAMPLE_NONE, 0},
    {"reply_delay_avg_s", M, SECS, RD_SAMPLE_REPLIED, 0},
    {"reply_delay_p50_s", M, SECS, RD_SAMPLE_REPLIED, 0},
    {"reply_delay_p90_s", M, SECS, RD_SAMPLE_REPLIED, 0},
    {"reply_delay_max_s", M, SECS, RD_SAMPLE_REPLIED, 0},
    {"replied_within_target", M, RATIO, RD_SAMPLE_REPLIED, 0},
    {"backlog", M, COUNT, RD_SAMPLE_NONE, 1},
    {"oldest_unanswered_s", M, SECS, RD_SAMPLE_NONE, 1},
    {"oldest_unanswered_business_s", M, SECS, RD_SAMPLE_NONE, 1},
    {"no_data", RD_ENTITY_SOURCE, SECS, RD_SAMPLE_NONE, 1},
};

#undef Q
#undef M
#undef RATIO
#undef SECS
#undef COUNT

const struct rd_figure *rd_figure_find(const char *name)
{
	for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++)
		if (strcmp(figures[i].name, name) == 0)
			return &figures[i];
	return NULL;
}

const char *rd_sample_name(enum rd_sample s)
{
	switch (s) {
	case RD_SAMPLE_NONE: return "none";
	case RD_SAMPLE_OFFERED_NET: return "offered - short_abandoned";
	case RD_SAMPLE_GLOBAL: return "offered - short_abandoned + ivr_handled";
	case RD_SAMPLE_ANSWERED: return "answered";
	case RD_SAMPLE_WAITED: return "answered + abandoned";
	case RD_SAMPLE_RECEIVED: return "received";
	case RD_SAMPLE_REPLIED: return "replied";
	}
	return "?";
}

const char *rd_entity_name(enum rd_entity e)
{
	switch (e) {
	case RD_ENTITY_QUEUE: return "queue";
	case RD_ENTITY_MAILBOX: return "mailbox";
	case RD_ENTITY_SOURCE: return "source";
	}
	return "?";
}

const char *rd_level_name(enum rd_level l)
{
	switch (l) {
	case RD_LEVEL_NONE: return "ok";
	case RD_LEVEL_WARNING: return "warning";
	case RD_LEVEL_CRITICAL: return "critical";
	}
	return "?";
}

/* --- thresholds ---------------------------------------------------------- */

int rd_threshold_holds(const struct rd_threshold *t, double v)
{
	if (!t->set)
		return 0;
	switch (t->cmp) {
	case RD_CMP_LT: return v < t->value;
	case RD_CMP_LE: return v <= t->value;
	case RD_CMP_GT: return v > t->value;
	case RD_CMP_GE: return v >= t->value;
	}
	return 0;
}

static int below(enum rd_cmp c)
{
	return c == RD_CMP_LT || c == RD_CMP_LE;
}

static const char *cmp_name(enum rd_cmp c)
{
	static const char *names[] = {"<", "<=", ">", ">="};

	return names[c];
}

/* A comparator at the start of s: its length, or 0. */
static size_t parse_cmp(const char *s, enum rd_cmp *cmp)
{
	if (s[0] == '<' || s[0] == '>') {
		int eq = s[1] == '=';

		*cmp = s[0] == '<' ? (eq ? RD_CMP_LE : RD_CMP_LT) : (eq ? RD_CMP_GE : RD_CMP_GT);
		return eq ? 2 : 1;
	}
	return 0;
}

static int parse_value(const char *s, enum rd_unit unit, double *out, char *err, size_t errlen)
{
	int64_t n;

	switch (unit) {
	case RD_UNIT_RATIO: return rd_parse_percent(s, out, err, errlen);
	case RD_UNIT_SECONDS:
		if (rd_parse_duration_ms(s, &n, err, errlen) != 0)
			return -1;
		*out = (double)n / 1000.0;
		return 0;
	case RD_UNIT_COUNT:
		if (rd_parse_int(s, 0, INT32_MAX, &n, err, errlen) != 0)
			return -1;
		*out = (double)n;
		return 0;
	}
	return -1;
}

int rd_threshold_parse(const char *s, enum rd_unit unit, struct rd_threshold *out, char *err,
                       size_t errlen)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = parse_cmp(s, &out->cmp);
	if (n == 0) {
		snprintf(err, errlen, "'%s' needs a comparison first: <, <=, > or >=", s);
		return -1;
	}
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	if (parse_value(s, unit, &out->value, err, errlen) != 0)
		return -1;
	out->set = 1;
	return 0;
}

/* "< 85%", "> 2d" back from a threshold, for messages. */
static void threshold_str(const struct rd_threshold *t, enum rd_unit unit, char *buf, size_t len)
{
	static const struct {
		double s;
		const char *unit;
	} units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}};
	double v = t->value;
	const char *u = "s";

	if (unit == RD_UNIT_RATIO) {
		snprintf(buf, len, "%s %g%%", cmp_name(t->cmp), v * 100.0);
		return;
	}
	if (unit == RD_UNIT_COUNT) {
		snprintf(buf, len, "%s %g", cmp_name(t->cmp), v);
		return;
	}
	for (size_t i = 0; i < 3 && v > 0; i++)
		if ((double)(int64_t)(v / units[i].s) * units[i].s == v) {
			v /= units[i].s;
			u = units[i].unit;
			break;
		}
	snprintf(buf, len, "%s %g%s", cmp_name(t->cmp), v, u);
}

static enum rd_cmp complement(enum rd_cmp c)
{
	static const enum rd_cmp inv[] = {RD_CMP_GE, RD_CMP_GT, RD_CMP_LE, RD_CMP_LT};

	return inv[c];
}

/* Every value meeting clear must be outside base's breach. */
static int clear_on_ok_side(const struct rd_threshold *base, const struct rd_threshold *clear)
{
	if (below(base->cmp) == below(clear->cmp))
		return 0;
	if (clear->value == base->value)
		return !(base->cmp == RD_CMP_LE && clear->cmp == RD_CMP_GE) &&
		       !(base->cmp == RD_CMP_GE && clear->cmp == RD_CMP_LE);
	return below(base->cmp) ? clear->value > base->value : clear->value < base->value;
}

/* --- loading ------------------------------------------------------------- */

struct load {
	const struct rd_config *cfg;
	rd_config_error_fn err;
	void *arg;
	int nerr;
	const char *what; /* "rule" or "recipients" */
	const struct rd_section *s;
	int bad; /* errors in the current section */
};

static void complain(struct load *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One error, prefixed with the section it is about. */
static void complain(struct load *ld, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rd_config_report(ld->cfg, line, ld->err, ld->arg, "%s \"%s\": %s", ld->what, ld->s->name,
	                 msg);
	ld->nerr++;
	ld->bad++;
}

/* strdup that reports running out of memory as an error of the section,
 * so that a half-built rule is never used. */
static char *copy_str(struct load *ld, const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		complain(ld, ld->s->line, "out of memory");
	return d;
}

static const struct rd_kv *kv_of(const struct rd_section *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return &s->kv[i];
	return NULL;
}

static int section_exists(const struct rd_config *cfg, const char *kind, const char *name)
{
	for (const struct rd_section *s = rd_config_next(cfg, kind, NULL); s;
	     s = rd_config_next(cfg, kind, s))
		if (strcmp(s->name, name) == 0)
			return 1;
	return 0;
}

/* A duration key in whole seconds, at least min_s; *out unchanged if
 * absent. */
static void get_seconds(struct load *ld, const char *key, int64_t min_s, int64_t *out)
{
	const struct rd_kv *kv = kv_of(ld->s, key);
	char err[256];
	int64_t ms;

	if (!kv)
		return;
	if (rd_parse_duration_ms(kv->value, &ms, err, sizeof(err)) != 0)
		complain(ld, kv->line, "%s: %s", key, err);
	else if (ms % 1000 != 0)
		complain(ld, kv->line, "%s: '%s' is not a whole number of seconds", key, kv->value);
	else if (ms != 0 && ms / 1000 < min_s)
		complain(ld, kv->line, "%s: must be 0 or at least %llds", key, (long long)min_s);
	else
		*out = ms / 1000;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Split "a, b,c" into trimmed items. Returns 0, or -1 after reporting an
 * empty item or running out of memory; *out then holds the items so far. */
static int split_list(struct load *ld, const struct rd_kv *kv, char ***out, size_t *n)
{
	const char *p = kv->value;

	*out = NULL;
	*n = 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char **grown;

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			complain(ld, kv->line, "%s: empty item in '%s'", kv->key, kv->value);
			return -1;
		}
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown) {
			complain(ld, kv->line, "out of memory");
			return -1;
		}
		*out = grown;
		if (!(grown[*n] = copy_str(ld, p, len)))
			return -1;
		(*n)++;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* --- [rule] keys ---------------------------------------------------------- */

static void rule_figure(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "figure");

	if (!kv) {
		complain(ld, ld->s->line, "figure is required (e.g. figure = answered_rate)");
		return;
	}
	r->figure = rd_figure_find(kv->value);
	if (!r->figure)
		complain(ld, kv->line, "figure: unknown figure '%s' (see docs/alerts.md)",
		         kv->value);
}

static int parse_entity(const char *s, enum rd_entity *e, const char **pattern)
{
	static const struct {
		const char *prefix;
		enum rd_entity e;
	} kinds[] = {{"queue:", RD_ENTITY_QUEUE},
	             {"mailbox:", RD_ENTITY_MAILBOX},
	             {"source:", RD_ENTITY_SOURCE}};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(s, kinds[i].prefix, n) == 0) {
			*e = kinds[i].e;
			*pattern = s + n;
			return 0;
		}
	}
	return -1;
}

/* scope = [site:PATTERN/]KIND:PATTERN, or site:PATTERN alone. */
static void rule_scope(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "scope");
	const char *v = kv ? kv->value : NULL, *pattern = "*";
	enum rd_entity e;

	if (v && strncmp(v, "site:", 5) == 0) {
		const char *slash = strchr(v, '/');
		size_t len = slash ? (size_t)(slash - v - 5) : strlen(v + 5);

		if (len == 0) {
			complain(ld, kv->line, "scope: empty site pattern in '%s'", v);
			return;
		}
		free(r->site_glob);
		r->site_glob = copy_str(ld, v + 5, len);
		v = slash ? slash + 1 : NULL;
	}
	if (v) {
		if (parse_entity(v, &e, &pattern) != 0) {
			complain(ld, kv->line,
			         "scope: '%s' is not queue:PATTERN, mailbox:PATTERN, "
			         "source:PATTERN or site:PATTERN/KIND:PATTERN",
			         kv->value);
			return;
		}
		if (!*pattern) {
			complain(ld, kv->line, "scope: empty pattern in '%s'", kv->value);
			return;
		}
		if (r->figure && e != r->figure->entity) {
			complain(ld, kv->line, "scope: %s is a %s figure, not a %s one",
			         r->figure->name, rd_entity_name(r->figure->entity),
			         rd_entity_name(e));
			return;
		}
	}
	r->entity_glob = copy_str(ld, pattern, strlen(pattern));
}

static void rule_window(struct load *ld, struct rd_rule *r)
{
	static const int64_t windows[] = {900, 3600, 86400, 604800, 2592000};
	const struct rd_kv *kv = kv_of(ld->s, "window");
	int64_t ms = 0;
	char err[256];

	r->window_s = 3600;
	if (kv && rd_parse_duration_ms(kv->value, &ms, err, sizeof(err)) != 0) {
		complain(ld, kv->line, "window: %s", err);
		return;
	}
	for (size_t i = 0; kv && i < sizeof(windows) / sizeof(windows[0]); i++)
		if (ms == windows[i] * 1000)
			r->window_s = windows[i];
	if (kv && r->window_s * 1000 != ms)
		complain(ld, kv->line,
		         "window: '%s' is not one of 15m, 1h, 24h, 7d, 30d (the rolling "
		         "windows reachd keeps)",
		         kv->value);
	if (r->figure && r->figure->gauge)
		r->window_s = 0; /* a value "now" has no window */
}

static void get_threshold(struct load *ld, const struct rd_rule *r, const char *key,
                          struct rd_threshold *t)
{
	const struct rd_kv *kv = kv_of(ld->s, key);
	char err[256];

	if (kv && rd_threshold_parse(kv->value, r->figure->unit, t, err, sizeof(err)) != 0)
		complain(ld, kv->line, "%s: %s", key, err);
}

/* critical must be breached only by values that breach warning too. */
static void check_order(struct load *ld, const struct rd_rule *r)
{
	const struct rd_threshold *w = &r->warning, *c = &r->critical;
	const struct rd_kv *kv = kv_of(ld->s, "critical");
	char ws[64];

	threshold_str(w, r->figure->unit, ws, sizeof(ws));
	if (below(w->cmp) != below(c->cmp))
		complain(ld, kv->line, "critical: must compare the same way as warning (%s)", ws);
	else if (below(c->cmp) ? c->value >= w->value : c->value <= w->value)
		complain(ld, kv->line, "critical: must be stricter than warning (%s)", ws);
}

/* clear = "CMP VALUE" or a bare value on the OK side of the least strict
 * threshold; by default that threshold's complement. */
static void rule_clear(struct load *ld, struct rd_rule *r, const struct rd_threshold *base)
{
	const struct rd_kv *kv = kv_of(ld->s, "clear");
	const char *v = kv ? kv->value : NULL;
	char err[256], bs[64];

	r->clear = (struct rd_threshold){1, complement(base->cmp), base->value};
	if (!v)
		return;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '<' || *v == '>') {
		if (rd_threshold_parse(v, r->figure->unit, &r->clear, err, sizeof(err)) != 0) {
			complain(ld, kv->line, "clear: %s", err);
			return;
		}
	} else {
		if (parse_value(v, r->figure->unit, &r->clear.value, err, sizeof(err)) != 0) {
			complain(ld, kv->line, "clear: %s", err);
			return;
		}
		r->clear.cmp = below(base->cmp) ? RD_CMP_GE : RD_CMP_LE;
	}
	threshold_str(base, r->figure->unit, bs, sizeof(bs));
	if (!clear_on_ok_side(base, &r->clear))
		complain(ld, kv->line, "clear: must be on the OK side of %s (%s)",
		         r->warning.set ? "warning" : "critical", bs);
}

static void rule_thresholds(struct load *ld, struct rd_rule *r)
{
	const struct rd_threshold *base;
	int before = ld->bad;

	get_threshold(ld, r, "warning", &r->warning);
	get_threshold(ld, r, "critical", &r->critical);
	if (ld->bad != before)
		return;
	if (!r->warning.set && !r->critical.set) {
		complain(ld, ld->s->line,
		         "warning or critical is required (e.g. warning = < 85%%)");
		return;
	}
	if (r->warning.set && r->critical.set)
		check_order(ld, r);
	base = r->warning.set ? &r->warning : &r->critical;
	rule_clear(ld, r, base);
	/* the same margin past critical brings a critical alert back to warning */
	r->relief = (struct rd_threshold){r->warning.set && r->critical.set, r->clear.cmp,
	                                  r->critical.value + (r->clear.value - base->value)};
}

static void rule_min_samples(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "min_samples");
	char err[256];

	if (!kv)
		return;
	if (rd_parse_int(kv->value, 0, INT32_MAX, &r->min_samples, err, sizeof(err)) != 0)
		complain(ld, kv->line, "min_samples: %s", err);
	else if (r->figure && r->figure->sample == RD_SAMPLE_NONE && r->min_samples > 0)
		complain(ld, kv->line, "min_samples: %s has no sample size (a count or a gauge)",
		         r->figure->name);
}

static void rule_calendar(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "calendar");

	r->calendar_mode = RD_RULE_CAL_SITE;
	if (!kv)
		return;
	if (strcmp(kv->value, "always") == 0) {
		r->calendar_mode = RD_RULE_CAL_ALWAYS;
		return;
	}
	if (!section_exists(ld->cfg, "calendar", kv->value)) {
		complain(ld, kv->line, "calendar: no [calendar \"%s\"] section (or use always)",
		         kv->value);
		return;
	}
	r->calendar_mode = RD_RULE_CAL_NAMED;
	r->calendar = copy_str(ld, kv->value, strlen(kv->value));
}

static void rule_notify(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "notify");

	if (!kv || split_list(ld, kv, &r->notify, &r->nnotify) != 0)
		return;
	for (size_t i = 0; i < r->nnotify; i++)
		if (!section_exists(ld->cfg, "recipients", r->notify[i]))
			complain(ld, kv->line, "notify: no [recipients \"%s\"] section",
			         r->notify[i]);
}

/* inhibited_by: rules whose firing on the same site holds this rule's
 * notices (a silent source makes its figures meaningless). */
static void rule_inhibited_by(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "inhibited_by");

	if (!kv || split_list(ld, kv, &r->inhibited_by, &r->ninhibited_by) != 0)
		return;
	for (size_t i = 0; i < r->ninhibited_by; i++)
		if (!section_exists(ld->cfg, "rule", r->inhibited_by[i]))
			complain(ld, kv->line, "inhibited_by: no [rule \"%s\"] section",
			         r->inhibited_by[i]);
		else if (strcmp(r->inhibited_by[i], ld->s->name) == 0)
			complain(ld, kv->line, "inhibited_by: a rule cannot inhibit itself");
}

/* A free label: printable UTF-8 on one line, short enough for a subject
 * (it goes into mail headers). */
static void rule_severity(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *kv = kv_of(ld->s, "severity");

	if (!kv)
		return;
	for (const unsigned char *p = (const unsigned char *)kv->value; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			complain(ld, kv->line, "severity: control character");
			return;
		}
	if (!rd_utf8_valid(kv->value, strlen(kv->value), NULL))
		complain(ld, kv->line, "severity: not valid UTF-8");
	else if (!*kv->value || strlen(kv->value) > 32)
		complain(ld, kv->line, "severity: must be 1 to 32 bytes long");
	else
		r->severity = copy_str(ld, kv->value, strlen(kv->value));
}

/* flap_low / flap_high: percentages of state change; flap_high = off
 * turns the detector off. */
static void rule_flap(struct load *ld, struct rd_rule *r)
{
	const struct rd_kv *lo = kv_of(ld->s, "flap_low"), *hi = kv_of(ld->s, "flap_high");
	char err[256];
	double v;

	r->flap_low = 5.0;
	r->flap_high = 20.0;
	if (lo && rd_parse_percent(lo->value, &v, err, sizeof(err)) != 0)
		complain(ld, lo->line, "flap_low: %s", err);
	else if (lo)
		r->flap_low = v * 100.0;
	if (hi && strcmp(hi->value, "off") == 0)
		r->flap_high = 0;
	else if (hi && rd_parse_percent(hi->value, &v, err, sizeof(err)) != 0)
		complain(ld, hi->line, "flap_high: %s", err);
	else if (hi)
		r->flap_high = v * 100.0;
	if (r->flap_high > 0 && r->flap_low >= r->flap_high)
		complain(ld,
		         lo   ? lo->line
		         : hi ? hi->line
		              : ld->s->line,
		         "flap_low (%g%%) must be below flap_high (%g%%)", r->flap_low,
		         r->flap_high);
}

static void rule_free_fields(struct rd_rule *r)
{
	free(r->name);
	free(r->site_glob);
	free(r->entity_glob);
	free(r->calendar);
	free_list(r->notify, r->nnotify);
	free_list(r->inhibited_by, r->ninhibited_by);
	free(r->severity);
}

/* Fill r from its section; returns the number of errors. */
static int rule_load(struct load *ld, struct rd_rule *r)
{
	ld->what = "rule";
	ld->bad = 0;
	r->name = copy_str(ld, ld->s->name, strlen(ld->s->name));
	r->line = ld->s->line;
	r->repeat_s = 4 * 3600;
	rule_figure(ld, r);
	rule_scope(ld, r);
	rule_window(ld, r);
	if (r->figure)
		rule_thresholds(ld, r);
	rule_min_samples(ld, r);
	get_seconds(ld, "for", 0, &r->for_s);
	get_seconds(ld, "clear_for", 0, &r->clear_for_s);
	get_seconds(ld, "repeat", 60, &r->repeat_s);
	rule_calendar(ld, r);
	rule_notify(ld, r);
	rule_inhibited_by(ld, r);
	rule_severity(ld, r);
	rule_flap(ld, r);
	return ld->bad;
}

/* --- [recipients] -------------------------------------------------------- */

int rd_rule_check_address(const char *addr, char *err, size_t errlen)
{
	const char *at = strchr(addr, '@');

	for (const unsigned char *p = (const unsigned char *)addr; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>') {
			snprintf(err, errlen,
			         "'%s' is not a plain address (ASCII, no spaces, no <>)", addr);
			return -1;
		}
	}
	if (!at || at == addr || !at[1] || strchr(at + 1, '@')) {
		snprintf(err, errlen, "'%s' is not an address (one @, e.g. name@example.gouv.fr)",
		         addr);
		return -1;
	}
	return 0;
}

static void get_addresses(struct load *ld, const char *key, char ***out, size_t *n)
{
	const struct rd_kv *kv = kv_of(ld->s, key);
	char err[256];

	if (!kv || split_list(ld, kv, out, n) != 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (rd_rule_check_address((*out)[i], err, sizeof(err)) != 0)
			complain(ld, kv->line, "%s: %s", key, err);
}

static int recipients_load(struct load *ld, struct rd_recipients *g)
{
	const struct rd_kv *kv;
	char err[256];

	ld->what = "recipients";
	ld->bad = 0;
	g->name = copy_str(ld, ld->s->name, strlen(ld->s->name));
	g->line = ld->s->line;
	strcpy(g->language, "fr");
	g->group_wait_s = 30;
	g->max_per_hour = 10;
	get_addresses(ld, "to", &g->to, &g->nto);
	get_addresses(ld, "cc", &g->cc, &g->ncc);
	if (!kv_of(ld->s, "to"))
		complain(ld, ld->s->line, "to is required (one or more addresses)");
	if ((kv = kv_of(ld->s, "language"))) {
		if (strcmp(kv->value, "fr") != 0 && strcmp(kv->value, "en") != 0)
			complain(ld, kv->line, "language: '%s' is not fr or en", kv->value);
		else
			strcpy(g->language, kv->value);
	}
	get_seconds(ld, "group_wait", 0, &g->group_wait_s);
	if ((kv = kv_of(ld->s, "max_per_hour")) &&
	    rd_parse_int(kv->value, 0, 1000, &g->max_per_hour, err, sizeof(err)) != 0)
		complain(ld, kv->line, "max_per_hour: %s", err);
	return ld->bad;
}

static void recipients_free_fields(struct rd_recipients *g)
{
	free(g->name);
	free_list(g->to, g->nto);
	free_list(g->cc, g->ncc);
}

/* --- the set ------------------------------------------------------------- */

static size_t count_sections(const struct rd_config *cfg, const char *kind)
{
	size_t n = 0;

	for (const struct rd_section *s = rd_config_next(cfg, kind, NULL); s;
	     s = rd_config_next(cfg, kind, s))
		n++;
	return n;
}

int rd_rules_load(const struct rd_config *cfg, struct rd_rules **out, rd_config_error_fn err,
                  void *arg)
{
	struct load ld = {.cfg = cfg, .err = err, .arg = arg};
	struct rd_rules *rs = calloc(1, sizeof(*rs));
	size_t nr = count_sections(cfg, "rule"), ng = count_sections(cfg, "recipients");

	*out = NULL;
	if (!rs || !(rs->rules = calloc(nr + 1, sizeof(*rs->rules))) ||
	    !(rs->groups = calloc(ng + 1, sizeof(*rs->groups)))) {
		rd_rules_free(rs);
		err(arg, "out of memory loading the rules");
		return 1;
	}
	for (ld.s = rd_config_next(cfg, "recipients", NULL); ld.s;
	     ld.s = rd_config_next(cfg, "recipients", ld.s)) {
		struct rd_recipients *g = &rs->groups[rs->ngroups];

		if (recipients_load(&ld, g) == 0)
			rs->ngroups++;
		else
			recipients_free_fields(g);
		memset(&rs->groups[rs->ngroups], 0, sizeof(*g));
	}
	for (ld.s = rd_config_next(cfg, "rule", NULL); ld.s;
	     ld.s = rd_config_next(cfg, "rule", ld.s)) {
		struct rd_rule *r = &rs->rules[rs->nrules];

		if (rule_load(&ld, r) == 0)
			rs->nrules++;
		else
			rule_free_fields(r);
		memset(&rs->rules[rs->nrules], 0, sizeof(*r));
	}
	*out = rs;
	return ld.nerr;
}

void rd_rules_free(struct rd_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_free_fields(&rs->rules[i]);
	for (size_t i = 0; i < rs->ngroups; i++)
		recipients_free_fields(&rs->groups[i]);
	free(rs->rules);
	free(rs->groups);
	free(rs);
}

const struct rd_recipients *rd_rules_recipients(const struct rd_rules *rs, const char *name)
{
	for (size_t i = 0; i < rs->ngroups; i++)
		if (strcmp(rs->groups[i].name, name) == 0)
			return &rs->groups[i];
	return NULL;
}

const struct rd_rule *rd_rules_find(const struct rd_rules *rs, const char *name)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

int rd_rule_scope_match(const struct rd_rule *r, const char *site, const char *entity)
{
	int flags = r->figure->entity == RD_ENTITY_MAILBOX ? FNM_CASEFOLD : 0;

	if (r->site_glob && fnmatch(r->site_glob, site, 0) != 0)
		return 0;
	return fnmatch(r->entity_glob, entity, flags) == 0;
}

enum rd_level rd_rule_level(const struct rd_rule *r, double value)
{
	if (rd_threshold_holds(&r->critical, value))
		return RD_LEVEL_CRITICAL;
	if (rd_threshold_holds(&r->warning, value))
		return RD_LEVEL_WARNING;
	return RD_LEVEL_NONE;
}
