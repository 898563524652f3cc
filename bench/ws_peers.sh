#!/usr/bin/env bash
# bench/ws_peers.sh: blast's WebSocket client side by side with a peer (Artillery's ws engine)
# on one workload against the bundled target's echo endpoint (build/blast-target, /api/v1/ws).
#
# Workload: WSP_SESSIONS (1000) sessions, each sending one JSON message a second with a
# correlation id and waiting for its echo, for WSP_SECONDS (20) s. The target runs pinned to
# BENCH_SERVER_CPU, each client to BENCH_CLIENT_CPU, under bench/rusage (wait4 rusage of the
# client and everything it started). Client CPU per round trip = (user + sys) / echoes the tool
# reports as received. Runs are interleaved (blast 1, artillery 1, ..., blast 2, ...), WSP_RUNS
# (3) rounds; the medians are printed with each tool's own counts and latencies.
#
# Tools (WSP_TOOLS, default "blast blast_spread artillery artillery_rtt"):
#   blast          constant-vus, workers = 1, ws_interval = 1s (paced from intended time),
#                  ws_expect = correlate $.id, ws_hold = WSP_SECONDS: all sessions open at once,
#                  so their sends come due together, once a second
#   blast_spread   the same with ramping-vus 0 -> N over the first second: the sessions open, and
#                  so send, spread over each second, as Artillery's do
#   artillery      Artillery 2 (npm, installed into BENCH_NODE_DIR with npm, browsers skipped),
#                  engine ws, WORKERS=1, all sessions arrive within 1 s, each loops WSP_SECONDS
#                  times over { send with match on $.id, think 1 s }: it waits for each echo
#                  before thinking, so its interval is 1 s + the round trip
#   artillery_rtt  the same, with a processor that times each send to its matched echo and emits
#                  it as a histogram (ws_echo_ms): Artillery's ws engine reports no message
#                  latency of its own
# Each tool also runs a fixed-cost case once per round (one session for 2 s: blast sends one
# message, Artillery two), so its start-up CPU (Node and module loading for Artillery) can be set
# apart from the per-message cost.
#
# Everything goes to 127.0.0.1; each client run is bounded by timeout(1) (WSP_SECONDS + GRACE);
# every process started here is stopped by its pid. BENCH_KEEP=1 keeps the configs and outputs.
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

RUNS=${WSP_RUNS:-3}
SECS=${WSP_SECONDS:-20}
N=${WSP_SESSIONS:-1000}
TOOLS=${WSP_TOOLS:-blast blast_spread artillery artillery_rtt}
ARTILLERY_VERSION=${WSP_ARTILLERY_VERSION:-2.0.34}
# shellcheck disable=SC2034 # read by run_client (lib.sh)
GRACE=60

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "WSP_RUNS must be a positive integer, not '$RUNS'"
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "WSP_SECONDS must be a positive integer, not '$SECS'"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "WSP_SESSIONS must be a positive integer, not '$N'"

bench_init ws-peers
need_blast
[[ -x $TARGET ]] || die "no target at $TARGET (run 'make')"
if (($(ulimit -n) < N + 200)); then
    ulimit -n $((N + 200)) 2>/dev/null || die "ulimit -n $(ulimit -n) is too low for $N sessions"
fi

# ensure_artillery: npm-installs Artillery into NODE_DIR if missing; prints its path. Its
# Playwright engine would download a browser at install time (no such download works here, and
# the ws engine needs none): PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD skips it.
ensure_artillery() {
    local bin=$NODE_DIR/node_modules/.bin/artillery
    if [[ ! -x $bin ]]; then
        command -v npm >/dev/null || ensure_deb npm npm || return 1
        mkdir -p "$NODE_DIR" || return 1
        log "npm install artillery@$ARTILLERY_VERSION into $NODE_DIR"
        (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund \
            --loglevel=error "artillery@$ARTILLERY_VERSION") >"$TMP/npm-artillery.log" 2>&1 || return 1
    fi
    [[ -x $bin ]] && echo "$bin"
}

ARTILLERY=
kept=()
for t in $TOOLS; do
    case $t in
    blast | blast_spread) ;;
    artillery | artillery_rtt)
        if [[ -z $ARTILLERY ]] && ! ARTILLERY=$(ensure_artillery); then
            log "artillery: npm install failed; left out: $(tail -n 3 "$TMP/npm-artillery.log" 2>/dev/null)"
            continue
        fi
        ;;
    *) die "unknown tool '$t' (known: blast blast_spread artillery artillery_rtt)" ;;
    esac
    kept+=("$t")
