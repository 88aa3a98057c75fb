/* Unit tests: the mail tracker (receipt, acknowledgement, first reply by
 * thread or \Answered, closing, replays, backlog). Business time is faked:
 * every second counts half, the target is one day later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailtrack.h"

#define MAXCH 16

struct seen {
	struct rd_mail_change ch[MAXCH];
	char msgid[MAXCH][64], route[MAXCH][16];
	int n;
};

static void on_change(void *arg, const struct rd_mail_change *ch)
{
	struct seen *s = arg;

	assert_true(s->n < MAXCH);
	s->ch[s->n] = *ch;
	snprintf(s->msgid[s->n], sizeof(s->msgid[0]), "%s", ch->msgid);
	snprintf(s->route[s->n], sizeof(s->route[0]), "%s", ch->route ? ch->route : "");
	s->n++;
}

static int64_t half(void *arg, int64_t from, int64_t to)
{
	return (to - from) / 2;
}

static int64_t next_day(void *arg, int64_t received)
{
	return received + 86400;
}

static struct rd_mailtrack *tracker(struct seen *s)
{
	struct rd_mailtrack_options opt = {900, 8 * 86400};
	struct rd_mail_clock clock = {half, next_day, NULL};

	memset(s, 0, sizeof(*s));
	return rd_mailtrack_new(&opt, &clock, on_change, s);
}

static void ev(struct rd_mailtrack *t, enum rd_mail_ev_type type, int64_t ts, const char *mb,
               const char *msgid)
{
	struct rd_mail_event e = {
	    .type = type, .ts = ts, .mailbox = mb, .msgid = msgid, .sender = "citizen@example.org"};

	assert_int_equal(rd_mailtrack_event(t, &e), 0);
}

static void test_receive_ack_reply(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_event reply = {.type = RD_MAIL_SENT,
	                              .ts = 1000 + 7200,
	                              .mailbox = "contact@x.fr",
	                              .msgid = "<r1@x.fr>",
	                              .in_reply_to = "<m1@ext>"};

	ev(t, RD_MAIL_RECEIVED, 1000, "contact@x.fr", "<m1@ext>");
	ev(t, RD_MAIL_ACK, 1005, "contact@x.fr", "<m1@ext>");
	assert_int_equal(rd_mailtrack_open_count(t), 1);
	assert_int_equal(rd_mailtrack_event(t, &reply), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ch[0].kind, RD_MC_RECEIVED);
	assert_int_equal(s.ch[1].kind, RD_MC_ACK);
	assert_int_equal(s.ch[1].ts, 1005);
	assert_int_equal(s.ch[2].kind, RD_MC_REPLIED);
	assert_string_equal(s.route[2], "thread");
	assert_int_equal(s.ch[2].delay_s, 7200);
	assert_int_equal(s.ch[2].delay_business_s, 3600);
	assert_true(s.ch[2].within_target);
	assert_int_equal(rd_mailtrack_open_count(t), 0);
	/* a second reply is not a first reply */
	reply.ts += 100;
	assert_int_equal(rd_mailtrack_event(t, &reply), 0);
	assert_int_equal(s.n, 3);
	rd_mailtrack_free(t);
}

/* The acknowledgement line may precede the delivery line; a late one is not
 * an acknowledgement. */
static void test_ack_order_and_window(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);

	ev(t, RD_MAIL_ACK, 999, "contact@x.fr", "<early@ext>");
	ev(t, RD_MAIL_RECEIVED, 1000, "contact@x.fr", "<early@ext>");
	ev(t, RD_MAIL_RECEIVED, 1000, "contact@x.fr", "<late@ext>");
	ev(t, RD_MAIL_ACK, 1000 + 901, "contact@x.fr", "<late@ext>");
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ch[1].kind, RD_MC_ACK);
	assert_string_equal(s.msgid[1], "<early@ext>");
	rd_mailtrack_free(t);
}

