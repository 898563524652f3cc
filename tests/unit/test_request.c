/* Unit tests for request programs: each row compiles a step (target, headers, body, chunked,
 * cookies) and builds it for a VU, and the exact request bytes are compared. Then the failure
 * rows: unset variables, values that would inject a header or break the request line, buffers
 * too small (a guard byte after the capacity must stay untouched), and compile errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "request.h"
#include "version.h"

#define UA "User-Agent: blast/" BLAST_VERSION "\r\n"

static const char *const var_names[] = {"repeat", "token", "id"};
static const uint32_t var_max[] = {8, 64, 16};

static tpl *tc(const char *text)
{
    tpl_names names = {.vars = var_names, .nvars = 3, .var_max = var_max};
    tpl *t = NULL;
    char err[256];
    cr_assert_eq(tpl_compile(&t, text, strlen(text), &names, err, sizeof err), 0, "%s: %s", text,
                 err);
    return t;
}

typedef struct row {
    const char *method, *target;
    const char *headers[3];
    const char *body;   /* static body */
    const char *body_t; /* templated body */
    bool chunked;
    const char *cookie;
    const char *want_head; /* out->bytes */
    const char *want_body; /* out->body (the static body, framed), or NULL */
} row;

static const row rows[] = {
    {"GET",
     "/a/{{ id }}",
     {NULL},
     NULL,
     NULL,
     false,
     NULL,
     "GET /a/42 HTTP/1.1\r\nHost: h:81\r\n" UA "\r\n",
     NULL},
    {"GET",
     "/x",
     {"Authorization: Bearer {{ token }}", "X-N: {{ seq % 5 + 1 | %03d }}"},
     NULL,
     NULL,
     false,
     NULL,
     "GET /x HTTP/1.1\r\nHost: h:81\r\n" UA "Authorization: Bearer t0k\r\nX-N: 003\r\n\r\n",
     NULL},
    /* a templated body: Content-Length from its expansion */
    {"POST",
     "/hb",
     {"Content-Type: application/json"},
     NULL,
     "{\"n\":\"{{ vu | %05d }}\"}",
     false,
     NULL,
     "POST /hb HTTP/1.1\r\nHost: h:81\r\n" UA
     "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"n\":\"00007\"}",
     NULL},
    /* a static body is not copied: it follows as the second segment */
    {"POST",
     "/up",
     {"X-Upload-Id: {{ id }}"},
     "0123456789",
     NULL,
     false,
     NULL,
     "POST /up HTTP/1.1\r\nHost: h:81\r\n" UA "X-Upload-Id: 42\r\nContent-Length: 10\r\n\r\n",
     "0123456789"},
    /* chunked: one chunk and the last chunk */
    {"POST",
     "/up",
     {NULL},
     "hello",
     NULL,
     true,
     NULL,
     "POST /up HTTP/1.1\r\nHost: h:81\r\n" UA "Transfer-Encoding: chunked\r\n\r\n",
     "5\r\nhello\r\n0\r\n\r\n"},
    {"POST",
     "/up",
     {NULL},
     NULL,
     "id={{ id }}",
     true,
     NULL,
     "POST /up HTTP/1.1\r\nHost: h:81\r\n" UA
     "Transfer-Encoding: chunked\r\n\r\n5\r\nid=42\r\n0\r\n\r\n",
     NULL},
    /* no body but POST: Content-Length 0, as http1_req_compile does */
    {"POST",
     "/p",
     {NULL},
     NULL,
     NULL,
     false,
     NULL,
     "POST /p HTTP/1.1\r\nHost: h:81\r\n" UA "Content-Length: 0\r\n\r\n",
     NULL},
    /* the user's Host and User-Agent replace blast's own */
    {"GET",
     "/",
     {"Host: other", "user-agent: me"},
     NULL,
     NULL,
     false,
     NULL,
     "GET / HTTP/1.1\r\nHost: other\r\nuser-agent: me\r\n\r\n",
     NULL},
    /* cookies from the jar */
    {"GET",
     "/c",
     {NULL},
     NULL,
     NULL,
     false,
     "a=1; b=2",
     "GET /c HTTP/1.1\r\nHost: h:81\r\n" UA "Cookie: a=1; b=2\r\n\r\n",
     NULL},
    /* a header whose template expands to nothing at all is left out */
    {"GET",
     "/",
     {"{{ \"\" }}"},
     NULL,
     NULL,
     false,
     NULL,
     "GET / HTTP/1.1\r\nHost: h:81\r\n" UA "\r\n",
     NULL},
};

