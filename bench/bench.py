#!/usr/bin/env python3
"""Helpers for bench/run.sh, bench/scale.sh and bench/profile.sh: turn one client run into a JSON
record, and records into the tables of bench/RESULTS.md.

  bench.py record --out runs.jsonl --case sat --conns 50 --tool wrk --run 1 --rc 0 \
                  --seconds 10 [--rate 20000] --time time.txt --format wrk --output out.txt \
                  [--scenario NAME] [--extra KEY=VALUE]... [--samples samples.jsonl]
      --format names the parser of the client's output (wrk, h2load, ab: their text summaries;
      autocannon: its -j JSON; blast: its --out json file). Appends one line to runs.jsonl. A run
      whose client failed, or whose output cannot be parsed, is still recorded (with "error") so
      that the raw table shows it; medians skip it. --extra adds fields (numbers where they
      parse); --samples folds in what `sample` saw while the run went on.

  bench.py snapshot --pid PID [--pid PID]... --out FILE
      Machine-wide busy/steal ticks and the servers' CPU ticks, before and after a run.

  bench.py sample --pidfile F --out samples.jsonl [--port P] [--every S] [--limit S]
      While the process in F lives: its VmRSS/VmHWM and the established client connections to
      port P (ss), every S seconds. For the memory and connection-count figures.

  bench.py report --runs runs.jsonl --md RESULTS.md [--kind main|pacing|memory|sources] \
                  [--meta KEY=VALUE]...
      Prints the table of medians to stdout and writes its section of RESULTS.md (other sections
      and hand-written text outside the section markers are kept). Exits 1 if any run failed.

  bench.py splice --md RESULTS.md --section NAME --from FRAGMENT.md
      Puts a fragment (bench/profile.sh's) into RESULTS.md as section NAME.

Only the standard library: the bench must run on a bare Debian machine with python3.
"""
import argparse
import json
import re
import statistics
import sys

UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(path):
    """bench/rusage.c writes 'user_s sys_s maxrss_kib vol_csw invol_csw wall_s' (older builds
    without wall_s); /usr/bin/time -f '%U %S %M' the first three (after 'Command exited with
    ...' if the command failed). Returns (user, sys, rss, csw, wall) with csw = voluntary +
    involuntary switches, csw and wall None where the line lacks them."""
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    for parts in reversed(lines):
        if len(parts) in (3, 5, 6):
            try:
                csw = int(parts[3]) + int(parts[4]) if len(parts) >= 5 else None
                wall = float(parts[5]) if len(parts) == 6 else None
                return float(parts[0]), float(parts[1]), int(parts[2]), csw, wall
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
        "workers": doc.get("workers"),
        "run_s": doc.get("duration_s"),
    }
    conns = sc.get("connections") or {}
    for k in ("opened", "max_open", "failed", "closed_by_server"):
        out[f"conns_{k}"] = conns.get(k)
    for key, name in (("latency_ms", "lat"), ("service_time_ms", "svc"),
                      ("send_lateness_ms", "late")):
        for q in ("p50", "p99", "max"):
            out[f"{name}_{q}"] = pick(sc, key, q)
    return out


def parse_h2load(path, _case=None):
    """h2load's summary: 'finished in 10.00s, 150000.00 req/s, ...' and
    'requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout'."""
    text = open(path, errors="replace").read()
    m = re.search(r"^finished in ([\d.]+)(us|ms|s|m|h), ([\d.]+) req/s", text, re.M)
    r = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text, re.M)
    if not m or not r:
        raise ValueError(f"{path}: no 'finished in' / 'requests:' lines")
    done, ok, failed, timeout = int(r.group(3)), int(r.group(4)), int(r.group(5)), int(r.group(7))
    return {"requests": done, "ok": ok, "failed": failed + timeout,
            "duration_s": float(m.group(1)) * UNITS_S[m.group(2)]}


def parse_ab(path, _case=None):
    """ab's summary: 'Time taken for tests: 10.000 seconds', 'Complete requests: N',
    'Failed requests: N' (length or connection errors) and 'Non-2xx responses: N' if any."""
    text = open(path, errors="replace").read()
    t = re.search(r"^Time taken for tests:\s+([\d.]+) seconds", text, re.M)
    n = re.search(r"^Complete requests:\s+(\d+)", text, re.M)
    if not t or not n:
        raise ValueError(f"{path}: no 'Complete requests' / 'Time taken' lines")
    failed = 0
    for pat in (r"^Failed requests:\s+(\d+)", r"^Non-2xx responses:\s+(\d+)"):
        m = re.search(pat, text, re.M)
        if m:
            failed += int(m.group(1))
    return {"requests": int(n.group(1)), "failed": failed, "duration_s": float(t.group(1))}


