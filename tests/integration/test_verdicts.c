/* Integration: thresholds and the offered-load check judged on real runs against the bundled
 * target (127.0.0.1 only, a few seconds each).
 *
 * A failing threshold is exit 99 and a passing one 0, with the JSON's passed, ok and observed
 * agreeing with the JSON's own latency, status and request counts; a threshold whose metric saw
 * no sample (a step the flow never reaches) fails saying so, unless allow_empty; name and
 * `tag =` filters select exactly their steps; status-class and failed-rate thresholds count
 * what the target answered; one worker asked for far more than it can send is an offered-load
 * warning (fail with offered_load = fail: exit 99) while a rate it holds is ok; a SIGINT still
 * writes the JSON with the thresholds judged on what ran. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(verdicts, .fini = stop_all);

/* blast run without --quiet, so both the text summary (stdout) and the JSON are kept. */
typedef struct full_run {
    int exit_code; /* exit status, or 128 + signal */
    json_t *json;  /* NULL: no JSON written */
    char text[65536];
    char err[4096];
    double wall_s;
} full_run;

static void run_full(full_run *r, const char *ini, const char *const *extra, double sigint_after_s,
                     double timeout_s)
{
    memset(r, 0, sizeof *r);
    char dir[64] = "/tmp/blast-verdicts.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], out[128], txt[128], errf[128], outarg[160];
    snprintf(path, sizeof path, "%s/scenario.ini", dir);
    snprintf(out, sizeof out, "%s/out.json", dir);
    snprintf(txt, sizeof txt, "%s/summary.txt", dir);
    snprintf(errf, sizeof errf, "%s/stderr.txt", dir);
    snprintf(outarg, sizeof outarg, "json=%s", out);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(ini, f);
    fclose(f);
    const char *argv[32] = {blast_bin(), "-c", path, "--out", outarg};
    int argc = 5;
    for (; extra && *extra && argc < 30; extra++)
        argv[argc++] = *extra;
    argv[argc] = NULL;
    double t0 = now_s();
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int o = open(txt, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    bool sent = false;
    for (;;) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        double el = now_s() - t0;
        if (sigint_after_s > 0 && !sent && el >= sigint_after_s) {
            kill(pid, SIGINT);
            sent = true;
        }
        if (el > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("blast did not finish within %.0f s", timeout_s);
        }
        sleep_s(0.01);
    }
    r->wall_s = now_s() - t0;
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    read_text(txt, r->text, sizeof r->text);
    read_text(errf, r->err, sizeof r->err);
    json_error_t je;
    r->json = json_load_file(out, 0, &je);
    unlink(path);
    unlink(out);
    unlink(txt);
    unlink(errf);
    rmdir(dir);
}

static void full_free(full_run *r)
{
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
}

/* scenarios.SC.a[.b[.c]] as a number. */
static double num(const full_run *r, const char *sc, const char *a, const char *b, const char *c)
{
    cr_assert_not_null(r->json, "no JSON (exit %d): %s", r->exit_code, r->err);
    json_t *v = json_object_get(json_object_get(json_object_get(r->json, "scenarios"), sc), a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    cr_assert(json_is_number(v), "scenarios.%s.%s.%s.%s is not a number", sc, a, b ? b : "",
              c ? c : "");
    return json_number_value(v);
}

/* steps.STEP.a.b of scenario sc. */
static double step_num(const full_run *r, const char *sc, const char *step, const char *a,
                       const char *b)
{
    cr_assert_not_null(r->json, "no JSON (exit %d): %s", r->exit_code, r->err);
    json_t *v = json_object_get(
        json_object_get(json_object_get(json_object_get(r->json, "scenarios"), sc), "steps"), step);
    cr_assert_not_null(v, "no step %s in scenario %s", step, sc);
    v = json_object_get(json_object_get(v, a), b);
    cr_assert(json_is_number(v), "steps.%s.%s.%s is not a number", step, a, b);
    return json_number_value(v);
}

/* assert_accounted on a full_run's JSON. */
static void accounted(const full_run *r, const char *sc)
{
    blast_run b = {.exit_code = r->exit_code, .json = r->json};
    assert_accounted(&b, sc);
}

/* The thresholds[] entry whose expression is expr. */
static json_t *thr(const full_run *r, const char *expr)
{
    cr_assert_not_null(r->json, "no JSON (exit %d): %s", r->exit_code, r->err);
    json_t *a = json_object_get(r->json, "thresholds");
    cr_assert(json_is_array(a), "no thresholds array");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        if (strcmp(json_string_value(json_object_get(e, "expression")), expr) == 0)
            return e;
    }
    cr_assert_fail("no threshold '%s' in the JSON", expr);
    return NULL;
}

