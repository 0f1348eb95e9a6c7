#pragma once

// The text frames of /v1/ws (API.md, WebSocket). Free of Beast and CAF behaviour code.

#include "actors/protocol/messages.hpp"
#include "api/ws/ws_env.hpp"
#include "runtime/topic_hub.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mercato::api::ws {

/// The hub's encoder: {"type":"event","topic":T,"seq":N,"data":{...}} for the events of orders,
/// stock items, carts and customers; null for any other kind. One frame goes to every subscriber
/// of the topic, partners (`service`) on orders included, so order frames carry no personal
/// data: a `placed` event leaves its placement (address, phone, email) out, a cancellation its
/// reason (the customer's own words).
///   order: {order_id, type, status (after the event), at, eta?, event? (the timeline
///          entry of a partner fact)}
///   stock: {sku, type, qty?, delta?, at} — a change to fold onto the snapshot's figures
///   cart:  {cart_id, type, at, line?, sku?, coupon_code?, checkout_id?}
///   customer: {customer_id, type: order_updated, order_id, status, order_seq, change,
///          fact_type?, at} — one per change of any of the customer's orders
runtime::frame_ptr encode_event(const std::string& topic, const committed_event& e);

/// {"type":"snapshot","topic":T,"seq":N,"data":DATA}; `data` is a JSON object.
std::string snapshot_frame(std::string_view topic, uint64_t seq, std::string_view data);

/// {"type":"event","topic":T,"seq":N,"data":DATA} for a topic that is not an entity's (each of
/// admin:cluster's events is the whole description); `data` is a JSON object.
std::string event_frame(std::string_view topic, uint64_t seq, std::string_view data);

/// {"type":"error","code":C,"topic"?:T,"detail":D}
std::string error_frame(std::string_view code, std::string_view topic, std::string_view detail);

/// {"type":"pong"}
std::string pong_frame();

/// {"type":"authenticated","expires_at":T}: a fresh token was taken; the session now ends at T.
std::string authenticated_frame(int64_t expires_at_s);

/// What a client's text frame asks for.
struct client_message {
  enum class kind : uint8_t { ping, auth, subscribe, unsubscribe };
  kind op = kind::ping;
  std::string token;                ///< auth: the fresh token (not yet verified)
  topic_ref topic;                  ///< subscribe, unsubscribe: a valid topic
  std::optional<uint64_t> last_seq; ///< subscribe: resume after this seq
};

/// Reads a client's text frame: {"op":"ping"}, {"op":"auth","token":T}, {"op":"subscribe",
/// "topic":T,"last_seq"?:N} or {"op":"unsubscribe","topic":T}; unknown members are ignored. On
/// failure returns false with the error frame to answer in `error`.
bool parse_client_message(std::string_view text, client_message& out, std::string& error);

} // namespace mercato::api::ws
