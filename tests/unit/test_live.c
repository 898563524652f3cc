/* Live totals against a real run: the library's run_create / run_set_tick / run_start / run_wait
 * against build/blast-target ($TARGET_BIN) on 127.0.0.1, with a tick function that checks what
 * it is handed each second (running totals only grow; the window is cum(now) - cum(now - N)),
 * and that a tick asking to stop ends a long run at once with totals that add up. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "live.h"
#include "plan.h"
#include "report.h"
#include "run.h"

static pid_t target_pid;
static int target_port;

static void target_up(void)
{
    const char *bin = getenv("TARGET_BIN");
    if (!bin)
        bin = "build/blast-target";
    char portfile[] = "/tmp/blast-live-port-XXXXXX";
    int fd = mkstemp(portfile);
    cr_assert_geq(fd, 0);
    close(fd);
    unlink(portfile);
    target_pid = fork();
    cr_assert_geq(target_pid, 0);
    if (target_pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(bin, bin, "--port", "0", "--port-file", portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !target_port; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            if (fscanf(f, "%d", &target_port) != 1)
                target_port = 0;
            fclose(f);
        }
        if (!target_port)
            usleep(10000);
    }
    unlink(portfile);
    cr_assert_gt(target_port, 0, "%s did not start", bin);
}

static void target_down(void)
{
    if (target_pid > 0) {
        kill(target_pid, SIGTERM);
        waitpid(target_pid, NULL, 0);
        target_pid = 0;
    }
}

static plan *load(const char *fmt, int port)
{
    char ini[2048], path[] = "/tmp/blast-live-XXXXXX", err[4096];
    snprintf(ini, sizeof ini, fmt, port);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    plan *p = NULL;
    int rc = config_load(path, NULL, &p, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(plan_prepare(p, err, sizeof err), 0, "%s", err);
    return p;
}

#define MAX_TICKS 64
#define WINDOW_S 2

typedef struct seen {
    int n;
    double elapsed[MAX_TICKS];
    uint64_t ok[MAX_TICKS][2], sched[MAX_TICKS][2], lat[MAX_TICKS][2], it[MAX_TICKS][2];
    uint64_t win_ok[MAX_TICKS][2], win_lat[MAX_TICKS][2], win_it[MAX_TICKS][2];
    double win_span[MAX_TICKS];
    double stop_after_s; /* > 0: ask to stop at the first tick past it */
    double stopped_at;
} seen;

static bool tick(void *ctx, const report_run *cum, const report_run *win, double elapsed_s,
                 char *reason, size_t reasonlen)
{
    seen *s = ctx;
    cr_assert_not_null(cum);
    cr_assert_not_null(win, "a window was asked for");
    cr_assert_lt(s->n, MAX_TICKS);
    int k = s->n++;
    s->elapsed[k] = elapsed_s;
    for (size_t i = 0; i < cum->nsc && i < 2; i++) {
        const metrics_rec *m = cum->sc[i].m, *w = win->sc[i].m;
        s->ok[k][i] = m->c.ok;
        s->sched[k][i] = m->c.scheduled;
        s->lat[k][i] = hist_count(m->latency);
        s->it[k][i] = m->it.completed;
        s->win_ok[k][i] = w->c.ok;
        s->win_lat[k][i] = hist_count(w->latency);
        s->win_it[k][i] = w->it.completed;
        /* the window's own parts add up as the totals do */
        uint64_t steps = 0;
        for (size_t j = 0; j < w->nsteps; j++)
            steps += w->steps[j].ok;
        cr_expect_eq(steps, w->c.ok, "tick %d scenario %zu: steps' ok vs ok", k, i);
    }
    s->win_span[k] = win->duration_s;
    if (s->stop_after_s > 0 && elapsed_s >= s->stop_after_s) {
        snprintf(reason, reasonlen, "threshold p95 < 1ms failed over the last %ds", WINDOW_S);
        s->stopped_at = (double)clock_ns() / 1e9;
        return true;
    }
    return false;
}

