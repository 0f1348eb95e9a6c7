#pragma once

// The fixture of end-to-end tests that start from a placed order: a fresh database, a server on
// it once start_server() ran, tokens for an admin and the customer "ada", and the shop steps
// (a stocked product, a filled cart, a checkout) such tests begin with.

#include "tests/support/e2e_env.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mercato::test {

/// A SKU no other test (or earlier run on the same database) uses.
inline std::string unique_sku(const std::string& tag) {
  static std::atomic<int> n{0};
  return "shop-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

inline json shipping_address() {
  return {{"name", "Ada Lovelace"},
          {"line1", "1 Analytical Row"},
          {"city", "London"},
          {"postal_code", "N1 9GU"},
          {"country", "GB"}};
}

/// The body of POST /v1/checkouts for `cart_id`, paid with the sandbox card `token`.
inline json checkout_body(const std::string& cart_id, const std::string& token = "tok_ok") {
  return {{"cart_id", cart_id},
          {"payment", {{"method", "card"}, {"token", token}}},
          {"shipping_address", shipping_address()},
          {"email", "ada@example.com"}};
}

/// POST /v1/checkouts with `body`, under Idempotency-Key `key` (none if empty).
inline http_request checkout_request(const std::string& key, const json& body,
                                     const std::string& token) {
  auto req = json_request("POST", "/v1/checkouts", body, token);
  if (!key.empty())
    req.with_header("Idempotency-Key", key);
  return req;
}

class shop_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << test_database_url_env << " is unset";
    try {
      env_ = std::make_unique<server_env>(*dsn);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    admin_ = env_->token("admin");
    ada_ = mint_token(env_->secret(), "ada", "customer");
  }

  void TearDown() override {
    env_.reset();
  }

  void start(server_options opts) {
    try {
      env_->start(std::move(opts));
    } catch (const std::exception& e) {
      FAIL() << "cannot start mercato: " << e.what();
    }
  }

  void start_server(std::vector<std::string> flags = {},
                    std::optional<int64_t> passivate_after_ms = {}) {
    server_options opts;
    opts.passivate_after_ms = passivate_after_ms;
    opts.extra_args = std::move(flags);
    start(std::move(opts));
  }

  http_client& http() {
    return env_->http();
  }

  /// A product priced `price_minor` USD with `on_hand` units, under a SKU no other test uses.
  std::string stocked_product(const std::string& tag, int64_t price_minor, int64_t on_hand) {
    auto sku = unique_sku(tag);
    auto p = http().put(
      "/v1/products/" + sku,
      {{"name", "Product " + tag}, {"price_minor", price_minor}, {"currency", "USD"}}, admin_);
    EXPECT_EQ(p.status, 201) << p.describe();
    auto s = http().put("/v1/stock/" + sku, {{"on_hand", on_hand}}, admin_);
    EXPECT_EQ(s.status, 200) << s.describe();
    return sku;
  }

  /// GET /v1/stock/{sku}: the stock item's public view (an empty object if not 200).
  json stock(const std::string& sku) {
    auto res = http().get("/v1/stock/" + sku);
    EXPECT_EQ(res.status, 200) << res.describe();
    return res.status == 200 ? res.json() : json::object();
  }

  /// A cart of `token`'s customer holding `lines` (sku, quantity); returns its id.
  std::string filled_cart(const std::string& token,
                          const std::vector<std::pair<std::string, int64_t>>& lines) {
    auto c = http().post("/v1/carts", json::object(), token);
    EXPECT_EQ(c.status, 201) << c.describe();
    auto id = c.json().at("cart_id").get<std::string>();
    for (const auto& [sku, qty] : lines) {
      auto l = http().put("/v1/carts/" + id + "/lines/" + sku, {{"quantity", qty}}, token);
      EXPECT_EQ(l.status, 200) << l.describe();
    }
    return id;
  }

  /// `token`'s order of one unit of a fresh product, placed by a checkout; its id ("" if not).
  std::string place_order(const std::string& token, const std::string& tag = "order") {
    auto cart_id = filled_cart(token, {{stocked_product(tag, 2500, 10), 1}});
    auto res = http().request(checkout_request("shop-" + cart_id, checkout_body(cart_id), token));
    EXPECT_EQ(res.status, 201) << res.describe();
    return res.status == 201 ? res.json().at("order_id").get<std::string>() : "";
  }

  std::unique_ptr<server_env> env_;
  std::string admin_;
  std::string ada_; ///< customer "ada"
};

} // namespace mercato::test
