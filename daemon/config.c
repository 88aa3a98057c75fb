/* config.c - see config.h. libinih does the INI syntax; we count lines in
 * our own reader so every message can say file:line, and we keep going after
 * an error so an administrator sees all of them at once. */
#include "config.h"

#include "cache_addr.h"
#include "mailmsg.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct load_state {
	struct rd_config *cfg;
	FILE *fp;
	int line;          /* line the reader returned last */
	int header_line;   /* line of the last [section] header */
	int continuation;  /* the last line read was indented: it continues a value */
	char *cur_section; /* raw section string of the previous key */
	struct rd_section *cur;
	int nerr;
	rd_config_error_fn err;
	void *arg;
};

static void report(struct load_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct load_state *st, int line, const char *fmt, ...)
{
	char msg[1024];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s:%d: ", st->cfg->path, line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	st->err(st->arg, msg);
	st->nerr++;
}

void rd_config_report(const struct rd_config *cfg, int line, rd_config_error_fn err, void *arg,
                      const char *fmt, ...)
{
	char msg[1024];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s:%d: ", cfg->path, line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	err(arg, msg);
}

/* --- typed values -------------------------------------------------------- */

/* Fill err from a literal format and one string; evaluates to -1. */
#define fail(err, errlen, fmt, s) (snprintf((err), (errlen), fmt, (s)), -1)

int rd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return fail(err, errlen, "'%s' is not an integer", s);
	if (v < min || v > max) {
		snprintf(err, errlen, "%lld is out of range [%lld, %lld]", v, (long long)min,
		         (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* A non-negative decimal number followed by an optional unit. */
static int split_number(const char *s, double *num, const char **unit)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	*num = strtod(s, &end);
	if (errno || end == s || *num < 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	*unit = end;
	return 0;
}

int rd_parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"", 1000},     {"ms", 1},      {"s", 1000},       {"m", 60000},
	             {"min", 60000}, {"h", 3600000}, {"d", 86400000.0}, {"w", 604800000.0}};
	double num;
	const char *unit;

	if (split_number(s, &num, &unit) != 0)
		return fail(err, errlen, "'%s' is not a duration (e.g. 90s, 15m, 2h)", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(unit, units[i].unit) == 0) {
			double v = num * units[i].ms;

			if (v > (double)INT64_MAX / 2)
				return fail(err, errlen, "duration '%s' is too large", s);
			*out = (int64_t)(v + 0.5);
			return 0;
		}
	}
	return fail(err, errlen, "'%s' has an unknown duration unit (ms, s, m, h, d, w)", s);
}

int rd_parse_percent(const char *s, double *out, char *err, size_t errlen)
{
	double num;
	const char *unit;

	if (split_number(s, &num, &unit) != 0)
		return fail(err, errlen, "'%s' is not a percentage (e.g. 85%%)", s);
	if (strcmp(unit, "%") == 0)
		num /= 100.0;
	else if (*unit != '\0')
		return fail(err, errlen, "'%s' is not a percentage (e.g. 85%%)", s);
	if (num > 1.0)
		return fail(err, errlen, "'%s' is above 100%%", s);
	*out = num;
	return 0;
}

int rd_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	double num, mult;
	const char *unit;

	if (split_number(s, &num, &unit) != 0)
		return fail(err, errlen, "'%s' is not a size (e.g. 64k, 1M)", s);
	if (*unit == '\0' || strcmp(unit, "B") == 0)
		mult = 1;
	else if (strcasecmp(unit, "k") == 0 || strcasecmp(unit, "KiB") == 0)
		mult = 1024.0;
	else if (strcasecmp(unit, "M") == 0 || strcasecmp(unit, "MiB") == 0)
		mult = 1024.0 * 1024;
	else if (strcasecmp(unit, "G") == 0 || strcasecmp(unit, "GiB") == 0)
		mult = 1024.0 * 1024 * 1024;
	else
		return fail(err, errlen, "'%s' has an unknown size unit (k, M, G)", s);
	if (num * mult > 1e15)
		return fail(err, errlen, "size '%s' is too large", s);
	*out = (uint64_t)(num * mult + 0.5);
	return 0;
}