def parse_autocannon(path, _case=None):
    """autocannon -j: one JSON document; requests.total responses in duration seconds."""
    text = open(path, errors="replace").read()
    start = text.find("{")
    if start < 0:
        raise ValueError(f"{path}: no JSON")
    doc = json.loads(text[start:])
    total = int(pick(doc, "requests", "total") or 0)
    failed = sum(int(doc.get(k) or 0) for k in ("errors", "timeouts", "non2xx", "mismatches"))
    return {"requests": total, "failed": failed, "duration_s": float(doc["duration"]),
            "sent": pick(doc, "requests", "sent")}


PARSERS = {"wrk": parse_wrk, "blast": parse_blast, "h2load": parse_h2load, "ab": parse_ab,
           "autocannon": parse_autocannon}


def cpu_snapshot(pids):
    """Busy and steal ticks of the whole machine, and CPU ticks of the processes pids (the
    servers)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq (guest is in user)
    steal = v[7] if len(v) > 7 else 0
    server = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            server += int(rest[11]) + int(rest[12])  # utime, stime: fields 14 and 15
        except (OSError, IndexError, ValueError):
            pass
    return {"busy": busy, "steal": steal, "server": server}


def cmd_snapshot(a):
    with open(a.out, "w") as f:
        json.dump(cpu_snapshot(a.pid or []), f)
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


def number(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def fold_samples(path):
    """What `sample` saw: the steady-phase VmRSS (median over the samples taken once the
    established-connection count had reached its maximum, less the last second), the peak."""
    try:
        with open(path) as f:
            smp = [json.loads(ln) for ln in f if ln.strip()]
    except OSError:
        return {}
    smp = [x for x in smp if x.get("rss_kib")]
    if not smp:
        return {}
    out = {"hwm_kib": max(x.get("hwm_kib") or 0 for x in smp), "samples": len(smp)}
    est = [x.get("established") for x in smp if x.get("established") is not None]
    if est:
        top = max(est)
        out["established_max"] = top
        full = [x for x in smp if (x.get("established") or 0) >= top * 0.999]
        t_end = smp[-1]["t"]
        steady = [x for x in full if x["t"] <= t_end - 1.0] or full
        out["established_steady"] = statistics.median(x["established"] for x in steady)
        if "per_src" in steady[-1]:
            out["per_src"] = steady[-1]["per_src"]
        if "fd_counts" in steady[-1]:
            out["target_open"] = " / ".join(f"{c:,}" if c is not None else "–"
                                            for c in steady[-1]["fd_counts"]) + " fds"
    else:
        steady = smp[len(smp) // 3: max(len(smp) // 3 + 1, 2 * len(smp) // 3)]
    out["steady_rss_kib"] = statistics.median(x["rss_kib"] for x in steady)
    out["steady_samples"] = len(steady)
    return out


def cmd_record(a):
    rec = {"case": a.case, "conns": a.conns, "tool": a.tool, "run": a.run, "rc": a.rc}
    if a.rate:
        rec["rate"] = a.rate
    for kv in a.extra:
        k, _, v = kv.partition("=")
        rec[k] = number(v)
    try:
        user, sys_, rss, csw, wall = parse_time(a.time)
        rec.update(user_s=user, sys_s=sys_, rss_kib=rss, csw=csw, wall_s=wall)
        if wall:
            rec["core_pct"] = (user + sys_) / wall * 100
        if a.before and a.after:
            rec.update(other_load(a.before, a.after, user + sys_))
        if a.samples:
            rec.update(fold_samples(a.samples))
        rec.update(PARSERS[a.format](a.output, a.scenario or a.case))
        if not rec.get("duration_s"):
            rec["duration_s"] = a.seconds
        n = rec["requests"]
        if n <= 0:
            raise ValueError("no request completed")
        rec["rps"] = n / rec["duration_s"]
        if wall and rec.get("run_s") is not None:
            rec["setup_s"] = wall - rec["run_s"]
        if a.rate and not rec.get("target"):
            # Peers that pace: what they completed per second of their own measured window.
            rec["target"], rec["achieved"] = a.rate, rec["rps"]
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
        extra = (f" steady-rss {rec['steady_rss_kib']:.0f} KiB est {rec.get('established_steady')}"
                 if "steady_rss_kib" in rec else "")
        print(f"  {a.case:5} c={a.conns:<5} {a.tool:10} run {a.run}: {rec['rps']:>10.0f} req/s "
              f"{rec['cpu_us']:6.2f} CPU-us/req (user {rec['user_us']:.2f}) "
              f"rss {rec['rss_kib']} KiB{extra}{other}  [{status}]", file=sys.stderr)
    else:
        print(f"  {a.case:5} c={a.conns:<5} {a.tool:10} run {a.run}: [{status}]", file=sys.stderr)
    return 0


def ss_established(port):
    """Established client-side TCP connections to 127.x:port, in all and per source address."""
    import subprocess
    try:
        out = subprocess.run(["ss", "-Htn", "state", "established", f"dport = :{port}"],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    per = {}
    n = 0
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) < 4:
            continue
        src = parts[2].rsplit(":", 1)[0]
        per[src] = per.get(src, 0) + 1
        n += 1
    return n, per


def cmd_sample(a):
    """Samples VmRSS (and established connections) of the pid in a.pidfile until it exits."""
    import os
    import time
    t0 = time.monotonic()
    pid = None
    while time.monotonic() - t0 < 10:
        try:
            with open(a.pidfile) as f:
                pid = int(f.read().strip())
            break
        except (OSError, ValueError):
            time.sleep(0.02)
    if pid is None:
        return 1
    t0 = time.monotonic()
    with open(a.out, "a") as out:
        while time.monotonic() - t0 < a.limit:
            rec = {"t": round(time.monotonic() - t0, 3)}
            try:
                with open(f"/proc/{pid}/status") as f:
                    for ln in f:
                        if ln.startswith("VmRSS:"):
                            rec["rss_kib"] = int(ln.split()[1])
                        elif ln.startswith("VmHWM:"):
                            rec["hwm_kib"] = int(ln.split()[1])
            except OSError:
                break
            if "rss_kib" not in rec:  # a zombie: the run is over
                break
            if a.fd_pid:
                counts = []
                for fp in a.fd_pid:
                    try:
                        counts.append(len(os.listdir(f"/proc/{fp}/fd")))
                    except OSError:
                        counts.append(None)
                rec["fd_counts"] = counts
            if a.port:
                n, per = ss_established(a.port)
                if n is not None:
                    rec["established"] = n
                    if len(per) > 1:
                        rec["per_src"] = per
            out.write(json.dumps(rec) + "\n")
            out.flush()
            time.sleep(max(0.0, a.every - (time.monotonic() - t0 - rec["t"])))
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


# ---------------------------------------------------------------- RESULTS.md sections

TITLE = "# blast benchmark results"
SECTION_ORDER = ["main", "pacing", "memory", "sources", "profile"]


def _markers(name):
    return (f"<!-- bench:{name} begin: generated by bench/, edits up to the end marker are "
            f"overwritten -->", f"<!-- bench:{name} end -->")


def splice(md_path, name, body):
    """Writes body as section `name` of md_path: replaces the section if it is there, else puts
    it before the first section that comes after it in SECTION_ORDER, else at the end. Text
    outside the markers (the hand-written summary) is kept."""
    import os
    begin, end = _markers(name)
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = open(md_path).read() if os.path.exists(md_path) else ""
    if "<!-- bench:" not in text and text.startswith(TITLE + "\n\nGenerated by `bench/run.sh`"):
        text = ""  # the single-section RESULTS.md of the first harness: replaced whole
    if not text.strip():
        text = TITLE + "\n\n"
    e = -1
    b = text.find(f"<!-- bench:{name} begin")
    if b >= 0:
        e = text.find(end, b)
    if b >= 0 and e >= 0:
        rest = text[e + len(end):].lstrip("\n")
        text = text[:b] + block + ("\n" + rest if rest else "")
    else:
        later = SECTION_ORDER[SECTION_ORDER.index(name) + 1:] if name in SECTION_ORDER else []
        pos = min([i for i in (text.find(f"<!-- bench:{n} begin") for n in later) if i >= 0],
                  default=-1)
        if pos >= 0:
            text = text[:pos] + block + "\n" + text[pos:]
        else:
            text = text.rstrip("\n") + "\n\n" + block
    with open(md_path, "w") as f:
        f.write(text)


def cmd_splice(a):
    with open(a.source) as f:
        splice(a.md, a.section, f.read())
    return 0


def machine_lines(m):
    return [
        f"- Machine: {m('cpu', '?')}, `nproc` = {m('nproc', '?')}, kernel `{m('kernel', '?')}`; "
        f"{m('blast', 'blast ?')}; generated {m('date', '?')}.",
    ]


def noise_note(recs):
    """One sentence on runs that shared the machine, or None."""
    noisy = [r for r in recs if (r.get("other_cpu_s") or 0) + (r.get("steal_s") or 0)
             > NOISY * (r.get("duration_s") or 1)]
    if not noisy:
        return None
    return (f"{len(noisy)} of {len(recs)} runs shared the machine: other processes' CPU "
            f"(median {statistics.median(r.get('other_cpu_s') or 0 for r in noisy):.2f} s) or "
            f"steal (median {statistics.median(r.get('steal_s') or 0 for r in noisy):.2f} s) "
            f"above {NOISY:.0%} of the run; throughput and latency of those runs are less "
            "trustworthy than CPU-µs/req.")


def quiet_note(recs):
    """The noise check's result when no run was flagged, so a reader sees it was made."""
    other = [r.get("other_cpu_s") for r in recs if r.get("other_cpu_s") is not None]
    steal = [r.get("steal_s") for r in recs if r.get("steal_s") is not None]
    if not other:
        return "no noise figures were recorded."
    return (f"none of the {len(recs)} runs was flagged (other processes' CPU + steal ≤ "
            f"{NOISY:.0%} of the run; median other CPU {statistics.median(other):.2f} s, max "
            f"{max(other):.2f} s; median steal {statistics.median(steal or [0]):.2f} s).")


