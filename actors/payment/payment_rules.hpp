#pragma once

// The payment state machine and the decisions of the payment entity, as pure functions: which
// status a command or a provider outcome leads to, and which events record it. No I/O, no
// actors, so that every rule is unit-tested on its own.

#include "actors/protocol/commerce.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/messages.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::payment {

/// What happens to a payment: our commands, and outcomes the provider reports (in its answer
/// to a command, or later in a webhook).
enum class trigger : uint8_t {
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

/// Stable name of a trigger ("capture", ...), for messages and logs.
std::string_view to_string(trigger x) noexcept;

/// Where a trigger leads. `changes` is false when it repeats or arrives late: the status stays
/// (`to` = the current one) and nothing is to be done again, at the provider or in the journal.
struct step {
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
///   For none all provider triggers are `not_found`.
caf::expected<step> next_status(std::optional<payment_status> current, trigger ev);

/// True for statuses in which the funds were never taken and never will be.
bool is_failed(payment_status s) noexcept;

/// The trigger of a status the provider reports; `authorize` (a repeat: nothing moves) for
/// pending.
trigger trigger_of(payment_status reported) noexcept;

// -- the entity's state and decisions ----------------------------------------------------------

/// What one payment entity knows.
struct state {
  bool exists = false;
  payment_view view; ///< payment_id is set by the entity, also before it exists
  std::string customer_id;
  std::set<std::string> seen_events; ///< webhook event ids already handled
};

/// Decisions: the events to persist (none: nothing changes), or why the command is refused.
using decision = caf::expected<std::vector<payment_event>>;

/// `invalid_request` unless `id` is 1 to 200 bytes of UTF-8 text.
caf::error check_id(const std::string& id);

/// `invalid_request` for a malformed authorisation (amount, currency, token, texts).
caf::error validate(const payment_request& req);

/// `invalid_request` for a malformed webhook (event id, texts).
caf::error validate(const payment_confirmation& c);

/// A tombstone (cancel of an id never requested) has amount 0, which an authorisation never
/// has: only payments that may have reached the provider are voided there.
bool reached_provider(const state& s) noexcept;

/// A new authorisation: `requested` (pending), kept in memory while the provider is asked. For
/// a known payment: no events, or `idempotency_mismatch` for another amount or currency (not for
/// a tombstone, which was never requested).
decision decide_authorize(const state& s, const payment_request& req, const std::string& provider,
                          int64_t now_ms);

/// The provider's answer to an authorisation (or the sandbox settling it): `answered` when the
/// status moves or the provider names its id for the first time; nothing otherwise.
decision decide_answer(const state& s, const provider_outcome& out, const std::string& request_id,
                       int64_t now_ms);

/// An authorisation as its order recorded it, for an entity that holds nothing of the payment
/// (the authorisation is not journaled here, and a restart lost it): an `answered` event that
/// makes it known as authorised. Nothing for a known payment; `invalid_request` for anything but
/// an authorised payment of this id with an amount and a currency.
decision decide_adopt(const state& s, const payment_view& authorisation, int64_t now_ms);

/// `step` of a capture or refund (ask the provider only if it changes), and once the provider
/// did it, the event that records it.
caf::expected<step> check_settle(const state& s, trigger ev);
decision decide_settled(const state& s, trigger ev, int64_t now_ms);

/// A void: `voided` (the fence; for an unknown id a tombstone, recorded with `provider`), to be
/// durable before the provider is asked; nothing if already voided or declined; `conflict` once
/// captured.
decision decide_cancel(const state& s, const std::string& provider, int64_t now_ms);

/// A webhook whose event id was not seen: one `webhook` event (also when it changes nothing, so
/// that its id is remembered). `not_found` for an unknown payment, `conflict` for an amount
/// that differs from the payment's.
decision decide_webhook(const state& s, const payment_confirmation& c, int64_t now_ms);

/// True if the webhook's event id was handled before.
bool is_duplicate(const state& s, const payment_confirmation& c);

/// The answer an authorisation gets once its payment left `pending`: the view, or
/// `payment_declined` for a declined or voided payment.
caf::expected<payment_view> authorisation_answer(const state& s);

/// Found by the event log shell (actors/common/event_log.hpp).
void apply(state& s, const payment_event& e);
payment_snapshot snapshot_of(const state& s);
state from_state_snapshot(const payment_snapshot& snap);

} // namespace mercato::payment

namespace mercato {
// Found by the event log shell (actors/common/event_log.hpp).
inline payment::state from_snapshot(const payment_snapshot& snap) {
  return payment::from_state_snapshot(snap);
}
} // namespace mercato
