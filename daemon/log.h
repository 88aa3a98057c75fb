/* log.h - logging to stderr (foreground) or syslog (service), with -v levels
 * and rate limiting of repeated complaints. */
#ifndef RD_LOG_H
#define RD_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum rd_log_level { RD_LOG_ERR = 0, RD_LOG_WARN, RD_LOG_INFO, RD_LOG_DEBUG };

/* foreground: log to stderr; otherwise syslog(LOG_DAEMON). verbosity: count of -v. */
void rd_log_init(const char *ident, int foreground, int verbosity);
void rd_log_close(void);
int rd_log_enabled(enum rd_log_level level);

void rd_log(enum rd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rd_vlog(enum rd_log_level level, const char *fmt, va_list ap);

#define rd_err(...)   rd_log(RD_LOG_ERR, __VA_ARGS__)
#define rd_warn(...)  rd_log(RD_LOG_WARN, __VA_ARGS__)
#define rd_info(...)  rd_log(RD_LOG_INFO, __VA_ARGS__)
#define rd_debug(...) rd_log(RD_LOG_DEBUG, __VA_ARGS__)

/* A rate limiter for one kind of complaint: the first few go out, then at
 * most one per interval, with a count of what was suppressed. */
struct rd_ratelimit {
	int64_t window_start; /* monotonic seconds */
	uint32_t in_window;
	uint32_t suppressed;
};

/* Returns 1 if the message may be logged now. When it returns 1 after a
 * period of suppression, *suppressed receives how many were dropped. */
int rd_ratelimit_allow(struct rd_ratelimit *rl, uint32_t *suppressed);

#endif
