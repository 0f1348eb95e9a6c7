#pragma once

// The payment state machine, in one place: which status a command or a provider outcome leads
// to. Pure (no I/O, no actors), so that every rule is unit-tested on its own.

#include "actors/protocol/errors.hpp"
#include "actors/protocol/messages.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <optional>
#include <string_view>

namespace mercato::payments {

/// What happens to a payment: our commands, and outcomes the provider reports (in its answer
/// to a command, or later in a webhook).
enum class payment_event : uint8_t {
  authorize,           ///< we send an authorisation (none -> pending)
  provider_authorized, ///< the provider says: authorised
  provider_declined,   ///< the provider says: declined
  capture,             ///< we capture
  cancel,              ///< we void (also fences an unknown id)
  refund,              ///< we refund
  provider_captured,   ///< the provider says: captured (webhook)
  provider_voided,     ///< the provider says: voided (webhook)
  provider_refunded,   ///< the provider says: refunded (webhook)
};

/// Stable name of an event ("capture", ...), as kept in the audit table.
std::string_view to_string(payment_event x) noexcept;

/// Where an event leads. `changes` is false when the event repeats or arrives late: the status
/// stays (`to` = the current one) and nothing is to be done again, at the provider or in the
/// database.
struct payment_step {
  payment_status to = payment_status::pending;
  bool changes = false;
};

/// The rules. `current` is empty for a payment never recorded.
/// - authorize: none -> pending; repeating it changes nothing (the first outcome stands).
/// - provider_authorized / provider_declined: pending -> authorized / declined; in any other
///   status they change nothing (a duplicate, or late after a void: the caller voids again).
/// - capture: authorized -> captured; captured stays; `not_found` for none, else `conflict`.
/// - cancel: none -> voided (a tombstone that fences a late authorisation), pending and
///   authorized -> voided; voided and declined stay; `conflict` once captured or refunded.
/// - refund: captured -> refunded; refunded stays; `not_found` for none, else `conflict`.
/// - provider_captured: authorized -> captured; provider_voided: pending, authorized -> voided;
///   provider_refunded: captured -> refunded; otherwise they change nothing (never backwards).
///   For none all provider events are `not_found`.
caf::expected<payment_step> next_status(std::optional<payment_status> current, payment_event ev);

/// True for statuses in which the funds were never taken and never will be.
bool is_failed(payment_status s) noexcept;

} // namespace mercato::payments
