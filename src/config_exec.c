/* config_exec: a scenario's executor and what drives it: the rate or VU count (constant or in
 * stages), iterations, how long, when it starts and how it stops, with k6's names and defaults.
 * The command-line overrides apply where they have a meaning and are refused, with the reason,
 * where they have none (a ramp has no single rate, VU count or duration); --stage-scale
 * multiplies every time of the schedule (stages, durations, start times) and nothing else. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceiling.h"
#include "clock.h"
#include "config_int.h"
#include "value.h"

#define keys cfg_keys

#define MAX_VUS 1000000
#define MAX_CONNECTIONS 1000000
#define MAX_QUEUE 100000000
#define MAX_STAGES 1000
#define MAX_ITERATIONS (UINT64_C(1) << 48)

#define DEFAULT_MAX_CONNECTIONS 100
#define DEFAULT_PRE_CONNECTIONS 10
#define DEFAULT_MAX_QUEUE 100000
#define DEFAULT_GRACEFUL_RAMP_DOWN_NS (30 * NS_PER_S) /* k6's */
#define DEFAULT_MAX_DURATION_NS (600 * NS_PER_S)      /* k6's 10m */

#define EXECUTORS                                                                                  \
    "constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations, " \
    "shared-iterations, ceiling"

#define exec_names plan_executor_names
#define NEXEC PLAN_NEXECUTORS

/* "constant-vus, per-vu-iterations": the executors of a mask, for messages. */
static const char *exec_list(unsigned mask, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned e = 0; e < NEXEC; e++)
        if (mask & (1u << e)) {
            int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", exec_names[e]);
            if (n < 0 || (size_t)n >= cap - o)
                break;
            o += (size_t)n;
        }
    return buf;
}

/* The first key set in s (in file order) that its executor e does not take, or -1. */
static int misplaced(const struct section *s, plan_executor e, int *line)
{
    int found = -1;
    *line = 0;
    for (int k = 0; k < K_COUNT; k++) {
        if (!keys[k].execs || (keys[k].execs & (1u << e)))
            continue;
        int l = s->v[k].s ? s->v[k].line : 0;
        for (size_t i = 0; !l && i < s->nitems; i++)
            if (s->items[i].key == k)
                l = s->items[i].v.line;
        if (l && (found < 0 || l < *line)) {
            found = k;
            *line = l;
        }
    }
    return found;
}

/* ns * --stage-scale, at least 1 ns when ns was not 0. */
static uint64_t scaled(const struct ctx *c, uint64_t ns)
{
    double f = c->ov->stage_scale;
    if (!(f > 0) || f == 1 || ns == 0)
        return ns;
    long double v = roundl((long double)ns * f);
    if (v < 1)
        return 1;
    return v >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)v;
}

/* "0", "0.0", "0/s", "0/m": no arrivals (value_rate takes only rates above 0). */
static bool zero_rate(const char *t)
{
    char *end;
    double v = strtod(t, &end);
    return end != t && v == 0 && (*end == '\0' || *end == '/') && t[0] >= '0' && t[0] <= '9';
}