def print_problems(recs, label):
    problems = [r for r in recs if "error" in r or "warning" in r]
    for r in problems:
        print(f"note: {label(r)} run {r['run']}: {r.get('error') or r.get('warning')}")
    return problems


def report_main(a, recs, m):
    rows = median_rows(recs)
    print(text_table(COLUMNS, rows))
    problems = print_problems(recs, lambda r: f"{r['case']} c={r['conns']} {r['tool']}")
    noise = noise_note(recs)
    if noise:
        print("note: " + noise)
    skipped = m("skipped")
    md = [
        "## Side by side: blast and its peers against nginx (`bench/run.sh`, `make bench`)",
        "",
        *machine_lines(m),
        f"- Peers: {m('versions', '?')}.",
        f"- Server: Debian nginx, one process (`master_process off`), pinned to CPU "
        f"{m('server_cpu', '1')}, on 127.0.0.1, `return 200 \"ok\\n\"`, access log off, "
        "`keepalive_requests 1000000`, `keepalive_timeout 300s`, `worker_connections "
        f"{m('worker_connections', '16384')}` (config: `bench/nginx.conf.in`).",
        f"- Client pinned to CPU {m('client_cpu', '0')} with `taskset`; one client thread "
        "(`wrk -t1`, `h2load -t1`, `blast --workers 1`; `ab` and autocannon are single-threaded).",
        f"- Runs: {m('runs', '?')} × {m('seconds', '?')} s per tool, case and connection count, "
        "interleaved (A1, B1, C1, …, A2, B2, …); the table shows the median of each column over "
        "the runs that completed (`runs` = completed/attempted).",
        f"- **sat**: closed-loop saturation with {m('conns', '?')} connections, each with one "
        "request outstanding: `wrk -t1 -cN -dTs`; `h2load --h1 -cN -t1 -D T`; "
        "`ab -k -cN -t T -n 100000000` (ab is HTTP/1.0 with `Connection: Keep-Alive`; each of its "
        "N concurrency slots is one connection, as for the others); "
        "`autocannon -j -n -cN -dT`; blast `executor = constant-vus`, `vus = N`.",
        f"- **paced**: open model at {m('rate', '?')} req/s: blast "
        "`executor = constant-arrival-rate`, `max_connections = pre_connections = N`; "
        f"`h2load --h1 -cN -t1 -D T --rps {m('rate', '?')}/N` (a per-connection rate); "
        f"`autocannon -R {m('rate', '?')}`. wrk and ab cannot pace (wrk2 is not in Debian), so "
        "their saturation cost is repeated there as the comparison point (`wrk (sat)`). For the "
        "peers `achieved` is completed requests per second of their own measured window.",
        "- Client cost: user + sys CPU seconds and max RSS of the client process from its "
        "`wait4` rusage (`bench/rusage.c`: the figures of `/usr/bin/time -f '%U %S %M'` at µs "
        "instead of 10 ms resolution), over the whole process lifetime (start-up and connection "
        "set-up included; for autocannon that includes starting node). CPU-µs/req = (user + sys) "
        "/ completed requests × 10⁶. `ctx-sw/1k req` = voluntary + involuntary context switches "
        "of the client per 1,000 requests: each is a sleep and a wake-up, the main cost of "
        "pacing.",
        "- Completed requests: wrk's `N requests in`; h2load's `done`; ab's `Complete requests`; "
        "autocannon's `requests.total`; blast's JSON `scenarios.NAME.requests.ok + failed`. "
        "req/s = requests / measured duration (each tool's own figure; blast's "
        "`scenarios.NAME.duration_s`).",
        "- blast latency columns come from its JSON: `lat` is corrected latency (from the "
        "intended start), `svc` the service time (from the actual send), `late` the send "
        "lateness (actual send − intended); `corr−uncorr p50` = latency p50 − service time p50, "
        "blast's own measurement error at this rate.",
        "- Noise check per run (every-run table): `server CPU s` is nginx's CPU time, `other CPU "
        "s` the machine's busy time spent on neither client nor server, `steal s` time the "
        "hypervisor gave our CPUs to others (`/proc/stat`, 10 ms ticks). A quiet machine shows a "
        "few % of the run as `other` (kernel threads, tick sampling); runs above 15% are "
        "flagged.",
    ]
    if skipped:
        md += [f"- Left out: {skipped}."]
    md += ["", "### Medians", "", md_table(COLUMNS, rows), ""]
    md += ["Noise: " + (noise + " (per run: `other CPU s`, `steal s` below.)" if noise
                        else quiet_note(recs)), ""]
    if problems:
        md += ["Problems seen:", ""]
        md += [f"- {r['case']} c={r['conns']} {r['tool']} run {r['run']}: "
               f"{r.get('error') or r.get('warning')}" for r in problems]
        md += [""]
    md += ["<details><summary>Every run</summary>", "", md_table(RAW_COLUMNS, raw_rows(recs)),
           "", "</details>"]
    return md


