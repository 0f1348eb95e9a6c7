#!/usr/bin/env bash
# Checkout benchmark: complete checkouts/s through Mercato's HTTP API (carts filled beforehand;
# counted once answered 201, i.e. the order is durable) versus the conventional checkout
# transaction run by pgbench (tools/bench/conventional_checkout.sql), on the same PostgreSQL,
# same durability settings (fsync and synchronous_commit on) and the same client counts. Both
# databases first get a history of --history orders.
#
#   tools/bench/checkout.sh [--clients 8,64] [--duration 20] [--skus 10000] [--history 100000]
#                           [--mix spread|hot]
#
# --mix spread (the default): every cart holds 3 distinct SKUs drawn from all of them. --mix hot:
# every cart holds the same hot SKU plus 2 others drawn from the rest, on both sides. Beside each
# rate: the machine's CPU per checkout (per transaction for pgbench) and, for Mercato, the
# journal's appends per checkout, both over the measured interval only.
#
# Expects a built tree (tools/dev builds it; MERCATO_BUILD_DIR names it, default <repo>/build)
# and MERCATO_TEST_DATABASE_URL pointing at a superuser connection of the private cluster
# (tools/dev bench sets both up).
set -euo pipefail
clients_list=8,64
duration=20
warmup=3
skus=10000
history=100000
customers=1000
mix=spread
while (($#)); do
  case $1 in
    --clients) clients_list=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --skus) skus=$2; shift 2 ;;
    --history) history=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
((skus >= 4)) || { echo "--skus must be at least 4" >&2; exit 2; }
case $mix in
  spread) hot=0 ;;
  hot) hot=1 ;;
  *) echo "--mix must be spread or hot" >&2; exit 2 ;;
esac
source "$(dirname "$0")/lib.sh"
mercato_db=$(dsn_for mercato_checkout_bench)
conventional_db=$(dsn_for conventional_checkout_bench)
psql_m() { psql -X -q -v ON_ERROR_STOP=1 "$mercato_db" "$@"; }
psql_c() { psql -X -q -v ON_ERROR_STOP=1 "$conventional_db" "$@"; }
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret" --ttl 86400)
json_field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg); mix: $mix"
recreate_db mercato_checkout_bench
recreate_db conventional_checkout_bench

# -- conventional schema and its history: $history orders of 3 lines, one outbox row each -----
log "conventional: schema and $history orders of history"
psql_c <<SQL
CREATE TABLE inventory (
  sku      bigint PRIMARY KEY,
  on_hand  bigint NOT NULL,
  reserved bigint NOT NULL DEFAULT 0
);
CREATE TABLE orders (
  id         bigserial   PRIMARY KEY,
  customer   bigint      NOT NULL,
  total      bigint      NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders (id),
  sku      bigint NOT NULL REFERENCES inventory (sku),
  qty      int    NOT NULL,
  price    bigint NOT NULL
);
CREATE TABLE outbox (
  id        bigserial PRIMARY KEY,
  aggregate text      NOT NULL,
  type      text      NOT NULL,
  payload   jsonb     NOT NULL
);
INSERT INTO inventory SELECT g, 1000000000, 0 FROM generate_series(1, $skus) g;
INSERT INTO orders (customer, total, created_at)
  SELECT 1 + g % 1000, 3000, now() - interval '1 ms' * ($history - g)
  FROM generate_series(1, $history) g;
INSERT INTO order_lines (order_id, sku, qty, price)
  SELECT o.id, 1 + (o.id * 7919 + k * ($skus / 3)) % $skus, 1, 1000
  FROM orders o, generate_series(0, 2) k;
INSERT INTO outbox (aggregate, type, payload)
  SELECT 'order', 'order_placed', jsonb_build_object('order_id', id, 'customer', customer,
         'total', total, 'skus', jsonb_build_array(1, 2, 3))
  FROM orders ORDER BY id;
VACUUM ANALYZE;
SQL

# -- Mercato's history: one real checkout, cloned $history times --------------------------------
# The template is a complete checkout through the API (its cart, 3 stock items, checkout, order,
# payment). Its rows in every table a checkout writes (the journal, which is also the outbox,
# snapshots, and the read models orders and payments that projections keep) are copied under new
# entity ids, as if $history customers had checked out before; the projections then go on after
# the copies, which their tables already hold.
log "mercato: a template checkout, then $history copies of its rows"
start_server "$mercato_db"
"$bin/mercato-bench" checkout --url "$url" --token "$token" --jwt-secret "$secret" --seed \
  --skus 3 --prefix hist-sku- --customers 1 --carts 1 --connections 1 --warmup 0 --duration 10 \
  --label template >"$work/template.json" || [[ $? == 3 ]]
for _ in $(seq 300); do
  done_n=$(psql_m -tAc "SELECT count(*) FROM journal WHERE entity_kind = 'checkout' AND event_type = 'completed'")
  ((done_n >= 1)) && break
  sleep 0.1
done
((done_n >= 1)) || { echo "the template checkout did not complete" >&2; cat "$work/template.json" >&2; exit 1; }
sleep 1
stop_server
psql_m <<SQL
CREATE TEMP TABLE copies AS SELECT g FROM generate_series(1, $history) g;
INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload, published, request_id,
                     recorded_at)
  SELECT entity_kind, entity_id || '-h' || g, seq, event_type, payload, published, request_id,
         recorded_at - interval '1 ms' * ($history - g)
  FROM journal, copies;
