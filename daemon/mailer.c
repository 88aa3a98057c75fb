/* mailer.c - see mailer.h. What libESMTP 1.1.0 does not do for us, and how
 * it is made up for here:
 *  - connect() is blocking with no timeout: a non-blocking connect, bounded
 *    by timeout_ms, goes first (probe_relay), and libESMTP only connects
 *    once the relay was just seen accepting connections;
 *  - every protocol timeout is set explicitly, below the RFC minimums
 *    (Timeout_OVERRIDE_RFC2822_MINIMUM), so a relay that accepts the
 *    connection and never speaks costs timeout_ms, not 5 minutes;
 *  - a failed AUTH does not stop the session (rsp_auth goes on to MAIL
 *    FROM): the monitor callback follows the AUTH replies and, when MAIL
 *    FROM is about to leave unauthenticated, shuts the connection down
 *    before it is written;
 *  - its own STARTTLS context is a static that smtp_destroy_session frees
 *    (use after free from the second session on, libESMTP issue #30): one
 *    SSL_CTX of ours is handed to every session instead.
 * Include order matters: <auth-client.h> and <openssl/ssl.h> declare what
 * <libesmtp.h> checks for. */
#include <stddef.h>

#include <auth-client.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <libesmtp.h>

#include "mailer.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailmsg.h"

struct rd_mailer {
	struct rd_smtp_settings s; /* our own copies */
	char host[256], port[16];
	char hostport[300]; /* what libESMTP connects to */
	SSL_CTX *tls;       /* NULL without STARTTLS */
};

