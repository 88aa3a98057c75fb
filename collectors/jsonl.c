/* jsonl.c - the "jsonl" collector: JSON-lines call and mail events from any
 * producer (another PBX, a mail-server export, a ticketing tool), either
 * appended to a file or pushed through a local UNIX stream socket. The
 * schema and its mapping are in jsonl_parse.c and docs/jsonl.md.
 *
 * A file source is followed with rd_tail, exactly like queuelog.
 *
 * A socket source never feeds the core directly: every complete line a
 * client sends is first appended to a spool file and made durable
 * (fdatasync, in a worker thread: it can take long, and the loop must not
 * wait) before anything more is read from the clients, and the
 * collector follows the spool with rd_tail like a file source. So the
 * cursor committed with the rows covers socket input too, a restart resumes
 * where the ledger stopped, and memory stays bounded: when the ledger asks
 * to pause, or the spool has reached spool_max and the tail has not caught
 * up yet, the sockets are no longer read and clients block in write().
 * Once the tail has consumed a full spool to its end, the spool is renamed
 * to NAME.jsonl.1 and a new one is started (rd_tail drains the old file
 * first, as for any rotation).
 *
 * Keys: path | socket (exactly one), spool, spool_max, max_line,
 * max_clients, socket_mode, mailboxes, stat_interval. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "collector.h"
#include "config.h"
#include "filesrc.h"
#include "jsonl_parse.h"
#include "log.h"
#include "worker.h"

#define JL_DEF_SPOOL     "/var/lib/reachd/spool"
#define JL_DEF_SPOOL_MAX ((uint64_t)64 << 20)
#define JL_MIN_SPOOL_MAX ((uint64_t)64 << 10)
#define JL_MAX_SPOOL_MAX ((uint64_t)1 << 40)
#define JL_DEF_CLIENTS   16
#define JL_MAX_CLIENTS   1024
#define JL_DEF_MODE      0660
#define JL_BACKLOG       16
/* Bytes read from one client per callback, i.e. per fdatasync at most. */
#define JL_READ_MAX ((size_t)64 << 10)
/* Retry period after a spool write or accept() failure. */
#define JL_RETRY_MS 1000
/* NAME.jsonl.1 is replaced at the next rotation. The cursor pointing into it
 * may still be in flight to PostgreSQL when the tail leaves it; rotating at
 * most once a minute leaves the ledger far more than its commit interval to
 * commit a cursor past it, so a crash can never resume in a file that is
 * gone. Tests shorten it. */
#ifndef JL_ROTATE_MIN_MS
#define JL_ROTATE_MIN_MS 60000
#endif

struct jsonl;

/* One client of the socket. */
struct jl_conn {
	struct jsonl *j;
	struct bufferevent *bev;
	struct jl_conn *prev, *next;
	size_t scan; /* the input's first scan bytes hold no '\n' */
	int skip;    /* dropping the rest of a line longer than max_line */
	int eof;     /* the client is gone: close once its input is spooled */
	int sealed;  /* eof: its last line was given its '\n' */
};

struct jsonl {
	struct rd_collector *c;
	/* path (a file source), max_line, stat_interval; the tail */
	struct rd_filesrc fs;
	/* configuration */
	char *sock_path; /* socket source */
	char *spool_dir;
	uint64_t spool_max;
	int max_clients;
	mode_t sock_mode;
	char **mailboxes; /* lowercased; none: every mailbox */
	size_t nmailboxes;
	int socket_keys;  /* a socket-only key was set (refused with path) */
	char *spool_path; /* spool_dir/NAME.jsonl, set by check() */

	/* running */
	struct event_base *base;
	struct jp_event ev;
	int paused; /* by the ledger */

	int spool_fd;
	uint64_t spool_dev, spool_ino, spool_size;
	int unsynced; /* written since the last fdatasync began */
	int syncing;  /* an fdatasync runs in the worker: clients wait */
	int stopping;
	struct rd_worker *syncer;
	int spool_full;  /* spool_max reached: wait for the tail, then rotate */
	int spool_error; /* a write or sync failed: retried by retry_ev */
	int64_t rotated_ms;
	struct rd_cursor last; /* the tail's latest cursor */
	int have_last;

	struct evconnlistener *listener;
	uint64_t sock_dev, sock_ino; /* to unlink only our own socket */
	int accept_backoff;
	int reading, accepting; /* the state applied to the clients, the listener */
	struct jl_conn *conns;
	int nconns;
	struct event *retry_ev;
	struct rd_ratelimit rl;
};

static void jl_on_line(void *arg, const struct rd_filesrc_line *ln);
static int jl_on_chunk(void *arg, const struct rd_cursor *cursor);

/* A file source, or the spool of a socket source: lines are parsed where
 * they lie; a chunk's cursor also drives the spool's rotation. */
static const struct rd_filesrc_ops jl_ops = {.line = jl_on_line, .chunk = jl_on_chunk};

static int64_t jl_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *jl_create(struct rd_collector *c)
{
	struct jsonl *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->c = c;
	rd_filesrc_init(&j->fs, c, &jl_ops, j, RD_FILESRC_SAY_BYTES);
	j->spool_max = JL_DEF_SPOOL_MAX;
	j->max_clients = JL_DEF_CLIENTS;
	j->sock_mode = JL_DEF_MODE;
	j->spool_fd = -1;
	return j;
}

