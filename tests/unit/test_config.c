/* Unit tests for config: scenario files written to a fresh temp dir per test, loaded, and checked
 * field by field on success or against the exact one-line error (file, line, section, key) on
 * failure. Tables: duration and rate forms, error cases, URL forms, env substitution. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "value.h"

#define S 1000000000ULL

static char dir[64];
static char ini_path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/blast-config-XXXXXX");
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
}

TestSuite(config, .init = setup, .fini = teardown);
TestSuite(config_errors, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int load(const char *ini, const config_overrides *ov, plan **p, char *err, size_t errlen)
{
    write_file("t.ini", ini, strlen(ini));
    return config_load(ini_path, ov, p, err, errlen);
}

/* Loads a file that must be valid. */
static plan *ok_ov(const char *ini, const config_overrides *ov)
{
    plan *p = NULL;
    char err[512];
    int rc = load(ini, ov, &p, err, sizeof err);
    cr_assert_eq(rc, 0, "config_load failed: %s\n--- file:\n%s", err, ini);
    cr_assert_not_null(p);
    return p;
}

static plan *ok(const char *ini)
{
    return ok_ov(ini, NULL);
}

/* "{F}" in want stands for the file's path, "{D}" for its folder. */
static void subst_path(char *out, size_t outlen, const char *want)
{
    size_t o = 0;
    for (const char *p = want; *p && o + 1 < outlen;) {
        const char *rep = NULL;
        if (strncmp(p, "{F}", 3) == 0)
            rep = ini_path;
        else if (strncmp(p, "{D}", 3) == 0)
            rep = dir;
        if (rep) {
            o += (size_t)snprintf(out + o, outlen - o, "%s", rep);
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

static void expect_error_ov(const char *ini, const config_overrides *ov, const char *want)
{
    plan *p = (plan *)0x1;
    char err[4096], exp[4096];
    subst_path(exp, sizeof exp, want);
    int rc = load(ini, ov, &p, err, sizeof err);
    cr_expect_eq(rc, -EINVAL, "rc %d for:\n%s", rc, ini);
    cr_expect_null(p);
    cr_expect_str_eq(err, exp, "\n--- got:  %s\n--- want: %s\n--- file:\n%s", err, exp, ini);
    cr_expect_null(strchr(err, '\n'));
}

static void expect_error(const char *ini, const char *want)
{
    expect_error_ov(ini, NULL, want);
}

#define GLOBAL "[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\n" /* lines 1-3 */
#define VUS "[scenario a]\nexecutor = constant-vus\nvus = 2\n"                /* lines 4-6 */
#define CAR "[scenario a]\nexecutor = constant-arrival-rate\nrate = 10/s\n"   /* lines 4-6 */
#define TLS_KEYS                                                                                   \
    "insecure_skip_tls_verify, ca_file, client_cert, client_key, server_name, tls_min_version, "   \
    "tls_ciphers, tls_curves, tls_resume"
#define CONN_KEYS "keepalive, max_requests_per_conn, conn_lifetime"
#define VERDICT_KEYS "threshold, offered_load, offered_lateness"
#define WS_KEYS                                                                                    \
    "ws_send, ws_binary, ws_interval, ws_rate, ws_messages, ws_expect, ws_hold, reply_timeout, "   \
    "ws_ping, ws_max_message"
#define SCENARIO_KEYS                                                                              \
    "base_url, duration, connect_timeout, request_timeout, graceful_stop, executor, rate, vus, "   \
    "max_connections, max_vus, pre_connections, max_queue, arrival, pacing_resolution, "          \
    "pre_allocated_vus, start_rate, start_vus, stage, iterations, max_duration, start_time, "     \
    "graceful_ramp_down, max_rate, step_duration, warm_up, cool_down, precision, min_rate, "    \
    "flow, setup, data, data_order, cookies, method, url, path, header, body, transfer_encoding, check, extract, "   \
    "tag, sleep, keep_body, on_fail, source_addresses, " TLS_KEYS ", max_var_size, " CONN_KEYS    \
    ", " VERDICT_KEYS ", " WS_KEYS
#define GLOBAL_KEYS                                                                                \
    "base_url, duration, workers, connect_timeout, request_timeout, graceful_stop, "               \
    "pacing_resolution, profile, cookies, keep_body, source_addresses, " TLS_KEYS                  \
    ", max_body_file, max_data_file, max_var_size, allow_hosts, secret, " CONN_KEYS ", "          \
    VERDICT_KEYS ", out"
#define EXECUTORS                                                                                  \
    "constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations, " \
    "shared-iterations, ceiling"
#define RATE_FORMS                                                                                 \
    "(a number > 0 and at most 10000000/s, written with digits, per unit: 100/s, 100/m, "          \
    "5000/30s, 0.5/s)"

/* ---- parsers ---- */

Test(config, durations)
{
    static const struct {
        const char *in;
        uint64_t ns;
    } good[] = {
        {"30s", 30 * S},
        {"1m30s", 90 * S},
        {"500ms", 500000000},
        {"1.5s", 1500000000},
        {"250us", 250000},
        {"2h", 7200 * S},
        {"0s", 0},
        {"0", 0},
        {"1h2m3s4ms5us", 3723004005000ULL},
        {"0.001ms", 1000},
        {"0.000001ms", 1},
        {"1.25m", 75 * S},
        {"10s500ms", 10500000000ULL},
        {"5124095h", 5124095ULL * 3600 * S},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t ns = 12345;
        cr_expect_eq(value_duration(good[i].in, &ns), 0, "%s", good[i].in);
        cr_expect_eq(ns, good[i].ns, "%s: %llu", good[i].in, (unsigned long long)ns);
    }
    static const char *const bad[] = {
        "",         "10",    "1x", "-1s",  "+1s",   "nan", "inf", "1s ", " 1s",
        "s",        "1 s",   "ms", "1e3s", "0x10s", "1ns", "1d",  "1.5", "99999999999999999999s",
        "5124096h", "1m-1s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns = 12345;
        cr_expect_eq(value_duration(bad[i], &ns), -EINVAL, "'%s'", bad[i]);
        cr_expect_eq(ns, 12345, "'%s' wrote *ns", bad[i]);
    }
}

Test(config, sizes)
{
    static const struct {
        const char *in;
        uint64_t bytes;
    } good[] = {
        {"0", 0},          {"512", 512},           {"512b", 512},           {"64KiB", 65536},
        {"1MiB", 1048576}, {"1.5MiB", 1572864},    {"2gib", 2147483648ULL}, {"1KB", 1000},
        {"2MB", 2000000},  {"3GB", 3000000000ULL}, {"0.5kib", 512},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t n = 12345;
        cr_expect_eq(value_size(good[i].in, &n), 0, "%s", good[i].in);
        cr_expect_eq(n, good[i].bytes, "%s: %llu", good[i].in, (unsigned long long)n);
    }
    static const char *const bad[] = {"",   "MiB",  "1 MiB", "-1",   "1e3",           "1TiB",
                                      "1M", "1.5x", "1MiBs", "0x10", "99999999999GiB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t n = 12345;
        cr_expect_eq(value_size(bad[i], &n), -EINVAL, "'%s'", bad[i]);
        cr_expect_eq(n, 12345, "'%s' wrote *bytes", bad[i]);
    }
}

Test(config, rates)
{
    static const struct {
        const char *in;
        double per_s;
    } good[] = {
        {"10000/s", 10000},        {"167/s", 167}, {"100/m", 100.0 / 60},
        {"5000/30s", 5000.0 / 30}, {"0.5/s", 0.5}, {"1/h", 1.0 / 3600},
        {"30/1m30s", 30.0 / 90},   {"3/500ms", 6}, {"1/1s", 1},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        double r = -1;
        cr_expect_eq(value_rate(good[i].in, &r), 0, "%s", good[i].in);
        cr_expect(fabs(r - good[i].per_s) <= 1e-12 * good[i].per_s, "%s: %.17g", good[i].in, r);
    }
    static const char *const bad[] = {
        "0/s",   "-1/s",  "10",    "10/x",  "abc",   "",      "/s",    "1/0s",   "nan/s",
        "inf/s", "1e3/s", "10/ s", "10 /s", "10/s ", "0.0/s", "1/-1s", "10/ms!", "1//s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double r = -1;
        cr_expect_eq(value_rate(bad[i], &r), -EINVAL, "'%s'", bad[i]);
        cr_expect_eq(r, -1, "'%s' wrote *per_s", bad[i]);
    }
    /* beyond VALUE_MAX_RATE: a different answer, so the message can name the bound */
    static const char *const high[] = {"10000001/s", "1000000000000/s", "20000/1ms"};
    for (size_t i = 0; i < sizeof high / sizeof high[0]; i++) {
        double r = -1;
        cr_expect_eq(value_rate(high[i], &r), -ERANGE, "'%s'", high[i]);
    }
    double r = 0;
    cr_expect_eq(value_rate("10000000/s", &r), 0, "the bound itself is allowed");
}

/* ---- whole files ---- */

Test(config, minimal_arrival_rate)
{
    plan *p = ok("[global]\n"
                 "base_url = http://127.0.0.1:8080\n"
                 "duration = 30s\n"
                 "\n"
                 "[scenario heartbeat]\n"
                 "executor = constant-arrival-rate\n"
                 "rate = 167/s\n");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_eq(p->workers, (unsigned)(cpus > 256 ? 256 : cpus));
    cr_expect_str_eq(p->file, ini_path);
    cr_expect_eq(p->graceful_stop_ns, 10 * S);
    cr_assert_eq(p->nscenarios, 1);
    plan_scenario *s = &p->scenarios[0];
    cr_expect_str_eq(s->name, "heartbeat");
    cr_expect_eq(s->line, 5);
    cr_expect_eq(s->executor, PLAN_CONSTANT_ARRIVAL_RATE);
    cr_expect_eq(s->arrival, PLAN_ARRIVAL_UNIFORM);
    cr_expect_eq(s->rate, 167);
    cr_expect_eq(s->duration_ns, 30 * S);
    cr_expect_eq(s->max_connections, 100);
    cr_expect_eq(s->pre_connections, 10);
    cr_expect_eq(s->max_queue, 100000);
    cr_expect_eq(s->vus, 0);
    cr_expect_eq(s->connect_timeout_ns, 10 * S);
    cr_expect_eq(s->request_timeout_ns, 60 * S);
    cr_expect_not(s->tls);
    cr_expect_str_eq(s->host, "127.0.0.1");
    cr_expect_eq(s->port, 8080);
    cr_expect_str_eq(s->host_header, "127.0.0.1:8080");
    cr_assert_eq(s->nsteps, 1);
    plan_step *st = &s->steps[0];
    cr_expect_str_eq(st->name, "GET /");
    cr_expect_str_eq(st->method, "GET");
    cr_expect_str_eq(st->target, "/");
    cr_expect_eq(st->nheaders, 0);
    cr_expect_null(st->body);
    cr_expect_eq(st->body_len, 0);
    cr_expect_null(st->req.bytes);
    plan_free(p);
}

Test(config, minimal_vus)
{
    plan *p = ok("[scenario browse]\n"
                 "executor = constant-vus\n"
                 "vus = 50\n"
                 "duration = 1m\n"
                 "base_url = http://localhost\n"
                 "path = /index.html\n");
    cr_assert_eq(p->nscenarios, 1);
    plan_scenario *s = &p->scenarios[0];
    cr_expect_eq(s->executor, PLAN_CONSTANT_VUS);
    cr_expect_eq(s->vus, 50);
    cr_expect_eq(s->duration_ns, 60 * S);
    cr_expect_eq(s->max_connections, 0);
    cr_expect_eq(s->rate, 0);
    cr_expect_str_eq(s->host, "localhost");
    cr_expect_eq(s->port, 80);
    cr_expect_str_eq(s->host_header, "localhost");
    cr_expect_str_eq(s->steps[0].target, "/index.html");
    plan_free(p);
}

Test(config, all_keys)
{
    plan *p = ok("; every key once\n"
                 "[global]\n"
                 "base_url = http://example.com:9000\n"
                 "duration = 2m\n"
                 "workers = 3\n"
                 "connect_timeout = 2s\n"
                 "request_timeout = 5s\n"
                 "graceful_stop = 0\n"
                 "\n"
                 "[scenario one]\n"
                 "executor = constant-arrival-rate\n"
                 "rate = 5000/30s\n"
                 "duration = 45s\n"
                 "max_connections = 4\n"
                 "pre_connections = 2\n"
                 "max_queue = 7\n"
                 "arrival = poisson\n"
                 "connect_timeout = 250ms\n"
                 "method = post\n"
                 "path = /items\n"
                 "header = Content-Type: application/json\n"
                 "body = {\"a\": 1}\n"
                 "\n"
                 "[scenario two.v-2_x]\n"
                 "executor = constant-vus\n"
                 "vus = 3\n"
                 "request_timeout = 1s\n"
                 "base_url = http://other:81/p/\n");
    cr_expect_eq(p->workers, 3);
    cr_expect_eq(p->graceful_stop_ns, 0);
    cr_assert_eq(p->nscenarios, 2);
    plan_scenario *a = &p->scenarios[0], *b = &p->scenarios[1];
    cr_expect_str_eq(a->name, "one");
    cr_expect_eq(a->line, 10);
    cr_expect(fabs(a->rate - 5000.0 / 30) < 1e-9);
    cr_expect_eq(a->duration_ns, 45 * S);
    cr_expect_eq(a->max_connections, 4);
    cr_expect_eq(a->pre_connections, 2);
    cr_expect_eq(a->max_queue, 7);
    cr_expect_eq(a->arrival, PLAN_ARRIVAL_POISSON);
    cr_expect_eq(a->connect_timeout_ns, 250000000);
    cr_expect_eq(a->request_timeout_ns, 5 * S);
    cr_expect_str_eq(a->host_header, "example.com:9000");
    cr_expect_str_eq(a->steps[0].method, "POST");
    cr_expect_str_eq(a->steps[0].target, "/items");
    cr_assert_eq(a->steps[0].nheaders, 1);
    cr_expect_str_eq(a->steps[0].headers[0], "Content-Type: application/json");
    cr_expect_str_eq(a->steps[0].body, "{\"a\": 1}");
    cr_expect_eq(a->steps[0].body_len, 8);

    cr_expect_str_eq(b->name, "two.v-2_x");
    cr_expect_eq(b->vus, 3);
    cr_expect_eq(b->duration_ns, 120 * S);
    cr_expect_eq(b->connect_timeout_ns, 2 * S);
    cr_expect_eq(b->request_timeout_ns, 1 * S);
    cr_expect_str_eq(b->host, "other");
    cr_expect_eq(b->port, 81);
    cr_expect_str_eq(b->host_header, "other:81");
    cr_expect_str_eq(b->steps[0].target, "/p/");
    cr_expect_str_eq(b->steps[0].name, "GET /p/");
    plan_free(p);
}

Test(config, pre_connections_default_follows_max_connections)
{
    plan *p = ok(GLOBAL CAR "max_connections = 3\n");
    cr_expect_eq(p->scenarios[0].max_connections, 3);
    cr_expect_eq(p->scenarios[0].pre_connections, 3);
    plan_free(p);
}

Test(config, workers_auto)
{
    plan *p = ok("[global]\nworkers = auto\n"
                 "base_url = http://h\nduration = 1s\n" VUS);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_eq(p->workers, (unsigned)(cpus > 256 ? 256 : cpus));
    plan_free(p);
}

/* base_url / url / path: host, port, Host header and request target */
Test(config, urls)
{
    static const struct {
        const char *keys; /* lines after the scenario's executor and vus */
        const char *host, *host_header, *target;
        uint16_t port;
    } rows[] = {
        {"base_url = http://[::1]:8080\n", "::1", "[::1]:8080", "/", 8080},
        {"base_url = http://[::1]\n", "::1", "[::1]", "/", 80},
        {"base_url = http://[fe80::1:2]:80/x\n", "fe80::1:2", "[fe80::1:2]", "/x", 80},
        {"base_url = http://h:8080/api\npath = /v1/x\n", "h", "h:8080", "/api/v1/x", 8080},
        {"base_url = http://h:8080/api/\npath = /v1/x\n", "h", "h:8080", "/api/v1/x", 8080},
        {"base_url = http://h/api\n", "h", "h", "/api", 80},
        {"base_url = http://h/\npath = /\n", "h", "h", "/", 80},
        {"base_url = http://h\npath = /x?y=1&z=%20\n", "h", "h", "/x?y=1&z=%20", 80},
        {"base_url = HTTP://Host.Example:65535\n", "Host.Example", "Host.Example:65535", "/",
         65535},
        {"url = http://b:2/p?q=1\n", "b", "b:2", "/p?q=1", 2},
        {"url = http://b\n", "b", "b", "/", 80},
        {"url = http://b?x=1\n", "b", "b", "/?x=1", 80},
        {"url = http://10.1.2.3:1/\n", "10.1.2.3", "10.1.2.3:1", "/", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ini[512];
        snprintf(ini, sizeof ini,
                 "[global]\nbase_url = http://global:1/g\n"
                 "[scenario a]\nexecutor = constant-vus\nvus = 1\nduration = 1s\n%s",
                 rows[i].keys);
        plan *p = ok(ini);
        plan_scenario *s = &p->scenarios[0];
        cr_expect_str_eq(s->host, rows[i].host, "%s", rows[i].keys);
        cr_expect_str_eq(s->host_header, rows[i].host_header, "%s", rows[i].keys);
        cr_expect_str_eq(s->steps[0].target, rows[i].target, "%s", rows[i].keys);
        cr_expect_eq(s->port, rows[i].port, "%s", rows[i].keys);
        plan_free(p);
    }
}

Test(config, global_base_url_path_prefix)
{
    plan *p = ok("[global]\nbase_url = http://h:8080/api\nduration = 1s\n"
                 "[scenario a]\nexecutor = constant-vus\nvus = 1\npath = /v1/x\n"
                 "[scenario b]\nexecutor = constant-vus\nvus = 1\n");
    cr_expect_str_eq(p->scenarios[0].steps[0].target, "/api/v1/x");
    cr_expect_str_eq(p->scenarios[1].steps[0].target, "/api");
    plan_free(p);
}

Test(config, header_list)
{
    plan *p = ok(GLOBAL VUS "header = Authorization: Bearer abc\n"
                            "header = X-Empty:\n"
                            "header = Accept: */*\n"
                            "header = Cookie: a=1; b=2\n");
    plan_step *st = &p->scenarios[0].steps[0];
    cr_assert_eq(st->nheaders, 4);
    cr_expect_str_eq(st->headers[0], "Authorization: Bearer abc");
    cr_expect_str_eq(st->headers[1], "X-Empty:");
    cr_expect_str_eq(st->headers[2], "Accept: */*");
    cr_expect_str_eq(st->headers[3], "Cookie: a=1; b=2");
    plan_free(p);
}

Test(config, body_inline_and_file)
{
    static const char bin[] = "{\"k\":\0\"v\"}\n";
    write_file("body.bin", bin, sizeof bin - 1);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    write_file("sub/b.txt", "sub body", 8);
    char abs[256];
    snprintf(abs, sizeof abs, "%s/sub/b.txt", dir);
    char ini[1024];
    snprintf(ini, sizeof ini,
             GLOBAL VUS "body = @body.bin\n"
                        "[scenario b]\nexecutor = constant-vus\nvus = 1\nbody = @sub/b.txt\n"
                        "[scenario c]\nexecutor = constant-vus\nvus = 1\nbody = @%s\n"
                        "[scenario d]\nexecutor = constant-vus\nvus = 1\nbody = @@handle\n"
                        "[scenario e]\nexecutor = constant-vus\nvus = 1\nbody = plain text\n"
                        "[scenario f]\nexecutor = constant-vus\nvus = 1\nbody =\n",
             abs);
    plan *p = ok(ini);
    cr_assert_eq(p->nscenarios, 6);
    cr_expect_eq(p->scenarios[0].steps[0].body_len, sizeof bin - 1);
    cr_expect_eq(memcmp(p->scenarios[0].steps[0].body, bin, sizeof bin - 1), 0);
    cr_expect_str_eq(p->scenarios[1].steps[0].body, "sub body");
    cr_expect_str_eq(p->scenarios[2].steps[0].body, "sub body");
    cr_expect_str_eq(p->scenarios[3].steps[0].body, "@handle");
    cr_expect_str_eq(p->scenarios[4].steps[0].body, "plain text");
    cr_expect_eq(p->scenarios[4].steps[0].body_len, 10);
    cr_expect_null(p->scenarios[5].steps[0].body);
    plan_free(p);
}

/* Indented lines continue a body (joined with \n, indentation dropped); later line numbers
 * stay right across them and across comments. */
Test(config, multi_line_body_and_line_numbers)
{
    const char *ini = GLOBAL VUS "method = PUT\n"     /* 7 */
                                 "body = {\n"         /* 8 */
                                 "    \"a\": 1,\n"    /* 9 */
                                 "; a comment\n"      /* 10 */
                                 "\n"                 /* 11 */
                                 "    \"b\": 2\n"     /* 12 */
                                 "  }\n"              /* 13 */
                                 "# another\n"        /* 14 */
                                 "header = X-A: 1\n"; /* 15 */
    plan *p = ok(ini);
    cr_expect_str_eq(p->scenarios[0].steps[0].body, "{\n\"a\": 1,\n\"b\": 2\n}");
    plan_free(p);

    p = ok(GLOBAL VUS "body =\n  line 1\n    line 2\n");
    cr_expect_str_eq(p->scenarios[0].steps[0].body, "line 1\nline 2");
    plan_free(p);

    char bad[512];
    snprintf(bad, sizeof bad, "%sbogus = 1\n", ini);
    expect_error(bad, "{F}:16: [scenario a] bogus: unknown key (allowed: " SCENARIO_KEYS ")");
}

Test(config, long_lines)
{
    char value[3001], ini[8192];
    memset(value, 'v', 3000);
    value[3000] = '\0';
    snprintf(ini, sizeof ini, GLOBAL VUS "header = X-Long: %s\nheader = X-After: 1\n", value);
    plan *p = ok(ini);
    plan_step *st = &p->scenarios[0].steps[0];
    cr_assert_eq(st->nheaders, 2);
    cr_expect_eq(strlen(st->headers[0]), 3000 + strlen("X-Long: "));
    cr_expect_str_eq(st->headers[1], "X-After: 1");
    plan_free(p);

    /* exactly 4096 characters (also with CRLF) is the limit */
    char line[5000];
    size_t prefix = strlen("header = X-Max: ");
    memcpy(line, "header = X-Max: ", prefix);
    memset(line + prefix, 'm', 4096 - prefix);
    line[4096] = '\0';
    snprintf(ini, sizeof ini, GLOBAL VUS "%s\r\nheader = X-After: 2\n", line);
    p = ok(ini);
    cr_assert_eq(p->scenarios[0].steps[0].nheaders, 2);
    cr_expect_eq(strlen(p->scenarios[0].steps[0].headers[0]), 4096 - strlen("header = "));
    cr_expect_str_eq(p->scenarios[0].steps[0].headers[1], "X-After: 2");
    plan_free(p);

    snprintf(ini, sizeof ini, GLOBAL VUS "%sm\nheader = X-After: 3\n", line);
    expect_error(ini, "{F}:7: line too long (4097 characters; at most 4096)");
}

Test(config, crlf_bom_comments)
{
    plan *p = ok("\xEF\xBB\xBF[global]\r\n"
                 "base_url = http://h:81\r\n"
                 "duration = 3s\r\n"
                 "# comment\r\n"
                 "; another\r\n"
                 "[scenario a]\r\n"
                 "executor = constant-arrival-rate\r\n"
                 "rate = 100/s\r\n");
    cr_expect_eq(p->scenarios[0].duration_ns, 3 * S);
    cr_expect_eq(p->scenarios[0].rate, 100);
    cr_expect_eq(p->scenarios[0].port, 81);
    plan_free(p);
}

/* Comments are whole lines (first non-blank character ; or #); a value keeps every character to
 * the end of its line, " ;" and " #" included. */
Test(config, comments_are_whole_lines)
{
    plan *p = ok("[global]\nbase_url = http://h:81/api\nduration = 3s\n"
                 "  ; an indented comment\n"
                 "[scenario a]\nexecutor = constant-vus\nvus = 1\n"
                 "# a comment between keys\n"
                 "path = /search;v=1?q=a;b\n"
                 "header = X-A: 1 ; 2 # 3\n"
                 "body = {\"a\": 1} ; b\n");
    const plan_step *st = &p->scenarios[0].steps[0];
    cr_expect_str_eq(st->target, "/api/search;v=1?q=a;b");
    cr_expect_str_eq(st->headers[0], "X-A: 1 ; 2 # 3");
    cr_expect_str_eq(st->body, "{\"a\": 1} ; b");
    plan_free(p);
}

Test(config, env_substitution)
{
    setenv("BLAST_T_HOST", "from-env", 1);
    setenv("BLAST_T_PORT", "8081", 1);
    setenv("BLAST_T_EMPTY", "", 1);
    unsetenv("BLAST_T_UNSET");
    const char *env[] = {"BLAST_T_PORT=9001", "BLAST_T_RATE=12", "BLAST_T_RATE=34",
                         "BLAST_T_TOKEN=s3cr=t"};
    config_overrides ov = {.env = env, .nenv = 4};
    plan *p = ok_ov("[global]\n"
                    "base_url = http://${BLAST_T_HOST}:${BLAST_T_PORT}\n"
                    "duration = ${BLAST_T_UNSET:-7s}\n"
                    "[scenario a]\n"
                    "executor = constant-arrival-rate\n"
                    "rate = ${BLAST_T_RATE}/s\n"
                    "path = /${BLAST_T_EMPTY:-empty}/${BLAST_T_UNSET:-${BLAST_T_HOST:-x}}/$x$$y\n"
                    "header = Authorization: Bearer ${BLAST_T_TOKEN}\n"
                    "header = X-Template: $${seq} ${BLAST_T_UNSET:-a{b}c\n"
                    "header = X-Unused: ${BLAST_T_HOST:-${BLAST_T_NOPE}}\n"
                    "header = ${BLAST_T_TOKEN:+X-Token: ${BLAST_T_TOKEN}}\n"
                    "header = ${BLAST_T_EMPTY:+X-Empty: yes}\n"
                    "header = ${BLAST_T_UNSET:+X-Unset: ${BLAST_T_NOPE}}\n"
                    "header = X-Plus: [${BLAST_T_HOST:+set}][${BLAST_T_EMPTY:+set}]\n",
                    &ov);
    plan_scenario *s = &p->scenarios[0];
    cr_expect_str_eq(s->host, "from-env");                         /* environment when no -e */
    cr_expect_eq(s->port, 9001);                                   /* -e before the environment */
    cr_expect_eq(s->rate, 34);                                     /* the last -e wins */
    cr_expect_eq(s->duration_ns, 7 * S);                           /* default when unset */
    cr_expect_str_eq(s->steps[0].target, "/empty/from-env/$x$$y"); /* :- also when empty */
    cr_expect_str_eq(s->steps[0].headers[0], "Authorization: Bearer s3cr=t");
    cr_expect_str_eq(s->steps[0].headers[1], "X-Template: ${seq} a{bc"); /* ends at the first } */
    cr_expect_str_eq(s->steps[0].headers[2], "X-Unused: from-env");
    /* ${N:+text}: text when N is set and not empty; a header left empty is left out */
    cr_expect_str_eq(s->steps[0].headers[3], "X-Token: s3cr=t");
    cr_expect_str_eq(s->steps[0].headers[4], "X-Plus: [set][]");
    cr_expect_eq(s->steps[0].nheaders, 5);
    plan_free(p);
}

Test(config, overrides)
{
    config_overrides ov = {.duration_ns = 42 * S, .rate = 250, .vus = 9, .workers = 5};
    plan *p = ok_ov("[global]\nbase_url = http://h\nworkers = 2\n"
                    "[scenario a]\nexecutor = constant-arrival-rate\nrate = 1/s\nduration = 1s\n"
                    "[scenario b]\nexecutor = constant-vus\nvus = 1\n"
                    "[scenario c]\nexecutor = constant-arrival-rate\n",
                    &ov);
    cr_expect_eq(p->workers, 5);
    cr_assert_eq(p->nscenarios, 3);
    cr_expect_eq(p->scenarios[0].rate, 250);
    cr_expect_eq(p->scenarios[0].vus, 0);
    cr_expect_eq(p->scenarios[0].duration_ns, 42 * S);
    cr_expect_eq(p->scenarios[1].vus, 9);
    cr_expect_eq(p->scenarios[1].rate, 0);
    cr_expect_eq(p->scenarios[1].duration_ns, 42 * S); /* no duration anywhere: --duration */
    cr_expect_eq(p->scenarios[2].rate, 250);           /* no rate in the file: --rate */
    plan_free(p);
}

Test(config, cannot_open)
{
    plan *p = (plan *)0x1;
    char err[256], want[256];
    snprintf(want, sizeof want, "%s/missing.ini: cannot open: No such file or directory", dir);
    char path[128];
    snprintf(path, sizeof path, "%s/missing.ini", dir);
    cr_expect_eq(config_load(path, NULL, &p, err, sizeof err), -ENOENT);
    cr_expect_null(p);
    cr_expect_str_eq(err, want);
    cr_expect_eq(config_load(dir, NULL, &p, err, sizeof err), -EISDIR);
}

Test(config, small_error_buffer)
{
    plan *p = NULL;
    char err[16];
    memset(err, 'x', sizeof err);
    int rc = load(GLOBAL VUS "bogus = 1\n", NULL, &p, err, sizeof err);
    cr_expect_eq(rc, -EINVAL);
    cr_expect_eq(strlen(err), sizeof err - 1);
    cr_expect_eq(load(GLOBAL VUS "bogus = 1\n", NULL, &p, NULL, 0), -EINVAL);
}

/* ---- errors: (file, exact message) ---- */

Test(config_errors, table)
{
    static const struct {
        const char *ini, *err;
    } rows[] = {
        /* structure */
        {GLOBAL VUS "colour = blue\n",
         "{F}:7: [scenario a] colour: unknown key (allowed: " SCENARIO_KEYS ")"},
        {"[global]\nthreads = 4\n",
         "{F}:2: [global] threads: unknown key (allowed: " GLOBAL_KEYS ")"},
        {GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = 1\nduraton = 5s\n",
         "{F}:7: [scenario a] duraton: unknown key; did you mean duration? (allowed: " SCENARIO_KEYS
         ")"},
        {GLOBAL "requst_timeout = 1s\n" VUS, "{F}:4: [global] requst_timeout: unknown key; did you "
                                             "mean request_timeout? (allowed: " GLOBAL_KEYS ")"},
        {GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = 1\nHEADER = X: y\n",
         "{F}:7: [scenario a] HEADER: unknown key; did you mean header? (allowed: " SCENARIO_KEYS
         ")"},
        {GLOBAL VUS "workers = 2\n",
         "{F}:7: [scenario a] workers: only allowed in [global] (allowed here: " SCENARIO_KEYS ")"},
        {"[global]\nrate = 1/s\n",
         "{F}:2: [global] rate: only allowed in [scenario NAME] (allowed here: " GLOBAL_KEYS ")"},
        {GLOBAL "[scenarios a]\nexecutor = constant-vus\n",
         "{F}:4: [scenarios a]: unknown section; did you mean [scenario NAME]? (allowed: [global], "
         "[scenario NAME], [step NAME], [flow NAME], [profile NAME], [preflight])"},
        {GLOBAL VUS "[stpe get]\n",
         "{F}:7: [stpe get]: unknown section; did you mean [step NAME]? (allowed: [global], "
         "[scenario NAME], [step NAME], [flow NAME], [profile NAME], [preflight])"},
        {GLOBAL VUS "[request get]\n",
         "{F}:7: [request get]: unknown section (allowed: [global], [scenario NAME], [step NAME], "
         "[flow NAME], [profile NAME], [preflight])"},
        {GLOBAL "[scenario]\n", "{F}:4: [scenario]: missing scenario name (write [scenario NAME])"},
        {GLOBAL "[scenario a/b]\n",
         "{F}:4: [scenario a/b]: invalid scenario name 'a/b' (allowed: letters, digits, '_', '.', "
         "'-')"},
        {GLOBAL "[scenario a b]\n",
         "{F}:4: [scenario a b]: invalid scenario name 'a b' (allowed: letters, digits, '_', '.', "
         "'-')"},
        {GLOBAL VUS "vus = 3\n", "{F}:7: [scenario a] vus: duplicate key (first set on line 6)"},
        {GLOBAL VUS "\n; x\n[scenario a]\n",
         "{F}:9: [scenario a]: duplicate scenario (first defined on line 4)"},
        {GLOBAL VUS "[global]\n",
         "{F}:7: [global]: duplicate section (first on line 1; one [global] per file)"},
        {"duration = 1s\n" GLOBAL,
         "{F}:1: duration: key outside any section (put it under [global], [scenario NAME], "
         "[step NAME] or [flow NAME])"},
        {GLOBAL VUS "just words\n", "{F}:7: syntax error (expected key = value or [section])"},
        {GLOBAL VUS "= 5\n", "{F}:7: [scenario a]: missing key name (expected key = value)"},
        {GLOBAL "[scenario a\nexecutor = constant-vus\n",
         "{F}:4: syntax error (expected key = value or [section])"},
        {GLOBAL, "{F}: no scenarios (add a [scenario NAME] section with an executor)"},
        {"", "{F}: no scenarios (add a [scenario NAME] section with an executor)"},
        /* executors and the keys they take */
        {GLOBAL "[scenario a]\n",
         "{F}:4: [scenario a]: executor is required (allowed: " EXECUTORS ")"},
        {GLOBAL "[scenario a]\nvus = 1\n",
         "{F}:4: [scenario a]: executor is required (allowed: " EXECUTORS ")"},
        {GLOBAL "[scenario a]\nexecutor = fast\n",
         "{F}:5: [scenario a] executor: unknown executor 'fast' (allowed: " EXECUTORS ")"},
        {GLOBAL "[scenario a]\nexecutor = ramping-vus\n",
         "{F}:4: [scenario a]: ramping-vus needs stage lines (e.g. stage = 2m -> 100)"},
        {GLOBAL "[scenario a]\nexecutor = ramping-arrival-rate\n",
         "{F}:4: [scenario a]: ramping-arrival-rate needs stage lines (e.g. stage = 2m -> 500/s)"},
        {GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\n",
         "{F}:4: [scenario a]: rate is required for constant-arrival-rate (e.g. rate = 100/s)"},
        {GLOBAL "[scenario a]\nexecutor = constant-vus\n",
         "{F}:4: [scenario a]: vus is required for constant-vus (e.g. vus = 10)"},
        {"[global]\nbase_url = http://h\n" VUS,
         "{F}:3: [scenario a]: duration is required (set it here or in [global], or give "
         "--duration)"},
        {GLOBAL CAR "max_connections = 5\nvus = 2\n",
         "{F}:8: [scenario a] vus: only for constant-vus, per-vu-iterations, shared-iterations "
         "(this scenario is constant-arrival-rate)"},
        {GLOBAL VUS "max_queue = 5\nrate = 2/s\n",
         "{F}:7: [scenario a] max_queue: only for constant-arrival-rate, ramping-arrival-rate, ceiling (this "
         "scenario is constant-vus)"},
        {GLOBAL "[scenario a]\narrival = poisson\nexecutor = constant-vus\n",
         "{F}:5: [scenario a] arrival: only for constant-arrival-rate, ramping-arrival-rate, ceiling (this "
         "scenario is constant-vus)"},
        /* values */
        {GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 10\n",
         "{F}:6: [scenario a] rate: '10' is not a valid rate (missing the unit; a number > 0 and "
         "at most 10000000/s, written with digits, per "
         "unit: 100/s, 100/m, 5000/30s, 0.5/s)"},
        {GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 0/s\n",
         "{F}:6: [scenario a] rate: '0/s' is not a valid rate " RATE_FORMS},
        {GLOBAL CAR "max_connections = 0\n",
         "{F}:7: [scenario a] max_connections: 0 is out of range (allowed: 1..1000000)"},
        {GLOBAL CAR "max_connections = 1000001\n",
         "{F}:7: [scenario a] max_connections: 1000001 is out of range (allowed: 1..1000000)"},
        {GLOBAL CAR "max_connections = 5\npre_connections = 6\n",
         "{F}:8: [scenario a] pre_connections: 6 is more than max_vus / max_connections (allowed: "
         "0..5)"},
        {GLOBAL CAR "pre_connections = 101\n", "{F}:7: [scenario a] pre_connections: 101 is more "
                                               "than max_vus / max_connections (allowed: "
                                               "0..100)"},
        {GLOBAL CAR "max_queue = -1\n",
         "{F}:7: [scenario a] max_queue: '-1' is not a whole number (allowed: 1..100000000)"},
        {GLOBAL CAR "arrival = bursty\n",
         "{F}:7: [scenario a] arrival: unknown arrival 'bursty' (allowed: uniform, poisson)"},
        {GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = 0\n",
         "{F}:6: [scenario a] vus: 0 is out of range (allowed: 1..1000000)"},
        {GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = ten\n",
         "{F}:6: [scenario a] vus: 'ten' is not a whole number (allowed: 1..1000000)"},
        {GLOBAL "[scenario a]\nexecutor = constant-vus\nvus = 99999999999999999999999\n",
         "{F}:6: [scenario a] vus: 99999999999999999999999 is out of range (allowed: "
         "1..1000000)"},
        {GLOBAL VUS "duration = 0s\n",
         "{F}:7: [scenario a] duration: must be more than 0 (e.g. 30s)"},
        {GLOBAL VUS "duration = 10\n",
         "{F}:7: [scenario a] duration: '10' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; "
         "units us, ms, s, m, h)"},
        {"[global]\nduration = soon\n" VUS,
         "{F}:2: [global] duration: 'soon' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; units "
         "us, ms, s, m, h)"},
        {GLOBAL "graceful_stop = -1s\n" VUS,
         "{F}:4: [global] graceful_stop: '-1s' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; "
         "units us, ms, s, m, h)"},
        {GLOBAL VUS "request_timeout = 0\n",
         "{F}:7: [scenario a] request_timeout: must be more than 0 (e.g. 30s)"},
        {GLOBAL "workers = 0\n" VUS,
         "{F}:4: [global] workers: 0 is out of range (allowed: 1..256)"},
        {GLOBAL "workers = 257\n" VUS,
         "{F}:4: [global] workers: 257 is out of range (allowed: 1..256)"},
        {GLOBAL "workers = many\n" VUS,
         "{F}:4: [global] workers: 'many' is not a number (allowed: 1..256 or auto)"},
        {GLOBAL VUS "method = GE T\n",
         "{F}:7: [scenario a] method: 'GE T' is not a valid method (a token such as GET, POST, "
         "PUT, DELETE)"},
        {GLOBAL VUS "header = X-A 1\n",
         "{F}:7: [scenario a] header: 'X-A 1' has no ':' (expected Name: value)"},
        {GLOBAL VUS "header = X-A: 1\nheader = Bad Name: x\n",
         "{F}:8: [scenario a] header: invalid header name 'Bad Name' (expected Name: value; a "
         "name is letters, digits and !#$%&'*+-.^_`|~, no spaces)"},
        {GLOBAL VUS "header = : x\n",
         "{F}:7: [scenario a] header: invalid header name '' (expected Name: value; a name is "
         "letters, digits and !#$%&'*+-.^_`|~, no spaces)"},
        {GLOBAL VUS "body = @nope.json\n",
         "{F}:7: [scenario a] body: cannot read 'nope.json' ({D}/nope.json): No such file or "
         "directory"},
        {GLOBAL VUS "body = @/nonexistent/b.json\n",
         "{F}:7: [scenario a] body: cannot read '/nonexistent/b.json' (/nonexistent/b.json): No "
         "such file or directory"},
        {GLOBAL VUS "body = @\n",
         "{F}:7: [scenario a] body: '@' needs a file name (e.g. body = @payload.json)"},
        /* bodies that are no regular file, or too big, are refused before a byte is read */
        {GLOBAL VUS "body = @/dev/zero\n",
         "{F}:7: [scenario a] body: cannot read '/dev/zero' (/dev/zero): is a character device, "
         "not a regular file"},
        {GLOBAL VUS "body = @/dev/urandom\n",
         "{F}:7: [scenario a] body: cannot read '/dev/urandom' (/dev/urandom): is a character "
         "device, not a regular file"},
        {GLOBAL VUS "body = @/tmp\n",
         "{F}:7: [scenario a] body: cannot read '/tmp' (/tmp): is a directory"},
        {"[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\nmax_body_file = 10\n" VUS
         "body = @t.ini\n",
         "{F}:8: [scenario a] body: 't.ini' ({F}) is 135 bytes, more than the 10 bytes allowed "
         "(raise max_body_file in [global], or use body = random SIZE)"},
        {GLOBAL "max_body_file = 0\n" VUS,
         "{F}:4: [global] max_body_file: '0' is out of range (allowed: 1 bytes to 1.0 GiB)"},
        {GLOBAL "max_body_file = 2GiB\n" VUS,
         "{F}:4: [global] max_body_file: '2GiB' is out of range (allowed: 1 bytes to 1.0 GiB)"},
        {GLOBAL "max_body_file = lots\n" VUS,
         "{F}:4: [global] max_body_file: 'lots' is not a size (e.g. 512, 64KiB, 1MiB, 2GB; from 1 "
         "bytes to 1.0 GiB)"},
        {GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 1e12/s\n",
         "{F}:6: [scenario a] rate: '1e12/s' is not a valid rate " RATE_FORMS},
        {GLOBAL "[scenario a]\nexecutor = constant-arrival-rate\nrate = 1000000000000/s\n",
         "{F}:6: [scenario a] rate: '1000000000000/s' is more than one scenario may ask for (at "
         "most 10000000/s; split the load over scenarios or load boxes)"},
        {GLOBAL VUS "body = @x.json\n  more\n",
         "{F}:8: [scenario a] body: a body read from a file (@FILE) cannot continue on the next "
         "line"},
        /* targets */
        /* found by fuzz_config: accepted here, then refused by the request compiler */
        {GLOBAL VUS "header = X-A: a\x1b"
                    "b\n",
         "{F}:7: [scenario a] header: the value of 'X-A' contains control byte 0x1b (allowed: "
         "visible characters, spaces and tabs)"},
        /* TLS settings */
        {GLOBAL VUS "insecure_skip_tls_verify = maybe\n",
         "{F}:7: [scenario a] insecure_skip_tls_verify: 'maybe' is not a boolean (allowed: true, "
         "false)"},
        {GLOBAL VUS "tls_min_version = 1.1\n",
         "{F}:7: [scenario a] tls_min_version: '1.1' is not supported (allowed: 1.2, 1.3)"},
        {GLOBAL VUS "tls_curves = X25519:P-999\n",
         "{F}:7: [scenario a] tls_curves: unknown curve 'P-999' (allowed: X25519, P-256, P-384, "
         "P-521, separated by ':')"},
        {GLOBAL VUS "ca_file = /nonexistent/ca.pem\n",
         "{F}:7: [scenario a] ca_file: cannot read '/nonexistent/ca.pem': No such file or "
         "directory"},
        {GLOBAL VUS "client_cert = /etc/hostname\n",
         "{F}:7: [scenario a] client_cert: client_cert and client_key go together (give both for "
         "mutual TLS)"},
        {"[global]\nbase_url = ftp://h\n" VUS,
         "{F}:2: [global] base_url: unsupported scheme 'ftp' (allowed: http://, "
         "https://, ws:// or wss://host[:port][/path])"},
        {"[global]\nbase_url = localhost:8080\n" VUS,
         "{F}:2: [global] base_url: 'localhost:8080' is not an absolute URL (expected "
         "http://host[:port][/path])"},
        {"[global]\nbase_url = http://h:0\n" VUS,
         "{F}:2: [global] base_url: invalid port '0' (allowed: 1..65535)"},
        {"[global]\nbase_url = http://h:70000\n" VUS,
         "{F}:2: [global] base_url: invalid port '70000' (allowed: 1..65535)"},
        {"[global]\nbase_url = http://h:\n" VUS,
         "{F}:2: [global] base_url: invalid port '' (allowed: 1..65535)"},
        {"[global]\nbase_url = http://h:80x/\n" VUS,
         "{F}:2: [global] base_url: invalid port '80x' (allowed: 1..65535)"},
        {"[global]\nbase_url = http:///x\n" VUS,
         "{F}:2: [global] base_url: missing host (expected http://host[:port][/path])"},
        {"[global]\nbase_url = http://u@h/\n" VUS,
         "{F}:2: [global] base_url: user info (user@host) is not supported in URLs"},
        {"[global]\nbase_url = http://[::g]:80\n" VUS,
         "{F}:2: [global] base_url: invalid IPv6 address '[::g]' (e.g. http://[::1]:8080)"},
        {"[global]\nbase_url = http://[::1:80\n" VUS,
         "{F}:2: [global] base_url: invalid IPv6 address in 'http://[::1:80' (e.g. "
         "http://[::1]:8080)"},
        {"[global]\nbase_url = http://h_st!/\n" VUS,
         "{F}:2: [global] base_url: invalid host in 'http://h_st!/' (letters, digits, '-', '.', "
         "'_'; IPv6 in brackets: http://[::1]:8080)"},
        {"[global]\nbase_url = http://h/?q=1\n" VUS,
         "{F}:2: [global] base_url: base_url cannot have a query (put it in path)"},
        {GLOBAL VUS "url = http://h/x#frag\n",
         "{F}:7: [scenario a] url: fragments (#...) are not sent to servers; remove it"},
        {"[global]\nduration = 1s\n" VUS,
         "{F}:3: [scenario a]: no target (set url here, or base_url here or in [global])"},
        {GLOBAL VUS "path = v1/x\n",
         "{F}:7: [scenario a] path: 'v1/x' must start with '/' (e.g. /api/v1/items)"},
        {GLOBAL VUS "path = /a b\n",
         "{F}:7: [scenario a] path: contains a space or control character (percent-encode it)"},
        {GLOBAL VUS "url = http://h/\npath = /x\n",
         "{F}:8: [scenario a] path: cannot be combined with url (url is absolute; path joins "
         "base_url)"},
        {GLOBAL VUS "base_url = http://b/\nurl = http://h/\n",
         "{F}:8: [scenario a] url: cannot be combined with base_url in the same scenario (url is "
         "absolute; use path with base_url)"},
        /* continuation lines */
        {GLOBAL "[scenario a]\nexecutor = constant-vus\n  vus = 2\n",
         "{F}:6: [scenario a] executor: this indented line continues the value of executor; only "
         "body may span lines (remove the indentation)"},
        {GLOBAL VUS "header = A: 1\n  B: 2\n",
         "{F}:8: [scenario a] header: this indented line continues the value of header; only body "
         "may span lines (remove the indentation)"},
        /* the first error wins */
        {GLOBAL VUS "vus = 3\nbogus = 1\n",
         "{F}:7: [scenario a] vus: duplicate key (first set on line 6)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_error(rows[i].ini, rows[i].err);
}

Test(config_errors, env)
{
    unsetenv("BLAST_T_NOPE");
    setenv("BLAST_T_SET", "x", 1);
    static const struct {
        const char *ini, *err;
    } rows[] = {
        {"[global]\nbase_url = http://${BLAST_T_NOPE}\n",
         "{F}:2: [global] base_url: ${BLAST_T_NOPE} is not set (give -e BLAST_T_NOPE=... or "
         "${BLAST_T_NOPE:-default})"},
        {GLOBAL VUS "\n\nheader = X: ${BLAST_T_SET:-${BLAST_T_NOPE}} ${BLAST_T_NOPE}\n",
         "{F}:9: [scenario a] header: ${BLAST_T_NOPE} is not set (give -e BLAST_T_NOPE=... or "
         "${BLAST_T_NOPE:-default})"},
        {GLOBAL VUS "header = X: ${BLAST_T_NOPE:-${BLAST_T_NOPE}}\n",
         "{F}:7: [scenario a] header: ${BLAST_T_NOPE} is not set (give -e BLAST_T_NOPE=... or "
         "${BLAST_T_NOPE:-default})"},
        {GLOBAL VUS "path = /${BLAST_T_SET\n",
         "{F}:7: [scenario a] path: unterminated ${ (close it with }, or write $${ for a literal "
         "${)"},
        {GLOBAL VUS "path = /${\n",
         "{F}:7: [scenario a] path: unterminated ${ (close it with }, or write $${ for a literal "
         "${)"},
        {GLOBAL VUS "path = /${BLAST_T_NOPE:-x\n",
         "{F}:7: [scenario a] path: unterminated ${ (close it with }, or write $${ for a literal "
         "${)"},
        {GLOBAL VUS "path = /${seq % 5000}\n",
         "{F}:7: [scenario a] path: invalid variable reference '${seq % 5000}' (expected ${NAME}, "
         "${NAME:-default} or ${NAME:+text}, NAME made of letters, digits and '_'; write $${ for "
         "a literal ${)"},
        {GLOBAL VUS "path = /${}\n",
         "{F}:7: [scenario a] path: invalid variable reference '${}' (expected ${NAME}, "
         "${NAME:-default} or ${NAME:+text}, NAME made of letters, digits and '_'; write $${ for "
         "a literal ${)"},
        {GLOBAL VUS "path = /${1X}\n",
         "{F}:7: [scenario a] path: invalid variable reference '${1X}' (expected ${NAME}, "
         "${NAME:-default} or ${NAME:+text}, NAME made of letters, digits and '_'; write $${ for "
         "a literal ${)"},
        /* a body continuation line is substituted too, and cited at its own line */
        {GLOBAL VUS "body = a\n  ${BLAST_T_NOPE}\n",
         "{F}:8: [scenario a] body: ${BLAST_T_NOPE} is not set (give -e BLAST_T_NOPE=... or "
         "${BLAST_T_NOPE:-default})"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_error(rows[i].ini, rows[i].err);

    /* -e makes it set; an -e entry without '=' is no definition */
    const char *env[] = {"BLAST_T_NOPE", "BLAST_T_NOPE=1.2.3.4"};
    config_overrides ov = {.env = env, .nenv = 2};
    plan *p = ok_ov("[global]\nbase_url = http://${BLAST_T_NOPE}\nduration = 1s\n" VUS, &ov);
    cr_expect_str_eq(p->scenarios[0].host, "1.2.3.4");
    plan_free(p);
    ov.nenv = 1;
    expect_error_ov("[global]\nbase_url = http://${BLAST_T_NOPE}\n", &ov,
                    "{F}:2: [global] base_url: ${BLAST_T_NOPE} is not set (give -e "
                    "BLAST_T_NOPE=... or ${BLAST_T_NOPE:-default})");
}

Test(config_errors, env_value_with_line_break)
{
    const char *env[] = {"BLAST_T_INJ=a\r\nX-Evil: 1"};
    config_overrides ov = {.env = env, .nenv = 1};
    expect_error_ov(GLOBAL VUS "header = X-A: ${BLAST_T_INJ}\n", &ov,
                    "{F}:7: [scenario a] header: the value contains a line break (from an "
                    "environment variable?)");
    expect_error_ov(GLOBAL VUS "path = /${BLAST_T_INJ}\n", &ov,
                    "{F}:7: [scenario a] path: contains a space or control character "
                    "(percent-encode it)");
}

Test(config_errors, overrides)
{
    config_overrides ov = {.workers = 257};
    expect_error_ov(GLOBAL VUS, &ov, "{F}: --workers 257 is out of range (allowed: 1..256)");
    ov = (config_overrides){.vus = 1000001};
    expect_error_ov(GLOBAL VUS, &ov, "{F}: --vus 1000001 is out of range (allowed: 1..1000000)");
    ov = (config_overrides){.rate = NAN};
    expect_error_ov(GLOBAL CAR, &ov, "{F}: --rate must be a number > 0 per second");
}

Test(config, https_targets_and_tls_settings)
{
    plan *p = ok("[global]\nbase_url = https://api.example.test\nduration = 1s\n"
                 "insecure_skip_tls_verify = true\n"
                 "[scenario a]\nexecutor = constant-vus\nvus = 1\n"
                 "[scenario b]\nexecutor = constant-vus\nvus = 1\nurl = https://[::1]:8443/x\n"
                 "insecure_skip_tls_verify = no\ntls_min_version = 1.3\ntls_resume = false\n"
                 "server_name = certctl.local\ntls_curves = X25519:P-256\n");
    plan_scenario *a = &p->scenarios[0], *b = &p->scenarios[1];
    cr_assert(a->tls);
    cr_assert_eq(a->port, 443, "https defaults to 443");
    cr_assert_str_eq(a->host_header, "api.example.test");
    cr_assert(a->tls_opts.insecure, "inherited from [global]");
    cr_assert(a->tls_opts.resume, "resumption is on by default");
    cr_assert_eq(a->tls_opts.min_version, 12);
    cr_assert(b->tls);
    cr_assert_eq(b->port, 8443);
    cr_assert_str_eq(b->host_header, "[::1]:8443");
    cr_assert_not(b->tls_opts.insecure, "the scenario overrides [global]");
    cr_assert_not(b->tls_opts.resume);
    cr_assert_eq(b->tls_opts.min_version, 13);
    cr_assert_str_eq(b->tls_opts.server_name, "certctl.local");
    cr_assert_str_eq(b->tls_opts.curves, "X25519:P-256");
    plan_free(p);
}

Test(config, source_addresses)
{
    /* a range, a single address, global inherited by a scenario, scenario overriding global */
    plan *p = ok("[global]\nbase_url = http://127.0.0.1:8080\nduration = 1s\n"
                 "source_addresses = 127.0.0.2-127.0.0.9, 127.0.1.1\n"
                 "[scenario a]\nexecutor = constant-vus\nvus = 1\n"
                 "[scenario b]\nexecutor = constant-vus\nvus = 1\nsource_addresses = ::1\n");
    cr_assert_eq(p->scenarios[0].nsrc, 9);
    const struct sockaddr_in *first = (const struct sockaddr_in *)&p->scenarios[0].src[0];
    const struct sockaddr_in *last = (const struct sockaddr_in *)&p->scenarios[0].src[7];
    const struct sockaddr_in *extra = (const struct sockaddr_in *)&p->scenarios[0].src[8];
    cr_assert_eq(first->sin_family, AF_INET);
    cr_assert_eq(ntohl(first->sin_addr.s_addr), 0x7f000002);
    cr_assert_eq(ntohl(last->sin_addr.s_addr), 0x7f000009);
    cr_assert_eq(ntohl(extra->sin_addr.s_addr), 0x7f000101);
    cr_assert_eq(first->sin_port, 0, "the port is left to connect()");
    cr_assert_eq(p->scenarios[1].nsrc, 1);
    cr_assert_eq(p->scenarios[1].src[0].ss_family, AF_INET6);
    plan_free(p);
}

Test(config_errors, source_addresses)
{
#define SRC_ALLOWED                                                                                \
    "(a comma-separated list of IP addresses or IPv4 ranges, e.g. 127.0.0.2-127.0.0.9, at most "   \
    "1024 addresses, all IPv4 or all IPv6)"
    static const struct {
        const char *value, *want;
    } rows[] = {
        {"localhost", "'localhost' is not an address " SRC_ALLOWED},
        {"127.0.0.9-127.0.0.2", "range '127.0.0.9-127.0.0.2' ends before it starts " SRC_ALLOWED},
        {"127.0.0.1, ::1", "mixes IPv4 and IPv6 " SRC_ALLOWED},
        {"10.0.0.0-10.0.255.255", "too many addresses " SRC_ALLOWED},
        {"::1-::2", "'::1-::2' is not an address " SRC_ALLOWED},
        {",", "is empty " SRC_ALLOWED},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ini[512], want[512];
        snprintf(ini, sizeof ini, GLOBAL VUS "source_addresses = %s\n", rows[i].value);
        snprintf(want, sizeof want, "{F}:7: [scenario a] source_addresses: %s", rows[i].want);
        expect_error(ini, want);
    }
}

Test(config, pacing_resolution)
{
    /* default exact; [global] inherited; a scenario's own value wins; 0 allowed explicitly */
    plan *p = ok(GLOBAL CAR "[scenario b]\nexecutor = constant-arrival-rate\nrate = 1/s\n"
                            "pacing_resolution = 250us\n");
    cr_assert_eq(p->scenarios[0].pacing_resolution_ns, 0);
    cr_assert_eq(p->scenarios[1].pacing_resolution_ns, 250000);
    plan_free(p);
    p = ok(
        "[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\npacing_resolution = 1ms\n" CAR
        "[scenario b]\nexecutor = constant-arrival-rate\nrate = 1/s\n"
        "pacing_resolution = 0\n[scenario c]\nexecutor = constant-vus\nvus = 1\n");
    cr_assert_eq(p->scenarios[0].pacing_resolution_ns, 1000000);
    cr_assert_eq(p->scenarios[1].pacing_resolution_ns, 0);
    cr_assert_eq(p->scenarios[2].pacing_resolution_ns, 1000000, "inherited, unused by VUs");
    plan_free(p);
    p = ok(GLOBAL CAR "pacing_resolution = 100ms\n");
    cr_assert_eq(p->scenarios[0].pacing_resolution_ns, 100000000);
    plan_free(p);
}

Test(config_errors, pacing_resolution)
{
    expect_error(GLOBAL CAR "pacing_resolution = 101ms\n",
                 "{F}:7: [scenario a] pacing_resolution: '101ms' is too coarse (allowed: 0 for "
                 "exact pacing, up to 100ms)");
    expect_error("[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\n"
                 "pacing_resolution = 1s\n" CAR,
                 "{F}:4: [global] pacing_resolution: '1s' is too coarse (allowed: 0 for exact "
                 "pacing, up to 100ms)");
    expect_error(GLOBAL CAR "pacing_resolution = soon\n",
                 "{F}:7: [scenario a] pacing_resolution: 'soon' is not a duration (e.g. 30s, "
                 "1m30s, 500ms, 1.5h; units us, ms, s, m, h)");
    expect_error(GLOBAL VUS "pacing_resolution = 1ms\n",
                 "{F}:7: [scenario a] pacing_resolution: only for constant-arrival-rate, "
                 "ramping-arrival-rate, ceiling (this scenario is constant-vus)");
}

/* ---- connection controls: keepalive, max_requests_per_conn, conn_lifetime ---- */

Test(config, connection_controls)
{
    /* defaults: keep-alive, no limits, no header added */
    plan *p = ok(GLOBAL VUS);
    plan_scenario *s = &p->scenarios[0];
    cr_expect_not(s->keepalive_off);
    cr_expect_eq(s->max_requests_per_conn, 0);
    cr_expect_eq(s->conn_lifetime_ns, 0);
    cr_expect_eq(s->steps[0].nheaders, 0);
    plan_free(p);

    /* [global] defaults; a scenario's own value wins (keepalive = on undoes a global off);
     * keepalive = off is one request per connection and sends Connection: close */
    p = ok("[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\nkeepalive = off\n"
           "max_requests_per_conn = 7\nconn_lifetime = 200ms\n" CAR "header = X-A: 1\n"
           "[scenario b]\nexecutor = constant-vus\nvus = 1\nkeepalive = on\n"
           "max_requests_per_conn = 5\n"
           "[scenario c]\nexecutor = constant-vus\nvus = 1\nkeepalive = no\n"
           "header = connection: keep-alive\nconn_lifetime = 1m\n");
    s = &p->scenarios[0];
    cr_expect(s->keepalive_off);
    cr_expect_eq(s->max_requests_per_conn, 1, "keepalive = off is the tighter limit");
    cr_expect_eq(s->conn_lifetime_ns, 200000000);
    cr_assert_eq(s->steps[0].nheaders, 2);
    cr_expect_str_eq(s->steps[0].headers[0], "X-A: 1");
    cr_expect_str_eq(s->steps[0].headers[1], "Connection: close");
    s = &p->scenarios[1];
    cr_expect_not(s->keepalive_off);
    cr_expect_eq(s->max_requests_per_conn, 5);
    cr_expect_eq(s->conn_lifetime_ns, 200000000, "inherited");
    cr_expect_eq(s->steps[0].nheaders, 0);
    s = &p->scenarios[2];
    cr_expect(s->keepalive_off);
    cr_expect_eq(s->conn_lifetime_ns, 60 * S);
    cr_assert_eq(s->steps[0].nheaders, 1, "the user's Connection header is not doubled");
    cr_expect_str_eq(s->steps[0].headers[0], "connection: keep-alive");
    plan_free(p);

    /* every step of a flow carries the header, also templated ones and a setup's */
    p = ok(GLOBAL VUS "keepalive = off\nflow = f\nsetup = login\n"
                      "[flow f]\nstep = a\nstep = b\n[step a]\npath = /a\n"
                      "[step b]\npath = /b/{{ iter }}\nheader = X-I: {{ vu }}\n"
                      "[step login]\nmethod = POST\npath = /login\n");
    s = &p->scenarios[0];
    cr_assert_eq(s->nsteps, 3);
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        cr_assert_geq(st->nheaders, 1, "step %s", st->name);
        cr_expect_str_eq(st->headers[st->nheaders - 1], "Connection: close", "step %s", st->name);
        cr_expect_not_null(st->t_headers, "step %s: its headers are compiled", st->name);
    }
    plan_free(p);
}

Test(config_errors, connection_controls)
{
    static const struct {
        const char *line, *err;
    } rows[] = {
        {"keepalive = maybe", "keepalive: 'maybe' is not on or off (allowed: on, off)"},
        {"keepalive =", "keepalive: '' is not on or off (allowed: on, off)"},
        {"max_requests_per_conn = 0",
         "max_requests_per_conn: 0 is out of range (allowed: 1..1000000000; leave it out for no "
         "limit)"},
        {"max_requests_per_conn = -1",
         "max_requests_per_conn: '-1' is not a whole number (allowed: 1..1000000000)"},
        {"max_requests_per_conn = 5x",
         "max_requests_per_conn: '5x' is not a whole number (allowed: 1..1000000000)"},
        {"max_requests_per_conn = 1000000001",
         "max_requests_per_conn: 1000000001 is out of range (allowed: 1..1000000000)"},
        {"conn_lifetime = 0",
         "conn_lifetime: must be more than 0 (a duration such as 30s or 500ms; leave it out for "
         "no limit)"},
        {"conn_lifetime = 0s",
         "conn_lifetime: must be more than 0 (a duration such as 30s or 500ms; leave it out for "
         "no limit)"},
        {"conn_lifetime = -1s",
         "conn_lifetime: '-1s' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; units us, ms, s, "
         "m, h)"},
        {"conn_lifetime = 30",
         "conn_lifetime: '30' is not a duration (e.g. 30s, 1m30s, 500ms, 1.5h; units us, ms, s, "
         "m, h)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ini[512], want[512];
        /* in a scenario (both executors) */
        snprintf(ini, sizeof ini, GLOBAL VUS "%s\n", rows[i].line);
        snprintf(want, sizeof want, "{F}:7: [scenario a] %s", rows[i].err);
        expect_error(ini, want);
        snprintf(ini, sizeof ini, GLOBAL CAR "%s\n", rows[i].line);
        expect_error(ini, want);
        /* a bad default in [global] is reported there, also when the scenario sets its own */
        snprintf(ini, sizeof ini,
                 GLOBAL "%s\n" VUS "keepalive = on\nmax_requests_per_conn = 2\n"
                        "conn_lifetime = 1s\n",
                 rows[i].line);
        snprintf(want, sizeof want, "{F}:4: [global] %s", rows[i].err);
        expect_error(ini, want);
    }
    /* they are not step keys: a step shares its VU's connection */
    expect_error(
        GLOBAL VUS "flow = s\n[step s]\nkeepalive = off\n",
        "{F}:9: [step s] keepalive: only allowed in [scenario NAME] (allowed here: method, "
        "url, path, header, body, transfer_encoding, check, extract, tag, sleep, "
        "keep_body, on_fail, " WS_KEYS ")");
}

/* WebSocket steps (config_ws.c): what the keys become in the plan. */
Test(config, ws_step_keys)
{
    plan *p = ok(GLOBAL VUS "flow = chat\n"
                            "[step chat]\npath = /api/v1/ws\nheader = Origin: http://o.example\n"
                            "ws_send = {\"id\":\"{{ vu }}-{{ iter }}\"}\nws_rate = 4/s\n"
                            "ws_expect = correlate $.id\nws_hold = 2m\nreply_timeout = 2s\n"
                            "ws_ping = 10s\nws_max_message = 64KiB\nws_messages = 7\n");
    const plan_step *st = &p->scenarios[0].steps[0];
    cr_assert_not_null(st->ws);
    cr_assert_eq(st->ws->interval_ns, 250000000ull);
    cr_assert_eq(st->ws->expect, PLAN_WS_EXPECT_CORRELATE);
    cr_assert_eq(st->ws->hold_ns, 120ull * 1000000000);
    cr_assert_eq(st->ws->reply_timeout_ns, 2000000000ull);
    cr_assert_eq(st->ws->ping_ns, 10000000000ull);
    cr_assert_eq(st->ws->max_message, 64u * 1024);
    cr_assert_eq(st->ws->messages, 7);
    cr_assert_not_null(st->ws->t_send);
    cr_assert(!st->literal, "the key is per VU: the request is built each time");
    cr_assert(st->need_head);
    bool key = false, upgrade = false;
    for (size_t i = 0; i < st->nheaders; i++) {
        key |= strncmp(st->headers[i], "Sec-WebSocket-Key: ", 19) == 0;
        upgrade |= strcmp(st->headers[i], "Upgrade: websocket") == 0;
    }
    cr_assert(key && upgrade);
    cr_assert_null(p->scenarios[0].steps[0].ws->expect_text);
    plan_free(p);

    p = ok(GLOBAL VUS "url = ws://127.0.0.1:8080/chat\n");
    cr_assert_not_null(p->scenarios[0].steps[0].ws, "a ws:// url alone makes a WebSocket step");
    cr_assert_eq(p->scenarios[0].steps[0].ws->expect, PLAN_WS_EXPECT_NONE);
    cr_assert_str_eq(p->scenarios[0].steps[0].target, "/chat");
    plan_free(p);

    p = ok(GLOBAL VUS "path = /ws\nws_send = hi\nws_expect = json $.type == ack\n");
    cr_assert_eq(p->scenarios[0].steps[0].ws->expect, PLAN_WS_EXPECT_JSON);
    cr_assert_str_eq(p->scenarios[0].steps[0].ws->expect_text, "ack");
    cr_assert_eq(p->scenarios[0].steps[0].ws->interval_ns, 1000000000ull, "1s by default");
    plan_free(p);

    p = ok(GLOBAL VUS "path = /ws\nws_send = hi\nws_expect = contains hi there\n");
    cr_assert_eq(p->scenarios[0].steps[0].ws->expect, PLAN_WS_EXPECT_CONTAINS);
    cr_assert_str_eq(p->scenarios[0].steps[0].ws->expect_text, "hi there");
    plan_free(p);

    p = ok(GLOBAL VUS "path = /plain\n");
    cr_assert_null(p->scenarios[0].steps[0].ws, "no ws key, no ws url: an HTTP step");
    plan_free(p);
}

Test(config_errors, ws_keys)
{
    expect_error(GLOBAL VUS "path = /ws\nws_send = x\nws_expect = maybe\n",
                 "{F}:9: [scenario a] ws_expect: 'maybe' is not an expectation (allowed: none, "
                 "any, contains TEXT, json PATH == VALUE, correlate PATH; e.g. correlate $.id)");
    expect_error(GLOBAL VUS "path = /ws\nws_send = x\nws_rate = 0/s\n",
                 "{F}:9: [scenario a] ws_rate: '0/s' is not a rate per session (e.g. 2/s, 30/m; "
                 "more than 0, at most 1000000/s)");
    expect_error(GLOBAL VUS "path = /ws\nws_binary = on\n",
                 "{F}:8: [scenario a] ws_binary: says how to send messages, but the step has no "
                 "ws_send (the message)");
    expect_error(GLOBAL VUS "path = /ws\nws_send = x\nws_expect = json $.a\n",
                 "{F}:9: [scenario a] ws_expect: expected '== VALUE' after the path (allowed: "
                 "none, any, contains TEXT, json PATH == VALUE, correlate PATH; e.g. correlate "
                 "$.id)");
    expect_error(GLOBAL VUS "url = gopher://127.0.0.1/x\n",
                 "{F}:7: [scenario a] url: unsupported scheme 'gopher' (allowed: http://, "
                 "https://, ws:// or wss://host[:port][/path])");
}