/* What the callbacks saw during one session. */
struct session {
	const struct rd_mailer *m;
	const char *msg;
	size_t msglen;
	int64_t last_io_ms; /* last byte read or written (monotonic) */
	int connected, replies;
	char last_reply[160]; /* first line of the relay's latest reply */
	int tls_fd;           /* the socket under TLS, -1 before STARTTLS */
	char tls_error[200];
	int no_starttls;
	int need_auth, auth_pending, authenticated, auth_blocked;
	int auth_code;
	char auth_text[160];
};

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void auth_init(void)
{
	auth_client_init(); /* loads the SASL plugins' table: once per process */
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *rd_mail_outcome_name(enum rd_mail_outcome o)
{
	return o == RD_MAILER_SENT ? "sent" : o == RD_MAILER_RETRY ? "retry" : "failed";
}

/* Copy a relay's text: controls (its CR LF) become spaces, ends trimmed. */
static void copy_text(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; src && i < n && src[i] && j + 1 < dstlen; i++) {
		char c = (unsigned char)src[i] < 0x20 || src[i] == 0x7F ? ' ' : src[i];

		if (c != ' ' || (j > 0 && dst[j - 1] != ' '))
			dst[j++] = c;
	}
	while (j > 0 && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

/* --- settings -------------------------------------------------------------- */

static char *dup_opt(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = 1;
	return d;
}

/* "host:port" or "host" (port 25). IPv6 literals are not supported. */
static int split_server(struct rd_mailer *m, char *err, size_t errlen)
{
	const char *srv = m->s.server, *colon = strrchr(srv, ':');
	size_t hl = colon ? (size_t)(colon - srv) : strlen(srv);
	const char *port = colon ? colon + 1 : "25";
	char *end;
	long p = strtol(port, &end, 10);

	if (hl == 0 || hl >= sizeof(m->host) || *end || p < 1 || p > 65535 ||
	    memchr(srv, ':', hl) || strpbrk(srv, " \t\r\n[]")) {
		snprintf(err, errlen, "server: '%s' is not host:port", srv);
		return -1;
	}
	memcpy(m->host, srv, hl);
	m->host[hl] = '\0';
	snprintf(m->port, sizeof(m->port), "%ld", p);
	snprintf(m->hostport, sizeof(m->hostport), "%s:%ld", m->host, p);
	return 0;
}

static int check_settings(const struct rd_smtp_settings *s, char *err, size_t errlen)
{
	char why[256];

	if (!s->server || !*s->server)
		return snprintf(err, errlen, "server is required"), -1;
	if (rd_mail_address_check(s->from, why, sizeof(why)) != 0)
		return snprintf(err, errlen, "from: %s", why), -1;
	if (s->timeout_ms < 1000)
		return snprintf(err, errlen, "timeout must be at least 1s"), -1;
	if (s->username && s->starttls != RD_STARTTLS_REQUIRED)
		return snprintf(err, errlen,
		                "username needs starttls = required (the password would cross the "
		                "network in clear)"),
		       -1;
	if (s->username && (!s->password || !*s->password))
		return snprintf(err, errlen,
		                "username is set but no password (password_file, "
		                "$REACHD_SMTP_PASSWORD or the smtp-password credential)"),
		       -1;
	if (s->helo && (!*s->helo || strpbrk(s->helo, " \t\r\n<>")))
		return snprintf(err, errlen, "helo: '%s' is not a host name", s->helo), -1;
	return 0;
}

static int copy_settings(struct rd_mailer *m, const struct rd_smtp_settings *s)
{
	int oom = 0;

	m->s = *s;
	m->s.server = dup_opt(s->server, &oom);
	m->s.helo = dup_opt(s->helo, &oom);
	m->s.from = dup_opt(s->from, &oom);
	m->s.from_name = dup_opt(s->from_name, &oom);
	m->s.username = dup_opt(s->username, &oom);
	m->s.password = dup_opt(s->password, &oom);
	m->s.ca_file = dup_opt(s->ca_file, &oom);
	return oom ? -1 : 0;
}

static void tls_error(const char *what, char *err, size_t errlen)
{
	char ossl[200];

	ERR_error_string_n(ERR_get_error(), ossl, sizeof(ossl));
	snprintf(err, errlen, "%s: %s", what, ossl);
}

/* One context for every session: TLS 1.2, the system's trust store or
 * ca_file. Verification itself happens in libESMTP after the handshake
 * (SSL_get_verify_result, host name), reported through events.
 *
 * TLS 1.2 exactly, not 1.3: in TLS 1.3 the server sends its session
 * tickets after the handshake, and with them libESMTP 1.1.0 (sio_poll
 * trusts poll() and SSL_pending) stalls on a reply written in several
 * records until the timeout: seen in about one session in three against
 * the aiosmtpd lab. TLS 1.2 has no post-handshake messages. */
static int make_tls(struct rd_mailer *m, char *err, size_t errlen)
{
	m->tls = SSL_CTX_new(TLS_client_method());
	if (!m->tls)
		return tls_error("cannot create the TLS context", err, errlen), -1;
	if (SSL_CTX_set_min_proto_version(m->tls, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(m->tls, TLS1_2_VERSION) != 1)
		return tls_error("cannot require TLS 1.2", err, errlen), -1;
	if (m->s.ca_file) {
		if (SSL_CTX_load_verify_locations(m->tls, m->s.ca_file, NULL) != 1) {
			char what[300];

			snprintf(what, sizeof(what), "ca_file %s", m->s.ca_file);
			return tls_error(what, err, errlen), -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(m->tls) != 1) {
		return tls_error("cannot load the system's certificates", err, errlen), -1;
	}
	return 0;
}

int rd_mailer_new(const struct rd_smtp_settings *s, struct rd_mailer **out, char *err,
                  size_t errlen)
{
	struct rd_mailer *m;
	int rc;

	*out = NULL;
	if (check_settings(s, err, errlen) != 0)
		return -1;
	m = calloc(1, sizeof(*m));
	if (!m || copy_settings(m, s) != 0) {
		snprintf(err, errlen, "out of memory");
		rd_mailer_free(m);
		return -1;
	}
	if (split_server(m, err, errlen) != 0 ||
	    (s->starttls == RD_STARTTLS_REQUIRED && make_tls(m, err, errlen) != 0)) {
		rd_mailer_free(m);
		return -1;
	}
	rc = pthread_once(&auth_once, auth_init);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_once: %s", strerror(rc));
		rd_mailer_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

void rd_mailer_free(struct rd_mailer *m)
{
	if (!m)
		return;
	if (m->s.password)
		memset(m->s.password, 0, strlen(m->s.password));
	free(m->s.server);
	free(m->s.helo);
	free(m->s.from);
	free(m->s.from_name);
	free(m->s.username);
	free(m->s.password);
	free(m->s.ca_file);
	SSL_CTX_free(m->tls);
	free(m);
}

/* --- bounding the connect ------------------------------------------------------ */

/* Try one address within the time left; 0 when it accepted. */
static int try_connect(const struct addrinfo *ai, int64_t deadline, int *err)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	struct pollfd pfd;
	socklen_t len = sizeof(*err);
	int rc;

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		close(fd);
		return 0;
	}
	*err = errno;
	if (*err != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		int64_t left = deadline - now_ms();

		rc = left > 0 ? poll(&pfd, 1, (int)left) : 0;
	} while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		*err = rc == 0 ? ETIMEDOUT : errno;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) != 0)
		*err = errno;
	close(fd);
	return rc > 0 && *err == 0 ? 0 : -1;
}

/* libESMTP's connect() cannot time out: see that the relay accepts
 * connections within timeout_ms before letting it connect. Name
 * resolution itself is bounded by the resolver's own timeouts
 * (resolv.conf); a relay on loopback or in /etc/hosts needs none. */
static int probe_relay(const struct rd_mailer *m, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	int64_t deadline = now_ms() + m->s.timeout_ms;
	int rc = getaddrinfo(m->host, m->port, &hints, &res), why = 0;

	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %.120s: %s", m->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (try_connect(ai, deadline, &why) == 0)
			break;
	freeaddrinfo(res);
	if (ai)
		return 0;
	snprintf(err, errlen, "cannot connect to %.120s: %s", m->hostport,
	         why == ETIMEDOUT ? "no answer (timed out)" : strerror(why));
	return -1;
}

/* --- libESMTP callbacks ------------------------------------------------------ */

/* The message, in one piece. *ctx is ours to allocate and libESMTP's to
 * free: it holds whether the text was handed out already. */
static const char *message_cb(void **ctx, int *len, void *arg)
{
	struct session *s = arg;
	int *done = *ctx;

	if (!done) {
		done = calloc(1, sizeof(*done));
		*ctx = done;
		if (!done) {
			if (len)
				*len = 0;
			return NULL;
		}
	}
	if (!len) { /* rewind */
		*done = 0;
		return NULL;
	}
	*len = *done ? 0 : (int)s->msglen;
	*done = 1;
	return s->msg;
}

static int interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct session *s = arg;

	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = s->m->s.username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = s->m->s.password;
		else
			return 0; /* a realm or anything else: not configured */
	}
	return 1;
}

