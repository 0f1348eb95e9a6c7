#include "actors/order/order_rules.hpp"

#include "actors/protocol/errors.hpp"
#include "runtime/util/json_text.hpp"

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

struct derived {
  std::string status;
  int64_t since_ms = 0; // when the order entered `status`
};

// The status after Mercato's own transitions and every fact, in the order they occurred.
derived derive(const state& s) {
  derived d{s.own_status, s.own_status_at_ms > 0 ? s.own_status_at_ms : s.created_at_ms};
  for (const auto& f : s.timeline) {
    std::string to{status_of_fact(f.type)};
    if (!to.empty() && to != d.status && can_move(d.status, to)) {
      d.status = to;
      d.since_ms
        = f.recorded_at_ms > 0 ? std::min(f.occurred_at_ms, f.recorded_at_ms) : f.occurred_at_ms;
    }
  }
  return d;
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
  // A marketplace buyer is no Mercato customer: only admins (and services) see those orders.
  if (!s.exists || (!who.admin && (who.sub != s.placement.customer_id || is_imported(s))))
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
  // Placed only once the payment is authorised: `paid` or, vouched for, `confirmed`.
  if (!p.initial_status.empty() && p.initial_status != "paid" && p.initial_status != "confirmed")
    return caf::make_error(mercato_errc::invalid_request,
                           "an order cannot start as " + p.initial_status);
  auto e = make_event("placed", now_ms);
  e.placement = p;
  e.status = p.initial_status.empty() ? "paid" : p.initial_status;
  return stamped(s, {std::move(e)});
}

bool is_imported(const state& s) {
  return s.market.platform != sales_platform::web;
}

std::string status_of_import(imported_status s) {
  switch (s) {
  case imported_status::completed:
    return "delivered";
  case imported_status::cancelled:
    return "cancelled";
  case imported_status::returned:
    return "returned";
  case imported_status::pending:
    break;
  }
  return "confirmed";
}

decision decide_import(const state& s, const imported_order& o, int64_t now_ms) {
  if (o.platform == sales_platform::web || o.order_code.empty() || o.order_id.empty())
    return caf::make_error(mercato_errc::invalid_request, "not a marketplace order");
  if (s.exists) {
    if (s.market.platform != o.platform || s.market.order_code != o.order_code)
      return caf::make_error(mercato_errc::conflict, "the order id is taken");
    // The platform's update time orders its versions: a replay or a late older payload is no news.
    if (o.updated_at_ms <= s.market.updated_at_ms)
      return std::vector<order_event>{};
    auto e = make_event("status_changed", now_ms);
    e.status = status_of_import(o.status);
    e.reason = o.cancel_reason;
    e.market = o;
    return stamped(s, {std::move(e)});
  }
  auto e = make_event("placed", now_ms);
  auto& p = e.placement;
  p.order_id = o.order_id;
  p.lines = o.lines;
  p.sums.currency = o.currency;
  p.sums.subtotal_minor = o.gross_minor;
  p.sums.discount_minor = o.seller_discount_minor + o.platform_discount_minor;
  p.sums.shipping_minor = o.shipping_minor;
  p.sums.total_minor = o.final_minor;
  p.initial_status = status_of_import(o.status);
  e.status = p.initial_status;
  e.reason = o.cancel_reason;
  e.market = o;
  return stamped(s, {std::move(e)});
}

decision decide_advance(const state& s, const order_status_cmd& cmd, int64_t now_ms) {
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no such order");
  if (is_imported(s))
    return caf::make_error(mercato_errc::conflict, "the marketplace decides this order's status");
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
  if (is_imported(s))
    return caf::make_error(mercato_errc::conflict, "the marketplace decides this order's status");
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
  if (s.timeline.size() >= max_timeline_entries)
    return caf::make_error(mercato_errc::conflict, "the order's timeline is full ("
                                                     + std::to_string(max_timeline_entries)
                                                     + " entries)");
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
    s.own_status_at_ms = e.at_ms;
    s.created_at_ms = e.at_ms;
  } else if (e.type == "status_changed") {
    s.own_status = e.status;
    s.own_status_at_ms = e.at_ms;
  }
  if (e.market.platform != sales_platform::web) {
    s.market = e.market;
    s.cancel_reason = e.market.cancel_reason;
    if (e.type == "placed")
      s.created_at_ms = e.market.order_date_ms; // when the buyer ordered, not when it arrived
  } else if (e.type == "cancelled") {
    s.own_status = "cancelled";
    s.own_status_at_ms = e.at_ms;
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
    // Entries that occurred before the window keep no body in memory. A loop rather than the
    // one or two entries an insert moves out: a snapshot from before the window may hold more.
    for (size_t i = 0; i + timeline_window < s.timeline.size(); ++i)
      if (auto& f = s.timeline[i]; !is_trimmed(f)) {
        std::string{}.swap(f.label);
        std::string{}.swap(f.data);
      }
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
  s.next_check_ms = e.next_check_ms;
  s.status = derive(s).status;
}

// -- delay detection --------------------------------------------------------------------------

