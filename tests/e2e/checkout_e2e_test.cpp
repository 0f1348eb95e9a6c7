// End-to-end tests of carts, coupons, the checkout saga and orders: the real `mercato` binary
// with the sandbox payment provider on a fresh PostgreSQL database per test, over HTTP.

#include "runtime/util/crypto.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/fake_psp.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/jwt_mint.hpp"
#include "tests/support/projection_wait.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/shop_fixture.hpp"
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::eventually;
using mt::expect_problem;
using json = nlohmann::json;
using namespace std::chrono_literals;

/// How long the sandbox takes for `tok_slow`, and the saga's payment timeout, in these tests.
constexpr int64_t sandbox_slow_ms = 1500;
constexpr int64_t payment_timeout_ms = 3000;

using mt::checkout_body;
using mt::checkout_request;

class CheckoutE2E : public mt::shop_test {
protected:
  void start_server(std::vector<std::string> extra = {}) {
    mt::server_options opts;
    opts.fault_injection = true;
    opts.extra_args = {"--payment-timeout-ms", std::to_string(payment_timeout_ms),
                       "--sandbox-slow-ms", std::to_string(sandbox_slow_ms)};
    opts.extra_args.insert(opts.extra_args.end(), extra.begin(), extra.end());
    start(std::move(opts));
  }

  std::string customer_token(const std::string& sub) {
    return mt::mint_token(env_->secret(), sub, "customer");
  }

  /// Waits until the stock of `sku` shows `on_hand` and no units held.
  bool settles_to(const std::string& sku, int64_t on_hand) {
    return eventually(
      [&] {
        auto s = stock(sku);
        return s.value("on_hand", -1) == on_hand && s.value("reserved", -1) == 0;
      },
      15s, 50ms);
  }

  /// The payments table, once its projection has applied every committed event: status of each
  /// payment id that starts with `prefix`.
  std::map<std::string, std::string> payments(const std::string& prefix) {
    EXPECT_TRUE(mt::projection_caught_up(env_->dsn(), "payments"));
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    std::map<std::string, std::string> out;
    for (const auto& row : tx.exec_params(
           "SELECT payment_id, status FROM payments WHERE payment_id LIKE $1", prefix + "%"))
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    return out;
  }
};

TEST_F(CheckoutE2E, CheckoutPlacesTheOrderAndSellsTheStock) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto a = stocked_product("happy-a", 1000, 10);
  auto b = stocked_product("happy-b", 2500, 5);
  auto cart = filled_cart(ada_, {{a, 2}, {b, 1}});
  auto got = http().get("/v1/carts/" + cart, ada_);
  ASSERT_EQ(got.status, 200) << got.describe();
  EXPECT_EQ(got.json()["totals"]["subtotal_minor"], 4500);
  EXPECT_EQ(got.json()["lines"].size(), 2u);

  auto res = http().request(checkout_request("happy-1", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto body = res.json();
  EXPECT_EQ(body["status"], "completed");
  auto order_id = body.at("order_id").get<std::string>();
  auto checkout_id = body.at("checkout_id").get<std::string>();
  EXPECT_EQ(body["totals"]["total_minor"], 4500);

  auto order = http().get("/v1/orders/" + order_id, ada_);
  ASSERT_EQ(order.status, 200) << order.describe();
  EXPECT_EQ(order.json()["totals"]["total_minor"], 4500);
  EXPECT_EQ(order.json()["lines"].size(), 2u);
  EXPECT_EQ(order.json()["shipping_address"]["country"], "GB");

  // Settling runs after the answer: holds become sales, the order is confirmed.
  EXPECT_TRUE(settles_to(a, 8));
  EXPECT_TRUE(settles_to(b, 4));
  EXPECT_TRUE(eventually(
    [&] { return http().get("/v1/orders/" + order_id, ada_).json()["status"] == "confirmed"; },
    10s));
  EXPECT_EQ(payments(checkout_id).at(checkout_id), "captured");
  auto co = http().get("/v1/checkouts/" + checkout_id, ada_);
  ASSERT_EQ(co.status, 200) << co.describe();
  std::set<std::string> steps;
  auto co_body = co.json(); // the loop below must not walk a temporary
  for (const auto& s : co_body["steps"])
    steps.insert(s["name"].get<std::string>() + ":" + s["status"].get<std::string>());
  EXPECT_TRUE(steps.count("reserve_stock:done")) << co.body;
  EXPECT_TRUE(steps.count("authorize_payment:done"));
  EXPECT_TRUE(steps.count("place_order:done"));

  // The cart is closed, and nobody else sees the order, the checkout or the cart.
  auto closed = http().put("/v1/carts/" + cart + "/lines/" + a, {{"quantity", 1}}, ada_);
  EXPECT_TRUE(eventually(
    [&] {
      return http().put("/v1/carts/" + cart + "/lines/" + a, {{"quantity", 1}}, ada_).status == 409;
    },
    10s))
    << closed.describe();
  auto eve = customer_token("eve");
  expect_problem(http().get("/v1/orders/" + order_id, eve), 404, "not_found");
  expect_problem(http().get("/v1/checkouts/" + checkout_id, eve), 404, "not_found");
  expect_problem(http().get("/v1/carts/" + cart, eve), 404, "not_found");
  EXPECT_EQ(http().get("/v1/orders/" + order_id, admin_).status, 200);

  // Operators see the live entities of the checkout.
  auto inspected = http().get("/v1/admin/actors/checkout/" + checkout_id, admin_);
  ASSERT_EQ(inspected.status, 200) << inspected.describe();
  EXPECT_EQ(inspected.json()["state"]["status"], "completed");
  EXPECT_EQ(inspected.json()["state"]["order_id"], order_id);
  auto order_actor = http().get("/v1/admin/actors/order/" + order_id, admin_);
  ASSERT_EQ(order_actor.status, 200) << order_actor.describe();
  EXPECT_EQ(order_actor.json()["state"]["status"], "confirmed");
  auto carts = http().get("/v1/admin/actors?kind=cart", admin_);
  ASSERT_EQ(carts.status, 200) << carts.describe();
  EXPECT_EQ(carts.json()["items"].size(), 1u);
}

TEST_F(CheckoutE2E, ThePaymentIsAJournaledEntityThatAdminsCanInspect) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto a = stocked_product("pay-entity-a", 1200, 3);
  auto cart = filled_cart(ada_, {{a, 1}});
  auto res = http().request(checkout_request("pay-entity-1", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto checkout_id = res.json().at("checkout_id").get<std::string>();
  ASSERT_TRUE(eventually([&] { return payments(checkout_id)[checkout_id] == "captured"; }, 10s));
  // One append for the payment of a checkout: the capture. The authorisation is recorded by the
  // order it pays for (its `placed`), which the capture carries back to the payment.
  auto inspected = http().get("/v1/admin/actors/payment/" + checkout_id, admin_);
  ASSERT_EQ(inspected.status, 200) << inspected.describe();
  auto body = inspected.json();
  EXPECT_EQ(body["state"]["status"], "captured") << inspected.body;
  EXPECT_EQ(body["state"]["amount_minor"], 1200);
  EXPECT_EQ(body["version"], 1) << inspected.body;
  std::vector<std::string> types;
  for (const auto& e : body["recent_events"])
    types.push_back(e["type"].get<std::string>());
  EXPECT_EQ(types, (std::vector<std::string>{"captured"}));
  EXPECT_EQ(http().get("/v1/admin/actors/payment/" + checkout_id, ada_).status, 403);
}

TEST_F(CheckoutE2E, DeclinedCardLeavesEverythingClean) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto a = stocked_product("decline", 1000, 10);
  auto cart = filled_cart(ada_, {{a, 3}});
  auto res
    = http().request(checkout_request("decline-1", checkout_body(cart, "tok_decline"), ada_));
  expect_problem(res, 402, "payment_declined");
  EXPECT_TRUE(settles_to(a, 10));
  // A replay answers the first result again, and changes nothing.
  auto again
    = http().request(checkout_request("decline-1", checkout_body(cart, "tok_decline"), ada_));
  expect_problem(again, 402, "payment_declined");
  EXPECT_TRUE(settles_to(a, 10));
}

TEST_F(CheckoutE2E, ProviderTimeoutCompensatesAndVoids) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto a = stocked_product("timeout", 1000, 10);
  auto cart = filled_cart(ada_, {{a, 2}});
  auto res
    = http().request(checkout_request("timeout-1", checkout_body(cart, "tok_timeout"), ada_));
  expect_problem(res, 402, "payment_declined");
  EXPECT_TRUE(settles_to(a, 10));
  auto checkout_id = [&] {
    for (const auto& [id, status] : payments("co_"))
      return id;
    return std::string{};
  }();
  ASSERT_FALSE(checkout_id.empty());
  EXPECT_EQ(payments(checkout_id).at(checkout_id), "voided");
}

