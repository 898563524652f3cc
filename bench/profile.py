#!/usr/bin/env python3
"""bench/profile.sh's tables: where blast's CPU goes, from perf and callgrind.

  profile.py perf --case NAME --report-dso F --report-sym F --report-children F [--json F]
      Parses one run's `perf report` text outputs (self time by dso, self time by dso+symbol,
      inclusive time by dso+symbol) into one JSON line on stdout.
  profile.py callgrind --short F --long F --short-json F --long-json F --scenario NAME
      Parses two `callgrind_annotate --inclusive=no` outputs of the same load at two durations:
      the difference divided by the difference in completed requests is the marginal
      instruction count per request (start-up and the end of the run cancel out).
  profile.py report --perf perf.jsonl --callgrind cg.jsonl --md RESULTS.md [--meta K=V]...
      Writes the "profile" section of RESULTS.md.
"""
import argparse
import json
import re
import statistics
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (splice, md_table, machine_lines)

PCT = re.compile(r"^\s*([\d.]+)%\s+(?:([\d.]+)%\s+)?(\S+(?: \S+)*?)\s+\[([k.])\]\s+(.*?)\s*$")
DSO = re.compile(r"^\s*([\d.]+)%\s+(\S.*?)\s*$")


def parse_dso(path):
    out = {}
    for ln in open(path, errors="replace"):
        m = DSO.match(ln)
        if m and not ln.strip().startswith("|"):
            out[m.group(2)] = out.get(m.group(2), 0.0) + float(m.group(1))
    return out


def parse_sym(path, children=False):
    """Lines '  12.34%  [kernel.kallsyms]  [k] sym' (or with a second % column: children)."""
    rows = []
    for ln in open(path, errors="replace"):
        m = PCT.match(ln)
        if not m:
            continue
        first, second, dso, kind, sym = m.groups()
        rows.append({"pct": float(first), "self": float(second) if second else None,
                     "dso": dso.strip(), "kind": kind, "sym": sym})
    return rows


def cmd_perf(a):
    rec = {"case": a.case, "run": a.run, "dso": parse_dso(a.report_dso),
           "sym": parse_sym(a.report_sym), "children": parse_sym(a.report_children)}
    if a.callers and os.path.exists(a.callers):
        rec["callers"] = open(a.callers, errors="replace").read()[:6000]
    if a.json:
        with open(a.json) as f:
            doc = json.load(f)
        sc = next(iter(doc["scenarios"].values()))
        req = sc["requests"]
        rec["requests"] = req["ok"] + req["failed"]
        rec["rps"] = rec["requests"] / sc["duration_s"]
    if a.time:
        parts = open(a.time).read().split()
        rec["user_s"], rec["sys_s"] = float(parts[0]), float(parts[1])
    print(json.dumps(rec))
    return 0


CG_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?:\s+\[(.*)\])?\s*$")


def parse_cg(path):
    """{(object, function): Ir} from callgrind_annotate --inclusive=no; an inlined line without
    [object] is given the object its function name has elsewhere (else '?')."""
    rows = []
    for ln in open(path, errors="replace"):
        m = CG_LINE.match(ln)
        if not m or "PROGRAM TOTALS" in ln:
            continue
        ir = int(m.group(1).replace(",", ""))
        where, obj = m.group(2), m.group(3)
        fn = where.rsplit(":", 1)[-1]
        rows.append((obj, fn, ir))
    obj_of = {fn: obj for obj, fn, _ in rows if obj}
    out = {}
    for obj, fn, ir in rows:
        o = obj or obj_of.get(fn, "?")
        key = (os.path.basename(o), fn)
        out[key] = out.get(key, 0) + ir
    return out


def requests_of(path):
    with open(path) as f:
        doc = json.load(f)
    sc = next(iter(doc["scenarios"].values()))
    return sc["requests"]["ok"] + sc["requests"]["failed"], sc


def cmd_callgrind(a):
    s, l = parse_cg(a.short), parse_cg(a.long)
    ns, _ = requests_of(a.short_json)
    nl, scl = requests_of(a.long_json)
    dn = nl - ns
    per = {}
    for key in set(s) | set(l):
        d = l.get(key, 0) - s.get(key, 0)
        per["\t".join(key)] = d / dn if dn else None
    print(json.dumps({"run": a.run, "short_req": ns, "long_req": nl, "per_req": per,
                      "total_short": sum(s.values()), "total_long": sum(l.values()),
                      "late_p99_long": scl.get("send_lateness_ms", {}).get("p99"),
                      "achieved_long": scl.get("rate", {}).get("achieved")}))
    return 0


def load(path):
    try:
        with open(path) as f:
            return [json.loads(ln) for ln in f if ln.strip()]
    except OSError:
        return []


