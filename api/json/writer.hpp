#pragma once

// A tiny append-only JSON writer for responses on hot paths (no DOM, one buffer).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::api::json {

/// Appends `s` as a JSON string literal (quotes included), escaping '"', '\\' and control
/// characters. Valid UTF-8 passes through; any other byte becomes U+FFFD.
void append_string(std::string& out, std::string_view s);

/// Appends a signed/unsigned integer.
void append_int(std::string& out, int64_t v);
void append_uint(std::string& out, uint64_t v);

/// A page of a list: {"items":[...],"next_cursor":C}, C null when `next_cursor` is empty; each
/// item is written by `append_item(out, item)`.
template <class Item, class Append>
std::string page(const std::vector<Item>& items, const std::string& next_cursor, Append append_item,
                 size_t bytes_per_item = 256) {
  std::string out;
  out.reserve(64 + items.size() * bytes_per_item);
  out += "{\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_item(out, items[i]);
  }
  out += "],\"next_cursor\":";
  if (next_cursor.empty())
    out += "null";
  else
    append_string(out, next_cursor);
  out.push_back('}');
  return out;
}

/// Builds one JSON object field by field: `{"a":1,"b":"x"}`.
class object_writer {
public:
  explicit object_writer(std::string& out) : out_(out) {
    out_.push_back('{');
  }
  object_writer& field(std::string_view name, std::string_view value);
  object_writer& field(std::string_view name, const char* value) {
    return field(name, std::string_view{value});
  }
  object_writer& field(std::string_view name, int64_t value);
  object_writer& field(std::string_view name, uint64_t value);
  object_writer& field(std::string_view name, bool value);
  object_writer& null_field(std::string_view name);
  object_writer& time_field(std::string_view name, int64_t epoch_ms);
  /// Appends `"name":` and leaves the value to the caller (nested objects, arrays).
  object_writer& raw_key(std::string_view name);
  void close() {
    out_.push_back('}');
  }

private:
  void key(std::string_view name);
  std::string& out_;
  bool first_ = true;
};

} // namespace mercato::api::json
