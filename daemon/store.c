/* store.c - writes a batch to PostgreSQL in one transaction: the calls, the
 * aggregates of the calls really inserted, the open calls, the kept lines and
 * the cursor. Rows travel as one jsonb parameter each (jsonb_to_recordset):
 * no SQL text is ever built from data. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "hist.h"

static const char *const outcome_names[] = {"", "answered", "abandoned", "timed_out",
                                            "ivr_handled"};

static const char SQL_CALLS[] =
    "INSERT INTO reach.calls (site, queue, callid, entered_at, ended_at, outcome,"
    " end_reason, agent, wait_s, talk_s, transferred, short_abandoned, within_sl, collector)"
    " SELECT $1, r.q, r.c, to_timestamp(r.e), to_timestamp(r.x), r.o, r.r, r.a, r.w, r.t,"
    " r.tr, r.sa, r.sl, $2"
    " FROM jsonb_to_recordset($3::jsonb) AS r(q text, c text, e bigint, x bigint, o text,"
    " r text, a text, w int, t int, tr bool, sa bool, sl bool)"
    " ON CONFLICT DO NOTHING"
    " RETURNING queue, callid, extract(epoch FROM entered_at)::bigint";

static const char SQL_AGG[] =
    "INSERT INTO reach.call_agg AS a (site, queue, grain, bucket, offered, answered,"
    " abandoned, short_abandoned, timed_out, transferred, ivr_handled, sl_answered,"
    " wait_answered_sum, wait_answered_n, talk_sum, talk_n, wait_hist)"
    " SELECT $1, r.q, r.g, to_timestamp(r.b), r.off, r.ans, r.ab, r.sab, r.tmo, r.tr,"
    " r.ivr, r.sl, r.ws, r.wn, r.ts, r.tn, r.h::integer[]"
    " FROM jsonb_to_recordset($2::jsonb) AS r(q text, g text, b bigint, off int, ans int,"
    " ab int, sab int, tmo int, tr int, ivr int, sl int, ws bigint, wn int, ts bigint,"
    " tn int, h text)"
    " ON CONFLICT (site, queue, grain, bucket) DO UPDATE SET"
    " offered = a.offered + excluded.offered, answered = a.answered + excluded.answered,"
    " abandoned = a.abandoned + excluded.abandoned,"
    " short_abandoned = a.short_abandoned + excluded.short_abandoned,"
    " timed_out = a.timed_out + excluded.timed_out,"
    " transferred = a.transferred + excluded.transferred,"
    " ivr_handled = a.ivr_handled + excluded.ivr_handled,"
    " sl_answered = a.sl_answered + excluded.sl_answered,"
    " wait_answered_sum = a.wait_answered_sum + excluded.wait_answered_sum,"
    " wait_answered_n = a.wait_answered_n + excluded.wait_answered_n,"
    " talk_sum = a.talk_sum + excluded.talk_sum, talk_n = a.talk_n + excluded.talk_n,"
    " wait_hist = reach.hist_add(a.wait_hist, excluded.wait_hist)";

static const char SQL_OPEN_DEL[] = "DELETE FROM reach.call_open WHERE site = $1 AND collector = $2";
static const char SQL_OPEN_INS[] =
    "INSERT INTO reach.call_open (site, collector, queue, callid, entered_at, connected_at,"
    " agent, wait_s)"
    " SELECT $1, $2, r.q, r.c, to_timestamp(r.e),"
    " CASE WHEN r.k > 0 THEN to_timestamp(r.k) END, r.a, r.w"
    " FROM jsonb_to_recordset($3::jsonb) AS r(q text, c text, e bigint, k bigint, a text, w int)"
    " ON CONFLICT DO NOTHING";

static const char SQL_LINES[] =
    "INSERT INTO reach.source_lines (site, collector, dev, ino, \"offset\", kind, reason, line)"
    " SELECT $1, $2, coalesce(r.d, $3), coalesce(r.i, $4), r.o, r.k, r.r, decode(r.l, 'hex')"
    " FROM jsonb_to_recordset($5::jsonb) AS r(d bigint, i bigint, o bigint, k text, r text,"
    " l text)"
    " ON CONFLICT DO NOTHING";

static const char SQL_CURSOR[] =
    "INSERT INTO reach.cursors AS c (site, collector, source, dev, ino, \"offset\","
    " fingerprint, source_size, lines_accepted, lines_rejected, lines_unknown,"
    " read_dev, read_ino, read_offset, committed_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now())"
    " ON CONFLICT (site, collector) DO UPDATE SET source = excluded.source,"
    " dev = excluded.dev, ino = excluded.ino, \"offset\" = excluded.\"offset\","
    " fingerprint = excluded.fingerprint, source_size = excluded.source_size,"
    " lines_accepted = excluded.lines_accepted, lines_rejected = excluded.lines_rejected,"
    " lines_unknown = excluded.lines_unknown, read_dev = excluded.read_dev,"
    " read_ino = excluded.read_ino, read_offset = excluded.read_offset, committed_at = now()";

/* --- statement helpers --------------------------------------------------- */

