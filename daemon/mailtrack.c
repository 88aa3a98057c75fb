/* mailtrack.c - see mailtrack.h.
 *
 * Messages live in a chained hash table keyed by Message-ID; the mailbox is
 * compared inside the chain (one message sent to two mailboxes is two
 * items). Open messages stay until answered or
 * closed; finished ones are remembered for forget_s so that a replayed event
 * changes nothing. */
#include "mailtrack.h"

#include "fnv.h"

#include <stdlib.h>
#include <string.h>

#define SCAN_EVERY_S 600

struct item {
	struct item *next;
	uint64_t hash;
	char *mailbox, *msgid, *sender;
	int64_t received, ack_at, finished_at; /* finished_at 0 while open */
	uint32_t automatic;
	/* a person's message not answered yet, open or closed: an agent may
	 * still answer one filed away, and that reply counts */
	unsigned replyable : 1;
};

struct pending_ack { /* an acknowledgement logged before its message */
	struct pending_ack *next;
	char *msgid;
	int64_t ts;
};

struct rd_mailtrack {
	struct rd_mailtrack_options opt;
	struct rd_mail_clock clock;
	rd_mail_change_fn fn;
	void *arg;
	struct item **slots;
	size_t nslots, count, open;
	struct pending_ack *acks;
	int64_t now, last_scan;
};

static uint64_t hash_str(const char *s)
{
	return rd_fnv1a_str(RD_FNV_BASIS, s);
}

struct rd_mailtrack *rd_mailtrack_new(const struct rd_mailtrack_options *opt,
                                      const struct rd_mail_clock *clock, rd_mail_change_fn fn,
                                      void *arg)
{
	struct rd_mailtrack *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->opt = *opt;
	t->clock = *clock;
	t->fn = fn;
	t->arg = arg;
	t->nslots = 256;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void rd_mailtrack_set_options(struct rd_mailtrack *t, const struct rd_mailtrack_options *opt)
{
	t->opt = *opt;
}

static void item_free(struct item *it)
{
	free(it->mailbox);
	free(it->msgid);
	free(it->sender);
	free(it);
}

static void acks_free(struct pending_ack *a)
{
	while (a) {
		struct pending_ack *next = a->next;

		free(a->msgid);
		free(a);
		a = next;
	}
}

void rd_mailtrack_free(struct rd_mailtrack *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nslots; i++)
		for (struct item *it = t->slots[i], *next; it; it = next) {
			next = it->next;
			item_free(it);
		}
	acks_free(t->acks);
	free(t->slots);
	free(t);
}

/* Dovecot's mail_log cuts a long Message-ID and ends it with "...". The
 * collector completes it from the deliveries it saw, but after a restart
 * the delivery may lie before the resume point: the tracker then finds the
 * message by that prefix among the mailbox's messages (the newest one if
 * several share it). A linear scan, only for cut IDs it could not place. */
static struct item *find_cut(const struct rd_mailtrack *t, const char *mailbox, const char *msgid)
{
	size_t n = strlen(msgid);
	struct item *best = NULL;

	if (n < 4 || strcmp(msgid + n - 3, "...") != 0)
		return NULL;
	n -= 3;
	for (size_t i = 0; i < t->nslots; i++)
		for (struct item *it = t->slots[i]; it; it = it->next)
			if (strncmp(it->msgid, msgid, n) == 0 && strlen(it->msgid) > n &&
			    strcmp(it->mailbox, mailbox) == 0 &&
			    (!best || it->received > best->received))
				best = it;
	return best;
}

/* The message msgid in mailbox. */
static struct item *find(const struct rd_mailtrack *t, const char *mailbox, const char *msgid)
{
	uint64_t h;

	if (!msgid || !*msgid || !mailbox)
		return NULL;
	h = hash_str(msgid);
	for (struct item *it = t->slots[h & (t->nslots - 1)]; it; it = it->next)
		if (it->hash == h && strcmp(it->msgid, msgid) == 0 &&
		    strcmp(it->mailbox, mailbox) == 0)
			return it;
	return NULL;
}

