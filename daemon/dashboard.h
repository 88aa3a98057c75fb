/* dashboard.h - the built-in dashboard: the files of web/ (one HTML page,
 * its JavaScript, its style sheet, its icon), compiled into the binary by
 * tools/embed.c, for the HTTP server to serve at "/". The page reads the
 * JSON API (/api/v1/...) of the same origin; see docs/dashboard.md. */
#ifndef RD_DASHBOARD_H
#define RD_DASHBOARD_H

#include <stddef.h>

struct rd_asset {
	const char *path;         /* "/app.js" */
	const char *content_type; /* "text/javascript; charset=utf-8" */
	const unsigned char *data;
	size_t len;
};

/* Every shipped asset, named "/" + its file name in web/ (generated at build
 * time); ends with {NULL, NULL, NULL, 0}. */
extern const struct rd_asset rd_dashboard_assets[];

/* The asset served at path: "/" is "/index.html"; a query string or a
 * fragment ("/app.js?v=2") is ignored. NULL for any other path (and NULL). */
const struct rd_asset *rd_dashboard_find(const char *path);

#endif
