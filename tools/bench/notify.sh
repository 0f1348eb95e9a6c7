#!/usr/bin/env bash
# Notification benchmark: complete checkouts/s through Mercato's HTTP API while every order's
# confirmation also goes out by SMS to a local fake provider (mercato-bench fake-provider), beside
# the checkout rate of the same run without a provider (the SMS deliveries are planned and stay
# pending, so only the sending differs). Reports, for the run with SMS: the SMS accepted per
# second, and the time from the order event becoming durable to the provider accepting its SMS
# (p50, p99, max; from notifications.delivered_at - event_recorded_at); for both: machine CPU per
# checkout. The two kinds of run alternate, --rounds times each.
#
#   tools/bench/notify.sh [--clients 16] [--duration 20] [--rounds 2] [--skus 1000]
#                         [--customers 200]
#
# Expects a built tree (tools/dev builds it; MERCATO_BUILD_DIR names it, default <repo>/build)
# and MERCATO_TEST_DATABASE_URL pointing at a superuser connection of the private cluster
# (tools/dev bench sets both up).
set -euo pipefail
clients=16
duration=20
warmup=3
rounds=2
skus=1000
customers=200
while (($#)); do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --skus) skus=$2; shift 2 ;;
    --customers) customers=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"
db=$(dsn_for mercato_notify_bench)
psql_m() { psql -X -q -v ON_ERROR_STOP=1 "$db" "$@"; }
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret" --ttl 86400)
json_field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
recreate_db mercato_notify_bench

"$bin/mercato-bench" fake-provider --port-file "$work/sms-port" 2>>"$work/provider.log" &
extra_pids="$extra_pids $!"
for _ in $(seq 100); do [[ -s $work/sms-port ]] && break; sleep 0.1; done
[[ -s $work/sms-port ]] || { echo "the fake provider did not start" >&2; exit 1; }
sms_url="http://127.0.0.1:$(cat "$work/sms-port")"

# Products with stock, and customers who want their order news by SMS (and in the app).
start_server "$db"
log "$skus products with stock; $customers customers wanting SMS"
"$bin/mercato-bench" checkout --url "$url" --token "$token" --jwt-secret "$secret" --seed \
  --skus "$skus" --prefix sku- --customers 1 --carts 1 --connections 1 --warmup 0 --duration 1 \
  --label seed >/dev/null || [[ $? == 3 ]]
for ((i = 0; i < customers; i++)); do
  printf -v phone '+8490%07d' "$i"
  curl -fsS -o /dev/null -X PUT "$url/v1/customers/bench-customer-$i/preferences" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"channels\":{\"in_app\":true,\"email\":false,\"sms\":true,\"push\":false},\"phone\":\"$phone\"}"
done
# A short probe (also a warm-up) sizes the pool of carts of the measured runs.
probe=$("$bin/mercato-bench" checkout --url "$url" --token "$token" --jwt-secret "$secret" \
  --skus "$skus" --prefix sku- --customers "$customers" --carts 2000 --connections "$clients" \
  --warmup 1 --duration 3 --label probe --setup-connections 32 || [[ $? == 3 ]])
echo "$probe"
stop_server
carts=$(python3 -c "import math,sys; print(max(500, math.ceil(float(sys.argv[1]) * 1.5 * (float(sys.argv[2]) + float(sys.argv[3])))))" \
  "$(json_field "$probe" per_s)" "$warmup" "$duration")

run_checkouts() { # label
  local rc=0
  checkpoint
  "$bin/mercato-bench" checkout --url "$url" --token "$token" --jwt-secret "$secret" \
    --skus "$skus" --prefix sku- --customers "$customers" --carts "$carts" \
    --connections "$clients" --warmup "$warmup" --duration "$duration" --label "$1" \
    --setup-connections 32 || rc=$?
  ((rc == 0 || rc == 3)) || return "$rc"
}

results=()
for ((round = 1; round <= rounds; round++)); do
  log "round $round: checkouts without a provider (SMS planned, not sent)"
  start_server "$db"
  plain=$(run_checkouts plain)
  echo "$plain"
  stop_server
  # What this run planned is not the next run's to send.
  psql_m -c "DELETE FROM notifications WHERE status = 'pending'"

  log "round $round: checkouts with an SMS per order"
  start_server "$db" --sms-url "$sms_url"
  t0=$(psql_m -tAc "SELECT now()")
  sms=$(run_checkouts sms)
  t1=$(psql_m -tAc "SELECT now()")
  echo "$sms"
  # Everything goes out before the figures are read (two minutes at most): the feeder has planned
  # every order event, and no SMS is left pending.
  for _ in $(seq 1200); do
    left=$(psql_m -tAc "SELECT (SELECT count(*) FROM notifications WHERE channel = 'sms' AND
        status = 'pending') + (SELECT count(*) FROM projection_offsets o JOIN journal j ON
        (j.tx, j.pos) > (o.last_tx, o.last_pos) WHERE o.name = 'notifications' AND
        j.entity_kind = 'order')")
    ((left == 0)) && break
    sleep 0.1
  done
  stop_server
  # The SMS of the orders whose confirmation became durable in the measured window.
  stats=$(psql_m -tA -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE status = 'delivered'),
      COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - event_recorded_at)), 0),
      COALESCE(percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - event_recorded_at)), 0),
      COALESCE(max(extract(epoch FROM delivered_at - event_recorded_at)), 0),
      (SELECT count(*) FROM notification_attempts a JOIN notifications m ON m.id = a.notification_id
        WHERE m.channel = 'sms' AND m.event_recorded_at BETWEEN '$t0' AND '$t1'),
      COALESCE(extract(epoch FROM max(delivered_at) - min(event_recorded_at)), 0)
    FROM notifications WHERE channel = 'sms' AND event_recorded_at BETWEEN '$t0' AND '$t1'")
  results+=("$(python3 - "$round" "$plain" "$sms" "$stats" <<'PY'
import json, sys
round_, plain, sms = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
planned, delivered, p50, p99, mx, attempts, span = sys.argv[4].split()
rate = int(delivered) / float(span) if float(span) > 0 else 0
print(f'round {round_}: without a provider {plain["per_s"]:.0f} checkouts/s '
      f'({plain.get("cpu_us_per_op", 0) / 1000:.2f} ms machine CPU each); with an SMS per order '
      f'{sms["per_s"]:.0f}/s ({sms.get("cpu_us_per_op", 0) / 1000:.2f} ms), ratio '
      f'{sms["per_s"] / plain["per_s"]:.2f}; SMS of the orders confirmed in that run: '
      f'{delivered} of {planned} accepted in {attempts} attempts, {rate:.0f}/s from the first '
      f'event to the last acceptance; event to acceptance p50 {float(p50):.3f} s, '
      f'p99 {float(p99):.3f} s, max {float(mx):.3f} s')
PY
)")
  echo "${results[-1]}"
done
for line in "${results[@]}"; do echo "$line"; done