static int starts_with(const char *buf, int len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= (int)n && strncmp(buf, prefix, n) == 0;
}

/* A reply from the relay: remember its first line, and follow AUTH. */
static void on_read(struct session *s, const char *buf, int len)
{
	const char *eol = memchr(buf, '\n', (size_t)len);
	int code = len >= 3 ? atoi(buf) : 0;

	s->replies++;
	copy_text(s->last_reply, sizeof(s->last_reply), buf,
	          eol ? (size_t)(eol - buf) : (size_t)len);
	if (!s->auth_pending || code == 334)
		return; /* a challenge: the exchange goes on */
	s->auth_pending = 0;
	if (code / 100 == 2) {
		s->authenticated = 1;
	} else {
		const char *text = strlen(s->last_reply) > 3 ? s->last_reply + 3 : "";

		s->auth_code = code;
		copy_text(s->auth_text, sizeof(s->auth_text), text,
		          strlen(text)); /* after the code */
	}
}

/* Sees every buffer before it is written and after it is read. Only the
 * first word of what we write is looked at: the AUTH lines carry the
 * credentials, and nothing here is ever logged or kept. */
static void monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct session *s = arg;

	s->last_io_ms = now_ms();
	if (writing == SMTP_CB_READING) {
		on_read(s, buf, len);
		return;
	}
	if (writing != SMTP_CB_WRITING)
		return;
	if (starts_with(buf, len, "AUTH "))
		s->auth_pending = 1;
	if (s->need_auth && !s->authenticated && starts_with(buf, len, "MAIL FROM:")) {
		/* libESMTP goes on unauthenticated after a refused AUTH: stop
		 * the command here. AUTH implies STARTTLS, so the socket is
		 * known; shutdown (not close) leaves the descriptor to
		 * libESMTP, which then sees a dropped connection. */
		s->auth_blocked = 1;
		if (s->tls_fd >= 0)
			shutdown(s->tls_fd, SHUT_RDWR);
	}
}

