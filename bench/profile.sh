#!/usr/bin/env bash
# bench/profile.sh: where blast's CPU goes. Writes the "profile" section of bench/RESULTS.md.
#
#  1. perf record -g (cpu-clock: this VM has no hardware PMU) of `blast --workers 1` pinned to the
#     client CPU, against nginx on the server CPU: at saturation (constant-vus, 50 VUs) and paced
#     (20k req/s; exact, and paced1ms with pacing_resolution = 1ms); the kernel vs user split by
#     dso and the top kernel and user symbols.
#  2. valgrind --tool=callgrind of `blast --workers 1` at a small fixed rate (2,000 req/s) for a
#     short and a long duration: the difference gives user-space instructions per request with
#     start-up and teardown cancelled out, per function.
# Installs linux-perf and valgrind with apt-get when missing (as root). All traffic to 127.0.0.1;
# every run bounded by timeout(1); nginx stopped by its pid.
#
# Environment (defaults in brackets): BLAST [./blast]  BENCH_CLIENT_CPU [0]  BENCH_SERVER_CPU [1]
#   BENCH_RESULTS [bench/RESULTS.md]  BENCH_KEEP
#   PROFILE_RUNS [3]  PROFILE_SECONDS [10]  PROFILE_CASES ["sat paced paced1ms"]  PROFILE_VUS [50]
#   PROFILE_RATE [20000]  PROFILE_FREQ [4000] (samples/s)
#   CG_RUNS [3]  CG_RATE [2000]  CG_SHORT [2]  CG_LONG [5] (seconds)  CG_CONNS [50]
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

RUNS=${PROFILE_RUNS:-3}
SECS=${PROFILE_SECONDS:-10}
CASES=${PROFILE_CASES:-sat paced paced1ms}
VUS=${PROFILE_VUS:-50}
RATE=${PROFILE_RATE:-20000}
FREQ=${PROFILE_FREQ:-4000}
CG_RUNS=${CG_RUNS:-3}
CG_RATE=${CG_RATE:-2000}
CG_SHORT=${CG_SHORT:-2}
CG_LONG=${CG_LONG:-5}
CG_CONNS=${CG_CONNS:-50}

bench_init profile
need_blast
mapfile -t META < <(machine_meta)
PY="python3 $HERE/profile.py"
notes=()

have_perf=1
ensure_deb perf linux-perf || { have_perf=0; notes+=(--meta "perf_note=perf not installable"); }
have_vg=1
ensure_deb valgrind valgrind || { have_vg=0; notes+=(--meta "cg_note=valgrind not installable"); }
command -v callgrind_annotate >/dev/null || have_vg=0

start_nginx 16384
PERF_RUNS=$TMP/perf.jsonl
CG_RUNS_FILE=$TMP/callgrind.jsonl
: >"$PERF_RUNS"
: >"$CG_RUNS_FILE"

ini_for() { # CASE FILE DURATION_S
    local url=$URL
    case $1 in
    sat) SECS=$3 blast_ini "$2" "$1" "$url" "executor = constant-vus" "vus = $VUS" ;;
    paced) SECS=$3 blast_ini "$2" "$1" "$url" "executor = constant-arrival-rate" "rate = $RATE/s" \
        "max_connections = $VUS" "pre_connections = $VUS" ;;
    paced1ms) SECS=$3 blast_ini "$2" "$1" "$url" "executor = constant-arrival-rate" \
        "rate = $RATE/s" "max_connections = $VUS" "pre_connections = $VUS" "pacing_resolution = 1ms" ;;
    cg) SECS=$3 blast_ini "$2" "$1" "$url" "executor = constant-arrival-rate" "rate = $CG_RATE/s" \
        "max_connections = $CG_CONNS" "pre_connections = $CG_CONNS" ;;
    esac
}