/* The message a mail_log line names (flags, closing): its ID may be cut. */
static struct item *find_logged(const struct rd_mailtrack *t, const char *mailbox,
                                const char *msgid)
{
	struct item *it = find(t, mailbox, msgid);

	return it || !msgid || !mailbox ? it : find_cut(t, mailbox, msgid);
}

static int grow(struct rd_mailtrack *t)
{
	size_t n = t->nslots * 2;
	struct item **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < t->nslots; i++)
		for (struct item *it = t->slots[i], *next; it; it = next) {
			next = it->next;
			it->next = slots[it->hash & (n - 1)];
			slots[it->hash & (n - 1)] = it;
		}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

static struct item *add(struct rd_mailtrack *t, const char *mailbox, const char *msgid,
                        const char *sender, int64_t received)
{
	struct item *it;

	if (t->count >= t->nslots && grow(t) != 0)
		return NULL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->hash = hash_str(msgid);
	it->mailbox = strdup(mailbox);
	it->msgid = strdup(msgid);
	it->sender = strdup(sender ? sender : "");
	if (!it->mailbox || !it->msgid || !it->sender) {
		item_free(it);
		return NULL;
	}
	it->received = received;
	it->replyable = 1;
	it->next = t->slots[it->hash & (t->nslots - 1)];
	t->slots[it->hash & (t->nslots - 1)] = it;
	t->count++;
	t->open++;
	return it;
}

static void finish(struct rd_mailtrack *t, struct item *it, int64_t ts)
{
	if (it->finished_at)
		return;
	it->finished_at = ts > 0 ? ts : 1;
	t->open--;
}

static void report(struct rd_mailtrack *t, const struct item *it, enum rd_mail_change_kind kind,
                   int64_t ts)
{
	struct rd_mail_change ch = {.kind = kind,
	                            .mailbox = it->mailbox,
	                            .msgid = it->msgid,
	                            .sender = it->sender,
	                            .ts = ts,
	                            .received = it->received};

	t->fn(t->arg, &ch);
}

/* --- events ------------------------------------------------------------ */

static int take_pending_ack(struct rd_mailtrack *t, struct item *it)
{
	for (struct pending_ack **pp = &t->acks; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->msgid, it->msgid) == 0) {
			struct pending_ack *a = *pp;
			int64_t ts = a->ts;

			*pp = a->next;
			free(a->msgid);
			free(a);
			it->ack_at = ts;
			return 1;
		}
	return 0;
}

/* The headers saying a message is automatic came after its receipt. */
static void reclassify(struct rd_mailtrack *t, struct item *it, const struct rd_mail_event *ev)
{
	struct rd_mail_change ch = {.kind = RD_MC_RECLASSIFIED,
	                            .mailbox = it->mailbox,
	                            .msgid = it->msgid,
	                            .sender =
	                                ev->sender && *it->sender == '\0' ? ev->sender : it->sender,
	                            .ts = it->received,
	                            .received = it->received,
	                            .automatic = ev->automatic};

	it->automatic = ev->automatic;
	it->replyable = 0;
	t->fn(t->arg, &ch); /* the store withdraws a stored acknowledgement */
	finish(t, it, ev->ts);
}

