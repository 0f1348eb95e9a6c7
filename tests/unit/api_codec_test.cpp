#include "api/json/codec.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/json/problem.hpp"
#include "runtime/util/time.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>

using namespace mercato;
using namespace mercato::api;
using nlohmann::json;

// -- request-body validation table for the stock commands -------------------------------------

namespace {

enum class command { set, adjust, reserve };

struct body_case {
  const char* label;
  command cmd;
  std::string body;
  const char* field; // nullptr: valid
};

std::ostream& operator<<(std::ostream& os, const body_case& c) {
  return os << c.label;
}

validation run(const body_case& c) {
  switch (c.cmd) {
  case command::set: {
    stock_set_cmd out;
    return parse_stock_set(c.body, out);
  }
  case command::adjust: {
    stock_adjust_cmd out;
    return parse_stock_adjust(c.body, out);
  }
  case command::reserve: {
    reserve_cmd out;
    return parse_reserve(c.body, out);
  }
  }
  return {};
}

std::string nested(int depth) {
  return std::string(static_cast<size_t>(depth), '[')
         + std::string(static_cast<size_t>(depth), ']');
}

class StockBody : public ::testing::TestWithParam<body_case> {};

} // namespace

TEST_P(StockBody, IsValidatedPerField) {
  const auto& c = GetParam();
  auto v = run(c);
  if (c.field == nullptr) {
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.errors.front().field + ": " + v.errors.front().message);
    return;
  }
  ASSERT_FALSE(v.ok()) << "accepted " << c.body;
  bool found = false;
  for (auto& e : v.errors)
    found = found || e.field == c.field;
  EXPECT_TRUE(found) << "no error for " << c.field << "; first: " << v.errors.front().field;
  auto res = v.to_response();
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.prob.code, "invalid_request");
  EXPECT_EQ(res.prob.detail.rfind(v.errors.front().field + ": ", 0), 0u) << res.prob.detail;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Table, StockBody, ::testing::Values(
  // PUT /v1/stock/{sku}
  body_case{"set_zero", command::set, R"({"on_hand":0})", nullptr},
  body_case{"set_max", command::set, R"({"on_hand":1000000000})", nullptr},
  body_case{"set_unknown_field_ignored", command::set, R"({"on_hand":5,"note":"x"})", nullptr},
  body_case{"set_negative", command::set, R"({"on_hand":-1})", "on_hand"},
  body_case{"set_absurd", command::set, R"({"on_hand":1000000001})", "on_hand"},
  body_case{"set_huge", command::set, R"({"on_hand":18446744073709551615})", "on_hand"},
  body_case{"set_beyond_u64", command::set, R"({"on_hand":1e30})", "on_hand"},
  body_case{"set_float", command::set, R"({"on_hand":1.5})", "on_hand"},
  body_case{"set_float_integral", command::set, R"({"on_hand":1.0})", "on_hand"},
  body_case{"set_string", command::set, R"({"on_hand":"5"})", "on_hand"},
  body_case{"set_bool", command::set, R"({"on_hand":true})", "on_hand"},
  body_case{"set_null", command::set, R"({"on_hand":null})", "on_hand"},
  body_case{"set_missing", command::set, R"({})", "on_hand"},
  body_case{"set_empty_body", command::set, "", "body"},
  body_case{"set_malformed", command::set, R"({"on_hand":)", "body"},
  body_case{"set_trailing_garbage", command::set, R"({"on_hand":1} x)", "body"},
  body_case{"set_array", command::set, R"([1])", "body"},
  body_case{"set_null_body", command::set, "null", "body"},
  body_case{"set_deep", command::set, nested(10000), "body"},
  // POST /v1/stock/{sku}/adjustments
  body_case{"adjust_up", command::adjust, R"({"delta":5,"reason":"recount"})", nullptr},
  body_case{"adjust_down_max", command::adjust, R"({"delta":-1000000000,"reason":"loss"})", nullptr},
  body_case{"adjust_zero", command::adjust, R"({"delta":0,"reason":"x"})", "delta"},
  body_case{"adjust_absurd", command::adjust, R"({"delta":1000000001,"reason":"x"})", "delta"},
  body_case{"adjust_absurd_negative", command::adjust, R"({"delta":-1000000001,"reason":"x"})", "delta"},
  body_case{"adjust_missing_delta", command::adjust, R"({"reason":"x"})", "delta"},
  body_case{"adjust_missing_reason", command::adjust, R"({"delta":1})", "reason"},
  body_case{"adjust_empty_reason", command::adjust, R"({"delta":1,"reason":""})", "reason"},
  body_case{"adjust_reason_type", command::adjust, R"({"delta":1,"reason":7})", "reason"},
  body_case{"adjust_reason_long", command::adjust, "{\"delta\":1,\"reason\":\"" + std::string(501, 'x') + "\"}", "reason"},
  body_case{"adjust_reason_control", command::adjust, R"({"delta":1,"reason":"a\u0000b"})", "reason"},
  // POST /v1/stock/{sku}/reservations
  body_case{"reserve_ok", command::reserve, R"({"reservation_id":"r-1","quantity":1})", nullptr},
  body_case{"reserve_ttl", command::reserve, R"({"reservation_id":"o:1.a_b-c","quantity":1000000,"ttl_s":604800})", nullptr},
  body_case{"reserve_ttl_null", command::reserve, R"({"reservation_id":"r","quantity":1,"ttl_s":null})", nullptr},
  body_case{"reserve_unknown_field", command::reserve, R"({"reservation_id":"r","quantity":1,"extra":{"a":[1]}})", nullptr},
  body_case{"reserve_qty_zero", command::reserve, R"({"reservation_id":"r","quantity":0})", "quantity"},
  body_case{"reserve_qty_negative", command::reserve, R"({"reservation_id":"r","quantity":-5})", "quantity"},
  body_case{"reserve_qty_absurd", command::reserve, R"({"reservation_id":"r","quantity":1000001})", "quantity"},
  body_case{"reserve_qty_float", command::reserve, R"({"reservation_id":"r","quantity":2.5})", "quantity"},
  body_case{"reserve_qty_string", command::reserve, R"({"reservation_id":"r","quantity":"2"})", "quantity"},
  body_case{"reserve_qty_missing", command::reserve, R"({"reservation_id":"r"})", "quantity"},
  body_case{"reserve_id_missing", command::reserve, R"({"quantity":1})", "reservation_id"},
  body_case{"reserve_id_empty", command::reserve, R"({"reservation_id":"","quantity":1})", "reservation_id"},
  body_case{"reserve_id_space", command::reserve, R"({"reservation_id":"a b","quantity":1})", "reservation_id"},
  body_case{"reserve_id_slash", command::reserve, R"({"reservation_id":"a/b","quantity":1})", "reservation_id"},
  body_case{"reserve_id_unicode", command::reserve, R"({"reservation_id":"r\u00e9","quantity":1})", "reservation_id"},
  body_case{"reserve_id_number", command::reserve, R"({"reservation_id":5,"quantity":1})", "reservation_id"},
  body_case{"reserve_id_long", command::reserve, "{\"reservation_id\":\"" + std::string(129, 'r') + "\",\"quantity\":1}", "reservation_id"},
  body_case{"reserve_id_max", command::reserve, "{\"reservation_id\":\"" + std::string(128, 'r') + "\",\"quantity\":1}", nullptr},
  body_case{"reserve_ttl_zero", command::reserve, R"({"reservation_id":"r","quantity":1,"ttl_s":0})", "ttl_s"},
  body_case{"reserve_ttl_absurd", command::reserve, R"({"reservation_id":"r","quantity":1,"ttl_s":604801})", "ttl_s"},
  body_case{"reserve_ttl_string", command::reserve, R"({"reservation_id":"r","quantity":1,"ttl_s":"60"})", "ttl_s"},
  body_case{"reserve_invalid_utf8", command::reserve, "{\"reservation_id\":\"\xff\",\"quantity\":1}", "body"},
  body_case{"reserve_string_body", command::reserve, R"("hello")", "body"}
), [](const ::testing::TestParamInfo<body_case>& info) { return std::string{info.param.label}; });
// clang-format on