TEST_F(CheckoutE2E, InsufficientStockOnOneLineReleasesTheOthers) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto a = stocked_product("short-a", 1000, 10);
  auto b = stocked_product("short-b", 500, 1);
  auto cart = filled_cart(ada_, {{a, 2}, {b, 1}});
  // B sells out after the cart was filled (the cart's check is only advisory).
  ASSERT_EQ(http().put("/v1/stock/" + b, {{"on_hand", 0}}, admin_).status, 200);
  auto res = http().request(checkout_request("short-1", checkout_body(cart), ada_));
  expect_problem(res, 409, "insufficient_stock");
  EXPECT_EQ(res.json()["skus"], json::array({b}));
  EXPECT_TRUE(settles_to(a, 10));
  EXPECT_TRUE(settles_to(b, 0));
  EXPECT_TRUE(payments("co_").empty() || payments("co_").begin()->second == "voided");
}

TEST_F(CheckoutE2E, SagaCrashingMidWayCompensatesAndCanBeRetried) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto a = stocked_product("crash", 1000, 10);
  auto cart = filled_cart(ada_, {{a, 4}});
  auto req = checkout_request("crash-1", checkout_body(cart, "tok_slow"), ada_);
  auto first = std::async(std::launch::async, [&] {
    mt::http_client c{env_->server().host(), env_->server().port()};
    return c.request(req);
  });
  // While the slow authorisation is under way the saga holds stock: crash it then.
  ASSERT_TRUE(eventually([&] { return stock(a).value("reserved", 0) == 4; }, 10s));
  std::string checkout_id;
  ASSERT_TRUE(eventually(
    [&] {
      pqxx::connection conn{env_->dsn()};
      pqxx::nontransaction tx{conn};
      auto started = tx.exec("SELECT entity_id FROM journal WHERE entity_kind = 'checkout'");
      if (!started.empty())
        checkout_id = started[0][0].as<std::string>();
      return !checkout_id.empty();
    },
    10s));
  auto fault
    = http().post("/v1/admin/actors/checkout/" + checkout_id + "/fault", json::object(), admin_);
  EXPECT_EQ(fault.status, 202) << fault.describe();
  auto answer = first.get();
  expect_problem(answer, 503, "unavailable");

  // The restarted saga compensates: stock back, authorisation voided, checkout failed.
  EXPECT_TRUE(settles_to(a, 10));
  EXPECT_TRUE(eventually(
    [&] {
      auto co = http().get("/v1/checkouts/" + checkout_id, ada_);
      return co.status == 200 && co.json()["status"] == "failed";
    },
    10s));
  EXPECT_EQ(payments(checkout_id).at(checkout_id), "voided");

  // The same request again is a new attempt that succeeds, with fresh ids.
  auto retry = http().request(req);
  ASSERT_EQ(retry.status, 201) << retry.describe();
  EXPECT_EQ(retry.json()["attempt"], 2);
  EXPECT_TRUE(settles_to(a, 6));
}

