#include "adapters/pg/published_events.hpp"

#include <initializer_list>
#include <map>
#include <utility>
#include <vector>

namespace mercato::pg {

namespace {

using nlohmann::json;
// JSON pointers into the stored event, parsed once.
struct paths {
  std::vector<json::json_pointer> pointers;
  paths() = default;
  paths(std::initializer_list<const char*> texts) {
    for (const auto* text : texts)
      pointers.emplace_back(text);
  }
};

// The order's public members; shared by every order event type. Not `reason`: a customer's own
// words when they cancel, which may say anything about them.
// A marketplace order's import without its buyer (id and name are personal data).
const paths order_common{"/status",
                         "/status_after",
                         "/eta_ms",
                         "/at_ms",
                         "/market/platform",
                         "/market/order_code",
                         "/market/status",
                         "/market/native_status",
                         "/market/currency",
                         "/market/gross_minor",
                         "/market/seller_discount_minor",
                         "/market/platform_discount_minor",
                         "/market/shipping_minor",
                         "/market/final_minor",
                         "/market/order_date_ms",
                         "/market/completed_at_ms",
                         "/market/cancelled_at_ms",
                         "/market/updated_at_ms"};
const paths order_placed{"/placement/order_id",    "/placement/customer_id",
                         "/placement/checkout_id", "/placement/coupon_code",
                         "/placement/lines",       "/placement/sums"};
// A partner fact without its free-form `data`, which may name people and places.
const paths order_fact{"/fact/seq",         "/fact/type",           "/fact/source",
                       "/fact/external_id", "/fact/occurred_at_ms", "/fact/recorded_at_ms",
                       "/fact/label"};

struct rule {
  paths common;                         ///< every type of the kind
  std::map<std::string, paths> by_type; ///< more for one type
};

// Kinds absent here are not published.
const std::map<std::string, rule>& rules() {
  static const std::map<std::string, rule> table{
    {"stock", {{"/delta", "/reason", "/reservation_id", "/qty", "/expires_at_ms", "/at_ms"}, {}}},
    {"order", {order_common, {{"placed", order_placed}, {"fact_recorded", order_fact}}}},
    {"checkout",
     {{"/attempt", "/at_ms"},
      {{"started", {"/cmd/cart_id"}},
       {"order_placed", {"/discount_minor"}}, // journals of before `completed` carried it
       {"completed", {"/discount_minor"}},
       {"failed", {"/code", "/skus", "/retryable"}},
       {"compensated", {"/owed"}}}}},
    {"payment", {{"/status", "/amount_minor", "/currency", "/provider", "/changed", "/at_ms"}, {}}},
    {"coupon", {{"/use_id", "/at_ms"}, {{"defined", {"/terms"}}}}},
  };
  return table;
}

void copy(const json& from, json& to, const paths& ps) {
  for (const auto& ptr : ps.pointers)
    if (from.contains(ptr))
      to[ptr] = from.at(ptr);
}

} // namespace

bool is_published_kind(const std::string& kind) {
  return rules().count(kind) > 0;
}

std::optional<json> published_form(const std::string& kind, const std::string& type,
                                   const json& stored) {
  auto r = rules().find(kind);
  if (r == rules().end())
    return std::nullopt;
  json out = json::object();
  copy(stored, out, r->second.common);
  if (auto t = r->second.by_type.find(type); t != r->second.by_type.end())
    copy(stored, out, t->second);
  return out;
}

} // namespace mercato::pg
