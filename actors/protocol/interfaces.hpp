#pragma once

// Every typed actor handle of Mercato, including the ports that adapters implement.
// Handlers are documented here, where callers look, not in the behaviour lambdas.

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace mercato {

/// STOCK ITEM: the single writer of one SKU's on-hand units and holds. Every reply to a
/// command that changes state is sent only once its events are durable.
using stock_actor = caf::typed_actor<
  // Current durable view; `not_found` if the SKU's stock was never set.
  caf::replies_to<atom::get>::with<stock_view>,
  // Sets on_hand to an absolute value (creates the stock item). `invalid_request` if negative,
  // `conflict` if below the units held.
  caf::replies_to<atom::set, stock_set_cmd>::with<stock_view>,
  // Adds a signed delta to on_hand. `conflict` if the result would go below the units held.
  caf::replies_to<atom::adjust, stock_adjust_cmd>::with<stock_view>,
  // Holds units; idempotent per reservation id. `insufficient_stock` when not enough available.
  caf::replies_to<atom::reserve, reserve_cmd>::with<reservation_view>,
  // Turns a hold into a sale. Idempotent; `not_found` for an unknown hold, `conflict` if it
  // expired or was released.
  caf::replies_to<atom::commit, hold_cmd>::with<stock_view>,
  // Returns a hold. Idempotent; `not_found` for an unknown hold, `conflict` if it was sold.
  caf::replies_to<atom::release, hold_cmd>::with<stock_view>,
  // The actor's own expiry timer, tagged with the time it was set for; ignored when stale.
  caf::reacts_to<atom::expire, int64_t>,
  // Test-only fault hook: throws inside the actor when fault injection is enabled.
  caf::replies_to<atom::fault>::with<bool>,
  // Asked by the region when idle: `true` means the actor stops now, `false` that it must stay
  // (pending writes or active holds whose timers it owns).
  caf::replies_to<atom::passivate>::with<bool>,
  // Admin inspection (the contract of every entity kind): a JSON object
  // {"state":{...},"version":N,"recent_events":[...]}. Reads only: changes nothing, not even
  // the idle time that leads to passivation.
  caf::replies_to<atom::inspect>::with<std::string>>;

/// JOURNAL (port, adapters/pg): group-commits appends of all entities. Replies with the last
/// durable seq once the batch holding the request committed; `storage_unavailable` when the
/// database failed, `stale_writer` when another writer owns one of the seqs.
using journal_actor
  = caf::typed_actor<caf::replies_to<atom::append, persist_request>::with<uint64_t>>;

/// EVENT READER: replays a topic's events (WebSocket resumes).
using event_reader_actor = caf::typed_actor<
  // Replay (kind, id, after, limit): the events with seq > after, at most `limit`, in order, no
  // snapshot; `last_seq` is the newest seq there is (0 if none), so a reader can tell whether
  // more follow and whether `after` lies in the future.
  caf::replies_to<atom::read, std::string, std::string, uint64_t, uint64_t>::with<recovery_data>>;

/// RECOVERY (port, adapters/pg): reads entities back from the journal; replays their topics.
using recovery_actor = event_reader_actor::extend<
  // The latest snapshot and every later event (kind, entity id).
  caf::replies_to<atom::load, std::string, std::string>::with<recovery_data>>;

/// CUSTOMER FEED (port, adapters/pg): the customer:{id} topic, a read model of order events
/// (one customer_event per change of any of the customer's orders, numbered per customer).
/// Replays read ("customer", customer id, after, limit).
using customer_feed_actor = event_reader_actor::extend<
  // The feed of a customer: their most recently changed orders, newest first, and its seq. Waits
  // (bounded) until the read model has every order event committed before the request, so that
  // a customer sees the orders they were already answered for.
  caf::replies_to<atom::get, std::string>::with<customer_view>>;

/// EVENT SINK (port, runtime's topic hub): told of every committed journal batch, in commit
/// order, so that live subscribers see each durable change.
using event_sink_actor
  = caf::typed_actor<caf::reacts_to<atom::publish, std::vector<committed_event>>>;

/// PRODUCT STORE (port, adapters/pg): the catalogue.
using product_store_actor = caf::typed_actor<
  // Inserts or replaces a product by SKU; `created` tells which.
  caf::replies_to<atom::put, product>::with<product_put_result>,
  // Reads one product; `not_found` if absent.
  caf::replies_to<atom::get, std::string>::with<product>,
  // Lists products, full-text search on `q`, keyset cursor.
  caf::replies_to<atom::search, product_query>::with<product_page>,
  // Readiness: true when the database answers.
  caf::replies_to<atom::ping>::with<bool>>;

/// DEAD LETTERS (port, adapters/pg): what could not be delivered or processed, newest first.
/// `invalid_request` for a limit outside 1..500 or a malformed cursor.
using dead_letter_store_actor
  = caf::typed_actor<caf::replies_to<atom::list, dead_letter_query>::with<dead_letter_page>,
                     // Sets a letter aside (kind webhook, notification or message) and answers
                     // its id; the same (kind, target, event_id) again answers the first id.
                     caf::replies_to<atom::put, dead_letter>::with<std::string>,
                     // One letter by id; `not_found` (also for an id that is no UUID).
                     caf::replies_to<atom::get, std::string>::with<dead_letter>,
                     // Records an operator's retry of letter `id`: an empty error resolves it,
                     // another counts a retry that failed. Answers the letter as it is now.
                     caf::replies_to<atom::confirm, std::string, std::string>::with<dead_letter>>;

/// WEBHOOKS AGAIN (port, adapters/pg): sends a dead-lettered webhook event (kind `webhook`) once
/// more to its endpoint, signed as the publisher signs; true on a 2xx. `conflict` when the
/// endpoint is no longer configured, `unavailable` (with the answer) when it did not take it.
using webhook_redeliverer_actor
  = caf::typed_actor<caf::replies_to<atom::publish, dead_letter>::with<bool>>;

/// PAYMENT: the single writer of one payment (key: payment id, the checkout attempt's id), in
/// the payment region; callers reach it with `runtime::request_entity`. Every command is
/// idempotent per payment id, so that a saga resumed after a crash may repeat any of them. An
/// authorisation is kept in memory and answered: its durable record is the order it pays for
/// (the checkout asks the provider only once its own `started` is durable, and a compensation
/// always voids the attempt's id at the provider). Every later change (capture, void, refund, a
/// webhook) is journaled, with the whole payment, before it is answered. The provider is
/// reached through the provider port (`payment_provider_actor`), one call per payment at a time.
using payment_actor = caf::typed_actor<
  // Authorises; answers once the outcome is known (for an asynchronous provider, when its
  // webhook confirms), `payment_declined` when refused. Repeating it answers the first outcome;
  // `idempotency_mismatch` with another amount or currency. After `cancel` of the same id it
  // answers `payment_declined` and never charges. A pending authorisation waits at most
  // checkout.payment_timeout_ms, then `request_timeout`.
  caf::replies_to<atom::authorize, payment_request>::with<payment_view>,
  // Captures an authorisation (by payment id). `conflict` unless authorized or captured.
  caf::replies_to<atom::capture, std::string>::with<payment_view>,
  // Captures the authorisation as its order recorded it: an entity that holds nothing of the
  // payment (an authorisation is journaled by its order, not here) takes it from there first.
  caf::replies_to<atom::capture, payment_view>::with<payment_view>,
  // Voids an authorisation, journaled first (the fence), then at the provider, also for an id
  // this entity does not know (an authorisation it lost to a restart may have reached the
  // provider). Succeeds for an unknown id too and fences out a late authorise: compensation may
  // run without knowing whether the authorisation was ever sent. `conflict` once captured
  // (refund instead).
  caf::replies_to<atom::cancel, std::string>::with<payment_view>,
  // Refunds a capture. `conflict` unless captured or refunded.
  caf::replies_to<atom::refund, std::string>::with<payment_view>,
  // Applies a verified webhook; true if it changed anything (a duplicate event id, or a late
  // one, does not). `not_found` for a payment never requested.
  caf::replies_to<atom::confirm, payment_confirmation>::with<bool>,
  // Reads one payment; `not_found` if unknown.
  caf::replies_to<atom::get, std::string>::with<payment_view>,
  // The entity's own timers: a provider that settles by itself is due (`advance`), parked
  // authorisations reach their limit (`expire`).
  caf::reacts_to<atom::advance>, caf::reacts_to<atom::expire>,
  // Test-only fault hook: throws inside the entity when fault injection is enabled.
  caf::replies_to<atom::fault>::with<bool>,
  // Admin inspection: a JSON object {state, version, pending, recent_events}.
  caf::replies_to<atom::inspect>::with<std::string>, caf::replies_to<atom::passivate>::with<bool>>;

/// PAYMENT PROVIDER (port, adapters/payments): one provider ("sandbox", "http") behind one
/// interface. Calls are idempotent per payment id at the provider, so any of them may be
/// repeated after a crash or an unknown outcome. Errors: `storage_unavailable` when the provider
/// cannot be reached or keeps failing (the outcome is unknown), `conflict` when it refuses the
/// call for the payment's state.
using payment_provider_actor = caf::typed_actor<
  // Sends the authorisation: authorized, declined, or pending (a webhook, or the provider by
  // itself after `settle_after_ms`, tells the outcome).
  caf::replies_to<atom::authorize, payment_request>::with<provider_outcome>,
  // Captures, voids (`cancel`) or refunds the payment (its id and provider_ref). A void of a
  // payment the provider never saw succeeds.
  caf::replies_to<atom::capture, payment_view>::with<provider_outcome>,
  caf::replies_to<atom::cancel, payment_view>::with<provider_outcome>,
  caf::replies_to<atom::refund, payment_view>::with<provider_outcome>>;

/// COUPON: the single writer of one code's uses, so that limits hold under any concurrency.
using coupon_actor = caf::typed_actor<
  // Defines or replaces the terms (uses so far are kept). `invalid_request` for bad terms.
  caf::replies_to<atom::put, coupon_terms>::with<coupon_view>,
  // `not_found` if the code was never defined.
  caf::replies_to<atom::get>::with<coupon_view>,
  // The discount `customer_id` would get on `subtotal_minor`, changing nothing; `conflict` when
  // the coupon is not valid now, exhausted, or the subtotal is too low; `not_found` if unknown.
  caf::replies_to<atom::check, coupon_use_cmd>::with<int64_t>,
  // Holds one use for `use_id` and answers the discount; idempotent per use id.
  caf::replies_to<atom::reserve, coupon_use_cmd>::with<int64_t>,
  // Turns a held use into a spent one. Idempotent; `not_found` for an unknown use.
  caf::replies_to<atom::commit, coupon_use_cmd>::with<bool>,
  // Gives a held use back; true also for an unknown or already released use (compensation may
  // run without knowing whether the reserve arrived). `conflict` once committed.
  caf::replies_to<atom::release, coupon_use_cmd>::with<bool>,
  // Admin inspection: a JSON object {state, version, pending, recent_events}.
  caf::replies_to<atom::inspect>::with<std::string>, caf::replies_to<atom::passivate>::with<bool>>;

/// CART: one customer's cart. Every command names the caller; anyone but the owner (or an admin)
/// gets `not_found`; past the idle TTL every command gets `cart_expired`.
using cart_actor = caf::typed_actor<
  // Creates the cart for the caller (`conflict` if the id exists).
  caf::replies_to<atom::create, caller, std::string>::with<cart_view>,
  caf::replies_to<atom::get, caller>::with<cart_view>,
  // Sets a line with the catalogue's price; `insufficient_stock` above what is available,
  // `not_found` for an unknown product, `conflict` once checked out.
  caf::replies_to<atom::put, cart_line_cmd>::with<cart_view>,
  // Removes a line (no error if absent).
  caf::replies_to<atom::remove, cart_line_cmd>::with<cart_view>,
  // Applies a coupon (code); `conflict` if it is invalid or exhausted now.
  caf::replies_to<atom::check, caller, std::string>::with<cart_view>,
  // Claims the cart for checkout `id` as that checkout starts (no changes, no other checkout
  // until given back); idempotent for the same id, `conflict` for another or an empty cart.
  // Answered as soon as decided, before it is durable: `get` confirms it durable.
  caf::replies_to<atom::commit, caller, std::string>::with<cart_view>,
  // Gives the claim of failed checkout `id` back; a no-op if `id` does not hold the cart.
  caf::replies_to<atom::release, caller, std::string>::with<cart_view>,
  // Admin inspection: a JSON object {state, version, pending, recent_events}.
  caf::replies_to<atom::inspect>::with<std::string>, caf::replies_to<atom::passivate>::with<bool>>;

/// ORDER: the single writer of one order's state machine.
using order_actor = caf::typed_actor<
  // Creates the order; repeating the same placement answers the existing order.
  caf::replies_to<atom::place, order_placement>::with<order_view>,
  // The owner's (or an admin's) view; `not_found` for anyone else.
  caf::replies_to<atom::get, caller>::with<order_view>,
  // Moves the status forward; `conflict` for a transition the state machine forbids.
  caf::replies_to<atom::advance, order_status_cmd>::with<order_view>,
  // Cancels (reason in the command) and returns stock and payment; `conflict` once shipped.
  caf::replies_to<atom::cancel, order_status_cmd>::with<order_view>,
  // Merges a partner fact into the timeline: true once recorded, false for a duplicate (same
  // source and external id), which changes nothing.
  caf::replies_to<atom::append, order_fact_cmd>::with<bool>,
  // Creates or updates a marketplace order from its import: a later version (by the platform's
  // update time) is a new event, the same or an older one changes nothing; `conflict` when the id
  // belongs to another order.
  caf::replies_to<atom::upsert, imported_order>::with<import_outcome>,
  // Does what the order still owes: returns stock and payment of a cancelled order (its own
  // retry timer), refunds a return, and records the delay checks that are due (the sweeper of
  // the orders read model sends it to orders whose next check fell due, live or passivated).
  caf::reacts_to<atom::resume>,
  // The order's own delay-check timer, tagged with the time it was set for; ignored when stale.
  caf::reacts_to<atom::check, int64_t>,
  // Admin inspection: a JSON object {state, version, pending, recent_events}.
  caf::replies_to<atom::inspect>::with<std::string>, caf::replies_to<atom::passivate>::with<bool>>;

/// CHECKOUT: one saga, keyed by the customer's Idempotency-Key.
using checkout_actor = caf::typed_actor<
  // Runs the saga, or answers the first result of the same request; `idempotency_mismatch`
  // for another body under the same key. Failures are answered as a view with status `failed`
  // and an API.md code, so that a replay can answer them again.
  caf::replies_to<atom::start, checkout_cmd>::with<checkout_view>,
  // The owner's (or an admin's) view; `not_found` for anyone else.
  caf::replies_to<atom::get, caller>::with<checkout_view>,
  // Continues a saga found unfinished after a restart.
  caf::reacts_to<atom::resume>,
  // An operator's retry of a dead-lettered compensation (kind `message`): one more round of
  // the failed attempt's compensation (its id, as the letter names it), answering what is still
  // owed. `conflict` unless that attempt is the checkout's last and failed.
  caf::replies_to<atom::retry, std::string>::with<std::vector<std::string>>,
  // Test-only fault hook: throws inside the saga when fault injection is enabled.
  caf::replies_to<atom::fault>::with<bool>, // Admin inspection: a JSON object {state, version,
                                            // pending, recent_events}.
  caf::replies_to<atom::inspect>::with<std::string>, caf::replies_to<atom::passivate>::with<bool>>;

/// NOTIFICATION STORE (port, adapters/pg): preferences and deliveries (inbox, delivery log).
using notification_store_actor = caf::typed_actor<
  // Replaces a customer's preferences (validated by the caller) and answers them as stored,
  // version + 1. `invalid_request` for a missing customer id or text that cannot be stored.
  caf::replies_to<atom::put, notification_preferences>::with<notification_preferences>,
  // A customer's preferences; the defaults (version 0) when never set.
  caf::replies_to<atom::get, std::string>::with<notification_preferences>,
  // Deliveries, newest first, keyset cursor. `invalid_request` for a limit outside 1..100, an
  // unknown status or a malformed cursor.
  caf::replies_to<atom::list, notification_query>::with<notification_page>,
  // Puts a failed or dead delivery back to pending (attempts kept); `not_found` for an unknown
  // id, `conflict` unless failed or dead.
  caf::replies_to<atom::retry, std::string>::with<notification_record>>;

/// ORDER INDEX (port, adapters/pg): the orders read model, projected from the journal.
/// `invalid_request` for a limit outside 1..100 or a malformed cursor.
using order_index_actor
  = caf::typed_actor<caf::replies_to<atom::search, order_query>::with<order_page>>;

/// DAILY STATISTICS (port, adapters/pg): the statistics read model, projected from order events;
/// rows in (stat_date, platform, currency) order. Also where each shop's pull sync stands.
using stats_store_actor
  = caf::typed_actor<caf::replies_to<atom::search, daily_stats_query>::with<daily_stats_page>,
                     // The shop's date today (YYYY-MM-DD in the statistics' time zone): the day a
                     // view that ends "today" ends on.
                     caf::replies_to<atom::get>::with<std::string>,
                     // Every shop the pull sync has a cursor for, by shop name.
                     caf::replies_to<atom::list>::with<std::vector<marketplace_sync_status>>>;

} // namespace mercato
