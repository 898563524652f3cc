#!/usr/bin/env bash
# bench/run.sh (`make bench`): blast side by side with its peers against Debian nginx on loopback.
#
# nginx (one process) runs pinned to BENCH_SERVER_CPU with a generated config in a temp dir; each
# client run is pinned to BENCH_CLIENT_CPU and measured: user and sys CPU and max RSS from its
# wait4 rusage (bench/rusage.c, /usr/bin/time's figures at µs resolution). Runs are interleaved
# (tool A run 1, tool B run 1, ..., A run 2, ...) so drift on the machine hits every tool alike.
# The medians go to stdout and to the "main" section of bench/RESULTS.md (bench/bench.py parses
# and tabulates; the other sections come from bench/scale.sh and bench/profile.sh). All load goes
# to 127.0.0.1 and every client run is bounded in time.
#
# Peers: wrk (Debian wrk), h2load --h1 (Debian nghttp2-client), ab (Debian apache2-utils), all
# installed with apt-get when missing and running as root, and the npm autocannon, installed into
# BENCH_NODE_DIR (outside the work tree) with npm; a peer that cannot be installed is left out and
# RESULTS.md says so.
#
# Environment (defaults in brackets):
#   BENCH_RUNS [5]  BENCH_SECONDS [10]  BENCH_CONNS ["50 1000"] (list)
#   BENCH_RATE [20000] req/s for the paced case   BENCH_CASES ["sat paced"]
#   BENCH_TOOLS ["blast blast_1ms wrk h2load ab autocannon"] (blast_1ms: pacing_resolution = 1ms, paced only)   BLAST [./blast; "skip" leaves blast out]
#   BLAST_BASE: a second blast binary, run as tool blast_base (before/after a change: add it to BENCH_TOOLS)
#   blast_gates (in BENCH_TOOLS): blast with thresholds and every CI output on; blast_outs: and
#   every time-series output too
#   NGINX [/usr/sbin/nginx]  BENCH_CLIENT_CPU [0]  BENCH_SERVER_CPU [1]
#   BENCH_RESULTS [bench/RESULTS.md]  BENCH_NODE_DIR [~/.cache/blast-bench/node]
#   BENCH_KEEP=1 keeps the temp dir (configs, outputs, runs.jsonl) for inspection.
#
# Adding a peer: write tool_NAME_sat (and tool_NAME_paced if it can pace), add NAME to FORMAT
# below and a parse_NAME to bench.py, and list it in BENCH_TOOLS.
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-50 1000}
RATE=${BENCH_RATE:-20000}
CASES=${BENCH_CASES:-sat paced}
TOOLS=${BENCH_TOOLS:-blast blast_1ms wrk h2load ab autocannon}

# The parser bench.py uses for each tool's output, and which file it reads.
declare -A FORMAT=([wrk]=wrk [blast]=blast [blast_1ms]=blast [blast_base]=blast [blast_gates]=blast [blast_outs]=blast
    [h2load]=h2load
    [ab]=ab [autocannon]=autocannon)
# The Debian package of each peer.
declare -A DEB=([wrk]=wrk [h2load]=nghttp2-client [ab]=apache2-utils)

# ------------------------------------------------------------------ checks

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer, not '$SECS'"
[[ $RATE =~ ^[1-9][0-9]*$ ]] || die "BENCH_RATE must be a positive integer (req/s), not '$RATE'"
for c in $CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNS: '$c' is not a count"; done

bench_init bench

if [[ $BLAST == skip ]]; then
    TOOLS=$(tr ' ' '\n' <<<"$TOOLS" | grep -vxE 'blast|blast_1ms|blast_gates|blast_outs' | tr '\n' ' ' || true)
else
    need_blast
fi

SKIPPED=()
AUTOCANNON=
kept=()
for t in $TOOLS; do
    [[ -n ${FORMAT[$t]:-} ]] || die "unknown tool '$t' (known: ${!FORMAT[*]})"
    case $t in
    blast | blast_1ms | blast_gates | blast_outs) ;;
    blast_base) [[ -x ${BLAST_BASE:-} ]] || die "blast_base needs BLAST_BASE=path/to/another/blast" ;;
    autocannon)
        if ! AUTOCANNON=$(ensure_autocannon); then
            log "autocannon: npm install failed (see below); left out"
            tail -n 5 "$TMP/npm-autocannon.log" >&2 2>/dev/null || true
            SKIPPED+=("autocannon (\`npm install autocannon\` failed: $(tail -n 1 "$TMP/npm-autocannon.log" 2>/dev/null || echo 'npm missing'))")
            continue
        fi
        ;;
    *)
        if ! ensure_deb "$t" "${DEB[$t]}"; then
            log "$t not found and apt-get install ${DEB[$t]} failed; left out"
            SKIPPED+=("$t (Debian ${DEB[$t]} not installable)")
            continue
        fi
        ;;
    esac
    kept+=("$t")
