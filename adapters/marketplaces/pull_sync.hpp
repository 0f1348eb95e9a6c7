#pragma once

// The marketplace pull sync: one detached worker per configured shop asks the platform for the
// orders updated since the shop's durable cursor, page by page, and upserts each into its order
// entity exactly as POST /v1/marketplaces/{platform}/orders does. The cursor moves only after
// every order of a page is in its entity, so a crash re-imports at most one page, and imports are
// idempotent (an order's update time decides). README.md ("Pulling marketplace orders").

#include "config/settings.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <string>

namespace mercato::marketplaces {

/// Spawns the worker of `shop`: it syncs at once, then every `shop.interval_ms` after a sync
/// ends, until it gets an exit message. `order_region` routes the upserts.
caf::actor spawn_pull_sync(caf::actor_system& sys, std::string db_url,
                           const config::marketplace_sync_settings& cfg,
                           config::marketplace_shop shop, caf::actor order_region);

} // namespace mercato::marketplaces