def spread(vals, spec):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    return f"{format(min(vals), spec)}–{format(max(vals), spec)}"


def groups_of(recs, key):
    g = {}
    for r in recs:
        g.setdefault(key(r), []).append(r)
    return g


PACING_COLUMNS = ["target req/s", "workers", "pacing_resolution", "runs", "achieved/target (median, min–max)",
                  "late p50/p99/max ms", "lat p50/p99 ms", "CPU-µs/req", "user-µs/req",
                  "% of one core", "ctx-sw/1k req", "RSS MiB", "failed/dropped", "noisy runs"]


def report_pacing(a, recs, m):
    rows = []
    for (rate, workers, res), rs in groups_of(
            recs, lambda r: (r["rate"], r["workers_arg"], str(r.get("resolution", "0")))).items():
        good = [r for r in rs if "error" not in r]
        runs = f"{len(good)}/{len(rs)}"
        if not good:
            rows.append([f"{rate:,.0f}", str(workers), res, runs] + ["–"] * 9 + ["all failed"])
            continue
        ratio = [r["achieved"] / r["target"] * 100 for r in good if r.get("achieved") and r.get("target")]
        rss = med(good, "rss_kib")
        noisy = sum(1 for r in good if (r.get("other_cpu_s") or 0) + (r.get("steal_s") or 0)
                    > NOISY * (r.get("duration_s") or 1))
        rows.append([
            f"{rate:,.0f}", str(workers), res, runs,
            f"{statistics.median(ratio):.3f}% ({spread(ratio, '.3f')})" if ratio else "–",
            f"{fmt(med(good, 'late_p50'), '.3f')}/{fmt(med(good, 'late_p99'), '.3f')}/"
            f"{fmt(med(good, 'late_max'), '.3f')}",
            f"{fmt(med(good, 'lat_p50'), '.3f')}/{fmt(med(good, 'lat_p99'), '.3f')}",
            fmt(med(good, "cpu_us"), ".2f"), fmt(med(good, "user_us"), ".3f"),
            f"{fmt(med(good, 'core_pct'), '.2f')}%", fmt(med(good, "csw_per_kreq"), ".1f"),
            fmt(rss / 1024 if rss else None, ".1f"),
            f"{sum(r.get('failed') or 0 for r in good)}/{sum(r.get('dropped') or 0 for r in good)}",
            f"{noisy}/{len(good)}"])
    print(text_table(PACING_COLUMNS, rows))
    print_problems(recs, lambda r: f"pacing {r['rate']:.0f}/s w={r['workers_arg']} "
                   f"res={r.get('resolution', '0')}")
    raw_h = ["target", "workers", "resolution", "run", "requests", "achieved", "achieved/target", "late p50/p99/max ms",
             "user s", "sys s", "wall s", "CPU-µs/req", "% core", "ctx-sw", "RSS KiB",
             "ok/failed/dropped", "server CPU s", "other CPU s", "steal s", "status"]
    raw = []
    for r in recs:
        g = lambda k, sp: fmt(r.get(k), sp)
        raw.append([f"{r['rate']:,.0f}", str(r["workers_arg"]), str(r.get("resolution", "0")),
                    str(r["run"]), g("requests", "d"),
                    g("achieved", ",.1f"),
                    f"{r['achieved'] / r['target'] * 100:.3f}%" if r.get("achieved") and r.get("target") else "–",
                    f"{g('late_p50', '.3f')}/{g('late_p99', '.3f')}/{g('late_max', '.3f')}",
                    g("user_s", ".3f"), g("sys_s", ".3f"), g("wall_s", ".2f"), g("cpu_us", ".2f"),
                    g("core_pct", ".2f"), g("csw", "d"), g("rss_kib", "d"),
                    f"{r.get('ok', '–')}/{r.get('failed', '–')}/{r.get('dropped', '–')}",
                    g("server_cpu_s", ".2f"), g("other_cpu_s", ".2f"), g("steal_s", ".2f"),
                    r.get("error") or r.get("warning") or "ok"])
    noise = noise_note(recs)
    md = [
        "## Pacing accuracy and cost (`bench/scale.sh pacing`)",
        "",
        *machine_lines(m),
        f"- blast `executor = constant-arrival-rate`, `rate = R/s`, `max_connections = "
        f"pre_connections = {m('conns', '?')}`, `pacing_resolution` as in its column "
        "(0: each request sent when due), {m('seconds', '?')} s, against nginx (one process, "
        f"CPU {m('server_cpu', '1')}); {m('runs', '?')} runs per row, interleaved over the rows.",
        f"- `--workers 1` runs are pinned to CPU {m('client_cpu', '0')}; `default` runs use "
        f"blast's default (one worker per online CPU, here {m('nproc', '?')}) and are not pinned "
        "(a second worker pinned to the client CPU would only share it), so they share CPU "
        f"{m('server_cpu', '1')} with nginx.",
        "- `achieved/target` is blast's own JSON `rate.achieved / rate.target` (completed "
        "requests per second of the scenario's window): the issue's goal is within 0.2%. "
        "`late` is the JSON's `send_lateness_ms` (actual send − intended start).",
        "- `% of one core` = (user + sys) / wall time of the whole blast process (start-up, "
        "connection set-up and the end of the run included), from `bench/rusage.c`; "
        "CPU-µs/req = (user + sys) / completed requests. The issue's goal: 10k req/s on ≤ 4% "
        "of one core.",
        "",
        md_table(PACING_COLUMNS, rows),
        "",
    ]
    md += ["Noise: " + (noise or quiet_note(recs)), ""]
    md += ["<details><summary>Every run</summary>", "", md_table(raw_h, raw), "", "</details>"]
    return md