TEST(ReserveBody, FillsCommand) {
  reserve_cmd cmd;
  ASSERT_TRUE(parse_reserve(R"({"reservation_id":"r-1","quantity":3,"ttl_s":60})", cmd).ok());
  EXPECT_EQ(cmd.reservation_id, "r-1");
  EXPECT_EQ(cmd.quantity, 3);
  EXPECT_EQ(cmd.ttl_ms, 60000);
  ASSERT_TRUE(parse_reserve(R"({"reservation_id":"r-1","quantity":3})", cmd).ok());
  EXPECT_EQ(cmd.ttl_ms, 0); // the entity's default
}

TEST(ReserveBody, HonoursConfiguredTtlCap) {
  reserve_cmd cmd;
  EXPECT_FALSE(parse_reserve(R"({"reservation_id":"r","quantity":1,"ttl_s":61})", cmd, 60).ok());
  EXPECT_TRUE(parse_reserve(R"({"reservation_id":"r","quantity":1,"ttl_s":60})", cmd, 60).ok());
}

TEST(ReserveBody, ReportsEveryBadField) {
  reserve_cmd cmd;
  auto v = parse_reserve(R"({"reservation_id":"","quantity":0,"ttl_s":-1})", cmd);
  ASSERT_EQ(v.errors.size(), 3u);
  auto res = v.to_response();
  EXPECT_NE(res.prob.detail.find("and 2 more"), std::string::npos);
}

