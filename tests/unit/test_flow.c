/* Unit tests for flows: scenario files with [step] and [flow] sections compiled by config_load,
 * then run with flow_next as a VU would, and the action traces compared with what the file
 * says (steps by name, think times, repeat passes). Then the weighted pick over 100k draws, think
 * times within their range, and a table of flow errors with their exact file:line messages. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "flow.h"

static char dir[64], path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/blast-flow-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.ini", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(flow, .init = setup, .fini = teardown);
TestSuite(flow_errors, .init = setup, .fini = teardown);

static void write_at(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

#define HEAD "[global]\nbase_url = http://127.0.0.1:8080\nduration = 10s\n" /* lines 1-3 */
#define VUS "[scenario s]\nexecutor = constant-vus\nvus = 1\n"              /* lines 4-6 */

static plan *load_ok(const char *ini)
{
    write_at("t.ini", ini);
    plan *p = NULL;
    char err[512];
    int rc = config_load(path, NULL, &p, err, sizeof err);
    cr_assert_eq(rc, 0, "config_load: %s\n--- file:\n%s", err, ini);
    return p;
}

/* One iteration's actions as text: "a b/r1 sleep:5 c" (step names, /rN: the repeat pass when it
 * is not 0, think times in ms). */
static void trace(const plan_scenario *s, const plan_op *ops, uint64_t *rng, char *out, size_t n)
{
    flow_cursor c;
    flow_start(&c);
    size_t o = 0;
    out[0] = '\0';
    for (int guard = 0; guard < 1000; guard++) {
        flow_action a = flow_next(ops, &c, rng);
        if (a.kind == FLOW_DONE)
            break;
        if (a.kind == FLOW_SEND) {
            uint32_t r = flow_repeat_index(&c);
            o += (size_t)snprintf(out + o, n - o, r ? "%s%s/r%u" : "%s%s", o ? " " : "",
                                  s->steps[a.step].name, r);
        } else {
            o += (size_t)snprintf(out + o, n - o, "%ssleep:%llu", o ? " " : "",
                                  (unsigned long long)(a.ns / 1000000));
        }
    }
    /* once done, a program stays done */
    cr_assert_eq(flow_next(ops, &c, rng).kind, FLOW_DONE);
}