def kernel_share(dso):
    tot = sum(dso.values()) or 1
    k = sum(v for d, v in dso.items() if "kernel" in d or d.startswith("[k"))
    return k / tot * 100


def perf_section(recs, m):
    md = []
    cases = []
    for r in recs:
        if r["case"] not in cases:
            cases.append(r["case"])
    desc = {"sat": f"closed-loop saturation, `constant-vus`, `vus = {m('vus', '50')}`",
            "paced": f"`constant-arrival-rate`, `rate = {m('rate', '20000')}/s`, "
                     f"`max_connections = pre_connections = {m('vus', '50')}`",
            "paced1ms": f"as paced, with `pacing_resolution = 1ms`"}
    # dso table
    dsos = []
    for r in recs:
        for d in sorted(r["dso"], key=lambda d: -r["dso"][d]):
            if d not in dsos:
                dsos.append(d)
    header = ["case", "runs", "req/s", "CPU-µs/req (user/sys by rusage)"] + \
        [f"`{d}` %" for d in dsos[:6]]
    rows = []
    for c in cases:
        rs = [r for r in recs if r["case"] == c]
        cpu = [((r["user_s"] + r["sys_s"]) / r["requests"] * 1e6, r["user_s"] / r["requests"] * 1e6,
                r["sys_s"] / r["requests"] * 1e6) for r in rs if r.get("requests")]
        cpu_s = (f"{statistics.median(x[0] for x in cpu):.2f} "
                 f"({statistics.median(x[1] for x in cpu):.2f}/{statistics.median(x[2] for x in cpu):.2f})"
                 if cpu else "–")
        row = [c, str(len(rs)), f"{statistics.median(r.get('rps', 0) for r in rs):,.0f}", cpu_s]
        for d in dsos[:6]:
            vals = [r["dso"].get(d, 0.0) for r in rs]
            row.append(f"{statistics.median(vals):.1f} ({min(vals):.1f}–{max(vals):.1f})")
        rows.append(row)
    md += [
        "### perf: kernel vs user",
        "",
        f"`perf record -g -e cpu-clock -F {m('freq', '?')}` (no hardware PMU in this VM: "
        f"cpu-clock sampling) of `blast --workers 1` pinned to CPU {m('client_cpu', '0')} for "
        f"{m('seconds', '?')} s against nginx on CPU {m('server_cpu', '1')}; perf itself runs "
        f"on CPU {m('server_cpu', '1')}. Cases: "
        + "; ".join(f"**{c}**: {desc.get(c, c)}" for c in cases)
        + f". {m('runs', '?')} runs each; shares are of all samples of the run (blast; `taskset` and "
        "`bench/rusage` add < 0.3%) (`perf report --no-children --sort dso`), median (min–max) over the runs. The loopback "
        "TCP path of the server's replies (softirq on the client CPU) is charged to blast, as in "
        "the rusage figures.",
        "",
        bench.md_table(header, rows),
        "",
    ]
    for c in cases:
        rs = [r for r in recs if r["case"] == c]
        for kind, title in (("k", "kernel"), (".", "user space")):
            agg = {}
            for r in rs:
                for s in r["sym"]:
                    if s["kind"] == kind:
                        key = (s["dso"], s["sym"])
                        agg[key] = agg.get(key, 0.0) + s["pct"] / len(rs)
            top = sorted(agg.items(), key=lambda kv: -kv[1])[:15]
            md += [f"<details><summary>{c}: top {title} symbols (self time, % of all blast "
                   f"samples, mean of {len(rs)} runs)</summary>", "",
                   bench.md_table(["%", "dso", "symbol"],
                                  [[f"{v:.2f}", f"`{k[0]}`", f"`{k[1]}`"] for k, v in top]),
                   "", "</details>", ""]
        agg = {}
        for r in rs:
            for s in r["children"]:
                if s["kind"] == "k":
                    agg[s["sym"]] = agg.get(s["sym"], 0.0) + s["pct"] / len(rs)
        want = ["io_submit_sqes", "io_send", "tcp_sendmsg", "__tcp_transmit_skb", "net_rx_action",
                "tcp_v4_rcv", "__io_run_local_work", "io_recv", "tcp_recvmsg", "tcp_ack",
                "io_cqring_wait", "schedule", "__schedule", "hrtimer_interrupt",
                "sysvec_apic_timer_interrupt", "io_uring_register", "__do_sys_io_uring_register",
                "__x64_sys_io_uring_enter", "__do_sys_io_uring_enter", "do_idle"]
        found = [[f"{agg[w]:.1f}", f"`{w}`"] for w in want if w in agg]
        md += [f"<details><summary>{c}: kernel time by path (inclusive, % of all blast samples, "
               f"mean of {len(rs)} runs)</summary>", "",
               bench.md_table(["% incl.", "kernel function"], found), "", "</details>", ""]
        if rs[0].get("callers"):
            md += [f"<details><summary>{c}: callers of the three hottest kernel symbols (run 1, "
                   "`perf report --no-children -g callee`)</summary>", "", "```",
                   rs[0]["callers"].rstrip(), "```", "", "</details>", ""]
    return md