static char *dump(json_t *arr)
{
	char *s = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(arr);
	return s;
}

/* json_string that never fails on odd bytes (they are rejected upstream, but
 * a NULL here would silently drop a call). */
static json_t *jstr(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	return j ? j : json_stringn_nocheck(s, strlen(s));
}

static json_t *jint_or_null(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

/* --- calls --------------------------------------------------------------- */

static char *calls_json(const struct rd_batch *b)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < b->ncalls; i++) {
		const struct rd_batch_call *c = &b->calls[i];

		json_array_append_new(
		    arr,
		    json_pack("{s:o, s:o, s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:b}", "q",
		              jstr(c->queue), "c", jstr(c->callid), "e", (json_int_t)c->entered,
		              "x", (json_int_t)c->ended, "o", outcome_names[c->outcome], "r",
		              jstr(c->reason), "a", jstr(c->agent), "w", jint_or_null(c->wait_s),
		              "t", jint_or_null(c->talk_s), "tr", c->transferred, "sa",
		              c->short_abandoned, "sl", c->within_sl));
	}
	return arr ? dump(arr) : NULL;
}

/* Mark the calls the database really inserted (RETURNING rows). A duplicate
 * only happens if a batch is replayed, which the cursor prevents; the check
 * keeps aggregates exact even then. */
static void mark_inserted(const struct rd_batch *b, PGresult *r, unsigned char *ins)
{
	int n = PQntuples(r);

	if ((size_t)n == b->ncalls) {
		memset(ins, 1, b->ncalls);
		return;
	}
	memset(ins, 0, b->ncalls);
	for (int row = 0; row < n; row++) {
		const char *q = PQgetvalue(r, row, 0), *c = PQgetvalue(r, row, 1);
		long long e = atoll(PQgetvalue(r, row, 2));

		for (size_t i = 0; i < b->ncalls; i++)
			if (!ins[i] && b->calls[i].entered == e &&
			    strcmp(b->calls[i].queue, q) == 0 &&
			    strcmp(b->calls[i].callid, c) == 0) {
				ins[i] = 1;
				break;
			}
	}
}

/* --- aggregates ---------------------------------------------------------- */

struct agg_key {
	const char *queue;
	int grain; /* 0 minute, 1 hour, 2 day */
	int64_t bucket;
	size_t call;
};

static const int64_t grain_seconds[] = {60, 3600, 86400};
static const char *const grain_names[] = {"minute", "hour", "day"};