/* --- configuration ---------------------------------------------------------- */

static int jl_set_str(char **dst, const char *key, const char *value, char *err, size_t errlen)
{
	char *p;

	if (*value == '\0')
		return rd_filesrc_fail(err, errlen, "%s must not be empty", key);
	p = strdup(value);
	if (p == NULL)
		return rd_filesrc_fail(err, errlen, "out of memory");
	free(*dst);
	*dst = p;
	return 0;
}

static int jl_set_socket(struct jsonl *j, const char *value, char *err, size_t errlen)
{
	struct sockaddr_un sa;

	if (strlen(value) >= sizeof(sa.sun_path))
		return rd_filesrc_fail(err, errlen, "socket: '%s' is longer than %zu bytes", value,
		                       sizeof(sa.sun_path) - 1);
	return jl_set_str(&j->sock_path, "socket", value, err, errlen);
}

static int jl_set_size(const char *key, const char *value, uint64_t min, uint64_t max,
                       uint64_t *out, char *err, size_t errlen)
{
	uint64_t v = 0;

	if (rd_parse_size(value, &v, err, errlen) != 0)
		return -1;
	if (v < min || v > max)
		return rd_filesrc_fail(
		    err, errlen, "%s must be between %" PRIu64 " and %" PRIu64 " bytes, not '%s'",
		    key, min, max, value);
	*out = v;
	return 0;
}

static int jl_set_max_clients(struct jsonl *j, const char *value, char *err, size_t errlen)
{
	int64_t v;

	if (rd_parse_int(value, 1, JL_MAX_CLIENTS, &v, err, errlen) != 0)
		return -1;
	j->max_clients = (int)v;
	return 0;
}

/* Octal, as for chmod: "0660", "660". */
static int jl_set_mode(struct jsonl *j, const char *value, char *err, size_t errlen)
{
	unsigned long v;
	char *end;

	if (*value == '\0' || strspn(value, "01234567") != strlen(value))
		return rd_filesrc_fail(
		    err, errlen, "socket_mode must be an octal mode such as 0660, not '%s'", value);
	errno = 0;
	v = strtoul(value, &end, 8);
	if (errno != 0 || v > 0777)
		return rd_filesrc_fail(err, errlen,
		                       "socket_mode must be between 0 and 0777, not '%s'", value);
	j->sock_mode = (mode_t)v;
	return 0;
}

