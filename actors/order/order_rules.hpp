#pragma once

// The order state machine as pure functions (see stock_rules.hpp for the pattern):
// pending_payment -> paid -> confirmed -> in_production -> produced -> shipped ->
// out_for_delivery -> delivered, with cancelled (before shipping), delivery_failed (in
// transit), returned (after delivery or a failed delivery) and refunded (after a return).

#include "actors/protocol/commerce.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <map>
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
/// True for an order imported from a marketplace: the platform decides its status, and it owes
/// no stock, payment or delay checks of Mercato's.
bool is_imported(const state& s);

/// The order status a marketplace status shows as: pending -> confirmed, completed -> delivered,
/// cancelled -> cancelled, returned -> returned.
std::string status_of_import(imported_status s);

/// Creates a marketplace order from its import (`placed`, with the import in `market`), or moves
/// it to a later version (`status_changed`, the same). Nothing for a replayed or older version by
/// the platform's update time; `conflict` when the order is not this platform order.
decision decide_import(const state& s, const imported_order& o, int64_t now_ms);

/// Records that stock and payment of a cancelled order were returned.
decision decide_compensated(const state& s, const std::string& what, int64_t now_ms);

// -- the timeline in memory ---------------------------------------------------------------------
//
// The journal keeps every entry whole. In memory an order keeps whole only its latest-occurring
// `timeline_window` entries; of the earlier ones it keeps what the status, the ETA and
// deduplication are derived from (seq, type, source, external id, times), and their label and
// data are read back from the journal when the whole timeline is asked for
// (GET /v1/orders/{id}/timeline; `is_trimmed` tells which). A partner may add at most
// `max_timeline_entries`, so that what an order holds stays bounded whatever a partner sends.

inline constexpr size_t timeline_window = 100;
inline constexpr size_t max_timeline_entries = 1000;

/// Merges a partner fact into the timeline; no events for a duplicate (same source and
/// external id), which callers accept and ignore; `conflict` once the timeline holds
/// `max_timeline_entries`.
decision decide_fact(const state& s, const order_fact_cmd& cmd, int64_t now_ms);

/// The status a partner event type moves an order to (actors/protocol/commerce.hpp).
using mercato::status_of_fact;

/// A human-readable label of a partner fact.
std::string label_of(const std::string& type, int64_t eta_ms);

void apply(state& s, const order_event& e);

// -- delay detection --------------------------------------------------------------------------
//
// An order that stays in a status longer than expected gets one `delay_warning` per status
// (the state machine never enters a status twice, so the status names the stay); one with an
// ETA gets one `delivery_expected_soon` per ETA value once the ETA is within the window. Both
// are timeline entries of source `mercato`, which no partner may name, with an external id
// made of what they are about, so a repeat (a replay, a second wake-up) is a duplicate. They
// never move the status.

/// The source of the timeline entries Mercato records itself.
inline constexpr const char* own_source = "mercato";

/// How long an order may stay in each status, and when its delivery counts as soon.
struct delay_policy {
  /// Status -> expected duration in ms; a status not listed (or 0) has no expectation.
  std::map<std::string, int64_t, std::less<>> expected_ms;
  /// `delivery_expected_soon` once the ETA is this close; 0 = never.
  int64_t soon_window_ms = 86400000;
};

/// When the order entered its current status: Mercato's own transition, or the occurrence of
/// the fact that moved it there (capped at when that fact was recorded: a partner clock ahead
/// of ours must not postpone the check).
int64_t status_since_ms(const state& s);

/// The earliest time a delay check is due (possibly <= now), or 0 when none is pending:
/// the end of the expected stay unless already warned, and the start of the soon window of an
/// ETA still ahead unless already told.
int64_t next_check_ms(const state& s, const delay_policy& p, int64_t now_ms);

/// What a delay check at `now_ms` records: the entries that are due; else, if the schedule last
/// stamped into the journal (`s.next_check_ms`) is not the policy's (the policy changed, the
/// order predates delay detection, an ETA passed unnoticed), one `checks_rescheduled` event,
/// so that the read model's sweeper wakes the order at the right time. Empty otherwise.
std::vector<order_event> decide_checks(const state& s, const delay_policy& p, int64_t now_ms);

/// Stamps each event with the next check due once it (and the events before it) are applied,
/// for the read model (orders.next_check_ms) that wakes passivated orders.
void stamp_next_check(const state& s, std::vector<order_event>& events, const delay_policy& p,
                      int64_t now_ms);

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
