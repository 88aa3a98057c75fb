/* dashboard.h - the built-in dashboard's files, compiled into reachd and
 * served by the HTTP server (http.c) at /, /app.js, /style.css... */
#ifndef RD_DASHBOARD_H
#define RD_DASHBOARD_H

#include <stddef.h>

struct rd_asset {
	const char *path;         /* "/", "/app.js", ... */
	const char *content_type; /* "text/html; charset=utf-8", ... */
	const unsigned char *data;
	size_t len;
};

/* The asset served at path (query string excluded), or NULL. */
const struct rd_asset *rd_dashboard_find(const char *path);

#endif
