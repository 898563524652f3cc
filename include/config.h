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

/* --segment i/n: n is at most this. */
#define CONFIG_MAX_SEGMENTS 1000

/* Command-line settings that win over the file. Zero / NULL means "not given". */
typedef struct config_overrides {
    const char *const *env; /* "NAME=VALUE" strings from -e, looked up before the environment */
    size_t nenv;
    uint64_t duration_ns; /* --duration: every scenario's duration */
    double rate;          /* --rate: every arrival-rate scenario's rate, per second */
    uint32_t vus;         /* --vus: every VU scenario's VU count */
    unsigned workers;     /* --workers */
    double stage_scale;   /* --stage-scale: every stage, duration and start time times this */
    const char *profile;  /* --profile: the [profile NAME] to lay over the scenarios */
    uint32_t segment;     /* --segment i/n: i - 1 (0-based) */
    uint32_t segments;    /* --segment i/n: n (0: the whole run) */
} config_overrides;

/* Reads and validates the scenario file at path. Returns 0 and stores a new plan in *out (the
 * caller owns it: plan_free), or a negative errno-style code with the message in err:
 * -ENOENT / -EACCES ("FILE: cannot open: ..."), -EINVAL (a "FILE:LINE: ..." message), -ENOMEM.
 * Hosts are not resolved here (see plan_prepare). */
int config_load(const char *path, const config_overrides *ov, plan **out, char *err, size_t errlen);

#endif
