#pragma once

// The delay sweeper: wakes orders whose next delay check fell due (orders.next_check_ms,
// migration 0006). A live order checks on its own timer; the sweeper is for the orders whose
// timer died with them, when they were passivated or the node stopped.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mercato::pg {

/// How the sweeper runs.
struct delay_sweeper_settings {
  std::chrono::milliseconds interval{60000}; ///< between two sweeps
  int batch = 500;                           ///< orders woken per sweep at most
  /// Wait before the next sweep when a batch was full (a backlog, e.g. after downtime): each
  /// wake-up of a passivated order is a recovery read, so a backlog is worked off in steps.
  std::chrono::milliseconds backlog_pause{1000};
};

/// An order whose delay check is due, and when it fell due.
struct due_check {
  std::string order_id;
  int64_t next_check_ms = 0;
};

/// Where a sweep goes on from: the last order it woke, in (next_check_ms, order_id) order.
struct sweep_position {
  int64_t next_check_ms = 0;
  std::string order_id;
};

/// The orders with a check due by `upto_ms` after `after`, in (next_check_ms, order_id) order,
/// at most `limit`. Blocking; throws std::exception when the database fails.
std::vector<due_check> orders_due(const std::string& url, const sweep_position& after,
                                  int64_t upto_ms, int limit);

/// Spawns the detached sweeper. It runs until it gets an exit message; each sweep sends
/// `(atom::resume)` through `order_region` to every order whose check fell due since the last
/// order it woke, which records what is due and re-arms its own timer. It starts from the
/// beginning of the table, so that checks missed while no node ran are made at once.
caf::actor spawn_delay_sweeper(caf::actor_system& sys, std::string url, delay_sweeper_settings cfg,
                               caf::actor order_region);

} // namespace mercato::pg
