/* test_jsonl.c - the jsonl collector driven by a real event_base, real
 * files and real UNIX-socket clients: a file source (exact events, rejects
 * and their offsets), a socket source (partial lines, too-long lines, the
 * spool's content, restart from a cursor), backpressure, spool rotation,
 * max_clients, stale sockets and the configuration keys.
 *
 * White-box: this file includes collectors/jsonl.c itself, with
 * JL_ROTATE_MIN_MS shortened, to look at the collector's state (is a client
 * being read?) and to rotate without waiting a minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>

#define JL_ROTATE_MIN_MS 0
#include "jsonl.c"

/* ===== STUBS: the core's services to collectors (daemon/core.c) ===========
 * They record what the collector reports, so that tests can compare it
 * with the exact expected sequence. */

struct rd_collector {
	int unused;
};

#define MAX_RECS 64

static struct rd_collector coll;
static char *recs[MAX_RECS]; /* emitted events, rejects, unknowns, in order */
static int nrecs;
static int naccepted, nchunks, ndone;
static struct rd_cursor last_cursor;
static int stub_pause; /* what rd_collector_checkpoint returns */
static char last_log[1024];

static void add_rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void add_rec(const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(nrecs < MAX_RECS);
	recs[nrecs] = strdup(buf);
	assert_non_null(recs[nrecs]);
	nrecs++;
}

static const char *s_(const char *s)
{
	return s != NULL ? s : "-";
}

const char *rd_collector_name(const struct rd_collector *c)
{
	(void)c;
	return "feed";
}

const char *rd_collector_site(const struct rd_collector *c)
{
	(void)c;
	return "prefecture";
}

void rd_collector_emit_call(struct rd_collector *c, const struct rd_call_event *e)
{
	(void)c;
	add_rec("call %d %lld %s %s %s %d %d %s", (int)e->type, (long long)e->ts, s_(e->callid),
	        s_(e->queue), s_(e->agent), e->wait_s, e->talk_s, s_(e->reason));
}

void rd_collector_emit_mail(struct rd_collector *c, const struct rd_mail_event *e)
{
	(void)c;
	add_rec("mail %d %lld %s %s %s %s %s %s %s %u %u", (int)e->type, (long long)e->ts,
	        s_(e->mailbox), s_(e->msgid), s_(e->sender), s_(e->in_reply_to), s_(e->references),
	        s_(e->folder), s_(e->user), e->flags, e->automatic);
}

void rd_collector_accepted(struct rd_collector *c)
{
	(void)c;
	naccepted++;
}

void rd_collector_rejected(struct rd_collector *c, uint64_t offset, const char *reason,
                           const char *line, size_t len)
{
	(void)c;
	(void)line;
	add_rec("reject @%llu len=%zu %s", (unsigned long long)offset, len, reason);
}

void rd_collector_unknown(struct rd_collector *c, uint64_t offset, const char *reason,
                          const char *line, size_t len)
{
	(void)c;
	(void)line;
	add_rec("unknown @%llu len=%zu %s", (unsigned long long)offset, len, reason);
}

int rd_collector_checkpoint(struct rd_collector *c, const struct rd_cursor *cursor)
{
	(void)c;
	last_cursor = *cursor;
	nchunks++;
	return stub_pause;
}

int rd_collector_checkpoint_behind(struct rd_collector *c, const struct rd_cursor *resume,
                                   const struct rd_cursor *read)
{
	return rd_collector_checkpoint(c, resume);
}

void rd_collector_at(struct rd_collector *c, uint64_t dev, uint64_t ino, uint64_t offset)
{
}

void rd_collector_done(struct rd_collector *c)
{
	(void)c;
	ndone++;
}

void rd_collector_log(const struct rd_collector *c, int level, const char *fmt, ...)
{
	va_list ap;

	(void)c;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	if (getenv("JSONL_TEST_VERBOSE") != NULL)
		fprintf(stderr, "log %d: %s\n", level, last_log);
}