int rd_parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return fail(err, errlen, "'%s' is not a boolean (yes/no)", s);
}

int rd_read_secret_file(const char *path, char **out, char *err, size_t errlen)
{
	struct stat sb;
	char buf[4096];
	size_t n;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		snprintf(err, errlen, "cannot open secret file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & S_IROTH)) {
		fclose(fp);
		return fail(err, errlen, "secret file %s is world-readable (chmod o-r)", path);
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*out = strdup(buf);
	return *out ? 0 : fail(err, errlen, "out of memory reading %s", path);
}

/* --- sections ------------------------------------------------------------ */

/* Keys of the sections this build parses itself. Sections handled by later
 * parts (smtp, http, rules, ...) list their contract keys so that a valid
 * configuration is accepted today and typos are caught. */
static const char *const daemon_keys[] = {
    "site", "commit_interval", "batch_max", "refresh_interval", "max_call", "timezone", NULL};
static const char *const postgres_keys[] = {"conninfo", "password_file", NULL};
static const char *const redis_keys[] = {"address", "password_file", "db", "timeout", "ttl", NULL};
static const char *const smtp_keys[] = {"server",        "from",      "starttls",   "username",
                                        "password_file", "timeout",   "helo",       "language",
                                        "dashboard_url", "ca_file",   "tls_verify", "templates",
                                        "retry",         "retry_max", NULL};
static const char *const http_keys[] = {
    "listen",        "token_file", "language",        "max_header_size",
    "max_body_size", "timeout",    "max_connections", NULL};
static const char *const calendar_keys[] = {"timezone", "hours", "closed", "holidays", NULL};
static const char *const recipients_keys[] = {"to",         "cc",           "language",
                                              "group_wait", "max_per_hour", NULL};
static const char *const rule_keys[] = {
    "figure",   "scope",    "window",    "warning",      "critical", "min_samples",
    "for",      "clear",    "clear_for", "calendar",     "repeat",   "notify",
    "severity", "flap_low", "flap_high", "inhibited_by", NULL};

static const struct {
	const char *kind;
	int named;
	const char *const *keys; /* NULL: validated by its owner (collectors) */
} kinds[] = {
    {"daemon", 0, daemon_keys}, {"postgres", 0, postgres_keys},
    {"redis", 0, redis_keys},   {"smtp", 0, smtp_keys},
    {"http", 0, http_keys},     {"calendar", 1, calendar_keys},
    {"collector", 1, NULL},     {"recipients", 1, recipients_keys},
    {"rule", 1, rule_keys},
};

static int kind_index(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return (int)i;
	return -1;
}

static int key_known(const char *const *keys, const char *key)
{
	for (; *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return 1;
	return 0;
}

/* Split `collector "name"` into kind and name; returns -1 on bad syntax. */
static int split_section(const char *raw, char **kind, char **name)
{
	const char *sp = strchr(raw, ' ');
	const char *q1, *q2;

	*name = NULL;
	if (!sp) {
		*kind = strdup(raw);
		return *kind ? 0 : -1;
	}
	q1 = sp + 1;
	while (*q1 == ' ')
		q1++;
	q2 = strrchr(q1, '"');
	if (*q1 != '"' || q2 == q1 || q2[1] != '\0' || q2 == q1 + 1)
		return -1;
	*kind = strndup(raw, (size_t)(sp - raw));
	*name = strndup(q1 + 1, (size_t)(q2 - q1 - 1));
	return (*kind && *name) ? 0 : -1;
}

static struct rd_section *find_section(struct rd_config *cfg, const char *kind, const char *name)
{
	for (size_t i = 0; i < cfg->nsections; i++) {
		struct rd_section *s = &cfg->sections[i];

		if (strcmp(s->kind, kind) == 0 &&
		    ((!name && !s->name) || (name && s->name && strcmp(name, s->name) == 0)))
			return s;
	}
	return NULL;
}

static struct rd_section *open_section(struct load_state *st, const char *raw)
{
	struct rd_config *cfg = st->cfg;
	struct rd_section *s, *grown;
	char *kind, *name;
	int k;

	if (split_section(raw, &kind, &name) != 0) {
		report(st, st->header_line, "bad section header [%s] (expected [kind \"name\"])",
		       raw);
		return NULL;
	}
	k = kind_index(kind);
	if (k < 0 || (kinds[k].named && !name) || (!kinds[k].named && name)) {
		report(st, st->header_line,
		       k < 0 ? "unknown section [%s]"
		             : (name ? "section [%s] takes no name"
		                     : "section [%s] needs a name, e.g. [%s \"main\"]"),
		       kind, kind);
		free(kind);
		free(name);
		return NULL;
	}
	if (find_section(cfg, kind, name)) {
		report(st, st->header_line, "duplicate section [%s]", raw);
		free(kind);
		free(name);
		return NULL;
	}
	grown = realloc(cfg->sections, (cfg->nsections + 1) * sizeof(*grown));
	if (!grown) {
		free(kind);
		free(name);
		return NULL;
	}
	cfg->sections = grown;
	s = &cfg->sections[cfg->nsections++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->name = name;
	s->line = st->header_line;
	return s;
}

static int add_kv(struct load_state *st, struct rd_section *s, const char *key, const char *value)
{
	struct rd_kv *grown;
	int k = kind_index(s->kind);

	if (kinds[k].keys && !key_known(kinds[k].keys, key)) {
		report(st, st->line, "unknown key '%s' in [%s]", key, s->kind);
		return 1;
	}
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			report(st, st->line, "key '%s' given twice (first at line %d)", key,
			       s->kv[i].line);
			return 1;
		}
	grown = realloc(s->kv, (s->nkv + 1) * sizeof(*grown));
	if (!grown)
		return 0;
	s->kv = grown;
	s->kv[s->nkv].key = strdup(key);
	s->kv[s->nkv].value = strdup(value);
	s->kv[s->nkv].line = st->line;
	if (!s->kv[s->nkv].key || !s->kv[s->nkv].value) {
		free(s->kv[s->nkv].key);
		free(s->kv[s->nkv].value);
		return 0;
	}
	s->nkv++;
	return 1;
}

/* An indented line continues the previous value (long lists of mailboxes
 * or users): the parts are joined with a space. */
static int append_value(struct rd_kv *kv, const char *more)
{
	size_t a = strlen(kv->value), b = strlen(more);
	char *v = realloc(kv->value, a + b + 2);

	if (!v)
		return 0;
	v[a] = ' ';
	memcpy(v + a + 1, more, b + 1);
	kv->value = v;
	return 1;
}

static int on_kv(void *user, const char *section, const char *key, const char *value)
{
	struct load_state *st = user;

	if (!st->cur_section || strcmp(st->cur_section, section) != 0) {
		free(st->cur_section);
		st->cur_section = strdup(section);
		st->cur = *section ? open_section(st, section) : NULL;
		if (!*section)
			report(st, st->line, "key '%s' outside any section", key);
	}
	if (!st->cur)
		return 1; /* already reported */
	if (st->continuation && st->cur->nkv && strcmp(st->cur->kv[st->cur->nkv - 1].key, key) == 0)
		return append_value(&st->cur->kv[st->cur->nkv - 1], value);
	return add_kv(st, st->cur, key, value);
}

/* fgets wrapper that counts lines and notes section headers. A line longer
 * than libinih's buffer is reported and skipped whole, so that line numbers
 * stay right and its tail is never read as a line of its own. */
static char *reader(char *buf, int size, void *stream)
{
	struct load_state *st = stream;
	char *r = fgets(buf, size, st->fp);
	const char *p = buf;
	size_t len;
	int ch;

	if (!r)
		return NULL;
	st->line++;
	len = strlen(buf);
	if (len == (size_t)size - 1 && buf[len - 1] != '\n' && !feof(st->fp)) {
		report(st, st->line, "line longer than %d characters", size - 2);
		while ((ch = fgetc(st->fp)) != EOF && ch != '\n')
			;
		buf[0] = '\n';
		buf[1] = '\0';
		return buf;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '[')
		st->header_line = st->line;
	st->continuation = p != buf && *p && *p != ';' && *p != '#';
	return r;
}

/* --- typed [daemon] [postgres] [redis] ----------------------------------- */

const struct rd_section *rd_config_next(const struct rd_config *cfg, const char *kind,
                                        const struct rd_section *prev)
{
	size_t i = prev ? (size_t)(prev - cfg->sections) + 1 : 0;

	for (; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].kind, kind) == 0)
			return &cfg->sections[i];
	return NULL;
}