static const char *const TWO =
    "[global]\n"
    "base_url = http://127.0.0.1:%d\n"
    "duration = %s\n"
    "workers = 2\n"
    "[scenario open]\n"
    "executor = constant-arrival-rate\n"
    "rate = 300/s\n"
    "max_vus = 20\n"
    "[scenario closed]\n"
    "executor = constant-vus\n"
    "vus = 4\n"
    "flow = ab\n"
    "[flow ab]\n"
    "step = a\n"
    "step = b\n"
    "[step a]\n"
    "path = /delay/2\n"
    "[step b]\n"
    "path = /\n";

static plan *load_two(const char *dur)
{
    char fmt[1024];
    /* the duration goes in first; the port stays a %d for load() */
    snprintf(fmt, sizeof fmt, TWO, 0, dur);
    char *at = strstr(fmt, ":0\n");
    cr_assert_not_null(at);
    char fixed[1100];
    snprintf(fixed, sizeof fixed, "%.*s:%%d\n%s", (int)(at - fmt), fmt, at + 3);
    return load(fixed, target_port);
}

Test(live, window_is_cum_now_minus_cum_then, .init = target_up, .fini = target_down)
{
    plan *p = load_two("6s");
    char err[256];
    run *r = NULL;
    seen *s = calloc(1, sizeof(*s));
    cr_assert_eq(run_create(&r, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_set_tick(r, tick, s, LIVE_MAX_WINDOW_S + 1), -EINVAL);
    cr_assert_eq(run_set_tick(r, tick, s, WINDOW_S), 0);
    cr_assert_eq(run_start(r, err, sizeof err), 0, "%s", err);
    run_wait(r);
    const report_run *rep = run_report(r);
    cr_expect(!rep->aborted);
    cr_expect(!rep->interrupted);
    /* about one tick a second while it ran (the last may fall after its end) */
    cr_assert_geq(s->n, 5, "%d ticks", s->n);
    cr_assert_leq(s->n, 7, "%d ticks", s->n);
    for (int k = 0; k < s->n; k++) {
        cr_expect(s->elapsed[k] > k + 0.9 && s->elapsed[k] < k + 1.5, "tick %d at %.3f s", k,
                  s->elapsed[k]);
        for (int i = 0; i < 2; i++) {
            if (k > 0) { /* running totals only grow */
                cr_expect_geq(s->ok[k][i], s->ok[k - 1][i], "tick %d scenario %d", k, i);
                cr_expect_geq(s->sched[k][i], s->sched[k - 1][i]);
                cr_expect_geq(s->lat[k][i], s->lat[k - 1][i]);
                cr_expect_geq(s->it[k][i], s->it[k - 1][i]);
            }
            /* The window: everything since the start until it is full, then the difference
             * with the totals WINDOW_S ticks before. */
            int back = k - WINDOW_S;
            uint64_t ok0 = back >= 0 ? s->ok[back][i] : 0, lat0 = back >= 0 ? s->lat[back][i] : 0,
                     it0 = back >= 0 ? s->it[back][i] : 0;
            cr_expect_eq(s->win_ok[k][i], s->ok[k][i] - ok0, "tick %d scenario %d ok", k, i);
            cr_expect_eq(s->win_lat[k][i], s->lat[k][i] - lat0, "tick %d scenario %d lat", k, i);
            cr_expect_eq(s->win_it[k][i], s->it[k][i] - it0, "tick %d scenario %d iter", k, i);
        }
        if (k >= WINDOW_S) /* a full window spans WINDOW_S ticks */
            cr_expect(s->win_span[k] > WINDOW_S - 0.2 && s->win_span[k] < WINDOW_S + 0.5,
                      "tick %d: window of %.3f s", k, s->win_span[k]);
    }
    /* a full window of the open scenario holds about WINDOW_S s of its 300/s */
    int k = 3;
    cr_expect(s->win_ok[k][0] > 300 * WINDOW_S * 0.8 && s->win_ok[k][0] < 300 * WINDOW_S * 1.2,
              "window ok %llu", (unsigned long long)s->win_ok[k][0]);
    /* and the last tick is at most a second behind the final totals */
    const metrics_rec *m = rep->sc[0].m;
    cr_expect_leq(s->ok[s->n - 1][0], m->c.ok);
    cr_expect_geq(s->ok[s->n - 1][0] + 400, m->c.ok);
    for (size_t i = 0; i < rep->nsc; i++) {
        const metrics_counts *c = &rep->sc[i].m->c;
        cr_expect_eq(c->scheduled, c->ok + c->failed + c->dropped);
        cr_expect_eq(rep->sc[i].m->g.vus_active, 0, "nothing is under way at the end");
    }
    run_free(r);
    plan_free(p);
    free(s);
}

Test(live, tick_returning_true_stops_the_run, .init = target_up, .fini = target_down)
{
    plan *p = load_two("30s");
    char err[256];
    run *r = NULL;
    seen *s = calloc(1, sizeof(*s));
    s->stop_after_s = 2;
    cr_assert_eq(run_create(&r, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_set_tick(r, tick, s, WINDOW_S), 0);
    cr_assert_eq(run_start(r, err, sizeof err), 0, "%s", err);
    run_wait(r);
    double ended = (double)clock_ns() / 1e9;
    const report_run *rep = run_report(r);
    cr_assert_gt(s->stopped_at, 0);
    cr_expect_lt(ended - s->stopped_at, 2.0, "stopped %.3f s after the tick said so",
                 ended - s->stopped_at);
    cr_expect_eq(s->n, 2, "no tick after the one that stopped it (%d)", s->n);
    cr_expect(rep->aborted);
    cr_expect(!rep->interrupted, "a stop by the tick is not a signal");
    cr_expect_str_eq(rep->abort_reason, "threshold p95 < 1ms failed over the last 2s");
    cr_expect_lt(rep->duration_s, 5.0);
    for (size_t i = 0; i < rep->nsc; i++) {
        const metrics_counts *c = &rep->sc[i].m->c;
        const metrics_iter *it = &rep->sc[i].m->it;
        cr_expect_gt(c->ok, 0);
        cr_expect_eq(c->scheduled, c->ok + c->failed + c->dropped, "scenario %zu", i);
        cr_expect_eq(it->scheduled, it->completed + it->failed + it->interrupted + it->dropped);
        cr_expect_lt(rep->sc[i].window_s, 3.5, "window %.3f", rep->sc[i].window_s);
    }
    /* the JSON says who stopped it */
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    cr_assert_eq(report_json(f, rep), 0);
    fclose(f);
    cr_expect(strstr(doc, "\"aborted_by\": \"threshold p95 < 1ms failed over the last 2s\""),
              "%s", doc);
    cr_expect(strstr(doc, "\"interrupted\": false"));
    free(doc);
    f = open_memstream(&doc, &len);
    report_text(f, rep);
    fclose(f);
    cr_expect(strstr(doc, "stopped early by threshold p95"), "%s", doc);
    free(doc);
    run_free(r);
    plan_free(p);
    free(s);
}

/* live.c alone: the window's bound, and no views before the first update. */
Test(live, rejects_windows_past_the_bound)
{
    live *l = NULL;
    plan empty = {0};
    cr_expect_eq(live_new(&l, &empty, 1, LIVE_MAX_WINDOW_S + 1, false), -EINVAL);
    cr_expect_null(l);
    cr_assert_eq(live_new(&l, &empty, 1, 5, true), 0);
    cr_expect_null(live_window(l), "no window before the first update");
    cr_expect_null(live_second(l));
    cr_expect_eq(live_cum(l)->nsc, 0);
    live_free(l);
}
