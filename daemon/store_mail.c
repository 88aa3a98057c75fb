/* store_mail.c - the mail part of a batch: each state change of a message is
 * applied to reach.mails only if it had not been applied yet (a replay changes
 * nothing), and only the changes really applied are added to the aggregates. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "hist.h"

static const char SQL_RECEIVED[] =
    "INSERT INTO reach.mails (site, mailbox, msgid, received_at, sender, automatic, rejected,"
    " collector)"
    " SELECT $1, r.mb, r.id, to_timestamp(r.t), r.s, r.a, r.rj, $2"
    " FROM jsonb_to_recordset($3::jsonb) AS r(mb text, id text, t bigint, s text, a text,"
    " rj bool)"
    " ON CONFLICT DO NOTHING RETURNING mailbox, msgid";

static const char SQL_ACK[] =
    "UPDATE reach.mails m SET ack_at = to_timestamp(r.t)"
    " FROM jsonb_to_recordset($2::jsonb) AS r(mb text, id text, t bigint)"
    " WHERE m.site = $1 AND m.mailbox = r.mb AND m.msgid = r.id AND m.ack_at IS NULL"
    " AND m.automatic IS NULL AND NOT m.rejected"
    " RETURNING m.mailbox, m.msgid";

static const char SQL_REPLIED[] =
    "UPDATE reach.mails m SET replied_at = to_timestamp(r.t), reply_route = r.ro,"
    " reply_delay_s = r.d, reply_delay_business_s = r.db, within_target = r.w"
    " FROM jsonb_to_recordset($2::jsonb) AS r(mb text, id text, t bigint, ro text, d int,"
    " db int, w bool)"
    " WHERE m.site = $1 AND m.mailbox = r.mb AND m.msgid = r.id AND m.replied_at IS NULL"
    " AND m.automatic IS NULL AND NOT m.rejected"
    " RETURNING m.mailbox, m.msgid";

/* Closed without a reply: no reply before the closing, whatever order the
 * two changes are applied in (a reply after it still counts as a reply). */
static const char SQL_CLOSED[] =
    "UPDATE reach.mails m SET closed_at = to_timestamp(r.t), closed_how = r.h"
    " FROM jsonb_to_recordset($2::jsonb) AS r(mb text, id text, t bigint, h text)"
    " WHERE m.site = $1 AND m.mailbox = r.mb AND m.msgid = r.id AND m.closed_at IS NULL"
    " AND (m.replied_at IS NULL OR m.replied_at > to_timestamp(r.t))"
    " AND m.automatic IS NULL AND NOT m.rejected"
    " RETURNING m.mailbox, m.msgid";

/* The receipt may not be stored yet: two collectors (Postfix's file and
 * Dovecot's) commit in their own rhythm. Then the row is inserted as
 * automatic, and the person's receipt that comes later changes nothing.
 * RETURNING tells which happened, and the acknowledgement to withdraw. */
static const char SQL_RECLASSIFIED[] =
    "INSERT INTO reach.mails AS m (site, mailbox, msgid, received_at, sender, automatic,"
    " rejected, collector)"
    " SELECT $1, r.mb, r.id, to_timestamp(r.t), r.s, r.a, false, $2"
    " FROM jsonb_to_recordset($3::jsonb) AS r(mb text, id text, t bigint, a text, s text)"
    " ON CONFLICT (site, mailbox, msgid) DO UPDATE SET automatic = excluded.automatic,"
    " sender = CASE WHEN m.sender = '' THEN excluded.sender ELSE m.sender END"
    " WHERE m.automatic IS NULL AND NOT m.rejected AND m.replied_at IS NULL"
    " AND m.closed_at IS NULL"
    " RETURNING m.mailbox, m.msgid, (m.xmax = 0), extract(epoch FROM m.ack_at)::bigint";

