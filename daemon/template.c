/* template.c - see template.h. Deliberately tiny: the fields of an alert are
 * known, so there are no loops, partials or filters to get wrong. */
#include "template.h"

#include "strbuf.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH     16
#define MAX_NAME      64
#define MAX_TEMPLATE  (64 * 1024)
#define UNKNOWN_SLOTS 8

enum tag_kind { TAG_VAR, TAG_IF, TAG_END };

struct tag {
	enum tag_kind kind;
	char name[MAX_NAME];
	const char *end; /* just after "}}" */
};

struct render {
	const struct rd_tmpl_var *vars;
	size_t nvars;
	enum rd_tmpl_mode mode;
	struct rd_sb out;
	int active[MAX_DEPTH]; /* does each open {{#if}} keep its content */
	int depth;
	char unknown[UNKNOWN_SLOTS][MAX_NAME];
	int nunknown; /* may exceed UNKNOWN_SLOTS: the rest are counted only */
};

static int line_of(const char *tmpl, const char *p)
{
	int line = 1;

	for (; tmpl < p; tmpl++)
		line += *tmpl == '\n';
	return line;
}

/* Parse the tag starting at p ("{{"). 0, or -1 with err. */
static int parse_tag(const char *tmpl, const char *p, struct tag *t, char *err, size_t errlen)
{
	const char *close = strstr(p + 2, "}}"), *s = p + 2, *e;
	size_t n;

	if (!close) {
		snprintf(err, errlen, "line %d: '{{' without '}}'", line_of(tmpl, p));
		return -1;
	}
	t->end = close + 2;
	e = close;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	t->kind = TAG_VAR;
	if (e - s >= 3 && strncmp(s, "#if", 3) == 0 &&
	    (e - s == 3 || isspace((unsigned char)s[3]))) {
		t->kind = TAG_IF;
		for (s += 3; s < e && isspace((unsigned char)*s);)
			s++;
	} else if (e - s == 3 && strncmp(s, "/if", 3) == 0) {
		t->kind = TAG_END;
		t->name[0] = '\0';
		return 0;
	}
	n = (size_t)(e - s);
	for (const char *q = s; q < e; q++)
		if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) && *q != '_')
			n = 0;
	if (n == 0 || n >= MAX_NAME) {
		snprintf(err, errlen,
		         "line %d: bad tag '%.*s' (expected {{name}}, {{#if name}} or {{/if}})",
		         line_of(tmpl, p), (int)(close + 2 - p), p);
		return -1;
	}
	memcpy(t->name, s, n);
	t->name[n] = '\0';
	return 0;
}

static const struct rd_tmpl_var *lookup(struct render *r, const char *name)
{
	for (size_t i = 0; i < r->nvars; i++)
		if (strcmp(r->vars[i].name, name) == 0)
			return &r->vars[i];
	for (int i = 0; i < r->nunknown && i < UNKNOWN_SLOTS; i++)
		if (strcmp(r->unknown[i], name) == 0)
			return NULL;
	if (r->nunknown < UNKNOWN_SLOTS)
		snprintf(r->unknown[r->nunknown], MAX_NAME, "%s", name);
	r->nunknown++;
	return NULL;
}

static int emitting(const struct render *r)
{
	for (int i = 0; i < r->depth; i++)
		if (!r->active[i])
			return 0;
	return 1;
}

static void add_value(struct render *r, const char *v)
{
	if (r->mode == RD_TMPL_TEXT) {
		rd_sb_adds(&r->out, v);
		return;
	}
	for (; *v; v++) {
		switch (*v) {
		case '&': rd_sb_adds(&r->out, "&amp;"); break;
		case '<': rd_sb_adds(&r->out, "&lt;"); break;
		case '>': rd_sb_adds(&r->out, "&gt;"); break;
		case '"': rd_sb_adds(&r->out, "&quot;"); break;
		case '\'': rd_sb_adds(&r->out, "&#39;"); break;
		default: rd_sb_addc(&r->out, *v);
		}
	}
}