static tpl_str vals[3] = {{"1", 1}, {"t0k", 3}, {"42", 2}};

static void build_row(const row *r, size_t i, tpl_str *vars, int want_rc, const char *want_why)
{
    tpl *target = tc(r->target), *hs[3] = {0}, *bt = r->body_t ? tc(r->body_t) : NULL;
    size_t nh = 0;
    while (nh < 3 && r->headers[nh]) {
        /* the name-before-{{ rule is the config's; a whole-template header is allowed here */
        hs[nh] = tc(r->headers[nh]);
        nh++;
    }
    req_spec spec = {.method = r->method,
                     .target = target,
                     .host = "h:81",
                     .headers = (const tpl *const *)hs,
                     .header_text = r->headers,
                     .nheaders = nh,
                     .body = r->body,
                     .body_len = r->body ? strlen(r->body) : 0,
                     .body_tpl = bt,
                     .chunked = r->chunked,
                     .cookies = true};
    req_prog *p = NULL;
    char err[256];
    int rc = req_prog_new(&p, &spec, err, sizeof err);
    if (rc == -EINVAL && nh && !strchr(r->headers[0], ':')) {
        /* "{{ "" }}" has no colon as written: the config never lets it through either */
        cr_expect_not_null(strstr(err, "literal name"), "row %zu: %s", i, err);
    } else {
        cr_assert_eq(rc, 0, "row %zu: %s", i, err);
        size_t cap = req_prog_cap(p);
        char *buf = malloc(cap + 1);
        buf[cap] = 0x5a; /* guard */
        uint64_t rng = 1;
        tpl_env env = {.vu = 7, .iter = 0, .seq = 2, .rng = &rng, .vars = vars};
        http1_req out;
        size_t missing = 99;
        const char *why = NULL;
        rc = req_build(p, &env, r->cookie, r->cookie ? strlen(r->cookie) : 0, buf, cap, &out,
                       &missing, &why);
        cr_expect_eq(rc, want_rc, "row %zu: rc %d (%s)", i, rc, why ? why : "");
        if (rc == 0 && want_rc == 0) {
            cr_expect_eq(out.len, strlen(r->want_head), "row %zu: head length %zu", i, out.len);
            cr_expect(out.len == strlen(r->want_head) && !memcmp(out.bytes, r->want_head, out.len),
                      "row %zu:\n%.*s\n--- want:\n%s", i, (int)out.len, out.bytes, r->want_head);
            if (r->want_body) {
                cr_expect(out.body_len == strlen(r->want_body) &&
                              !memcmp(out.body, r->want_body, out.body_len),
                          "row %zu: body %.*s", i, (int)out.body_len, out.body);
            } else {
                cr_expect_null(out.body, "row %zu", i);
            }
        }
        if (want_why)
            cr_expect(why && strstr(why, want_why), "row %zu: why %s", i, why ? why : "NULL");
        if (want_rc == -ENOENT)
            cr_expect_eq(missing, 1, "row %zu: missing %zu", i, missing);
        cr_expect_eq((unsigned char)buf[cap], 0x5a, "row %zu: wrote past the capacity", i);
        free(buf);
    }
    req_prog_free(p);
    tpl_free(target);
    tpl_free(bt);
    for (size_t k = 0; k < nh; k++)
        tpl_free(hs[k]);
}

