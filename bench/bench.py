#!/usr/bin/env python3
"""Helpers for bench/run.sh: turn one client run into a JSON record, and records into tables.

  bench.py record --out runs.jsonl --case sat --conns 50 --tool wrk --run 1 --rc 0 \
                  --seconds 10 [--rate 20000] --time time.txt --format wrk --output out.txt
      --format names the parser of the client's output (wrk: its text summary; blast: its
      --out json file). A new peer tool (issue 4: h2load, ab, autocannon) adds a parse_NAME.
      Appends one line to runs.jsonl. A run whose client failed, or whose output cannot be
      parsed, is still recorded (with "error") so that the raw table shows it; medians skip it.

  bench.py report --runs runs.jsonl --md RESULTS.md [--meta KEY=VALUE]...
      Prints the table of medians to stdout and writes RESULTS.md. Exits 1 if any run failed.

Only the standard library: the bench must run on a bare Debian machine with python3.
"""
import argparse
import json
import re
import statistics
import sys

UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(path):
    """bench/rusage.c writes 'user_s sys_s maxrss_kib vol_csw invol_csw'; /usr/bin/time -f
    '%U %S %M' the first three (after 'Command exited with ...' if the command failed).
    Returns (user, sys, rss, csw) with csw = voluntary + involuntary switches or None."""
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    for parts in reversed(lines):
        if len(parts) in (3, 5):
            try:
                csw = int(parts[3]) + int(parts[4]) if len(parts) == 5 else None
                return float(parts[0]), float(parts[1]), int(parts[2]), csw
            except ValueError:
                continue
    raise ValueError(f"{path}: no 'user sys rss' line")


def parse_wrk(path, _case=None):
    """wrk's summary: '  2254123 requests in 10.00s, 250.00MB read' plus error lines."""
    text = open(path, errors="replace").read()
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", text, re.M)
    if not m:
        raise ValueError(f"{path}: no 'N requests in' line")
    out = {"requests": int(m.group(1)), "duration_s": float(m.group(2)) * UNITS_S[m.group(3)]}
    failed = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        failed += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        failed += int(m.group(1))
    out["failed"] = failed
    return out


