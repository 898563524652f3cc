/* request: requests built per send, for steps whose target, headers or body hold {{ }} and for
 * any step when the VU's cookie jar has something to send.
 *
 * A request program is compiled once per step: literal pieces (the method, "Host:", the
 * User-Agent, fixed headers) are kept as they are and the templates in order. Building writes
 * the request head (and a templated body) into the VU's buffer without allocation; a large
 * static body (@file, `random SIZE`) is not copied but sent after the head from the one copy the
 * program holds (http1_req.body). The same header rules as http1_req_compile: Host, User-Agent and
 * Content-Length written by the user replace blast's own, and every expanded value is checked,
 * so a variable holding a line break can never inject a header. */
#ifndef BLAST_REQUEST_H
#define BLAST_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http1.h"
#include "template.h"

typedef struct req_prog req_prog;

typedef struct req_spec {
    const char *method;             /* a token, upper case */
    const tpl *target;              /* origin form, e.g. "/agents/{{ seq }}" */
    const char *host;               /* Host value ("host:port" when not the default port) */
    const tpl *const *headers;      /* whole "Name: value" lines, compiled */
    const char *const *header_text; /* the same lines as written: the name (before ':') must be
                                       literal */
    size_t nheaders;
    const char *body; /* a static body (copied into the program), or NULL */
    size_t body_len;
    const tpl *body_tpl; /* a templated body, or NULL (not with body) */
    bool chunked;        /* Transfer-Encoding: chunked instead of Content-Length */
    bool cookies;        /* leave room for a Cookie header of up to REQ_COOKIE_MAX */
} req_spec;

/* The longest Cookie header value a build makes room for (a cookie jar's whole arena). */
#define REQ_COOKIE_MAX 4096

/* Compiles spec (the templates stay the caller's and must outlive the program). Returns 0 and
 * *out (req_prog_free), -EINVAL with the reason in err (a method that is not a token, a
 * template in a header name, a header that is not "Name: value", Content-Length with chunked),
 * or -ENOMEM. */
int req_prog_new(req_prog **out, const req_spec *spec, char *err, size_t errlen);

/* Frees a program; NULL is accepted. */
void req_prog_free(req_prog *p);

/* The buffer a build needs at most: the head with every template at its longest, a Cookie
 * header when spec.cookies, and a templated body with its framing. */
size_t req_prog_cap(const req_prog *p);

/* Hot path: builds the request for env into buf[0..cap) (cap >= req_prog_cap) and points *out
 * at it (out->bytes = buf; a static body in out->body). cookie (cookie_len bytes, may be 0) is
 * the Cookie header value to send. Returns 0, or:
 * -ENOENT: a variable a template needs is unset (*missing = its index),
 * -EDOM: bad arithmetic in a template,
 * -EINVAL: an expanded target or header value holds a byte it may not (*why says which),
 * -ENOSPC: cap too small.
 * Never allocates. */
int req_build(const req_prog *p, const tpl_env *env, const char *cookie, size_t cookie_len,
              char *buf, size_t cap, http1_req *out, size_t *missing, const char **why);

#endif