/* ===== end of STUBS ========================================================= */

static struct event_base *base;
static char dir[64];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until cond holds (5 s at most), then assert it. */
#define RUN_UNTIL(cond)                                                                            \
	do {                                                                                       \
		int64_t end_ = now_ms() + 5000;                                                    \
		while (!(cond) && now_ms() < end_) {                                               \
			event_base_loop(base, EVLOOP_NONBLOCK);                                    \
			usleep(1000);                                                              \
		}                                                                                  \
		if (!(cond))                                                                       \
			fail_msg("timed out waiting for %s", #cond);                               \
	} while (0)

/* Run the loop for ms, for things that must NOT happen. */
static void spin(int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_jsonl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	base = event_base_new();
	assert_non_null(base);
	nrecs = naccepted = nchunks = ndone = stub_pause = 0;
	memset(&last_cursor, 0, sizeof(last_cursor));
	last_log[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nrecs; i++)
		free(recs[i]);
	nrecs = 0;
	event_base_free(base);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* --- helpers ------------------------------------------------------------------- */

static void put(const char *path, const char *mode, const char *data)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
}

/* The whole file as a string ("" if missing). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	assert_non_null(buf);
	if (f != NULL) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void assert_file(const char *path, const char *want)
{
	char *got = slurp(path);

	if (strcmp(got, want) != 0)
		fail_msg("%s holds\n'%s'\nwant\n'%s'", path, got, want);
	free(got);
}

static void assert_recs(const char *const *want, int n)
{
	for (int i = 0; i < n && i < nrecs; i++)
		if (strcmp(recs[i], want[i]) != 0)
			fail_msg("record %d:\n  got  %s\n  want %s", i, recs[i], want[i]);
	if (nrecs != n)
		fail_msg("%d records, want %d (last: %s)", nrecs, n, nrecs ? recs[nrecs - 1] : "-");
}

static struct jsonl *make(const char *const *kv)
{
	struct jsonl *j = rd_jsonl_type.create(&coll);
	char err[256];

	assert_non_null(j);
	for (; *kv != NULL; kv += 2)
		if (rd_jsonl_type.configure(j, kv[0], kv[1], err, sizeof(err)) != 0)
			fail_msg("%s = %s: %s", kv[0], kv[1], err);
	if (rd_jsonl_type.check(j, err, sizeof(err)) != 0)
		fail_msg("check: %s", err);
	return j;
}

static int client(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void say(int fd, const char *s)
{
	size_t n = strlen(s);

	assert_int_equal(write(fd, s, n), (ssize_t)n);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static int reading(const struct jsonl *j)
{
	int n = 0;

	for (const struct jl_conn *k = j->conns; k != NULL; k = k->next)
		n += (bufferevent_get_enabled(k->bev) & EV_READ) != 0;
	return n;
}

#define CALL(ev, rest)                                                                             \
	"{\"kind\":\"call\",\"event\":\"" ev "\",\"time\":\"2026-11-29T09:15:02Z\"," rest "}\n"
#define E_ENTER CALL("enter", "\"callid\":\"c1\",\"queue\":\"accueil\"")
#define E_CONNECT                                                                                  \
	CALL("connect", "\"callid\":\"c1\",\"queue\":\"accueil\",\"agent\":\"201\",\"wait_s\":12")
#define E_DONE    CALL("complete", "\"callid\":\"c1\",\"queue\":\"accueil\",\"talk_s\":95.5")
#define R_ENTER   "call 1 1795943702 c1 accueil - -1 -1 -"
#define R_CONNECT "call 2 1795943702 c1 accueil 201 12 -1 -"
#define R_DONE    "call 3 1795943702 c1 accueil - -1 95 -"

/* --- file source ------------------------------------------------------------------ */

static void test_file_source(void **state)
{
	char path[128];
	const char *kv[] = {
	    "path",          path,    "max_line", "1k", "mailboxes", "Contact@X.fr, titres@x.fr",
	    "stat_interval", "100ms", NULL};
	const char *mail_ok =
	    "{\"kind\":\"mail\",\"event\":\"received\",\"time\":1795943702,"
	    "\"mailbox\":\"CONTACT@x.fr\",\"msgid\":\"<m1@y>\",\"sender\":\"a@b\","
	    "\"references\":\"<r1> <r2>\",\"automatic\":[\"precedence\"]}\n";
	const char *mail_other = "{\"kind\":\"mail\",\"event\":\"received\",\"time\":1795943702,"
	                         "\"mailbox\":\"other@x.fr\",\"msgid\":\"<m2@y>\"}\n";
	const char *bad = "not json\n";
	const char *unknown = "{\"kind\":\"fax\",\"event\":\"sent\"}\n";
	const char *abandon_a = "{\"kind\":\"call\",\"event\":\"abandon\",\"time\":1795943800,";
	const char *abandon_b = "\"callid\":\"c2\",\"queue\":\"titres\",\"wait_s\":98}\n";
	char *longl = repeat('x', 2000), content[8192];
	struct jsonl *j;
	uint64_t o_bad, o_unknown, o_long, o_nul;
	const char *nul_line = "{\"kind\":\"call\",\"event\":\"enter\",\"time\":1795943702,"
	                       "\"callid\":\"\\u0000\",\"queue\":\"q\"}\n";
	char want_bad[128], want_unknown[128], want_long[128], want_nul[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/feed.jsonl", dir);
	snprintf(content, sizeof(content), "%s%s%s%s%s%s%s\n%s%s%s", E_ENTER, E_CONNECT, bad,
	         unknown, mail_ok, mail_other, longl, nul_line, E_DONE, abandon_a);
	o_bad = strlen(E_ENTER) + strlen(E_CONNECT);
	o_unknown = o_bad + strlen(bad);
	o_long = o_unknown + strlen(unknown) + strlen(mail_ok) + strlen(mail_other);
	o_nul = o_long + 2001;
	put(path, "w", content);

	j = make(kv);
	assert_string_equal(rd_jsonl_type.source(j), path);
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	RUN_UNTIL(nrecs == 8);
	snprintf(want_bad, sizeof(want_bad),
	         "reject @%llu len=8 not JSON: invalid token near "
	         "'not' (byte 3)",
	         (unsigned long long)o_bad);
	snprintf(want_unknown, sizeof(want_unknown), "unknown @%llu len=%zu unknown kind 'fax'",
	         (unsigned long long)o_unknown, strlen(unknown) - 1);
	snprintf(want_long, sizeof(want_long), "reject @%llu len=1024 line longer than max_line",
	         (unsigned long long)o_long);
	snprintf(want_nul, sizeof(want_nul),
	         "reject @%llu len=%zu NUL (\\u0000) in a string (byte 66)",
	         (unsigned long long)o_nul, strlen(nul_line) - 1);
	{
		const char *want[] = {
		    R_ENTER,
		    R_CONNECT,
		    want_bad,
		    want_unknown,
		    "mail 1 1795943702 contact@x.fr <m1@y> a@b - <r1> <r2> - - 0 4",
		    want_long,
		    want_nul,
		    R_DONE,
		};
		assert_recs(want, 8);
	}
	RUN_UNTIL(last_cursor.offset == strlen(content) - strlen(abandon_a));
	spin(50);
	assert_int_equal(nrecs, 8); /* the partial line waits for its end */
	/* enter, connect, unknown, two mails (one ignored), complete */
	assert_int_equal(naccepted, 5);

	put(path, "a", abandon_b);
	RUN_UNTIL(nrecs == 9);
	assert_string_equal(recs[8], "call 5 1795943800 c2 titres - 98 -1 -");
	RUN_UNTIL(last_cursor.offset == strlen(content) + strlen(abandon_b));
	assert_int_equal(ndone, 0);
	rd_jsonl_type.destroy(j);
	free(longl);
}

static void test_file_once(void **state)
{
	char path[128];
	const char *kv[] = {"path", path, NULL};
	struct jsonl *j;

	(void)state;
	snprintf(path, sizeof(path), "%s/feed.jsonl", dir);
	put(path, "w", E_ENTER E_CONNECT E_DONE);
	j = make(kv);
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 1), 0);
	RUN_UNTIL(ndone == 1);
	{
		const char *want[] = {R_ENTER, R_CONNECT, R_DONE};

		assert_recs(want, 3);
	}
	assert_int_equal(last_cursor.offset, strlen(E_ENTER E_CONNECT E_DONE));
	rd_jsonl_type.destroy(j);
}

