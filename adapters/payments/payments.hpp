#pragma once

// The payment port (actors/protocol/interfaces.hpp `payment_actor`) over PostgreSQL (tables
// `payments` and `payment_events`, migration 0004) and one provider chosen by configuration.

#include "actors/protocol/interfaces.hpp"
#include "config/settings.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <string>

namespace mercato::payments {

/// Tuning of the adapter; the defaults suit production.
struct payment_options {
  int workers = 2; ///< detached workers (one connection each); a payment id always uses the same
  /// How long an authorisation that waits for its outcome (pending) stays parked before it is
  /// answered `request_timeout`; by then its caller has given up. 0: checkout.payment_timeout_ms.
  std::chrono::milliseconds park_limit{0};
  /// Bound of one command inside a worker (database plus provider calls with their retries).
  std::chrono::milliseconds worker_timeout{std::chrono::seconds{120}};
};

/// Spawns the payment port for `cfg.payments.provider` ("sandbox" or "http") on the database
/// `db_url`. Each command runs in the worker its payment id hashes to, so commands of one payment
/// never overlap; every status change and every provider report is committed (with an audit row)
/// before the reply. A front actor keeps authorisations whose outcome is pending and answers them
/// when the outcome arrives: the sandbox's delay for `tok_slow`, a webhook (`confirm`), or a
/// `cancel`, which answers them `payment_declined`.
///
/// Errors: `invalid_request` for a malformed command, `not_found`, `conflict` (state machine,
/// payment_rules.hpp), `idempotency_mismatch` for an authorisation repeated with another amount
/// or currency, `payment_declined`, and `storage_unavailable` when the database or the provider
/// cannot be reached (the outcome may be unknown; every command may be repeated).
///
/// Stop it with `anon_send_exit` (its workers are linked and stop with it): timers of parked
/// authorisations keep it alive after its last handle is dropped.
payment_actor spawn_payments(caf::actor_system& sys, const std::string& db_url,
                             const config::settings& cfg, payment_options opts = {});

} // namespace mercato::payments
