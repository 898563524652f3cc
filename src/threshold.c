/* threshold: the expression grammar and its checks against the plan (see include/threshold.h).
 * Judging a threshold on results is threshold_eval.c's. */
#include "threshold.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "value.h"

static const struct {
    const char *name;
    threshold_kind kind;
    bool per_step; /* kept per step (name and step-tag filters apply), else per scenario */
} metrics[TM_COUNT] = {
    [TM_HTTP_REQ_DURATION] = {"http_req_duration", TK_TREND, true},
    [TM_HTTP_REQ_SERVICE_TIME] = {"http_req_service_time", TK_TREND, true},
    [TM_HTTP_REQ_FAILED] = {"http_req_failed", TK_RATE, true},
    [TM_HTTP_REQS] = {"http_reqs", TK_COUNTER, true},
    [TM_ITERATIONS] = {"iterations", TK_COUNTER, false},
    [TM_ITERATION_DURATION] = {"iteration_duration", TK_TREND, false},
    [TM_DROPPED_ITERATIONS] = {"dropped_iterations", TK_COUNTER, false},
    [TM_CHECKS] = {"checks", TK_RATE, true},
    [TM_TLS_HANDSHAKING] = {"http_req_tls_handshaking", TK_TREND, false},
    [TM_CONNECTING] = {"http_req_connecting", TK_TREND, false},
    [TM_DATA_SENT] = {"data_sent", TK_COUNTER, true},
    [TM_DATA_RECEIVED] = {"data_received", TK_COUNTER, true},
    [TM_SEND_LATENESS] = {"send_lateness", TK_TREND, false},
    [TM_WS_MSG_LATENCY] = {"ws_msg_latency", TK_TREND, true},
    [TM_WS_MSG_SERVICE] = {"ws_msg_service_time", TK_TREND, true},
    [TM_WS_CONNECTING] = {"ws_connecting", TK_TREND, true},
    [TM_WS_SESSION_DURATION] = {"ws_session_duration", TK_TREND, true},
    [TM_WS_PING] = {"ws_ping", TK_TREND, true},
    [TM_WS_MESSAGE_FAILURES] = {"ws_message_failures", TK_RATE, true},
    [TM_WS_CONNECTION_FAILURES] = {"ws_connection_failures", TK_RATE, true},
    [TM_WS_SESSIONS] = {"ws_sessions", TK_COUNTER, true},
    [TM_WS_MSGS_SENT] = {"ws_msgs_sent", TK_COUNTER, true},
    [TM_WS_MSGS_RECEIVED] = {"ws_msgs_received", TK_COUNTER, true},
};

static const char *const stat_allowed[] = {
    [TK_TREND] = "avg, min, max, med or p(N)",
    [TK_RATE] = "rate",
    [TK_COUNTER] = "count or rate",
};

threshold_metric threshold_metric_find(const char *name, size_t len)
{
    for (int m = 0; m < TM_COUNT; m++)
        if (strlen(metrics[m].name) == len && memcmp(metrics[m].name, name, len) == 0)
            return (threshold_metric)m;
    return TM_COUNT;
}

threshold_kind threshold_metric_kind(threshold_metric m)
{
    return metrics[m].kind;
}

const char *threshold_metric_name(threshold_metric m)
{
    return m < TM_COUNT ? metrics[m].name : "?";
}

bool threshold_metric_per_step(threshold_metric m)
{
    return metrics[m].per_step;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static const char *skip(const char *p)
{
    while (is_blank(*p))
        p++;
    return p;
}

static bool is_word(char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

/* An error at p (a column of text). */
static int at(char *err, size_t errlen, const char *text, const char *p, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int at(char *err, size_t errlen, const char *text, const char *p, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *q = msg; *q; q++) /* text quoted from the line stays on one line */
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = '?';
    return value_col_error(err, errlen, (size_t)(p - text) + 1, "%s", msg);
}

/* "<digits>[.<digits>]" as a double; false when there is no number at *pp. */
static bool number(const char **pp, double *out)
{
    const char *p = *pp;
    double v = 0, scale = 1;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            scale /= 10;
            v += (*p++ - '0') * scale;
            digits = true;
        }
    }
    if (!digits)
        return false;
    *pp = p;
    *out = v;
    return true;
}

/* The word at p (up to a blank, a ',' or the end) copied into tok; its end, or NULL when it is
 * empty or does not fit. */
