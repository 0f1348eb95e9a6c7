#pragma once

// Internal to adapters/pg: PostgreSQL array literals, so that one statement takes many rows as a
// few array parameters (unnest turns them back into rows).

#include <string>
#include <string_view>

namespace mercato::pg {

/// Builds a PostgreSQL array literal, one element at a time.
class array_literal {
public:
  void add_quoted(std::string_view v) {
    open();
    out_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\')
        out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  void add_raw(std::string_view v) { // numbers, uuids: nothing to escape
    open();
    out_ += v;
  }
  void add_null() {
    add_raw("NULL");
  }
  std::string done() {
    if (out_.empty())
      return "{}";
    out_ += '}';
    return std::move(out_);
  }

private:
  void open() {
    out_ += out_.empty() ? '{' : ',';
  }
  std::string out_;
};

} // namespace mercato::pg
