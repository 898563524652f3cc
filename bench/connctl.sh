#!/usr/bin/env bash
# bench/connctl.sh: what the connection controls cost (keepalive = off, max_requests_per_conn).
#
# Against blast-target (pinned to BENCH_SERVER_CPU) on 127.0.0.1, blast on one worker pinned to
# BENCH_CLIENT_CPU, each case BENCH_RUNS times, interleaved (case A run 1, case B run 1, ...):
#   ka_sat     constant-vus, BENCH_VUS VUs at saturation, keep-alive (the default)
#   off_sat    the same with keepalive = off: a connect, a request and a close per request
#   mr100_sat  the same with max_requests_per_conn = 100
#   ka_paced   constant-arrival-rate at BENCH_RATE req/s over BENCH_CONNS VUs, keep-alive
#   off_paced  the same with keepalive = off
# Prints, per case, the medians of client CPU per request ((user + sys) / requests completed),
# requests per second, corrected and service p50, and the ratio of each keepalive = off case to
# its keep-alive twin. Figures only: nothing is written to bench/RESULTS.md. Every run is
# bounded by timeout(1) and every process started here is stopped by its pid.
#
# Environment (defaults in brackets): BENCH_RUNS [3]  BENCH_SECONDS [5]  BENCH_VUS [10]
#   BENCH_RATE [5000]  BENCH_CONNS [100]  BENCH_CASES ["ka_sat off_sat mr100_sat ka_paced off_paced"]
#   BLAST [./blast]  TARGET [build/blast-target]  BENCH_CLIENT_CPU [0]  BENCH_SERVER_CPU [1]
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-5}
VUS=${BENCH_VUS:-10}
RATE=${BENCH_RATE:-5000}
CONNS=${BENCH_CONNS:-100}
CASES=${BENCH_CASES:-ka_sat off_sat mr100_sat ka_paced off_paced}

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
[[ $SECS =~ ^[1-9][0-9]*$ && $SECS -le 60 ]] || die "BENCH_SECONDS must be 1..60, not '$SECS'"
[[ $VUS =~ ^[1-9][0-9]*$ ]] || die "BENCH_VUS must be a positive integer, not '$VUS'"
[[ $RATE =~ ^[1-9][0-9]*$ ]] || die "BENCH_RATE must be a positive integer (req/s), not '$RATE'"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNS must be a positive integer, not '$CONNS'"

bench_init connctl
need_blast
[[ -x $TARGET ]] || die "no target server at $TARGET (run 'make')"

PORT=$(free_port)
taskset -c "$SERVER_CPU" "$TARGET" --port "$PORT" --quiet </dev/null >"$TMP/target.out" 2>&1 &
SERVER_PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/" "${SERVER_PIDS[0]}" || die "blast-target did not start"
URL=http://127.0.0.1:$PORT

case_ini() { # CASE FILE
    local sat=("executor = constant-vus" "vus = $VUS")
    local paced=("executor = constant-arrival-rate" "rate = $RATE/s" "max_vus = $CONNS"
        "pre_connections = $CONNS")
    case $1 in
    ka_sat) blast_ini "$2" s "$URL" "${sat[@]}" ;;
    off_sat) blast_ini "$2" s "$URL" "${sat[@]}" "keepalive = off" ;;
    mr100_sat) blast_ini "$2" s "$URL" "${sat[@]}" "max_requests_per_conn = 100" ;;
    ka_paced) blast_ini "$2" s "$URL" "${paced[@]}" ;;
    off_paced) blast_ini "$2" s "$URL" "${paced[@]}" "keepalive = off" ;;
    *) die "unknown case '$1' (known: ka_sat off_sat mr100_sat ka_paced off_paced)" ;;
    esac
}

results=$TMP/results.txt
: >"$results"
log "$((RUNS * $(wc -w <<<"$CASES"))) runs of ${SECS}s against $URL: $CASES"
for run in $(seq "$RUNS"); do
    for c in $CASES; do
        pfx=$TMP/$c-$run
        case_ini "$c" "$pfx.ini"
        run_client "$pfx" "$BLAST" -c "$pfx.ini" --quiet --out "json=$pfx.json" --workers 1 ||
            log "$c run $run exited $?: $(tail -n 2 "$pfx.err")"
        python3 - "$pfx" "$c" >>"$results" <<'EOF'
import json, sys
pfx, case = sys.argv[1], sys.argv[2]
user, sys_, rss, vcs, ics, wall = open(pfx + ".time").read().split()
d = json.load(open(pfx + ".json"))["scenarios"]["s"]
n = d["requests"]["ok"] + d["requests"]["failed"]
print(case, n, d["requests"]["failed"], (float(user) + float(sys_)) / n * 1e6, n / d["duration_s"],
      d["latency_ms"]["p50"], d["service_time_ms"]["p50"], d["connections"]["opened"])
EOF
        sleep 0.5
    done
done

echo
echo "client CPU per request, blast-target on loopback ($VUS VUs at saturation; $RATE req/s over"
echo "$CONNS VUs paced; 1 worker, ${SECS}s, medians of $RUNS interleaved runs):"
python3 - "$results" "$CASES" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cases = sys.argv[2].split()
med = {}
print(f"  {'case':10s} {'CPU-us/req':>10s} {'req/s':>9s} {'conns/req':>9s} {'p50 corr':>9s}"
      f" {'p50 serv':>9s}  failed  runs (CPU-us/req)")
for case in cases:
    r = [x for x in rows if x[0] == case]
    if not r:
        continue
    m = lambda i: statistics.median(float(x[i]) for x in r)
    med[case] = m(3)
    print(f"  {case:10s} {m(3):10.2f} {m(4):9,.0f} {m(7) / m(1):9.3f} {m(5) * 1e3:7.0f}us"
          f" {m(6) * 1e3:7.0f}us  {sum(int(x[2]) for x in r):6d}  "
          + ", ".join(f"{float(x[3]):.2f}" for x in r))
for off, on in (("off_sat", "ka_sat"), ("mr100_sat", "ka_sat"), ("off_paced", "ka_paced")):
    if off in med and on in med:
        print(f"  {off} / {on} = {med[off] / med[on]:.2f}")
EOF
