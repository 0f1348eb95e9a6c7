#include "actors/protocol/messages.hpp"

#include <array>
#include <utility>

namespace mercato {

namespace {

constexpr std::array<std::pair<stock_event_type, const char*>, 6> stock_event_names{{
  {stock_event_type::on_hand_set, "on_hand_set"},
  {stock_event_type::adjusted, "adjusted"},
  {stock_event_type::reserved, "reserved"},
  {stock_event_type::committed, "committed"},
  {stock_event_type::released, "released"},
  {stock_event_type::expired, "expired"},
}};

} // namespace

std::string to_string(stock_event_type x) {
  for (const auto& [type, name] : stock_event_names)
    if (type == x)
      return name;
  return "unknown";
}

bool from_string(const std::string& name, stock_event_type& out) {
  for (const auto& [type, text] : stock_event_names)
    if (name == text) {
      out = type;
      return true;
    }
  return false;
}

} // namespace mercato