static const char *word(const char *p, char *tok, size_t cap)
{
    const char *e = p;
    while (*e && !is_blank(*e) && *e != ',')
        e++;
    if (e == p || (size_t)(e - p) >= cap)
        return NULL;
    memcpy(tok, p, (size_t)(e - p));
    tok[e - p] = '\0';
    return e;
}

static int add_filter(threshold *t, threshold_filter *f)
{
    threshold_filter *n = realloc(t->filters, (t->nfilters + 1) * sizeof *n);
    if (!n) {
        free(f->key);
        free(f->value);
        return -ENOMEM;
    }
    t->filters = n;
    t->filters[t->nfilters++] = *f;
    return 0;
}

static char *dup_trim(const char *a, const char *b)
{
    while (a < b && is_blank(*a))
        a++;
    while (b > a && is_blank(b[-1]))
        b--;
    char *s = malloc((size_t)(b - a) + 1);
    if (s) {
        memcpy(s, a, (size_t)(b - a));
        s[b - a] = '\0';
    }
    return s;
}

/* "5xx" into [lo, hi] (responses are counted per status class). */
static bool status_range(const char *v, int *lo, int *hi)
{
    if (strlen(v) == 3 && v[0] >= '1' && v[0] <= '5' && (v[1] == 'x' || v[1] == 'X') &&
        (v[2] == 'x' || v[2] == 'X')) {
        *lo = (v[0] - '0') * 100;
        *hi = *lo + 99;
        return true;
    }
    return false;
}

/* {key:value, ...} at *pp (just past the '{'). */
static int parse_filters(threshold *t, const char *text, const char **pp, char *err,
                         size_t errlen)
{
    const char *p = *pp;
    for (;;) {
        const char *a = skip(p), *colon = NULL, *e = a;
        while (*e && *e != ',' && *e != '}') {
            if (*e == ':' && !colon)
                colon = e;
            e++;
        }
        if (!*e)
            return at(err, errlen, text, e, "expected '}' to end the tag filters");
        if (!colon || colon == a)
            return at(err, errlen, text, a,
                      "expected a tag filter KEY:VALUE (e.g. scenario:browse, name:login, "
                      "status:5xx)");
        threshold_filter f = {0};
        f.key = dup_trim(a, colon);
        f.value = dup_trim(colon + 1, e);
        if (!f.key || !f.value) {
            free(f.key);
            free(f.value);
            return -ENOMEM;
        }
        if (!f.value[0]) {
            free(f.key);
            free(f.value);
            return at(err, errlen, text, colon + 1, "the tag filter '%.*s' has no value",
                      (int)(colon - a), a);
        }
        f.scenario = -1;
        if (strcmp(f.key, "scenario") == 0)
            f.kind = TF_SCENARIO;
        else if (strcmp(f.key, "name") == 0)
            f.kind = TF_NAME;
        else if (strcmp(f.key, "status") == 0) {
            f.kind = TF_STATUS;
            if (!status_range(f.value, &f.status_lo, &f.status_hi)) {
                int rc = at(err, errlen, text, colon + 1,
                            "status:%s is not a status class (allowed: 1xx, 2xx, 3xx, 4xx, "
                            "5xx; responses are counted per class)",
                            f.value);
                free(f.key);
                free(f.value);
                return rc;
            }
        } else
            f.kind = TF_TAG;
        int rc = add_filter(t, &f);
        if (rc < 0)
            return rc;
        p = e + 1;
        if (*e == '}')
            break;
    }
    *pp = p;
    return 0;
}

