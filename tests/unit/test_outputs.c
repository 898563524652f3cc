/* Unit tests for the --out writers junit, k6-summary and markdown. A report_run is made by hand:
 * a plan from an INI text (one scenario renamed to hold markup characters, a control byte and a
 * byte that is not UTF-8), recorders filled with known values, and a verdict with a failing, an
 * empty and passing thresholds (tagged submetrics among them) and offered-load checks that are
 * OK, WARN, FAIL and not applicable. Each document is then read by the standard reader of its
 * format, run from here: tests/data/outputs/check_junit.py (ElementTree and junitparser),
 * check_k6.py (json, the fields k6-summary.json CI steps read), check_md.py (Python-Markdown's
 * HTML), each against expectations this file writes; the reader's exit code and its lines are
 * checked here. Also: the UTF-8 walk the writers share, as a table. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "redact.h"
#include "report.h"

#define FFFD "\xef\xbf\xbd"
/* the scenario "browse" is renamed to this, and how each format must show it */
#define ODD "br<&\"|'se\x01\xff*_"
#define ODD_XML "br<&\"|'se" FFFD FFFD "*_"
#define ODD_JSON "br<&\"|'se\x01" FFFD "*_"
#define ODD_MD "br<&\"|'se " FFFD "*_"

#define SECRET "s3cret-token-42"
#define FAIL_REASON "120 arrivals dropped <queue> & \"full\" |\nraise *max_vus* [x](http://e)"
#define FAIL_ADVICE "set max_vus = 200"
#define WARN_REASON "send lateness p99 12ms > 10ms, token " SECRET

static const char INI[] = "[global]\n"
                          "base_url = http://127.0.0.1:9\n"
                          "duration = 10s\n"
                          "\n"
                          "[scenario browse]\n"
                          "executor = constant-arrival-rate\n"
                          "rate = 100/s\n"
                          "max_vus = 20\n"
                          "flow = f\n"
                          "\n"
                          "[scenario users]\n"
                          "executor = constant-vus\n"
                          "vus = 5\n"
                          "path = /api/items?a=1&b=2|3\n"
                          "check = \"ok <&|> 'x'\" status 200\n"
                          "\n"
                          "[scenario api]\n"
                          "executor = constant-arrival-rate\n"
                          "rate = 50/s\n"
                          "path = /api\n"
                          "check = \"heartbeat 2xx\" status in 2xx\n"
                          "\n"
                          "[scenario idle]\n"
                          "executor = constant-vus\n"
                          "vus = 1\n"
                          "path = /idle\n"
                          "\n"
                          "[flow f]\n"
                          "step = search\n"
                          "step = detail\n"
                          "\n"
                          "[step search]\n"
                          "path = /search\n"
                          "tag = type:api\n"
                          "check = \"heartbeat 2xx\" status in 2xx\n"
                          "check = \"a check whose name is long enough to need two md5 blocks\" "
                          "status 200\n"
                          "\n"
                          "[step detail]\n"
                          "path = /detail\n";

#define NSC 4
#define NTHR 7

typedef struct fixture {
    char dir[64];
    plan *p;
    metrics_rec m[NSC];
    report_scenario sc[NSC];
    threshold_result thr[NTHR];
    offered_result off[NSC];
    verdict v;
    report_run run;
} fixture;

static void fill_step(metrics_step *s, uint64_t n, uint64_t lat0, uint64_t dlat, uint64_t failed)
{
    for (uint64_t i = 0; i < n; i++) {
        hist_record(s->latency, lat0 + i * dlat);
        hist_record(s->service, (lat0 + i * dlat) / 2);
    }
    s->scheduled = n;
    s->ok = n - failed;
    s->failed = failed;
    s->fail[METRICS_FAIL_STATUS] = failed;
    s->bytes_sent = n * 100;
    s->bytes_received = n * 250;
}

/* The scenario's counters as the sum of its steps' (plus dropped arrivals). */
static void sum_steps(metrics_rec *m, uint64_t dropped)
{
    for (size_t i = 0; i < m->nsteps; i++) {
        m->c.ok += m->steps[i].ok;
        m->c.failed += m->steps[i].failed;
        m->c.fail[METRICS_FAIL_STATUS] += m->steps[i].failed;
        m->c.bytes_sent += m->steps[i].bytes_sent;
        m->c.bytes_received += m->steps[i].bytes_received;
    }
    m->c.dropped = dropped;
    m->c.scheduled = m->c.ok + m->c.failed + dropped;
}

