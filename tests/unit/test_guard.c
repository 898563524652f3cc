/* Unit tests for guard: allow_hosts rules as tables. Each row is a rule list and hosts it must
 * allow and refuse; the error table gives the exact message for each bad list. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "guard.h"

typedef struct row {
    const char *rules;
    const char *allow[6];
    const char *refuse[8];
} row;

static const row rows[] = {
    {"api.staging.example.com",
     {"api.staging.example.com", "API.Staging.Example.COM", "api.staging.example.com."},
     {"staging.example.com", "x.api.staging.example.com", "api.staging.example.co",
      "api-staging.example.com", "127.0.0.1"}},
    {"*.staging.example.com",
     {"api.staging.example.com", "a.b.c.staging.example.com", "X.STAGING.example.com"},
     {"staging.example.com", "badstaging.example.com", "api.staging.example.com.evil.org",
      "api.prod.example.com", "example.com", "10.0.0.1"}},
    {"*.example.com, localhost",
     {"a.example.com", "localhost", "LOCALHOST", "localhost."},
     {"example.com", "localhost.localdomain", "alocalhost", "127.0.0.1"}},
    {"127.0.0.1",
     {"127.0.0.1"},
     {"127.0.0.2", "localhost", "::1", "::ffff:127.0.0.1", "127.0.0.1.nip.io"}},
    {"::1",
     {"::1", "0:0::1", "0000:0000:0000:0000:0000:0000:0000:0001"},
     {"::2", "127.0.0.1", "localhost"}},
    {"10.0.0.0/8",
     {"10.0.0.0", "10.1.2.3", "10.255.255.255"},
     {"11.0.0.1", "9.255.255.255", "10.example.com", "::ffff:10.0.0.1"}},
    {"192.168.1.128/25, 172.16.0.0/12",
     {"192.168.1.128", "192.168.1.255", "172.16.0.1", "172.31.255.255"},
     {"192.168.1.127", "172.32.0.0", "172.15.255.255"}},
    {"0.0.0.0/0", {"1.2.3.4", "255.255.255.255"}, {"::1", "example.com"}},
    {"fd00::/8", {"fd00::1", "fdff:ffff::1"}, {"fe00::1", "fc00::1", "10.0.0.1"}},
    {"2001:db8::/32", {"2001:db8::1", "2001:DB8:ffff::"}, {"2001:db9::1"}},
    {"  a.test ,b.test,\t*.c.test  ", {"a.test", "b.test", "x.c.test"}, {"c.test", "d.test"}},
    {"under_score.test", {"under_score.test"}, {"underscore.test"}},
};

Test(guard, matches)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        guard_rules r;
        char err[256] = "";
        cr_assert_eq(guard_rules_parse(&r, rows[i].rules, err, sizeof err), 0, "'%s': %s",
                     rows[i].rules, err);
        for (size_t j = 0; j < 6 && rows[i].allow[j]; j++)
            cr_expect(guard_host_allowed(&r, rows[i].allow[j]), "'%s' should allow '%s'",
                      rows[i].rules, rows[i].allow[j]);
        for (size_t j = 0; j < 8 && rows[i].refuse[j]; j++)
            cr_expect(!guard_host_allowed(&r, rows[i].refuse[j]), "'%s' should refuse '%s'",
                      rows[i].rules, rows[i].refuse[j]);
        guard_rules_free(&r);
    }
}

#define ALLOWED                                                                                    \
    "allowed: host names, *.suffix, IP addresses, CIDR blocks such as 10.0.0.0/8, separated by "   \
    "commas"

Test(guard, bad_rules)
{
    static const struct {
        const char *rules, *err;
    } bad[] = {
        {"", "is empty (remove it to allow every host; " ALLOWED ")"},
        {"  ", "is empty (remove it to allow every host; " ALLOWED ")"},
        {"a.test,,b.test", "rule 2 is empty (" ALLOWED ")"},
        {"a.test,", "rule 2 is empty (" ALLOWED ")"},
        {", a.test", "rule 1 is empty (" ALLOWED ")"},
        {"*", "'*' would allow every host (remove allow_hosts instead, or " ALLOWED ")"},
        {"a.test, *", "'*' would allow every host (remove allow_hosts instead, or " ALLOWED ")"},
        {"*.", "'*.' is not a host name (" ALLOWED ")"},
        {"api.*.example.com",
         "'api.*.example.com': '*' may only start a rule, as in *.example.com (" ALLOWED ")"},
        {"*example.com",
         "'*example.com': '*' may only start a rule, as in *.example.com (" ALLOWED ")"},
        {"*.*.example.com",
         "'*.*.example.com': '*' may only start a rule, as in *.example.com (" ALLOWED ")"},
        {"exa mple.com", "'exa mple.com' is not a host name (" ALLOWED ")"},
        {"a..b", "'a..b' is not a host name (" ALLOWED ")"},
        {".a.test", "'.a.test' is not a host name (" ALLOWED ")"},
        {"[::1]", "'[::1]': write IPv6 addresses without brackets (e.g. ::1)"},
        {"api.test:8080", "'api.test:8080' is not an IP address or CIDR block (ports and schemes "
                          "are not part of a rule; " ALLOWED ")"},
        {"http://api.test", "'http://api.test' is not an IP address or CIDR block (ports and "
                            "schemes are not part of a rule; " ALLOWED ")"},
        {"10.0.0.0/33", "'10.0.0.0/33': the prefix length must be 0..32"},
        {"10.0.0.0/", "'10.0.0.0/': the prefix length must be 0..32"},
        {"10.0.0.0/x", "'10.0.0.0/x': the prefix length must be 0..32"},
        {"fd00::/129", "'fd00::/129': the prefix length must be 0..128"},
        {"10.1.2.3/8",
         "'10.1.2.3/8' has bits set past /8 (did you mean 10.0.0.0/8, or the address alone?)"},
        {"fd00::1/8", "'fd00::1/8' has bits set past /8 (did you mean fd00::/8, or the address "
                      "alone?)"},
        {"example.com/24", "'example.com/24' is not an IP address or CIDR block (ports and schemes "
                           "are not part of a rule; " ALLOWED ")"},
        {"1.2.3.4.5/8", "'1.2.3.4.5/8' is not an IP address or CIDR block (ports and schemes are "
                        "not part of a rule; " ALLOWED ")"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        guard_rules r = {(guard_rule *)0x1, 7};
        char err[512] = "";
        cr_expect_eq(guard_rules_parse(&r, bad[i].rules, err, sizeof err), -EINVAL, "'%s'",
                     bad[i].rules);
        cr_expect_str_eq(err, bad[i].err, "'%s'\n got:  %s\n want: %s", bad[i].rules, err,
                         bad[i].err);
        cr_expect_eq(r.n, 0);
        cr_expect_null(r.v);
    }
}

/* A name never matches an address rule (it is checked before it is resolved), and the other way
 * round: "localhost" is not 127.0.0.1 here. */
Test(guard, names_and_addresses_never_mix)
{
    guard_rules r;
    char err[256];
    cr_assert_eq(guard_rules_parse(&r, "127.0.0.0/8, ::1, 1.2.3.4", err, sizeof err), 0);
    cr_expect(!guard_host_allowed(&r, "localhost"));
    cr_expect(!guard_host_allowed(&r, "1.2.3.4.example.com"));
    cr_expect(guard_host_allowed(&r, "127.9.9.9"));
    guard_rules_free(&r);
    guard_rules_free(&r); /* freeing twice is harmless */
}
