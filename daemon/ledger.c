/* ledger.c - see ledger.h. */
#include "ledger.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "migrate.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

struct job_queue {
	struct rd_job *head, *tail;
	size_t n;
};

struct rd_ledger {
	struct event_base *base;
	char *conninfo, *password;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job_queue todo, done;
	int stopping, cancelled;
	size_t batches; /* batches in todo + running */
	int connected;
	unsigned long long jobs_done, reconnects;
	int efd;
	struct event *ev;
	PGconn *pg;    /* worker thread only */
	unsigned seed; /* jitter, worker thread only */
};

static void q_push(struct job_queue *q, struct rd_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct rd_job *q_pop(struct job_queue *q)
{
	struct rd_job *j = q->head;

	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
	}
	return j;
}

int rd_pg_retryable(PGconn *pg, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pg) != CONNECTION_OK || !state)
		return 1;
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	       strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	       strcmp(state, "53300") == 0; /* too many connections */
}

/* Sleep ms unless the ledger is cancelled meanwhile; returns 1 if cancelled. */
static int wait_ms(struct rd_ledger *l, long ms)
{
	struct timespec ts;
	int cancelled;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->mu);
	while (!l->cancelled && pthread_cond_timedwait(&l->cond, &l->mu, &ts) != ETIMEDOUT)
		;
	cancelled = l->cancelled;
	pthread_mutex_unlock(&l->mu);
	return cancelled;
}

static void set_connected(struct rd_ledger *l, int up)
{
	pthread_mutex_lock(&l->mu);
	l->connected = up;
	if (up)
		l->reconnects++;
	pthread_mutex_unlock(&l->mu);
}

static void on_notice(void *arg, const char *msg)
{
	rd_debug("postgres: %s", msg);
}

/* Connect and migrate; returns 0 when the connection is usable. */
static int try_connect(struct rd_ledger *l)
{
	/* connect_timeout first so the administrator's conninfo overrides it;
	 * the password last so a secret file wins over the conninfo. */
	const char *keys[] = {"connect_timeout", "application_name", "dbname", "password", NULL};
	const char *vals[] = {"10", "reachd", l->conninfo, l->password, NULL};
	char err[1024];

	if (!l->password)
		keys[3] = NULL;
	l->pg = PQconnectdbParams(keys, vals, 1);
	if (!l->pg || PQstatus(l->pg) != CONNECTION_OK) {
		rd_warn("postgres: cannot connect: %s",
		        l->pg ? PQerrorMessage(l->pg) : "out of memory");
		goto fail;
	}
	PQsetNoticeProcessor(l->pg, on_notice, NULL);
	/* Buckets and epochs are UTC; never depend on the server's TimeZone. */
	PQclear(PQexec(l->pg, "SET TimeZone = 'UTC'"));
	if (rd_migrate(l->pg, err, sizeof(err)) != 0) {
		rd_err("postgres: schema migration failed: %s", err);
		goto fail;
	}
	set_connected(l, 1);
	rd_info("postgres: connected");
	return 0;
fail:
	PQfinish(l->pg);
	l->pg = NULL;
	return -1;
}

static void drop_connection(struct rd_ledger *l)
{
	PQfinish(l->pg);
	l->pg = NULL;
	set_connected(l, 0);
}

