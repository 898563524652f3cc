/* request: request programs and their builds (see include/request.h).
 *
 * A program is the request as pieces in wire order. Building writes them front to back; a
 * templated body is expanded first, at the far end of the buffer, so that its length is known
 * when Content-Length is written, and then moved right after the head.
 *
 * Invariant: every byte a build writes lies in buf[0 .. cap), and the head it leaves has valid
 * syntax (token method, target without SP or CTL, "Name: value" fields with text values), because
 * each expanded piece is checked before the next is written. */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "version.h"

enum { R_HOST = 1, R_USER_AGENT = 2, R_CONTENT_LENGTH = 4 };

struct req_prog {
    char *line0; /* "METHOD " */
    size_t line0_len;
    const tpl *target;
    char *fixed; /* " HTTP/1.1\r\n" and blast's own Host and User-Agent lines */
    size_t fixed_len;
    const tpl **headers;
    size_t nheaders;
    char *body;           /* a static body framed for chunked (owned) */
    const char *body_ref; /* or the caller's static body, sent as it is */
    size_t body_len;
    const tpl *body_tpl;
    bool chunked;
    bool cookies;
    bool content_length; /* write blast's Content-Length */
    size_t cap;
};

void req_prog_free(req_prog *p)
{
    if (!p)
        return;
    free(p->line0);
    free(p->fixed);
    free(p->headers);
    free(p->body);
    free(p);
}

/* Which default a literal header name replaces, or -1 when the name is not a token. */
static int header_kind(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!http1_is_tchar((unsigned char)h[i]))
            return -1;
    if (n == 0)
        return -1;
    if (n == 4 && strncasecmp(h, "host", n) == 0)
        return R_HOST;
    if (n == 10 && strncasecmp(h, "user-agent", n) == 0)
        return R_USER_AGENT;
    if (n == 14 && strncasecmp(h, "content-length", n) == 0)
        return R_CONTENT_LENGTH;
    if (n == 17 && strncasecmp(h, "transfer-encoding", n) == 0)
        return 8;
    return 0;
}