static const struct rd_kv *section_kv(const struct rd_section *s, const char *key)
{
	for (size_t i = 0; s && i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return &s->kv[i];
	return NULL;
}

const char *rd_section_get(const struct rd_section *s, const char *key)
{
	const struct rd_kv *kv = section_kv(s, key);

	return kv ? kv->value : NULL;
}

static void get_duration(struct load_state *st, const struct rd_section *s, const char *key,
                         int64_t min_ms, int64_t *out)
{
	const struct rd_kv *kv = section_kv(s, key);
	char err[256];

	if (!kv)
		return;
	if (rd_parse_duration_ms(kv->value, out, err, sizeof(err)) != 0)
		report(st, kv->line, "%s: %s", key, err);
	else if (*out < min_ms)
		report(st, kv->line, "%s: must be at least %lld ms", key, (long long)min_ms);
}

static void get_string(struct load_state *st, const struct rd_section *s, const char *key,
                       char **out)
{
	const struct rd_kv *kv = section_kv(s, key);

	if (!kv)
		return;
	free(*out);
	*out = strdup(kv->value);
}

/* The file named by key, or the environment / systemd credential. */
static void get_secret_key(struct load_state *st, const struct rd_section *s, const char *key,
                           const char *env, const char *cred, char **out)
{
	const struct rd_kv *kv = section_kv(s, key);
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char err[512], path[PATH_MAX];

	if (kv) {
		if (rd_read_secret_file(kv->value, out, err, sizeof(err)) != 0)
			report(st, kv->line, "%s", err);
		return;
	}
	if (getenv(env)) {
		*out = strdup(getenv(env));
		return;
	}
	if (dir && snprintf(path, sizeof(path), "%s/%s", dir, cred) < (int)sizeof(path) &&
	    access(path, R_OK) == 0 && rd_read_secret_file(path, out, err, sizeof(err)) != 0)
		report(st, s ? s->line : 0, "%s", err);
}

static void get_secret(struct load_state *st, const struct rd_section *s, const char *env,
                       const char *cred, char **out)
{
	get_secret_key(st, s, "password_file", env, cred, out);
}

/* A compiled zone file starts with the magic "TZif" (tzfile(5)); this also
 * rules out directories (Europe) and tables (zone.tab). */
static int tzfile(const char *path)
{
	char magic[4];
	FILE *fp = fopen(path, "rb");
	int ok;

	if (!fp)
		return 0;
	ok = fread(magic, 1, 4, fp) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(fp);
	return ok;
}

/* An IANA zone name known to the system's tz database (tzdata). */
static int valid_timezone(const char *tz)
{
	char path[PATH_MAX];

	if (!*tz || tz[0] == '/' || strstr(tz, "..") ||
	    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz) >= (int)sizeof(path))
		return 0;
	return tzfile(path);
}

