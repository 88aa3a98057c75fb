/* queuelog.c - the "queuelog" collector: follows an Asterisk queue_log file
 * with rd_tail and turns its lines into call events (queuelog_parse.c).
 *
 * Keys: path (required), max_line (size, default 1M, at least 1k),
 * stat_interval (duration, default 5s), ivr_events (comma-separated verbs
 * the dialplan writes when a call ends in the IVR). */
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "filesrc.h"
#include "queuelog_parse.h"
#include "utf8.h"

#define QL_MAX_IVR 32

struct queuelog {
	struct rd_filesrc fs; /* path, max_line, stat_interval; the tail */
	/* ivr_events: the verbs point into ivr_buf */
	char *ivr_buf;
	const char *ivr[QL_MAX_IVR];
	struct ql_options opt;
};

static void ql_on_line(void *arg, const struct rd_filesrc_line *ln);

/* ql_parse splits lines in place: they come with a copy. */
static const struct rd_filesrc_ops ql_ops = {.line = ql_on_line, .copy = 1};

static void *ql_create(struct rd_collector *c)
{
	struct queuelog *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	rd_filesrc_init(&q->fs, c, &ql_ops, q, RD_FILESRC_SAY_LIMITS);
	q->opt.ivr_verbs = q->ivr;
	return q;
}

/* Check one verb of ivr_events; 0 or -1 with err. */
static int ql_check_ivr_verb(const char *verb, size_t n, char *err, size_t errlen)
{
	if (strchr(verb, '|') != NULL || !rd_utf8_valid(verb, strlen(verb), NULL))
		return rd_filesrc_fail(err, errlen, "ivr_events: '%s' is not an event name", verb);
	/* a standard verb would turn, e.g., every ABANDON into an IVR call */
	if (ql_verb_known(verb))
		return rd_filesrc_fail(
		    err, errlen, "ivr_events: '%s' is a standard queue_log event, not an IVR one",
		    verb);
	if (n == QL_MAX_IVR)
		return rd_filesrc_fail(err, errlen, "ivr_events: more than %d events", QL_MAX_IVR);
	return 0;
}

/* "IVRHANGUP, IVRDONE". The previous list stays in force on error. */
static int ql_set_ivr(struct queuelog *q, const char *value, char *err, size_t errlen)
{
	char *buf = strdup(value), *cur = buf, *verb;
	const char *verbs[QL_MAX_IVR];
	size_t n = 0;

	if (buf == NULL)
		return rd_filesrc_fail(err, errlen, "out of memory");
	while ((verb = rd_filesrc_next_item(&cur)) != NULL) {
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

static int ql_configure(void *priv, const char *key, const char *value, char *err, size_t errlen)
{
	struct queuelog *q = priv;
	int rc = rd_filesrc_configure(&q->fs, key, value, err, errlen);

	if (rc != 1)
		return rc;
	if (strcmp(key, "ivr_events") == 0)
		return ql_set_ivr(q, value, err, errlen);
	return rd_filesrc_fail(err, errlen, "unknown key '%s' for a queuelog collector", key);
}

static int ql_check(void *priv, char *err, size_t errlen)
{
	struct queuelog *q = priv;

	if (q->fs.path == NULL)
		return rd_filesrc_fail(err, errlen, "a queuelog collector needs a path");
	return 0;
}

/* --- lines ------------------------------------------------------------------ */

static void ql_on_line(void *arg, const struct rd_filesrc_line *ln)
{
	struct queuelog *q = arg;
	struct rd_collector *c = q->fs.c;
	struct ql_record rec;
	struct rd_call_event ev;
	const char *why = NULL;
	int rc;

	if (ql_parse(ln->copy, ln->len, &rec, &why) != 0) {
		rd_collector_rejected(c, ln->offset, why, ln->text, ln->len);
		return;
	}
	rc = ql_to_event(&rec, &q->opt, &ev, &why);
	if (rc < 0) {
		rd_collector_rejected(c, ln->offset, why, ln->text, ln->len);
	} else if (rc == 2) {
		rd_collector_unknown(c, ln->offset, rec.verb, ln->text, ln->len);
	} else {
		rd_collector_accepted(c);
		if (rc == 1)
			rd_collector_emit_call(c, &ev);
	}
}

/* --- lifecycle -------------------------------------------------------------- */

static int ql_start(void *priv, struct event_base *base, const struct rd_cursor *resume, int once)
{
	struct queuelog *q = priv;

	return rd_filesrc_start(&q->fs, base, q->fs.path, resume, once);
}

static void ql_pause(void *priv)
{
	struct queuelog *q = priv;

	rd_filesrc_pause(&q->fs);
}

static void ql_resume(void *priv)
{
	struct queuelog *q = priv;

	rd_filesrc_resume(&q->fs);
}

static void ql_stop(void *priv)
{
	struct queuelog *q = priv;

	rd_filesrc_stop(&q->fs);
}

static void ql_destroy(void *priv)
{
	struct queuelog *q = priv;

	if (q == NULL)
		return;
	rd_filesrc_release(&q->fs);
	free(q->ivr_buf);
	free(q);
}

static const char *ql_source(void *priv)
{
	const struct queuelog *q = priv;

	return q->fs.path != NULL ? q->fs.path : "queue_log";
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
