/* metrics: the live copies and differences (metrics_copy, metrics_sub, metrics_rec_reset) carry
 * every recorder the final report has: the connect histogram and the per-step status classes
 * too, so a windowed `http_req_connecting` or `http_reqs{status:5xx}` threshold sees the window,
 * not nothing or the whole run. */
#include <criterion/criterion.h>

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
