#pragma once

#include "actors/checkout/checkout_rules.hpp"
#include "actors/common/event_log.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/shard_region.hpp"

#include <caf/actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <optional>
#include <vector>

namespace mercato {

/// What every checkout of a node shares.
struct checkout_settings {
  entity_env env;
  caf::actor cart_region;
  caf::actor coupon_region;
  caf::actor stock_region;
  caf::actor order_region;
  caf::actor payment_region;
  dead_letter_store_actor dead_letters; ///< where compensations that keep failing are set aside
  int64_t hold_ttl_ms = 900000;
  std::chrono::milliseconds step_timeout{5000};
  std::chrono::milliseconds payment_timeout{10000};
  std::chrono::milliseconds retry_after{1000}; ///< settling or resuming after a failed step
  int compensation_attempts = 10;              ///< rounds before what is owed is dead-lettered
  std::chrono::milliseconds compensation_backoff{500}; ///< doubled per round, up to a minute
  std::chrono::milliseconds settle_delay{0};           ///< tests only: answer, wait, then settle
  /// How long an Idempotency-Key answers its first request, from that request on (0: for ever);
  /// afterwards a request under it begins a new checkout (`checkout::renews`).
  int64_t idempotency_retention_ms = 86400000;
};

/// State of the checkout actor.
struct checkout_state {
  static inline const char* name = "checkout";
  entity_env env;
  event_log<checkout_event> log;
  checkout::state data;
  checkout_settings cfg;
  bool running = false;             ///< a step of the saga is under way
  bool settling = false;            ///< committing holds, coupon and payment after the order
  bool compensating = false;        ///< a later round of a failed saga's compensation is under way
  int64_t settle_not_before_ms = 0; ///< with the test-only settle delay: when it ends
  int compensation_rounds = 0;
  std::string payment_token; ///< of the attempt under way; in memory only, never journaled
  /// A renewal of the key whose cart claim is under way (until `started` records it).
  std::optional<checkout_cmd> renewing;
  /// The attempt's authorisation as the provider answered it; the order records it, and a
  /// resumed saga takes it from there.
  payment_view authorisation;
  /// False only while this incarnation knows the attempt has not asked the provider: its
  /// compensation then has no payment to void. After a restart nobody knows: true.
  bool may_have_authorised = true;
  /// Requests that wait for the outcome (the first one and concurrent replays).
  std::vector<caf::typed_response_promise<checkout_view>> waiters;
  /// A retry that came while the failure it retries was not yet durable (the state shows a
  /// failure at once, the journal a moment later): the next attempt starts once it is.
  std::optional<checkout_cmd> retry_after_failure;
  std::vector<caf::typed_response_promise<checkout_view>> retry_waiters;
  std::vector<checkout_step> steps; ///< of the attempt under way
};

/// The behaviour of one checkout saga; recovers from the journal before serving anything and
/// resumes a saga it finds unfinished.
checkout_actor::behavior_type checkout_entity(checkout_actor::stateful_pointer<checkout_state> self,
                                              std::string checkout_id, checkout_settings cfg);

/// Spawner for the checkout region.
runtime::entity_spawner make_checkout_spawner(checkout_settings cfg);

} // namespace mercato
