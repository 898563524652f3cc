#!/usr/bin/env bash
# bench/ramp.sh: the ramping executors at scale, on loopback, each run bounded in time.
#
# 1. ramping-arrival-rate from 1k to 50k req/s against nginx (one process, pinned to
#    BENCH_SERVER_CPU), blast on one worker pinned to BENCH_CLIENT_CPU: start_rate 1000/s,
#    RAMP_UP s to 50000/s, HOLD s at 50000/s, DOWN s back to 1000/s. Per stage: the arrivals its
#    integral asks for, those that came due, send lateness p99 (from blast's JSON), and the whole
#    run's completed requests against the integral; client CPU per request.
# 2. config/ramping-users.ini (seed 003: 0 -> 5,000 VUs over 42 minutes) at --stage-scale SCALE
#    against blast-target (unpinned, as is blast with two workers): blast's RSS and the target's
#    open connections (= VUs with a connection) sampled every 0.5 s: the RSS curve over the ramp,
#    and the peak.
#
# Environment: BENCH_RAMP_UP [10] BENCH_RAMP_HOLD [10] BENCH_RAMP_DOWN [5] BENCH_RAMP_PEAK [50000]
#   BENCH_USERS_SCALE [0.05] (seed 003's 42 min x 0.05 = 2.1 min) BENCH_SKIP ["" | rate | users]
#   BLAST [./blast] TARGET [build/blast-target] BENCH_CLIENT_CPU [0] BENCH_SERVER_CPU [1]
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

UP=${BENCH_RAMP_UP:-10}
HOLD=${BENCH_RAMP_HOLD:-10}
DOWN=${BENCH_RAMP_DOWN:-5}
PEAK=${BENCH_RAMP_PEAK:-50000}
SCALE=${BENCH_USERS_SCALE:-0.05}
SKIP=${BENCH_SKIP:-}

bench_init ramp
need_blast
ulimit -n 65536 2>/dev/null || log "cannot raise the open-file limit: $(ulimit -n)"

if [[ $SKIP != rate ]]; then
    start_nginx 65536
    SECS=$((UP + HOLD + DOWN))
    cat >"$TMP/rate.ini" <<EOF
[global]
base_url = $URL
workers = 1
[scenario r]
executor = ramping-arrival-rate
start_rate = 1000/s
stage = ${UP}s -> ${PEAK}/s
stage = ${HOLD}s -> ${PEAK}/s
stage = ${DOWN}s -> 1000/s
max_vus = 2000
pre_allocated_vus = 200
path = /
EOF
    run_client "$TMP/rate" "$BLAST" -c "$TMP/rate.ini" --quiet --out "json=$TMP/rate.json" ||
        log "ramp run exited $?"
    echo "ramping-arrival-rate 1000/s -> ${PEAK}/s (${UP}s), ${HOLD}s at ${PEAK}/s, -> 1000/s (${DOWN}s); nginx, 1 worker:"
    python3 - "$TMP/rate" <<'EOF'
import json, sys
pfx = sys.argv[1]
user, sys_, rss, vcs, ics, wall = open(pfx + ".time").read().split()
s = json.load(open(pfx + ".json"))["scenarios"]["r"]
exp = sum(st["expected"] for st in s["stages"])
req = s["requests"]
done = req["ok"] + req["failed"]
print(f"  {'stage':5s} {'duration':>8s} {'target/s':>9s} {'expected':>10s} {'scheduled':>10s}"
      f" {'late p50':>9s} {'late p99':>9s} {'late max':>9s}")
for i, st in enumerate(s["stages"], 1):
    l = st["send_lateness_ms"]
    print(f"  {i:<5d} {st['duration_s']:7.1f}s {st['target']:9.0f} {st['expected']:10.0f}"
          f" {st['scheduled']:10d} {l['p50']:8.3f}ms {l['p99']:8.3f}ms {l['max']:8.3f}ms")
print(f"  integral {exp:,.0f}; scheduled {req['scheduled']:,} ({(req['scheduled'] - exp) / exp * 100:+.3f}%);"
      f" completed {done:,} ({(done - exp) / exp * 100:+.3f}%), {req['failed']} failed,"
      f" {req['dropped']} dropped")
print(f"  client CPU {float(user) + float(sys_):.2f} s = {(float(user) + float(sys_)) / done * 1e6:.2f} us/request;"
      f" max RSS {int(rss) / 1024:.1f} MiB; latency p99 {s['latency_ms']['p99']:.3f} ms")
EOF
    stop_nginx
fi

if [[ $SKIP != users ]]; then
    [[ -x $TARGET ]] || die "no target server at $TARGET (run 'make')"
    PORT=$(free_port)
    "$TARGET" --port "$PORT" --quiet </dev/null >"$TMP/target.out" 2>&1 &
    SERVER_PIDS+=($!)
    wait_http "http://127.0.0.1:$PORT/" "${SERVER_PIDS[0]}" || die "blast-target did not start"
    # 42 minutes of stages; graceful stops on top
    SECS=$(python3 -c "print(int(42 * 60 * $SCALE) + 40)")
    export RUSAGE_PIDFILE=$TMP/users.pid
    rm -f "$RUSAGE_PIDFILE"
    BENCH_PIN=0-1 run_client "$TMP/users" "$BLAST" -c "$ROOT/config/ramping-users.ini" \
        -e "BASE_URL=http://127.0.0.1:$PORT" --stage-scale "$SCALE" --quiet \
        --out "json=$TMP/users.json" &
    runner=$!
    for _ in $(seq 100); do [[ -s $RUSAGE_PIDFILE ]] && break; sleep 0.1; done
    pid=$(cat "$RUSAGE_PIDFILE" 2>/dev/null || true)
    : >"$TMP/curve.txt"
    t0=$(date +%s.%N)
    while [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        open=$(python3 - "$PORT" <<'EOF' 2>/dev/null || echo 0
import json, sys, urllib.request
print(json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/admin/stats", timeout=2))["open"] - 1)
EOF
)
        echo "$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") ${rss:-0} $open" >>"$TMP/curve.txt"
        sleep 0.5
    done
    wait "$runner" || log "users run exited $?"
    echo
    echo "config/ramping-users.ini at --stage-scale $SCALE (0 -> 5,000 VUs), blast-target, 2 workers:"
    python3 - "$TMP/users" "$TMP/curve.txt" <<'EOF'
import json, sys
pfx, curve = sys.argv[1], sys.argv[2]
user, sys_, rss, vcs, ics, wall = open(pfx + ".time").read().split()
rows = [l.split() for l in open(curve) if len(l.split()) == 3]
d = json.load(open(pfx + ".json"))
s = next(iter(d["scenarios"].values()))
print("  t(s)   VUs open   RSS MiB   (every ~10% of the run)")
step = max(1, len(rows) // 10)
for r in rows[::step] + ([rows[-1]] if rows else []):
    print(f"  {float(r[0]):5.1f}  {int(r[2]):9d}  {int(r[1]) / 1024:8.1f}")
peak = max(rows, key=lambda r: int(r[1])) if rows else ["0", "0", "0"]
most = max((int(r[2]) for r in rows), default=0)
req = s["requests"]
print(f"  peak RSS {int(rss) / 1024:.1f} MiB (sampled: {int(peak[1]) / 1024:.1f} MiB at {float(peak[0]):.0f} s,"
      f" {int(peak[2])} VUs open); most VUs open {most}; {req['ok']:,} ok, {req['failed']} failed;"
      f" {s['iterations']['completed']:,} iterations; client CPU {float(user) + float(sys_):.1f} s")
EOF
fi
