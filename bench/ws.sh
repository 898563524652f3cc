#!/usr/bin/env bash
# bench/ws.sh: WebSocket figures on loopback against the bundled target (tools/target/ws.c).
#
#   1. Memory: blast's max RSS holding N idle sessions on one worker (workers = 1, no messages),
#      for N = WS_BASE_N (1000) and WS_IDLE_N (10000): (RSS(N) - RSS(base)) / (N - base) is the
#      cost of one more idle session. The base is 1000 because the worker's receive-buffer pool
#      grows with connections up to its fixed 2 MiB, reached at 512: below that, part of the pool
#      would be counted as per-session memory.
#   2. CPU: WS_RT_N (1000) sessions each sending one message a second (correlated echo) for
#      WS_SECONDS (20): client user + sys CPU divided by the replies matched.
# The target runs pinned to BENCH_SERVER_CPU, blast to BENCH_CLIENT_CPU; every process is
# stopped by its pid; every run is bounded by timeout(1). Prints one line per figure.
# The same round trips beside a peer (Artillery's ws engine): bench/ws_peers.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BLAST=${BLAST:-$ROOT/blast}
TARGET=${TARGET:-$ROOT/build/blast-target}
CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
IDLE_N=${WS_IDLE_N:-10000}
BASE_N=${WS_BASE_N:-1000}
RT_N=${WS_RT_N:-1000}
SECS=${WS_SECONDS:-20}
TMP=$(mktemp -d)
TPID=
cleanup() { [[ -n $TPID ]] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

taskset -c "$SERVER_CPU" "$TARGET" --port 0 --port-file "$TMP/port" --quiet &
TPID=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
PORT=$(cat "$TMP/port")

# run NAME VUS HOLD SEND: writes $TMP/NAME.json
run() {
    local name=$1 vus=$2 hold=$3 send=$4
    {
        printf '[global]\nbase_url = http://127.0.0.1:%s\nduration = %ss\nworkers = 1\n' "$PORT" "$hold"
        printf '[scenario s]\nexecutor = constant-vus\nvus = %s\npath = /api/v1/ws\n' "$vus"
        printf 'ws_hold = %ss\n' "$hold"
        if [[ $send == yes ]]; then
            printf 'ws_send = {"id":"{{ vu }}-{{ rand(1, 1000000000) }}","text":"hello"}\n'
            printf 'ws_interval = 1s\nws_expect = correlate $.id\n'
        fi
    } >"$TMP/$name.ini"
    timeout $((hold + 60)) taskset -c "$CLIENT_CPU" "$BLAST" -c "$TMP/$name.ini" --quiet \
        --out "json=$TMP/$name.json" >/dev/null 2>"$TMP/$name.err" || true
}

field() { # FILE EXPR (python on the JSON document d)
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

run base "$BASE_N" 8 no
run idle "$IDLE_N" 8 no
rb=$(field "$TMP/base.json" "d['client']['rss_max_kib']")
ri=$(field "$TMP/idle.json" "d['client']['rss_max_kib']")
si=$(field "$TMP/idle.json" "d['scenarios']['s']['ws']['ws_sessions']")
echo "idle sessions: $BASE_N -> ${rb} KiB, $IDLE_N -> ${ri} KiB (opened $si): $(( (ri - rb) * 1024 / (IDLE_N - BASE_N) )) bytes per session"

run rt "$RT_N" "$SECS" yes
field "$TMP/rt.json" "'round trips: %d sessions, %d replied of %d sent, client CPU %.3f s (user %.3f, sys %.3f): %.1f us per round trip; msg latency p50 %.3f ms p99 %.3f ms' % (d['scenarios']['s']['ws']['ws_sessions'], d['scenarios']['s']['ws']['replied'], d['scenarios']['s']['ws']['ws_msgs_sent'], d['client']['cpu_user_s'] + d['client']['cpu_sys_s'], d['client']['cpu_user_s'], d['client']['cpu_sys_s'], 1e6 * (d['client']['cpu_user_s'] + d['client']['cpu_sys_s']) / max(1, d['scenarios']['s']['ws']['replied']), d['scenarios']['s']['ws']['msg_latency_ms']['p50'], d['scenarios']['s']['ws']['msg_latency_ms']['p99'])"
