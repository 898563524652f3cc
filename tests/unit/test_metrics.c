/* metrics: the live copies and differences (metrics_copy, metrics_sub, metrics_rec_reset) carry
 * every recorder the final report has: the connect histogram and the per-step status classes
 * too, so a windowed `http_req_connecting` or `http_reqs{status:5xx}` threshold sees the window,
 * not nothing or the whole run. */
#include <criterion/criterion.h>
#include <errno.h>

#include "hist.h"
#include "metrics.h"

static const metrics_range rg = {.latency_us = 10000000,
                                 .service_us = 10000000,
                                 .lateness_us = 10000000,
                                 .handshake_us = 0,
                                 .connect_us = 10000000};

Test(metrics, copy_sub_and_reset_carry_connects_and_status_classes)
{
    metrics_rec live, then, win;
    cr_assert_eq(metrics_rec_init(&live, &rg, 1, 0), 0);
    cr_assert_eq(metrics_rec_init(&then, &rg, 1, 0), 0);
    cr_assert_eq(metrics_rec_init(&win, &rg, 1, 0), 0);
    /* first second: 3 connects, 2 responses 2xx and 1 5xx */
    for (int i = 0; i < 3; i++)
        hist_record(live.connecting, 100 + i);
    live.steps[0].status[2] = 2;
    live.steps[0].status[5] = 1;
    cr_assert_eq(metrics_copy(&then, &live), 0);
    cr_expect_eq(hist_count(then.connecting), 3, "the copy lost the connects");
    cr_expect_eq(then.steps[0].status[5], 1);
    /* second second: 2 more connects, 4 more 5xx */
    hist_record(live.connecting, 5000);
    hist_record(live.connecting, 6000);
    live.steps[0].status[5] += 4;
    cr_assert_eq(metrics_copy(&win, &live), 0);
    cr_assert_eq(metrics_sub(&win, &then), 0);
    cr_expect_eq(hist_count(win.connecting), 2, "window connects %llu",
                 (unsigned long long)hist_count(win.connecting));
    cr_expect_geq(hist_min(win.connecting), 4990, "the window's connects are the late ones");
    cr_expect_eq(win.steps[0].status[5], 4, "window 5xx %llu",
                 (unsigned long long)win.steps[0].status[5]);
    cr_expect_eq(win.steps[0].status[2], 0);
    metrics_rec_reset(&win);
    cr_expect_eq(hist_count(win.connecting), 0, "reset kept connects");
    cr_expect_eq(win.steps[0].status[5], 0);
    metrics_rec_free(&live);
    metrics_rec_free(&then);
    metrics_rec_free(&win);
}

/* WebSocket steps: only the steps marked in ws_step get a ws block; copies, differences, merges
 * and resets carry it, and metrics_finish makes the scenario's from its steps' (remade, never
 * added twice). */
Test(metrics, ws_blocks_per_step_carried_and_summed)
{
    static const unsigned char ws_step[3] = {1, 0, 1};
    metrics_range wrg = rg;
    wrg.ws_us = 10000000;
    wrg.ws_step = ws_step;
    metrics_rec a, b, snap, win, sum;
    metrics_rec *all[] = {&a, &b, &snap, &win, &sum};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(metrics_rec_init(all[i], &wrg, 3, 0), 0);
    cr_assert_not_null(a.ws, "the scenario has a ws block");
    cr_assert_not_null(a.steps[0].ws);
    cr_assert_null(a.steps[1].ws, "an HTTP step pays for no ws histograms");
    cr_assert_not_null(a.steps[2].ws);
    /* worker a: 3 messages on step 0, 2 on step 2; worker b: 4 on step 2 */
    a.steps[0].ws->c.msgs_sent = 3;
    a.steps[2].ws->c.msgs_sent = 2;
    b.steps[2].ws->c.msgs_sent = 4;
    for (int i = 0; i < 3; i++)
        hist_record(a.steps[0].ws->msg_latency, 100);
    hist_record(b.steps[2].ws->msg_latency, 900);
    a.steps[0].ws->c.sessions = 1;
    cr_assert_eq(metrics_copy(&snap, &a), 0);
    cr_expect_eq(snap.steps[0].ws->c.msgs_sent, 3, "the copy lost the step's ws counts");
    cr_expect_eq(hist_count(snap.steps[0].ws->msg_latency), 3);
    /* a goes on: 5 more on step 0 */
    a.steps[0].ws->c.msgs_sent += 5;
    hist_record(a.steps[0].ws->msg_latency, 5000);
    cr_assert_eq(metrics_copy(&win, &a), 0);
    cr_assert_eq(metrics_sub(&win, &snap), 0);
    cr_assert_eq(metrics_finish(&win), 0);
    cr_expect_eq(win.steps[0].ws->c.msgs_sent, 5, "window: %llu",
                 (unsigned long long)win.steps[0].ws->c.msgs_sent);
    cr_expect_eq(hist_count(win.steps[0].ws->msg_latency), 1);
    cr_expect_eq(win.ws->c.msgs_sent, 5, "the window's scenario ws is its steps'");
    cr_expect_eq(win.ws->c.sessions, 0);
    /* the merge of both workers, finished twice: the scenario holds the steps' sum once */
    cr_assert_eq(metrics_merge(&sum, &a), 0);
    cr_assert_eq(metrics_merge(&sum, &b), 0);
    cr_assert_eq(metrics_finish(&sum), 0);
    cr_assert_eq(metrics_finish(&sum), 0);
    cr_expect_eq(sum.steps[2].ws->c.msgs_sent, 6);
    cr_expect_eq(sum.ws->c.msgs_sent, 8 + 6, "scenario %llu",
                 (unsigned long long)sum.ws->c.msgs_sent);
    cr_expect_eq(hist_count(sum.ws->msg_latency), 5);
    cr_expect_eq(sum.ws->c.sessions, 1);
    /* a shape that differs (no ws on step 0) is refused */
    static const unsigned char other[3] = {0, 1, 1};
    metrics_range orng = wrg;
    orng.ws_step = other;
    metrics_rec o;
    cr_assert_eq(metrics_rec_init(&o, &orng, 3, 0), 0);
    cr_expect_eq(metrics_copy(&o, &a), -EINVAL);
    metrics_rec_free(&o);
    metrics_rec_reset(&sum);
    cr_expect_eq(sum.steps[2].ws->c.msgs_sent, 0);
    cr_expect_eq(hist_count(sum.steps[0].ws->msg_latency), 0);
    for (int i = 0; i < 5; i++)
        metrics_rec_free(all[i]);
}