namespace {

// No progress is expected of these any more, nor a delivery.
bool is_final(const std::string& status) {
  return status == "delivered" || status == "cancelled" || status == "returned"
         || status == "refunded";
}

int64_t expected_of(const delay_policy& p, const std::string& status) {
  auto i = p.expected_ms.find(status);
  return i == p.expected_ms.end() ? 0 : std::max<int64_t>(i->second, 0);
}

std::string delay_id(const std::string& status) {
  return "delay_warning:" + status;
}

std::string soon_id(int64_t eta_ms) {
  return "delivery_expected_soon:" + std::to_string(eta_ms);
}

bool has_own_entry(const state& s, const std::string& external_id) {
  for (const auto& f : s.timeline)
    if (f.source == own_source && f.external_id == external_id)
      return true;
  return false;
}

// The end of the expected stay in the current status; 0 when nothing is expected of it or its
// delay was told already.
int64_t delay_due_ms(const state& s, const delay_policy& p, int64_t since_ms) {
  if (!s.exists || is_final(s.status))
    return 0;
  auto expected = expected_of(p, s.status);
  if (expected == 0 || has_own_entry(s, delay_id(s.status)))
    return 0;
  return since_ms + expected;
}

// The start of the ETA's soon window; 0 when there is no ETA ahead or it was told already.
int64_t soon_due_ms(const state& s, const delay_policy& p, int64_t now_ms) {
  if (!s.exists || p.soon_window_ms <= 0 || s.eta_ms <= 0 || now_ms >= s.eta_ms
      || is_final(s.status) || has_own_entry(s, soon_id(s.eta_ms)))
    return 0;
  return std::max<int64_t>(s.eta_ms - p.soon_window_ms, 1);
}

std::string delay_label(const std::string& status) {
  static const std::pair<std::string_view, std::string_view> labels[] = {
    {"paid", "Delayed: the order is not confirmed yet"},
    {"confirmed", "Delayed: production has not started yet"},
    {"in_production", "Delayed: production is taking longer than expected"},
    {"produced", "Delayed: not handed to the carrier yet"},
    {"shipped", "Delayed: delivery is taking longer than expected"},
    {"out_for_delivery", "Delayed: not delivered yet"},
    {"delivery_failed", "Delayed: no new delivery attempt yet"},
  };
  for (const auto& [st, label] : labels)
    if (st == status)
      return std::string{label};
  return "Delayed";
}

std::string soon_label(int64_t window_ms) {
  constexpr int64_t hour_ms = 3600000;
  if (window_ms % hour_ms != 0)
    return "Delivery expected soon";
  auto hours = window_ms / hour_ms;
  return "Delivery expected within " + std::to_string(hours) + (hours == 1 ? " hour" : " hours");
}

order_event own_entry(const state& s, std::string type, std::string external_id, std::string label,
                      std::string data, int64_t now_ms) {
  auto e = make_event("fact_recorded", now_ms);
  e.fact.seq = s.timeline.size() + 1;
  e.fact.type = std::move(type);
  e.fact.source = own_source;
  e.fact.external_id = std::move(external_id);
  e.fact.occurred_at_ms = now_ms;
  e.fact.recorded_at_ms = now_ms;
  e.fact.label = std::move(label);
  e.fact.data = std::move(data);
  return e;
}

order_event delay_warning(const state& s, const delay_policy& p, int64_t since_ms, int64_t now_ms) {
  auto expected = expected_of(p, s.status);
  util::json_text j;
  j.begin_object().key("status").value(s.status).key("since").time_ms(since_ms);
  j.key("expected_ms").value(expected).key("elapsed_ms").value(now_ms - since_ms);
  j.key("due_at").time_ms(since_ms + expected).end_object();
  return own_entry(s, "delay_warning", delay_id(s.status), delay_label(s.status),
                   std::move(j).str(), now_ms);
}

order_event expected_soon(const state& s, const delay_policy& p, int64_t now_ms) {
  util::json_text j;
  j.begin_object().key("eta").time_ms(s.eta_ms).key("window_ms").value(p.soon_window_ms);
  j.end_object();
  return own_entry(s, "delivery_expected_soon", soon_id(s.eta_ms), soon_label(p.soon_window_ms),
                   std::move(j).str(), now_ms);
}

} // namespace

int64_t status_since_ms(const state& s) {
  return derive(s).since_ms;
}

int64_t next_check_ms(const state& s, const delay_policy& p, int64_t now_ms) {
  if (is_imported(s))
    return 0;
  auto delay = delay_due_ms(s, p, status_since_ms(s));
  auto soon = soon_due_ms(s, p, now_ms);
  if (delay == 0 || soon == 0)
    return std::max(delay, soon);
  return std::min(delay, soon);
}

std::vector<order_event> decide_checks(const state& s, const delay_policy& p, int64_t now_ms) {
  std::vector<order_event> out;
  if (!s.exists || is_imported(s))
    return out;
  auto after = s;
  auto since = status_since_ms(s);
  if (auto due = delay_due_ms(s, p, since); due > 0 && due <= now_ms) {
    out.push_back(delay_warning(after, p, since, now_ms));
    order::apply(after, out.back());
  }
  if (auto due = soon_due_ms(after, p, now_ms); due > 0 && due <= now_ms)
    out.push_back(expected_soon(after, p, now_ms));
  if (out.empty()) {
    if (next_check_ms(s, p, now_ms) == s.next_check_ms)
      return out;
    out.push_back(make_event("checks_rescheduled", now_ms));
  }
  auto d = stamped(s, std::move(out));
  stamp_next_check(s, *d, p, now_ms);
  return std::move(*d);
}

void stamp_next_check(const state& s, std::vector<order_event>& events, const delay_policy& p,
                      int64_t now_ms) {
  if (events.empty())
    return;
  auto after = s;
  for (auto& e : events) {
    order::apply(after, e);
    e.next_check_ms = next_check_ms(after, p, now_ms);
    after.next_check_ms = e.next_check_ms;
  }
}

} // namespace mercato::order