/* --- socket source ------------------------------------------------------------------ */

struct sock_paths {
	char sock[100], spool_dir[100], spool[128], spool1[140];
};

static void sock_paths(struct sock_paths *p)
{
	snprintf(p->sock, sizeof(p->sock), "%s/feed.sock", dir);
	snprintf(p->spool_dir, sizeof(p->spool_dir), "%s/spool", dir);
	snprintf(p->spool, sizeof(p->spool), "%s/feed.jsonl", p->spool_dir);
	snprintf(p->spool1, sizeof(p->spool1), "%s.1", p->spool);
}

static struct jsonl *make_sock(const struct sock_paths *p, const char *max_clients)
{
	const char *kv[] = {"socket",        p->sock, "spool",       p->spool_dir,
	                    "max_line",      "1k",    "max_clients", max_clients,
	                    "stat_interval", "100ms", NULL};

	return make(kv);
}

static void test_socket_source(void **state)
{
	struct sock_paths p;
	struct stat st;
	struct jsonl *j;
	int fd;
	char *x = repeat('x', 1500), *y = repeat('y', 3000), want[128];
	uint64_t before;
	const char *mail = "{\"kind\":\"mail\",\"event\":\"sent\",\"time\":1795943702,"
	                   "\"mailbox\":\"c@x\",\"in_reply_to\":\"<m1@y>\"}";

	(void)state;
	sock_paths(&p);
	j = make_sock(&p, "16");
	assert_string_equal(rd_jsonl_type.source(j), p.spool);
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	assert_int_equal(lstat(p.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	fd = client(p.sock);
	/* a line, and the first part of the next */
	say(fd, E_ENTER "{\"kind\":\"call\",\"event\":\"connect\",\"time\":\"2026-11-29T09");
	RUN_UNTIL(nrecs == 1);
	assert_string_equal(recs[0], R_ENTER);
	assert_file(p.spool, E_ENTER); /* only complete lines are spooled */
	spin(30);
	assert_int_equal(nrecs, 1);
	say(fd,
	    ":15:02Z\",\"callid\":\"c1\",\"queue\":\"accueil\",\"agent\":\"201\",\"wait_s\":12}\n");
	RUN_UNTIL(nrecs == 2);
	assert_string_equal(recs[1], R_CONNECT);
	assert_file(p.spool, E_ENTER E_CONNECT);

	/* a complete line too long: rejected, not spooled, the next one flows */
	before = j->spool_size;
	say(fd, x);
	say(fd, "\n" E_DONE);
	RUN_UNTIL(nrecs == 4);
	snprintf(want, sizeof(want), "reject @%llu len=1024 line longer than max_line (1500 bytes)",
	         (unsigned long long)before);
	assert_string_equal(recs[2], want);
	assert_string_equal(recs[3], R_DONE);
	assert_file(p.spool, E_ENTER E_CONNECT E_DONE);

	/* a line that passes max_line before its end: rejected once, skipped to
	 * its '\n', memory bounded */
	before = j->spool_size;
	say(fd, y);
	RUN_UNTIL(nrecs == 5);
	snprintf(want, sizeof(want), "reject @%llu len=1024 line longer than max_line (more than ",
	         (unsigned long long)before);
	assert_memory_equal(recs[4], want, strlen(want));
	say(fd, "yyyy\nnot json\n");
	RUN_UNTIL(nrecs == 6);
	snprintf(want, sizeof(want),
	         "reject @%llu len=8 not JSON: invalid token near 'not' (byte 3)",
	         (unsigned long long)before);
	assert_string_equal(recs[5], want);
	assert_file(p.spool, E_ENTER E_CONNECT E_DONE "not json\n");

	/* the client closes after a last line without '\n': it counts */
	say(fd, mail);
	spin(30);
	assert_int_equal(nrecs, 6);
	close(fd);
	RUN_UNTIL(nrecs == 7);
	assert_string_equal(recs[6], "mail 4 1795943702 c@x - - <m1@y> - - - 0 0");
	assert_file(p.spool, E_ENTER E_CONNECT E_DONE "not json\n"
	                                              "{\"kind\":\"mail\",\"event\":\"sent\","
	                                              "\"time\":1795943702,\"mailbox\":"
	                                              "\"c@x\",\"in_reply_to\":\"<m1@y>\"}\n");
	RUN_UNTIL(j->nconns == 0);
	RUN_UNTIL(last_cursor.offset == j->spool_size);
	assert_int_equal(last_cursor.ino, j->spool_ino);

	/* stop: the socket goes, the spool stays */
	rd_jsonl_type.stop(j);
	assert_int_equal(lstat(p.sock, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(stat(p.spool, &st), 0);
	rd_jsonl_type.destroy(j);
	free(x);
	free(y);
}

/* A restart resumes in the spool at the committed cursor: nothing emitted
 * twice; the new lines follow. */
static void test_socket_restart(void **state)
{
	struct sock_paths p;
	struct jsonl *j;
	struct rd_cursor committed;
	int fd;

	(void)state;
	sock_paths(&p);
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	fd = client(p.sock);
	say(fd, E_ENTER E_CONNECT);
	RUN_UNTIL(nrecs == 2 && last_cursor.offset == strlen(E_ENTER E_CONNECT));
	committed = last_cursor;
	close(fd);
	spin(20);
	rd_jsonl_type.destroy(j);

	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, &committed, 0), 0);
	fd = client(p.sock);
	say(fd, E_DONE);
	RUN_UNTIL(nrecs == 3);
	spin(30);
	assert_int_equal(nrecs, 3);
	assert_string_equal(recs[2], R_DONE);
	assert_file(p.spool, E_ENTER E_CONNECT E_DONE);
	close(fd);
	rd_jsonl_type.destroy(j);
}

/* A spool that a crash left with a partial last line is sealed at start:
 * the fragment is rejected, and what follows is not glued to it. */
static void test_spool_sealed(void **state)
{
	struct sock_paths p;
	struct jsonl *j;
	int fd;
	char want[128];

	(void)state;
	sock_paths(&p);
	assert_int_equal(mkdir(p.spool_dir, 0750), 0);
	put(p.spool, "w", E_ENTER "{\"kind\":\"call\",\"ev");
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	assert_file(p.spool, E_ENTER "{\"kind\":\"call\",\"ev\n");
	fd = client(p.sock);
	say(fd, E_CONNECT);
	RUN_UNTIL(nrecs == 3);
	snprintf(want, sizeof(want), "reject @%zu len=18 not JSON: ", strlen(E_ENTER));
	assert_string_equal(recs[0], R_ENTER);
	assert_memory_equal(recs[1], want, strlen(want));
	assert_string_equal(recs[2], R_CONNECT);
	close(fd);
	rd_jsonl_type.destroy(j);
}

/* The ledger is full: the tail pauses, and so do the sockets (clients
 * block instead of memory growing); resume reads on. */
static void test_backpressure(void **state)
{
	struct sock_paths p;
	struct jsonl *j;
	int fd;

	(void)state;
	sock_paths(&p);
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	fd = client(p.sock);
	RUN_UNTIL(j->nconns == 1);
	assert_int_equal(reading(j), 1);

	stub_pause = 1;
	say(fd, E_ENTER);
	RUN_UNTIL(nrecs == 1 && j->paused);
	assert_int_equal(reading(j), 0);
	say(fd, E_CONNECT);
	spin(200);
	assert_int_equal(nrecs, 1);
	assert_file(p.spool, E_ENTER); /* still in the client's socket */
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(j->conns->bev)), 0);

	stub_pause = 0;
	rd_jsonl_type.resume(j);
	assert_int_equal(reading(j), 1);
	RUN_UNTIL(nrecs == 2);
	assert_string_equal(recs[1], R_CONNECT);
	assert_file(p.spool, E_ENTER E_CONNECT);
	close(fd);
	rd_jsonl_type.destroy(j);
}

