/* template.h - the alert mail templates: a tiny renderer ({{name}} and
 * {{#if name}}...{{/if}}) and the shipped templates of templates/, compiled
 * into the binary (tools/embed.c), which an override directory may replace
 * file by file.
 *
 * Template names are KIND.LANG.PART: KIND alert (firing, resolved,
 * flapping), digest or test; LANG fr or en; PART subject, txt or html. */
#ifndef RD_TEMPLATE_H
#define RD_TEMPLATE_H

#include <stddef.h>

struct rd_template_file {
	const char *name; /* "alert.fr.txt" */
	const char *text;
};

/* The shipped templates (generated from templates/); ends with {0, 0}. */
extern const struct rd_template_file rd_templates[];

/* One field. A NULL value renders as "" and is false for {{#if}}. */
struct rd_tmpl_var {
	const char *name;
	const char *value;
};

enum rd_tmpl_mode {
	RD_TMPL_TEXT, /* values inserted as they are */
	RD_TMPL_HTML  /* values HTML-escaped (& < > " ') */
};

/* Render tmpl. {{name}} is replaced by the field's value; {{#if name}} ...
 * {{/if}} keeps its content only when the value is not empty (they nest).
 * A name that is not in vars is an error, and the message lists every such
 * name, so a typo in an administrator's template is caught at the first
 * test mail. Returns 0 with a malloc'ed NUL-terminated *out, or -1 with a
 * message in err (also for an unbalanced {{#if}} or an unclosed "{{"). */
int rd_template_render(const char *tmpl, const struct rd_tmpl_var *vars, size_t nvars,
                       enum rd_tmpl_mode mode, char **out, char *err, size_t errlen);

/* The text of template name: DIR/name when dir is not NULL and that file
 * exists (it must be valid UTF-8, at most 64 KiB), else the shipped one.
 * Returns 0 with a malloc'ed copy in *out, or -1 with a message in err
 * (unknown name, unreadable or invalid override). */
int rd_template_load(const char *dir, const char *name, char **out, char *err, size_t errlen);

/* A rendered mail: subject (one line, surrounding white space trimmed),
 * text body, and the HTML body or NULL when there is no KIND.LANG.html. */
struct rd_mail_parts {
	char *subject;
	char *text;
	char *html;
};

/* The fields of an alert (templates alert.*), all UTF-8, NULL when absent.
 * since is already local time in the site's zone, formatted by the caller. */
struct rd_alert_fields {
	const char *rule, *figure, *value, *threshold, *window, *site;
	const char *scope_kind; /* "queue" or "mailbox" */
	const char *entity;     /* the queue or mailbox */
	const char *severity;   /* "warning" or "critical" */
	const char *label;      /* the rule's own severity label ("P2"), or NULL */
	const char *since, *dashboard_url;
	const char *state; /* "firing", "resolved" or "flapping" */
};

#define RD_ALERT_NVARS 20

/* Fill vars (RD_ALERT_NVARS slots) with the fields and the flags the
 * templates test with {{#if}}: firing, resolved, flapping, warning,
 * critical, scope_queue, scope_mailbox ("1" or ""). Returns the count. */
size_t rd_alert_vars(const struct rd_alert_fields *f, struct rd_tmpl_var *vars);

/* Load and render the three parts of KIND.LANG. 0, or -1 with err naming
 * the template at fault. Free with rd_mail_parts_clear either way. */
int rd_template_render_mail(const char *dir, const char *kind, const char *lang,
                            const struct rd_tmpl_var *vars, size_t nvars, struct rd_mail_parts *out,
                            char *err, size_t errlen);
void rd_mail_parts_clear(struct rd_mail_parts *p);

#endif
