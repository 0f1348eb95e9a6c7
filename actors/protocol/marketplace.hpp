#pragma once

// Orders imported from marketplaces (TikTok Shop, Shopee, Lazada), as the importers in
// adapters/marketplaces/ normalise them from each platform's own payload. Money is in minor units
// of `currency`; times are Unix epoch milliseconds.

#include "actors/protocol/commerce.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato {

/// Where an order was placed: Mercato's own checkouts are `web`.
enum class sales_platform : uint8_t { web, tiktok, shopee, lazada };

/// Stable name ("web", "tiktok", ...) as stored and shown in the API.
std::string to_string(sales_platform x);

/// Parses the name written by `to_string`; false if unknown.
bool from_string(const std::string& name, sales_platform& out);

/// What the statistics count an order as, whatever the platform called it.
enum class imported_status : uint8_t { pending, completed, cancelled, returned };

/// Stable name ("pending", ...) as stored and shown in the API.
std::string to_string(imported_status x);

/// Parses the name written by `to_string`; false if unknown.
bool from_string(const std::string& name, imported_status& out);

/// One marketplace order, normalised. `gross_minor - seller_discount_minor -
/// platform_discount_minor + shipping_minor` is what the order is worth before the platform's own
/// rounding and taxes; `final_minor` is what the platform says the buyer pays.
struct imported_order {
  sales_platform platform = sales_platform::web;
  std::string order_code;              ///< the platform's order id, unique per platform
  std::string order_id;                ///< Mercato's id, derived from platform and order code
  std::string customer_id;             ///< the platform's buyer id ("" when it sends none)
  std::string customer_name;           ///< as the platform shows it
  std::string currency;                ///< ISO 4217
  std::vector<cart_line> lines;        ///< unit_price_minor at the original (list) price
  int64_t gross_minor = 0;             ///< merchandise at original prices (GMV)
  int64_t seller_discount_minor = 0;   ///< paid by the seller (promotions, seller vouchers)
  int64_t platform_discount_minor = 0; ///< paid by the platform (platform vouchers, subsidies)
  int64_t shipping_minor = 0;          ///< shipping fee the buyer pays
  int64_t final_minor = 0;             ///< what the buyer pays (revenue)
  imported_status status = imported_status::pending;
  std::string native_status; ///< the platform's own status word(s), for the timeline
  std::string cancel_reason;
  int64_t order_date_ms = 0;   ///< creation time
  int32_t utc_offset_min = 0;  ///< the offset the platform stated the creation time in, if any
  int64_t completed_at_ms = 0; ///< 0 unless completed
  int64_t cancelled_at_ms = 0; ///< 0 unless cancelled or returned
  int64_t updated_at_ms = 0;   ///< the platform's update time: orders later payloads
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, imported_order& x) {
  return f(caf::meta::type_name("imported_order"), x.platform, x.order_code, x.order_id,
           x.customer_id, x.customer_name, x.currency, x.lines, x.gross_minor,
           x.seller_discount_minor, x.platform_discount_minor, x.shipping_minor, x.final_minor,
           x.status, x.native_status, x.cancel_reason, x.order_date_ms, x.utc_offset_min,
           x.completed_at_ms, x.cancelled_at_ms, x.updated_at_ms);
}

} // namespace mercato