/* The limit at *pp for t's metric and statistic, in its base unit. */
static int parse_limit(threshold *t, const char *text, const char **pp, char *err,
                       size_t errlen)
{
    const char *p = *pp, *e;
    char tok[40];
    if (!*p || is_blank(*p) || *p == ',')
        return at(err, errlen, text, p, "expected a limit after the comparison");
    if (!(e = word(p, tok, sizeof tok)))
        return at(err, errlen, text, p, "the limit is too long");
    snprintf(t->limit_text, sizeof t->limit_text, "%s", tok);
    threshold_kind k = metrics[t->metric].kind;
    bool data = t->metric == TM_DATA_SENT || t->metric == TM_DATA_RECEIVED;
    const char *q = tok;
    double v;
    if (k == TK_TREND) {
        uint64_t ns;
        if (number(&q, &v) && !*q)
            return at(err, errlen, text, p,
                      "%s is a time: give its unit, e.g. %sms (us, ms, s or m; k6 would read a "
                      "bare number as milliseconds)",
                      tok, tok);
        if (value_duration(tok, &ns) < 0)
            return at(err, errlen, text, p, "'%s' is not a time (e.g. 500ms, 1.5s, 200us)", tok);
        t->limit = (double)ns / 1e6;
    } else if (k == TK_RATE) {
        if (!number(&q, &v) || (*q && strcmp(q, "%") != 0))
            return at(err, errlen, text, p,
                      "'%s' is not a rate (a percentage such as 0.5%% or a fraction from 0 to 1 "
                      "such as 0.005)",
                      tok);
        if (*q == '%')
            v /= 100;
        if (v > 1)
            return at(err, errlen, text, p,
                      *q == '%' ? "%s is more than 100%%" : "%s is more than 1 (a fraction; or write a percentage such as %s%%)",
                      tok, tok);
        t->limit = v;
    } else if (t->stat == TS_COUNT) {
        uint64_t bytes;
        if (data) {
            if (value_size(tok, &bytes) < 0)
                return at(err, errlen, text, p,
                          "'%s' is not an amount of data (e.g. 0, 512KiB, 10MB)", tok);
            t->limit = (double)bytes;
        } else {
            if (!number(&q, &v) || *q || strchr(tok, '.'))
                return at(err, errlen, text, p, "'%s' is not a count (a whole number)", tok);
            t->limit = v;
        }
    } else { /* a counter's rate: per second */
        const char *slash = strchr(tok, '/');
        if (!slash)
            return at(err, errlen, text, p,
                      "%s is a rate: give its unit, e.g. %s/s (per s, m or h)", tok,
                      data ? "1MB" : tok);
        if (data) {
            char amount[40];
            uint64_t bytes, per_ns;
            memcpy(amount, tok, (size_t)(slash - tok));
            amount[slash - tok] = '\0';
            const char *u = slash + 1;
            char one[64];
            snprintf(one, sizeof one, "%s%s", (*u >= '0' && *u <= '9') ? "" : "1", u);
            if (value_size(amount, &bytes) < 0 || value_duration(one, &per_ns) < 0 ||
                per_ns == 0)
                return at(err, errlen, text, p, "'%s' is not a data rate (e.g. 10MB/s)", tok);
            t->limit = (double)bytes * 1e9 / (double)per_ns;
        } else if (strcmp(tok, "0/s") == 0) {
            t->limit = 0;
        } else if (value_rate(tok, &v) < 0) {
            return at(err, errlen, text, p, "'%s' is not a rate (e.g. 9500/s, 100/m)", tok);
        } else
            t->limit = v;
    }
    *pp = e;
    return 0;
}

static const char *const option_names = "abort_on_fail, delay_abort_eval = DURATION, allow_empty";

/* ", option" items at *p until the end. */
static int parse_options(threshold *t, const char *text, const char *p, char *err,
                         size_t errlen)
{
    while (*(p = skip(p))) {
        if (*p != ',')
            return at(err, errlen, text, p,
                      "unexpected '%.20s' after the limit (expected [over DURATION] and then "
                      "', OPTION' with %s)",
                      p, option_names);
        p = skip(p + 1);
        const char *w = p;
        while (is_word(*p))
            p++;
        size_t n = (size_t)(p - w);
        if (n == 0 && !*p)
            return at(err, errlen, text, p, "a ',' with no option after it (allowed: %s)",
                      option_names);
        if (n == 13 && memcmp(w, "abort_on_fail", n) == 0) {
            t->abort_on_fail = true;
        } else if (n == 11 && memcmp(w, "allow_empty", n) == 0) {
            t->allow_empty = true;
        } else if (n == 16 && memcmp(w, "delay_abort_eval", n) == 0) {
            p = skip(p);
            if (*p != '=' && *p != ':')
                return at(err, errlen, text, p, "expected '= DURATION' after delay_abort_eval");
            p = skip(p + 1);
            char tok[32];
            const char *e = word(p, tok, sizeof tok);
            if (!e)
                return at(err, errlen, text, p, "expected a duration (e.g. 10s)");
            if (value_duration(tok, &t->delay_abort_ns) < 0)
                return at(err, errlen, text, p, "'%s' is not a duration (e.g. 10s, 1m)", tok);
            p = e;
        } else {
            return at(err, errlen, text, w, "unknown option '%.*s' (allowed: %s)",
                      (int)(n ? n : 1), w, option_names);
        }
    }
    if (t->delay_abort_ns && !t->abort_on_fail)
        return at(err, errlen, text, strstr(text, "delay_abort_eval"),
                  "delay_abort_eval needs abort_on_fail");
    return 0;
}

