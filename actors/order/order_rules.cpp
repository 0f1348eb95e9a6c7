#include "actors/order/order_rules.hpp"

#include "actors/protocol/errors.hpp"

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
  return std::vector<order_event>{std::move(e)};
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
  return std::vector<order_event>{std::move(e)};
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
  return std::vector<order_event>{std::move(e)};
}

decision decide_compensated(const state& s, const std::string& what, int64_t now_ms) {
  if (s.compensated || s.status != "cancelled")
    return std::vector<order_event>{};
  auto e = make_event("compensated", now_ms);
  e.reason = what;
  return std::vector<order_event>{std::move(e)};
}

void apply(state& s, const order_event& e) {
  s.updated_at_ms = e.at_ms;
  if (e.type == "placed") {
    s.exists = true;
    s.placement = e.placement;
    s.status = e.status;
    s.created_at_ms = e.at_ms;
  } else if (e.type == "status_changed") {
    s.status = e.status;
  } else if (e.type == "cancelled") {
    s.status = "cancelled";
    s.cancel_reason = e.reason;
  } else if (e.type == "compensated") {
    s.compensated = true;
  }
}

} // namespace mercato::order
