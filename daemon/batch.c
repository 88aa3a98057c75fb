/* batch.c - see batch.h. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

struct rd_batch *rd_batch_new(const char *site, const char *collector, const char *source)
{
	struct rd_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->site = strdup(site);
	b->collector = strdup(collector);
	b->source = strdup(source ? source : "");
	if (!b->site || !b->collector || !b->source) {
		rd_batch_free(b);
		return NULL;
	}
	b->job.is_batch = 1;
	b->job.persist = 1;
	b->job.run = rd_store_batch;
	return b;
}

void rd_batch_free(struct rd_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->ncalls; i++) {
		free(b->calls[i].queue);
		free(b->calls[i].callid);
		free(b->calls[i].agent);
		free(b->calls[i].reason);
	}
	for (size_t i = 0; i < b->nopen; i++) {
		free(b->open[i].queue);
		free(b->open[i].callid);
		free(b->open[i].agent);
	}
	for (size_t i = 0; i < b->nlines; i++) {
		free(b->lines[i].reason);
		free(b->lines[i].data);
	}
	for (size_t i = 0; i < b->nmails; i++) {
		free(b->mails[i].mailbox);
		free(b->mails[i].msgid);
		free(b->mails[i].sender);
		free(b->mails[i].route);
		free(b->mails[i].closed_how);
	}
	free(b->mails);
	free(b->calls);
	free(b->open);
	free(b->lines);
	free(b->site);
	free(b->collector);
	free(b->source);
	free(b);
}

/* Make room for one more element of size sz in *arr. */
static int reserve(void **arr, size_t n, size_t *cap, size_t sz)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = realloc(*arr, ncap * sz);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

int rd_batch_add_call(struct rd_batch *b, const struct rd_call *c)
{
	struct rd_batch_call *bc;
	int failed = 0;

	if (reserve((void **)&b->calls, b->ncalls, &b->capcalls, sizeof(*bc)) != 0)
		return -1;
	bc = &b->calls[b->ncalls];
	memset(bc, 0, sizeof(*bc));
	bc->queue = dup_or_null(c->queue, &failed);
	bc->callid = dup_or_null(c->callid, &failed);
	bc->agent = dup_or_null(c->agent, &failed);
	bc->reason = dup_or_null(c->reason, &failed);
	bc->entered = c->entered;
	bc->ended = c->ended;
	bc->wait_s = c->wait_s;
	bc->talk_s = c->talk_s;
	bc->outcome = (uint8_t)c->outcome;
	bc->transferred = c->transferred;
	bc->short_abandoned = c->short_abandoned;
	bc->within_sl = c->within_sl;
	bc->talk_counted = c->talk_counted;
	b->ncalls++; /* counted even on failure so rd_batch_free releases it */
	return failed ? -1 : 0;
}

int rd_batch_add_open(struct rd_batch *b, const struct rd_open_call *oc)
{
	struct rd_batch_open *o;
	int failed = 0;

	if (reserve((void **)&b->open, b->nopen, &b->capopen, sizeof(*o)) != 0)
		return -1;
	o = &b->open[b->nopen++];
	memset(o, 0, sizeof(*o));
	o->queue = dup_or_null(oc->queue, &failed);
	o->callid = dup_or_null(oc->callid, &failed);
	o->agent = dup_or_null(oc->agent, &failed);
	o->entered = oc->entered;
	o->connected = oc->connected;
	o->wait_s = oc->wait_s;
	return failed ? -1 : 0;
}

int rd_batch_add_line(struct rd_batch *b, uint64_t dev, uint64_t ino, uint64_t offset, int unknown,
                      const char *reason, const char *line, size_t len)
{
	struct rd_batch_line *l;
	int failed = 0;

	if (reserve((void **)&b->lines, b->nlines, &b->caplines, sizeof(*l)) != 0)
		return -1;
	l = &b->lines[b->nlines++];
	memset(l, 0, sizeof(*l));
	l->dev = dev;
	l->ino = ino;
	l->offset = offset;
	l->unknown = unknown;
	l->reason = dup_or_null(reason, &failed);
	l->len = len > RD_BATCH_LINE_KEEP ? RD_BATCH_LINE_KEEP : len;
	l->data = malloc(l->len + 1);
	if (!l->data)
		return -1;
	memcpy(l->data, line, l->len);
	l->data[l->len] = '\0';
	return failed ? -1 : 0;
}

int rd_batch_add_mail(struct rd_batch *b, const struct rd_mail_change *ch)
{
	struct rd_batch_mail *m;
	int failed = 0;

	if (reserve((void **)&b->mails, b->nmails, &b->capmails, sizeof(*m)) != 0)
		return -1;
	m = &b->mails[b->nmails++];
	memset(m, 0, sizeof(*m));
	m->mailbox = dup_or_null(ch->mailbox, &failed);
	m->msgid = dup_or_null(ch->msgid, &failed);
	m->sender = dup_or_null(ch->sender, &failed);
	m->route = dup_or_null(ch->route, &failed);
	m->closed_how = dup_or_null(ch->closed_how, &failed);
	m->ts = ch->ts;
	m->received = ch->received;
	m->delay_s = ch->delay_s;
	m->delay_business_s = ch->delay_business_s;
	m->automatic = ch->automatic;
	m->kind = (uint8_t)ch->kind;
	m->rejected = (uint8_t)ch->rejected;
	m->within_target = (uint8_t)ch->within_target;
	return failed ? -1 : 0;
}
