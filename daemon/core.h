/* core.h - the daemon's heart: collector instances and their lifecycle,
 * the path from events to batches to the ledger, backpressure, reload and
 * draining. One per process, on the loop thread. */
#ifndef RD_CORE_H
#define RD_CORE_H

#include "config.h"

struct event_base;
struct rd_core;

/* Check what only the core knows: collector types and their keys. Reports
 * through err like rd_config_load; returns the number of errors. */
int rd_core_check(const struct rd_config *cfg, rd_config_error_fn err, void *arg);

/* once: read every source to its end, commit, refresh Redis, then stop the
 * loop. The core takes ownership of cfg. */
struct rd_core *rd_core_new(struct event_base *base, struct rd_config *cfg, int once);
/* SIGHUP: apply a new configuration (ownership taken). */
void rd_core_reload(struct rd_core *core, struct rd_config *cfg);
/* SIGTERM/SIGINT: stop reading, commit what was read, then stop the loop. */
void rd_core_shutdown(struct rd_core *core);
/* After the loop returned: 0 if everything read was committed. */
int rd_core_exit_status(const struct rd_core *core);
void rd_core_free(struct rd_core *core);

#endif
