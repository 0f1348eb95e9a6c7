// Shopee (Open Platform v2): one element of `response.order_list` of v2.order.get_order_detail,
// with `item_list`; optionally with the `order_income` object of v2.payment.get_escrow_detail
// attached, which splits vouchers between seller and Shopee. Money is a JSON number in `currency`;
// times are Unix seconds.

#include "adapters/marketplaces/native.hpp"

#include <array>
#include <string_view>

namespace mercato::marketplaces {

namespace {

constexpr std::array<status_meaning, 11> vocabulary{{
  {"UNPAID", imported_status::pending},
  {"READY_TO_SHIP", imported_status::pending},
  {"PROCESSED", imported_status::pending},
  {"RETRY_SHIP", imported_status::pending},
  {"SHIPPED", imported_status::pending},
  {"TO_CONFIRM_RECEIVE", imported_status::pending},
  {"IN_CANCEL", imported_status::pending},
  {"INVOICE_PENDING", imported_status::pending},
  {"COMPLETED", imported_status::completed},
  {"CANCELLED", imported_status::cancelled},
  {"TO_RETURN", imported_status::returned},
}};

} // namespace

mapping_error map_shopee(const nlohmann::json& rec, imported_order& out) {
  mapping_error err;
  if (!read_text(rec, "order_sn", out.order_code, err)
      || !read_text(rec, "order_status", out.native_status, err)
      || !read_unix_seconds(rec, "create_time", out.order_date_ms, err, true)
      || !read_unix_seconds(rec, "update_time", out.updated_at_ms, err, true)
      || !read_text(rec, "buyer_user_id", out.customer_id, err, false)
      || !read_text(rec, "buyer_username", out.customer_name, err, false)
      || !read_text(rec, "cancel_reason", out.cancel_reason, err, false))
    return err;
  if (!meaning_of(vocabulary, out.native_status, out.status))
    return {"unknown_status",
            "order_status: " + out.native_status + " is not a Shopee order status"};

  if (!read_text(rec, "currency", out.currency, err) || !is_currency_code(out.currency))
    return err.ok() ? invalid("currency: must be an ISO 4217 code") : err;
  const int digits = minor_digits(out.currency);
  int64_t estimated_shipping = 0;
  if (!read_money(rec, "total_amount", digits, out.final_minor, err, true)
      || !read_money(rec, "actual_shipping_fee", digits, out.shipping_minor, err)
      || !read_money(rec, "estimated_shipping_fee", digits, estimated_shipping, err))
    return err;
  if (out.shipping_minor == 0)
    out.shipping_minor = estimated_shipping; // the actual fee is known only once shipped

  auto items = rec.find("item_list");
  if (items == rec.end() || !items->is_array() || items->empty() || items->size() > 10000)
    return invalid("item_list: must be a non-empty array");
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& it = (*items)[i];
    auto where = "item_list[" + std::to_string(i) + "].";
    if (!it.is_object())
      return invalid(where + ": must be an object");
    std::string item_id;
    std::string model_id;
    std::string sku;
    std::string name;
    int64_t qty = 0;
    int64_t original = 0;
    int64_t discounted = 0;
    if (!read_text(it, "item_id", item_id, err) || !read_text(it, "model_id", model_id, err, false)
        || !read_text(it, "model_sku", sku, err, false)
        || !read_text(it, "item_name", name, err, false)
        || !read_count(it, "model_quantity_purchased", qty, err)
        || !read_money(it, "model_original_price", digits, original, err, true)
        || !read_money(it, "model_discounted_price", digits, discounted, err, true))
      return mapping_error{err.code, where + err.detail};
    if (discounted > original)
      return invalid(where + "model_discounted_price: above model_original_price");
    if (sku.empty()) // sellers need not set SKUs: the item and model ids name the unit
      sku = model_id.empty() || model_id == "0" ? item_id : item_id + "-" + model_id;
    int64_t gross = 0;
    int64_t promo = 0;
    if (!mul_money(original, qty, gross) || !mul_money(original - discounted, qty, promo)
        || !add_money(out.gross_minor, gross) || !add_money(out.seller_discount_minor, promo))
      return invalid("item_list: amounts overflow");
    add_line(out.lines, sku, name, qty, original);
  }

  // Item promotions are the seller's; vouchers are split only in the escrow detail.
  if (auto inc = rec.find("order_income"); inc != rec.end() && !inc->is_null()) {
    if (!inc->is_object())
      return invalid("order_income: must be an object");
    int64_t from_seller = 0;
    int64_t from_shopee = 0;
    if (!read_money(*inc, "voucher_from_seller", digits, from_seller, err)
        || !read_money(*inc, "voucher_from_shopee", digits, from_shopee, err))
      return mapping_error{err.code, "order_income." + err.detail};
    if (!add_money(out.seller_discount_minor, from_seller))
      return invalid("order_income: amounts overflow");
    out.platform_discount_minor = from_shopee;
  }

  if (out.status == imported_status::completed)
    out.completed_at_ms = out.updated_at_ms;
  else if (out.status != imported_status::pending)
    out.cancelled_at_ms = out.updated_at_ms;
  if (out.updated_at_ms < out.order_date_ms)
    return invalid("update_time: before create_time");
  return {};
}

} // namespace mercato::marketplaces
