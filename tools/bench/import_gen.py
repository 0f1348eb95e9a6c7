"""Data and clients of tools/bench/import.sh.

  gen DIR N DAYS        native batches DIR/native/<platform>-<k>.json (1000 orders each) and the
                        same orders as upserts of the baseline design, DIR/seed/<k>.sql
  change URL TOKEN ADMIN_TOKEN COUNT N DAYS
                        COUNT pending orders of `gen N DAYS` cancelled one at a time; for each,
                        the time from sending the change until GET /v1/stats/daily shows it
                        (JSON summary on stdout)
  reads URL ADMIN_TOKEN FROM TO COUNT
                        COUNT sequential GET /v1/stats/daily over FROM..TO (JSON summary)
"""
import http.client
import json
import os
import random
import sys
import time
import urllib.parse

PLATFORMS = ["tiktok", "shopee", "lazada"]
YEAR_START = 1704067200  # 2024-01-01T00:00:00Z
BATCH = 1000


def decimal(minor):
    return "%d.%02d" % (minor // 100, minor % 100)


def orders(n, days):
    rng = random.Random(17)
    for i in range(n):
        create = YEAR_START + rng.randrange(days * 86400)
        gross = rng.randint(500, 50000)
        disc = rng.randint(0, gross // 10) if rng.random() < 0.3 else 0
        roll = rng.randrange(10)
        status = "pending" if roll < 5 else "completed" if roll < 9 else "cancelled"
        yield {"platform": PLATFORMS[i % 3], "n": i, "create": create,
               "update": create + rng.randrange(3600), "gross": gross, "discount": disc,
               "status": status}


def native(o):
    p, s = o["platform"], o["status"]
    final = o["gross"] - o["discount"]
    if p == "tiktok":
        return {"id": str(770000000000 + o["n"]),
                "status": {"pending": "AWAITING_SHIPMENT", "completed": "COMPLETED",
                           "cancelled": "CANCELLED"}[s],
                "create_time": o["create"], "update_time": o["update"], "user_id": "buyer",
                "line_items": [{"id": str(o["n"]), "sku_id": "SKU-%d" % (o["n"] % 50),
                                "product_name": "Thing", "original_price": decimal(o["gross"])}],
                "payment": {"currency": "MYR", "original_total_product_price": decimal(o["gross"]),
                            "seller_discount": decimal(o["discount"]), "platform_discount": "0",
                            "shipping_fee": "0", "total_amount": decimal(final)}}
    if p == "shopee":
        return {"order_sn": "SH%d" % o["n"],
                "order_status": {"pending": "READY_TO_SHIP", "completed": "COMPLETED",
                                 "cancelled": "CANCELLED"}[s],
                "currency": "MYR", "create_time": o["create"], "update_time": o["update"],
                "buyer_user_id": 1, "buyer_username": "buyer", "total_amount": final / 100,
                "estimated_shipping_fee": 0,
                "item_list": [{"item_id": 3000 + o["n"] % 50, "item_name": "Thing", "model_id": 0,
                               "model_sku": "SKU-%d" % (o["n"] % 50),
                               "model_quantity_purchased": 1,
                               "model_original_price": o["gross"] / 100,
                               "model_discounted_price": final / 100}]}
    t = lambda s: time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(s))
    word = {"pending": "pending", "completed": "delivered", "cancelled": "canceled"}[s]
    return {"order_id": 990000000 + o["n"], "created_at": t(o["create"]),
            "updated_at": t(o["update"]), "customer_first_name": "Buyer",
            "price": decimal(o["gross"]), "shipping_fee": "0.00",
            "voucher": decimal(o["discount"]), "voucher_seller": decimal(o["discount"]),
            "voucher_platform": "0.00",
            "statuses": [word],
            "items": [{"order_item_id": o["n"], "sku": "SKU-%d" % (o["n"] % 50), "name": "Thing",
                       "item_price": decimal(o["gross"]), "currency": "MYR", "status": word}]}


def code(o):
    return {"tiktok": str(770000000000 + o["n"]), "shopee": "SH%d" % o["n"],
            "lazada": str(990000000 + o["n"])}[o["platform"]]


def gen(out, n, days):
    os.makedirs(out + "/native", exist_ok=True)
    os.makedirs(out + "/seed", exist_ok=True)
    batches = {p: [] for p in PLATFORMS}
    rows, k = [], 0

    def flush_seed():
        nonlocal rows, k
        with open("%s/seed/%05d.sql" % (out, k), "w") as f:
            # Rows in (day, platform) order, so that concurrent batches take the trigger's
            # queue keys in one order and cannot deadlock on them.
            f.write("INSERT INTO seed_orders VALUES\n" + ",\n".join(r for _, r in sorted(rows))
                    + "\nON CONFLICT "
                    "(platform, order_code) DO UPDATE SET status = excluded.status, "
                    "gross_minor = excluded.gross_minor, discount_minor = excluded.discount_minor, "
                    "final_minor = excluded.final_minor, updated_at = excluded.updated_at "
                    "WHERE seed_orders.updated_at < excluded.updated_at;\n")
        rows, k = [], k + 1

    counts = {p: 0 for p in PLATFORMS}
    for o in orders(n, days):
        p = o["platform"]
        batches[p].append(native(o))
        if len(batches[p]) == BATCH:
            with open("%s/native/%s-%05d.json" % (out, p, counts[p]), "w") as f:
                json.dump(batches[p], f, separators=(",", ":"))
            batches[p], counts[p] = [], counts[p] + 1
        day = time.strftime("%Y-%m-%d", time.gmtime(o["create"]))
        rows.append(((day, p, code(o)), "('%s','%s','%s','%s',%d,%d,%d,to_timestamp(%d))" % (
            p, code(o), day, o["status"], o["gross"], o["discount"], o["gross"] - o["discount"],
            o["update"])))
        if len(rows) == BATCH:
            flush_seed()
    for p in PLATFORMS:
        if batches[p]:
            with open("%s/native/%s-%05d.json" % (out, p, counts[p]), "w") as f:
                json.dump(batches[p], f, separators=(",", ":"))
    if rows:
        flush_seed()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))] if xs else 0


