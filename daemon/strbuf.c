/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

static int grow(struct rd_sb *sb, size_t more)
{
	size_t cap = sb->cap ? sb->cap : 256;
	char *p;

	if (sb->oom)
		return -1;
	if (sb->len + more + 1 <= sb->cap)
		return 0;
	while (cap < sb->len + more + 1)
		cap *= 2;
	p = realloc(sb->p, cap);
	if (!p) {
		sb->oom = 1;
		return -1;
	}
	sb->p = p;
	sb->cap = cap;
	return 0;
}

void rd_sb_add(struct rd_sb *sb, const char *s, size_t n)
{
	if (grow(sb, n) != 0)
		return;
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void rd_sb_adds(struct rd_sb *sb, const char *s)
{
	rd_sb_add(sb, s, strlen(s));
}

void rd_sb_addc(struct rd_sb *sb, char c)
{
	rd_sb_add(sb, &c, 1);
}

int rd_sb_finish(struct rd_sb *sb, char **out)
{
	*out = NULL;
	if (!sb->oom && !sb->p)
		grow(sb, 0);
	if (sb->oom) {
		rd_sb_free(sb);
		return -1;
	}
	sb->p[sb->len] = '\0';
	*out = sb->p;
	sb->p = NULL;
	sb->len = sb->cap = 0;
	return 0;
}

void rd_sb_free(struct rd_sb *sb)
{
	free(sb->p);
	sb->p = NULL;
	sb->len = sb->cap = 0;
}