/* One `stage = DURATION -> TARGET` line (a rate, or a VU count). */
static bool parse_stage(struct ctx *c, const struct section *s, const struct value *v, bool rate,
                        plan_stage *st)
{
    const char *ex = rate ? "stage = 2m -> 500/s" : "stage = 2m -> 100";
    const char *arrow = strstr(v->s, "->");
    char dur[64], tgt[64];
    if (!arrow) {
        cfg_fail(c, -EINVAL, v->line, s, "stage",
                 "'%.40s' is not DURATION -> TARGET (e.g. %s; a stage of 0s is a step)", v->s, ex);
        return false;
    }
    size_t dl = (size_t)(arrow - v->s);
    snprintf(dur, sizeof dur, "%.*s", dl < sizeof dur ? (int)dl : (int)sizeof dur - 1, v->s);
    snprintf(tgt, sizeof tgt, "%s", arrow + 2);
    char *d = cfg_trim(dur), *t = cfg_trim(tgt);
    if (value_duration(d, &st->dur_ns) < 0) {
        cfg_fail(c, -EINVAL, v->line, s, "stage",
                 "'%.40s' is not a duration (e.g. %s; units us, ms, s, m, h; 0s is a step)", d,
                 ex);
        return false;
    }
    st->dur_ns = scaled(c, st->dur_ns);
    st->line = v->line;
    if (rate) {
        if (zero_rate(t)) {
            st->to = 0;
            return true;
        }
        int rc = value_rate(t, &st->to);
        if (rc < 0) {
            cfg_fail(c, -EINVAL, v->line, s, "stage",
                     "'%.40s' is not a rate (%s%s; 0 for none, at most %.0f/s)", t,
                     rc == -ERANGE ? "too high: " : "e.g. ", ex, VALUE_MAX_RATE);
            return false;
        }
        return true;
    }
    char *end;
    unsigned long long n = strtoull(t, &end, 10);
    if (end == t || *end || t[0] == '-' || t[0] == '+' || n > MAX_VUS) {
        cfg_fail(c, -EINVAL, v->line, s, "stage",
                 "'%.40s' is not a VU count (e.g. %s; allowed: 0..%d)", t, ex, MAX_VUS);
        return false;
    }
    st->to = (double)n;
    return true;
}

static bool get_stages(struct ctx *c, const struct section *s, plan_scenario *sc, bool rate)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nitems; i++)
        n += s->items[i].key == K_STAGE;
    if (n == 0) {
        cfg_fail(c, -EINVAL, s->line, s, NULL, "%s needs stage lines (e.g. %s)",
                 exec_names[sc->executor], rate ? "stage = 2m -> 500/s" : "stage = 2m -> 100");
        return false;
    }
    if (n > MAX_STAGES) {
        cfg_fail(c, -EINVAL, s->line, s, "stage", "%zu stages (allowed: at most %d)", n,
                 MAX_STAGES);
        return false;
    }
    if (!(sc->stages = calloc(n, sizeof *sc->stages))) {
        cfg_oom(c);
        return false;
    }
    for (size_t i = 0; i < s->nitems; i++)
        if (s->items[i].key == K_STAGE &&
            !parse_stage(c, s, &s->items[i].v, rate, &sc->stages[sc->nstages++]))
            return false;
    plan_stages_finish(sc);
    if (sc->duration_ns == 0) {
        cfg_fail(c, -EINVAL, sc->stages[0].line, s, "stage",
                 "the stages last 0s in all (at least one stage needs a duration)");
        return false;
    }
    if (rate ? !(sc->rate > 0) : sc->vus == 0) {
        cfg_fail(c, -EINVAL, sc->stages[0].line, s, "stage",
                 "no stage asks for any %s (every target and the start are 0)",
                 rate ? "arrivals" : "VUs");
        return false;
    }
    return true;
}

