/* config_int: what the files of the scenario-file reader share (not a public header).
 *
 * config.c reads the INI into sections (one value slot per key, list keys and flow items in
 * file order) and builds the global and executor parts of the plan, with config_subst.c (${}),
 * config_values.c (value getters) and config_target.c (URLs, origin, TLS); config_flow.c builds
 * each scenario's flow program, variables and data file, and config_step.c its steps. All report
 * errors through
 * cfg_fail: one line, "FILE:LINE: [section NAME] key: what is wrong (what is allowed)", the
 * first error wins. */
#ifndef BLAST_CONFIG_INT_H
#define BLAST_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"

enum key {
    K_BASE_URL,
    K_DURATION,
    K_WORKERS,
    K_CONNECT_TIMEOUT,
    K_REQUEST_TIMEOUT,
    K_GRACEFUL_STOP,
    K_EXECUTOR,
    K_RATE,
    K_VUS,
    K_MAX_CONNECTIONS,
    K_MAX_VUS,
    K_PRE_CONNECTIONS,
    K_MAX_QUEUE,
    K_ARRIVAL,
    K_PACING_RESOLUTION,
    K_PRE_ALLOCATED_VUS,
    K_START_RATE,
    K_START_VUS,
    K_STAGE,
    K_ITERATIONS,
    K_MAX_DURATION,
    K_START_TIME,
    K_GRACEFUL_RAMP_DOWN,
    K_MAX_RATE,      /* executor = ceiling */
    K_STEP_DURATION, /* ceiling */
    K_WARM_UP,       /* ceiling */
    K_COOL_DOWN,     /* ceiling */
    K_PRECISION,     /* ceiling */
    K_MIN_RATE,      /* ceiling */
    K_PROFILE,
    K_SCENARIOS,
    K_FLOW,
    K_SETUP,
    K_DATA,
    K_DATA_ORDER,
    K_COOKIES,
    K_METHOD,
    K_URL,
    K_PATH,
    K_HEADER,
    K_BODY,
    K_TRANSFER_ENCODING,
    K_CHECK,
    K_EXTRACT,
    K_TAG,
    K_SLEEP,
    K_KEEP_BODY,
    K_ON_FAIL,
    K_STEP,
    K_PICK,
    K_REPEAT,
    K_SOURCE_ADDRESSES,
    K_INSECURE,
    K_CA_FILE,
    K_CLIENT_CERT,
    K_CLIENT_KEY,
    K_SERVER_NAME,
    K_TLS_MIN_VERSION,
    K_TLS_CIPHERS,
    K_TLS_CURVES,
    K_TLS_RESUME,
    K_MAX_BODY_FILE,
    K_MAX_DATA_FILE,
    K_MAX_VAR_SIZE,
    K_ALLOW_HOSTS,   /* config_guard.c */
    K_SECRET,        /* config_guard.c */
    K_EXPECT_STATUS, /* [preflight] */
    K_TIMEOUT,       /* [preflight] */
    K_KEEPALIVE,
    K_MAX_REQUESTS_PER_CONN,
    K_CONN_LIFETIME,
    K_THRESHOLD,        /* config_verdict.c */
    K_OFFERED_LOAD,     /* config_verdict.c */
    K_OFFERED_LATENESS, /* config_verdict.c */
    K_OUT,              /* config_verdict.c */
    K_WS_SEND,          /* config_ws.c */
    K_WS_BINARY,
    K_WS_INTERVAL,
    K_WS_RATE,
    K_WS_MESSAGES,
    K_WS_EXPECT,
    K_WS_HOLD,
    K_REPLY_TIMEOUT,
    K_WS_PING,
    K_WS_MAX_MESSAGE,
    K_COUNT
};

enum {
    IN_GLOBAL = 1,
    IN_SCENARIO = 2,
    IN_STEP = 4,
    IN_FLOW = 8,
    IS_LIST = 16,       /* repeatable: every occurrence is kept, in order */
    REQUEST = 128,      /* describes a request: a scenario with a flow may not have it */
    IN_PROFILE = 256,   /* an executor key a [profile] may set */
    IN_PREFLIGHT = 512, /* a [preflight] key */
};

/* The executors a key applies to (cfg_key.execs; 0: every one). */
#define EX_CAR (1u << PLAN_CONSTANT_ARRIVAL_RATE)
#define EX_CVU (1u << PLAN_CONSTANT_VUS)
#define EX_RAR (1u << PLAN_RAMPING_ARRIVAL_RATE)
#define EX_RVU (1u << PLAN_RAMPING_VUS)
#define EX_PVI (1u << PLAN_PER_VU_ITERATIONS)
#define EX_SHI (1u << PLAN_SHARED_ITERATIONS)
#define EX_CEIL (1u << PLAN_CEILING)
#define EX_ARRIVAL (EX_CAR | EX_RAR | EX_CEIL)
#define EX_ITERS (EX_PVI | EX_SHI)

