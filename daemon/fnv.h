/* fnv.h - FNV-1a, the one hash of the project: the file fingerprints of
 * cursors (stored in PostgreSQL, so it must never change) and the in-memory
 * tables of calls, mails and queue IDs. */
#ifndef RD_FNV_H
#define RD_FNV_H

#include <stddef.h>
#include <stdint.h>

#define RD_FNV_BASIS UINT64_C(14695981039346656037)
#define RD_FNV_PRIME UINT64_C(1099511628211)

/* Continue hash h over n bytes. */
static inline uint64_t rd_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * RD_FNV_PRIME;
	return h;
}

/* Continue hash h over a NUL-terminated string. */
static inline uint64_t rd_fnv1a_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * RD_FNV_PRIME;
	return h;
}

#endif
