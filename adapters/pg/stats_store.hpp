#pragma once

// The daily statistics read model in PostgreSQL (table `daily_stats`, migration 0012), kept by the
// daily statistics projection (daily_stats_projection.cpp) and read here.

#include "actors/protocol/interfaces.hpp"
#include "adapters/pg/projections.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <string>

namespace mercato::pg {

/// A day counts as final once it ended this long ago: the platforms' return windows are shorter.
inline constexpr int stats_final_after_days = 30;

/// Spawns the statistics port: `workers` detached readers behind a round-robin router. search:
/// the rows of the days `from`..`to` (at most 400 days; `invalid_request` otherwise), of one
/// platform or all. With `projection` (the daily_stats runner) a search first waits, at most
/// `wait`, until the projection has applied every event committed before it arrived.
stats_store_actor spawn_stats_store(caf::actor_system& sys, std::string url, int workers,
                                    projection_actor projection = {},
                                    std::chrono::milliseconds wait = std::chrono::seconds{1});

} // namespace mercato::pg