typedef struct cfg_key {
    const char *name;
    unsigned flags;
    unsigned execs;
} cfg_key;

extern const cfg_key cfg_keys[K_COUNT];

struct value {
    char *s; /* NULL: not set */
    size_t len;
    int line;
};

enum sec_kind { SEC_GLOBAL, SEC_SCENARIO, SEC_STEP, SEC_FLOW, SEC_PROFILE, SEC_PREFLIGHT, SEC_COUNT };

/* A list key occurrence or a flow item, in file order. */
struct item {
    int key;
    struct value v;
    char *scen; /* a [profile]'s NAME.key: the scenario NAME (NULL: every scenario it runs) */
};

struct section {
    enum sec_kind kind;
    bool global;
    char *name; /* scenario, step or flow name */
    int line;   /* line of the [header] */
    struct value v[K_COUNT];
    struct item *items;
    size_t nitems;
};

enum line_kind { LINE_NONE, LINE_SECTION, LINE_KEY, LINE_CONT };

struct ctx {
    const char *file;
    const config_overrides *ov;
    char *err;
    size_t errlen;
    int rc; /* first error (negative), 0 while all is well */

    const char *buf; /* the whole file */
    size_t size, pos;
    int lineno;
    enum line_kind kind; /* of the line inih is about to parse */
    bool key_in_section; /* inih's prev_name is set: indented lines continue a value */

    uint64_t max_body_file; /* bytes an @file body may have ([global] max_body_file) */
    uint64_t max_data_file; /* bytes a data file may have ([global] max_data_file) */

    struct section *cur;
    struct section *global;
    struct section **scen;
    size_t nscen, capscen;
    struct section **named; /* [step NAME] and [flow NAME] sections: one namespace */
    size_t nnamed, capnamed;
    struct section **profiles; /* [profile NAME] sections: their items, in file order */
    size_t nprof, capprof;
    struct section *preflight;
    struct cfg_guard *guard; /* config_guard.c: the names [global] secret lists */
};

/* The parsed origin of a scenario's requests. */
struct url {
    bool tls; /* https:// or wss:// */
    bool ws;  /* ws:// or wss:// */
    const char *host;
    size_t hostlen;
    bool ipv6;
    uint16_t port;
    const char *rest; /* path and query after the authority, maybe "" */
    bool absolute;    /* from a scenario's url: rest is its request's target, not a prefix */
};