static void cert_event(struct session *s, int event, va_list ap)
{
	const struct rd_mailer *m = s->m;
	long vfy = 0;
	int *ok;

	if (event == SMTP_EV_INVALID_PEER_CERTIFICATE)
		vfy = va_arg(ap, long);
	ok = va_arg(ap, int *);
	if (!m->s.tls_verify) {
		*ok = 1; /* tls_verify = no: encryption without authentication */
		return;
	}
	*ok = 0;
	if (event == SMTP_EV_INVALID_PEER_CERTIFICATE)
		snprintf(s->tls_error, sizeof(s->tls_error),
		         "the relay's certificate is not trusted: %s (see ca_file)",
		         X509_verify_cert_error_string(vfy));
	else if (event == SMTP_EV_NO_PEER_CERTIFICATE)
		snprintf(s->tls_error, sizeof(s->tls_error), "the relay sent no certificate");
	else
		snprintf(s->tls_error, sizeof(s->tls_error),
		         "the relay's certificate is not for %.120s (check server)", m->host);
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct session *s = arg;
	va_list ap;

	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		s->connected = 1;
		s->last_io_ms = now_ms();
		break;
	case SMTP_EV_STARTTLS_OK: s->tls_fd = SSL_get_fd(va_arg(ap, SSL *)); break;
	case SMTP_EV_EXTNA_STARTTLS: s->no_starttls = 1; break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WRONG_PEER_CERTIFICATE: cert_event(s, event, ap); break;
	case SMTP_EV_WEAK_CIPHER:
		snprintf(s->tls_error, sizeof(s->tls_error), "the relay chose a weak cipher");
		break;
	default: break; /* the other events leave their defaults alone */
	}
	va_end(ap);
}

/* --- one session ---------------------------------------------------------------- */

static int set_timeouts(smtp_session_t ss, long ms)
{
	static const int which[] = {Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA,
	                            Timeout_TRANSFER, Timeout_DATA2};

	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
		if (smtp_set_timeout(ss, which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, ms) == 0)
			return -1;
	return 0;
}

static int setup_auth(smtp_session_t ss, auth_context_t *auth, struct session *s)
{
	*auth = auth_create_context();
	if (!*auth)
		return -1;
	/* PLAIN and LOGIN send the password itself: allowed since TLS is
	 * required with a username (check_settings) */
	if (auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0) == 0 ||
	    auth_set_interact_cb(*auth, interact_cb, s) == 0 ||
	    smtp_auth_set_context(ss, *auth) == 0)
		return -1;
	s->need_auth = 1;
	return 0;
}

static int setup_session(smtp_session_t ss, auth_context_t *auth, struct session *s)
{
	const struct rd_mailer *m = s->m;
	int tls = m->s.starttls == RD_STARTTLS_REQUIRED;

	if (smtp_set_server(ss, m->hostport) == 0 ||
	    (m->s.helo && smtp_set_hostname(ss, m->s.helo) == 0) ||
	    set_timeouts(ss, (long)m->s.timeout_ms) != 0 ||
	    smtp_starttls_enable(ss, tls ? Starttls_REQUIRED : Starttls_DISABLED) == 0 ||
	    (tls && smtp_starttls_set_ctx(ss, m->tls) == 0) ||
	    smtp_set_eventcb(ss, event_cb, s) == 0 ||
	    /* headers = 0: the message is not shown to the monitor either */
	    smtp_set_monitorcb(ss, monitor_cb, s, 0) == 0)
		return -1;
	return m->s.username ? setup_auth(ss, auth, s) : 0;
}

static int add_message(smtp_session_t ss, struct session *s, const char *const *rcpts, size_t nrcpt,
                       smtp_message_t *msg, smtp_recipient_t *r)
{
	*msg = smtp_add_message(ss);
	if (!*msg || smtp_set_reverse_path(*msg, s->m->s.from) == 0 ||
	    smtp_set_messagecb(*msg, message_cb, s) == 0)
		return -1;
	for (size_t i = 0; i < nrcpt; i++)
		if (!(r[i] = smtp_add_recipient(*msg, rcpts[i])))
			return -1;
	return 0;
}

/* Why a session produced no reply where one was due. */
static void session_error(const struct session *s, char *buf, size_t len)
{
	int64_t idle = now_ms() - s->last_io_ms;
	char lib[128];

	if (s->tls_error[0])
		snprintf(buf, len, "TLS: %s", s->tls_error);
	else if (s->no_starttls)
		snprintf(buf, len, "the relay does not offer STARTTLS (starttls = required)");
	else if (s->connected && idle >= s->m->s.timeout_ms - 100)
		snprintf(buf, len, "timed out: no %s from the relay within %lld ms",
		         s->replies ? "reply" : "greeting", (long long)s->m->s.timeout_ms);
	else if (s->last_reply[0])
		snprintf(buf, len, "session ended (%s); the relay's last reply: %s",
		         smtp_strerror(smtp_errno(), lib, sizeof(lib)), s->last_reply);
	else
		snprintf(buf, len, "session ended: %s",
		         smtp_strerror(smtp_errno(), lib, sizeof(lib)));
}