static bool thr_ok(const full_run *r, const char *expr)
{
    json_t *v = json_object_get(thr(r, expr), "ok");
    cr_assert(json_is_boolean(v), "'%s': ok is not a boolean", expr);
    return json_is_true(v);
}

static double thr_observed(const full_run *r, const char *expr)
{
    json_t *v = json_object_get(thr(r, expr), "observed");
    cr_assert(json_is_number(v), "'%s': observed is not a number", expr);
    return json_number_value(v);
}

static double thr_samples(const full_run *r, const char *expr)
{
    json_t *v = json_object_get(thr(r, expr), "samples");
    cr_assert(json_is_integer(v), "'%s': samples is not an integer", expr);
    return (double)json_integer_value(v);
}

static int passed(const full_run *r)
{
    json_t *v = json_object_get(r->json, "passed");
    cr_assert(json_is_boolean(v), "passed is not a boolean");
    return json_is_true(v);
}

/* The summary line of a threshold: it starts with its mark and holds its expression. */
static const char *summary_line(const full_run *r, const char *mark, const char *expr, char *line,
                                size_t cap)
{
    char want[512];
    snprintf(want, sizeof want, "  %s %s ", mark, expr);
    const char *p = strstr(r->text, want);
    cr_assert_not_null(p, "no summary line '%s' in:\n%s", want, r->text);
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    snprintf(line, cap, "%.*s", (int)n, p);
    return line;
}

/* observed (%.6g) against a JSON millisecond figure (%.3f): the same number at either's
 * rounding. */
static void expect_ms(double observed, double json_ms, const char *what)
{
    cr_expect(fabs(observed - json_ms) <= 0.0005 + 1e-6 * json_ms,
              "%s: threshold observed %.6f ms, the JSON says %.3f ms", what, observed, json_ms);
}

