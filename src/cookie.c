/* cookie: the per-VU cookie jar (see include/cookie.h).
 *
 * Invariant: c[0..n) are packed in the arena in that order with no gaps (c[0].off == 0, each
 * next one starts where the previous one ends, used is where the last one ends), so removing a
 * cookie is one memmove of what follows it, and every cookie's bytes lie inside the arena.
 * Every parse here works on (pointer, length) spans and never reads past them: nothing in the
 * input needs a NUL terminator. */
#include "cookie.h"

#include <string.h>

typedef struct span {
    const char *p;
    size_t n;
} span;

static span mkspan(const char *p, const char *end)
{
    return (span){p, (size_t)(end - p)};
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static bool ieq(span a, span b)
{
    if (a.n != b.n)
        return false;
    if (a.n == 0 || memcmp(a.p, b.p, a.n) == 0) /* mostly lower case already */
        return true;
    for (size_t i = 0; i < a.n; i++)
        if (lower(a.p[i]) != lower(b.p[i]))
            return false;
    return true;
}

static bool is_word(span s, const char *w)
{
    return ieq(s, (span){w, strlen(w)});
}

static span trim(span s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

/* RFC 7230 tchar: what a cookie name (an RFC 2616 token) is made of. */
static bool token_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(span s)
{
    for (size_t i = 0; i < s.n; i++)
        if (!token_char((unsigned char)s.p[i]))
            return false;
    return s.n > 0;
}

/* Values are sent back as they came, so they must not break the request head: no control
 * bytes. Anything else (quotes, spaces, commas, UTF-8) is what servers really send. */
static bool value_ok(span s)
{
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
            return false;
    return true;
}

/* The host name without a ":port" ("[v6]:port" keeps its brackets; a bare IPv6 address, with
 * more than one colon, is left whole). */
static span host_of(const char *h, size_t n)
{
    span s = {h, n};
    if (n == 0)
        return s;
    if (h[0] == '[') {
        const char *close = memchr(h, ']', n);
        if (close)
            s.n = (size_t)(close - h) + 1;
        return s;
    }
    const char *colon = memchr(h, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - h) - 1))
        s.n = (size_t)(colon - h);
    return s;
}

/* An IP address matches only itself (RFC 6265 5.1.3): IPv6 has a colon or brackets, IPv4 ends
 * in a numeric label (as browsers decide it). */
static bool is_ip(span h)
{
    if (!h.n)
        return false;
    if (h.p[0] == '[' || memchr(h.p, ':', h.n))
        return true;
    size_t i = h.n;
    while (i && h.p[i - 1] >= '0' && h.p[i - 1] <= '9')
        i--;
    return i < h.n && (i == 0 || h.p[i - 1] == '.');
}

/* The request path without its query or fragment, "/" when empty. */
static span path_of(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '?' || p[i] == '#') {
            n = i;
            break;
        }
    return n ? (span){p, n} : (span){"/", 1};
}

/* RFC 6265 5.1.4: the directory of the request path. */
static span default_path(span req)
{
    if (req.p[0] != '/')
        return (span){"/", 1};
    size_t last = req.n - 1;
    while (req.p[last] != '/')
        last--;
    return last == 0 ? (span){"/", 1} : (span){req.p, last};
}

/* RFC 6265 5.1.3: domain is host, or a parent domain of a host that is not an IP address. */
static bool domain_match(span host, span domain)
{
    if (ieq(host, domain))
        return true;
    if (domain.n == 0 || host.n <= domain.n || is_ip(host))
        return false;
    return host.p[host.n - domain.n - 1] == '.' &&
           ieq((span){host.p + host.n - domain.n, domain.n}, domain);
}

/* RFC 6265 5.1.4: cookie path is the request path, or a prefix of it ending at a '/'. */
static bool path_match(span req, span cpath)
{
    if (cpath.n > req.n || memcmp(req.p, cpath.p, cpath.n) != 0)
        return false;
    return cpath.n == req.n || cpath.p[cpath.n - 1] == '/' || req.p[cpath.n] == '/';
}

