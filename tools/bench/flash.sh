#!/usr/bin/env bash
# Flash-sale benchmark: durable reservations/s through Mercato's HTTP API versus the
# conventional single-statement reservation run by pgbench, on the same PostgreSQL, same
# durability settings (fsync and synchronous_commit on) and the same client count.
#
#   tools/bench/flash.sh [--clients 64] [--duration 20] [--skus-many 100000]
#
# Expects a built tree (tools/dev builds it; MERCATO_BUILD_DIR names it, default <repo>/build)
# and MERCATO_TEST_DATABASE_URL pointing at a superuser connection of the private cluster
# (tools/dev bench sets both up).
set -euo pipefail
clients=64
duration=20
many=100000
while (($#)); do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --skus-many) many=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

echo "[bench] machine: $(nproc) cores, $(uname -r)" >&2
recreate_db mercato_bench
recreate_db conventional_bench
start_server "$(dsn_for mercato_bench)"
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret")

run_mercato() { # label skus
  checkpoint
  "$bin/mercato-bench" flash --url "$url" --token "$token" --connections "$clients" \
    --duration "$duration" --warmup 3 --skus "$2" --prefix "$1-" --seed --label "mercato"
}
run_pgbench() { # skus -> one JSON line like mercato-bench's
  local skus=$1 db; db=$(dsn_for conventional_bench)
  psql -X -q -v ON_ERROR_STOP=1 "$db" -c "DROP TABLE IF EXISTS inventory" \
    -c "CREATE TABLE inventory (sku bigint PRIMARY KEY, available bigint NOT NULL, reserved bigint NOT NULL DEFAULT 0)" \
    -c "INSERT INTO inventory SELECT g, 1000000000, 0 FROM generate_series(1, $skus) g" -c "VACUUM ANALYZE inventory"
  local script=$work/reserve.sql
  if ((skus == 1)); then
    { echo '\set id 1'; cat "$root/tools/bench/conventional_reserve.sql"; } >"$script"
  else
    { echo "\\set id random(1, $skus)"; cat "$root/tools/bench/conventional_reserve.sql"; } >"$script"
  fi
  rm -f "$work"/pglog*
  checkpoint
  # Per-transaction log (3rd column: latency in µs) for the same percentiles as mercato-bench.
  pgbench -n -M prepared -c "$clients" -j 2 -T "$duration" -l --log-prefix="$work/pglog" \
    -f "$script" "$db" >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; exit 1; }
  local tps
  tps=$(awk '/^tps = /{print $3; exit}' "$work/pgbench.out")
  cat "$work"/pglog* | awk '{print $3}' | sort -n >"$work/lat"
  python3 - "$work/lat" "$skus" "$clients" "$tps" <<'PY'
import sys
lat = [int(x) for x in open(sys.argv[1]) if x.strip()]
pct = lambda p: lat[int(p * (len(lat) - 1))] / 1000 if lat else 0
print('{"label":"conventional","skus":%s,"connections":%s,"per_s":%.0f,"p50_ms":%.2f,"p99_ms":%.2f}'
      % (sys.argv[2], sys.argv[3], float(sys.argv[4]), pct(0.5), pct(0.99)))
PY
}

hot_m=$(run_mercato hot 1); echo "$hot_m"
# Calibration: the same HTTP, request-actor and entity path without durability (stock reads).
checkpoint
"$bin/mercato-bench" read --url "$url" --token "$token" --connections "$clients" \
  --duration "$duration" --warmup 3 --skus 1 --prefix hot- --label "mercato-read"
hot_c=$(run_pgbench 1); echo "$hot_c"
many_m=$(run_mercato many "$many"); echo "$many_m"
many_c=$(run_pgbench "$many"); echo "$many_c"

ratio() { python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(f'{a[\"per_s\"]/b[\"per_s\"]:.1f}')" "$1" "$2"; }
echo "hot SKU ratio (mercato / conventional): $(ratio "$hot_m" "$hot_c")"
echo "$many SKUs ratio (mercato / conventional): $(ratio "$many_m" "$many_c")"