Test(verdicts, failing_threshold_exits_99_passing_exits_0, .timeout = 60)
{
    target_start(&srv);
    char ini[2048];
    /* 200 arrivals of a 2 ms request in 1 s */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nthreshold = http_req_duration p(99) < 1us\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 200/s\nduration = 1s\n"
             "path = /delay/2\n",
             srv.port);
    full_run r;
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 99, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect_not(passed(&r));
    cr_expect_eq(json_array_size(json_object_get(r.json, "thresholds")), 1);
    const char *e = "http_req_duration p(99) < 1us";
    cr_expect_not(thr_ok(&r, e));
    expect_ms(thr_observed(&r, e), num(&r, "s", "latency_ms", "p99", NULL), "p99");
    cr_expect(thr_observed(&r, e) >= 2, "a 2 ms request's p99 is %.3f ms", thr_observed(&r, e));
    cr_expect_eq(thr_samples(&r, e), num(&r, "s", "latency_ms", "count", NULL));
    cr_expect_eq(thr_samples(&r, e), 200);
    json_t *t = thr(&r, e);
    cr_expect_str_eq(json_string_value(json_object_get(t, "metric")), "http_req_duration");
    cr_expect_str_eq(json_string_value(json_object_get(t, "stat")), "p(99)");
    cr_expect_str_eq(json_string_value(json_object_get(t, "op")), "<");
    cr_expect(json_is_null(json_object_get(t, "scenario")), "a [global] threshold");
    cr_expect_eq(json_integer_value(json_object_get(t, "line")), 3);
    cr_expect(fabs(json_number_value(json_object_get(t, "limit")) - 0.001) < 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(t, "limit_text")), "1us");
    cr_expect(json_is_false(json_object_get(t, "empty")));
    char line[512];
    summary_line(&r, "✗", e, line, sizeof line);
    cr_expect(strstr(r.text, "thresholds (0 of 1 passed)"), "%s", r.text);
    cr_expect(strstr(r.text, "verdict    FAIL: thresholds failed (exit code 99)"), "%s", r.text);
    full_free(&r);

    /* the same run, judged by thresholds it meets */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "threshold = http_req_duration p(99) < 10s\n"
             "threshold = http_req_duration p(50) >= 1ms\n"
             "threshold = http_req_duration avg < 10s\n"
             "threshold = http_req_duration max < 10s\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 200/s\nduration = 1s\n"
             "path = /delay/2\n"
             "threshold = http_req_failed rate == 0\n"
             "threshold = http_reqs count == 200\n"
             "threshold = iterations count == 200\n"
             "threshold = dropped_iterations count == 0\n",
             srv.port);
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect(passed(&r));
    json_t *all = json_object_get(r.json, "thresholds");
    cr_assert_eq(json_array_size(all), 8);
    for (size_t i = 0; i < 8; i++)
        cr_expect(json_is_true(json_object_get(json_array_get(all, i), "ok")), "threshold %zu: %s",
                  i, json_string_value(json_object_get(json_array_get(all, i), "expression")));
    expect_ms(thr_observed(&r, "http_req_duration p(99) < 10s"),
              num(&r, "s", "latency_ms", "p99", NULL), "p99");
    expect_ms(thr_observed(&r, "http_req_duration p(50) >= 1ms"),
              num(&r, "s", "latency_ms", "p50", NULL), "p50");
    expect_ms(thr_observed(&r, "http_req_duration avg < 10s"),
              num(&r, "s", "latency_ms", "mean", NULL), "avg");
    expect_ms(thr_observed(&r, "http_req_duration max < 10s"),
              num(&r, "s", "latency_ms", "max", NULL), "max");
    cr_expect_eq(thr_observed(&r, "http_reqs count == 200"),
                 num(&r, "s", "requests", "ok", NULL) + num(&r, "s", "requests", "failed", NULL));
    cr_expect_eq(thr_observed(&r, "iterations count == 200"),
                 num(&r, "s", "iterations", "completed", NULL) +
                     num(&r, "s", "iterations", "failed", NULL));
    json_t *sc = json_object_get(thr(&r, "http_reqs count == 200"), "scenario");
    cr_expect(json_is_string(sc) && strcmp(json_string_value(sc), "s") == 0,
              "declared in [scenario s]");
    cr_expect(strstr(r.text, "thresholds (8 of 8 passed)"), "%s", r.text);
    cr_expect(strstr(r.text, "verdict    PASS"), "%s", r.text);
    summary_line(&r, "✓", "http_reqs count == 200", line, sizeof line);
    cr_expect(strstr(line, "[scenario s]"), "%s", line);
    full_free(&r);
}