/* Run one job to completion, reconnecting as needed. */
static void run_job(struct rd_ledger *l, struct rd_job *job)
{
	long backoff = BACKOFF_MIN_MS;

	for (;;) {
		if (!l->pg && try_connect(l) != 0) {
			if (wait_ms(l, backoff + (long)(rand_r(&l->seed) %
			                                (unsigned)(backoff / 4 + 1)))) {
				job->status = RD_JOB_CANCELLED;
				return;
			}
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		job->err[0] = '\0';
		job->status = job->run(job, l->pg);
		if (job->status == RD_JOB_FAILED && job->persist) {
			/* A batch is never dropped: complain and try again, in
			 * order, so later batches cannot overtake its cursor. */
			rd_err("postgres: write failed, will retry: %s", job->err);
			if (wait_ms(l, backoff)) {
				job->status = RD_JOB_CANCELLED;
				return;
			}
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		if (job->status != RD_JOB_RETRY) {
			/* a job that does not retry (an HTTP answer) may still have
			 * found the connection dead: say so, reconnect for the next */
			if (PQstatus(l->pg) == CONNECTION_BAD)
				drop_connection(l);
			return;
		}
		rd_warn("postgres: connection lost (%s), retrying", job->err);
		drop_connection(l);
	}
}

static void *worker(void *arg)
{
	struct rd_ledger *l = arg;
	uint64_t one = 1;

	for (;;) {
		struct rd_job *job;

		pthread_mutex_lock(&l->mu);
		while (!l->todo.head && !l->stopping)
			pthread_cond_wait(&l->cond, &l->mu);
		job = q_pop(&l->todo);
		if (!job) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		pthread_mutex_unlock(&l->mu);

		if (l->cancelled)
			job->status = RD_JOB_CANCELLED;
		else
			run_job(l, job);

		pthread_mutex_lock(&l->mu);
		if (job->is_batch)
			l->batches--;
		l->jobs_done++;
		q_push(&l->done, job);
		pthread_mutex_unlock(&l->mu);
		if (write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			rd_err("ledger: eventfd write: %s", strerror(errno));
	}
	if (l->pg)
		drop_connection(l);
	return NULL;
}

/* On the loop: hand finished jobs back to their owners. */
static void drain_done(struct rd_ledger *l)
{
	struct job_queue q;
	struct rd_job *j;

	pthread_mutex_lock(&l->mu);
	q = l->done;
	memset(&l->done, 0, sizeof(l->done));
	pthread_mutex_unlock(&l->mu);
	while ((j = q_pop(&q)))
		j->done(j);
}

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		rd_err("ledger: eventfd read: %s", strerror(errno));
	drain_done(arg);
}

struct rd_ledger *rd_ledger_new(struct event_base *base, const char *conninfo, const char *password)
{
	struct rd_ledger *l = calloc(1, sizeof(*l));
	sigset_t all, old;

	if (!l)
		return NULL;
	l->base = base;
	l->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	l->conninfo = strdup(conninfo);
	l->password = password ? strdup(password) : NULL;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!l->conninfo || (password && !l->password) || l->efd < 0)
		goto fail;
	l->ev = event_new(base, l->efd, EV_READ | EV_PERSIST, on_eventfd, l);
	if (!l->ev || event_add(l->ev, NULL) != 0)
		goto fail;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	/* Signals belong to the loop thread: block them in the worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&l->thread, NULL, worker, l) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cond);
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return l;
fail:
	if (l->ev)
		event_free(l->ev);
	if (l->efd >= 0)
		close(l->efd);
	free(l->conninfo);
	free(l->password);
	free(l);
	return NULL;
}

void rd_ledger_submit(struct rd_ledger *l, struct rd_job *job)
{
	pthread_mutex_lock(&l->mu);
	if (job->is_batch)
		l->batches++;
	q_push(&l->todo, job);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

size_t rd_ledger_batches(const struct rd_ledger *l)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&l->mu);
	n = l->batches;
	pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
	return n;
}

size_t rd_ledger_queued(const struct rd_ledger *l)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&l->mu);
	n = l->todo.n;
	pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
	return n;
}

void rd_ledger_get_stats(struct rd_ledger *l, struct rd_ledger_stats *st)
{
	pthread_mutex_lock(&l->mu);
	st->connected = l->connected;
	st->queued = l->todo.n;
	st->batches = l->batches;
	st->jobs_done = l->jobs_done;
	st->reconnects = l->reconnects;
	pthread_mutex_unlock(&l->mu);
}

void rd_ledger_cancel(struct rd_ledger *l)
{
	pthread_mutex_lock(&l->mu);
	l->cancelled = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

void rd_ledger_free(struct rd_ledger *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	drain_done(l);
	event_free(l->ev);
	close(l->efd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l->conninfo);
	if (l->password)
		memset(l->password, 0, strlen(l->password));
	free(l->password);
	free(l);
}

PGresult *rd_pg_exec(struct rd_job *job, PGconn *pg, const char *sql, int n,
                     const char *const *params, enum rd_job_status *st)
{
	PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return r;
	snprintf(job->err, sizeof(job->err), "%s", PQerrorMessage(pg));
	*st = rd_pg_retryable(pg, r) ? RD_JOB_RETRY : RD_JOB_FAILED;
	PQclear(r);
	return NULL;
}

int rd_pg_exec_ok(struct rd_job *job, PGconn *pg, const char *sql, int n, const char *const *params,
                  enum rd_job_status *st)
{
	PGresult *r = rd_pg_exec(job, pg, sql, n, params, st);

	PQclear(r);
	return r ? 0 : -1;
}

void rd_pg_rollback(PGconn *pg)
{
	if (PQstatus(pg) == CONNECTION_OK)
		PQclear(PQexec(pg, "ROLLBACK"));
}
