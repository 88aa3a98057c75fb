/* http.c - see http.h. The server, its routes, the token, the connection
 * cap and the answers that need PostgreSQL (ledger jobs).
 *
 * Connection cap: libevent 2.1's evhttp has none (evhttp_set_max_connections
 * came in 2.2) and gives no hook when a connection ends, so the cap is kept
 * on descriptors instead: the kernel hands out the lowest free descriptor,
 * so the number a fresh dup() gets is the count of descriptors in use.
 * Every accepted connection passes through the bufferevent callback
 * (evhttp_set_bevcb); when the descriptors in use reach the limit the
 * listener is disabled (pending clients wait in the kernel's backlog), and
 * a timer enables it again once enough were closed. The limit is the file
 * limit (RLIMIT_NOFILE) minus a reserve for the collectors, PostgreSQL,
 * Redis and the mailer, or fewer with max_connections. */
#include "http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sys/queue.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "alerts_json.h"
#include "config.h"
#include "dashboard.h"
#include "http_priv.h"
#include "indicators.h"
#include "ledger.h"
#include "log.h"
#include "rule.h"

#define FD_RESERVE     64  /* descriptors kept for everything but HTTP */
#define GATE_MS        250 /* how often a closed listener looks again */
#define MAX_QUERY_ARGS 16

const char *const rd_http_windows[5] = {"15m", "1h", "24h", "7d", "30d"};

/* --- replies --------------------------------------------------------------- */

static const char *reason_of(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return NULL;
	}
}

static void reply(struct evhttp_request *req, int code, const char *type, const void *data,
                  size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);

	evhttp_add_header(out, "Content-Type", type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	if (evbuffer_add(body, data, len) != 0) {
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
		return;
	}
	evhttp_send_reply(req, code, reason_of(code), NULL);
}

/* Steals o. */
static void reply_json(struct evhttp_request *req, int code, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;

	json_decref(o);
	if (!text) {
		reply(req, 500, "application/json", "{\"error\":\"out of memory\",\"status\":500}",
		      38);
		return;
	}
	reply(req, code, "application/json; charset=utf-8", text, strlen(text));
	free(text);
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
	reply_json(req, code, json_pack("{s:s, s:i}", "error", msg, "status", code));
}

/* --- the token ------------------------------------------------------------- */

/* In the time of want's length, whatever got is: no early exit that would
 * tell how much of a guess was right. */
static int same_secret(const char *want, const char *got)
{
	size_t wl = strlen(want), gl = strlen(got);
	unsigned char diff = wl != gl;

	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
	return diff == 0;
}

static int authorized(const struct rd_http *h, struct evhttp_request *req)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	if (!h->token)
		return 1;
	if (!v || strncasecmp(v, "Bearer ", 7) != 0)
		return 0;
	v += 7;
	while (*v == ' ')
		v++;
	return same_secret(h->token, v);
}

static void reply_unauthorized(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
	                  "Bearer realm=\"reachd\"");
	reply_error(req, 401, "a valid bearer token is required (Authorization: Bearer ...)");
}

/* --- query strings ----------------------------------------------------------- */

/* The query's parameters; 0, or -1 after answering 400 (unknown or repeated
 * parameter). */
static int parse_query(struct evhttp_request *req, struct evkeyvalq *q, const char *const *allowed)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	char msg[160];

	TAILQ_INIT(q);
	if (!query)
		return 0;
	if (evhttp_parse_query_str(query, q) != 0) {
		reply_error(req, 400, "malformed query string");
		return -1;
	}
	for (struct evkeyval *kv = q->tqh_first; kv; kv = kv->next.tqe_next) {
		size_t i;

		for (i = 0; allowed[i] && strcmp(allowed[i], kv->key) != 0; i++)
			;
		if (!allowed[i])
			snprintf(msg, sizeof(msg), "unknown parameter '%.64s'", kv->key);
		else if (evhttp_find_header(q, kv->key) != kv->value)
			snprintf(msg, sizeof(msg), "parameter '%.64s' given twice", kv->key);
		else
			continue;
		evhttp_clear_headers(q);
		reply_error(req, 400, msg);
		return -1;
	}
	return 0;
}

