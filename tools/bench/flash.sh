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

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
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
  pgbench_json conventional "$skus" "$clients" -j 2 -T "$duration" -f "$script" "$db"
}

hot_m=$(run_mercato hot 1); echo "$hot_m"
# Calibration: the same HTTP, request-actor and entity path without durability (stock reads).
checkpoint
"$bin/mercato-bench" read --url "$url" --token "$token" --connections "$clients" \
  --duration "$duration" --warmup 3 --skus 1 --prefix hot- --label "mercato-read"
hot_c=$(run_pgbench 1); echo "$hot_c"
many_m=$(run_mercato many "$many"); echo "$many_m"
many_c=$(run_pgbench "$many"); echo "$many_c"

# The ratio of rates, and beside each rate the machine CPU per reservation (both sides) and the
# journal appends per reservation (Mercato), all over the measured interval.
ratio() { # mercato-json conventional-json
  python3 - "$1" "$2" <<'PY'
import json, sys
m, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f'{m["per_s"] / c["per_s"]:.1f} (mercato {m["per_s"]:.0f}/s, '
      f'{m.get("cpu_us_per_op", 0):.0f} µs machine CPU and {m.get("appends_per_op", 0):.2f} '
      f'appends per reservation; conventional {c["per_s"]:.0f}/s, '
      f'{c["cpu_us_per_op"]:.0f} µs machine CPU per reservation)')
PY
}
echo "hot SKU ratio (mercato / conventional): $(ratio "$hot_m" "$hot_c")"
echo "$many SKUs ratio (mercato / conventional): $(ratio "$many_m" "$many_c")"
