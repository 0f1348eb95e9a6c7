// adapters/marketplaces: the TikTok Shop, Shopee and Lazada importers, from a body of native
// order payloads to imported orders. The first byte picks the platform (and, for Lazada, whether
// the shop has a currency); the rest is the body. Every record must be either imported or
// rejected with a code; an imported order must have an id the API accepts, an ISO 4217 currency,
// lines whose totals do not overflow, and storable text.

#include "adapters/marketplaces/importer.hpp"
#include "runtime/util/text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

using namespace mercato;
using namespace mercato::marketplaces;
using mercato::fuzz::check;

namespace {

bool is_entity_id(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
          || c == '_' || c == '-'))
      return false;
  return true;
}

bool is_currency(std::string_view s) {
  return s.size() == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A'
         && s[2] <= 'Z';
}

void check_order(sales_platform platform, const imported_order& o) {
  check(o.platform == platform, "an order keeps its platform");
  check(is_entity_id(o.order_id), "an imported order's id is a valid entity id");
  check(o.order_id == marketplace_order_id(platform, o.order_code), "the order id is derived");
  check(is_currency(o.currency), "an imported order's currency is an ISO 4217 code");
  // Lazada's order list carries no items: only its orders may come without lines.
  check(!o.lines.empty() || platform == sales_platform::lazada, "an imported order has lines");
  int64_t total = 0;
  for (const auto& l : o.lines) {
    int64_t line_total = 0;
    check(l.quantity >= 1 && l.unit_price_minor >= 0, "a line has units and a price");
    check(!__builtin_mul_overflow(l.quantity, l.unit_price_minor, &line_total)
            && !__builtin_add_overflow(total, line_total, &total),
          "line totals do not overflow");
    check(util::is_storable_text(l.sku) && util::is_storable_text(l.name), "a line is storable");
  }
  check(o.gross_minor >= 0 && o.seller_discount_minor >= 0 && o.platform_discount_minor >= 0
          && o.shipping_minor >= 0 && o.final_minor >= 0,
        "amounts are not negative");
  check(o.order_date_ms > 0 && o.updated_at_ms >= o.order_date_ms, "times are in order");
  check(util::is_storable_text(o.order_code) && util::is_storable_text(o.customer_id)
          && util::is_storable_text(o.customer_name) && util::is_storable_text(o.native_status)
          && util::is_storable_text(o.cancel_reason),
        "an order's text is storable");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static constexpr sales_platform platforms[]
    = {sales_platform::tiktok, sales_platform::shopee, sales_platform::lazada};
  auto platform = platforms[data[0] % 3];
  import_options opts;
  if (data[0] & 0x80)
    opts.lazada_currency = "MYR";
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto res = import_orders(platform, body, opts);
  if (!res.error.empty()) {
    check(res.batch.orders.empty() && res.batch.rejected.empty(), "a refused body maps nothing");
    check(util::is_storable_text(res.error), "the body's error is text");
    return 0;
  }
  auto n = res.batch.orders.size() + res.batch.rejected.size();
  check(n >= 1 && n <= max_batch, "a batch holds 1 to max_batch records");
  std::vector<bool> seen(n, false);
  for (const auto& r : res.batch.orders) {
    check(r.index < n && !seen[r.index], "each record once");
    seen[r.index] = true;
    check_order(platform, r.order);
  }
  for (const auto& r : res.batch.rejected) {
    check(r.index < n && !seen[r.index], "each record once");
    seen[r.index] = true;
    check(r.code == "invalid_request" || r.code == "unknown_status", "a rejection has a code");
    check(util::is_storable_text(r.detail), "a rejection's detail is text");
  }
  return 0;
}
