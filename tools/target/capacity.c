/* capacity: the paced release queue behind --capacity (see capacity.h).
 *
 * State: the start of the current busy period and how many slots it has handed out. Slot k is
 * due at base + k * 1e9 / N (integer arithmetic on k, so a long busy period does not drift); a
 * request whose slot would already be past (the server caught up) starts a new period at now. */
#include "target/capacity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAPACITY_MAX 10000000.0

static struct {
    double per_s;
    uint64_t base; /* start of the busy period (ns) */
    uint64_t k;    /* slots handed out in it */
    uint64_t held;
} cap;

bool capacity_parse(const char *s, double *per_s)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    double v = strtod(s, &end);
    double unit = 1;
    if (strcmp(end, "/s") == 0 || *end == '\0')
        unit = 1;
    else if (strcmp(end, "/m") == 0)
        unit = 60;
    else
        return false;
    v /= unit;
    if (!(v > 0) || !isfinite(v) || v > CAPACITY_MAX)
        return false;
    *per_s = v;
    return true;
}

void capacity_set(double per_s)
{
    cap.per_s = per_s > 0 ? per_s : 0;
    cap.base = 0;
    cap.k = 0;
}

double capacity_get(void)
{
    return cap.per_s;
}

static uint64_t slot_at(uint64_t k)
{
    return cap.base + (uint64_t)((long double)k * 1e9L / (long double)cap.per_s);
}

uint64_t capacity_slot(uint64_t now, uint64_t not_before)
{
    if (cap.per_s <= 0)
        return not_before > now ? not_before : now;
    uint64_t t = slot_at(cap.k);
    if (cap.k == 0 || t <= now) {
        /* the server is idle (it has caught up): a new busy period starts with this response */
        cap.base = now;
        cap.k = 0;
        t = now;
    } else {
        cap.held++;
    }
    cap.k++;
    /* a /delay job waits for its own time too; its slot is taken either way */
    return not_before > t ? not_before : t;
}

uint64_t capacity_held(void)
{
    return cap.held;
}
