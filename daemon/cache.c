/* cache.c - see cache.h and cache_addr.h.
 *
 * One hiredis 0.14 async context at a time, attached to the daemon's loop.
 * The rules this file lives by (docs: shared/reference/c-libraries.md §1):
 *
 * - Every command carries a struct cache_req as privdata, linked oldest
 *   first in c->head. The list gives the in-flight count, the age of the
 *   oldest command (command deadline) and, in rd_cache_free, the EXISTS
 *   callbacks still owed a -1. Every reply callback frees its req, whatever
 *   the reply (NULL included).
 * - A context is never freed or disconnected from inside the connect or
 *   disconnect callbacks, nor from reply callbacks: those only arm the 0 s
 *   "kill" timer, and the teardown runs from the loop. Only rd_cache_free,
 *   which the owner may call from anywhere, frees directly, relying on
 *   hiredis deferring the free when it is inside one of its callbacks.
 * - Before a context is freed, c->ac is cleared and ac->data set to NULL, so
 *   the callbacks hiredis runs while freeing it (NULL replies, then
 *   onDisconnect) see that the context is no longer ours and do nothing
 *   but free their req.
 * - A user callback (on_ready, an EXISTS result) may call rd_cache_free. So a
 *   user callback is always the last thing a function does with c; and the
 *   one place that calls user callbacks and then still needs c, the teardown
 *   (redisAsyncFree runs the pending EXISTS callbacks with NULL), raises
 *   c->depth so rd_cache_free only marks c dead and the teardown frees it.
 *
 * Statistics: a put_hash, add_member or exists counts as one command however
 * many Redis commands its transaction holds; the handshake's AUTH, SELECT
 * and PING count as commands too. commands_failed counts error replies and
 * commands lost with their connection. reconnects counts connection attempts
 * after the first one. */
#include "cache.h"
#include "cache_addr.h"
#include "log.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#define CACHE_BACKOFF_MIN_MS       100
#define CACHE_BACKOFF_MAX_MS       10000
#define CACHE_DEFAULT_MAX_INFLIGHT 10000
#define CACHE_ADDR_STRLEN          (RD_CACHE_ADDR_HOSTLEN + 16)

/* One command (or MULTI/EXEC transaction) waiting for its reply. */
struct cache_req {
	struct cache_req *prev, *next;
	struct rd_cache *c; /* NULL once rd_cache_free has detached it */
	int64_t sent_ms;
	const char *what; /* for log messages: "AUTH", "SELECT", "write", ... */
	void (*cb)(void *arg, int exists);
	void *arg;
};

struct rd_cache {
	struct event_base *base;
	redisAsyncContext *ac; /* current context, NULL between connections */
	unsigned gen;          /* bumped at every connection attempt */

	char host[RD_CACHE_ADDR_HOSTLEN]; /* numeric IP, or socket path if port == 0 */
	int port;
	char addr[CACHE_ADDR_STRLEN]; /* as configured, for log messages */
	char *password;               /* NULL: no AUTH */
	int db;
	int64_t timeout_ms;
	size_t max_inflight;

	void (*on_ready)(void *arg);
	void *arg;

	struct event *reconnect_ev; /* backoff before the next attempt */
	struct event *connect_ev;   /* connect + handshake deadline */
	struct event *deadline_ev;  /* oldest in-flight command deadline */
	struct event *kill_ev;      /* 0 s: teardown requested from a callback */
	unsigned kill_gen;          /* the generation kill_ev is meant for */

	struct cache_req *head, *tail; /* in flight, oldest first */
	size_t inflight;

	int handshake_left;   /* AUTH/SELECT/PING replies still awaited */
	int handshake_failed; /* one of them failed: never becomes ready */
	int ready;            /* connected and handshake done */
	int was_ready;        /* ready at least once: say "again" in the log */
	int closing;          /* rd_cache_free has run: no user callbacks */
	int depth;            /* > 0: inside a teardown that still needs c */
	int dead;             /* rd_cache_free ran at depth > 0: free on unwind */

	uint64_t attempts;
	int64_t backoff_ms;
	uint64_t rng;

	uint64_t commands_sent, commands_failed, writes_dropped, reconnects;

	struct rd_ratelimit conn_rl; /* connection complaints */
	struct rd_ratelimit cmd_rl;  /* error replies, drops at the cap */
};

