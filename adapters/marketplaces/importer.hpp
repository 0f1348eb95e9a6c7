#pragma once

// Marketplace importers: pure functions from a platform's own order payloads (as its public seller
// API returns them) to `imported_order`. No I/O; the HTTP route and the pull sync both feed them.
// README.md ("Marketplace order mapping") documents each platform's mapping.

#include "actors/protocol/marketplace.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::marketplaces {

/// Most records one batch may hold.
inline constexpr size_t max_batch = 1000;

/// What the importers may not learn from a payload itself.
struct import_options {
  /// ISO 4217 currency of a Lazada shop (Lazada orders carry none; their items may). "" = none.
  std::string lazada_currency;
};

/// A record that was not imported, with its position in the batch.
struct import_rejection {
  size_t index = 0;
  std::string code;   ///< invalid_request | unknown_status
  std::string detail; ///< what is wrong, naming the field
};

/// A record that was mapped, with its position in the batch.
struct import_record {
  size_t index = 0;
  imported_order order;
};

/// The outcome of one batch: every index is in exactly one of the two lists.
struct import_batch {
  std::vector<import_record> orders;
  std::vector<import_rejection> rejected;
};

/// The outcome of reading a whole body: `error` is set (and nothing else) when the body is not a
/// JSON array of 1 to `max_batch` elements.
struct import_result {
  std::string error;
  import_batch batch;
};

/// Maps a JSON array of `platform`'s native order payloads. Money in JSON numbers is read from its
/// decimal text, never through a double. Each bad record is rejected on its own.
import_result import_orders(sales_platform platform, std::string_view body,
                            const import_options& opts = {});

/// Mercato's order id of a marketplace order: `<platform>-<order code>` when the code is a short
/// plain token, else `<platform>-h<first 32 hex digits of SHA-256 of the code>`. Deterministic, so
/// that every import of the same order reaches the same entity.
std::string marketplace_order_id(sales_platform platform, std::string_view order_code);

/// Minor units of `currency` (ISO 4217 exponent: 0 for JPY, VND, ...; 3 for KWD, ...; else 2).
int minor_digits(std::string_view currency);

/// Parses a non-negative decimal ("12", "12.5", "12.50") into minor units with `digits` fraction
/// digits, exactly; false for anything else, for more significant fraction digits than `digits`
/// and for overflow.
bool parse_minor(std::string_view text, int digits, int64_t& out);

} // namespace mercato::marketplaces