static void test_answered_flag_and_references(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_event flags = {.type = RD_MAIL_FLAGS,
	                              .ts = 5000,
	                              .mailbox = "titres@x.fr",
	                              .msgid = "<a@ext>",
	                              .flags = RD_MAIL_F_SEEN};
	struct rd_mail_event refs = {.type = RD_MAIL_SENT,
	                             .ts = 90000 + 86401,
	                             .mailbox = "titres@x.fr",
	                             .msgid = "<r@x.fr>",
	                             .in_reply_to = "<unknown@x>",
	                             .references = "<zzz@x> <b@ext> <unknown@x>"};

	ev(t, RD_MAIL_RECEIVED, 1000, "titres@x.fr", "<a@ext>");
	ev(t, RD_MAIL_RECEIVED, 90000, "titres@x.fr", "<b@ext>");
	assert_int_equal(rd_mailtrack_event(t, &flags), 0); /* \Seen is no reply */
	assert_int_equal(s.n, 2);
	flags.flags |= RD_MAIL_F_ANSWERED;
	assert_int_equal(rd_mailtrack_event(t, &flags), 0);
	assert_int_equal(s.ch[2].kind, RD_MC_REPLIED);
	assert_string_equal(s.route[2], "answered");
	assert_int_equal(rd_mailtrack_event(t, &refs), 0);
	assert_int_equal(s.ch[3].kind, RD_MC_REPLIED);
	assert_string_equal(s.msgid[3], "<b@ext>");
	assert_false(s.ch[3].within_target); /* one day + a second */
	rd_mailtrack_free(t);
}

static void test_automatic_rejected_closed(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_event autom = {.type = RD_MAIL_RECEIVED,
	                              .ts = 10,
	                              .mailbox = "c@x.fr",
	                              .msgid = "<auto@ext>",
	                              .sender = "",
	                              .automatic = RD_MAIL_AUTO_NULLSENDER};
	struct rd_mail_event closed = {.type = RD_MAIL_CLOSED,
	                               .ts = 30,
	                               .mailbox = "c@x.fr",
	                               .msgid = "<h@ext>",
	                               .folder = "Archives"};

	assert_int_equal(rd_mailtrack_event(t, &autom), 0);
	ev(t, RD_MAIL_REJECTED, 11, "c@x.fr", "<spam@ext>");
	ev(t, RD_MAIL_RECEIVED, 20, "c@x.fr", "<h@ext>");
	assert_int_equal(rd_mailtrack_open_count(t), 1);
	assert_int_equal(rd_mailtrack_event(t, &closed), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ch[0].automatic, RD_MAIL_AUTO_NULLSENDER);
	assert_int_equal(s.ch[1].rejected, 1);
	assert_int_equal(s.ch[3].kind, RD_MC_CLOSED);
	assert_string_equal(s.ch[3].closed_how, "Archives");
	assert_int_equal(rd_mailtrack_open_count(t), 0);
	rd_mailtrack_free(t);
}

/* After a restart the collector replays events: nothing is reported twice. */
static void test_restore_and_replay(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_state open = {"c@x.fr", "<o@ext>", "a@b", 100, 0, 1};
	struct rd_mail_state done = {"c@x.fr", "<d@ext>", "a@b", 50, 1, 0};

	assert_int_equal(rd_mailtrack_restore(t, &open), 0);
	assert_int_equal(rd_mailtrack_restore(t, &done), 0);
	ev(t, RD_MAIL_RECEIVED, 100, "c@x.fr", "<o@ext>");
	ev(t, RD_MAIL_RECEIVED, 50, "c@x.fr", "<d@ext>");
	ev(t, RD_MAIL_FLAGS, 60, "c@x.fr", "<d@ext>");
	assert_int_equal(s.n, 0);
	assert_int_equal(rd_mailtrack_open_count(t), 1);
	rd_mailtrack_free(t);
}

/* After a restart past its delivery, a message restored from the database
 * is closed and flagged by mail_log lines whose Message-ID Dovecot cut to a
 * prefix ending in "...": the prefix finds it, in its mailbox only. */
static void test_cut_msgid_after_restore(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_state a = {"c@x.fr", "<AM0PR04-long-id@host.example>", "a@b", 100, 0, 1};
	struct rd_mail_state b = {"t@x.fr", "<AM0PR04-long-id@host.example>", "a@b", 200, 0, 1};
	struct rd_mail_state other = {"c@x.fr", "<BB0PR04-long-id@host.example>", "a@b", 150, 0, 1};
	struct rd_mail_event closed = {.type = RD_MAIL_CLOSED,
	                               .ts = 300,
	                               .mailbox = "c@x.fr",
	                               .msgid = "<AM0PR04-lo...",
	                               .folder = "Archives"};

	assert_int_equal(rd_mailtrack_restore(t, &a), 0);
	assert_int_equal(rd_mailtrack_restore(t, &b), 0);
	assert_int_equal(rd_mailtrack_restore(t, &other), 0);
	assert_int_equal(rd_mailtrack_event(t, &closed), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.msgid[0], "<AM0PR04-long-id@host.example>");
	assert_string_equal(s.ch[0].mailbox, "c@x.fr");
	assert_int_equal(s.ch[0].kind, RD_MC_CLOSED);
	assert_int_equal(rd_mailtrack_open_count(t), 2);
	/* a prefix that is no cut (no "...") matches nothing */
	ev(t, RD_MAIL_CLOSED, 310, "t@x.fr", "<AM0PR04-lo");
	assert_int_equal(s.n, 1);
	rd_mailtrack_free(t);
}