/* Past spool_max the sockets wait for the tail to reach the end, then the
 * spool becomes NAME.jsonl.1 and a new one starts; nothing lost or doubled. */
static void test_spool_rotation(void **state)
{
	struct sock_paths p;
	struct jsonl *j;
	int fd;
	struct stat st;

	(void)state;
	sock_paths(&p);
	j = make_sock(&p, "16");
	j->spool_max = 2 * strlen(E_ENTER); /* white-box: the key's minimum is 64k */
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	fd = client(p.sock);
	say(fd, E_ENTER E_CONNECT E_DONE);
	RUN_UNTIL(nrecs == 3);
	RUN_UNTIL(stat(p.spool1, &st) == 0 && j->spool_size == 0);
	assert_file(p.spool1, E_ENTER E_CONNECT E_DONE);
	assert_file(p.spool, "");
	assert_int_equal(j->spool_full, 0);
	assert_int_equal(reading(j), 1);

	say(fd, E_ENTER);
	RUN_UNTIL(nrecs == 4);
	assert_file(p.spool, E_ENTER);
	/* the tail moved to the new file */
	RUN_UNTIL(last_cursor.ino == j->spool_ino && last_cursor.offset == strlen(E_ENTER));
	{
		const char *want[] = {R_ENTER, R_CONNECT, R_DONE, R_ENTER};

		assert_recs(want, 4);
	}

	/* full and the tail behind (paused): no reading, no rotation */
	stub_pause = 1;
	say(fd, E_CONNECT E_DONE);
	RUN_UNTIL(j->spool_full && j->paused);
	assert_int_equal(reading(j), 0);
	spin(50);
	assert_file(p.spool1, E_ENTER E_CONNECT E_DONE);
	stub_pause = 0;
	rd_jsonl_type.resume(j);
	RUN_UNTIL(nrecs == 6 && j->spool_size == 0);
	assert_file(p.spool1, E_ENTER E_CONNECT E_DONE);
	assert_string_equal(recs[4], R_CONNECT);
	assert_string_equal(recs[5], R_DONE);
	close(fd);
	rd_jsonl_type.destroy(j);
}

