#include "adapters/pg/commerce_codecs.hpp"

#include "actors/protocol/commerce.hpp"
#include "actors/protocol/errors.hpp"
#include "adapters/pg/published_events.hpp"
#include "adapters/pg/storable_json.hpp"

#include <caf/make_message.hpp>
#include <caf/sec.hpp>

#include <nlohmann/json.hpp>

namespace mercato {

// Field names are the struct members' names, so the stored JSON reads like the API's. Missing
// fields take their defaults, so that events written before a field existed still decode.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(caller, sub, admin, request_id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(coupon_terms, code, kind, value, min_subtotal_minor,
                                                usage_limit, per_customer_limit, starts_at_ms,
                                                ends_at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(coupon_use, use_id, customer_id, committed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(coupon_event, type, terms, use_id, customer_id,
                                                at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(coupon_snapshot, exists, terms, uses)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(cart_line, sku, name, quantity, unit_price_minor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(totals, currency, subtotal_minor, discount_minor,
                                                shipping_minor, total_minor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(cart_event, type, customer_id, currency, line,
                                                coupon, checkout_id, at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(cart_snapshot, exists, customer_id, currency, lines,
                                                coupon, checkout_id, created_at_ms, active_at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(cart_view, cart_id, customer_id, lines, coupon_code,
                                                sums, checkout_id, expires_at_ms, version)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(shipping_address, name, line1, city, postal_code,
                                                country, phone)
// Payment statuses are stored by name, as in the payments table.
inline void to_json(nlohmann::json& j, const payment_status& x) {
  j = to_string(x);
}
inline void from_json(const nlohmann::json& j, payment_status& x) {
  if (!from_string(j.get<std::string>(), x))
    throw nlohmann::json::other_error::create(501, "unknown payment status " + j.dump(), &j);
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(payment_view, payment_id, status, amount_minor,
                                                currency, provider, provider_ref, detail)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(order_placement, order_id, customer_id, checkout_id,
                                                cart_id, reservation_id, payment_id, coupon_code,
                                                lines, sums, ship_to, email, request_id,
                                                initial_status, payment)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(timeline_entry, seq, type, source, external_id,
                                                occurred_at_ms, recorded_at_ms, label, data)
// Marketplace platforms and statuses are stored by name, as the API shows them.
inline void to_json(nlohmann::json& j, const sales_platform& x) {
  j = to_string(x);
}
inline void from_json(const nlohmann::json& j, sales_platform& x) {
  if (!from_string(j.get<std::string>(), x))
    throw nlohmann::json::other_error::create(501, "unknown platform " + j.dump(), &j);
}
inline void to_json(nlohmann::json& j, const imported_status& x) {
  j = to_string(x);
}
inline void from_json(const nlohmann::json& j, imported_status& x) {
  if (!from_string(j.get<std::string>(), x))
    throw nlohmann::json::other_error::create(501, "unknown imported status " + j.dump(), &j);
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(imported_order, platform, order_code, order_id,
                                                customer_id, customer_name, currency, lines,
                                                gross_minor, seller_discount_minor,
                                                platform_discount_minor, shipping_minor,
                                                final_minor, status, native_status, cancel_reason,
                                                order_date_ms, utc_offset_min, completed_at_ms,
                                                cancelled_at_ms, updated_at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(order_event, type, placement, status, reason, fact,
                                                eta_ms, status_after, at_ms, next_check_ms, market)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(order_snapshot, exists, placement, status,
                                                own_status, cancel_reason, compensated, timeline,
                                                eta_ms, created_at_ms, updated_at_ms,
                                                own_status_at_ms, next_check_ms, market)
// The payment token is left out on purpose: a card token is never journaled.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(checkout_cmd, who, idempotency_key, body_digest,
                                                cart_id, ship_to, email)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(checkout_step, name, status, detail, at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(checkout_event, type, cmd, attempt, renews, cart,
                                                discount_minor, steps, code, detail, skus,
                                                retryable, owed, at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(checkout_view, exists, checkout_id, order_id,
                                                status, cmd, attempt, first_attempt, cart,
                                                discount_minor, steps, code, detail, skus,
                                                retryable, owed, finished, created_at_ms,
                                                updated_at_ms, version)

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(payment_event, type, status, amount_minor, currency,
                                                provider, provider_ref, detail, customer_id, source,
                                                event_id, changed, seen_events, request_id, at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(payment_snapshot, exists, payment, customer_id,
                                                seen_events)
} // namespace mercato

namespace mercato::pg {

namespace {

using nlohmann::json;

caf::error unreadable(const char* what, const std::string& why) {
  return caf::make_error(caf::sec::runtime_error,
                         std::string{"cannot decode "} + what + ": " + why);
}

// Leaves member `key` out when it is exactly a default-constructed T, which is what decoding a
// missing member gives back: lossless, and the journal and the outbox store what an event says
// rather than empty structures (an order's placement outside `placed`, a checkout's command and
// cart outside `started`: up to 1 KB each).
template <class T>
void omit_if_default(json& j, const char* key) {
  static const json empty = T{};
  auto i = j.find(key);
  if (i != j.end() && *i == empty)
    j.erase(i);
}

template <class Event>
void omit_defaults(json&) {}

template <>
void omit_defaults<order_event>(json& j) {
  omit_if_default<order_placement>(j, "placement");
  omit_if_default<timeline_entry>(j, "fact");
  omit_if_default<imported_order>(j, "market");
}

template <>
void omit_defaults<checkout_event>(json& j) {
  omit_if_default<checkout_cmd>(j, "cmd");
  omit_if_default<cart_view>(j, "cart");
  omit_if_default<bool>(j, "renews");
}

template <class Event>
constexpr const char* kind_of = nullptr;
template <>
constexpr const char* kind_of<coupon_event> = "coupon";
template <>
constexpr const char* kind_of<cart_event> = "cart";
template <>
constexpr const char* kind_of<order_event> = "order";
template <>
constexpr const char* kind_of<checkout_event> = "checkout";
template <>
constexpr const char* kind_of<payment_event> = "payment";

// One codec per (event, snapshot) pair; the event's `type` member is the journal's event_type.
template <class Event, class Snapshot>
struct json_codec {
  static caf::expected<encoded_event> encode_event(const caf::message& msg) {
    if (!msg.match_elements<Event>())
      return caf::make_error(mercato_errc::invalid_request,
                             "unexpected event " + caf::to_string(msg));
    const auto& ev = msg.get_as<Event>(0);
    json j = ev;
    omit_defaults<Event>(j);
    auto text = dump_storable(j);
    if (!text)
      return std::move(text.error());
    encoded_event out{ev.type, std::move(*text), publication::none, {}};
    if (auto pub = published_form(kind_of<Event>, ev.type, j)) {
      auto pub_text = dump_storable(*pub);
      if (!pub_text)
        return std::move(pub_text.error());
      out.publish = publication::form;
      out.published = std::move(*pub_text);
    }
    return out;
  }

  static caf::expected<caf::message> decode_event(const std::string& type,
                                                  const std::string& payload) {
    try {
      auto ev = json::parse(payload).get<Event>();
      ev.type = type;
      return caf::make_message(std::move(ev));
    } catch (const json::exception& e) {
      return unreadable("event", e.what());
    }
  }

  static caf::expected<std::string> encode_snapshot(const caf::message& msg) {
    if (!msg.match_elements<Snapshot>())
      return caf::make_error(mercato_errc::invalid_request,
                             "unexpected snapshot " + caf::to_string(msg));
    return dump_storable(json(msg.get_as<Snapshot>(0)));
  }

  static caf::expected<caf::message> decode_snapshot(const std::string& state) {
    try {
      return caf::make_message(json::parse(state).get<Snapshot>());
    } catch (const json::exception& e) {
      return unreadable("snapshot", e.what());
    }
  }

  static entity_codec make() {
    return entity_codec{kind_of<Event>, encode_event, decode_event, encode_snapshot,
                        decode_snapshot};
  }
};

} // namespace

std::vector<entity_codec> commerce_codecs() {
  return {
    json_codec<coupon_event, coupon_snapshot>::make(),
    json_codec<cart_event, cart_snapshot>::make(),
    json_codec<order_event, order_snapshot>::make(),
    json_codec<checkout_event, checkout_view>::make(),
    json_codec<payment_event, payment_snapshot>::make(),
  };
}

} // namespace mercato::pg