/* --- [smtp] ---------------------------------------------------------------- */

/* "host:port" or "host", port in range, no white space or brackets. */
static int server_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (!*v || v[0] == ':' || strpbrk(v, " \t[]") || (colon && strchr(v, ':') != colon))
		return 0;
	if (!colon)
		return 1;
	port = strtol(colon + 1, &end, 10);
	return end != colon + 1 && *end == '\0' && port >= 1 && port <= 65535;
}

/* from = address, or Display Name <address>. */
static void get_from(struct load_state *st, const struct rd_section *s, struct rd_config *c)
{
	const struct rd_kv *kv = section_kv(s, "from");
	const char *v, *lt;
	char err[256];
	size_t n;

	if (!kv) {
		report(st, s->line, "[smtp] needs from (the sender address of the alerts)");
		return;
	}
	v = kv->value;
	lt = strrchr(v, '<');
	n = strlen(v);
	if (lt && n > 0 && v[n - 1] == '>') {
		size_t name = (size_t)(lt - v);

		while (name > 0 && isspace((unsigned char)v[name - 1]))
			name--;
		c->smtp.from_name = name ? strndup(v, name) : NULL;
		c->smtp.from = strndup(lt + 1, (size_t)(v + n - 1 - lt - 1));
	} else {
		c->smtp.from = strdup(v);
	}
	if (c->smtp.from && rd_mail_address_check(c->smtp.from, err, sizeof(err)) != 0)
		report(st, kv->line, "from: %s", err);
}

