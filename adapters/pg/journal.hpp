#pragma once

// The PostgreSQL journal: group-commits the persist requests of all entities.

#include "actors/protocol/interfaces.hpp"
#include "adapters/pg/projections.hpp"
#include "config/settings.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor_system.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mercato::pg {

/// In a cluster: the member this journal writes for. Each batch first checks, in its own
/// transaction, that this incarnation is still `up` (locking its row, so that marking it dead
/// waits for the batch); if it is not, the batch fails and the process exits, since another node
/// may own its entities now. Empty node_id: a single node, no check.
struct journal_fence {
  std::string node_id;
  int64_t incarnation = 0;
  /// Called once a batch was fenced (its appends failed); empty: log and exit the process (75).
  std::function<void()> on_fenced;
};

/// Spawns the journal writer: a detached actor owning one connection to `url`.
///
/// Appends that arrive while a transaction runs are queued and committed together in the next
/// one (at most `settings.batch_max` requests; with `batch_delay_us` > 0 a non-full batch waits
/// that long for company first). One transaction writes all events of the batch to `journal`
/// (one row per event, which is also its outbox row: id, public form, commit position; migration
/// 0009) and the latest snapshot per entity, then every request gets its last seq. An entity whose
/// seq is already taken (another writer won the fence) gets `stale_writer` and none of its rows are
/// written, while the rest of the batch commits. A database failure answers the whole batch with
/// `storage_unavailable`; the connection is re-opened lazily with a short back-off during which
/// appends fail at once.
///
/// `metrics` may be null; otherwise it receives mercato_journal_batch_size,
/// mercato_journal_commit_seconds, mercato_journal_appends_total,
/// mercato_journal_failures_total and mercato_journal_fenced_total.
///
/// After each commit, `sink` (if set) receives every committed event of the batch in one
/// message, after the writers' answers, and each runner of `wake` that reads a kind of the batch a
/// ping. The statement maintains no read model: projections follow the journal (projections.hpp).
journal_actor spawn_journal(caf::actor_system& sys, std::string url,
                            config::journal_settings settings, runtime::metrics_registry* metrics,
                            event_sink_actor sink = {}, std::vector<projection_wakeup> wake = {},
                            journal_fence fence = {});

} // namespace mercato::pg
