/* Unit tests for the guard rails in scenario files: [preflight] parsed into the plan, allow_hosts
 * refusing a scenario's or the preflight's host with the exact one-line error, [global] secret,
 * and config errors that would quote a secret value showing the mark instead. Files are written
 * to a fresh temp dir per test, as in test_config.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "preflight.h"
#include "redact.h"

#define S 1000000000ULL

static char dir[64];
static char ini_path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/blast-guard-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(ini_path, sizeof ini_path, "%s/t.ini", dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    redact_clear();
}

TestSuite(config_guard, .init = setup, .fini = teardown);

static int load(const char *ini, const char *const *env, plan **p, char *err, size_t errlen)
{
    FILE *f = fopen(ini_path, "w");
    cr_assert_not_null(f);
    fputs(ini, f);
    fclose(f);
    config_overrides ov = {.env = env};
    while (env && env[ov.nenv])
        ov.nenv++;
    return config_load(ini_path, &ov, p, err, errlen);
}

static plan *ok(const char *ini, const char *const *env)
{
    plan *p = NULL;
    char err[1024];
    int rc = load(ini, env, &p, err, sizeof err);
    cr_assert_eq(rc, 0, "config_load failed: %s\n--- file:\n%s", err, ini);
    return p;
}

/* want: the whole message, "{F}" standing for the file's path. */
static void expect_error(const char *ini, const char *const *env, const char *want)
{
    char exp[1024], err[1024];
    const char *f = strstr(want, "{F}");
    if (f)
        snprintf(exp, sizeof exp, "%.*s%s%s", (int)(f - want), want, ini_path, f + 3);
    else
        snprintf(exp, sizeof exp, "%s", want);
    plan *p = (plan *)0x1;
    int rc = load(ini, env, &p, err, sizeof err);
    cr_expect_eq(rc, -EINVAL, "rc %d for:\n%s", rc, ini);
    cr_expect_null(p);
    cr_expect_str_eq(err, exp, "\n--- got:  %s\n--- want: %s\n--- file:\n%s", err, exp, ini);
}

#define GLOBAL "[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\n" /* lines 1-3 */
#define VUS "[scenario a]\nexecutor = constant-vus\nvus = 2\n"
#define PREFLIGHT_KEYS "method, url, path, header, expect_status, timeout"
#define RULES_HELP                                                                                 \
    "allowed: host names, *.suffix, IP addresses, CIDR blocks such as 10.0.0.0/8, separated by "   \
    "commas"
#define SECRET_HELP                                                                                \
    "write secret = NAME, NAME2: ${} variable names, or header names whose values are secret"

/* ---- [preflight] ---- */

Test(config_guard, preflight_path_on_base_url_with_defaults)
{
    plan *p = ok("[global]\nbase_url = http://127.0.0.1:8080/api/\nduration = 10s\n"
                 "[preflight]\npath = /health?deep=1\n" VUS,
                 NULL);
    const plan_preflight *pf = p->preflight;
    cr_assert_not_null(pf);
    cr_expect_str_eq(pf->method, "GET");
    cr_expect_str_eq(pf->target, "/api/health?deep=1");
    cr_expect_str_eq(pf->url, "http://127.0.0.1:8080/api/health?deep=1");
    cr_expect_str_eq(pf->host, "127.0.0.1");
    cr_expect_eq(pf->port, 8080);
    cr_expect_str_eq(pf->host_header, "127.0.0.1:8080");
    cr_expect(!pf->tls);
    cr_expect_eq(pf->nheaders, 0);
    cr_expect_str_eq(pf->expect_text, "200");
    cr_expect(status_set_has(&pf->expect, 200));
    cr_expect(!status_set_has(&pf->expect, 204));
    cr_expect_eq(pf->timeout_ns, 5 * S);
    plan_free(p);
}

