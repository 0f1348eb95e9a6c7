#!/usr/bin/env bash
# Marketplace import benchmark: native order payloads posted to POST /v1/marketplaces/{platform}/
# orders (1000 per request, --clients at once) until the daily statistics count every one of
# them, against the design they replace, run on the same orders in the same database server: a
# sync job's upserts into an orders table whose trigger queues the touched days, then the hourly
# job that deletes and re-aggregates each queued day (tools/bench/import_baseline.sql). Also: the
# time from an order change to GET /v1/stats/daily showing it, and GET /v1/stats/daily over a
# year of four platforms. Then the floor: the database work of Mercato's design alone, replayed
# in bulk from what the run wrote (tools/bench/import_floor.sql), whose CPU per order bounds the
# rate any implementation of the design can reach on this machine. Machine CPU per order beside
# each rate (client, server and database share the machine).
#
#   tools/bench/import.sh [--orders 60000] [--days 365] [--clients 4] [--changes 200]
#                         [--reads 1000]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench import sets both up).
set -euo pipefail
orders=60000
days=365
clients=4
changes=200
reads=1000
while (($#)); do
  case $1 in
    --orders) orders=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --reads) reads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"
gen="python3 $root/tools/bench/import_gen.py"
db=$(dsn_for mercato_import_bench)
psql_m() { psql -X -q -v ON_ERROR_STOP=1 "$db" "$@"; }
hz=$(getconf CLK_TCK)

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
log "generating $orders orders over $days days"
$gen gen "$work" "$orders" "$days"
recreate_db mercato_import_bench

# One JSON line: label, orders, seconds, rate, machine CPU µs per order.
report() { # label orders seconds busy_ticks
  python3 -c 'import sys; l, n, s, b, hz = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]); print("{\"label\":\"%s\",\"orders\":%d,\"seconds\":%.2f,\"per_s\":%.0f,\"cpu_us_per_op\":%.1f}" % (l, n, s, n / s, 1e6 * b / hz / n))' "$@" "$hz"
}

# -- the baseline design: upserts with the trigger, then the rebuild of every queued day --
psql_m -f "$root/tools/bench/import_baseline.sql"
checkpoint
read -r b0 _ < <(cpu_busy_idle)
t0=$(date +%s.%N)
ls "$work"/seed/*.sql | xargs -P "$clients" -n 1 psql -X -q -v ON_ERROR_STOP=1 "$db" -f >/dev/null
t1=$(date +%s.%N)
psql_m -c "SELECT seed_rebuild()" >/dev/null
t2=$(date +%s.%N)
read -r b1 _ < <(cpu_busy_idle)
baseline=$(report baseline "$orders" "$(echo "$t2 - $t0" | bc)" "$((b1 - b0))")
log "baseline upserts $(echo "$t1 - $t0" | bc) s, rebuild $(echo "$t2 - $t1" | bc) s"
echo "$baseline"

# -- Mercato: native payloads over HTTP, until the statistics count them all --
start_server "$db"
service=$("$bin/mercatoctl" token --sub bench --role service --secret "$secret" --ttl 86400)
admin=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret" --ttl 86400)
counted() {
  curl -fsS -H "Authorization: Bearer $admin" "$url/v1/stats/daily?from=2024-01-01&to=2024-12-31" \
    | python3 -c 'import json,sys; print(sum(r["total_orders"] for r in json.load(sys.stdin)))'
}
post_batch() { # file
  local platform
  platform=$(basename "$1" | cut -d- -f1)
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $service" \
    -H 'Content-Type: application/json' --data-binary "@$1" "$url/v1/marketplaces/$platform/orders"
}
export -f post_batch
export url service
checkpoint
read -r b0 _ < <(cpu_busy_idle)
t0=$(date +%s.%N)
ls "$work"/native/*.json | xargs -P "$clients" -I{} bash -c 'post_batch {}'
t1=$(date +%s.%N)
until [[ $(counted) == "$orders" ]]; do sleep 0.05; done
t2=$(date +%s.%N)
read -r b1 _ < <(cpu_busy_idle)
log "mercato: acknowledged in $(echo "$t1 - $t0" | bc) s, counted in $(echo "$t2 - $t0" | bc) s"
mercato=$(report mercato "$orders" "$(echo "$t2 - $t0" | bc)" "$((b1 - b0))")
echo "$mercato"

# -- from a change to the statistics, and reading a year of four platforms --
$gen change "$url" "$service" "$admin" "$changes" "$orders" "$days"
# A fourth platform's year (web orders cannot be dated back through checkouts): rows of their own.
psql_m -c "INSERT INTO daily_stats (stat_date, platform, currency, total_orders, pending_orders)
  SELECT d::date, 'web', 'USD', 3, 3 FROM generate_series('2024-01-01'::date, '2024-12-31', '1 day') d
  ON CONFLICT DO NOTHING"
$gen reads "$url" "$admin" 2024-01-01 2024-12-31 "$reads"

# -- the floor: the database work of Mercato's design alone (tools/bench/import_floor.sql), on
# copies of what this run wrote; its CPU per order bounds the rate any implementation of the
# design can reach here, with every core busy and nothing spent outside PostgreSQL --
stop_server
psql_m -f "$root/tools/bench/import_floor.sql" 2>/dev/null
checkpoint
read -r b0 _ < <(cpu_busy_idle)
t0=$(date +%s.%N)
psql_m -c "CALL floor_run(1000)"
t1=$(date +%s.%N)
read -r b1 _ < <(cpu_busy_idle)
floor=$(report floor "$orders" "$(echo "$t1 - $t0" | bc)" "$((b1 - b0))")
echo "$floor"
python3 - "$baseline" "$mercato" "$floor" "$(nproc)" <<'PY'
import json, sys
b, m, f = (json.loads(x) for x in sys.argv[1:4])
cores = int(sys.argv[4])
print(json.dumps({"label": "ratio", "mercato_to_baseline": round(m["per_s"] / b["per_s"], 2),
                  "floor_ceiling_per_s": round(cores * 1e6 / f["cpu_us_per_op"])}))
PY
