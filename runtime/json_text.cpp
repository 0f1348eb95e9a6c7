#include "runtime/json_text.hpp"

#include "runtime/logging.hpp"

#include <cassert>
#include <cstdio>
#include <ctime>

namespace mercato::runtime {

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
  auto secs = static_cast<std::time_t>(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
  auto ms = static_cast<int>(epoch_ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return value(std::string_view{buf});
}

} // namespace mercato::runtime