/* Apply one tag; -1 with err on unbalanced blocks. */
static int apply_tag(struct render *r, const char *tmpl, const char *at, const struct tag *t,
                     char *err, size_t errlen)
{
	const struct rd_tmpl_var *v = t->kind == TAG_END ? NULL : lookup(r, t->name);

	if (t->kind == TAG_VAR) {
		if (v && v->value && emitting(r))
			add_value(r, v->value);
		return 0;
	}
	if (t->kind == TAG_IF) {
		if (r->depth == MAX_DEPTH) {
			snprintf(err, errlen, "line %d: {{#if}} nested too deep",
			         line_of(tmpl, at));
			return -1;
		}
		r->active[r->depth++] = v && v->value && *v->value;
		return 0;
	}
	if (r->depth == 0) {
		snprintf(err, errlen, "line %d: {{/if}} without {{#if}}", line_of(tmpl, at));
		return -1;
	}
	r->depth--;
	return 0;
}

static void unknown_error(const struct render *r, char *err, size_t errlen)
{
	size_t n = (size_t)snprintf(err, errlen, "unknown field%s:", r->nunknown > 1 ? "s" : "");

	for (int i = 0; i < r->nunknown && i < UNKNOWN_SLOTS && n < errlen; i++)
		n += (size_t)snprintf(err + n, errlen - n, "%s %s", i ? "," : "", r->unknown[i]);
	if (r->nunknown > UNKNOWN_SLOTS && n < errlen)
		snprintf(err + n, errlen - n, " and %d more", r->nunknown - UNKNOWN_SLOTS);
}

int rd_template_render(const char *tmpl, const struct rd_tmpl_var *vars, size_t nvars,
                       enum rd_tmpl_mode mode, char **out, char *err, size_t errlen)
{
	struct render r = {.vars = vars, .nvars = nvars, .mode = mode};
	const char *p = tmpl, *open;
	struct tag t;