/* ---- dates (RFC 6265 5.1.1) ---- */

static bool date_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
           (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* Reads min..max digits at t[*i], then requires a non-digit or the end. */
static bool digits(span t, size_t *i, size_t min, size_t max, int *out)
{
    size_t k = 0;
    int v = 0;
    while (*i + k < t.n && k < max && t.p[*i + k] >= '0' && t.p[*i + k] <= '9')
        v = v * 10 + (t.p[*i + k++] - '0');
    if (k < min || (*i + k < t.n && t.p[*i + k] >= '0' && t.p[*i + k] <= '9'))
        return false;
    *i += k;
    *out = v;
    return true;
}

static bool time_token(span t, int hms[3])
{
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        if (k && (i >= t.n || t.p[i++] != ':'))
            return false;
        if (!digits(t, &i, 1, 2, &hms[k]))
            return false;
    }
    return true;
}

static int month_token(span t)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (t.n < 3)
        return 0;
    for (int m = 0; m < 12; m++)
        if (ieq((span){t.p, 3}, (span){names + 3 * m, 3}))
            return m + 1;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Parses a cookie-date the way RFC 6265 5.1.1 does, which takes the IMF-fixdate, RFC 850 and
 * asctime forms alike: tokens in any order, the first that fits each of time, day, month and
 * year. Returns false when one is missing or the date does not exist. */
static bool parse_date(span s, int64_t *out)
{
    int hms[3] = {0}, day = 0, month = 0, year = 0;
    bool got_time = false, got_day = false, got_year = false;
    for (size_t i = 0; i < s.n;) {
        while (i < s.n && date_delim((unsigned char)s.p[i]))
            i++;
        size_t start = i;
        while (i < s.n && !date_delim((unsigned char)s.p[i]))
            i++;
        span t = {s.p + start, i - start};
        size_t at = 0;
        if (!t.n)
            continue;
        if (!got_time && time_token(t, hms))
            got_time = true;
        else if (!got_day && digits(t, &at, 1, 2, &day))
            got_day = true;
        else if (!month && (month = month_token(t)) != 0)
            continue;
        else if (!got_year && (at = 0, digits(t, &at, 2, 4, &year)))
            got_year = true;
    }
    if (!got_time || !got_day || !month || !got_year)
        return false;
    if (year >= 70 && year <= 99)
        year += 1900;
    else if (year <= 69)
        year += 2000;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int last = mdays[month - 1] + (month == 2 && leap(year));
    if (day < 1 || day > last || year < 1601 || hms[0] > 23 || hms[1] > 59 || hms[2] > 59)
        return false;
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t y = year - 1;
    /* Days since 0001-01-01 (proleptic Gregorian), less the 719162 before 1970-01-01. */
    int64_t days = 365 * y + y / 4 - y / 100 + y / 400 + before[month - 1] +
                   (month > 2 && leap(year)) + day - 1 - 719162;
    *out = days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    return true;
}

/* Max-Age: an optional '-' then digits. Returns false when it is not that. */
static bool parse_max_age(span v, int64_t now, int64_t *expires)
{
    size_t i = v.n && v.p[0] == '-' ? 1 : 0;
    if (i == v.n)
        return false;
    int64_t delta = 0;
    for (; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
        int d = v.p[i] - '0';
        delta = delta > (INT64_MAX - d) / 10 ? INT64_MAX : delta * 10 + d;
    }
    if (v.p[0] == '-' || delta == 0)
        *expires = INT64_MIN;
    else if (now >= 0 && delta > INT64_MAX - 1 - now)
        *expires = INT64_MAX - 1; /* INT64_MAX is a session cookie: this one ends before it */
    else
        *expires = now + delta;
    return true;
}

/* ---- the jar ---- */

