#!/usr/bin/env bash
# bench/flows.sh: what flows cost, beside a single request, in one interleaved run.
#
# Against blast-target (pinned to BENCH_SERVER_CPU), with blast on one worker pinned to
# BENCH_CLIENT_CPU, 50 VUs at saturation (constant-vus), for each case: client CPU per request
# ((user + sys) / requests completed) and max RSS, medians of BENCH_RUNS interleaved runs:
#   single   one GET per iteration (the request every benchmark so far has used)
#   flow3    a 3-step flow: POST .../upload/initiate extracting data.upload_id from the JSON
#            body, GET /api/v1/tracks/{{ upload_id }} with a templated header and a JSON check,
#            GET /api/v1/search?q={{ pick(...) | urlencode }} with a status check
# Then the seed 000 file (config/mixed-scenarios.ini) at full size, 1,650 VUs on two workers
# (unpinned) for BENCH_SEED_SECONDS: its peak RSS and what it sent. All load goes to 127.0.0.1
# and every run is bounded in time.
#
# Environment: BENCH_RUNS [5] BENCH_SECONDS [10] BENCH_SEED_SECONDS [20] BENCH_VUS [50]
#   BLAST [./blast] TARGET [build/blast-target] BENCH_CLIENT_CPU [0] BENCH_SERVER_CPU [1]
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECONDS:-10}
SEED_SECS=${BENCH_SEED_SECONDS:-20}
VUS=${BENCH_VUS:-50}

bench_init flows
need_blast
[[ -x $TARGET ]] || die "no target server at $TARGET (run 'make')"

PORT=$(free_port)
taskset -c "$SERVER_CPU" "$TARGET" --port "$PORT" --quiet </dev/null >"$TMP/target.out" 2>&1 &
SERVER_PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/" "${SERVER_PIDS[0]}" || die "blast-target did not start"
URL=http://127.0.0.1:$PORT

cat >"$TMP/single.ini" <<EOF
[global]
base_url = $URL
duration = ${SECS}s
workers = 1
[scenario s]
executor = constant-vus
vus = $VUS
path = /
EOF
cat >"$TMP/flow3.ini" <<EOF
[global]
base_url = $URL
duration = ${SECS}s
workers = 1
[scenario s]
executor = constant-vus
vus = $VUS
flow = f
[flow f]
step = initiate
step = detail
step = search
[step initiate]
method = POST
path = /api/v1/tracks/upload/initiate
header = Content-Type: application/json
body = {"filename":"bench-{{ vu }}-{{ iter }}.mp3"}
extract = upload_id = json data.upload_id
[step detail]
path = /api/v1/tracks/{{ upload_id }}
header = X-Upload-Id: {{ upload_id }}
check = json id exists
[step search]
path = /api/v1/search?q={{ pick("rock", "jazz", "lo-fi") | urlencode }}
check = status 200
EOF

results=$TMP/results.txt
: >"$results"
for run in $(seq "$RUNS"); do
    for c in single flow3; do
        pfx=$TMP/$c-$run
        run_client "$pfx" "$BLAST" -c "$TMP/$c.ini" --quiet --out "json=$pfx.json" ||
            log "$c run $run exited $?"
        python3 - "$pfx" "$c" >>"$results" <<'EOF'
import json, sys
pfx, case = sys.argv[1], sys.argv[2]
user, sys_, rss, vcs, ics, wall = open(pfx + ".time").read().split()
d = json.load(open(pfx + ".json"))["scenarios"]["s"]
n = d["requests"]["ok"] + d["requests"]["failed"]
print(case, n, d["requests"]["failed"], (float(user) + float(sys_)) / n * 1e6, rss, n / float(wall))
EOF
        sleep 0.5
    done
done

echo
echo "client CPU per request at saturation ($VUS VUs, 1 worker, ${SECS}s, median of $RUNS):"
python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for case in ("single", "flow3"):
    r = [x for x in rows if x[0] == case]
    us = statistics.median(float(x[3]) for x in r)
    med[case] = us
    print(f"  {case:7s} {us:6.2f} us/request  (runs: {', '.join(f'{float(x[3]):.2f}' for x in r)};"
          f" {statistics.median(float(x[5]) for x in r):,.0f} req/s; failed {sum(int(x[2]) for x in r)};"
          f" max RSS {statistics.median(int(x[4]) for x in r)} KiB)")
print(f"  flow3 / single = {med['flow3'] / med['single']:.2f}")
EOF

echo
echo "config/mixed-scenarios.ini at full size (1,650 VUs, 2 workers, ${SEED_SECS}s):"
SECS=$SEED_SECS
BENCH_PIN=0-1 run_client "$TMP/seed" "$BLAST" -c "$ROOT/config/mixed-scenarios.ini" \
    -e "BASE_URL=$URL" -e "DURATION=${SEED_SECS}s" --workers 2 --quiet --out "json=$TMP/seed.json" ||
    log "seed run exited $?"
python3 - "$TMP/seed" <<'EOF'
import json, sys
pfx = sys.argv[1]
user, sys_, rss, vcs, ics, wall = open(pfx + ".time").read().split()
d = json.load(open(pfx + ".json"))
tot = sum(s["requests"]["ok"] + s["requests"]["failed"] for s in d["scenarios"].values())
failed = sum(s["requests"]["failed"] for s in d["scenarios"].values())
vus = sum(s.get("vus", 0) for s in d["scenarios"].values())
print(f"  {vus} VUs: peak RSS {int(rss) / 1024:.1f} MiB; {tot:,} requests ({failed} failed) in"
      f" {float(wall):.1f} s; client CPU {float(user) + float(sys_):.2f} s")
for name, s in d["scenarios"].items():
    print(f"    {name:10s} {s['vus']:5d} VUs  {s['requests']['ok']:9,} ok  "
          f"{s['iterations']['completed']:7,} iterations")
EOF
