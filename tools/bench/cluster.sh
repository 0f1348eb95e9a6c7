#!/usr/bin/env bash
# Cluster benchmark, two parts on one PostgreSQL:
# 1. stock reads of one SKU asked of the node that owns it, versus asked of the other node, which
#    forwards each read to the owner over CAF remoting (two nodes of one cluster);
# 2. durable reservations on one hot SKU by a single node, versus by a one-node cluster, whose
#    journal checks its membership (the fence) in every batch.
#
#   tools/bench/cluster.sh [--clients 16] [--duration 10]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench sets both up).
set -euo pipefail
clients=16
duration=10
while (($#)); do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret")
auth=(-H "Authorization: Bearer $token")

# Part 1: two nodes.
recreate_db cluster_bench
start_server "$(dsn_for cluster_bench)" --cluster --node-id bench-a
url_a=$url
pid_a=$server_pid
server_pid= # stopped through extra_pids, with the second node
extra_pids="$pid_a"
start_server "$(dsn_for cluster_bench)" --cluster --node-id bench-b
url_b=$url
extra_pids="$extra_pids $server_pid"
server_pid=
log "waiting for both nodes to own shards"
for _ in $(seq 600); do
  shards=$(curl -fsS "${auth[@]}" "$url_a/v1/admin/cluster" \
    | python3 -c 'import json,sys; m=json.load(sys.stdin)["members"]; print(" ".join(str(x["shards"]) for x in m if x["status"]=="up"))')
  read -r -a counts <<<"$shards"
  if ((${#counts[@]} == 2 && counts[0] > 64 && counts[1] > 64)); then break; fi
  sleep 0.1
done
log "shards per node: $shards"

# A SKU that node A owns and one that node B owns: create candidates until both are found.
local_prefix="" remote_prefix=""
for i in $(seq 100); do
  sku="c$i-0"
  curl -fsS -o /dev/null -X PUT "${auth[@]}" "$url_a/v1/products/$sku" \
    -d '{"name":"bench","price_minor":100,"currency":"USD"}'
  curl -fsS -o /dev/null -X PUT "${auth[@]}" "$url_a/v1/stock/$sku" -d '{"on_hand":1000000}'
  if curl -fsS "${auth[@]}" "$url_a/v1/admin/actors/stock/$sku" -o /dev/null 2>/dev/null; then
    [[ -n $local_prefix ]] || local_prefix="c$i-"
  else
    [[ -n $remote_prefix ]] || remote_prefix="c$i-"
  fi
  [[ -n $local_prefix && -n $remote_prefix ]] && break
done
log "owned by A: ${local_prefix}0; owned by B: ${remote_prefix}0"
for prefix in "$local_prefix" "$remote_prefix"; do
  label=local
  [[ $prefix == "$remote_prefix" ]] && label=forwarded
  "$bin/mercato-bench" read --url "$url_a" --token "$token" --connections "$clients" \
    --duration "$duration" --warmup 2 --skus 1 --prefix "$prefix" --label "$label"
done
for pid in $extra_pids; do stop_pid "$pid"; done
extra_pids=

# Part 2: the fence's price on the journal.
for mode in single fenced; do
  recreate_db fence_bench
  if [[ $mode == fenced ]]; then
    start_server "$(dsn_for fence_bench)" --cluster --node-id bench-fence
    for _ in $(seq 100); do curl -fsS -o /dev/null "$url/readyz" 2>/dev/null && break; sleep 0.1; done
  else
    start_server "$(dsn_for fence_bench)"
  fi
  checkpoint
  "$bin/mercato-bench" flash --url "$url" --token "$token" --connections 64 \
    --duration "$duration" --warmup 3 --skus 1 --prefix "hot-" --seed --label "flash-$mode"
  stop_server
done