static size_t ent_size(const cookie_ent *e)
{
    return (size_t)e->name_len + e->value_len + e->domain_len + e->path_len;
}

static span ent_name(const cookie_jar *j, const cookie_ent *e)
{
    return (span){j->arena + e->off, e->name_len};
}

static span ent_domain(const cookie_jar *j, const cookie_ent *e)
{
    return (span){j->arena + e->off + e->name_len + e->value_len, e->domain_len};
}

static span ent_path(const cookie_jar *j, const cookie_ent *e)
{
    return (span){j->arena + e->off + e->name_len + e->value_len + e->domain_len, e->path_len};
}

static int find(const cookie_jar *j, span name, span domain, span path)
{
    for (uint32_t i = 0; i < j->n; i++) {
        const cookie_ent *e = &j->c[i];
        span n = ent_name(j, e), p = ent_path(j, e);
        if (n.n == name.n && memcmp(n.p, name.p, n.n) == 0 && p.n == path.n &&
            memcmp(p.p, path.p, p.n) == 0 && ieq(ent_domain(j, e), domain))
            return (int)i;
    }
    return -1;
}

/* Removes c[skip] (when skip >= 0), the expired cookies and then the `drop` least recently
 * stored of the rest, packing the survivors: one pass, each byte moved at most once. */
static void compact(cookie_jar *j, int skip, int64_t now, uint32_t drop)
{
    uint32_t w = 0, used = 0;
    for (uint32_t i = 0; i < j->n; i++) {
        cookie_ent e = j->c[i];
        if ((int)i == skip || e.expires <= now)
            continue;
        if (drop) {
            drop--;
            continue;
        }
        size_t sz = ent_size(&e);
        if (e.off != used)
            memmove(j->arena + used, j->arena + e.off, sz);
        e.off = (uint16_t)used;
        j->c[w++] = e;
        used += (uint32_t)sz;
    }
    j->n = w;
    j->used = used;
}

void cookie_jar_clear(cookie_jar *j)
{
    memset(j, 0, sizeof *j);
}

size_t cookie_jar_count(const cookie_jar *j)
{
    return j->n;
}

typedef struct attrs {
    span domain, path;
    bool has_path, secure, has_max_age, has_expires;
    int64_t max_age_expires, expires;
} attrs;

/* Reads the attributes after the name=value pair; the last of each kind wins (RFC 6265 5.3).
 * Attributes with values that do not parse are ignored, as RFC 6265 5.2 says. */
static void parse_attrs(span s, int64_t now, attrs *a)
{
    const char *p = s.p, *end = s.p + s.n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *av_end = semi ? semi : end;
        const char *eq = memchr(p, '=', (size_t)(av_end - p));
        span key = trim(mkspan(p, eq ? eq : av_end));
        span v = eq ? trim(mkspan(eq + 1, av_end)) : (span){av_end, 0};
        p = semi ? semi + 1 : end;
        if (is_word(key, "expires")) {
            a->has_expires |= parse_date(v, &a->expires);
        } else if (is_word(key, "max-age")) {
            a->has_max_age |= parse_max_age(v, now, &a->max_age_expires);
        } else if (is_word(key, "domain") && v.n) {
            a->domain = v.p[0] == '.' ? (span){v.p + 1, v.n - 1} : v;
        } else if (is_word(key, "path")) {
            a->has_path = v.n && v.p[0] == '/';
            a->path = v;
        } else if (is_word(key, "secure")) {
            a->secure = true;
        }
    }
}

