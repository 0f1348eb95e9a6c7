#pragma once

// The outbox publisher: delivers the published events of the journal (which is the outbox,
// migration 0009) to webhook endpoints, at least once and in commit position order, with a
// durable per-endpoint cursor (migrations 0005, 0009) and dead letters (migration 0003) for
// deliveries that keep failing.

#include "actors/protocol/interfaces.hpp"
#include "config/settings.hpp"
#include "runtime/circuit_breaker.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mercato::pg {

/// What one endpoint's publisher needs.
struct publisher_settings {
  std::string endpoint; ///< http:// URL; also the key of its cursor
  std::string secret;   ///< HMAC-SHA256 key of X-Signature
  int max_attempts = 8; ///< attempts of one event before it is dead-lettered (>= 1)
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{30000};
  int batch = 100;                                  ///< rows read per query
  std::chrono::milliseconds poll{200};              ///< wait when nothing new was found
  std::chrono::milliseconds request_timeout{10000}; ///< one POST, connect to answer
  /// Opened by POSTs without an answer or with a 5xx: while it is open, events wait (deferred,
  /// not dead-lettered) and a probe after its cool-down finds out whether the endpoint is back.
  std::shared_ptr<runtime::circuit_breaker> breaker;
};

/// The settings of each endpoint of `cfg` (none when `cfg.endpoints` is empty).
std::vector<publisher_settings> publisher_settings_of(const config::webhook_settings& cfg);

/// Spawns one detached publisher for `cfg.endpoint`. It runs until it gets an exit message:
/// reads published journal rows after its cursor in commit position order, POSTs each (JSON
/// envelope, headers X-Mercato-Event-Id and X-Signature) until a 2xx, retrying with capped
/// exponential backoff, and dead-letters an event after `max_attempts` failures while the
/// endpoint is believed up (failed probes of an open breaker do not count). The cursor moves
/// durably after each delivered or dead-lettered event, before the next one is sent.
caf::actor spawn_outbox_publisher(caf::actor_system& sys, std::string db_url,
                                  publisher_settings cfg);

/// Spawns the detached actor that sends a dead-lettered webhook event again (`webhook_redeliverer
/// _actor`) to whichever of `endpoints` it names, signed as the publishers sign.
webhook_redeliverer_actor spawn_webhook_redeliverer(caf::actor_system& sys,
                                                    std::vector<publisher_settings> endpoints);

} // namespace mercato::pg