static void jl_free_mailboxes(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void jl_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* "contact@example.gouv.fr, Titres@example.gouv.fr". The previous list
 * stays in force on error. */
static int jl_set_mailboxes(struct jsonl *j, const char *value, char *err, size_t errlen)
{
	char *buf = strdup(value), *cur = buf, *mb;
	char **list = calloc(strlen(value) / 2 + 1, sizeof(*list)); /* >= the entries */
	size_t n = 0;

	if (buf == NULL || list == NULL) {
		free(buf);
		free(list);
		return rd_filesrc_fail(err, errlen, "out of memory");
	}
	while ((mb = rd_filesrc_next_item(&cur)) != NULL) {
		jl_lower(mb);
		list[n] = strdup(mb);
		if (list[n++] == NULL) {
			free(buf);
			jl_free_mailboxes(list, n);
			return rd_filesrc_fail(err, errlen, "out of memory");
		}
	}
	free(buf);
	if (n == 0) {
		free(list);
		return rd_filesrc_fail(err, errlen, "mailboxes must list at least one address");
	}
	jl_free_mailboxes(j->mailboxes, j->nmailboxes);
	j->mailboxes = list;
	j->nmailboxes = n;
	return 0;
}

/* Keys that only make sense for a socket source. */
static int jl_socket_key(struct jsonl *j, const char *key, const char *value, char *err,
                         size_t errlen)
{
	j->socket_keys = 1;
	if (strcmp(key, "spool") == 0)
		return jl_set_str(&j->spool_dir, key, value, err, errlen);
	if (strcmp(key, "spool_max") == 0)
		return jl_set_size(key, value, JL_MIN_SPOOL_MAX, JL_MAX_SPOOL_MAX, &j->spool_max,
		                   err, errlen);
	if (strcmp(key, "max_clients") == 0)
		return jl_set_max_clients(j, value, err, errlen);
	return jl_set_mode(j, value, err, errlen);
}

static int jl_configure(void *priv, const char *key, const char *value, char *err, size_t errlen)
{
	struct jsonl *j = priv;
	int rc = rd_filesrc_configure(&j->fs, key, value, err, errlen);

	if (rc != 1)
		return rc;
	if (strcmp(key, "socket") == 0)
		return jl_set_socket(j, value, err, errlen);
	if (strcmp(key, "spool") == 0 || strcmp(key, "spool_max") == 0 ||
	    strcmp(key, "max_clients") == 0 || strcmp(key, "socket_mode") == 0)
		return jl_socket_key(j, key, value, err, errlen);
	if (strcmp(key, "mailboxes") == 0)
		return jl_set_mailboxes(j, value, err, errlen);
	return rd_filesrc_fail(err, errlen, "unknown key '%s' for a jsonl collector", key);
}

/* The spool file is named after the collector; characters that could make
 * the name a path (or hidden) are replaced. */
static int jl_make_spool_path(struct jsonl *j)
{
	const char *dir = j->spool_dir != NULL ? j->spool_dir : JL_DEF_SPOOL;
	const char *name = rd_collector_name(j->c);
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + 1 + nl + sizeof(".jsonl"));

	if (p == NULL)
		return -1;
	memcpy(p, dir, dl);
	p[dl] = '/';
	for (size_t i = 0; i < nl; i++) {
		char ch = name[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		         (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && i > 0);

		p[dl + 1 + i] = ok ? ch : '_';
	}
	memcpy(p + dl + 1 + nl, ".jsonl", sizeof(".jsonl"));
	free(j->spool_path);
	j->spool_path = p;
	return 0;
}

static int jl_check(void *priv, char *err, size_t errlen)
{
	struct jsonl *j = priv;

	if (j->fs.path == NULL && j->sock_path == NULL)
		return rd_filesrc_fail(err, errlen, "a jsonl collector needs a path or a socket");
	if (j->fs.path != NULL && j->sock_path != NULL)
		return rd_filesrc_fail(err, errlen,
		                       "a jsonl collector reads a path or a socket, not both");
	if (j->fs.path != NULL && j->socket_keys)
		return rd_filesrc_fail(
		    err, errlen,
		    "spool, spool_max, max_clients and socket_mode apply to a socket "
		    "source only");
	if (j->sock_path != NULL && jl_make_spool_path(j) != 0)
		return rd_filesrc_fail(err, errlen, "out of memory");
	return 0;
}

/* 1 if mailbox is one of the configured ones, or no filter is set. */
static int jl_owns(void *priv, const char *mailbox)
{
	const struct jsonl *j = priv;

	if (j->nmailboxes == 0)
		return 1;
	for (size_t i = 0; i < j->nmailboxes; i++)
		if (strcasecmp(j->mailboxes[i], mailbox) == 0)
			return 1;
	return 0;
}

/* --- lines from the tail ------------------------------------------------------ */

static void jl_on_line(void *arg, const struct rd_filesrc_line *ln)
{
	struct jsonl *j = arg;
	char why[JP_WHY_LEN];
	int rc;

	rc = jp_parse(ln->text, ln->len, &j->ev, why, sizeof(why));
	if (rc == JP_REJECT) {
		rd_collector_rejected(j->c, ln->offset, why, ln->text, ln->len);
	} else if (rc == JP_UNKNOWN) {
		rd_collector_unknown(j->c, ln->offset, why, ln->text, ln->len);
	} else {
		rd_collector_accepted(j->c);
		if (j->ev.kind == JP_CALL)
			rd_collector_emit_call(j->c, &j->ev.call);
		else if (jl_owns(j, j->ev.mail.mailbox)) /* others: accepted, ignored */
			rd_collector_emit_mail(j->c, &j->ev.mail);
	}
	jp_event_release(&j->ev);
}

static void jl_update_reading(struct jsonl *j);
static void jl_spool_maybe_rotate(struct jsonl *j);

static int jl_on_chunk(void *arg, const struct rd_cursor *cursor)
{
	struct jsonl *j = arg;
	int rc;

	j->last = *cursor;
	j->have_last = 1;
	rc = rd_collector_checkpoint(j->c, cursor);
	if (rc == 1) { /* the tail pauses itself; the sockets must too */
		j->paused = 1;
		jl_update_reading(j);
	}
	jl_spool_maybe_rotate(j);
	return rc;
}

/* --- the spool -------------------------------------------------------------- */

static void jl_complain(struct jsonl *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Errors that repeat at every retry are rate-limited. */
static void jl_complain(struct jsonl *j, const char *fmt, ...)
{
	char msg[768];
	uint32_t suppressed = 0;
	va_list ap;

	if (!rd_ratelimit_allow(&j->rl, &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed > 0)
		rd_collector_log(j->c, RD_LOG_ERR, "%s (%" PRIu32 " similar messages suppressed)",
		                 msg, suppressed);
	else
		rd_collector_log(j->c, RD_LOG_ERR, "%s", msg);
}

static void jl_arm_retry(struct jsonl *j, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	if (j->retry_ev == NULL || evtimer_pending(j->retry_ev, NULL))
		return;
	if (evtimer_add(j->retry_ev, &tv) != 0)
		rd_collector_log(j->c, RD_LOG_ERR, "cannot schedule a retry: the socket may stall");
}

/* A new or renamed directory entry survives a power cut only once its
 * directory is synced too. */
static int jl_sync_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir = slash == NULL   ? strdup(".")
	            : slash == file ? strdup("/")
	                            : strndup(file, (size_t)(slash - file));
	int fd, rc = -1;

	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		if (close(fd) != 0)
			rc = -1;
	}
	free(dir);
	return rc;
}

/* A crash while appending may leave a partial last line; lines appended
 * after it would be glued to it. It is ended with '\n' instead: a fragment
 * of an object is rejected visibly. */
static int jl_spool_seal(struct jsonl *j)
{
	char last;
	ssize_t n;

	if (j->spool_size == 0)
		return 0;
	do
		n = pread(j->spool_fd, &last, 1, (off_t)(j->spool_size - 1));
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1;
	if (last == '\n')
		return 0;
	rd_collector_log(j->c, RD_LOG_WARN,
	                 "%s ends with an incomplete line (written when the daemon stopped): it "
	                 "is closed with a newline and will be rejected",
	                 j->spool_path);
	if (write(j->spool_fd, "\n", 1) != 1)
		return -1;
	j->spool_size++;
	return fdatasync(j->spool_fd);
}

/* Open (create) the spool for appending. */
static int jl_spool_open(struct jsonl *j)
{
	struct stat st;
	const char *dir = j->spool_dir != NULL ? j->spool_dir : JL_DEF_SPOOL;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot create the spool directory %s: %s", dir,
		                 strerror(errno));
		return -1;
	}
	/* O_NONBLOCK: a FIFO put in its place must not block the loop */
	j->spool_fd = open(j->spool_path,
	                   O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
	if (j->spool_fd < 0 || fstat(j->spool_fd, &st) != 0) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot open the spool %s: %s", j->spool_path,
		                 strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		rd_collector_log(j->c, RD_LOG_ERR, "the spool %s is not a regular file",
		                 j->spool_path);
		return -1;
	}
	j->spool_dev = (uint64_t)st.st_dev;
	j->spool_ino = (uint64_t)st.st_ino;
	j->spool_size = (uint64_t)st.st_size;
	if (jl_spool_seal(j) != 0 || jl_sync_dir(j->spool_path) != 0) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot prepare the spool %s: %s", j->spool_path,
		                 strerror(errno));
		return -1;
	}
	j->spool_full = j->spool_size >= j->spool_max;
	j->rotated_ms = jl_now_ms();
	return 0;
}

