/* queuelog.c - the "queuelog" collector: follows an Asterisk queue_log file
 * with rd_tail and turns its lines into call events (queuelog_parse.c).
 *
 * Keys: path (required), max_line (size, default 1M, at least 1k),
 * stat_interval (duration, default 5s), ivr_events (comma-separated verbs
 * the dialplan writes when a call ends in the IVR). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "config.h"
#include "log.h"
#include "queuelog_parse.h"
#include "tail.h"

#define QL_DEF_MAX_LINE ((uint64_t)1 << 20)
#define QL_MIN_MAX_LINE ((uint64_t)1 << 10)
/* Lines are a few hundred bytes; beyond this, memory would no longer be
 * bounded in any useful sense. */
#define QL_MAX_MAX_LINE ((uint64_t)64 << 20)
#define QL_DEF_STAT_MS  5000
#define QL_MIN_STAT_MS  100
#define QL_MAX_STAT_MS  3600000
#define QL_MAX_IVR      32

struct queuelog {
	struct rd_collector *c;
	char *path;
	size_t max_line;
	int stat_interval_ms;
	/* ivr_events: the verbs point into ivr_buf */
	char *ivr_buf;
	const char *ivr[QL_MAX_IVR];
	struct ql_options opt;
	struct rd_tail *tail;
	/* ql_parse splits in place: lines are copied here first (the tail's
	 * buffer is const), max_line + 1 bytes for the terminating NUL */
	char *scratch;
};

/* Same contract as rd_collector_type.configure's err. */
static int ql_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ql_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void *ql_create(struct rd_collector *c)
{
	struct queuelog *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->c = c;
	q->max_line = QL_DEF_MAX_LINE;
	q->stat_interval_ms = QL_DEF_STAT_MS;
	q->opt.ivr_verbs = q->ivr;
	return q;
}

static char *ql_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Check one verb of ivr_events; 0 or -1 with err. */
static int ql_check_ivr_verb(const char *verb, size_t n, char *err, size_t errlen)
{
	if (strchr(verb, '|') != NULL || !ql_utf8_valid(verb, strlen(verb)))
		return ql_fail(err, errlen, "ivr_events: '%s' is not an event name", verb);
	/* a standard verb would turn, e.g., every ABANDON into an IVR call */
	if (ql_verb_known(verb))
		return ql_fail(err, errlen,
		               "ivr_events: '%s' is a standard queue_log event, not an IVR one",
		               verb);
	if (n == QL_MAX_IVR)
		return ql_fail(err, errlen, "ivr_events: more than %d events", QL_MAX_IVR);
	return 0;
}

/* "IVRHANGUP, IVRDONE". The previous list stays in force on error. */
static int ql_set_ivr(struct queuelog *q, const char *value, char *err, size_t errlen)
{
	char *buf = strdup(value), *save = NULL, *tok;
	const char *verbs[QL_MAX_IVR];
	size_t n = 0;

	if (buf == NULL)
		return ql_fail(err, errlen, "out of memory");
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		const char *verb = ql_trim(tok);

		if (*verb == '\0')
			continue;
		if (ql_check_ivr_verb(verb, n, err, errlen) != 0) {
			free(buf);
			return -1;
		}
		verbs[n++] = verb;
	}
	free(q->ivr_buf);
	q->ivr_buf = buf;
	memcpy(q->ivr, verbs, n * sizeof(verbs[0]));
	q->opt.n_ivr_verbs = n;
	return 0;
}

static int ql_set_max_line(struct queuelog *q, const char *value, char *err, size_t errlen)
{
	uint64_t v;

	if (rd_parse_size(value, &v, err, errlen) != 0)
		return -1;
	if (v < QL_MIN_MAX_LINE || v > QL_MAX_MAX_LINE)
		return ql_fail(err, errlen, "max_line must be between 1k and 64M, not '%s'", value);
	q->max_line = (size_t)v;
	return 0;
}

static int ql_set_stat_interval(struct queuelog *q, const char *value, char *err, size_t errlen)
{
	int64_t ms;

	if (rd_parse_duration_ms(value, &ms, err, errlen) != 0)
		return -1;
	if (ms < QL_MIN_STAT_MS || ms > QL_MAX_STAT_MS)
		return ql_fail(err, errlen, "stat_interval must be between 100ms and 1h, not '%s'",
		               value);
	q->stat_interval_ms = (int)ms;
	return 0;
}

static int ql_configure(void *priv, const char *key, const char *value, char *err, size_t errlen)
{
	struct queuelog *q = priv;

	if (strcmp(key, "path") == 0) {
		char *p;

		if (*value == '\0')
			return ql_fail(err, errlen, "path must not be empty");
		p = strdup(value);
		if (p == NULL)
			return ql_fail(err, errlen, "out of memory");
		free(q->path);
		q->path = p;
		return 0;
	}
	if (strcmp(key, "max_line") == 0)
		return ql_set_max_line(q, value, err, errlen);
	if (strcmp(key, "stat_interval") == 0)
		return ql_set_stat_interval(q, value, err, errlen);
	if (strcmp(key, "ivr_events") == 0)
		return ql_set_ivr(q, value, err, errlen);
	return ql_fail(err, errlen, "unknown key '%s' for a queuelog collector", key);
}