/* ------------------------------------------------------------------------
 * Address parsing and key escaping: pure functions.
 */

static void addr_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void addr_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	/* Truncation only shortens the message. */
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Decimal 1..65535, digits only: no sign, no spaces, no hex. */
static int addr_parse_port(const char *s, int *port)
{
	long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int rd_cache_parse_address(const char *addr, char *host, size_t hostlen, int *port, char *err,
                           size_t errlen)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *ipstart, *portstr, *sep;
	size_t iplen;
	int af;

	if (err && errlen > 0)
		err[0] = '\0';
	if (!addr || !*addr) {
		addr_fail(err, errlen, "empty Redis address");
		return -1;
	}
	if (!host || hostlen == 0 || !port) {
		addr_fail(err, errlen, "no room for the parsed Redis address");
		return -1;
	}

	if (strncmp(addr, "unix:", 5) == 0) {
		const char *path = addr + 5;
		size_t len = strlen(path);

		/* The daemon runs from /: a relative path would be a surprise. */
		if (path[0] != '/') {
			addr_fail(err, errlen, "Redis unix socket path must be absolute: \"%s\"",
			          addr);
			return -1;
		}
		if (len >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			addr_fail(err, errlen, "Redis unix socket path is too long (max %zu bytes)",
			          sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -1;
		}
		if (len >= hostlen) {
			addr_fail(err, errlen, "no room for the Redis socket path");
			return -1;
		}
		memcpy(host, path, len + 1);
		*port = 0;
		return 0;
	}

	if (addr[0] == '[') {
		sep = strchr(addr, ']');
		if (!sep || sep[1] != ':') {
			addr_fail(err, errlen, "bad Redis address \"%s\": expected [IPv6]:port",
			          addr);
			return -1;
		}
		af = AF_INET6;
		ipstart = addr + 1;
		iplen = (size_t)(sep - ipstart);
		portstr = sep + 2;
	} else {
		sep = strrchr(addr, ':');
		if (!sep) {
			addr_fail(err, errlen,
			          "bad Redis address \"%s\": expected IP:port, [IPv6]:port or "
			          "unix:/path",
			          addr);
			return -1;
		}
		ipstart = addr;
		iplen = (size_t)(sep - addr);
		if (memchr(ipstart, ':', iplen)) {
			addr_fail(err, errlen,
			          "bad Redis address \"%s\": expected IP:port, [IPv6]:port or "
			          "unix:/path (IPv6 addresses need brackets)",
			          addr);
			return -1;
		}
		af = AF_INET;
		portstr = sep + 1;
	}

	if (iplen == 0 || iplen >= sizeof(ip)) {
		addr_fail(err, errlen,
		          "bad Redis address \"%s\": not a numeric IP address (host names are "
		          "not allowed)",
		          addr);
		return -1;
	}
	memcpy(ip, ipstart, iplen);
	ip[iplen] = '\0';
	/* Only numeric addresses: hiredis resolves names with a blocking
	 * getaddrinfo(), which would stall the whole loop. */
	if (inet_pton(af, ip, bin) != 1) {
		addr_fail(err, errlen,
		          "bad Redis address \"%s\": \"%s\" is not a numeric %s address (host "
		          "names are not allowed)",
		          addr, ip, af == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	if (addr_parse_port(portstr, port) < 0) {
		addr_fail(err, errlen, "bad Redis address \"%s\": port must be 1-65535", addr);
		return -1;
	}
	if (iplen >= hostlen) {
		addr_fail(err, errlen, "no room for the Redis host");
		return -1;
	}
	memcpy(host, ip, iplen + 1);
	return 0;
}

static int escape_keep(unsigned char b)
{
	/* Explicit ranges rather than isalnum(): the locale must not matter. */
	return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
	       b == '.' || b == '_' || b == '@' || b == '+' || b == '-';
}

int rd_cache_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!in)
		return -1;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		size_t need = escape_keep(*p) ? 1 : 3;

		/* Keep one byte for the terminating NUL. */
		if (need >= outlen - o || o + need > (size_t)INT_MAX) {
			out[0] = '\0';
			return -1;
		}
		if (need == 1) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0x0f];
		}
	}
	out[o] = '\0';
	return (int)o;
}

/* ------------------------------------------------------------------------
 * Small helpers.
 */