Test(verdicts, zero_samples_fail_unless_allow_empty, .timeout = 60)
{
    target_start(&srv);
    /* every iteration stops at gate (a 500 with on_fail = abort): step never is never sent */
    static const char base[] =
        "[global]\nbase_url = http://127.0.0.1:%d\n"
        "[step first]\npath = /delay/1\n"
        "[step gate]\npath = /status/500\non_fail = abort\n"
        "[step never]\npath = /\n"
        "[flow f]\nstep = first\nstep = gate\nstep = never\n"
        "[scenario s]\nexecutor = constant-vus\nvus = 2\nduration = 1s\nflow = f\n"
        "threshold = http_req_duration{name:never} p(95) < 1s%s\n"
        "threshold = http_req_failed{name:never} rate < 1%%%s\n"
        "threshold = http_reqs{name:never} count == 0\n"
        "threshold = http_req_duration{name:first} p(95) < 10s\n";
    char ini[2048];
    snprintf(ini, sizeof ini, base, srv.port, "", "");
    full_run r;
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 99, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect_not(passed(&r));
    cr_expect_eq(step_num(&r, "s", "never", "requests", "scheduled"), 0, "never was not sent");
    cr_expect(step_num(&r, "s", "first", "requests", "ok") > 0);
    static const char *const empty[] = {"http_req_duration{name:never} p(95) < 1s",
                                        "http_req_failed{name:never} rate < 1%"};
    char line[512];
    for (size_t i = 0; i < 2; i++) {
        json_t *t = thr(&r, empty[i]);
        cr_expect(json_is_false(json_object_get(t, "ok")), "%s", empty[i]);
        cr_expect(json_is_true(json_object_get(t, "empty")), "%s", empty[i]);
        cr_expect(json_is_null(json_object_get(t, "observed")), "%s", empty[i]);
        cr_expect_eq(json_integer_value(json_object_get(t, "samples")), 0, "%s", empty[i]);
        cr_expect_str_eq(json_string_value(json_object_get(t, "observed_text")), "no samples");
        summary_line(&r, "✗", empty[i], line, sizeof line);
        cr_expect(strstr(line, "no samples (a threshold that saw nothing fails; allow_empty "
                               "passes it)"),
                  "%s", line);
    }
    /* a counter that counted nothing observed 0: not empty */
    const char *cnt = "http_reqs{name:never} count == 0";
    cr_expect(thr_ok(&r, cnt));
    cr_expect(json_is_false(json_object_get(thr(&r, cnt), "empty")));
    cr_expect_eq(thr_observed(&r, cnt), 0);
    cr_expect(thr_ok(&r, "http_req_duration{name:first} p(95) < 10s"));
    cr_expect(strstr(r.text, "thresholds (2 of 4 passed)"), "%s", r.text);
    full_free(&r);

    snprintf(ini, sizeof ini, base, srv.port, ", allow_empty", ", allow_empty");
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect(passed(&r));
    for (size_t i = 0; i < 2; i++) {
        json_t *t = thr(&r, empty[i]); /* the expression is without its options */
        cr_expect(json_is_true(json_object_get(t, "ok")), "%s", empty[i]);
        cr_expect(json_is_true(json_object_get(t, "empty")), "%s", empty[i]);
        summary_line(&r, "✓", empty[i], line, sizeof line);
        cr_expect(strstr(line, "no samples"), "%s", line);
        cr_expect_null(strstr(line, "a threshold that saw nothing fails"), "%s", line);
    }
    cr_expect(strstr(r.text, "verdict    PASS"), "%s", r.text);
    full_free(&r);
}

