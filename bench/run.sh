#!/usr/bin/env bash
# bench/run.sh: blast side by side with its peers against Debian nginx on loopback.
#
# nginx (one process) runs pinned to BENCH_SERVER_CPU with a generated config in a temp dir; each
# client run is pinned to BENCH_CLIENT_CPU and measured: user and sys CPU and max RSS from its
# wait4 rusage (bench/rusage.c, /usr/bin/time's figures at µs resolution). Runs are interleaved
# (tool A run 1, tool B run 1, A run 2, ...) so drift on the machine hits every tool alike. The
# medians go to stdout and to bench/RESULTS.md (bench/bench.py parses and tabulates). All load
# goes to 127.0.0.1 and every client run is bounded in time.
#
# Environment (defaults in brackets):
#   BENCH_RUNS [5]  BENCH_SECONDS [10]  BENCH_CONNS ["50"] (list, e.g. "50 1000")
#   BENCH_RATE [20000] req/s for the paced case   BENCH_CASES ["sat paced"]
#   BENCH_TOOLS ["blast wrk"]   BLAST [./blast; "skip" leaves blast out]   NGINX [/usr/sbin/nginx]
#   BENCH_CLIENT_CPU [0]  BENCH_SERVER_CPU [1]  BENCH_RESULTS [bench/RESULTS.md]
#   BENCH_KEEP=1 keeps the temp dir (configs, outputs, runs.jsonl) for inspection.
#
# Adding a peer (issue 4: h2load, ab, autocannon): write tool_NAME_sat (and tool_NAME_paced if it
# can pace), add NAME to FORMAT below and a parse_NAME to bench.py, and list it in BENCH_TOOLS.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-50}
RATE=${BENCH_RATE:-20000}
CASES=${BENCH_CASES:-sat paced}
TOOLS=${BENCH_TOOLS:-blast wrk}
CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
BLAST=${BLAST:-$ROOT/blast}
NGINX=${NGINX:-/usr/sbin/nginx}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
KEEP=${BENCH_KEEP:-0}
GRACE=30 # seconds a client may run past BENCH_SECONDS (set-up, drain) before it is killed

# The parser bench.py uses for each tool's output, and which file it reads.
declare -A FORMAT=([wrk]=wrk [blast]=blast)

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