static int64_t cache_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux; a zero result is still sane. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t cache_rand(struct rd_cache *c)
{
	/* xorshift64*: jitter only needs to differ between daemons, and keeping
	 * the state here leaves the process-wide random() alone. */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * UINT64_C(2685821657736338717);
}

static void cache_limited(struct rd_ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A warning, unless this kind of complaint is being rate-limited. */
static void cache_limited(struct rd_ratelimit *rl, const char *fmt, ...)
{
	char msg[512];
	uint32_t suppressed;
	va_list ap;

	if (!rd_ratelimit_allow(rl, &suppressed))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		rd_warn("%s (%" PRIu32 " similar messages suppressed)", msg, suppressed);
	else
		rd_warn("%s", msg);
}

static void cache_timer_add(struct rd_cache *c, struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (evtimer_add(ev, &tv) != 0)
		cache_limited(&c->conn_rl, "redis %s: cannot arm a timer", c->addr);
}

static void cache_timer_del(struct event *ev)
{
	/* event_del only fails on an event without a base, which ours never are. */
	(void)evtimer_del(ev);
}

/* ------------------------------------------------------------------------
 * Requests.
 */

static struct cache_req *cache_req_new(struct rd_cache *c, const char *what)
{
	struct cache_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->c = c;
	req->what = what;
	return req;
}

static void cache_req_unlink(struct cache_req *req)
{
	struct rd_cache *c = req->c;

	if (!c)
		return;
	if (req->prev)
		req->prev->next = req->next;
	else
		c->head = req->next;
	if (req->next)
		req->next->prev = req->prev;
	else
		c->tail = req->prev;
	req->prev = req->next = NULL;
	c->inflight--;
}

/* Unlink and free; returns the cache the request belonged to, or NULL if
 * rd_cache_free detached it (then nothing more is owed to anyone). */
static struct rd_cache *cache_req_done(struct cache_req *req)
{
	struct rd_cache *c = req->c;

	cache_req_unlink(req);
	free(req);
	return c;
}

/* A NULL reply: the context it came from is being freed. If that is still
 * the current one (hiredis dropped it on an error), stop accepting commands
 * now; onDisconnect, which follows, schedules the reconnection. */
static void cache_lost(struct rd_cache *c, const redisAsyncContext *ac)
{
	c->commands_failed++;
	if (c->ac == ac)
		c->ready = 0;
}

static void cache_schedule_kill(struct rd_cache *c)
{
	if (!c->ac)
		return;
	c->kill_gen = c->gen;
	cache_timer_add(c, c->kill_ev, 0);
}

/* Queue cmds on the current context; the last one carries fn and req. On
 * success the request is linked and owned by hiredis until its callback. */
struct cache_cmd {
	int argc;
	const char **argv;
	const size_t *argvlen;
};

static int cache_submit(struct rd_cache *c, struct cache_req *req, redisCallbackFn *fn,
                        const struct cache_cmd *cmds, size_t ncmds)
{
	for (size_t i = 0; i < ncmds; i++) {
		int last = i + 1 == ncmds;

		/* Intermediate replies (+OK, +QUEUED) need no callback: a failure
		 * inside the transaction shows in EXEC's reply. */
		if (redisAsyncCommandArgv(c->ac, last ? fn : NULL, last ? req : NULL, cmds[i].argc,
		                          cmds[i].argv, cmds[i].argvlen) != REDIS_OK) {
			/* Only a disconnecting context refuses, and then for every
			 * command; should a half-queued MULTI ever remain on a live
			 * connection, replace the connection rather than trust it. */
			if (i > 0)
				cache_schedule_kill(c);
			return -1;
		}
	}
	req->sent_ms = cache_now_ms();
	req->prev = c->tail;
	req->next = NULL;
	if (c->tail)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	c->inflight++;
	c->commands_sent++;
	if (!evtimer_pending(c->deadline_ev, NULL))
		cache_timer_add(c, c->deadline_ev, c->timeout_ms);
	return 0;
}

/* ------------------------------------------------------------------------
 * Connection life cycle.
 */

static void cache_destroy(struct rd_cache *c)
{
	if (c->reconnect_ev)
		event_free(c->reconnect_ev);
	if (c->connect_ev)
		event_free(c->connect_ev);
	if (c->deadline_ev)
		event_free(c->deadline_ev);
	if (c->kill_ev)
		event_free(c->kill_ev);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c);
}

