/* config.h - the INI configuration (parsed by libinih), typed values and
 * validation. Every error is reported as "file:line: message" and loading
 * goes on to report all of them, not just the first. */
#ifndef RD_CONFIG_H
#define RD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mailer.h"

/* One key = value of a section, with its line for error messages. */
struct rd_kv {
	char *key;
	char *value;
	int line;
};

/* A named section such as [collector "standard"]. */
struct rd_section {
	char *kind; /* "collector", "rule", ... */
	char *name; /* the quoted name */
	int line;
	struct rd_kv *kv;
	size_t nkv;
};

struct rd_config {
	char *path;
	/* [daemon] */
	char *site;                  /* default site for collectors without one */
	char *timezone;              /* the site's time zone (default Europe/Paris) */
	int64_t commit_interval_ms;  /* longest time rows wait before a commit */
	size_t batch_max;            /* most calls per transaction */
	int64_t refresh_interval_ms; /* Redis windows refresh period */
	int64_t max_call_ms;         /* an open call older than this is closed */
	/* [postgres] */
	char *pg_conninfo;
	char *pg_password; /* from password_file or $REACHD_PG_PASSWORD */
	/* [redis] */
	char *redis_address; /* host:port (IP) or unix:/path */
	char *redis_password;
	int redis_db;
	int64_t redis_timeout_ms;
	int64_t redis_ttl_s;
	/* [smtp]; without it (smtp_present = 0) alerts are recorded, not mailed */
	int smtp_present;
	struct rd_smtp_settings smtp; /* password from password_file, $REACHD_SMTP_PASSWORD
	                               * or the smtp-password credential */
	char *smtp_language;          /* templates' language: "fr" (default) or "en" */
	char *smtp_dashboard_url;     /* link in the mails, or NULL */
	char *smtp_templates;         /* directory whose files replace shipped templates */
	int64_t smtp_retry_ms;        /* first wait after a temporary failure (default 30s) */
	int64_t smtp_retry_max_ms;    /* the wait doubles up to this (default 10m) */
	/* [http]; changes take effect at the next restart */
	char *http_listen;             /* host:port, [v6]:port or unix:/path (127.0.0.1:8470) */
	char *http_token;              /* bearer token from token_file, $REACHD_HTTP_TOKEN or
	                                * the http-token credential; NULL: none */
	char *http_language;           /* "fr" or "en" (default: [smtp] language, else fr) */
	uint64_t http_max_header_size; /* default 8k */
	uint64_t http_max_body_size;   /* default 64k */
	int64_t http_timeout_ms;       /* read/write timeout of a connection (default 10s) */
	int64_t http_max_connections;  /* 0: the file limit minus a reserve (http.c) */
	/* named sections; collectors are validated by their type (core) */
	struct rd_section *sections;
	size_t nsections;
};

/* Error sink: one call per problem, already formatted "file:line: msg". */
typedef void (*rd_config_error_fn)(void *arg, const char *msg);

/* Parse and check the file; returns the number of errors. *out is set
 * whenever the file could be read, errors or not, so that callers can go on
 * checking (collectors) and report everything at once; free it either way. */
int rd_config_load(const char *path, struct rd_config **out, rd_config_error_fn err, void *arg);
void rd_config_free(struct rd_config *cfg);

/* Report an error about a key of cfg's file (used by collector validation). */
void rd_config_report(const struct rd_config *cfg, int line, rd_config_error_fn err, void *arg,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Iterate named sections of one kind. */
const struct rd_section *rd_config_next(const struct rd_config *cfg, const char *kind,
                                        const struct rd_section *prev);
const char *rd_section_get(const struct rd_section *s, const char *key);

/* Typed values. Each returns 0, or -1 with a reason in err.
 * durations: "90s", "15m", "2h", "1d", "500ms", bare number = seconds.
 * percent: "85%" or "0.85" -> 0.85.  sizes: "512", "64k", "1M", "1G" bytes. */
int rd_parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen);
int rd_parse_percent(const char *s, double *out, char *err, size_t errlen);
int rd_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);
int rd_parse_bool(const char *s, int *out, char *err, size_t errlen);
int rd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);

/* An [http] listen address: "host:port" with an IPv4 or [IPv6] literal, or
 * "unix:/path" (port 0). loopback: 127.0.0.0/8, ::1 or a unix socket. */
int rd_parse_listen(const char *v, char *host, size_t hostlen, int *port, int *loopback, char *err,
                    size_t errlen);

/* Read a secret from a file that must not be world-readable. */
int rd_read_secret_file(const char *path, char **out, char *err, size_t errlen);

#endif
