/* ledger.h - the PostgreSQL side: one worker thread owning one blocking
 * libpq connection, fed by a queue of jobs, reporting back to the loop
 * through an eventfd. A job whose connection failed is retried, after a
 * reconnect with backoff (0.5 s growing to 30 s), for as long as it takes:
 * PostgreSQL being down delays data, it never drops it.
 *
 * Jobs run in order. run() executes in the worker thread and must touch only
 * the job and the connection; done() executes on the loop thread. */
#ifndef RD_LEDGER_H
#define RD_LEDGER_H

#include <libpq-fe.h>
#include <stddef.h>

struct event_base;
struct rd_ledger;
struct rd_job;

enum rd_job_status {
	RD_JOB_OK = 0,
	RD_JOB_FAILED = -1,   /* permanent failure, err filled */
	RD_JOB_RETRY = 1,     /* connection lost: reconnect and run again */
	RD_JOB_CANCELLED = 2, /* the ledger stopped before the job could run */
};

typedef enum rd_job_status (*rd_job_run_fn)(struct rd_job *job, PGconn *pg);
typedef void (*rd_job_done_fn)(struct rd_job *job);

struct rd_job {
	rd_job_run_fn run;
	rd_job_done_fn done; /* owns and frees the job */
	void *arg;
	enum rd_job_status status;
	char err[512];
	int is_batch; /* counted by rd_ledger_batches() for backpressure */
	int persist;  /* retry even permanent failures (data must never be dropped) */
	struct rd_job *next;
};

struct rd_ledger_stats {
	int connected;
	size_t queued, batches;
	unsigned long long jobs_done, reconnects;
};

struct rd_ledger *rd_ledger_new(struct event_base *base, const char *conninfo,
                                const char *password);
/* Queue a job; the ledger owns it until done() is called. */
void rd_ledger_submit(struct rd_ledger *l, struct rd_job *job);
/* Batches queued or running (for backpressure). */
size_t rd_ledger_batches(const struct rd_ledger *l);
size_t rd_ledger_queued(const struct rd_ledger *l);
void rd_ledger_get_stats(struct rd_ledger *l, struct rd_ledger_stats *st);
/* Stop retrying: jobs that cannot run any more are cancelled. */
void rd_ledger_cancel(struct rd_ledger *l);
/* Join the thread and call done() on every job left (as cancelled). */
void rd_ledger_free(struct rd_ledger *l);

/* For run(): one statement with text parameters. The result when it
 * succeeded (caller clears), else NULL with job->err set and *st RETRY when
 * the connection is to blame, FAILED otherwise. */
PGresult *rd_pg_exec(struct rd_job *job, PGconn *pg, const char *sql, int n,
                     const char *const *params, enum rd_job_status *st);
/* The same when only success matters: 0, or -1. */
int rd_pg_exec_ok(struct rd_job *job, PGconn *pg, const char *sql, int n, const char *const *params,
                  enum rd_job_status *st);
/* After a failure inside a transaction: roll it back if the connection
 * still stands. */
void rd_pg_rollback(PGconn *pg);

/* SQLSTATE classes that mean "the connection, not the data": retry. */
int rd_pg_retryable(PGconn *pg, const PGresult *r);

#endif
