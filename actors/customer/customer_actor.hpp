#pragma once

#include "actors/common/event_log.hpp"
#include "actors/customer/customer_rules.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/shard_region.hpp"

namespace mercato {

/// State of the customer actor.
struct customer_state {
  static inline const char* name = "customer";
  entity_env env;
  event_log<customer_event> log;
  customer::state data;
};

/// The behaviour of one customer's feed; recovers from the journal before serving anything.
customer_actor::behavior_type customer_entity(customer_actor::stateful_pointer<customer_state> self,
                                              std::string customer_id, entity_env env);

/// Spawner for the customer region.
runtime::entity_spawner make_customer_spawner(entity_env env);

} // namespace mercato