int req_prog_new(req_prog **out, const req_spec *spec, char *err, size_t errlen)
{
    *out = NULL;
    req_prog *p = calloc(1, sizeof(*p));
    if (!p)
        goto nomem;
    size_t mlen = strlen(spec->method);
    for (size_t i = 0; i < mlen; i++)
        if (!http1_is_tchar((unsigned char)spec->method[i])) {
            snprintf(err, errlen, "'%s' is not a valid method", spec->method);
            req_prog_free(p);
            return -EINVAL;
        }
    unsigned replaced = 0;
    p->headers = calloc(spec->nheaders ? spec->nheaders : 1, sizeof(*p->headers));
    if (!p->headers)
        goto nomem;
    for (size_t i = 0; i < spec->nheaders; i++) {
        const char *h = spec->header_text[i];
        const char *colon = strchr(h, ':');
        const char *brace = strstr(h, "{{");
        int k = colon && (!brace || brace > colon) ? header_kind(h, (size_t)(colon - h)) : -1;
        if (k < 0) {
            snprintf(err, errlen, "'%.60s' is not 'Name: value' with a literal name", h);
            req_prog_free(p);
            return -EINVAL;
        }
        replaced |= (unsigned)k;
        p->headers[i] = spec->headers[i];
    }
    p->nheaders = spec->nheaders;
    if ((replaced & 8) || ((replaced & R_CONTENT_LENGTH) && spec->chunked)) {
        snprintf(err, errlen,
                 spec->chunked ? "Content-Length cannot be set with transfer_encoding = chunked"
                               : "Transfer-Encoding is set by transfer_encoding = chunked, not "
                                 "as a header");
        req_prog_free(p);
        return -EINVAL;
    }

    p->line0_len = mlen + 1;
    if (!(p->line0 = malloc(p->line0_len + 1)))
        goto nomem;
    memcpy(p->line0, spec->method, mlen);
    p->line0[mlen] = ' ';
    p->target = spec->target;
    size_t flen = strlen(" HTTP/1.1\r\n") + strlen("Host: \r\n") + strlen(spec->host) +
                  strlen("User-Agent: blast/" BLAST_VERSION "\r\n") + 1;
    if (!(p->fixed = malloc(flen)))
        goto nomem;
    int n = snprintf(p->fixed, flen, " HTTP/1.1\r\n%s%s%s%s",
                     replaced & R_HOST ? "" : "Host: ", replaced & R_HOST ? "" : spec->host,
                     replaced & R_HOST ? "" : "\r\n",
                     replaced & R_USER_AGENT ? "" : "User-Agent: blast/" BLAST_VERSION "\r\n");
    p->fixed_len = (size_t)n;

    p->chunked = spec->chunked;
    p->cookies = spec->cookies;
    p->body_tpl = spec->body_tpl;
    bool has_body = spec->body_tpl || spec->body_len;
    p->content_length = !(replaced & R_CONTENT_LENGTH) && !spec->chunked &&
                        (has_body || !strcmp(spec->method, "POST") ||
                         !strcmp(spec->method, "PUT") || !strcmp(spec->method, "PATCH"));
    if (spec->body_len && !spec->chunked) {
        /* The caller's copy is sent as it is (it outlives the program): one copy of a large
         * body in memory, not two. */
        p->body_ref = spec->body;
        p->body_len = spec->body_len;
    } else if (spec->body_len) {
        /* A static body is framed once: one chunk, then the last chunk. */
        size_t extra = 32;
        if (!(p->body = malloc(spec->body_len + extra)))
            goto nomem;
        size_t o = 0;
        if (spec->chunked)
            o = (size_t)sprintf(p->body, "%zx\r\n", spec->body_len);
        memcpy(p->body + o, spec->body, spec->body_len);
        o += spec->body_len;
        if (spec->chunked) {
            memcpy(p->body + o, "\r\n0\r\n\r\n", 7);
            o += 7;
        }
        p->body_len = o;
    } else if (spec->chunked && !spec->body_tpl) {
        if (!(p->body = malloc(5)))
            goto nomem;
        memcpy(p->body, "0\r\n\r\n", 5);
        p->body_len = 5;
    }

    size_t cap = p->line0_len + tpl_max_len(p->target) + p->fixed_len;
    for (size_t i = 0; i < p->nheaders; i++)
        cap += tpl_max_len(p->headers[i]) + 2;
    if (p->cookies)
        cap += strlen("Cookie: \r\n") + REQ_COOKIE_MAX;
    cap += strlen("Content-Length: 18446744073709551615\r\n") +
           strlen("Transfer-Encoding: chunked\r\n");
    cap += 2;
    if (p->body_tpl)
        /* the body is expanded at the end first, then moved: room for both, plus framing */
        cap += 2 * tpl_max_len(p->body_tpl) + 32;
    p->cap = cap;
    *out = p;
    return 0;
nomem:
    req_prog_free(p);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

size_t req_prog_cap(const req_prog *p)
{
    return p->cap;
}

static inline bool put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
    if (n > cap - *o)
        return false;
    memcpy(buf + *o, s, n);
    *o += n;
    return true;
}

/* Expands t at buf + *o and checks what it wrote: a target (no SP, no CTL) or a header line
 * ("Name: value" with a text value). */
