#pragma once

// What the per-platform mappers share (internal to adapters/marketplaces/ and its tests).

#include "adapters/marketplaces/importer.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>

namespace mercato::marketplaces {

/// Why a record was rejected; `code` empty = accepted.
struct mapping_error {
  std::string code;
  std::string detail;
  bool ok() const noexcept {
    return code.empty();
  }
};

/// Parses JSON keeping every non-integer number as its decimal text (a JSON string), so that money
/// never passes through a double. Throws nlohmann::json::exception on malformed text.
nlohmann::json parse_exact(std::string_view text);

/// Maps an array of native records (parsed by parse_exact) as import_orders does after parsing.
import_batch map_records(sales_platform platform, const nlohmann::json& records,
                         const import_options& opts);

/// One platform's mapper: fills `out` from one native record, or says why not.
mapping_error map_tiktok(const nlohmann::json& rec, imported_order& out);
mapping_error map_shopee(const nlohmann::json& rec, imported_order& out);
mapping_error map_lazada(const nlohmann::json& rec, const import_options& opts,
                         imported_order& out);

// -- field readers: each returns false and sets `err` (naming `key`) on a missing or bad field --

/// A required string (or integer, written as decimal text) of at most 128 bytes of valid UTF-8.
bool read_text(const nlohmann::json& obj, const char* key, std::string& out, mapping_error& err,
               bool required = true);

/// Money: a decimal string or JSON number; absent = 0 unless `required`.
bool read_money(const nlohmann::json& obj, const char* key, int digits, int64_t& out,
                mapping_error& err, bool required = false);

/// Unix seconds (integer, or integer text) -> epoch ms; absent = 0 unless `required`.
bool read_unix_seconds(const nlohmann::json& obj, const char* key, int64_t& out_ms,
                       mapping_error& err, bool required = false);

/// A positive count (integer, or integer text) of at most 1,000,000.
bool read_count(const nlohmann::json& obj, const char* key, int64_t& out, mapping_error& err);

/// True for three upper-case ASCII letters (the form of an ISO 4217 code).
bool is_currency_code(std::string_view s) noexcept;

/// Adds `qty` units of `sku` at `unit_price` to `lines`, merging repeated SKUs of the same price.
void add_line(std::vector<cart_line>& lines, const std::string& sku, const std::string& name,
              int64_t qty, int64_t unit_price);

/// Lazada's "YYYY-MM-DD hh:mm:ss +hhmm" -> epoch ms and the offset in minutes; false if malformed.
bool parse_lazada_time(std::string_view s, int64_t& ms, int32_t& offset_min);

/// Checked arithmetic for money sums; false on overflow.
bool add_money(int64_t& acc, int64_t x);
bool mul_money(int64_t x, int64_t n, int64_t& out);

inline mapping_error invalid(std::string detail) {
  return {"invalid_request", std::move(detail)};
}

/// One status of a platform's vocabulary and what it means to Mercato.
struct status_meaning {
  std::string_view native;
  imported_status status;
};

/// What `native` means in `vocabulary`; false when the platform has no such status.
template <size_t N>
bool meaning_of(const std::array<status_meaning, N>& vocabulary, std::string_view native,
                imported_status& out) {
  for (const auto& m : vocabulary)
    if (m.native == native) {
      out = m.status;
      return true;
    }
  return false;
}

} // namespace mercato::marketplaces