static void cache_schedule_reconnect(struct rd_cache *c)
{
	int64_t base = c->backoff_ms, wait;

	if (c->closing || evtimer_pending(c->reconnect_ev, NULL))
		return;
	/* Mean follows 100 ms, 200 ms, ... 10 s, each draw within +-25%, so
	 * that daemons restarted together do not reconnect in step. */
	wait = base * 3 / 4 + (int64_t)(cache_rand(c) % (uint64_t)(base / 2 + 1));
	if (wait < CACHE_BACKOFF_MIN_MS)
		wait = CACHE_BACKOFF_MIN_MS;
	if (wait > CACHE_BACKOFF_MAX_MS)
		wait = CACHE_BACKOFF_MAX_MS;
	c->backoff_ms = base >= CACHE_BACKOFF_MAX_MS / 2 ? CACHE_BACKOFF_MAX_MS : base * 2;
	rd_debug("redis %s: next connection attempt in %" PRId64 " ms", c->addr, wait);
	cache_timer_add(c, c->reconnect_ev, wait);
}

/* Free the current context (from the loop only, never from a hiredis
 * callback). Returns -1 if the owner freed c meanwhile, from a callback
 * that the teardown ran: the caller must then not touch c. */
static int cache_teardown(struct rd_cache *c)
{
	redisAsyncContext *ac = c->ac;

	c->ac = NULL;
	c->ready = 0;
	cache_timer_del(c->connect_ev);
	cache_timer_del(c->deadline_ev);
	cache_timer_del(c->kill_ev);
	if (!ac)
		return 0;
	/* No onDisconnect work for a context we are dropping ourselves. */
	ac->data = NULL;
	c->depth++;
	redisAsyncFree(ac); /* pending callbacks run now, with NULL replies */
	c->depth--;
	if (c->dead && c->depth == 0) {
		cache_destroy(c);
		return -1;
	}
	return 0;
}

static void cache_drop_connection(struct rd_cache *c)
{
	if (cache_teardown(c) < 0)
		return;
	cache_schedule_reconnect(c);
}

static void cache_handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cache_req *req = privdata;
	const char *what = req->what;
	redisReply *reply = r;
	struct rd_cache *c = cache_req_done(req);

	if (!c)
		return;
	if (!reply) {
		/* Whoever frees the context also schedules the reconnection. */
		cache_lost(c, ac);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR)
		c->commands_failed++;
	/* Replies on a context we already dropped, or after a failed step of
	 * this handshake, must not make the cache ready. */
	if (c->ac != ac || c->handshake_failed)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		c->handshake_failed = 1;
		/* AUTH errors never echo the password. LOADING, a wrong password
		 * or a bad db index: all are retried with backoff. */
		cache_limited(&c->conn_rl, "redis %s: %s failed: %s", c->addr, what,
		              reply->str ? reply->str : "error");
		cache_schedule_kill(c);
		return;
	}
	if (--c->handshake_left > 0)
		return;
	c->ready = 1;
	c->backoff_ms = CACHE_BACKOFF_MIN_MS;
	cache_timer_del(c->connect_ev);
	rd_info("redis %s: connected%s", c->addr, c->was_ready ? " again" : "");
	c->was_ready = 1;
	/* Last: on_ready may write, or even free c. */
	if (c->on_ready)
		c->on_ready(c->arg);
}

/* The first failure of a reply, or NULL if it succeeded. */
static const char *cache_reply_error(const redisReply *reply)
{
	switch (reply->type) {
	case REDIS_REPLY_ERROR: return reply->str ? reply->str : "error";
	case REDIS_REPLY_NIL: return "transaction aborted";
	case REDIS_REPLY_ARRAY:
		/* EXEC: one reply per queued command, each may have failed. */
		for (size_t i = 0; i < reply->elements; i++) {
			const redisReply *e = reply->element[i];

			if (e && e->type == REDIS_REPLY_ERROR)
				return e->str ? e->str : "error";
		}
		return NULL;
	default: return NULL;
	}
}

