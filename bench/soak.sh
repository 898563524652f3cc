#!/usr/bin/env bash
# bench/soak.sh: do blast's file descriptors and memory stay flat over a long run with constant
# reconnects? Not part of `make test` (it takes SOAK_SECONDS); run it by hand, results in
# bench/soak.md.
#
# blast runs an arrival-rate scenario against blast-target's /close endpoint (every response
# closes its connection, so every request opens a new one) on 127.0.0.1. Every SOAK_INTERVAL
# seconds the script samples blast's open fds (/proc/PID/fd), VmRSS and threads, the target's fds,
# and blast's sockets as the kernel sees them (ss: client sockets to the target's port).
#
# Why both: blast's sockets live in io_uring's fixed-file table (conn.c), not in the process fd
# table, so /proc/PID/fd only shows stdio, the rings and the output file; a socket blast forgot
# would not appear there. It would appear in ss, and since the target closes every connection, it
# would sit in CLOSE_WAIT for good. Connections here live well under a millisecond, so a socket
# (same local address) seen in two samples SOAK_INTERVAL apart is counted as "persisting".
#
# At the end it prints first / last / min / max and the verdict:
#   fds:      max - min <= SOAK_MAX_FD_SPREAD (5) over the whole run;
#   sockets:  persisting sockets <= SOAK_MAX_FD_SPREAD in every sample;
#   RSS:      max - (first sample at or after SOAK_WARMUP s) <= SOAK_MAX_RSS_GROWTH_KB (1024 KiB);
#   blast exits 0 and its JSON adds up (scheduled = ok + failed + dropped).
# Exit status 0 when all hold, 1 when one does not, 2 on a usage or set-up problem.
#
# Environment (defaults in brackets):
#   SOAK_SECONDS [600]  SOAK_RATE [2000] req/s  SOAK_INTERVAL [10] s between samples
#   SOAK_WARMUP [60] s (RSS baseline; halved until it leaves 2 samples after it)
#   SOAK_MAX_CONNS [100] blast max_connections  SOAK_WORKERS [auto]
#   SOAK_MAX_FD_SPREAD [5]  SOAK_MAX_RSS_GROWTH_KB [1024]
#   SOAK_CSV [a file in the temp dir; printed]  SOAK_KEEP=1 keeps the temp dir
#   BLAST [./blast]  TARGET [build/blast-target]
# Every process started here is stopped by its pid when the script exits, however it exits.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SECS=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-2000}
INTERVAL=${SOAK_INTERVAL:-10}
WARMUP=${SOAK_WARMUP:-60}
MAX_CONNS=${SOAK_MAX_CONNS:-100}
WORKERS=${SOAK_WORKERS:-auto}
MAX_FD_SPREAD=${SOAK_MAX_FD_SPREAD:-5}
MAX_RSS_GROWTH_KB=${SOAK_MAX_RSS_GROWTH_KB:-1024}
KEEP=${SOAK_KEEP:-0}
BLAST=${BLAST:-$ROOT/blast}
TARGET=${TARGET:-$ROOT/build/blast-target}

die() { echo "soak: $*" >&2; exit 2; }
log() { echo "soak: $*" >&2; }

for v in SECS RATE INTERVAL WARMUP MAX_CONNS MAX_FD_SPREAD MAX_RSS_GROWTH_KB; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((SECS >= 2 * INTERVAL)) || die "SOAK_SECONDS ($SECS) must be at least 2 x SOAK_INTERVAL ($INTERVAL)"
((INTERVAL > 0 && RATE > 0)) || die "SOAK_INTERVAL and SOAK_RATE must be > 0"
[[ -x $BLAST ]] || die "no blast binary at $BLAST (run make)"
[[ -x $TARGET ]] || die "no blast-target at $TARGET (run make)"
command -v python3 >/dev/null || die "python3 is needed to read blast's JSON"
command -v ss >/dev/null || die "ss (iproute2) is needed to count blast's sockets"
# The RSS baseline needs samples after it.
while ((WARMUP > 0 && WARMUP + 2 * INTERVAL > SECS)); do WARMUP=$((WARMUP / 2)); done

