#!/usr/bin/env bash
# bench/tls.sh: HTTPS cost, blast vs h2load --h1 vs wrk, against Debian nginx on loopback.
#   - keep-alive saturation over HTTPS and over plain HTTP (50 connections): req/s, client
#     CPU-µs per request (user + sys of the client process / completed requests);
#   - new connections: nginx closes after every response, so every request is a handshake:
#     blast with resumption (default) and without (tls_resume = false), wrk (full handshakes).
# Client pinned to CPU 0, nginx (one process) to CPU 1; RUNS x SECONDS each, interleaved; medians.
# Everything goes to 127.0.0.1 and stops by itself. Writes bench/TLS-RESULTS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-5}
BLAST=$ROOT/blast
[[ -x $BLAST ]] || { echo "tls.sh: build blast first (make)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/blast-tls-bench.XXXXXX)
NGX_PID=
cleanup() {
  [[ -n $NGX_PID ]] && kill "$NGX_PID" 2>/dev/null && wait "$NGX_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
cc -O2 -o "$TMP/rusage" "$ROOT/bench/rusage.c"

( cd "$TMP"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj /CN=bench-ca
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
    -subj /CN=localhost
  printf 'subjectAltName=DNS:localhost\n' > ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
    -extfile ext ) >/dev/null 2>&1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_nginx() { # $1: keepalive (1) or close after every response (0)
  [[ -n $NGX_PID ]] && { kill "$NGX_PID"; wait "$NGX_PID" 2>/dev/null || true; NGX_PID=; }
  local ka="keepalive_requests 1000000; keepalive_timeout 300s;"
  [[ $1 == 0 ]] && ka="keepalive_timeout 0;"
  PORT=$(free_port); PORT2=$(free_port)
  HTTPS=https://localhost:$PORT/
  HTTP=http://127.0.0.1:$PORT2/
  cat > "$TMP/nginx.conf" <<NGX
daemon off; master_process off; worker_processes 1; pid $TMP/nginx.pid; error_log $TMP/error.log;
events { worker_connections 4096; }
http { access_log off; $ka client_body_temp_path $TMP;
  ssl_session_cache shared:S:10m;
  server { listen 127.0.0.1:$PORT ssl; ssl_certificate $TMP/srv.pem; ssl_certificate_key $TMP/srv.key;
    ssl_protocols TLSv1.2 TLSv1.3; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$PORT2; location / { return 200 "ok\n"; } } }
NGX
  taskset -c 1 /usr/sbin/nginx -c "$TMP/nginx.conf" -p "$TMP" &
  NGX_PID=$!
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && return
    sleep 0.05
  done
  echo "tls.sh: nginx did not start" >&2; exit 1
}

# run NAME CMD...: runs CMD pinned to CPU 0 under rusage; prints "user sys" to $TMP/NAME.ru
run() { local name=$1; RUN=$1; shift; taskset -c 0 "$TMP/rusage" "$TMP/$name.ru" "$@" > "$TMP/$name.out" 2>&1 || true; }

blast_ini() { # $1 url, $2 extra lines
  printf '[global]\nbase_url = %s\nduration = %ss\nca_file = %s/ca.pem\n%s\n[scenario s]\nexecutor = constant-vus\nvus = 50\n' \
    "$1" "$SECS" "$TMP" "$2" > "$TMP/b.ini"
}
blast_reqs() { python3 -c "import json; d=json.load(open('$TMP/b.json'))['scenarios']['s']; print(d['requests']['ok']+d['requests']['failed'], d['requests']['failed'], d.get('tls',{}).get('handshakes',{}).get('resumed',0))"; }
wrk_reqs() { awk '/requests in/ {print $1}' "$TMP/$1.out"; }
h2_reqs() { awk '/^requests:/ {print $8}' "$TMP/$1.out"; }

RESULTS=$TMP/results.tsv
: > "$RESULTS"
record() { # case label requests failed extra  (reads the rusage of the last run named $RUN)
  read -r u s rss _ _ wall < "$TMP/$RUN.ru"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$u" "$s" "$wall" "${5:-}" >> "$RESULTS"
  printf '  %-10s %-12s %9s req  %6.2f CPU-us/req  (failed %s) %s\n' "$1" "$2" "$3" \
    "$(python3 -c "print(($u+$s)/max(1,$3)*1e6)")" "$4" "${5:-}"
}

start_nginx 1
echo "tls.sh: nginx on CPU 1 (https :$PORT, http :$PORT2); clients on CPU 0; $RUNS x ${SECS}s"
for i in $(seq "$RUNS"); do
  blast_ini "$HTTPS" ""; run blast "$BLAST" -c "$TMP/b.ini" -w 1 -q --out json="$TMP/b.json"
  read -r n f _ < <(blast_reqs); record keepalive-https blast "$n" "$f"
  run wrk wrk -t1 -c50 -d"${SECS}s" "$HTTPS"; record keepalive-https wrk "$(wrk_reqs wrk)" 0
  run h2load h2load --h1 -t1 -c50 -D "$SECS" "$HTTPS"; record keepalive-https h2load "$(h2_reqs h2load)" 0
  blast_ini "$HTTP" ""; run blast "$BLAST" -c "$TMP/b.ini" -w 1 -q --out json="$TMP/b.json"
  read -r n f _ < <(blast_reqs); record keepalive-http blast "$n" "$f"
  run wrk wrk -t1 -c50 -d"${SECS}s" "$HTTP"; record keepalive-http wrk "$(wrk_reqs wrk)" 0
  run h2load h2load --h1 -t1 -c50 -D "$SECS" "$HTTP"; record keepalive-http h2load "$(h2_reqs h2load)" 0
done
start_nginx 0
for i in $(seq "$RUNS"); do
  blast_ini "$HTTPS" "tls_resume = true"; run blast "$BLAST" -c "$TMP/b.ini" -w 1 -q --out json="$TMP/b.json"
  read -r n f r < <(blast_reqs); record handshake blast-resumed "$n" "$f" "resumed=$r"
  blast_ini "$HTTPS" "tls_resume = false"; run blast "$BLAST" -c "$TMP/b.ini" -w 1 -q --out json="$TMP/b.json"
  read -r n f r < <(blast_reqs); record handshake blast-full "$n" "$f" "resumed=$r"
  run wrk wrk -t1 -c50 -d"${SECS}s" -H 'Connection: close' "$HTTPS"; record handshake wrk-full "$(wrk_reqs wrk)" 0
done

python3 - "$RESULTS" "$ROOT/bench/TLS-RESULTS.md" "$SECS" "$RUNS" <<'PY'
import sys, statistics, datetime, subprocess, collections
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
secs, runs = float(sys.argv[3]), sys.argv[4]
g = collections.OrderedDict()
for case, tool, n, f, u, s, wall, extra in rows:
    n = float(n or 0); u = float(u); s = float(s)
    g.setdefault((case, tool), []).append((n / secs, (u + s) / max(n, 1) * 1e6, u / max(n, 1) * 1e6, extra, f))
def ver(cmd):
    try: return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip().splitlines()[0]
    except Exception: return '?'
out = ['# HTTPS benchmark (bench/tls.sh)', '',
       f'Generated {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {runs} runs x {secs:.0f} s per row, medians.',
       f'Machine: {ver("nproc")} CPUs, kernel {ver("uname -r")}; {ver("./blast --version")}; {ver("h2load --version")}; wrk {ver("wrk -v 2>&1 | head -1")}.',
       '', 'Method: nginx 1 process on CPU 1 (TLS 1.3 negotiated, P-256 ECDSA certificate, X25519), client pinned to CPU 0, 50 connections, '
       'closed loop. CPU-µs/req = client (user + sys) / completed requests. "handshake" rows: nginx closes after every response, '
       'so each request opens a connection and does a TLS handshake (req/s = handshakes/s).', '',
       '| case | tool | req/s | CPU-µs/req | user-µs/req | notes |', '|---|---|---|---|---|---|']
for (case, tool), v in g.items():
    med = lambda i: statistics.median(x[i] for x in v)
    notes = '; '.join(sorted(set(x[3] for x in v if x[3]))) or ''
    fails = sum(int(x[4] or 0) for x in v)
    if fails: notes += f' failed {fails}'
    out.append(f'| {case} | {tool} | {med(0):,.0f} | {med(1):.2f} | {med(2):.2f} | {notes} |')
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
print('\n'.join(out))
PY