static int on_received(struct rd_mailtrack *t, const struct rd_mail_event *ev, int rejected)
{
	struct rd_mail_change ch = {.kind = RD_MC_RECEIVED,
	                            .mailbox = ev->mailbox,
	                            .msgid = ev->msgid,
	                            .sender = ev->sender ? ev->sender : "",
	                            .ts = ev->ts,
	                            .received = ev->ts,
	                            .automatic = ev->automatic,
	                            .rejected = rejected};
	struct item *it;

	if (!ev->msgid || !*ev->msgid || !ev->mailbox)
		return 0;
	it = find(t, ev->mailbox, ev->msgid);
	if (it) { /* a replay, a second delivery, or the Postfix side of it */
		if (ev->automatic && !it->automatic && !it->finished_at && !rejected)
			reclassify(t, it, ev);
		return 0;
	}
	it = add(t, ev->mailbox, ev->msgid, ch.sender, ev->ts);
	if (!it)
		return -1;
	it->automatic = ev->automatic;
	t->fn(t->arg, &ch);
	if (rejected || ev->automatic) {
		it->replyable = 0;
		finish(t, it, ev->ts); /* counted, never in the backlog */
	} else if (take_pending_ack(t, it) && it->ack_at - it->received <= t->opt.ack_window_s)
		report(t, it, RD_MC_ACK, it->ack_at);
	return 0;
}

static int on_ack(struct rd_mailtrack *t, const struct rd_mail_event *ev)
{
	struct item *it = find(t, ev->mailbox, ev->msgid);
	struct pending_ack *a;

	if (it) {
		if (it->ack_at || it->finished_at || ev->ts - it->received > t->opt.ack_window_s)
			return 0;
		it->ack_at = ev->ts;
		report(t, it, RD_MC_ACK, ev->ts);
		return 0;
	}
	if (!ev->msgid || !*ev->msgid)
		return 0;
	a = calloc(1, sizeof(*a)); /* the delivery line may come just after */
	if (!a || !(a->msgid = strdup(ev->msgid))) {
		free(a);
		return -1;
	}
	a->ts = ev->ts;
	a->next = t->acks;
	t->acks = a;
	return 0;
}

static void replied(struct rd_mailtrack *t, struct item *it, int64_t ts, const char *route)
{
	struct rd_mail_change ch = {.kind = RD_MC_REPLIED,
	                            .mailbox = it->mailbox,
	                            .msgid = it->msgid,
	                            .sender = it->sender,
	                            .ts = ts,
	                            .received = it->received,
	                            .route = route};

	if (ts < it->received)
		ts = ch.ts = it->received;
	ch.delay_s = ts - it->received;
	ch.delay_business_s = t->clock.business_seconds(t->clock.arg, it->received, ts);
	ch.within_target = ts <= t->clock.deadline(t->clock.arg, it->received);
	it->replyable = 0;
	finish(t, it, ts);
	t->fn(t->arg, &ch);
}

/* The original a reply answers, among the messages of the mailbox it left
 * from: In-Reply-To, else the References from the most recent one back. The
 * first message found decides, even if already answered: a later reply in
 * a thread never credits an older message, nor another mailbox's copy. */
static struct item *thread_parent(struct rd_mailtrack *t, const struct rd_mail_event *ev)
{
	struct item *it = find(t, ev->mailbox, ev->in_reply_to);
	char buf[4096], *save = NULL, *tok, *ids[64];
	int n = 0;

	if (it || !ev->references || strlen(ev->references) >= sizeof(buf))
		return it;
	strcpy(buf, ev->references);
	for (tok = strtok_r(buf, " \t,", &save); tok && n < 64; tok = strtok_r(NULL, " \t,", &save))
		ids[n++] = tok;
	while (n-- > 0 && !it)
		it = find(t, ev->mailbox, ids[n]);
	return it;
}

static void on_sent(struct rd_mailtrack *t, const struct rd_mail_event *ev)
{
	struct item *it;

	if (ev->automatic)
		return; /* auto-replies are acknowledgements, never human replies */
	it = thread_parent(t, ev);
	if (it && it->replyable)
		replied(t, it, ev->ts, "thread");
}

static void on_flags(struct rd_mailtrack *t, const struct rd_mail_event *ev)
{
	struct item *it = find_logged(t, ev->mailbox, ev->msgid);

	if (!it || !it->replyable)
		return;
	if (ev->flags & RD_MAIL_F_ANSWERED)
		replied(t, it, ev->ts, "answered");
}

