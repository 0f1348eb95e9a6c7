#!/usr/bin/env bash
# Soak benchmark: customers shopping at half of what the node can serve, for half an hour, with
# the server's resident memory (VmRSS) sampled every interval. Each purchase is a cart, three
# lines over --skus SKUs and a checkout, on one of --connections keep-alive connections. First
# 20 s as fast as the connections go measure the capacity; then purchases are offered at
# --fraction of it at a fixed rate (a late purchase counts its wait). Memory must stay flat once
# the live entities have reached their steady state: entities stop after
# `entity.passivate_after_ms` idle (2 min), so the first --settle seconds are left out.
#
#   tools/bench/soak.sh [--duration 1800] [--fraction 0.5] [--connections 16] [--skus 1000]
#                       [--every 60] [--settle 300]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench soak sets both up).
set -euo pipefail
duration=1800
fraction=0.5
connections=16
skus=1000
every=60
settle=300
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --fraction) fraction=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --skus) skus=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
recreate_db mercato_bench
start_server "$(dsn_for mercato_bench)"
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret")
soak() { # label rate duration every [flag...]
  local label=$1 rate=$2 seconds=$3 interval=$4
  shift 4
  "$bin/mercato-bench" soak --url "$url" --jwt-secret "$secret" --token "$token" --skus "$skus" \
    --prefix soak- --connections "$connections" --rate "$rate" --duration "$seconds" \
    --every "$interval" --pid "$server_pid" --label "$label" "$@"
}

checkpoint
capacity=$(soak capacity 0 20 20 --seed | tail -n 1)
echo "$capacity"
rate=$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['per_s'] * $fraction, 1))" \
  "$capacity")
log "offering $rate purchases/s ($fraction of the capacity) for $duration s"
checkpoint
soak soak "$rate" "$duration" "$every" | tee "$work/soak.jsonl"
show_server_log

python3 - "$work/soak.jsonl" "$settle" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
settle = float(sys.argv[2])
rows = [r for r in lines if r['kind'] == 'interval']
run = next(r for r in lines if r['kind'] == 'run')
print('| at | purchases/s | checkout p99 | purchase p99 | RSS | machine busy | CPU per purchase |')
print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for r in rows:
    print(f"| {r['t_s'] / 60:.1f} min | {r['per_s']:.0f} | {r['checkout_p99_ms']:.1f} ms | "
          f"{r['purchase_p99_ms']:.1f} ms | {r['rss_kib'] / 1024:.1f} MiB | "
          f"{r['machine_busy']:.2f} | {r['cpu_us_per_op']:.0f} µs |")
steady = [r['rss_kib'] for r in rows if r['t_s'] > settle]
if steady:
    mean = sum(steady) / len(steady)
    print(f"after {settle:.0f} s: RSS {min(steady) / 1024:.1f} to {max(steady) / 1024:.1f} MiB, "
          f"mean {mean / 1024:.1f} MiB: {100 * (min(steady) / mean - 1):+.1f} % to "
          f"{100 * (max(steady) / mean - 1):+.1f} % of the mean (goal within ±10 %); "
          f"first to last {100 * (steady[-1] / steady[0] - 1):+.1f} %")
print(f"whole run: {run['purchases']} purchases, {run['failed']} failed, "
      f"{run['per_s']:.1f}/s offered {run['offered_per_s']:.1f}/s, checkout p99 "
      f"{run['checkout_p99_ms']:.1f} ms, {run['cpu_us_per_op']:.0f} µs machine CPU per purchase")
PY