static int ql_check(void *priv, char *err, size_t errlen)
{
	struct queuelog *q = priv;

	if (q->path == NULL)
		return ql_fail(err, errlen, "a queuelog collector needs a path");
	return 0;
}

/* --- tail callbacks ------------------------------------------------------- */

static void ql_on_line(void *arg, const char *line, size_t len, uint64_t offset, int too_long)
{
	struct queuelog *q = arg;
	struct ql_record rec;
	struct rd_call_event ev;
	const char *why = NULL;
	int rc;

	if (too_long || len > q->max_line) {
		rd_collector_rejected(q->c, offset, "line longer than max_line", line, len);
		return;
	}
	memcpy(q->scratch, line, len);
	if (ql_parse(q->scratch, len, &rec, &why) != 0) {
		rd_collector_rejected(q->c, offset, why, line, len);
		return;
	}
	rc = ql_to_event(&rec, &q->opt, &ev, &why);
	if (rc < 0) {
		rd_collector_rejected(q->c, offset, why, line, len);
	} else if (rc == 2) {
		rd_collector_unknown(q->c, offset, rec.verb, line, len);
	} else {
		rd_collector_accepted(q->c);
		if (rc == 1)
			rd_collector_emit_call(q->c, &ev);
	}
}

static int ql_on_chunk(void *arg, const struct rd_cursor *cursor)
{
	struct queuelog *q = arg;

	return rd_collector_checkpoint(q->c, cursor);
}

static void ql_on_end(void *arg)
{
	struct queuelog *q = arg;

	rd_collector_done(q->c);
}

/* rd_tail's notices carry no level: those that report possible data loss
 * or a failure are worded with "lost" or start with "cannot". */
static void ql_on_notice(void *arg, const char *what)
{
	struct queuelog *q = arg;
	int warn = strstr(what, "lost") != NULL || strncmp(what, "cannot", 6) == 0;

	rd_collector_log(q->c, warn ? RD_LOG_WARN : RD_LOG_INFO, "%s", what);
}

/* --- lifecycle -------------------------------------------------------------- */

static int ql_start(void *priv, struct event_base *base, const struct rd_cursor *resume, int once)
{
	static const struct rd_tail_callbacks cb = {ql_on_line, ql_on_chunk, ql_on_end,
	                                            ql_on_notice};
	struct queuelog *q = priv;
	struct rd_tail_options opt = {
	    .max_line = q->max_line, .stat_interval_ms = q->stat_interval_ms, .once = once};

	if (q->tail != NULL || q->path == NULL)
		return -1;
	free(q->scratch);
	q->scratch = malloc(q->max_line + 1);
	if (q->scratch == NULL) {
		rd_collector_log(q->c, RD_LOG_ERR, "out of memory");
		return -1;
	}
	q->tail = rd_tail_new(base, q->path, &opt, &cb, q);
	if (q->tail == NULL) {
		rd_collector_log(q->c, RD_LOG_ERR, "cannot follow %s", q->path);
		return -1;
	}
	if (rd_tail_start(q->tail, resume) != 0) {
		rd_collector_log(q->c, RD_LOG_ERR, "cannot start following %s", q->path);
		rd_tail_free(q->tail);
		q->tail = NULL;
		return -1;
	}
	return 0;
}

static void ql_pause(void *priv)
{
	struct queuelog *q = priv;

	rd_tail_pause(q->tail);
}

static void ql_resume(void *priv)
{
	struct queuelog *q = priv;

	rd_tail_resume(q->tail);
}

/* rd_tail_free() is safe from inside a tail callback: nothing is delivered
 * after it, and the tail is released once the callback returns. */
static void ql_stop(void *priv)
{
	struct queuelog *q = priv;

	rd_tail_free(q->tail);
	q->tail = NULL;
}

static void ql_destroy(void *priv)
{
	struct queuelog *q = priv;

	if (q == NULL)
		return;
	ql_stop(q);
	free(q->scratch);
	free(q->ivr_buf);
	free(q->path);
	free(q);
}

static const char *ql_source(void *priv)
{
	const struct queuelog *q = priv;

	return q->path != NULL ? q->path : "queue_log";
}

const struct rd_collector_type rd_queuelog_type = {
    .abi = RD_COLLECTOR_ABI,
    .size = sizeof(struct rd_collector_type),
    .name = "queuelog",
    .create = ql_create,
    .configure = ql_configure,
    .check = ql_check,
    .start = ql_start,
    .pause = ql_pause,
    .resume = ql_resume,
    .stop = ql_stop,
    .destroy = ql_destroy,
    .source = ql_source,
};
