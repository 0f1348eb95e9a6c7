#!/usr/bin/env bash
# Handoff benchmark: shards move between live nodes while a client keeps reading every key.
# join: two nodes serve the keys, a third joins and takes its share (at most 16 shards at a
# time); leave: three nodes serve them, one gets SIGTERM and hands its shards over before it
# exits. Throughout, one client reads the keys in turn through node a, each read's latency and
# status recorded: a handoff holds a moving shard's requests until its entities stopped and its
# owner changed, so the pause shows as the slowest reads, and a failed read as a non-200.
#
#   tools/bench/handoff.sh [--rounds 2] [--keys 200]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench handoff sets both up).
set -euo pipefail
rounds=2
keys=200
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

log "machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
token=$("$bin/mercatoctl" token --sub bench --role admin --secret "$secret")
cluster_db=handoff_bench

# Creates the keys through node a, then reads them in turn until $work/stop exists; prints one
# JSON line.
poll() { # mode
  python3 - "$1" "$token" "$keys" "$work/stop" "$work/polling" "${urls[0]}" <<'PY'
import http.client, json, os, sys, time, urllib.parse
mode, token, keys, stop, ready, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], urllib.parse.urlparse(sys.argv[6])
auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
def call(method, path, body=None):
    c.request(method, path, body=None if body is None else json.dumps(body), headers=auth)
    r = c.getresponse()
    return r.status, r.read()
for k in range(keys):
    call("PUT", f"/v1/products/ho-{k}", {"name": "ho", "price_minor": 100, "currency": "USD"})
    status, body = call("PUT", f"/v1/stock/ho-{k}", {"on_hand": k})
    assert status == 200, body
open(ready, "w").close()
lat, failed, first_failure, n = [], 0, "", 0
while not os.path.exists(stop):
    k = n % keys
    n += 1
    t = time.monotonic()
    try:
        status, body = call("GET", f"/v1/stock/ho-{k}")
    except Exception as e:
        status, body = 0, str(e).encode()
        c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    lat.append(time.monotonic() - t)
    if status != 200 or json.loads(body)["on_hand"] != k:
        failed += 1
        first_failure = first_failure or f"ho-{k}: {status} {body[:200]!r}"
lat.sort()
def ms(p):
    return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 2)
print(json.dumps({"mode": mode, "reads": len(lat), "failed": failed, "p50_ms": ms(0.5),
                  "p99_ms": ms(0.99), "p999_ms": ms(0.999), "max_ms": ms(1.0),
                  "over_100ms": sum(1 for x in lat if x > 0.1), "first_failure": first_failure}))
PY
}

results=()
for round in $(seq "$rounds"); do
  for mode in join leave; do
    recreate_db "$cluster_db"
    urls=() pids=()
    rm -f "$work/stop" "$work/polling" "$work/poll.json"
    start_node a
    start_node b
    if [[ $mode == leave ]]; then start_node c; wait_balanced 3; else wait_balanced 2; fi
    poll "$mode" >"$work/poll.json" &
    poller=$!
    for _ in $(seq 600); do [[ -e $work/polling ]] && break; sleep 0.1; done
    sleep 1 # a second of reads before the shards move
    if [[ $mode == join ]]; then
      start_node c
      wait_balanced 3
    else
      kill -TERM "${pids[2]}"
      wait "${pids[2]}" 2>/dev/null || true
      wait_balanced 2
    fi
    sleep 1
    touch "$work/stop"
    wait "$poller"
    line=$(cat "$work/poll.json")
    echo "$line"
    results+=("$line")
    for pid in $extra_pids; do stop_pid "$pid"; done
    extra_pids=
  done
done

python3 - "${results[@]}" <<'PY'
import json, sys
rows = [json.loads(x) for x in sys.argv[1:]]
for mode in ("join", "leave"):
    xs = [r for r in rows if r["mode"] == mode]
    print(f'{mode}: {len(xs)} rounds; failed reads {[r["failed"] for r in xs]}; slowest read '
          f'{[r["max_ms"] for r in xs]} ms; p99 {[r["p99_ms"] for r in xs]} ms; reads over 100 ms '
          f'{[r["over_100ms"] for r in xs]} of {[r["reads"] for r in xs]}')
PY