def report_memory(a, recs, m):
    by = groups_of(recs, lambda r: r["conns"])
    cols = ["connections", "runs", "steady VmRSS KiB (median, min–max)", "peak RSS KiB",
            "established (steady)", "opened/max_open", "conns failed", "ok/failed/dropped",
            "CPU s", "noisy runs"]
    rows, steady = [], {}
    for conns, rs in sorted(by.items()):
        good = [r for r in rs if "error" not in r and r.get("steady_rss_kib")]
        if not good:
            rows.append([f"{conns:,}", f"0/{len(rs)}"] + ["–"] * 7 + ["all failed"])
            continue
        steady[conns] = med(good, "steady_rss_kib")
        noisy = sum(1 for r in good if (r.get("other_cpu_s") or 0) + (r.get("steal_s") or 0)
                    > NOISY * (r.get("duration_s") or 1))
        rows.append([f"{conns:,}", f"{len(good)}/{len(rs)}",
                     f"{steady[conns]:,.0f} ({spread([r['steady_rss_kib'] for r in good], ',.0f')})",
                     f"{med(good, 'rss_kib'):,.0f}", fmt(med(good, "established_steady"), ",.0f"),
                     f"{fmt(med(good, 'conns_opened'), ',.0f')}/{fmt(med(good, 'conns_max_open'), ',.0f')}",
                     str(sum(r.get("conns_failed") or 0 for r in good)),
                     f"{sum(r.get('ok') or 0 for r in good)}/{sum(r.get('failed') or 0 for r in good)}/"
                     f"{sum(r.get('dropped') or 0 for r in good)}",
                     f"{statistics.median((r.get('user_s') or 0) + (r.get('sys_s') or 0) for r in good):.2f}",
                     f"{noisy}/{len(good)}"])
    print(text_table(cols, rows))
    print_problems(recs, lambda r: f"memory c={r['conns']}")
    derived = []
    ks = sorted(steady)
    if len(ks) >= 2:
        lo, hi = ks[0], ks[-1]
        per = (steady[hi] - steady[lo]) * 1024 / (hi - lo)
        # Per run: pair the i-th run of each size (they ran interleaved, back to back).
        pairs = []
        los = [r for r in by[lo] if r.get("steady_rss_kib") and "error" not in r]
        his = [r for r in by[hi] if r.get("steady_rss_kib") and "error" not in r]
        for x, y in zip(los, his):
            pairs.append((y["steady_rss_kib"] - x["steady_rss_kib"]) * 1024 / (hi - lo))
        derived = [f"**Bytes per idle keep-alive connection** = (steady VmRSS at {hi:,} − at {lo:,}) "
                   f"/ {hi - lo:,} = **{per:,.0f} B** (from the medians; per run pair "
                   f"{', '.join(f'{p:,.0f}' for p in pairs)} B). The issue's goal: ≤ 2 KiB "
                   f"(2,048 B). Base (RSS at {lo:,} connections): {steady[lo] / 1024:.1f} MiB."]
        print(derived[0])
    raw_h = ["connections", "run", "steady VmRSS KiB", "VmHWM KiB", "peak RSS KiB (rusage)",
             "established max/steady", "samples (steady)", "opened/max_open/failed",
             "ok/failed/dropped", "user s", "sys s", "wall s", "other CPU s", "status"]
    raw = []
    for r in recs:
        g = lambda k, sp: fmt(r.get(k), sp)
        raw.append([f"{r['conns']:,}", str(r["run"]), g("steady_rss_kib", ",.0f"), g("hwm_kib", ",d"),
                    g("rss_kib", ",d"), f"{g('established_max', ',d')}/{g('established_steady', ',.0f')}",
                    f"{g('samples', 'd')} ({g('steady_samples', 'd')})",
                    f"{g('conns_opened', ',d')}/{g('conns_max_open', ',d')}/{g('conns_failed', ',d')}",
                    f"{r.get('ok', '–')}/{r.get('failed', '–')}/{r.get('dropped', '–')}",
                    g("user_s", ".3f"), g("sys_s", ".3f"), g("wall_s", ".2f"), g("other_cpu_s", ".2f"),
                    r.get("error") or r.get("warning") or "ok"])
    md = [
        "## Memory per idle connection (`bench/scale.sh memory`)",
        "",
        *machine_lines(m),
        f"- blast `--workers 1` (pinned to CPU {m('client_cpu', '0')}), `executor = "
        f"constant-arrival-rate`, `rate = {m('rate', '1/s')}`, `max_connections = pre_connections "
        f"= N`, {m('seconds', '?')} s, against nginx (one process, CPU {m('server_cpu', '1')}, "
        f"`worker_connections {m('worker_connections', '?')}`, open-file limit "
        f"{m('nginx_nofile', '?')}); {m('runs', '?')} runs per size, interleaved.",
        "- While blast runs, `bench.py sample` (pinned to the server CPU) reads its "
        "`/proc/PID/status` VmRSS and counts the established client connections to nginx's port "
        f"(`ss`) every {m('every', '0.5')} s. *Steady VmRSS* is the median over the samples "
        "taken once the established count had reached its maximum, leaving out the last second "
        "(the run's end). Peak RSS is the rusage maximum over the whole process (start-up "
        "included).",
        "- Kernel memory per socket (socket buffers, the fixed-file table) is not in RSS and not "
        "counted here. `noisy runs` counts the sampler's own CPU (python and `ss` walking 15k "
        "sockets) as other load, so it flags every run here; RSS does not depend on it.",
        "",
        md_table(cols, rows),
        "",
        *derived,
        "",
        "<details><summary>Every run</summary>", "", md_table(raw_h, raw), "", "</details>",
    ]
    return md