INSERT INTO snapshots (entity_kind, entity_id, seq, state, taken_at)
  SELECT entity_kind, entity_id || '-h' || g, seq, state, taken_at FROM snapshots, copies;
INSERT INTO orders (order_id, customer_id, status, total_minor, currency, lines, created_at,
                    updated_at, version, placed_ms, next_check_ms)
  SELECT order_id || '-h' || g, 'bench-customer-' || g % 1000, status, total_minor, currency,
         lines, created_at - interval '1 ms' * ($history - g),
         updated_at - interval '1 ms' * ($history - g), version, placed_ms - ($history - g),
         next_check_ms
  FROM orders, copies;
INSERT INTO payments (payment_id, provider, provider_ref, status, amount_minor, currency,
                      customer_id, detail, created_at, updated_at, version)
  SELECT payment_id || '-h' || g, provider, provider_ref, status, amount_minor, currency,
         'bench-customer-' || g % 1000, detail, created_at - interval '1 ms' * ($history - g),
         updated_at - interval '1 ms' * ($history - g), version
  FROM payments, copies;
UPDATE projection_offsets
   SET (last_tx, last_pos) = (SELECT tx, pos FROM journal ORDER BY tx DESC, pos DESC LIMIT 1);
VACUUM ANALYZE;
SQL
log "mercato history: $(psql_m -tAc "SELECT format('%s journal rows (%s published), %s orders, %s payments', (SELECT count(*) FROM journal), (SELECT count(*) FROM journal WHERE published IS NOT NULL), (SELECT count(*) FROM orders), (SELECT count(*) FROM payments))")"
log "conventional history: $(psql_c -tAc "SELECT format('%s orders, %s order lines, %s outbox rows', (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines), (SELECT count(*) FROM outbox))")"

run_pgbench() { # clients -> one JSON line like mercato-bench's
  pgbench_json conventional "$skus" "$1" -j 2 -T "$duration" -D "nskus=$skus" -D "hot=$hot" \
    -f "$root/tools/bench/conventional_checkout.sql" "$conventional_db"
}

# One checkout run; the pool of carts is sized for `rate` checkouts/s over warm-up + duration,
# with a margin of half. A pool that runs out still gives the rate up to that moment.
run_mercato() { # clients rate label warmup duration
  local clients=$1 rate=$2 carts
  carts=$(python3 -c "import math,sys; print(max(500, math.ceil(float(sys.argv[1]) * 1.5 * (float(sys.argv[2]) + float(sys.argv[3])))))" "$rate" "$4" "$5")
  local rc=0
  "$bin/mercato-bench" checkout --url "$url" --token "$token" --jwt-secret "$secret" \
    --skus "$skus" --prefix sku- --customers "$customers" --carts "$carts" \
    --connections "$clients" --warmup "$4" --duration "$5" --label "$3" --mix "$mix" \
    --setup-connections 32 || rc=$?
  ((rc == 0 || rc == 3)) || return "$rc"
}

first=1
summary=()
IFS=, read -r -a client_counts <<<"$clients_list"
for clients in "${client_counts[@]}"; do
  log "conventional, $clients clients"
  conv=$(run_pgbench "$clients")
  echo "$conv"
  start_server "$mercato_db"
  if ((first)); then
    log "mercato: $skus products with stock"
    "$bin/mercato-bench" checkout --url "$url" --token "$token" --jwt-secret "$secret" --seed \
      --skus "$skus" --prefix sku- --customers 1 --carts 1 --connections 1 --warmup 0 \
      --duration 1 --label seed >/dev/null || [[ $? == 3 ]]
    first=0
  fi
  # A short probe (also a warm-up) sizes the pool of carts of the measured run.
  log "mercato, $clients clients: probe"
  probe=$(run_mercato "$clients" 1000 probe 1 3)
  echo "$probe"
  checkpoint
  log "mercato, $clients clients: measured run"
  m=$(run_mercato "$clients" "$(json_field "$probe" per_s)" mercato "$warmup" "$duration")
  echo "$m"
  # Where the measured checkouts spent their time, from the sagas' own steps.
  since=$(($(date +%s%3N) - ${duration%.*} * 1000))
  sleep 2
  psql_m -tA -v since="$since" -f "$root/tools/bench/checkout_stages.sql"
  stop_server
  summary+=("$(python3 - "$clients" "$mix" "$m" "$conv" <<'PY'
import json, sys
clients, mix = sys.argv[1], sys.argv[2]
m, c = json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f'{clients} clients, {mix} mix: mercato {m["per_s"]:.0f}/s (p50 {m["p50_ms"]:.2f} ms, '
      f'p99 {m["p99_ms"]:.2f} ms, {m.get("cpu_us_per_op", 0) / 1000:.2f} ms machine CPU and '
      f'{m.get("appends_per_op", 0):.1f} journal appends per checkout), conventional '
      f'{c["per_s"]:.0f}/s (p50 {c["p50_ms"]:.2f} ms, p99 {c["p99_ms"]:.2f} ms, '
      f'{c["cpu_us_per_op"] / 1000:.2f} ms machine CPU per transaction), '
      f'ratio {m["per_s"] / c["per_s"]:.2f}')
PY
)")
done
for line in "${summary[@]}"; do echo "$line"; done