Test(flow, traces)
{
    static const struct {
        const char *sections; /* after HEAD and the scenario's lines */
        const char *scenario; /* the scenario's flow/setup lines */
        const char *want;
        const char *want_setup;
    } rows[] = {
        {"", "path = /one\n", "GET /one", NULL},
        {"", "path = /one\nsleep = 5ms\n", "GET /one sleep:5", NULL},
        {"[step a]\npath = /a\n", "flow = a\n", "a", NULL},
        {"[step a]\npath = /a\nsleep = 7ms\n", "flow = a\n", "a sleep:7", NULL},
        {"[flow f]\nstep = a\nstep = b\nsleep = 3ms\nstep = a\n[step a]\n[step b]\n", "flow = f\n",
         "a b sleep:3 a", NULL},
        {"[flow f]\nstep = init\nrepeat = 3 x chunk\n[step init]\n[step chunk]\n", "flow = f\n",
         "init chunk chunk/r1 chunk/r2", NULL},
        /* a repeat of a sub-flow, and a repeat inside it: the innermost pass is `repeat` */
        {"[flow f]\nrepeat = 2 x g\n[flow g]\nstep = a\nrepeat = 2 x b\n[step a]\n[step b]\n",
         "flow = f\n", "a b b/r1 a/r1 b b/r1", NULL},
        {"[flow f]\nstep = a\nrepeat = 2 x seg\n[step a]\n[step seg]\nsleep = 100ms\n",
         "flow = f\n", "a seg sleep:100 seg/r1 sleep:100", NULL},
        /* one choice: always it */
        {"[flow f]\npick = 5 a\nstep = b\n[step a]\n[step b]\n", "flow = f\n", "a b", NULL},
        /* setup runs apart from the flow */
        {"[flow login]\nstep = auth\n[step auth]\n[step a]\n", "flow = a\nsetup = login\n", "a",
         "auth"},
        /* steps are shared within a scenario: a and a again are one step */
        {"[flow f]\nstep = a\nflow = g\n[flow g]\nstep = a\n[step a]\n", "flow = f\n", "a a", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ini[2048];
        snprintf(ini, sizeof ini, HEAD VUS "%s%s", rows[i].scenario, rows[i].sections);
        plan *p = load_ok(ini);
        const plan_scenario *s = &p->scenarios[0];
        char got[512];
        uint64_t rng = 42;
        trace(s, s->ops, &rng, got, sizeof got);
        cr_expect_str_eq(got, rows[i].want, "row %zu:\n%s", i, ini);
        if (rows[i].want_setup) {
            cr_assert_not_null(s->setup, "row %zu: no setup", i);
            trace(s, s->setup, &rng, got, sizeof got);
            cr_expect_str_eq(got, rows[i].want_setup, "row %zu (setup)", i);
        } else {
            cr_expect_null(s->setup, "row %zu", i);
        }
        plan_free(p);
    }
}

Test(flow, simple_means_one_request)
{
    plan *p = load_ok(HEAD VUS "path = /x\n"
                               "[scenario t]\nexecutor = constant-vus\nvus = 1\nflow = a\n"
                               "[scenario u]\nexecutor = constant-vus\nvus = 1\nflow = f\n"
                               "[flow f]\nstep = a\nstep = a\n[step a]\n");
    cr_expect(p->scenarios[0].simple);
    cr_expect(p->scenarios[1].simple);
    cr_expect(!p->scenarios[2].simple);
    cr_expect_eq(p->scenarios[2].nsteps, 1);
    plan_free(p);
}

/* 60/30/10 over 100,000 iterations with a fixed seed: each share within 1 point. */
Test(flow, weighted_pick_within_one_percent)
{
    plan *p = load_ok(HEAD VUS "flow = browse\n[flow browse]\n"
                               "pick = 60 search, 30 list, 10 detail\n"
                               "[step search]\n[step list]\n[step detail]\n");
    const plan_scenario *s = &p->scenarios[0];
    uint64_t count[3] = {0}, rng = 0x5eed;
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        flow_cursor c;
        flow_start(&c);
        flow_action a = flow_next(s->ops, &c, &rng);
        cr_assert_eq(a.kind, FLOW_SEND);
        count[a.step]++;
        cr_assert_eq(flow_next(s->ops, &c, &rng).kind, FLOW_DONE);
    }
    const double want[3] = {60, 30, 10};
    for (int k = 0; k < 3; k++) {
        double share = 100.0 * (double)count[k] / N;
        printf("pick %s: %.2f%% (want %.0f%%)\n", s->steps[k].name, share, want[k]);
        cr_expect(fabs(share - want[k]) <= 1.0, "%s: %.2f%%, want %.0f%% +- 1", s->steps[k].name,
                  share, want[k]);
    }
    plan_free(p);
}

/* sleep = 300ms..800ms: uniform over the range, both ends reached within a millisecond. */
Test(flow, think_time_uniform_in_range)
{
    plan *p = load_ok(HEAD VUS "flow = f\n[flow f]\nstep = a\nsleep = 300ms..800ms\n[step a]\n");
    const plan_scenario *s = &p->scenarios[0];
    uint64_t lo = UINT64_MAX, hi = 0, rng = 7;
    double sum = 0;
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        flow_cursor c;
        flow_start(&c);
        cr_assert_eq(flow_next(s->ops, &c, &rng).kind, FLOW_SEND);
        flow_action a = flow_next(s->ops, &c, &rng);
        cr_assert_eq(a.kind, FLOW_SLEEP);
        cr_assert(a.ns >= 300000000ULL && a.ns <= 800000000ULL, "%llu ns",
                  (unsigned long long)a.ns);
        lo = a.ns < lo ? a.ns : lo;
        hi = a.ns > hi ? a.ns : hi;
        sum += (double)a.ns;
    }
    cr_expect_lt(lo, 301000000ULL);
    cr_expect_gt(hi, 799000000ULL);
    cr_expect(fabs(sum / N - 550e6) < 5e6, "mean %.0f ns", sum / N);
    plan_free(p);
}