static void cache_write_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cache_req *req = privdata;
	redisReply *reply = r;
	struct rd_cache *c = cache_req_done(req);
	const char *err;

	if (!c)
		return;
	if (!reply) {
		cache_lost(c, ac);
		return;
	}
	err = cache_reply_error(reply);
	if (err) {
		c->commands_failed++;
		cache_limited(&c->cmd_rl, "redis %s: write failed: %s", c->addr, err);
	}
}

static void cache_exists_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cache_req *req = privdata;
	redisReply *reply = r;
	void (*cb)(void *, int) = req->cb;
	void *arg = req->arg;
	struct rd_cache *c = cache_req_done(req);
	int result;

	/* Detached by rd_cache_free, which already gave the callback its -1. */
	if (!c)
		return;
	if (!reply) {
		cache_lost(c, ac);
		result = -1;
	} else if (reply->type == REDIS_REPLY_INTEGER) {
		result = reply->integer > 0;
	} else {
		c->commands_failed++;
		cache_limited(&c->cmd_rl, "redis %s: EXISTS failed: %s", c->addr,
		              reply->type == REDIS_REPLY_ERROR && reply->str ? reply->str
		                                                             : "unexpected reply");
		result = -1;
	}
	/* Last: the callback may free c. */
	if (cb)
		cb(arg, result);
}

static void cache_on_connect(const redisAsyncContext *ac, int status)
{
	struct rd_cache *c = ac->data;

	if (!c || c->ac != ac)
		return;
	if (status == REDIS_OK) {
		rd_debug("redis %s: socket connected, handshaking", c->addr);
		return;
	}
	/* hiredis frees this context right after we return (and fails its
	 * pending commands with NULL): forget it, but do not touch it. */
	cache_limited(&c->conn_rl, "redis %s: cannot connect: %s", c->addr,
	              ac->errstr ? ac->errstr : "unknown error");
	c->ac = NULL;
	c->ready = 0;
	cache_timer_del(c->connect_ev);
	cache_timer_del(c->deadline_ev);
	cache_schedule_reconnect(c);
}

static void cache_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rd_cache *c = ac->data;

	if (!c || c->ac != ac)
		return;
	/* The context is freed after we return: only forget it. */
	if (status == REDIS_OK)
		cache_limited(&c->conn_rl, "redis %s: connection closed", c->addr);
	else
		cache_limited(&c->conn_rl, "redis %s: connection lost: %s", c->addr,
		              ac->errstr ? ac->errstr : "unknown error");
	c->ac = NULL;
	c->ready = 0;
	cache_timer_del(c->connect_ev);
	cache_timer_del(c->deadline_ev);
	cache_schedule_reconnect(c);
}

/* Queue one handshake command; its reply counts down to readiness. */
static int cache_handshake_send(struct rd_cache *c, const char *what, int argc, const char **argv)
{
	size_t argvlen[2];
	struct cache_cmd cmd = {argc, argv, argvlen};
	struct cache_req *req = cache_req_new(c, what);

	for (int i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	if (!req)
		return -1;
	if (cache_submit(c, req, cache_handshake_reply, &cmd, 1) < 0) {
		free(req);
		return -1;
	}
	c->handshake_left++;
	return 0;
}

/* AUTH and SELECT as configured, then PING. AUTH and SELECT are accepted
 * while the server is still loading its data set, PING is not (-LOADING):
 * its reply means the server takes writes, so "ready" means just that. */
static int cache_handshake(struct rd_cache *c)
{
	const char *argv[2];
	char dbstr[16];

	if (c->password) {
		argv[0] = "AUTH";
		argv[1] = c->password;
		if (cache_handshake_send(c, "AUTH", 2, argv) < 0)
			return -1;
	}
	if (c->db != 0) {
		int n = snprintf(dbstr, sizeof(dbstr), "%d", c->db);

		if (n < 0 || (size_t)n >= sizeof(dbstr))
			return -1;
		argv[0] = "SELECT";
		argv[1] = dbstr;
		if (cache_handshake_send(c, "SELECT", 2, argv) < 0)
			return -1;
	}
	argv[0] = "PING";
	return cache_handshake_send(c, "PING", 1, argv);
}

static void cache_connect(struct rd_cache *c)
{
	redisAsyncContext *ac;

	c->gen++;
	if (c->attempts++ > 0)
		c->reconnects++;
	c->ready = 0;
	c->handshake_left = 0;
	c->handshake_failed = 0;

	/* Numeric IP or unix socket only (see rd_cache_parse_address), so
	 * neither call can block on name resolution. */
	if (c->port == 0)
		ac = redisAsyncConnectUnix(c->host);
	else
		ac = redisAsyncConnect(c->host, c->port);
	if (!ac) {
		cache_limited(&c->conn_rl, "redis %s: cannot connect: out of memory", c->addr);
		cache_schedule_reconnect(c);
		return;
	}
	if (ac->err) {
		cache_limited(&c->conn_rl, "redis %s: cannot connect: %s", c->addr, ac->errstr);
		redisAsyncFree(ac);
		cache_schedule_reconnect(c);
		return;
	}
	ac->data = c;
	if (redisLibeventAttach(ac, c->base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, cache_on_connect) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, cache_on_disconnect) != REDIS_OK) {
		cache_limited(&c->conn_rl, "redis %s: cannot set up the connection", c->addr);
		ac->data = NULL;
		redisAsyncFree(ac);
		cache_schedule_reconnect(c);
		return;
	}
	c->ac = ac;
	/* Commands are buffered until the socket connects. */
	if (cache_handshake(c) < 0) {
		cache_limited(&c->conn_rl, "redis %s: cannot queue the handshake", c->addr);
		/* Only handshake requests are pending: no user callback runs. */
		cache_drop_connection(c);
		return;
	}
	cache_timer_add(c, c->connect_ev, c->timeout_ms);
}

