/* ceiling: the search's arithmetic and the control block (see include/ceiling.h).
 *
 * Invariant of the search: pass < fail whenever both are set, and every rate tried lies in
 * [start, max]. A bisection midpoint is rounded to a whole rate above 100/s (to 0.01/s below),
 * and a midpoint that rounds onto an end of the bracket ends the search as narrow enough. */
#include "ceiling.h"

#include <math.h>

/* A rate as the search tries it. */
static double tidy(double r)
{
    return r >= 100 ? round(r) : round(r * 100) / 100;
}

void ceiling_init(ceiling_search *s, double start, double max, double precision)
{
    *s = (ceiling_search){.start = start, .max = max, .precision = precision, .rate = start};
}

static double finish(ceiling_search *s, ceiling_limit by)
{
    s->done = true;
    s->by = by;
    return 0;
}

double ceiling_next(ceiling_search *s, ceiling_verdict v)
{
    if (s->done)
        return 0;
    s->steps++;
    double r = s->rate;
    switch (v) {
    case CEIL_GENERATOR:
        return finish(s, CEIL_BY_GENERATOR);
    case CEIL_WIDE:
    case CEIL_FAIL:
        if (s->fail == 0 || r < s->fail)
            s->fail = r;
        if (s->pass == 0 || v == CEIL_WIDE) {
            s->early = v == CEIL_WIDE && s->pass > 0;
            return finish(s, CEIL_BY_SERVER);
        }
        break;
    case CEIL_PASS:
        if (r > s->pass)
            s->pass = r;
        if (s->fail == 0) { /* still climbing */
            if (r >= s->max)
                return finish(s, CEIL_BY_MAX_RATE);
            s->rate = 2 * r < s->max ? tidy(2 * r) : s->max;
            return s->rate;
        }
        break;
    }
    /* bisecting [pass, fail] */
    if ((s->fail - s->pass) / s->pass <= s->precision)
        return finish(s, CEIL_BY_SERVER);
    double mid = tidy((s->pass + s->fail) / 2);
    if (mid <= s->pass || mid >= s->fail)
        return finish(s, CEIL_BY_SERVER);
    s->rate = mid;
    return mid;
}

unsigned ceiling_max_steps(double start, double max, double precision)
{
    unsigned climb = 1, bisect = 1;
    for (double r = start; r < max; r *= 2)
        climb++;
    for (double w = 1; w > precision; w /= 2)
        bisect++;
    return climb + bisect;
}

const char *ceiling_verdict_name(ceiling_verdict v)
{
    static const char *const names[] = {"pass", "fail", "fail-wide", "generator"};
    return v <= CEIL_GENERATOR ? names[v] : "?";
}

const char *ceiling_limit_name(ceiling_limit l)
{
    static const char *const names[] = {"none", "server", "generator", "max_rate"};
    return l <= CEIL_BY_MAX_RATE ? names[l] : "?";
}

void ceiling_ctl_set(ceiling_ctl *c, const ceiling_step_ctl *v)
{
    uint64_t q = atomic_load(&c->seq);
    atomic_store(&c->seq, q + 1);
    atomic_store(&c->step, v->step);
    atomic_store(&c->rate, v->rate);
    atomic_store(&c->from_ns, v->from_ns);
    atomic_store(&c->until_ns, v->until_ns);
    atomic_store(&c->done, v->done);
    atomic_store(&c->seq, q + 2);
}

void ceiling_ctl_get(ceiling_ctl *c, ceiling_step_ctl *out)
{
    for (;;) {
        uint64_t a = atomic_load(&c->seq);
        if (a & 1)
            continue;
        out->step = atomic_load(&c->step);
        out->rate = atomic_load(&c->rate);
        out->from_ns = atomic_load(&c->from_ns);
        out->until_ns = atomic_load(&c->until_ns);
        out->done = atomic_load(&c->done);
        if (atomic_load(&c->seq) == a)
            return;
    }
}

uint64_t ceiling_step_at(ceiling_ctl *c, double start_s)
{
    uint64_t step = atomic_load(&c->step);
    if (step > 1 && start_s + 0.5 < (double)atomic_load(&c->since_s))
        step--;
    return step;
}
