#pragma once

// The sender of notifications: claims the pending deliveries that are due on the channels it has
// a provider for and hands each to its customer's notifier actor, which sends that customer's
// messages one at a time, in the order they fell due, through the channel port (a few detached
// workers making the blocking calls: email over SMTP with the delivery's idempotency key as
// Message-ID; SMS and push over their providers' HTTP APIs with it as Idempotency-Key, see
// adapters/notify/http_channels.hpp). The answers come back to the sender, which records each
// round of them in one transaction, every attempt in notification_attempts (migration 0013). A
// failed attempt is retried with capped, jittered exponential backoff; once the channel's attempts
// are spent (or it refuses for good) the next channel the customer allows gets the message, and
// with none left it is dead-lettered (kind `notification`).
//
// One notifier per customer rather than per order: what the customer reads must keep its order
// across all of their orders, and a provider hanging on one customer holds up nobody else.
//
// Guarantee: at least once per delivery at the provider, with the same Message-ID on every
// attempt; a provider that drops repeats by Message-ID sees each message once. A delivery is
// leased while it is queued or sent (the lease renewed every quarter of it), so that a crash
// between the send and its record only delays the repeat until the lease ends.

#include "actors/protocol/notification_rules.hpp"
#include "adapters/notify/http_channels.hpp"
#include "adapters/notify/smtp_email.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <string>

namespace mercato::pg {

/// What the sender needs. A channel whose provider has no URL is not sent: its deliveries wait
/// as pending.
struct dispatcher_settings {
  channels::smtp_settings smtp;
  channels::http_provider_settings sms;
  channels::http_provider_settings push;
  notify::retry_policy retry;
  std::chrono::milliseconds poll{200};     ///< wait when nothing was due
  std::chrono::milliseconds busy_poll{50}; ///< wait after a round that found some, not a batch
  std::chrono::milliseconds lease{60000};  ///< a claimed delivery is not claimed again before
  int batch = 64;                          ///< deliveries claimed per round, at most
  int max_in_flight = 256;                 ///< claimed and not yet recorded, over all customers
  int senders = 8; ///< provider calls at once (detached workers of the channel port)
  std::chrono::milliseconds notifier_idle{30000}; ///< a customer's notifier ends after this idle
  /// May be null; otherwise it keeps mercato_notification_delivery_seconds{channel}: the time
  /// from the order event becoming durable to the provider accepting the message.
  runtime::metrics_registry* metrics = nullptr;
};

/// Spawns the detached sender; it runs until it gets an exit message.
caf::actor spawn_notification_dispatcher(caf::actor_system& sys, std::string db_url,
                                         dispatcher_settings cfg);

/// One round, for tests and tools: claims the due deliveries and sends them; returns how many
/// were attempted. Blocking.
int dispatch_once(const std::string& db_url, const dispatcher_settings& cfg);

} // namespace mercato::pg
