// End-to-end tests of the checkout's appends: what one checkout writes to the journal, and a
// kill -9 at each point where a write moved (after `started` and the holds, before the order;
// after the order, before the settlement). The real `mercato` binary on a fresh PostgreSQL
// database per test, over HTTP, with the sandbox or a PSP on loopback.

#include "tests/support/e2e_env.hpp"
#include "tests/support/fake_psp.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/shop_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <fstream>
#include <future>
#include <map>
#include <string>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::checkout_body;
using mt::checkout_request;
using mt::eventually;
using json = nlohmann::json;
using namespace std::chrono_literals;

// kind/type -> rows
using append_counts = std::map<std::string, int>;

class CheckoutCrashE2E : public mt::shop_test {
protected:
  void TearDown() override {
    mt::shop_test::TearDown();
    if (!config_path_.empty())
      ::unlink(config_path_.c_str());
  }

  /// Starts with fault injection and `flags`; with `psp`, the http provider on the fake PSP.
  void start_with(std::vector<std::string> flags, bool psp = false) {
    mt::server_options opts;
    opts.fault_injection = true;
    if (psp) {
      config_path_ = "/tmp/mercato-crash-e2e-" + std::to_string(::getpid()) + ".json";
      std::ofstream{config_path_}
        << json{{"payments", {{"webhook_secret", "e2e-crash-psp-secret-0123456789"}}}}.dump();
      opts.extra_args
        = {"--config", config_path_, "--payment-provider", "http", "--psp-url", psp_.url()};
    }
    opts.extra_args.insert(opts.extra_args.end(), flags.begin(), flags.end());
    start(std::move(opts));
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    return tx.exec(sql);
  }

  /// Every journal row so far, counted by "kind/type".
  append_counts appends() {
    append_counts out;
    for (const auto& row : query("SELECT entity_kind || '/' || event_type, count(*)::int "
                                 "FROM journal GROUP BY 1"))
      out[row[0].as<std::string>()] = row[1].as<int>();
    return out;
  }

  /// The event types of one entity, in seq order, comma-separated.
  std::string history(const std::string& kind, const std::string& id) {
    auto rows = query("SELECT string_agg(event_type, ',' ORDER BY seq) FROM journal "
                      "WHERE entity_kind = '"
                      + kind + "' AND entity_id = '" + id + "'");
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }

  json checkout(const std::string& id) {
    auto res = http().get("/v1/checkouts/" + id, ada_);
    return res.status == 200 ? res.json() : json::object();
  }

  mt::fake_psp psp_;
  std::string config_path_;
};

append_counts minus(append_counts after, const append_counts& before) {
  for (const auto& [key, n] : before)
    if ((after[key] -= n) == 0)
      after.erase(key);
  return after;
}

