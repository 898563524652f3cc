/* progress: the live progress lines (see include/progress.h). Everything shown comes from the
 * live views (live.c), never from a worker's own recorder; names go through redact_str. */
#include "progress.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "ceiling.h"
#include "redact.h"

#define BAR_W 20

/* A time in seconds as "42s" or "12m05s" (whole seconds). */
static void fmt_secs(char *buf, size_t n, double s)
{
    uint64_t t = s > 0 ? (uint64_t)(s + 0.5) : 0;
    if (t < 100)
        snprintf(buf, n, "%" PRIu64 "s", t);
    else if (t < 100 * 60)
        snprintf(buf, n, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
    else
        snprintf(buf, n, "%" PRIu64 "h%02" PRIu64 "m", t / 3600, t / 60 % 60);
}

static void fmt_lat(char *buf, size_t n, uint64_t us)
{
    report_fmt_us(buf, n, us, false);
}

/* The target rate over the last second: a constant rate, a ramp's integral over that second. */
static double target_now(const plan_scenario *s, double in_s)
{
    if (s->executor == PLAN_CONSTANT_ARRIVAL_RATE)
        return s->rate;
    if (s->executor == PLAN_CEILING)
        return atomic_load(&s->ctl->rate);
    if (in_s <= 0)
        return 0;
    uint64_t t = (uint64_t)(in_s * 1e9), from = t > 1000000000ull ? t - 1000000000ull : 0;
    long double span = (long double)(t - from) / 1e9L;
    return span > 0 ? (double)((plan_ramp_integral(s, t) - plan_ramp_integral(s, from)) / span)
                    : 0;
}

/* Appends to buf at *off, never past n. */
static void add(char *buf, size_t n, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t n, size_t *off, const char *fmt, ...)
{
    if (*off >= n - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *off, n - *off, fmt, ap);
    va_end(ap);
    if (k > 0)
        *off = *off + (size_t)k < n ? *off + (size_t)k : n - 1;
}

char *progress_line(char *buf, size_t n, const report_run *cum, const report_run *sec, size_t i,
                    double elapsed_s, bool bar, int name_w)
{
    const report_scenario *rs = &cum->sc[i];
    const plan_scenario *s = rs->s;
    const metrics_rec *m = rs->m;
    size_t off = 0;
    buf[0] = '\0';
    add(buf, n, &off, "%-*s ", name_w, redact_str(s->name));
    double total = (double)s->duration_ns / 1e9;
    double in = elapsed_s - (double)s->start_time_ns / 1e9;
    char a[24], b[24];
    if (in < 0) {
        fmt_secs(a, sizeof a, -in);
        add(buf, n, &off, "%swaiting: starts in %s", bar ? " " : "", a);
        return buf;
    }
    if (in > total)
        in = total;
    if (bar) {
        int fill = total > 0 ? (int)(in / total * BAR_W + 0.5) : BAR_W;
        add(buf, n, &off, "[");
        for (int k = 0; k < BAR_W; k++)
            add(buf, n, &off, "%c", k < fill ? '#' : '.');
        add(buf, n, &off, "] ");
    }
    fmt_secs(a, sizeof a, in);
    fmt_secs(b, sizeof b, total);
    add(buf, n, &off, "%s/%s", a, b);
    /* The last second's rate and p99; without it (the final draw), the whole run's. */
    const metrics_rec *d = sec ? sec->sc[i].m : m;
    double rate = !sec ? report_achieved_rate(rs)
                  : sec->duration_s > 0 ? (double)(d->c.ok + d->c.failed) / sec->duration_s
                                        : 0;
    if (PLAN_IS_ARRIVAL(s->executor))
        add(buf, n, &off, "  %.1f req/s (target %.1f)", rate, target_now(s, in));
    if (s->executor == PLAN_CEILING) { /* the search: its step and the bracket so far */
        double fail = atomic_load(&s->ctl->fail);
        add(buf, n, &off, "  step %" PRIu64 " [%.0f, ", atomic_load(&s->ctl->step),
            atomic_load(&s->ctl->pass));
        if (fail > 0)
            add(buf, n, &off, "%.0f]", fail);
        else
            add(buf, n, &off, "-]");
    }
    else
        add(buf, n, &off, "  %.1f req/s (%" PRIu64 " VUs)", rate, m->g.vus_active);
    if (d->latency && hist_count(d->latency)) {
        fmt_lat(a, sizeof a, hist_value_at(d->latency, 99));
        add(buf, n, &off, "  p99 %s", a);
    } else {
        add(buf, n, &off, "  p99 -");
    }
    uint64_t done = m->c.ok + m->c.failed;
    add(buf, n, &off, "  failed %" PRIu64 " (%.2f%%)", m->c.failed,
        done ? 100.0 * (double)m->c.failed / (double)done : 0.0);
    if (PLAN_IS_ARRIVAL(s->executor)) /* a closed model's VUs are shown with its rate */
        add(buf, n, &off, "  vus %" PRIu64, m->g.vus_active);
    add(buf, n, &off, "  conns %" PRIu64, m->c.conns_open);
    if (PLAN_IS_ARRIVAL(s->executor))
        add(buf, n, &off, "  queued %" PRIu64, m->g.queued);
    if (m->c.dropped)
        add(buf, n, &off, "  dropped %" PRIu64, m->c.dropped);
    return buf;
}

size_t progress_draw(FILE *f, progress_mode mode, const report_run *cum, const report_run *sec,
                     double elapsed_s, size_t lines_drawn, int cols)
{
    if (mode == PROGRESS_OFF)
        return 0;
    int name_w = 0;
    for (size_t i = 0; i < cum->nsc; i++) {
        int w = (int)strlen(redact_str(cum->sc[i].s->name));
        if (w > name_w)
            name_w = w;
    }
    if (name_w > 32)
        name_w = 32;
    char line[512];
    if (mode == PROGRESS_TTY && lines_drawn)
        fprintf(f, "\033[%zuA", lines_drawn); /* back to the first line of the last draw */
    for (size_t i = 0; i < cum->nsc; i++) {
        progress_line(line, sizeof line, cum, sec, i, elapsed_s, mode == PROGRESS_TTY, name_w);
        if (mode == PROGRESS_TTY) {
            if (cols > 1 && strlen(line) >= (size_t)cols)
                line[cols - 1] = '\0'; /* one row each, or cursor-up would miss */
            fprintf(f, "\r\033[K%s\n", line);
        } else {
            fprintf(f, "blast: %s\n", line);
        }
    }
    fflush(f);
    return cum->nsc;
}
