#pragma once

// The customer feed read model (tables customer_feed and customer_feed_orders, migration 0011),
// kept by the customer_feed projection (customer_feed_projection.cpp) and read here: the
// snapshot and the replays of the customer:{id} WebSocket topic.

#include "actors/protocol/interfaces.hpp"
#include "adapters/pg/projections.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <string>

namespace mercato::pg {

/// Spawns the customer feed port: `workers` detached readers behind a round-robin router. With
/// `projection` (the customer_feed projection's runner) a snapshot first waits, at most `wait`,
/// until the projection has applied every event committed before it was asked for.
customer_feed_actor spawn_customer_feed(caf::actor_system& sys, std::string url, int workers,
                                        projection_actor projection = {},
                                        std::chrono::milliseconds wait = std::chrono::seconds{1});

} // namespace mercato::pg