static double p_ms(const hist *h, double p)
{
    return (double)hist_value_at(h, p) / 1e3;
}

static void thr_set(threshold_result *t, const char *expr, const char *metric, const char *stat,
                    const char *op, double limit, const char *limit_text, double observed,
                    const char *observed_text, bool ok)
{
    *t = (threshold_result){.expr = expr,
                            .metric = metric,
                            .stat = stat,
                            .op = op,
                            .limit = limit,
                            .observed = observed,
                            .ok = ok,
                            .samples = 100,
                            .file = "run.ini",
                            .line = 3};
    snprintf(t->limit_text, sizeof t->limit_text, "%s", limit_text);
    snprintf(t->observed_text, sizeof t->observed_text, "%s", observed_text);
}

static void fixture_make(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/blast-outputs-XXXXXX");
    cr_assert(mkdtemp(fx->dir));
    char path[128], err[4096];
    snprintf(path, sizeof path, "%s/run.ini", fx->dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(INI, f);
    fclose(f);
    config_overrides ov = {0};
    cr_assert_eq(config_load(path, &ov, &fx->p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fx->p->nscenarios, NSC);
    free(fx->p->scenarios[0].name);
    fx->p->scenarios[0].name = strdup(ODD);
    cr_assert(fx->p->scenarios[0].name);

    for (size_t i = 0; i < NSC; i++) {
        const plan_scenario *s = &fx->p->scenarios[i];
        metrics_range rg;
        plan_ranges(fx->p, s, &rg);
        cr_assert_eq(metrics_rec_init(&fx->m[i], &rg, s->nsteps, s->nchecks), 0);
    }
    metrics_rec *b = &fx->m[0], *u = &fx->m[1], *a = &fx->m[2];
    cr_assert_eq(b->nsteps, 2);
    fill_step(&b->steps[0], 1000, 10, 10, 10); /* search: 10 us .. 10 ms */
    fill_step(&b->steps[1], 500, 2000, 20, 0); /* detail: 2 .. 12 ms */
    sum_steps(b, 120);
    b->it = (metrics_iter){.scheduled = 620, .completed = 490, .failed = 10, .dropped = 120};
    for (int i = 0; i < 500; i++)
        hist_record(b->iteration, 3000 + (uint64_t)i * 30);
    b->checks[0] = (metrics_check){.passes = 990, .fails = 10};
    b->checks[1] = (metrics_check){.passes = 1000, .fails = 0};
    fill_step(&u->steps[0], 200, 100, 1, 0);
    sum_steps(u, 0);
    u->it = (metrics_iter){.scheduled = 200, .completed = 200};
    u->checks[0] = (metrics_check){.passes = 200};
    fill_step(&a->steps[0], 300, 50, 2, 0);
    sum_steps(a, 0);
    a->it = (metrics_iter){.scheduled = 300, .completed = 300};
    a->checks[0] = (metrics_check){.passes = 299, .fails = 1};
    for (size_t i = 0; i < NSC; i++) {
        cr_assert_eq(metrics_finish(&fx->m[i]), 0);
        fx->sc[i] = (report_scenario){.s = &fx->p->scenarios[i], .m = &fx->m[i], .window_s = 10};
    }

    char obs[48];
    snprintf(obs, sizeof obs, "%.3fms", p_ms(b->latency, 99));
    thr_set(&fx->thr[0], "http_req_duration p(95) < 500ms", "http_req_duration", "p(95)", "<", 500,
            "500ms", 9.5, "9.500ms", true);
    thr_set(&fx->thr[1], "http_req_duration p(99) < 1ms", "http_req_duration", "p(99)", "<", 1,
            "1ms", p_ms(b->latency, 99), obs, false);
    fx->thr[1].scenario = fx->p->scenarios[0].name;
    fx->thr[1].line = 9;
    thr_set(&fx->thr[2], "http_req_duration{name:GET /a?x=<&\"|>} p(95) < 300ms",
            "http_req_duration", "p(95)", "<", 300, "300ms", 0, "no samples", false);
    fx->thr[2].empty = true;
    fx->thr[2].samples = 0;
    thr_set(&fx->thr[3], "http_req_failed{status:500} rate < 1%", "http_req_failed", "rate", "<",
            0.01, "1%", 0.004, "0.40%", true);
    thr_set(&fx->thr[4], "http_req_duration p(95) < 500ms", "http_req_duration", "p(95)", "<", 500,
            "500ms", 0.6, "0.600ms", true);
    fx->thr[4].scenario = "api";
    fx->thr[4].line = 30;
    static char tagged[160];
    snprintf(tagged, sizeof tagged, "http_req_duration{name: %s} p(95) < 200ms",
             fx->p->scenarios[1].steps[0].name);
    thr_set(&fx->thr[5], tagged, "http_req_duration", "p(95)", "<", 200, "200ms", 0.29, "0.290ms",
            true);
    thr_set(&fx->thr[6], "http_reqs{type:api} count > 100", "http_reqs", "count", ">", 100, "100",
            1000, "1000", true);

    fx->off[0] = (offered_result){.scenario = fx->p->scenarios[0].name,
                                  .state = OFFERED_FAIL,
                                  .dropped = 120,
                                  .queue_max = 4000,
                                  .lateness_p99_ms = 800,
                                  .lateness_bound_ms = 10};
    snprintf(fx->off[0].reason, sizeof fx->off[0].reason, "%s", FAIL_REASON);
    snprintf(fx->off[0].advice, sizeof fx->off[0].advice, "%s", FAIL_ADVICE);
    fx->off[1] = (offered_result){.scenario = "users", .state = OFFERED_WARN};
    snprintf(fx->off[1].reason, sizeof fx->off[1].reason, "%s", WARN_REASON);
    fx->off[2] = (offered_result){.scenario = "api", .state = OFFERED_OK};
    fx->off[3] = (offered_result){.scenario = "idle", .state = OFFERED_NA};
    fx->v = (verdict){.thr = fx->thr,
                      .nthr = NTHR,
                      .off = fx->off,
                      .noff = NSC,
                      .thresholds_ok = false,
                      .offered_ok = false,
                      .cpu_user_s = 1.5,
                      .rss_max_kib = 12345};
    fx->run = (report_run){.plan = fx->p,
                           .workers = 2,
                           .duration_s = 10.5,
                           .started = true,
                           .sc = fx->sc,
                           .nsc = NSC,
                           .verdict = &fx->v};
    cr_assert_eq(redact_add(SECRET, strlen(SECRET)), 0);
}

static void fixture_free(fixture *fx)
{
    for (size_t i = 0; i < NSC; i++)
        metrics_rec_free(&fx->m[i]);
    plan_free(fx->p);
    if (getenv("OUTPUTS_KEEP")) { /* to look at the documents */
        fprintf(stderr, "outputs: kept %s\n", fx->dir);
        return;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    cr_expect_eq(system(cmd), 0);
}

/* Writes the document with w into DIR/name; returns its path (static buffer). */
static const char *write_doc(const fixture *fx, report_writer w, const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    cr_assert_eq(w(f, &fx->run), 0);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* Runs the reader `script` on doc against the expectations exp (consumed); returns its exit
 * status and its standard output in out. */
static int run_reader(const fixture *fx, const char *script, const char *doc, json_t *exp,
                      char *out, size_t cap)
{
    char ep[128], cmd[512];
    snprintf(ep, sizeof ep, "%s/%s.expect.json", fx->dir, script);
    cr_assert_eq(json_dump_file(exp, ep, JSON_INDENT(1)), 0);
    json_decref(exp);
    const char *py = getenv("BLAST_PYTHON") ? getenv("BLAST_PYTHON") : "/usr/bin/python3";
    const char *dir = getenv("OUTPUT_CHECKS") ? getenv("OUTPUT_CHECKS") : "tests/data/outputs";
    snprintf(cmd, sizeof cmd, "%s %s/%s %s %s", py, dir, script, doc, ep);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "%s", cmd);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void read_text_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static json_t *jcase(const char *cls, const char *name, const char *type, const char *message,
                     const char *contains, bool in_output)
{
    json_t *c = json_pack("{s:s, s:s, s:s}", "classname", cls, "name", name, "status",
                          type ? "failure" : "pass");
    cr_assert(c, "a name is not UTF-8: %s", name);
    if (type) {
        json_object_set_new(c, "type", json_string(type));
        json_object_set_new(c, "message", json_string(message));
    }
    if (contains)
        json_object_set_new(c, in_output ? "system_out_contains" : "details_contains",
                            json_string(contains));
    return c;
}

Test(outputs, junit_is_read_by_junitparser_and_elementtree)
{
    fixture fx;
    fixture_make(&fx);
    const char *doc = write_doc(&fx, report_junit, "run.xml");
    char failmsg[96];
    snprintf(failmsg, sizeof failmsg, "p(99) %s (limit 1ms)", fx.thr[1].observed_text);
    json_t *thr = json_array(), *off = json_array();
    json_array_append_new(thr, jcase("blast", fx.thr[0].expr, NULL, NULL, "p(95) 9.500ms", true));
    json_array_append_new(thr, jcase("blast." ODD_XML, fx.thr[1].expr, "threshold", failmsg,
                                     "declared in scenario " ODD_XML " at run.ini:9", false));
    json_array_append_new(thr, jcase("blast", fx.thr[2].expr, "threshold",
                                     "no samples (limit 300ms)", "no samples: ", false));
    json_array_append_new(thr, jcase("blast", fx.thr[3].expr, NULL, NULL, NULL, false));
    /* the same expression again (another scenario): GitLab keeps one case per name */
    json_array_append_new(thr, jcase("blast.api", "http_req_duration p(95) < 500ms (line 30)", NULL,
                                     NULL, NULL, false));
    json_array_append_new(thr, jcase("blast", fx.thr[5].expr, NULL, NULL, NULL, false));
    json_array_append_new(thr, jcase("blast", fx.thr[6].expr, NULL, NULL, NULL, false));
    json_array_append_new(off, jcase("blast." ODD_XML, "offered load: " ODD_XML, "offered_load",
                                     FAIL_REASON, FAIL_ADVICE, false));
    json_array_append_new(off,
                          jcase("blast.users", "offered load: users", NULL, NULL,
                                "warn: send lateness p99 12ms > 10ms, token [redacted]", true));
    json_array_append_new(off, jcase("blast.api", "offered load: api", NULL, NULL, NULL, false));
    json_t *exp =
        json_pack("{s:i, s:i, s:[{s:s, s:o}, {s:s, s:o}]}", "tests", 10, "failures", 3, "suites",
                  "name", "thresholds", "cases", thr, "name", "offered_load", "cases", off);
    cr_assert(exp);
    char out[8192];
    int rc = run_reader(&fx, "check_junit.py", doc, exp, out, sizeof out);
    cr_assert_eq(rc, 0, "check_junit.py failed (%d); its output:\n%s", rc, out);
    char line[256];
    snprintf(line, sizeof line, "thresholds|blast.%s|http_req_duration p(99) < 1ms|failure|%s",
             ODD_XML, failmsg);
    cr_expect(strstr(out, line), "no line '%s' in:\n%s", line, out);
    cr_expect(strstr(out, "offered_load|blast.users|offered load: users|pass|"), "%s", out);
    char text[16384];
    read_text_file(doc, text, sizeof text);
    cr_expect(!strstr(text, SECRET), "the secret is in the document");
    fixture_free(&fx);
}

/* A merged histogram of the scenarios' latency (service: true, their service time). */
static hist *merged(const fixture *fx, bool service)
{
    hist *h;
    cr_assert_eq(hist_init(&h, hist_highest(fx->m[0].latency) * 4, METRICS_HIST_SIGFIGS), 0);
    for (size_t i = 0; i < NSC; i++)
        cr_assert_eq(hist_merge(h, service ? fx->m[i].service : fx->m[i].latency), 0);
    return h;
}

static json_t *trend(const hist *h)
{
    return json_pack("{s:s, s:s, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I}}", "type", "trend",
                     "contains", "time", "values", "avg", hist_mean(h) / 1e3, "min",
                     (double)hist_min(h) / 1e3, "med", p_ms(h, 50), "max",
                     (double)hist_max(h) / 1e3, "p(90)", p_ms(h, 90), "p(95)", p_ms(h, 95), "p(99)",
                     p_ms(h, 99), "count", (json_int_t)hist_count(h));
}

Test(outputs, k6_summary_reads_as_the_seed_ci_steps_read_it)
{
    fixture fx;
    fixture_make(&fx);
    const char *doc = write_doc(&fx, report_k6, "k6-summary.json");
    hist *lat = merged(&fx, false), *svc = merged(&fx, true);
    const metrics_rec *b = &fx.m[0], *a = &fx.m[2];
    const hist *users_step = fx.m[1].steps[0].latency;
    char tagged[160];
    snprintf(tagged, sizeof tagged, "http_req_duration{name:%s}", fx.p->scenarios[1].steps[0].name);
    json_t *m = json_object();
    json_object_set_new(m, "http_reqs",
                        json_pack("{s:s, s:{s:i, s:f}}", "type", "counter", "values", "count", 2000,
                                  "rate", 2000 / 10.5));
    /* k6's http_req_failed is a Rate of "this request failed": passes are the failed ones */
    json_object_set_new(m, "http_req_failed",
                        json_pack("{s:s, s:{s:f, s:i, s:i}}", "type", "rate", "values", "rate",
                                  10 / 2000.0, "passes", 10, "fails", 1990));
    json_object_set_new(m, "http_req_duration", trend(lat));
    json_object_set_new(m, "http_req_waiting", trend(svc));
    json_object_set_new(m, "iterations",
                        json_pack("{s:s, s:{s:i}}", "type", "counter", "values", "count", 1000));
    json_object_set_new(m, "dropped_iterations",
                        json_pack("{s:s, s:{s:i}}", "type", "counter", "values", "count", 120));
    json_object_set_new(m, "checks",
                        json_pack("{s:s, s:{s:f, s:i, s:i}}", "type", "rate", "values", "rate",
                                  2489 / 2500.0, "passes", 2489, "fails", 11));
    json_object_set_new(m, "data_sent",
                        json_pack("{s:s, s:s, s:{s:i}}", "type", "counter", "contains", "data",
                                  "values", "count", 200000));
    json_object_set_new(m, "data_received",
                        json_pack("{s:s, s:s, s:{s:i}}", "type", "counter", "contains", "data",
                                  "values", "count", 500000));
    json_object_set_new(
        m, "vus_max",
        json_pack("{s:s, s:{s:i, s:i}}", "type", "gauge", "values", "value", 126, "max", 126));
    json_object_set_new(m, "http_req_duration{scenario:" ODD_JSON "}",
                        json_pack("{s:s, s:{s:f, s:i}}", "type", "trend", "values", "p(99)",
                                  p_ms(b->latency, 99), "count", 1500));
    json_object_set_new(
        m, "http_req_duration{scenario:api}",
        json_pack("{s:{s:f, s:i}}", "values", "p(95)", p_ms(a->latency, 95), "count", 300));
    json_object_set_new(m, "http_req_duration{name:GET /a?x=<&\"|>}",
                        json_pack("{s:{s:i, s:i}}", "values", "p(95)", 0, "count", 0));
    json_object_set_new(m, "http_req_failed{status:500}",
                        json_pack("{s:s, s:{s:f}}", "type", "rate", "values", "rate", 0.004));
    json_object_set_new(
        m, tagged,
        json_pack("{s:{s:f, s:i}}", "values", "p(95)", p_ms(users_step, 95), "count", 200));
    json_object_set_new(m, "http_reqs{type:api}",
                        json_pack("{s:s, s:{s:i}}", "type", "counter", "values", "count", 1000));
    json_t *thr =
        json_pack("[[s, s, b], [s, s, b], [s, s, b], [s, s, b], [s, s, b], [s, s, b], [s, s, b]]",
                  "http_req_duration", "p(95)<500", 1, "http_req_duration{scenario:" ODD_JSON "}",
                  "p(99)<1", 0, "http_req_duration{name:GET /a?x=<&\"|>}", "p(95)<300", 0,
                  "http_req_failed{status:500}", "rate<0.01", 1, "http_req_duration{scenario:api}",
                  "p(95)<500", 1, tagged, "p(95)<200", 1, "http_reqs{type:api}", "count>100", 1);
    json_t *checks = json_pack("[{s:s, s:i, s:i}, {s:s, s:i, s:i}, {s:s, s:i, s:i}]", "name",
                               "heartbeat 2xx", "passes", 1289, "fails", 11, "name",
                               "a check whose name is long enough to need two md5 blocks", "passes",
                               1000, "fails", 0, "name", "ok <&|> 'x'", "passes", 200, "fails", 0);
    json_t *exp =
        json_pack("{s:o, s:[s], s:o, s:o, s:f}", "metrics", m, "absent", "http_req_tls_handshaking",
                  "thresholds", thr, "checks", checks, "duration_ms", 10500.0);
    cr_assert(exp && thr && checks);
    char out[8192];
    int rc = run_reader(&fx, "check_k6.py", doc, exp, out, sizeof out);
    cr_assert_eq(rc, 0, "check_k6.py failed (%d); its output:\n%s", rc, out);
    char line[256];
    snprintf(line, sizeof line, "p95 %.3f p99 %.3f failed 0.005000", p_ms(lat, 95), p_ms(lat, 99));
    cr_expect(strstr(out, line), "no '%s' in:\n%s", line, out);
    cr_expect(strstr(out, "FAIL http_req_duration{scenario:" ODD_JSON "} p(99)<1\n"), "%s", out);
    cr_expect(strstr(out, "FAIL http_req_duration{name:GET /a?x=<&\"|>} p(95)<300\n"), "%s", out);
    hist_free(lat);
    hist_free(svc);
    fixture_free(&fx);
}

static json_t *row7(const char *a, const char *b, const char *c, const char *d, const char *e,
                    const char *f, const char *g)
{
    const char *v[] = {a, b, c, d, e, f, g};
    json_t *r = json_array();
    for (size_t i = 0; i < 7; i++)
        json_array_append_new(r, v[i] ? json_string(v[i]) : json_null());
    return r;
}

Test(outputs, markdown_renders_as_tables_without_markup_from_names)
{
    fixture fx;
    fixture_make(&fx);
    const char *doc = write_doc(&fx, report_md, "summary.md");
    json_t *sc =
        json_pack("[o, o, o, o]", row7(ODD_MD, NULL, NULL, "0.67%", "150.0/s", "100.0/s", "❌ fail"),
                  row7("users", NULL, NULL, "0.00%", "20.0/s", "– (5 VUs)", "⚠️ warn"),
                  row7("api", NULL, NULL, "0.00%", "30.0/s", "50.0/s", "✅ ok"),
                  row7("idle", "–", "–", "–", "0.0/s", "– (1 VUs)", "–"));
    json_t *th = json_array();
    static const char *const scope[NTHR] = {"global", ODD_MD,   "global", "global",
                                            "api",    "global", "global"};
    for (size_t i = 0; i < NTHR; i++) {
        const threshold_result *t = &fx.thr[i];
        json_array_append_new(th, json_pack("[s, s, s, s, s]", t->ok ? "✓" : "✗", t->expr, scope[i],
                                            t->observed_text, t->limit_text));
    }
    json_t *exp = json_pack(
        "{s:s, s:[{s:[s, s, s, s, s, s, s], s:o}, {s:[s, s, s, s, s], s:o}], s:[s, s]}", "heading",
        "❌ blast: fail", "tables", "header", "scenario", "p95", "p99", "failed", "achieved",
        "target", "offered load", "rows", sc, "header", "", "threshold", "scope", "observed",
        "limit", "rows", th, "items",
        "❌ " ODD_MD ": 120 arrivals dropped <queue> & \"full\" | raise *max_vus* [x](http://e) "
        "set max_vus = 200",
        "⚠️ users: send lateness p99 12ms > 10ms, token [redacted]");
    cr_assert(exp);
    char out[8192];
    int rc = run_reader(&fx, "check_md.py", doc, exp, out, sizeof out);
    cr_assert_eq(rc, 0, "check_md.py failed (%d); its output:\n%s", rc, out);
    cr_expect(strstr(out, "✗ | http_req_duration p(99) < 1ms | " ODD_MD " | "), "%s", out);
    fixture_free(&fx);
}

/* A run nothing judged (verdict NULL): still a valid document of each kind. */
Test(outputs, no_verdict_still_gives_valid_documents)
{
    fixture fx;
    fixture_make(&fx);
    fx.run.verdict = NULL;
    char out[8192];
    const char *doc = write_doc(&fx, report_junit, "none.xml");
    json_t *exp =
        json_pack("{s:i, s:i, s:[{s:s, s:[]}, {s:s, s:[]}]}", "tests", 0, "failures", 0, "suites",
                  "name", "thresholds", "cases", "name", "offered_load", "cases");
    cr_assert_eq(run_reader(&fx, "check_junit.py", doc, exp, out, sizeof out), 0, "%s", out);

    doc = write_doc(&fx, report_k6, "none.json");
    exp = json_pack("{s:{s:{s:{s:i}}}, s:[s, s], s:[], s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}, "
                    "{s:s, s:i, s:i}]}",
                    "metrics", "http_reqs", "values", "count", 2000, "absent",
                    "http_req_duration{scenario:api}", "http_req_tls_handshaking", "thresholds",
                    "checks", "name", "heartbeat 2xx", "passes", 1289, "fails", 11, "name",
                    "a check whose name is long enough to need two md5 blocks", "passes", 1000,
                    "fails", 0, "name", "ok <&|> 'x'", "passes", 200, "fails", 0);
    cr_assert(exp);
    cr_assert_eq(run_reader(&fx, "check_k6.py", doc, exp, out, sizeof out), 0, "%s", out);

    doc = write_doc(&fx, report_md, "none.md");
    exp = json_pack("{s:s, s:[{s:[s, s, s, s, s, s, s], s:[o, o, o, o]}]}", "heading",
                    "blast: run complete (no thresholds judged)", "tables", "header", "scenario",
                    "p95", "p99", "failed", "achieved", "target", "offered load", "rows",
                    row7(ODD_MD, NULL, NULL, NULL, NULL, NULL, "–"),
                    row7("users", NULL, NULL, NULL, NULL, NULL, "–"),
                    row7("api", NULL, NULL, NULL, NULL, NULL, "–"),
                    row7("idle", NULL, NULL, NULL, NULL, NULL, "–"));
    cr_assert(exp);
    cr_assert_eq(run_reader(&fx, "check_md.py", doc, exp, out, sizeof out), 0, "%s", out);
    fixture_free(&fx);
}

/* The readers must be able to fail: a document that breaks each format's rules is refused. */
Test(outputs, readers_refuse_broken_documents)
{
    fixture fx;
    fixture_make(&fx);
    char out[4096], path[160];
    static const struct {
        const char *script, *name, *text;
    } rows[] = {
        {"check_junit.py", "bad.xml",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"blast\" tests=\"0\" "
         "failures=\"0\" errors=\"0\" time=\"1\">\x01</testsuites>\n"},
        {"check_junit.py", "bad2.xml",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"blast\" tests=\"0\" "
         "failures=\"0\" errors=\"0\" time=\"1\"><testsuite name=\"x\">\xff</testsuite>"
         "</testsuites>\n"},
        {"check_k6.py", "bad.json", "{\"metrics\": {\"http_reqs\": NaN}}"},
        {"check_md.py", "bad.md", "## blast\n\n| a <b>x</b> |\n|---|\n| y |\n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fx.dir, rows[i].name);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fputs(rows[i].text, f);
        fclose(f);
        json_t *exp =
            json_pack("{s:i, s:i, s:[], s:{}, s:[], s:[], s:s, s:[]}", "tests", 0, "failures", 0,
                      "suites", "metrics", "thresholds", "checks", "heading", "blast", "tables");
        cr_expect_neq(run_reader(&fx, rows[i].script, path, exp, out, sizeof out), 0,
                      "%s accepted %s", rows[i].script, rows[i].name);
    }
    fixture_free(&fx);
}

/* report_utf8_next: (input, code point, bytes taken) */
Test(outputs, utf8_walk_table)
{
    static const struct {
        const char *in;
        uint32_t cp;
        size_t n;
    } rows[] = {
        {"a", 'a', 1},
        {"\x01", 1, 1},
        {"\xc3\xa9", 0xe9, 2},
        {"\xe2\x82\xac", 0x20ac, 3},
        {"\xf0\x9f\x98\x80", 0x1f600, 4},
        {"\xff", REPORT_BAD_CHAR, 1},
        {"\x80", REPORT_BAD_CHAR, 1},
        {"\xc0\xaf", REPORT_BAD_CHAR, 1},         /* overlong '/' */
        {"\xe0\x80\xaf", REPORT_BAD_CHAR, 1},     /* overlong */
        {"\xed\xa0\x80", REPORT_BAD_CHAR, 1},     /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", REPORT_BAD_CHAR, 1}, /* past U+10FFFF */
        {"\xe2\x82", REPORT_BAD_CHAR, 1},         /* cut short by the NUL */
        {"\xc3"
         "a",
         REPORT_BAD_CHAR, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint32_t cp = 0;
        size_t n = report_utf8_next(rows[i].in, &cp);
        cr_expect_eq(cp, rows[i].cp, "row %zu: U+%04X", i, cp);
        cr_expect_eq(n, rows[i].n, "row %zu: %zu bytes", i, n);
    }
}
