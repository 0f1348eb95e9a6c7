// Lazada (Open Platform, one REST host per country): one element of `data.orders` of GetOrders or
// the `data` of GetOrder, optionally with `items` (GetOrderItems: one element per unit). Times are
// local with an offset ("2024-11-11 10:00:00 +0800"); money is decimal text (thousands may be
// grouped with commas). An order's items may be in different statuses (`statuses`).

#include "adapters/marketplaces/native.hpp"
#include "runtime/util/time.hpp"

#include <array>
#include <string_view>

namespace mercato::marketplaces {

bool parse_lazada_time(std::string_view s, int64_t& ms, int32_t& offset_min) {
  if (s.size() != 25 || s[10] != ' ' || s[19] != ' ' || (s[20] != '+' && s[20] != '-'))
    return false;
  for (size_t i = 21; i < 25; ++i)
    if (s[i] < '0' || s[i] > '9')
      return false;
  std::string rfc{s.substr(0, 10)};
  rfc += 'T';
  rfc += s.substr(11, 8);
  rfc += s.substr(20, 3);
  rfc += ':';
  rfc += s.substr(23, 2);
  int hh = (s[21] - '0') * 10 + (s[22] - '0');
  int mm = (s[23] - '0') * 10 + (s[24] - '0');
  if (hh > 14 || mm > 59 || !util::parse_rfc3339_ms(rfc, ms))
    return false;
  offset_min = (s[20] == '-' ? -1 : 1) * (hh * 60 + mm);
  return true;
}

namespace {

constexpr std::array<status_meaning, 22> vocabulary{{
  {"unpaid", imported_status::pending},
  {"pending", imported_status::pending},
  {"topack", imported_status::pending},
  {"packed", imported_status::pending},
  {"repacked", imported_status::pending},
  {"toship", imported_status::pending},
  {"ready_to_ship", imported_status::pending},
  {"ready_to_ship_pending", imported_status::pending},
  {"shipping", imported_status::pending},
  {"shipped", imported_status::pending},
  {"failed_delivery", imported_status::pending},
  {"delivered", imported_status::completed},
  {"confirmed", imported_status::completed},
  {"canceled", imported_status::cancelled},
  {"failed", imported_status::cancelled},
  {"lost", imported_status::cancelled},
  {"lost_by_3pl", imported_status::cancelled},
  {"damaged_by_3pl", imported_status::cancelled},
  {"package_scrapped", imported_status::cancelled},
  {"returned", imported_status::returned},
  {"shipped_back", imported_status::returned},
  {"shipped_back_success", imported_status::returned},
}};

bool read_time(const nlohmann::json& obj, const char* key, int64_t& ms, int32_t& offset,
               mapping_error& err) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()
      || !parse_lazada_time(it->get_ref<const std::string&>(), ms, offset)) {
    err = invalid(std::string{key} + ": must be \"YYYY-MM-DD hh:mm:ss +hhmm\"");
    return false;
  }
  // As the other platforms' Unix seconds: no order predates 1970 (0 means "not yet" there).
  if (ms <= 0) {
    err = invalid(std::string{key} + ": must be after 1970-01-01");
    return false;
  }
  return true;
}

// Lazada writes "1,299.00": commas group thousands and carry no value.
bool read_lazada_money(const nlohmann::json& obj, const char* key, int digits, int64_t& out,
                       mapping_error& err, bool required = false) {
  auto it = obj.find(key);
  if (it != obj.end() && it->is_string()) {
    std::string text;
    for (char c : it->get_ref<const std::string&>())
      if (c != ',')
        text += c;
    nlohmann::json tmp = nlohmann::json::object();
    tmp[key] = text;
    return read_money(tmp, key, digits, out, err, required);
  }
  return read_money(obj, key, digits, out, err, required);
}

} // namespace

