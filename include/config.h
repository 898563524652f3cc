/* config: the scenario file (INI, read with inih) and command-line overrides, turned into a plan.
 *
 * Every error is one line: "FILE:LINE: [section] key: what is wrong (what is allowed)". Unknown
 * sections and keys are errors. ${NAME} and ${NAME:-default} in values are replaced from -e
 * overrides first, then the environment, when the file is read. */
#ifndef BLAST_CONFIG_H
#define BLAST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* Command-line settings that win over the file. Zero / NULL means "not given". */
typedef struct config_overrides {
    const char *const *env; /* "NAME=VALUE" strings from -e, looked up before the environment */
    size_t nenv;
    uint64_t duration_ns; /* --duration: every scenario's duration */
    double rate;          /* --rate: every arrival-rate scenario's rate, per second */
    uint32_t vus;         /* --vus: every VU scenario's VU count */
    unsigned workers;     /* --workers */
} config_overrides;

/* Reads and validates the scenario file at path. Returns 0 and stores a new plan in *out (the
 * caller owns it: plan_free), or a negative errno-style code with the message in err:
 * -ENOENT / -EACCES ("FILE: cannot open: ..."), -EINVAL (a "FILE:LINE: ..." message), -ENOMEM.
 * Hosts are not resolved here (see plan_prepare). */
int config_load(const char *path, const config_overrides *ov, plan **out, char *err, size_t errlen);

/* Parses a duration: one or more <number><unit> parts with unit us, ms, s, m or h, e.g. "30s",
 * "1m30s", "500ms", "1.5s". Returns 0 and *ns, or -EINVAL (zero is allowed; negatives are not). */
int config_parse_duration(const char *s, uint64_t *ns);

/* Parses a rate "<number>/<unit>" where unit is s, m, h or a duration ("167/s", "100/m",
 * "5000/30s", "0.5/s"). Returns 0 and *per_s (> 0), or -EINVAL (zero and negatives included). */
int config_parse_rate(const char *s, double *per_s);

#endif
