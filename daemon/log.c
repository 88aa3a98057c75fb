/* log.c - see log.h. Shaped like OpenSMTPD's log.c: stderr when in the
 * foreground, syslog (journald) otherwise; errno is preserved. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#define RL_BURST    10 /* messages allowed per window */
#define RL_WINDOW_S 60 /* window length */

static int log_foreground = 1;
static int log_verbosity;

void rd_log_init(const char *ident, int foreground, int verbosity)
{
	log_foreground = foreground;
	log_verbosity = verbosity;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void rd_log_close(void)
{
	if (!log_foreground)
		closelog();
}

int rd_log_enabled(enum rd_log_level level)
{
	/* ERR and WARN always; INFO by default; DEBUG with -v. */
	return (int)level <= (int)RD_LOG_INFO + log_verbosity;
}

static int syslog_priority(enum rd_log_level level)
{
	switch (level) {
	case RD_LOG_ERR: return LOG_ERR;
	case RD_LOG_WARN: return LOG_WARNING;
	case RD_LOG_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

static const char *level_name(enum rd_log_level level)
{
	switch (level) {
	case RD_LOG_ERR: return "error";
	case RD_LOG_WARN: return "warning";
	case RD_LOG_INFO: return "info";
	default: return "debug";
	}
}

void rd_vlog(enum rd_log_level level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (!rd_log_enabled(level)) {
		errno = saved;
		return;
	}
	if (log_foreground) {
		char stamp[32];
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s reachd %s: ", stamp, level_name(level));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(syslog_priority(level), fmt, ap);
	}
	errno = saved;
}

void rd_log(enum rd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rd_vlog(level, fmt, ap);
	va_end(ap);
}

int rd_ratelimit_allow(struct rd_ratelimit *rl, uint32_t *suppressed)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec;
	if (suppressed)
		*suppressed = 0;
	if (now - rl->window_start >= RL_WINDOW_S) {
		if (suppressed)
			*suppressed = rl->suppressed;
		rl->window_start = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window < RL_BURST) {
		rl->in_window++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}
