#pragma once

// The order state machine as pure functions (see stock_rules.hpp for the pattern):
// pending_payment -> paid -> confirmed -> in_production -> produced -> shipped ->
// out_for_delivery -> delivered, with cancelled (before shipping), delivery_failed (in
// transit), returned (after delivery or a failed delivery) and refunded (after a return).

#include "actors/protocol/commerce.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato::order {

/// The state is the snapshot itself.
using state = order_snapshot;

/// Events of one decision; empty when nothing changes.
using decision = caf::expected<std::vector<order_event>>;

/// True for a status name of the state machine.
bool is_status(const std::string& status);

/// Whether `from` may move to `to` (never backwards on the delivery path).
bool can_move(const std::string& from, const std::string& to);

/// True while a cancel is still allowed (before shipping).
bool is_cancellable(const std::string& status);

/// `not_found` unless the order exists and `who` owns it (or is an admin).
caf::error check_access(const state& s, const caller& who);

decision decide_place(const state& s, const order_placement& p, int64_t now_ms);
decision decide_advance(const state& s, const order_status_cmd& cmd, int64_t now_ms);
decision decide_cancel(const state& s, const order_status_cmd& cmd, int64_t now_ms);
/// Records that stock and payment of a cancelled order were returned.
decision decide_compensated(const state& s, const std::string& what, int64_t now_ms);

/// Merges a partner fact into the timeline; no events for a duplicate (same source and
/// external id), which callers accept and ignore.
decision decide_fact(const state& s, const order_fact_cmd& cmd, int64_t now_ms);

/// The status a partner event type moves an order to, or "" for a type that only informs.
std::string status_of_fact(const std::string& type);

/// A human-readable label of a partner fact.
std::string label_of(const std::string& type, int64_t eta_ms);

void apply(state& s, const order_event& e);

} // namespace mercato::order

namespace mercato {
// Found by the event log shell (actors/common/event_log.hpp).
inline void apply(order::state& s, const order_event& e) {
  order::apply(s, e);
}
inline order_snapshot snapshot_of(const order::state& s) {
  return s;
}
inline order::state from_snapshot(const order_snapshot& snap) {
  return snap;
}
} // namespace mercato
