// api/ws/frames: what a WebSocket client sends (ping, auth, subscribe, unsubscribe), as the
// session reads each text frame. A refused frame must be answered with an error frame that is
// JSON; an accepted subscription must name a valid topic that the frames then echo as JSON.

#include "api/json/codec.hpp"
#include "api/ws/frames.hpp"
#include "runtime/util/text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace mercato;
using namespace mercato::api;
using namespace mercato::api::ws;
using mercato::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  client_message msg;
  std::string error;
  if (!parse_client_message(text, msg, error)) {
    check(fuzz::is_json(error), "an error frame is JSON");
    auto doc = nlohmann::json::parse(error);
    check(doc["type"] == "error" && doc["code"].is_string(), "an error frame has a code");
    return 0;
  }
  switch (msg.op) {
  case client_message::kind::ping:
  case client_message::kind::auth:
    break;
  case client_message::kind::subscribe:
  case client_message::kind::unsubscribe: {
    const auto& t = msg.topic;
    check(t.topic == t.kind + ":" + t.id, "a topic is kind:id");
    check(t.kind == "stock" ? is_valid_sku(t.id) : t.id.size() <= 64 && !t.id.empty(),
          "a topic names a valid id");
    check(fuzz::is_json(snapshot_frame(t.topic, msg.last_seq.value_or(0), "{}")),
          "a snapshot frame of the topic is JSON");
    check(fuzz::is_json(error_frame("conflict", t.topic, "already subscribed")),
          "an error frame of the topic is JSON");
    break;
  }
  }
  return 0;
}