/* max_vus / max_connections, pre_connections / pre_allocated_vus, max_queue, arrival. */
static bool get_arrival_limits(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    uint64_t n;
    sc->max_connections = DEFAULT_MAX_CONNECTIONS;
    /* max_vus (k6's name) and max_connections are one limit: each VU has its connection */
    int km = s->v[K_MAX_VUS].s ? K_MAX_VUS : K_MAX_CONNECTIONS;
    if (s->v[K_MAX_VUS].s && s->v[K_MAX_CONNECTIONS].s) {
        cfg_fail(c, -EINVAL, s->v[K_MAX_VUS].line, s, "max_vus",
                 "cannot be combined with max_connections (the same limit: each VU has one "
                 "connection; keep one of them)");
        return false;
    }
    if (s->v[km].s) {
        if (!cfg_get_uint(c, s, km, 1, MAX_CONNECTIONS, &n))
            return false;
        sc->max_connections = (uint32_t)n;
    }
    sc->pre_connections = sc->max_connections < DEFAULT_PRE_CONNECTIONS ? sc->max_connections
                                                                        : DEFAULT_PRE_CONNECTIONS;
    int kp = s->v[K_PRE_ALLOCATED_VUS].s ? K_PRE_ALLOCATED_VUS : K_PRE_CONNECTIONS;
    if (s->v[K_PRE_ALLOCATED_VUS].s && s->v[K_PRE_CONNECTIONS].s) {
        cfg_fail(c, -EINVAL, s->v[K_PRE_ALLOCATED_VUS].line, s, "pre_allocated_vus",
                 "cannot be combined with pre_connections (the same setting; keep one)");
        return false;
    }
    if (s->v[kp].s) {
        if (!cfg_get_uint(c, s, kp, 0, MAX_CONNECTIONS, &n))
            return false;
        if (n > sc->max_connections) {
            cfg_fail(c, -EINVAL, s->v[kp].line, s, keys[kp].name,
                     "%llu is more than max_vus / max_connections (allowed: 0..%u)",
                     (unsigned long long)n, sc->max_connections);
            return false;
        }
        sc->pre_connections = (uint32_t)n;
    }
    sc->max_queue = DEFAULT_MAX_QUEUE;
    if (s->v[K_MAX_QUEUE].s) {
        if (!cfg_get_uint(c, s, K_MAX_QUEUE, 1, MAX_QUEUE, &n))
            return false;
        sc->max_queue = (uint32_t)n;
    }
    const struct value *a = &s->v[K_ARRIVAL];
    sc->arrival = PLAN_ARRIVAL_UNIFORM;
    if (a->s && strcmp(a->s, "poisson") == 0) {
        sc->arrival = PLAN_ARRIVAL_POISSON;
    } else if (a->s && strcmp(a->s, "uniform") != 0) {
        cfg_fail(c, -EINVAL, a->line, s, "arrival",
                 "unknown arrival '%.40s' (allowed: uniform, poisson)", a->s);
        return false;
    }
    return true;
}

static bool get_rate(struct ctx *c, const struct section *s, int k, double *out)
{
    const struct value *r = &s->v[k];
    int rrc = value_rate(r->s, out);
    if (rrc == -ERANGE) {
        cfg_fail(c, -EINVAL, r->line, s, keys[k].name,
                 "'%.40s' is more than one scenario may ask for (at most %.0f/s; split the load "
                 "over scenarios or load boxes)",
                 r->s, VALUE_MAX_RATE);
        return false;
    }
    if (rrc) {
        cfg_fail(c, -EINVAL, r->line, s, keys[k].name,
                 "'%.40s' is not a valid rate (%sa number > 0 and at most %.0f/s, written with "
                 "digits, per unit: 100/s, 100/m, 5000/30s, 0.5/s)",
                 r->s, strchr(r->s, '/') ? "" : "missing the unit; ", VALUE_MAX_RATE);
        return false;
    }
    return true;
}

/* An override that has no meaning for this executor: refused, with the reason. */
static bool refuse(struct ctx *c, const struct section *s, const char *opt, const char *why)
{
    cfg_fail(c, -EINVAL, s->line, s, NULL, "%s cannot apply to this scenario (%s)", opt, why);
    return false;
}

static bool get_vus(struct ctx *c, const struct section *s, plan_scenario *sc, uint32_t def)
{
    uint64_t n;
    sc->vus = def;
    if (s->v[K_VUS].s) {
        if (!cfg_get_uint(c, s, K_VUS, 1, MAX_VUS, &n))
            return false;
        sc->vus = (uint32_t)n;
    }
    if (c->ov->vus)
        sc->vus = c->ov->vus;
    if (!sc->vus) {
        cfg_fail(c, -EINVAL, s->line, s, NULL,
                 "vus is required for constant-vus (e.g. vus = 10)");
        return false;
    }
    return true;
}

