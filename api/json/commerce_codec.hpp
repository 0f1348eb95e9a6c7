#pragma once

// JSON of carts, coupons, checkouts and orders (see codec.hpp for the conventions).

#include "actors/protocol/commerce.hpp"
#include "api/json/codec.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace mercato::api {

struct commerce_limits {
  static constexpr int64_t max_line_quantity = 10'000; ///< units per cart line
  static constexpr size_t max_coupon_code = 64;        ///< [A-Za-z0-9._-]
  static constexpr size_t max_cart_id = 64;
  static constexpr size_t max_idempotency_key = 255; ///< printable ASCII
  static constexpr size_t max_token = 256;
  static constexpr size_t max_address_field = 200;
  static constexpr size_t max_email = 254;
  static constexpr size_t max_external_id = 128;
  static constexpr size_t max_fact_data = 4096; ///< bytes of `data`, as JSON
  static constexpr size_t max_batch = 500;      ///< items of POST /v1/events
};

// -- responses -----------------------------------------------------------------------------------

/// {cart_id, customer_id, currency, lines:[{sku, name, quantity, unit_price_minor,
/// line_total_minor}], coupon_code, totals:{subtotal_minor, discount_minor, shipping_minor,
/// total_minor, currency}, checkout_id, expires_at, version}
std::string to_json(const cart_view& x);

/// {code, kind, value, min_subtotal_minor, usage_limit, per_customer_limit, starts_at, ends_at,
/// used, reserved, version}
std::string to_json(const coupon_view& x);

/// {checkout_id, order_id, status, cart_id, totals, steps:[{name, status, detail, at}], error?,
/// created_at, updated_at, version}
std::string to_json(const checkout_view& x);

/// Who an order is rendered for.
enum class order_audience {
  full,    ///< its customer, an admin
  partner, ///< `service`: no personal data (shipping address, phone, email), as over REST
};

/// {order_id, customer_id, status, lines, totals, shipping_address, email, coupon_code,
/// checkout_id, payment_id, cancel_reason, eta, created_at, updated_at, version}; for a partner
/// without shipping_address and email.
std::string to_json(const order_view& x, order_audience audience = order_audience::full);

/// {items:[{order_id, customer_id, status, totals:{total_minor, currency}, line_count,
/// created_at, updated_at, version}], next_cursor}
std::string to_json(const order_page& x);

/// {customer_id, orders:[{order_id, status, order_seq, updated_at}], inbox:[...], version}: the
/// feed of customer:{id}, newest update first, and the newest inbox messages (append_json below).
std::string to_json(const customer_view& x);

/// {id, order_id, kind, locale, subject, body, created_at}: one message of a customer's inbox.
void append_json(std::string& out, const inbox_item& x);

/// {order_id, status, eta, events:[{seq, type, source, external_id, occurred_at, recorded_at,
/// label, data}]} in the order the facts occurred.
std::string timeline_json(const order_view& x);

/// One cart or order line: {sku, name, quantity, unit_price_minor, line_total_minor}.
void append_json(std::string& out, const cart_line& x);

/// One timeline entry: {seq, type, source, external_id, occurred_at, recorded_at, label, data}.
void append_json(std::string& out, const timeline_entry& x);

/// The problem of a failed checkout (its recorded code and detail; `skus` when stock ran out).
response checkout_failure(const checkout_view& x);

// -- requests ------------------------------------------------------------------------------------

/// POST /v1/carts: {currency?} (default USD); an empty body is allowed.
validation parse_cart_create(std::string_view body, std::string& currency);

/// PUT /v1/carts/{id}/lines/{sku}: {quantity} (0 removes the line).
validation parse_cart_line(std::string_view body, int64_t& quantity);

/// PUT /v1/carts/{id}/coupon: {code}
validation parse_coupon_code(std::string_view body, std::string& code);

/// PUT /v1/coupons/{code}: {kind, value, min_subtotal_minor?, usage_limit?,
/// per_customer_limit?, starts_at?, ends_at?}
validation parse_coupon(std::string_view body, std::string_view code, coupon_terms& out);

/// POST /v1/checkouts: {cart_id, payment:{method:"card", token}, shipping_address:{name, line1,
/// city, postal_code, country, phone?}, email?}. `digest` receives a hash of the canonical body
/// (keys sorted, no spaces) that tells a replay from another request under the same key.
validation parse_checkout(std::string_view body, checkout_cmd& out);

/// One partner fact: {source, type, external_id, occurred_at, data?}; `data` is an object of at
/// most `max_fact_data` bytes; `eta_updated` needs `data.eta` (RFC 3339).
validation parse_order_fact(std::string_view body, order_fact_cmd& out);

/// The same for an already parsed object (items of POST /v1/events).
validation read_order_fact(const nlohmann::json& obj, order_fact_cmd& out);

/// POST /v1/orders/{id}/cancel: {reason?}
validation parse_cancel(std::string_view body, std::string& reason);

/// GET /v1/orders?status=&limit=&cursor=&customer_id= (raw query string).
validation parse_order_query(std::string_view query, order_query& out);

/// True if `id` is a valid cart, checkout or order id (1..64 of [A-Za-z0-9._-]).
bool is_valid_entity_id(std::string_view id) noexcept;

/// True if `key` is a valid Idempotency-Key (1..255 printable ASCII characters).
bool is_valid_idempotency_key(std::string_view key) noexcept;

} // namespace mercato::api
