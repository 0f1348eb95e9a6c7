#pragma once

// A tiny JSON text builder for the admin inspection of entities, and the one JSON string escaper
// that it, log lines and response bodies share. Entities (actors/) may not use nlohmann
// (STYLE §1) and may not see api/, so both live in the shared utilities.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::util {

/// Appends `s` to `out` escaped for the inside of a JSON string (no quotes added). Copies runs
/// that need no escaping in one go: it serves log lines and response bodies too. JSON text is
/// UTF-8: each byte of `s` that is not part of valid UTF-8 (a request's raw bytes quoted in an
/// error, a sequence cut short) is written as U+FFFD.
void append_json_escaped(std::string& out, std::string_view s);

/// Appends values, arrays and objects to one string, inserting commas itself:
///
///     json_text j;
///     j.begin_object().key("on_hand").value(int64_t{5}).key("holds").begin_array().end_array();
///     j.end_object();
///     std::move(j).str(); // {"on_hand":5,"holds":[]}
///
/// Misuse (a value where a key is due, unbalanced ends) is a programming error checked by assert.
class json_text {
public:
  json_text& begin_object();
  json_text& end_object();
  json_text& begin_array();
  json_text& end_array();
  json_text& key(std::string_view name);
  json_text& value(std::string_view v);
  json_text& value(const char* v) {
    return value(std::string_view{v});
  }
  json_text& value(const std::string& v) {
    return value(std::string_view{v});
  }
  json_text& value(int64_t v);
  json_text& value(uint64_t v);
  json_text& value(int v) {
    return value(static_cast<int64_t>(v));
  }
  json_text& value(bool v);
  json_text& null();
  /// An RFC 3339 UTC time with milliseconds from epoch milliseconds.
  json_text& time_ms(int64_t epoch_ms);

  /// The text so far (complete once every begin has its end).
  const std::string& view() const noexcept {
    return out_;
  }
  std::string str() && {
    return std::move(out_);
  }

private:
  void before_value();
  std::string out_;
  std::vector<bool> first_; // per open container: nothing written in it yet
  bool after_key_ = false;
};

} // namespace mercato::util