done
TOOLS="${kept[*]:-}"
[[ -n ${TOOLS// /} ]] || die "no tool left to run"

maxconn=0
for c in $CONNS; do ((c > maxconn)) && maxconn=$c; done
if (($(ulimit -n) < maxconn + 100)); then
    ulimit -n $((maxconn + 100)) 2>/dev/null || die "ulimit -n $(ulimit -n) is too low for $maxconn connections"
fi
WORKER_CONNECTIONS=$((maxconn + 1000 > 16384 ? maxconn + 1000 : 16384))

RUNS_FILE=$TMP/runs.jsonl
: >"$RUNS_FILE"
start_nginx "$WORKER_CONNECTIONS"
log "clients on CPU $CLIENT_CPU"

# ------------------------------------------------------------------ clients

# tool_NAME_CASE CONNS PREFIX: one measured run. The parser input is PREFIX.out unless the tool
# writes PREFIX.json (see output_of).
tool_wrk_sat() {
    run_client "$2" wrk -t1 -c"$1" -d"${SECS}s" "$URL/"
}
tool_h2load_sat() {
    run_client "$2" h2load --h1 -c"$1" -t1 -D "$SECS" "$URL/"
}
tool_h2load_paced() {
    # --rps is per connection: the total is RATE when it divides evenly (50, 1000 do).
    run_client "$2" h2load --h1 -c"$1" -t1 -D "$SECS" --rps "$((RATE / $1))" "$URL/"
}
tool_ab_sat() {
    # -t alone caps at 50,000 requests: -n lifts that, -t ends the run.
    run_client "$2" ab -k -q -c "$1" -t "$SECS" -n 100000000 "$URL/"
}
tool_autocannon_sat() {
    run_client "$2" "$AUTOCANNON" -j -n -c "$1" -d "$SECS" "$URL/"
}
tool_autocannon_paced() {
    run_client "$2" "$AUTOCANNON" -j -n -c "$1" -d "$SECS" -R "$RATE" "$URL/"
}
tool_blast_sat() {
    blast_ini "$2.ini" sat "$URL" "executor = constant-vus" "vus = $1"
    run_client "$2" "$BLAST" -c "$2.ini" --quiet --out "json=$2.json" --workers 1
}
tool_blast_paced() {
    blast_ini "$2.ini" paced "$URL" "executor = constant-arrival-rate" "rate = $RATE/s" \
        "max_connections = $1" "pre_connections = $1"
    run_client "$2" "$BLAST" -c "$2.ini" --quiet --out "json=$2.json" --workers 1
}
# blast_base: another blast binary ($BLAST_BASE, e.g. the last commit's build), the same cases:
# a before/after comparison of a change in one interleaved run.
tool_blast_base_sat() { BLAST=$BLAST_BASE tool_blast_sat "$@"; }
tool_blast_base_paced() { BLAST=$BLAST_BASE tool_blast_paced "$@"; }
# blast_gates: blast with thresholds (one with abort_on_fail, so live totals are taken every
# second) and every CI output on: what the verdicts cost.
GATES=("threshold = http_req_duration p(95) < 10s" "threshold = http_req_failed rate < 1%"
    "threshold = http_reqs rate > 1/s" "threshold = http_req_duration p(99) < 30s, abort_on_fail")
gates_outs() { echo "--out json=$1.json --out junit=$1.xml --out k6-summary=$1.k6.json --out markdown=$1.md"; }
tool_blast_gates_sat() {
    blast_ini "$2.ini" sat "$URL" "executor = constant-vus" "vus = $1" "${GATES[@]}"
    # shellcheck disable=SC2046 # the options are words
    run_client "$2" "$BLAST" -c "$2.ini" --quiet $(gates_outs "$2") --workers 1
}
# blast_outs: blast_gates plus every time-series output (csv, ndjson, html, hdrlog and a
# Prometheus scrape endpoint on a free loopback port): what the outputs issue's outputs cost.
outs_all() { echo "$(gates_outs "$1") --out csv=$1.csv --out ndjson=$1.ndjson --out html=$1.html --out hdrlog=$1.hlog --out prometheus=127.0.0.1:$(free_port)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tool_blast_outs_sat() {
    blast_ini "$2.ini" sat "$URL" "executor = constant-vus" "vus = $1" "${GATES[@]}"
    # shellcheck disable=SC2046
    run_client "$2" "$BLAST" -c "$2.ini" --quiet $(outs_all "$2") --workers 1
}
tool_blast_outs_paced() {
    blast_ini "$2.ini" paced "$URL" "executor = constant-arrival-rate" "rate = $RATE/s" \
        "max_connections = $1" "pre_connections = $1" "${GATES[@]}"
    # shellcheck disable=SC2046
    run_client "$2" "$BLAST" -c "$2.ini" --quiet $(outs_all "$2") --workers 1
}
tool_blast_gates_paced() {
    blast_ini "$2.ini" paced "$URL" "executor = constant-arrival-rate" "rate = $RATE/s" \
        "max_connections = $1" "pre_connections = $1" "${GATES[@]}"
    # shellcheck disable=SC2046
    run_client "$2" "$BLAST" -c "$2.ini" --quiet $(gates_outs "$2") --workers 1
}
# blast with pacing_resolution = 1ms: sends batched on a 1 ms grid (paced case only).
tool_blast_1ms_paced() {
    blast_ini "$2.ini" paced "$URL" "executor = constant-arrival-rate" "rate = $RATE/s" \
        "max_connections = $1" "pre_connections = $1" "pacing_resolution = 1ms"
    run_client "$2" "$BLAST" -c "$2.ini" --quiet --out "json=$2.json" --workers 1
}
output_of() { # TOOL PREFIX
    case ${FORMAT[$1]} in
    blast) echo "$2.json" ;;
    *) echo "$2.out" ;;
    esac
}

total=0
for case in $CASES; do
    for t in $TOOLS; do
        if declare -F "tool_${t}_$case" >/dev/null; then total=$((total + RUNS)); fi
    done
done
total=$((total * $(wc -w <<<"$CONNS")))
log "$total runs of ${SECS}s (about $((total * (SECS + 2) / 60 + 1)) min): cases '$CASES', connections '$CONNS', tools '$TOOLS'"

n=0
for case in $CASES; do
    for conns in $CONNS; do
        for run in $(seq "$RUNS"); do
            for t in $TOOLS; do
                declare -F "tool_${t}_$case" >/dev/null || continue
                n=$((n + 1))
                pfx=$TMP/$case-c$conns-$t-$run
                rc=0
                python3 "$HERE/bench.py" snapshot --pid "$NGINX_PID" --out "$pfx.before"
                "tool_${t}_$case" "$conns" "$pfx" || rc=$?
                python3 "$HERE/bench.py" snapshot --pid "$NGINX_PID" --out "$pfx.after"
                if ((rc != 0 && rc != 99)); then
                    log "[$n/$total] $t $case c=$conns run $run exited $rc; its stderr ends:"
                    tail -n 5 "$pfx.err" >&2 || true
                fi
                rate_arg=()
                [[ $case == paced ]] && rate_arg=(--rate "$RATE")
                python3 "$HERE/bench.py" record --out "$RUNS_FILE" --case "$case" --conns "$conns" \
                    --tool "$t" --run "$run" --rc "$rc" --seconds "$SECS" "${rate_arg[@]}" \
                    --time "$pfx.time" --stderr "$pfx.err" --before "$pfx.before" --after "$pfx.after" \
                    --format "${FORMAT[$t]}" --output "$(output_of "$t" "$pfx")"
                kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died during $t $case run $run: $(tail -n 5 "$TMP/error.log")"
                sleep 0.5 # let the closed connections leave the stage before the next run
            done
        done
    done
done

# ------------------------------------------------------------------ report

first_line() { "$@" 2>&1 | head -n 1 || true; }
versions=()
for t in $TOOLS; do
    case $t in
    wrk) versions+=("$(first_line wrk -v | sed 's/ Copyright.*//')") ;;
    h2load) versions+=("$(first_line h2load --version)") ;;
    ab) versions+=("ab $(dpkg-query -W -f='${Version}' apache2-utils 2>/dev/null || first_line ab -V)") ;;
    autocannon) versions+=("autocannon $(first_line "$AUTOCANNON" --version | sed 's/autocannon v//') ($(node --version 2>/dev/null))") ;;
    esac
done
versions+=("$(first_line "$NGINX" -v | sed 's/nginx version: //')")
skipped=
((${#SKIPPED[@]})) && skipped=$(IFS=';'; echo "${SKIPPED[*]}")

echo
rc=0
mapfile -t meta < <(machine_meta)
python3 "$HERE/bench.py" report --kind main --runs "$RUNS_FILE" --md "$RESULTS" "${meta[@]}" \
    --meta "versions=$(IFS=','; echo "${versions[*]}" | sed 's/,/, /g')" \
    --meta "skipped=$skipped" --meta "worker_connections=$WORKER_CONNECTIONS" \
    --meta "runs=$RUNS" --meta "seconds=$SECS" --meta "conns=${CONNS// /, }" --meta "rate=$RATE" || rc=$?
[[ $KEEP == 1 ]] && cp "$RUNS_FILE" "$TMP/runs-main.jsonl"
log "wrote $RESULTS"
((rc == 0)) || die "some runs failed (see the notes above and in $RESULTS)"
