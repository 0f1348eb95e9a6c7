#pragma once

// Plain message structs exchanged between actors, adapters and the API. Every type here is
// registered once in atoms.hpp so that it also crosses node boundaries.

#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato {

// -- stock ------------------------------------------------------------------------------------

/// Public view of one stock item (GET /v1/stock/{sku}).
struct stock_view {
  std::string sku;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t available = 0;
  uint64_t version = 0; ///< seq of the last durable event
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_view& x) {
  return f(caf::meta::type_name("stock_view"), x.sku, x.on_hand, x.reserved, x.available,
           x.version);
}

/// A hold on units of one SKU (201 of POST /v1/stock/{sku}/reservations).
struct reservation_view {
  std::string reservation_id;
  std::string sku;
  int64_t quantity = 0;
  int64_t expires_at_ms = 0; ///< Unix epoch milliseconds, UTC
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reservation_view& x) {
  return f(caf::meta::type_name("reservation_view"), x.reservation_id, x.sku, x.quantity,
           x.expires_at_ms);
}

/// Sets the absolute number of units on hand.
struct stock_set_cmd {
  int64_t on_hand = 0;
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_set_cmd& x) {
  return f(caf::meta::type_name("stock_set_cmd"), x.on_hand, x.request_id);
}

/// Adds `delta` (may be negative) units on hand, with a reason kept in the journal.
struct stock_adjust_cmd {
  int64_t delta = 0;
  std::string reason;
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_adjust_cmd& x) {
  return f(caf::meta::type_name("stock_adjust_cmd"), x.delta, x.reason, x.request_id);
}

/// Holds `quantity` units for `ttl_ms` (0 = the configured default) under `reservation_id`.
struct reserve_cmd {
  std::string reservation_id;
  int64_t quantity = 0;
  int64_t ttl_ms = 0;
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reserve_cmd& x) {
  return f(caf::meta::type_name("reserve_cmd"), x.reservation_id, x.quantity, x.ttl_ms,
           x.request_id);
}

/// Commits (sells) or releases a hold.
struct hold_cmd {
  std::string reservation_id;
  std::string request_id;
  /// Commit only: sell even if the hold expired, while its units are available (the checkout
  /// settling an order it already placed; see stock::decide_commit).
  bool late_sale = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hold_cmd& x) {
  return f(caf::meta::type_name("hold_cmd"), x.reservation_id, x.request_id, x.late_sale);
}

/// What kind of change a stock event records.
enum class stock_event_type : uint8_t {
  on_hand_set, ///< on_hand := on_hand + delta (delta computed from the requested absolute)
  adjusted,    ///< on_hand += delta
  reserved,    ///< reserved += qty, hold added
  committed,   ///< on_hand -= qty, reserved -= qty, hold sold
  released,    ///< reserved -= qty, hold returned by a client
  expired,     ///< reserved -= qty, hold returned by its timer
};

/// Stable name of an event type, as stored in the journal's `event_type` column.
std::string to_string(stock_event_type x);

/// Parses the name written by `to_string`; false if unknown.
bool from_string(const std::string& name, stock_event_type& out);

/// One durable fact about a stock item. A single struct for all types keeps the codec small;
/// fields that a type does not use stay at their defaults.
struct stock_event {
  stock_event_type type = stock_event_type::adjusted;
  int64_t delta = 0;          ///< on_hand_set, adjusted
  std::string reason;         ///< adjusted
  std::string reservation_id; ///< reserved, committed, released, expired
  int64_t qty = 0;            ///< reserved, committed, released, expired
  int64_t expires_at_ms = 0;  ///< reserved
  int64_t at_ms = 0;          ///< when the decision was taken (epoch ms)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_event& x) {
  return f(caf::meta::type_name("stock_event"), x.type, x.delta, x.reason, x.reservation_id, x.qty,
           x.expires_at_ms, x.at_ms);
}

/// An active hold inside a snapshot.
struct stock_hold {
  std::string reservation_id;
  int64_t qty = 0;
  int64_t expires_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_hold& x) {
  return f(caf::meta::type_name("stock_hold"), x.reservation_id, x.qty, x.expires_at_ms);
}

/// How a hold ended, remembered so that retries stay idempotent.
struct stock_closed_hold {
  std::string reservation_id;
  stock_event_type outcome = stock_event_type::released;
  int64_t qty = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_closed_hold& x) {
  return f(caf::meta::type_name("stock_closed_hold"), x.reservation_id, x.outcome, x.qty);
}

/// Durable state of a stock item as stored in a snapshot.
struct stock_snapshot {
  bool exists = false;
  int64_t on_hand = 0;
  std::vector<stock_hold> holds;
  std::vector<stock_closed_hold> closed; ///< most recent last, bounded
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_snapshot& x) {
  return f(caf::meta::type_name("stock_snapshot"), x.exists, x.on_hand, x.holds, x.closed);
}

// -- journal ----------------------------------------------------------------------------------