static int agg_cmp(const void *a, const void *b)
{
	const struct agg_key *x = a, *y = b;
	int c = strcmp(x->queue, y->queue);

	if (c)
		return c;
	if (x->grain != y->grain)
		return x->grain - y->grain;
	return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

struct agg_sums {
	int off, ans, ab, sab, tmo, tr, ivr, sl, wn, tn;
	int64_t ws, ts;
	uint32_t hist[RD_HIST_BINS];
};

static void agg_add(struct agg_sums *s, const struct rd_batch_call *c)
{
	int answered = c->outcome == RD_OUT_ANSWERED, abandoned = c->outcome == RD_OUT_ABANDONED;

	s->off += c->outcome != RD_OUT_IVR;
	s->ans += answered;
	s->ab += abandoned;
	s->sab += c->short_abandoned;
	s->tmo += c->outcome == RD_OUT_TIMED_OUT;
	s->tr += c->transferred;
	s->ivr += c->outcome == RD_OUT_IVR;
	s->sl += c->within_sl;
	if (answered && c->wait_s >= 0) {
		s->ws += c->wait_s;
		s->wn++;
	}
	if (c->talk_counted) {
		s->ts += c->talk_s;
		s->tn++;
	}
	if ((answered || abandoned) && c->wait_s >= 0)
		s->hist[rd_hist_bin(c->wait_s)]++;
}

/* The histogram as an array literal, trailing zero bins trimmed. */
static json_t *hist_literal(const uint32_t *h)
{
	char buf[RD_HIST_BINS * 11 + 3];
	size_t len = 0;
	int last = -1;

	for (int i = 0; i < RD_HIST_BINS; i++)
		if (h[i])
			last = i;
	buf[len++] = '{';
	for (int i = 0; i <= last; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "", h[i]);
	buf[len++] = '}';
	buf[len] = '\0';
	return json_string(buf);
}

static json_t *agg_row(const struct agg_key *k, const struct agg_sums *s)
{
	return json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:I, "
	                 "s:i, s:o}",
	                 "q", k->queue, "g", grain_names[k->grain], "b", (json_int_t)k->bucket,
	                 "off", s->off, "ans", s->ans, "ab", s->ab, "sab", s->sab, "tmo", s->tmo,
	                 "tr", s->tr, "ivr", s->ivr, "sl", s->sl, "ws", (json_int_t)s->ws, "wn",
	                 s->wn, "ts", (json_int_t)s->ts, "tn", s->tn, "h", hist_literal(s->hist));
}

/* One row per (queue, grain, bucket) over the inserted calls. */
static char *aggregates_json(const struct rd_batch *b, const unsigned char *ins)
{
	struct agg_key *keys = malloc(b->ncalls * 3 * sizeof(*keys) + 1);
	json_t *arr = json_array();
	size_t n = 0;

	if (!keys || !arr) {
		free(keys);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < b->ncalls; i++)
		for (int g = 0; ins[i] && g < 3; g++) {
			int64_t t = b->calls[i].ended;

			keys[n++] = (struct agg_key){
			    b->calls[i].queue, g,
			    t - (t % grain_seconds[g] + grain_seconds[g]) % grain_seconds[g], i};
		}
	qsort(keys, n, sizeof(*keys), agg_cmp);
	for (size_t i = 0; i < n;) {
		struct agg_sums s;
		size_t j = i;

		memset(&s, 0, sizeof(s));
		for (; j < n && agg_cmp(&keys[i], &keys[j]) == 0; j++)
			agg_add(&s, &b->calls[keys[j].call]);
		json_array_append_new(arr, agg_row(&keys[i], &s));
		i = j;
	}
	free(keys);
	return dump(arr);
}

/* --- open calls and kept lines ------------------------------------------- */

static char *open_json(const struct rd_batch *b)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < b->nopen; i++) {
		const struct rd_batch_open *o = &b->open[i];

		json_array_append_new(arr, json_pack("{s:o, s:o, s:I, s:I, s:o, s:o}", "q",
		                                     jstr(o->queue), "c", jstr(o->callid), "e",
		                                     (json_int_t)o->entered, "k",
		                                     (json_int_t)o->connected, "a", jstr(o->agent),
		                                     "w", jint_or_null(o->wait_s)));
	}
	return arr ? dump(arr) : NULL;
}

static char *hex(const char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *out = malloc(len * 2 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[(unsigned char)data[i] >> 4];
		out[2 * i + 1] = digits[(unsigned char)data[i] & 15];
	}
	out[len * 2] = '\0';
	return out;
}

/* One kept line; "d" and "i" (its file) only when it differs from the
 * cursor's. bigint columns hold the unsigned values' bit patterns. */