def callgrind_section(recs, m):
    if not recs:
        return []
    keys = set()
    for r in recs:
        keys |= set(r["per_req"])
    agg = {}
    for k in keys:
        vals = [r["per_req"].get(k) or 0.0 for r in recs]
        agg[k] = statistics.median(vals)
    by_obj = {}
    for k, v in agg.items():
        obj = k.split("\t")[0]
        by_obj[obj] = by_obj.get(obj, 0.0) + v
    total = sum(by_obj.values())
    totals = [sum(v for v in r["per_req"].values() if v) for r in recs]
    obj_rows = [[f"`{o}`", f"{v:,.0f}", f"{v / total * 100:.1f}%"]
                for o, v in sorted(by_obj.items(), key=lambda kv: -kv[1]) if abs(v) >= 1]
    top = sorted(agg.items(), key=lambda kv: -kv[1])[:20]
    fn_rows = [[f"`{k.split(chr(9))[1]}`", f"`{k.split(chr(9))[0]}`", f"{v:,.1f}"]
               for k, v in top]
    md = [
        "### callgrind: user-space instructions per request",
        "",
        f"`valgrind --tool=callgrind` of `blast --workers 1` (pinned to CPU "
        f"{m('client_cpu', '0')}) at `rate = {m('cg_rate', '?')}/s` (`constant-arrival-rate`, "
        f"{m('cg_conns', '?')} connections) against nginx, once for {m('cg_short', '?')} s and once "
        f"for {m('cg_long', '?')} s; {len(recs)} such pairs. Ir per request = (Ir of the long run − "
        "Ir of the short run) / (requests of the long run − of the short run), per function "
        "(`callgrind_annotate --inclusive=no`), so start-up, connection set-up, the end of the "
        "run and the final histogram merge cancel out. Only user space is counted (the kernel's "
        "work is in the perf figures). Under callgrind blast still met the rate: achieved "
        + ", ".join(f"{r.get('achieved_long') or 0:,.1f}" for r in recs)
        + " req/s, send-lateness p99 "
        + ", ".join(f"{r.get('late_p99_long') or 0:.3f}" for r in recs) + " ms.",
        "",
        f"**Total: {statistics.median(totals):,.0f} instructions per request** (per pair: "
        + ", ".join(f"{t:,.0f}" for t in totals) + ").",
        "",
        bench.md_table(["object", "Ir/request", "share"], obj_rows),
        "",
        "<details open><summary>Top functions (self Ir per request, median over the pairs)</summary>",
        "",
        bench.md_table(["function", "object", "Ir/request"], fn_rows),
        "",
        "</details>",
        "",
    ]
    return md


def cmd_report(a):
    meta = dict(kv.split("=", 1) for kv in a.meta)
    m = meta.get
    perf = load(a.perf)
    cg = load(a.callgrind)
    md = ["## Where the CPU goes (`bench/profile.sh`)", "", *bench.machine_lines(m), ""]
    if perf:
        md += perf_section(perf, m)
    else:
        md += [f"perf: {m('perf_note', 'not run')}", ""]
    if cg:
        md += callgrind_section(cg, m)
    else:
        md += [f"callgrind: {m('cg_note', 'not run')}", ""]
    text = "\n".join(md)
    print(text)
    if a.md:
        bench.splice(a.md, "profile", text)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("perf")
    q.add_argument("--case", required=True)
    q.add_argument("--run", type=int, default=1)
    q.add_argument("--report-dso", required=True)
    q.add_argument("--report-sym", required=True)
    q.add_argument("--report-children", required=True)
    q.add_argument("--json")
    q.add_argument("--time")
    q.add_argument("--callers", help="perf report -g callee output for the hottest symbols")
    q.set_defaults(fn=cmd_perf)
    c = sub.add_parser("callgrind")
    c.add_argument("--run", type=int, default=1)
    c.add_argument("--short", required=True)
    c.add_argument("--long", required=True)
    c.add_argument("--short-json", required=True)
    c.add_argument("--long-json", required=True)
    c.set_defaults(fn=cmd_callgrind)
    r = sub.add_parser("report")
    r.add_argument("--perf", required=True)
    r.add_argument("--callgrind", required=True)
    r.add_argument("--md")
    r.add_argument("--meta", action="append", default=[])
    r.set_defaults(fn=cmd_report)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
