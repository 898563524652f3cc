/* Unit tests for check: status sets (every form, rendered back as ranges, and their errors),
 * every check form passing and failing on one response, names, what a check needs and how it
 * fails without it, truncated bodies, and the exact parse errors.
 *
 * Heads and bodies are exact-size heap copies, so an over-read is an ASan error in the
 * sanitizer build. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* The set as ascending ranges: "100-199,201,300-999". */
static void render(const status_set *s, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int v = 0; v < 1024 && n < cap; v++) {
        if (!status_set_has(s, v))
            continue;
        int w = v;
        while (w + 1 < 1024 && status_set_has(s, w + 1))
            w++;
        n += (size_t)(w == v ? snprintf(buf + n, cap - n, "%s%d", n ? "," : "", v)
                             : snprintf(buf + n, cap - n, "%s%d-%d", n ? "," : "", v, w));
        v = w;
    }
}

Test(check, status_set_forms)
{
    static const struct {
        const char *text, *want;
    } rows[] = {
        {"200", "200"},
        {"200,201", "200-201"},
        {" 200 , 204 ,304 ", "200,204,304"},
        {"2xx", "200-299"},
        {"2XX,4xx", "200-299,400-499"},
        {"1xx", "100-199"},
        {"9xx", "900-999"},
        {"200-299,304", "200-299,304"},
        {"200 - 204", "200-204"},
        {"204-204", "204"},
        {"100-999", "100-999"},
        {"in 200-299,304", "200-299,304"},
        {"in 2xx", "200-299"},
        {"!5xx", "100-499,600-999"},
        {"! 5xx", "100-499,600-999"},
        {"!200", "100-199,201-999"},
        {"!2xx,3xx", "100-199,400-999"},
        {"not in 4xx,5xx", "100-399,600-999"},
        {"not  in 404", "100-403,405-999"},
        {"< 400", "100-399"},
        {"<400", "100-399"},
        {"<= 400", "100-400"},
        {"> 499", "500-999"},
        {">= 500", "500-999"},
        {"== 204", "204"},
        {"!= 200", "100-199,201-999"},
        {"< 101", "100"},
        {"> 998", "999"},
        {"200,200,2xx", "200-299"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        status_set s;
        char err[256] = "", got[256];
        int rc = status_set_parse(&s, rows[i].text, err, sizeof err);
        cr_expect_eq(rc, 0, "row %zu (%s): %s", i, rows[i].text, err);
        if (rc)
            continue;
        render(&s, got, sizeof got);
        cr_expect_str_eq(got, rows[i].want, "row %zu (%s): got %s", i, rows[i].text, got);
    }
}

#define SET_HELP                                                                                   \
    "(allowed: NNN, Nxx, NNN-NNN separated by ','; in SET, !SET, not in SET; == != < <= > >= NNN)"

Test(check, status_set_errors)
{
    static const struct {
        const char *text, *err;
    } rows[] = {
        {"", "column 1: expected a status set " SET_HELP},
        {"  ", "column 3: expected a status set " SET_HELP},
        {"abc", "column 1: expected a status (NNN, Nxx or NNN-NNN), found 'abc'"},
        {"20", "column 1: expected a status (NNN, Nxx or NNN-NNN), found '20'"},
        {"1000", "column 1: expected a status (NNN, Nxx or NNN-NNN), found '1000'"},
        {"2x", "column 1: expected a status (NNN, Nxx or NNN-NNN), found '2x'"},
        {"20x", "column 1: expected a status (NNN, Nxx or NNN-NNN), found '20x'"},
        {"200,,201", "column 5: expected a status (NNN, Nxx or NNN-NNN), found ',201'"},
        {"200,", "column 5: expected a status (NNN, Nxx or NNN-NNN), found the end"},
        {"200 201", "column 5: expected ',' or the end after a status, found '201'"},
        {"200;201", "column 4: expected ',' or the end after a status, found ';201'"},
        {"099", "column 1: status 099 is out of range (100..999)"},
        {"200,050", "column 5: status 050 is out of range (100..999)"},
        {"0xx", "column 1: class 0xx is out of range (1xx..9xx)"},
        {"300-200", "column 1: range 300-200 runs backwards (write 200-300)"},
        {"2xx-3xx", "column 1: a range takes statuses (NNN-NNN), not a class"},
        {"200-", "column 5: expected a status (NNN) after '-', found the end"},
        {"200-3xx", "column 5: expected a status (NNN) after '-', found '3xx'"},
        {"< 4xx", "column 3: expected a status (NNN) after '<', found '4xx'"},
        {">=", "column 3: expected a status (NNN) after '>=', found the end"},
        {"< 400 x", "column 7: unexpected 'x' after the status"},
        {"< 400,500", "column 6: unexpected ',500' after the status"},
        {"=< 400", "column 1: unknown operator '=<' " SET_HELP},
        {"= 400", "column 1: unknown operator '=' " SET_HELP},
        {"< 100", "column 1: no status matches this set (statuses are 100..999)"},
        {"> 999", "column 1: no status matches this set (statuses are 100..999)"},
        {"!100-999", "column 1: no status matches this set (statuses are 100..999)"},
        {"not 5xx", "column 5: expected 'in' after 'not'"},
        {"not", "column 4: expected 'in' after 'not'"},
        {"in", "column 3: expected a status (NNN, Nxx or NNN-NNN), found the end"},
        {"!", "column 2: expected a status (NNN, Nxx or NNN-NNN), found the end"},
        {"in !5xx", "column 4: expected a status (NNN, Nxx or NNN-NNN), found '!5xx'"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        status_set s;
        memset(&s, 0xff, sizeof s);
        char err[256] = "";
        int rc = status_set_parse(&s, rows[i].text, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "row %zu (%s): rc %d", i, rows[i].text, rc);
        cr_expect_str_eq(err, rows[i].err, "row %zu (%s): got %s", i, rows[i].text, err);
        status_set empty = {0};
        cr_expect(memcmp(&s, &empty, sizeof s) == 0, "row %zu: set not emptied", i);
    }
}

Test(check, status_set_has_bounds)
{
    status_set s;
    cr_assert_eq(status_set_parse(&s, "100-999", NULL, 0), 0);
    static const struct {
        int status;
        bool in;
    } rows[] = {{INT_MIN, false}, {-1, false},   {0, false},    {99, false},   {100, true},
                {999, true},      {1000, false}, {1023, false}, {1024, false}, {INT_MAX, false}};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        cr_expect_eq(status_set_has(&s, rows[i].status), rows[i].in, "status %d", rows[i].status);
}

/* One response for the eval table. */
#define HEAD                                                                                       \
    "HTTP/1.1 201 Created\r\n"                                                                     \
    "Content-Type: application/json; charset=utf-8\r\n"                                            \
    "X-Cache: HIT\r\n"                                                                             \
    "Set-Cookie: a=1\r\n"                                                                          \
    "Set-Cookie: session=xyz\r\n"                                                                  \
    "X-Pad:   padded value  \r\n"                                                                  \
    "\r\n"
#define BODY                                                                                       \
    "{\"data\":{\"id\":42,\"name\":\"Ann \\\"A\\\" Lee\",\"ok\":true,\"none\":null,"               \
    "\"tags\":[\"x\",\"y\"],\"ratio\":1.50,\"big\":1e2,\"neg\":-0.0,\"code\":\"007\","             \
    "\"sp\":\"  two  \",\"uni\":\"\\u00e9\",\"long\":123456789012345678901234567890},"             \
    "\"msg\":\"upload ok\"}"

static check *parse(const char *text)
{
    check *c = NULL;
    char err[512] = "";
    cr_assert_eq(check_parse(&c, text, err, sizeof err), 0, "check '%s': %s", text, err);
    cr_assert_not_null(c);
    return c;
}

/* check_eval on exact copies; head or body NULL when not kept, body cut at body_len. */
static bool eval(const check *c, int status, const char *head, const char *body, size_t body_len,
                 bool truncated)
{
    check_resp r = {.status = status, .body_truncated = truncated};
    char *h = head ? exact(head, strlen(head)) : NULL, *b = body ? exact(body, body_len) : NULL;
    r.head = h;
    r.head_len = head ? strlen(head) : 0;
    r.body = b;
    r.body_len = body ? body_len : 0;
    bool ok = check_eval(c, &r);
    free(h);
    free(b);
    return ok;
}

static const struct eval_case {
    const char *text;
    int status;
    bool pass;
} eval_cases[] = {
    /* status */
    {"status 200", 200, true},
    {"status 200", 201, false},
    {"status 200,201", 201, true},
    {"status 200,201", 202, false},
    {"status 2xx", 299, true},
    {"status 2xx", 300, false},
    {"status !5xx", 404, true},
    {"status !5xx", 503, false},
    {"status < 400", 399, true},
    {"status < 400", 400, false},
    {"status in 200-299,304", 304, true},
    {"status in 200-299,304", 303, false},
    {"status not in 4xx,5xx", 302, true},
    {"status not in 4xx,5xx", 404, false},
    {"status == 204", 204, true},
    {"status != 204", 204, false},
    {"status != 204", 200, true},
    {"status >= 500", 500, true},
    {"status > 500", 500, false},
    {"status <= 100", 100, true},
    {"status<400", 200, true},
    /* header */
    {"header X-Cache", 201, true},
    {"header x-cache", 201, true},
    {"header X-Missing", 201, false},
    {"header x-cache == HIT", 201, true},
    {"header X-Cache == hit", 201, false},
    {"header X-Cache==HIT", 201, true},
    {"header X-Cache != MISS", 201, true},
    {"header X-Cache!=MISS", 201, true},
    {"header X-Cache != HIT", 201, false},
    {"header X-Missing != HIT", 201, false},
    {"header Content-Type contains json", 201, true},
    {"header Content-Type contains xml", 201, false},
    {"header Content-Type contains \"\"", 201, true},
    {"header Content-Type == application/json; charset=utf-8", 201, true},
    {"header Set-Cookie contains session=", 201, true},
    {"header Set-Cookie == a=1", 201, true},
    {"header Set-Cookie == session=xyz", 201, true},
    {"header Set-Cookie != a=1", 201, false},
    {"header Set-Cookie != b=2", 201, true},
    {"header X-Pad == padded value", 201, true},
    {"header X-Pad == \"padded value\"", 201, true},
    {"header X-Pad == \" padded value\"", 201, false},
    {"header X-Pad contains\"d v\"", 201, true},
    /* body */
    {"body contains upload ok", 201, true},
    {"body contains nope", 201, false},
    {"body !contains nope", 201, true},
    {"body !contains upload", 201, false},
    {"body not contains nope", 201, true},
    {"body not  contains upload", 201, false},
    {"body contains \"\\\"msg\\\"\"", 201, true},
    {"body contains \"  two  \"", 201, true},
    {"body contains \"   two\"", 201, false},
    {"body contains {\"data\":", 201, true},
    {"body contains \"\"", 201, true},
    {"body !contains \"\"", 201, false},
    /* json */
    {"json data.id == 42", 201, true},
    {"json data.id == 42.0", 201, true},
    {"json data.id == 4.2e1", 201, true},
    {"json data.id == 420e-1", 201, true},
    {"json data.id == 43", 201, false},
    {"json data.id == -42", 201, false},
    {"json data.id == 4.2", 201, false},
    {"json data.id != 43", 201, true},
    {"json data.id != 42", 201, false},
    {"json data.id==42", 201, true},
    {"json data[\"id\"] == 42", 201, true},
    {"json data.id == \"42\"", 201, false},
    {"json data.code == 007", 201, true},
    {"json data.code == 7", 201, false},
    {"json data.code == \"007\"", 201, true},
    {"json data.name == Ann \"A\" Lee", 201, true},
    {"json data.name == \"Ann \\\"A\\\" Lee\"", 201, true},
    {"json data.name == Ann", 201, false},
    {"json data.ok == true", 201, true},
    {"json data.ok == false", 201, false},
    {"json data.ok != false", 201, true},
    {"json data.ok == \"true\"", 201, false},
    {"json data.ok == True", 201, false},
    {"json data.none == null", 201, true},
    {"json data.none == nil", 201, false},
    {"json data.none != null", 201, false},
    {"json data.none exists", 201, true},
    {"json data.missing exists", 201, false},
    {"json data.missing != 1", 201, false},
    {"json data.missing == 1", 201, false},
    {"json data.ratio == 1.5", 201, true},
    {"json data.ratio == 1.50", 201, true},
    {"json data.ratio == 15e-1", 201, true},
    {"json data.ratio == 1.05", 201, false},
    {"json data.big == 100", 201, true},
    {"json data.big == 10", 201, false},
    {"json data.neg == 0", 201, true},
    {"json data.neg == 0e5", 201, true},
    {"json data.long == 123456789012345678901234567890", 201, true},
    {"json data.long == 123456789012345678901234567891", 201, false},
    {"json data.long == 1.2345678901234567890123456789e29", 201, true},
    {"json data.tags[1] == y", 201, true},
    {"json data.tags[2] exists", 201, false},
    {"json data.tags == [\"x\",\"y\"]", 201, true},
    {"json data.tags == [\"x\", \"y\"]", 201, false},
    {"json data.sp == \"  two  \"", 201, true},
    {"json data.sp == two", 201, false},
    {"json data.uni == \xc3\xa9", 201, true},
    {"json msg == upload ok", 201, true},
    {"json $.msg exists", 201, true},
    {"json $ exists", 201, true},
    {"json [0] exists", 201, false},
    /* names do not change what is checked */
    {"\"upload init 200\" status in 200,201", 201, true},
    {"\"upload init 200\" status in 200,201", 500, false},
    {"\"json\" json msg exists", 201, true},
};

Test(check, eval_table)
{
    for (size_t i = 0; i < sizeof eval_cases / sizeof *eval_cases; i++) {
        const struct eval_case *e = &eval_cases[i];
        check *c = parse(e->text);
        bool got = eval(c, e->status, HEAD, BODY, strlen(BODY), false);
        cr_expect_eq(got, e->pass, "row %zu (%s, status %d): %s, want %s", i, e->text, e->status,
                     got ? "pass" : "fail", e->pass ? "pass" : "fail");
        check_free(c);
    }
}

/* Without the head or body it needs, a check fails; with only what it needs, it gives the same
 * answer as with everything. */
Test(check, not_kept)
{
    for (size_t i = 0; i < sizeof eval_cases / sizeof *eval_cases; i++) {
        const struct eval_case *e = &eval_cases[i];
        check *c = parse(e->text);
        bool nb = check_needs_body(c), nh = check_needs_head(c);
        const char *head = nh ? HEAD : NULL, *body = nb ? BODY : NULL;
        cr_expect_eq(eval(c, e->status, head, body, body ? strlen(BODY) : 0, false), e->pass,
                     "row %zu (%s): differs with only what it needs", i, e->text);
        if (nh)
            cr_expect(!eval(c, e->status, NULL, BODY, strlen(BODY), false),
                      "row %zu (%s): passes without the head", i, e->text);
        if (nb)
            cr_expect(!eval(c, e->status, HEAD, NULL, 0, false),
                      "row %zu (%s): passes without the body", i, e->text);
        check_free(c);
    }
}

/* A truncated body is looked at as far as it was kept. */
Test(check, truncated_body)
{
    size_t cut = (size_t)(strstr(BODY, "\"msg\"") - BODY);
    static const struct {
        const char *text;
        bool pass;
    } rows[] = {
        {"body contains upload ok", false}, {"body !contains upload ok", true},
        {"body contains Ann", true},        {"json msg exists", false},
        {"json msg == upload ok", false},   {"json msg != upload ok", false},
        {"json data.id == 42", true},       {"json data exists", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        check *c = parse(rows[i].text);
        cr_expect_eq(eval(c, 200, HEAD, BODY, cut, true), rows[i].pass, "row %zu (%s)", i,
                     rows[i].text);
        check_free(c);
    }
}

Test(check, names_and_needs)
{
    static const struct {
        const char *text, *name;
        bool is_status, body, head;
    } rows[] = {
        {"status 2xx", "status 2xx", true, false, false},
        {"  status  2xx \t", "status  2xx", true, false, false},
        {"\"upload init 200\" status in 200,201", "upload init 200", true, false, false},
        {"\"a \\\"q\\\" \\\\ name\" body contains x", "a \"q\" \\ name", false, true, false},
        {"\"  spaced  \"   header A", "  spaced  ", false, false, true},
        {"\"n\"status 200", "n", true, false, false},
        {"header A == b", "header A == b", false, false, true},
        {"header A", "header A", false, false, true},
        {"header A contains b", "header A contains b", false, false, true},
        {"body !contains x", "body !contains x", false, true, false},
        {"json a exists", "json a exists", false, true, false},
        {"json a != 1", "json a != 1", false, true, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        check *c = parse(rows[i].text);
        cr_expect_str_eq(check_name(c), rows[i].name, "row %zu (%s): got %s", i, rows[i].text,
                         check_name(c));
        cr_expect_eq(check_is_status(c), rows[i].is_status, "row %zu (%s): is_status", i,
                     rows[i].text);
        cr_expect_eq(check_needs_body(c), rows[i].body, "row %zu (%s): needs_body", i,
                     rows[i].text);
        cr_expect_eq(check_needs_head(c), rows[i].head, "row %zu (%s): needs_head", i,
                     rows[i].text);
        check_free(c);
    }
    check_free(NULL);
}

#define CHECKS                                                                                     \
    "(allowed: status SET, header NAME [== VALUE | != VALUE | contains VALUE], body contains | "   \
    "!contains | not contains TEXT, json PATH == VALUE | != VALUE | exists)"

Test(check, parse_errors)
{
    static const struct {
        const char *text, *err;
    } rows[] = {
        {"", "column 1: empty check " CHECKS},
        {"   ", "column 4: empty check " CHECKS},
        {"colour red", "column 1: unknown check 'colour' " CHECKS},
        {"Status 200", "column 1: unknown check 'Status' " CHECKS},
        {"  $ 200", "column 3: unknown check '$' " CHECKS},
        {"status", "column 7: expected a status set after 'status' (e.g. 200,201  2xx  !5xx  < 400 "
                   " in 200-299,304)"},
        {"status 20", "column 8: expected a status (NNN, Nxx or NNN-NNN), found '20'"},
        {"status 200,,201", "column 12: expected a status (NNN, Nxx or NNN-NNN), found ',201'"},
        {"status 200 201", "column 12: expected ',' or the end after a status, found '201'"},
        {"status 099", "column 8: status 099 is out of range (100..999)"},
        {"status 0xx", "column 8: class 0xx is out of range (1xx..9xx)"},
        {"status 300-200", "column 8: range 300-200 runs backwards (write 200-300)"},
        {"status < 4xx", "column 10: expected a status (NNN) after '<', found '4xx'"},
        {"status < 100", "column 8: no status matches this set (statuses are 100..999)"},
        {"status not 5xx", "column 12: expected 'in' after 'not'"},
        {"header", "column 7: expected a header NAME after 'header' (e.g. header Location)"},
        {"header :x", "column 8: expected a header NAME after 'header' (e.g. header Location)"},
        {"header X-A is b", "column 12: unknown operator 'is' after the header name (allowed: ==, "
                            "!=, contains, or nothing to test presence)"},
        {"header X-A containsx", "column 12: unknown operator 'containsx' after the header name "
                                 "(allowed: ==, !=, contains, or nothing to test presence)"},
        {"header X-A ==", "column 14: expected a VALUE after '=='"},
        {"header X-A contains  ", "column 20: expected a VALUE after 'contains'"},
        {"header X-A == \"abc", "column 15: unterminated quoted VALUE (missing closing '\"')"},
        {"header X-A == \"a\" b", "column 19: unexpected text after the closing quote"},
        {"header X-A == \"a\\nb\"",
         "column 17: unknown escape in the quoted VALUE (allowed: \\\" and \\\\)"},
        {"body", "column 5: expected contains, !contains or not contains after 'body', found the "
                 "end"},
        {"body has x", "column 6: expected contains, !contains or not contains after 'body', "
                       "found 'has'"},
        {"body not x", "column 6: expected contains, !contains or not contains after 'body', "
                       "found 'not'"},
        {"body contains", "column 14: expected a TEXT after 'contains'"},
        {"body !contains ", "column 15: expected a TEXT after '!contains'"},
        {"body containsx", "column 14: expected a blank after 'contains'"},
        {"body contains \"x", "column 15: unterminated quoted TEXT (missing closing '\"')"},
        {"json", "column 5: expected a PATH after 'json' (e.g. json data.id == 5)"},
        {"json a..b == 1", "column 8: expected a name after '.'"},
        {"json .a == 1", "column 6: expected a path (e.g. data.id, items[0].id, [\"a key\"])"},
        {"json a[x] == 1", "column 8: expected an index or a quoted key after '[' (e.g. [0], "
                           "[\"a key\"])"},
        {"json a.b", "column 9: expected ==, != or exists after the path, found the end"},
        {"json a.b = 1", "column 10: expected ==, != or exists after the path, found '='"},
        {"json a.b is 1", "column 10: expected ==, != or exists after the path, found 'is'"},
        {"json a.b ==", "column 12: expected a VALUE after '=='"},
        {"json a.b != ", "column 12: expected a VALUE after '!='"},
        {"json a exists now", "column 15: unexpected text after 'exists'"},
        {"json a existsx", "column 8: expected ==, != or exists after the path, found 'existsx'"},
        {"\"unterminated status 200", "column 1: unterminated quoted name (missing closing '\"')"},
        {"\"\" status 200", "column 1: empty check name"},
        {"\"name\"", "column 7: expected a check after the name " CHECKS},
        {"\"name\"   ", "column 7: expected a check after the name " CHECKS},
        {"\"name\" colour", "column 8: unknown check 'colour' " CHECKS},
        {"\"a\\x\" status 200",
         "column 3: unknown escape in the quoted name (allowed: \\\" and \\\\)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        check *c = (check *)0x1;
        char err[512] = "";
        int rc = check_parse(&c, rows[i].text, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "row %zu (%s): rc %d", i, rows[i].text, rc);
        cr_expect_null(c, "row %zu: *out not NULL", i);
        cr_expect_str_eq(err, rows[i].err, "row %zu (%s): got %s", i, rows[i].text, err);
    }
}

/* When the thing checked is there, == and != (and contains and !contains) disagree. */
Test(check, operators_complement)
{
    static const struct {
        const char *yes, *no;
    } rows[] = {
        {"header X-Cache == HIT", "header X-Cache != HIT"},
        {"header Set-Cookie == a=1", "header Set-Cookie != a=1"},
        {"header Set-Cookie == zzz", "header Set-Cookie != zzz"},
        {"body contains upload", "body !contains upload"},
        {"body contains absent", "body not contains absent"},
        {"json data.id == 42", "json data.id != 42"},
        {"json data.id == 41", "json data.id != 41"},
        {"json data.tags == x", "json data.tags != x"},
        {"json data.ok == true", "json data.ok != true"},
        {"json data.name == \"Ann\"", "json data.name != \"Ann\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        check *a = parse(rows[i].yes), *b = parse(rows[i].no);
        bool x = eval(a, 200, HEAD, BODY, strlen(BODY), false);
        bool y = eval(b, 200, HEAD, BODY, strlen(BODY), false);
        cr_expect(x != y, "row %zu: '%s' %d, '%s' %d", i, rows[i].yes, x, rows[i].no, y);
        check_free(a);
        check_free(b);
    }
}
