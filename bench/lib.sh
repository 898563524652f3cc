# bench/lib.sh: what bench/run.sh, bench/scale.sh and bench/profile.sh share. Sourced, not run.
#
# Servers (nginx, blast-target) run pinned to BENCH_SERVER_CPU, clients to BENCH_CLIENT_CPU; all
# traffic goes to 127.0.0.0/8; every client run is bounded by timeout(1); every process started
# here is stopped by its pid (never by name) when the script exits, however it exits.
#
# A script sets SECS (its per-run duration) before calling run_client, and may set GRACE.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
BLAST=${BLAST:-$ROOT/blast}
TARGET=${TARGET:-$ROOT/build/blast-target}
NGINX=${NGINX:-/usr/sbin/nginx}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
KEEP=${BENCH_KEEP:-0}
GRACE=${GRACE:-30} # seconds a client may run past SECS (set-up, drain) before it is killed
# npm packages (autocannon) go here, outside the work tree: nothing to commit or ignore.
NODE_DIR=${BENCH_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/blast-bench/node}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

TMP=
NGINX_PID=
CLIENT_PID=
SERVER_PIDS=() # other servers (blast-target) this script started

stop_pid() { # PID: TERM, up to 5 s to exit, then KILL
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $CLIENT_PID ]]; then
        # timeout(1) leads its own process group: end the client and everything under it.
        kill -TERM -- "-$CLIENT_PID" 2>/dev/null || kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
    fi
    [[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID"
    local p
    for p in "${SERVER_PIDS[@]}"; do stop_pid "$p"; done
    if [[ -n $TMP && -d $TMP ]]; then
        if [[ $KEEP == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}

# bench_init NAME: traps, the temp dir, bench/rusage built into it, CPU checks.
bench_init() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local cmd
    for cmd in python3 taskset timeout cc; do
        command -v "$cmd" >/dev/null || die "$cmd not found"
    done
    local ncpu
    ncpu=$(nproc --all)
    ((CLIENT_CPU < ncpu && SERVER_CPU < ncpu)) ||
        die "needs CPUs $CLIENT_CPU and $SERVER_CPU, this machine has $ncpu"
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/blast-$1.XXXXXX")
    cc -O2 -Wall -Wextra -Werror -o "$TMP/rusage" "$HERE/rusage.c" || die "cannot build bench/rusage.c"
}

# need_blast: BLAST made absolute, or die.
need_blast() {
    [[ -x $BLAST ]] || die "no blast binary at $BLAST (run 'make')"
    BLAST=$(cd "$(dirname "$BLAST")" && pwd)/$(basename "$BLAST")
}

# ensure_deb CMD PACKAGE: installs PACKAGE (as root, with apt-get) if CMD is missing.
ensure_deb() {
    command -v "$1" >/dev/null && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing $2 (for $1)"
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "$2"; } >"${TMP:-/tmp}/apt-$2.log" 2>&1 || true
    fi
    command -v "$1" >/dev/null
}

# ensure_autocannon: npm-installs autocannon into NODE_DIR if it is not there; prints its path.
ensure_autocannon() {
    local bin=$NODE_DIR/node_modules/.bin/autocannon
    if [[ ! -x $bin ]]; then
        command -v npm >/dev/null || ensure_deb npm npm || return 1
        mkdir -p "$NODE_DIR" || return 1
        log "npm install autocannon into $NODE_DIR"
        (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error autocannon@9) \
            >"${TMP:-/tmp}/npm-autocannon.log" 2>&1 || return 1
    fi
    [[ -x $bin ]] && echo "$bin"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL PID: waits up to 10 s until URL answers 200, while PID lives.
wait_http() {
    local _
    for _ in $(seq 100); do
        kill -0 "$2" 2>/dev/null || return 1
        if python3 - "$1" <<'EOF' 2>/dev/null; then
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
EOF
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# start_nginx [WORKER_CONNECTIONS]: nginx (one process) pinned to SERVER_CPU on a free port of
# 127.0.0.1; sets NGINX_PID, PORT, URL.
start_nginx() {
    local wc=${1:-16384}
    [[ -x $NGINX ]] || die "no nginx at $NGINX (apt-get install nginx)"
    PORT=$(free_port)
    URL=http://127.0.0.1:$PORT
    sed -e "s|@DIR@|$TMP|g" -e "s|@PORT@|$PORT|g" -e "s|@WORKER_CONNECTIONS@|$wc|g" \
        "$HERE/nginx.conf.in" >"$TMP/nginx.conf"
    "$NGINX" -q -t -p "$TMP/" -e "$TMP/error.log" -c "$TMP/nginx.conf" >"$TMP/nginx-t.out" 2>&1 ||
        die "nginx rejects the config: $(cat "$TMP/nginx-t.out")"
    taskset -c "$SERVER_CPU" "$NGINX" -p "$TMP/" -e "$TMP/error.log" -c "$TMP/nginx.conf" \
        </dev/null >"$TMP/nginx.out" 2>&1 &
    NGINX_PID=$!
    wait_http "$URL/" "$NGINX_PID" ||
        die "nginx did not answer on $URL: $(cat "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null)"
    local nofile
    nofile=$(awk '/^Max open files/ {print $4}' "/proc/$NGINX_PID/limits")
    log "nginx pid $NGINX_PID on $URL (CPU $SERVER_CPU, worker_connections $wc, open-file limit $nofile)"
}

stop_nginx() {
    [[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID"
    NGINX_PID=
}

# run_client PREFIX CMD...: runs CMD pinned to CLIENT_CPU (or to BENCH_PIN if set: a CPU list)
# under bench/rusage (user and sys CPU, max RSS, context switches, wall time; RUSAGE_PIDFILE, if
# exported, receives the command's pid), bounded by timeout(1) at SECS + GRACE; leaves
# PREFIX.time, PREFIX.out, PREFIX.err; returns CMD's exit status. The client runs in the
# background so that a Ctrl-C reaches the trap at once, not after the run.
run_client() {
    local pfx=$1
    shift
    timeout -k 5 $((SECS + GRACE)) taskset -c "${BENCH_PIN:-$CLIENT_CPU}" \
        "$TMP/rusage" "$pfx.time" "$@" \
        </dev/null >"$pfx.out" 2>"$pfx.err" &
    CLIENT_PID=$!
    local rc=0
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=
    return "$rc"
}

# blast_ini FILE NAME BASE_URL KEY=VALUE...: a one-scenario INI (duration SECS) against BASE_URL.
# Keys that belong in [global] (workers, connect_timeout, graceful_stop, source_addresses) may
# also be given: blast accepts source_addresses and timeouts per scenario too.
blast_ini() {
    local file=$1 name=$2 url=$3
    shift 3
    {
        printf '[global]\nbase_url = %s\nduration = %ss\n\n[scenario %s]\n' "$url" "$SECS" "$name"
        printf '%s\n' "$@" "path = /"
    } >"$file"
}

# machine_meta: --meta arguments describing this machine for bench.py.
machine_meta() {
    local rev=${BLAST_REV:-?} # BLAST_REV: what BLAST was built from, when it is not this tree
    if [[ -z ${BLAST_REV:-} && -d $ROOT/.git ]]; then
        rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
        git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || rev="$rev+changes"
    fi
    printf '%s\n' --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
        --meta "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
        --meta "nproc=$(nproc)" --meta "kernel=$(uname -r)" \
        --meta "blast=$("$BLAST" --version 2>&1 | head -n 1) (git $rev)" \
        --meta "client_cpu=$CLIENT_CPU" --meta "server_cpu=$SERVER_CPU"
}
