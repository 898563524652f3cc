/* gates: the thresholds judged while the run is under way (see include/gates.h).
 *
 * Once a second (run.c's tick) every threshold with abort_on_fail or an `over` window is judged
 * on the running totals, or on the trailing window: a window only once it is full, nothing
 * before delay_abort_eval, and a metric that saw no samples yet is not judged. A windowed
 * threshold remembers its worst window; an abort_on_fail threshold that fails stops the run,
 * and the reason names it. gates_apply then folds what was seen into the end-of-run verdict. */
#include "gates.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

typedef struct gate_state {
    bool breached;     /* a full window failed (windowed thresholds) */
    double worst;      /* the worst failing window's value */
    uint64_t samples;  /* what it was made of */
    double breached_s; /* when (seconds after t0) */
    bool aborted;
    bool judged; /* a full window was judged at least once */
} gate_state;

struct gates {
    const plan *p;
    gate_state *st; /* per threshold of the plan */
    unsigned window_s;
    bool any;
};

int gates_new(gates **out, const plan *p)
{
    *out = NULL;
    gates *g = calloc(1, sizeof *g);
    if (!g || !(g->st = calloc(p->nthresholds ? p->nthresholds : 1, sizeof *g->st))) {
        free(g);
        return -ENOMEM;
    }
    g->p = p;
    for (size_t i = 0; i < p->nthresholds; i++) {
        const threshold *t = &p->thresholds[i];
        g->any |= t->abort_on_fail || t->window_ns;
        if (t->window_ns) /* config_verdict.c saw that they are all of one length */
            g->window_s = (unsigned)(t->window_ns / NS_PER_S);
    }
    *out = g;
    return 0;
}

bool gates_live(const gates *g)
{
    return g && g->any;
}

unsigned gates_window_s(const gates *g)
{
    return g ? g->window_s : 0;
}

/* Worse for this threshold: further on its failing side. */
static bool worse(const threshold *t, double a, double b)
{
    return t->op == TO_GT || t->op == TO_GE ? a < b : a > b;
}

bool gates_tick(void *ctx, const report_run *cum, const report_run *win, double elapsed_s,
                char *reason, size_t reasonlen)
{
    gates *g = ctx;
    const plan *p = g->p;
    for (size_t i = 0; i < p->nthresholds; i++) {
        const threshold *t = &p->thresholds[i];
        gate_state *s = &g->st[i];
        if (!(t->abort_on_fail || t->window_ns) || s->aborted)
            continue;
        if (elapsed_s * 1e9 < (double)t->delay_abort_ns)
            continue;
        const report_run *view = cum;
        if (t->window_ns) {
            /* a window is judged once it is full */
            if (!win || win->duration_s + 0.5 < (double)t->window_ns / 1e9)
                continue;
            view = win;
        }
        double v;
        uint64_t n;
        if (threshold_observe(t, view, &v, &n) < 0)
            continue; /* no memory this second: judged again the next */
        if (n == 0 && threshold_metric_kind(t->metric) != TK_COUNTER)
            continue;
        s->judged = true;
        if (threshold_holds(t, v))
            continue;
        if (t->window_ns && (!s->breached || worse(t, v, s->worst))) {
            if (!s->breached)
                s->breached_s = elapsed_s;
            s->breached = true;
            s->worst = v;
            s->samples = n;
        }
        if (t->abort_on_fail) {
            s->aborted = true;
            if (!t->window_ns) {
                s->worst = v;
                s->samples = n;
                s->breached_s = elapsed_s;
            }
            char shown[48];
            threshold_format(t, v, shown, sizeof shown);
            if (t->window_ns)
                snprintf(reason, reasonlen, "threshold '%s' (line %d): %s over the %us up to %.0f s",
                         t->expr, t->line, shown, (unsigned)(t->window_ns / NS_PER_S), elapsed_s);
            else
                snprintf(reason, reasonlen, "threshold '%s' (line %d): %s at %.0f s", t->expr,
                         t->line, shown, elapsed_s);
            return true;
        }
    }
    return false;
}

void gates_apply(const gates *g, verdict *v)
{
    if (!g || !v || !v->thr)
        return;
    threshold_result *thr = (threshold_result *)v->thr;
    for (size_t i = 0; i < v->nthr && i < g->p->nthresholds; i++) {
        const threshold *t = &g->p->thresholds[i];
        const gate_state *s = &g->st[i];
        threshold_result *r = &thr[i];
        if (s->aborted)
            r->aborted = true;
        if (t->window_ns && s->breached) {
            /* a windowed threshold is as bad as its worst full window */
            r->ok = false;
            r->empty = false;
            r->observed = s->worst;
            r->samples = s->samples;
            threshold_format(t, s->worst, r->observed_text, sizeof r->observed_text);
            size_t n = strlen(r->observed_text);
            snprintf(r->observed_text + n, sizeof r->observed_text - n, " (worst %us window)",
                     (unsigned)(t->window_ns / NS_PER_S));
        } else if (t->window_ns && s->judged) {
            /* it held over every full window; the run's value is shown beside it */
            r->ok = true;
        } else if (s->aborted) {
            /* it stopped the run: failed, whatever the totals came to after */
            r->ok = false;
            r->observed = s->worst;
            r->samples = s->samples;
            threshold_format(t, s->worst, r->observed_text, sizeof r->observed_text);
        }
    }
    v->thresholds_ok = true;
    for (size_t i = 0; i < v->nthr; i++)
        v->thresholds_ok &= thr[i].ok;
}

void gates_free(gates *g)
{
    if (!g)
        return;
    free(g->st);
    free(g);
}