/* Copies text[0..n) into t->expr with runs of blanks squeezed to one. */
static int set_expr(threshold *t, const char *text, size_t n)
{
    if (!(t->expr = malloc(n + 1)))
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_blank(text[i]) && (o == 0 || t->expr[o - 1] == ' '))
            continue;
        t->expr[o++] = is_blank(text[i]) ? ' ' : text[i];
    }
    while (o && t->expr[o - 1] == ' ')
        o--;
    t->expr[o] = '\0';
    return 0;
}

static int parse(threshold *t, const char *text, char *err, size_t errlen)
{
    for (const char *q = text; *q; q++)
        if ((unsigned char)*q < 0x20 && *q != '\t')
            return at(err, errlen, text, q, "a control byte (0x%02x) is not allowed here",
                      (unsigned char)*q);
    const char *p = skip(text), *name = p;
    while (is_word(*p))
        p++;
    if (p == name)
        return at(err, errlen, text, p, "expected a metric name (e.g. http_req_duration)");
    t->metric = threshold_metric_find(name, (size_t)(p - name));
    if (t->metric == TM_COUNT) {
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)(p - name), name);
        const char *cands[TM_COUNT];
        for (int m = 0; m < TM_COUNT; m++)
            cands[m] = metrics[m].name;
        const char *near = value_suggest(word, cands, TM_COUNT);
        char all[1024] = "";
        for (int m = 0; m < TM_COUNT; m++)
            snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", m ? ", " : "",
                     cands[m]);
        if (near)
            return at(err, errlen, text, name, "unknown metric '%s' (did you mean %s?)", word,
                      near);
        return at(err, errlen, text, name, "unknown metric '%s' (allowed: %s)", word, all);
    }
    int rc;
    if (*p == '{' && (rc = parse_filters(t, text, (p++, &p), err, errlen)) < 0)
        return rc;
    threshold_kind k = metrics[t->metric].kind;
    p = skip(p);
    const char *st = p;
    while (is_word(*p))
        p++;
    size_t n = (size_t)(p - st);
    if (n == 1 && *st == 'p' && *p == '(') {
        const char *q = p + 1;
        double pv;
        if (!number(&q, &pv) || *q != ')' || pv > 100)
            return at(err, errlen, text, st, "expected p(N) with N from 0 to 100 (e.g. p(95))");
        t->stat = TS_P;
        t->p = pv;
        snprintf(t->stat_text, sizeof t->stat_text, "%.*s", (int)(q + 1 - st), st);
        p = q + 1;
    } else {
        static const struct {
            const char *w;
            threshold_stat s;
        } words[] = {{"avg", TS_AVG},     {"min", TS_MIN},     {"max", TS_MAX},
                     {"med", TS_MED},     {"count", TS_COUNT}, {"rate", TS_RATE}};
        size_t i = 0;
        while (i < sizeof words / sizeof *words &&
               !(strlen(words[i].w) == n && memcmp(words[i].w, st, n) == 0))
            i++;
        if (i == sizeof words / sizeof *words)
            return at(err, errlen, text, st, "expected a statistic of %s: %s",
                      metrics[t->metric].name, stat_allowed[k]);
        t->stat = words[i].s;
        snprintf(t->stat_text, sizeof t->stat_text, "%s", words[i].w);
    }
    bool fits = k == TK_TREND    ? t->stat <= TS_P
                : k == TK_RATE   ? t->stat == TS_RATE
                                 : t->stat == TS_COUNT || t->stat == TS_RATE;
    if (!fits)
        return at(err, errlen, text, st, "%s has no statistic '%s' (allowed: %s)",
                  metrics[t->metric].name, t->stat_text, stat_allowed[k]);
    p = skip(p);
    static const struct {
        const char *s;
        threshold_op op;
    } ops[] = {{"<=", TO_LE}, {">=", TO_GE}, {"===", TO_EQ}, {"==", TO_EQ}, {"!=", TO_NE},
               {"<", TO_LT},  {">", TO_GT}};
    size_t i = 0;
    while (i < sizeof ops / sizeof *ops && strncmp(p, ops[i].s, strlen(ops[i].s)) != 0)
        i++;
    if (i == sizeof ops / sizeof *ops)
        return at(err, errlen, text, p, "expected a comparison (<, <=, >, >=, == or !=)");
    t->op = ops[i].op;
    p = skip(p + strlen(ops[i].s));
    if ((rc = parse_limit(t, text, &p, err, errlen)) < 0)
        return rc;
    const char *end = p;
    p = skip(p);
    if (strncmp(p, "over", 4) == 0 && is_blank(p[4])) {
        p = skip(p + 4);
        char tok[32];
        const char *e = word(p, tok, sizeof tok);
        if (!e)
            return at(err, errlen, text, p, "expected a duration after 'over' (e.g. over 30s)");
        if (value_duration(tok, &t->window_ns) < 0 || t->window_ns < NS_PER_S ||
            t->window_ns > THRESHOLD_MAX_WINDOW_S * NS_PER_S)
            return at(err, errlen, text, p,
                      "'%s' is not a window from 1s to 1m (e.g. over 30s, over 1m)", tok);
        t->window_ns = t->window_ns / NS_PER_S * NS_PER_S; /* judged once a second */
        end = p = e;
    }
    if ((rc = set_expr(t, text, (size_t)(end - text))) < 0)
        return rc;
    return parse_options(t, text, p, err, errlen);
}

