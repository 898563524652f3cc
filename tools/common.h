/* common: small helpers the bundled test servers (target.c, faults.c) share: option parsing,
 * the loopback-only check, and the port file. Header-only (static inline) because every
 * tools/NAME.c builds into its own program. */
#ifndef BLAST_TOOLS_COMMON_H
#define BLAST_TOOLS_COMMON_H

#include <arpa/inet.h>
#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

/* Whether the option name a[0..n) is exactly name. */
static inline bool opt_is(const char *a, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(a, name, n) == 0;
}

static inline bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static inline bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && a6->sin6_addr.s6_addr[12] == 127;
}

/* Writes "PORT\n" to path via path.tmp and rename, so a reader never sees a partial file. */
static inline int write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0) {
        int rc = -errno;
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, path) < 0) {
        int rc = -errno;
        unlink(tmp);
        return rc;
    }
    return 0;
}

/* Parses a numeric listen address ("127.0.0.1", "::1", "[::1]", or "localhost") with a port into
 * ss / *len. Returns false (after saying why on stderr, prefixed with prog) for anything else. */
static inline bool parse_listen(const char *prog, const char *addr, unsigned long port,
                                struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    char host[INET6_ADDRSTRLEN + 2];
    snprintf(host, sizeof(host), "%s", strcmp(addr, "localhost") == 0 ? "127.0.0.1" : addr);
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
    } else {
        fprintf(stderr, "%s: bad --listen address '%s' (numeric IPv4 or IPv6)\n", prog, addr);
        return false;
    }
    return true;
}

/* The port of an IPv4 or IPv6 address, in host order. */
static inline unsigned sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Writes "prog listening on ADDR:PORT" (IPv6 in brackets) to stdout. */
static inline void say_listening(const char *prog, const struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN];
    const void *a = ss->ss_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
    inet_ntop(ss->ss_family, a, host, sizeof(host));
    printf(ss->ss_family == AF_INET6 ? "%s listening on [%s]:%u\n" : "%s listening on %s:%u\n",
           prog, host, sockaddr_port(ss));
    fflush(stdout);
}

/* Blocks SIGINT and SIGTERM and fills *waitmask with the mask to wait under (epoll_pwait): the
 * stop signals are then delivered only while waiting, so a stop request cannot slip in between
 * checking the flag and going to sleep. */
static inline void stop_signals_only_while_waiting(sigset_t *waitmask)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, waitmask);
    sigdelset(waitmask, SIGINT);
    sigdelset(waitmask, SIGTERM);
}

/* The epoll_wait timeout (ms) for a deadline t (CLOCK_MONOTONIC ns; UINT64_MAX: none, -1),
 * rounded up so that the loop never wakes before t. */
static inline int epoll_timeout_ms(uint64_t t)
{
    if (t == UINT64_MAX)
        return -1;
    uint64_t now = clock_ns();
    if (t <= now)
        return 0;
    uint64_t ms = (t - now + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

#endif