void cookie_jar_set(cookie_jar *j, const char *host, size_t host_len, const char *path,
                    size_t path_len, bool https, const char *value, size_t value_len, int64_t now)
{
    (void)https; /* RFC 6265 stores a Secure cookie from any scheme; it is only sent on https */
    if (value_len == 0)
        return;
    const char *end = value + value_len;
    const char *semi = memchr(value, ';', value_len);
    const char *pair_end = semi ? semi : end;
    const char *eq = memchr(value, '=', (size_t)(pair_end - value));
    if (!eq)
        return;
    span name = trim(mkspan(value, eq)), val = trim(mkspan(eq + 1, pair_end));
    if (!is_token(name) || !value_ok(val))
        return;
    attrs a = {0};
    if (semi)
        parse_attrs(mkspan(semi + 1, end), now, &a);

    span h = host_of(host, host_len);
    bool host_only = a.domain.n == 0;
    if (!host_only && !domain_match(h, a.domain))
        return;
    span domain = host_only ? h : a.domain;
    span cpath = a.has_path ? a.path : default_path(path_of(path, path_len));
    int64_t expires = a.has_max_age ? a.max_age_expires : a.has_expires ? a.expires : INT64_MAX;

    int old = find(j, name, domain, cpath);
    size_t need = name.n + val.n + domain.n + cpath.n;
    if (expires <= now) {
        compact(j, old, now, 0);
        return;
    }
    if (need > COOKIE_ARENA)
        return;
    uint64_t created = old >= 0 ? j->c[old].created : j->next_seq++;
    compact(j, old, now, 0);
    uint32_t drop = 0;
    for (size_t freed = 0; j->n - drop == COOKIE_MAX || j->used - freed + need > COOKIE_ARENA;)
        freed += ent_size(&j->c[drop++]);
    if (drop)
        compact(j, -1, now, drop);

    char *dst = j->arena + j->used;
    memcpy(dst, name.p, name.n);
    memcpy(dst + name.n, val.p, val.n);
    for (size_t i = 0; i < domain.n; i++)
        dst[name.n + val.n + i] = lower(domain.p[i]);
    memcpy(dst + name.n + val.n + domain.n, cpath.p, cpath.n);
    j->c[j->n++] = (cookie_ent){
        .expires = expires,
        .created = created,
        .off = (uint16_t)j->used,
        .name_len = (uint16_t)name.n,
        .value_len = (uint16_t)val.n,
        .domain_len = (uint16_t)domain.n,
        .path_len = (uint16_t)cpath.n,
        .host_only = host_only,
        .secure = a.secure,
    };
    j->used += (uint32_t)need;
}

/* RFC 6265 5.4 order: longer paths first, then earlier created. */
static bool goes_before(const cookie_ent *a, const cookie_ent *b)
{
    return a->path_len != b->path_len ? a->path_len > b->path_len : a->created < b->created;
}

size_t cookie_jar_header(const cookie_jar *j, const char *host, size_t host_len, const char *path,
                         size_t path_len, bool https, int64_t now, char *out, size_t cap)
{
    span h = host_of(host, host_len), req = path_of(path, path_len);
    uint8_t order[COOKIE_MAX];
    uint32_t m = 0;
    for (uint32_t i = 0; i < j->n && i < COOKIE_MAX; i++) {
        const cookie_ent *e = &j->c[i];
        if (e->expires <= now || (e->secure && !https))
            continue;
        span d = ent_domain(j, e);
        if (e->host_only ? !ieq(h, d) : !domain_match(h, d))
            continue;
        if (!path_match(req, ent_path(j, e)))
            continue;
        uint32_t k = m++;
        for (; k > 0 && goes_before(e, &j->c[order[k - 1]]); k--)
            order[k] = order[k - 1];
        order[k] = (uint8_t)i;
    }
    size_t len = 0;
    for (uint32_t k = 0; k < m; k++) {
        const cookie_ent *e = &j->c[order[k]];
        size_t sep = len ? 2 : 0, need = sep + e->name_len + 1 + e->value_len;
        if (need > cap - len)
            continue;
        memcpy(out + len, "; ", sep);
        memcpy(out + len + sep, j->arena + e->off, e->name_len);
        out[len + sep + e->name_len] = '=';
        memcpy(out + len + sep + e->name_len + 1, j->arena + e->off + e->name_len, e->value_len);
        len += need;
    }
    return len;
}
