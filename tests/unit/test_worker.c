/* Unit tests: the worker thread (tasks run in order off the loop, report
 * back on the loop, and those never run are cancelled at free). */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "worker.h"

struct probe {
	struct rd_task task;
	int id;
	pthread_t ran_on;
	int *order, *n, *cancelled;
	int hold_ms; /* run() sleeps this long */
};

static atomic_int started; /* run() calls so far */

static void probe_run(struct rd_task *task)
{
	struct probe *p = (struct probe *)task;

	p->ran_on = pthread_self();
	atomic_fetch_add(&started, 1);
	if (p->hold_ms)
		usleep((useconds_t)p->hold_ms * 1000);
}

static void probe_done(struct rd_task *task, int cancelled)
{
	struct probe *p = (struct probe *)task;

	p->order[(*p->n)++] = p->id;
	if (cancelled)
		(*p->cancelled)++;
	else
		assert_false(pthread_equal(p->ran_on, pthread_self()));
	free(p);
}

static struct probe *probe(int id, int *order, int *n, int *cancelled, int hold_ms)
{
	struct probe *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->task.run = probe_run;
	p->task.done = probe_done;
	p->id = id;
	p->order = order;
	p->n = n;
	p->cancelled = cancelled;
	p->hold_ms = hold_ms;
	return p;
}

static void test_order_and_threads(void **state)
{
	struct event_base *base = event_base_new();
	struct rd_worker *w = rd_worker_new(base, "test");
	int order[8], n = 0, cancelled = 0;

	(void)state;
	assert_non_null(w);
	for (int i = 0; i < 5; i++)
		rd_worker_submit(w, &probe(i, order, &n, &cancelled, 0)->task);
	assert_int_equal(rd_worker_pending(w), 5);
	while (n < 5)
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(order[i], i);
	assert_int_equal(cancelled, 0);
	assert_int_equal(rd_worker_pending(w), 0);
	rd_worker_free(w);
	event_base_free(base);
}

/* Freed while busy: the running task finishes and reports; those queued
 * behind it are cancelled, in order. */
static void test_free_cancels_queued(void **state)
{
	struct event_base *base = event_base_new();
	struct rd_worker *w = rd_worker_new(base, "test");
	int order[8], n = 0, cancelled = 0;

	(void)state;
	assert_non_null(w);
	atomic_store(&started, 0);
	rd_worker_submit(w, &probe(0, order, &n, &cancelled, 200)->task);
	rd_worker_submit(w, &probe(1, order, &n, &cancelled, 0)->task);
	rd_worker_submit(w, &probe(2, order, &n, &cancelled, 0)->task);
	while (atomic_load(&started) == 0) /* the thread took the first task */
		usleep(1000);
	rd_worker_free(w);
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	assert_int_equal(cancelled, 2);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_threads),
	    cmocka_unit_test(test_free_cancels_queued),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
