#!/usr/bin/env bash
# bench/scale.sh [pacing] [memory] [sources]: blast alone, at the edges issue 4 names. Each part
# writes its own section of bench/RESULTS.md (bench.py report --kind PART); with no argument all
# three run (about 15 minutes with the defaults).
#
#   pacing   constant-arrival-rate at 1k, 10k and 50k req/s against nginx, --workers 1 (pinned to
#            the client CPU) and the default worker count (unpinned): achieved/target, send
#            lateness, CPU-µs/req and the share of one core.
#   memory   RSS of blast holding N idle keep-alive connections to nginx (worker_connections
#            20000), N = 100 and 15000, --workers 1: VmRSS sampled from /proc while the run is in
#            its steady phase, and the bytes per extra connection.
#   sources  36,000 connections, more than one source address has ports for, against two
#            `blast-target --reuseport` processes on one port: with source_addresses =
#            127.0.0.2-127.0.0.9, and without (the control, which must fall short).
#
# Everything goes to 127.0.0.0/8; every blast run is bounded (timeout(1)); every server is
# stopped by its pid when the script ends.
#
# Environment (defaults in brackets): BLAST [./blast]  TARGET [build/blast-target]
#   BENCH_CLIENT_CPU [0]  BENCH_SERVER_CPU [1]  BENCH_RESULTS [bench/RESULTS.md]  BENCH_KEEP
#   PACING_RUNS [5]  PACING_SECONDS [10]  PACING_RATES ["1000 10000 50000"]
#   PACING_WORKERS ["1 default"]  PACING_CONNS [50]  PACING_RESOLUTIONS ["0 1ms"] (pacing_resolution values)
#   MEMORY_RUNS [5]  MEMORY_SECONDS [10]  MEMORY_SIZES ["100 15000"]
#   SOURCES_RUNS [3]  SOURCES_SECONDS [15]  SOURCES_CONNS [36000]  SOURCES_RATE [100/s]
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PARTS=${*:-pacing memory sources}
for part in $PARTS; do
    case $part in pacing | memory | sources) ;; *) die "unknown part '$part' (pacing, memory, sources)" ;; esac
done

bench_init scale
need_blast
NCPU=$(nproc)
ALL_CPUS=0-$((NCPU - 1))
mapfile -t META < <(machine_meta)

noise_snap() { # OUT PID...: bench.py snapshot of the servers
    local out=$1
    shift
    local args=()
    local p
    for p in "$@"; do args+=(--pid "$p"); done
    python3 "$HERE/bench.py" snapshot "${args[@]}" --out "$out"
}

# ------------------------------------------------------------------ pacing

part_pacing() {
    local runs=${PACING_RUNS:-5} rates=${PACING_RATES:-1000 10000 50000}
    local workers_list=${PACING_WORKERS:-1 default} conns=${PACING_CONNS:-50}
    local resolutions=${PACING_RESOLUTIONS:-0 1ms}
    SECS=${PACING_SECONDS:-10}
    local rf=$TMP/pacing.jsonl
    : >"$rf"
    start_nginx 16384
    local total=$((runs * $(wc -w <<<"$rates") * $(wc -w <<<"$workers_list") * $(wc -w <<<"$resolutions"))) n=0
    log "pacing: $total runs of ${SECS}s"
    local run rate w res pfx rc
    for run in $(seq "$runs"); do
        for rate in $rates; do
            for w in $workers_list; do
              for res in $resolutions; do
                n=$((n + 1))
                pfx=$TMP/pacing-$rate-w$w-r$res-$run
                blast_ini "$pfx.ini" pace "$URL" "executor = constant-arrival-rate" \
                    "rate = $rate/s" "max_connections = $conns" "pre_connections = $conns" \
                    "pacing_resolution = $res"
                local wargs=(--workers "$w") pin=$CLIENT_CPU
                if [[ $w == default ]]; then wargs=() pin=$ALL_CPUS; fi
                rc=0
                noise_snap "$pfx.before" "$NGINX_PID"
                BENCH_PIN=$pin run_client "$pfx" "$BLAST" -c "$pfx.ini" --quiet \
                    --out "json=$pfx.json" "${wargs[@]}" || rc=$?
                noise_snap "$pfx.after" "$NGINX_PID"
                ((rc == 0)) || { log "[$n/$total] pacing $rate w=$w exited $rc"; tail -n 3 "$pfx.err" >&2 || true; }
                python3 "$HERE/bench.py" record --out "$rf" --case pacing --conns "$conns" \
                    --tool blast --run "$run" --rc "$rc" --seconds "$SECS" --rate "$rate" \
                    --time "$pfx.time" --stderr "$pfx.err" --before "$pfx.before" \
                    --after "$pfx.after" --format blast --scenario pace --output "$pfx.json" \
                    --extra "workers_arg=$w" --extra "resolution=$res"
                sleep 0.5
              done
            done
        done
    done
    stop_nginx
    python3 "$HERE/bench.py" report --kind pacing --runs "$rf" --md "$RESULTS" "${META[@]}" \
        --meta "runs=$runs" --meta "seconds=$SECS" --meta "conns=$conns" || PART_RC=1
}