static void jl_spool_close(struct jsonl *j)
{
	if (j->spool_fd < 0)
		return;
	if (j->unsynced && fdatasync(j->spool_fd) != 0)
		rd_collector_log(j->c, RD_LOG_ERR, "cannot sync the spool %s: %s", j->spool_path,
		                 strerror(errno));
	if (close(j->spool_fd) != 0)
		rd_collector_log(j->c, RD_LOG_ERR, "cannot close the spool %s: %s", j->spool_path,
		                 strerror(errno));
	j->spool_fd = -1;
	j->unsynced = 0;
}

/* The complete lines among the first done bytes written from p: drained
 * from in and counted in the spool. */
static void jl_spool_keep(struct jsonl *j, struct evbuffer *in, const char *p, size_t done)
{
	const char *nl = done > 0 ? memrchr(p, '\n', done) : NULL;
	size_t keep = nl != NULL ? (size_t)(nl - p) + 1 : 0;

	if (keep == 0)
		return;
	if (evbuffer_drain(in, keep) != 0) /* cannot happen: keep <= its length */
		jl_complain(j, "cannot drain a client's input");
	j->spool_size += keep;
	j->unsynced = 1;
}

/* A write failed with e: cut the partial line off, so that the spool always
 * ends with '\n', and stop reading until the retry succeeds. */
static int jl_spool_failed(struct jsonl *j, int e)
{
	j->spool_error = 1;
	jl_complain(j, "cannot write to the spool %s: %s; the socket is not read until it works",
	            j->spool_path, strerror(e));
	if (ftruncate(j->spool_fd, (off_t)j->spool_size) != 0)
		jl_complain(j, "cannot cut the spool %s back: %s", j->spool_path, strerror(errno));
	jl_arm_retry(j, JL_RETRY_MS);
	return -1;
}

/* Append the first n bytes of in (complete lines) and drain them. On a
 * short write the complete lines written are kept; the rest stays in `in`
 * for the retry. */
