/* config_target: where a scenario's requests go. The URL grammar (http:// and https://, IPv6 in
 * brackets, ports, the path prefix), the scenario's origin (its own url, else base_url here or in
 * [global]), source_addresses, and the TLS keys. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "config_int.h"
#include "files.h"
#include "value.h"

#define keys cfg_keys

#define MAX_SOURCES 1024
#define SOURCES_ALLOWED                                                                            \
    "a comma-separated list of IP addresses or IPv4 ranges, e.g. 127.0.0.2-127.0.0.9, at most "    \
    "1024 addresses, all IPv4 or all IPv6"

/* Visible ASCII and non-ASCII bytes: what a request target may hold as written. */
bool cfg_target_ok(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
            return false;
    return true;
}

/* Parses http://host[:port][/path][?query]. Returns NULL, or what is wrong (in msg). */
const char *cfg_url_parse(const char *s, struct url *u, char *msg, size_t msglen)
{
    /* ws:// and wss:// are http:// and https:// for the connection (RFC 6455 section 3) */
    u->ws = strncasecmp(s, "ws://", 5) == 0 || strncasecmp(s, "wss://", 6) == 0;
    u->tls = strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "wss://", 6) == 0;
    if (!u->tls && !u->ws && strncasecmp(s, "http://", 7) != 0) {
        const char *sep = strstr(s, "://");
        if (sep) {
            snprintf(msg, msglen,
                     "unsupported scheme '%.*s' (allowed: http://, https://, ws:// or "
                     "wss://host[:port][/path])",
                     (int)(sep - s > 20 ? 20 : sep - s), s);
            return msg;
        }
        snprintf(msg, msglen, "'%.60s' is not an absolute URL (expected http://host[:port][/path])",
                 s);
        return msg;
    }
    const char *p = s + (u->ws ? (u->tls ? 6 : 5) : (u->tls ? 8 : 7));
    const char *end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(end - p)))
        return "user info (user@host) is not supported in URLs";
    u->ipv6 = false;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        char tmp[INET6_ADDRSTRLEN + 1];
        struct in6_addr a;
        if (!close || (size_t)(close - p - 1) >= sizeof tmp) {
            snprintf(msg, msglen, "invalid IPv6 address in '%.60s' (e.g. http://[::1]:8080)", s);
            return msg;
        }
        memcpy(tmp, p + 1, (size_t)(close - p - 1));
        tmp[close - p - 1] = '\0';
        if (inet_pton(AF_INET6, tmp, &a) != 1) {
            snprintf(msg, msglen, "invalid IPv6 address '[%s]' (e.g. http://[::1]:8080)", tmp);
            return msg;
        }
        u->host = p + 1;
        u->hostlen = (size_t)(close - p - 1);
        u->ipv6 = true;
        p = close + 1;
    } else {
        u->host = p;
        while (p < end && *p != ':') {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_') {
                snprintf(msg, msglen,
                         "invalid host in '%.60s' (letters, digits, '-', '.', '_'; IPv6 in "
                         "brackets: http://[::1]:8080)",
                         s);
                return msg;
            }
            p++;
        }
        u->hostlen = (size_t)(p - u->host);
        if (u->hostlen == 0)
            return "missing host (expected http://host[:port][/path])";
    }
    u->port = u->tls ? 443 : 80;
    if (p < end && *p == ':') {
        p++;
        unsigned long port = 0;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9' && port <= 65535)
            port = port * 10 + (unsigned long)(*p++ - '0');
        if (p == digits || p != end || port == 0 || port > 65535) {
            snprintf(msg, msglen, "invalid port '%.*s' (allowed: 1..65535)",
                     (int)(end - digits > 20 ? 20 : end - digits), digits);
            return msg;
        }
        u->port = (uint16_t)port;
    } else if (p != end) {
        snprintf(msg, msglen, "invalid host in '%.60s' (expected http://host[:port][/path])", s);
        return msg;
    }
    u->rest = end;
    if (!cfg_target_ok(end)) {
        if (strchr(end, '#'))
            return "fragments (#...) are not sent to servers; remove it";
        return "the path contains a space or control character (percent-encode it)";
    }
    return NULL;
}