Test(verdicts, name_and_tag_filters_select_their_steps, .timeout = 60)
{
    target_start(&srv);
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[step fast]\npath = /\ntag = kind:fast\n"
             "[step slow]\npath = /delay/20\ntag = kind:slow\n"
             "[flow f]\nstep = fast\nstep = slow\n"
             "[scenario s]\nexecutor = constant-vus\nvus = 2\nduration = 1500ms\nflow = f\n"
             "tag = team:web\n"
             "threshold = http_req_duration{name:slow} p(50) > 5ms\n"
             "threshold = http_req_duration{name:fast} p(50) < 5ms\n"
             "threshold = http_req_duration{kind:slow} p(50) > 5ms\n"
             "threshold = http_req_duration{kind:fast} p(50) < 5ms\n"
             "threshold = http_req_duration{team:web} p(50) > 0us\n"
             "threshold = http_req_duration{team:web, kind:slow} min >= 20ms\n"
             "threshold = http_reqs{kind:slow} count > 0\n"
             "threshold = http_req_service_time{name:fast} max < 20ms\n",
             srv.port);
    full_run r;
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect(passed(&r));
    json_t *all = json_object_get(r.json, "thresholds");
    cr_assert_eq(json_array_size(all), 8);
    for (size_t i = 0; i < 8; i++)
        cr_expect(json_is_true(json_object_get(json_array_get(all, i), "ok")), "%s",
                  json_string_value(json_object_get(json_array_get(all, i), "expression")));
    double slow_p50 = step_num(&r, "s", "slow", "latency_ms", "p50");
    double fast_p50 = step_num(&r, "s", "fast", "latency_ms", "p50");
    double slow_n = step_num(&r, "s", "slow", "latency_ms", "count");
    double fast_n = step_num(&r, "s", "fast", "latency_ms", "count");
    cr_assert(slow_p50 >= 20 && fast_p50 < 5, "the steps differ: slow %.3f, fast %.3f ms", slow_p50,
              fast_p50);
    static const char *const slow[] = {"http_req_duration{name:slow} p(50) > 5ms",
                                       "http_req_duration{kind:slow} p(50) > 5ms"};
    static const char *const fast[] = {"http_req_duration{name:fast} p(50) < 5ms",
                                       "http_req_duration{kind:fast} p(50) < 5ms"};
    for (size_t i = 0; i < 2; i++) {
        expect_ms(thr_observed(&r, slow[i]), slow_p50, slow[i]);
        cr_expect_eq(thr_samples(&r, slow[i]), slow_n, "%s", slow[i]);
        expect_ms(thr_observed(&r, fast[i]), fast_p50, fast[i]);
        cr_expect_eq(thr_samples(&r, fast[i]), fast_n, "%s", fast[i]);
    }
    /* the tag filter selects the same numbers as the name filter, to the last digit */
    cr_expect_eq(thr_observed(&r, slow[0]), thr_observed(&r, slow[1]));
    cr_expect_eq(thr_observed(&r, fast[0]), thr_observed(&r, fast[1]));
    /* a scenario's tag is on every step of it: all requests */
    const char *team = "http_req_duration{team:web} p(50) > 0us";
    cr_expect_eq(thr_samples(&r, team), num(&r, "s", "latency_ms", "count", NULL));
    cr_expect_eq(thr_samples(&r, team), slow_n + fast_n);
    expect_ms(thr_observed(&r, team), num(&r, "s", "latency_ms", "p50", NULL), "team:web p50");
    /* two filters: both must hold (the slow step only) */
    const char *both = "http_req_duration{team:web, kind:slow} min >= 20ms";
    cr_expect_eq(thr_samples(&r, both), slow_n);
    expect_ms(thr_observed(&r, both), step_num(&r, "s", "slow", "latency_ms", "min"), "min");
    cr_expect_eq(thr_observed(&r, "http_reqs{kind:slow} count > 0"),
                 step_num(&r, "s", "slow", "requests", "ok") +
                     step_num(&r, "s", "slow", "requests", "failed"));
    expect_ms(thr_observed(&r, "http_req_service_time{name:fast} max < 20ms"),
              step_num(&r, "s", "fast", "service_time_ms", "max"), "fast service max");
    full_free(&r);
}

Test(verdicts, status_classes_and_failed_rate, .timeout = 60)
{
    target_start(&srv);
    char ini[2048];
    /* 100 iterations of three requests: a 200, a 404 and a 503 */
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "[step ok]\npath = /\n[step nf]\npath = /status/404\n[step err]\npath = /status/503\n"
             "[flow f]\nstep = ok\nstep = nf\nstep = err\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 100/s\nduration = 1s\n"
             "flow = f\n"
             "threshold = http_reqs{status:4xx} count == 100\n"
             "threshold = http_reqs{status:5xx} count > 0\n"
             "threshold = http_reqs{status:2xx} count > 0\n"
             "threshold = http_reqs{name:nf, status:4xx} count == 100\n"
             "threshold = http_reqs{name:ok, status:4xx} count == 0\n"
             "threshold = http_reqs{status:3xx} count == 0\n"
             "threshold = http_req_failed rate > 60%%\n"
             "threshold = http_req_failed{name:ok} rate == 0\n"
             "threshold = http_req_failed{name:nf} rate == 100%%\n"
             "threshold = http_reqs rate > 1/s\n"
             "threshold = http_reqs count == 300\n",
             srv.port);
    full_run r;
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect(passed(&r));
    json_t *all = json_object_get(r.json, "thresholds");
    cr_assert_eq(json_array_size(all), 11);
    for (size_t i = 0; i < json_array_size(all); i++)
        cr_expect(json_is_true(json_object_get(json_array_get(all, i), "ok")), "%s: observed %s",
                  json_string_value(json_object_get(json_array_get(all, i), "expression")),
                  json_string_value(json_object_get(json_array_get(all, i), "observed_text")));
    double s4 = num(&r, "s", "status", "4xx", NULL), s5 = num(&r, "s", "status", "5xx", NULL);
    double s2 = num(&r, "s", "status", "2xx", NULL);
    cr_expect_eq(s4, 100, "%.0f 404s", s4);
    cr_expect_eq(thr_observed(&r, "http_reqs{status:4xx} count == 100"), s4);
    cr_expect_eq(thr_observed(&r, "http_reqs{status:5xx} count > 0"), s5);
    cr_expect_eq(thr_observed(&r, "http_reqs{status:2xx} count > 0"), s2);
    cr_expect_eq(thr_observed(&r, "http_reqs{name:nf, status:4xx} count == 100"),
                 step_num(&r, "s", "nf", "status", "4xx"));
    double ok = num(&r, "s", "requests", "ok", NULL),
           failed = num(&r, "s", "requests", "failed", NULL);
    cr_expect_eq(failed, s4 + s5, "the 404s and 503s are the failures");
    double rate = thr_observed(&r, "http_req_failed rate > 60%");
    cr_expect(fabs(rate - failed / (ok + failed)) < 1e-5,
              "failed rate %.6f, the JSON says %.0f/%.0f", rate, failed, ok + failed);
    cr_expect_eq(thr_samples(&r, "http_req_failed rate > 60%"), ok + failed);
    cr_expect_str_eq(
        json_string_value(json_object_get(thr(&r, "http_req_failed rate > 60%"), "observed_text")),
        "66.67%");
    /* a counter's rate is per second of the scenario's window */
    double per_s = thr_observed(&r, "http_reqs rate > 1/s");
    double want = (ok + failed) / num(&r, "s", "duration_s", NULL, NULL);
    cr_expect(fabs(per_s - want) <= want * 0.01, "http_reqs rate %.3f/s, want %.3f/s", per_s, want);
    full_free(&r);
}

