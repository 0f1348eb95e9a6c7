#pragma once

#include "actors/common/event_log.hpp"
#include "actors/coupon/coupon_rules.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/shard_region.hpp"

namespace mercato {

/// State of the coupon actor.
struct coupon_state {
  static inline const char* name = "coupon";
  entity_env env;
  event_log<coupon_event> log;
  coupon::state data;
};

/// The behaviour of one coupon; recovers from the journal before serving anything.
coupon_actor::behavior_type coupon_entity(coupon_actor::stateful_pointer<coupon_state> self,
                                          std::string code, entity_env env);

/// Spawner for the coupon region.
runtime::entity_spawner make_coupon_spawner(entity_env env);

} // namespace mercato