done
TOOLS="${kept[*]:-}"
[[ -n ${TOOLS// /} ]] || die "no tool left to run"

taskset -c "$SERVER_CPU" "$TARGET" --port 0 --port-file "$TMP/port" --quiet </dev/null \
    >"$TMP/target.out" 2>&1 &
TPID=$!
SERVER_PIDS+=("$TPID")
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
[[ -s $TMP/port ]] || die "blast-target did not start: $(cat "$TMP/target.out")"
PORT=$(cat "$TMP/port")
log "blast-target pid $TPID on 127.0.0.1:$PORT (CPU $SERVER_CPU), clients on CPU $CLIENT_CPU"

# ------------------------------------------------------------------ clients

# tool_NAME PREFIX SESSIONS SECONDS: one measured run; leaves PREFIX.time and the tool's output.
tool_blast() {
    local pfx=$1 n=$2 s=$3
    cat >"$pfx.ini" <<EOF
[global]
base_url = http://127.0.0.1:$PORT
duration = ${s}s
workers = 1

[scenario s]
executor = constant-vus
vus = $n
path = /api/v1/ws
ws_send = {"id":"{{ vu }}-{{ rand(1, 1000000000) }}","text":"hello"}
ws_interval = 1s
ws_expect = correlate \$.id
ws_hold = ${s}s
EOF
    run_client "$pfx" "$BLAST" -c "$pfx.ini" --quiet --out "json=$pfx.json"
}
# blast_spread: the sessions open over the first second (ramping-vus 0 -> N in 1 s), as
# Artillery's arrive, instead of all at once, so their sends are spread over each second rather
# than due together. Each session holds SECONDS; the stages last SECONDS, so every session ends
# after the last stage, inside the graceful stop, and no VU opens a second one.
tool_blast_spread() {
    local pfx=$1 n=$2 s=$3
    cat >"$pfx.ini" <<EOF
[global]
base_url = http://127.0.0.1:$PORT
workers = 1

[scenario s]
executor = ramping-vus
start_vus = 0
stage = 1s -> $n
stage = $((s - 1))s -> $n
path = /api/v1/ws
ws_send = {"id":"{{ vu }}-{{ rand(1, 1000000000) }}","text":"hello"}
ws_interval = 1s
ws_expect = correlate \$.id
ws_hold = ${s}s
EOF
    run_client "$pfx" "$BLAST" -c "$pfx.ini" --quiet --out "json=$pfx.json"
}

# artillery_yml FILE SESSIONS SECONDS [PROCESSOR]: the Artillery script for the workload.
artillery_yml() {
    local file=$1 n=$2 s=$3 proc=${4:-}
    {
        printf 'config:\n  target: "ws://127.0.0.1:%s/api/v1/ws"\n' "$PORT"
        printf '  phases:\n    - duration: 1\n      arrivalCount: %s\n' "$n"
        printf '  ws:\n    timeout: 10\n'
        [[ -n $proc ]] && printf '  processor: "%s"\n' "$proc"
        printf 'scenarios:\n  - name: echo\n    engine: ws\n    flow:\n      - loop:\n'
        [[ -n $proc ]] && printf '          - function: "stamp"\n'
        printf '          - send:\n'
        # shellcheck disable=SC2016 # Artillery's own {{ $var }} templates, literal here
        printf '              payload: '\''{"id":"{{ $uuid }}-{{ $loopCount }}","text":"hello"}'\''\n'
        printf '              match:\n                json: "$.id"\n'
        # shellcheck disable=SC2016
        printf '                value: "{{ $uuid }}-{{ $loopCount }}"\n'
        [[ -n $proc ]] && printf '          - function: "record"\n'
        printf '          - think: 1\n        count: %s\n' "$s"
    } >"$file"
}
tool_artillery() {
    local pfx=$1
    artillery_yml "$pfx.yml" "$2" "$3"
    ARTILLERY_DISABLE_TELEMETRY=true WORKERS=1 \
        run_client "$pfx" "$ARTILLERY" run --quiet --output "$pfx.json" "$pfx.yml"
}
tool_artillery_rtt() {
    local pfx=$1
    cat >"$pfx.proc.js" <<'EOF'
// Times each send to its matched echo (Artillery's ws engine reports no message latency).
module.exports = {
  stamp(context, events, done) { context.vars.t0 = process.hrtime.bigint(); done(); },
  record(context, events, done) {
    events.emit('histogram', 'ws_echo_ms', Number(process.hrtime.bigint() - context.vars.t0) / 1e6);
    done();
  },
};
EOF
    artillery_yml "$pfx.yml" "$2" "$3" "$pfx.proc.js"
    ARTILLERY_DISABLE_TELEMETRY=true WORKERS=1 \
        run_client "$pfx" "$ARTILLERY" run --quiet --output "$pfx.json" "$pfx.yml"
}

RUNS_FILE=$TMP/runs.jsonl
: >"$RUNS_FILE"
# record TOOL CASE RUN RC PREFIX: one JSON line per run (CPU from rusage, counts from the tool).
record() {
    python3 - "$@" >>"$RUNS_FILE" <<'EOF'
import json, sys
tool, case, run, rc, pfx = sys.argv[1:6]
r = {"tool": tool, "case": case, "run": int(run), "rc": int(rc)}
try:
    u, s, rss, vcsw, ivcsw, wall = open(pfx + ".time").read().split()[:6]
    r.update(user=float(u), sys=float(s), rss_kib=int(rss), wall=float(wall))
except (OSError, ValueError):
    pass
try:
    d = json.load(open(pfx + ".json"))
except (OSError, ValueError):
    d = None
if d and tool.startswith("blast"):
    w = d["scenarios"]["s"]["ws"]
    r.update(sessions=w["ws_sessions"], sent=w["ws_msgs_sent"], echoes=w["replied"],
             timed_out=w.get("timed_out"), lat_p50=w["msg_latency_ms"]["p50"],
             lat_p99=w["msg_latency_ms"]["p99"])
    svc = w.get("msg_service_time_ms") or w.get("msg_service_ms")
    if svc:
        r.update(svc_p50=svc["p50"], svc_p99=svc["p99"])
elif d:
    a = d["aggregate"]
    c, sm = a.get("counters", {}), a.get("summaries", {})
    r.update(sessions=c.get("vusers.created", 0), sent=c.get("websocket.messages_sent", 0),
             echoes=c.get("websocket.messages_received", 0), failed=c.get("vusers.failed", 0),
             errors={k: v for k, v in c.items() if k.startswith("errors.")})
    if "vusers.session_length" in sm:
        r.update(session_p50=sm["vusers.session_length"]["p50"],
                 session_p99=sm["vusers.session_length"]["p99"])
    if "ws_echo_ms" in sm:
        r.update(lat_p50=sm["ws_echo_ms"]["p50"], lat_p99=sm["ws_echo_ms"]["p99"])
print(json.dumps(r))
EOF
}

ntools=$(wc -w <<<"$TOOLS")
log "$((RUNS * ntools)) runs of ${SECS}s with $N sessions, $((RUNS * ntools)) fixed-cost runs; tools '$TOOLS' (about $((RUNS * ntools * (SECS + 12) / 60 + 1)) min)"
for run in $(seq "$RUNS"); do
    for t in $TOOLS; do
        for case in load fixed; do
            pfx=$TMP/$t-$case-$run
            rc=0
            if [[ $case == load ]]; then
                "tool_$t" "$pfx" "$N" "$SECS" || rc=$?
            else
                "tool_$t" "$pfx" 1 2 || rc=$?
            fi
            ((rc == 0)) || log "$t $case run $run exited $rc: $(tail -n 3 "$pfx.err" 2>/dev/null)"
            record "$t" "$case" "$run" "$rc" "$pfx"
            [[ $case == load ]] && log "$t run $run: $(tail -n 1 "$RUNS_FILE")"
            kill -0 "$TPID" 2>/dev/null || die "blast-target died during $t run $run"
            sleep 1 # let the closed sessions leave before the next run
        done
    done
done

# ------------------------------------------------------------------ report

[[ $KEEP == 1 ]] && cp "$RUNS_FILE" "$TMP/runs-ws-peers.jsonl"
python3 - "$RUNS_FILE" "$N" "$SECS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n, secs = sys.argv[2], sys.argv[3]
med = lambda xs: statistics.median(xs) if xs else float("nan")
print(f"\n{n} sessions x 1 msg/s x {secs} s, correlated echo, client CPU per round trip "
      f"(medians of {max(r['run'] for r in rows)} interleaved runs)\n")
print("| tool | sessions | sent | echoes | client CPU s (user + sys) | CPU-µs per echo | "
      "fixed cost s (1 session, 2 s) | (CPU - fixed) µs per echo | max RSS MiB | "
      "latency p50 / p99 ms (tool's own) | session length p50 ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
tools = []
for r in rows:
    if r["tool"] not in tools:
        tools.append(r["tool"])
for t in tools:
    L = [r for r in rows if r["tool"] == t and r["case"] == "load" and "user" in r and r.get("echoes")]
    F = [r for r in rows if r["tool"] == t and r["case"] == "fixed" and "user" in r]
    if not L:
        print(f"| {t} | no completed run | | | | | | | | | |")
        continue
    cpu = [r["user"] + r["sys"] for r in L]
    per = [1e6 * (r["user"] + r["sys"]) / r["echoes"] for r in L]
    fix = med([r["user"] + r["sys"] for r in F])
    net = [1e6 * (r["user"] + r["sys"] - fix) / r["echoes"] for r in L]
    lat = (f"{med([r['lat_p50'] for r in L if 'lat_p50' in r]):.2f} / "
           f"{med([r['lat_p99'] for r in L if 'lat_p99' in r]):.2f}") if any("lat_p50" in r for r in L) else "not reported"
    sess = f"{med([r['session_p50'] for r in L if 'session_p50' in r]):.0f}" if any("session_p50" in r for r in L) else "–"
    print(f"| {t} | {med([r['sessions'] for r in L]):.0f} | {med([r['sent'] for r in L]):.0f} | "
          f"{med([r['echoes'] for r in L]):.0f} | {med(cpu):.3f} | {med(per):.1f} | {fix:.3f} | "
          f"{med(net):.1f} | {med([r['rss_kib'] for r in L]) / 1024:.1f} | {lat} | {sess} |")
print("\nEvery run:\n")
for r in rows:
    print(json.dumps(r))
EOF
