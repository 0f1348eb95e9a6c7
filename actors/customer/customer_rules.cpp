#include "actors/customer/customer_rules.hpp"

#include <algorithm>

namespace mercato::customer {

std::vector<customer_event> decide_update(const state& s, const customer_order_update& u) {
  auto it = std::find_if(s.orders.begin(), s.orders.end(),
                         [&](const customer_order& o) { return o.order_id == u.order_id; });
  if (it != s.orders.end() && it->order_seq >= u.order_seq)
    return {};
  customer_event e;
  e.type = "order_updated";
  e.order = customer_order{u.order_id, u.status, u.order_seq, u.at_ms};
  e.change = u.change;
  e.fact_type = u.fact_type;
  e.at_ms = u.at_ms;
  return {std::move(e)};
}

void apply(state& s, const customer_event& e) {
  auto it = std::find_if(s.orders.begin(), s.orders.end(),
                         [&](const customer_order& o) { return o.order_id == e.order.order_id; });
  if (it != s.orders.end())
    s.orders.erase(it);
  s.orders.insert(s.orders.begin(), e.order);
  if (s.orders.size() > max_orders)
    s.orders.resize(max_orders);
}

customer_snapshot snapshot_of(const state& s) {
  return {s.customer_id, s.orders};
}

state from_state_snapshot(const customer_snapshot& snap) {
  return {snap.customer_id, snap.orders};
}

} // namespace mercato::customer
