/* reachctl_report.c - reachctl report: the quality label's indicators for a
 * calendar year or month in the site's time zone, per site, queue and
 * mailbox, beside the same period one year earlier, as a text table, CSV,
 * Markdown or a printable HTML page (docs/report.md). The figures and the
 * previous period all come from reach.indicator_report (sql/005_report.sql);
 * this file only lays them out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reachctl.h"
#include "report_fmt.h"

enum rep_format { F_TEXT, F_CSV, F_HTML, F_MD };

/* The columns of SQL_REPORT. */
enum { R_SITE, R_SCOPE, R_ENTITY, R_FIGURE, R_KIND, R_VALUE, R_PREV, R_CHANGE, R_NCOLS };

/* The period's instants are computed by PostgreSQL in the zone given, the
 * same zone reach.indicator_report uses to step one year back, so that both
 * periods follow one calendar. $2, $3: year and first month; $5: a year. */
static const char SQL_REPORT[] =
    "SELECT r.site, r.scope, r.entity, r.figure, r.kind, r.value, r.previous, r.change"
    " FROM (SELECT make_timestamp($2::int, $3::int, 1, 0, 0, 0) AS f0) p,"
    " LATERAL reach.indicator_report($1::text, p.f0 AT TIME ZONE $4::text,"
    " (p.f0 + CASE WHEN $5::boolean THEN interval '1 year' ELSE interval '1 month' END)"
    " AT TIME ZONE $4::text, $4::text) WITH ORDINALITY r"
    " ORDER BY r.ordinality";

struct rep {
	int year, month; /* month 0: the whole year */
	enum rd_report_lang lang;
	enum rep_format format;
	const char *zone, *site;
	char title[256], days[80], cur[40], prev[40]; /* headings */
	char cur_id[16], prev_id[16];                 /* 2025, 2025-03: for CSV */
	PGresult *res;
	size_t width[4]; /* text: the columns, the same in every table */
};

struct rep_out {
	void (*begin)(const struct rep *r);
	void (*site)(const struct rep *r, const char *site, int first);
	void (*group)(const struct rep *r, int from, int to); /* rows of one entity */
	void (*nodata)(const struct rep *r);
	void (*end)(const struct rep *r, int nsites);
};

static const char *val(const struct rep *r, int row, int col)
{
	return PQgetisnull(r->res, row, col) ? NULL : PQgetvalue(r->res, row, col);
}

/* A float8 cell: a pointer to *store, or NULL for SQL NULL. */
static const double *num(const struct rep *r, int row, int col, double *store)
{
	const char *v = val(r, row, col);

	if (!v)
		return NULL;
	*store = strtod(v, NULL);
	return store;
}

static int fr(const struct rep *r)
{
	return r->lang == RD_REPORT_FR;
}

/* "Ensemble du site", "File accueil", "Boîte contact@...". */
static void group_title(const struct rep *r, int row, char *buf, size_t len)
{
	const char *scope = val(r, row, R_SCOPE), *entity = val(r, row, R_ENTITY);

	if (strcmp(scope, "site") == 0)
		snprintf(buf, len, "%s", fr(r) ? "Ensemble du site" : "Whole site");
	else if (strcmp(scope, "queue") == 0)
		snprintf(buf, len, "%s %s", fr(r) ? "File" : "Queue", entity ? entity : "");
	else
		snprintf(buf, len, "%s %s", fr(r) ? "Boîte" : "Mailbox", entity ? entity : "");
}

/* The four cells of a figure's row, for people. */
struct cells {
	char label[96], cur[64], prev[64], change[64];
};

static void row_cells(const struct rep *r, int row, struct cells *c)
{
	enum rd_report_kind kind = rd_report_kind_parse(val(r, row, R_KIND));
	const char *figure = val(r, row, R_FIGURE), *label = rd_report_label(figure, r->lang);
	double a, b, d;

	snprintf(c->label, sizeof(c->label), "%s", label ? label : figure);
	rd_report_value(c->cur, sizeof(c->cur), kind, num(r, row, R_VALUE, &a), r->lang);
	rd_report_value(c->prev, sizeof(c->prev), kind, num(r, row, R_PREV, &b), r->lang);
	rd_report_change(c->change, sizeof(c->change), kind, num(r, row, R_CHANGE, &d), r->lang);
}

