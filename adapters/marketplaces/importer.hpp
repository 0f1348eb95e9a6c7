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

/// Maps a JSON array of `platform`'s native order payloads. Money in JSON numbers is read from its
/// decimal text, never through a double. Each bad record is rejected on its own.
import_result import_orders(sales_platform platform, std::string_view body,
                            const import_options& opts = {});

/// Mercato's order id of a marketplace order: `<platform>-<order code>` when the code is a short
/// plain token, else `<platform>.h<first 32 hex digits of SHA-256 of the code>`. Deterministic, so
/// that every import of the same order reaches the same entity.
std::string marketplace_order_id(sales_platform platform, std::string_view order_code);

/// Minor units of `currency` (ISO 4217 exponent: 0 for JPY, VND, ...; 3 for KWD, ...; else 2).
int minor_digits(std::string_view currency);

/// Parses a non-negative decimal ("12", "12.5", "12.50") into minor units with `digits` fraction
/// digits, exactly; false for anything else, for more significant fraction digits than `digits`
/// and for overflow.
bool parse_minor(std::string_view text, int digits, int64_t& out);

} // namespace mercato::marketplaces
