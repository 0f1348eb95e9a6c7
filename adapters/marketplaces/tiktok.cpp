// TikTok Shop (Open API order 202309): one element of `data.orders` of Get Order Detail or Search
// Orders. Money is decimal text in `payment.currency`; times are Unix seconds. A line item is one
// unit: repeated SKUs become one line with a quantity.

#include "adapters/marketplaces/native.hpp"

#include <array>
#include <string_view>

namespace mercato::marketplaces {

namespace {

// Every order status of the 202309 API. TikTok reports returns and refunds through its Return and
// Refund API, not through the order status.
constexpr std::array<status_meaning, 9> vocabulary{{
  {"UNPAID", imported_status::pending},
  {"ON_HOLD", imported_status::pending},
  {"AWAITING_SHIPMENT", imported_status::pending},
  {"PARTIALLY_SHIPPING", imported_status::pending},
  {"AWAITING_COLLECTION", imported_status::pending},
  {"IN_TRANSIT", imported_status::pending},
  {"DELIVERED", imported_status::pending},
  {"COMPLETED", imported_status::completed},
  {"CANCELLED", imported_status::cancelled},
}};

} // namespace

mapping_error map_tiktok(const nlohmann::json& rec, imported_order& out) {
  mapping_error err;
  if (!read_text(rec, "id", out.order_code, err)
      || !read_text(rec, "status", out.native_status, err)
      || !read_unix_seconds(rec, "create_time", out.order_date_ms, err, true)
      || !read_unix_seconds(rec, "update_time", out.updated_at_ms, err, true)
      || !read_text(rec, "user_id", out.customer_id, err, false)
      || !read_text(rec, "cancel_reason", out.cancel_reason, err, false))
    return err;
  if (!meaning_of(vocabulary, out.native_status, out.status))
    return {"unknown_status",
            "status: " + out.native_status + " is not a TikTok Shop order status"};

  if (auto addr = rec.find("recipient_address"); addr != rec.end() && addr->is_object())
    if (!read_text(*addr, "name", out.customer_name, err, false))
      return err;

  auto pay = rec.find("payment");
  if (pay == rec.end() || !pay->is_object())
    return invalid("payment: required object");
  if (!read_text(*pay, "currency", out.currency, err) || !is_currency_code(out.currency))
    return err.ok() ? invalid("payment.currency: must be an ISO 4217 code") : err;
  const int digits = minor_digits(out.currency);
  int64_t original_total = 0;
  if (!read_money(*pay, "total_amount", digits, out.final_minor, err, true)
      || !read_money(*pay, "shipping_fee", digits, out.shipping_minor, err)
      || !read_money(*pay, "seller_discount", digits, out.seller_discount_minor, err)
      || !read_money(*pay, "platform_discount", digits, out.platform_discount_minor, err)
      || !read_money(*pay, "original_total_product_price", digits, original_total, err))
    return mapping_error{err.code, "payment." + err.detail};

  auto items = rec.find("line_items");
  if (items == rec.end() || !items->is_array() || items->empty() || items->size() > 10000)
    return invalid("line_items: must be a non-empty array");
  int64_t lines_total = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& it = (*items)[i];
    std::string sku;
    std::string name;
    int64_t price = 0;
    auto where = "line_items[" + std::to_string(i) + "].";
    if (!it.is_object())
      return invalid(where + ": must be an object");
    if (!read_text(it, "sku_id", sku, err) || !read_text(it, "product_name", name, err, false)
        || !read_money(it, "original_price", digits, price, err, true))
      return mapping_error{err.code, where + err.detail};
    if (!add_money(lines_total, price))
      return invalid("line_items: amounts overflow");
    add_line(out.lines, sku, name, 1, price);
  }
  // The payment's original product total when sent (it is what TikTok's own reports use).
  out.gross_minor = original_total > 0 ? original_total : lines_total;

  if (out.status == imported_status::completed) {
    // No completion time in the order: its last update is the completion.
    out.completed_at_ms = out.updated_at_ms;
  } else if (out.status == imported_status::cancelled) {
    out.cancelled_at_ms = out.updated_at_ms;
  }
  if (out.updated_at_ms < out.order_date_ms)
    return invalid("update_time: before create_time");
  return {};
}

} // namespace mercato::marketplaces