TMP=
NGINX_PID=
CLIENT_PID=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $CLIENT_PID ]]; then
        # timeout(1) leads its own process group: end the client and everything under it.
        kill -TERM -- "-$CLIENT_PID" 2>/dev/null || kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
    fi
    if [[ -n $NGINX_PID ]]; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    if [[ -n $TMP && -d $TMP ]]; then
        if [[ $KEEP == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ checks

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer, not '$SECS'"
[[ $RATE =~ ^[1-9][0-9]*$ ]] || die "BENCH_RATE must be a positive integer (req/s), not '$RATE'"
for c in $CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNS: '$c' is not a count"; done

if [[ $BLAST == skip ]]; then
    TOOLS=$(tr ' ' '\n' <<<"$TOOLS" | grep -vx blast | tr '\n' ' ' || true)
else
    [[ -x $BLAST ]] || die "no blast binary at $BLAST (run 'make', or BLAST=skip to leave it out)"
    BLAST=$(cd "$(dirname "$BLAST")" && pwd)/$(basename "$BLAST")
fi
[[ -n ${TOOLS// /} ]] || die "no tool left to run"

for cmd in python3 taskset timeout cc "$NGINX"; do
    command -v "$cmd" >/dev/null || die "$cmd not found"
done
for t in $TOOLS; do
    [[ -n ${FORMAT[$t]:-} ]] || die "unknown tool '$t' (known: ${!FORMAT[*]})"
    [[ $t == blast ]] || command -v "$t" >/dev/null || die "$t not found (apt-get install -y $t)"
done
ncpu=$(nproc --all)
((CLIENT_CPU < ncpu && SERVER_CPU < ncpu)) ||
    die "needs CPUs $CLIENT_CPU and $SERVER_CPU, this machine has $ncpu"
maxconn=0
for c in $CONNS; do ((c > maxconn)) && maxconn=$c; done
if (($(ulimit -n) < maxconn + 100)); then
    ulimit -n $((maxconn + 100)) 2>/dev/null || die "ulimit -n $(ulimit -n) is too low for $maxconn connections"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/blast-bench.XXXXXX")
RUNS_FILE=$TMP/runs.jsonl
: >"$RUNS_FILE"
cc -O2 -Wall -Wextra -Werror -o "$TMP/rusage" "$HERE/rusage.c" || die "cannot build bench/rusage.c"

# ------------------------------------------------------------------ nginx

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
sed -e "s|@DIR@|$TMP|g" -e "s|@PORT@|$PORT|g" "$HERE/nginx.conf.in" >"$TMP/nginx.conf"
"$NGINX" -q -t -p "$TMP/" -e "$TMP/error.log" -c "$TMP/nginx.conf" >"$TMP/nginx-t.out" 2>&1 ||
    die "nginx rejects the config: $(cat "$TMP/nginx-t.out")"
taskset -c "$SERVER_CPU" "$NGINX" -p "$TMP/" -e "$TMP/error.log" -c "$TMP/nginx.conf" \
    </dev/null >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!

ready=0
for _ in $(seq 100); do
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null)"
    if python3 - "$URL/" <<'EOF' 2>/dev/null; then
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=1).read()
sys.exit(0 if body == b"ok\n" else 1)
EOF
        ready=1
        break
    fi
    sleep 0.1
done
((ready)) || die "nginx did not answer on $URL"
log "nginx pid $NGINX_PID on $URL (CPU $SERVER_CPU); clients on CPU $CLIENT_CPU"

# ------------------------------------------------------------------ clients

# run_client PREFIX CMD...: runs CMD pinned to the client CPU under rusage (what /usr/bin/time
# -f '%U %S %M' gives, at µs resolution), bounded by timeout(1); leaves PREFIX.time, PREFIX.out,
# PREFIX.err; returns CMD's exit status. The client runs in the background so that a Ctrl-C
# reaches the trap at once, not after the run.
run_client() {
    local pfx=$1
    shift
    timeout -k 5 $((SECS + GRACE)) taskset -c "$CLIENT_CPU" \
        "$TMP/rusage" "$pfx.time" "$@" \
        </dev/null >"$pfx.out" 2>"$pfx.err" &
    CLIENT_PID=$!
    local rc=0
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=
    return "$rc"
}

# blast_ini FILE NAME KEY=VALUE...: a one-scenario INI against nginx.
blast_ini() {
    local file=$1 name=$2
    shift 2
    {
        printf '[global]\nbase_url = %s\nduration = %ss\n\n[scenario %s]\n' "$URL" "$SECS" "$name"
        printf '%s\n' "$@" "path = /"
    } >"$file"
}

# tool_NAME_CASE CONNS PREFIX: one measured run. The parser input is PREFIX.out unless the tool
# writes PREFIX.json (see output_of).
tool_wrk_sat() {
    run_client "$2" wrk -t1 -c"$1" -d"${SECS}s" "$URL/"
}
tool_blast_sat() {
    blast_ini "$2.ini" sat "executor = constant-vus" "vus = $1"
    run_client "$2" "$BLAST" -c "$2.ini" --quiet --out "json=$2.json" --workers 1
}
tool_blast_paced() {
    blast_ini "$2.ini" paced "executor = constant-arrival-rate" "rate = $RATE/s" \
        "max_connections = $1" "pre_connections = $1"
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
log "$total runs of ${SECS}s (about $((total * (SECS + 1) / 60 + 1)) min): cases '$CASES', connections '$CONNS', tools '$TOOLS'"

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
                    --time "$pfx.time" --stderr "$pfx.err" --before "$pfx.before" --after "$pfx.after" --format "${FORMAT[$t]}" --output "$(output_of "$t" "$pfx")"
                kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died during $t $case run $run: $(tail -n 5 "$TMP/error.log")"
                sleep 0.5 # let the closed connections leave the stage before the next run
            done
        done
    done
done

# ------------------------------------------------------------------ report

first_line() { "$@" 2>&1 | head -n 1 || true; }
versions="$(first_line wrk -v | sed 's/ Copyright.*//'); $(first_line "$NGINX" -v)"
[[ $TOOLS == *blast* ]] && versions="$versions; $(first_line "$BLAST" --version)"
[[ $BLAST != skip ]] && [[ -d $ROOT/.git ]] &&
    versions="$versions (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
        git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes'))"

echo
rc=0
python3 "$HERE/bench.py" report --runs "$RUNS_FILE" --md "$RESULTS" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --meta "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
    --meta "nproc=$(nproc)" --meta "kernel=$(uname -r)" --meta "versions=$versions" \
    --meta "runs=$RUNS" --meta "seconds=$SECS" --meta "conns=${CONNS// /, }" --meta "rate=$RATE" \
    --meta "client_cpu=$CLIENT_CPU" --meta "server_cpu=$SERVER_CPU" || rc=$?
log "wrote $RESULTS"
((rc == 0)) || die "some runs failed (see the notes above and in $RESULTS)"