int threshold_parse(threshold *t, const char *text, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->scenario = -1;
    int rc = parse(t, text, err, errlen);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc < 0)
        threshold_free(t);
    return rc;
}

void threshold_free(threshold *t)
{
    for (size_t i = 0; i < t->nfilters; i++) {
        free(t->filters[i].key);
        free(t->filters[i].value);
    }
    free(t->filters);
    free(t->expr);
    memset(t, 0, sizeof *t);
    t->scenario = -1;
}

/* ---- against the plan ---- */

static bool has_tag(const plan_tag *tags, size_t n, const char *k, const char *v)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tags[i].key, k) == 0 && strcmp(tags[i].value, v) == 0)
            return true;
    return false;
}

/* A "did you mean" for word among the n names (or nothing). */
static void suggest(char *buf, size_t cap, const char *word, const char *const *names, size_t n)
{
    const char *near = value_suggest(word, names, n);
    if (near)
        snprintf(buf, cap, " (did you mean %s?)", near);
    else
        buf[0] = '\0';
}

/* Every distinct candidate for a filter of kind f (tag: key:value pairs, or keys when key_only)
 * in the scenarios the threshold may see. */
static size_t names_of(const plan *p, int only, threshold_filter_kind f, const char *key,
                       const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nscenarios; i++) {
        const plan_scenario *s = &p->scenarios[i];
        if (only >= 0 && (int)i != only)
            continue;
        if (f == TF_SCENARIO && n < cap)
            out[n++] = s->name;
        for (size_t j = 0; f == TF_NAME && j < s->nsteps && n < cap; j++)
            out[n++] = s->steps[j].name;
        for (size_t j = 0; f == TF_TAG && j < s->ntags && n < cap; j++)
            if (!key || strcmp(s->tags[j].key, key) == 0)
                out[n++] = key ? s->tags[j].value : s->tags[j].key;
        for (size_t j = 0; f == TF_TAG && j < s->nsteps; j++)
            for (size_t k = 0; k < s->steps[j].ntags && n < cap; k++)
                if (!key || strcmp(s->steps[j].tags[k].key, key) == 0)
                    out[n++] = key ? s->steps[j].tags[k].value : s->steps[j].tags[k].key;
    }
    return n;
}

