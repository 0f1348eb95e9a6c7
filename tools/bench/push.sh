#!/usr/bin/env bash
# Push benchmark: partner facts posted over REST and pushed over WebSocket to every subscriber
# of the order's topic, Mercato (GET /v1/ws) versus a Node.js server on the npm package `ws`
# (tools/bench/node/ws-baseline.js) that broadcasts one pre-serialised frame per event. The same
# client (mercato-bench push) drives both with the same load, one after the other, on this
# machine; both servers run for the whole script and are measured in the same run.
#
#   tools/bench/push.sh [--subscribers 1000,10000] [--events 300] [--posters 2]
#                       [--window 2] [--rate 0] [--threads 1] [--io-threads 1]
#                       [--servers mercato,node]
#
# Every run posts the same number of facts to a new order, whatever the subscriber count: what
# Mercato does per fact grows with the order's timeline (docs/BENCHMARKS.md), and a count that
# differed with N would measure that instead of the fan-out. Before the measured runs each
# server is warmed up with a short run of 200 subscribers.
#
# Expects a built tree (tools/dev builds it; MERCATO_BUILD_DIR names it, default <repo>/build),
# MERCATO_TEST_DATABASE_URL pointing at a superuser connection of the private cluster
# (tools/dev bench sets both up), and node and npm on the PATH (`npm ci` installs the pinned
# `ws` into tools/bench/node/node_modules).
set -euo pipefail
subscriber_counts=1000,10000
events=300
posters=2
window=2
rate=0
threads=1
io_threads=1
servers=mercato,node
while (($#)); do
  case $1 in
    --subscribers) subscriber_counts=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --posters) posters=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --io-threads) io_threads=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

# Subscribers are file descriptors, on the client and on each server.
ulimit -n "$(ulimit -Hn)"
max_subscribers=$(tr , '\n' <<<"$subscriber_counts" | sort -n | tail -1)
if (($(ulimit -n) < max_subscribers + 256)); then
  echo "open files limit $(ulimit -n) is too low for $max_subscribers subscribers" >&2
  exit 1
fi

mercato_pid=
node_pid=
node_setup push

mercato_url= node_url=
if [[ ,$servers, == *,mercato,* ]]; then
  recreate_db mercato_push_bench
  start_server "$(dsn_for mercato_push_bench)" --io-threads "$io_threads"
  mercato_pid=$server_pid mercato_url=$url
fi

if [[ ,$servers, == *,node,* ]]; then
  start_ws_baseline
  extra_pids=$node_pid
fi

token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret" --ttl 86400)
log "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version), ws $ws_version"
log "mercato at $mercato_url (pid $mercato_pid, --io-threads $io_threads, scheduler ${MERCATO_SCHEDULER_POLICY:-stealing}, ws threads ${MERCATO_WS_THREADS:-1}), node at $node_url (pid $node_pid)"

# CPU seconds a process has used so far (user + system).
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

# One JSON line, with the server's CPU seconds and, for Mercato, the journal's appends per fact
# posted (Node journals nothing), both over the whole run: the appends include those of the one
# checkout that creates the run's order, a few hundredths per fact at 300 facts.
run_one() { # server subscribers events label
  local server=$1 n=$2 events=$3 label=$4 url pid order=() before after line a0=0 a1=0
  if [[ $server == mercato ]]; then
    url=$mercato_url pid=$mercato_pid
    a0=$(metric_sum "$url" mercato_journal_appends_total)
  else
    url=$node_url pid=$node_pid order=(--order "ord_node_${label}_$n")
  fi
  before=$(cpu_s "$pid")
  line=$("$bin/mercato-bench" push --url "$url" --token "$token" --jwt-secret "$secret" \
    "${order[@]}" --subscribers "$n" --events "$events" --posters "$posters" --window "$window" \
    --rate "$rate" --threads "$threads" --label "$label" --json)
  after=$(cpu_s "$pid")
  [[ $server != mercato ]] || a1=$(metric_sum "$url" mercato_journal_appends_total)
  python3 - "$line" "$before" "$after" "$server" "$a0" "$a1" "$events" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r["server_cpu_s"] = round(float(sys.argv[3]) - float(sys.argv[2]), 2)
if sys.argv[4] == "mercato":
    r["journal_appends"] = int(sys.argv[6]) - int(sys.argv[5])
    r["appends_per_op"] = round(r["journal_appends"] / int(sys.argv[7]), 2)
print(json.dumps(r, separators=(",", ":")))
PY
}

IFS=, read -r -a server_list <<<"$servers"
for server in "${server_list[@]}"; do
  [[ $server == mercato || $server == node ]] || { echo "unknown server $server" >&2; exit 2; }
  log "warm-up: 200 subscribers x 200 events on $server"
  run_one "$server" 200 200 warmup >/dev/null
done

summary=()
IFS=, read -r -a counts <<<"$subscriber_counts"
for n in "${counts[@]}"; do
  declare -A result=()
  for server in "${server_list[@]}"; do
    log "$n subscribers, $events events: $server"
    result[$server]=$(run_one "$server" "$n" "$events" "$server")
    echo "${result[$server]}"
    sleep 2
  done
  summary+=("$(python3 - "${result[mercato]:-}" "${result[node]:-}" <<'PY'
import json, sys
runs = {name: json.loads(text) for name, text in zip(("mercato", "node"), sys.argv[1:]) if text}
fmt = lambda r: (f'{r["per_s"]:,.0f}/s (p50 {r["p50_ms"]:.2f} ms, p99 {r["p99_ms"]:.2f} ms, '
                 f'missing {r["missing"]}, 1008 {r["closes_1008"]}, CPU s server {r["server_cpu_s"]} client {r["client_cpu_s"]}'
                 + (f', {r["appends_per_op"]} appends per fact' if "appends_per_op" in r else '') + ')')
any_run = next(iter(runs.values()))
line = f'{any_run["subscribers"]} subscribers x {any_run["events"]} events: '
line += ', '.join(f'{name} {fmt(r)}' for name, r in runs.items())
if len(runs) == 2 and runs["node"]["per_s"]:
    line += f', ratio {runs["mercato"]["per_s"] / runs["node"]["per_s"]:.2f}'
print(line)
PY
)")
  unset result
done
for line in "${summary[@]}"; do echo "$line"; done
show_server_log