bool cfg_get_url(struct ctx *c, const struct section *s, int k, bool base, struct url *u)
{
    const struct value *v = &s->v[k];
    char msg[256];
    const char *e = cfg_url_parse(v->s, u, msg, sizeof msg);
    if (!e && base && strchr(u->rest, '?'))
        e = "base_url cannot have a query (put it in path)";
    if (e) {
        cfg_fail(c, -EINVAL, v->line, s, keys[k].name, "%s", e);
        return false;
    }
    return true;
}

/* Appends one address (or an IPv4 range a-b) to sc->src. Returns false with an error message. */
static bool add_sources(struct ctx *c, const struct section *s, const struct value *v,
                        plan_scenario *sc, const char *item)
{
    char a[INET6_ADDRSTRLEN + 1], b[INET6_ADDRSTRLEN + 1];
    const char *dash = strchr(item, '-');
    size_t alen = dash ? (size_t)(dash - item) : strlen(item);
    struct in_addr lo4, hi4;
    struct in6_addr one6;
    uint32_t lo, hi;
    if (alen == 0 || alen >= sizeof a || (dash && strlen(dash + 1) >= sizeof b))
        goto bad;
    memcpy(a, item, alen);
    a[alen] = '\0';
    if (!dash && inet_pton(AF_INET6, a, &one6) == 1) {
        lo = hi = 0;
    } else {
        if (inet_pton(AF_INET, a, &lo4) != 1)
            goto bad;
        hi4 = lo4;
        if (dash) {
            strcpy(b, dash + 1);
            if (inet_pton(AF_INET, b, &hi4) != 1)
                goto bad;
        }
        lo = ntohl(lo4.s_addr);
        hi = ntohl(hi4.s_addr);
        if (hi < lo) {
            cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
                     "range '%.80s' ends before it starts (" SOURCES_ALLOWED ")", item);
            return false;
        }
    }
    uint64_t count = (uint64_t)hi - lo + 1;
    if (sc->nsrc + count > MAX_SOURCES) {
        cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
                 "too many addresses (" SOURCES_ALLOWED ")");
        return false;
    }
    struct sockaddr_storage *n = realloc(sc->src, (sc->nsrc + count) * sizeof *n);
    if (!n) {
        cfg_oom(c);
        return false;
    }
    sc->src = n;
    for (uint64_t i = 0; i < count; i++) {
        struct sockaddr_storage *ss = &sc->src[sc->nsrc++];
        memset(ss, 0, sizeof *ss);
        if (dash || inet_pton(AF_INET6, a, &one6) != 1) {
            struct sockaddr_in *in = (struct sockaddr_in *)ss;
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(lo + (uint32_t)i);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = one6;
        }
        if (ss->ss_family != sc->src[0].ss_family) {
            cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
                     "mixes IPv4 and IPv6 (" SOURCES_ALLOWED ")");
            return false;
        }
    }
    return true;
bad:
    cfg_fail(c, -EINVAL, v->line, s, "source_addresses",
             "'%.80s' is not an address (" SOURCES_ALLOWED ")", item);
    return false;
}

/* source_addresses, from the scenario or else [global]. */
bool cfg_get_sources(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const struct section *from = s->v[K_SOURCE_ADDRESSES].s ? s : c->global;
    if (!from || !from->v[K_SOURCE_ADDRESSES].s)
        return true;
    const struct value *v = &from->v[K_SOURCE_ADDRESSES];
    char *copy = strdup(v->s);
    if (!copy) {
        cfg_oom(c);
        return false;
    }
    bool ok = true;
    char *save = NULL;
    for (char *item = strtok_r(copy, ", \t", &save); item && ok;
         item = strtok_r(NULL, ", \t", &save))
        ok = add_sources(c, from, v, sc, item);
    free(copy);
    if (ok && sc->nsrc == 0) {
        cfg_fail(c, -EINVAL, v->line, from, "source_addresses", "is empty (" SOURCES_ALLOWED ")");
        ok = false;
    }
    return ok;
}