int threshold_resolve(threshold *t, const plan *p, int scenario, char *err, size_t errlen)
{
    const char *mname = metrics[t->metric].name;
    bool per_step = metrics[t->metric].per_step;
    t->scenario = scenario;
    int only = scenario; /* the one scenario it may see, -1: any */
    const char *names[256];
    char near[128];
    for (size_t i = 0; i < t->nfilters; i++) {
        threshold_filter *f = &t->filters[i];
        if (f->kind != TF_SCENARIO)
            continue;
        for (size_t j = 0; j < p->nscenarios; j++)
            if (strcmp(p->scenarios[j].name, f->value) == 0)
                f->scenario = (int)j;
        if (f->scenario < 0) {
            size_t n = names_of(p, -1, TF_SCENARIO, NULL, names, 256);
            suggest(near, sizeof near, f->value, names, n);
            snprintf(err, errlen, "'%s': no scenario is called '%s'%s", t->expr, f->value, near);
            return -EINVAL;
        }
        if (scenario >= 0 && f->scenario != scenario) {
            snprintf(err, errlen,
                     "'%s': a threshold of [scenario %s] is on that scenario; one on scenario "
                     "%s belongs in [global] or in [scenario %s]",
                     t->expr, p->scenarios[scenario].name, f->value, f->value);
            return -EINVAL;
        }
        only = f->scenario;
    }
    /* A metric nothing in its scope can produce is a mistake, not a run that saw nothing. */
    bool checks = false, tls = false;
    for (size_t j = 0; j < p->nscenarios; j++) {
        if (only >= 0 && (int)j != only)
            continue;
        tls |= p->scenarios[j].tls;
        for (size_t k = 0; k < p->scenarios[j].nsteps; k++)
            checks |= p->scenarios[j].steps[k].nchecks > 0;
    }
    if (t->metric == TM_CHECKS && !checks) {
        snprintf(err, errlen, "'%s': no step%s%s has a `check =` line, so checks has no value",
                 t->expr, only >= 0 ? " of scenario " : "", only >= 0 ? p->scenarios[only].name : "");
        return -EINVAL;
    }
    if (t->metric == TM_TLS_HANDSHAKING && !tls) {
        snprintf(err, errlen, "'%s': no https:// scenario%s%s, so there are no TLS handshakes",
                 t->expr, only >= 0 ? " is " : "", only >= 0 ? p->scenarios[only].name : "");
        return -EINVAL;
    }
    for (size_t i = 0; i < t->nfilters; i++) {
        threshold_filter *f = &t->filters[i];
        if (f->kind == TF_SCENARIO)
            continue;
        if (f->kind == TF_STATUS) {
            if (t->metric != TM_HTTP_REQS) {
                snprintf(err, errlen,
                         "'%s': a status filter takes http_reqs (count or rate); %s is not "
                         "kept per status",
                         t->expr, mname);
                return -EINVAL;
            }
            continue;
        }
        if (f->kind == TF_NAME && !per_step) {
            snprintf(err, errlen,
                     "'%s': %s is kept per scenario, not per step: filter it by scenario "
                     "(or a scenario's tag)",
                     t->expr, mname);
            return -EINVAL;
        }
        if (f->kind == TF_TAG) {
            static const char *const builtin[] = {"method", "url", "group", "expected_response",
                                                  "check", "proto", "error", "error_code"};
            for (size_t b = 0; b < sizeof builtin / sizeof *builtin; b++)
                if (strcmp(f->key, builtin[b]) == 0) {
                    snprintf(err, errlen,
                             "'%s': blast does not keep results by k6's tag '%s' (allowed "
                             "filters: scenario, name, status, or a tag of yours from `tag =` "
                             "lines)",
                             t->expr, f->key);
                    return -EINVAL;
                }
        }
        bool found = false;
        for (size_t j = 0; j < p->nscenarios && !found; j++) {
            const plan_scenario *s = &p->scenarios[j];
            if (only >= 0 && (int)j != only)
                continue;
            if (f->kind == TF_TAG && has_tag(s->tags, s->ntags, f->key, f->value))
                found = true;
            for (size_t k = 0; per_step && k < s->nsteps && !found; k++) {
                const plan_step *st = &s->steps[k];
                found = f->kind == TF_NAME ? strcmp(st->name, f->value) == 0
                                           : has_tag(st->tags, st->ntags, f->key, f->value);
            }
        }
        if (found)
            continue;
        const char *where = only >= 0 ? p->scenarios[only].name : NULL;
        if (f->kind == TF_NAME) {
            size_t n = names_of(p, only, TF_NAME, NULL, names, 256);
            suggest(near, sizeof near, f->value, names, n);
            snprintf(err, errlen, "'%s': no step is named '%s'%s%s%s", t->expr, f->value,
                     where ? " in scenario " : "", where ? where : "", near);
        } else {
            size_t nk = names_of(p, only, TF_TAG, NULL, names, 256);
            bool key_known = false;
            for (size_t k = 0; k < nk; k++)
                key_known |= strcmp(names[k], f->key) == 0;
            if (!key_known) {
                suggest(near, sizeof near, f->key, names, nk);
                snprintf(err, errlen,
                         "'%s': no %s has a tag '%s'%s (filters: scenario, name, status, or a "
                         "tag from `tag =` lines)",
                         t->expr, per_step ? "step or scenario" : "scenario", f->key, near);
            } else {
                size_t nv = names_of(p, only, TF_TAG, f->key, names, 256);
                suggest(near, sizeof near, f->value, names, nv);
                snprintf(err, errlen, "'%s': no %s has the tag %s:%s%s", t->expr,
                         per_step ? "step or scenario" : "scenario", f->key, f->value, near);
            }
        }
        return -EINVAL;
    }
    return 0;
}
