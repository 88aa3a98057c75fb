/* test_dashboard.c - the dashboard's files compiled into the binary
 * (daemon/dashboard.c, web/, tools/embed.c -w). Run from the repository's
 * top directory (as `make unit` does): the embedded bytes are compared with
 * the files of web/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dashboard.h"

static const struct {
	const char *path, *file, *type;
} SHIPPED[] = {
    {"/", "web/index.html", "text/html; charset=utf-8"},
    {"/index.html", "web/index.html", "text/html; charset=utf-8"},
    {"/app.js", "web/app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "web/style.css", "text/css; charset=utf-8"},
    {"/favicon.svg", "web/favicon.svg", "image/svg+xml"},
};
#define NSHIPPED (sizeof(SHIPPED) / sizeof(SHIPPED[0]))

/* The whole file, malloc'ed; *len its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A NUL-terminated copy of an asset's bytes, for strstr. */
static char *text_of(const struct rd_asset *a)
{
	char *s = malloc(a->len + 1);

	assert_non_null(s);
	memcpy(s, a->data, a->len);
	s[a->len] = '\0';
	return s;
}

/* URLs in text other than the SVG namespace (a name, never fetched). */
static int external_urls(const char *text)
{
	static const char SVGNS[] = "://www.w3.org/2000/svg";
	int n = 0;

	for (const char *p = strstr(text, "://"); p; p = strstr(p + 3, "://"))
		if (strncmp(p, SVGNS, sizeof(SVGNS) - 1) != 0)
			n++;
	return n;
}

static void test_each_asset(void **st)
{
	(void)st;
	for (size_t i = 0; i < NSHIPPED; i++) {
		const struct rd_asset *a = rd_dashboard_find(SHIPPED[i].path);
		size_t len;
		unsigned char *want;

		assert_non_null(a);
		assert_string_equal(a->content_type, SHIPPED[i].type);
		assert_non_null(a->data);
		want = slurp(SHIPPED[i].file, &len);
		assert_int_equal(a->len, len);
		assert_memory_equal(a->data, want, len);
		free(want);
	}
	/* "/" is index.html itself */
	assert_ptr_equal(rd_dashboard_find("/"), rd_dashboard_find("/index.html"));
}

static void test_query_string(void **st)
{
	(void)st;
	assert_ptr_equal(rd_dashboard_find("/?token=XYZ"), rd_dashboard_find("/index.html"));
	assert_ptr_equal(rd_dashboard_find("/app.js?v=2"), rd_dashboard_find("/app.js"));
	assert_ptr_equal(rd_dashboard_find("/#top"), rd_dashboard_find("/index.html"));
}

static void test_unknown(void **st)
{
	(void)st;
	assert_null(rd_dashboard_find(NULL));
	assert_null(rd_dashboard_find(""));
	assert_null(rd_dashboard_find("app.js"));
	assert_null(rd_dashboard_find("/nothing.js"));
	assert_null(rd_dashboard_find("/app.j"));
	assert_null(rd_dashboard_find("/app.jss"));
	assert_null(rd_dashboard_find("/APP.JS"));
	assert_null(rd_dashboard_find("//app.js"));
	assert_null(rd_dashboard_find("/../web/app.js"));
	assert_null(rd_dashboard_find("/api/v1/status"));
	assert_null(rd_dashboard_find("/favicon.ico"));
}

/* The page loads its own script and style sheet, relative to where it is
 * served, and nothing from elsewhere. */
static void test_index_references(void **st)
{
	char *html = text_of(rd_dashboard_find("/"));
	char *js = text_of(rd_dashboard_find("/app.js"));
	char *css = text_of(rd_dashboard_find("/style.css"));

	(void)st;
	assert_non_null(strstr(html, "<script src=\"app.js\""));
	assert_non_null(strstr(html, "<link rel=\"stylesheet\" href=\"style.css\">"));
	assert_non_null(strstr(html, "href=\"favicon.svg\""));
	assert_non_null(strstr(html, "<html lang=\"fr\">"));
	assert_non_null(strstr(html, "Content-Security-Policy"));
	for (char **s = (char *[]){html, js, css, NULL}; *s; s++) {
		assert_true(external_urls(*s) == 0);
		assert_null(strstr(*s, "@import"));
		assert_null(strstr(*s, "url("));
	}
	free(html);
	free(js);
	free(css);
	/* every endpoint of the contract is read by the page */
	js = text_of(rd_dashboard_find("/app.js"));
	assert_non_null(strstr(js, "'api/v1/status'"));
	assert_non_null(strstr(js, "'api/v1/live'"));
	assert_non_null(strstr(js, "'api/v1/alerts'"));
	assert_non_null(strstr(js, "'api/v1/indicators?window='"));
	assert_non_null(strstr(js, "'api/v1/series?grain=hour"));
	assert_non_null(strstr(js, "'api/v1/series?grain=day"));
	free(js);
}

static void test_table_ends(void **st)
{
	size_t n = 0;

	(void)st;
	for (const struct rd_asset *a = rd_dashboard_assets; a->path; a++, n++) {
		assert_true(a->path[0] == '/');
		assert_non_null(a->content_type);
		assert_true(a->len > 0);
		assert_ptr_equal(rd_dashboard_find(a->path), a);
	}
	assert_true(n >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_asset), cmocka_unit_test(test_query_string),
	    cmocka_unit_test(test_unknown),    cmocka_unit_test(test_index_references),
	    cmocka_unit_test(test_table_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