TEST_F(CheckoutE2E, FiveHundredBuyersOfFiftyUnitsGetExactlyFiftyOrders) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("flash", 990, 50);
  std::vector<mt::http_request> reqs;
  for (int i = 0; i < 500; ++i) {
    auto token = customer_token("buyer-" + std::to_string(i));
    auto cart = filled_cart(token, {{sku, 1}});
    reqs.push_back(checkout_request("flash-" + std::to_string(i), checkout_body(cart), token));
  }
  auto responses = mt::run_concurrently(env_->server().host(), env_->server().port(), reqs,
                                        {.connections = 32, .timeout = 60s});
  int created = 0, short_of_stock = 0;
  std::set<std::string> orders;
  for (const auto& res : responses) {
    if (res.status == 201) {
      ++created;
      orders.insert(res.json().at("order_id").get<std::string>());
    } else if (res.status == 409 && res.json().value("code", "") == "insufficient_stock") {
      ++short_of_stock;
    } else {
      ADD_FAILURE() << res.describe();
    }
  }
  EXPECT_EQ(created, 50);
  EXPECT_EQ(short_of_stock, 450);
  EXPECT_EQ(orders.size(), 50u);
  EXPECT_TRUE(settles_to(sku, 0));
}

TEST_F(CheckoutE2E, CouponLimitedToTenDiscountsExactlyTenOrders) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("coupon", 2000, 1000);
  auto coupon = http().put("/v1/coupons/TEN-OFF",
                           {{"kind", "percent"}, {"value", 10}, {"usage_limit", 10}}, admin_);
  ASSERT_EQ(coupon.status, 201) << coupon.describe();
  std::vector<mt::http_request> reqs;
  for (int i = 0; i < 100; ++i) {
    auto token = customer_token("saver-" + std::to_string(i));
    auto cart = filled_cart(token, {{sku, 1}});
    auto applied = http().put("/v1/carts/" + cart + "/coupon", {{"code", "TEN-OFF"}}, token);
    ASSERT_EQ(applied.status, 200) << applied.describe();
    EXPECT_EQ(applied.json()["totals"]["discount_minor"], 200);
    reqs.push_back(checkout_request("saver-" + std::to_string(i), checkout_body(cart), token));
  }
  auto responses = mt::run_concurrently(env_->server().host(), env_->server().port(), reqs,
                                        {.connections = 32, .timeout = 60s});
  int discounted = 0, refused = 0;
  for (const auto& res : responses) {
    if (res.status == 201) {
      EXPECT_EQ(res.json()["totals"]["discount_minor"], 200);
      ++discounted;
    } else if (res.status == 409 && res.json().value("code", "") == "conflict") {
      ++refused;
    } else {
      ADD_FAILURE() << res.describe();
    }
  }
  EXPECT_EQ(discounted, 10);
  EXPECT_EQ(refused, 90);
  EXPECT_TRUE(settles_to(sku, 990));
  EXPECT_TRUE(eventually(
    [&] {
      auto c = http().get("/v1/coupons/TEN-OFF", admin_).json();
      return c["used"] == 10 && c["reserved"] == 0;
    },
    10s));
}

TEST_F(CheckoutE2E, SameKeyTwentyTimesConcurrentlyMakesOneOrder) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("idem", 1000, 10);
  auto cart = filled_cart(ada_, {{sku, 2}});
  std::vector<mt::http_request> reqs(20, checkout_request("idem-1", checkout_body(cart), ada_));
  auto responses = mt::run_concurrently(env_->server().host(), env_->server().port(), reqs,
                                        {.connections = 20, .timeout = 30s});
  std::set<std::string> orders;
  for (const auto& res : responses) {
    ASSERT_EQ(res.status, 201) << res.describe();
    orders.insert(res.json().at("order_id").get<std::string>());
  }
  EXPECT_EQ(orders.size(), 1u);
  EXPECT_EQ(payments("co_").size(), 1u);
  EXPECT_TRUE(settles_to(sku, 8));
  // The same key with another body is refused and changes nothing.
  auto other = checkout_body(cart);
  other["email"] = "someone-else@example.com";
  expect_problem(http().request(checkout_request("idem-1", other, ada_)), 409,
                 "idempotency_mismatch");
  EXPECT_TRUE(settles_to(sku, 8));
}

// An Idempotency-Key answers its first checkout for the server's retention (1 s here); after
// it, a request under the key is a new checkout with an order of its own, and the cart the key
// bought first cannot be bought again under it.
TEST_F(CheckoutE2E, AKeyPastItsRetentionStartsANewCheckoutButNeverSellsItsCartTwice) {
  ASSERT_NO_FATAL_FAILURE(start_server({"--idempotency-retention-ms", "1000"}));
  auto sku = stocked_product("renew", 1000, 10);
  auto first_cart = filled_cart(ada_, {{sku, 1}});
  auto second_cart = filled_cart(ada_, {{sku, 2}});
  auto first = http().request(checkout_request("renew-1", checkout_body(first_cart), ada_));
  ASSERT_EQ(first.status, 201) << first.describe();
  auto checkout_id = first.json().at("checkout_id").get<std::string>();
  auto first_order = first.json().at("order_id").get<std::string>();
  expect_problem(http().request(checkout_request("renew-1", checkout_body(second_cart), ada_)), 409,
                 "idempotency_mismatch");
  ASSERT_TRUE(settles_to(sku, 9));
  // Past the retention, by the server's clock (which alone decides): the first cart again under
  // the key is a new checkout, refused because that cart was bought. Until the first checkout
  // has settled entirely, the same request is still answered with the first result.
  std::this_thread::sleep_for(1100ms);
  mt::http_response again;
  ASSERT_TRUE(eventually(
    [&] {
      again = http().request(checkout_request("renew-1", checkout_body(first_cart), ada_));
      return again.status != 201;
    },
    10s, 50ms))
    << again.describe();
  expect_problem(again, 409, "conflict");
  // The second cart under the key: a new checkout and a new order.
  auto second = http().request(checkout_request("renew-1", checkout_body(second_cart), ada_));
  ASSERT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(second.json().at("checkout_id"), checkout_id);
  auto second_order = second.json().at("order_id").get<std::string>();
  EXPECT_NE(second_order, first_order);
  // Within the new use the key answers its result again, and refuses the first cart's body.
  auto replay = http().request(checkout_request("renew-1", checkout_body(second_cart), ada_));
  ASSERT_EQ(replay.status, 201) << replay.describe();
  EXPECT_EQ(replay.json().at("order_id"), second_order);
  expect_problem(http().request(checkout_request("renew-1", checkout_body(first_cart), ada_)), 409,
                 "idempotency_mismatch");
  EXPECT_TRUE(settles_to(sku, 7)) << "1 + 2 units sold, each once";
  for (const auto& order : {first_order, second_order})
    EXPECT_EQ(http().get("/v1/orders/" + order, ada_).status, 200) << order;
  auto paid = payments(checkout_id);
  EXPECT_EQ(paid.size(), 2u) << "one payment per checkout, none for the refused cart";
}

