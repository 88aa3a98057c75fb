/* worker.c - see worker.h. Two queues under one mutex: tasks waiting for
 * the thread, and tasks the thread finished, waiting for the loop. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

struct task_queue {
	struct rd_task *head, *tail;
};

struct rd_worker {
	char *name;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct task_queue todo, done;
	unsigned pending; /* queued or running */
	int stopping;
	int efd;
	struct event *ev;
};

static void q_push(struct task_queue *q, struct rd_task *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static struct rd_task *q_pop(struct task_queue *q)
{
	struct rd_task *t = q->head;

	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		t->next = NULL;
	}
	return t;
}

static void *worker_main(void *arg)
{
	struct rd_worker *w = arg;
	const uint64_t one = 1;

	for (;;) {
		struct rd_task *t;

		pthread_mutex_lock(&w->mu);
		while (!w->stopping && !w->todo.head)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		t = q_pop(&w->todo);
		pthread_mutex_unlock(&w->mu);
		t->run(t);
		pthread_mutex_lock(&w->mu);
		q_push(&w->done, t);
		pthread_mutex_unlock(&w->mu);
		if (write(w->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			rd_err("%s: eventfd write: %s", w->name, strerror(errno));
	}
}

/* Hand finished tasks back, on the loop thread. */
static void deliver(struct rd_worker *w, struct task_queue *q, int cancelled)
{
	for (;;) {
		struct rd_task *t;

		pthread_mutex_lock(&w->mu);
		t = q_pop(q);
		if (t)
			w->pending--;
		pthread_mutex_unlock(&w->mu);
		if (!t)
			return;
		t->done(t, cancelled);
	}
}

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
	struct rd_worker *w = arg;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		rd_err("%s: eventfd read: %s", w->name, strerror(errno));
	deliver(w, &w->done, 0);
}

static void worker_release(struct rd_worker *w)
{
	if (w->ev)
		event_free(w->ev);
	if (w->efd >= 0)
		close(w->efd);
	free(w->name);
	free(w);
}

struct rd_worker *rd_worker_new(struct event_base *base, const char *name)
{
	struct rd_worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;

	if (!w)
		return NULL;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->name = strdup(name);
	if (w->efd < 0 || !w->name ||
	    !(w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, on_eventfd, w)) ||
	    event_add(w->ev, NULL) != 0) {
		rd_err("%s: cannot set up its worker thread: %s", name, strerror(errno));
		worker_release(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	/* signals are the loop's business */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		rd_err("%s: cannot start its worker thread", name);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cond);
		worker_release(w);
		return NULL;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return w;
}

void rd_worker_submit(struct rd_worker *w, struct rd_task *task)
{
	pthread_mutex_lock(&w->mu);
	q_push(&w->todo, task);
	w->pending++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

unsigned rd_worker_pending(const struct rd_worker *w)
{
	return w->pending; /* written under the mutex, read on the loop only */
}

void rd_worker_free(struct rd_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	deliver(w, &w->done, 0);
	deliver(w, &w->todo, 1);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	worker_release(w);
}
