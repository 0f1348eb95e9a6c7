#pragma once

#include "actors/protocol/interfaces.hpp"
#include "actors/stock/stock_rules.hpp"
#include "runtime/shard_region.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <vector>

namespace mercato {

/// What every stock item of a node shares; passed by value at spawn.
struct stock_settings {
  journal_actor journal;
  recovery_actor recovery;
  int64_t default_ttl_ms = 900000;
  int64_t max_ttl_ms = 7 * 86400000LL;
  int64_t snapshot_every = 200;
  /// More than one pays off only when the journal's round trip, not CPU, is the limit (a remote
  /// database): on a 2-core box with a local PostgreSQL, 2 measured ~5 % slower than 1.
  size_t max_appends_in_flight = 1;
  /// Decisions gathering behind the append under way, at most, before a reservation is refused
  /// at once (`entity_unavailable`): under more load than the journal takes, a queue would only
  /// make every answer late. Commits and releases finish work already admitted, and free units:
  /// they always wait.
  size_t max_waiting_reservations = 512;
  bool fault_injection = false;
  std::chrono::milliseconds recovery_timeout{10000};
  std::function<int64_t()> now_ms; ///< wall clock, epoch ms; injected for tests
};

/// Work waiting for durability: events to append, and the replies owed once they are durable.
struct stock_batch {
  std::vector<stock_event> events;
  std::vector<std::function<void()>> on_durable;
  std::vector<std::function<void(const caf::error&)>> on_failed;

  bool empty() const noexcept {
    return events.empty() && on_durable.empty();
  }
};

/// State of the stock item actor.
struct stock_state {
  static inline const char* name = "stock";
  std::string sku;
  stock_settings cfg;
  stock::state durable; ///< what the journal holds
  stock::state decided; ///< what new commands are judged against (see stock_rules.hpp)
  uint64_t durable_seq = 0;
  uint64_t next_seq = 1;
  uint64_t last_snapshot_seq = 0;
  /// Appends sent to the journal and not yet acknowledged, oldest first. A second one in flight
  /// keeps the journal busy while the first is acknowledged; the journal refuses an append whose
  /// predecessor is not durable, so a failed batch can never leave a gap.
  std::deque<stock_batch> in_flight;
  stock_batch buffer; ///< decided while the in-flight appends are being written
  /// Holds by expiry time, earliest first. Entries of holds that ended otherwise stay until
  /// their time and are skipped then, which is cheaper than removing them one by one; once they
  /// outnumber the open holds, the queue is rebuilt from those (so it stays O(open holds)).
  using expiry_queue
    = std::priority_queue<std::pair<int64_t, std::string>,
                          std::vector<std::pair<int64_t, std::string>>, std::greater<>>;
  expiry_queue expiries;
  int64_t timer_at = 0; ///< when the one pending expiry timer fires; 0 = none
  /// The last durable events with their seqs, oldest first, for admin inspection.
  std::deque<std::pair<uint64_t, stock_event>> recent;
};

/// Durable events a stock item keeps for admin inspection.
constexpr size_t stock_recent_events = 20;

/// Most holds listed by an inspection (the count of all is given too).
constexpr size_t stock_inspect_holds = 100;

/// The admin inspection of a stock item: {"state":{...},"version":N,"recent_events":[...]}.
std::string inspect_json(const stock_state& st);

/// The behaviour of one stock item; recovers from the journal before serving anything.
stock_actor::behavior_type stock_item(stock_actor::stateful_pointer<stock_state> self,
                                      std::string sku, stock_settings cfg);

/// Spawner for the stock region.
runtime::entity_spawner make_stock_spawner(stock_settings cfg);

/// The stock region's `is_read`: `(atom::get)` only reads, and its `not_found` means that the
/// SKU's stock was never set.
bool is_stock_read(const caf::message& msg);

} // namespace mercato
