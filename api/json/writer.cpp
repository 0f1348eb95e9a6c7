#include "api/json/writer.hpp"

#include "runtime/util/json_text.hpp"
#include "runtime/util/time.hpp"

#include <charconv>

namespace mercato::api::json {

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  util::append_json_escaped(out, s);
  out.push_back('"');
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

void object_writer::key(std::string_view name) {
  if (!first_)
    out_.push_back(',');
  first_ = false;
  append_string(out_, name);
  out_.push_back(':');
}

object_writer& object_writer::field(std::string_view name, std::string_view value) {
  key(name);
  append_string(out_, value);
  return *this;
}

object_writer& object_writer::field(std::string_view name, int64_t value) {
  key(name);
  append_int(out_, value);
  return *this;
}

object_writer& object_writer::field(std::string_view name, uint64_t value) {
  key(name);
  append_uint(out_, value);
  return *this;
}

object_writer& object_writer::field(std::string_view name, bool value) {
  key(name);
  out_ += value ? "true" : "false";
  return *this;
}

object_writer& object_writer::null_field(std::string_view name) {
  key(name);
  out_ += "null";
  return *this;
}

object_writer& object_writer::time_field(std::string_view name, int64_t epoch_ms) {
  key(name);
  out_.push_back('"');
  util::append_rfc3339_ms(out_, epoch_ms);
  out_.push_back('"');
  return *this;
}

object_writer& object_writer::raw_key(std::string_view name) {
  key(name);
  return *this;
}

} // namespace mercato::api::json