static int jl_spool_write(struct jsonl *j, struct evbuffer *in, size_t n)
{
	const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	size_t done = 0;
	int e = 0;

	if (p == NULL)
		return jl_spool_failed(j, ENOMEM);
	while (done < n) {
		ssize_t w = write(j->spool_fd, p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	jl_spool_keep(j, in, p, done);
	return done == n ? 0 : jl_spool_failed(j, e);
}

static int jl_spool_sync(struct jsonl *j)
{
	if (!j->unsynced)
		return 0;
	if (fdatasync(j->spool_fd) != 0) {
		j->spool_error = 1;
		jl_complain(j,
		            "cannot sync the spool %s: %s; the socket is not read until it works",
		            j->spool_path, strerror(errno));
		jl_arm_retry(j, JL_RETRY_MS);
		return -1;
	}
	j->unsynced = 0;
	return 0;
}

/* An fdatasync of the spool, run by the worker thread. */
struct jl_sync {
	struct rd_task task;
	struct jsonl *j;
	int fd, err;
};

static void jl_after_write(struct jsonl *j);

static void jl_sync_run(struct rd_task *task)
{
	struct jl_sync *s = (struct jl_sync *)task;

	s->err = fdatasync(s->fd) == 0 ? 0 : errno;
}

static void jl_sync_done(struct rd_task *task, int cancelled)
{
	struct jl_sync *s = (struct jl_sync *)task;
	struct jsonl *j = s->j;

	j->syncing = 0;
	if (cancelled || s->err != 0)
		j->unsynced = 1; /* the close, or the repair, syncs it */
	if (!cancelled && s->err != 0) {
		j->spool_error = 1;
		jl_complain(j,
		            "cannot sync the spool %s: %s; the socket is not read until it works",
		            j->spool_path, strerror(s->err));
		jl_arm_retry(j, JL_RETRY_MS);
	}
	free(s);
	if (!j->stopping)
		jl_after_write(j); /* lines written meanwhile are synced next */
}

/* Start syncing what was written; clients are not read until it is done.
 * Without a worker (it could not start) the sync runs here. */
static void jl_spool_sync_start(struct jsonl *j)
{
	struct jl_sync *s;

	if (j->syncing || !j->unsynced || j->spool_error)
		return;
	if (j->syncer == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		(void)jl_spool_sync(j); /* a failure is reported and retried */
		return;
	}
	s->task.run = jl_sync_run;
	s->task.done = jl_sync_done;
	s->j = j;
	s->fd = j->spool_fd;
	j->unsynced = 0;
	j->syncing = 1;
	rd_worker_submit(j->syncer, &s->task);
}

/* After a failure: the spool must end with '\n', and be synced, before
 * anything is appended. A partial line that could not be cut off at once is
 * ended with '\n' rather than cut now: the tail may have read its bytes
 * since, and a file that shrinks under it is read again from the start.
 * The fragment is rejected; the whole line is still in the client's input. */
static int jl_spool_repair(struct jsonl *j)
{
	struct stat st;

	if (fstat(j->spool_fd, &st) != 0)
		return -1;
	if ((uint64_t)st.st_size > j->spool_size) {
		if (write(j->spool_fd, "\n", 1) != 1)
			return -1;
		st.st_size++;
	}
	j->spool_size = (uint64_t)st.st_size; /* smaller: cut by someone else */
	j->unsynced = 1;
	return jl_spool_sync(j);
}

/* NAME.jsonl -> NAME.jsonl.1, then a new empty NAME.jsonl. The new file is
 * created first under a temporary name so that a failure leaves the spool
 * as it was. */
static int jl_spool_rotate(struct jsonl *j)
{
	size_t n = strlen(j->spool_path) + 5;
	char *old = malloc(n), *tmp = malloc(n);
	int fd = -1, rc = -1;
	struct stat st;

	if (old == NULL || tmp == NULL)
		goto out;
	snprintf(old, n, "%s.1", j->spool_path);
	snprintf(tmp, n, "%s.new", j->spool_path);
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto out;
	fd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0 || fstat(fd, &st) != 0 || rename(j->spool_path, old) != 0)
		goto out;
	if (rename(tmp, j->spool_path) != 0) {
		int e = errno;

		if (rename(old, j->spool_path) != 0) /* put it back */
			jl_complain(j, "cannot restore %s from %s: %s", j->spool_path, old,
			            strerror(errno));
		errno = e;
		goto out;
	}
	(void)jl_sync_dir(j->spool_path); /* reported below only if the rest fails */
	jl_spool_close(j);
	j->spool_fd = fd;
	fd = -1;
	j->spool_dev = (uint64_t)st.st_dev;
	j->spool_ino = (uint64_t)st.st_ino;
	j->spool_size = 0;
	rc = 0;
out:
	if (rc != 0)
		jl_complain(j, "cannot rotate the spool %s: %s", j->spool_path, strerror(errno));
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(old);
	free(tmp);
	return rc;
}

/* Rotate a spool that reached spool_max once the tail has consumed all of
 * it, the ledger is keeping up, and the previous rotation is old enough. */
static void jl_spool_maybe_rotate(struct jsonl *j)
{
	int64_t wait;

	if (j->spool_fd < 0 || j->syncing || j->spool_size < j->spool_max || j->paused ||
	    !j->have_last || j->last.dev != j->spool_dev || j->last.ino != j->spool_ino ||
	    j->last.offset != j->spool_size)
		return;
	wait = j->rotated_ms + JL_ROTATE_MIN_MS - jl_now_ms();
	if (wait > 0) { /* every wait is at most JL_RETRY_MS: one timer serves all */
		jl_arm_retry(j, wait < JL_RETRY_MS ? wait : JL_RETRY_MS);
		return;
	}
	if (jl_spool_rotate(j) != 0) {
		jl_arm_retry(j, JL_RETRY_MS);
		return;
	}
	rd_collector_log(j->c, RD_LOG_INFO, "spool rotated: %s.1", j->spool_path);
	j->rotated_ms = jl_now_ms();
	j->spool_full = 0;
	jl_update_reading(j);
}

/* --- socket clients ------------------------------------------------------------ */

static int jl_may_read(const struct jsonl *j)
{
	return !j->paused && !j->spool_full && !j->spool_error && !j->syncing && j->spool_fd >= 0;
}

static int jl_conn_set_reading(struct jl_conn *k, int on)
{
	return on && !k->eof ? bufferevent_enable(k->bev, EV_READ)
	                     : bufferevent_disable(k->bev, EV_READ);
}

/* Apply jl_may_read() to every client and max_clients to the listener,
 * when they change (this runs after every read). */
static void jl_update_reading(struct jsonl *j)
{
	int on = jl_may_read(j);
	int acc = on && !j->accept_backoff && j->nconns < j->max_clients;

	if (on != j->reading) {
		j->reading = on;
		for (struct jl_conn *k = j->conns; k != NULL; k = k->next)
			if (jl_conn_set_reading(k, on) != 0)
				jl_complain(j, "cannot %s reading a client",
				            on ? "resume" : "suspend");
	}
	if (j->listener != NULL && acc != j->accepting) {
		j->accepting = acc;
		if ((acc ? evconnlistener_enable(j->listener)
		         : evconnlistener_disable(j->listener)) != 0)
			jl_complain(j, "cannot %s accepting clients", acc ? "resume" : "suspend");
	}
}

static void jl_conn_free(struct jl_conn *k)
{
	struct jsonl *j = k->j;

	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		j->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	j->nconns--;
	bufferevent_free(k->bev);
	free(k);
}

/* A line longer than max_line at the start of in: rejected with its first
 * max_line bytes, never spooled. The offset is the spool position where it
 * would have been. */
static void jl_conn_reject_long(struct jl_conn *k, struct evbuffer *in, size_t len, int complete)
{
	struct jsonl *j = k->j;
	size_t n = len < j->fs.max_line ? len : j->fs.max_line;
	const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	char why[96];

	if (complete)
		snprintf(why, sizeof(why), "line longer than max_line (%zu bytes)", len);
	else
		snprintf(why, sizeof(why), "line longer than max_line (more than %zu bytes)", len);
	rd_collector_rejected(j->c, j->spool_size, why, p != NULL ? p : "", p != NULL ? n : 0);
	if (evbuffer_drain(in, complete ? len + 1 : len) != 0)
		jl_complain(j, "cannot drop a long line");
	k->skip = !complete;
	k->scan = 0;
}

/* Bytes at the start of in that are complete lines of at most max_line
 * bytes each (with their '\n'). */
static size_t jl_good_prefix(struct jl_conn *k, struct evbuffer *in)
{
	size_t good = 0, len = evbuffer_get_length(in);
	struct evbuffer_ptr from, nl;

	while (good < len) {
		/* the first line was already scanned up to k->scan */
		size_t start = good == 0 ? k->scan : good;

		if (evbuffer_ptr_set(in, &from, start, EVBUFFER_PTR_SET) != 0)
			break;
		nl = evbuffer_search(in, "\n", 1, &from);
		if (nl.pos < 0 || (size_t)nl.pos - good > k->j->fs.max_line)
			break;
		good = (size_t)nl.pos + 1;
	}
	return good;
}

/* The start of in is not a good line: a too-long one, or a partial one.
 * Returns 1 if something was dropped, 0 to wait for more bytes. */
static int jl_conn_head(struct jl_conn *k, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr from, nl;

	if (k->scan < len && evbuffer_ptr_set(in, &from, k->scan, EVBUFFER_PTR_SET) == 0) {
		nl = evbuffer_search(in, "\n", 1, &from);
		if (nl.pos >= 0) {
			jl_conn_reject_long(k, in, (size_t)nl.pos, 1);
			return 1;
		}
	}
	if (len > k->j->fs.max_line) {
		jl_conn_reject_long(k, in, len, 0);
		return 1;
	}
	k->scan = len;
	return 0;
}

/* The rest of a too-long line: dropped up to its '\n'. */
static void jl_conn_skip(struct jl_conn *k, struct evbuffer *in)
{
	struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, NULL);
	size_t n = nl.pos >= 0 ? (size_t)nl.pos + 1 : evbuffer_get_length(in);

	if (evbuffer_drain(in, n) != 0)
		jl_complain(k->j, "cannot drop a long line");
	if (nl.pos >= 0)
		k->skip = 0;
}

