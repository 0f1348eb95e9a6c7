// api/json/notification_codec: a customer's notification preferences and the delivery log's
// query. The first byte picks the parser, the rest is the body or the raw query string. A refused
// input must give a 400 problem; accepted preferences must survive the trip through their own
// JSON unchanged.

#include "api/json/notification_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <caf/deep_to_string.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace mercato;
using namespace mercato::api;
using mercato::fuzz::check;

namespace {

constexpr std::string_view customer = "ada";

void preferences_round_trip(std::string_view body) {
  notification_preferences p;
  auto v = parse_preferences(body, customer, p);
  if (!v.ok()) {
    fuzz::check_refusal(v.to_response());
    return;
  }
  auto text = to_json(p);
  check(fuzz::is_json(text), "preferences render as JSON");
  notification_preferences again;
  auto v2 = parse_preferences(text, customer, again);
  check(v2.ok(), "preferences' own JSON is accepted as a PUT body");
  check(caf::deep_to_string(p) == caf::deep_to_string(again), "preferences survive their JSON");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
  if (data[0] % 2 == 0) {
    preferences_round_trip(body);
  } else {
    notification_query q;
    auto v = parse_notification_query(body, q);
    if (!v.ok())
      fuzz::check_refusal(v.to_response());
    else
      check(q.limit >= 1 && q.limit <= limits::max_page, "a notification query within limits");
  }
  return 0;
}