static json_t *line_json(const struct rd_batch_line *l)
{
	char *h = hex(l->data, l->len);
	json_t *o = h ? json_pack("{s:I, s:s, s:o, s:s}", "o", (json_int_t)l->offset, "k",
	                          l->unknown ? "unknown" : "rejected", "r", jstr(l->reason), "l", h)
	              : NULL;

	free(h);
	if (o && (l->dev || l->ino) &&
	    (json_object_set_new(o, "d", json_integer((json_int_t)l->dev)) != 0 ||
	     json_object_set_new(o, "i", json_integer((json_int_t)l->ino)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *lines_json(const struct rd_batch *b)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < b->nlines; i++) {
		json_t *o = line_json(&b->lines[i]);

		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr ? dump(arr) : NULL;
}

/* --- the transaction ----------------------------------------------------- */

static int write_calls(struct rd_batch *b, PGconn *pg, enum rd_job_status *st)
{
	char *calls = calls_json(b), *aggs = NULL;
	unsigned char *ins = malloc(b->ncalls + 1);
	const char *p[3] = {b->site, b->collector, calls};
	PGresult *r = NULL;
	int rc = -1;

	if (!calls || !ins) {
		snprintf(b->job.err, sizeof(b->job.err), "out of memory");
		goto out;
	}
	r = rd_pg_exec(&b->job, pg, SQL_CALLS, 3, p, st);
	if (!r)
		goto out;
	mark_inserted(b, r, ins);
	b->inserted = (size_t)PQntuples(r);
	aggs = aggregates_json(b, ins);
	p[1] = aggs;
	if (!aggs) {
		snprintf(b->job.err, sizeof(b->job.err), "out of memory");
		goto out;
	}
	rc = rd_pg_exec_ok(&b->job, pg, SQL_AGG, 2, p, st);
out:
	PQclear(r);
	free(calls);
	free(aggs);
	free(ins);
	return rc;
}

static int write_open(struct rd_batch *b, PGconn *pg, enum rd_job_status *st)
{
	char *open = open_json(b);
	const char *p[3] = {b->site, b->collector, open};
	int rc = -1;

	if (open && rd_pg_exec_ok(&b->job, pg, SQL_OPEN_DEL, 2, p, st) == 0)
		rc = b->nopen ? rd_pg_exec_ok(&b->job, pg, SQL_OPEN_INS, 3, p, st) : 0;
	free(open);
	return rc;
}

static int write_lines(struct rd_batch *b, PGconn *pg, enum rd_job_status *st)
{
	char dev[24], ino[24], *lines;
	const char *p[5] = {b->site, b->collector, dev, ino, NULL};
	int rc;

	snprintf(dev, sizeof(dev), "%lld", (long long)b->cursor.dev);
	snprintf(ino, sizeof(ino), "%lld", (long long)b->cursor.ino);
	lines = lines_json(b);
	if (!lines)
		return -1;
	p[4] = lines;
	rc = rd_pg_exec_ok(&b->job, pg, SQL_LINES, 5, p, st);
	free(lines);
	return rc;
}

static int write_cursor(struct rd_batch *b, PGconn *pg, enum rd_job_status *st)
{
	char v[11][24];
	const char *p[14] = {b->site, b->collector, b->source};
	const uint64_t nums[11] = {b->cursor.dev,         b->cursor.ino,  b->cursor.offset,
	                           b->cursor.fingerprint, b->cursor.size, b->accepted,
	                           b->rejected,           b->unknown,     b->read.dev,
	                           b->read.ino,           b->read.offset};

	for (int i = 0; i < 11; i++) {
		/* bigint columns hold the unsigned values' bit patterns */
		snprintf(v[i], sizeof(v[i]), "%lld", (long long)nums[i]);
		p[3 + i] = v[i];
	}
	return rd_pg_exec_ok(&b->job, pg, SQL_CURSOR, 14, p, st);
}

enum rd_job_status rd_store_batch(struct rd_job *job, PGconn *pg)
{
	struct rd_batch *b = (struct rd_batch *)job;
	enum rd_job_status st = RD_JOB_FAILED;

	if (rd_pg_exec_ok(job, pg, "BEGIN", 0, NULL, &st) != 0)
		return st;
	if ((b->ncalls && write_calls(b, pg, &st) != 0) || write_open(b, pg, &st) != 0 ||
	    (b->nmails && rd_store_mails(b, pg, &st) != 0) ||
	    (b->nlines && write_lines(b, pg, &st) != 0) ||
	    (b->has_cursor && write_cursor(b, pg, &st) != 0) ||
	    rd_pg_exec_ok(job, pg, "COMMIT", 0, NULL, &st) != 0) {
		rd_pg_rollback(pg);
		if (!job->err[0])
			snprintf(job->err, sizeof(job->err), "out of memory building a batch");
		return st;
	}
	return RD_JOB_OK;
}