/* Spool every complete line of the client's input. -1: spool failure, the
 * rest stays in the input for the retry. */
static int jl_conn_drain(struct jl_conn *k)
{
	struct jsonl *j = k->j;
	struct evbuffer *in = bufferevent_get_input(k->bev);

	while (evbuffer_get_length(in) > 0) {
		size_t good;

		if (j->spool_error)
			return -1;
		if (k->skip) {
			jl_conn_skip(k, in);
			continue;
		}
		good = jl_good_prefix(k, in);
		if (good > 0) {
			int rc = jl_spool_write(j, in, good);

			k->scan = 0; /* the input's start moved, even on failure */
			if (rc != 0)
				return -1;
			continue;
		}
		if (jl_conn_head(k, in) == 0)
			break;
	}
	return 0;
}

/* A socket bufferevent keeps the end of its input frozen (only its own
 * reads append); the client is gone, so nothing else can append now. */
static int jl_conn_add_nl(struct evbuffer *in)
{
	int rc;

	if (evbuffer_unfreeze(in, 0) != 0)
		return -1;
	rc = evbuffer_add(in, "\n", 1);
	if (evbuffer_freeze(in, 0) != 0)
		rc = -1;
	return rc;
}

/* A client that closed ends its last line: a truncated object is rejected
 * anyway, and a script's final newline is easy to forget. */
static void jl_conn_finish(struct jl_conn *k)
{
	struct evbuffer *in = bufferevent_get_input(k->bev);

	if (k->skip) {
		if (evbuffer_drain(in, evbuffer_get_length(in)) != 0)
			jl_complain(k->j, "cannot drop a long line");
	} else if (!k->sealed && evbuffer_get_length(in) > 0 && jl_conn_add_nl(in) != 0) {
		jl_complain(k->j, "out of memory: the last line of a client was lost");
		jl_conn_free(k);
		return;
	}
	k->sealed = 1; /* a retry must not add a second one */
	if (jl_conn_drain(k) == 0)
		jl_conn_free(k);
}