static const char SQL_MAIL_AGG[] =
    "INSERT INTO reach.mail_agg AS a (site, mailbox, grain, bucket, received, automatic,"
    " rejected, acknowledged, replied, within_target, closed, delay_sum, delay_max,"
    " delay_hist, delay_business_sum, delay_business_max, delay_business_hist)"
    " SELECT $1, r.mb, r.g, to_timestamp(r.b), r.rc, r.au, r.rj, r.ak, r.rp, r.wt, r.cl,"
    " r.ds, r.dm, r.dh::integer[], r.bs, r.bm, r.bh::integer[]"
    " FROM jsonb_to_recordset($2::jsonb) AS r(mb text, g text, b bigint, rc int, au int,"
    " rj int, ak int, rp int, wt int, cl int, ds bigint, dm int, dh text, bs bigint, bm int,"
    " bh text)"
    " ON CONFLICT (site, mailbox, grain, bucket) DO UPDATE SET"
    " received = a.received + excluded.received, automatic = a.automatic + excluded.automatic,"
    " rejected = a.rejected + excluded.rejected,"
    " acknowledged = a.acknowledged + excluded.acknowledged,"
    " replied = a.replied + excluded.replied,"
    " within_target = a.within_target + excluded.within_target,"
    " closed = a.closed + excluded.closed, delay_sum = a.delay_sum + excluded.delay_sum,"
    " delay_max = greatest(a.delay_max, excluded.delay_max),"
    " delay_hist = reach.hist_add(a.delay_hist, excluded.delay_hist),"
    " delay_business_sum = a.delay_business_sum + excluded.delay_business_sum,"
    " delay_business_max = greatest(a.delay_business_max, excluded.delay_business_max),"
    " delay_business_hist = reach.hist_add(a.delay_business_hist, excluded.delay_business_hist)";

/* Automatic reasons as stored: comma-separated words, NULL for a person. */
static json_t *auto_reasons(uint32_t a)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {{RD_MAIL_AUTO_SUBMITTED, "auto-submitted"},
	             {RD_MAIL_AUTO_XAUTOREPLY, "x-autoreply"},
	             {RD_MAIL_AUTO_PRECEDENCE, "precedence"},
	             {RD_MAIL_AUTO_NULLSENDER, "null-sender"},
	             {RD_MAIL_AUTO_DAEMON, "mailer-daemon"}};
	char buf[128] = "";

	if (!a)
		return json_null();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (a & names[i].bit) {
			if (*buf)
				strcat(buf, ",");
			strcat(buf, names[i].name);
		}
	return json_string(*buf ? buf : "other");
}