Test(request, builds)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        build_row(&rows[i], i, vals, 0, NULL);
}

Test(request, refuses_what_would_break_the_request)
{
    /* token unset: the step needs it */
    tpl_str unset[3] = {{"1", 1}, {NULL, 0}, {"42", 2}};
    row r1 = {"GET", "/x", {"Authorization: Bearer {{ token }}"}, NULL, NULL, false, NULL,
              "",    NULL};
    build_row(&r1, 100, unset, -ENOENT, NULL);
    /* a value with a line break would inject a header */
    tpl_str crlf[3] = {{"1", 1}, {"a\r\nX-Evil: 1", 12}, {"42", 2}};
    build_row(&r1, 101, crlf, -EINVAL, "line break");
    /* and a space in the target would break the request line */
    tpl_str space[3] = {{"1", 1}, {"t", 1}, {"4 2", 3}};
    row r2 = {"GET", "/a/{{ id }}", {NULL}, NULL, NULL, false, NULL, "", NULL};
    build_row(&r2, 102, space, -EINVAL, "space or control");
}

Test(request, too_small_a_buffer_is_refused_not_overrun)
{
    tpl *target = tc("/a/{{ id }}"), *h = tc("X-T: {{ token }}");
    const char *text[] = {"X-T: {{ token }}"};
    req_spec spec = {.method = "GET",
                     .target = target,
                     .host = "h",
                     .headers = (const tpl *const *)&h,
                     .header_text = text,
                     .nheaders = 1};
    req_prog *p = NULL;
    char err[128];
    cr_assert_eq(req_prog_new(&p, &spec, err, sizeof err), 0);
    uint64_t rng = 1;
    tpl_env env = {.vu = 1, .rng = &rng, .vars = vals};
    for (size_t cap = 0; cap < 40; cap++) {
        char buf[64];
        memset(buf, 0x5a, sizeof buf);
        http1_req out;
        size_t missing;
        const char *why;
        int rc = req_build(p, &env, NULL, 0, buf, cap, &out, &missing, &why);
        cr_expect(rc == -ENOSPC || rc == 0, "cap %zu: rc %d", cap, rc);
        for (size_t k = cap; k < sizeof buf; k++)
            cr_assert_eq((unsigned char)buf[k], 0x5a, "cap %zu: byte %zu written", cap, k);
    }
    req_prog_free(p);
    tpl_free(target);
    tpl_free(h);
}

Test(request, compile_errors)
{
    tpl *target = tc("/");
    static const struct {
        const char *method;
        const char *header;
        bool chunked;
        const char *want;
    } rows_e[] = {
        {"G ET", NULL, false, "not a valid method"},
        {"GET", "Bad Name: x", false, "literal name"},
        {"POST", "Content-Length: 5", true, "Content-Length cannot be set"},
        {"POST", "Transfer-Encoding: chunked", false, "set by transfer_encoding"},
    };
    for (size_t i = 0; i < sizeof rows_e / sizeof rows_e[0]; i++) {
        tpl *h = rows_e[i].header ? tc(rows_e[i].header) : NULL;
        const char *text[] = {rows_e[i].header};
        req_spec spec = {.method = rows_e[i].method,
                         .target = target,
                         .host = "h",
                         .headers = (const tpl *const *)&h,
                         .header_text = text,
                         .nheaders = h ? 1 : 0,
                         .chunked = rows_e[i].chunked};
        req_prog *p = NULL;
        char err[200] = "";
        cr_expect_eq(req_prog_new(&p, &spec, err, sizeof err), -EINVAL, "row %zu", i);
        cr_expect_not_null(strstr(err, rows_e[i].want), "row %zu: %s", i, err);
        cr_expect_null(p);
        tpl_free(h);
    }
    tpl_free(target);
}
