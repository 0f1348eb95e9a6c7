# Sourced by the benchmark scripts (tools/bench/*.sh), after they have read their options: the
# built tree, the database helpers, a work directory, and the Mercato server a script starts.
# On exit the server is stopped and the work directory removed; a script that starts more
# processes lists them in `extra_pids`.
: "${MERCATO_TEST_DATABASE_URL:?set MERCATO_TEST_DATABASE_URL (tools/dev bench does)}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${MERCATO_BUILD_DIR:-$root/build}
[[ $build == /* ]] || build=$root/$build
bin=$build/bin
secret=bench-secret-0123456789abcdef0123456789

dsn_for() { sed -E "s/dbname=[^ ]*/dbname=$1/" <<<"$MERCATO_TEST_DATABASE_URL"; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "$MERCATO_TEST_DATABASE_URL" "$@"; }
log() { echo "[bench] $*" >&2; }
# Each measurement starts right after a checkpoint, so that no run pays for another's WAL.
checkpoint() { psql_admin -c CHECKPOINT; }
recreate_db() { # name
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

# Machine-wide CPU time so far, in clock ticks (getconf CLK_TCK per second): busy (user, nice,
# system, irq, softirq) and idle (idle, iowait). mercato-bench reads /proc/stat the same way over
# its measured window; client, server and database share the machine, so it is their sum.
cpu_busy_idle() { awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }

# The sum of a Prometheus series of the server at URL over all its label sets (0 if absent).
metric_sum() { # url name
  curl -fsS "$1/metrics" | awk -v name="$2" '$1 == name || index($1, name "{") == 1 { s += $NF }
    END { printf "%.0f\n", s }'
}

# Runs pgbench with `-n -M prepared -c CLIENTS -l` and ARGS (duration, threads, script, DSN...)
# right after a checkpoint, and prints one JSON line like mercato-bench's: the rate, latency
# percentiles from the per-transaction log (3rd column: µs), and the machine's CPU per
# transaction over the run (`cpu_us_per_op`, from cpu_busy_idle).
pgbench_json() { # label skus clients pgbench-arg...
  local label=$1 skus=$2 clients=$3 b0 i0 b1 i1 tps
  shift 3
  rm -f "$work"/pglog*
  checkpoint
  read -r b0 i0 < <(cpu_busy_idle)
  pgbench -n -M prepared -c "$clients" -l --log-prefix="$work/pglog" "$@" >"$work/pgbench.out" 2>&1 \
    || { cat "$work/pgbench.out" >&2; exit 1; }
  read -r b1 i1 < <(cpu_busy_idle)
  tps=$(awk '/^tps = /{print $3; exit}' "$work/pgbench.out")
  cat "$work"/pglog* | awk '{print $3}' | sort -n >"$work/lat"
  python3 - "$work/lat" "$label" "$skus" "$clients" "$tps" "$b0" "$i0" "$b1" "$i1" \
    "$(getconf CLK_TCK)" <<'PY'
import sys
lat = [int(x) for x in open(sys.argv[1]) if x.strip()]
label, skus, clients, tps = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
b0, i0, b1, i1, hz = (float(x) for x in sys.argv[6:11])
pct = lambda p: lat[int(p * (len(lat) - 1))] / 1000 if lat else 0
busy = (b1 - b0) / ((b1 - b0) + (i1 - i0)) if (b1 - b0) + (i1 - i0) > 0 else 0
cpu_us = 1e6 * (b1 - b0) / hz / len(lat) if lat else 0
print('{"label":"%s","skus":%s,"connections":%s,"per_s":%.0f,"p50_ms":%.2f,"p99_ms":%.2f,'
      '"machine_busy":%.2f,"cpu_us_per_op":%.1f}'
      % (label, skus, clients, tps, pct(0.5), pct(0.99), busy, cpu_us))
PY
}

work=$(mktemp -d)
server_pid=
extra_pids=
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_server() {
  [[ -z $server_pid ]] || stop_pid "$server_pid"
  server_pid=
}
bench_cleanup() {
  stop_server
  for pid in $extra_pids; do stop_pid "$pid"; done
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Starts `mercato` on database DSN (it migrates it) on a free loopback port, with any further
# flags, and waits until it is ready; sets `server_pid` and `url`.
start_server() { # dsn [flag...]
  local dsn=$1
  shift
  rm -f "$work/port"
  "$bin/mercato" --http-addr 127.0.0.1:0 --port-file "$work/port" --database-url "$dsn" \
    --jwt-secret "$secret" --log-level warn --log-format text "$@" 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 600); do [[ -s $work/port ]] && break; sleep 0.1; done
  [[ -s $work/port ]] || { echo "server did not start:"; cat "$work/server.log"; exit 1; } >&2
  url="http://127.0.0.1:$(cat "$work/port")"
  for _ in $(seq 300); do curl -fsS -o /dev/null "$url/readyz" 2>/dev/null && return 0; sleep 0.1; done
  echo "server not ready:" >&2; cat "$work/server.log" >&2; exit 1
}

# Shows the end of Mercato's log if it warned or failed (scripts call it last).
show_server_log() {
  if [[ -f $work/server.log ]] && grep -qi "error\|warn" "$work/server.log"; then
    log "mercato's log:"
    tail -n 20 "$work/server.log" >&2
  fi
}

# -- the Node.js baseline on the npm package `ws` (push.sh, idle_ws.sh) --

node_dir=$root/tools/bench/node

# Checks for node and npm and installs the pinned `ws` (npm ci); sets ws_version.
node_setup() { # mode (for the hint)
  command -v node >/dev/null && command -v npm >/dev/null \
    || { echo "node and npm are needed (tools/dev bench $1 installs them)" >&2; exit 1; }
  log "node: npm ci ($(node --version), npm $(npm --version 2>/dev/null))"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) \
    || { cat "$work/npm.log" >&2; exit 1; }
  ws_version=$(node -p "require('$node_dir/node_modules/ws/package.json').version")
}

# Starts tools/bench/node/ws-baseline.js on a free loopback port and waits until it listens;
# sets node_pid and node_url. The caller lists node_pid in extra_pids.
start_ws_baseline() {
  rm -f "$work/node.port"
  node "$node_dir/ws-baseline.js" --port 0 --port-file "$work/node.port" >>"$work/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 600); do
    [[ -s $work/node.port ]] && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -s $work/node.port ]] || { echo "node did not start:"; cat "$work/node.log"; exit 1; } >&2
  node_url="http://127.0.0.1:$(cat "$work/node.port")"
}