static void cache_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_cache *c = arg;

	(void)fd;
	(void)what;
	if (c->ac || c->closing)
		return;
	cache_connect(c);
}

static void cache_connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_cache *c = arg;

	(void)fd;
	(void)what;
	if (!c->ac || c->ready)
		return;
	cache_limited(&c->conn_rl, "redis %s: no connection within %" PRId64 " ms", c->addr,
	              c->timeout_ms);
	cache_drop_connection(c);
}

static void cache_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_cache *c = arg;
	int64_t age;

	(void)fd;
	(void)what;
	if (!c->ac || !c->head)
		return;
	age = cache_now_ms() - c->head->sent_ms;
	if (age < c->timeout_ms) {
		/* The old head was answered; wait for the new one's deadline. */
		cache_timer_add(c, c->deadline_ev, c->timeout_ms - age);
		return;
	}
	cache_limited(&c->conn_rl,
	              "redis %s: no reply within %" PRId64 " ms (%zu in flight), reconnecting",
	              c->addr, c->timeout_ms, c->inflight);
	cache_drop_connection(c);
}

static void cache_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rd_cache *c = arg;

	(void)fd;
	(void)what;
	if (!c->ac || c->kill_gen != c->gen)
		return;
	cache_drop_connection(c);
}

/* ------------------------------------------------------------------------
 * Public API.
 */

struct rd_cache *rd_cache_new(struct event_base *base, const struct rd_cache_options *opt,
                              void (*on_ready)(void *arg), void *arg)
{
	struct rd_cache *c;
	char err[256];
	struct timespec ts;

	if (!base || !opt || !opt->address) {
		rd_err("redis: no address configured");
		return NULL;
	}
	if (opt->db < 0) {
		rd_err("redis %s: database index must be >= 0", opt->address);
		return NULL;
	}
	if (opt->timeout_ms <= 0) {
		rd_err("redis %s: timeout must be > 0 ms", opt->address);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rd_err("redis %s: out of memory", opt->address);
		return NULL;
	}
	if (rd_cache_parse_address(opt->address, c->host, sizeof(c->host), &c->port, err,
	                           sizeof(err)) < 0) {
		rd_err("%s", err);
		free(c);
		return NULL;
	}
	/* Parsing bounded its length, so this never truncates. */
	(void)snprintf(c->addr, sizeof(c->addr), "%s", opt->address);
	c->base = base;
	c->db = opt->db;
	c->timeout_ms = opt->timeout_ms;
	c->max_inflight = opt->max_inflight ? opt->max_inflight : CACHE_DEFAULT_MAX_INFLIGHT;
	c->on_ready = on_ready;
	c->arg = arg;
	c->backoff_ms = CACHE_BACKOFF_MIN_MS;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
	c->rng = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16) ^
	         (uint64_t)(uintptr_t)c;
	if (c->rng == 0)
		c->rng = UINT64_C(0x9E3779B97F4A7C15);
	/* An empty password from the configuration means no AUTH. */
	if (opt->password && opt->password[0]) {
		c->password = strdup(opt->password);
		if (!c->password)
			goto oom;
	}
	c->reconnect_ev = evtimer_new(base, cache_reconnect_cb, c);
	c->connect_ev = evtimer_new(base, cache_connect_timeout_cb, c);
	c->deadline_ev = evtimer_new(base, cache_deadline_cb, c);
	c->kill_ev = evtimer_new(base, cache_kill_cb, c);
	if (!c->reconnect_ev || !c->connect_ev || !c->deadline_ev || !c->kill_ev)
		goto oom;

	/* Redis being down at start-up is not an error: the first attempt
	 * failing only schedules the next one. */
	cache_connect(c);
	return c;

