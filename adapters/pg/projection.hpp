#pragma once

// Internal to adapters/pg: what a projection is (a read model kept from the journal by commit
// position), and the one round that moves it forward. Each projection lives in its own file
// (orders_projection.cpp, payments_projection.cpp, open_checkouts_projection.cpp) with the SQL of
// the table it owns; projection_runner.cpp drives them.

#include "actors/protocol/messages.hpp"
#include "adapters/pg/journal_position.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mercato::pg {

/// A journal row as projections see it.
struct projection_event {
  std::string kind;
  std::string entity_id;
  int64_t seq = 0;
  std::string type;
  nlohmann::json payload; ///< the stored event (private members included: read models may
                          ///< hold what the journal holds)
  int64_t recorded_ms = 0;
  journal_position at;
};

/// A read model kept from the journal.
struct projection {
  std::string name;                ///< its row in projection_offsets
  std::vector<std::string> kinds;  ///< the entity kinds it reads
  std::vector<std::string> tables; ///< what a rebuild empties
  /// Applies `events` (in commit position order, of `kinds` only) in `txn`. Idempotent per
  /// event is not required: the runner applies each event once. Events of the read model's own
  /// topics (the customer feed's) go to `published`: the runner announces them to the node's
  /// topic hub once the round has committed.
  std::function<void(pqxx::work& txn, const std::vector<projection_event>& events,
                     std::vector<committed_event>& published)>
    apply;
  /// True when events of marketplace orders (an order event with a `market`) can change nothing
  /// here: the runner then leaves them in the database rather than reading and decoding them.
  bool skips_imports = false;
  /// Parts of each event it never reads (PostgreSQL text[] paths such as "{market,lines}"):
  /// removed in the database, so that neither the wire nor the JSON decoder carry them.
  std::vector<std::string> unread;
  /// For a read model that also holds rows no journal event gives (the customer feed's inbox
  /// messages, which the notification feeder writes): run in a rebuild's transaction before its
  /// tables are emptied (`keep`) and after the journal was replayed into them (`restore`).
  struct rows_kept {
    std::function<void(pqxx::work&)> keep;
    std::function<void(pqxx::work&)> restore;
  } kept;
};

/// Handlers per event type, for projections that fold a batch into rows first. `fallback`
/// handles types without an entry (may be empty: such events are ignored).
template <class Row>
struct event_handlers {
  using handler = void (*)(Row&, const projection_event&);
  std::map<std::string, handler> by_type;
  handler fallback = nullptr;

  /// The handler of `type`, or nullptr.
  handler find(const std::string& type) const {
    auto i = by_type.find(type);
    return i == by_type.end() ? fallback : i->second;
  }
};

/// The projections of this node.
const projection& orders_projection();
const projection& payments_projection();
const projection& open_checkouts_projection();
const projection& customer_feed_projection();
const projection& daily_stats_projection();
const projection& notifications_projection();
const projection& stock_holds_projection();

/// What one round did.
struct round_result {
  size_t applied = 0;      ///< events applied
  bool more = false;       ///< the batch was full: rows may follow at once
  uint64_t xmin = 0;       ///< of the reading snapshot: every transaction below has ended
  uint64_t xmax = 0;       ///< of the reading snapshot: the next transaction id then
  journal_position cursor; ///< where the next round goes on from
  /// Events of its kinds committed after the new cursor (capped): 0 when the round read all
  /// there was, -1 when more wait and the round did not count them.
  int64_t behind = -1;
  double oldest_age_s = 0;                ///< age of the oldest event applied, at commit (0: none)
  std::vector<committed_event> published; ///< of the read model's topics, once committed
};

/// One round of `p` in its own transaction: takes the projection's lock (one runner at a time,
/// whichever node), reads at most `batch` events of its kinds after max(stored offset, `from`)
/// below the snapshot's xmin, applies them and stores the new offset, then commits (without
/// waiting for the flush: a lost commit is replayed). `from` may be ahead of the stored offset
/// when rounds found nothing to apply. `count_behind` counts the events left after a full batch
/// (a walk along the journal that costs what lies ahead: the runner asks at most once a second).
round_result run_round(pqxx::connection& conn, const projection& p, const journal_position& from,
                       int batch, bool count_behind = false);

/// Empties `p`'s tables and replays the whole journal into them in one transaction (readers see
/// the old rows until it commits). Returns the events applied.
size_t rebuild(pqxx::connection& conn, const projection& p, int batch);

/// Applies rounds until `p` has every event committed before the call, i.e. until a round's
/// xmin reaches the xmax seen first; gives up (throws std::runtime_error) after `timeout`.
/// Blocking: for start-up and tools, not for actors.
void catch_up(pqxx::connection& conn, const projection& p, int batch,
              std::chrono::milliseconds timeout);

} // namespace mercato::pg