mapping_error map_lazada(const nlohmann::json& rec, const import_options& opts,
                         imported_order& out) {
  mapping_error err;
  int32_t update_offset = 0;
  if (!read_text(rec, "order_id", out.order_code, err)
      || !read_time(rec, "created_at", out.order_date_ms, out.utc_offset_min, err)
      || !read_time(rec, "updated_at", out.updated_at_ms, update_offset, err))
    return err;
  std::string first;
  std::string last;
  if (!read_text(rec, "customer_first_name", first, err, false)
      || !read_text(rec, "customer_last_name", last, err, false))
    return err;
  out.customer_name = last.empty() ? first : first.empty() ? last : first + " " + last;

  auto sts = rec.find("statuses");
  if (sts == rec.end() || !sts->is_array() || sts->empty() || sts->size() > 64)
    return invalid("statuses: must be a non-empty array");
  bool any[4] = {false, false, false, false};
  for (const auto& s : *sts) {
    if (!s.is_string())
      return invalid("statuses: must hold strings");
    const auto& name = s.get_ref<const std::string&>();
    imported_status meaning{};
    if (!meaning_of(vocabulary, name, meaning))
      return {"unknown_status", "statuses: " + name.substr(0, 64) + " is not a Lazada status"};
    any[static_cast<int>(meaning)] = true;
    if (!out.native_status.empty())
      out.native_status += ',';
    out.native_status += name;
  }
  // Items still moving keep the order open; once none is, a delivered item makes it a sale.
  if (any[static_cast<int>(imported_status::pending)])
    out.status = imported_status::pending;
  else if (any[static_cast<int>(imported_status::completed)])
    out.status = imported_status::completed;
  else if (any[static_cast<int>(imported_status::returned)])
    out.status = imported_status::returned;
  else
    out.status = imported_status::cancelled;

  auto items = rec.find("items");
  bool has_items = items != rec.end() && !items->is_null();
  if (has_items && (!items->is_array() || items->size() > 10000))
    return invalid("items: must be an array");
  if (!read_text(rec, "currency", out.currency, err, false))
    return err;
  if (out.currency.empty() && has_items && !items->empty() && (*items)[0].is_object())
    if (!read_text((*items)[0], "currency", out.currency, err, false))
      return mapping_error{err.code, "items[0]." + err.detail};
  if (out.currency.empty())
    out.currency = opts.lazada_currency;
  if (out.currency.empty())
    return invalid("currency: unknown (not in the order or its items, and no shop currency)");
  if (!is_currency_code(out.currency))
    return invalid("currency: must be an ISO 4217 code");
  const int digits = minor_digits(out.currency);

  int64_t voucher = -1;
  if (!read_lazada_money(rec, "price", digits, out.gross_minor, err, true)
      || !read_lazada_money(rec, "shipping_fee", digits, out.shipping_minor, err)
      || !read_lazada_money(rec, "voucher_seller", digits, out.seller_discount_minor, err)
      || !read_lazada_money(rec, "voucher_platform", digits, out.platform_discount_minor, err))
    return err;
  if (rec.contains("voucher") && !read_lazada_money(rec, "voucher", digits, voucher, err))
    return err;
  int64_t split = out.seller_discount_minor;
  if (!add_money(split, out.platform_discount_minor))
    return invalid("voucher: amounts overflow");
  if (voucher >= 0 && voucher != split)
    return invalid("voucher: differs from voucher_seller + voucher_platform");
  out.final_minor = out.gross_minor;
  if (!add_money(out.final_minor, out.shipping_minor) || split > out.final_minor)
    return invalid("voucher: above price + shipping_fee");
  out.final_minor -= split;

  if (has_items) {
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& it = (*items)[i];
      auto where = "items[" + std::to_string(i) + "].";
      std::string sku;
      std::string name;
      int64_t price = 0;
      if (!it.is_object())
        return invalid(where + ": must be an object");
      if (!read_text(it, "sku", sku, err) || !read_text(it, "name", name, err, false)
          || !read_lazada_money(it, "item_price", digits, price, err, true))
        return mapping_error{err.code, where + err.detail};
      add_line(out.lines, sku, name, 1, price);
    }
  }

  if (out.status == imported_status::completed)
    out.completed_at_ms = out.updated_at_ms;
  else if (out.status != imported_status::pending)
    out.cancelled_at_ms = out.updated_at_ms;
  if (out.updated_at_ms < out.order_date_ms)
    return invalid("updated_at: before created_at");
  return {};
}

} // namespace mercato::marketplaces
