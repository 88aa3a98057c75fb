/* dashboard.c - find the built-in dashboard's files (see dashboard.h). */
#include "dashboard.h"

#include <string.h>

const struct rd_asset *rd_dashboard_find(const char *path)
{
	size_t len;

	if (!path || path[0] != '/')
		return NULL;
	len = strcspn(path, "?#");
	if (len == 1)
		path = "/index.html", len = strlen(path);
	for (const struct rd_asset *a = rd_dashboard_assets; a->path; a++)
		if (strlen(a->path) == len && memcmp(a->path, path, len) == 0)
			return a;
	return NULL;
}
