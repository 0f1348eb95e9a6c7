#pragma once

// Reads entities back from the journal: latest snapshot plus the events after it.

#include "actors/protocol/interfaces.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor_system.hpp>

#include <string>
#include <vector>

namespace mercato::pg {

/// Spawns the recovery port: `readers` detached readers (one connection each, at least one)
/// behind a round-robin router. `load(kind, id)` answers the latest snapshot (decoded by the
/// kind's codec) and every event with a higher seq, in order, read in one statement (one
/// consistent snapshot of the database). An entity that never persisted anything gets an empty
/// `recovery_data` (last_seq 0). Errors: `storage_unavailable` when the database fails,
/// `invalid_request` for a kind without codec, `caf::sec::runtime_error` for rows that cannot be
/// decoded or a gap in the seqs.
/// `read(kind, id, after, limit)` replays the events after a seq (for live subscribers that
/// resume or missed an announcement), with the entity's newest seq as `last_seq`.
/// Each load counts in `mercato_recovery_loads_total{kind}` when `metrics` is set.
recovery_actor spawn_recovery(caf::actor_system& sys, std::string url, int readers,
                              runtime::metrics_registry* metrics = nullptr);

/// The checkouts started and not yet completed or failed (the `checkouts_open` projection,
/// open_checkouts_projection.cpp): after a crash, the sagas that still have steps to take. The
/// projection is first brought up to every event committed before the call, so that a checkout
/// started just before a crash is in the list. Blocking (call it off the actor threads); throws
/// std::exception when the database fails.
std::vector<std::string> open_checkouts(const std::string& url);

/// The stock items with an open hold (the `stock_holds_open` projection,
/// stock_holds_projection.cpp), brought up to every event committed before the call: after a
/// crash or a takeover, the items whose expiry timers must be armed again. Blocking; throws
/// std::exception when the database fails.
std::vector<std::string> skus_with_holds(const std::string& url);

} // namespace mercato::pg
