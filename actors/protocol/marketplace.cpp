#include "actors/protocol/commerce.hpp"

#include <array>
#include <string_view>

namespace mercato {

namespace {

constexpr std::array<std::string_view, 4> platform_names{"web", "tiktok", "shopee", "lazada"};
constexpr std::array<std::string_view, 4> status_names{"pending", "completed", "cancelled",
                                                       "returned"};

template <class Enum, size_t N>
bool parse_enum(const std::array<std::string_view, N>& names, const std::string& name, Enum& out) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == name) {
      out = static_cast<Enum>(i);
      return true;
    }
  return false;
}

} // namespace

std::string to_string(sales_platform x) {
  return std::string{platform_names.at(static_cast<size_t>(x))};
}

bool from_string(const std::string& name, sales_platform& out) {
  return parse_enum(platform_names, name, out);
}

std::string to_string(imported_status x) {
  return std::string{status_names.at(static_cast<size_t>(x))};
}

bool from_string(const std::string& name, imported_status& out) {
  return parse_enum(status_names, name, out);
}

std::string to_string(import_outcome x) {
  switch (x) {
  case import_outcome::imported:
    return "imported";
  case import_outcome::updated:
    return "updated";
  case import_outcome::unchanged:
    break;
  }
  return "unchanged";
}

} // namespace mercato
