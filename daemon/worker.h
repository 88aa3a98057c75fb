/* worker.h - one thread for blocking work that is not PostgreSQL's (the
 * ledger has its own): fdatasync of a spool, an SMTP session. Tasks run in
 * order in the thread; each reports back on the loop thread through an
 * eventfd, so callers never block the loop and never share state with the
 * thread beyond the task they handed over.
 *
 * run() executes in the worker thread and must touch only its task. done()
 * executes on the loop thread, owns the task and frees it; cancelled is 1
 * when the worker was freed before run() could execute. */
#ifndef RD_WORKER_H
#define RD_WORKER_H

struct event_base;
struct rd_worker;
struct rd_task;

typedef void (*rd_task_run_fn)(struct rd_task *task);
typedef void (*rd_task_done_fn)(struct rd_task *task, int cancelled);

struct rd_task {
	rd_task_run_fn run;
	rd_task_done_fn done;
	struct rd_task *next; /* the worker's queue */
};

/* name: for logs ("jsonl spool", "mailer"). NULL on failure (logged). */
struct rd_worker *rd_worker_new(struct event_base *base, const char *name);
/* Queue a task: run() soon in the thread, then done() on the loop. */
void rd_worker_submit(struct rd_worker *w, struct rd_task *task);
/* Tasks queued or running. */
unsigned rd_worker_pending(const struct rd_worker *w);
/* Finish the running task, join the thread, then call done() for it and,
 * as cancelled, for every task that never ran. */
void rd_worker_free(struct rd_worker *w);

#endif
