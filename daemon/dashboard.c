/* dashboard.c - STUB of the http branch: one placeholder page so that the
 * server's routing of / can be built and tested. The real dashboard
 * (same API, daemon/dashboard.h) comes from the dashboard branch and
 * replaces this file at merge. */
#include "dashboard.h"

#include <string.h>

static const unsigned char index_html[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>reachd</title></head>\n<body><h1>reachd</h1>\n"
    "<p>The dashboard is not part of this build (stub). The API is at "
    "<a href=\"/api/v1/status\">/api/v1/status</a>.</p></body></html>\n";

static const struct rd_asset assets[] = {
    {"/", "text/html; charset=utf-8", index_html, sizeof(index_html) - 1},
    {"/index.html", "text/html; charset=utf-8", index_html, sizeof(index_html) - 1},
};

const struct rd_asset *rd_dashboard_find(const char *path)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strcmp(assets[i].path, path) == 0)
			return &assets[i];
	return NULL;
}