/// Events of one entity to make durable in one group commit. `events` and `snapshot` hold one
/// domain struct each (e.g. `stock_event`, `stock_snapshot`); the journal's codec turns them into
/// JSON for the `payload` column and the outbox.
struct persist_request {
  std::string kind;       ///< entity kind ("stock", "cart", ...)
  std::string entity_id;  ///< key within the kind
  uint64_t first_seq = 0; ///< seq of events[0]; seqs are consecutive from 1 per entity
  std::vector<caf::message> events;
  caf::message snapshot; ///< empty, or the state after the last event
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, persist_request& x) {
  return f(caf::meta::type_name("persist_request"), x.kind, x.entity_id, x.first_seq, x.events,
           x.snapshot, x.request_id);
}

/// Everything needed to rebuild an entity: the latest snapshot and the events after it.
struct recovery_data {
  caf::message snapshot; ///< empty when there is none
  uint64_t snapshot_seq = 0;
  std::vector<caf::message> events; ///< in seq order, all with seq > snapshot_seq
  uint64_t last_seq = 0;            ///< 0 for an entity that never persisted anything
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recovery_data& x) {
  return f(caf::meta::type_name("recovery_data"), x.snapshot, x.snapshot_seq, x.events, x.last_seq);
}

/// One event made durable, as the journal announces it to the node's topic hub once its batch
/// committed. Announcements are in commit order, so per entity in seq order.
struct committed_event {
  std::string kind;      ///< entity kind
  std::string entity_id; ///< key within the kind
  uint64_t seq = 0;      ///< the event's seq in the entity's journal
  caf::message event;    ///< the domain event (e.g. `order_event`)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, committed_event& x) {
  return f(caf::meta::type_name("committed_event"), x.kind, x.entity_id, x.seq, x.event);
}

// -- catalogue --------------------------------------------------------------------------------

/// A product in the catalogue (not an actor: catalogue rows are plain reads and upserts).
struct product {
  std::string sku;
  std::string name;
  std::string description;
  std::string category;
  std::string seller_id;
  int64_t price_minor = 0;
  std::string currency;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product& x) {
  return f(caf::meta::type_name("product"), x.sku, x.name, x.description, x.category, x.seller_id,
           x.price_minor, x.currency, x.created_at_ms, x.updated_at_ms, x.version);
}

/// Result of an upsert: the stored product and whether it was new.
struct product_put_result {
  product item;
  bool created = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_put_result& x) {
  return f(caf::meta::type_name("product_put_result"), x.item, x.created);
}

/// A page request of the product list; `cursor` is opaque to clients.
struct product_query {
  std::string q; ///< full-text search, empty = all
  std::string category;
  int32_t limit = 20;
  std::string cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_query& x) {
  return f(caf::meta::type_name("product_query"), x.q, x.category, x.limit, x.cursor);
}

/// One page of products; `next_cursor` is empty on the last page.
struct product_page {
  std::vector<product> items;
  std::string next_cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_page& x) {
  return f(caf::meta::type_name("product_page"), x.items, x.next_cursor);
}

// -- admin ------------------------------------------------------------------------------------

/// One live entity as its shard region sees it (GET /v1/admin/actors).
struct entity_info {
  std::string kind;
  std::string key;
  std::string status;    ///< running, stopping, restarting or failed
  int64_t mailbox = -1;  ///< messages waiting for it at the last sample; -1 = not known
  uint64_t restarts = 0; ///< restarts after failures since it became live
  int64_t idle_ms = 0;   ///< since the last message routed to it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entity_info& x) {
  return f(caf::meta::type_name("entity_info"), x.kind, x.key, x.status, x.mailbox, x.restarts,
           x.idle_ms);
}

/// A page of a region's live entities in key order; `more` when keys follow the last one.
struct entity_page {
  std::vector<entity_info> items;
  bool more = false;
  uint64_t total = 0; ///< live entities of the region, on every page
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entity_page& x) {
  return f(caf::meta::type_name("entity_page"), x.items, x.more, x.total);
}

/// One member of the cluster as the admin API shows it.
struct cluster_member_info {
  std::string node_id;
  int64_t incarnation = 0;
  std::string address;            ///< HTTP address
  std::string status;             ///< joining, up, left, dead
  int32_t shards = 0;             ///< shards it owns
  int64_t entities = -1;          ///< live entities; -1 if the member did not answer
  std::vector<std::string> kinds; ///< live entities per kind: kinds[i] has counts[i]
  std::vector<uint64_t> counts;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_member_info& x) {
  return f(caf::meta::type_name("cluster_member_info"), x.node_id, x.incarnation, x.address,
           x.status, x.shards, x.entities, x.kinds, x.counts);
}

/// The cluster as one node sees it.
struct cluster_info {
  std::string self;
  int64_t view_version = 0;
  int32_t shard_count = 0;
  std::vector<cluster_member_info> members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info& x) {
  return f(caf::meta::type_name("cluster_info"), x.self, x.view_version, x.shard_count, x.members);
}