/* The disk refuses a write (here: RLIMIT_FSIZE, as ENOSPC would): the
 * complete lines written stay, the partial one is cut off, the socket is
 * no longer read, and the retry spools the rest once the disk takes it. */
static void test_spool_write_failure(void **state)
{
	struct sock_paths p;
	struct jsonl *j;
	struct rlimit saved, rl;
	int fd;

	(void)state;
	sock_paths(&p);
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	fd = client(p.sock);
	say(fd, E_ENTER);
	RUN_UNTIL(nrecs == 1);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	rl = saved;
	rl.rlim_cur = j->spool_size + strlen(E_CONNECT) + 10; /* E_DONE will not fit */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	say(fd, E_CONNECT E_DONE);
	RUN_UNTIL(nrecs == 2 && j->spool_error);
	assert_string_equal(recs[1], R_CONNECT);
	assert_file(p.spool, E_ENTER E_CONNECT);
	assert_int_equal(reading(j), 0);
	spin(100);
	assert_int_equal(nrecs, 2);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	RUN_UNTIL(nrecs == 3); /* the retry timer: one second */
	assert_string_equal(recs[2], R_DONE);
	assert_file(p.spool, E_ENTER E_CONNECT E_DONE);
	assert_int_equal(j->spool_error, 0);
	RUN_UNTIL(reading(j) == 1); /* once the worker has synced the spool */
	assert_int_equal(j->syncing, 0);
	close(fd);
	rd_jsonl_type.destroy(j);
}

