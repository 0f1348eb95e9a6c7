#pragma once

// Protocol structs <-> JSON. Responses are written with the small writer (no DOM); request bodies
// are parsed strictly: every violation becomes a field_error, collected, never an exception.
// Unknown fields in request bodies are accepted and ignored (forward compatibility).

#include "actors/protocol/messages.hpp"
#include "api/http/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::api {

// -- limits (also documented in api/openapi.json) --------------------------------------------

struct limits {
  static constexpr int64_t max_quantity = 1'000'000;            ///< reservation quantity 1..
  static constexpr int64_t max_on_hand = 1'000'000'000;         ///< on_hand 0..
  static constexpr int64_t max_abs_delta = 1'000'000'000;       ///< adjustment |delta|, non-zero
  static constexpr int64_t max_ttl_s = 604'800;                 ///< hold ttl_s 1.. (7 days)
  static constexpr size_t max_reservation_id = 128;             ///< [A-Za-z0-9._:-]
  static constexpr size_t max_sku = 64;                         ///< [A-Za-z0-9._-]
  static constexpr int64_t max_price_minor = 1'000'000'000'000; ///< price_minor 0..
  static constexpr size_t max_name = 200;                       ///< code points, >= 1
  static constexpr size_t max_description = 5000;               ///< code points
  static constexpr size_t max_category = 100;                   ///< code points
  static constexpr size_t max_seller_id = 128;                  ///< [A-Za-z0-9._:-]
  static constexpr size_t max_reason = 500;                     ///< code points, >= 1
  static constexpr int32_t default_page = 20;                   ///< products per page
  static constexpr int32_t max_page = 100;
  static constexpr size_t max_query = 200;  ///< `q`, code points
  static constexpr size_t max_cursor = 512; ///< opaque cursor, bytes
};

/// Outcome of parsing a request: empty `errors` means success.
struct validation {
  std::vector<field_error> errors;

  bool ok() const noexcept {
    return errors.empty();
  }
  void add(std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  }
  /// The 400 problem: `detail` names the first field ("quantity: must be ..."), `errors` lists
  /// all of them.
  response to_response() const;
};

/// True if `sku` is 1..64 characters of [A-Za-z0-9._-].
bool is_valid_sku(std::string_view sku) noexcept;

/// True if `id` is 1..128 characters of [A-Za-z0-9._:-].
bool is_valid_reservation_id(std::string_view id) noexcept;

/// Number of code points in UTF-8 text (the lexer already rejected invalid UTF-8).
size_t utf8_length(std::string_view s) noexcept;

// -- responses ---------------------------------------------------------------------------------

/// {sku, on_hand, reserved, available, version}
std::string to_json(const stock_view& x);

/// {reservation_id, sku, quantity, expires_at} (RFC 3339 UTC, milliseconds)
std::string to_json(const reservation_view& x);

/// {sku, name, description, category, seller_id, price_minor, currency, created_at, updated_at,
/// version}
std::string to_json(const product& x);

/// {items: [product...], next_cursor: string | null}
std::string to_json(const product_page& x);

/// Appends the product object to `out`.
void append_json(std::string& out, const product& x);

// -- requests ----------------------------------------------------------------------------------

/// PUT /v1/stock/{sku}: {on_hand}
validation parse_stock_set(std::string_view body, stock_set_cmd& out);

/// POST /v1/stock/{sku}/adjustments: {delta, reason}
validation parse_stock_adjust(std::string_view body, stock_adjust_cmd& out);

/// POST /v1/stock/{sku}/reservations: {reservation_id, quantity, ttl_s?}. `ttl_s` absent leaves
/// `ttl_ms` 0 (the entity's default); `max_ttl_s` caps it (at most limits::max_ttl_s).
validation parse_reserve(std::string_view body, reserve_cmd& out,
                         int64_t max_ttl_s = limits::max_ttl_s);

/// PUT /v1/products/{sku}: {name, description?, category?, seller_id?, price_minor, currency}.
/// A `sku` in the body must equal the path's. Read-only fields (created_at, version, ...) are
/// ignored like any unknown field.
validation parse_product(std::string_view body, std::string_view sku, product& out);

/// GET /v1/products?q=&category=&limit=&cursor= (raw query string, without '?').
validation parse_product_query(std::string_view query, product_query& out);

} // namespace mercato::api