static void get_starttls(struct load_state *st, const struct rd_section *s, struct rd_config *c)
{
	const struct rd_kv *kv = section_kv(s, "starttls");
	char err[256];
	int b;

	if (!kv)
		return;
	if (strcasecmp(kv->value, "required") == 0)
		c->smtp.starttls = RD_STARTTLS_REQUIRED;
	else if (rd_parse_bool(kv->value, &b, err, sizeof(err)) == 0)
		c->smtp.starttls = b ? RD_STARTTLS_REQUIRED : RD_STARTTLS_NO;
	else
		report(st, kv->line,
		       "starttls: '%s' is neither required nor no (STARTTLS \"when offered\" "
		       "can be stripped by anyone on the path)",
		       kv->value);
}

static void check_smtp_auth(struct load_state *st, const struct rd_section *s, struct rd_config *c)
{
	const struct rd_kv *kv = section_kv(s, "username");

	if (!kv)
		return;
	if (c->smtp.starttls != RD_STARTTLS_REQUIRED)
		report(st, kv->line,
		       "username needs starttls = required (the password would cross the network "
		       "in clear)");
	if (!c->smtp.password || !*c->smtp.password)
		report(st, kv->line,
		       "username is set but no password: password_file, $REACHD_SMTP_PASSWORD or "
		       "the smtp-password credential");
}

static void check_smtp_values(struct load_state *st, const struct rd_section *s,
                              struct rd_config *c)
{
	const struct rd_kv *kv;
	char err[256];
	struct stat sb;

	if ((kv = section_kv(s, "server")) && !server_ok(kv->value))
		report(st, kv->line, "server: '%s' is not host:port (e.g. localhost:25)",
		       kv->value);
	if ((kv = section_kv(s, "helo")) && (!*kv->value || strpbrk(kv->value, " \t<>")))
		report(st, kv->line, "helo: '%s' is not a host name", kv->value);
	if ((kv = section_kv(s, "language")) && strcmp(kv->value, "fr") != 0 &&
	    strcmp(kv->value, "en") != 0)
		report(st, kv->line, "language: '%s' is not fr or en", kv->value);
	if ((kv = section_kv(s, "tls_verify")) &&
	    rd_parse_bool(kv->value, &c->smtp.tls_verify, err, sizeof(err)) != 0)
		report(st, kv->line, "tls_verify: %s", err);
	if ((kv = section_kv(s, "ca_file")) && access(kv->value, R_OK) != 0)
		report(st, kv->line, "ca_file: cannot read %s: %s", kv->value, strerror(errno));
	if ((kv = section_kv(s, "templates")) &&
	    (stat(kv->value, &sb) != 0 || !S_ISDIR(sb.st_mode)))
		report(st, kv->line, "templates: %s is not a directory", kv->value);
	if ((kv = section_kv(s, "dashboard_url")) &&
	    ((strncmp(kv->value, "https://", 8) != 0 && strncmp(kv->value, "http://", 7) != 0) ||
	     strpbrk(kv->value, " \t\"<>")))
		report(st, kv->line, "dashboard_url: '%s' is not an http(s) URL", kv->value);
}

