/* report_json: the machine-readable result. Field names are a contract with other tools (CI
 * gates, blast compare): add fields, never rename or remove them. Times are milliseconds with
 * microsecond resolution. */
#include <errno.h>
#include <inttypes.h>

#include "report.h"
#include "version.h"

/* Writes s as a JSON string (scenario names are restricted by config, but quote anyway). */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void ms(FILE *f, uint64_t us)
{
    fprintf(f, "%.3f", (double)us / 1e3);
}

static void times(FILE *f, const char *indent, const char *name, const hist *h)
{
    static const struct {
        const char *key;
        double p;
    } pct[] = {{"p50", 50}, {"p90", 90},     {"p95", 95},
               {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};
    fprintf(f, "%s\"%s\": {\"count\": %" PRIu64 ", \"min\": ", indent, name, hist_count(h));
    ms(f, hist_min(h));
    fprintf(f, ", \"mean\": %.3f", hist_mean(h) / 1e3);
    for (size_t i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
        fprintf(f, ", \"%s\": ", pct[i].key);
        ms(f, hist_value_at(h, pct[i].p));
    }
    fprintf(f, ", \"max\": ");
    ms(f, hist_max(h));
    fprintf(f, "}");
}

static void scenario(FILE *f, const report_scenario *r, bool last)
{
    const metrics_counts *c = &r->m->c;
    const plan_scenario *s = r->s;
    fprintf(f, "    ");
    jstr(f, s->name);
    fprintf(f, ": {\n      \"executor\": \"%s\",\n",
            s->executor == PLAN_CONSTANT_VUS ? "constant-vus" : "constant-arrival-rate");
    fprintf(f, "      \"duration_s\": %.3f,\n", r->window_s);
    fprintf(f,
            "      \"requests\": {\"scheduled\": %" PRIu64 ", \"ok\": %" PRIu64
            ", \"failed\": %" PRIu64 ", \"dropped\": %" PRIu64 "},\n",
            c->scheduled, c->ok, c->failed, c->dropped);
    fprintf(f, "      \"failures\": {");
    for (int i = 0; i < METRICS_NFAIL; i++)
        fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", metrics_fail_name((metrics_fail)i),
                c->fail[i]);
    fprintf(f, "},\n");
    if (s->executor == PLAN_CONSTANT_VUS)
        fprintf(f, "      \"rate\": {\"target\": null, \"achieved\": %.3f},\n",
                report_achieved_rate(r));
    else
        fprintf(f, "      \"rate\": {\"target\": %.3f, \"achieved\": %.3f},\n", s->rate,
                report_achieved_rate(r));
    if (s->executor == PLAN_CONSTANT_VUS)
        fprintf(f, "      \"vus\": %u,\n", s->vus);
    else
        fprintf(f, "      \"pacing_resolution_ms\": %.3f,\n",
                (double)s->pacing_resolution_ns / 1e6);
    times(f, "      ", "latency_ms", r->m->latency);
    fprintf(f, ",\n");
    times(f, "      ", "service_time_ms", r->m->service);
    fprintf(f, ",\n");
    times(f, "      ", "send_lateness_ms", r->m->lateness);
    fprintf(f, ",\n");
    fprintf(f, "      \"bytes\": {\"sent\": %" PRIu64 ", \"received\": %" PRIu64 "},\n",
            c->bytes_sent, c->bytes_received);
    fprintf(f,
            "      \"connections\": {\"opened\": %" PRIu64 ", \"max_open\": %" PRIu64
            ", \"closed_by_server\": %" PRIu64 ", \"failed\": %" PRIu64 "}%s\n",
            c->conns_opened, c->conns_max_open, c->conns_server_closed, c->conns_failed,
            s->tls ? "," : "");
    if (s->tls) {
        fprintf(f,
                "      \"tls\": {\"verified\": %s, \"handshakes\": {\"full\": %" PRIu64
                ", \"resumed\": %" PRIu64 "},\n",
                s->tls_opts.insecure ? "false" : "true", c->tls_full, c->tls_resumed);
        times(f, "        ", "handshake_ms", r->m->handshake);
        fprintf(f, ",\n        \"errors\": {");
        for (int i = 0; i < METRICS_TLS_REASONS && r->m->tls_reasons[i].count; i++) {
            fprintf(f, "%s", i ? ", " : "");
            jstr(f, r->m->tls_reasons[i].text);
            fprintf(f, ": %" PRIu64, r->m->tls_reasons[i].count);
        }
        fprintf(f, "}}\n");
    }
    fprintf(f, "    }%s\n", last ? "" : ",");
}

int report_json(FILE *f, const report_run *run)
{
    fprintf(f, "{\n  \"blast_version\": \"%s\",\n", BLAST_VERSION);
    fprintf(f, "  \"duration_s\": %.3f,\n", run->duration_s);
    fprintf(f, "  \"workers\": %u,\n", run->workers);
    fprintf(f, "  \"interrupted\": %s,\n", run->interrupted ? "true" : "false");
    fprintf(f, "  \"started\": %s,\n", run->started ? "true" : "false");
    fprintf(f, "  \"scenarios\": {\n");
    for (size_t i = 0; i < run->nsc; i++)
        scenario(f, &run->sc[i], i + 1 == run->nsc);
    fprintf(f, "  }\n}\n");
    return ferror(f) ? -EIO : 0;
}
