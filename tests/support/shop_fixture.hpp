#pragma once

// The fixture of end-to-end tests that start from a placed order: a fresh database, a server on
// it once start_server() ran, tokens for an admin and the customer "ada", and the shop steps
// (a stocked product, a checkout) such tests begin with.

#include "tests/support/e2e_env.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mercato::test {

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

  void start_server(std::vector<std::string> flags = {},
                    std::optional<int64_t> passivate_after_ms = {}) {
    server_options opts;
    opts.passivate_after_ms = passivate_after_ms;
    opts.extra_args = std::move(flags);
    try {
      env_->start(std::move(opts));
    } catch (const std::exception& e) {
      FAIL() << "cannot start mercato: " << e.what();
    }
  }

  http_client& http() {
    return env_->http();
  }

  /// A product of 25.00 USD with `on_hand` units, under a SKU no other test uses.
  std::string stocked_sku(const std::string& tag, int64_t on_hand) {
    static std::atomic<int> n{0};
    auto sku = "shop-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    auto p = http().put("/v1/products/" + sku,
                        {{"name", "Lamp"}, {"price_minor", 2500}, {"currency", "USD"}}, admin_);
    EXPECT_EQ(p.status, 201) << p.describe();
    auto s = http().put("/v1/stock/" + sku, {{"on_hand", on_hand}}, admin_);
    EXPECT_EQ(s.status, 200) << s.describe();
    return sku;
  }

  /// `token`'s order of one unit of a fresh product, placed by a checkout; its id ("" if not).
  std::string place_order(const std::string& token, const std::string& tag = "order") {
    auto sku = stocked_sku(tag, 10);
    auto c = http().post("/v1/carts", json::object(), token);
    EXPECT_EQ(c.status, 201) << c.describe();
    auto cart_id = c.json().at("cart_id").get<std::string>();
    auto l = http().put("/v1/carts/" + cart_id + "/lines/" + sku, {{"quantity", 1}}, token);
    EXPECT_EQ(l.status, 200) << l.describe();
    json body{{"cart_id", cart_id},
              {"payment", {{"method", "card"}, {"token", "tok_ok"}}},
              {"shipping_address",
               {{"name", "Ada Lovelace"},
                {"line1", "1 Analytical Row"},
                {"city", "London"},
                {"postal_code", "N1 9GU"},
                {"country", "GB"}}},
              {"email", "ada@example.com"}};
    auto req = json_request("POST", "/v1/checkouts", body, token);
    req.with_header("Idempotency-Key", "shop-" + cart_id);
    auto res = http().request(req);
    EXPECT_EQ(res.status, 201) << res.describe();
    return res.status == 201 ? res.json().at("order_id").get<std::string>() : "";
  }

  std::unique_ptr<server_env> env_;
  std::string admin_;
  std::string ada_; ///< customer "ada"
};

} // namespace mercato::test