if ((have_perf)); then
    for run in $(seq "$RUNS"); do
        for case in $CASES; do
            pfx=$TMP/perf-$case-$run
            ini_for "$case" "$pfx.ini" "$SECS"
            # perf runs on the server CPU, blast (under rusage, for its CPU times) on the client's.
            rc=0
            timeout -k 5 $((SECS + GRACE)) taskset -c "$SERVER_CPU" \
                perf record -q -g -e cpu-clock -F "$FREQ" -o "$pfx.data" -- \
                taskset -c "$CLIENT_CPU" "$TMP/rusage" "$pfx.time" \
                "$BLAST" -c "$pfx.ini" --quiet --out "json=$pfx.json" --workers 1 \
                </dev/null >"$pfx.out" 2>"$pfx.err" || rc=$?
            if ((rc != 0)); then
                log "perf $case run $run exited $rc: $(tail -n 2 "$pfx.err")"
                continue
            fi
            rep=(perf report -i "$pfx.data" --stdio -q -g none)
            "${rep[@]}" --no-children --sort dso >"$pfx.dso" 2>/dev/null
            "${rep[@]}" --no-children --sort dso,sym >"$pfx.sym" 2>/dev/null
            "${rep[@]}" --children --sort dso,sym >"$pfx.children" 2>/dev/null
            # Who calls the three hottest kernel symbols (self time), two levels up the stack.
            hot=$(awk '$3 == "[k]" && n++ < 3 {print $4}' "$pfx.sym" | paste -sd, -)
            perf report -i "$pfx.data" --stdio -q --no-children --sort sym --symbols="$hot" \
                -g callee,0.5,2 --max-stack=6 2>/dev/null | sed -e '/^[[:space:]]*$/d' >"$pfx.callers" || true
            $PY perf --case "$case" --run "$run" --report-dso "$pfx.dso" --report-sym "$pfx.sym" \
                --report-children "$pfx.children" --callers "$pfx.callers" --json "$pfx.json" --time "$pfx.time" \
                >>"$PERF_RUNS"
            log "perf $case run $run: $(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); print({k: round(v, 1) for k, v in r["dso"].items()})' "$PERF_RUNS")"
            rm -f "$pfx.data"
            sleep 0.5
        done
    done
fi

if ((have_vg)); then
    for run in $(seq "$CG_RUNS"); do
        for d in "$CG_SHORT" "$CG_LONG"; do
            pfx=$TMP/cg-$run-$d
            ini_for cg "$pfx.ini" "$d"
            rc=0
            SECS=$((d * 10)) run_client "$pfx" valgrind --tool=callgrind \
                --callgrind-out-file="$pfx.cg" "$BLAST" -c "$pfx.ini" --quiet \
                --out "json=$pfx.json" --workers 1 || rc=$?
            ((rc == 0)) || { log "callgrind run $run ${d}s exited $rc: $(tail -n 2 "$pfx.err")"; continue 2; }
            callgrind_annotate --inclusive=no --threshold=100 --auto=no "$pfx.cg" >"$pfx.ann" 2>/dev/null
        done
        $PY callgrind --run "$run" --short "$TMP/cg-$run-$CG_SHORT.ann" --long "$TMP/cg-$run-$CG_LONG.ann" \
            --short-json "$TMP/cg-$run-$CG_SHORT.json" --long-json "$TMP/cg-$run-$CG_LONG.json" \
            >>"$CG_RUNS_FILE"
        log "callgrind pair $run: $(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); print(round(sum(v for v in r["per_req"].values() if v)), "Ir/request")' "$CG_RUNS_FILE")"
    done
fi

stop_nginx
$PY report --perf "$PERF_RUNS" --callgrind "$CG_RUNS_FILE" --md "$RESULTS" "${META[@]}" \
    "${notes[@]}" --meta "runs=$RUNS" --meta "seconds=$SECS" --meta "vus=$VUS" \
    --meta "rate=$RATE" --meta "freq=$FREQ" --meta "cg_rate=$CG_RATE" --meta "cg_conns=$CG_CONNS" \
    --meta "cg_short=$CG_SHORT" --meta "cg_long=$CG_LONG" >/dev/null
log "wrote the profile section of $RESULTS"