/* With max_clients = 1 a second client waits in the backlog, nothing it
 * sent is lost, and it is served once the first one leaves. */
static void test_max_clients(void **state)
{
	struct sock_paths p;
	struct jsonl *j;
	int a, b;

	(void)state;
	sock_paths(&p);
	j = make_sock(&p, "1");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	a = client(p.sock);
	RUN_UNTIL(j->nconns == 1);
	b = client(p.sock); /* accepted by the kernel, not by us */
	say(b, E_CONNECT);
	say(a, E_ENTER);
	RUN_UNTIL(nrecs == 1);
	spin(100);
	assert_int_equal(nrecs, 1);
	assert_int_equal(j->nconns, 1);
	close(a);
	RUN_UNTIL(nrecs == 2);
	assert_string_equal(recs[0], R_ENTER);
	assert_string_equal(recs[1], R_CONNECT);
	close(b);
	RUN_UNTIL(j->nconns == 0);
	rd_jsonl_type.destroy(j);
}

static void test_stale_socket(void **state)
{
	struct sock_paths p;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct jsonl *j;
	int fd;
	struct stat st;

	(void)state;
	sock_paths(&p);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p.sock);

	/* left by a process that died: removed */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), 0);
	assert_non_null(strstr(last_log, "removed the stale socket"));
	fd = client(p.sock);
	say(fd, E_ENTER);
	RUN_UNTIL(nrecs == 1);
	close(fd);
	rd_jsonl_type.destroy(j);

	/* in use by someone else: left alone, start fails */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), -1);
	assert_non_null(strstr(last_log, "is in use by another process"));
	rd_jsonl_type.destroy(j);
	assert_int_equal(lstat(p.sock, &st), 0);
	close(fd);
	assert_int_equal(unlink(p.sock), 0);

	/* not a socket: never removed */
	put(p.sock, "w", "precious");
	j = make_sock(&p, "16");
	assert_int_equal(rd_jsonl_type.start(j, base, NULL, 0), -1);
	assert_non_null(strstr(last_log, "exists and is not a socket"));
	rd_jsonl_type.destroy(j);
	assert_file(p.sock, "precious");
}

