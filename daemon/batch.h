/* batch.h - what one collector produced between two commits: finished
 * calls, the calls still open, the lines it rejected, and the cursor that
 * covers all of it. Written to PostgreSQL as one transaction (store.c). */
#ifndef RD_BATCH_H
#define RD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "calltrack.h"
#include "event.h"
#include "ledger.h"
#include "mailtrack.h"

struct rd_batch_call {
	char *queue, *callid, *agent, *reason;
	int64_t entered, ended;
	int32_t wait_s, talk_s;
	uint8_t outcome; /* enum rd_outcome */
	uint8_t transferred, short_abandoned, within_sl, talk_counted;
};

struct rd_batch_open {
	char *queue, *callid, *agent;
	int64_t entered, connected;
	int32_t wait_s;
};

struct rd_batch_mail {
	char *mailbox, *msgid, *sender, *route, *closed_how;
	int64_t ts, received, delay_s, delay_business_s;
	uint32_t automatic;
	uint8_t kind; /* enum rd_mail_change_kind */
	uint8_t rejected, within_target;
};

struct rd_batch_line {
	uint64_t dev, ino, offset; /* the line's own file: 0, 0 = the cursor's */
	int unknown;               /* 0: rejected, 1: unknown event */
	char *reason;
	char *data; /* first bytes of the line */
	size_t len;
};

struct rd_batch {
	struct rd_job job; /* must stay first: the ledger hands it back */
	char *site, *collector, *source;
	int has_cursor;
	struct rd_cursor cursor;              /* where a restart resumes */
	struct rd_cursor read;                /* how far lines were read and counted */
	uint64_t accepted, rejected, unknown; /* running totals at the cursor */
	struct rd_batch_call *calls;
	size_t ncalls, capcalls;
	struct rd_batch_open *open;
	size_t nopen, capopen;
	struct rd_batch_line *lines;
	size_t nlines, caplines;
	struct rd_batch_mail *mails;
	size_t nmails, capmails;
	size_t inserted; /* result: calls really inserted (not duplicates) */
};

#define RD_BATCH_LINE_KEEP 4096 /* bytes of a bad line kept for inspection */

struct rd_batch *rd_batch_new(const char *site, const char *collector, const char *source);
void rd_batch_free(struct rd_batch *b);
int rd_batch_add_call(struct rd_batch *b, const struct rd_call *c);
int rd_batch_add_open(struct rd_batch *b, const struct rd_open_call *oc);
int rd_batch_add_mail(struct rd_batch *b, const struct rd_mail_change *ch);
int rd_batch_add_line(struct rd_batch *b, uint64_t dev, uint64_t ino, uint64_t offset, int unknown,
                      const char *reason, const char *line, size_t len);

/* The ledger job that writes a batch (store.c). */
enum rd_job_status rd_store_batch(struct rd_job *job, PGconn *pg);
/* Its mail part, inside the same transaction (store_mail.c). */
int rd_store_mails(struct rd_batch *b, PGconn *pg, enum rd_job_status *st);

#endif
