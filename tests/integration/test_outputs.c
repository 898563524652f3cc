/* Integration: the --out kinds junit, k6-summary and markdown from a real run against the
 * bundled target, next to --out json. Each document is read by its format's standard reader
 * (tests/data/outputs/check_*.py: junitparser and ElementTree, json, Python-Markdown): valid,
 * self-consistent, and saying what the JSON says (k6's http_reqs.values.count is the JSON's ok +
 * failed, its checks the JSON's checks). The run declares no thresholds, so whatever verdict the
 * run makes, the threshold parts are empty. Also the $GITHUB_STEP_SUMMARY recipe README gives:
 * `--out markdown=-` appended by the shell to a file that already holds an earlier step's text. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static server srv;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/blast-it-out.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    target_start(&srv);
}

static void cleanup(void)
{
    server_stop(&srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Runs tests/data/outputs/SCRIPT on doc against exp (consumed); returns its exit status, its
 * output in out. */
static int reader(const char *script, const char *doc, json_t *exp, char *out, size_t cap)
{
    char ep[160], cmd[512];
    snprintf(ep, sizeof ep, "%s/%s.expect.json", dir, script);
    cr_assert_eq(json_dump_file(exp, ep, 0), 0);
    json_decref(exp);
    const char *py = getenv("BLAST_PYTHON") ? getenv("BLAST_PYTHON") : "/usr/bin/python3";
    const char *checks = getenv("OUTPUT_CHECKS") ? getenv("OUTPUT_CHECKS") : "tests/data/outputs";
    snprintf(cmd, sizeof cmd, "%s %s/%s %s %s", py, checks, script, doc, ep);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(outputs, every_kind_from_one_run, .init = setup, .fini = cleanup, .timeout = 60)
{
    char junit[160], k6[160], md[160];
    snprintf(junit, sizeof junit, "junit=%s/run.xml", dir);
    snprintf(k6, sizeof k6, "k6-summary=%s/k6-summary.json", dir);
    snprintf(md, sizeof md, "markdown=%s/summary.md", dir);
    const char *extra[] = {"--out", junit, "--out", k6, "--out", md, NULL};
    blast_run r;
    blast_exec(&r,
               arrival_ini(srv.port, "/", "200/s", "1s", 10, "check = \"status ok\" status 200\n"),
               extra, 0, 30);
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.stderr_text);
    cr_assert_not_null(r.json);
    assert_accounted(&r, "s");
    double ok = jnum(&r, "s", "requests", "ok"), failed = jnum(&r, "s", "requests", "failed");
    cr_expect_gt(ok, 100);
    json_t *chk = json_object_get(
        json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "s"), "checks"),
        "status ok");
    cr_assert_not_null(chk);
    char out[8192];

    int rc = reader("check_junit.py", junit + 6, json_object(), out, sizeof out);
    cr_expect_eq(rc, 0, "check_junit.py: %d\n%s", rc, out);

    json_t *exp =
        json_pack("{s:{s:{s:s, s:{s:f}}, s:{s:{s:f, s:f}}, s:{s:{s:f}}, s:{s:{s:f}}},"
                  " s:[], s:[{s:s, s:O, s:O}]}",
                  "metrics", "http_reqs", "type", "counter", "values", "count", ok + failed,
                  "http_req_failed", "values", "passes", failed, "fails", ok, "data_sent", "values",
                  "count", jnum(&r, "s", "bytes", "sent"), "iterations", "values", "count",
                  jnum(&r, "s", "iterations", "completed") + jnum(&r, "s", "iterations", "failed"),
                  "thresholds", "checks", "name", "status ok", "passes",
                  json_object_get(chk, "passes"), "fails", json_object_get(chk, "fails"));
    cr_assert_not_null(exp);
    rc = reader("check_k6.py", k6 + 11, exp, out, sizeof out);
    cr_expect_eq(rc, 0, "check_k6.py: %d\n%s", rc, out);

    exp = json_pack("{s:[{s:[s, s, s, s, s, s, s], s:[[s, n, n, n, n, s, n]]}]}", "tables",
                    "header", "scenario", "p95", "p99", "failed", "achieved", "target",
                    "offered load", "rows", "s", "200.0/s");
    cr_assert_not_null(exp);
    rc = reader("check_md.py", md + 9, exp, out, sizeof out);
    cr_expect_eq(rc, 0, "check_md.py: %d\n%s", rc, out);
    blast_run_free(&r);
}

/* GITHUB_STEP_SUMMARY is appended to by each step: blast writes to stdout, the shell appends. */
Test(outputs, step_summary_recipe_appends, .init = setup, .fini = cleanup, .timeout = 60)
{
    char ini[160], summary[160], cmd[1024];
    snprintf(ini, sizeof ini, "%s/run.ini", dir);
    snprintf(summary, sizeof summary, "%s/step_summary", dir);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fputs(arrival_ini(srv.port, "/", "100/s", "500ms", 4, NULL), f);
    fclose(f);
    f = fopen(summary, "w");
    cr_assert_not_null(f);
    fputs("# an earlier step\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' -c '%s' -q --out markdown=- >> '%s'", blast_bin(), ini,
             summary);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    proc_result pr;
    proc_run(&pr, dir, argv, PLAIN, 0, 30);
    cr_assert_eq(pr.exit_code, 0, "%s", pr.err);
    char text[8192];
    read_text(summary, text, sizeof text);
    cr_expect_eq(strncmp(text, "# an earlier step\n## ", 21), 0, "%s", text);
    cr_expect(strstr(text, "| s | "), "%s", text);
    char out[8192];
    int rc = reader("check_md.py", summary, json_object(), out, sizeof out);
    cr_expect_eq(rc, 0, "check_md.py: %d\n%s", rc, out);
}
