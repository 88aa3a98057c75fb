/* migrate.h - the numbered SQL migrations of sql/, compiled into the binary
 * (tools/embed.c) and applied at start-up, each in its own transaction under
 * an advisory lock so that several daemons starting together agree. */
#ifndef RD_MIGRATE_H
#define RD_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct rd_migration {
	const char *name; /* "001_calls" */
	const char *sql;
};

extern const struct rd_migration rd_migrations[]; /* ends with {NULL, NULL} */

/* Apply what is missing. 0 on success; -1 with a message in err. */
int rd_migrate(PGconn *pg, char *err, size_t errlen);

#endif
