// End-to-end tests of text the journal cannot store (a NUL character, JSON "\u0000"): the real
// `mercato` binary on a fresh PostgreSQL database refuses it at the edge with a 400 that names
// the field, and nothing changes.

#include "tests/support/shop_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string nul{"\0", 1};

class TextE2E : public mt::shop_test {
protected:
  // Expects a 400 invalid_request whose detail starts with "`field`: ".
  void expect_refused(const mt::http_response& res, const std::string& field) {
    mt::expect_problem(res, 400, "invalid_request");
    if (res.status == 400) {
      EXPECT_EQ(res.json().value("detail", "").rfind(field + ": ", 0), 0u) << res.describe();
    }
  }
};

TEST_F(TextE2E, CheckoutWithNulInTheAddressIsRefusedAndChangesNothing) {
  start_server();
  auto sku = stocked_product("nul", 1500, 4);
  auto cart_id = filled_cart(ada_, {{sku, 2}});
  auto cart_before = http().get("/v1/carts/" + cart_id, ada_).json();
  auto key = "nul-" + cart_id;

  auto body = mt::checkout_body(cart_id);
  body["shipping_address"]["line1"] = "1 Analytical" + nul + " Row";
  auto refused = http().request(mt::checkout_request(key, body, ada_));
  expect_refused(refused, "shipping_address.line1");

  // Nothing reserved, the cart untouched and still open.
  auto s = stock(sku);
  EXPECT_EQ(s.value("reserved", -1), 0) << s.dump();
  EXPECT_EQ(s.value("available", -1), 4) << s.dump();
  auto cart_after = http().get("/v1/carts/" + cart_id, ada_).json();
  EXPECT_EQ(cart_after.at("version"), cart_before.at("version"));
  EXPECT_TRUE(cart_after.at("checkout_id").is_null()) << cart_after.dump();
  EXPECT_EQ(http().get("/v1/orders", ada_).json().at("items").size(), 0u);

  // The same cart checks out with a valid body, even under the same key: the refusal recorded
  // nothing under it.
  auto ok = http().request(mt::checkout_request(key, mt::checkout_body(cart_id), ada_));
  ASSERT_EQ(ok.status, 201) << ok.describe();
  auto order_id = ok.json().at("order_id").get<std::string>();
  auto order = http().get("/v1/orders/" + order_id, ada_);
  ASSERT_EQ(order.status, 200) << order.describe();
  EXPECT_EQ(order.json().at("shipping_address").at("line1"), "1 Analytical Row");
  EXPECT_TRUE(mt::eventually([&] { return stock(sku).value("on_hand", -1) == 2; }, 15s, 50ms));
}

TEST_F(TextE2E, NulInAPartnerFactOrAProductIsRefusedNamingTheField) {
  start_server();
  auto service = env_->token("service");
  auto order_id = place_order(ada_);
  ASSERT_FALSE(order_id.empty());
  auto timeline = [&] {
    return http().get("/v1/orders/" + order_id + "/timeline", service).json().at("events");
  };
  auto events_before = timeline();

  json f = {{"source", "logistics"},
            {"type", "in_transit"},
            {"external_id", "nul-1"},
            {"occurred_at", "2026-01-01T00:00:00Z"},
            {"data", {{"depot", "Leeds" + nul}}}};
  expect_refused(http().post("/v1/orders/" + order_id + "/events", f, service), "data");
  f["order_id"] = order_id;
  auto batch = http().post("/v1/events", json::array({f}), service);
  ASSERT_EQ(batch.status, 207) << batch.describe();
  EXPECT_EQ(batch.json().at("results").at(0).at("status"), 400) << batch.describe();
  EXPECT_EQ(timeline(), events_before);

  auto sku = mt::unique_sku("nul-product");
  json product
    = {{"name", "Mug"}, {"description", "Blue" + nul}, {"price_minor", 100}, {"currency", "USD"}};
  expect_refused(http().put("/v1/products/" + sku, product, admin_), "description");
  EXPECT_EQ(http().get("/v1/products/" + sku).status, 404);
  expect_refused(http().get("/v1/products?q=mug%FF"), "q");
}

} // namespace
