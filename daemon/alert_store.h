/* alert_store.h - the PostgreSQL side of alerts, as ledger jobs: reading
 * the states and silences back at start-up, and writing one evaluation
 * round (changed states, transitions, notices) in one transaction. */
#ifndef RD_ALERT_STORE_H
#define RD_ALERT_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"

/* An active or future silence, as read from reach.silences. */
struct rd_alert_silence_row {
	char *rule_glob, *scope_glob;
	int64_t starts, until;
};

/* One round to write; the three arrays are jsonb parameters, their
 * objects shaped like the SQL of alert_store.c says. After the write the
 * job reads the silences, for the next round. */
struct rd_alert_write_job {
	struct rd_job job;
	char *site; /* whose round it is */
	json_t *states, *events, *notices;
	struct rd_alert_silence_row *sil;
	size_t nsil;
	int have_sil;
};

/* The states and silences at start-up. */
struct rd_alert_load_job {
	struct rd_job job;
	PGresult *states; /* rule, site, entity, state (text of jsonb) */
	struct rd_alert_silence_row *sil;
	size_t nsil;
};

/* Forget the states of rules no longer configured, on this daemon's sites
 * only (several daemons may share the database). */
struct rd_alert_prune_job {
	struct rd_job job;
	char *rules, *sites; /* PostgreSQL text[] literals, JSON-built */
};

enum rd_job_status rd_alert_store_write(struct rd_job *job, PGconn *pg);
enum rd_job_status rd_alert_store_prune(struct rd_job *job, PGconn *pg);
enum rd_job_status rd_alert_store_load(struct rd_job *job, PGconn *pg);
void rd_alert_silences_free(struct rd_alert_silence_row *sil, size_t n);

#endif
