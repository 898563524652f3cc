#!/usr/bin/env bash
# bench/connctl.sh [cost|hotpath]: what the connection controls cost.
#
# cost (the default): keepalive = off and max_requests_per_conn beside keep-alive.
# Against blast-target (pinned to BENCH_SERVER_CPU) on 127.0.0.1, blast on one worker pinned to
# BENCH_CLIENT_CPU, each case BENCH_RUNS times, interleaved (case A run 1, case B run 1, ...):
#   ka_sat     constant-vus, BENCH_VUS VUs at saturation, keep-alive (the default)
#   off_sat    the same with keepalive = off: a connect, a request and a close per request
#   mr100_sat  the same with max_requests_per_conn = 100
#   ka_paced   constant-arrival-rate at BENCH_RATE req/s over BENCH_CONNS VUs, keep-alive
#   off_paced  the same with keepalive = off
# Prints, per case, the medians of client CPU per request ((user + sys) / requests completed),
# requests per second, corrected and service p50, and the ratio of each keepalive = off case to
# its keep-alive twin.
#
# hotpath: what the check costs with no control set, by a count that machine noise does not
# move: user-space instructions per request under valgrind --tool=callgrind, from the difference
# of a CG_SHORT and a CG_LONG run (start-up and teardown cancel out), for BLAST_BASE (a build
# from before the controls), BLAST with none set, and BLAST with limits set that are never
# reached (max_requests_per_conn = 1000000000, conn_lifetime = 1h); at saturation (constant-vus,
# CG_VUS VUs) and paced (CG_RATE req/s over CG_CONNS connections), CG_RUNS pairs each.
#
# Figures only: nothing is written to bench/RESULTS.md. Every run is bounded by timeout(1) and
# every process started here is stopped by its pid.
#
# Environment (defaults in brackets): BENCH_RUNS [3]  BENCH_SECONDS [5]  BENCH_VUS [10]
#   BENCH_RATE [5000]  BENCH_CONNS [100]  BENCH_CASES ["ka_sat off_sat mr100_sat ka_paced off_paced"]
#   BLAST [./blast]  TARGET [build/blast-target]  BENCH_CLIENT_CPU [0]  BENCH_SERVER_CPU [1]
#   hotpath: BLAST_BASE (required)  CG_RUNS [2]  CG_SHORT [2]  CG_LONG [5] (seconds)  CG_VUS [10]
#   CG_RATE [2000]  CG_CONNS [50]
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

MODE=${1:-cost}
[[ $MODE == cost || $MODE == hotpath ]] || die "usage: bench/connctl.sh [cost|hotpath]"
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

if [[ $MODE == hotpath ]]; then
    CG_RUNS=${CG_RUNS:-2}
    CG_SHORT=${CG_SHORT:-2}
    CG_LONG=${CG_LONG:-5}
    CG_VUS=${CG_VUS:-10}
    CG_RATE=${CG_RATE:-2000}
    CG_CONNS=${CG_CONNS:-50}
    [[ -x ${BLAST_BASE:-} ]] || die "hotpath needs BLAST_BASE=path/to/a/blast/built/before/the/controls"
    ensure_deb valgrind valgrind || die "valgrind not found and not installable"
    cg=$TMP/callgrind.txt
    : >"$cg"
    for run in $(seq "$CG_RUNS"); do
        for c in sat paced; do
            for b in base none unreached; do
                bin=$BLAST
                [[ $b == base ]] && bin=$BLAST_BASE
                more=()
                [[ $b == unreached ]] && more=("max_requests_per_conn = 1000000000" "conn_lifetime = 1h")
                for d in "$CG_SHORT" "$CG_LONG"; do
                    pfx=$TMP/cg-$c-$b-$run-$d
                    if [[ $c == sat ]]; then
                        SECS=$d blast_ini "$pfx.ini" s "$URL" "executor = constant-vus" \
                            "vus = $CG_VUS" "${more[@]}"
                    else
                        SECS=$d blast_ini "$pfx.ini" s "$URL" "executor = constant-arrival-rate" \
                            "rate = $CG_RATE/s" "max_vus = $CG_CONNS" "pre_connections = $CG_CONNS" \
                            "${more[@]}"
                    fi
                    SECS=$((d * 10)) run_client "$pfx" valgrind --tool=callgrind \
                        --callgrind-out-file="$pfx.cg" "$bin" -c "$pfx.ini" --quiet \
                        --out "json=$pfx.json" --workers 1 ||
                        die "callgrind $c $b ${d}s exited $?: $(tail -n 2 "$pfx.err")"
                done
                python3 - "$TMP/cg-$c-$b-$run" "$CG_SHORT" "$CG_LONG" "$c" "$b" >>"$cg" <<'EOF'
import json, sys
pfx, short, long_, case, build = sys.argv[1:6]
def one(d):
    ir = next(int(l.split()[1]) for l in open(f"{pfx}-{d}.cg") if l.startswith("summary:"))
    r = json.load(open(f"{pfx}-{d}.json"))["scenarios"]["s"]["requests"]
    return ir, r["ok"] + r["failed"], r["failed"]
(i1, n1, f1), (i2, n2, f2) = one(short), one(long_)
print(case, build, (i2 - i1) / (n2 - n1), n1, n2, f1 + f2)
EOF
                log "callgrind $c $b pair $run: $(tail -n 1 "$cg" | awk '{printf "%.0f Ir/request", $3}')"
            done
        done
    done
    echo
    echo "user-space instructions per request (callgrind, ${CG_LONG}s minus ${CG_SHORT}s, 1 worker,"
    echo "against blast-target; median of $CG_RUNS pairs; sat: $CG_VUS VUs, paced: $CG_RATE req/s over $CG_CONNS):"
    python3 - "$cg" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for case in ("sat", "paced"):
    med = {}
    for b in ("base", "none", "unreached"):
        r = [float(x[2]) for x in rows if x[0] == case and x[1] == b]
        med[b] = statistics.median(r)
        failed = sum(int(x[5]) for x in rows if x[0] == case and x[1] == b)
        print(f"  {case:5s} {b:9s} {med[b]:8,.0f}  (pairs: {', '.join(f'{v:,.0f}' for v in r)};"
              f" failed {failed})")
    print(f"  {case:5s} none / base = {med['none'] / med['base']:.4f}, unreached / base ="
          f" {med['unreached'] / med['base']:.4f}")
EOF
    exit 0
fi

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