/* After writing: durable before reading on; stop reading when full. */
static void jl_after_write(struct jsonl *j)
{
	jl_spool_sync_start(j);
	if (j->spool_size >= j->spool_max)
		j->spool_full = 1;
	jl_update_reading(j);
	if (j->spool_full)
		jl_spool_maybe_rotate(j);
}

static void jl_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct jl_conn *k = arg;

	(void)bev;
	(void)jl_conn_drain(k); /* a failure is reported and retried */
	jl_after_write(k->j);
}

static void jl_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct jl_conn *k = arg;
	struct jsonl *j = k->j;

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (what & BEV_EVENT_ERROR)
		rd_collector_log(j->c, RD_LOG_INFO, "a client's connection failed: %s",
		                 strerror(EVUTIL_SOCKET_ERROR()));
	k->eof = 1;
	jl_conn_finish(k); /* on a spool failure, the retry finishes it */
	jl_after_write(j);
}

static void jl_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                         int salen, void *arg)
{
	struct jsonl *j = arg;
	struct jl_conn *k = calloc(1, sizeof(*k));

	(void)l;
	(void)sa;
	(void)salen;
	if (k != NULL)
		k->bev = bufferevent_socket_new(j->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (k == NULL || k->bev == NULL ||
	    bufferevent_set_max_single_read(k->bev, JL_READ_MAX) != 0) {
		jl_complain(j, "out of memory: a client was refused");
		if (k != NULL && k->bev != NULL)
			bufferevent_free(k->bev);
		else
			evutil_closesocket(fd);
		free(k);
		return;
	}
	k->j = j;
	k->next = j->conns;
	if (j->conns != NULL)
		j->conns->prev = k;
	j->conns = k;
	j->nconns++;
	bufferevent_setcb(k->bev, jl_conn_read_cb, NULL, jl_conn_event_cb, k);
	if (jl_conn_set_reading(k, j->reading) != 0)
		jl_complain(j, "cannot start reading a client");
	jl_update_reading(j); /* stops accepting at max_clients */
}

/* accept() failed (out of descriptors...): the listener would fire again
 * at once, so it rests for a while. */
static void jl_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct jsonl *j = arg;

	(void)l;
	jl_complain(j, "cannot accept a client on %s: %s", j->sock_path,
	            strerror(EVUTIL_SOCKET_ERROR()));
	j->accept_backoff = 1;
	jl_update_reading(j);
	jl_arm_retry(j, JL_RETRY_MS);
}

/* Spool failures, deferred rotation and accept() back-off end here. */
static void jl_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jsonl *j = arg;

	(void)fd;
	(void)what;
	j->accept_backoff = 0;
	if (j->spool_error) {
		if (jl_spool_repair(j) != 0) {
			jl_arm_retry(j, JL_RETRY_MS);
			return;
		}
		j->spool_error = 0;
		rd_collector_log(j->c, RD_LOG_INFO, "the spool %s works again", j->spool_path);
		for (struct jl_conn *k = j->conns, *next; k != NULL; k = next) {
			next = k->next;
			if (k->eof)
				jl_conn_finish(k);
			else
				(void)jl_conn_drain(k);
		}
		jl_spool_sync_start(j);
	}
	if (j->spool_size >= j->spool_max)
		j->spool_full = 1;
	jl_spool_maybe_rotate(j);
	jl_update_reading(j);
}

/* --- the listening socket ------------------------------------------------------ */

/* 1 if a process accepts connections on path, 0 if not, -1 if unknown. */
static int jl_sock_alive(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc;

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
		rc = 1;
	else
		rc = errno == ECONNREFUSED || errno == ENOENT ? 0 : -1;
	close(fd);
	return rc;
}

/* A socket left by a previous run that died is removed; a live one, or
 * anything that is not a socket, is left alone. */
static int jl_sock_clear(struct jsonl *j)
{
	struct stat st;
	int alive;

	if (lstat(j->sock_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		rd_collector_log(j->c, RD_LOG_ERR, "cannot check %s: %s", j->sock_path,
		                 strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		rd_collector_log(j->c, RD_LOG_ERR,
		                 "%s exists and is not a socket: not replacing it", j->sock_path);
		return -1;
	}
	alive = jl_sock_alive(j->sock_path);
	if (alive != 0) {
		rd_collector_log(j->c, RD_LOG_ERR, "%s %s", j->sock_path,
		                 alive > 0 ? "is in use by another process"
		                           : "cannot be checked: not replacing it");
		return -1;
	}
	if (unlink(j->sock_path) != 0 && errno != ENOENT) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot remove the stale socket %s: %s",
		                 j->sock_path, strerror(errno));
		return -1;
	}
	rd_collector_log(j->c, RD_LOG_INFO, "removed the stale socket %s", j->sock_path);
	return 0;
}

/* bind, chmod, then listen: no client can connect before the mode is set. */
static int jl_sock_bind(struct jsonl *j, int fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", j->sock_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot bind %s: %s", j->sock_path,
		                 strerror(errno));
		return -1;
	}
	if (chmod(j->sock_path, j->sock_mode) != 0 || lstat(j->sock_path, &st) != 0 ||
	    listen(fd, JL_BACKLOG) != 0) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot listen on %s: %s", j->sock_path,
		                 strerror(errno));
		if (unlink(j->sock_path) != 0)
			rd_collector_log(j->c, RD_LOG_WARN, "cannot remove %s: %s", j->sock_path,
			                 strerror(errno));
		return -1;
	}
	j->sock_dev = (uint64_t)st.st_dev;
	j->sock_ino = (uint64_t)st.st_ino;
	return 0;
}

