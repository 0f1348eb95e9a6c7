#pragma once

// A customer's order feed as pure functions: the newest state of each of their orders, one
// event per order change, so that `customer:{id}` subscribers get a gapless seq of their own.

#include "actors/protocol/commerce.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace mercato::customer {

/// Orders kept in the feed; older ones drop out (each order's own topic still has them).
inline constexpr size_t max_orders = 200;

struct state {
  std::string customer_id;
  std::vector<customer_order> orders; ///< newest update first
};

/// The event of an update; none when the feed already has that order at that seq or later
/// (a repeated or late notification).
std::vector<customer_event> decide_update(const state& s, const customer_order_update& u);

/// `apply` and `snapshot_of` are found by the event log shell (actors/common/event_log.hpp).
void apply(state& s, const customer_event& e);
customer_snapshot snapshot_of(const state& s);
state from_state_snapshot(const customer_snapshot& snap);

} // namespace mercato::customer

namespace mercato {
// Found by the event log shell (actors/common/event_log.hpp).
inline customer::state from_snapshot(const customer_snapshot& snap) {
  return customer::from_state_snapshot(snap);
}
} // namespace mercato