TEST(AdjustBody, FillsCommand) {
  stock_adjust_cmd cmd;
  ASSERT_TRUE(parse_stock_adjust(R"({"delta":-3,"reason":"damaged"})", cmd).ok());
  EXPECT_EQ(cmd.delta, -3);
  EXPECT_EQ(cmd.reason, "damaged");
}

// -- products ----------------------------------------------------------------------------------

TEST(ProductBody, AcceptsFullAndMinimalProducts) {
  product p;
  ASSERT_TRUE(parse_product(R"({"name":"Mug","description":"Blue\nmug","category":"kitchen",
      "seller_id":"s-1","price_minor":1999,"currency":"USD","created_at":"ignored"})",
                            "MUG-1", p)
                .ok());
  EXPECT_EQ(p.sku, "MUG-1");
  EXPECT_EQ(p.name, "Mug");
  EXPECT_EQ(p.description, "Blue\nmug");
  EXPECT_EQ(p.price_minor, 1999);
  EXPECT_EQ(p.currency, "USD");
  product q;
  EXPECT_TRUE(parse_product(R"({"name":"x","price_minor":0,"currency":"EUR"})", "X", q).ok());
}

TEST(ProductBody, AcceptsItsOwnJson) {
  // What GET answers can be PUT back: a product without a seller renders "seller_id":"".
  product p;
  ASSERT_TRUE(
    parse_product(R"({"name":"Mug","price_minor":1250,"currency":"USD"})", "MUG", p).ok());
  product again;
  auto v = parse_product(to_json(p), "MUG", again);
  ASSERT_TRUE(v.ok()) << v.errors.front().field << ": " << v.errors.front().message;
  EXPECT_EQ(again.seller_id, "");
  EXPECT_EQ(again.name, "Mug");
  EXPECT_EQ(again.price_minor, 1250);
}

TEST(ProductBody, RejectsBadFields) {
  struct c {
    std::string body;
    const char* field;
  };
  for (auto& [body, field] : std::initializer_list<c>{
         {R"({"price_minor":1,"currency":"USD"})", "name"},
         {R"({"name":"","price_minor":1,"currency":"USD"})", "name"},
         {"{\"name\":\"" + std::string(201, 'n') + "\",\"price_minor\":1,\"currency\":\"USD\"}",
          "name"},
         {R"({"name":"a\tb","price_minor":1,"currency":"USD"})", "name"},
         {R"({"name":"x","price_minor":-1,"currency":"USD"})", "price_minor"},
         {R"({"name":"x","price_minor":1000000000001,"currency":"USD"})", "price_minor"},
         {R"({"name":"x","price_minor":"1","currency":"USD"})", "price_minor"},
         {R"({"name":"x","currency":"USD"})", "price_minor"},
         {R"({"name":"x","price_minor":1,"currency":"usd"})", "currency"},
         {R"({"name":"x","price_minor":1,"currency":"USDT"})", "currency"},
         {R"({"name":"x","price_minor":1})", "currency"},
         {"{\"name\":\"x\",\"description\":\"" + std::string(5001, 'd')
            + "\",\"price_minor\":1,\"currency\":\"USD\"}",
          "description"},
         {R"({"name":"x","seller_id":"a b","price_minor":1,"currency":"USD"})", "seller_id"},
         {R"({"name":"x","category":7,"price_minor":1,"currency":"USD"})", "category"},
         {R"({"sku":"OTHER","name":"x","price_minor":1,"currency":"USD"})", "sku"},
       }) {
    product p;
    auto v = parse_product(body, "SKU", p);
    ASSERT_FALSE(v.ok()) << body;
    EXPECT_EQ(v.errors.front().field, field) << body;
  }
}

