/* test_cache.c - rd_cache: key escaping and address parsing exactly, then the
 * real thing against a private redis-server on a unix socket (skipped when
 * redis-server is not installed): handshake, writes checked with a separate
 * synchronous client, EXISTS, outages, a frozen server (deadlines), the
 * in-flight cap, a wrong password, and the owner freeing the cache from
 * inside its own callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache.h"
#include "cache_addr.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#define T_PASSWORD   "t3st pass"
#define T_DB         3
#define T_TIMEOUT_MS 400

/* ------------------------------------------------------------------------
 * rd_cache_escape
 */

static void t_escape_ok(const char *in, const char *want)
{
	char out[256];
	int n = rd_cache_escape(in, out, sizeof(out));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_escape(void **state)
{
	(void)state;
	t_escape_ok("", "");
	t_escape_ok("abc", "abc");
	t_escape_ok("AZaz09._@+-", "AZaz09._@+-");
	t_escape_ok("contact@example.gouv.fr", "contact@example.gouv.fr");
	t_escape_ok("a b", "a%20b");
	t_escape_ok("{site}", "%7Bsite%7D");
	t_escape_ok("a:b", "a%3Ab");
	t_escape_ok("100%", "100%25");
	t_escape_ok("/\\*?[]", "%2F%5C%2A%3F%5B%5D");
	t_escape_ok("\r\n\t", "%0D%0A%09");
	t_escape_ok("\x01\x7f\xff", "%01%7F%FF");
	t_escape_ok("pr\xc3\xa9"
	            "fecture",
	            "pr%C3%A9fecture");
	t_escape_ok("a,b;c=d\"e'f", "a%2Cb%3Bc%3Dd%22e%27f");
}

static void test_escape_bounds(void **state)
{
	char out[16];

	(void)state;
	/* Exactly enough room: the text plus its NUL. */
	assert_int_equal(rd_cache_escape("abc", out, 4), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(rd_cache_escape("abc", out, 3), -1);
	assert_string_equal(out, "");
	assert_int_equal(rd_cache_escape("a b", out, 6), 5);
	assert_string_equal(out, "a%20b");
	assert_int_equal(rd_cache_escape("a b", out, 5), -1);
	/* An escape never gets cut in half. */
	assert_int_equal(rd_cache_escape("ab ", out, 5), -1);
	assert_string_equal(out, "");
	assert_int_equal(rd_cache_escape("", out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(rd_cache_escape("a", out, 0), -1);
	assert_int_equal(rd_cache_escape(NULL, out, sizeof(out)), -1);
	assert_int_equal(rd_cache_escape("a", NULL, 4), -1);
}

/* ------------------------------------------------------------------------
 * rd_cache_parse_address
 */

static void t_addr_ok(const char *addr, const char *host, int port)
{
	char h[RD_CACHE_ADDR_HOSTLEN], err[256];
	int p = -1;

	strcpy(err, "untouched");
	assert_int_equal(rd_cache_parse_address(addr, h, sizeof(h), &p, err, sizeof(err)), 0);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
	assert_string_equal(err, "");
}

static void t_addr_bad(const char *addr, const char *why)
{
	char h[RD_CACHE_ADDR_HOSTLEN], err[256];
	int p = -1;

	assert_int_equal(rd_cache_parse_address(addr, h, sizeof(h), &p, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("address \"%s\": error \"%s\" does not mention \"%s\"",
		         addr ? addr : "(null)", err, why);
}

static void test_parse_address(void **state)
{
	char path[200], addr[220];

	(void)state;
	t_addr_ok("127.0.0.1:6379", "127.0.0.1", 6379);
	t_addr_ok("10.1.2.3:1", "10.1.2.3", 1);
	t_addr_ok("0.0.0.0:65535", "0.0.0.0", 65535);
	t_addr_ok("127.0.0.1:06379", "127.0.0.1", 6379);
	t_addr_ok("[::1]:6380", "::1", 6380);
	t_addr_ok("[2001:db8::10]:7000", "2001:db8::10", 7000);
	t_addr_ok("[::ffff:192.0.2.1]:6379", "::ffff:192.0.2.1", 6379);
	t_addr_ok("unix:/run/redis/redis.sock", "/run/redis/redis.sock", 0);
	t_addr_ok("unix:/tmp/a:b.sock", "/tmp/a:b.sock", 0);

	/* Host names would be resolved by a blocking getaddrinfo(). */
	t_addr_bad("localhost:6379", "host names are not allowed");
	t_addr_bad("redis.example.org:6379", "host names are not allowed");
	t_addr_bad("[localhost]:6379", "host names are not allowed");
	t_addr_bad("256.0.0.1:6379", "not a numeric IPv4");
	t_addr_bad("1.2.3:6379", "not a numeric IPv4");
	t_addr_bad("[127.0.0.1]:6379", "not a numeric IPv6");
	t_addr_bad("[fe80::1%eth0]:6379", "not a numeric IPv6");
	t_addr_bad(":6379", "host names are not allowed");
	t_addr_bad("[]:6379", "host names are not allowed");
	t_addr_bad("::1:6379", "IPv6 addresses need brackets");
	t_addr_bad("[::1]6379", "[IPv6]:port");
	t_addr_bad("[::1]", "[IPv6]:port");
	t_addr_bad("[::1:6379", "[IPv6]:port");
	t_addr_bad("127.0.0.1", "expected IP:port");
	t_addr_bad("tcp://127.0.0.1:6379", "expected IP:port, [IPv6]:port or unix:/path");
	t_addr_bad("redis://10.0.0.1", "host names are not allowed");
	t_addr_bad("127.0.0.1:", "port must be 1-65535");
	t_addr_bad("127.0.0.1:0", "port must be 1-65535");
	t_addr_bad("127.0.0.1:65536", "port must be 1-65535");
	t_addr_bad("127.0.0.1:100000", "port must be 1-65535");
	t_addr_bad("127.0.0.1:+80", "port must be 1-65535");
	t_addr_bad("127.0.0.1:-1", "port must be 1-65535");
	t_addr_bad("127.0.0.1: 80", "port must be 1-65535");
	t_addr_bad("127.0.0.1:80x", "port must be 1-65535");
	t_addr_bad("127.0.0.1:0x50", "port must be 1-65535");
	t_addr_bad("unix:", "must be absolute");
	t_addr_bad("unix:redis.sock", "must be absolute");
	t_addr_bad("", "empty");
	t_addr_bad(NULL, "empty");

	/* sun_path holds 107 bytes and the NUL. */
	memset(path, 'x', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	snprintf(addr, sizeof(addr), "unix:%s", path);
	t_addr_ok(addr, path, 0);
	path[107] = 'x';
	path[108] = '\0';
	snprintf(addr, sizeof(addr), "unix:%s", path);
	t_addr_bad(addr, "too long");
}

static void test_parse_address_buffers(void **state)
{
	char h[16], err[8];
	int p = 0;

	(void)state;
	/* host needs strlen + 1 bytes. */
	assert_int_equal(rd_cache_parse_address("127.0.0.1:1", h, 10, &p, NULL, 0), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(p, 1);
	assert_int_equal(rd_cache_parse_address("127.0.0.1:1", h, 9, &p, NULL, 0), -1);
	assert_int_equal(rd_cache_parse_address("unix:/tmp/r.sock", h, 10, &p, NULL, 0), -1);
	assert_int_equal(rd_cache_parse_address("unix:/tmp/r.s", h, 10, &p, NULL, 0), 0);
	assert_string_equal(h, "/tmp/r.s");
	assert_int_equal(p, 0);
	/* A short error buffer gets a truncated, terminated message. */
	assert_int_equal(rd_cache_parse_address("nohost:1", h, sizeof(h), &p, err, sizeof(err)),
	                 -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(rd_cache_parse_address("127.0.0.1:1", NULL, 0, &p, NULL, 0), -1);
	assert_int_equal(rd_cache_parse_address("127.0.0.1:1", h, sizeof(h), NULL, NULL, 0), -1);
}

static void t_never_ready(void *arg)
{
	(void)arg;
	fail_msg("on_ready called for a cache that was never created");
}

static void test_new_rejects(void **state)
{
	struct event_base *base = event_base_new();
	struct rd_cache_options opt = {"localhost:6379", NULL, 0, 1000, 0};

	(void)state;
	assert_non_null(base);
	assert_null(rd_cache_new(base, &opt, t_never_ready, NULL));
	opt.address = "unix:relative.sock";
	assert_null(rd_cache_new(base, &opt, t_never_ready, NULL));
	opt.address = "127.0.0.1:6379";
	opt.timeout_ms = 0;
	assert_null(rd_cache_new(base, &opt, t_never_ready, NULL));
	opt.timeout_ms = 1000;
	opt.db = -1;
	assert_null(rd_cache_new(base, &opt, t_never_ready, NULL));
	opt.address = NULL;
	opt.db = 0;
	assert_null(rd_cache_new(base, &opt, t_never_ready, NULL));
	/* Calls on a NULL cache are harmless. */
	rd_cache_free(NULL);
	assert_int_equal(rd_cache_connected(NULL), 0);
	event_base_free(base);
}

/* With nothing listening the cache keeps trying, never becomes ready,
 * refuses writes, and frees cleanly while a retry is pending. */
static void test_no_server(void **state)
{
	char dir[] = "/tmp/rd-cache-test-XXXXXX", addr[128];
	struct event_base *base = event_base_new();
	struct rd_cache_options opt = {addr, NULL, 0, T_TIMEOUT_MS, 0};
	struct rd_cache_field f = {"a", "1"};
	struct rd_cache_stats st;
	struct rd_cache *c;
	struct timeval tv = {0, 400000};

	(void)state;
	assert_non_null(base);
	assert_non_null(mkdtemp(dir));
	snprintf(addr, sizeof(addr), "unix:%s/absent.sock", dir);
	c = rd_cache_new(base, &opt, t_never_ready, NULL);
	assert_non_null(c);
	assert_int_equal(event_base_loopexit(base, &tv), 0);
	assert_true(event_base_dispatch(base) >= 0);
	rd_cache_get_stats(c, &st);
	assert_int_equal(st.connected, 0);
	assert_true(st.reconnects >= 1);
	assert_int_equal(rd_cache_put_hash(c, "k", &f, 1, 10), -1);
	rd_cache_get_stats(c, &st);
	assert_int_equal(st.writes_dropped, 1);
	assert_int_equal(st.inflight, 0);
	rd_cache_free(c);
	event_base_free(base);
	assert_int_equal(rmdir(dir), 0);
}

/* ------------------------------------------------------------------------
 * A private redis-server.
 */

struct t_redis {
	char dir[64];
	char sock[128];
	char log[128];
	pid_t pid;
};

static int t_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		return 0;
	while (*path) {
		size_t len = strcspn(path, ":");

		if (len > 0 && len + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name);
			if (access(buf, X_OK) == 0)
				return 1;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return 0;
}

static int64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A command without format strings: arguments are NULL-terminated. */
static redisReply *t_cmd(redisContext *ctx, const char *a0, ...)
{
	const char *argv[16];
	size_t argvlen[16];
	int argc = 0;
	const char *a;
	va_list ap;
	redisReply *r;

	va_start(ap, a0);
	for (a = a0; a && argc < 16; a = va_arg(ap, const char *)) {
		argv[argc] = a;
		argvlen[argc] = strlen(a);
		argc++;
	}
	va_end(ap);
	r = redisCommandArgv(ctx, argc, argv, argvlen);
	if (!r)
		fail_msg("redis %s: %s", a0, ctx->errstr);
	return r;
}

static void t_cmd_ok(redisContext *ctx, const char *a0, const char *a1)
{
	redisReply *r = t_cmd(ctx, a0, a1, (const char *)NULL);

	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("redis %s: %s", a0, r->str);
	freeReplyObject(r);
}

static long long t_int(redisContext *ctx, const char *a0, const char *a1)
{
	redisReply *r = t_cmd(ctx, a0, a1, (const char *)NULL);
	long long v;

	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* A synchronous client on the private server, in database db. */
static redisContext *t_sync(const struct t_redis *r, int db)
{
	redisContext *ctx = redisConnectUnix(r->sock);
	char dbs[16];

	assert_non_null(ctx);
	if (ctx->err)
		fail_msg("connect %s: %s", r->sock, ctx->errstr);
	t_cmd_ok(ctx, "AUTH", T_PASSWORD);
	snprintf(dbs, sizeof(dbs), "%d", db);
	t_cmd_ok(ctx, "SELECT", dbs);
	return ctx;
}

static void t_sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Start redis-server and poll its socket until it answers (10 s at most). */
static void t_redis_start(struct t_redis *r)
{
	int64_t deadline = t_now_ms() + 10000;
	pid_t pid;

	(void)unlink(r->sock);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", r->sock,
		       "--save", "", "--appendonly", "no", "--daemonize", "no", "--requirepass",
		       T_PASSWORD, "--dir", r->dir, (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	for (;;) {
		redisContext *ctx;
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			r->pid = 0;
			fail_msg("redis-server exited at start-up (status %d), see %s", status,
			         r->log);
		}
		ctx = redisConnectUnix(r->sock);
		if (ctx && !ctx->err) {
			redisReply *rep = t_cmd(ctx, "AUTH", T_PASSWORD, (const char *)NULL);
			int ok = rep->type == REDIS_REPLY_STATUS;

			freeReplyObject(rep);
			redisFree(ctx);
			if (ok)
				return;
		} else if (ctx) {
			redisFree(ctx);
		}
		if (t_now_ms() > deadline)
			fail_msg("redis-server did not answer within 10 s, see %s", r->log);
		t_sleep_ms(10);
	}
}

static void t_redis_kill(struct t_redis *r)
{
	int status;

	if (r->pid <= 0)
		return;
	/* SIGKILL also ends a SIGSTOPped server. */
	assert_int_equal(kill(r->pid, SIGKILL), 0);
	assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
	r->pid = 0;
}

/* ------------------------------------------------------------------------
 * Driving the loop.
 */

struct t_ready {
	int count;
	struct rd_cache **free_me; /* set: on_ready frees this cache */
};

static void t_on_ready(void *arg)
{
	struct t_ready *r = arg;

	r->count++;
	if (r->free_me && *r->free_me) {
		struct rd_cache *c = *r->free_me;

		*r->free_me = NULL;
		rd_cache_free(c);
	}
}

struct t_exists {
	int calls;
	int value;
	struct rd_cache **free_me; /* set: the callback frees this cache */
};

static void t_on_exists(void *arg, int exists)
{
	struct t_exists *e = arg;

	e->calls++;
	e->value = exists;
	if (e->free_me && *e->free_me) {
		struct rd_cache *c = *e->free_me;

		*e->free_me = NULL;
		rd_cache_free(c);
	}
}

struct t_live {
	struct t_redis redis;
	struct event_base *base;
	struct rd_cache *c, *c2, *c3;
	struct t_ready ready, ready2, ready3;
};

static struct t_live live;

/* Run the loop in 10 ms slices until cond(arg) holds; 0 on timeout. */
static int t_run_until(int (*cond)(void *), void *arg, int64_t timeout_ms)
{
	int64_t deadline = t_now_ms() + timeout_ms;

	while (!cond(arg)) {
		struct timeval tv = {0, 10000};

		if (t_now_ms() > deadline)
			return 0;
		assert_int_equal(event_base_loopexit(live.base, &tv), 0);
		assert_true(event_base_dispatch(live.base) >= 0);
	}
	return 1;
}

struct t_at_least {
	const int *counter;
	int want;
};

static int t_reached(void *arg)
{
	const struct t_at_least *a = arg;

	return *a->counter >= a->want;
}

static void t_wait_count(const int *counter, int want, int64_t timeout_ms, const char *what)
{
	struct t_at_least a = {counter, want};

	if (!t_run_until(t_reached, &a, timeout_ms))
		fail_msg("timed out waiting for %s (%d, want %d)", what, *counter, want);
}

static int t_never(void *arg)
{
	(void)arg;
	return 0;
}

/* Let the loop run for a while, whatever happens. */
static void t_run_for(int64_t ms)
{
	(void)t_run_until(t_never, NULL, ms);
}

static int t_idle(void *arg)
{
	struct rd_cache_stats st;

	rd_cache_get_stats(arg, &st);
	return st.inflight == 0;
}

static int t_disconnected(void *arg)
{
	return !rd_cache_connected(arg);
}

static struct rd_cache *t_new_cache(struct t_ready *ready, const char *password, int db, size_t cap)
{
	char addr[160];
	struct rd_cache_options opt = {addr, password, db, T_TIMEOUT_MS, cap};
	struct rd_cache *c;

	snprintf(addr, sizeof(addr), "unix:%s", live.redis.sock);
	c = rd_cache_new(live.base, &opt, t_on_ready, ready);
	assert_non_null(c);
	return c;
}

/* The hash at key holds exactly want[] (name, value pairs, NULL-ended). */
static void t_check_hash(redisContext *ctx, const char *key, const char *const *want,
                         long long ttl_max)
{
	redisReply *r = t_cmd(ctx, "HGETALL", key, (const char *)NULL);
	size_t nwant = 0;
	long long ttl;

	while (want[2 * nwant])
		nwant++;
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 2 * nwant);
	for (size_t i = 0; i < nwant; i++) {
		size_t j;

		for (j = 0; j < r->elements; j += 2)
			if (strcmp(r->element[j]->str, want[2 * i]) == 0)
				break;
		if (j == r->elements)
			fail_msg("%s: field %s missing", key, want[2 * i]);
		assert_string_equal(r->element[j + 1]->str, want[2 * i + 1]);
	}
	freeReplyObject(r);
	ttl = t_int(ctx, "TTL", key);
	if (ttl < ttl_max - 2 || ttl > ttl_max)
		fail_msg("%s: TTL %lld, want %lld", key, ttl, ttl_max);
}

static int t_live_setup(void **state)
{
	(void)state;
	memset(&live, 0, sizeof(live));
	if (!t_on_path("redis-server"))
		return 0;
	strcpy(live.redis.dir, "/tmp/rd-cache-test-XXXXXX");
	if (!mkdtemp(live.redis.dir))
		return -1;
	snprintf(live.redis.sock, sizeof(live.redis.sock), "%s/r.sock", live.redis.dir);
	snprintf(live.redis.log, sizeof(live.redis.log), "%s/redis.log", live.redis.dir);
	live.base = event_base_new();
	return live.base ? 0 : -1;
}

/* Runs even when the test failed: never leave a redis-server behind. */
static int t_live_teardown(void **state)
{
	(void)state;
	rd_cache_free(live.c);
	rd_cache_free(live.c2);
	rd_cache_free(live.c3);
	live.c = live.c2 = live.c3 = NULL;
	if (live.redis.pid > 0) {
		int status;

		kill(live.redis.pid, SIGKILL);
		waitpid(live.redis.pid, &status, 0);
		live.redis.pid = 0;
	}
	if (live.base)
		event_base_free(live.base);
	live.base = NULL;
	if (live.redis.dir[0]) {
		(void)unlink(live.redis.sock);
		(void)unlink(live.redis.log);
		(void)rmdir(live.redis.dir);
	}
	return 0;
}

static void test_live(void **state)
{
	static const char *const want1[] = {"a", "1", "c", "three words", "d", "", NULL};
	static const char *const want2[] = {"n", "2", NULL};
	const struct rd_cache_field f1[] = {
	    {"a", "1"}, {"b", NULL}, {"c", "three words"}, {"d", ""}, {NULL, "x"}};
	const struct rd_cache_field f2[] = {{"n", "2"}};
	const struct rd_cache_field fnull[] = {{"a", NULL}, {"b", NULL}};
	char key[128], part[64];
	struct t_exists ex1 = {0}, ex0 = {0}, exf = {0}, exd = {0};
	struct rd_cache_stats st, st2;
	redisContext *ctx;
	redisReply *r;

	(void)state;
	if (!live.base)
		skip();

	t_redis_start(&live.redis);
	live.c = t_new_cache(&live.ready, T_PASSWORD, T_DB, 0);
	assert_int_equal(rd_cache_connected(live.c), 0);
	/* Not ready yet: dropped and counted. */
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:early", f2, 1, 60), -1);
	t_wait_count(&live.ready.count, 1, 5000, "first on_ready");
	assert_int_equal(live.ready.count, 1);
	assert_int_equal(rd_cache_connected(live.c), 1);
	/* Bad arguments are refused (and counted) even when connected. */
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:h", f2, 1, 0), -1);
	assert_int_equal(rd_cache_put_hash(live.c, NULL, f2, 1, 60), -1);
	assert_int_equal(rd_cache_add_member(live.c, "reach:test:s", NULL, 60), -1);
	assert_int_equal(rd_cache_exists(live.c, "reach:test:h", NULL, NULL), -1);

	/* The hash is replaced, not merged: a stale field must disappear. */
	ctx = t_sync(&live.redis, T_DB);
	t_cmd_ok(ctx, "FLUSHALL", NULL);
	freeReplyObject(t_cmd(ctx, "HSET", "reach:test:h", "stale", "1", (const char *)NULL));
	freeReplyObject(t_cmd(ctx, "HSET", "reach:test:gone", "x", "1", (const char *)NULL));

	assert_int_equal(rd_cache_escape("pr\xc3\xa9"
	                                 "fecture {x}",
	                                 part, sizeof(part)),
	                 25);
	snprintf(key, sizeof(key), "reach:{%s}:h", part);
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:h", f1, 5, 60), 0);
	assert_int_equal(rd_cache_put_hash(live.c, key, f2, 1, 120), 0);
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:gone", fnull, 2, 60), 0);
	assert_int_equal(rd_cache_add_member(live.c, "reach:test:s", "m1", 30), 0);
	assert_int_equal(rd_cache_add_member(live.c, "reach:test:s", "m 2", 30), 0);
	assert_true(t_run_until(t_idle, live.c, 2000));

	t_check_hash(ctx, "reach:test:h", want1, 60);
	t_check_hash(ctx, "reach:{pr%C3%A9fecture%20%7Bx%7D}:h", want2, 120);
	assert_int_equal(t_int(ctx, "EXISTS", "reach:test:gone"), 0);
	assert_int_equal(t_int(ctx, "SCARD", "reach:test:s"), 2);
	r = t_cmd(ctx, "SISMEMBER", "reach:test:s", "m 2", (const char *)NULL);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	assert_true(t_int(ctx, "TTL", "reach:test:s") > 27);
	assert_true(t_int(ctx, "TTL", "reach:test:s") <= 30);
	/* Exactly these keys, and all in the configured database. */
	r = t_cmd(ctx, "DBSIZE", (const char *)NULL);
	assert_int_equal(r->integer, 3);
	freeReplyObject(r);
	t_cmd_ok(ctx, "SELECT", "0");
	r = t_cmd(ctx, "DBSIZE", (const char *)NULL);
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	t_cmd_ok(ctx, "SELECT", "3");

	/* EXISTS, both ways. */
	assert_int_equal(rd_cache_exists(live.c, "reach:test:h", t_on_exists, &ex1), 0);
	assert_int_equal(rd_cache_exists(live.c, "reach:test:nope", t_on_exists, &ex0), 0);
	t_wait_count(&ex0.calls, 1, 2000, "EXISTS replies");
	assert_int_equal(ex1.calls, 1);
	assert_int_equal(ex1.value, 1);
	assert_int_equal(ex0.calls, 1);
	assert_int_equal(ex0.value, 0);

	rd_cache_get_stats(live.c, &st);
	assert_int_equal(st.connected, 1);
	assert_int_equal(st.commands_sent, 3 + 5 + 2); /* AUTH SELECT PING, writes, EXISTS */
	assert_int_equal(st.commands_failed, 0);
	assert_int_equal(st.writes_dropped, 4);
	assert_int_equal(st.reconnects, 0);
	assert_int_equal(st.inflight, 0);

	/* An error inside the transaction (SADD on a hash) is counted. */
	assert_int_equal(rd_cache_add_member(live.c, "reach:test:h", "m", 30), 0);
	assert_true(t_run_until(t_idle, live.c, 2000));
	rd_cache_get_stats(live.c, &st);
	assert_int_equal(st.commands_failed, 1);
	assert_int_equal(st.connected, 1);
	redisFree(ctx);

	/* Outage: a killed server. A second cache frees itself from the
	 * EXISTS callback that the lost connection fails. */
	live.c2 = t_new_cache(&live.ready2, T_PASSWORD, T_DB, 0);
	t_wait_count(&live.ready2.count, 1, 5000, "second cache ready");
	exf.free_me = &live.c2;
	assert_int_equal(rd_cache_exists(live.c2, "reach:test:h", t_on_exists, &exf), 0);
	t_redis_kill(&live.redis);
	assert_true(t_run_until(t_disconnected, live.c, 2000));
	t_wait_count(&exf.calls, 1, 2000, "EXISTS failed by the outage");
	assert_int_equal(exf.value, -1);
	assert_null(live.c2);

	rd_cache_get_stats(live.c, &st);
	assert_int_equal(st.connected, 0);
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:h", f2, 1, 60), -1);
	assert_int_equal(rd_cache_add_member(live.c, "reach:test:s", "m3", 30), -1);
	assert_int_equal(rd_cache_exists(live.c, "reach:test:h", t_on_exists, &exd), -1);
	rd_cache_get_stats(live.c, &st2);
	assert_int_equal(st2.writes_dropped, st.writes_dropped + 2);
	assert_int_equal(st2.inflight, 0);
	assert_int_equal(exd.calls, 0);

	/* Back up, empty: on_ready again (the owner's cue to rewrite). */
	t_redis_start(&live.redis);
	t_wait_count(&live.ready.count, 2, 15000, "on_ready after restart");
	assert_int_equal(rd_cache_connected(live.c), 1);
	rd_cache_get_stats(live.c, &st);
	assert_true(st.reconnects >= 1);
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:h", f1, 5, 60), 0);
	assert_true(t_run_until(t_idle, live.c, 2000));
	ctx = t_sync(&live.redis, T_DB);
	t_check_hash(ctx, "reach:test:h", want1, 60);
	redisFree(ctx);

	/* The in-flight cap: the third write in a row is refused. */
	live.c3 = t_new_cache(&live.ready3, T_PASSWORD, T_DB, 2);
	t_wait_count(&live.ready3.count, 1, 5000, "capped cache ready");
	assert_int_equal(rd_cache_put_hash(live.c3, "reach:test:cap", f2, 1, 60), 0);
	assert_int_equal(rd_cache_add_member(live.c3, "reach:test:cap2", "x", 60), 0);
	assert_int_equal(rd_cache_put_hash(live.c3, "reach:test:cap", f2, 1, 60), -1);
	rd_cache_get_stats(live.c3, &st);
	assert_int_equal(st.inflight, 2);
	assert_int_equal(st.writes_dropped, 1);
	assert_true(t_run_until(t_idle, live.c3, 2000));
	assert_int_equal(rd_cache_put_hash(live.c3, "reach:test:cap", f2, 1, 60), 0);
	assert_true(t_run_until(t_idle, live.c3, 2000));

	/* A frozen server: the command deadline drops the connection and fails
	 * what was in flight; c3 frees itself from inside that teardown. */
	memset(&ex1, 0, sizeof(ex1));
	memset(&exf, 0, sizeof(exf));
	exf.free_me = &live.c3;
	rd_cache_get_stats(live.c, &st);
	assert_int_equal(kill(live.redis.pid, SIGSTOP), 0);
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:h", f2, 1, 60), 0);
	assert_int_equal(rd_cache_exists(live.c, "reach:test:h", t_on_exists, &ex1), 0);
	assert_int_equal(rd_cache_exists(live.c3, "reach:test:h", t_on_exists, &exf), 0);
	t_wait_count(&ex1.calls, 1, T_TIMEOUT_MS + 2000, "EXISTS failed by the deadline");
	t_wait_count(&exf.calls, 1, 2000, "EXISTS on c3 failed by the deadline");
	assert_int_equal(ex1.value, -1);
	assert_int_equal(exf.value, -1);
	assert_null(live.c3);
	assert_int_equal(rd_cache_connected(live.c), 0);
	/* The write and the EXISTS; a reconnection attempt's handshake may
	 * already be in flight (and fail) too. */
	rd_cache_get_stats(live.c, &st2);
	assert_true(st2.commands_failed >= st.commands_failed + 2);
	/* Stay frozen past a connect deadline too (the socket accepts, the
	 * handshake gets no answer), then thaw. */
	t_run_for(2 * T_TIMEOUT_MS + 300);
	assert_int_equal(live.ready.count, 2);
	assert_int_equal(rd_cache_connected(live.c), 0);
	assert_int_equal(kill(live.redis.pid, SIGCONT), 0);
	t_wait_count(&live.ready.count, 3, 15000, "on_ready after the freeze");
	assert_int_equal(rd_cache_put_hash(live.c, "reach:test:h", f1, 5, 60), 0);
	assert_true(t_run_until(t_idle, live.c, 2000));
	ctx = t_sync(&live.redis, T_DB);
	t_check_hash(ctx, "reach:test:h", want1, 60);
	redisFree(ctx);

	/* Freeing with an EXISTS pending: its -1 arrives before free returns. */
	memset(&ex1, 0, sizeof(ex1));
	assert_int_equal(rd_cache_exists(live.c, "reach:test:h", t_on_exists, &ex1), 0);
	rd_cache_free(live.c);
	live.c = NULL;
	assert_int_equal(ex1.calls, 1);
	assert_int_equal(ex1.value, -1);

	t_redis_kill(&live.redis);
}

/* A wrong password: logged, retried with backoff, never ready; and a cache
 * that frees itself from on_ready. */
static void test_live_auth(void **state)
{
	struct rd_cache_stats st;

	(void)state;
	if (!live.base)
		skip();
	t_redis_start(&live.redis);

	live.c = t_new_cache(&live.ready, "wrong password", T_DB, 0);
	for (int64_t deadline = t_now_ms() + 5000;;) {
		rd_cache_get_stats(live.c, &st);
		if (st.reconnects >= 2)
			break;
		if (t_now_ms() > deadline)
			fail_msg("no retry after a failed AUTH");
		t_run_for(20);
	}
	assert_int_equal(live.ready.count, 0);
	assert_int_equal(st.connected, 0);
	assert_true(st.commands_failed >= 2);
	rd_cache_free(live.c);
	live.c = NULL;

	/* The same for a database index the server does not have. */
	live.c3 = t_new_cache(&live.ready3, T_PASSWORD, 99, 0);
	for (int64_t deadline = t_now_ms() + 5000;;) {
		rd_cache_get_stats(live.c3, &st);
		if (st.reconnects >= 2)
			break;
		if (t_now_ms() > deadline)
			fail_msg("no retry after a failed SELECT");
		t_run_for(20);
	}
	assert_int_equal(live.ready3.count, 0);
	assert_int_equal(st.connected, 0);
	rd_cache_free(live.c3);
	live.c3 = NULL;

	live.ready2.free_me = &live.c2;
	live.c2 = t_new_cache(&live.ready2, T_PASSWORD, T_DB, 0);
	t_wait_count(&live.ready2.count, 1, 5000, "self-freeing cache ready");
	assert_null(live.c2);
	/* Nothing of it may run any more (ASan would tell). */
	t_run_for(50);
	t_redis_kill(&live.redis);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_escape_bounds),
	    cmocka_unit_test(test_parse_address),
	    cmocka_unit_test(test_parse_address_buffers),
	    cmocka_unit_test(test_new_rejects),
	    cmocka_unit_test(test_no_server),
	    cmocka_unit_test_setup_teardown(test_live, t_live_setup, t_live_teardown),
	    cmocka_unit_test_setup_teardown(test_live_auth, t_live_setup, t_live_teardown),
	};

	/* hiredis writes to sockets without MSG_NOSIGNAL: a dead server must
	 * give EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	rd_log_init("test_cache", 1, getenv("RD_TEST_VERBOSE") ? 1 : 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