TEST_F(CheckoutE2E, CancelReturnsStockAndMoneyOnce) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("cancel", 1000, 10);
  auto cart = filled_cart(ada_, {{sku, 3}});
  auto res = http().request(checkout_request("cancel-1", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto order_id = res.json().at("order_id").get<std::string>();
  auto checkout_id = res.json().at("checkout_id").get<std::string>();
  ASSERT_TRUE(settles_to(sku, 7));
  expect_problem(
    http().post("/v1/orders/" + order_id + "/cancel", {{"reason", "x"}}, customer_token("eve")),
    404, "not_found");
  auto cancelled
    = http().post("/v1/orders/" + order_id + "/cancel", {{"reason", "changed my mind"}}, ada_);
  ASSERT_EQ(cancelled.status, 200) << cancelled.describe();
  EXPECT_EQ(cancelled.json()["status"], "cancelled");
  EXPECT_TRUE(settles_to(sku, 10));
  EXPECT_TRUE(eventually([&] { return payments(checkout_id).at(checkout_id) == "refunded"; }, 10s));
  // Cancelling again changes nothing.
  auto again = http().post("/v1/orders/" + order_id + "/cancel", json::object(), ada_);
  EXPECT_EQ(again.status, 200) << again.describe();
  EXPECT_TRUE(settles_to(sku, 10));
}

TEST_F(CheckoutE2E, BadInputGetsProblemsAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("bad", 1000, 5);
  auto cart = filled_cart(ada_, {{sku, 1}});
  auto version = http().get("/v1/carts/" + cart, ada_).json()["version"];
  auto raw = [&](const std::string& method, const std::string& target, const std::string& body,
                 const std::string& token, const std::string& key = {}) {
    mt::http_request req{method, target, body, {}};
    req.bearer(token);
    if (!key.empty())
      req.with_header("Idempotency-Key", key);
    return http().request(req);
  };
  auto cart_path = "/v1/carts/" + cart;
  auto line_path = cart_path + "/lines/" + sku;
  expect_problem(raw("POST", "/v1/carts", "{", ada_), 400, "invalid_request");
  expect_problem(raw("POST", "/v1/carts", R"({"currency":"usd"})", ada_), 400, "invalid_request");
  expect_problem(raw("POST", "/v1/carts", "{}", ""), 401, "unauthorized");
  expect_problem(raw("POST", "/v1/carts", "{}", env_->token("service")), 403, "forbidden");
  expect_problem(raw("GET", "/v1/carts/bad%20id", "", ada_), 400, "invalid_request");
  expect_problem(raw("GET", "/v1/carts/cart_nope", "", ada_), 404, "not_found");
  expect_problem(raw("PUT", line_path, R"({"quantity":-1})", ada_), 400, "invalid_request");
  expect_problem(raw("PUT", line_path, R"({"quantity":1e9})", ada_), 400, "invalid_request");
  expect_problem(raw("PUT", line_path, R"({"quantity":"2"})", ada_), 400, "invalid_request");
  expect_problem(raw("PUT", line_path, "[]", ada_), 400, "invalid_request");
  expect_problem(raw("PUT", line_path, R"({"quantity":6})", ada_), 409, "insufficient_stock");
  expect_problem(raw("PUT", cart_path + "/lines/no-such-sku", R"({"quantity":1})", ada_), 404,
                 "not_found");
  expect_problem(raw("PUT", cart_path + "/coupon", R"({"code":"NOPE"})", ada_), 409, "conflict");
  expect_problem(raw("PUT", cart_path + "/coupon", R"({"code":""})", ada_), 400, "invalid_request");
  expect_problem(raw("PUT", "/v1/coupons/X", R"({"kind":"bogus","value":1})", admin_), 400,
                 "invalid_request");
  expect_problem(raw("PUT", "/v1/coupons/X", R"({"kind":"percent","value":101})", admin_), 400,
                 "invalid_request");
  expect_problem(
    raw("PUT", "/v1/coupons/X", R"({"kind":"fixed","value":5,"ends_at":"soon"})", admin_), 400,
    "invalid_request");
  expect_problem(raw("PUT", "/v1/coupons/X", R"({"kind":"fixed","value":5})", ada_), 403,
                 "forbidden");
  auto body = checkout_body(cart).dump();
  expect_problem(raw("POST", "/v1/checkouts", body, ada_), 400, "invalid_request");
  expect_problem(raw("POST", "/v1/checkouts", body, ada_, std::string(300, 'k')), 400,
                 "invalid_request");
  expect_problem(raw("POST", "/v1/checkouts", "{", ada_, "bad-1"), 400, "invalid_request");
  auto no_payment = checkout_body(cart);
  no_payment.erase("payment");
  expect_problem(raw("POST", "/v1/checkouts", no_payment.dump(), ada_, "bad-2"), 400,
                 "invalid_request");
  auto bad_country = checkout_body(cart);
  bad_country["shipping_address"]["country"] = "Britain";
  expect_problem(raw("POST", "/v1/checkouts", bad_country.dump(), ada_, "bad-3"), 400,
                 "invalid_request");
  expect_problem(raw("POST", "/v1/checkouts", checkout_body("cart_missing").dump(), ada_, "bad-4"),
                 400, "invalid_request");
  expect_problem(raw("POST", "/v1/checkouts", body, customer_token("eve"), "bad-5"), 400,
                 "invalid_request");
  expect_problem(raw("GET", "/v1/checkouts/co_nope", "", ada_), 404, "not_found");
  expect_problem(raw("GET", "/v1/orders/ord_nope", "", ada_), 404, "not_found");
  expect_problem(raw("POST", "/v1/orders/ord_nope/cancel", "{}", ada_), 404, "not_found");
  expect_problem(raw("POST", "/v1/orders/ord_nope/cancel", R"({"reason":5})", ada_), 400,
                 "invalid_request");

  // Nothing changed.
  auto after = http().get("/v1/carts/" + cart, ada_);
  ASSERT_EQ(after.status, 200) << after.describe();
  EXPECT_EQ(after.json()["version"], version);
  EXPECT_EQ(after.json()["lines"][0]["quantity"], 1);
  EXPECT_TRUE(after.json()["coupon_code"].is_null());
  EXPECT_TRUE(settles_to(sku, 5));
  EXPECT_EQ(http().get("/v1/coupons/X", admin_).status, 404);
}

TEST_F(CheckoutE2E, IdleCartExpires) {
  ASSERT_NO_FATAL_FAILURE(start_server({"--cart-ttl-ms", "1000"}));
  auto sku = stocked_product("ttl", 1000, 5);
  auto cart = filled_cart(ada_, {{sku, 1}});
  EXPECT_TRUE(
    eventually([&] { return http().get("/v1/carts/" + cart, ada_).status == 410; }, 10s, 100ms));
  expect_problem(http().get("/v1/carts/" + cart, ada_), 410, "cart_expired");
  expect_problem(http().request(checkout_request("ttl-1", checkout_body(cart), ada_)), 410,
                 "cart_expired");
}

TEST_F(CheckoutE2E, OrdersListIsPerCustomerNewestFirstAndPaginates) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("list", 700, 100);
  auto bob = customer_token("bob");
  auto buy = [&](const std::string& token, const std::string& key) {
    auto cart = filled_cart(token, {{sku, 1}});
    auto res = http().request(checkout_request(key, checkout_body(cart), token));
    EXPECT_EQ(res.status, 201) << res.describe();
    return res.status == 201 ? res.json().at("order_id").get<std::string>() : std::string{};
  };
  std::vector<std::string> ada_orders;
  for (int i = 0; i < 3; ++i)
    ada_orders.push_back(buy(ada_, "list-ada-" + std::to_string(i)));
  auto bob_order = buy(bob, "list-bob");
  auto ids = [](const mt::http_response& res) {
    std::vector<std::string> out;
    auto body = res.json();
    for (const auto& item : body["items"])
      out.push_back(item["order_id"].get<std::string>());
    return out;
  };
  auto first = http().get("/v1/orders?limit=2", ada_);
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(ids(first), (std::vector<std::string>{ada_orders[2], ada_orders[1]}));
  ASSERT_TRUE(first.json()["next_cursor"].is_string());
  auto second = http().get(
    "/v1/orders?limit=2&cursor=" + first.json()["next_cursor"].get<std::string>(), ada_);
  ASSERT_EQ(second.status, 200) << second.describe();
  EXPECT_EQ(ids(second), (std::vector<std::string>{ada_orders[0]}));
  EXPECT_TRUE(second.json()["next_cursor"].is_null());
  EXPECT_EQ(second.json()["items"][0]["totals"]["total_minor"], 700);

  EXPECT_EQ(ids(http().get("/v1/orders", bob)), (std::vector<std::string>{bob_order}));
  EXPECT_EQ(ids(http().get("/v1/orders", admin_)).size(), 4u);
  EXPECT_EQ(ids(http().get("/v1/orders?customer_id=ada", admin_)).size(), 3u);
  expect_problem(http().get("/v1/orders?customer_id=bob", ada_), 403, "forbidden");
  expect_problem(http().get("/v1/orders?limit=0", ada_), 400, "invalid_request");
  expect_problem(http().get("/v1/orders?cursor=%21%21", ada_), 400, "invalid_request");
  expect_problem(http().get("/v1/orders", ""), 401, "unauthorized");

  // The list follows the orders' status as their journal does.
  ASSERT_EQ(http().post("/v1/orders/" + ada_orders[1] + "/cancel", json::object(), ada_).status,
            200);
  EXPECT_EQ(ids(http().get("/v1/orders?status=cancelled", ada_)),
            (std::vector<std::string>{ada_orders[1]}));
}