/* duration: the scenario's, else [global]'s, else --duration (which wins over both). */
static bool get_duration(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const struct section *g = c->global;
    if (s->v[K_DURATION].s) {
        if (!cfg_get_duration(c, s, K_DURATION, false, &sc->duration_ns))
            return false;
    } else if (g && g->v[K_DURATION].s) {
        if (!cfg_get_duration(c, g, K_DURATION, false, &sc->duration_ns))
            return false;
    } else if (!c->ov->duration_ns) {
        cfg_fail(c, -EINVAL, s->line, s, NULL,
                 "duration is required (set it here or in [global], or give --duration)");
        return false;
    }
    if (c->ov->duration_ns)
        sc->duration_ns = c->ov->duration_ns;
    return true;
}

static bool get_iterations(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    uint64_t n = 1; /* k6's default */
    if (s->v[K_ITERATIONS].s && !cfg_get_uint(c, s, K_ITERATIONS, 1, MAX_ITERATIONS, &n))
        return false;
    sc->iterations = n;
    if (!get_vus(c, s, sc, 1))
        return false;
    if (sc->executor == PLAN_SHARED_ITERATIONS && sc->iterations < sc->vus) {
        cfg_fail(c, -EINVAL, s->v[K_ITERATIONS].s ? s->v[K_ITERATIONS].line : s->line, s,
                 "iterations",
                 "%llu iterations shared by %u VUs: some VUs would have none (allowed: at least "
                 "vus)",
                 (unsigned long long)sc->iterations, sc->vus);
        return false;
    }
    sc->duration_ns = DEFAULT_MAX_DURATION_NS;
    if (s->v[K_MAX_DURATION].s && !cfg_get_duration(c, s, K_MAX_DURATION, false, &sc->duration_ns))
        return false;
    if (c->ov->duration_ns)
        sc->duration_ns = c->ov->duration_ns;
    return true;
}

/* A ceiling step time: whole seconds (the steps are judged on the one-second snapshot grid). */
static bool get_step_time(struct ctx *c, const struct section *s, int k, uint64_t def,
                          bool zero_ok, uint64_t *out)
{
    *out = def;
    if (!s->v[k].s)
        return true;
    if (!cfg_get_duration(c, s, k, zero_ok, out))
        return false;
    if (*out % NS_PER_S || *out > 3600 * NS_PER_S) {
        cfg_fail(c, -EINVAL, s->v[k].line, s, keys[k].name,
                 "'%.40s' is not a whole number of seconds up to 1h (each step is judged on the "
                 "one-second snapshot grid; e.g. %s)",
                 s->v[k].s, k == K_STEP_DURATION ? "10s" : k == K_WARM_UP ? "2s" : "1s");
        return false;
    }
    return true;
}

/* precision: "5%" or a fraction "0.05", in (0, 50%]. */
static bool get_precision(struct ctx *c, const struct section *s, double *out)
{
    const struct value *v = &s->v[K_PRECISION];
    *out = 0.05;
    if (!v->s)
        return true;
    char *end;
    double x = strtod(v->s, &end);
    bool pct = *end == '%';
    if (pct)
        x /= 100, end++;
    if (end == v->s || *end || !(x > 0) || x > 0.5 || !isfinite(x) ||
        !(v->s[0] >= '0' && v->s[0] <= '9')) {
        cfg_fail(c, -EINVAL, v->line, s, "precision",
                 "'%.40s' is not a precision in (0, 50%%] (e.g. 5%% or 0.05: the search stops "
                 "when (lowest failing - highest passing) / highest passing is at most this)",
                 v->s);
        return false;
    }
    *out = x;
    return true;
}