oom:
	rd_err("redis %s: out of memory", opt->address);
	cache_destroy(c);
	return NULL;
}

void rd_cache_free(struct rd_cache *c)
{
	redisAsyncContext *ac;

	if (!c || c->closing)
		return;
	c->closing = 1;
	c->ready = 0;

	/* Detach every pending request, oldest first: hiredis will only free
	 * them. EXISTS callers get their -1 now, while c still exists; popping
	 * the head each time keeps this safe if a callback re-enters. */
	while (c->head) {
		struct cache_req *req = c->head;
		void (*cb)(void *, int) = req->cb;

		cache_req_unlink(req);
		req->c = NULL;
		req->cb = NULL;
		if (cb)
			cb(req->arg, -1);
	}

	ac = c->ac;
	c->ac = NULL;
	if (ac) {
		ac->data = NULL;
		/* Immediate here; deferred by hiredis itself when we are inside
		 * one of its reply callbacks (an on_ready or EXISTS callback). */
		redisAsyncFree(ac);
	}
	if (c->depth > 0) {
		/* Inside cache_teardown, which frees c when it unwinds. */
		c->dead = 1;
		return;
	}
	cache_destroy(c);
}

int rd_cache_connected(const struct rd_cache *c)
{
	return c && c->ready && c->ac;
}

void rd_cache_get_stats(const struct rd_cache *c, struct rd_cache_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	st->connected = rd_cache_connected(c);
	st->commands_sent = c->commands_sent;
	st->commands_failed = c->commands_failed;
	st->writes_dropped = c->writes_dropped;
	st->reconnects = c->reconnects;
	st->inflight = c->inflight;
}

/* Whether a new command may be sent now. */
static int cache_can_send(struct rd_cache *c)
{
	if (c->closing || !c->ready || !c->ac)
		return 0;
	if (c->inflight >= c->max_inflight) {
		cache_limited(&c->cmd_rl, "redis %s: %zu commands in flight, refusing more",
		              c->addr, c->inflight);
		return 0;
	}
	return 1;
}

static int cache_drop(struct rd_cache *c)
{
	c->writes_dropped++;
	return -1;
}

/* The commands of one transaction, built in shared argv/argvlen arrays. */
struct cache_args {
	const char **argv;
	size_t *argvlen;
	size_t n;     /* arguments so far */
	size_t first; /* first argument of the command being built */
	struct cache_cmd *cmds;
	size_t ncmds;
};

static void cache_arg(struct cache_args *b, const char *s)
{
	b->argv[b->n] = s;
	b->argvlen[b->n] = strlen(s);
	b->n++;
}

static void cache_end_cmd(struct cache_args *b)
{
	struct cache_cmd *cmd = &b->cmds[b->ncmds++];

	cmd->argc = (int)(b->n - b->first);
	cmd->argv = b->argv + b->first;
	cmd->argvlen = b->argvlen + b->first;
	b->first = b->n;
}