static const char *offered_ini(int port, const char *rate, const char *path, const char *more)
{
    static char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nworkers = 1\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = %s\nduration = 2s\n"
             "graceful_stop = 200ms\npath = %s\n%s",
             port, rate, path, more);
    return ini;
}

Test(verdicts, offered_load_warns_fails_and_holds, .timeout = 90)
{
    target_start(&srv);
    /* 200000/s from one worker with 2 VUs on 50 ms requests: the queue fills, arrivals drop */
    const char *more = "max_vus = 2\nmax_queue = 1000\n";
    full_run r;
    run_full(&r, offered_ini(srv.port, "200000/s", "/delay/50", more), NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "a warning does not fail the run: exit %d: %s\n%s", r.exit_code,
                 r.err, r.text);
    cr_expect(passed(&r));
    json_t *o =
        json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"), "offered_load");
    cr_assert(json_is_object(o));
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "warn");
    double dropped = num(&r, "s", "requests", "dropped", NULL);
    cr_expect(dropped > 100000, "%.0f dropped", dropped);
    cr_expect_eq(json_number_value(json_object_get(o, "dropped")), dropped);
    cr_expect(json_number_value(json_object_get(o, "queue_max")) >= 1000, "the queue filled");
    const char *reason = json_string_value(json_object_get(o, "reason"));
    cr_expect(reason && strstr(reason, "iterations dropped"), "%s", reason ? reason : "(null)");
    cr_expect(strstr(r.text, "  offered    WARNING: BLAST DID NOT OFFER THE LOAD ASKED: "), "%s",
              r.text);
    cr_expect(strstr(r.text, "raise max_vus"), "advice: %s", r.text);
    cr_expect_null(strstr(r.text, "verdict    FAIL"), "%s", r.text);
    accounted(&r, "s");
    cr_expect(r.wall_s < 10, "bounded: %.2f s", r.wall_s);
    full_free(&r);

    /* offered_load = fail turns it into exit 99 */
    char fail_more[128];
    snprintf(fail_more, sizeof fail_more, "%soffered_load = fail\n", more);
    run_full(&r, offered_ini(srv.port, "200000/s", "/delay/50", fail_more), NULL, 0, 30);
    cr_assert_eq(r.exit_code, 99, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect_not(passed(&r));
    o = json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"), "offered_load");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "fail");
    cr_expect(strstr(r.text, "  offered    FAIL: BLAST DID NOT OFFER THE LOAD ASKED: "), "%s",
              r.text);
    cr_expect(strstr(r.text, "verdict    FAIL: the offered-load check failed (exit code 99)"), "%s",
              r.text);
    full_free(&r);

    /* a rate it holds: no drops, a short queue, lateness within the bound it is given */
    run_full(&r,
             offered_ini(srv.port, "200/s", "/", "offered_load = fail\noffered_lateness = 25ms\n"),
             NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    cr_expect(passed(&r));
    o = json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"), "offered_load");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "ok", "%s",
                     json_string_value(json_object_get(o, "reason")));
    cr_expect_eq(json_number_value(json_object_get(o, "dropped")), 0);
    cr_expect_eq(num(&r, "s", "requests", "ok", NULL), 400);
    cr_expect(fabs(json_number_value(json_object_get(o, "send_lateness_bound_ms")) - 25) < 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(o, "reason")), "");
    cr_expect(strstr(r.text, "  offered    ok: send lateness p99 "), "%s", r.text);
    cr_expect_null(strstr(r.text, "BLAST DID NOT OFFER"), "%s", r.text);
    full_free(&r);
}

