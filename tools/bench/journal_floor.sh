#!/usr/bin/env bash
# Journal floor: how many appends per second PostgreSQL alone can make durable on this machine
# when they are written the cheapest way the journal could write them (tools/bench/
# journal_floor.sql: batches of --batch appends, one journal row each (the journal is the outbox), one
# statement and one commit per batch, no server, no network arrays, no gap check, no read
# models), and the machine CPU each append costs. Every durable change Mercato acknowledges
# costs at least one append, so this bounds what any workload can reach here.
#
#   tools/bench/journal_floor.sh [--clients 1,2,4] [--duration 15] [--batch 64] [--history 1000000]
#
# Expects a built tree (tools/dev builds it; MERCATO_BUILD_DIR names it, default <repo>/build)
# and MERCATO_TEST_DATABASE_URL pointing at a superuser connection of the private cluster
# (tools/dev bench sets both up).
set -euo pipefail
clients_list=1,2,4
duration=15
batch=64
history=1000000
while (($#)); do
  case $1 in
    --clients) clients_list=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --history) history=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"
db=$(dsn_for journal_floor_bench)

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
recreate_db journal_floor_bench
start_server "$db" # Mercato's own schema: the server applies its migrations at start.
stop_server

# A history, so that the indexes have the depth of a used database.
log "history: $history appends"
psql -X -q -v ON_ERROR_STOP=1 "$db" <<SQL
INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload, request_id)
  SELECT 'stock', 'hist-' || g, 1, 'reserved',
         jsonb_build_object('qty', 1, 'at_ms', 1795315706984, 'reservation_id', 'co_' || md5(g::text)),
         'req-' || g
  FROM generate_series(1, $history) g;
UPDATE journal SET published = payload;
VACUUM ANALYZE;
SQL

IFS=, read -r -a client_counts <<<"$clients_list"
for clients in "${client_counts[@]}"; do
  psql_admin -c CHECKPOINT
  read -r b0 i0 < <(cpu_busy_idle)
  pgbench -n -M prepared -c "$clients" -j "$clients" -T "$duration" -D "batch=$batch" \
    -f "$root/tools/bench/journal_floor.sql" "$db" >"$work/pgbench.out" 2>&1 \
    || { cat "$work/pgbench.out" >&2; exit 1; }
  read -r b1 i1 < <(cpu_busy_idle)
  tps=$(awk '/^tps = /{print $3; exit}' "$work/pgbench.out")
  lat=$(awk '/^latency average = /{print $4; exit}' "$work/pgbench.out")
  python3 - "$clients" "$batch" "$tps" "$lat" "$b0" "$i0" "$b1" "$i1" "$(nproc)" <<'PY'
import sys
clients, batch, tps, lat = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
b0, i0, b1, i1, cores = (float(x) for x in sys.argv[5:10])
busy = (b1 - b0) / ((b1 - b0) + (i1 - i0)) if (b1 - b0) + (i1 - i0) > 0 else 0
appends = tps * batch
cpu_us = busy * cores * 1e6 / appends if appends else 0
print('{"label":"journal_floor","writers":%d,"batch":%d,"commits_per_s":%.0f,"commit_ms":%.2f,'
      '"appends_per_s":%.0f,"machine_busy":%.2f,"cpu_us_per_append":%.1f}'
      % (clients, batch, tps, lat, appends, busy, cpu_us))
PY
done