/* --- results ---------------------------------------------------------------------- */

static void set_rcpt(struct rd_mail_rcpt_result *r, enum rd_mail_outcome o, int code,
                     const char *text)
{
	r->outcome = o;
	r->code = code;
	copy_text(r->text, sizeof(r->text), text, strlen(text));
}

/* An SMTP status as outcome, code and "x.y.z text". */
static void set_status(struct rd_mail_rcpt_result *r, const smtp_status_t *st)
{
	char text[256];

	if (st->enh_class)
		snprintf(text, sizeof(text), "%d.%d.%d %s", st->enh_class, st->enh_subject,
		         st->enh_detail, st->text ? st->text : "");
	else
		snprintf(text, sizeof(text), "%s", st->text ? st->text : "");
	set_rcpt(r,
	         st->code / 100 == 2   ? RD_MAILER_SENT
	         : st->code / 100 == 4 ? RD_MAILER_RETRY
	                               : RD_MAILER_FAILED,
	         st->code, text);
}

static void all_rcpts(struct rd_mail_result *res, enum rd_mail_outcome o, int code,
                      const char *text)
{
	for (size_t i = 0; i < res->nrcpt; i++)
		set_rcpt(&res->rcpt[i], o, code, text);
}

/* AUTH was required and not achieved: nothing was sent. */
static void auth_result(struct rd_mail_result *res, const struct session *s)
{
	char text[256];

	if (s->auth_code)
		snprintf(text, sizeof(text), "authentication refused: %s", s->auth_text);
	else
		snprintf(text, sizeof(text),
		         "the relay offers no AUTH PLAIN or LOGIN after STARTTLS");
	/* 4xx: the relay's trouble, retry; 5xx or none: fix the settings */
	all_rcpts(res, s->auth_code / 100 == 4 ? RD_MAILER_RETRY : RD_MAILER_FAILED, s->auth_code,
	          text);
}

/* Each recipient's fate from its RCPT reply and the message's final reply. */
static void rcpt_results(struct rd_mail_result *res, const struct session *s, smtp_message_t msg,
                         smtp_recipient_t *r)
{
	const smtp_status_t *mail = smtp_reverse_path_status(msg);
	const smtp_status_t *data = smtp_message_transfer_status(msg);
	char why[256];

	session_error(s, why, sizeof(why));
	for (size_t i = 0; i < res->nrcpt; i++) {
		const smtp_status_t *st = smtp_recipient_status(r[i]);
		struct rd_mail_rcpt_result *out = &res->rcpt[i];

		if (mail && mail->code / 100 == 4 /* MAIL FROM refused: for all */)
			set_status(out, mail);
		else if (mail && mail->code / 100 == 5)
			set_status(out, mail);
		else if (!st || st->code == 0)
			set_rcpt(out, RD_MAILER_RETRY, 0, why);
		else if (st->code / 100 != 2)
			set_status(out, st);
		else if (data && data->code != 0)
			set_status(out, data); /* accepted: the final reply decides */
		else /* lost after RCPT: the message may or may not have gone */
			set_rcpt(out, RD_MAILER_RETRY, 0, why);
	}
}

/* The overall outcome: SENT if all were, else the first RETRY recipient
 * (something to try again), else the first FAILED one. */
static void overall(struct rd_mail_result *res)
{
	const struct rd_mail_rcpt_result *pick = NULL;

	for (size_t i = 0; i < res->nrcpt && (!pick || pick->outcome != RD_MAILER_RETRY); i++)
		if (res->rcpt[i].outcome == RD_MAILER_RETRY ||
		    (!pick && res->rcpt[i].outcome == RD_MAILER_FAILED))
			pick = &res->rcpt[i];
	if (!pick)
		pick = &res->rcpt[0]; /* all sent: the relay's final answer */
	res->outcome = pick->outcome;
	res->code = pick->code;
	snprintf(res->text, sizeof(res->text), "%s", pick->text);
}