static bool get_file(struct ctx *c, const struct section *s, int k, char **out)
{
    const struct section *from;
    const struct value *v = cfg_inherited(c, s, k, &from);
    *out = NULL;
    if (!v)
        return true;
    char *path = cfg_relative_path(c, v->s);
    if (!path) {
        cfg_oom(c);
        return false;
    }
    if (access(path, R_OK) != 0) {
        cfg_fail(c, -EINVAL, v->line, from, keys[k].name, "cannot read '%.200s': %s", path,
                 strerror(errno));
        free(path);
        return false;
    }
    *out = path;
    return true;
}

static bool get_string(struct ctx *c, const struct section *s, int k, char **out)
{
    const struct section *from;
    const struct value *v = cfg_inherited(c, s, k, &from);
    *out = NULL;
    if (!v)
        return true;
    if (!(*out = strdup(v->s))) {
        cfg_oom(c);
        return false;
    }
    return true;
}

/* The TLS settings of a scenario (only read for https:// targets). */
bool cfg_get_tls(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    plan_tls *t = &sc->tls_opts;
    const struct section *from;
    if (!cfg_get_bool(c, s, K_INSECURE, false, &t->insecure) ||
        !cfg_get_bool(c, s, K_TLS_RESUME, true, &t->resume) ||
        !get_file(c, s, K_CA_FILE, &t->ca_file) ||
        !get_file(c, s, K_CLIENT_CERT, &t->client_cert) ||
        !get_file(c, s, K_CLIENT_KEY, &t->client_key) ||
        !get_string(c, s, K_SERVER_NAME, &t->server_name) ||
        !get_string(c, s, K_TLS_CIPHERS, &t->ciphers) ||
        !get_string(c, s, K_TLS_CURVES, &t->curves))
        return false;
    if (!t->client_cert != !t->client_key) {
        const struct value *v =
            cfg_inherited(c, s, t->client_cert ? K_CLIENT_CERT : K_CLIENT_KEY, &from);
        cfg_fail(c, -EINVAL, v->line, from,
                 keys[t->client_cert ? K_CLIENT_CERT : K_CLIENT_KEY].name,
                 "client_cert and client_key go together (give both for mutual TLS)");
        return false;
    }
    t->min_version = 12;
    const struct value *v = cfg_inherited(c, s, K_TLS_MIN_VERSION, &from);
    if (v) {
        if (!strcmp(v->s, "1.2"))
            t->min_version = 12;
        else if (!strcmp(v->s, "1.3"))
            t->min_version = 13;
        else {
            cfg_fail(c, -EINVAL, v->line, from, "tls_min_version",
                     "'%.40s' is not supported (allowed: 1.2, 1.3)", v->s);
            return false;
        }
    }
    if ((v = cfg_inherited(c, s, K_TLS_CURVES, &from))) {
        char *copy = strdup(v->s), *save = NULL;
        if (!copy) {
            cfg_oom(c);
            return false;
        }
        for (char *n = strtok_r(copy, ":, ", &save); n; n = strtok_r(NULL, ":, ", &save)) {
            if (strcasecmp(n, "X25519") && strcasecmp(n, "P-256") && strcasecmp(n, "P-384") &&
                strcasecmp(n, "P-521")) {
                cfg_fail(
                    c, -EINVAL, v->line, from, "tls_curves",
                    "unknown curve '%.40s' (allowed: X25519, P-256, P-384, P-521, separated by "
                    "':')",
                    n);
                free(copy);
                return false;
            }
        }
        free(copy);
    }
    return true;
}

/* Where a scenario's requests go: its own url (a scenario that is one request), else base_url
 * here or in [global]. Fills sc's host, port, TLS flag, Host header and where the URL was set. */
