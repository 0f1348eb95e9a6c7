#pragma once

#include "actors/common/event_log.hpp"
#include "actors/order/order_rules.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/shard_region.hpp"

#include <caf/actor.hpp>

namespace mercato {

/// What every order of a node shares.
struct order_settings {
  entity_env env;
  caf::actor stock_region;   ///< returns stock on cancel
  caf::actor payment_region; ///< voids or refunds on cancel
  std::chrono::milliseconds ask_timeout{5000};
  std::chrono::milliseconds retry_after{1000}; ///< when returning stock or payment failed
  order::delay_policy delays;                  ///< delay detection; empty = none
};

/// State of the order actor.
struct order_state {
  static inline const char* name = "order";
  entity_env env;
  event_log<order_event> log;
  order::state data;
  order_settings cfg;
  bool compensating = false;
  bool refunding = false; ///< a refund for a return is under way
  int64_t check_at = 0;   ///< the delay check the armed timer is for (epoch ms); 0 = none
};

/// The behaviour of one order; recovers from the journal before serving anything.
order_actor::behavior_type order_entity(order_actor::stateful_pointer<order_state> self,
                                        std::string order_id, order_settings cfg);

/// Spawner for the order region.
runtime::entity_spawner make_order_spawner(order_settings cfg);

} // namespace mercato