def pick(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def parse_blast(path, scenario):
    with open(path) as f:
        doc = json.load(f)
    sc = pick(doc, "scenarios", scenario)
    if sc is None:
        raise ValueError(f"{path}: no scenarios.{scenario}")
    req = sc.get("requests", {})
    ok, failed = int(req.get("ok", 0)), int(req.get("failed", 0))
    out = {
        "requests": ok + failed,
        "ok": ok,
        "failed": failed,
        "dropped": int(req.get("dropped", 0)),
        "scheduled": req.get("scheduled"),
        "duration_s": sc.get("duration_s") or doc.get("duration_s"),
        "target": pick(sc, "rate", "target"),
        "achieved": pick(sc, "rate", "achieved"),
        "failures": sc.get("failures"),
        "connections": sc.get("connections"),
    }
    for key, name in (("latency_ms", "lat"), ("service_time_ms", "svc"),
                      ("send_lateness_ms", "late")):
        for q in ("p50", "p99", "max"):
            out[f"{name}_{q}"] = pick(sc, key, q)
    return out


PARSERS = {"wrk": parse_wrk, "blast": parse_blast}


def cpu_snapshot(pid):
    """Busy and steal ticks of the whole machine, and CPU ticks of process pid (the server)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq (guest is in user)
    steal = v[7] if len(v) > 7 else 0
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        server = int(rest[11]) + int(rest[12])  # utime, stime: fields 14 and 15
    except (OSError, IndexError, ValueError):
        server = 0
    return {"busy": busy, "steal": steal, "server": server}


def cmd_snapshot(a):
    with open(a.out, "w") as f:
        json.dump(cpu_snapshot(a.pid), f)
    return 0


# A quiet machine shows a few % of "other" CPU (kworkers, softirq charged to no task, tick
# sampling against exact task times); well above that, something else was running.
NOISY = 0.15


def other_load(before, after, client_s):
    """CPU seconds the machine spent on neither client nor server during a run, and steal
    seconds (a hypervisor giving our CPUs to someone else): both should be near 0."""
    import os
    hz = os.sysconf("SC_CLK_TCK")
    with open(before) as f:
        b = json.load(f)
    with open(after) as f:
        e = json.load(f)
    busy = (e["busy"] - b["busy"]) / hz
    server = (e["server"] - b["server"]) / hz
    return {"server_cpu_s": server, "other_cpu_s": max(0.0, busy - server - client_s),
            "steal_s": (e["steal"] - b["steal"]) / hz}


def stderr_tail(path):
    """': <last line the client wrote to stderr>', or '' if there is none."""
    try:
        with open(path, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except (OSError, TypeError):
        return ""
    return f": {lines[-1][:200]}" if lines else ""


def cmd_record(a):
    rec = {"case": a.case, "conns": a.conns, "tool": a.tool, "run": a.run, "rc": a.rc}
    if a.rate:
        rec["rate"] = a.rate
    try:
        user, sys_, rss, csw = parse_time(a.time)
        rec.update(user_s=user, sys_s=sys_, rss_kib=rss, csw=csw)
        if a.before and a.after:
            rec.update(other_load(a.before, a.after, user + sys_))
        rec.update(PARSERS[a.format](a.output, a.case))
        if not rec.get("duration_s"):
            rec["duration_s"] = a.seconds
        n = rec["requests"]
        if n <= 0:
            raise ValueError("no request completed")
        rec["rps"] = n / rec["duration_s"]
        rec["cpu_us"] = (user + sys_) / n * 1e6
        rec["user_us"] = user / n * 1e6
        rec["sys_us"] = sys_ / n * 1e6
        if csw is not None:
            rec["csw_per_kreq"] = csw / n * 1000
        if a.rc not in (0, 99):  # 99: blast thresholds failed, still a measurement
            rec["error"] = f"exit status {a.rc}{stderr_tail(a.stderr)}"
        elif rec.get("failed"):
            rec["warning"] = f"{rec['failed']} failed"
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        rec["error"] = (f"exit status {a.rc}{stderr_tail(a.stderr)}" if a.rc not in (0, 99)
                        else f"unreadable output: {e}")
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    status = rec.get("error") or rec.get("warning") or "ok"
    if "rps" in rec:
        other = (f" other {rec['other_cpu_s']:.2f}s steal {rec['steal_s']:.2f}s"
                 if "other_cpu_s" in rec else "")
        print(f"  {a.case:5} c={a.conns:<5} {a.tool:6} run {a.run}: {rec['rps']:>10.0f} req/s "
              f"{rec['cpu_us']:6.2f} CPU-us/req (user {rec['user_us']:.2f}) "
              f"rss {rec['rss_kib']} KiB{other}  [{status}]", file=sys.stderr)
    else:
        print(f"  {a.case:5} c={a.conns:<5} {a.tool:6} run {a.run}: [{status}]", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- report

def load(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def med(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


COLUMNS = ["case", "conns", "tool", "runs", "req/s", "CPU-µs/req", "user-µs/req", "sys-µs/req",
           "ctx-sw/1k req", "RSS MiB", "achieved/target", "lat p50/p99 ms", "late p50/p99/max ms",
           "corr−uncorr p50 ms", "failed/dropped"]


def median_rows(recs):
    """One row per (case, conns, tool), in first-seen order; medians over runs without error."""
    groups = {}
    for r in recs:
        groups.setdefault((r["case"], r["conns"], r["tool"]), []).append(r)
    sat_cpu = {}  # (conns, tool) -> median CPU-µs/req at saturation, for the paced comparison
    for (case, conns, tool), rs in groups.items():
        good = [r for r in rs if "error" not in r]
        if case == "sat" and good:
            sat_cpu[(conns, tool)] = (med(good, "cpu_us"), med(good, "user_us"),
                                      med(good, "sys_us"), med(good, "csw_per_kreq"),
                                      med(good, "rss_kib"))
    rows = []
    for (case, conns, tool), rs in groups.items():
        good = [r for r in rs if "error" not in r]
        runs = f"{len(good)}/{len(rs)}"
        if not good:
            rows.append([case, str(conns), tool, runs] + ["–"] * (len(COLUMNS) - 5) + ["all failed"])
            continue
        rss = med(good, "rss_kib")
        row = [case, str(conns), tool, runs, fmt(med(good, "rps"), ",.0f"),
               fmt(med(good, "cpu_us"), ".2f"), fmt(med(good, "user_us"), ".3f"),
               fmt(med(good, "sys_us"), ".2f"), fmt(med(good, "csw_per_kreq"), ".1f"),
               fmt(rss / 1024 if rss else None, ".1f")]
        tgt, ach = med(good, "target"), med(good, "achieved")
        if tgt:
            ratio = [r["achieved"] / r["target"] for r in good if r.get("achieved") and r.get("target")]
            row.append(f"{fmt(ach, ',.0f')}/{fmt(tgt, ',.0f')} ({statistics.median(ratio) * 100:.2f}%)"
                       if ratio else "–")
        else:
            row.append("–")
        lp50, lp99 = med(good, "lat_p50"), med(good, "lat_p99")
        row.append("–" if lp50 is None else f"{lp50:.3f}/{fmt(lp99, '.3f')}")
        a, b, c = med(good, "late_p50"), med(good, "late_p99"), med(good, "late_max")
        row.append("–" if a is None or case != "paced" else f"{a:.3f}/{fmt(b, '.3f')}/{fmt(c, '.3f')}")
        diffs = [r["lat_p50"] - r["svc_p50"] for r in good
                 if r.get("lat_p50") is not None and r.get("svc_p50") is not None]
        row.append(fmt(statistics.median(diffs), ".3f") if diffs and case == "paced" else "–")
        fails = [r.get("failed", 0) or 0 for r in good]
        drops = [r.get("dropped", 0) or 0 for r in good]
        row.append(f"{sum(fails)}/{sum(drops)}")
        rows.append(row)
    # Tools that cannot pace (wrk): show their saturation cost next to the paced rows.
    paced_conns = {k[1] for k in groups if k[0] == "paced"}
    paced_tools = {(k[1], k[2]) for k in groups if k[0] == "paced"}
    for (conns, tool), (cpu, user, sys_, csw, rss) in sat_cpu.items():
        if conns in paced_conns and (conns, tool) not in paced_tools:
            rows.append(["paced", str(conns), f"{tool} (sat)", "–", "–", fmt(cpu, ".2f"),
                         fmt(user, ".3f"), fmt(sys_, ".2f"), fmt(csw, ".1f"),
                         fmt(rss / 1024 if rss else None, ".1f"),
                         "cannot pace", "–", "–", "–", "–"])
    order = {"sat": 0, "paced": 1}
    rows.sort(key=lambda r: (order.get(r[0], 9), int(r[1])))
    return rows


def text_table(header, rows):
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w[i]) if i >= 3 else str(x).ljust(w[i])
                               for i, x in enumerate(r))
    return "\n".join([line(header), "  ".join("-" * n for n in w)] + [line(r) for r in rows])


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


RAW_COLUMNS = ["case", "conns", "tool", "run", "requests", "req/s", "user s", "sys s",
               "CPU-µs/req", "user-µs/req", "ctx-sw", "RSS KiB", "achieved/target", "lat p50/p99 ms",
               "svc p50/p99 ms", "late p50/p99/max ms", "ok/failed/dropped", "server CPU s",
               "other CPU s", "steal s", "status"]


def raw_rows(recs):
    rows = []
    for r in recs:
        g = lambda k, s: fmt(r.get(k), s)
        ach = (f"{g('achieved', ',.0f')}/{g('target', ',.0f')}" if r.get("target") else "–")
        lat = f"{g('lat_p50', '.3f')}/{g('lat_p99', '.3f')}" if r.get("lat_p50") is not None else "–"
        svc = f"{g('svc_p50', '.3f')}/{g('svc_p99', '.3f')}" if r.get("svc_p50") is not None else "–"
        late = (f"{g('late_p50', '.3f')}/{g('late_p99', '.3f')}/{g('late_max', '.3f')}"
                if r.get("late_p50") is not None and r["case"] == "paced" else "–")
        okfd = (f"{r.get('ok', r.get('requests', 0) - r.get('failed', 0))}/{r.get('failed', 0)}/"
                f"{r.get('dropped', 0)}" if "requests" in r else "–")
        rows.append([r["case"], str(r["conns"]), r["tool"], str(r["run"]), g("requests", "d"),
                     g("rps", ",.0f"), g("user_s", ".2f"), g("sys_s", ".2f"), g("cpu_us", ".3f"),
                     g("user_us", ".3f"), g("csw", "d"), g("rss_kib", "d"), ach, lat, svc, late, okfd,
                     g("server_cpu_s", ".2f"), g("other_cpu_s", ".2f"), g("steal_s", ".2f"),
                     r.get("error") or r.get("warning") or "ok"])
    return rows


def cmd_report(a):
    recs = load(a.runs)
    meta = dict(kv.split("=", 1) for kv in a.meta)
    rows = median_rows(recs)
    print(text_table(COLUMNS, rows))
    problems = [r for r in recs if "error" in r or "warning" in r]
    for r in problems:
        print(f"note: {r['case']} c={r['conns']} {r['tool']} run {r['run']}: "
              f"{r.get('error') or r.get('warning')}")
    # Other work on the machine, or a hypervisor taking our CPUs, skews a run: say so.
    noisy = [r for r in recs if (r.get("other_cpu_s") or 0) + (r.get("steal_s") or 0)
             > NOISY * (r.get("duration_s") or 1)]
    noise = (f"{len(noisy)} of {len(recs)} runs shared the machine: other processes' CPU "
             f"(median {statistics.median(r['other_cpu_s'] for r in noisy):.2f} s) or steal "
             f"(median {statistics.median(r['steal_s'] for r in noisy):.2f} s) above {NOISY:.0%} of the "
             "run; throughput and latency of those runs are less trustworthy than CPU-µs/req."
             if noisy else None)
    if noise:
        print("note: " + noise)
    if not a.md:
        return 1 if any("error" in r for r in recs) else 0
    m = meta.get
    md = [
        "# blast benchmark results",
        "",
        f"Generated by `bench/run.sh` on {m('date', '?')}. Re-run with `make bench` "
        "(or `bench/run.sh`; `BENCH_RUNS`, `BENCH_SECONDS`, `BENCH_CONNS`, `BENCH_RATE`, "
        "`BENCH_TOOLS` change the plan).",
        "",
        "## Machine",
        "",
        f"- CPU: {m('cpu', '?')}, `nproc` = {m('nproc', '?')}",
        f"- kernel: `{m('kernel', '?')}`",
        f"- tools: {m('versions', '?')}",
        "",
        "## Method",
        "",
        f"- Server: Debian nginx, one process (`master_process off`), pinned to CPU "
        f"{m('server_cpu', '1')}, on 127.0.0.1, `return 200 \"ok\\n\"`, access log off, "
        "`keepalive_requests 1000000`, `keepalive_timeout 300s` (config: `bench/nginx.conf.in`).",
        f"- Client pinned to CPU {m('client_cpu', '0')} with `taskset`; one client thread "
        "(`wrk -t1`, `blast --workers 1`).",
        f"- Runs: {m('runs', '?')} × {m('seconds', '?')} s per tool and case, interleaved "
        "(A1, B1, A2, B2, ...); the table shows the median of each column over the runs that "
        "completed (`runs` = completed/attempted).",
        f"- **sat**: closed-loop saturation with {m('conns', '?')} connections: "
        "`wrk -t1 -cN -dTs` vs blast `executor = constant-vus`, `vus = N`.",
        f"- **paced**: open model at {m('rate', '?')} req/s: blast "
        "`executor = constant-arrival-rate`, `max_connections = pre_connections = N`. wrk cannot "
        "pace (wrk2 is not in Debian), so its saturation cost is repeated there as the "
        "comparison point (`wrk (sat)`).",
        "- Client cost: user + sys CPU seconds and max RSS of the client process from its "
        "`wait4` rusage (`bench/rusage.c`: the figures of `/usr/bin/time -f '%U %S %M'` at µs "
        "instead of 10 ms resolution), over the whole process lifetime (start-up and connection "
        "set-up included). CPU-µs/req = (user + sys) / completed requests × 10⁶. `ctx-sw/1k req` = "
        "voluntary + involuntary context switches of the client per 1,000 requests: each is a "
        "sleep and a wake-up, the main cost of pacing.",
        "- Completed requests: wrk's `N requests in` line; blast's JSON "
        "`scenarios.NAME.requests.ok + failed`. req/s = requests / measured duration "
        "(wrk's own figure; blast's `scenarios.NAME.duration_s`, else the top-level `duration_s`).",
        "- blast latency columns come from its JSON: `lat` is corrected latency (from the "
        "intended start), `svc` the service time (from the actual send), `late` the send "
        "lateness (actual send − intended); `corr−uncorr p50` = latency p50 − service time p50, "
        "blast's own measurement error at this rate.",
        "- Noise check per run (every run table): `server CPU s` is nginx's CPU time, `other CPU "
        "s` the machine's busy time spent on neither client nor server, `steal s` time the "
        "hypervisor gave our CPUs to others (`/proc/stat`, 10 ms ticks). A quiet machine shows a "
        "few % of the run as `other` (kernel threads, tick sampling); runs above 15% are "
        "flagged.",
        "",
        "## Medians",
        "",
        md_table(COLUMNS, rows),
        "",
    ]
    if noise:
        md += ["Noise: " + noise + " (per run: `other CPU s`, `steal s` below.)", ""]
    if problems:
        md += ["Problems seen:", ""]
        md += [f"- {r['case']} c={r['conns']} {r['tool']} run {r['run']}: "
               f"{r.get('error') or r.get('warning')}" for r in problems]
        md += [""]
    md += [
        "<details><summary>Every run</summary>",
        "",
        md_table(RAW_COLUMNS, raw_rows(recs)),
        "",
        "</details>",
        "",
    ]
    with open(a.md, "w") as f:
        f.write("\n".join(md))
    return 1 if any("error" in r for r in recs) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--case", required=True)
    r.add_argument("--conns", type=int, required=True)
    r.add_argument("--tool", required=True)
    r.add_argument("--run", type=int, required=True)
    r.add_argument("--rc", type=int, default=0)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--rate", type=float)
    r.add_argument("--time", required=True)
    r.add_argument("--format", required=True, choices=sorted(PARSERS))
    r.add_argument("--output", required=True, help="the file the parser reads")
    r.add_argument("--stderr", help="the client's stderr, quoted when it failed")
    r.add_argument("--before", help="bench.py snapshot taken before the run")
    r.add_argument("--after", help="bench.py snapshot taken after the run")
    r.set_defaults(fn=cmd_record)
    s = sub.add_parser("snapshot")
    s.add_argument("--pid", type=int, required=True, help="the server's pid")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_snapshot)
    q = sub.add_parser("report")
    q.add_argument("--runs", required=True)
    q.add_argument("--md")
    q.add_argument("--meta", action="append", default=[])
    q.set_defaults(fn=cmd_report)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
