#include "actors/cart/cart_rules.hpp"

#include "actors/coupon/coupon_rules.hpp"
#include "actors/protocol/errors.hpp"

#include <algorithm>

namespace mercato::cart {

namespace {

cart_event make_event(std::string type, int64_t now_ms) {
  cart_event e;
  e.type = std::move(type);
  e.at_ms = now_ms;
  return e;
}

bool is_currency(const std::string& c) {
  return c.size() == 3
         && std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

} // namespace

caf::error check_access(const state& s, const caller& who, const policy& p, int64_t now_ms) {
  if (!s.exists || (!who.admin && who.sub != s.customer_id))
    return caf::make_error(mercato_errc::not_found, "no such cart");
  if (s.checkout_id.empty() && now_ms >= s.active_at_ms + p.ttl_ms)
    return caf::make_error(mercato_errc::cart_expired, "the cart expired after being idle");
  return {};
}

caf::error check_open(const state& s) {
  if (!s.checkout_id.empty())
    return caf::make_error(mercato_errc::conflict, "the cart was checked out");
  return {};
}

decision decide_create(const state& s, const caller& who, const std::string& currency,
                       int64_t now_ms) {
  if (s.exists)
    return caf::make_error(mercato_errc::conflict, "the cart exists");
  if (!is_currency(currency))
    return caf::make_error(mercato_errc::invalid_request, "currency must be an ISO 4217 code");
  auto e = make_event("created", now_ms);
  e.customer_id = who.sub;
  e.currency = currency;
  return std::vector<cart_event>{std::move(e)};
}

decision decide_set_line(const state& s, const product& item, int64_t quantity, int64_t available,
                         int64_t now_ms) {
  if (auto err = check_open(s))
    return err;
  if (quantity < 0 || quantity > max_quantity)
    return caf::make_error(mercato_errc::invalid_request,
                           "quantity must be between 0 and " + std::to_string(max_quantity));
  if (quantity == 0)
    return decide_remove_line(s, item.sku, now_ms);
  if (item.currency != s.currency)
    return caf::make_error(mercato_errc::conflict, "the product is priced in " + item.currency
                                                     + ", the cart in " + s.currency);
  auto known = std::any_of(s.lines.begin(), s.lines.end(),
                           [&](const cart_line& l) { return l.sku == item.sku; });
  if (!known && s.lines.size() >= max_lines)
    return caf::make_error(mercato_errc::conflict,
                           "a cart holds at most " + std::to_string(max_lines) + " lines");
  if (quantity > available)
    return caf::make_error(mercato_errc::insufficient_stock,
                           "only " + std::to_string(std::max<int64_t>(available, 0)) + " units of "
                             + item.sku + " are available");
  auto e = make_event("line_set", now_ms);
  e.line = cart_line{item.sku, item.name, quantity, item.price_minor};
  return std::vector<cart_event>{std::move(e)};
}

decision decide_remove_line(const state& s, const std::string& sku, int64_t now_ms) {
  if (auto err = check_open(s))
    return err;
  auto known
    = std::any_of(s.lines.begin(), s.lines.end(), [&](const cart_line& l) { return l.sku == sku; });
  if (!known)
    return std::vector<cart_event>{};
  auto e = make_event("line_removed", now_ms);
  e.line.sku = sku;
  return std::vector<cart_event>{std::move(e)};
}

decision decide_coupon(const state& s, const coupon_terms& terms, int64_t now_ms) {
  if (auto err = check_open(s))
    return err;
  auto e = make_event("coupon_set", now_ms);
  e.coupon = terms;
  return std::vector<cart_event>{std::move(e)};
}

decision decide_checkout(const state& s, const std::string& checkout_id, int64_t now_ms) {
  if (s.checkout_id == checkout_id)
    return std::vector<cart_event>{};
  if (!s.checkout_id.empty())
    return caf::make_error(mercato_errc::conflict, "the cart is being or was checked out");
  if (s.lines.empty())
    return caf::make_error(mercato_errc::conflict, "the cart is empty");
  auto e = make_event("checked_out", now_ms);
  e.checkout_id = checkout_id;
  return std::vector<cart_event>{std::move(e)};
}

decision decide_reopen(const state& s, const std::string& checkout_id, int64_t now_ms) {
  // Only the checkout that holds the cart may give it back; for any other it is a no-op.
  if (checkout_id.empty() || s.checkout_id != checkout_id)
    return std::vector<cart_event>{};
  auto e = make_event("reopened", now_ms);
  e.checkout_id = checkout_id;
  return std::vector<cart_event>{std::move(e)};
}

void apply(state& s, const cart_event& e) {
  s.active_at_ms = e.at_ms;
  if (e.type == "created") {
    s.exists = true;
    s.customer_id = e.customer_id;
    s.currency = e.currency;
    s.created_at_ms = e.at_ms;
  } else if (e.type == "line_set") {
    auto i = std::find_if(s.lines.begin(), s.lines.end(),
                          [&](const cart_line& l) { return l.sku == e.line.sku; });
    if (i == s.lines.end())
      s.lines.push_back(e.line);
    else
      *i = e.line;
  } else if (e.type == "line_removed") {
    std::erase_if(s.lines, [&](const cart_line& l) { return l.sku == e.line.sku; });
  } else if (e.type == "coupon_set") {
    s.coupon = e.coupon;
  } else if (e.type == "coupon_removed") {
    s.coupon = coupon_terms{};
  } else if (e.type == "checked_out") {
    s.checkout_id = e.checkout_id;
  } else if (e.type == "reopened") {
    s.checkout_id.clear();
  }
}

totals totals_of(const state& s, const policy& p) {
  totals t;
  t.currency = s.currency;
  for (const auto& l : s.lines)
    t.subtotal_minor += l.quantity * l.unit_price_minor;
  if (!s.coupon.code.empty() && t.subtotal_minor >= s.coupon.min_subtotal_minor)
    t.discount_minor = coupon::discount_of(s.coupon, t.subtotal_minor);
  t.shipping_minor = s.lines.empty() ? 0 : p.shipping_flat_minor;
  t.total_minor = t.subtotal_minor - t.discount_minor + t.shipping_minor;
  return t;
}

cart_view to_view(const std::string& cart_id, const state& s, const policy& p, uint64_t version) {
  cart_view v;
  v.cart_id = cart_id;
  v.customer_id = s.customer_id;
  v.lines = s.lines;
  v.coupon_code = s.coupon.code;
  v.sums = totals_of(s, p);
  v.checkout_id = s.checkout_id;
  v.expires_at_ms = s.active_at_ms + p.ttl_ms;
  v.version = version;
  return v;
}

} // namespace mercato::cart