/* --- answers that need PostgreSQL -------------------------------------------- */

enum api_kind { API_INDICATORS, API_SERIES, API_ALERTS };

/* A request waiting for its job. req is NULL once answered by the deadline. */
struct pending {
	struct rd_http *h;
	struct evhttp_request *req;
	struct event *timer;
	struct pending *next;
};

enum { P_SITE, P_QUEUE, P_MAILBOX, P_WINDOW, P_FROM, P_TO, P_GRAIN, P_SINCE, P_LIMIT, NPARAMS };
static const char *const param_names[NPARAMS + 1] = {"site", "queue", "mailbox", "window", "from",
                                                     "to",   "grain", "since",   "limit",  NULL};

struct api_job {
	struct rd_job job;
	struct pending *p;
	enum api_kind kind;
	char *param[NPARAMS];
	struct rd_rules *rules; /* alerts: a private copy, the thread reads it */
	char language[3];
	json_t *out;
	int code; /* HTTP status of the answer */
	char msg[512];
};

static int status_of(enum rd_ind_status st, int retryable)
{
	if (st == RD_IND_OK)
		return 200;
	if (st == RD_IND_BAD_REQUEST)
		return 400;
	return retryable ? 503 : 500;
}

static void run_indicators(struct api_job *j, PGconn *pg)
{
	struct rd_ind_query q = {.site = j->param[P_SITE],
	                         .queue = j->param[P_QUEUE],
	                         .mailbox = j->param[P_MAILBOX],
	                         .window = j->param[P_WINDOW],
	                         .from = j->param[P_FROM],
	                         .to = j->param[P_TO],
	                         .grain = j->param[P_GRAIN]};
	enum rd_ind_status st = j->kind == API_SERIES
	                            ? rd_series_json(pg, &q, &j->out, j->msg, sizeof(j->msg))
	                            : rd_indicators_json(pg, &q, &j->out, j->msg, sizeof(j->msg));

	j->code = status_of(st, st == RD_IND_DB_ERROR && rd_pg_retryable(pg, NULL));
}

static void run_alerts(struct api_job *j, PGconn *pg)
{
	struct rd_alerts_query q = {j->rules, j->param[P_SINCE], j->param[P_LIMIT], j->language};
	int retryable = 0;

	if (rd_alerts_json(pg, &q, &j->out, &retryable, j->msg, sizeof(j->msg)) == 0) {
		j->code = 200;
		return;
	}
	j->msg[strcspn(j->msg, "\n")] = '\0';
	j->code = retryable || PQstatus(pg) != CONNECTION_OK ? 503 : 500;
}

/* In the ledger's thread. Never RD_JOB_RETRY: a client does not wait for
 * PostgreSQL to come back, it gets 503 (the next batch reconnects). */
static enum rd_job_status api_run(struct rd_job *job, PGconn *pg)
{
	struct api_job *j = (struct api_job *)job;

	if (PQstatus(pg) != CONNECTION_OK) {
		j->code = 503;
		snprintf(j->msg, sizeof(j->msg), "PostgreSQL is unreachable");
	} else if (j->kind == API_ALERTS) {
		run_alerts(j, pg);
	} else {
		run_indicators(j, pg);
	}
	if (j->code == 503)
		snprintf(j->msg, sizeof(j->msg), "PostgreSQL is unreachable");
	return RD_JOB_OK;
}