static const char *change_heading(const struct rep *r)
{
	return fr(r) ? "Évolution" : "Change";
}

static const char *note(const struct rep *r)
{
	return fr(r) ? "Évolution : en points pour les taux, en % pour les volumes, en écart pour "
	               "les délais ; « \xe2\x80\x93 » : pas de données sur la période."
	             : "Change: in points for rates, in % for counts, as a difference for delays; "
	               "\xe2\x80\x9c\xe2\x80\x93\xe2\x80\x9d: no data for the period.";
}

static const char *nodata_text(const struct rep *r)
{
	return fr(r) ? "aucune donnée sur ces deux périodes" : "no data in either period";
}

/* --- text ------------------------------------------------------------------ */

static void text_begin(const struct rep *r)
{
	printf("%s\n%s %s (%s)\n", r->title, fr(r) ? "Période" : "Period", r->days, r->zone);
}

static void text_site(const struct rep *r, const char *site, int first)
{
	printf("\nSite %s\n", site);
}

static void pad(size_t n)
{
	printf("%*s", (int)n, "");
}

static void widen(size_t width[4], const char *const c[4])
{
	for (int k = 0; k < 4; k++)
		if (rd_report_width(c[k]) > width[k])
			width[k] = rd_report_width(c[k]);
}

/* One width per column over the whole report, so that its tables line up. */
static void text_widths(struct rep *r)
{
	const char *head[4] = {"", r->cur, r->prev, change_heading(r)};

	widen(r->width, head);
	for (int i = 0; i < PQntuples(r->res); i++) {
		struct cells c = {0};
		const char *row[4] = {c.label, c.cur, c.prev, c.change};

		row_cells(r, i, &c);
		widen(r->width, row);
		group_title(r, i, c.label, sizeof(c.label));
		widen(r->width, row);
	}
}

/* The label left-aligned, the numbers right-aligned. */
static void text_row(const struct rep *r, const char *const c[4])
{
	printf("  %s", c[0]);
	for (int k = 1; k < 4; k++) {
		pad((k == 1 ? r->width[0] - rd_report_width(c[0]) : 0) + 2 + r->width[k] -
		    rd_report_width(c[k]));
		fputs(c[k], stdout);
	}
	putchar('\n');
}

static void text_group(const struct rep *r, int from, int to)
{
	char title[300];
	const char *head[4] = {title, r->cur, r->prev, change_heading(r)};

	group_title(r, from, title, sizeof(title));
	putchar('\n');
	text_row(r, head);
	for (int i = from; i < to; i++) {
		struct cells c = {0};
		const char *row[4] = {c.label, c.cur, c.prev, c.change};

		row_cells(r, i, &c);
		text_row(r, row);
	}
}

static void text_nodata(const struct rep *r)
{
	printf("\n  %s\n", nodata_text(r));
}

static void text_end(const struct rep *r, int nsites)
{
	if (nsites == 0)
		printf("\n%s\n", nodata_text(r));
	printf("\n%s\n", note(r));
}

/* --- csv ------------------------------------------------------------------- */