TEST_F(CheckoutE2E, PartnerEventsBuildTheTimelineAndMoveTheStatus) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("facts", 1000, 10);
  auto cart = filled_cart(ada_, {{sku, 1}});
  auto placed = http().request(checkout_request("facts-1", checkout_body(cart), ada_));
  ASSERT_EQ(placed.status, 201) << placed.describe();
  auto order_id = placed.json().at("order_id").get<std::string>();
  auto events_path = "/v1/orders/" + order_id + "/events";
  auto service = env_->token("service");
  auto post_fact = [&](const json& body) { return http().post(events_path, body, service); };

  auto shipped = post_fact({{"source", "logistics"},
                            {"type", "handed_to_carrier"},
                            {"external_id", "trk-1"},
                            {"occurred_at", "2026-11-20T10:00:00Z"},
                            {"data", {{"carrier", "DHL"}}}});
  ASSERT_EQ(shipped.status, 202) << shipped.describe();
  EXPECT_EQ(shipped.json()["duplicate"], false);
  auto again = post_fact({{"source", "logistics"},
                          {"type", "handed_to_carrier"},
                          {"external_id", "trk-1"},
                          {"occurred_at", "2026-11-20T10:00:00Z"}});
  ASSERT_EQ(again.status, 202) << again.describe();
  EXPECT_EQ(again.json()["duplicate"], true);
  // Late and out of order: kept, ordered by occurrence, the status does not move back.
  ASSERT_EQ(post_fact({{"source", "manufacturing"},
                       {"type", "production_started"},
                       {"external_id", "m-1"},
                       {"occurred_at", "2026-11-19T08:00:00+01:00"}})
              .status,
            202);
  ASSERT_EQ(post_fact({{"source", "logistics"},
                       {"type", "eta_updated"},
                       {"external_id", "eta-1"},
                       {"occurred_at", "2026-11-20T11:00:00Z"},
                       {"data", {{"eta", "2026-11-23T18:00:00Z"}}}})
              .status,
            202);

  auto timeline = http().get("/v1/orders/" + order_id + "/timeline", ada_);
  ASSERT_EQ(timeline.status, 200) << timeline.describe();
  auto body = timeline.json();
  EXPECT_EQ(body["status"], "shipped");
  EXPECT_EQ(body["eta"], "2026-11-23T18:00:00.000Z");
  // Partner facts only: Mercato's own entries (delay detection, source mercato) depend on the
  // day this runs, as the dates above are fixed.
  std::vector<std::string> types;
  for (const auto& e : body["events"])
    if (e["source"] != "mercato")
      types.push_back(e["type"].get<std::string>());
  EXPECT_EQ(types,
            (std::vector<std::string>{"production_started", "handed_to_carrier", "eta_updated"}));
  EXPECT_EQ(body["events"][0]["occurred_at"], "2026-11-19T07:00:00.000Z");
  EXPECT_EQ(body["events"][1]["label"], "Handed to the carrier");
  EXPECT_EQ(body["events"][1]["data"]["carrier"], "DHL");

  // The order, its list entry and its cancel follow the facts.
  auto order = http().get("/v1/orders/" + order_id, ada_).json();
  EXPECT_EQ(order["status"], "shipped");
  EXPECT_EQ(order["eta"], "2026-11-23T18:00:00.000Z");
  auto list = http().get("/v1/orders", ada_).json();
  EXPECT_EQ(list["items"][0]["status"], "shipped");
  expect_problem(http().post("/v1/orders/" + order_id + "/cancel", json::object(), ada_), 409,
                 "conflict");
  expect_problem(http().get("/v1/orders/" + order_id + "/timeline", customer_token("eve")), 404,
                 "not_found");

  // A batch answers each item on its own.
  json batch
    = json::array({{{"order_id", order_id},
                    {"source", "logistics"},
                    {"type", "delivered"},
                    {"external_id", "trk-9"},
                    {"occurred_at", "2026-11-21T09:00:00Z"}},
                   {{"order_id", order_id}, {"source", "carrier-pigeon"}, {"type", "delivered"}},
                   {{"order_id", "ord_unknown"},
                    {"source", "logistics"},
                    {"type", "delivered"},
                    {"external_id", "x"},
                    {"occurred_at", "2026-11-21T09:00:00Z"}},
                   "not an object"});
  auto results = http().post("/v1/events", batch, service);
  ASSERT_EQ(results.status, 207) << results.describe();
  auto r = results.json()["results"];
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0]["status"], 202);
  EXPECT_EQ(r[1]["status"], 400);
  EXPECT_EQ(r[1]["code"], "invalid_request");
  EXPECT_EQ(r[2]["status"], 404);
  EXPECT_EQ(r[3]["status"], 400);
  EXPECT_EQ(http().get("/v1/orders/" + order_id, ada_).json()["status"], "delivered");

  // Bad input changes nothing.
  auto before = http().get("/v1/orders/" + order_id + "/timeline", service).json();
  json good{{"source", "logistics"},
            {"type", "in_transit"},
            {"external_id", "bad-1"},
            {"occurred_at", "2026-11-21T08:00:00Z"}};
  auto with = [&](const std::string& key, const json& value) {
    auto b = good;
    if (value.is_null())
      b.erase(key);
    else
      b[key] = value;
    return b;
  };
  expect_problem(http().post(events_path, good, ada_), 403, "forbidden");
  expect_problem(http().post(events_path, good, ""), 401, "unauthorized");
  expect_problem(post_fact(with("source", "carrier-pigeon")), 400, "invalid_request");
  expect_problem(post_fact(with("type", "teleported")), 400, "invalid_request");
  expect_problem(post_fact(with("occurred_at", "yesterday")), 400, "invalid_request");
  expect_problem(post_fact(with("occurred_at", nullptr)), 400, "invalid_request");
  expect_problem(post_fact(with("external_id", std::string(200, 'x'))), 400, "invalid_request");
  expect_problem(post_fact(with("data", "text")), 400, "invalid_request");
  expect_problem(post_fact(with("data", {{"blob", std::string(5000, 'x')}})), 400,
                 "invalid_request");
  expect_problem(post_fact(with("type", "eta_updated")), 400, "invalid_request");
  expect_problem(http().post("/v1/events", json::array(), service), 400, "invalid_request");
  expect_problem(http().post("/v1/events", json::object(), service), 400, "invalid_request");
  EXPECT_EQ(http().get("/v1/orders/" + order_id + "/timeline", service).json(), before);

  // A return gets the money back: the capture is refunded and the order ends refunded.
  auto checkout_id = placed.json().at("checkout_id").get<std::string>();
  ASSERT_TRUE(eventually([&] { return payments(checkout_id).at(checkout_id) == "captured"; }, 10s));
  ASSERT_EQ(post_fact({{"source", "logistics"},
                       {"type", "returned"},
                       {"external_id", "ret-1"},
                       {"occurred_at", "2026-11-21T12:00:00Z"}})
              .status,
            202);
  EXPECT_TRUE(eventually(
    [&] {
      return http().get("/v1/orders/" + order_id, ada_).json()["status"] == "refunded"
             && payments(checkout_id).at(checkout_id) == "refunded";
    },
    10s));
}

