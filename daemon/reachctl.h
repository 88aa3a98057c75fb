/* reachctl.h - what the files of reachctl share: the parsed command line,
 * the PostgreSQL helpers, and the commands that live outside reachctl.c
 * (reachctl_alerts.c: alerts; reachctl_silence.c: silence; reachctl_report.c:
 * report). */
#ifndef RD_REACHCTL_H
#define RD_REACHCTL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CTL_MAX_RCPTS 16

struct rd_tz;

struct ctl {
	struct rd_config *cfg;
	PGconn *pg;
	const char *site, *queue, *mailbox, *from, *to, *window;
	const char *rcpts[CTL_MAX_RCPTS]; /* every --to, for test-mail */
	size_t nrcpts;
	int json;
	/* alerts and silence */
	const char *rule, *scope, *until, *reason, *since, *recent;
	int all;
	char **args; /* the words left after the options (silence remove ID) */
	int nargs;
	/* report */
	const char *year, *month, *format, *lang;
};

/* sql with text parameters; the result when its status is want
 * (PGRES_TUPLES_OK, PGRES_COMMAND_OK), else NULL after printing why. */
PGresult *ctl_exec(struct ctl *c, const char *sql, int n, const char *const *p,
                   ExecStatusType want);

/* The site's zone ([daemon] timezone, default Europe/Paris), or NULL (UTC)
 * after printing why it could not be loaded. */
struct rd_tz *ctl_zone(const struct rd_config *cfg);

/* Print o on stdout, indented, keys in insertion order. 0, or 1. */
int ctl_print_json(json_t *o);

/* Unix seconds of a bigint cell (0 when NULL). */
int64_t ctl_epoch(PGresult *r, int row, int col);

/* A cell as a JSON string, or null. */
json_t *ctl_text(PGresult *r, int row, int col);

/* A text table: rows of ncols cells (copied), printed with each column as
 * wide as its widest cell (in UTF-8 characters), the last one unpadded. */
struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells;
};

void ctl_table_init(struct ctl_table *t, size_t ncols);
/* 0, or -1 out of memory (the row is not added). NULL cells print as "-". */
int ctl_table_add(struct ctl_table *t, const char *const *row);
void ctl_table_print(const struct ctl_table *t, const char *indent);
void ctl_table_free(struct ctl_table *t);

int ctl_alerts(struct ctl *c);
int ctl_silence(struct ctl *c, const char *sub);
int ctl_report(struct ctl *c);

#endif