/* JSON rows of the changes of one kind. */
static json_t *rows_of(const struct rd_batch *b, enum rd_mail_change_kind kind)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < b->nmails; i++) {
		const struct rd_batch_mail *m = &b->mails[i];
		json_t *o;

		if (m->kind != kind)
			continue;
		o = json_pack("{s:s, s:s, s:I}", "mb", m->mailbox, "id", m->msgid, "t",
		              (json_int_t)m->ts);
		if (!o)
			continue; /* invalid UTF-8 cannot come from the collectors */
		if (kind == RD_MC_RECEIVED) {
			json_object_set_new(o, "s", json_string(m->sender ? m->sender : ""));
			json_object_set_new(o, "a", auto_reasons(m->automatic));
			json_object_set_new(o, "rj", json_boolean(m->rejected));
		} else if (kind == RD_MC_REPLIED) {
			json_object_set_new(o, "ro", json_string(m->route ? m->route : "thread"));
			json_object_set_new(o, "d", json_integer(m->delay_s));
			json_object_set_new(o, "db", json_integer(m->delay_business_s));
			json_object_set_new(o, "w", json_boolean(m->within_target));
		} else if (kind == RD_MC_RECLASSIFIED) {
			json_object_set_new(o, "a", auto_reasons(m->automatic));
			json_object_set_new(o, "s", json_string(m->sender ? m->sender : ""));
		} else if (kind == RD_MC_CLOSED) {
			json_object_set_new(o, "h",
			                    json_string(m->closed_how ? m->closed_how : ""));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/* What a reclassification did: inserted as automatic (then it counts as an
 * automatic receipt), or turned a person's message into an automatic one
 * (received -1, automatic +1, and a stored acknowledgement withdrawn at its
 * own time, appended as an UNACKED entry). */
static int reclassified(struct rd_batch *b, size_t i, PGresult *r, int row)
{
	struct rd_mail_change un;

	if (PQgetvalue(r, row, 2)[0] == 't') {
		b->mails[i].kind = RD_MC_RECEIVED;
		return 0;
	}
	if (PQgetisnull(r, row, 3))
		return 0;
	un = (struct rd_mail_change){.kind = RD_MC_UNACKED,
	                             .mailbox = b->mails[i].mailbox,
	                             .msgid = b->mails[i].msgid,
	                             .ts = strtoll(PQgetvalue(r, row, 3), NULL, 10)};
	return rd_batch_add_mail(b, &un);
}

/* Apply one kind of change; mark in applied[] those the database took. */
static int apply_kind(struct rd_batch *b, PGconn *pg, enum rd_mail_change_kind kind,
                      const char *sql, unsigned char *applied, enum rd_job_status *st)
{
	json_t *rows = rows_of(b, kind);
	char *js = rows ? json_dumps(rows, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	const char *p3[3] = {b->site, b->collector, js}, *p2[2] = {b->site, js};
	PGresult *r;
	int rc = 0;

	json_decref(rows);
	if (!js) {
		snprintf(b->job.err, sizeof(b->job.err), "out of memory");
		return -1;
	}
	r = kind == RD_MC_RECEIVED || kind == RD_MC_RECLASSIFIED
	        ? PQexecParams(pg, sql, 3, NULL, p3, NULL, NULL, 0)
	        : PQexecParams(pg, sql, 2, NULL, p2, NULL, NULL, 0);
	free(js);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(b->job.err, sizeof(b->job.err), "%s", PQerrorMessage(pg));
		*st = rd_pg_retryable(pg, r) ? RD_JOB_RETRY : RD_JOB_FAILED;
		PQclear(r);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++)
		for (size_t i = 0; i < b->nmails; i++)
			if (!applied[i] && b->mails[i].kind == kind &&
			    strcmp(b->mails[i].mailbox, PQgetvalue(r, row, 0)) == 0 &&
			    strcmp(b->mails[i].msgid, PQgetvalue(r, row, 1)) == 0) {
				applied[i] = 1;
				if (kind == RD_MC_RECLASSIFIED && reclassified(b, i, r, row) != 0)
					rc = -1;
				break;
			}
	PQclear(r);
	if (rc != 0)
		snprintf(b->job.err, sizeof(b->job.err), "out of memory");
	return rc;
}

/* --- aggregates ---------------------------------------------------------- */

struct mkey {
	const char *mailbox;
	int grain;
	int64_t bucket;
	size_t idx;
};

static int mkey_cmp(const void *a, const void *b)
{
	const struct mkey *x = a, *y = b;
	int c = strcmp(x->mailbox, y->mailbox);

	if (c)
		return c;
	if (x->grain != y->grain)
		return x->grain - y->grain;
	return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

struct msums {
	int rc, au, rj, ak, rp, wt, cl;
	int64_t ds, dm, bs, bm;
	uint32_t dh[RD_MHIST_BINS], bh[RD_MHIST_BINS];
};

static void msums_add(struct msums *s, const struct rd_batch_mail *m)
{
	switch (m->kind) {
	case RD_MC_RECEIVED:
		s->rj += m->rejected;
		s->au += !m->rejected && m->automatic;
		s->rc += !m->rejected && !m->automatic;
		break;
	case RD_MC_ACK: s->ak++; break;
	case RD_MC_RECLASSIFIED: /* dated at its receipt */
		s->rc--;
		s->au++;
		break;
	case RD_MC_UNACKED: s->ak--; break;
	case RD_MC_CLOSED: s->cl++; break;
	case RD_MC_REPLIED:
		s->rp++;
		s->wt += m->within_target;
		s->ds += m->delay_s;
		s->bs += m->delay_business_s;
		if (m->delay_s > s->dm)
			s->dm = m->delay_s;
		if (m->delay_business_s > s->bm)
			s->bm = m->delay_business_s;
		s->dh[rd_mhist_bin(m->delay_s)]++;
		s->bh[rd_mhist_bin(m->delay_business_s)]++;
		break;
	default: break;
	}
}

static json_t *hist_text(const uint32_t *h)
{
	char *buf = malloc(RD_MHIST_BINS * 11 + 3);
	size_t len = 0;
	int last = -1;
	json_t *j;

	if (!buf)
		return NULL;
	for (int i = 0; i < RD_MHIST_BINS; i++)
		if (h[i])
			last = i;
	buf[len++] = '{';
	for (int i = 0; i <= last; i++)
		len += (size_t)sprintf(buf + len, "%s%u", i ? "," : "", h[i]);
	buf[len++] = '}';
	buf[len] = '\0';
	j = json_string(buf);
	free(buf);
	return j;
}

static json_t *magg_row(const struct mkey *k, const struct msums *s)
{
	static const char *const grains[] = {"minute", "hour", "day"};
	json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I}", "mb",
	                      k->mailbox, "g", grains[k->grain], "b", (json_int_t)k->bucket, "rc",
	                      s->rc, "au", s->au, "rj", s->rj, "ak", s->ak, "rp", s->rp, "wt",
	                      s->wt, "cl", s->cl, "ds", (json_int_t)s->ds, "bs", (json_int_t)s->bs);

	if (!o)
		return NULL;
	json_object_set_new(o, "dm", s->rp ? json_integer(s->dm) : json_null());
	json_object_set_new(o, "bm", s->rp ? json_integer(s->bm) : json_null());
	json_object_set_new(o, "dh", hist_text(s->dh));
	json_object_set_new(o, "bh", hist_text(s->bh));
	return o;
}

static int write_mail_aggs(struct rd_batch *b, PGconn *pg, const unsigned char *applied,
                           enum rd_job_status *st)
{
	static const int64_t secs[] = {60, 3600, 86400};
	struct mkey *keys = malloc(b->nmails * 3 * sizeof(*keys) + 1);
	struct msums *s = malloc(sizeof(*s));
	json_t *arr = json_array();
	char *js = NULL;
	size_t n = 0;
	int rc = -1;

	if (!keys || !s || !arr)
		goto out;
	for (size_t i = 0; i < b->nmails; i++)
		for (int g = 0; applied[i] && g < 3; g++) {
			int64_t t = b->mails[i].ts;

			keys[n++] = (struct mkey){b->mails[i].mailbox, g,
			                          t - ((t % secs[g]) + secs[g]) % secs[g], i};
		}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	qsort(keys, n, sizeof(*keys), mkey_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		memset(s, 0, sizeof(*s));
		for (; j < n && mkey_cmp(&keys[i], &keys[j]) == 0; j++)
			msums_add(s, &b->mails[keys[j].idx]);
		json_array_append_new(arr, magg_row(&keys[i], s));
		i = j;
	}
	js = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (js) {
		const char *p[2] = {b->site, js};
		PGresult *r = PQexecParams(pg, SQL_MAIL_AGG, 2, NULL, p, NULL, NULL, 0);

		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			rc = 0;
		} else {
			snprintf(b->job.err, sizeof(b->job.err), "%s", PQerrorMessage(pg));
			*st = rd_pg_retryable(pg, r) ? RD_JOB_RETRY : RD_JOB_FAILED;
		}
		PQclear(r);
	}
out:
	if (rc != 0 && !b->job.err[0])
		snprintf(b->job.err, sizeof(b->job.err), "out of memory");
	json_decref(arr);
	free(js);
	free(keys);
	free(s);
	return rc;
}