TEST(ProductBody, CountsCodePointsNotBytes) {
  product p;
  std::string name;
  for (int i = 0; i < 200; ++i)
    name += "\xc3\xa9"; // é, 2 bytes
  EXPECT_TRUE(
    parse_product("{\"name\":\"" + name + "\",\"price_minor\":1,\"currency\":\"EUR\"}", "S", p)
      .ok());
}

TEST(ProblemBody, StaysJsonWhenTheRequestIsNotUtf8) {
  // The parser's message quotes the bytes it stopped at; the problem must still be UTF-8 JSON.
  int64_t quantity = 0;
  auto v = parse_cart_line("{\"quantity\":\"exam\x9fple\"}", quantity);
  ASSERT_FALSE(v.ok());
  auto res = v.to_response();
  auto body = render_problem(res.prob, res.status, "rid-1");
  ASSERT_TRUE(json::accept(body)) << body;
  EXPECT_EQ(json::parse(body)["status"], 400);
}

TEST(ProblemBody, RefusesNumbersBeyondADouble) {
  // nlohmann throws out_of_range, not parse_error, for these: still a 400 on "body".
  int64_t quantity = 0;
  for (auto body : {R"({"quantity":1e400})", R"({"quantity":-1e999,"x":1})", "1E400"}) {
    auto v = parse_cart_line(body, quantity);
    ASSERT_FALSE(v.ok()) << body;
    EXPECT_EQ(v.errors.front().field, "body") << body;
  }
  stock_set_cmd set;
  EXPECT_FALSE(parse_stock_set(R"({"on_hand":1e400})", set).ok());
}

TEST(ProductQuery, ParsesAndDecodes) {
  product_query q;
  ASSERT_TRUE(
    parse_product_query("q=blue+mug%21&category=kitchen&limit=50&cursor=abc&x=1", q).ok());
  EXPECT_EQ(q.q, "blue mug!");
  EXPECT_EQ(q.category, "kitchen");
  EXPECT_EQ(q.limit, 50);
  EXPECT_EQ(q.cursor, "abc");
  ASSERT_TRUE(parse_product_query("", q).ok());
  EXPECT_EQ(q.limit, 20);
  EXPECT_TRUE(q.q.empty());
}

TEST(ProductQuery, RejectsBadLimit) {
  product_query q;
  for (auto s : {"limit=0", "limit=101", "limit=abc", "limit=", "limit=5x", "limit=-1"}) {
    auto v = parse_product_query(s, q);
    ASSERT_FALSE(v.ok()) << s;
    EXPECT_EQ(v.errors.front().field, "limit");
  }
  EXPECT_FALSE(parse_product_query("q=%zz", q).ok());
  EXPECT_FALSE(parse_product_query("cursor=" + std::string(600, 'c'), q).ok());
}

// -- identifiers -------------------------------------------------------------------------------