Test(flow, variables_and_steps)
{
    plan *p = load_ok(HEAD VUS "flow = f\n[flow f]\nstep = login\nstep = me\n"
                               "[step login]\nmethod = POST\npath = /login\n"
                               "extract = token = json tokens.accessToken\n"
                               "extract = sid = header X-Session\n"
                               "check = \"logged in\" status 200\n"
                               "[step me]\npath = /me/{{ vu }}\n"
                               "header = Authorization: Bearer {{ token }}\ntag = kind:read\n");
    const plan_scenario *s = &p->scenarios[0];
    cr_assert_eq(s->nvars, 3);
    cr_expect_str_eq(s->vars[0], "repeat");
    cr_expect_str_eq(s->vars[1], "token");
    cr_expect_str_eq(s->vars[2], "sid");
    cr_assert_eq(s->nsteps, 2);
    const plan_step *login = &s->steps[0], *me = &s->steps[1];
    cr_expect(login->literal);
    cr_expect(!me->literal);
    cr_expect_eq(login->nextracts, 2);
    cr_expect_gt(login->keep_body, 0, "a JSON extraction keeps the body");
    cr_expect(login->need_head, "a header extraction keeps the head");
    cr_expect(login->status_checked);
    cr_expect_eq(s->nchecks, 1);
    cr_expect_eq(me->keep_body, 0, "nothing reads me's body");
    cr_assert_eq(me->ntags, 1);
    cr_expect_str_eq(me->tags[0].key, "kind");
    cr_expect_str_eq(me->tags[0].value, "read");
    cr_expect_not_null(me->prog);
    plan_free(p);
}