static void load_smtp(struct load_state *st)
{
	struct rd_config *c = st->cfg;
	const struct rd_section *s = find_section(c, "smtp", NULL);

	if (!s)
		return;
	c->smtp_present = 1;
	get_string(st, s, "server", &c->smtp.server);
	if (!c->smtp.server)
		report(st, s->line, "[smtp] needs server (host:port of the relay)");
	get_from(st, s, c);
	get_starttls(st, s, c);
	get_string(st, s, "username", &c->smtp.username);
	get_secret(st, s, "REACHD_SMTP_PASSWORD", "smtp-password", &c->smtp.password);
	get_string(st, s, "helo", &c->smtp.helo);
	get_string(st, s, "ca_file", &c->smtp.ca_file);
	get_duration(st, s, "timeout", 1000, &c->smtp.timeout_ms);
	get_string(st, s, "language", &c->smtp_language);
	get_string(st, s, "dashboard_url", &c->smtp_dashboard_url);
	get_string(st, s, "templates", &c->smtp_templates);
	get_duration(st, s, "retry", 1000, &c->smtp_retry_ms);
	get_duration(st, s, "retry_max", 1000, &c->smtp_retry_max_ms);
	if (c->smtp_retry_max_ms < c->smtp_retry_ms)
		c->smtp_retry_max_ms = c->smtp_retry_ms;
	check_smtp_values(st, s, c);
	check_smtp_auth(st, s, c);
}

/* --- [http] ---------------------------------------------------------------- */

