// api/json/codec: the request bodies of stock and products, and the product listing's query.
// The first byte picks the parser, the rest is the body (or the raw query string). A refused
// input must give a 400 problem; an accepted product must survive the trip through its own
// JSON unchanged.

#include "api/json/codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <caf/deep_to_string.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace mercato;
using namespace mercato::api;
using mercato::fuzz::check;

namespace {

constexpr std::string_view path_sku = "mug-blue";

void check_validation(const validation& v) {
  if (!v.ok())
    fuzz::check_refusal(v.to_response());
}

void product_round_trip(std::string_view body) {
  product p;
  auto v = parse_product(body, path_sku, p);
  check_validation(v);
  if (!v.ok())
    return;
  check(p.sku == path_sku, "the product takes the path's SKU");
  auto text = to_json(p);
  check(fuzz::is_json(text), "a product renders as JSON");
  product again;
  auto v2 = parse_product(text, path_sku, again);
  check(v2.ok(), "a product's own JSON is accepted as a PUT body");
  check(caf::deep_to_string(p) == caf::deep_to_string(again), "a product survives its JSON");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 5) {
  case 0: {
    stock_set_cmd cmd;
    auto v = parse_stock_set(body, cmd);
    check_validation(v);
    if (v.ok())
      check(cmd.on_hand >= 0 && cmd.on_hand <= limits::max_on_hand, "on_hand within limits");
    break;
  }
  case 1: {
    stock_adjust_cmd cmd;
    auto v = parse_stock_adjust(body, cmd);
    check_validation(v);
    if (v.ok())
      check(cmd.delta != 0 && cmd.delta >= -limits::max_abs_delta
              && cmd.delta <= limits::max_abs_delta && !cmd.reason.empty(),
            "an adjustment within limits");
    break;
  }
  case 2: {
    reserve_cmd cmd;
    auto v = parse_reserve(body, cmd);
    check_validation(v);
    if (v.ok())
      check(is_valid_reservation_id(cmd.reservation_id) && cmd.quantity >= 1
              && cmd.quantity <= limits::max_quantity && cmd.ttl_ms >= 0
              && cmd.ttl_ms <= limits::max_ttl_s * 1000,
            "a reservation within limits");
    break;
  }
  case 3:
    product_round_trip(body);
    break;
  default: {
    product_query q;
    auto v = parse_product_query(body, q);
    check_validation(v);
    if (v.ok())
      check(q.limit >= 1 && q.limit <= limits::max_page && q.cursor.size() <= limits::max_cursor,
            "a product query within limits");
  }
  }
  return 0;
}
