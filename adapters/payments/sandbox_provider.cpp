#include "adapters/payments/provider.hpp"

#include <algorithm>

namespace mercato::payments {

namespace {

provider_outcome outcome(payment_status status, std::string ref, std::string detail = {}) {
  return provider_outcome{status, std::move(ref), std::move(detail), 0};
}

} // namespace

caf::expected<provider_outcome> sandbox_provider::authorize(const payment_request& req) {
  auto ref = "sbx_" + req.payment_id;
  if (req.token == "tok_ok")
    return outcome(payment_status::authorized, ref);
  if (req.token == "tok_decline")
    return outcome(payment_status::declined, ref, "card declined");
  if (req.token == "tok_slow") {
    auto out = outcome(payment_status::pending, ref);
    out.settle_after_ms = std::max<int64_t>(slow_ms_, 1);
    return out;
  }
  if (req.token == "tok_timeout")
    return outcome(payment_status::pending, ref);
  return outcome(payment_status::declined, ref, "unknown test token");
}

caf::expected<provider_outcome> sandbox_provider::capture(const payment_view& p) {
  return outcome(payment_status::captured, p.provider_ref);
}

caf::expected<provider_outcome> sandbox_provider::void_payment(const payment_view& p) {
  return outcome(payment_status::voided, p.provider_ref);
}

caf::expected<provider_outcome> sandbox_provider::refund(const payment_view& p) {
  return outcome(payment_status::refunded, p.provider_ref);
}

} // namespace mercato::payments