static void pending_free(struct pending *p)
{
	struct pending **pp;

	for (pp = &p->h->pending; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	if (p->timer)
		event_free(p->timer);
	free(p);
}

static void api_job_free(struct api_job *j)
{
	for (int i = 0; i < NPARAMS; i++)
		free(j->param[i]);
	json_decref(j->out);
	rd_rules_free(j->rules);
	free(j);
}

/* On the loop. */
static void api_done(struct rd_job *job)
{
	struct api_job *j = (struct api_job *)job;
	struct evhttp_request *req = j->p->req;

	if (!req)
		; /* answered 503 at the deadline */
	else if (job->status != RD_JOB_OK)
		reply_error(req, 503, "reachd is stopping");
	else if (j->code == 200) {
		reply_json(req, 200, j->out);
		j->out = NULL;
	} else {
		reply_error(req, j->code, j->msg);
	}
	pending_free(j->p);
	api_job_free(j);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	if (p->req)
		reply_error(p->req, 503, "PostgreSQL did not answer in time");
	p->req = NULL;
}

static int copy_params(struct api_job *j, const struct evkeyvalq *q)
{
	for (int i = 0; i < NPARAMS; i++) {
		const char *v = evhttp_find_header(q, param_names[i]);

		if (v && !(j->param[i] = strdup(v)))
			return -1;
	}
	return 0;
}

/* "2026-11-29T08:00:00Z" or Unix seconds. */
static int since_seconds(const char *s, long long *out)
{
	struct tm tm = {0};
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *end;

	if (rest && !*rest) {
		*out = (long long)timegm(&tm);
		return 0;
	}
	*out = strtoll(s, &end, 10);
	return end != s && !*end && *out >= 0 ? 0 : -1;
}

/* alerts: since (ISO 8601 UTC or Unix seconds; default: 24 hours ago) or
 * limit, as Unix seconds text for the query. 0, or -1 after a 400. */
static int alerts_period(struct evhttp_request *req, struct api_job *j)
{
	char *end;
	long long v;

	if (j->param[P_SINCE] && j->param[P_LIMIT]) {
		reply_error(req, 400, "since or limit, not both");
		return -1;
	}
	if (j->param[P_LIMIT]) {
		v = strtoll(j->param[P_LIMIT], &end, 10);
		if (end == j->param[P_LIMIT] || *end || v < 1 || v > 100000) {
			reply_error(req, 400, "limit must be a number from 1 to 100000");
			return -1;
		}
		return 0;
	}
	v = (long long)time(NULL) - 86400;
	if (j->param[P_SINCE] && since_seconds(j->param[P_SINCE], &v) != 0) {
		reply_error(req, 400, "since must be YYYY-MM-DDTHH:MM:SSZ or Unix seconds");
		return -1;
	}
	free(j->param[P_SINCE]);
	j->param[P_SINCE] = malloc(24);
	if (!j->param[P_SINCE])
		return reply_error(req, 500, "out of memory"), -1;
	snprintf(j->param[P_SINCE], 24, "%lld", v);
	return 0;
}

static int ledger_up(struct rd_http *h)
{
	struct rd_ledger_stats st;

	rd_ledger_get_stats(h->env.ledger, &st);
	return st.connected;
}

/* Rule errors are reachd -t's to report; such rules are left out. */
static void no_report(void *arg, const char *msg)
{
}

static void submit(struct rd_http *h, struct evhttp_request *req, enum api_kind kind,
                   const struct evkeyvalq *q)
{
	struct api_job *j = calloc(1, sizeof(*j));
	struct pending *p = calloc(1, sizeof(*p));
	struct timeval tv = {h->deadline_ms / 1000, (h->deadline_ms % 1000) * 1000};

	if (!j || !p || copy_params(j, q) != 0 ||
	    !(p->timer = evtimer_new(h->base, on_deadline, p)) || evtimer_add(p->timer, &tv)) {
		reply_error(req, 500, "out of memory");
		goto fail;
	}
	if (kind == API_ALERTS) {
		if (alerts_period(req, j) != 0)
			goto fail;
		(void)rd_rules_load(h->cfg, &j->rules, no_report, NULL);
	}
	snprintf(j->language, sizeof(j->language), "%s", h->language);
	j->kind = kind;
	j->job.run = api_run;
	j->job.done = api_done;
	j->p = p;
	p->h = h;
	p->req = req;
	p->next = h->pending;
	h->pending = p;
	rd_ledger_submit(h->env.ledger, &j->job);
	return;
fail:
	if (p && p->timer)
		event_free(p->timer);
	free(p);
	if (j)
		api_job_free(j);
}

/* --- routes ------------------------------------------------------------------ */

static const char *const ind_params[] = {"site", "queue", "mailbox", "window", "from", "to", NULL};
static const char *const series_params[] = {"site", "queue", "mailbox", "from",
                                            "to",   "grain", NULL};
static const char *const alerts_params[] = {"since", "limit", NULL};
static const char *const no_params[] = {NULL};

static void api_ledger(struct rd_http *h, struct evhttp_request *req, enum api_kind kind,
                       const char *const *allowed)
{
	struct evkeyvalq q;

	if (parse_query(req, &q, allowed) != 0)
		return;
	if (!ledger_up(h))
		reply_error(req, 503, "PostgreSQL is unreachable");
	else
		submit(h, req, kind, &q);
	evhttp_clear_headers(&q);
}

static void get_indicators(struct rd_http *h, struct evhttp_request *req)
{
	api_ledger(h, req, API_INDICATORS, ind_params);
}

static void get_series(struct rd_http *h, struct evhttp_request *req)
{
	api_ledger(h, req, API_SERIES, series_params);
}

static void get_alerts(struct rd_http *h, struct evhttp_request *req)
{
	api_ledger(h, req, API_ALERTS, alerts_params);
}

/* Answers from memory take no parameter. */
static void memory_json(struct rd_http *h, struct evhttp_request *req,
                        json_t *(*fn)(struct rd_http *))
{
	struct evkeyvalq q;

	if (parse_query(req, &q, no_params) != 0)
		return;
	evhttp_clear_headers(&q);
	reply_json(req, 200, fn(h));
}

static void get_status(struct rd_http *h, struct evhttp_request *req)
{
	memory_json(h, req, rd_http_status_json);
}

static void get_live(struct rd_http *h, struct evhttp_request *req)
{
	memory_json(h, req, rd_http_live_json);
}

static void get_healthz(struct rd_http *h, struct evhttp_request *req)
{
	reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void get_readyz(struct rd_http *h, struct evhttp_request *req)
{
	json_t *reasons = json_array();
	int ready = rd_http_ready(h, reasons);

	reply_json(
	    req, ready ? 200 : 503,
	    json_pack("{s:s, s:o}", "status", ready ? "ready" : "not ready", "reasons", reasons));
}

static void get_metrics(struct rd_http *h, struct evhttp_request *req)
{
	struct rd_sb sb = {0};
	char *text;

	rd_http_metrics(h, &sb);
	if (rd_sb_finish(&sb, &text) != 0) {
		reply_error(req, 500, "out of memory");
		return;
	}
	reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
	free(text);
}

static const struct route {
	const char *path;
	int open; /* answered without the token: no figure in it */
	void (*fn)(struct rd_http *h, struct evhttp_request *req);
} routes[] = {
    {"/api/v1/indicators", 0, get_indicators},
    {"/api/v1/series", 0, get_series},
    {"/api/v1/alerts", 0, get_alerts},
    {"/api/v1/status", 0, get_status},
    {"/api/v1/live", 0, get_live},
    {"/metrics", 0, get_metrics},
    {"/healthz", 1, get_healthz},
    {"/readyz", 1, get_readyz},
};

/* The dashboard's files hold no figure (it fetches them with the token). */
static int serve_asset(struct evhttp_request *req, const char *path)
{
	const struct rd_asset *a = rd_dashboard_find(path);

	if (!a)
		return 0;
	reply(req, 200, a->content_type, a->data, a->len);
	return 1;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct rd_http *h = arg;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply_error(req, 405, "only GET and HEAD are allowed");
		return;
	}
	if (!path || !*path)
		path = "/";
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (!routes[i].open && !authorized(h, req))
			reply_unauthorized(req);
		else
			routes[i].fn(h, req);
		return;
	}
	if (strncmp(path, "/api/", 5) == 0 || !serve_asset(req, path))
		reply_error(req, 404, "no such resource");
}

