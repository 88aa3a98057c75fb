/* Unit tests: the call tracker's classification (INDICATORS.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calltrack.h"

#define MAXCALLS 16

struct seen {
	struct rd_call calls[MAXCALLS];
	char callid[MAXCALLS][32], queue[MAXCALLS][32], reason[MAXCALLS][32];
	int n;
};

static void on_finished(void *arg, const struct rd_call *c)
{
	struct seen *s = arg;

	assert_true(s->n < MAXCALLS);
	s->calls[s->n] = *c;
	strcpy(s->callid[s->n], c->callid);
	strcpy(s->queue[s->n], c->queue);
	strcpy(s->reason[s->n], c->reason ? c->reason : "");
	s->n++;
}

static struct rd_calltrack *tracker(struct seen *s, int32_t short_abandon)
{
	struct rd_calltrack_options opt = {20, short_abandon, 4 * 3600};

	memset(s, 0, sizeof(*s));
	return rd_calltrack_new(&opt, on_finished, s);
}

static void ev(struct rd_calltrack *t, enum rd_call_ev_type type, int64_t ts, const char *callid,
               const char *queue, int32_t wait, int32_t talk, const char *reason)
{
	struct rd_call_event e = {type, ts, callid, queue, NULL, wait, talk, reason};

	assert_int_equal(rd_calltrack_event(t, &e), 0);
}

static void test_answered(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);

	ev(t, RD_CALL_ENTER, 1000, "c1", "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_CONNECT, 1015, "c1", "q", 15, RD_UNKNOWN, "CONNECT");
	assert_int_equal(s.n, 0);
	assert_int_equal(rd_calltrack_open_count(t), 1);
	ev(t, RD_CALL_COMPLETE, 1200, "c1", "q", 15, 185, "COMPLETECALLER");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].outcome, RD_OUT_ANSWERED);
	assert_int_equal(s.calls[0].entered, 1000);
	assert_int_equal(s.calls[0].ended, 1200);
	assert_int_equal(s.calls[0].wait_s, 15);
	assert_int_equal(s.calls[0].talk_s, 185);
	assert_true(s.calls[0].within_sl);
	assert_true(s.calls[0].talk_counted);
	assert_false(s.calls[0].transferred);
	assert_int_equal(rd_calltrack_open_count(t), 0);
	rd_calltrack_free(t);
}

static void test_transfer_and_sl(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);

	ev(t, RD_CALL_ENTER, 1000, "c1", "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_CONNECT, 1021, "c1", "q", 21, RD_UNKNOWN, "CONNECT");
	ev(t, RD_CALL_TRANSFER, 1100, "c1", "q", RD_UNKNOWN, 79, "BLINDTRANSFER");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].outcome, RD_OUT_ANSWERED);
	assert_true(s.calls[0].transferred);
	assert_false(s.calls[0].within_sl); /* 21 > 20 */
	assert_false(s.calls[0].talk_counted);
	rd_calltrack_free(t);
}

static void test_abandon_short_and_long(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 5);

	ev(t, RD_CALL_ENTER, 1000, "a", "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_ENTER, 1001, "b", "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_ABANDON, 1004, "a", "q", 4, RD_UNKNOWN, "ABANDON");
	ev(t, RD_CALL_ABANDON, 1061, "b", "q", RD_UNKNOWN, RD_UNKNOWN, "ABANDON");
	assert_int_equal(s.n, 2);
	assert_int_equal(s.calls[0].outcome, RD_OUT_ABANDONED);
	assert_true(s.calls[0].short_abandoned);
	assert_int_equal(s.calls[1].wait_s, 60); /* from the ENTER time: 1.4 layout */
	assert_false(s.calls[1].short_abandoned);
	rd_calltrack_free(t);
}

static void test_exits_are_timed_out(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);
	const char *verbs[] = {"EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "WITHDRAW"};

	for (int i = 0; i < 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "x%d", i);
		ev(t, RD_CALL_ENTER, 1000, id, "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
		ev(t, RD_CALL_EXIT, 1300, id, "q", 300, RD_UNKNOWN, verbs[i]);
		assert_int_equal(s.calls[i].outcome, RD_OUT_TIMED_OUT);
		assert_string_equal(s.reason[i], verbs[i]);
		assert_int_equal(s.calls[i].wait_s, 300);
	}
	rd_calltrack_free(t);
}

