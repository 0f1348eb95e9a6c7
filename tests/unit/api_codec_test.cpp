#include "api/json/codec.hpp"
#include "api/json/time.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(4102444799999), "2099-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(INT64_MAX), "9999-12-31T23:59:59.999Z");
}