TEST_F(CheckoutE2E, ALongTimelineIsReadWholeFromTheJournalWhileTheOrderHoldsAWindow) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("long-track", 1000, 10);
  auto cart = filled_cart(ada_, {{sku, 1}});
  auto placed = http().request(checkout_request("long-track-1", checkout_body(cart), ada_));
  ASSERT_EQ(placed.status, 201) << placed.describe();
  auto order_id = placed.json().at("order_id").get<std::string>();
  auto service = env_->token("service");
  // 250 scans, a minute apart, in two batches: more than the order holds whole, and past the
  // snapshot the journal takes every 200 events. Then the handover, which occurred before them.
  const int scans = 250;
  auto scan = [&](int i) {
    char at[32];
    std::snprintf(at, sizeof at, "2026-11-20T%02d:%02d:00Z", 10 + i / 60, i % 60);
    return json{{"order_id", order_id}, {"source", "fulfillment"},
                {"type", "packed"},     {"external_id", "scan-" + std::to_string(i)},
                {"occurred_at", at},    {"data", {{"scan", i}}}};
  };
  for (int from = 0; from < scans; from += 125) {
    auto batch = json::array();
    for (int i = from; i < from + 125; ++i)
      batch.push_back(scan(i));
    auto res = http().post("/v1/events", batch, service);
    ASSERT_EQ(res.status, 207) << res.describe();
    auto body = res.json(); // a range-for over a member of a temporary would read freed memory
    for (const auto& r : body["results"])
      ASSERT_EQ(r["status"], 202) << res.describe();
  }
  ASSERT_EQ(http()
              .post("/v1/orders/" + order_id + "/events",
                    {{"source", "logistics"},
                     {"type", "handed_to_carrier"},
                     {"external_id", "trk-1"},
                     {"occurred_at", "2026-11-20T09:00:00Z"},
                     {"data", {{"carrier", "DHL"}}}},
                    service)
              .status,
            202);

  // Partner facts only: Mercato's own delay entries depend on the day this runs.
  auto partner_of = [](const json& body) {
    std::vector<json> partner;
    for (const auto& e : body["events"])
      if (e["source"] != "mercato")
        partner.push_back(e);
    return partner;
  };
  auto check_whole = [&](const json& body) {
    EXPECT_EQ(body["status"], "shipped");
    auto partner = partner_of(body);
    ASSERT_EQ(partner.size(), static_cast<size_t>(scans + 1));
    EXPECT_EQ(partner[0]["type"], "handed_to_carrier");
    EXPECT_EQ(partner[0]["label"], "Handed to the carrier");
    EXPECT_EQ(partner[0]["data"]["carrier"], "DHL");
    for (int i = 0; i < scans; ++i) {
      const auto& e = partner[static_cast<size_t>(i) + 1];
      ASSERT_EQ(e["external_id"], "scan-" + std::to_string(i)) << e.dump();
      ASSERT_EQ(e["data"]["scan"], i) << e.dump();
      ASSERT_FALSE(e["label"].get<std::string>().empty()) << e.dump();
    }
  };
  auto timeline = http().get("/v1/orders/" + order_id + "/timeline", ada_);
  ASSERT_EQ(timeline.status, 200) << timeline.describe();
  ASSERT_NO_FATAL_FAILURE(check_whole(timeline.json()));
  auto held = [&] {
    auto res = http().get("/v1/admin/actors/order/" + order_id, admin_);
    EXPECT_EQ(res.status, 200) << res.describe();
    return res.json()["state"];
  };
  auto state = held();
  EXPECT_GE(state["timeline_entries"].get<int64_t>(), scans + 1);
  EXPECT_EQ(state["timeline_whole"], 100); // order_rules.hpp: timeline_window

  // The same after a restart, from the snapshot and the events after it.
  ASSERT_NO_FATAL_FAILURE(env_->restart());
  auto again = http().get("/v1/orders/" + order_id + "/timeline", ada_);
  ASSERT_EQ(again.status, 200) << again.describe();
  EXPECT_EQ(partner_of(again.json()), partner_of(timeline.json()));
  EXPECT_EQ(held()["timeline_whole"], 100);
}

