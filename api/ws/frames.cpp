#include "api/ws/frames.hpp"

#include "actors/protocol/commerce.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/json/writer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace mercato::api::ws {

namespace jw = mercato::api::json;

namespace {

// Never the placement: partners get this same frame (frames.hpp).
void order_data(std::string& out, const std::string& id, const order_event& e) {
  jw::object_writer w{out};
  w.field("order_id", id).field("type", e.type).field("status", e.status_after);
  w.time_field("at", e.at_ms);
  // Not the cancel reason either: a customer's own words (REST gives it to the customer).
  if (e.eta_ms > 0)
    w.time_field("eta", e.eta_ms);
  if (!e.fact.type.empty()) {
    w.raw_key("event");
    append_json(out, e.fact);
  }
  w.close();
}

void stock_data(std::string& out, const std::string& sku, const stock_event& e) {
  jw::object_writer w{out};
  w.field("sku", sku).field("type", to_string(e.type));
  switch (e.type) {
  case stock_event_type::on_hand_set:
  case stock_event_type::adjusted:
    w.field("delta", e.delta);
    break;
  default:
    w.field("qty", e.qty);
  }
  w.time_field("at", e.at_ms);
  w.close();
}

void cart_data(std::string& out, const std::string& id, const cart_event& e) {
  jw::object_writer w{out};
  w.field("cart_id", id).field("type", e.type).time_field("at", e.at_ms);
  if (!e.line.sku.empty()) {
    if (e.line.quantity > 0) {
      w.raw_key("line");
      append_json(out, e.line);
    } else {
      w.field("sku", e.line.sku);
    }
  }
  if (!e.coupon.code.empty())
    w.field("coupon_code", e.coupon.code);
  if (!e.checkout_id.empty())
    w.field("checkout_id", e.checkout_id);
  w.close();
}

void customer_data(std::string& out, const std::string& id, const customer_event& e) {
  jw::object_writer w{out};
  if (e.type == "notification") {
    // A new message of their inbox: its text, never where else it was sent.
    w.field("customer_id", id).field("type", e.type).field("order_id", e.order.order_id);
    w.raw_key("notification");
    append_json(out, e.notification);
    w.time_field("at", e.at_ms);
    w.close();
    return;
  }
  w.field("customer_id", id)
    .field("type", e.type)
    .field("order_id", e.order.order_id)
    .field("status", e.order.status)
    .field("order_seq", e.order.order_seq)
    .field("change", e.change);
  if (!e.fact_type.empty())
    w.field("fact_type", e.fact_type);
  w.time_field("at", e.at_ms);
  w.close();
}

std::string frame_head(std::string_view type, std::string_view topic, uint64_t seq) {
  std::string out;
  out.reserve(512);
  out += R"({"type":")";
  out += type;
  out += R"(","topic":)";
  jw::append_string(out, topic);
  out += R"(,"seq":)";
  out += std::to_string(seq);
  out += R"(,"data":)";
  return out;
}

} // namespace

runtime::frame_ptr encode_event(const std::string& topic, const committed_event& e) {
  auto out = frame_head("event", topic, e.seq);
  if (e.kind == "order" && e.event.match_elements<order_event>())
    order_data(out, e.entity_id, e.event.get_as<order_event>(0));
  else if (e.kind == "stock" && e.event.match_elements<stock_event>())
    stock_data(out, e.entity_id, e.event.get_as<stock_event>(0));
  else if (e.kind == "customer" && e.event.match_elements<customer_event>())
    customer_data(out, e.entity_id, e.event.get_as<customer_event>(0));
  else if (e.kind == "cart" && e.event.match_elements<cart_event>())
    cart_data(out, e.entity_id, e.event.get_as<cart_event>(0));
  else
    return nullptr;
  out.push_back('}');
  return std::make_shared<const runtime::topic_frame>(
    runtime::topic_frame{topic, e.seq, std::move(out)});
}

namespace {

std::string frame_of(std::string_view type, std::string_view topic, uint64_t seq,
                     std::string_view data) {
  auto out = frame_head(type, topic, seq);
  out += data;
  out.push_back('}');
  return out;
}

} // namespace

std::string snapshot_frame(std::string_view topic, uint64_t seq, std::string_view data) {
  return frame_of("snapshot", topic, seq, data);
}

std::string event_frame(std::string_view topic, uint64_t seq, std::string_view data) {
  return frame_of("event", topic, seq, data);
}

std::string error_frame(std::string_view code, std::string_view topic, std::string_view detail) {
  std::string out;
  jw::object_writer w{out};
  w.field("type", "error").field("code", code);
  if (!topic.empty())
    w.field("topic", topic);
  w.field("detail", detail);
  w.close();
  return out;
}

std::string pong_frame() {
  return R"({"type":"pong"})";
}

std::string authenticated_frame(int64_t expires_at_s) {
  std::string out;
  jw::object_writer w{out};
  constexpr int64_t year_9999_s = 253402300799; // RFC 3339 ends there
  w.field("type", "authenticated")
    .time_field("expires_at", std::min(expires_at_s, year_9999_s) * 1000);
  w.close();
  return out;
}

bool parse_client_message(std::string_view text, client_message& out, std::string& error) {
  nlohmann::json msg;
  try {
    msg = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    error = error_frame("invalid_request", {}, "malformed JSON");
    return false;
  }
  if (!msg.is_object() || !msg.contains("op") || !msg["op"].is_string()) {
    error = error_frame("invalid_request", {}, "expected an object with a string op");
    return false;
  }
  const auto& op = msg["op"].get_ref<const std::string&>();
  if (op == "ping") {
    out.op = client_message::kind::ping;
    return true;
  }
  if (op == "auth") {
    auto it = msg.find("token");
    if (it == msg.end() || !it->is_string()) {
      error = error_frame("invalid_request", {}, "token must be a string");
      return false;
    }
    out.op = client_message::kind::auth;
    out.token = it->get_ref<const std::string&>();
    return true;
  }
  if (op != "subscribe" && op != "unsubscribe") {
    error = error_frame("invalid_request", {}, "unknown op");
    return false;
  }
  auto it = msg.find("topic");
  if (it == msg.end() || !it->is_string()) {
    error = error_frame("invalid_request", {}, "topic must be a string");
    return false;
  }
  const auto& topic = it->get_ref<const std::string&>();
  std::string code;
  std::string detail;
  if (!parse_topic(topic, out.topic, code, detail)) {
    error = error_frame(code, topic.substr(0, 256), detail);
    return false;
  }
  if (op == "unsubscribe") {
    out.op = client_message::kind::unsubscribe;
    return true;
  }
  out.op = client_message::kind::subscribe;
  if (auto ls = msg.find("last_seq"); ls != msg.end()) {
    if (!ls->is_number_unsigned()) {
      error = error_frame("invalid_request", out.topic.topic,
                          "last_seq must be a non-negative integer");
      return false;
    }
    out.last_seq = ls->get<uint64_t>();
  }
  return true;
}

} // namespace mercato::api::ws