# -- clusters (failover.sh, handoff.sh) --

start_node() { # name: a cluster node on database $cluster_db; appends to urls[] and pids[]
  # (stopped through extra_pids)
  start_server "$(dsn_for "$cluster_db")" --cluster --node-id "bench-$1"
  urls+=("$url") pids+=("$server_pid")
  extra_pids="$extra_pids $server_pid"
  server_pid=
}

# Blocks until `n` members are up, each holding a fair share of the 256 shards.
wait_balanced() { # n: asks urls[0] with $token
  python3 - "$1" "$token" "${urls[0]}" <<'PY'
import http.client, json, sys, time, urllib.parse
n, token, url = int(sys.argv[1]), sys.argv[2], urllib.parse.urlparse(sys.argv[3])
deadline = time.monotonic() + 90
last, since = None, 0.0
while time.monotonic() < deadline:
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    c.request("GET", "/v1/admin/cluster", headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read()
    shares = None
    if r.status == 200:
        up = [m for m in json.loads(body)["members"] if m["status"] == "up"]
        if len(up) == n and sum(m["shards"] for m in up) == 256 and min(m["shards"] for m in up) >= 256 // n // 2:
            shares = sorted((m["node_id"], m["shards"]) for m in up)
    # Balanced once the shares hold still for 2 s: a join moves 16 shards at a time.
    if shares is not None and shares == last:
        if time.monotonic() - since >= 2:
            print(" ".join(f"{node}:{k}" for node, k in shares), file=sys.stderr)
            sys.exit(0)
    else:
        last, since = shares, time.monotonic()
    time.sleep(0.1)
sys.exit("the cluster did not balance")
PY
}