void cfg_fail(struct ctx *c, int rc, int line, const struct section *s, const char *key,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cfg_oom(struct ctx *c);

/* Value getters: each records an error (and returns false) when the value is not valid. */
bool cfg_get_uint(struct ctx *c, const struct section *s, int k, uint64_t min, uint64_t max,
                  uint64_t *out);
bool cfg_get_duration(struct ctx *c, const struct section *s, int k, bool zero_ok, uint64_t *out);
bool cfg_get_size(struct ctx *c, const struct section *s, int k, uint64_t min, uint64_t max,
                  uint64_t *out);
/* The value of key k in s, else in [global] (*from tells which), else NULL. */
const struct value *cfg_inherited(struct ctx *c, const struct section *s, int k,
                                  const struct section **from);
bool cfg_get_bool(struct ctx *c, const struct section *s, int k, bool def, bool *out);

/* name resolved against the scenario file's folder unless absolute (malloc'd; NULL: no memory). */
char *cfg_relative_path(struct ctx *c, const char *name);
char *cfg_concat(const char *a, size_t alen, const char *b);

/* Whether a request target as written is sendable (no space, control byte or '#'). */
bool cfg_target_ok(const char *p);

/* Parses http://host[:port][/path][?query]. Returns NULL, or what is wrong (in msg). */
const char *cfg_url_parse(const char *s, struct url *u, char *msg, size_t msglen);

static inline bool cfg_is_name_start(char ch)
{
    return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static inline bool cfg_is_name_char(char ch)
{
    return cfg_is_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* config_subst.c: a new string with value's ${...} replaced, or NULL with the error recorded. */
char *cfg_substitute(struct ctx *c, int line, const struct section *s, const char *key,
                     const char *value, size_t *len);

void cfg_section_free(struct section *s);

/* config_profile.c: a [profile NAME] line (NAME.key = value, key = value, scenarios = ...),
 * kept as an item; and, before the scenarios are built, the chosen profile (--profile, else
 * [global] profile) laid over them: *chosen is its name (malloc'd), NULL when none is. */
void cfg_profile_value(struct ctx *c, struct section *s, const char *name, const char *value,
                       int lineno);
bool cfg_apply_profile(struct ctx *c, char **chosen);

/* config_exec.c: the executor of scenario s and its parameters (rate, VUs, stages, iterations,
 * timing), with the command-line overrides and --stage-scale applied. */
bool cfg_build_executor(struct ctx *c, const struct section *s, plan_scenario *sc);

/* config_values.c: a duration from the scenario, else [global], else def; pacing_resolution
 * (0 up to 100ms). */
bool cfg_get_inherited_duration(struct ctx *c, const struct section *s, int k, uint64_t def,
                                uint64_t *out);
bool cfg_get_pacing_resolution(struct ctx *c, const struct section *s, uint64_t *out);

/* config_target.c: key k of s as a URL (base: a base_url, which takes no query); the scenario's
 * source_addresses and TLS keys; its origin (host, port, TLS, Host header) into sc and *u. */
bool cfg_get_url(struct ctx *c, const struct section *s, int k, bool base, struct url *u);
bool cfg_get_sources(struct ctx *c, const struct section *s, plan_scenario *sc);
bool cfg_get_tls(struct ctx *c, const struct section *s, plan_scenario *sc);
bool cfg_build_origin(struct ctx *c, const struct section *s, plan_scenario *sc, struct url *u);
/* config_target.c: keepalive, max_requests_per_conn and conn_lifetime (the scenario's, else
 * [global]'s) into sc; read before the steps are built (keepalive = off adds a header). */
bool cfg_get_conn_limits(struct ctx *c, const struct section *s, plan_scenario *sc);

/* config_verdict.c: thresholds, the offered-load check's settings and [global] out lines into
 * p, after its scenarios are built (thresholds are checked against them). */
bool cfg_build_verdicts(struct ctx *c, plan *p);

#define CFG_DEFAULT_GRACEFUL_STOP_NS (10 * NS_PER_S)

#define CFG_MAX_NESTING 32 /* sub-flows within sub-flows */

/* The build of one scenario (config_flow.c drives it, config_step.c builds its steps). */
struct build {
    struct ctx *c;
    const struct section *s; /* the scenario */
    plan_scenario *sc;
    const struct url *u;
    const struct section **secs; /* per step: its section (the scenario for its own request) */
    size_t cap;
    const struct section *stack[CFG_MAX_NESTING];
    size_t depth;
    unsigned repeats; /* repeats around the code being compiled */
};

/* config_flow.c: the index of variable name in sc (-1: none); identifiers; trimming in place. */
int cfg_var_index(const plan_scenario *sc, const char *name);
bool cfg_is_ident(const char *s, size_t n);
char *cfg_trim(char *s);

/* config_step.c: compiles text as a template of b's scenario (errors name the key's line). */
bool cfg_compile_tpl(struct build *b, const struct section *sec, const char *key, int line,
                     const char *text, size_t len, struct tpl **out);

/* config_step.c: builds step i of the scenario b builds (its section in b->secs[i]). */
bool cfg_build_step(struct build *b, size_t i);

/* config_ws.c: whether the step's section makes it a WebSocket step (a ws:// or wss:// url, or a
 * ws_ key); its upgrade headers (before the request program is compiled); its session. */
bool cfg_ws_wanted(const struct section *sec);
bool cfg_ws_headers(struct build *b, const struct section *sec, plan_step *st);
bool cfg_build_ws(struct build *b, const struct section *sec, plan_step *st);

/* The [step] or [flow] section of that name, or NULL. */
struct section *cfg_named(struct ctx *c, const char *name);

/* Builds sc's steps, flow program, setup, variables, data file and request programs from the
 * scenario section s (its origin, timeouts and TLS already in sc; u is its parsed base URL or
 * url). Returns false with the error recorded. In config_flow.c. */
bool cfg_build_flow(struct ctx *c, const struct section *s, plan_scenario *sc, const struct url *u);

/* config_guard.c: the guard rails. Before inih reads the file, cfg_guard_prescan finds the
 * names [global] secret lists and the literal values of sensitive headers, so that an error on
 * any line already hides them; cfg_guard_substituted is told each ${NAME} value (a secret when
 * NAME is listed) and cfg_guard_header each header line after substitution (its value is a
 * secret for Authorization, Cookie, Set-Cookie, Proxy-Authorization and the listed names).
 * cfg_guard_build (after build(), given its plan or NULL) checks secret and allow_hosts, refuses
 * a scenario host allow_hosts does not allow, and builds [preflight] into p->preflight. */
void cfg_guard_prescan(struct ctx *c);
void cfg_guard_substituted(struct ctx *c, const char *name, size_t nlen, const char *val,
                           size_t vlen);
void cfg_guard_header(struct ctx *c, const char *line);
plan *cfg_guard_build(struct ctx *c, plan *p); /* p, or NULL (p freed) on an error */
/* Frees what the guard kept; redacts the error message if there is one. */
void cfg_guard_finish(struct ctx *c);

#endif