/* executor = ceiling: the range, the step times, the precision and the gate. */
static bool get_ceiling(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    plan_ceiling *ce = &sc->ceil;
    const config_overrides *ov = c->ov;
    if (ov->rate > 0)
        return refuse(c, s, "--rate", "ceiling: it searches its rate between start_rate and max_rate");
    if (ov->duration_ns)
        return refuse(c, s, "--duration",
                      "ceiling: it lasts as long as its search (step_duration, cool_down and the "
                      "number of steps)");
    if (ov->segments > 1)
        return refuse(c, s, "--segment", "ceiling: a search runs in one process");
    ce->line = s->v[K_EXECUTOR].line;
    if (!s->v[K_START_RATE].s || !s->v[K_MAX_RATE].s) {
        cfg_fail(c, -EINVAL, s->line, s, NULL,
                 "ceiling needs start_rate and max_rate (the search range, e.g. start_rate = "
                 "500/s and max_rate = 50000/s)");
        return false;
    }
    if (!get_rate(c, s, K_START_RATE, &ce->start_rate) ||
        !get_rate(c, s, K_MAX_RATE, &ce->max_rate))
        return false;
    if (ce->start_rate > ce->max_rate) {
        cfg_fail(c, -EINVAL, s->v[K_START_RATE].line, s, "start_rate",
                 "%s is above max_rate %s (allowed: start_rate <= max_rate)",
                 s->v[K_START_RATE].s, s->v[K_MAX_RATE].s);
        return false;
    }
    if (s->v[K_MIN_RATE].s) {
        if (zero_rate(s->v[K_MIN_RATE].s))
            ce->min_rate = 0;
        else if (!get_rate(c, s, K_MIN_RATE, &ce->min_rate))
            return false;
        if (ce->min_rate > ce->max_rate) {
            cfg_fail(c, -EINVAL, s->v[K_MIN_RATE].line, s, "min_rate",
                     "%s is above max_rate %s: no search could meet it (allowed: 0..max_rate)",
                     s->v[K_MIN_RATE].s, s->v[K_MAX_RATE].s);
            return false;
        }
    }
    if (!get_step_time(c, s, K_STEP_DURATION, 10 * NS_PER_S, false, &ce->step_ns) ||
        !get_step_time(c, s, K_WARM_UP, 2 * NS_PER_S, true, &ce->warm_ns) ||
        !get_step_time(c, s, K_COOL_DOWN, NS_PER_S, true, &ce->cool_ns) ||
        !get_precision(c, s, &ce->precision))
        return false;
    if (ce->warm_ns >= ce->step_ns) {
        const struct value *v = s->v[K_WARM_UP].s ? &s->v[K_WARM_UP] : &s->v[K_STEP_DURATION];
        cfg_fail(c, -EINVAL, v->s ? v->line : s->line, s, s->v[K_WARM_UP].s ? "warm_up" : "step_duration",
                 "warm_up %llus is not shorter than step_duration %llus (each step needs time "
                 "after its warm-up to be judged on)",
                 (unsigned long long)(ce->warm_ns / NS_PER_S),
                 (unsigned long long)(ce->step_ns / NS_PER_S));
        return false;
    }
    if (sc->start_time_ns % NS_PER_S) {
        cfg_fail(c, -EINVAL, s->v[K_START_TIME].line, s, "start_time",
                 "a ceiling search starts on a whole second (e.g. 0s, 5s)");
        return false;
    }
    ce->max_steps = ceiling_max_steps(ce->start_rate, ce->max_rate, ce->precision);
    sc->rate = ce->max_rate;
    /* the longest the search can take: every step drained for another step_duration (a server
     * that fell behind), plus a second for the first step's start */
    sc->duration_ns = (uint64_t)ce->max_steps * (2 * ce->step_ns + ce->cool_ns) + NS_PER_S;
    if (!(sc->ctl = calloc(1, sizeof *sc->ctl))) {
        cfg_oom(c);
        return false;
    }
    return get_arrival_limits(c, s, sc);
}