static int local_failure(struct rd_mail_result *res, enum rd_mail_outcome o, const char *text)
{
	all_rcpts(res, o, 0, text);
	res->outcome = o;
	res->code = 0;
	copy_text(res->text, sizeof(res->text), text, strlen(text));
	return -1;
}

/* The message must be CRLF text: libESMTP sends it as it is. */
static int message_problem(const char *msg, char *why, size_t len)
{
	for (const char *p = msg; *p; p++)
		if ((*p == '\n' && (p == msg || p[-1] != '\r')) || (*p == '\r' && p[1] != '\n')) {
			snprintf(why, len, "the message has a bare CR or LF at byte %zu",
			         (size_t)(p - msg));
			return -1;
		}
	if (!*msg)
		return snprintf(why, len, "the message is empty"), -1;
	return 0;
}

static int check_request(struct rd_mail_result *res, const char *const *rcpts, size_t nrcpt,
                         const char *message)
{
	char why[256];

	if (!message || message_problem(message, why, sizeof(why)) != 0)
		return local_failure(res, RD_MAILER_FAILED, message ? why : "no message");
	for (size_t i = 0; i < nrcpt; i++)
		if (rd_mail_address_check(rcpts[i], why, sizeof(why)) != 0)
			set_rcpt(&res->rcpt[i], RD_MAILER_FAILED, 0, why);
	for (size_t i = 0; i < nrcpt; i++)
		if (res->rcpt[i].text[0]) {
			overall(res);
			return -1; /* refused before any connection: nothing sent */
		}
	return 0;
}

static int run_session(struct rd_mailer *m, const char *const *rcpts, size_t nrcpt,
                       struct session *s, struct rd_mail_result *res)
{
	smtp_session_t ss = smtp_create_session();
	smtp_recipient_t *r = calloc(nrcpt, sizeof(*r));
	auth_context_t auth = NULL;
	smtp_message_t msg = NULL;
	char why[256];
	int rc = -1;

	if (!ss || !r || setup_session(ss, &auth, s) != 0 ||
	    add_message(ss, s, rcpts, nrcpt, &msg, r) != 0) {
		char lib[128];

		snprintf(why, sizeof(why), "cannot set the SMTP session up: %s",
		         smtp_strerror(smtp_errno(), lib, sizeof(lib)) ? lib : "?");
		local_failure(res, RD_MAILER_RETRY, why);
	} else if (!smtp_start_session(ss) && !s->auth_blocked && !s->connected) {
		session_error(s, why, sizeof(why));
		local_failure(res, RD_MAILER_RETRY, why);
	} else {
		if (s->auth_blocked || (s->need_auth && !s->authenticated && s->auth_code))
			auth_result(res, s);
		else
			rcpt_results(res, s, msg, r);
		overall(res);
		rc = res->outcome == RD_MAILER_SENT ? 0 : -1;
	}
	if (ss && smtp_destroy_session(ss) == 0)
		rc = -1;
	if (auth)
		auth_destroy_context(auth);
	free(r);
	return rc;
}

int rd_mailer_send(struct rd_mailer *m, const char *const *rcpts, size_t nrcpt, const char *message,
                   struct rd_mail_result *res)
{
	struct session s = {.m = m, .msg = message, .tls_fd = -1, .last_io_ms = now_ms()};
	char why[256];

	memset(res, 0, sizeof(*res));
	res->outcome = RD_MAILER_FAILED;
	res->rcpt = calloc(nrcpt ? nrcpt : 1, sizeof(*res->rcpt));
	if (!res->rcpt) {
		snprintf(res->text, sizeof(res->text), "out of memory");
		res->outcome = RD_MAILER_RETRY;
		return -1;
	}
	res->nrcpt = nrcpt;
	if (nrcpt == 0)
		return local_failure(res, RD_MAILER_FAILED, "no recipient");
	if (check_request(res, rcpts, nrcpt, message) != 0)
		return -1;
	s.msglen = strlen(message);
	if (probe_relay(m, why, sizeof(why)) != 0)
		return local_failure(res, RD_MAILER_RETRY, why);
	return run_session(m, rcpts, nrcpt, &s, res);
}

void rd_mail_result_clear(struct rd_mail_result *res)
{
	free(res->rcpt);
	res->rcpt = NULL;
	res->nrcpt = 0;
}
