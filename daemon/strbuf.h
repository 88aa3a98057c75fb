/* strbuf.h - a growing string for the mail composer and the templates. An
 * allocation failure is remembered (oom) and checked once at the end, so
 * that building code stays a straight line of appends. */
#ifndef RD_STRBUF_H
#define RD_STRBUF_H

#include <stddef.h>

struct rd_sb {
	char *p; /* NUL-terminated when not NULL */
	size_t len, cap;
	int oom;
};

void rd_sb_add(struct rd_sb *sb, const char *s, size_t n);
void rd_sb_adds(struct rd_sb *sb, const char *s);
void rd_sb_addc(struct rd_sb *sb, char c);

/* Hand the string over: 0 with *out (never NULL, "" when empty), or -1
 * after an allocation failure (the buffer is freed either way). */
int rd_sb_finish(struct rd_sb *sb, char **out);
void rd_sb_free(struct rd_sb *sb);

#endif
