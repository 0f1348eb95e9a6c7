#include "runtime/util/json_text.hpp"

#include "runtime/util/text.hpp"
#include "runtime/util/time.hpp"

#include <cassert>
#include <cstdio>
#include <ctime>

namespace mercato::util {

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  size_t run = 0; // start of the current run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
      continue;
    if (c >= 0x80) {
      if (auto n = utf8_sequence_length(s, i); n > 0) {
        i += n - 1;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c >= 0x80) {
        out += "\\ufffd"; // JSON text is UTF-8: a byte that is not becomes U+FFFD
      } else {
        char buf[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        out.append(buf, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
}

void json_text::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back())
      out_ += ',';
    first_.back() = false;
  }
}

json_text& json_text::begin_object() {
  before_value();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

json_text& json_text::end_object() {
  assert(!first_.empty() && !after_key_);
  first_.pop_back();
  out_ += '}';
  return *this;
}

json_text& json_text::begin_array() {
  before_value();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

json_text& json_text::end_array() {
  assert(!first_.empty() && !after_key_);
  first_.pop_back();
  out_ += ']';
  return *this;
}

json_text& json_text::key(std::string_view name) {
  assert(!after_key_);
  before_value();
  out_ += '"';
  append_json_escaped(out_, name);
  out_ += "\":";
  after_key_ = true;
  return *this;
}

json_text& json_text::value(std::string_view v) {
  before_value();
  out_ += '"';
  append_json_escaped(out_, v);
  out_ += '"';
  return *this;
}

json_text& json_text::value(int64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

json_text& json_text::value(uint64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

json_text& json_text::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

json_text& json_text::null() {
  before_value();
  out_ += "null";
  return *this;
}

json_text& json_text::time_ms(int64_t epoch_ms) {
  before_value();
  out_ += '"';
  append_rfc3339_ms(out_, epoch_ms);
  out_ += '"';
  return *this;
}

} // namespace mercato::util