/* --- connections ---------------------------------------------------------------- */

static struct evconnlistener *listener(const struct rd_http *h)
{
	return h->bound ? evhttp_bound_socket_get_listener(h->bound) : NULL;
}

/* The lowest free descriptor: the number of descriptors in use (the kernel
 * always hands out the lowest free one). */
static int fds_in_use(const struct rd_http *h)
{
	struct evconnlistener *l = listener(h);
	int fd = l ? fcntl(evconnlistener_get_fd(l), F_DUPFD_CLOEXEC, 0) : -1;

	if (fd < 0)
		return errno == EMFILE ? INT_MAX : 0;
	close(fd);
	return fd;
}

static void on_gate(evutil_socket_t fd, short what, void *arg)
{
	struct rd_http *h = arg;
	struct timeval tv = {0, GATE_MS * 1000};

	if (fds_in_use(h) < h->fd_limit) {
		if (evconnlistener_enable(listener(h)) != 0)
			rd_err("http: cannot accept connections again");
		rd_info("http: accepting connections again");
		return;
	}
	if (evtimer_add(h->gate, &tv) != 0)
		rd_err("http: cannot arm the connection gate");
}

/* Every accepted connection comes through here (evhttp_set_bevcb). */
static struct bufferevent *on_connection(struct event_base *base, void *arg)
{
	struct rd_http *h = arg;
	struct timeval tv = {0, GATE_MS * 1000};

