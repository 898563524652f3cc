#!/usr/bin/env bash
# make demo: start the bundled target server on a free loopback port, run config/demo.ini against
# it for a few seconds, print the summary, stop the server (by pid).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/blast-demo.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
build/blast-target --port 0 --port-file "$dir/port" --quiet &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
[ -s "$dir/port" ] || { echo "demo: the target server did not start" >&2; exit 1; }
port=$(cat "$dir/port")
echo "demo: target server on 127.0.0.1:$port (pid $pid); running config/demo.ini for 5 s"
echo
./blast -c config/demo.ini -e BASE_URL="http://127.0.0.1:$port" -e DURATION=5s \
  --out json="$dir/demo.json"
echo
echo "demo: JSON result (excerpt):"
head -c 600 "$dir/demo.json"; echo " ..."