/// A message or delivery that could not be processed and was set aside (table dead_letters).
struct dead_letter {
  std::string id;
  std::string kind;   ///< webhook, notification, message
  std::string target; ///< URL, address or actor it was meant for
  std::string aggregate_type;
  std::string aggregate_id;
  std::string event_id;
  std::string payload; ///< JSON text
  std::string last_error;
  int32_t attempts = 0;
  int64_t first_failed_at_ms = 0;
  int64_t dead_at_ms = 0;
  int32_t retries = 0;        ///< an operator's retries that did not succeed
  int64_t resolved_at_ms = 0; ///< when a retry succeeded; 0: still open
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter& x) {
  return f(caf::meta::type_name("dead_letter"), x.id, x.kind, x.target, x.aggregate_type,
           x.aggregate_id, x.event_id, x.payload, x.last_error, x.attempts, x.first_failed_at_ms,
           x.dead_at_ms, x.retries, x.resolved_at_ms);
}

/// A page request of dead letters, newest first; `cursor` is opaque to clients.
struct dead_letter_query {
  std::string kind; ///< empty = every kind
  int32_t limit = 50;
  std::string cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter_query& x) {
  return f(caf::meta::type_name("dead_letter_query"), x.kind, x.limit, x.cursor);
}

/// One page of dead letters; `next_cursor` is empty on the last page.
struct dead_letter_page {
  std::vector<dead_letter> items;
  std::string next_cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter_page& x) {
  return f(caf::meta::type_name("dead_letter_page"), x.items, x.next_cursor);
}

// -- callers ----------------------------------------------------------------------------------

/// Who sends a command, as the API authenticated it. Entities owned by a customer answer
/// `not_found` to any other customer, so that ids of other people's carts and orders leak nothing.
struct caller {
  std::string sub;    ///< the token's subject (customer id)
  bool admin = false; ///< admin sees and changes everything
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, caller& x) {
  return f(caf::meta::type_name("caller"), x.sub, x.admin, x.request_id);
}

// -- payments ---------------------------------------------------------------------------------

/// Lifecycle of one payment at the provider.
enum class payment_status : uint8_t {
  pending,    ///< sent to the provider, outcome not known yet (asynchronous providers)
  authorized, ///< funds held
  declined,   ///< refused by the provider (final)
  captured,   ///< funds taken
  voided,     ///< authorisation cancelled before capture (final)
  refunded,   ///< captured funds returned (final)
};

/// Stable name ("authorized", ...) as stored and shown in the API.
std::string to_string(payment_status x);

/// Parses the name written by `to_string`; false if unknown.
bool from_string(const std::string& name, payment_status& out);

/// Asks the provider to authorise `amount_minor`. `payment_id` is the idempotency key at the
/// provider: the checkout uses its own id, so a resumed saga can never authorise twice.
struct payment_request {
  std::string payment_id;
  std::string customer_id;
  int64_t amount_minor = 0;
  std::string currency;
  std::string token; ///< card token from the client (`tok_ok`, ... for the sandbox)
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_request& x) {
  return f(caf::meta::type_name("payment_request"), x.payment_id, x.customer_id, x.amount_minor,
           x.currency, x.token, x.request_id);
}

/// What Mercato knows about one payment.
struct payment_view {
  std::string payment_id;
  payment_status status = payment_status::pending;
  int64_t amount_minor = 0;
  std::string currency;
  std::string provider;     ///< "sandbox", "http"
  std::string provider_ref; ///< the provider's id of the payment
  std::string detail;       ///< decline reason, ...
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_view& x) {
  return f(caf::meta::type_name("payment_view"), x.payment_id, x.status, x.amount_minor, x.currency,
           x.provider, x.provider_ref, x.detail);
}

/// What a payment provider answered to one call (the provider port, `payment_provider_actor`).
struct provider_outcome {
  payment_status status = payment_status::pending; ///< authorized, declined or pending; else done
  std::string provider_ref;                        ///< the provider's id, if it gave one
  std::string detail;                              ///< decline reason, ...
  /// Pending only: the provider settles the authorisation as authorised by itself after this
  /// many ms, without a webhook (the sandbox's `tok_slow`); 0 = a webhook will tell.
  int64_t settle_after_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_outcome& x) {
  return f(caf::meta::type_name("provider_outcome"), x.status, x.provider_ref, x.detail,
           x.settle_after_ms);
}

/// An asynchronous confirmation from the provider (POST /v1/payments/webhook), after the API
/// checked its signature. `event_id` deduplicates deliveries.
struct payment_confirmation {
  std::string event_id;
  std::string payment_id;
  std::string provider_ref;
  payment_status status = payment_status::pending;
  int64_t amount_minor = 0;
  std::string detail;
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_confirmation& x) {
  return f(caf::meta::type_name("payment_confirmation"), x.event_id, x.payment_id, x.provider_ref,
           x.status, x.amount_minor, x.detail, x.request_id);
}

} // namespace mercato
