#!/usr/bin/env bash
# Idle WebSocket subscribers: the server's resident memory (VmRSS) per connection held open and
# subscribed, Mercato (GET /v1/ws) versus a Node.js server on the npm package `ws`
# (tools/bench/node/ws-baseline.js). The same client (mercato-bench idle) holds the same
# connections on both, one server after the other, on this machine and in the same run.
#
#   tools/bench/idle_ws.sh [--subscribers 5000,18000] [--settle 90] [--threads 1]
#                          [--servers mercato,node]
#
# Each subscriber is a customer following their own order with their own token, as tracking
# pages do: one order per connection, placed through checkouts before anything is measured. For
# every count N and server, a fresh server process: it reads the N orders once (GET
# /v1/orders/{id}; Mercato then holds the order entities, Node makes the topics), takes a warm-up
# of 200 subscribers opened and closed, and its VmRSS is sampled once a second until it holds
# still (five samples within 256 KiB, at most --settle seconds): "before". Then N connections
# subscribe, each to its order's topic, and once every one has its snapshot the RSS is sampled
# the same way: "after". Per connection = (after - before) / N. What the kernel keeps for the
# sockets (struct sock, buffers, epoll entries) is not in RSS; the machine's Slab and TCP buffer
# pages are read around the same window and printed apart, for both ends of the loopback
# connections together.
#
# One server process holds N sockets, so N is bounded by the open-files hard limit (ulimit -Hn)
# less a margin: a count above it is refused. Mercato runs with --max-connections N + 1000, the
# per-client rate limits off (--rate-read-rps 0 --rate-write-rps 0: upgrades and subscriptions
# are not rate limited, the set-up's reads and checkouts would be) and --passivate-after-ms of a
# day, so that no order entity leaves memory between the two readings.
#
# Expects a built tree (tools/dev builds it; MERCATO_BUILD_DIR names it, default <repo>/build),
# MERCATO_TEST_DATABASE_URL pointing at a superuser connection of the private cluster
# (tools/dev bench sets both up), and node and npm on the PATH (`npm ci` installs the pinned
# `ws` into tools/bench/node/node_modules).
set -euo pipefail
subscriber_counts=5000,18000
settle=90
threads=1
servers=mercato,node
while (($#)); do
  case $1 in
    --subscribers) subscriber_counts=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

# Subscribers are file descriptors, on the client and on the server: each process may hold as
# many as the hard limit allows, less what the server needs besides (database, listeners, logs).
ulimit -n "$(ulimit -Hn)"
fd_margin=500
max_per_process=$(($(ulimit -n) - fd_margin))
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
IFS=, read -r -a counts <<<"$subscriber_counts"
IFS=, read -r -a server_list <<<"$servers"
max_subscribers=0
for n in "${counts[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "--subscribers takes counts, not '$n'" >&2; exit 2; }
  if ((n > max_per_process)); then
    echo "$n subscribers do not fit one server process here: its open-files hard limit is" \
      "$(ulimit -Hn) (ulimit -Hn; raising it needs CAP_SYS_RESOURCE), which leaves at most" \
      "$max_per_process connections beside the server's own $fd_margin descriptors" >&2
    exit 1
  fi
  # The client connects from 127.0.0.1 to one address and port: one ephemeral port each.
  if ((n > port_hi - port_lo + 1 - 1000)); then
    echo "$n subscribers need more ephemeral ports than $port_lo-$port_hi leave" >&2
    exit 1
  fi
  if ((n > max_subscribers)); then max_subscribers=$n; fi
done
for server in "${server_list[@]}"; do
  [[ $server == mercato || $server == node ]] || { echo "unknown server $server" >&2; exit 2; }
done

node_setup idle_ws
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret" --ttl 86400)
log "machine: $(nproc) cores, $(uname -r), $(awk '/^MemTotal/{printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version), ws $ws_version; open files per process $(ulimit -n)"

dsn=$(dsn_for mercato_idle_bench)
mercato_flags=(--rate-read-rps 0 --rate-write-rps 0 --passivate-after-ms 86400000)
orders=$work/orders
if [[ ,$servers, == *,mercato,* ]]; then
  recreate_db mercato_idle_bench
  start_server "$dsn" "${mercato_flags[@]}"
  log "placing $max_subscribers orders, one per customer (checkouts)"
  "$bin/mercato-bench" idle --url "$url" --token "$token" --jwt-secret "$secret" \
    --orders "$orders" --subscribers "$max_subscribers" --create
  sleep 3 # let the projections take the last checkouts in before the server stops
  stop_server
else
  # Node takes any id and any token: the same customers, orders of its own.
  for ((i = 0; i < max_subscribers; i++)); do echo "bench-idle-customer-$i ord_idle_$i"; done >"$orders"
fi

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
# The kernel's memory for sockets, machine-wide, in KiB: Slab (struct sock, files, epoll
# entries...) and the pages TCP buffers hold (/proc/net/sockstat counts pages).
kernel_kb() {
  echo $(($(awk '/^Slab:/{print $2}' /proc/meminfo) \
    + $(awk '/^TCP:/{for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat) \
    * $(getconf PAGESIZE) / 1024))
}

# Samples PID's VmRSS (KiB) once a second until five samples in a row lie within 256 KiB, for
# at most --settle seconds; prints the last sample, the seconds it took and 1 if it held still.
settled_rss() { # pid
  local samples=() t lo hi
  for ((t = 0; t < settle; t++)); do
    samples+=("$(rss_kb "$1")")
    if ((${#samples[@]} >= 5)); then
      lo=$(printf '%s\n' "${samples[@]: -5}" | sort -n | head -1)
      hi=$(printf '%s\n' "${samples[@]: -5}" | sort -n | tail -1)
      if ((hi - lo <= 256)); then echo "${samples[-1]} $t 1"; return; fi
    fi
    sleep 1
  done
  echo "${samples[-1]} $t 0"
}

# Starts SERVER afresh for N subscribers; sets pid and url (Mercato's also server_pid).
start_fresh() { # server n
  if [[ $1 == mercato ]]; then
    start_server "$dsn" --max-connections $(($2 + 1000)) "${mercato_flags[@]}"
    pid=$server_pid
  else
    start_ws_baseline
    pid=$node_pid url=$node_url extra_pids=$node_pid
  fi
}

stop_fresh() { # server
  if [[ $1 == mercato ]]; then stop_server; else stop_pid "$pid"; extra_pids=; fi
}

# Sets `client` to the command line of mercato-bench idle for N subscribers of the server at URL.
idle_client() { # url label n
  client=("$bin/mercato-bench" idle --url "$1" --label "$2" --subscribers "$3" --token "$token"
    --jwt-secret "$secret" --orders "$orders" --threads "$threads")
}

# Opens N subscribers held by a client in the background (its stdin a FIFO we keep open) and
# waits until all are subscribed; sets client_pid, hold_fd and connect_s.
hold_open() { # url label n
  rm -f "$work/hold.in" "$work/hold.out"
  mkfifo "$work/hold.in"
  idle_client "$@"
  # A simple command, so that $! is the client itself (its RSS is read too).
  "${client[@]}" <"$work/hold.in" >"$work/hold.out" 2>>"$work/hold.err" &
  client_pid=$!
  extra_pids="$extra_pids $client_pid"
  exec {hold_fd}>"$work/hold.in"
  while ! grep -q ' subscribed in ' "$work/hold.out"; do
    if ! kill -0 "$client_pid" 2>/dev/null; then
      echo "the client could not subscribe them all:" >&2
      cat "$work/hold.err" >&2
      exit 1
    fi
    sleep 0.2
  done
  connect_s=$(awk '/ subscribed in /{print $(NF - 1)}' "$work/hold.out")
}

# Closes the held subscribers; fails if some were lost while held.
hold_close() {
  local rc=0
  exec {hold_fd}>&-
  wait "$client_pid" || rc=$?
  extra_pids=${extra_pids% "$client_pid"}
  ((rc == 0)) || { echo "the client lost subscribers (exit $rc):" >&2; tail -n 20 "$work/hold.err" >&2; exit 1; }
}

# Sets `line` to one JSON object: the server's RSS before and after N idle subscribers, and what
# that makes per connection; the client's RSS and the kernel's growth (both ends) beside it.
# Not in a subshell: the servers it starts must stay known to the exit trap.
run_one() { # server n
  local server=$1 n=$2 before after k0 k1 client_kb
  start_fresh "$server" "$n"
  idle_client "$url" "$server" "$n"
  "${client[@]}" --load
  log "$server: warm-up, 200 subscribers opened and closed"
  idle_client "$url" warmup 200
  "${client[@]}" </dev/null >/dev/null 2>>"$work/hold.err"
  read -r -a before <<<"$(settled_rss "$pid")"
  k0=$(kernel_kb)
  log "$server: RSS $((before[0] / 1024)) MiB (settled in ${before[1]} s); opening $n subscribers"
  hold_open "$url" "$server" "$n"
  read -r -a after <<<"$(settled_rss "$pid")"
  k1=$(kernel_kb)
  client_kb=$(rss_kb "$client_pid")
  log "$server: $n subscribed in $connect_s s; RSS $((after[0] / 1024)) MiB (settled in ${after[1]} s)"
  hold_close
  stop_fresh "$server"
  line=$(python3 - "$server" "$n" "${before[@]}" "${after[@]}" "$k0" "$k1" "$client_kb" "$connect_s" <<'PY'
import json, sys
server, n = sys.argv[1], int(sys.argv[2])
b_kb, b_s, b_ok, a_kb, a_s, a_ok, k0, k1, client_kb = (int(x) for x in sys.argv[3:12])
print(json.dumps({
    "server": server, "subscribers": n,
    "rss_before_kib": b_kb, "rss_after_kib": a_kb,
    "bytes_per_conn": round((a_kb - b_kb) * 1024 / n),
    "settled_s": [b_s, a_s], "settled": bool(b_ok and a_ok),
    "connect_s": float(sys.argv[12]),
    "client_rss_kib": client_kb,
    "kernel_bytes_per_conn_both_ends": round((k1 - k0) * 1024 / n),
}, separators=(",", ":")))
PY
)
}

summary=()
for n in "${counts[@]}"; do
  declare -A result=()
  for server in "${server_list[@]}"; do
    log "$n idle subscribers: $server"
    run_one "$server" "$n"
    result[$server]=$line
    echo "$line"
  done
  summary+=("$(python3 - "${result[mercato]:-}" "${result[node]:-}" <<'PY'
import json, sys
runs = {name: json.loads(text) for name, text in zip(("mercato", "node"), sys.argv[1:]) if text}
mib = lambda kib: kib / 1024
fmt = lambda r: (f'{r["bytes_per_conn"]:,} B per connection (RSS {mib(r["rss_before_kib"]):.1f} -> '
                 f'{mib(r["rss_after_kib"]):.1f} MiB{"" if r["settled"] else ", still moving"}; '
                 f'kernel, both ends, {r["kernel_bytes_per_conn_both_ends"]:,} B)')
any_run = next(iter(runs.values()))
line = f'{any_run["subscribers"]} idle subscribers: '
line += ', '.join(f'{name} {fmt(r)}' for name, r in runs.items())
if len(runs) == 2 and runs["node"]["bytes_per_conn"] > 0:
    line += f', ratio {runs["mercato"]["bytes_per_conn"] / runs["node"]["bytes_per_conn"]:.2f}'
print(line)
PY
)")
  unset result
done
for line in "${summary[@]}"; do echo "$line"; done
log "RSS is user space only: the sockets' kernel memory (the 'kernel' figures) is not in it"
show_server_log