def report_sources(a, recs, m):
    cols = ["case", "target conns", "runs", "opened (median, min–max)", "max_open",
            "conns failed", "established (steady)", "set-up s", "steady VmRSS MiB", "peak RSS MiB",
            "ok/failed/dropped", "per source address (last run)", "per target process"]
    rows = []
    for case, rs in groups_of(recs, lambda r: r["case"]).items():
        good = [r for r in rs if "requests" in r]
        if not good:
            rows.append([case, f"{rs[0]['conns']:,}", f"0/{len(rs)}"] + ["–"] * 10)
            continue
        last = good[-1]
        per_src = last.get("per_src") or {}
        src = ", ".join(f"{k}: {v:,}" for k, v in sorted(per_src.items())) if per_src else "–"
        rss = med(good, "steady_rss_kib")
        rows.append([case, f"{rs[0]['conns']:,}", f"{len(good)}/{len(rs)}",
                     f"{med(good, 'conns_opened'):,.0f} ({spread([r.get('conns_opened') for r in good], ',')})",
                     fmt(med(good, "conns_max_open"), ",.0f"),
                     fmt(med(good, "conns_failed"), ",.0f"),
                     fmt(med(good, "established_steady"), ",.0f"),
                     fmt(med(good, "setup_s"), ".1f"),
                     fmt(rss / 1024 if rss else None, ".1f"),
                     fmt(med(good, "rss_kib") / 1024, ".1f"),
                     f"{sum(r.get('ok') or 0 for r in good)}/{sum(r.get('failed') or 0 for r in good)}/"
                     f"{sum(r.get('dropped') or 0 for r in good)}", src,
                     str(last.get("target_open") or "–")])
    print(text_table(cols, rows))
    print_problems(recs, lambda r: f"sources {r['case']}")
    raw_h = ["case", "run", "rc", "opened/max_open/failed", "established max/steady", "set-up s",
             "steady VmRSS KiB", "peak RSS KiB", "ok/failed/dropped", "failures", "user s", "sys s",
             "wall s", "target open", "status"]
    raw = []
    for r in recs:
        g = lambda k, sp: fmt(r.get(k), sp)
        fails = ", ".join(f"{k} {v}" for k, v in (r.get("failures") or {}).items() if v) or "–"
        raw.append([r["case"], str(r["run"]), str(r["rc"]),
                    f"{g('conns_opened', ',d')}/{g('conns_max_open', ',d')}/{g('conns_failed', ',d')}",
                    f"{g('established_max', ',d')}/{g('established_steady', ',.0f')}",
                    g("setup_s", ".1f"), g("steady_rss_kib", ",.0f"), g("rss_kib", ",d"),
                    f"{r.get('ok', '–')}/{r.get('failed', '–')}/{r.get('dropped', '–')}", fails,
                    g("user_s", ".2f"), g("sys_s", ".2f"), g("wall_s", ".2f"),
                    str(r.get("target_open") or "–"), r.get("error") or r.get("warning") or "ok"])
    md = [
        "## More connections than one source address allows (`bench/scale.sh sources`)",
        "",
        *machine_lines(m),
        f"- Ephemeral ports: `net.ipv4.ip_local_port_range` = {m('port_range', '?')} "
        f"({m('port_count', '?')} ports per source/destination address pair).",
        f"- Target: {m('targets', '2')} `build/blast-target --reuseport` processes sharing one "
        f"port on 127.0.0.1, pinned to CPU {m('server_cpu', '1')} (each is capped at "
        f"{m('nofile', '?')} descriptors, so one could not hold them all).",
        f"- blast `--workers 2` (unpinned: each worker holds its half in its own ring's "
        f"fixed-file table), `executor = constant-arrival-rate`, `rate = {m('rate', '?')}`, "
        f"`max_connections = pre_connections = {m('conns', '?')}`, `connect_timeout = "
        f"{m('connect_timeout', '?')}`, {m('seconds', '?')} s; {m('runs', '?')} runs per case, "
        "interleaved. **sources**: `source_addresses = 127.0.0.2-127.0.0.9` (8 addresses, "
        "`IP_BIND_ADDRESS_NO_PORT`); **control**: the same without `source_addresses` (every "
        "connection from 127.0.0.1).",
        "- `opened`, `max_open`, `conns failed` are the JSON's `connections.*`; `established` "
        "counts client-side ESTABLISHED sockets to the target port (`ss`, sampled every "
        f"{m('every', '1')} s while the run holds them); `per target process` is each target's open "
        "descriptor count (`/proc/PID/fd`, listener and epoll included) while the run holds "
        "them. `set-up s` = blast's wall time − its JSON `duration_s` (the run after t0): the "
        "time to open the pre-connections (and to start and exit).",
        "",
        md_table(cols, rows),
        "",
        "<details><summary>Every run</summary>", "", md_table(raw_h, raw), "", "</details>",
    ]
    return md