/* A message filed away without a reply, then answered: closed when it was
 * filed, replied when answered; it left the backlog at the closing. */
static void test_reply_after_closing(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_event closed = {.type = RD_MAIL_CLOSED,
	                               .ts = 200,
	                               .mailbox = "c@x.fr",
	                               .msgid = "<k@ext>",
	                               .folder = "Archives"};
	struct rd_mail_event reply = {.type = RD_MAIL_SENT,
	                              .ts = 300,
	                              .mailbox = "c@x.fr",
	                              .msgid = "<r@x.fr>",
	                              .in_reply_to = "<k@ext>"};

	ev(t, RD_MAIL_RECEIVED, 100, "c@x.fr", "<k@ext>");
	assert_int_equal(rd_mailtrack_event(t, &closed), 0);
	assert_int_equal(rd_mailtrack_open_count(t), 0);
	assert_int_equal(rd_mailtrack_event(t, &reply), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ch[1].kind, RD_MC_CLOSED);
	assert_int_equal(s.ch[2].kind, RD_MC_REPLIED);
	assert_int_equal(s.ch[2].delay_s, 200);
	rd_mailtrack_free(t);
}

/* Dovecot's delivery line (no headers) came first; Postfix's says the
 * message is automatic: it is reclassified once and leaves the backlog. */
static void test_reclassified(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_event pf = {.type = RD_MAIL_RECEIVED,
	                           .ts = 101,
	                           .mailbox = "c@x.fr",
	                           .msgid = "<v@ext>",
	                           .sender = "",
	                           .automatic = RD_MAIL_AUTO_NULLSENDER};

	ev(t, RD_MAIL_RECEIVED, 100, "c@x.fr", "<v@ext>");
	assert_int_equal(rd_mailtrack_open_count(t), 1);
	assert_int_equal(rd_mailtrack_event(t, &pf), 0);
	assert_int_equal(rd_mailtrack_event(t, &pf), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ch[1].kind, RD_MC_RECLASSIFIED);
	assert_int_equal(s.ch[1].ts, 100); /* dated at the receipt */
	assert_int_equal(s.ch[1].automatic, RD_MAIL_AUTO_NULLSENDER);
	assert_int_equal(rd_mailtrack_open_count(t), 0);
	rd_mailtrack_free(t);
}

static void count_gauge(void *arg, const struct rd_mail_gauge *g)
{
	struct rd_mail_gauge *out = arg;

	if (strcmp(g->mailbox, "c@x.fr") == 0)
		out[0] = *g;
	else
		out[1] = *g;
}

static void test_gauges(void **state)
{
	struct seen s;
	struct rd_mailtrack *t = tracker(&s);
	struct rd_mail_gauge g[2];

	memset(g, 0, sizeof(g));
	ev(t, RD_MAIL_RECEIVED, 300, "c@x.fr", "<1@e>");
	ev(t, RD_MAIL_RECEIVED, 200, "c@x.fr", "<2@e>");
	ev(t, RD_MAIL_RECEIVED, 400, "d@x.fr", "<3@e>");
	rd_mailtrack_gauges(t, count_gauge, g);
	assert_int_equal(g[0].backlog, 2);
	assert_int_equal(g[0].oldest, 200);
	assert_int_equal(g[1].backlog, 1);
	assert_int_equal(g[1].oldest, 400);
	rd_mailtrack_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_receive_ack_reply),
	    cmocka_unit_test(test_ack_order_and_window),
	    cmocka_unit_test(test_answered_flag_and_references),
	    cmocka_unit_test(test_automatic_rejected_closed),
	    cmocka_unit_test(test_restore_and_replay),
	    cmocka_unit_test(test_cut_msgid_after_restore),
	    cmocka_unit_test(test_reclassified),
	    cmocka_unit_test(test_reply_after_closing),
	    cmocka_unit_test(test_gauges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