Test(verdicts, closed_model_has_no_offered_check, .timeout = 60)
{
    target_start(&srv);
    char ini[512];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\noffered_load = fail\n"
             "[scenario v]\nexecutor = constant-vus\nvus = 2\nduration = 500ms\npath = /delay/5\n",
             srv.port);
    full_run r;
    run_full(&r, ini, NULL, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s\n%s", r.exit_code, r.err, r.text);
    json_t *o =
        json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "v"), "offered_load");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "n/a");
    cr_expect(passed(&r));
    cr_expect_null(strstr(r.text, "  offered "), "%s", r.text);
    full_free(&r);
}

Test(verdicts, sigint_still_judges_and_writes_the_json, .timeout = 60)
{
    target_start(&srv);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\n"
             "threshold = http_req_duration p(99) < 10s\n"
             "threshold = http_req_duration p(99) < 1us\n"
             "threshold = http_reqs count > 0\n"
             "[scenario s]\nexecutor = constant-arrival-rate\nrate = 500/s\nduration = 20s\n"
             "max_vus = 50\npath = /delay/5\n",
             srv.port);
    full_run r;
    run_full(&r, ini, NULL, 1.5, 30);
    cr_assert_eq(r.exit_code, 130, "an interrupted run is 130 whatever the verdict: exit %d: %s",
                 r.exit_code, r.err);
    cr_assert_not_null(r.json, "the JSON is written: %s", r.err);
    cr_expect(json_is_true(json_object_get(r.json, "interrupted")));
    cr_expect(r.wall_s < 10, "stopped at once, not after 20 s (%.2f s)", r.wall_s);
    accounted(&r, "s");
    double sched = num(&r, "s", "requests", "scheduled", NULL);
    double ok = num(&r, "s", "requests", "ok", NULL),
           failed = num(&r, "s", "requests", "failed", NULL),
           dropped = num(&r, "s", "requests", "dropped", NULL);
    cr_expect_eq(sched, ok + failed + dropped);
    cr_expect(sched > 400 && sched < 2000, "%.0f scheduled in about 1.5 s at 500/s", sched);
    json_t *all = json_object_get(r.json, "thresholds");
    cr_assert_eq(json_array_size(all), 3);
    cr_expect(thr_ok(&r, "http_req_duration p(99) < 10s"));
    cr_expect_not(thr_ok(&r, "http_req_duration p(99) < 1us"));
    cr_expect_not(passed(&r));
    expect_ms(thr_observed(&r, "http_req_duration p(99) < 10s"),
              num(&r, "s", "latency_ms", "p99", NULL), "p99 of what ran");
    cr_expect_eq(thr_samples(&r, "http_req_duration p(99) < 10s"),
                 num(&r, "s", "latency_ms", "count", NULL));
    cr_expect_eq(thr_observed(&r, "http_reqs count > 0"), ok + failed);
    cr_expect(strstr(r.text, "thresholds (2 of 3 passed)"), "%s", r.text);
    full_free(&r);
}
