#pragma once

// The orders read model in PostgreSQL (table `orders`, migration 0002), written by the
// journal's batch statement and read here.

#include "actors/protocol/interfaces.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace mercato::pg {

/// Spawns the order index port: `workers` detached readers behind a round-robin router.
/// search: newest first (created_at, then order id), filtered by customer and status.
order_index_actor spawn_order_index(caf::actor_system& sys, std::string url, int workers);

} // namespace mercato::pg