// Every append of one 3-line checkout without a coupon, from the request to the settled sale:
// the cart's claim, `started`, a hold per line, the order (placed confirmed, with the payment's
// authorisation), the customer's feed, a sale per line, the capture, `completed`.
TEST_F(CheckoutCrashE2E, AThreeLineCheckoutMakesTwelveAppends) {
  ASSERT_NO_FATAL_FAILURE(start_with({}));
  auto cart = filled_cart(ada_, {{stocked_product("a", 1000, 5), 1},
                                 {stocked_product("b", 500, 5), 2},
                                 {stocked_product("c", 250, 5), 1}});
  auto before = appends();
  auto res = http().request(checkout_request("count-1", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto id = res.json().at("checkout_id").get<std::string>();
  ASSERT_TRUE(eventually([&] { return history("checkout", id) == "started,completed"; }, 10s))
    << history("checkout", id);
  auto made = minus(appends(), before);
  int total = 0;
  for (const auto& [key, n] : made)
    total += n;
  std::string listing;
  for (const auto& [key, n] : made)
    listing += key + "=" + std::to_string(n) + " ";
  EXPECT_EQ(made, (append_counts{{"cart/checked_out", 1},
                                 {"checkout/started", 1},
                                 {"checkout/completed", 1},
                                 {"customer/order_updated", 1},
                                 {"order/placed", 1},
                                 {"payment/captured", 1},
                                 {"stock/committed", 3},
                                 {"stock/reserved", 3}}))
    << listing;
  EXPECT_EQ(total, 12) << listing;
  // The order starts confirmed: no separate confirmation, and the answer already says so.
  auto order = http().get("/v1/orders/" + res.json().at("order_id").get<std::string>(), ada_);
  EXPECT_EQ(order.json().value("status", ""), "confirmed") << order.describe();
}

// kill -9 while the provider holds the authorisation: `started` and every hold are durable, the
// order is not. The restarted saga finds no order, gives every hold back, voids the payment and
// fails retryably; the same request then buys the units exactly once.
TEST_F(CheckoutCrashE2E, KillNineAfterTheHoldsAndBeforeTheOrderSellsNothingAndCanBeRetried) {
  psp_.answer_authorizations_with("pending");
  ASSERT_NO_FATAL_FAILURE(start_with({"--payment-timeout-ms", "60000"}, true));
  std::vector<std::string> skus{stocked_product("ka", 1000, 5), stocked_product("kb", 500, 5),
                                stocked_product("kc", 250, 5)};
  auto cart = filled_cart(ada_, {{skus[0], 1}, {skus[1], 2}, {skus[2], 1}});
  auto body = checkout_body(cart);
  mt::http_client client{env_->server().host(), env_->server().port()};
  auto pending = std::async(std::launch::async, [&] {
    return client.request(checkout_request("crash-holds", body, ada_));
  });
  // The provider is asked only once `started` and the holds are durable.
  ASSERT_TRUE(eventually([&] { return psp_.count("/v1/payments") >= 1; }, 10s));
  auto started = query("SELECT entity_id FROM journal WHERE entity_kind = 'checkout'");
  ASSERT_EQ(started.size(), 1u);
  auto id = started[0][0].as<std::string>();
  EXPECT_EQ(history("checkout", id), "started");
  EXPECT_EQ(history("order", "ord_" + id.substr(3)), "") << "no order yet";
  EXPECT_EQ(stock(skus[1]).value("reserved", -1), 2);

  env_->server().kill9();
  EXPECT_THROW(pending.get(), std::exception) << "the connection dies with the server";
  psp_.answer_authorizations_with("authorized");
  ASSERT_NO_FATAL_FAILURE(env_->restart());

  ASSERT_TRUE(eventually([&] { return checkout(id).value("status", "") == "failed"; }, 20s))
    << checkout(id).dump();
  auto failed = checkout(id);
  EXPECT_EQ(failed["error"].value("code", ""), "unavailable") << failed.dump();
  EXPECT_EQ(failed["error"].value("retryable", false), true) << failed.dump();
  for (const auto& sku : skus)
    EXPECT_TRUE(eventually([&] { return stock(sku).value("reserved", -1) == 0; }, 10s))
      << stock(sku).dump();
  EXPECT_EQ(stock(skus[1]).value("on_hand", -1), 5) << "nothing sold";
  EXPECT_TRUE(eventually([&] { return psp_.status_of(id) == "voided"; }, 10s))
    << psp_.status_of(id);
  EXPECT_EQ(http().get("/v1/orders/ord_" + id.substr(3), ada_).status, 404);

  // The retry is a new attempt with new ids: one order, the units sold once.
  auto retry = http().request(checkout_request("crash-holds", body, ada_));
  ASSERT_EQ(retry.status, 201) << retry.describe();
  ASSERT_TRUE(eventually(
    [&] {
      return stock(skus[1]).value("on_hand", -1) == 3 && stock(skus[1]).value("reserved", -1) == 0;
    },
    20s))
    << stock(skus[1]).dump();
  EXPECT_EQ(stock(skus[0]).value("on_hand", -1), 4);
  EXPECT_EQ(psp_.status_of(id + "-2"), "captured");
  EXPECT_EQ(query("SELECT DISTINCT entity_id FROM journal WHERE entity_kind = 'order'").size(), 1u);
}

// kill -9 after the 201 and before the settlement: the acknowledged order is intact, and the
// restarted saga sells its holds, captures and completes, each once.
TEST_F(CheckoutCrashE2E, KillNineAfterTheOrderAndBeforeTheSettlementKeepsTheOrderAndSettlesOnce) {
  ASSERT_NO_FATAL_FAILURE(start_with({"--settle-delay-ms", "600000"}));
  std::vector<std::string> skus{stocked_product("sa", 1000, 5), stocked_product("sb", 500, 5),
                                stocked_product("sc", 250, 5)};
  auto cart = filled_cart(ada_, {{skus[0], 1}, {skus[1], 2}, {skus[2], 1}});
  auto res = http().request(checkout_request("crash-settle", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto id = res.json().at("checkout_id").get<std::string>();
  auto order_id = res.json().at("order_id").get<std::string>();
  auto acknowledged = http().get("/v1/orders/" + order_id, ada_).json();
  EXPECT_EQ(acknowledged.value("status", ""), "confirmed");
  EXPECT_EQ(history("checkout", id), "started") << "the order's existence is not journaled twice";
  EXPECT_EQ(history("order", order_id), "placed");
  EXPECT_EQ(stock(skus[1]).value("reserved", -1), 2) << "answered before settling";

  env_->server().kill9();
  env_->server().options().extra_args.push_back("--settle-delay-ms");
  env_->server().options().extra_args.push_back("0");
  ASSERT_NO_FATAL_FAILURE(env_->restart());

  ASSERT_TRUE(eventually([&] { return history("checkout", id) == "started,completed"; }, 20s))
    << history("checkout", id);
  auto order = http().get("/v1/orders/" + order_id, ada_).json();
  EXPECT_EQ(order.value("status", ""), "confirmed");
  EXPECT_EQ(order["lines"], acknowledged["lines"]);
  EXPECT_EQ(order["totals"], acknowledged["totals"]);
  EXPECT_EQ(checkout(id).value("status", ""), "completed");
  std::vector<int64_t> sold{1, 2, 1};
  for (size_t i = 0; i < skus.size(); ++i) {
    auto s = stock(skus[i]);
    EXPECT_EQ(s.value("on_hand", -1), 5 - sold[i]) << s.dump();
    EXPECT_EQ(s.value("reserved", -1), 0) << s.dump();
  }
  EXPECT_EQ(history("payment", id), "captured") << "authorised in the order's record";
  EXPECT_EQ(history("order", order_id), "placed") << "placed confirmed: nothing to add";
}

} // namespace