Test(config_guard, preflight_url_headers_statuses_timeout_tls)
{
    const char *env[] = {"TOK=abc123", NULL};
    plan *p = ok(GLOBAL "insecure_skip_tls_verify = true\n"
                        "[preflight]\nmethod = head\nurl = https://[::1]/ready?x=1\n"
                        "header = X-Token: ${TOK}\nheader = ${NOPE:+X-Skipped: 1}\n"
                        "header = Accept: */*\nexpect_status = 200, 204\ntimeout = 1500ms\n" VUS,
                 env);
    const plan_preflight *pf = p->preflight;
    cr_assert_not_null(pf);
    cr_expect_str_eq(pf->method, "HEAD");
    cr_expect_str_eq(pf->target, "/ready?x=1");
    cr_expect_str_eq(pf->url, "https://[::1]/ready?x=1");
    cr_expect_str_eq(pf->host, "::1");
    cr_expect_eq(pf->port, 443);
    cr_expect_str_eq(pf->host_header, "[::1]");
    cr_expect(pf->tls);
    cr_expect(pf->tls_opts.insecure, "[global]'s TLS keys apply to the preflight");
    cr_assert_eq(pf->nheaders, 2);
    cr_expect_str_eq(pf->headers[0], "X-Token: abc123");
    cr_expect_str_eq(pf->headers[1], "Accept: */*");
    cr_expect_str_eq(pf->expect_text, "200, 204");
    cr_expect(status_set_has(&pf->expect, 200));
    cr_expect(status_set_has(&pf->expect, 204));
    cr_expect(!status_set_has(&pf->expect, 201));
    cr_expect_eq(pf->timeout_ns, 1500 * 1000000ULL);
    plan_free(p);

    p = ok(GLOBAL "[preflight]\nurl = http://h.test:81\nexpect_status = 2xx\n" VUS, NULL);
    cr_expect_str_eq(p->preflight->target, "/");
    cr_expect_str_eq(p->preflight->url, "http://h.test:81/");
    cr_expect(status_set_has(&p->preflight->expect, 299));
    cr_expect(!status_set_has(&p->preflight->expect, 300));
    plan_free(p);

    p = ok(GLOBAL VUS, NULL);
    cr_expect_null(p->preflight, "no [preflight], no preflight");
    plan_free(p);
}

