#!/usr/bin/python3
"""Reads a blast `--out k6-summary` document as the CI steps written for k6's
handleSummary output (k6-summary.json) read it, and checks it against expectations (JSON).

    check_k6.py DOCUMENT EXPECT.json

What those steps read: metrics.http_req_duration.values["p(95)"] and ["p(99)"],
metrics.http_req_failed.values.rate (the step-summary table), per-scenario submetrics such as
metrics["http_req_duration{scenario:browse}"], every metric's thresholds{expr: {ok}} (the
"annotate thresholds" step), root_group.checks[] and state.testRunDurationMs. The document must
be strict JSON (no NaN) in UTF-8. Prints one line per threshold ("FAIL key expr") on success.

EXPECT.json: {"metrics": {KEY: {"type", "contains", "values": {STAT: number}}},
              "absent": [KEY...], "thresholds": [[KEY, EXPR, ok]...],
              "checks": [{"name", "passes", "fails"}], "duration_ms": number}
"""
import hashlib
import json
import math
import sys


def fail(msg):
    print("check_k6: " + msg, file=sys.stderr)
    sys.exit(1)


def no_constant(c):
    fail("non-standard JSON constant %s" % c)


def close(a, b):
    return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def main():
    doc, expect_path = sys.argv[1], sys.argv[2]
    with open(expect_path, encoding="utf-8") as f:
        exp = json.load(f)
    try:
        with open(doc, encoding="utf-8", errors="strict") as f:
            d = json.load(f, parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        fail("not valid JSON in UTF-8: %s" % e)
    for k in ("root_group", "options", "state", "metrics"):
        if k not in d:
            fail("no %s" % k)
    m = d["metrics"]
    for key, em in exp["metrics"].items():
        if key not in m:
            fail("no metrics[%r] (have %r)" % (key, sorted(m)))
        got = m[key]
        for field in ("type", "contains"):
            if field in em and got.get(field) != em[field]:
                fail("metrics[%r].%s = %r, expected %r" % (key, field, got.get(field), em[field]))
        for stat, want in em.get("values", {}).items():
            if not close(got["values"].get(stat), want):
                fail("metrics[%r].values[%r] = %r, expected %r" % (key, stat, got["values"].get(stat), want))
    for key in exp.get("absent", []):
        if key in m:
            fail("metrics[%r] should not be there" % key)
    for key, got in m.items():
        if got.get("type") not in ("counter", "gauge", "rate", "trend"):
            fail("metrics[%r].type %r" % (key, got.get("type")))
        if got.get("contains") not in ("default", "time", "data"):
            fail("metrics[%r].contains %r" % (key, got.get("contains")))
        if not isinstance(got.get("values"), dict):
            fail("metrics[%r].values is not an object" % key)
    # the "annotate thresholds" step: every threshold of every metric, with its verdict
    seen = []
    for key, got in m.items():
        for expr, t in got.get("thresholds", {}).items():
            if not isinstance(t.get("ok"), bool):
                fail("metrics[%r].thresholds[%r].ok is not a boolean" % (key, expr))
            seen.append([key, expr, t["ok"]])
    if sorted(seen) != sorted(exp["thresholds"]):
        fail("thresholds %r, expected %r" % (seen, exp["thresholds"]))
    rg = d["root_group"]
    if rg.get("name") != "" or rg.get("path") != "" or rg.get("groups") != []:
        fail("root_group %r" % {k: rg.get(k) for k in ("name", "path", "groups")})
    if rg.get("id") != hashlib.md5(b"").hexdigest():
        fail("root_group.id %r" % rg.get("id"))
    checks = rg.get("checks")
    if [{k: c.get(k) for k in ("name", "passes", "fails")} for c in checks] != exp["checks"]:
        fail("root_group.checks %r, expected %r" % (checks, exp["checks"]))
    for c in checks:
        if c["path"] != "::" + c["name"] or c["id"] != hashlib.md5(c["path"].encode()).hexdigest():
            fail("check %r: path %r id %r" % (c["name"], c["path"], c["id"]))
    o = d["options"]
    if not isinstance(o.get("summaryTrendStats"), list) or o.get("noColor") is not False \
            or not isinstance(o.get("summaryTimeUnit"), str):
        fail("options %r" % o)
    s = d["state"]
    if not isinstance(s.get("isStdOutTTY"), bool) or not isinstance(s.get("isStdErrTTY"), bool):
        fail("state %r" % s)
    if "duration_ms" in exp and not close(s.get("testRunDurationMs"), exp["duration_ms"]):
        fail("state.testRunDurationMs %r, expected %r" % (s.get("testRunDurationMs"), exp["duration_ms"]))
    # what the step-summary table shows
    v = m["http_req_duration"]["values"]
    print("p95 %.3f p99 %.3f failed %.6f" % (v["p(95)"], v["p(99)"], m["http_req_failed"]["values"]["rate"]))
    for key, expr, ok in seen:
        print("%s %s %s" % ("PASS" if ok else "FAIL", key, expr))


main()
