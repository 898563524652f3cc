#!/usr/bin/python3
"""Reads the WebSocket metrics of one blast run in its k6-summary, csv and ndjson outputs with
Python's own json and csv readers, and checks them against the run's --out json document.

    check_ws.py RUN.json K6-SUMMARY.json ROWS.csv ROWS.ndjson SCENARIO

k6 summary: metrics.ws_sessions / ws_msgs_sent / ws_msgs_received (counters: count), the trends
ws_connecting / ws_session_duration / ws_msg_latency (count, and min / med / max in ms as the
JSON's), the rates ws_message_failures / ws_connection_failures (passes: failures), and each
step's submetric ws_msgs_sent{scenario:S,name:STEP} where a threshold asked for it is not
needed: the whole-run metrics must equal the JSON's scenario totals (one scenario runs).
csv / ndjson: the ws columns of the scenario's rows summed over the seconds equal the JSON's
scenario ws totals, each ws step's rows its step's, and a step without ws has empty (csv) or
null (ndjson) ws fields. Prints what it compared; exits 1 on the first mismatch.
"""
import csv
import json
import sys

COLS = {"ws_sessions": "ws_sessions", "ws_msgs_sent": "ws_msgs_sent",
        "ws_msgs_received": "ws_msgs_received", "ws_replied": "replied",
        "ws_timed_out": "timed_out"}


def fail(msg):
    print("check_ws: " + msg, file=sys.stderr)
    sys.exit(1)


def eq(what, got, want, tol=0.0):
    if abs(got - want) > tol:
        fail("%s: %r, the JSON says %r" % (what, got, want))
    print("ok %s = %r" % (what, got))


def main():
    run_p, k6_p, csv_p, nd_p, scen = sys.argv[1:6]
    with open(run_p, encoding="utf-8") as f:
        sc = json.load(f)["scenarios"][scen]
    ws = sc["ws"]
    steps = {name: st["ws"] for name, st in sc["steps"].items() if "ws" in st}
    if not steps:
        fail("no step of %s has a ws object" % scen)
    plain = [name for name, st in sc["steps"].items() if "ws" not in st]

    with open(k6_p, encoding="utf-8") as f:
        m = json.load(f)["metrics"]
    for key in ("ws_sessions", "ws_msgs_sent", "ws_msgs_received"):
        if m[key]["type"] != "counter":
            fail("%s is a %s" % (key, m[key]["type"]))
        eq("k6 %s.count" % key, m[key]["values"]["count"], ws[key])
    for key, js in (("ws_connecting", "connecting_ms"), ("ws_session_duration",
                                                         "session_duration_ms"),
                    ("ws_msg_latency", "msg_latency_ms")):
        v = m[key]["values"]
        if m[key]["type"] != "trend" or m[key]["contains"] != "time":
            fail("%s is not a time trend" % key)
        eq("k6 %s.count" % key, v["count"], ws[js]["count"])
        eq("k6 %s.max" % key, v["max"], ws[js]["max"], 0.0011)
        eq("k6 %s.med" % key, v["med"], ws[js]["p50"], 0.0011)
    mf = m["ws_message_failures"]["values"]
    eq("k6 ws_message_failures.passes", mf["passes"], ws["timed_out"] + ws["cut"])
    eq("k6 ws_message_failures.fails", mf["fails"], ws["replied"])
    cf = m["ws_connection_failures"]["values"]
    eq("k6 ws_connection_failures.passes", cf["passes"], ws["sessions_failed"])
    eq("k6 ws_connection_failures.fails", cf["fails"], ws["sessions_ok"])

    with open(csv_p, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["scenario"] == scen]
    with open(nd_p, encoding="utf-8") as f:
        nd = [r for r in (json.loads(l) for l in f if l.strip()) if r["scenario"] == scen]
    for kind, rs, step_of, empty in (("csv", rows, lambda r: r["step"] or None, ""),
                                     ("ndjson", nd, lambda r: r["step"], None)):
        if len(rs) < 2:
            fail("%s: only %d rows" % (kind, len(rs)))
        for who, want in [(None, ws)] + list(steps.items()):
            mine = [r for r in rs if step_of(r) == who]
            for col, key in COLS.items():
                eq("%s %s %s" % (kind, who or scen, col), sum(int(r[col]) for r in mine),
                   want[key])
        for name in plain:
            for r in rs:
                if step_of(r) == name and any(r[c] != empty for c in COLS):
                    fail("%s: step %s has ws fields: %r" % (kind, name, r))
    print("check_ws: all agree")


main()
