#include "actors/protocol/commerce.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace mercato {

namespace {

constexpr std::array<std::string_view, 5> sources{"payment", "manufacturing", "fulfillment",
                                                  "logistics", "support"};

constexpr std::array<std::string_view, 15> event_types{
  "payment_authorized",
  "payment_captured",
  "payment_failed",
  "production_started",
  "production_completed",
  "packed",
  "handed_to_carrier",
  "in_transit",
  "out_for_delivery",
  "delivered",
  "delivery_failed",
  "return_requested",
  "returned",
  "refunded",
  "eta_updated",
};

template <size_t N>
bool contains(const std::array<std::string_view, N>& xs, const std::string& x) {
  for (auto v : xs)
    if (v == x)
      return true;
  return false;
}

} // namespace

bool is_event_source(const std::string& source) {
  return contains(sources, source);
}

bool is_event_type(const std::string& type) {
  return contains(event_types, type);
}

std::string_view status_of_fact(std::string_view type) {
  static constexpr std::pair<std::string_view, std::string_view> moves[] = {
    {"production_started", "in_production"},
    {"production_completed", "produced"},
    {"handed_to_carrier", "shipped"},
    {"in_transit", "shipped"},
    {"out_for_delivery", "out_for_delivery"},
    {"delivered", "delivered"},
    {"delivery_failed", "delivery_failed"},
    {"returned", "returned"},
    {"refunded", "refunded"},
  };
  for (const auto& [t, status] : moves)
    if (t == type)
      return status;
  return {};
}

} // namespace mercato
