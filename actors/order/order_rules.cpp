#include "actors/order/order_rules.hpp"

#include "actors/protocol/errors.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace mercato::order {

namespace {

// The delivery path, in order; a status's rank is its index.
constexpr std::array<std::string_view, 8> path{
  "pending_payment", "paid",    "confirmed",        "in_production",
  "produced",        "shipped", "out_for_delivery", "delivered",
};

int rank_of(std::string_view status) {
  for (size_t i = 0; i < path.size(); ++i)
    if (path[i] == status)
      return static_cast<int>(i);
  return -1;
}

// The status after Mercato's own transitions and every fact, in the order they occurred.
std::string derive_status(const state& s) {
  auto status = s.own_status;
  for (const auto& f : s.timeline) {
    auto to = status_of_fact(f.type);
    if (!to.empty() && to != status && can_move(status, to))
      status = to;
  }
  return status;
}

// Stamps each event with the status it leaves the order in.
decision stamped(const state& s, std::vector<order_event> events) {
  auto after = s;
  for (auto& e : events) {
    order::apply(after, e);
    e.status_after = after.status;
  }
  return events;
}

order_event make_event(std::string type, int64_t now_ms) {
  order_event e;
  e.type = std::move(type);
  e.at_ms = now_ms;
  return e;
}

} // namespace

bool is_status(const std::string& status) {
  return rank_of(status) >= 0 || status == "cancelled" || status == "delivery_failed"
         || status == "returned" || status == "refunded";
}

bool is_cancellable(const std::string& status) {
  auto r = rank_of(status);
  return r >= 0 && r < rank_of("shipped");
}

bool can_move(const std::string& from, const std::string& to) {
  auto rf = rank_of(from), rt = rank_of(to);
  if (rf >= 0 && rt >= 0)
    return rt > rf;
  if (to == "delivery_failed")
    return from == "shipped" || from == "out_for_delivery";
  if (to == "delivered")
    return from == "delivery_failed"; // a second attempt succeeded
  if (to == "returned")
    return from == "delivered" || from == "delivery_failed";
  if (to == "refunded")
    return from == "returned";
  if (to == "cancelled")
    return is_cancellable(from);
  return false;
}

caf::error check_access(const state& s, const caller& who) {
  if (!s.exists || (!who.admin && who.sub != s.placement.customer_id))
    return caf::make_error(mercato_errc::not_found, "no such order");
  return {};
}

decision decide_place(const state& s, const order_placement& p, int64_t now_ms) {
  if (s.exists) {
    if (s.placement.checkout_id != p.checkout_id)
      return caf::make_error(mercato_errc::conflict, "the order id is taken");
    return std::vector<order_event>{};
  }
  if (p.lines.empty())
    return caf::make_error(mercato_errc::invalid_request, "an order needs at least one line");
  auto e = make_event("placed", now_ms);
  e.placement = p;
  e.status = "paid"; // placed only once the payment is authorised
  return stamped(s, {std::move(e)});
}

decision decide_advance(const state& s, const order_status_cmd& cmd, int64_t now_ms) {
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no such order");
  if (!is_status(cmd.status))
    return caf::make_error(mercato_errc::invalid_request, "unknown status " + cmd.status);
  if (s.status == cmd.status)
    return std::vector<order_event>{};
  if (cmd.status == "cancelled" || !can_move(s.status, cmd.status))
    return caf::make_error(mercato_errc::conflict,
                           "an order cannot move from " + s.status + " to " + cmd.status);
  auto e = make_event("status_changed", now_ms);
  e.status = cmd.status;
  e.reason = cmd.reason;
  return stamped(s, {std::move(e)});
}

decision decide_cancel(const state& s, const order_status_cmd& cmd, int64_t now_ms) {
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no such order");
  if (s.status == "cancelled")
    return std::vector<order_event>{};
  if (!is_cancellable(s.status))
    return caf::make_error(mercato_errc::conflict,
                           "an order that is " + s.status + " can no longer be cancelled");
  auto e = make_event("cancelled", now_ms);
  e.status = "cancelled";
  e.reason = cmd.reason;
  return stamped(s, {std::move(e)});
}