def conn_for(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def get_json(c, path, token):
    c.request("GET", path, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit("GET %s: %d %s" % (path, r.status, body[:200]))
    return json.loads(body)


def change(url, token, admin, count, n, days):
    c = conn_for(url)
    picked = [o for o in orders(n, days) if o["status"] == "pending"][:count]
    lat = []
    for o in picked:
        day = time.strftime("%Y-%m-%d", time.gmtime(o["create"]))
        path = "/v1/stats/daily?from=%s&to=%s&platform=%s" % (day, day, o["platform"])
        before = sum(r["cancelled_orders"] for r in get_json(c, path, admin))
        o = dict(o, status="cancelled", update=o["update"] + 86400)
        body = json.dumps([native(o)])
        t0 = time.perf_counter()
        c.request("POST", "/v1/marketplaces/%s/orders" % o["platform"], body=body,
                  headers={"Authorization": "Bearer " + token,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        answer = json.loads(r.read())
        if r.status != 200 or answer.get("updated") != 1:
            raise SystemExit("change not applied: %d %s" % (r.status, answer))
        while sum(x["cancelled_orders"] for x in get_json(c, path, admin)) != before + 1:
            pass
        lat.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"label": "change_to_stats", "changes": len(lat),
                      "p50_ms": round(pct(lat, 0.5), 2), "p99_ms": round(pct(lat, 0.99), 2),
                      "max_ms": round(max(lat), 2)}))


def reads(url, admin, frm, to, count):
    c = conn_for(url)
    path = "/v1/stats/daily?from=%s&to=%s" % (frm, to)
    rows = len(get_json(c, path, admin))
    lat = []
    for _ in range(count):
        # Timed to the last byte of the answer; the client does not parse it (a parse of 465 KB
        # in Python takes longer than the server's answer).
        t0 = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + admin})
        r = c.getresponse()
        body = r.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status != 200 or not body:
            raise SystemExit("GET %s: %d" % (path, r.status))
    print(json.dumps({"label": "stats_year", "rows": rows, "reads": count,
                      "p50_ms": round(pct(lat, 0.5), 2), "p99_ms": round(pct(lat, 0.99), 2),
                      "max_ms": round(max(lat), 2)}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "change":
        change(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
               int(sys.argv[7]))
    elif cmd == "reads":
        reads(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