static int port_of(const char *p, int *port)
{
	char *end;
	long v = strtol(p, &end, 10);

	if (end == p || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int rd_parse_listen(const char *v, char *host, size_t hostlen, int *port, int *loopback, char *err,
                    size_t errlen)
{
	const char *colon = strrchr(v, ':');
	unsigned char addr[16];
	size_t n;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/' || strlen(v + 5) >= hostlen || strlen(v + 5) >= 108)
			return fail(err, errlen,
			            "'%s': unix: needs an absolute path (at most 107 "
			            "bytes)",
			            v);
		snprintf(host, hostlen, "%s", v + 5);
		*port = 0;
		*loopback = 1;
		return 0;
	}
	if (!colon || port_of(colon + 1, port) != 0)
		return fail(err, errlen, "'%s' is not host:port (e.g. 127.0.0.1:8470)", v);
	n = (size_t)(colon - v);
	if (v[0] == '[' && n >= 2 && v[n - 1] == ']') {
		v++;
		n -= 2;
	}
	if (n == 0 || n >= hostlen)
		return fail(err, errlen, "'%s' has no address", v);
	memcpy(host, v, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		*loopback = addr[0] == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		*loopback = memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
		return 0;
	}
	return fail(err, errlen, "'%s': the address must be an IP literal (no name lookup)", host);
}

static void get_size(struct load_state *st, const struct rd_section *s, const char *key,
                     uint64_t min, uint64_t *out)
{
	const struct rd_kv *kv = section_kv(s, key);
	char err[256];

	if (!kv)
		return;
	if (rd_parse_size(kv->value, out, err, sizeof(err)) != 0)
		report(st, kv->line, "%s: %s", key, err);
	else if (*out < min)
		report(st, kv->line, "%s: must be at least %llu bytes", key,
		       (unsigned long long)min);
}

/* The listen address, and a token wherever the server is reachable from
 * beyond this machine: the figures are not public. */
static void check_listen(struct load_state *st, const struct rd_section *s, struct rd_config *c)
{
	const struct rd_kv *kv = section_kv(s, "listen");
	char host[256], err[256];
	int port, loopback = 1;

	if (kv && rd_parse_listen(c->http_listen, host, sizeof(host), &port, &loopback, err,
	                          sizeof(err)) != 0)
		report(st, kv->line, "listen: %s", err);
	else if (!loopback && (!c->http_token || !*c->http_token))
		report(st, kv->line,
		       "listen: %s is reachable beyond this machine: set token_file (or "
		       "$REACHD_HTTP_TOKEN, or the http-token credential)",
		       c->http_listen);
	else if (c->http_token && strlen(c->http_token) < 16)
		report(st, kv ? kv->line : s->line,
		       "token_file: the token is shorter than 16 characters");
}

static void load_http(struct load_state *st)
{
	struct rd_config *c = st->cfg;
	const struct rd_section *s = find_section(c, "http", NULL);
	const struct rd_kv *kv;
	char err[256];

	get_string(st, s, "listen", &c->http_listen);
	get_secret_key(st, s, "token_file", "REACHD_HTTP_TOKEN", "http-token", &c->http_token);
	get_string(st, s, "language", &c->http_language);
	if ((kv = section_kv(s, "language")) && strcmp(kv->value, "fr") != 0 &&
	    strcmp(kv->value, "en") != 0)
		report(st, kv->line, "language: '%s' is not fr or en", kv->value);
	get_size(st, s, "max_header_size", 1024, &c->http_max_header_size);
	get_size(st, s, "max_body_size", 0, &c->http_max_body_size);
	get_duration(st, s, "timeout", 1000, &c->http_timeout_ms);
	if ((kv = section_kv(s, "max_connections")) &&
	    rd_parse_int(kv->value, 1, 1000000, &c->http_max_connections, err, sizeof(err)) != 0)
		report(st, kv->line, "max_connections: %s", err);
	if (!c->http_listen)
		c->http_listen = strdup("127.0.0.1:8470");
	if (!c->http_language)
		c->http_language = strdup(c->smtp_language ? c->smtp_language : "fr");
	if (c->http_listen && s)
		check_listen(st, s, c);
}

static void load_typed(struct load_state *st)
{
	struct rd_config *c = st->cfg;
	const struct rd_section *d = find_section(c, "daemon", NULL);
	const struct rd_section *pg = find_section(c, "postgres", NULL);
	const struct rd_section *rs = find_section(c, "redis", NULL);
	const struct rd_kv *kv;
	char err[256];
	int64_t v;

	get_string(st, d, "site", &c->site);
	get_duration(st, d, "commit_interval", 10, &c->commit_interval_ms);
	get_duration(st, d, "refresh_interval", 100, &c->refresh_interval_ms);
	get_duration(st, d, "max_call", 60000, &c->max_call_ms);
	if ((kv = section_kv(d, "batch_max"))) {
		if (rd_parse_int(kv->value, 1, 50000, &v, err, sizeof(err)) != 0)
			report(st, kv->line, "batch_max: %s", err);
		else
			c->batch_max = (size_t)v;
	}
	get_string(st, d, "timezone", &c->timezone);
	if (c->timezone && !valid_timezone(c->timezone))
		report(st, section_kv(d, "timezone")->line,
		       "timezone: '%s' is not a time zone of the system (e.g. Europe/Paris)",
		       c->timezone);

	if (!pg)
		report(st, st->line, "a [postgres] section with conninfo is required");
	get_string(st, pg, "conninfo", &c->pg_conninfo);
	if (pg && !c->pg_conninfo)
		report(st, pg->line, "[postgres] needs conninfo");
	get_secret(st, pg, "REACHD_PG_PASSWORD", "postgres-password", &c->pg_password);

	if (!rs)
		report(st, st->line, "a [redis] section with address is required");
	get_string(st, rs, "address", &c->redis_address);
	if (rs && !c->redis_address)
		report(st, rs->line, "[redis] needs address");
	if ((kv = section_kv(rs, "address"))) {
		char host[RD_CACHE_ADDR_HOSTLEN];
		int port;

		if (rd_cache_parse_address(kv->value, host, sizeof(host), &port, err,
		                           sizeof(err)) != 0)
			report(st, kv->line, "address: %s", err);
	}
	get_secret(st, rs, "REACHD_REDIS_PASSWORD", "redis-password", &c->redis_password);
	if ((kv = section_kv(rs, "db"))) {
		if (rd_parse_int(kv->value, 0, 15, &v, err, sizeof(err)) != 0)
			report(st, kv->line, "db: %s", err);
		else
			c->redis_db = (int)v;
	}
	get_duration(st, rs, "timeout", 100, &c->redis_timeout_ms);
	if (section_kv(rs, "ttl")) {
		int64_t ms = 0;

		get_duration(st, rs, "ttl", 10000, &ms);
		c->redis_ttl_s = ms / 1000;
	}
	if (!rd_config_next(c, "collector", NULL))
		report(st, st->line, "at least one [collector \"NAME\"] section is required");
	load_smtp(st);
	load_http(st);
}

static void set_defaults(struct rd_config *c)
{
	c->commit_interval_ms = 1000;
	c->batch_max = 5000;
	c->refresh_interval_ms = 5000;
	c->max_call_ms = 4 * 3600 * 1000;
	c->redis_timeout_ms = 5000;
	c->redis_ttl_s = 900;
	c->smtp.timeout_ms = 30000;
	c->smtp.tls_verify = 1;
	c->smtp_retry_ms = 30000;
	c->smtp_retry_max_ms = 600000;
	c->http_max_header_size = 8192;
	c->http_max_body_size = 65536;
	c->http_timeout_ms = 10000;
}

int rd_config_load(const char *path, struct rd_config **out, rd_config_error_fn err, void *arg)
{
	struct load_state st = {.err = err, .arg = arg};
	int rc;

	*out = NULL;
	st.cfg = calloc(1, sizeof(*st.cfg));
	if (!st.cfg || !(st.cfg->path = strdup(path))) {
		free(st.cfg);
		err(arg, "out of memory");
		return 1;
	}
	set_defaults(st.cfg);
	st.fp = fopen(path, "r");
	if (!st.fp) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: cannot open: %s", path, strerror(errno));
		err(arg, msg);
		rd_config_free(st.cfg);
		return 1;
	}
	rc = ini_parse_stream(reader, &st, on_kv, &st);
	fclose(st.fp);
	free(st.cur_section);
	if (rc > 0)
		report(&st, rc, "syntax error");
	else if (rc < 0)
		report(&st, 0, "cannot parse (out of memory)");
	load_typed(&st);
	*out = st.cfg; /* even with errors: the caller may check more, then free */
	return st.nerr;
}

