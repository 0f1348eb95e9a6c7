#pragma once

// The rules of a coupon as pure functions (see stock_rules.hpp for the pattern). A held use
// counts against both limits at once, so that concurrent checkouts can never exceed them.

#include "actors/protocol/commerce.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mercato::coupon {

/// State of one coupon.
struct state {
  bool exists = false;
  coupon_terms terms;
  std::unordered_map<std::string, coupon_use> uses; ///< held and committed, by use id
  int64_t held = 0;
  int64_t committed = 0;
  std::unordered_map<std::string, int64_t> per_customer; ///< held + committed
};

/// Events of one decision; empty when the command was already satisfied.
using decision = caf::expected<std::vector<coupon_event>>;

/// Checks terms as given by an admin; "" when valid, else what is wrong.
std::string validate(const coupon_terms& t);

/// The discount of `t` on `subtotal_minor` (never more than the subtotal).
int64_t discount_of(const coupon_terms& t, int64_t subtotal_minor);

/// Whether `customer_id` may use the coupon now on `subtotal_minor`, and the discount.
caf::expected<int64_t> check(const state& s, const std::string& customer_id, int64_t subtotal_minor,
                             int64_t now_ms);

decision decide_define(const state& s, const coupon_terms& t, int64_t now_ms);
decision decide_reserve(const state& s, const coupon_use_cmd& cmd, int64_t now_ms);
decision decide_commit(const state& s, const coupon_use_cmd& cmd, int64_t now_ms);
decision decide_release(const state& s, const coupon_use_cmd& cmd, int64_t now_ms);

void apply(state& s, const coupon_event& e);
coupon_snapshot to_snapshot(const state& s);
state from_state_snapshot(const coupon_snapshot& snap);
coupon_view to_view(const state& s, uint64_t version);

/// Found by the event log shell (actors/common/event_log.hpp), as is `apply`.
inline coupon_snapshot snapshot_of(const state& s) {
  return to_snapshot(s);
}

} // namespace mercato::coupon

namespace mercato {
// Found by the event log shell (actors/common/event_log.hpp).
inline coupon::state from_snapshot(const coupon_snapshot& snap) {
  return coupon::from_state_snapshot(snap);
}
} // namespace mercato
