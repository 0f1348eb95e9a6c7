#pragma once

#include "actors/common/event_log.hpp"
#include "actors/payment/payment_rules.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/shard_region.hpp"

#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace mercato {

/// What every payment of a node shares.
struct payment_entity_settings {
  entity_env env;
  payment_provider_actor provider; ///< the configured provider (adapters/payments)
  std::string provider_name;       ///< "sandbox", "http": recorded with each payment
  /// How long an authorisation whose outcome is pending waits for it (parked in the entity)
  /// before it is answered `request_timeout`; by then its caller has given up.
  std::chrono::milliseconds park_limit{10000};
  /// Bound of one provider call, with its retries and its wait for a free provider worker.
  std::chrono::milliseconds provider_timeout{120000};
};

/// An authorisation waiting for its outcome.
struct parked_authorisation {
  caf::typed_response_promise<payment_view> rp;
  int64_t deadline_ms = 0; ///< steady clock, ms
};

/// A command waiting for the provider call of the one before it.
struct queued_command {
  std::function<void()> run;
  std::function<void(const caf::error&)> fail;
};

/// State of the payment actor.
struct payment_state {
  static inline const char* name = "payment";
  entity_env env;
  event_log<payment_event> log;
  payment::state data;
  payment_entity_settings cfg;
  std::vector<parked_authorisation> parked;
  bool busy = false; ///< a command (with its provider call) is under way
  std::deque<queued_command> queued;
  bool settle_armed = false; ///< the provider's own settle timer is running
};

/// The behaviour of one payment; recovers from the journal before serving anything.
payment_actor::behavior_type payment_entity(payment_actor::stateful_pointer<payment_state> self,
                                            std::string payment_id, payment_entity_settings cfg);

/// Spawner for the payment region.
runtime::entity_spawner make_payment_spawner(payment_entity_settings cfg);

} // namespace mercato
