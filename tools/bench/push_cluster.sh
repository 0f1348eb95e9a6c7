#!/usr/bin/env bash
# Cross-node push: partner facts posted to the node that owns an order, pushed over WebSocket to
# subscribers connected to that node (local) or to the other node of a two-node cluster, which
# forwards its subscription to the owner over CAF remoting and relays each event (cross-node).
# Both are measured in the same run, alternating, on the same cluster, each run on an order of
# its own (an order takes at most 1,000 partner facts: README, "A long timeline").
#
#   tools/bench/push_cluster.sh [--subscribers 100] [--events 300] [--rounds 3]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench sets both up).
set -euo pipefail
subscribers=100
events=300
rounds=3
while (($#)); do
  case $1 in
    --subscribers) subscribers=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"
ulimit -n "$(ulimit -Hn)"

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret" --ttl 86400)
cluster_db=push_cluster_bench
recreate_db "$cluster_db"
urls=() pids=()
start_node a
start_node b
wait_balanced 2

push() { # post-url ws-url label subscribers events [flag...]
  local post=$1 ws=$2 label=$3 n=$4 e=$5
  shift 5
  "$bin/mercato-bench" push --url "$post" --ws-url "$ws" --token "$token" --jwt-secret "$secret" \
    --subscribers "$n" --events "$e" --posters 1 --window 1 --label "$label" --json "$@"
}

# A new order, made through node a by a real checkout; then which node holds it live: sets
# order, owner and other.
new_order() {
  order=$(push "${urls[0]}" "${urls[0]}" setup 1 10 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["order_id"])')
  owner=-1
  for i in 0 1; do
    if curl -fsS -o /dev/null -H "Authorization: Bearer $token" \
      "${urls[$i]}/v1/admin/actors/order/$order" 2>/dev/null; then owner=$i; fi
  done
  ((owner >= 0)) || { echo "no node holds order $order live" >&2; exit 1; }
  other=$((1 - owner))
  log "order $order lives on node $owner (${urls[$owner]}); the other node is ${urls[$other]}"
}

log "warm-up: both paths"
new_order
push "${urls[$owner]}" "${urls[$owner]}" warmup "$subscribers" "$events" --order "$order" >/dev/null
new_order
push "${urls[$owner]}" "${urls[$other]}" warmup "$subscribers" "$events" --order "$order" >/dev/null

results=()
for r in $(seq "$rounds"); do
  for path in local cross-node; do
    new_order
    ws=${urls[$owner]}
    [[ $path == local ]] || ws=${urls[$other]}
    read -r b0 i0 < <(cpu_busy_idle)
    line=$(push "${urls[$owner]}" "$ws" "$path" "$subscribers" "$events" --order "$order")
    read -r b1 i1 < <(cpu_busy_idle)
    line=$(python3 - "$line" "$b0" "$b1" "$(getconf CLK_TCK)" "$r" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r["round"] = int(sys.argv[5])
# The machine's CPU (client, both nodes, PostgreSQL) per delivery over the whole run.
r["cpu_us_per_delivery"] = round(1e6 * (float(sys.argv[3]) - float(sys.argv[2]))
                                 / float(sys.argv[4]) / max(r["deliveries"], 1), 1)
print(json.dumps(r, separators=(",", ":")))
PY
)
    echo "$line"
    results+=("$line")
  done
done
python3 - "${results[@]}" <<'PY'
import json, sys
runs = [json.loads(x) for x in sys.argv[1:]]
for r in sorted({x["round"] for x in runs}):
    local = next(x for x in runs if x["round"] == r and x["label"] == "local")
    cross = next(x for x in runs if x["round"] == r and x["label"] == "cross-node")
    print(f'round {r}: local p50 {local["p50_ms"]:.2f} ms p99 {local["p99_ms"]:.2f} ms '
          f'({local["cpu_us_per_delivery"]} µs CPU/delivery); cross-node p50 {cross["p50_ms"]:.2f} ms '
          f'p99 {cross["p99_ms"]:.2f} ms ({cross["cpu_us_per_delivery"]} µs); '
          f'added p50 {cross["p50_ms"] - local["p50_ms"]:+.2f} ms, p99 {cross["p99_ms"] - local["p99_ms"]:+.2f} ms; '
          f'missing {local["missing"] + cross["missing"]}, duplicates {local["duplicates"] + cross["duplicates"]}')
PY