int rd_store_mails(struct rd_batch *b, PGconn *pg, enum rd_job_status *st)
{
	/* room for the UNACKED entries a reclassification may append */
	size_t before = b->nmails;
	unsigned char *applied = calloc(2 * b->nmails + 1, 1);
	int rc = -1;

	if (!applied) {
		snprintf(b->job.err, sizeof(b->job.err), "out of memory");
		return -1;
	}
	/* in this order: a message received and answered in the same batch is
	 * inserted before it is updated */
	if (apply_kind(b, pg, RD_MC_RECEIVED, SQL_RECEIVED, applied, st) == 0 &&
	    apply_kind(b, pg, RD_MC_ACK, SQL_ACK, applied, st) == 0 &&
	    apply_kind(b, pg, RD_MC_REPLIED, SQL_REPLIED, applied, st) == 0 &&
	    apply_kind(b, pg, RD_MC_CLOSED, SQL_CLOSED, applied, st) == 0 &&
	    apply_kind(b, pg, RD_MC_RECLASSIFIED, SQL_RECLASSIFIED, applied, st) == 0) {
		for (size_t i = before; i < b->nmails; i++)
			applied[i] = 1; /* the withdrawn acknowledgements */
		rc = write_mail_aggs(b, pg, applied, st);
	}
	free(applied);
	return rc;
}
