/* Integration: the time-series outputs (csv, ndjson) of a real run against the bundled target,
 * read by Python's csv and json modules (not by blast): a row per second per scenario and step,
 * whose requests add up to the JSON's totals, in order of time; a Ctrl-C still writes them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(series, .fini = stop_all);

/* The reader: sums the requests of the scenario rows and of each step's rows, checks the times
 * rise and that every row has every column; prints "scenario_total step_a step_b rows". */
static const char *const reader =
    "import csv, json, sys\n"
    "kind, path = sys.argv[1], sys.argv[2]\n"
    "cols = ('t_s,scenario,step,requests,ok,failed,fail_connect,fail_timeout,fail_reset,'\n"
    "        'fail_tls,fail_parse,fail_status,fail_check,dropped,rate,latency_p50_ms,'\n"
    "        'latency_p90_ms,latency_p99_ms,latency_max_ms,vus_active,conns_open,queued,'\n"
    "        'send_lateness_p99_ms').split(',')\n"
    "if kind == 'csv':\n"
    "    with open(path, newline='') as f:\n"
    "        r = csv.DictReader(f)\n"
    "        assert r.fieldnames == cols, r.fieldnames\n"
    "        rows = list(r)\n"
    "    num = lambda v: None if v == '' else float(v)\n"
    "    step = lambda row: row['step'] or None\n"
    "else:\n"
    "    with open(path) as f:\n"
    "        rows = [json.loads(l) for l in f if l.strip()]\n"
    "    for row in rows: assert sorted(row) == sorted(cols), sorted(row)\n"
    "    num = lambda v: v\n"
    "    step = lambda row: row['step']\n"
    "tot = {}; last = -1.0\n"
    "for row in rows:\n"
    "    t = float(row['t_s']); assert t >= last, (t, last); last = t\n"
    "    k = step(row) or '-'\n"
    "    tot[k] = tot.get(k, 0) + int(num(row['requests']))\n"
    "    assert int(num(row['requests'])) == int(num(row['ok'])) + int(num(row['failed']))\n"
    "    if step(row) is None: assert num(row['conns_open']) is not None\n"
    "    else: assert num(row['conns_open']) is None\n"
    "print(tot.get('-', 0), tot.get('fast', 0), tot.get('slow', 0), len(rows))\n";

static void read_back(const char *dir, const char *kind, const char *file, long got[4])
{
    char py[160], cmd[512];
    snprintf(py, sizeof py, "%s/reader.py", dir);
    FILE *f = fopen(py, "w");
    cr_assert_not_null(f);
    fputs(reader, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s/%s", py, kind, dir, file);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    int n = fscanf(p, "%ld %ld %ld %ld", &got[0], &got[1], &got[2], &got[3]);
    int st = pclose(p);
    cr_assert_eq(n, 4, "the %s reader printed nothing (status %d)", kind, st);
    cr_assert_eq(st, 0, "the %s reader failed", kind);
}

static void run_and_check(double sigint_after_s)
{
    target_start(&srv);
    char dir[64] = "/tmp/blast-series.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = %s\n"
             "out = csv=%s/r.csv\nout = ndjson=%s/r.ndjson\n"
             "[scenario api]\nexecutor = constant-arrival-rate\nrate = 200/s\nflow = f\n"
             "[step fast]\npath = /\n[step slow]\npath = /delay/2\n"
             "[flow f]\nstep = fast\nstep = slow\n",
             srv.port, sigint_after_s > 0 ? "30s" : "3s", dir, dir);
    blast_run r;
    blast_exec(&r, ini, NULL, sigint_after_s, 40);
    cr_assert_eq(r.exit_code, sigint_after_s > 0 ? 130 : 0, "exit %d: %s", r.exit_code,
                 r.stderr_text);
    assert_accounted(&r, "api");
    long total = (long)(jnum(&r, "api", "requests", "ok") + jnum(&r, "api", "requests", "failed"));
    cr_assert(total > 100, "only %ld requests", total);
    json_t *steps = json_object_get(json_object_get(json_object_get(r.json, "scenarios"), "api"),
                                    "steps");
    long fast = (long)json_integer_value(
        json_object_get(json_object_get(json_object_get(steps, "fast"), "requests"), "ok"));
    const char *kinds[][2] = {{"csv", "r.csv"}, {"ndjson", "r.ndjson"}};
    for (size_t i = 0; i < 2; i++) {
        long got[4];
        read_back(dir, kinds[i][0], kinds[i][1], got);
        cr_expect_eq(got[0], total, "%s: the scenario rows add up to %ld, the JSON says %ld",
                     kinds[i][0], got[0], total);
        cr_expect_eq(got[1] + got[2], total, "%s: the step rows add up to %ld", kinds[i][0],
                     got[1] + got[2]);
        cr_expect_eq(got[1], fast, "%s: step fast %ld, the JSON says %ld", kinds[i][0], got[1],
                     fast);
        /* one row a second (and one for the last part) for the scenario and each step */
        cr_expect(got[3] >= 3 * 2 && got[3] % 3 == 0, "%s: %ld rows", kinds[i][0], got[3]);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
    blast_run_free(&r);
}

Test(series, rows_add_up_to_the_totals)
{
    run_and_check(0);
}

Test(series, a_ctrl_c_still_writes_them)
{
    run_and_check(2.5);
}
