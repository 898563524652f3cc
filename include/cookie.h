/* cookie: one virtual user's cookie jar (RFC 6265, the parts a load test meets).
 *
 * A jar is a plain fixed-size struct that never allocates: blast embeds one per VU, and a
 * zero-filled jar is empty. It holds at most COOKIE_MAX cookies whose names, values, domains and
 * paths share COOKIE_ARENA bytes, packed without gaps in the order the cookies were stored.
 * When a new cookie does not fit, expired cookies go first, then the least recently stored
 * ones; a cookie that could not fit in an empty jar is ignored.
 *
 * Storing (cookie_jar_set) and building the Cookie header (cookie_jar_header) run on every
 * response and request: both are bounded by their input and the jar's fixed size, and read and
 * write only inside what they are given. One jar belongs to one thread. */
#ifndef BLAST_COOKIE_H
#define BLAST_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_MAX 32     /* cookies in a jar */
#define COOKIE_ARENA 4096 /* bytes for all their names, values, domains and paths together */

/* Private: callers use the functions below. */
typedef struct cookie_ent {
    int64_t expires;  /* unix seconds: live while now < expires; INT64_MAX for a session cookie */
    uint64_t created; /* creation order (kept when a cookie is replaced): header order */
    uint16_t off;     /* name, value, domain and path, one after the other in the arena */
    uint16_t name_len, value_len, domain_len, path_len;
    bool host_only; /* no Domain attribute: sent to the exact host only */
    bool secure;    /* sent over https only */
} cookie_ent;

typedef struct cookie_jar {
    cookie_ent c[COOKIE_MAX]; /* c[0..n): least recently stored first, packed in the arena */
    uint32_t n;
    uint32_t used;     /* arena bytes in use: the end of c[n - 1] */
    uint64_t next_seq; /* the next creation number */
    char arena[COOKIE_ARENA];
} cookie_jar;

/* Empties j (the same as zeroing it). */
void cookie_jar_clear(cookie_jar *j);

/* Stores one Set-Cookie header value (value[0..value_len), without the header name) received
 * in a response to a request for host/path over http or https, at unix time now (seconds).
 * host is the request's host name or IP address (compared case-insensitively; an IPv6 address
 * in brackets; a ":port" after it is ignored, as cookies do not tell ports apart); path is the
 * request target ("/a/b?q": the query is ignored). The value is name=value (name a non-empty
 * token; the value kept as sent, quotes included, without control bytes) then attributes:
 * Path, Domain (must domain-match host, else the cookie is rejected; there is no public suffix
 * list), Max-Age (wins over Expires), Expires (IMF-fixdate, RFC 850 or asctime form), Secure
 * (stored from http too, as RFC 6265 says); HttpOnly, SameSite and unknown ones are ignored. A
 * cookie with the same name, domain and path replaces the stored one (keeping its creation order);
 * one that is already expired deletes it. Invalid or rejected cookies are ignored. Hot path: no
 * allocation, never fails. */
void cookie_jar_set(cookie_jar *j, const char *host, size_t host_len, const char *path,
                    size_t path_len, bool https, const char *value, size_t value_len, int64_t now);

/* Writes the Cookie header value for a request to host/path (as for cookie_jar_set) at time now:
 * "a=1; b=2", no header name, no CRLF, not NUL-terminated, into out[0..cap). Cookies whose
 * domain and path match, that are live and, when Secure, only over https, in RFC 6265 order:
 * longer paths first, then older first. A cookie that does not fit in what is left of cap is
 * left out (later, shorter ones may still go in). Returns the length written; 0 when no cookie
 * applies. Hot path: no allocation; nothing is written at or past out[cap]. */
size_t cookie_jar_header(const cookie_jar *j, const char *host, size_t host_len, const char *path,
                         size_t path_len, bool https, int64_t now, char *out, size_t cap);

/* Number of cookies stored (expired ones may still be counted until the next cookie_jar_set). */
size_t cookie_jar_count(const cookie_jar *j);

#endif
