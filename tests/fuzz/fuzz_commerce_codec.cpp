// api/json/commerce_codec (carts, coupons, checkouts, partner facts, cancellations, the order
// listing's query) and the payment webhook's body. The first byte picks the parser, the rest is
// the body or the raw query string. A refused input must give a 400 problem; a coupon must
// survive the trip through its own JSON; a checkout's digest must not depend on how its JSON is
// laid out.

#include "api/json/commerce_codec.hpp"
#include "runtime/util/text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <caf/deep_to_string.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mercato::api {
// routes/payment_routes.cpp, exposed for tests.
validation parse_payment_webhook(std::string_view text, payment_confirmation& out);
} // namespace mercato::api

using namespace mercato;
using namespace mercato::api;
using mercato::fuzz::check;

namespace {

void check_validation(const validation& v) {
  if (!v.ok())
    fuzz::check_refusal(v.to_response());
}

void coupon_round_trip(std::string_view body) {
  coupon_view c;
  auto v = parse_coupon(body, "WELCOME10", c.terms);
  check_validation(v);
  if (!v.ok())
    return;
  auto text = to_json(c);
  check(fuzz::is_json(text), "a coupon renders as JSON");
  coupon_terms again;
  auto v2 = parse_coupon(text, "WELCOME10", again);
  check(v2.ok(), "a coupon's own JSON is accepted as a PUT body");
  check(caf::deep_to_string(c.terms) == caf::deep_to_string(again), "a coupon survives its JSON");
}

void checkout_digest(std::string_view body) {
  checkout_cmd cmd;
  auto v = parse_checkout(body, cmd);
  check_validation(v);
  if (!v.ok())
    return;
  check(cmd.body_digest.size() == 64, "a checkout has a SHA-256 digest");
  // The same request laid out another way is the same request.
  auto pretty = nlohmann::json::parse(body.begin(), body.end()).dump(2);
  checkout_cmd again;
  check(parse_checkout(pretty, again).ok(), "a re-indented checkout is accepted");
  check(again.body_digest == cmd.body_digest, "the digest ignores the JSON's layout");
}

void order_fact(std::string_view body) {
  order_fact_cmd cmd;
  auto v = parse_order_fact(body, cmd);
  check_validation(v);
  if (!v.ok())
    return;
  check(cmd.data.empty() || fuzz::is_json(cmd.data), "a fact's data is JSON");
  check(cmd.data.size() <= commerce_limits::max_fact_data, "a fact's data within limits");
  check(cmd.type != "eta_updated" || cmd.eta_ms != 0, "eta_updated carries an eta");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 9) {
  case 0: {
    std::string currency;
    auto v = parse_cart_create(body, currency);
    check_validation(v);
    if (v.ok())
      check(currency.size() == 3, "a cart's currency has three letters");
    break;
  }
  case 1: {
    int64_t quantity = -1;
    auto v = parse_cart_line(body, quantity);
    check_validation(v);
    if (v.ok())
      check(quantity >= 0 && quantity <= commerce_limits::max_line_quantity,
            "a line quantity within limits");
    break;
  }
  case 2: {
    std::string code;
    auto v = parse_coupon_code(body, code);
    check_validation(v);
    if (v.ok())
      check(!code.empty() && code.size() <= commerce_limits::max_coupon_code, "a coupon code");
    break;
  }
  case 3:
    coupon_round_trip(body);
    break;
  case 4:
    checkout_digest(body);
    break;
  case 5:
    order_fact(body);
    break;
  case 6: {
    std::string reason;
    auto v = parse_cancel(body, reason);
    check_validation(v);
    if (v.ok())
      check(util::is_storable_text(reason), "a cancel reason is storable");
    break;
  }
  case 7: {
    order_query q;
    auto v = parse_order_query(body, q);
    check_validation(v);
    if (v.ok())
      check(q.limit >= 1 && q.limit <= limits::max_page, "an order query within limits");
    break;
  }
  default: {
    payment_confirmation c;
    auto v = parse_payment_webhook(body, c);
    check_validation(v);
    if (v.ok())
      check(!c.event_id.empty() && !c.payment_id.empty() && c.amount_minor >= 0,
            "a webhook names its event and payment");
  }
  }
  return 0;
}