	*out = NULL;
	while ((open = strstr(p, "{{")) != NULL) {
		if (emitting(&r))
			rd_sb_add(&r.out, p, (size_t)(open - p));
		if (parse_tag(tmpl, open, &t, err, errlen) != 0 ||
		    apply_tag(&r, tmpl, open, &t, err, errlen) != 0) {
			rd_sb_free(&r.out);
			return -1;
		}
		p = t.end;
		/* a block tag alone on its line takes its line break with it */
		if (t.kind != TAG_VAR && (open == tmpl || open[-1] == '\n') && *p == '\n')
			p++;
	}
	if (emitting(&r))
		rd_sb_adds(&r.out, p);
	if (r.depth > 0 || r.nunknown > 0) {
		if (r.nunknown > 0)
			unknown_error(&r, err, errlen);
		else
			snprintf(err, errlen, "{{#if}} without {{/if}}");
		rd_sb_free(&r.out);
		return -1;
	}
	if (rd_sb_finish(&r.out, out) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static const char *flag(const char *v, const char *want)
{
	return v && strcmp(v, want) == 0 ? "1" : "";
}

size_t rd_alert_vars(const struct rd_alert_fields *f, struct rd_tmpl_var *vars)
{
	const struct rd_tmpl_var all[RD_ALERT_NVARS] = {
	    {"rule", f->rule},
	    {"figure", f->figure},
	    {"value", f->value},
	    {"threshold", f->threshold},
	    {"window", f->window},
	    {"site", f->site},
	    {"scope_kind", f->scope_kind},
	    {"entity", f->entity},
	    {"severity", f->severity},
	    {"label", f->label},
	    {"since", f->since},
	    {"dashboard_url", f->dashboard_url},
	    {"state", f->state},
	    {"firing", flag(f->state, "firing")},
	    {"resolved", flag(f->state, "resolved")},
	    {"flapping", flag(f->state, "flapping")},
	    {"warning", flag(f->severity, "warning")},
	    {"critical", flag(f->severity, "critical")},
	    {"scope_queue", flag(f->scope_kind, "queue")},
	    {"scope_mailbox", flag(f->scope_kind, "mailbox")},
	};

	memcpy(vars, all, sizeof(all));
	return RD_ALERT_NVARS;
}

/* --- loading ------------------------------------------------------------- */

static const char *embedded(const char *name)
{
	for (const struct rd_template_file *f = rd_templates; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f->text;
	return NULL;
}

/* Read an override file. 1 if there is none, 0 with *out, -1 with err. */
static int read_override(const char *dir, const char *name, char **out, char *err, size_t errlen)
{
	char path[4096];
	FILE *fp;
	char *buf;
	size_t n, bad;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return snprintf(err, errlen, "template directory path too long"), -1;
	fp = fopen(path, "rb");
	if (!fp) {
		if (errno == ENOENT)
			return 1;
		return snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -1;
	}
	buf = malloc(MAX_TEMPLATE + 1);
	n = buf ? fread(buf, 1, MAX_TEMPLATE + 1, fp) : 0;
	if (!buf || ferror(fp) || n > MAX_TEMPLATE) {
		snprintf(err, errlen, "%s: %s", path,
		         !buf ? "out of memory"
		              : (n > MAX_TEMPLATE ? "larger than 64 KiB" : "read error"));
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) || !rd_utf8_valid(buf, n, &bad)) {
		snprintf(err, errlen, "%s: not UTF-8 text (byte %zu)", path,
		         memchr(buf, '\0', n) ? (size_t)((char *)memchr(buf, '\0', n) - buf) : bad);
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* 0 with *out, 1 when no such template exists, -1 with err. */
static int find_template(const char *dir, const char *name, char **out, char *err, size_t errlen)
{
	const char *text;
	int rc;

	*out = NULL;
	if (!*name || strchr(name, '/') || name[0] == '.') {
		snprintf(err, errlen, "bad template name '%s'", name);
		return -1;
	}
	if (dir && (rc = read_override(dir, name, out, err, errlen)) <= 0)
		return rc;
	text = embedded(name);
	if (!text)
		return 1;
	*out = strdup(text);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int rd_template_load(const char *dir, const char *name, char **out, char *err, size_t errlen)
{
	int rc = find_template(dir, name, out, err, errlen);

	if (rc == 1)
		snprintf(err, errlen, "no template %s", name);
	return rc == 0 ? 0 : -1;
}

/* Trim white space around a one-line text, in place. */
static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i);
	s[n - i] = '\0';
}

/* Render KIND.LANG.PART into *out; a missing optional part leaves NULL. */
static int render_part(const char *dir, const char *kind, const char *lang, const char *part,
                       int optional, const struct rd_tmpl_var *vars, size_t nvars, char **out,
                       char *err, size_t errlen)
{
	char name[128], why[384], *text;
	int rc;

	snprintf(name, sizeof(name), "%s.%s.%s", kind, lang, part);
	rc = find_template(dir, name, &text, why, sizeof(why));
	if (rc == 1 && optional)
		return 0;
	if (rc == 1)
		snprintf(why, sizeof(why), "no such template");
	if (rc == 0) {
		rc = rd_template_render(text, vars, nvars,
		                        strcmp(part, "html") == 0 ? RD_TMPL_HTML : RD_TMPL_TEXT,
		                        out, why, sizeof(why));
		free(text);
	}
	if (rc != 0) {
		snprintf(err, errlen, "template %s: %s", name, why);
		return -1;
	}
	return 0;
}

int rd_template_render_mail(const char *dir, const char *kind, const char *lang,
                            const struct rd_tmpl_var *vars, size_t nvars, struct rd_mail_parts *out,
                            char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (render_part(dir, kind, lang, "subject", 0, vars, nvars, &out->subject, err, errlen) ||
	    render_part(dir, kind, lang, "txt", 0, vars, nvars, &out->text, err, errlen) ||
	    render_part(dir, kind, lang, "html", 1, vars, nvars, &out->html, err, errlen))
		return -1;
	trim(out->subject);
	return 0;
}

void rd_mail_parts_clear(struct rd_mail_parts *p)
{
	free(p->subject);
	free(p->text);
	free(p->html);
	memset(p, 0, sizeof(*p));
}