TEST_F(CheckoutE2E, KillNineDuringCheckoutsLosesNoOrderAndReconciles) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  std::vector<std::string> skus;
  for (int i = 0; i < 3; ++i)
    skus.push_back(stocked_product("kill-" + std::to_string(i), 1000 + 100 * i, 1000));
  ASSERT_EQ(http().put("/v1/coupons/KILL", {{"kind", "percent"}, {"value", 10}}, admin_).status,
            201);
  std::vector<mt::http_request> reqs;
  for (int i = 0; i < 150; ++i) {
    auto token = customer_token("kill-" + std::to_string(i));
    std::vector<std::pair<std::string, int64_t>> lines;
    for (size_t k = 0; k <= static_cast<size_t>(i % 3); ++k)
      lines.emplace_back(skus[(i + k) % 3], 1 + i % 4);
    auto cart = filled_cart(token, lines);
    if (i % 2 == 0) {
      ASSERT_EQ(http().put("/v1/carts/" + cart + "/coupon", {{"code", "KILL"}}, token).status, 200);
    }
    reqs.push_back(checkout_request("kill-" + std::to_string(i), checkout_body(cart), token));
  }
  std::atomic<size_t> completed{0};
  std::vector<mt::http_response> responses;
  std::thread stream{[&] {
    responses = mt::run_concurrently(env_->server().host(), env_->server().port(), reqs,
                                     {.connections = 16, .timeout = 30s, .completed = &completed});
  }};
  bool under_way = eventually([&] { return completed.load() >= 40; }, 60s, 1ms);
  env_->server().kill9();
  stream.join();
  ASSERT_TRUE(under_way) << "the checkouts did not get going";
  std::vector<std::string> acknowledged;
  for (const auto& res : responses)
    if (res.status == 201)
      acknowledged.push_back(res.json().at("order_id").get<std::string>());
  EXPECT_GE(acknowledged.size(), 40u);
  ASSERT_NO_FATAL_FAILURE(env_->restart());

  // Every acknowledged order exists.
  for (const auto& id : acknowledged) {
    auto o = http().get("/v1/orders/" + id, admin_);
    EXPECT_EQ(o.status, 200) << id << ": " << o.describe();
  }

  // Reconciliation, once the resumed sagas have finished or compensated: stock sold equals what
  // the orders hold, no unit is held, coupon uses equal the discounted orders, and every order's
  // payment is captured while every other payment was voided (or declined).
  auto reconciles = [&](std::string& why) {
    std::vector<json> orders;
    std::string cursor;
    do {
      auto page
        = http().get("/v1/orders?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor), admin_);
      if (page.status != 200) {
        why = page.describe();
        return false;
      }
      auto body = page.json();
      for (const auto& item : body["items"])
        orders.push_back(
          http().get("/v1/orders/" + item["order_id"].get<std::string>(), admin_).json());
      cursor
        = page.json()["next_cursor"].is_null() ? "" : page.json()["next_cursor"].get<std::string>();
    } while (!cursor.empty());
    std::map<std::string, int64_t> sold;
    int64_t discounted = 0;
    std::set<std::string> order_payments;
    for (const auto& o : orders) {
      for (const auto& l : o["lines"])
        sold[l["sku"]] += l["quantity"].get<int64_t>();
      if (!o["coupon_code"].is_null())
        ++discounted;
      order_payments.insert(o["payment_id"].get<std::string>());
    }
    for (const auto& sku : skus) {
      auto st = stock(sku);
      if (st.value("on_hand", -1) != 1000 - sold[sku] || st.value("reserved", -1) != 0) {
        why = sku + ": " + st.dump() + ", sold " + std::to_string(sold[sku]);
        // For the failure message: the holds of this SKU that did not end as a sale.
        pqxx::connection conn{env_->dsn()};
        pqxx::nontransaction tx{conn};
        for (const auto& row : tx.exec_params(
               "SELECT payload->>'reservation_id', string_agg(event_type, ',' ORDER BY seq) "
               "FROM journal WHERE entity_kind = 'stock' AND entity_id = $1 GROUP BY 1 "
               "HAVING string_agg(event_type, ',' ORDER BY seq) <> 'reserved,committed'",
               sku))
          why += std::string{"\n  hold "} + row[0].c_str() + ": " + row[1].c_str();
        return false;
      }
    }
    auto coupon = http().get("/v1/coupons/KILL", admin_).json();
    if (coupon["used"] != discounted || coupon["reserved"] != 0) {
      why = "coupon " + coupon.dump() + ", discounted orders " + std::to_string(discounted);
      return false;
    }
    for (const auto& [id, status] : payments("co_")) {
      bool ordered = order_payments.count(id) > 0;
      if (ordered ? status != "captured" : (status != "voided" && status != "declined")) {
        why = "payment " + id + " is " + status + (ordered ? " for an order" : " without order");
        return false;
      }
    }
    for (const auto& id : acknowledged)
      if (std::none_of(orders.begin(), orders.end(),
                       [&](const json& o) { return o["order_id"] == id; })) {
        why = "order " + id + " is not listed";
        return false;
      }
    return true;
  };
  std::string why;
  EXPECT_TRUE(eventually([&] { return reconciles(why); }, 30s, 200ms)) << why;
}