static int jl_sock_listen(struct jsonl *j)
{
	int fd;

	if (jl_sock_clear(j) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	if (jl_sock_bind(j, fd) != 0) {
		close(fd);
		return -1;
	}
	/* backlog 0: already listening */
	j->listener = evconnlistener_new(j->base, jl_accept_cb, j,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (j->listener == NULL) {
		rd_collector_log(j->c, RD_LOG_ERR, "cannot accept clients on %s", j->sock_path);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(j->listener, jl_accept_error_cb);
	j->accepting = 1; /* a new listener is enabled */
	return 0;
}

/* Unlink the socket only if it is still ours (not a successor's). */
static void jl_sock_close(struct jsonl *j)
{
	struct stat st;

	if (j->listener == NULL)
		return;
	evconnlistener_free(j->listener);
	j->listener = NULL;
	if (lstat(j->sock_path, &st) == 0 && (uint64_t)st.st_dev == j->sock_dev &&
	    (uint64_t)st.st_ino == j->sock_ino && unlink(j->sock_path) != 0)
		rd_collector_log(j->c, RD_LOG_WARN, "cannot remove %s: %s", j->sock_path,
		                 strerror(errno));
}

/* --- lifecycle ------------------------------------------------------------------ */

static void jl_stop(void *priv);

/* In once mode a socket source only drains what its spool holds: there is
 * no "current end" of a socket. */
static int jl_start(void *priv, struct event_base *base, const struct rd_cursor *resume, int once)
{
	struct jsonl *j = priv;
	int push = j->sock_path != NULL && !once;
	const char *path = j->fs.path != NULL ? j->fs.path : j->spool_path;

	if (rd_filesrc_running(&j->fs) || j->base != NULL || path == NULL)
		return -1;
	j->base = base;
	j->stopping = 0;
	if (push) {
		/* without its thread the spool is synced on the loop (logged) */
		j->syncer = rd_worker_new(base, "jsonl spool");
		j->retry_ev = evtimer_new(base, jl_retry_cb, j);
		/* the spool is sealed before the tail can read it */
		if (j->retry_ev == NULL || jl_spool_open(j) != 0) {
			jl_stop(j);
			return -1;
		}
	}
	if (rd_filesrc_start(&j->fs, base, path, resume, once) != 0 ||
	    (push && jl_sock_listen(j) != 0)) {
		jl_stop(j);
		return -1;
	}
	jl_update_reading(j); /* a full spool waits for the tail */
	return 0;
}

static void jl_pause(void *priv)
{
	struct jsonl *j = priv;

	j->paused = 1;
	rd_filesrc_pause(&j->fs);
	jl_update_reading(j);
}

static void jl_resume(void *priv)
{
	struct jsonl *j = priv;

	j->paused = 0;
	rd_filesrc_resume(&j->fs);
	jl_spool_maybe_rotate(j); /* deferred while paused */
	jl_update_reading(j);
}

/* Complete lines are all in the spool already; a client's unfinished line
 * is dropped with its connection (the client sees it closed). Stopping the
 * file source is safe from inside its callbacks. */
static void jl_stop(void *priv)
{
	struct jsonl *j = priv;

	j->stopping = 1;
	rd_worker_free(j->syncer); /* waits for a sync in progress */
	j->syncer = NULL;
	j->syncing = 0;
	while (j->conns != NULL)
		jl_conn_free(j->conns);
	jl_sock_close(j);
	if (j->retry_ev != NULL)
		event_free(j->retry_ev);
	j->retry_ev = NULL;
	jl_spool_close(j);
	rd_filesrc_stop(&j->fs);
	j->base = NULL;
	j->reading = j->accepting = 0;
}

static void jl_destroy(void *priv)
{
	struct jsonl *j = priv;

	if (j == NULL)
		return;
	jl_stop(j);
	jp_event_release(&j->ev);
	jl_free_mailboxes(j->mailboxes, j->nmailboxes);
	rd_filesrc_release(&j->fs);
	free(j->sock_path);
	free(j->spool_dir);
	free(j->spool_path);
	free(j);
}

/* Rejected lines are logged as source:offset, and a socket source's
 * offsets are positions in its spool. */
static const char *jl_source(void *priv)
{
	const struct jsonl *j = priv;

	if (j->fs.path != NULL)
		return j->fs.path;
	if (j->spool_path != NULL)
		return j->spool_path;
	return j->sock_path != NULL ? j->sock_path : "jsonl";
}

const struct rd_collector_type rd_jsonl_type = {
    .abi = RD_COLLECTOR_ABI,
    .size = sizeof(struct rd_collector_type),
    .name = "jsonl",
    .create = jl_create,
    .configure = jl_configure,
    .check = jl_check,
    .start = jl_start,
    .pause = jl_pause,
    .resume = jl_resume,
    .stop = jl_stop,
    .destroy = jl_destroy,
    .source = jl_source,
    .owns = jl_owns,
};
