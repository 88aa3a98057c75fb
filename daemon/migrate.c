/* migrate.c - see migrate.h. */
#include "migrate.h"

#include <stdio.h>
#include <string.h>

/* Arbitrary constant identifying reachd's migration lock. */
#define MIGRATE_LOCK_KEY "727263686d6967"

static int exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

static int applied(PGconn *pg, const char *name, char *err, size_t errlen)
{
	const char *params[1] = {name};
	PGresult *r = PQexecParams(pg, "SELECT 1 FROM reach.schema_migrations WHERE name = $1", 1,
	                           NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		rc = PQntuples(r) > 0;
	else
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

static int apply_one(PGconn *pg, const struct rd_migration *m, char *err, size_t errlen)
{
	const char *params[1] = {m->name};
	PGresult *r;
	int is_applied;

	if (exec_ok(pg, "BEGIN", err, errlen) != 0)
		return -1;
	if (exec_ok(pg, "SELECT pg_advisory_xact_lock(x'" MIGRATE_LOCK_KEY "'::bigint)", err,
	            errlen) != 0)
		goto fail;
	is_applied = applied(pg, m->name, err, errlen);
	if (is_applied < 0)
		goto fail;
	if (is_applied)
		return exec_ok(pg, "COMMIT", err, errlen);
	if (exec_ok(pg, m->sql, err, errlen) != 0) {
		char inner[512];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "migration %s: %s", m->name, inner);
		goto fail;
	}
	r = PQexecParams(pg, "INSERT INTO reach.schema_migrations (name) VALUES ($1)", 1, NULL,
	                 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	return exec_ok(pg, "COMMIT", err, errlen);
fail:
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}

int rd_migrate(PGconn *pg, char *err, size_t errlen)
{
	/* The schema and the ledger of migrations come first, idempotently,
	 * under the same lock. */
	if (exec_ok(pg,
	            "BEGIN;"
	            "SELECT pg_advisory_xact_lock(x'" MIGRATE_LOCK_KEY "'::bigint);"
	            "CREATE SCHEMA IF NOT EXISTS reach;"
	            "CREATE TABLE IF NOT EXISTS reach.schema_migrations ("
	            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
	            "COMMIT",
	            err, errlen) != 0) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	for (const struct rd_migration *m = rd_migrations; m->name; m++)
		if (apply_one(pg, m, err, errlen) != 0)
			return -1;
	return 0;
}
