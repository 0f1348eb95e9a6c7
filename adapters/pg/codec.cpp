#include "adapters/pg/codec.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/messages.hpp"
#include "adapters/pg/commerce_codecs.hpp"
#include "adapters/pg/storable_json.hpp"

#include <caf/make_message.hpp>
#include <caf/sec.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <shared_mutex>

namespace mercato::pg {

namespace {

using nlohmann::json;

caf::error unreadable(const std::string& what, const std::string& why) {
  return caf::make_error(caf::sec::runtime_error, "cannot decode " + what + ": " + why);
}

// -- stock ------------------------------------------------------------------------------------

// Each type always writes the fields it uses (so outbox consumers see a stable shape) and any
// other non-default field (so that a round trip never loses data).
caf::expected<encoded_event> encode_stock_event(const caf::message& msg) {
  if (!msg.match_elements<stock_event>())
    return caf::make_error(mercato_errc::invalid_request,
                           "stock event expected, got " + caf::to_string(msg));
  const auto& ev = msg.get_as<stock_event>(0);
  bool uses_delta = false, uses_reason = false, uses_hold = false, uses_expiry = false;
  switch (ev.type) {
  case stock_event_type::on_hand_set:
    uses_delta = true;
    break;
  case stock_event_type::adjusted:
    uses_delta = uses_reason = true;
    break;
  case stock_event_type::reserved:
    uses_hold = uses_expiry = true;
    break;
  case stock_event_type::committed:
  case stock_event_type::released:
  case stock_event_type::expired:
    uses_hold = true;
    break;
  }
  json j = json::object();
  if (uses_delta || ev.delta != 0)
    j["delta"] = ev.delta;
  if (uses_reason || !ev.reason.empty())
    j["reason"] = ev.reason;
  if (uses_hold || !ev.reservation_id.empty())
    j["reservation_id"] = ev.reservation_id;
  if (uses_hold || ev.qty != 0)
    j["qty"] = ev.qty;
  if (uses_expiry || ev.expires_at_ms != 0)
    j["expires_at_ms"] = ev.expires_at_ms;
  j["at_ms"] = ev.at_ms;
  auto payload = dump_storable(j);
  if (!payload)
    return std::move(payload.error());
  // Stock events hold nothing private: the outbox carries them whole.
  return encoded_event{to_string(ev.type), std::move(*payload), publication::whole, {}};
}

caf::expected<caf::message> decode_stock_event(const std::string& type,
                                               const std::string& payload) {
  stock_event ev;
  if (!from_string(type, ev.type))
    return unreadable("stock event", "unknown type " + type);
  try {
    auto j = json::parse(payload);
    ev.delta = j.value("delta", int64_t{0});
    ev.reason = j.value("reason", std::string{});
    ev.reservation_id = j.value("reservation_id", std::string{});
    ev.qty = j.value("qty", int64_t{0});
    ev.expires_at_ms = j.value("expires_at_ms", int64_t{0});
    ev.at_ms = j.value("at_ms", int64_t{0});
  } catch (const json::exception& e) {
    return unreadable("stock event", e.what());
  }
  return caf::make_message(std::move(ev));
}

caf::expected<std::string> encode_stock_snapshot(const caf::message& msg) {
  if (!msg.match_elements<stock_snapshot>())
    return caf::make_error(mercato_errc::invalid_request,
                           "stock snapshot expected, got " + caf::to_string(msg));
  const auto& s = msg.get_as<stock_snapshot>(0);
  json holds = json::array();
  for (const auto& h : s.holds)
    holds.push_back(
      {{"reservation_id", h.reservation_id}, {"qty", h.qty}, {"expires_at_ms", h.expires_at_ms}});
  json closed = json::array();
  for (const auto& c : s.closed)
    closed.push_back(
      {{"reservation_id", c.reservation_id}, {"outcome", to_string(c.outcome)}, {"qty", c.qty}});
  return dump_storable({{"exists", s.exists},
                        {"on_hand", s.on_hand},
                        {"holds", std::move(holds)},
                        {"closed", std::move(closed)}});
}

caf::expected<caf::message> decode_stock_snapshot(const std::string& state) {
  stock_snapshot s;
  try {
    auto j = json::parse(state);
    s.exists = j.value("exists", false);
    s.on_hand = j.value("on_hand", int64_t{0});
    for (const auto& h : j.value("holds", json::array()))
      s.holds.push_back(stock_hold{h.at("reservation_id").get<std::string>(),
                                   h.value("qty", int64_t{0}),
                                   h.value("expires_at_ms", int64_t{0})});
    for (const auto& c : j.value("closed", json::array())) {
      stock_closed_hold ch;
      ch.reservation_id = c.at("reservation_id").get<std::string>();
      auto outcome = c.value("outcome", std::string{});
      if (!from_string(outcome, ch.outcome))
        return unreadable("stock snapshot", "unknown hold outcome " + outcome);
      ch.qty = c.value("qty", int64_t{0});
      s.closed.push_back(std::move(ch));
    }
  } catch (const json::exception& e) {
    return unreadable("stock snapshot", e.what());
  }
  return caf::make_message(std::move(s));
}

// -- registry ---------------------------------------------------------------------------------

struct registry {
  std::shared_mutex mtx;
  std::map<std::string, entity_codec> codecs;

