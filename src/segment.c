/* segment: --segment and --start-at on the command line, and the plan's fingerprint (see
 * include/segment.h). The split itself is plan.c's, where the worker split is. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "config.h"
#include "segment.h"

/* A whole number 1..max written with digits only (no sign, no blanks). */
static bool whole(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

int segment_parse(const char *arg, const char *job_index, uint32_t *index, uint32_t *count,
                  char *err, size_t errlen)
{
    const char *slash = strchr(arg, '/');
    uint64_t n, i;
    if (!slash || !whole(slash + 1, strlen(slash + 1), CONFIG_MAX_SEGMENTS, &n) || n == 0) {
        snprintf(err, errlen,
                 "--segment %s: expected I/N or auto/N with 1 <= I <= N <= %d (1/4 is the first "
                 "of four)",
                 arg, CONFIG_MAX_SEGMENTS);
        return -EINVAL;
    }
    if ((size_t)(slash - arg) == 4 && strncmp(arg, "auto", 4) == 0) {
        uint64_t k;
        if (!job_index) {
            snprintf(err, errlen,
                     "--segment %s: JOB_COMPLETION_INDEX is not set (auto/N is for a Kubernetes "
                     "Indexed Job; elsewhere give I/N)",
                     arg);
            return -EINVAL;
        }
        if (!whole(job_index, strlen(job_index), UINT32_MAX, &k)) {
            snprintf(err, errlen, "--segment %s: JOB_COMPLETION_INDEX '%.40s' is not a number", arg,
                     job_index);
            return -EINVAL;
        }
        if (k >= n) {
            snprintf(err, errlen,
                     "--segment %s: JOB_COMPLETION_INDEX %" PRIu64 " is not below %" PRIu64
                     " (the Job's completions must equal N)",
                     arg, k, n);
            return -EINVAL;
        }
        i = k + 1;
    } else if (!whole(arg, (size_t)(slash - arg), CONFIG_MAX_SEGMENTS, &i) || i == 0 || i > n) {
        snprintf(err, errlen, "--segment %s: the index must be from 1 to %" PRIu64 " (1-based)",
                 arg, n);
        return -EINVAL;
    }
    *index = (uint32_t)(i - 1);
    *count = (uint32_t)n;
    return 0;
}

/* "2026-01-01T00:00:00[.frac](Z|+HH:MM|-HH:MM)" (t or a blank for T, z for Z) into Unix ns. */
static bool rfc3339(const char *s, int64_t *out)
{
    int Y, M, D, h, m, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*[Tt ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n < 19)
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    const char *p = s + n;
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100000000;
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += scale ? (*p - '0') * scale : 0;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59)
            return false;
        off = (int64_t)(oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = ((int64_t)t - off) * 1000000000 + frac;
    return true;
}

int segment_start_at(const char *arg, int64_t now_ns, int64_t *out, char *err, size_t errlen)
{
    int64_t at;
    char *end;
    errno = 0;
    double secs = strtod(arg, &end);
    bool digits = arg[0] && strspn(arg, "0123456789.") == strlen(arg);
    if (digits && !errno && !*end && end != arg && isfinite(secs) && secs < 1e11)
        at = (int64_t)llround(secs * 1e9);
    else if (!rfc3339(arg, &at)) {
        snprintf(err, errlen,
                 "--start-at %s: expected Unix seconds (1767225600) or an RFC 3339 time "
                 "(2026-01-01T00:00:00Z)",
                 arg);
        return -EINVAL;
    }
    int64_t gap = at - now_ns;
    if (gap > (int64_t)SEGMENT_START_MAX_NS || -gap > (int64_t)SEGMENT_START_MAX_NS) {
        snprintf(err, errlen, "--start-at %s: %.0f s %s now; at most an hour either way", arg,
                 fabs((double)gap) / 1e9, gap > 0 ? "from" : "before");
        return -EINVAL;
    }
    *out = at;
    return 0;
}

static void put(wc_Sha256 *h, const void *data, size_t len)
{
    /* with its length first, so that fields cannot run into one another */
    uint64_t n = len;
    wc_Sha256Update(h, (const byte *)&n, sizeof n);
    while (len) {
        word32 part = len > 0x40000000 ? 0x40000000 : (word32)len;
        wc_Sha256Update(h, (const byte *)data, part);
        data = (const char *)data + part;
        len -= part;
    }
}

static void putf(wc_Sha256 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(wc_Sha256 *h, const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    put(h, b, n < 0 ? 0 : (size_t)n >= sizeof b ? sizeof b - 1 : (size_t)n);
}

void segment_fingerprint(const plan *p, const char *text, size_t len, char out[65])
{
    wc_Sha256 h;
    byte d[WC_SHA256_DIGEST_SIZE];
    memset(out, 0, 65);
    if (wc_InitSha256(&h) != 0)
        return;
    put(&h, "blast plan 1", 12);
    put(&h, text, len);
    putf(&h, "profile %s", p->profile ? p->profile : "");
    for (size_t i = 0; i < p->nscenarios; i++) {
        const plan_scenario *s = &p->scenarios[i];
        putf(&h, "scenario %s %s %s:%u", s->name, plan_executor_names[s->executor],
             s->host ? s->host : "", (unsigned)s->port);
        putf(&h,
             "rate %.17g vus %u iterations %" PRIu64 " duration %" PRIu64 " start %" PRIu64
             " steps %zu",
             s->rate, s->vus, s->iterations, s->duration_ns, s->start_time_ns, s->nsteps);
        for (size_t j = 0; j < s->nstages; j++)
            putf(&h, "stage %" PRIu64 " %.17g", s->stages[j].dur_ns, s->stages[j].to);
    }
    if (wc_Sha256Final(&h, d) == 0)
        for (size_t i = 0; i < sizeof d; i++)
            snprintf(out + 2 * i, 3, "%02x", d[i]);
    wc_Sha256Free(&h);
}