/* The same caller in two queues is two calls; a re-entry closes the first. */
static void test_two_queues_and_reentry(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);

	ev(t, RD_CALL_ENTER, 1000, "c", "q1", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_EXIT, 1060, "c", "q1", 60, RD_UNKNOWN, "EXITWITHTIMEOUT");
	ev(t, RD_CALL_ENTER, 1061, "c", "q2", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_ENTER, 1100, "c", "q2", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.queue[1], "q2");
	assert_string_equal(s.reason[1], "REENTER");
	assert_int_equal(s.calls[1].outcome, RD_OUT_TIMED_OUT);
	assert_int_equal(rd_calltrack_open_count(t), 1);
	rd_calltrack_free(t);
}

/* Reading began after the ENTERQUEUE: the end event alone dates the call. */
static void test_end_without_enter(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);

	ev(t, RD_CALL_COMPLETE, 2000, "z", "q", 30, 100, "COMPLETEAGENT");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].entered, 1870);
	assert_int_equal(s.calls[0].outcome, RD_OUT_ANSWERED);
	rd_calltrack_free(t);
}

static void test_reset_and_restore(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);
	struct rd_open_call oc = {"q", "r1", NULL, 900, 0, RD_UNKNOWN};
	struct rd_open_call oc2 = {"q", "r2", "agent", 900, 950, 50};

	assert_int_equal(rd_calltrack_restore(t, &oc), 0);
	assert_int_equal(rd_calltrack_restore(t, &oc2), 0);
	ev(t, RD_CALL_RESET, 1000, NULL, NULL, RD_UNKNOWN, RD_UNKNOWN, "QUEUESTART");
	assert_int_equal(s.n, 2);
	for (int i = 0; i < 2; i++) {
		if (strcmp(s.callid[i], "r1") == 0) {
			assert_int_equal(s.calls[i].outcome, RD_OUT_TIMED_OUT);
			assert_int_equal(s.calls[i].wait_s, 100);
		} else {
			assert_int_equal(s.calls[i].outcome, RD_OUT_ANSWERED);
			assert_int_equal(s.calls[i].wait_s, 50);
		}
	}
	assert_int_equal(rd_calltrack_open_count(t), 0);
	rd_calltrack_free(t);
}

/* A call open longer than max_call is closed at its deadline. */
static void test_expiry_dated_at_deadline(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);

	ev(t, RD_CALL_ENTER, 0, "old", "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	ev(t, RD_CALL_CONNECT, 10, "old", "q", 10, RD_UNKNOWN, "CONNECT");
	ev(t, RD_CALL_ENTER, 4 * 3600 + 500, "new", "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.reason[0], "EXPIRED");
	assert_int_equal(s.calls[0].ended, 4 * 3600);
	assert_int_equal(s.calls[0].outcome, RD_OUT_ANSWERED);
	rd_calltrack_free(t);
}

static void test_many_calls_grow(void **state)
{
	struct seen s;
	struct rd_calltrack *t = tracker(&s, 0);
	char id[16];

	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		ev(t, RD_CALL_ENTER, 1000, id, "q", RD_UNKNOWN, RD_UNKNOWN, "ENTERQUEUE");
	}
	assert_int_equal(rd_calltrack_open_count(t), 5000);
	ev(t, RD_CALL_ABANDON, 1010, "m4321", "q", 10, RD_UNKNOWN, "ABANDON");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.callid[0], "m4321");
	assert_int_equal(rd_calltrack_open_count(t), 4999);
	rd_calltrack_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answered),
	    cmocka_unit_test(test_transfer_and_sl),
	    cmocka_unit_test(test_abandon_short_and_long),
	    cmocka_unit_test(test_exits_are_timed_out),
	    cmocka_unit_test(test_two_queues_and_reentry),
	    cmocka_unit_test(test_end_without_enter),
	    cmocka_unit_test(test_reset_and_restore),
	    cmocka_unit_test(test_expiry_dated_at_deadline),
	    cmocka_unit_test(test_many_calls_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