void rd_config_free(struct rd_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nsections; i++) {
		struct rd_section *s = &cfg->sections[i];

		for (size_t j = 0; j < s->nkv; j++) {
			free(s->kv[j].key);
			free(s->kv[j].value);
		}
		free(s->kv);
		free(s->kind);
		free(s->name);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg->site);
	free(cfg->timezone);
	free(cfg->pg_conninfo);
	if (cfg->pg_password)
		memset(cfg->pg_password, 0, strlen(cfg->pg_password));
	free(cfg->pg_password);
	free(cfg->redis_address);
	if (cfg->redis_password)
		memset(cfg->redis_password, 0, strlen(cfg->redis_password));
	free(cfg->redis_password);
	free(cfg->smtp.server);
	free(cfg->smtp.helo);
	free(cfg->smtp.from);
	free(cfg->smtp.from_name);
	free(cfg->smtp.username);
	if (cfg->smtp.password)
		memset(cfg->smtp.password, 0, strlen(cfg->smtp.password));
	free(cfg->smtp.password);
	free(cfg->smtp.ca_file);
	free(cfg->smtp_language);
	free(cfg->smtp_dashboard_url);
	free(cfg->smtp_templates);
	free(cfg->http_listen);
	if (cfg->http_token)
		memset(cfg->http_token, 0, strlen(cfg->http_token));
	free(cfg->http_token);
	free(cfg->http_language);
	free(cfg);
}
