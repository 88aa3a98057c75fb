/* main.c - reachd: command line, signals, the loop. Only main exits. */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "notify.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/reachd/reachd.conf"

struct opts {
	const char *config;
	int check, once, verbose, syslog;
};

struct app {
	struct event_base *base;
	struct rd_core *core;
	const char *config;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: reachd [-c FILE] [-t] [--once] [-v...] [--syslog]\n"
	             "  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
	             "  -t, --test         check the configuration and exit\n"
	             "      --once         read every source to its end, commit, exit\n"
	             "  -v, --verbose      more logging (repeat for more)\n"
	             "      --syslog       log to syslog even in the foreground\n"
	             "  -V, --version      print the version\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"test", no_argument, NULL, 't'},
	    {"once", no_argument, NULL, 'o'},         {"verbose", no_argument, NULL, 'v'},
	    {"syslog", no_argument, NULL, 's'},       {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	int ch;

	o->config = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:tvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 't': o->check = 1; break;
		case 'o': o->once = 1; break;
		case 'v': o->verbose++; break;
		case 's': o->syslog = 1; break;
		case 'V': printf("reachd %s\n", REACHD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1; /* go on */
}

static void print_error(void *arg, const char *msg)
{
	int *count = arg;

	fprintf(stderr, "%s\n", msg);
	(*count)++;
}

static void log_error(void *arg, const char *msg)
{
	rd_err("%s", msg);
}

/* Load and fully check a configuration, reporting through fn. */
static struct rd_config *load_config(const char *path, rd_config_error_fn fn, void *arg)
{
	struct rd_config *cfg;
	int nerr = rd_config_load(path, &cfg, fn, arg);

	if (cfg)
		nerr += rd_core_check(cfg, fn, arg);
	if (nerr) {
		rd_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;

	rd_notify("STOPPING=1");
	rd_info("signal %d: shutting down", (int)sig);
	rd_core_shutdown(app->core);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;
	struct rd_config *cfg;

	rd_notify("RELOADING=1");
	rd_info("SIGHUP: reloading %s", app->config);
	cfg = load_config(app->config, log_error, NULL);
	if (!cfg)
		rd_err("reload: configuration has errors, keeping the running one");
	else
		rd_core_reload(app->core, cfg);
	rd_notify("READY=1");
}

/* WATCHDOG=1 at half the period: the timer only fires while the loop
 * turns, which is what systemd should know. */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	rd_notify("WATCHDOG=1");
}

static struct event *watchdog_start(struct event_base *base)
{
	long long usec = rd_notify_watchdog_usec() / 2;
	struct timeval tv = {(time_t)(usec / 1000000), (suseconds_t)(usec % 1000000)};
	struct event *ev;

	if (usec <= 0)
		return NULL;
	ev = event_new(base, -1, EV_PERSIST, on_watchdog, NULL);
	if (!ev || event_add(ev, &tv) != 0) {
		rd_warn("cannot arm the systemd watchdog timer");
		if (ev)
			event_free(ev);
		return NULL;
	}
	return ev;
}

static int run(struct app *app, struct rd_config *cfg, int once)
{
	struct event *sigs[3], *watchdog;
	int rc;

	app->core = rd_core_new(app->base, cfg, once);
	if (!app->core)
		return 1;
	sigs[0] = evsignal_new(app->base, SIGTERM, on_stop, app);
	sigs[1] = evsignal_new(app->base, SIGINT, on_stop, app);
	sigs[2] = evsignal_new(app->base, SIGHUP, on_hup, app);
	for (int i = 0; i < 3; i++)
		if (!sigs[i] || evsignal_add(sigs[i], NULL) != 0) {
			rd_err("cannot install signal handlers");
			return 1;
		}
	rd_info("reachd %s started (%s)", REACHD_VERSION, once ? "once" : "daemon");
	rd_notify("READY=1");
	watchdog = watchdog_start(app->base);
	rc = event_base_dispatch(app->base);
	if (rc < 0)
		rd_err("event loop failed");
	rc = rc < 0 ? 1 : rd_core_exit_status(app->core);
	if (watchdog)
		event_free(watchdog);
	rd_core_free(app->core);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	rd_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct app app = {0};
	struct rd_config *cfg;
	int rc = parse_args(argc, argv, &o), nerr = 0;

	if (rc >= 0)
		return rc;
	if (o.check) {
		cfg = load_config(o.config, print_error, &nerr);
		if (!cfg) {
			fprintf(stderr, "%s: %d error%s\n", o.config, nerr, nerr == 1 ? "" : "s");
			return 1;
		}
		printf("%s: configuration OK\n", o.config);
		rd_config_free(cfg);
		return 0;
	}
	/* As a service (journald/syslog); stderr when run by hand. */
	rd_log_init("reachd", !o.syslog && !getenv("INVOCATION_ID"), o.verbose);
	signal(SIGPIPE, SIG_IGN); /* before any thread: hiredis and libpq write to sockets */
	cfg = load_config(o.config, log_error, NULL);
	if (!cfg)
		return 1;
	app.config = o.config;
	app.base = event_base_new();
	if (!app.base) {
		rd_err("cannot create the event loop");
		rd_config_free(cfg);
		return 1;
	}
	rc = run(&app, cfg, o.once);
	event_base_free(app.base);
	rd_log_close();
	return rc;
}
