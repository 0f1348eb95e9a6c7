#!/usr/bin/env bash
# Overload benchmark: one hot SKU offered far more reservations than the node can make durable.
# First the node at its capacity (64 closed-loop connections; enough to saturate this machine),
# then ten times as many connections, each sending its next request as soon as it has an answer,
# with the stock item's bound on reservations waiting for the journal
# (`entity.max_waiting_reservations`, 512 by default) and then with the bound lifted. Reported:
# the accepted reservations' rate and latency, and how fast the refused ones (503) were answered.
# With --open-loop the overload runs instead offer --factor times the capacity's rate at fixed
# times (mercato-bench --rate) on the same connections, each latency counted from when its
# request was due.
#
#   tools/bench/overload.sh [--clients 64] [--factor 10] [--duration 15] [--bound N] [--open-loop]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench overload sets both up).
set -euo pipefail
clients=64
factor=10
duration=15
bound=   # the server's default
open_loop=0
while (($#)); do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --factor) factor=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --bound) bound=$2; shift 2 ;;
    --open-loop) open_loop=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
many=$((clients * factor))
ulimit -n $((many * 4 + 1024)) 2>/dev/null || true

run() { # label connections prefix [flag...]
  local label=$1 conns=$2 prefix=$3
  shift 3
  checkpoint
  "$bin/mercato-bench" flash --url "$url" --token "$token" --connections "$conns" \
    --duration "$duration" --warmup 3 --skus 1 --prefix "$prefix-" --seed --shed-ok \
    --label "$label" "$@"
}

recreate_db mercato_bench
start_server "$(dsn_for mercato_bench)" ${bound:+--max-waiting-reservations "$bound"}
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret")
at_capacity=$(run capacity "$clients" cap); echo "$at_capacity"
offer=()
if ((open_loop)); then
  offer=(--rate "$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['per_s'] * $factor))" "$at_capacity")")
  log "open loop: offering ${offer[1]} reservations/s"
fi
bounded=$(run "overload-bounded" "$many" bounded "${offer[@]}"); echo "$bounded"
stop_server
start_server "$(dsn_for mercato_bench)" --max-waiting-reservations 1000000
unbounded=$(run "overload-unbounded" "$many" unbounded "${offer[@]}"); echo "$unbounded"

python3 - "$at_capacity" "$bounded" "$unbounded" "$factor" <<'PY'
import json, sys
cap, b, u = (json.loads(x) for x in sys.argv[1:4])
for name, r in (("bounded", b), ("unbounded", u)):
    sent = (f'; sent {r["sent_per_s"]:.0f}/s ({r["sent_per_s"] / cap["per_s"]:.1f}x), '
            f'at most {r["max_send_lag_ms"]:.0f} ms after due' if "sent_per_s" in r else '')
    print(f'{name}: answered {r["answered_per_s"] / cap["per_s"]:.1f}x the capacity '
          f'({r["answered_per_s"]:.0f} answers/s){sent}; accepted {r["per_s"]:.0f}/s '
          f'({r["per_s"] / cap["per_s"]:.2f}x), p99 {r["p99_ms"]:.1f} ms = '
          f'{r["p99_ms"] / cap["p99_ms"]:.2f}x the p99 at capacity ({cap["p99_ms"]:.1f} ms; goal <= 2x); '
          f'refused {r["shed"]} with p99 {r["shed_p99_ms"]:.2f} ms (goal <= 5 ms); '
          f'{r.get("cpu_us_per_op", 0):.0f} us machine CPU per accepted reservation '
          f'(at capacity {cap.get("cpu_us_per_op", 0):.0f})')
PY
