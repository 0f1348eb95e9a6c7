#!/usr/bin/env bash
# Failover benchmark: three nodes of one cluster on the private PostgreSQL; one of them dies
# (kill -9) or freezes (SIGSTOP), and the time is measured, through a survivor, until every
# stock item the victim owned answers again from its new owner. Each round starts a fresh
# cluster on a fresh database, so rounds do not share a warm state.
#
#   tools/bench/failover.sh [--rounds 3] [--keys 60]
#
# Expects a built tree and MERCATO_TEST_DATABASE_URL (tools/dev bench failover sets both up).
set -euo pipefail
rounds=3
keys=60
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

cluster_db=failover_bench

# Starts nodes a, b, c on a fresh database and waits until they share the shards.
start_cluster() {
  recreate_db "$cluster_db"
  urls=() pids=()
  for node in a b c; do start_node "$node"; done
  wait_balanced 3
}

stop_cluster() {
  for pid in $extra_pids; do stop_pid "$pid"; done
  extra_pids=
}

# Creates the keys through node a, lists those node c owns, then hurts node c with `signal` and
# polls the survivors; prints one JSON line.
measure() { # mode signal
  python3 - "$1" "$2" "$token" "$keys" "${pids[2]}" "${urls[@]}" <<'PY'
import http.client, json, os, signal, sys, time, urllib.parse

mode, sig, token, keys, victim = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
urls = sys.argv[6:]
auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=5)

def call(c, method, path, body=None):
    c.request(method, path, body=None if body is None else json.dumps(body), headers=auth)
    r = c.getresponse()
    return r.status, r.read()

a = conn(urls[0])
for k in range(keys):
    sku = f"fo-{k}"
    call(a, "PUT", f"/v1/products/{sku}", {"name": sku, "price_minor": 100, "currency": "USD"})
    status, body = call(a, "PUT", f"/v1/stock/{sku}", {"on_hand": 100 + k})
    assert status == 200, body
status, body = call(a, "GET", "/v1/admin/actors?kind=stock&node=bench-c&limit=1000")
owned = sorted(i["key"] for i in json.loads(body)["items"])
assert owned, "node c owns none of the keys"
os.kill(victim, getattr(signal, sig))
hurt = time.monotonic()
back = {}
survivors = [conn(urls[0]), conn(urls[1])]
n = 0
while len(back) < len(owned) and time.monotonic() - hurt < 60:
    for sku in owned:
        if sku in back:
            continue
        c = survivors[n % 2]
        n += 1
        try:
            status, body = call(c, "GET", f"/v1/stock/{sku}")
        except Exception:
            survivors[(n - 1) % 2] = conn(urls[(n - 1) % 2])
            continue
        if status == 200:
            assert json.loads(body)["on_hand"] == 100 + int(sku.split("-")[1]), body
            back[sku] = time.monotonic() - hurt
if sig == "SIGSTOP":
    os.kill(victim, signal.SIGCONT)  # it must find itself dead and exit
times = sorted(back.values())
def pct(p):
    return round(1000 * times[min(len(times) - 1, int(p * len(times)))]) if times else None
print(json.dumps({"mode": mode, "keys_moved": len(owned), "answered": len(times),
                  "first_ms": pct(0), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                  "all_ms": round(1000 * times[-1]) if len(times) == len(owned) else None}))
PY
}

results=()
for round in $(seq "$rounds"); do
  for mode in kill9:SIGKILL freeze:SIGSTOP; do
    start_cluster
    line=$(measure "${mode%%:*}" "${mode##*:}")
    echo "$line"
    results+=("$line")
    # A frozen node, woken, exits on its own (its heartbeat finds it dead): wait a little for it.
    for _ in $(seq 50); do kill -0 "${pids[2]}" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "${pids[2]}" 2>/dev/null; then log "round $round $mode: the victim still runs"; fi
    stop_cluster
  done
done

python3 - "${results[@]}" <<'PY'
import json, sys
rows = [json.loads(x) for x in sys.argv[1:]]
for mode in ("kill9", "freeze"):
    xs = [r for r in rows if r["mode"] == mode]
    alls = sorted(r["all_ms"] for r in xs if r["all_ms"] is not None)
    print(f'{mode}: {len(xs)} rounds; every moved key answered after {alls} ms '
          f'(p50 per round {[r["p50_ms"] for r in xs]} ms; {xs[0]["keys_moved"] if xs else 0}+ keys moved)')
PY