bool cfg_build_origin(struct ctx *c, const struct section *s, plan_scenario *sc, struct url *u)
{
    const struct section *g = c->global;
    const struct value *url = &s->v[K_URL], *path = &s->v[K_PATH];
    if (url->s) {
        if (path->s) {
            cfg_fail(c, -EINVAL, path->line, s, "path",
                     "cannot be combined with url (url is absolute; path joins base_url)");
            return false;
        }
        if (s->v[K_BASE_URL].s) {
            cfg_fail(c, -EINVAL, url->line, s, "url",
                     "cannot be combined with base_url in the same scenario (url is absolute; "
                     "use path with base_url)");
            return false;
        }
        if (!cfg_get_url(c, s, K_URL, false, u))
            return false;
        u->absolute = true;
        sc->url_line = url->line;
        sc->url_key = "url";
    } else {
        const struct section *from = s->v[K_BASE_URL].s ? s : g && g->v[K_BASE_URL].s ? g : NULL;
        if (!from) {
            cfg_fail(c, -EINVAL, s->line, s, NULL,
                     "no target (set url here, or base_url here or in [global])");
            return false;
        }
        if (!cfg_get_url(c, from, K_BASE_URL, true, u))
            return false;
        u->absolute = false;
        sc->url_line = from->v[K_BASE_URL].line;
        sc->url_key = "base_url";
        sc->url_global = from->global;
    }
    sc->port = u->port;
    sc->tls = u->tls;
    sc->host = strndup(u->host, u->hostlen);
    size_t hh = u->hostlen + 2 + 7;
    sc->host_header = malloc(hh);
    if (!sc->host || !sc->host_header) {
        cfg_oom(c);
        return false;
    }
    if (u->port == (u->tls ? 443 : 80))
        snprintf(sc->host_header, hh, u->ipv6 ? "[%s]" : "%s", sc->host);
    else
        snprintf(sc->host_header, hh, u->ipv6 ? "[%s]:%u" : "%s:%u", sc->host, (unsigned)u->port);
    return true;
}

#define MAX_REQUESTS_PER_CONN 1000000000u

/* keepalive, max_requests_per_conn and conn_lifetime. [global]'s values are checked here too,
 * also when the scenario sets its own, so a bad default is reported wherever it is written. The
 * limits combine: a connection is closed at the first one it reaches (keepalive = off is one
 * request per connection, whatever max_requests_per_conn says). */
bool cfg_get_conn_limits(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const struct section *secs[2] = {c->global, s};
    bool keepalive = true;
    uint64_t maxreq = 0, life = 0;
    for (int i = 0; i < 2; i++) {
        const struct section *from = secs[i];
        if (!from)
            continue;
        const struct value *v = &from->v[K_KEEPALIVE];
        if (v->s) {
            if (!strcasecmp(v->s, "on") || !strcasecmp(v->s, "true") || !strcasecmp(v->s, "yes") ||
                !strcmp(v->s, "1"))
                keepalive = true;
            else if (!strcasecmp(v->s, "off") || !strcasecmp(v->s, "false") ||
                     !strcasecmp(v->s, "no") || !strcmp(v->s, "0"))
                keepalive = false;
            else {
                cfg_fail(c, -EINVAL, v->line, from, "keepalive",
                         "'%.40s' is not on or off (allowed: on, off)", v->s);
                return false;
            }
        }
        v = &from->v[K_MAX_REQUESTS_PER_CONN];
        if (v->s) {
            if (!strcmp(v->s, "0")) {
                cfg_fail(c, -EINVAL, v->line, from, "max_requests_per_conn",
                         "0 is out of range (allowed: 1..%u; leave it out for no limit)",
                         MAX_REQUESTS_PER_CONN);
                return false;
            }
            if (!cfg_get_uint(c, from, K_MAX_REQUESTS_PER_CONN, 1, MAX_REQUESTS_PER_CONN, &maxreq))
                return false;
        }
        v = &from->v[K_CONN_LIFETIME];
        if (v->s) {
            if (!cfg_get_duration(c, from, K_CONN_LIFETIME, true, &life))
                return false;
            if (life == 0) {
                cfg_fail(c, -EINVAL, v->line, from, "conn_lifetime",
                         "must be more than 0 (a duration such as 30s or 500ms; leave it out for "
                         "no limit)");
                return false;
            }
        }
    }
    sc->keepalive_off = !keepalive;
    sc->max_requests_per_conn = keepalive ? (uint32_t)maxreq : 1;
    sc->conn_lifetime_ns = life;
    return true;
}