static int expand_checked(const tpl *t, const tpl_env *env, char *buf, size_t cap, size_t *o,
                          bool target, size_t *missing, const char **why)
{
    ssize_t n = tpl_expand(t, env, buf + *o, cap - *o, missing);
    if (n < 0)
        return (int)n;
    const char *s = buf + *o;
    if (target) {
        if (n == 0 || s[0] != '/') {
            *why = "the request target does not start with '/'";
            return -EINVAL;
        }
        for (ssize_t i = 0; i < n; i++)
            if (!http1_is_text((unsigned char)s[i]) || s[i] == ' ' || s[i] == '\t') {
                *why = "the request target holds a space or control character";
                return -EINVAL;
            }
    } else {
        const char *colon = memchr(s, ':', (size_t)n);
        if (!colon) {
            *why = "a header lost its ':'";
            return -EINVAL;
        }
        for (const char *q = colon + 1; q < s + n; q++)
            if (!http1_is_text((unsigned char)*q)) {
                *why = "a header value holds a line break or control character";
                return -EINVAL;
            }
    }
    *o += (size_t)n;
    return 0;
}

int req_build(const req_prog *p, const tpl_env *env, const char *cookie, size_t cookie_len,
              char *buf, size_t cap, http1_req *out, size_t *missing, const char **why)
{
    *why = NULL;
    size_t o = 0, blen = 0, bstart = cap, full = cap;
    if (p->body_tpl) {
        /* Expand the body at the end of the buffer: its length goes in the head. */
        size_t room = tpl_max_len(p->body_tpl);
        if (room + 32 > cap)
            return -ENOSPC;
        bstart = cap - room;
        ssize_t n = tpl_expand(p->body_tpl, env, buf + bstart, room, missing);
        if (n < 0)
            return (int)n;
        blen = (size_t)n;
        cap = bstart; /* the head must not run into it */
    }
    int rc;
    char num[32];
    if (!put(buf, cap, &o, p->line0, p->line0_len))
        return -ENOSPC;
    if ((rc = expand_checked(p->target, env, buf, cap, &o, true, missing, why)) < 0)
        return rc;
    if (!put(buf, cap, &o, p->fixed, p->fixed_len))
        return -ENOSPC;
    for (size_t i = 0; i < p->nheaders; i++) {
        size_t at = o;
        if ((rc = expand_checked(p->headers[i], env, buf, cap, &o, false, missing, why)) < 0)
            return rc;
        if (o == at) /* a header template that expanded to nothing is left out */
            continue;
        if (!put(buf, cap, &o, "\r\n", 2))
            return -ENOSPC;
    }
    if (cookie_len && p->cookies) {
        if (!put(buf, cap, &o, "Cookie: ", 8) || !put(buf, cap, &o, cookie, cookie_len) ||
            !put(buf, cap, &o, "\r\n", 2))
            return -ENOSPC;
    }
    if (p->chunked) {
        if (!put(buf, cap, &o, "Transfer-Encoding: chunked\r\n", 28))
            return -ENOSPC;
    } else if (p->content_length) {
        int n =
            snprintf(num, sizeof num, "Content-Length: %zu\r\n", p->body_tpl ? blen : p->body_len);
        if (!put(buf, cap, &o, num, (size_t)n))
            return -ENOSPC;
    }
    if (!put(buf, cap, &o, "\r\n", 2))
        return -ENOSPC;
    out->bytes = buf;
    out->body = NULL;
    out->body_len = 0;
    if (p->body_tpl) {
        /* framing (when chunked), the body moved down from the end, the last chunk */
        if (p->chunked && blen) {
            int n = snprintf(num, sizeof num, "%zx\r\n", blen);
            if (!put(buf, cap, &o, num, (size_t)n))
                return -ENOSPC;
        }
        /* o <= bstart, so the moved body ends at or before where it was */
        memmove(buf + o, buf + bstart, blen);
        o += blen;
        if (p->chunked) {
            const char *end = blen ? "\r\n0\r\n\r\n" : "0\r\n\r\n";
            if (!put(buf, full, &o, end, strlen(end)))
                return -ENOSPC;
        }
    } else if (p->body_len) {
        out->body = p->body ? p->body : p->body_ref;
        out->body_len = p->body_len;
    }
    out->len = o;
    return 0;
}