# ------------------------------------------------------------------ memory

part_memory() {
    local runs=${MEMORY_RUNS:-5} sizes=${MEMORY_SIZES:-100 15000}
    SECS=${MEMORY_SECONDS:-10}
    local rf=$TMP/memory.jsonl every=0.5
    : >"$rf"
    start_nginx 20000
    local nofile
    nofile=$(awk '/^Max open files/ {print $4}' "/proc/$NGINX_PID/limits")
    local run size pfx rc
    for run in $(seq "$runs"); do
        for size in $sizes; do
            pfx=$TMP/memory-$size-$run
            blast_ini "$pfx.ini" idle "$URL" "executor = constant-arrival-rate" "rate = 1/s" \
                "max_connections = $size" "pre_connections = $size"
            rm -f "$pfx.pid"
            taskset -c "$SERVER_CPU" python3 "$HERE/bench.py" sample --pidfile "$pfx.pid" \
                --out "$pfx.samples" --port "$PORT" --every "$every" --limit $((SECS + GRACE)) &
            local sampler=$!
            SERVER_PIDS+=("$sampler")
            rc=0
            noise_snap "$pfx.before" "$NGINX_PID"
            RUSAGE_PIDFILE=$pfx.pid run_client "$pfx" "$BLAST" -c "$pfx.ini" --quiet \
                --out "json=$pfx.json" --workers 1 || rc=$?
            noise_snap "$pfx.after" "$NGINX_PID"
            wait "$sampler" || true
            unset 'SERVER_PIDS[-1]'
            ((rc == 0)) || { log "memory $size run $run exited $rc"; tail -n 3 "$pfx.err" >&2 || true; }
            python3 "$HERE/bench.py" record --out "$rf" --case memory --conns "$size" \
                --tool blast --run "$run" --rc "$rc" --seconds "$SECS" --time "$pfx.time" \
                --stderr "$pfx.err" --before "$pfx.before" --after "$pfx.after" --format blast \
                --scenario idle --output "$pfx.json" --samples "$pfx.samples"
            sleep 1
        done
    done
    stop_nginx
    python3 "$HERE/bench.py" report --kind memory --runs "$rf" --md "$RESULTS" "${META[@]}" \
        --meta "runs=$runs" --meta "seconds=$SECS" --meta "rate=1/s" --meta "every=$every" \
        --meta "worker_connections=20000" --meta "nginx_nofile=$nofile" || PART_RC=1
}

# ------------------------------------------------------------------ sources