TMP=$(mktemp -d /tmp/blast-soak.XXXXXX)
CSV=${SOAK_CSV:-$TMP/soak.csv}
TARGET_PID=
BLAST_PID=
cleanup() {
    local pid
    for pid in $BLAST_PID $TARGET_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [[ $KEEP == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$TARGET" --port 0 --port-file "$TMP/port" --quiet &
TARGET_PID=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
[[ -s $TMP/port ]] || die "blast-target did not start"
PORT=$(cat "$TMP/port")

cat >"$TMP/soak.ini" <<EOF
; bench/soak.sh: $RATE req/s for ${SECS}s, every response closes its connection
[global]
base_url = http://127.0.0.1:$PORT
duration = ${SECS}s
workers = $WORKERS
graceful_stop = 5s

[scenario reconnect]
executor = constant-arrival-rate
rate = $RATE/s
max_connections = $MAX_CONNS
path = /close
EOF

# Each prints nothing when the process is gone (it may exit between two reads).
fds() { [[ -d /proc/$1/fd ]] && ls "/proc/$1/fd" 2>/dev/null | wc -l || true; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
# blast's sockets: local addresses of client sockets to the target (TIME_WAIT is no socket of
# blast's; there is none anyway, blast resets on close). Sorted, for comm.
socks() { ss -Htan "dport = :$PORT" 2>/dev/null | awk '$1 != "TIME-WAIT" {print $1, $4}' | sort || true; }
sockstat() { awk '$1 == "TCP:" {for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)}
                  END {printf "%d,%d", v["inuse"], v["tw"]}' /proc/net/sockstat; }

log "blast $RATE req/s on /close for ${SECS}s, sampling every ${INTERVAL}s into $CSV"
"$BLAST" -c "$TMP/soak.ini" --quiet --out "json=$TMP/out.json" 2>"$TMP/blast.stderr" &
BLAST_PID=$!
T0=$(date +%s.%N)
echo "t_s,blast_fds,blast_rss_kb,blast_threads,blast_sockets,close_wait,persisting,target_fds,target_rss_kb,tcp_inuse,tcp_timewait" >"$CSV"
: >"$TMP/socks.prev"
next=$INTERVAL
while kill -0 "$BLAST_PID" 2>/dev/null; do
    now=$(date +%s.%N)
    el=$(awk -v a="$now" -v b="$T0" 'BEGIN {printf "%.1f", a - b}')
    if awk -v e="$el" -v n="$next" 'BEGIN {exit !(e >= n)}'; then
        # only samples inside the scheduled duration: the drain at the end is not steady state
        if ((next <= SECS)); then
            f=$(fds "$BLAST_PID")
            r=$(status_kb "$BLAST_PID" VmRSS)
            th=$(status_kb "$BLAST_PID" Threads)
            tf=$(fds "$TARGET_PID")
            tr=$(status_kb "$TARGET_PID" VmRSS)
            socks >"$TMP/socks.cur"
            ns=$(wc -l <"$TMP/socks.cur")
            ncw=$(grep -c '^CLOSE-WAIT ' "$TMP/socks.cur" || true)
            np=$(awk '{print $2}' "$TMP/socks.prev" | sort | comm -12 - <(awk '{print $2}' "$TMP/socks.cur" | sort) | wc -l)
            mv "$TMP/socks.cur" "$TMP/socks.prev"
            if [[ -n $f && -n $r ]]; then
                echo "$el,$f,$r,$th,$ns,$ncw,$np,$tf,$tr,$(sockstat)" >>"$CSV"
                printf 'soak: %7.1fs  blast fds %3s  rss %6s kB  threads %s  sockets %3s (close-wait %s, persisting %s) | target fds %s\n' \
                    "$el" "$f" "$r" "$th" "$ns" "$ncw" "$np" "$tf" >&2
            fi
        fi
        next=$((next + INTERVAL))
    fi
    sleep 0.2
done
set +e
wait "$BLAST_PID"
rc=$?
set -e
BLAST_PID=

python3 - "$CSV" "$TMP/out.json" "$rc" "$TMP/blast.stderr" "$WARMUP" "$MAX_FD_SPREAD" \
    "$MAX_RSS_GROWTH_KB" "$SECS" "$RATE" <<'EOF'
import csv, json, sys

csv_path, json_path, rc, err_path = sys.argv[1:5]
warmup, max_fd_spread, max_rss_kb, secs, rate = map(int, sys.argv[5:10])
rc = int(rc)
rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(csv_path))]
ok = True

def fail(msg):
    global ok
    ok = False
    print(f"soak: FAIL: {msg}")

if len(rows) < 2:
    fail(f"only {len(rows)} samples")
    sys.exit(1)

def col(name, rs=rows):
    return [r[name] for r in rs]

def line(name, unit, rs=rows):
    v = col(name, rs)
    return (f"{name:14s} first {v[0]:9.0f}  last {v[-1]:9.0f}  min {min(v):9.0f}  "
            f"max {max(v):9.0f} {unit}")

print(f"soak: {len(rows)} samples from {rows[0]['t_s']:.0f}s to {rows[-1]['t_s']:.0f}s")
for name, unit in [("blast_fds", ""), ("blast_rss_kb", "kB"), ("blast_threads", ""),
                   ("blast_sockets", ""), ("close_wait", ""), ("persisting", ""),
                   ("target_fds", "")]:
    print("  " + line(name, unit))

fd = col("blast_fds")
spread = max(fd) - min(fd)
verdict = "flat" if spread <= max_fd_spread else "NOT flat"
print(f"soak: fds: max - min = {spread:.0f} (allowed {max_fd_spread}): {verdict}")
if spread > max_fd_spread:
    fail(f"blast's fds moved by {spread:.0f}")

pers = max(col("persisting"))
verdict = "none leaked" if pers <= max_fd_spread else "LEAKING"
print(f"soak: sockets: at most {max(col('blast_sockets')):.0f} open in a sample, at most "
      f"{pers:.0f} persisting across a sample interval (allowed {max_fd_spread}): {verdict}")
if pers > max_fd_spread:
    fail(f"{pers:.0f} of blast's sockets outlived a sample interval")

after = [r for r in rows if r["t_s"] >= warmup]
if len(after) < 2:
    fail(f"fewer than 2 samples after {warmup}s")
else:
    base = after[0]["blast_rss_kb"]
    peak = max(col("blast_rss_kb", after))
    growth = peak - base
    slope = (after[-1]["blast_rss_kb"] - base) / max(after[-1]["t_s"] - after[0]["t_s"], 1) * 60
    verdict = "flat" if growth <= max_rss_kb else "GROWING"
    print(f"soak: rss after {after[0]['t_s']:.0f}s: baseline {base:.0f} kB, max {peak:.0f} kB, "
          f"growth {growth:+.0f} kB (allowed {max_rss_kb}), last-vs-baseline "
          f"{slope:+.1f} kB/min: {verdict}")
    if growth > max_rss_kb:
        fail(f"blast's RSS grew by {growth:.0f} kB after {warmup}s")

err = open(err_path).read().strip()
if rc != 0:
    fail(f"blast exited {rc}: {err}")
try:
    doc = json.load(open(json_path))
except (OSError, ValueError) as e:
    fail(f"no JSON from blast: {e}")
    doc = None
if doc:
    for name, s in doc["scenarios"].items():
        q, f, c = s["requests"], s["failures"], s["connections"]
        print(f"soak: scenario {name}: scheduled {q['scheduled']} ok {q['ok']} failed "
              f"{q['failed']} dropped {q['dropped']}; achieved {s['rate']['achieved']:.1f} req/s "
              f"(target {rate}); connections opened {c['opened']} failed {c['failed']} "
              f"max open {c['max_open']}")
        nz = {k: v for k, v in f.items() if v}
        if nz:
            print(f"soak: failures: {nz}")
        lat = s["latency_ms"]
        print(f"soak: latency p50 {lat['p50']:.3f} p99 {lat['p99']:.3f} p99.9 {lat['p99.9']:.3f} "
              f"max {lat['max']:.3f} ms")
        if q["scheduled"] != q["ok"] + q["failed"] + q["dropped"]:
            fail("scheduled != ok + failed + dropped")
        if q["scheduled"] < 0.99 * rate * secs:
            fail(f"scheduled {q['scheduled']} < 99% of {rate * secs}")
print("soak: PASS" if ok else "soak: FAIL")
sys.exit(0 if ok else 1)
EOF
