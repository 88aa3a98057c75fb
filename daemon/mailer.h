/* mailer.h - hands a composed message (mailmsg.h) to the SMTP relay with
 * libESMTP 1.1.0.
 *
 * BLOCKING: rd_mailer_send resolves, connects, waits for the relay and
 * writes the message; it may take several times timeout_ms. Call it only
 * from a worker thread (the outbox worker, or reachctl), never from the
 * event loop. One rd_mailer may be used by one thread at a time; separate
 * mailers may run in separate threads. The process must ignore SIGPIPE
 * (main does, before any thread): libESMTP writes to sockets without
 * MSG_NOSIGNAL.
 *
 * Security: STARTTLS is required whenever a username is set (the
 * password would otherwise cross the network in clear), and a message is
 * never sent unauthenticated when AUTH was asked for. Credentials are never
 * logged, and nothing of the SMTP dialogue is either. */
#ifndef RD_MAILER_H
#define RD_MAILER_H

#include <stddef.h>
#include <stdint.h>

enum rd_starttls {
	RD_STARTTLS_NO,      /* plain SMTP (a local relay on loopback) */
	RD_STARTTLS_REQUIRED /* no STARTTLS offered, or a bad certificate: no mail */
};

struct rd_smtp_settings {
	char *server;    /* "host:port" (port 25 when omitted) */
	char *helo;      /* name in EHLO; NULL: the host name */
	char *from;      /* envelope sender (MAIL FROM), a bare address */
	char *from_name; /* display name for the From header, or NULL */
	enum rd_starttls starttls;
	char *username; /* AUTH PLAIN or LOGIN when set; needs starttls */
	char *password;
	int64_t timeout_ms; /* connect, greeting and each reply; at least 1000 */
	char *ca_file;      /* PEM trust anchors; NULL: the system's */
	int tls_verify;     /* 1 (default): certificate chain and host name */
};

/* RD_MAILER_*: RD_MAIL_SENT is already the "message sent by a mailbox"
 * event of event.h. */
enum rd_mail_outcome {
	RD_MAILER_SENT,  /* the relay accepted the message (2xx) */
	RD_MAILER_RETRY, /* try again later: 4xx, connection failure, timeout,
	                  * TLS failure, dead relay */
	RD_MAILER_FAILED /* permanent (5xx, a refused address, AUTH refused):
	                  * a retry would fail the same way */
};

struct rd_mail_rcpt_result {
	enum rd_mail_outcome outcome;
	int code;       /* the relay's reply for this recipient, 0 if none */
	char text[256]; /* its text, or why there is none */
};

struct rd_mail_result {
	enum rd_mail_outcome outcome; /* SENT only if every recipient was accepted */
	int code;                     /* the deciding SMTP reply, 0 for a local error */
	char text[256];               /* the relay's answer or the local error */
	size_t nrcpt;                 /* as many as given to rd_mailer_send */
	struct rd_mail_rcpt_result *rcpt;
};

struct rd_mailer;

/* Check the settings and copy them; create the one TLS context (TLS 1.2
 * at least, the system's trust store or ca_file) that every session will
 * share. 0, or -1 with a message in err. */
int rd_mailer_new(const struct rd_smtp_settings *s, struct rd_mailer **out, char *err,
                  size_t errlen);
void rd_mailer_free(struct rd_mailer *m);

/* Send message (full CRLF text from rd_mailmsg_compose) to rcpts. Always
 * fills res, even on error: res->outcome says what to do; with several
 * recipients, res->rcpt[i].outcome says which ones to retry (only RETRY
 * ones: the others were accepted or refused for good). Returns 0 when the
 * message was accepted for every recipient, -1 otherwise. Free res with
 * rd_mail_result_clear. */
int rd_mailer_send(struct rd_mailer *m, const char *const *rcpts, size_t nrcpt, const char *message,
                   struct rd_mail_result *res);
void rd_mail_result_clear(struct rd_mail_result *res);

const char *rd_mail_outcome_name(enum rd_mail_outcome o); /* "sent", "retry", "failed" */

#endif