/* --- configuration -------------------------------------------------------------------- */

static int conf(struct jsonl *j, const char *key, const char *value, char *err)
{
	err[0] = '\0';
	return rd_jsonl_type.configure(j, key, value, err, 256);
}

static void test_config(void **state)
{
	struct jsonl *j = rd_jsonl_type.create(&coll);
	char err[256], longpath[200];

	(void)state;
	assert_int_equal(conf(j, "colour", "blue", err), -1);
	assert_string_equal(err, "unknown key 'colour' for a jsonl collector");
	assert_int_equal(rd_jsonl_type.check(j, err, sizeof(err)), -1);
	assert_string_equal(err, "a jsonl collector needs a path or a socket");
	assert_int_equal(conf(j, "path", "", err), -1);
	assert_string_equal(err, "path must not be empty");
	assert_int_equal(conf(j, "path", "/var/log/pbx.jsonl", err), 0);
	assert_int_equal(conf(j, "socket", "/run/reachd/pbx.sock", err), 0);
	assert_int_equal(rd_jsonl_type.check(j, err, sizeof(err)), -1);
	assert_string_equal(err, "a jsonl collector reads a path or a socket, not both");
	rd_jsonl_type.destroy(j);

	j = rd_jsonl_type.create(&coll);
	assert_int_equal(conf(j, "path", "/var/log/pbx.jsonl", err), 0);
	assert_int_equal(conf(j, "spool", "/tmp", err), 0);
	assert_int_equal(rd_jsonl_type.check(j, err, sizeof(err)), -1);
	assert_string_equal(err, "spool, spool_max, max_clients and socket_mode apply to a socket "
	                         "source only");
	rd_jsonl_type.destroy(j);

	j = rd_jsonl_type.create(&coll);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(conf(j, "socket", longpath, err), -1);
	assert_non_null(strstr(err, "is longer than 107 bytes"));
	assert_int_equal(conf(j, "socket", "/run/reachd/pbx.sock", err), 0);
	assert_int_equal(conf(j, "socket_mode", "0600", err), 0);
	assert_int_equal(j->sock_mode, 0600);
	assert_int_equal(conf(j, "socket_mode", "666", err), 0);
	assert_int_equal(j->sock_mode, 0666);
	assert_int_equal(conf(j, "socket_mode", "0689", err), -1);
	assert_string_equal(err, "socket_mode must be an octal mode such as 0660, not '0689'");
	assert_int_equal(conf(j, "socket_mode", "01777", err), -1);
	assert_int_equal(conf(j, "max_clients", "0", err), -1);
	assert_int_equal(conf(j, "max_clients", "4", err), 0);
	assert_int_equal(j->max_clients, 4);
	assert_int_equal(conf(j, "spool_max", "1k", err), -1);
	assert_int_equal(conf(j, "spool_max", "128M", err), 0);
	assert_int_equal(j->spool_max, (uint64_t)128 << 20);
	assert_int_equal(conf(j, "max_line", "10", err), -1);
	assert_string_equal(err, "max_line must be between 1024 and 67108864 bytes, not '10'");
	assert_int_equal(conf(j, "max_line", "4k", err), 0);
	assert_int_equal(j->fs.max_line, 4096);
	assert_int_equal(conf(j, "stat_interval", "1ms", err), -1);
	assert_string_equal(err, "stat_interval must be between 100ms and 1h, not '1ms'");
	assert_int_equal(conf(j, "stat_interval", "2s", err), 0);
	assert_int_equal(j->fs.stat_interval_ms, 2000);
	assert_int_equal(conf(j, "spool", "/var/spool/reachd", err), 0);
	assert_int_equal(rd_jsonl_type.check(j, err, sizeof(err)), 0);
	assert_string_equal(j->spool_path, "/var/spool/reachd/feed.jsonl");
	assert_string_equal(rd_jsonl_type.source(j), "/var/spool/reachd/feed.jsonl");

	/* the mailbox filter */
	assert_int_equal(rd_jsonl_type.owns(j, "anything@x.fr"), 1); /* no filter */
	assert_int_equal(conf(j, "mailboxes", " , ", err), -1);
	assert_string_equal(err, "mailboxes must list at least one address");
	assert_int_equal(
	    conf(j, "mailboxes", " Contact@Example.GOUV.fr ,titres@example.gouv.fr,", err), 0);
	assert_int_equal(j->nmailboxes, 2);
	assert_string_equal(j->mailboxes[0], "contact@example.gouv.fr");
	assert_int_equal(rd_jsonl_type.owns(j, "contact@example.gouv.fr"), 1);
	assert_int_equal(rd_jsonl_type.owns(j, "titres@example.gouv.fr"), 1);
	assert_int_equal(rd_jsonl_type.owns(j, "other@example.gouv.fr"), 0);
	rd_jsonl_type.destroy(j);

	/* the type table */
	assert_string_equal(rd_jsonl_type.name, "jsonl");
	assert_int_equal(rd_jsonl_type.abi, RD_COLLECTOR_ABI);
	assert_int_equal(rd_jsonl_type.size, sizeof(struct rd_collector_type));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_file_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_sealed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_write_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_clients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