Test(config_guard, preflight_errors)
{
    static const struct {
        const char *ini, *err;
    } rows[] = {
        {GLOBAL "[preflight]\ncolour = blue\n" VUS,
         "{F}:5: [preflight] colour: unknown key (allowed: " PREFLIGHT_KEYS ")"},
        {GLOBAL "[preflight]\nexpect_staus = 200\n" VUS,
         "{F}:5: [preflight] expect_staus: unknown key; did you mean expect_status? "
         "(allowed: " PREFLIGHT_KEYS ")"},
        {GLOBAL "[preflight]\nbody = x\n" VUS, "{F}:5: [preflight] body: only allowed in [scenario "
                                               "NAME] (allowed here: " PREFLIGHT_KEYS ")"},
        {GLOBAL "[preflight]\npath = /\n[preflight]\n" VUS,
         "{F}:6: [preflight]: duplicate section (first on line 4; one [preflight] per file)"},
        {GLOBAL "[prefligt]\n" VUS,
         "{F}:4: [prefligt]: unknown section; did you mean [preflight]? (allowed: [global], "
         "[scenario NAME], [step NAME], [flow NAME], [profile NAME], [preflight])"},
        {GLOBAL "[preflight]\nmethod = GET\n" VUS,
         "{F}:4: [preflight]: url or path is required (url: an absolute URL; path: joined to "
         "[global] base_url)"},
        {GLOBAL "[preflight]\nurl = http://h/\npath = /x\n" VUS,
         "{F}:6: [preflight] path: cannot be combined with url (url is absolute; path joins "
         "[global] base_url)"},
        {"[global]\nduration = 1s\n[preflight]\npath = /health\n[scenario a]\nexecutor = "
         "constant-vus\nvus = 1\nurl = http://h/\n",
         "{F}:4: [preflight] path: needs base_url in [global] to join (or give an absolute url "
         "instead)"},
        {GLOBAL "[preflight]\npath = health\n" VUS,
         "{F}:5: [preflight] path: 'health' is not a path (it starts with '/', holds no space, "
         "control character, '#' or {{ }})"},
        {GLOBAL "[preflight]\npath = /{{ seq }}\n" VUS,
         "{F}:5: [preflight] path: '/{{ seq }}' is not a path (it starts with '/', holds no "
         "space, control character, '#' or {{ }})"},
        {GLOBAL "[preflight]\nurl = ftp://h/\n" VUS,
         "{F}:5: [preflight] url: unsupported scheme 'ftp' (allowed: http://, "
         "https://, ws:// or wss://host[:port][/path])"},
        {GLOBAL "[preflight]\nurl = /health\n" VUS,
         "{F}:5: [preflight] url: '/health' is not an absolute URL (expected "
         "http://host[:port][/path])"},
        {GLOBAL "[preflight]\npath = /\nmethod = G T\n" VUS,
         "{F}:6: [preflight] method: 'G T' is not a valid method (a token such as GET, HEAD, "
         "POST)"},
        {GLOBAL "[preflight]\npath = /\nheader = NoColon\n" VUS,
         "{F}:6: [preflight] header: expected Name: value (a name is letters, digits and "
         "!#$%&'*+-.^_`|~)"},
        {GLOBAL "[preflight]\npath = /\nheader = X-Id: {{ uuid() }}\n" VUS,
         "{F}:6: [preflight] header: templates ({{ }}) are not expanded in [preflight] (write the "
         "value; ${} works)"},
        {GLOBAL "[preflight]\npath = /\nexpect_status = 20\n" VUS,
         "{F}:6: [preflight] expect_status: column 1: expected a status (NNN, Nxx or NNN-NNN), "
         "found '20'"},
        {GLOBAL "[preflight]\npath = /\nexpect_status = 200,,204\n" VUS,
         "{F}:6: [preflight] expect_status: column 5: expected a status (NNN, Nxx or NNN-NNN), "
         "found ',204'"},
        {GLOBAL "[preflight]\npath = /\ntimeout = 5\n" VUS,
         "{F}:6: [preflight] timeout: '5' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; units "
         "us, ms, s, m, h)"},
        {GLOBAL "[preflight]\npath = /\ntimeout = 11m\n" VUS,
         "{F}:6: [preflight] timeout: '11m' is longer than 10m (a health check that slow is no "
         "check)"},
        {GLOBAL "tls_min_version = 1.1\n[preflight]\nurl = https://h/\n" VUS,
         "{F}:4: [global] tls_min_version: '1.1' is not supported (allowed: 1.2, 1.3)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_error(rows[i].ini, NULL, rows[i].err);
}

/* ---- allow_hosts ---- */

Test(config_guard, allow_hosts_allows)
{
    const char *env[] = {"HOST=api.staging.example.com", NULL};
    plan *p = ok("[global]\nbase_url = http://${HOST}:8080\nduration = 1s\n"
                 "allow_hosts = *.staging.example.com, 127.0.0.1, 0:0::1\n"
                 "[preflight]\nurl = http://[::1]:9/health\n" VUS
                 "[scenario b]\nexecutor = constant-vus\nvus = 1\nurl = http://127.0.0.1/x\n",
                 env);
    cr_expect_str_eq(p->scenarios[0].host, "api.staging.example.com");
    plan_free(p);
}

Test(config_guard, allow_hosts_refuses)
{
    const char *prod[] = {"HOST=api.prod.example.com", NULL};
    expect_error("[global]\nduration = 1s\nallow_hosts = *.staging.example.com, 127.0.0.1\n"
                 "[scenario x]\nexecutor = constant-vus\nvus = 1\nbase_url = http://${HOST}/v1\n",
                 prod,
                 "{F}:7: [scenario x] base_url: host 'api.prod.example.com' is not allowed by "
                 "allow_hosts (line 3: *.staging.example.com, 127.0.0.1)");
    expect_error("[global]\nduration = 1s\nallow_hosts = 127.0.0.1\n"
                 "[scenario x]\nexecutor = constant-vus\nvus = 1\nurl = https://LOCALHOST/\n",
                 NULL,
                 "{F}:7: [scenario x] url: host 'LOCALHOST' is not allowed by allow_hosts (line 3: "
                 "127.0.0.1)");
    /* through [global] base_url: the scenario is named after the host */
    expect_error(GLOBAL "allow_hosts = *.staging.example.com\n" VUS, NULL,
                 "{F}:2: [global] base_url: host '127.0.0.1' of scenario a is not allowed by "
                 "allow_hosts (line 4: *.staging.example.com)");
    /* the second scenario, the first being allowed */
    expect_error(GLOBAL "allow_hosts = 127.0.0.0/8\n" VUS
                        "[scenario b]\nexecutor = constant-vus\nvus = 1\nurl = http://[::1]/\n",
                 NULL,
                 "{F}:11: [scenario b] url: host '::1' is not allowed by allow_hosts (line 4: "
                 "127.0.0.0/8)");
    /* the preflight's own url, and its path on a [global] base_url that only it uses */
    expect_error(
        GLOBAL "allow_hosts = 127.0.0.1\n[preflight]\nurl = http://health.prod.test/\n" VUS, NULL,
        "{F}:6: [preflight] url: host 'health.prod.test' is not allowed by allow_hosts "
        "(line 4: 127.0.0.1)");
    expect_error("[global]\nbase_url = http://prod.test\nduration = 1s\nallow_hosts = 127.0.0.1\n"
                 "[preflight]\npath = /health\n"
                 "[scenario a]\nexecutor = constant-vus\nvus = 1\nurl = http://127.0.0.1/\n",
                 NULL,
                 "{F}:2: [global] base_url: host 'prod.test' of [preflight] is not allowed by "
                 "allow_hosts (line 4: 127.0.0.1)");
}

Test(config_guard, allow_hosts_errors)
{
    expect_error(GLOBAL "allow_hosts =\n" VUS, NULL,
                 "{F}:4: [global] allow_hosts: is empty (remove it to allow every host; " RULES_HELP
                 ")");
    expect_error(GLOBAL "allow_hosts = a.test,,b.test\n" VUS, NULL,
                 "{F}:4: [global] allow_hosts: rule 2 is empty (" RULES_HELP ")");
    expect_error(GLOBAL "allow_hosts = 10.0.0.0/33\n" VUS, NULL,
                 "{F}:4: [global] allow_hosts: '10.0.0.0/33': the prefix length must be 0..32");
    expect_error(GLOBAL VUS "allow_hosts = a.test\n", NULL,
                 "{F}:7: [scenario a] allow_hosts: only allowed in [global] (allowed here: "
                 "base_url, duration, connect_timeout, request_timeout, graceful_stop, executor, "
                 "rate, vus, max_connections, max_vus, pre_connections, max_queue, arrival, "
                 "pacing_resolution, pre_allocated_vus, start_rate, start_vus, stage, iterations, "
                 "max_duration, start_time, graceful_ramp_down, max_rate, step_duration, warm_up, cool_down, "
                 "precision, min_rate, flow, setup, data, data_order, "
                 "cookies, method, url, path, "
                 "header, body, transfer_encoding, check, extract, tag, sleep, keep_body, on_fail, "
                 "source_addresses, insecure_skip_tls_verify, ca_file, client_cert, client_key, "
                 "server_name, tls_min_version, tls_ciphers, tls_curves, tls_resume, "
                 "max_var_size, keepalive, max_requests_per_conn, conn_lifetime, threshold, "
                 "offered_load, offered_lateness, ws_send, ws_binary, ws_interval, ws_rate, "
                 "ws_messages, ws_expect, ws_hold, reply_timeout, ws_ping, ws_max_message)");
}

/* ---- secret, and errors that would quote one ---- */

Test(config_guard, secret_errors)
{
    expect_error(GLOBAL "secret = A,,B\n" VUS, NULL,
                 "{F}:4: [global] secret: empty name (" SECRET_HELP ")");
    expect_error(GLOBAL "secret = A, \n" VUS, NULL,
                 "{F}:4: [global] secret: empty name (" SECRET_HELP ")");
    expect_error(GLOBAL "secret = A B\n" VUS, NULL,
                 "{F}:4: [global] secret: 'A B' is not a name (" SECRET_HELP
                 "; letters, digits, '_', '-')");
    const char *env[] = {"NAMES=A", NULL};
    expect_error(GLOBAL "secret = ${NAMES}\n" VUS, env,
                 "{F}:4: [global] secret: names are written as they are, without ${} (" SECRET_HELP
                 ")");
    plan *p = ok(GLOBAL "secret = API_KEY, X-Api-Key\n" VUS, NULL);
    plan_free(p);
}

Test(config_guard, errors_never_quote_a_secret)
{
    const char *env[] = {"API_KEY=SUPERSECRETVALUE", "PASS=", NULL};
    static const struct {
        const char *ini, *err;
    } rows[] = {
        /* a ${} secret, listed at the end of the file, quoted at its top */
        {"[scenario a]\nexecutor = constant-arrival-rate\nrate = ${API_KEY}\n[global]\n"
         "base_url = http://127.0.0.1:8080\nduration = 1s\nsecret = API_KEY\n",
         "{F}:3: [scenario a] rate: '[redacted]' is not a valid rate (missing the unit; a number "
         "> 0 and at most 10000000/s, written with digits, per unit: 100/s, 100/m, 5000/30s, "
         "0.5/s)"},
        /* inside a longer value, and cut at 40 characters by the message */
        {GLOBAL "secret = API_KEY\n" VUS "tag = x-----------------------------${API_KEY}\n",
         "{F}:8: [scenario a] tag: 'x-----------------------------[redacted]' is not key:value "
         "(key: letters, digits, '_'; e.g. tag = flow:checkout)"},
        /* cut by a '%.60s' 5 bytes into it: too short a piece for the fragment rule */
        {GLOBAL "secret = API_KEY\n" VUS "tag = x------------------------------------------------"
                "------${API_KEY}\n",
         "{F}:8: [scenario a] tag: 'x------------------------------------------------------"
         "[redacted]' is not key:value (key: letters, digits, '_'; e.g. tag = flow:checkout)"},
        /* an Authorization header's value, and its credential alone, in a later line */
        {GLOBAL VUS "header = Authorization: Bearer SECRETTOKEN123\ntag = SECRETTOKEN123\n",
         "{F}:8: [scenario a] tag: '[redacted]' is not key:value (key: letters, digits, '_'; e.g. "
         "tag = flow:checkout)"},
        /* ... and in an earlier line: the header is found before the file is parsed */
        {GLOBAL VUS "tag = Bearer SECRETTOKEN123\nheader = Authorization: Bearer SECRETTOKEN123\n",
         "{F}:7: [scenario a] tag: '[redacted]' is not key:value (key: letters, digits, '_'; e.g. "
         "tag = flow:checkout)"},
        /* a malformed sensitive header quoting itself */
        {GLOBAL VUS "header = Authorization Bearer SECRETTOKEN123\n",
         "{F}:7: [scenario a] header: 'Authorization [redacted]' has no ':' (expected Name: "
         "value)"},
        {GLOBAL VUS "header = Cookie: session=COOKIEVALUE99\ntag = session=COOKIEVALUE99\n",
         "{F}:8: [scenario a] tag: '[redacted]' is not key:value (key: letters, digits, '_'; e.g. "
         "tag = flow:checkout)"},
        /* a header named secret */
        {GLOBAL "secret = x-api-key\n" VUS "header = X-Api-Key: KEYVALUE42\ntag = KEYVALUE42\n",
         "{F}:9: [scenario a] tag: '[redacted]' is not key:value (key: letters, digits, '_'; e.g. "
         "tag = flow:checkout)"},
        /* a secret's default stands in for it */
        {GLOBAL "secret = PASS\n" VUS "tag = ${PASS:-DEFAULTPASSWORD}\n",
         "{F}:8: [scenario a] tag: '[redacted]' is not key:value (key: letters, digits, '_'; e.g. "
         "tag = flow:checkout)"},
        /* a value nobody marked stays visible: the mark is not everywhere */
        {GLOBAL "secret = OTHER\n" VUS "tag = ${API_KEY}\n",
         "{F}:8: [scenario a] tag: 'SUPERSECRETVALUE' is not key:value (key: letters, digits, "
         "'_'; e.g. tag = flow:checkout)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_error(rows[i].ini, env, rows[i].err);
}

/* A loaded file leaves its secrets for the reports; the next load starts from none. */
Test(config_guard, secrets_outlive_the_load)
{
    const char *env[] = {"API_KEY=SUPERSECRETVALUE", NULL};
    plan *p = ok(GLOBAL "secret = API_KEY\n" VUS "path = /x?key=${API_KEY}\n"
                        "header = Authorization: Basic dXNlcjpwYXNz\n",
                 env);
    cr_expect_str_eq(redact_str(p->scenarios[0].steps[0].name), "GET /x?key=[redacted]");
    cr_expect(redact_has("dXNlcjpwYXNz"));
    cr_expect(redact_has("Basic dXNlcjpwYXNz"));
    plan_free(p);
    p = ok(GLOBAL VUS, env);
    cr_expect_eq(redact_count(), 0);
    plan_free(p);
}
