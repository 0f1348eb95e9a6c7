#include "actors/protocol/commerce.hpp"

#include <array>
#include <string_view>

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

} // namespace mercato
