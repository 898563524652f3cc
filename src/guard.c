/* guard: allow_hosts rules, parsed once and matched against each target host (see guard.h).
 *
 * Rules are strict: anything that is not clearly a name, a *.suffix, an address or a CIDR block
 * is an error rather than a rule that silently matches nothing (or, worse, everything), since a
 * guard that is wrong in the permissive direction is how load reaches production. */
#include "guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALLOWED                                                                                    \
    "allowed: host names, *.suffix, IP addresses, CIDR blocks such as 10.0.0.0/8, separated by "   \
    "commas"

void guard_rules_free(guard_rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].name);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Letters, digits, '-' and '_' in dot-separated labels, none empty (the URL parser's host
 * characters; a trailing dot was removed before). */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.' ? s[i + 1] == '.' : !(isalnum(ch) || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* addr with every bit past prefix cleared. */
static void mask_addr(uint8_t *a, size_t bytes, unsigned prefix)
{
    for (size_t i = 0; i < bytes; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
        a[i] &= (uint8_t)(0xff00u >> keep);
    }
}

/* One rule, r[0..n) (trimmed, not empty). */
static int parse_rule(guard_rule *g, const char *r, size_t n, char *err, size_t errlen)
{
    char t[INET6_ADDRSTRLEN + 8];
    memset(g, 0, sizeof *g);
    if (r[0] == '[') {
        snprintf(err, errlen, "'%.*s': write IPv6 addresses without brackets (e.g. ::1)",
                 (int)(n > 60 ? 60 : n), r);
        return -EINVAL;
    }
    const char *slash = memchr(r, '/', n);
    size_t alen = slash ? (size_t)(slash - r) : n;
    if (alen < sizeof t) {
        memcpy(t, r, alen);
        t[alen] = '\0';
        bool v6 = inet_pton(AF_INET6, t, g->addr) == 1;
        if (v6 || inet_pton(AF_INET, t, g->addr) == 1) {
            g->kind = GUARD_ADDR;
            g->family = v6 ? AF_INET6 : AF_INET;
            unsigned bits = v6 ? 128 : 32;
            g->prefix = bits;
            if (!slash)
                return 0;
            unsigned long len = 0;
            const char *d = slash + 1, *end = r + n;
            bool digits = d < end && end - d <= 3;
            for (const char *q = d; q < end; q++)
                digits = digits && *q >= '0' && *q <= '9';
            if (digits)
                len = strtoul(d, NULL, 10);
            if (!digits || len > bits) {
                snprintf(err, errlen, "'%.*s': the prefix length must be 0..%u", (int)n, r, bits);
                return -EINVAL;
            }
            uint8_t net[16];
            memcpy(net, g->addr, sizeof net);
            mask_addr(net, bits / 8, (unsigned)len);
            if (memcmp(net, g->addr, bits / 8) != 0) {
                /* 10.1.2.3/8 is most likely a typo for one address or for the block */
                char shown[INET6_ADDRSTRLEN];
                inet_ntop(g->family, net, shown, sizeof shown);
                snprintf(err, errlen,
                         "'%.*s' has bits set past /%lu (did you mean %s/%lu, or the address "
                         "alone?)",
                         (int)n, r, len, shown, len);
                return -EINVAL;
            }
            g->prefix = (unsigned)len;
            return 0;
        }
    }
    if (slash || memchr(r, ':', n)) {
        snprintf(err, errlen,
                 "'%.*s' is not an IP address or CIDR block (ports and schemes are not part of a "
                 "rule; " ALLOWED ")",
                 (int)(n > 60 ? 60 : n), r);
        return -EINVAL;
    }
    if (n == 1 && r[0] == '*') {
        snprintf(err, errlen,
                 "'*' would allow every host (remove allow_hosts instead, or " ALLOWED ")");
        return -EINVAL;
    }
    bool suffix = n >= 2 && r[0] == '*' && r[1] == '.';
    const char *name = suffix ? r + 2 : r;
    size_t nl = suffix ? n - 2 : n;
    if (nl > 1 && name[nl - 1] == '.')
        nl--; /* example.com. is example.com */
    if (memchr(name, '*', nl)) {
        snprintf(err, errlen,
                 "'%.*s': '*' may only start a rule, as in *.example.com (" ALLOWED ")",
                 (int)(n > 60 ? 60 : n), r);
        return -EINVAL;
    }
    if (!valid_name(name, nl)) {
        snprintf(err, errlen, "'%.*s' is not a host name (" ALLOWED ")", (int)(n > 60 ? 60 : n), r);
        return -EINVAL;
    }
    if (!(g->name = strndup(name, nl)))
        return -ENOMEM;
    for (char *p = g->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    g->kind = suffix ? GUARD_SUFFIX : GUARD_NAME;
    return 0;
}

int guard_rules_parse(guard_rules *out, const char *text, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    if (!(out->v = calloc(count, sizeof *out->v)))
        return -ENOMEM;
    const char *p = text;
    for (size_t i = 0; i < count; i++) {
        const char *end = strchrnul(p, ',');
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b) {
            if (count == 1)
                snprintf(err, errlen, "is empty (remove it to allow every host; " ALLOWED ")");
            else
                snprintf(err, errlen, "rule %zu is empty (" ALLOWED ")", i + 1);
            guard_rules_free(out);
            return -EINVAL;
        }
        int rc = parse_rule(&out->v[out->n], a, (size_t)(b - a), err, errlen);
        if (rc) {
            guard_rules_free(out);
            return rc;
        }
        out->n++;
        p = *end ? end + 1 : end;
    }
    return 0;
}

bool guard_host_allowed(const guard_rules *r, const char *host)
{
    uint8_t a[16];
    int family = inet_pton(AF_INET6, host, a) == 1  ? AF_INET6
                 : inet_pton(AF_INET, host, a) == 1 ? AF_INET
                                                    : 0;
    size_t hl = strlen(host);
    if (!family && hl > 1 && host[hl - 1] == '.')
        hl--;
    for (size_t i = 0; i < r->n; i++) {
        const guard_rule *g = &r->v[i];
        if (g->kind == GUARD_ADDR) {
            if (g->family != family)
                continue;
            uint8_t net[16];
            size_t bytes = family == AF_INET6 ? 16 : 4;
            memcpy(net, a, bytes);
            mask_addr(net, bytes, g->prefix);
            if (memcmp(net, g->addr, bytes) == 0)
                return true;
            continue;
        }
        if (family)
            continue; /* an address is never matched by a name */
        size_t nl = strlen(g->name);
        if (g->kind == GUARD_NAME && hl == nl && strncasecmp(host, g->name, nl) == 0)
            return true;
        if (g->kind == GUARD_SUFFIX && hl > nl + 1 && host[hl - nl - 1] == '.' &&
            strncasecmp(host + hl - nl, g->name, nl) == 0 && host[0] != '.')
            return true;
    }
    return false;
}