	if (fds_in_use(h) >= h->fd_limit && !evtimer_pending(h->gate, NULL)) {
		rd_warn("http: %d descriptors in use: not accepting connections for now",
		        h->fd_limit);
		if (evconnlistener_disable(listener(h)) != 0 || evtimer_add(h->gate, &tv) != 0)
			rd_err("http: cannot pause accepting connections");
	}
	/* what evhttp would create itself: it closes the socket on its own */
	return bufferevent_socket_new(base, -1, 0);
}

static int fd_limit(const struct rd_config *cfg, int in_use)
{
	struct rlimit rl;
	long limit = INT_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)INT_MAX)
		limit = (long)rl.rlim_cur;
	limit -= FD_RESERVE;
	if (cfg->http_max_connections && in_use + cfg->http_max_connections < limit)
		limit = in_use + cfg->http_max_connections;
	return limit > in_use ? (int)limit : in_use + 1;
}

static struct evhttp_bound_socket *bind_unix(struct rd_http *h, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct evconnlistener *l;
	struct evhttp_bound_socket *b;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (fd < 0)
		return NULL;
	if (unlink(path) != 0 && errno != ENOENT) {
		close(fd);
		return NULL;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || chmod(path, 0660) != 0 ||
	    listen(fd, 128) != 0) {
		close(fd);
		return NULL;
	}
	l = evconnlistener_new(h->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	                       -1, fd);
	if (!l) {
		close(fd);
		return NULL;
	}
	b = evhttp_bind_listener(h->http, l);
	if (!b)
		evconnlistener_free(l);
	return b;
}

static int bind_listen(struct rd_http *h, const struct rd_config *cfg)
{
	char host[256], err[256];
	int port, loopback;

	if (rd_parse_listen(cfg->http_listen, host, sizeof(host), &port, &loopback, err,
	                    sizeof(err)) != 0) {
		rd_err("http: listen: %s", err);
		return -1;
	}
	h->bound = port ? evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port)
	                : bind_unix(h, host);
	if (!h->bound) {
		rd_err("http: cannot listen on %s: %s", cfg->http_listen, strerror(errno));
		return -1;
	}
	rd_info("http: listening on %s%s", cfg->http_listen, h->token ? " (token required)" : "");
	return 0;
}

