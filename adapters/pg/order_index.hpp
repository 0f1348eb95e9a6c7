#pragma once

// The orders read model in PostgreSQL (table `orders`, migration 0002), kept by the orders
// projection (orders_projection.cpp) and read here.

#include "actors/protocol/interfaces.hpp"
#include "adapters/pg/projections.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <string>

namespace mercato::pg {

/// Spawns the order index port: `workers` detached readers behind a round-robin router.
/// search: newest first (created_at, then order id), filtered by customer and status. With
/// `projection` (the orders projection's runner) a search first waits, at most `wait`, until
/// the projection has applied every event committed before the search arrived, so that a list
/// shows the writes its caller already got an answer for.
order_index_actor spawn_order_index(caf::actor_system& sys, std::string url, int workers,
                                    projection_actor projection = {},
                                    std::chrono::milliseconds wait = std::chrono::seconds{1});

} // namespace mercato::pg
