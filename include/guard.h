/* guard: [global] allow_hosts, the list of hosts blast may send to.
 *
 * A rule is one of: a host name (compared case-insensitively, a trailing dot ignored),
 * "*.suffix" (any name that ends in ".suffix" with at least one label before it; not the bare
 * suffix), an IPv4 or IPv6 address (IPv6 without brackets; compared as addresses, so ::1 is
 * 0:0::1), or an IPv4 or IPv6 CIDR block (10.0.0.0/8, fd00::/8). A host is checked as written in
 * the URL, before it is resolved: a name is only ever matched by name rules, an address only by
 * address rules, so a name that resolves into an allowed block is still refused. */
#ifndef BLAST_GUARD_H
#define BLAST_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    GUARD_NAME,   /* exact host name */
    GUARD_SUFFIX, /* *.suffix */
    GUARD_ADDR,   /* an address, or a block of them (prefix bits < the family's) */
} guard_kind;

typedef struct guard_rule {
    guard_kind kind;
    char *name;       /* GUARD_NAME, GUARD_SUFFIX (without "*."): lower case, no trailing dot */
    int family;       /* GUARD_ADDR: AF_INET or AF_INET6 */
    uint8_t addr[16]; /* GUARD_ADDR, network byte order */
    unsigned prefix;  /* GUARD_ADDR: leading bits that must match (32 / 128: one address) */
} guard_rule;

typedef struct guard_rules {
    guard_rule *v;
    size_t n;
} guard_rules;

/* Parses a comma-separated list of rules (blanks around them ignored). Returns 0 and fills *out
 * (guard_rules_free), -EINVAL with a one-line message in err naming the rule and what is allowed
 * (*out then empty), or -ENOMEM. */
int guard_rules_parse(guard_rules *out, const char *text, char *err, size_t errlen);

/* Frees the rules; a zeroed guard_rules is accepted. */
void guard_rules_free(guard_rules *r);

/* Whether host (as written in a URL, IPv6 without brackets) matches one of the rules. */
bool guard_host_allowed(const guard_rules *r, const char *host);

#endif