  registry() {
    codecs.emplace("stock", entity_codec{"stock", encode_stock_event, decode_stock_event,
                                         encode_stock_snapshot, decode_stock_snapshot});
    for (auto& c : commerce_codecs()) {
      auto kind = c.kind;
      codecs.emplace(std::move(kind), std::move(c));
    }
  }
};

registry& the_registry() {
  static registry instance;
  return instance;
}

caf::error unknown_kind(const std::string& kind) {
  return caf::make_error(mercato_errc::invalid_request, "no codec for entity kind " + kind);
}

} // namespace

void register_codec(entity_codec codec) {
  auto& r = the_registry();
  std::unique_lock<std::shared_mutex> guard{r.mtx};
  auto kind = codec.kind;
  r.codecs.insert_or_assign(std::move(kind), std::move(codec));
}

const entity_codec* find_codec(const std::string& kind) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  auto i = r.codecs.find(kind);
  return i != r.codecs.end() ? &i->second : nullptr;
}

std::vector<std::string> codec_kinds() {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  std::vector<std::string> out;
  for (const auto& kv : r.codecs)
    out.push_back(kv.first);
  return out;
}

caf::expected<encoded_event> encode_event(const std::string& kind, const caf::message& event) {
  if (auto c = find_codec(kind))
    return c->encode_event(event);
  return unknown_kind(kind);
}

caf::expected<caf::message> decode_event(const std::string& kind, const std::string& type,
                                         const std::string& payload) {
  if (auto c = find_codec(kind))
    return c->decode_event(type, payload);
  return unknown_kind(kind);
}

caf::expected<std::string> encode_snapshot(const std::string& kind, const caf::message& snapshot) {
  if (auto c = find_codec(kind))
    return c->encode_snapshot(snapshot);
  return unknown_kind(kind);
}

caf::expected<caf::message> decode_snapshot(const std::string& kind, const std::string& state) {
  if (auto c = find_codec(kind))
    return c->decode_snapshot(state);
  return unknown_kind(kind);
}

namespace {

// True if the JSON text escapes a NUL character: a `\u0000` whose backslash starts an escape,
// i.e. follows an even run of backslashes (`\\u0000` is a backslash and the text "u0000").
bool escapes_nul(const std::string& text) {
  for (auto at = text.find("u0000"); at != std::string::npos; at = text.find("u0000", at + 1)) {
    size_t backslashes = 0;
    while (backslashes < at && text[at - 1 - backslashes] == '\\')
      ++backslashes;
    if (backslashes % 2 == 1)
      return true;
  }
  return false;
}

} // namespace

caf::expected<std::string> dump_storable(const nlohmann::json& j) {
  try {
    auto text = j.dump();
    if (escapes_nul(text))
      return caf::make_error(mercato_errc::invalid_request, "text contains a NUL character");
    return text;
  } catch (const nlohmann::json::exception& e) { // invalid UTF-8 in a string
    return caf::make_error(mercato_errc::invalid_request, std::string{e.what()});
  }
}

} // namespace mercato::pg