Test(flow_errors, table)
{
    static const struct {
        const char *rest; /* after HEAD and the scenario header (lines 4-6) */
        const char *want; /* {F}: the file */
    } rows[] = {
        {"flow = nope\n", "{F}:7: [scenario s] flow: no [step nope] or [flow nope] in this file"},
        {"flow = serch\n[step search]\n",
         "{F}:7: [scenario s] flow: no [step serch] or [flow serch] in this file; did you mean "
         "search?"},
        {"flow = f\npath = /x\n[step f]\n",
         "{F}:8: [scenario s] path: a scenario with flow = f has no request of its own (put this "
         "line in a [step])"},
        {"flow = f\n[flow f]\n", "{F}:8: [flow f]: is empty (give it step, flow, pick, repeat or "
                                 "sleep lines)"},
        {"flow = f\n[flow f]\nsleep = 10ms\n",
         "{F}:7: [scenario s] flow: flow f sends no request (it needs a step line, in it or in a "
         "sub-flow it names)"},
        {"flow = f\n[flow f]\nrepeat = 3 x g\n[flow g]\nsleep = 1ms..2ms\n",
         "{F}:7: [scenario s] flow: flow f sends no request (it needs a step line, in it or in a "
         "sub-flow it names)"},
        {"flow = f\n[flow f]\nflow = g\n[flow g]\nflow = f\n",
         "{F}:8: [flow f]: contains itself (through g): a flow may not loop back into itself; use "
         "repeat"},
        {"flow = f\n[flow f]\nstep = g\n[flow g]\nstep = a\n[step a]\n",
         "{F}:9: [flow f] step: 'g' is a [flow], not a [step] (write flow = g)"},
        {"flow = f\n[flow f]\npick = 60 a, 40\n[step a]\n",
         "{F}:9: [flow f] pick: '60 a, 40' is not a weighted choice (write WEIGHT NAME, ..., e.g. "
         "60 search, 30 list, 10 detail; weights are whole numbers from 1 to 1000000)"},
        {"flow = f\n[flow f]\npick = 0 a\n[step a]\n",
         "{F}:9: [flow f] pick: '0 a' is not a weighted choice (write WEIGHT NAME, ..., e.g. 60 "
         "search, 30 list, 10 detail; weights are whole numbers from 1 to 1000000)"},
        {"flow = f\n[flow f]\nrepeat = ten x a\n[step a]\n",
         "{F}:9: [flow f] repeat: 'ten x a' is not a repeat (write COUNT x NAME, e.g. 10 x "
         "upload_chunk; COUNT from 1 to 1000000)"},
        {"flow = f\n[flow f]\nrepeat = 0 x a\n[step a]\n",
         "{F}:9: [flow f] repeat: '0 x a' is not a repeat (write COUNT x NAME, e.g. 10 x "
         "upload_chunk; COUNT from 1 to 1000000)"},
        {"flow = f\n[flow f]\nsleep = soon\n",
         "{F}:9: [flow f] sleep: 'soon' is not a think time (a duration such as 500ms, or a range "
         "such as 300ms..800ms)"},
        {"flow = f\n[flow f]\nsleep = 800ms..300ms\n",
         "{F}:9: [flow f] sleep: '800ms..300ms': the range ends before it starts"},
        {"flow = a\n[step a]\nextract = token json tokens.accessToken\n",
         "{F}:9: [step a] extract: 'token json tokens.accessToken' is not NAME = SOURCE (NAME: "
         "letters, digits, '_'; SOURCE: json PATH, header NAME or regex PATTERN)"},
        {"flow = a\n[step a]\nextract = vu = header X-Vu\n",
         "{F}:9: [step a] extract: 'vu' is a built-in name (vu, iter, seq, data, repeat): choose "
         "another"},
        {"flow = a\n[step a]\nextract = t = jsn data.id\n",
         "{F}:9: [step a] extract: column 1: unknown extractor 'jsn' (allowed: json PATH, header "
         "NAME, regex PATTERN)"},
        {"flow = a\n[step a]\npath = /x/{{ tokn }}\nextract = token = header X-T\n",
         "{F}:9: [step a] path: column 7: unknown variable 'tokn' (known: vu, iter, seq, repeat, "
         "token; did you mean 'token'?)"},
        {"flow = a\n[step a]\nheader = X-{{ vu }}: 1\n",
         "{F}:9: [step a] header: a header name cannot be a template (only its value)"},
        {"flow = a\n[step a]\nbody = {{ seq %% }}\n",
         "{F}:9: [step a] body: column 9: expected a value after '%'"},
        {"flow = a\n[step a]\non_fail = stop\n",
         "{F}:9: [step a] on_fail: unknown value 'stop' (allowed: continue, abort)"},
        {"flow = a\n[step a]\ntransfer_encoding = gzip\n",
         "{F}:9: [step a] transfer_encoding: unknown value 'gzip' (allowed: chunked, identity)"},
        {"flow = a\n[step a]\ntag = nocolon\n",
         "{F}:9: [step a] tag: 'nocolon' is not key:value (key: letters, digits, '_'; e.g. tag = "
         "flow:checkout)"},
        {"flow = a\n[step a]\nrate = 1/s\n",
         "{F}:9: [step a] rate: only allowed in [scenario NAME] (allowed here: method, url, path, "
         "header, body, transfer_encoding, check, extract, tag, sleep, keep_body, on_fail, "
         "ws_send, ws_binary, ws_interval, ws_rate, ws_messages, ws_expect, ws_hold, "
         "reply_timeout, ws_ping, ws_max_message)"},
        {"flow = a\n[step a]\nurl = http://other.example/x\n",
         "{F}:9: [step a] url: a step's url must be on its scenario's base_url (scheme, host and "
         "port): the steps of a scenario share each VU's connection"},
        {"flow = f\n[flow f]\nstep = a\n[step f]\n",
         "{F}:10: [step f]: a step or flow of that name is defined on line 8 (steps and flows "
         "share one namespace)"},
        {"data_order = random\n", "{F}:7: [scenario s] data_order: needs data = FILE"},
        {"data = users.csv\n", "{F}:7: [scenario s] data: {D}/users.csv:3: row has 1 field, the "
                               "header has 2"},
    };
    write_at("users.csv", "name,pass\nann,1\nbob\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ini[2048], want[1024];
        snprintf(ini, sizeof ini, HEAD VUS "%s", rows[i].rest);
        size_t o = 0;
        for (const char *q = rows[i].want; *q && o + 200 < sizeof want;) {
            if (!strncmp(q, "{F}", 3))
                o += (size_t)snprintf(want + o, sizeof want - o, "%s", path), q += 3;
            else if (!strncmp(q, "{D}", 3))
                o += (size_t)snprintf(want + o, sizeof want - o, "%s", dir), q += 3;
            else
                want[o++] = *q++;
        }
        want[o] = '\0';
        write_at("t.ini", ini);
        plan *p = (plan *)0x1;
        char err[1024];
        int rc = config_load(path, NULL, &p, err, sizeof err);
        cr_expect_eq(rc, -EINVAL, "row %zu: rc %d", i, rc);
        cr_expect_null(p, "row %zu", i);
        if (rc == 0)
            plan_free(p);
        cr_expect_str_eq(err, want, "row %zu\n--- got:  %s\n--- want: %s\n--- file:\n%s", i, err,
                         want, ini);
    }
}