/* RFC 4180: quoted only when it must be. */
static void csv_field(const char *s, int last)
{
	if (s && strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else if (s) {
		fputs(s, stdout);
	}
	fputs(last ? "\r\n" : ",", stdout);
}

static void csv_begin(const struct rep *r)
{
	fputs("site,scope,entity,figure,kind,period,value,previous_period,previous,change\r\n",
	      stdout);
}

static void csv_site(const struct rep *r, const char *site, int first)
{
}

/* Machine values as PostgreSQL wrote them: the shortest text that reads
 * back as the same double, so a figure equals reachctl indicators --json. */
static void csv_group(const struct rep *r, int from, int to)
{
	for (int i = from; i < to; i++) {
		csv_field(val(r, i, R_SITE), 0);
		csv_field(val(r, i, R_SCOPE), 0);
		csv_field(val(r, i, R_ENTITY), 0);
		csv_field(val(r, i, R_FIGURE), 0);
		csv_field(val(r, i, R_KIND), 0);
		csv_field(r->cur_id, 0);
		csv_field(val(r, i, R_VALUE), 0);
		csv_field(r->prev_id, 0);
		csv_field(val(r, i, R_PREV), 0);
		csv_field(val(r, i, R_CHANGE), 1);
	}
}

static void csv_nodata(const struct rep *r)
{
}

static void csv_end(const struct rep *r, int nsites)
{
}

/* --- markdown -------------------------------------------------------------- */

static void md_text(const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`')
			putchar('\\');
		putchar(*s == '\n' || *s == '\r' ? ' ' : *s);
	}
}

static void md_begin(const struct rep *r)
{
	printf("# %s\n\n%s %s (%s)\n", r->title, fr(r) ? "Période" : "Period", r->days, r->zone);
}

static void md_site(const struct rep *r, const char *site, int first)
{
	fputs("\n## Site ", stdout);
	md_text(site);
	putchar('\n');
}

static void md_row(const char *const c[4])
{
	for (int k = 0; k < 4; k++) {
		fputs("| ", stdout);
		md_text(c[k]);
		putchar(' ');
	}
	puts("|");
}

static void md_group(const struct rep *r, int from, int to)
{
	char title[300];
	const char *head[4] = {title, r->cur, r->prev, change_heading(r)};

	group_title(r, from, title, sizeof(title));
	putchar('\n');
	md_row(head);
	puts("|:--|--:|--:|--:|");
	for (int i = from; i < to; i++) {
		struct cells c = {0};
		const char *row[4] = {c.label, c.cur, c.prev, c.change};

		row_cells(r, i, &c);
		md_row(row);
	}
}

static void md_nodata(const struct rep *r)
{
	printf("\n%s\n", nodata_text(r));
}

static void md_end(const struct rep *r, int nsites)
{
	if (nsites == 0)
		printf("\n%s\n", nodata_text(r));
	printf("\n%s\n", note(r));
}

/* --- html ------------------------------------------------------------------ */

/* Print to A4 from any browser: margins, one site a page, no table cut in
 * two; on screen, a centred column. No external resource, so the file can
 * be archived as it is. */
static const char HTML_STYLE[] =
    "@page { size: A4; margin: 15mm 12mm; }\n"
    "body { font-family: \"DejaVu Sans\", Arial, Helvetica, sans-serif; font-size: 10pt;\n"
    "       color: #111; max-width: 60em; margin: 1.5em auto; padding: 0 1em; }\n"
    "h1 { font-size: 15pt; margin: 0 0 .3em; }\n"
    "h2 { font-size: 13pt; margin: 1.2em 0 .5em; border-bottom: 1px solid #555; }\n"
    "p.period, p.note { color: #333; }\n"
    "table { border-collapse: collapse; width: 100%; margin: 0 0 1em;\n"
    "        page-break-inside: avoid; break-inside: avoid; }\n"
    "thead { display: table-header-group; }\n"
    "th, td { border: 1px solid #999; padding: 2pt 6pt; text-align: left; }\n"
    "th { background: #e8e8e8; }\n"
    ".num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }\n"
    "@media print {\n"
    "  body { max-width: none; margin: 0; padding: 0; }\n"
    "  section.site + section.site { page-break-before: always; break-before: page; }\n"
    "  th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
    "}\n";

static void html_text(const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", stdout); break;
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default: putchar(*s);
		}
	}
}

static void html_begin(const struct rep *r)
{
	printf("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
	       fr(r) ? "fr" : "en");
	html_text(r->title);
	printf("</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", HTML_STYLE);
	html_text(r->title);
	printf("</h1>\n<p class=\"period\">%s ", fr(r) ? "Période" : "Period");
	html_text(r->days);
	fputs(" (", stdout);
	html_text(r->zone);
	fputs(")</p>\n", stdout);
}

static void html_site(const struct rep *r, const char *site, int first)
{
	if (!first)
		fputs("</section>\n", stdout);
	fputs("<section class=\"site\">\n<h2>Site ", stdout);
	html_text(site);
	fputs("</h2>\n", stdout);
}

static void html_cell(const char *tag, const char *cls, const char *s)
{
	printf("<%s%s>", tag, cls ? cls : "");
	html_text(s);
	printf("</%s>", tag);
}

static void html_group(const struct rep *r, int from, int to)
{
	char title[300];
	const char *num_cls = " class=\"num\"";

	group_title(r, from, title, sizeof(title));
	fputs("<table>\n<thead><tr>", stdout);
	html_cell("th", " scope=\"col\"", title);
	html_cell("th", num_cls, r->cur);
	html_cell("th", num_cls, r->prev);
	html_cell("th", num_cls, change_heading(r));
	fputs("</tr></thead>\n<tbody>\n", stdout);
	for (int i = from; i < to; i++) {
		struct cells c = {0};

		row_cells(r, i, &c);
		fputs("<tr>", stdout);
		html_cell("th", " scope=\"row\"", c.label);
		html_cell("td", num_cls, c.cur);
		html_cell("td", num_cls, c.prev);
		html_cell("td", num_cls, c.change);
		fputs("</tr>\n", stdout);
	}
	fputs("</tbody>\n</table>\n", stdout);
}

static void html_nodata(const struct rep *r)
{
	fputs("<p>", stdout);
	html_text(nodata_text(r));
	fputs("</p>\n", stdout);
}

static void html_end(const struct rep *r, int nsites)
{
	if (nsites > 0)
		fputs("</section>\n", stdout);
	else
		html_nodata(r);
	fputs("<p class=\"note\">", stdout);
	html_text(note(r));
	fputs("</p>\n</body>\n</html>\n", stdout);
}

static const struct rep_out outs[] = {
    [F_TEXT] = {text_begin, text_site, text_group, text_nodata, text_end},
    [F_CSV] = {csv_begin, csv_site, csv_group, csv_nodata, csv_end},
    [F_HTML] = {html_begin, html_site, html_group, html_nodata, html_end},
    [F_MD] = {md_begin, md_site, md_group, md_nodata, md_end},
};

/* --- the command ----------------------------------------------------------- */

static int same(const struct rep *r, int a, int b, int col)
{
	const char *x = val(r, a, col), *y = val(r, b, col);

	return x && y ? strcmp(x, y) == 0 : x == y;
}

/* Every site's groups in the function's order. */
static void lay_out(const struct rep *r, const struct rep_out *o)
{
	int n = PQntuples(r->res), nsites = 0;

	o->begin(r);
	for (int i = 0, j; i < n; i = j) {
		if (i == 0 || !same(r, i - 1, i, R_SITE))
			o->site(r, val(r, i, R_SITE), nsites++ == 0);
		for (j = i + 1; j < n && same(r, i, j, R_SITE) && same(r, i, j, R_SCOPE) &&
		                same(r, i, j, R_ENTITY);
		     j++)
			;
		o->group(r, i, j);
	}
	if (nsites == 0 && r->site) {
		o->site(r, r->site, 1);
		o->nodata(r);
		nsites = 1;
	}
	o->end(r, nsites);
}

/* "2025" or "2025-03" into year and month (0 for a year). 0, or -1. */
static int parse_period(const char *year, const char *month, int *y, int *m)
{
	char tail;

	if ((year != NULL) == (month != NULL))
		return -1;
	if (year) {
		*m = 0;
		return strlen(year) == 4 && sscanf(year, "%4d%c", y, &tail) == 1 && *y >= 1971 ? 0
		                                                                               : -1;
	}
	return strlen(month) == 7 && month[4] == '-' &&
	               sscanf(month, "%4d-%2d%c", y, m, &tail) == 2 && *y >= 1971 && *m >= 1 &&
	               *m <= 12
	           ? 0
	           : -1;
}

static int parse_format(const char *s)
{
	static const char *const names[] = {
	    [F_TEXT] = "text", [F_CSV] = "csv", [F_HTML] = "html", [F_MD] = "md"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* The headings: title, days, column names and CSV period ids. */
static void headings(struct rep *r)
{
	char cur[64], prev[64];
	int fem = r->month == 0; /* "année" is feminine, the months are not */

	rd_report_period_name(cur, sizeof(cur), r->year, r->month, r->lang);
	rd_report_period_short(prev, sizeof(prev), r->year - 1, r->month, r->lang);
	if (fr(r))
		snprintf(r->title, sizeof(r->title), "Indicateurs de joignabilité : %s %s à %s",
		         cur, fem ? "comparée" : "comparé", prev);
	else
		snprintf(r->title, sizeof(r->title), "Reachability indicators: %s compared with %s",
		         cur, prev);
	rd_report_period_days(r->days, sizeof(r->days), r->year, r->month, r->lang);
	rd_report_period_short(r->cur, sizeof(r->cur), r->year, r->month, r->lang);
	rd_report_period_short(r->prev, sizeof(r->prev), r->year - 1, r->month, r->lang);
	if (r->month) {
		snprintf(r->cur_id, sizeof(r->cur_id), "%04d-%02d", r->year, r->month);
		snprintf(r->prev_id, sizeof(r->prev_id), "%04d-%02d", r->year - 1, r->month);
	} else {
		snprintf(r->cur_id, sizeof(r->cur_id), "%04d", r->year);
		snprintf(r->prev_id, sizeof(r->prev_id), "%04d", r->year - 1);
	}
}

/* The options into r; 0, or 2 after printing what is wrong. */
static int report_options(const struct ctl *c, struct rep *r)
{
	const char *lang =
	    c->lang ? c->lang : (c->cfg->smtp_language ? c->cfg->smtp_language : "fr");
	int f = parse_format(c->format ? c->format : "text"), l = rd_report_lang_parse(lang);

	if (parse_period(c->year, c->month, &r->year, &r->month) != 0) {
		fprintf(stderr, "reachctl: report needs --year YYYY or --month YYYY-MM (one)\n");
		return 2;
	}
	if (f < 0) {
		fprintf(stderr, "reachctl: --format: text, csv, html or md, not '%s'\n", c->format);
		return 2;
	}
	if (l < 0) {
		fprintf(stderr, "reachctl: --lang: fr or en, not '%s'\n", lang);
		return 2;
	}
	r->format = (enum rep_format)f;
	r->lang = (enum rd_report_lang)l;
	r->zone = c->cfg->timezone ? c->cfg->timezone : "Europe/Paris";
	r->site = c->site;
	headings(r);
	return 0;
}

int ctl_report(struct ctl *c)
{
	struct rep r = {0};
	char year[16], month[16];
	const char *p[5];
	int rc = report_options(c, &r);

	if (rc != 0)
		return rc;
	snprintf(year, sizeof(year), "%d", r.year);
	snprintf(month, sizeof(month), "%d", r.month ? r.month : 1);
	p[0] = c->site;
	p[1] = year;
	p[2] = month;
	p[3] = r.zone;
	p[4] = r.month ? "false" : "true";
	r.res = ctl_exec(c, SQL_REPORT, 5, p, PGRES_TUPLES_OK);
	if (!r.res)
		return 1;
	if (PQnfields(r.res) != R_NCOLS) {
		fprintf(stderr, "reachctl: unexpected reach.indicator_report columns\n");
		PQclear(r.res);
		return 1;
	}
	if (r.format == F_TEXT)
		text_widths(&r);
	lay_out(&r, &outs[r.format]);
	PQclear(r.res);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("reachctl: stdout");
		return 1;
	}
	return 0;
}
