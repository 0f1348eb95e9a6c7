#pragma once

// Strict readers of request fields, shared by the codecs of every resource (api/json/*codec.cpp).
// Each records a field_error on failure instead of throwing.

#include "api/json/codec.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mercato::api::detail {

using njson = nlohmann::json;

/// Deepest JSON nesting a request body may have.
constexpr int max_depth = 32;

/// What a string field may contain. Every charset refuses what the journal and the database
/// cannot store (NUL, invalid UTF-8: util::is_storable_text); `any` allows other control
/// characters (line breaks in a description).
enum class charset { any, no_control, id, id_colon, upper3 };

bool is_id(std::string_view s, size_t max_len, bool allow_colon) noexcept;
bool has_control_chars(std::string_view s) noexcept;

/// True if every string and every key in `value`, at any depth, is storable text.
bool is_storable_json(const njson& value) noexcept;

/// The message of a field that is not storable text.
inline constexpr const char* unstorable_text = "must be UTF-8 text without NUL characters";

/// Parses `body` into an object; on failure records the problem under "body".
std::optional<njson> parse_object(std::string_view body, validation& v);

/// Reads an integer field within [lo, hi]. Absent or null: error if required; false then.
bool get_int(const njson& obj, const char* name, int64_t lo, int64_t hi, bool required,
             int64_t& out, validation& v);

/// Reads a string field of `min_len`..`max_len` characters of `cs`.
bool get_string(const njson& obj, const char* name, size_t min_len, size_t max_len, charset cs,
                bool required, std::string& out, validation& v);

/// A free-text query parameter: at most `max_len` characters of UTF-8, no control characters.
void get_query_text(const std::string& key, const std::string& value, size_t max_len,
                    std::string& out, validation& v);

/// Calls `fn(key, value)` for each percent-decoded parameter of a raw query string; a value that
/// does not decode is recorded in `v` instead. Unknown keys are the caller's to ignore.
void for_each_query_param(std::string_view query, validation& v,
                          const std::function<void(const std::string&, const std::string&)>& fn);

/// `limit`: an integer 1..limits::max_page.
void get_page_limit(const std::string& value, int32_t& out, validation& v);

/// `cursor`: an opaque cursor this API returned (length and characters checked only; the store
/// decodes it).
void get_cursor(const std::string& value, std::string& out, validation& v);

} // namespace mercato::api::detail