decision decide_compensated(const state& s, const std::string& what, int64_t now_ms) {
  if (s.compensated || s.status != "cancelled")
    return std::vector<order_event>{};
  auto e = make_event("compensated", now_ms);
  e.reason = what;
  return stamped(s, {std::move(e)});
}

std::string status_of_fact(const std::string& type) {
  static const std::pair<std::string_view, std::string_view> moves[] = {
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
      return std::string{status};
  return {};
}

std::string label_of(const std::string& type, int64_t eta_ms) {
  static const std::pair<std::string_view, std::string_view> labels[] = {
    {"payment_authorized", "Payment authorised"},
    {"payment_captured", "Payment received"},
    {"payment_failed", "Payment failed"},
    {"production_started", "Production started"},
    {"production_completed", "Production completed"},
    {"packed", "Packed"},
    {"handed_to_carrier", "Handed to the carrier"},
    {"in_transit", "In transit"},
    {"out_for_delivery", "Out for delivery"},
    {"delivered", "Delivered"},
    {"delivery_failed", "Delivery attempt failed"},
    {"return_requested", "Return requested"},
    {"returned", "Returned"},
    {"refunded", "Refunded"},
  };
  if (type == "eta_updated")
    return eta_ms > 0 ? "Estimated delivery updated" : "Estimated delivery withdrawn";
  for (const auto& [t, label] : labels)
    if (t == type)
      return std::string{label};
  return type;
}

decision decide_fact(const state& s, const order_fact_cmd& cmd, int64_t now_ms) {
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no such order");
  for (const auto& f : s.timeline)
    if (f.source == cmd.source && f.external_id == cmd.external_id)
      return std::vector<order_event>{};
  auto e = make_event("fact_recorded", now_ms);
  e.fact.seq = s.timeline.size() + 1;
  e.fact.type = cmd.type;
  e.fact.source = cmd.source;
  e.fact.external_id = cmd.external_id;
  e.fact.occurred_at_ms = cmd.occurred_at_ms;
  e.fact.recorded_at_ms = now_ms;
  e.fact.label = label_of(cmd.type, cmd.eta_ms);
  e.fact.data = cmd.data.empty() ? "{}" : cmd.data;
  e.eta_ms = cmd.eta_ms;
  return stamped(s, {std::move(e)});
}

void apply(state& s, const order_event& e) {
  s.updated_at_ms = e.at_ms;
  if (s.own_status.empty())
    s.own_status = s.status; // a snapshot from before facts were kept
  if (e.type == "placed") {
    s.exists = true;
    s.placement = e.placement;
    s.own_status = e.status;
    s.created_at_ms = e.at_ms;
  } else if (e.type == "status_changed") {
    s.own_status = e.status;
  } else if (e.type == "cancelled") {
    s.own_status = "cancelled";
    s.cancel_reason = e.reason;
  } else if (e.type == "compensated") {
    s.compensated = true;
  } else if (e.type == "fact_recorded") {
    auto at = std::upper_bound(s.timeline.begin(), s.timeline.end(), e.fact,
                               [](const timeline_entry& a, const timeline_entry& b) {
                                 return a.occurred_at_ms != b.occurred_at_ms
                                          ? a.occurred_at_ms < b.occurred_at_ms
                                          : a.seq < b.seq;
                               });
    s.timeline.insert(at, e.fact);
    // The ETA of the latest-occurring eta_updated wins, wherever it arrived.
    if (e.fact.type == "eta_updated") {
      for (auto i = s.timeline.rbegin(); i != s.timeline.rend(); ++i)
        if (i->type == "eta_updated") {
          if (i->seq == e.fact.seq)
            s.eta_ms = e.eta_ms;
          break;
        }
    }
  }
  s.status = derive_status(s);
}

} // namespace mercato::order