part_sources() {
    local runs=${SOURCES_RUNS:-3} conns=${SOURCES_CONNS:-36000} rate=${SOURCES_RATE:-100/s}
    # connect_timeout: without source addresses the kernel's search for a free port slows down
    # as the range fills (~16 s of sys time for 28k connections here), and blast counts the
    # set-up time against connect_timeout (see RESULTS.md): 120 s keeps the control honest.
    local ctimeout=120s every=1
    SECS=${SOURCES_SECONDS:-15}
    GRACE=150
    [[ -x $TARGET ]] || die "no blast-target at $TARGET (run 'make')"
    "$TARGET" --help | grep -q -- --reuseport || die "$TARGET has no --reuseport (rebuild it)"
    local rf=$TMP/sources.jsonl
    : >"$rf"
    # Two target processes on one port: each may hold at most its open-file limit.
    taskset -c "$SERVER_CPU" "$TARGET" --reuseport --quiet --port-file "$TMP/target.port" \
        </dev/null >"$TMP/target1.out" 2>&1 &
    local t1=$!
    SERVER_PIDS+=("$t1")
    local _
    for _ in $(seq 100); do [[ -s $TMP/target.port ]] && break; sleep 0.05; done
    [[ -s $TMP/target.port ]] || die "blast-target did not start: $(cat "$TMP/target1.out")"
    PORT=$(cat "$TMP/target.port")
    taskset -c "$SERVER_CPU" "$TARGET" --reuseport --quiet --port "$PORT" \
        </dev/null >"$TMP/target2.out" 2>&1 &
    local t2=$!
    SERVER_PIDS+=("$t2")
    URL=http://127.0.0.1:$PORT
    wait_http "$URL/" "$t2" || die "second blast-target did not start: $(cat "$TMP/target2.out")"
    local nofile range
    nofile=$(awk '/^Max open files/ {print $4}' "/proc/$t1/limits")
    range=$(cat /proc/sys/net/ipv4/ip_local_port_range)
    log "targets $t1 $t2 on $URL (CPU $SERVER_CPU, open-file limit $nofile each); ports $range"
    local run case pfx rc
    for run in $(seq "$runs"); do
        for case in sources control; do
            pfx=$TMP/sources-$case-$run
            local src=()
            [[ $case == sources ]] && src=("source_addresses = 127.0.0.2-127.0.0.9")
            blast_ini "$pfx.ini" many "$URL" "executor = constant-arrival-rate" "rate = $rate" \
                "max_connections = $conns" "pre_connections = $conns" \
                "connect_timeout = $ctimeout" "${src[@]}"
            rm -f "$pfx.pid"
            taskset -c "$SERVER_CPU" python3 "$HERE/bench.py" sample --pidfile "$pfx.pid" \
                --out "$pfx.samples" --port "$PORT" --every "$every" --limit $((SECS + GRACE)) \
                --fd-pid "$t1" --fd-pid "$t2" &
            local sampler=$!
            SERVER_PIDS+=("$sampler")
            rc=0
            noise_snap "$pfx.before" "$t1" "$t2"
            RUSAGE_PIDFILE=$pfx.pid BENCH_PIN=$ALL_CPUS run_client "$pfx" "$BLAST" -c "$pfx.ini" \
                --quiet --out "json=$pfx.json" --workers 2 || rc=$?
            noise_snap "$pfx.after" "$t1" "$t2"
            wait "$sampler" || true
            unset 'SERVER_PIDS[-1]'
            log "sources $case run $run: exit $rc"
            python3 "$HERE/bench.py" record --out "$rf" --case "$case" --conns "$conns" \
                --tool blast --run "$run" --rc "$rc" --seconds "$SECS" --time "$pfx.time" \
                --stderr "$pfx.err" --before "$pfx.before" --after "$pfx.after" --format blast \
                --scenario many --output "$pfx.json" --samples "$pfx.samples"
            # Let the targets close what blast reset before the next run opens 36k again.
            for _ in $(seq 100); do
                (($(ls "/proc/$t1/fd" | wc -l) + $(ls "/proc/$t2/fd" | wc -l) < 100)) && break
                sleep 0.1
            done
        done
    done
    stop_pid "$t1"
    stop_pid "$t2"
    SERVER_PIDS=()
    local lo hi
    read -r lo hi <<<"$range"
    # The control is expected to fall short, so its "error"s do not fail the part.
    python3 "$HERE/bench.py" report --kind sources --runs "$rf" --md "$RESULTS" "${META[@]}" \
        --meta "runs=$runs" --meta "seconds=$SECS" --meta "conns=$conns" --meta "rate=$rate" \
        --meta "connect_timeout=$ctimeout" --meta "every=$every" --meta "nofile=$nofile" \
        --meta "port_range=$lo–$hi" --meta "port_count=$((hi - lo + 1))" --meta "targets=2" || true
}

PART_RC=0
for part in $PARTS; do
    "part_$part"
done
[[ $KEEP == 1 ]] && log "runs in $TMP/*.jsonl"
exit "$PART_RC"
