#pragma once

#include "actors/cart/cart_rules.hpp"
#include "actors/common/event_log.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/shard_region.hpp"

#include <caf/actor.hpp>

namespace mercato {

/// What every cart of a node shares.
struct cart_settings {
  entity_env env;
  cart::policy policy;
  product_store_actor products; ///< prices
  caf::actor stock_region;      ///< soft availability checks
  caf::actor coupon_region;     ///< coupon checks
  std::chrono::milliseconds ask_timeout{5000};
};

/// State of the cart actor.
struct cart_state {
  static inline const char* name = "cart";
  entity_env env;
  event_log<cart_event> log;
  cart::state data;
  cart_settings cfg;
};

/// The behaviour of one cart; recovers from the journal before serving anything.
cart_actor::behavior_type cart_entity(cart_actor::stateful_pointer<cart_state> self,
                                      std::string cart_id, cart_settings cfg);

/// Spawner for the cart region.
runtime::entity_spawner make_cart_spawner(cart_settings cfg);

} // namespace mercato
