/* cache_addr.h - parsing of the [redis] address, shared by the cache and the
 * configuration check (reachd -t), so both accept exactly the same strings. */
#ifndef RD_CACHE_ADDR_H
#define RD_CACHE_ADDR_H

#include <stddef.h>

/* Big enough for any accepted host: a unix socket path (sun_path is 108 bytes
 * on Linux, NUL included) or a numeric IPv6 address. */
#define RD_CACHE_ADDR_HOSTLEN 108

/* Accepts "IPv4:port", "[IPv6]:port" and "unix:/absolute/path". Host names are
 * refused: hiredis 0.14 would resolve them with a blocking getaddrinfo() on
 * the loop. On success returns 0, host holds the numeric address (without
 * brackets) or the socket path and *port the TCP port, or 0 for a unix socket.
 * On failure returns -1 with a one-line reason in err (if errlen > 0). */
int rd_cache_parse_address(const char *addr, char *host, size_t hostlen, int *port, char *err,
                           size_t errlen);

#endif
