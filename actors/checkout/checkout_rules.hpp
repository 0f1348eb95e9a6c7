#pragma once

// The record of a checkout saga as pure functions. The saga itself (which step runs when) lives
// in checkout_actor.cpp; what it records, and how a record is read back, lives here.

#include "actors/protocol/commerce.hpp"

#include <caf/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato::checkout {

/// The state is the view itself.
using state = checkout_view;

/// The id of the order a checkout creates ("co_X" -> "ord_X").
std::string order_id_of(const std::string& checkout_id);

/// The id the saga's holds, coupon use and payment carry in attempt `attempt`. A retried attempt
/// needs fresh ids: the previous ones were released, voided and fenced.
std::string attempt_id(const std::string& checkout_id, uint32_t attempt);

/// The id of the key's current use: the checkout id, or after a renewal the id of the attempt
/// that renewed it. The use's cart claim and its order (`order_id_of(use_id)`) carry it, so that
/// a renewed key can neither claim a cart its last use checked out nor place that use's order.
std::string use_id(const state& s);

/// True when a request under the key begins a new use of it: the last use has ended (completed,
/// or failed with everything given back) and its retention (`retention_ms` > 0) has passed since
/// it began. Payment APIs keep idempotency keys for 24 hours the same way.
bool renews(const state& s, int64_t retention_ms, int64_t now_ms);

/// `not_found` unless the checkout exists and `who` started it (or is an admin).
caf::error check_access(const state& s, const caller& who);

/// `idempotency_mismatch` when `cmd` is not `first` (the same caller and body).
caf::error check_same_request(const checkout_cmd& first, const checkout_cmd& cmd);

/// `idempotency_mismatch` when `cmd` is not the request that started `s`.
caf::error check_same_request(const state& s, const checkout_cmd& cmd);

checkout_event started(const checkout_cmd& cmd, uint32_t attempt, const cart_view& cart,
                       int64_t now_ms, bool renews = false);
/// The attempt's order exists: the checkout is answered `completed` and settles. Derived, not
/// journaled (the order's own `placed` proves it, and a resumed saga asks the order); journals
/// written before that still hold it as an `order_placed` event, which `apply` replays.
void order_exists(state& s, int64_t discount_minor, std::vector<checkout_step> steps,
                  int64_t now_ms);
/// Everything is settled (holds sold, coupon use spent, payment captured).
checkout_event completed(int64_t discount_minor, std::vector<checkout_step> steps, int64_t now_ms);
/// The saga failed; `owed` names the compensation steps that did not succeed yet.
checkout_event failed(std::string code, std::string detail, std::vector<std::string> skus,
                      bool retryable, std::vector<checkout_step> steps,
                      std::vector<std::string> owed, int64_t now_ms);
/// What a failed saga owed is done (`dead_lettered` empty) or set aside for an operator.
checkout_event compensated(std::vector<std::string> dead_lettered, int64_t now_ms);

void apply(state& s, const checkout_event& e);

} // namespace mercato::checkout

namespace mercato {
// Found by the event log shell (actors/common/event_log.hpp).
inline void apply(checkout::state& s, const checkout_event& e) {
  checkout::apply(s, e);
}
inline checkout_view snapshot_of(const checkout::state& s) {
  return s;
}
inline checkout::state from_snapshot(const checkout_view& snap) {
  return snap;
}
} // namespace mercato
