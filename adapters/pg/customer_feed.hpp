#pragma once

// The customer feed read model (tables customer_feed and customer_feed_orders, migration 0011),
// kept by the customer_feed projection (customer_feed_projection.cpp) and read here: the
// snapshot and the replays of the customer:{id} WebSocket topic.

#include "actors/protocol/interfaces.hpp"
#include "adapters/pg/projections.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace pqxx {
class transaction_base;
} // namespace pqxx

namespace mercato::pg {

/// Spawns the customer feed port: `workers` detached readers behind a round-robin router. With
/// `projection` (the customer_feed projection's runner) a snapshot first waits, at most `wait`,
/// until the projection has applied every event committed before it was asked for.
customer_feed_actor spawn_customer_feed(caf::actor_system& sys, std::string url, int workers,
                                        projection_actor projection = {},
                                        std::chrono::milliseconds wait = std::chrono::seconds{1});

/// For the feed's writers (the customer_feed and notifications projections): takes each
/// customer's advisory lock until the end of `txn` (in one order, so that two writers never wait
/// on each other in a cycle) and returns their newest feed seq (0: none yet). Numbering after it
/// keeps every customer's seq gapless and unique whichever writer comes first.
std::map<std::string, int64_t> lock_feed_heads(pqxx::transaction_base& txn,
                                               const std::set<std::string>& customers);

} // namespace mercato::pg