def cmd_report(a):
    recs = load(a.runs)
    meta = dict(kv.split("=", 1) for kv in a.meta)
    fn = {"main": report_main, "pacing": report_pacing, "memory": report_memory,
          "sources": report_sources}[a.kind]
    md = fn(a, recs, meta.get)
    if a.md:
        splice(a.md, a.kind, "\n".join(md))
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
    r.add_argument("--scenario", help="blast: the scenario's name (default: the case)")
    r.add_argument("--stderr", help="the client's stderr, quoted when it failed")
    r.add_argument("--before", help="bench.py snapshot taken before the run")
    r.add_argument("--after", help="bench.py snapshot taken after the run")
    r.add_argument("--samples", help="bench.py sample output for this run")
    r.add_argument("--extra", action="append", default=[], help="KEY=VALUE added to the record")
    r.set_defaults(fn=cmd_record)
    s = sub.add_parser("snapshot")
    s.add_argument("--pid", type=int, action="append", help="a server's pid (repeatable)")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_snapshot)
    m = sub.add_parser("sample")
    m.add_argument("--pidfile", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--port", type=int)
    m.add_argument("--every", type=float, default=0.5)
    m.add_argument("--limit", type=float, default=120.0, help="stop after this many seconds")
    m.add_argument("--fd-pid", type=int, action="append", default=[],
                   help="also count this process's open descriptors (a server; repeatable)")
    m.set_defaults(fn=cmd_sample)
    q = sub.add_parser("report")
    q.add_argument("--runs", required=True)
    q.add_argument("--md")
    q.add_argument("--kind", default="main", choices=["main", "pacing", "memory", "sources"])
    q.add_argument("--meta", action="append", default=[])
    q.set_defaults(fn=cmd_report)
    sp = sub.add_parser("splice")
    sp.add_argument("--md", required=True)
    sp.add_argument("--section", required=True)
    sp.add_argument("--from", dest="source", required=True)
    sp.set_defaults(fn=cmd_splice)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
