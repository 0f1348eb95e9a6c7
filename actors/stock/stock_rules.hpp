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

/// The holds that ended (committed, released, expired), remembered so that a retried commit,
/// release or reservation gets the same answer: the most recent `max_closed_holds`, the oldest
/// forgotten first. An item can close thousands of holds a minute, so each costs one map node and
/// a 16-byte queue entry (the id is stored once).
class closed_holds {
public:
  struct entry {
    stock_event_type outcome = stock_event_type::released;
    int64_t qty = 0;
  };

  closed_holds() = default;
  closed_holds(const closed_holds& other);
  closed_holds& operator=(const closed_holds& other);
  closed_holds(closed_holds&&) = default; // map nodes keep their addresses
  closed_holds& operator=(closed_holds&&) = default;

  const entry* find(const std::string& id) const;
  /// Remembers (or re-remembers, as the newest) how a hold ended.
  void add(const std::string& id, stock_event_type outcome, int64_t qty);
  size_t size() const noexcept {
    return by_id_.size();
  }
  bool empty() const noexcept {
    return by_id_.empty();
  }
  void clear() noexcept;
  /// Calls f(id, entry) for each remembered hold, oldest first.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [key, order] : fifo_) {
      const auto& slot = by_id_.find(*key)->second;
      if (slot.order == order)
        f(*key, slot.e);
    }
  }

private:
  struct slot {
    entry e;
    uint64_t order = 0; ///< of its newest queue entry
  };
  std::unordered_map<std::string, slot> by_id_;
  /// Oldest first; an id re-added leaves its older entry behind, skipped by its order. The key
  /// pointers stay valid: a map node never moves, and it is erased only with its newest entry.
  std::deque<std::pair<const std::string*, uint64_t>> fifo_;
  uint64_t next_order_ = 0;
};

/// State of one stock item.
struct state {
  bool exists = false;
  int64_t on_hand = 0;
  int64_t reserved = 0;         ///< sum of all holds' qty, releasing ones included
  int64_t pending_increase = 0; ///< on-hand increases decided but not durable (decided only)
  std::unordered_map<std::string, hold> holds;
  /// Kept by the decided state only (`remembers_closed`): it is what commands are judged
  /// against, and the durable state needs none to be snapshotted (see `to_snapshot`).
  closed_holds closed;
  bool remembers_closed = true;

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

/// A snapshot of the holds and counts of `s`, and of the closed holds in `closed` plus those
/// that the releases and expiries among `freeing` end. The actor passes the decided state's
/// closed holds (sales count there when decided) and the events in flight (freeing ones count
/// there only once durable). A state read back remembers its closed holds.
stock_snapshot to_snapshot(const state& s, const closed_holds& closed,
                           const std::vector<const stock_event*>& freeing = {});
state from_snapshot(const stock_snapshot& snap);

/// Moves the closed holds out of a recovered state into `decided`, a copy of it that from then on
/// alone remembers them.
void split_recovered(state& durable, state& decided);

/// Public view of a state.
stock_view to_view(const std::string& sku, const state& s, uint64_t version);

} // namespace mercato::stock
