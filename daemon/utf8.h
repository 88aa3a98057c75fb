/* utf8.h - strict UTF-8 validation, shared by every parser that refuses
 * malformed text (queue_log lines, mail log lines, configuration values). */
#ifndef RD_UTF8_H
#define RD_UTF8_H

#include <stddef.h>

/* 1 if s[0, len) is well-formed UTF-8 (RFC 3629): no overlong form, no
 * surrogate (U+D800..U+DFFF), no code point above U+10FFFF, no sequence cut
 * by the end. U+0000 is well-formed: parsers that refuse NUL bytes check
 * them first, with their own reason. Otherwise 0, with *bad_offset (unless
 * bad_offset is NULL) set to the offset of the first byte of the first
 * ill-formed sequence. */
int rd_utf8_valid(const char *s, size_t len, size_t *bad_offset);

#endif