/* --- lifecycle ------------------------------------------------------------------- */

static int configure(struct rd_http *h, const struct rd_config *cfg)
{
	evhttp_set_max_headers_size(h->http, (ev_ssize_t)cfg->http_max_header_size);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)cfg->http_max_body_size);
	evhttp_set_timeout(h->http, (int)((cfg->http_timeout_ms + 999) / 1000));
	evhttp_set_default_content_type(h->http, "application/json");
	/* every method reaches on_request, which answers 405 (evhttp: 501) */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                        EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, on_request, h);
	evhttp_set_bevcb(h->http, on_connection, h);
	h->deadline_ms = cfg->http_timeout_ms;
	snprintf(h->language, sizeof(h->language), "%s",
	         cfg->http_language ? cfg->http_language : "fr");
	if (cfg->http_token && !(h->token = strdup(cfg->http_token)))
		return -1;
	return 0;
}

struct rd_http *rd_http_new(struct event_base *base, const struct rd_config *cfg,
                            const struct rd_http_env *env)
{
	struct rd_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base = base;
	h->cfg = cfg;
	h->env = *env;
	h->http = evhttp_new(base);
	h->gate = evtimer_new(base, on_gate, h);
	if (!h->http || !h->gate || configure(h, cfg) != 0 || bind_listen(h, cfg) != 0) {
		rd_http_free(h);
		return NULL;
	}
	h->fd_limit = fd_limit(cfg, fds_in_use(h));
	rd_debug("http: connections refused from %d descriptors in use", h->fd_limit);
	return h;
}

void rd_http_reload(struct rd_http *h, const struct rd_config *cfg)
{
	if (h)
		h->cfg = cfg;
}

void rd_http_stop(struct rd_http *h)
{
	if (!h || !h->bound)
		return;
	evhttp_del_accept_socket(h->http, h->bound);
	h->bound = NULL;
	if (h->gate)
		evtimer_del(h->gate);
}

static void free_site(struct rd_http_site *s)
{
	for (int i = 0; i < 5; i++) {
		PQclear(s->calls[i]);
		PQclear(s->mail[i]);
	}
	free(s->site);
	free(s);
}

void rd_http_free(struct rd_http *h)
{
	if (!h)
		return;
	rd_http_stop(h);
	/* the ledger is gone: every job answered; a deadline may be left */
	while (h->pending)
		pending_free(h->pending);
	if (h->http)
		evhttp_free(h->http);
	if (h->gate)
		event_free(h->gate);
	while (h->sites) {
		struct rd_http_site *s = h->sites;

		h->sites = s->next;
		free_site(s);
	}
	if (h->token)
		memset(h->token, 0, strlen(h->token));
	free(h->token);
	free(h);
}

/* Copies: refresh's results live during its callback only. */
void rd_http_site_figures(struct rd_http *h, const struct rd_site_figures *f)
{
	struct rd_http_site *s;

	if (!h)
		return;
	for (s = h->sites; s && strcmp(s->site, f->site) != 0; s = s->next)
		;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || !(s->site = strdup(f->site))) {
			free(s);
			return;
		}
		s->next = h->sites;
		h->sites = s;
	}
	s->to = f->to;
	for (int i = 0; i < 5; i++) {
		PQclear(s->calls[i]);
		PQclear(s->mail[i]);
		s->calls[i] = f->calls[i]
		                  ? PQcopyResult(f->calls[i], PG_COPYRES_ATTRS | PG_COPYRES_TUPLES)
		                  : NULL;
		s->mail[i] = f->mail[i]
		                 ? PQcopyResult(f->mail[i], PG_COPYRES_ATTRS | PG_COPYRES_TUPLES)
		                 : NULL;
	}
}
