/* cache.h - the Redis side: an asynchronous hiredis connection on the
 * daemon's loop that writes derived values (absolute, idempotent) and never
 * blocks. hiredis 0.14 has no timeouts, so connect and command deadlines are
 * evtimers; a lost connection is replaced by a fresh context after a backoff
 * (100 ms growing to 10 s, with jitter). Writes issued while disconnected, or
 * beyond the in-flight cap, are dropped and counted: every value is rewritten
 * at the next refresh, so nothing is lost by dropping. */
#ifndef RD_CACHE_H
#define RD_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct rd_cache;

struct rd_cache_field {
	const char *name;
	const char *value; /* NULL: field omitted (a null figure) */
};

struct rd_cache_options {
	const char *address;  /* "127.0.0.1:6379", "[::1]:6379" or "unix:/path" */
	const char *password; /* NULL: no AUTH */
	int db;
	int64_t timeout_ms;  /* connect and command deadline */
	size_t max_inflight; /* 0: default 10000 */
};

struct rd_cache_stats {
	int connected;
	uint64_t commands_sent, commands_failed, writes_dropped, reconnects;
	size_t inflight;
};

/* on_ready(arg) runs after every successful (re)connection, once AUTH and
 * SELECT are done: the owner rewrites everything then. */
struct rd_cache *rd_cache_new(struct event_base *base, const struct rd_cache_options *opt,
                              void (*on_ready)(void *arg), void *arg);
void rd_cache_free(struct rd_cache *c);

int rd_cache_connected(const struct rd_cache *c);
void rd_cache_get_stats(const struct rd_cache *c, struct rd_cache_stats *st);

/* Replace the hash at key with exactly these fields, then set its TTL, in one
 * MULTI/EXEC (DEL, HSET, EXPIRE). 0 queued, -1 dropped. */
int rd_cache_put_hash(struct rd_cache *c, const char *key, const struct rd_cache_field *f, size_t n,
                      int64_t ttl_s);
/* SADD key member + EXPIRE key ttl, in one MULTI/EXEC. */
int rd_cache_add_member(struct rd_cache *c, const char *key, const char *member, int64_t ttl_s);
/* EXISTS key; cb(arg, 1|0) or cb(arg, -1) on error or disconnection. */
int rd_cache_exists(struct rd_cache *c, const char *key, void (*cb)(void *arg, int exists),
                    void *arg);

/* Escape a key part (a site, queue or mailbox from a log) so it can never
 * change the key's shape: bytes outside [A-Za-z0-9._@+-] become %XX
 * (uppercase hex). Returns the length written, or -1 if out is too small. */
int rd_cache_escape(const char *in, char *out, size_t outlen);

#endif