// The same saga with the http payment provider against a PSP on loopback that confirms
// authorisations asynchronously, through the signed webhook.
class CheckoutWithPspE2E : public CheckoutE2E {
protected:
  static constexpr const char* webhook_secret = "e2e-webhook-secret-0123456789";

  void start_with_psp() {
    config_path_ = "/tmp/mercato-checkout-psp-" + std::to_string(::getpid()) + ".json";
    std::ofstream{config_path_} << json{{"payments", {{"webhook_secret", webhook_secret}}}}.dump();
    psp_.answer_authorizations_with("pending");
    start_server({"--config", config_path_, "--payment-provider", "http", "--psp-url", psp_.url()});
  }

  void TearDown() override {
    CheckoutE2E::TearDown();
    if (!config_path_.empty())
      std::remove(config_path_.c_str());
  }

  /// The payment id of the first authorisation the PSP received, once it has.
  std::string authorised_payment_id() {
    std::string id;
    eventually(
      [&] {
        for (const auto& c : psp_.calls())
          if (c.method == "POST" && c.target == "/v1/payments")
            id = c.idempotency_key;
        return !id.empty();
      },
      10s);
    return id;
  }

  mt::http_response webhook(const json& event) {
    auto text = event.dump();
    mt::http_request req{"POST", "/v1/payments/webhook", text, {}};
    req.with_header("X-Signature", mercato::util::hmac_sha256_hex(webhook_secret, text));
    return http().request(req);
  }

  mt::fake_psp psp_;
  std::string config_path_;
};

TEST_F(CheckoutWithPspE2E, AsynchronousConfirmationCompletesTheCheckoutOnce) {
  ASSERT_NO_FATAL_FAILURE(start_with_psp());
  auto sku = stocked_product("psp-ok", 1200, 10);
  auto cart = filled_cart(ada_, {{sku, 2}});
  auto pending = std::async(std::launch::async, [&] {
    mt::http_client c{env_->server().host(), env_->server().port()};
    return c.request(checkout_request("psp-1", checkout_body(cart), ada_));
  });
  auto payment_id = authorised_payment_id();
  ASSERT_FALSE(payment_id.empty());
  // The PSP authorises on its side, then tells Mercato.
  psp_.set_status(payment_id, "authorized");
  json event{{"event_id", "evt-ok-1"}, {"payment_id", payment_id}, {"status", "authorized"}};
  auto first = webhook(event);
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.json()["changed"], true);
  auto res = pending.get();
  ASSERT_EQ(res.status, 201) << res.describe();
  // The same delivery again changes nothing.
  auto again = webhook(event);
  ASSERT_EQ(again.status, 200) << again.describe();
  EXPECT_EQ(again.json()["changed"], false);
  EXPECT_TRUE(settles_to(sku, 8));
  EXPECT_TRUE(eventually([&] { return payments(payment_id).at(payment_id) == "captured"; }, 10s))
    << payments(payment_id).at(payment_id);
  EXPECT_EQ(psp_.count("/capture"), 1u);
}

TEST_F(CheckoutWithPspE2E, ConfirmationAfterTheTimeoutChargesNothing) {
  ASSERT_NO_FATAL_FAILURE(start_with_psp());
  auto sku = stocked_product("psp-late", 1200, 10);
  auto cart = filled_cart(ada_, {{sku, 3}});
  // No confirmation within the payment timeout: the saga compensates and voids.
  auto res = http().request(checkout_request("psp-2", checkout_body(cart), ada_));
  expect_problem(res, 402, "payment_declined");
  auto payment_id = authorised_payment_id();
  ASSERT_FALSE(payment_id.empty());
  EXPECT_TRUE(settles_to(sku, 10));
  EXPECT_EQ(payments(payment_id).at(payment_id), "voided");
  // The PSP's late confirmation is accepted and changes nothing: the payment stays void.
  auto late
    = webhook({{"event_id", "evt-late-1"}, {"payment_id", payment_id}, {"status", "authorized"}});
  EXPECT_EQ(late.status, 200) << late.describe();
  EXPECT_EQ(payments(payment_id).at(payment_id), "voided");
  EXPECT_EQ(psp_.count("/capture"), 0u);
  EXPECT_GE(psp_.count("/void"), 1u);
  EXPECT_TRUE(settles_to(sku, 10));
  auto orders = http().get("/v1/orders", ada_);
  ASSERT_EQ(orders.status, 200) << orders.describe();
  EXPECT_TRUE(orders.json()["items"].empty()) << orders.body;
}

} // namespace