int rd_cache_put_hash(struct rd_cache *c, const char *key, const struct rd_cache_field *f, size_t n,
                      int64_t ttl_s)
{
	struct cache_cmd cmds[5];
	struct cache_args b = {NULL, NULL, 0, 0, cmds, 0};
	struct cache_req *req;
	size_t m = 0;
	char ttl[24];
	int tl, rc;

	if (!c)
		return -1;
	if (!key || (n > 0 && !f) || ttl_s <= 0 || !cache_can_send(c))
		return cache_drop(c);
	for (size_t i = 0; i < n; i++)
		if (f[i].name && f[i].value)
			m++;
	if (m > (size_t)(INT_MAX - 2) / 2)
		return cache_drop(c);

	tl = snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
	req = cache_req_new(c, "write");
	/* MULTI, DEL key, HSET key f v..., EXPIRE key ttl, EXEC: 9 + 2m. The
	 * field count is unbounded, so the arrays are not on the stack. */
	b.argv = calloc(9 + 2 * m, sizeof(*b.argv));
	b.argvlen = calloc(9 + 2 * m, sizeof(*b.argvlen));
	if (!req || !b.argv || !b.argvlen || tl < 0 || (size_t)tl >= sizeof(ttl)) {
		cache_limited(&c->cmd_rl, "redis %s: out of memory, dropping a write", c->addr);
		free(req);
		free(b.argv);
		free(b.argvlen);
		return cache_drop(c);
	}

	if (m == 0) {
		/* Nothing to store: the hash is simply gone, no TTL needed. */
		cache_arg(&b, "DEL");
		cache_arg(&b, key);
		cache_end_cmd(&b);
	} else {
		cache_arg(&b, "MULTI");
		cache_end_cmd(&b);
		cache_arg(&b, "DEL");
		cache_arg(&b, key);
		cache_end_cmd(&b);
		cache_arg(&b, "HSET");
		cache_arg(&b, key);
		for (size_t i = 0; i < n; i++) {
			if (!f[i].name || !f[i].value)
				continue;
			cache_arg(&b, f[i].name);
			cache_arg(&b, f[i].value);
		}
		cache_end_cmd(&b);
		cache_arg(&b, "EXPIRE");
		cache_arg(&b, key);
		cache_arg(&b, ttl);
		cache_end_cmd(&b);
		cache_arg(&b, "EXEC");
		cache_end_cmd(&b);
	}

	/* hiredis copies the arguments into its output buffer right away. */
	rc = cache_submit(c, req, cache_write_reply, b.cmds, b.ncmds);
	free(b.argv);
	free(b.argvlen);
	if (rc < 0) {
		free(req);
		return cache_drop(c);
	}
	return 0;
}

int rd_cache_add_member(struct rd_cache *c, const char *key, const char *member, int64_t ttl_s)
{
	const char *argv[8];
	size_t argvlen[8];
	struct cache_cmd cmds[4];
	struct cache_args b = {argv, argvlen, 0, 0, cmds, 0};
	struct cache_req *req;
	char ttl[24];
	int tl;

	if (!c)
		return -1;
	if (!key || !member || ttl_s <= 0 || !cache_can_send(c))
		return cache_drop(c);
	tl = snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
	req = cache_req_new(c, "write");
	if (!req || tl < 0 || (size_t)tl >= sizeof(ttl)) {
		free(req);
		return cache_drop(c);
	}
	cache_arg(&b, "MULTI");
	cache_end_cmd(&b);
	cache_arg(&b, "SADD");
	cache_arg(&b, key);
	cache_arg(&b, member);
	cache_end_cmd(&b);
	cache_arg(&b, "EXPIRE");
	cache_arg(&b, key);
	cache_arg(&b, ttl);
	cache_end_cmd(&b);
	cache_arg(&b, "EXEC");
	cache_end_cmd(&b);
	if (cache_submit(c, req, cache_write_reply, b.cmds, b.ncmds) < 0) {
		free(req);
		return cache_drop(c);
	}
	return 0;
}

int rd_cache_exists(struct rd_cache *c, const char *key, void (*cb)(void *arg, int exists),
                    void *arg)
{
	const char *argv[2];
	size_t argvlen[2];
	struct cache_cmd cmd = {2, argv, argvlen};
	struct cache_req *req;

	/* A refused query returns -1 without calling cb: the caller sees the
	 * answer synchronously and never re-enters from inside this call. */
	if (!c || !key || !cb || !cache_can_send(c))
		return -1;
	req = cache_req_new(c, "EXISTS");
	if (!req)
		return -1;
	req->cb = cb;
	req->arg = arg;
	argv[0] = "EXISTS";
	argvlen[0] = 6;
	argv[1] = key;
	argvlen[1] = strlen(key);
	if (cache_submit(c, req, cache_exists_reply, &cmd, 1) < 0) {
		free(req);
		return -1;
	}
	return 0;
}