bool cfg_build_executor(struct ctx *c, const struct section *s, plan_scenario *sc)
{
    const config_overrides *ov = c->ov;
    const struct value *ex = &s->v[K_EXECUTOR];
    if (!ex->s) {
        cfg_fail(c, -EINVAL, s->line, s, NULL, "executor is required (allowed: " EXECUTORS ")");
        return false;
    }
    unsigned e = 0;
    while (e < NEXEC && strcmp(ex->s, exec_names[e]) != 0)
        e++;
    if (e == NEXEC) {
        const char *near = value_suggest(ex->s, exec_names, NEXEC);
        cfg_fail(c, -EINVAL, ex->line, s, "executor", "unknown executor '%.40s'%s%s%s (allowed: " EXECUTORS ")",
                 ex->s, near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
        return false;
    }
    sc->executor = (plan_executor)e;

    int line, k = misplaced(s, sc->executor, &line);
    if (k >= 0) {
        char list[200];
        cfg_fail(c, -EINVAL, line, s, keys[k].name, "only for %s (this scenario is %s)",
                 exec_list(keys[k].execs, list, sizeof list), ex->s);
        return false;
    }

    switch (sc->executor) {
    case PLAN_CONSTANT_ARRIVAL_RATE:
        if (s->v[K_RATE].s && !get_rate(c, s, K_RATE, &sc->rate))
            return false;
        if (ov->rate > 0)
            sc->rate = ov->rate;
        else if (!s->v[K_RATE].s) {
            cfg_fail(c, -EINVAL, s->line, s, NULL,
                     "rate is required for constant-arrival-rate (e.g. rate = 100/s)");
            return false;
        }
        if (!get_arrival_limits(c, s, sc) || !get_duration(c, s, sc))
            return false;
        break;
    case PLAN_RAMPING_ARRIVAL_RATE:
        if (ov->rate > 0)
            return refuse(c, s, "--rate", "ramping-arrival-rate: its rate follows its stages");
        if (ov->duration_ns)
            return refuse(c, s, "--duration",
                          "ramping-arrival-rate: it lasts as long as its stages; --stage-scale F "
                          "shortens them");
        if (s->v[K_START_RATE].s && !zero_rate(s->v[K_START_RATE].s) &&
            !get_rate(c, s, K_START_RATE, &sc->start_value))
            return false;
        if (!get_arrival_limits(c, s, sc) || !get_stages(c, s, sc, true))
            return false;
        break;
    case PLAN_CONSTANT_VUS:
        if (!get_vus(c, s, sc, 0) || !get_duration(c, s, sc))
            return false;
        break;
    case PLAN_RAMPING_VUS: {
        if (ov->vus)
            return refuse(c, s, "--vus", "ramping-vus: its VU count follows its stages");
        if (ov->duration_ns)
            return refuse(c, s, "--duration",
                          "ramping-vus: it lasts as long as its stages; --stage-scale F shortens "
                          "them");
        uint64_t n = 1; /* k6's default start_vus */
        if (s->v[K_START_VUS].s && !cfg_get_uint(c, s, K_START_VUS, 0, MAX_VUS, &n))
            return false;
        sc->start_value = (double)n;
        if (!get_stages(c, s, sc, false))
            return false;
        sc->graceful_ramp_down_ns = DEFAULT_GRACEFUL_RAMP_DOWN_NS;
        if (s->v[K_GRACEFUL_RAMP_DOWN].s &&
            !cfg_get_duration(c, s, K_GRACEFUL_RAMP_DOWN, true, &sc->graceful_ramp_down_ns))
            return false;
        break;
    }
    case PLAN_PER_VU_ITERATIONS:
    case PLAN_SHARED_ITERATIONS:
        if (!get_iterations(c, s, sc))
            return false;
        break;
    case PLAN_CEILING:
        break; /* after start_time, below */
    }
    if (sc->executor != PLAN_RAMPING_ARRIVAL_RATE && sc->executor != PLAN_RAMPING_VUS &&
        sc->executor != PLAN_CEILING)
        sc->duration_ns = scaled(c, sc->duration_ns);

    if (s->v[K_START_TIME].s && !cfg_get_duration(c, s, K_START_TIME, true, &sc->start_time_ns))
        return false;
    sc->start_time_ns = scaled(c, sc->start_time_ns);
    if (sc->executor == PLAN_CEILING && !get_ceiling(c, s, sc))
        return false;
    const struct section *from = s->v[K_GRACEFUL_STOP].s ? s : c->global;
    sc->graceful_stop_ns = CFG_DEFAULT_GRACEFUL_STOP_NS;
    if (from && from->v[K_GRACEFUL_STOP].s &&
        !cfg_get_duration(c, from, K_GRACEFUL_STOP, true, &sc->graceful_stop_ns))
        return false;
    return true;
}
