# Sourced by the benchmark scripts (tools/bench/*.sh), after they have read their options: the
# built tree, the database helpers, a work directory, and the Mercato server a script starts.
# On exit the server is stopped and the work directory removed; a script that starts more
# processes lists them in `extra_pids`.
: "${MERCATO_TEST_DATABASE_URL:?set MERCATO_TEST_DATABASE_URL (tools/dev bench does)}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${MERCATO_BUILD_DIR:-$root/build}
[[ $build == /* ]] || build=$root/$build
bin=$build/bin
secret=bench-secret-0123456789abcdef

dsn_for() { sed -E "s/dbname=[^ ]*/dbname=$1/" <<<"$MERCATO_TEST_DATABASE_URL"; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "$MERCATO_TEST_DATABASE_URL" "$@"; }
log() { echo "[bench] $*" >&2; }
# Each measurement starts right after a checkpoint, so that no run pays for another's WAL.
checkpoint() { psql_admin -c CHECKPOINT; }
recreate_db() { # name
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

work=$(mktemp -d)
server_pid=
extra_pids=
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_server() {
  [[ -z $server_pid ]] || stop_pid "$server_pid"
  server_pid=
}
bench_cleanup() {
  stop_server
  for pid in $extra_pids; do stop_pid "$pid"; done
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Starts `mercato` on database DSN (it migrates it) on a free loopback port, with any further
# flags, and waits until it is ready; sets `server_pid` and `url`.
start_server() { # dsn [flag...]
  local dsn=$1
  shift
  rm -f "$work/port"
  "$bin/mercato" --http-addr 127.0.0.1:0 --port-file "$work/port" --database-url "$dsn" \
    --jwt-secret "$secret" --log-level warn --log-format text "$@" 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 600); do [[ -s $work/port ]] && break; sleep 0.1; done
  [[ -s $work/port ]] || { echo "server did not start:"; cat "$work/server.log"; exit 1; } >&2
  url="http://127.0.0.1:$(cat "$work/port")"
  for _ in $(seq 300); do curl -fsS -o /dev/null "$url/readyz" 2>/dev/null && return 0; sleep 0.1; done
  echo "server not ready:" >&2; cat "$work/server.log" >&2; exit 1
}