static void on_closed(struct rd_mailtrack *t, const struct rd_mail_event *ev)
{
	struct item *it = find_logged(t, ev->mailbox, ev->msgid);
	struct rd_mail_change ch = {.kind = RD_MC_CLOSED, .ts = ev->ts};

	if (!it || it->finished_at)
		return;
	ch.mailbox = it->mailbox;
	ch.msgid = it->msgid;
	ch.sender = it->sender;
	ch.received = it->received;
	ch.closed_how = ev->folder && *ev->folder ? ev->folder : "deleted";
	finish(t, it, ev->ts);
	t->fn(t->arg, &ch);
}

/* Forget finished messages and stale pending acknowledgements. */
static void scan(struct rd_mailtrack *t)
{
	if (t->now - t->last_scan < SCAN_EVERY_S)
		return;
	t->last_scan = t->now;
	for (size_t i = 0; i < t->nslots; i++)
		for (struct item **pp = &t->slots[i]; *pp;) {
			struct item *it = *pp;

			if (it->finished_at && t->now - it->finished_at > t->opt.forget_s) {
				*pp = it->next;
				t->count--;
				item_free(it);
			} else {
				pp = &it->next;
			}
		}
	for (struct pending_ack **pp = &t->acks; *pp;) {
		struct pending_ack *a = *pp;

		if (t->now - a->ts > t->opt.ack_window_s) {
			*pp = a->next;
			free(a->msgid);
			free(a);
		} else {
			pp = &a->next;
		}
	}
}

int rd_mailtrack_event(struct rd_mailtrack *t, const struct rd_mail_event *ev)
{
	int rc = 0;

	if (ev->ts > t->now)
		t->now = ev->ts;
	if (!ev->mailbox)
		return -1;
	switch (ev->type) {
	case RD_MAIL_RECEIVED: rc = on_received(t, ev, 0); break;
	case RD_MAIL_REJECTED: rc = on_received(t, ev, 1); break;
	case RD_MAIL_ACK: rc = on_ack(t, ev); break;
	case RD_MAIL_SENT: on_sent(t, ev); break;
	case RD_MAIL_FLAGS: on_flags(t, ev); break;
	case RD_MAIL_CLOSED: on_closed(t, ev); break;
	default: return -1;
	}
	scan(t);
	return rc;
}

int rd_mailtrack_restore(struct rd_mailtrack *t, const struct rd_mail_state *st)
{
	struct item *it;

	if (find(t, st->mailbox, st->msgid))
		return 0;
	it = add(t, st->mailbox, st->msgid, st->sender, st->received);
	if (!it)
		return -1;
	it->replyable = st->replyable;
	if (st->finished)
		finish(t, it, st->received > t->now ? st->received : t->now);
	if (st->received > t->now)
		t->now = st->received;
	return 0;
}

size_t rd_mailtrack_open_count(const struct rd_mailtrack *t)
{
	return t->open;
}

void rd_mailtrack_gauges(const struct rd_mailtrack *t,
                         void (*fn)(void *arg, const struct rd_mail_gauge *g), void *arg)
{
	struct rd_mail_gauge *g = NULL, *grown;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < t->nslots; i++)
		for (const struct item *it = t->slots[i]; it; it = it->next) {
			size_t k;

			if (it->finished_at)
				continue;
			for (k = 0; k < n && strcmp(g[k].mailbox, it->mailbox) != 0; k++)
				;
			if (k == n) {
				if (n == cap) {
					cap = cap ? cap * 2 : 8;
					grown = realloc(g, cap * sizeof(*g));
					if (!grown) {
						free(g);
						return; /* gauges are rewritten at the next refresh
						         */
					}
					g = grown;
				}
				g[n++] = (struct rd_mail_gauge){it->mailbox, 0, it->received};
			}
			g[k].backlog++;
			if (it->received < g[k].oldest)
				g[k].oldest = it->received;
		}
	for (size_t k = 0; k < n; k++)
		fn(arg, &g[k]);
	free(g);
}
