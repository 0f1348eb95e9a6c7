#include "actors/protocol/messages.hpp"

#include <array>
#include <utility>

namespace mercato {

namespace {

template <class Enum, size_t N>
using name_table = std::array<std::pair<Enum, const char*>, N>;

constexpr name_table<stock_event_type, 6> stock_event_names{{
  {stock_event_type::on_hand_set, "on_hand_set"},
  {stock_event_type::adjusted, "adjusted"},
  {stock_event_type::reserved, "reserved"},
  {stock_event_type::committed, "committed"},
  {stock_event_type::released, "released"},
  {stock_event_type::expired, "expired"},
}};

constexpr name_table<payment_status, 6> payment_status_names{{
  {payment_status::pending, "pending"},
  {payment_status::authorized, "authorized"},
  {payment_status::declined, "declined"},
  {payment_status::captured, "captured"},
  {payment_status::voided, "voided"},
  {payment_status::refunded, "refunded"},
}};

template <class Enum, size_t N>
std::string name_of(const name_table<Enum, N>& table, Enum x) {
  for (const auto& [value, name] : table)
    if (value == x)
      return name;
  return "unknown";
}

template <class Enum, size_t N>
bool value_of(const name_table<Enum, N>& table, const std::string& name, Enum& out) {
  for (const auto& [value, text] : table)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

} // namespace

std::string to_string(stock_event_type x) {
  return name_of(stock_event_names, x);
}

bool from_string(const std::string& name, stock_event_type& out) {
  return value_of(stock_event_names, name, out);
}

std::string to_string(payment_status x) {
  return name_of(payment_status_names, x);
}

bool from_string(const std::string& name, payment_status& out) {
  return value_of(payment_status_names, name, out);
}

} // namespace mercato
