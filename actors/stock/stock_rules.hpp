#pragma once

// The rules of a stock item as pure functions: a decision maps (state, command, now) to events
// or an error, and `apply` folds an event into a state. No actor system is needed to test them.
//
// Pipelining: the actor keeps two states. `durable` is what the journal holds. `decided` is what
// new commands are judged against: it already contains every pending *consuming* effect
// (reservations, on-hand decreases, sales) but *freeing* effects (releases, expiries, on-hand
// increases) only once they are durable. If a pending batch is lost, the actor can therefore only
// have under-sold, never over-sold.

#include "actors/protocol/messages.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace mercato::stock {

/// Largest on_hand a stock item may hold; keeps every sum far from int64 overflow.
constexpr int64_t max_on_hand = 1'000'000'000'000;

/// Most closed holds remembered per item for idempotent retries.
constexpr size_t max_closed_holds = 10'000;

/// An active hold.
struct hold {
  int64_t qty = 0;
  int64_t expires_at_ms = 0;
  bool releasing = false; ///< a release/expiry is pending (decided state only)
};

/// State of one stock item.
struct state {
  bool exists = false;
  int64_t on_hand = 0;
  int64_t reserved = 0;         ///< sum of all holds' qty, releasing ones included
  int64_t pending_increase = 0; ///< on-hand increases decided but not durable (decided only)
  std::unordered_map<std::string, hold> holds;
  std::deque<stock_closed_hold> closed; ///< oldest first
  std::unordered_map<std::string, stock_closed_hold> closed_by_id;

  int64_t available() const noexcept {
    return on_hand - reserved;
  }
};

/// Events of one decision; empty when the command was already satisfied (idempotent retry).
using decision = caf::expected<std::vector<stock_event>>;

/// PUT on_hand: absolute value, stated as a delta from the projected on_hand.
decision decide_set(const state& s, int64_t on_hand, int64_t now_ms);

/// Signed adjustment of on_hand.
decision decide_adjust(const state& s, int64_t delta, const std::string& reason, int64_t now_ms);

/// A hold of `qty` units until now + ttl_ms.
decision decide_reserve(const state& s, const std::string& reservation_id, int64_t qty,
                        int64_t ttl_ms, int64_t now_ms);

/// Sells a hold. A `late_sale` (the checkout settling an order it already placed) also sells a
/// hold past its time, and one that expired if its units are still available
/// (`insufficient_stock` if not); a hold whose release is pending answers `entity_unavailable`
/// (retry), since its units are about to be freed.
decision decide_commit(const state& s, const std::string& reservation_id, int64_t now_ms,
                       bool late_sale = false);

/// Returns a hold at a client's request.
decision decide_release(const state& s, const std::string& reservation_id, int64_t now_ms);

/// Returns a hold whose time is up; no events if it is gone, releasing, or not yet due.
std::vector<stock_event> decide_expire(const state& s, const std::string& reservation_id,
                                       int64_t now_ms);

/// Folds a durable event into a state (recovery and the durable state).
void apply(state& s, const stock_event& e);

/// Folds a just-decided event into the decided state: consuming effects at once, freeing ones
/// only marked.
void apply_decided(state& s, const stock_event& e);

/// Completes, in the decided state, the freeing effects of an event that became durable.
void apply_durable_to_decided(state& s, const stock_event& e);

/// Durable state as a snapshot, and back.
stock_snapshot to_snapshot(const state& s);
state from_snapshot(const stock_snapshot& snap);

/// Public view of a state.
stock_view to_view(const std::string& sku, const state& s, uint64_t version);

} // namespace mercato::stock