TEST(Identifiers, ValidatesSku) {
  EXPECT_TRUE(is_valid_sku("ABC-123_x.y"));
  EXPECT_TRUE(is_valid_sku(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_sku(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_sku(""));
  EXPECT_FALSE(is_valid_sku("a:b"));
  EXPECT_FALSE(is_valid_sku("a b"));
  EXPECT_FALSE(is_valid_sku("a%20"));
}

TEST(Identifiers, ValidatesReservationId) {
  EXPECT_TRUE(is_valid_reservation_id("order:42.line-1_a"));
  EXPECT_FALSE(is_valid_reservation_id(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_reservation_id("a/b"));
}

// -- responses ---------------------------------------------------------------------------------

TEST(Encode, StockView) {
  stock_view v{"SKU-1", 10, 3, 7, 42};
  EXPECT_EQ(to_json(v), R"({"sku":"SKU-1","on_hand":10,"reserved":3,"available":7,"version":42})");
}

TEST(Encode, ReservationViewWithMilliseconds) {
  reservation_view v{"r-1", "SKU-1", 2, 1700000000123};
  EXPECT_EQ(to_json(v), R"({"reservation_id":"r-1","sku":"SKU-1","quantity":2,)"
                        R"("expires_at":"2023-11-14T22:13:20.123Z"})");
}

TEST(Encode, ProductEscapesText) {
  product p;
  p.sku = "S";
  p.name = "Quote \" back \\ tab \t ctl \x01 é";
  p.price_minor = 5;
  p.currency = "USD";
  p.version = 3;
  auto doc = json::parse(to_json(p));
  EXPECT_EQ(doc["name"], p.name);
  EXPECT_EQ(doc["created_at"], "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(doc["version"], 3);
  for (auto key : {"sku", "name", "description", "category", "seller_id", "price_minor", "currency",
                   "created_at", "updated_at", "version"})
    EXPECT_TRUE(doc.contains(key)) << key;
}

TEST(Encode, ProductPageNullCursorOnLastPage) {
  product_page page;
  page.items.resize(2);
  auto doc = json::parse(to_json(page));
  EXPECT_EQ(doc["items"].size(), 2u);
  EXPECT_TRUE(doc["next_cursor"].is_null());
  page.next_cursor = "c2";
  EXPECT_EQ(json::parse(to_json(page))["next_cursor"], "c2");
}

TEST(Encode, OrderForAPartnerLeavesOutPersonalData) {
  order_view v;
  v.version = 4;
  auto& p = v.order.placement;
  p.order_id = "o-1";
  p.customer_id = "ada";
  p.lines = {cart_line{"SKU-1", "Mug", 2, 500}};
  p.ship_to = {"Ada Lovelace", "1 Analytical Row", "London", "N1 9GU", "GB", "+44 20 7946 0000"};
  p.email = "ada@example.com";
  v.order.status = "cancelled";
  v.order.cancel_reason = "moving house, sorry";
  auto full = json::parse(to_json(v));
  EXPECT_EQ(full.at("cancel_reason"), "moving house, sorry");
  EXPECT_EQ(full.at("shipping_address").at("line1"), "1 Analytical Row");
  EXPECT_EQ(full.at("shipping_address").at("phone"), "+44 20 7946 0000");
  EXPECT_EQ(full.at("email"), "ada@example.com");

  auto text = to_json(v, order_audience::partner);
  for (const auto& s : {p.ship_to.name, p.ship_to.line1, p.ship_to.city, p.ship_to.postal_code,
                        p.ship_to.phone, p.email, v.order.cancel_reason})
    EXPECT_EQ(text.find(s), std::string::npos) << s << " in " << text;
  auto partner = json::parse(text);
  EXPECT_FALSE(partner.contains("shipping_address"));
  EXPECT_FALSE(partner.contains("email"));
  EXPECT_FALSE(partner.contains("cancel_reason"));
  // Everything else stays as the full view has it.
  full.erase("shipping_address");
  full.erase("email");
  full.erase("cancel_reason");
  EXPECT_EQ(partner, full);
}

// -- text the journal cannot store ---------------------------------------------------------------
// A NUL character (JSON "\u0000") or invalid UTF-8 in a field that reaches an entity, the journal
// or the database is refused by the decoder, naming the field, so that it never fails a journal
// batch (a retryable 503) later.

namespace mercato::api {
// Defined in api/routes/payment_routes.cpp.
validation parse_payment_webhook(std::string_view text, payment_confirmation& out);
} // namespace mercato::api

namespace {

const std::string nul{"a\0b", 3};

// `before`, a NUL character, then `after`.
std::string with_nul(std::string before, std::string_view after = {}) {
  before.push_back('\0');
  before += after;
  return before;
}

struct text_case {
  const char* label;
  std::function<validation()> decode;
  const char* field; // nullptr: valid
};

std::ostream& operator<<(std::ostream& os, const text_case& c) {
  return os << c.label;
}

json checkout_json() {
  return {{"cart_id", "c-1"},
          {"payment", {{"method", "card"}, {"token", "tok_ok"}}},
          {"shipping_address",
           {{"name", "Ada"},
            {"line1", "1 Row"},
            {"city", "London"},
            {"postal_code", "N1"},
            {"country", "GB"},
            {"phone", "+44 1"}}},
          {"email", "ada@example.com"}};
}

// `body` with `value` at `path` (a JSON pointer; "" leaves it whole).
json with_member(json body, const std::string& path, const json& value) {
  if (!path.empty())
    body[json::json_pointer{path}] = value;
  return body;
}

// The checkout body with `value` at `path` (a JSON pointer).
std::function<validation()> checkout_with(const char* path, const std::string& value) {
  return [path, value] {
    checkout_cmd out;
    return parse_checkout(with_member(checkout_json(), path, value).dump(), out);
  };
}

json product_json() {
  return {{"name", "Mug"},      {"description", "Blue"}, {"category", "kitchen"},
          {"seller_id", "s-1"}, {"price_minor", 1},      {"currency", "USD"}};
}

std::function<validation()> product_with(const char* field, const std::string& value) {
  return [field, value] {
    product out;
    auto path = *field == '\0' ? std::string{} : "/" + std::string{field};
    return parse_product(with_member(product_json(), path, value).dump(), "SKU-1", out);
  };
}

json fact_json() {
  return {{"source", "logistics"},
          {"type", "in_transit"},
          {"external_id", "x-1"},
          {"occurred_at", "2026-01-01T00:00:00Z"},
          {"data", {{"carrier", "DHL"}, {"stops", {"Leeds", {{"hub", "York"}}}}}}};
}

std::function<validation()> fact_with(const char* path, const json& value) {
  return [path, value] {
    order_fact_cmd out;
    return parse_order_fact(with_member(fact_json(), path, value).dump(), out);
  };
}

template <class Query>
std::function<validation()> query(validation (*parse)(std::string_view, Query&), std::string q) {
  return [parse, q] {
    Query out;
    return parse(q, out);
  };
}

std::function<validation()> webhook_with(const char* field, const std::string& value) {
  return [field, value] {
    json body = {{"event_id", "ev-1"},
                 {"payment_id", "pay-1"},
                 {"status", "authorized"},
                 {"provider_ref", "psp-1"},
                 {"detail", "ok"}};
    if (*field != '\0')
      body[field] = value;
    payment_confirmation out;
    return parse_payment_webhook(body.dump(), out);
  };
}

class StorableText : public ::testing::TestWithParam<text_case> {};

} // namespace

TEST_P(StorableText, IsRequiredOfEveryTextField) {
  const auto& c = GetParam();
  auto v = c.decode();
  if (c.field == nullptr) {
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.errors.front().field + ": " + v.errors.front().message);
    return;
  }
  ASSERT_FALSE(v.ok()) << "accepted";
  EXPECT_EQ(v.errors.front().field, c.field) << v.errors.front().message;
  auto res = v.to_response();
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.prob.code, "invalid_request");
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Table, StorableText, ::testing::Values(
  // POST /v1/carts, PUT /v1/carts/{id}/coupon, PUT /v1/coupons/{code}
  text_case{"cart_currency", [] { std::string c; return parse_cart_create(json{{"currency", nul}}.dump(), c); }, "currency"},
  text_case{"coupon_code", [] { std::string c; return parse_coupon_code(json{{"code", nul}}.dump(), c); }, "code"},
  text_case{"coupon_path_code", [] { coupon_terms t; return parse_coupon(R"({"kind":"fixed","value":1})", nul, t); }, "code"},
  text_case{"coupon_kind", [] { coupon_terms t; return parse_coupon(json{{"kind", nul}, {"value", 1}}.dump(), "C", t); }, "kind"},
  // POST /v1/checkouts
  text_case{"checkout_valid", checkout_with("", ""), nullptr},
  text_case{"checkout_valid_unicode", checkout_with("/shipping_address/line1", "1 Rue de l'\xc3\x89glise"), nullptr},
  text_case{"checkout_cart_id", checkout_with("/cart_id", nul), "cart_id"},
  text_case{"checkout_method", checkout_with("/payment/method", nul), "payment.method"},
  text_case{"checkout_token", checkout_with("/payment/token", nul), "payment.token"},
  text_case{"checkout_name", checkout_with("/shipping_address/name", nul), "shipping_address.name"},
  text_case{"checkout_line1", checkout_with("/shipping_address/line1", nul), "shipping_address.line1"},
  text_case{"checkout_city", checkout_with("/shipping_address/city", nul), "shipping_address.city"},
  text_case{"checkout_postal_code", checkout_with("/shipping_address/postal_code", nul), "shipping_address.postal_code"},
  text_case{"checkout_country", checkout_with("/shipping_address/country", with_nul("G")), "shipping_address.country"},
  text_case{"checkout_phone", checkout_with("/shipping_address/phone", nul), "shipping_address.phone"},
  text_case{"checkout_email", checkout_with("/email", with_nul("a", "@example.com")), "email"},
  text_case{"checkout_invalid_utf8", [] { checkout_cmd c; return parse_checkout("{\"cart_id\":\"\xff\"}", c); }, "body"},
  // PUT /v1/products/{sku}, GET /v1/products
  text_case{"product_valid", product_with("", ""), nullptr},
  text_case{"product_description_newline", product_with("description", "Blue\nmug"), nullptr},
  text_case{"product_name", product_with("name", nul), "name"},
  text_case{"product_description", product_with("description", nul), "description"},
  text_case{"product_category", product_with("category", nul), "category"},
  text_case{"product_seller_id", product_with("seller_id", nul), "seller_id"},
  text_case{"product_currency", product_with("currency", with_nul("US")), "currency"},
  text_case{"product_query_valid", query(parse_product_query, "q=caf%C3%A9&category=k%C3%BCche"), nullptr},
  text_case{"product_query_q_nul", query(parse_product_query, "q=a%00b"), "q"},
  text_case{"product_query_q_utf8", query(parse_product_query, "q=a%FFb"), "q"},
  text_case{"product_query_q_overlong", query(parse_product_query, "q=%C0%AF"), "q"},
  text_case{"product_query_category_truncated", query(parse_product_query, "category=%C3"), "category"},
  text_case{"product_query_cursor_nul", query(parse_product_query, "cursor=a%00"), "cursor"},
  text_case{"product_query_cursor_utf8", query(parse_product_query, "cursor=%FF"), "cursor"},
  // GET /v1/orders
  text_case{"order_query_status", query(parse_order_query, "status=paid%00"), "status"},
  text_case{"order_query_customer", query(parse_order_query, "customer_id=ada%00"), "customer_id"},
  text_case{"order_query_cursor", query(parse_order_query, "cursor=%ED%A0%80"), "cursor"},
  // POST /v1/orders/{id}/events, POST /v1/events, POST /v1/orders/{id}/cancel
  text_case{"fact_valid", fact_with("", nullptr), nullptr},
  text_case{"fact_source", fact_with("/source", nul), "source"},
  text_case{"fact_type", fact_with("/type", nul), "type"},
  text_case{"fact_external_id", fact_with("/external_id", nul), "external_id"},
  text_case{"fact_occurred_at", fact_with("/occurred_at", with_nul("2026-01-01T00:00:00Z")), "occurred_at"},
  text_case{"fact_data_value", fact_with("/data/carrier", nul), "data"},
  text_case{"fact_data_key", fact_with("/data", json{{nul, 1}}), "data"},
  text_case{"fact_data_nested", fact_with("/data/stops/1/hub", nul), "data"},
  text_case{"cancel_reason", [] { std::string r; return parse_cancel(json{{"reason", nul}}.dump(), r); }, "reason"},
  // PUT /v1/stock/{sku}/..., POST /v1/stock/{sku}/reservations
  text_case{"adjust_reason", [] { stock_adjust_cmd c; return parse_stock_adjust(json{{"delta", 1}, {"reason", nul}}.dump(), c); }, "reason"},
  text_case{"reserve_id", [] { reserve_cmd c; return parse_reserve(json{{"reservation_id", nul}, {"quantity", 1}}.dump(), c); }, "reservation_id"},
  // POST /v1/payments/webhook
  text_case{"webhook_valid", webhook_with("", ""), nullptr},
  text_case{"webhook_event_id", webhook_with("event_id", nul), "event_id"},
  text_case{"webhook_payment_id", webhook_with("payment_id", nul), "payment_id"},
  text_case{"webhook_provider_ref", webhook_with("provider_ref", nul), "provider_ref"},
  text_case{"webhook_detail", webhook_with("detail", nul), "detail"}
));
// clang-format on

TEST(PathIdentifiers, RefuseNul) {
  EXPECT_FALSE(is_valid_sku(nul));
  EXPECT_FALSE(is_valid_entity_id(nul));
  EXPECT_FALSE(is_valid_reservation_id(nul));
  EXPECT_FALSE(is_valid_idempotency_key(nul));
}
