#pragma once

// Message structs of coupons, carts, checkouts, orders, customers and payments. Each kind has one
// event struct whose `type` names what happened (the journal's `event_type`); fields a type does
// not use keep their defaults. Registered in atoms.hpp with everything else.

#include "actors/protocol/messages.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato {

// -- coupons ----------------------------------------------------------------------------------

/// The terms of a coupon (PUT /v1/coupons/{code}).
struct coupon_terms {
  std::string code;
  std::string kind; ///< "percent" (value 1..100) or "fixed" (value in minor units)
  int64_t value = 0;
  int64_t min_subtotal_minor = 0;
  int64_t usage_limit = 0;        ///< 0 = unlimited
  int64_t per_customer_limit = 0; ///< 0 = unlimited
  int64_t starts_at_ms = 0;       ///< 0 = always
  int64_t ends_at_ms = 0;         ///< 0 = never
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coupon_terms& x) {
  return f(caf::meta::type_name("coupon_terms"), x.code, x.kind, x.value, x.min_subtotal_minor,
           x.usage_limit, x.per_customer_limit, x.starts_at_ms, x.ends_at_ms);
}

/// One use of a coupon, held by a checkout (`use_id`) until committed or released.
struct coupon_use {
  std::string use_id;
  std::string customer_id;
  bool committed = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coupon_use& x) {
  return f(caf::meta::type_name("coupon_use"), x.use_id, x.customer_id, x.committed);
}

/// defined | use_reserved | use_committed | use_released
struct coupon_event {
  std::string type;
  coupon_terms terms; ///< defined
  std::string use_id; ///< use_*
  std::string customer_id;
  int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coupon_event& x) {
  return f(caf::meta::type_name("coupon_event"), x.type, x.terms, x.use_id, x.customer_id, x.at_ms);
}

/// Durable state of a coupon. Released uses are dropped; held and committed ones count.
struct coupon_snapshot {
  bool exists = false;
  coupon_terms terms;
  std::vector<coupon_use> uses;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coupon_snapshot& x) {
  return f(caf::meta::type_name("coupon_snapshot"), x.exists, x.terms, x.uses);
}

/// Public view of a coupon.
struct coupon_view {
  coupon_terms terms;
  int64_t used = 0;     ///< committed uses
  int64_t reserved = 0; ///< uses held by checkouts in progress
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coupon_view& x) {
  return f(caf::meta::type_name("coupon_view"), x.terms, x.used, x.reserved, x.version);
}

/// Asks for the discount a customer would get on `subtotal_minor` (no change), or reserves,
/// commits or releases use `use_id`.
struct coupon_use_cmd {
  std::string use_id;
  std::string customer_id;
  int64_t subtotal_minor = 0;
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, coupon_use_cmd& x) {
  return f(caf::meta::type_name("coupon_use_cmd"), x.use_id, x.customer_id, x.subtotal_minor,
           x.request_id);
}

// -- carts ------------------------------------------------------------------------------------

/// A line with the price taken from the catalogue when it was set.
struct cart_line {
  std::string sku;
  std::string name;
  int64_t quantity = 0;
  int64_t unit_price_minor = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cart_line& x) {
  return f(caf::meta::type_name("cart_line"), x.sku, x.name, x.quantity, x.unit_price_minor);
}

/// Money of a cart or an order, in minor units of `currency`.
struct totals {
  std::string currency;
  int64_t subtotal_minor = 0;
  int64_t discount_minor = 0;
  int64_t shipping_minor = 0;
  int64_t total_minor = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, totals& x) {
  return f(caf::meta::type_name("totals"), x.currency, x.subtotal_minor, x.discount_minor,
           x.shipping_minor, x.total_minor);
}

/// created | line_set | line_removed | coupon_set | coupon_removed | checked_out
struct cart_event {
  std::string type;
  std::string customer_id; ///< created
  std::string currency;    ///< created
  cart_line line;          ///< line_set; line_removed uses line.sku
  coupon_terms coupon;     ///< coupon_set
  std::string checkout_id; ///< checked_out
  int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cart_event& x) {
  return f(caf::meta::type_name("cart_event"), x.type, x.customer_id, x.currency, x.line, x.coupon,
           x.checkout_id, x.at_ms);
}

/// Durable state of a cart.
struct cart_snapshot {
  bool exists = false;
  std::string customer_id;
  std::string currency;
  std::vector<cart_line> lines; ///< in the order they were first set
  coupon_terms coupon;          ///< code empty = none
  std::string checkout_id;      ///< set once checked out: the cart is then closed
  int64_t created_at_ms = 0;
  int64_t active_at_ms = 0; ///< last change; the idle TTL counts from here
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cart_snapshot& x) {
  return f(caf::meta::type_name("cart_snapshot"), x.exists, x.customer_id, x.currency, x.lines,
           x.coupon, x.checkout_id, x.created_at_ms, x.active_at_ms);
}

/// Public view of a cart.
struct cart_view {
  std::string cart_id;
  std::string customer_id;
  std::vector<cart_line> lines;
  std::string coupon_code;
  totals sums;
  std::string checkout_id;
  int64_t expires_at_ms = 0;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cart_view& x) {
  return f(caf::meta::type_name("cart_view"), x.cart_id, x.customer_id, x.lines, x.coupon_code,
           x.sums, x.checkout_id, x.expires_at_ms, x.version);
}

/// Sets the quantity of a line (0 removes it).
struct cart_line_cmd {
  caller who;
  std::string sku;
  int64_t quantity = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cart_line_cmd& x) {
  return f(caf::meta::type_name("cart_line_cmd"), x.who, x.sku, x.quantity);
}

// -- marketplace orders -----------------------------------------------------------------------
//
// Orders imported from marketplaces (TikTok Shop, Shopee, Lazada), as the importers in
// adapters/marketplaces/ normalise them from each platform's own payload. Money is in minor units
// of `currency`; times are Unix epoch milliseconds.
/// Where an order was placed: Mercato's own checkouts are `web`.
enum class sales_platform : uint8_t { web, tiktok, shopee, lazada };

/// Stable name ("web", "tiktok", ...) as stored and shown in the API.
std::string to_string(sales_platform x);

/// Parses the name written by `to_string`; false if unknown.
bool from_string(const std::string& name, sales_platform& out);

/// What the statistics count an order as, whatever the platform called it.
enum class imported_status : uint8_t { pending, completed, cancelled, returned };

/// Stable name ("pending", ...) as stored and shown in the API.
std::string to_string(imported_status x);

/// Parses the name written by `to_string`; false if unknown.
bool from_string(const std::string& name, imported_status& out);

/// One marketplace order, normalised. `gross_minor - seller_discount_minor -
/// platform_discount_minor + shipping_minor` is what the order is worth before the platform's own
/// rounding and taxes; `final_minor` is what the platform says the buyer pays.
struct imported_order {
  sales_platform platform = sales_platform::web;
  std::string order_code;              ///< the platform's order id, unique per platform
  std::string order_id;                ///< Mercato's id, derived from platform and order code
  std::string customer_id;             ///< the platform's buyer id ("" when it sends none)
  std::string customer_name;           ///< as the platform shows it
  std::string currency;                ///< ISO 4217
  std::vector<cart_line> lines;        ///< unit_price_minor at the original (list) price
  int64_t gross_minor = 0;             ///< merchandise at original prices (GMV)
  int64_t seller_discount_minor = 0;   ///< paid by the seller (promotions, seller vouchers)
  int64_t platform_discount_minor = 0; ///< paid by the platform (platform vouchers, subsidies)
  int64_t shipping_minor = 0;          ///< shipping fee the buyer pays
  int64_t final_minor = 0;             ///< what the buyer pays (revenue)
  imported_status status = imported_status::pending;
  std::string native_status; ///< the platform's own status word(s), for the timeline
  std::string cancel_reason;
  int64_t order_date_ms = 0;   ///< creation time
  int32_t utc_offset_min = 0;  ///< the offset the platform stated the creation time in, if any
  int64_t completed_at_ms = 0; ///< 0 unless completed
  int64_t cancelled_at_ms = 0; ///< 0 unless cancelled or returned
  int64_t updated_at_ms = 0;   ///< the platform's update time: orders later payloads
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, imported_order& x) {
  return f(caf::meta::type_name("imported_order"), x.platform, x.order_code, x.order_id,
           x.customer_id, x.customer_name, x.currency, x.lines, x.gross_minor,
           x.seller_discount_minor, x.platform_discount_minor, x.shipping_minor, x.final_minor,
           x.status, x.native_status, x.cancel_reason, x.order_date_ms, x.utc_offset_min,
           x.completed_at_ms, x.cancelled_at_ms, x.updated_at_ms);
}

// -- orders -----------------------------------------------------------------------------------

/// Where an order goes.
struct shipping_address {
  std::string name;
  std::string line1;
  std::string city;
  std::string postal_code;
  std::string country; ///< ISO 3166-1 alpha-2
  std::string phone;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shipping_address& x) {
  return f(caf::meta::type_name("shipping_address"), x.name, x.line1, x.city, x.postal_code,
           x.country, x.phone);
}

/// Everything an order is created with; the checkout saga builds it.
struct order_placement {
  std::string order_id;
  std::string customer_id;
  std::string checkout_id;
  std::string cart_id;
  std::string reservation_id; ///< the holds of every line (one per SKU)
  std::string payment_id;
  std::string coupon_code;
  std::vector<cart_line> lines;
  totals sums;
  shipping_address ship_to;
  std::string email;
  std::string request_id;
  /// The status the order starts in: `paid` (its payment is authorised) unless the placer vouches
  /// for more, as a checkout does with `confirmed` (its units are held too).
  std::string initial_status;
  /// The authorisation it is paid with, as the provider answered it (status `authorized`). The
  /// order's `placed` is its only durable record until the capture (actors/payment/).
  payment_view payment;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_placement& x) {
  return f(caf::meta::type_name("order_placement"), x.order_id, x.customer_id, x.checkout_id,
           x.cart_id, x.reservation_id, x.payment_id, x.coupon_code, x.lines, x.sums, x.ship_to,
           x.email, x.request_id, x.initial_status, x.payment);
}

/// A fact from a partner system merged into an order's timeline, or one Mercato records itself
/// (source `mercato`, which partners may not name: delay_warning, delivery_expected_soon).
struct timeline_entry {
  uint64_t seq = 0;        ///< order of recording within the order (1, 2, ...)
  std::string type;        ///< payment_captured, ... (is_event_type), or delay_warning, ...
  std::string source;      ///< payment, manufacturing, fulfillment, logistics, support, mercato
  std::string external_id; ///< the partner's id: (source, external_id) deduplicates
  int64_t occurred_at_ms = 0;
  int64_t recorded_at_ms = 0;
  std::string label; ///< human-readable
  std::string data;  ///< a JSON object (text), as the partner sent it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timeline_entry& x) {
  return f(caf::meta::type_name("timeline_entry"), x.seq, x.type, x.source, x.external_id,
           x.occurred_at_ms, x.recorded_at_ms, x.label, x.data);
}

/// True for an entry of which an order keeps in memory only what derives its status: its label
/// and data are in the journal (actors/order/order_rules.hpp, "the timeline in memory").
inline bool is_trimmed(const timeline_entry& f) {
  return f.data.empty(); // a whole entry's data is at least "{}"
}

/// Sources partner events may name.
bool is_event_source(const std::string& source);

/// Event types partner events may name.
bool is_event_type(const std::string& type);

/// The status a partner fact of `type` moves an order to, or "" for a type that only informs.
/// The order's rules move it; notifications tell which milestone a fact reached.
std::string_view status_of_fact(std::string_view type);

/// A partner event for one order (POST /v1/orders/{id}/events), as the API validated it.
struct order_fact_cmd {
  std::string type;
  std::string source;
  std::string external_id;
  int64_t occurred_at_ms = 0;
  std::string data;   ///< a JSON object (text)
  int64_t eta_ms = 0; ///< eta_updated: data.eta
  std::string request_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_fact_cmd& x) {
  return f(caf::meta::type_name("order_fact_cmd"), x.type, x.source, x.external_id,
           x.occurred_at_ms, x.data, x.eta_ms, x.request_id);
}

/// placed | status_changed | cancelled | compensated | fact_recorded | checks_rescheduled
struct order_event {
  std::string type;
  order_placement placement; ///< placed
  std::string status;        ///< status_changed, cancelled: the new status
  std::string reason;        ///< cancelled: the customer's reason; compensated: what was done
  timeline_entry fact;       ///< fact_recorded
  int64_t eta_ms = 0;        ///< fact_recorded of eta_updated
  std::string status_after;  ///< the order's status once applied (what read models show)
  int64_t at_ms = 0;
  /// When the order next needs a delay check once applied (0 = none): the orders read model
  /// keeps it, so that a sweeper can wake passivated orders (checks_rescheduled sets only this).
  int64_t next_check_ms = 0;
  /// placed, status_changed of a marketplace order: the payload as imported (platform `web`
  /// otherwise).
  imported_order market;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_event& x) {
  return f(caf::meta::type_name("order_event"), x.type, x.placement, x.status, x.reason, x.fact,
           x.eta_ms, x.status_after, x.at_ms, x.next_check_ms, x.market);
}

/// Durable state of an order.
struct order_snapshot {
  bool exists = false;
  order_placement placement;
  /// Mercato's own transitions (`own_status`), then every partner fact in the order of
  /// occurrence, each moving it only forward. Derived, so that the same facts give the same
  /// status whatever order they arrived in.
  std::string status;
  std::string own_status; ///< set by placement, confirmation and cancel
  std::string cancel_reason;
  bool compensated = false;             ///< stock and payment returned after a cancel
  std::vector<timeline_entry> timeline; ///< sorted by occurred_at, then seq
  int64_t eta_ms = 0;                   ///< of the latest-occurring eta_updated; 0 = none
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t own_status_at_ms = 0; ///< when own_status was set; 0 = unknown (older snapshots)
  int64_t next_check_ms = 0;    ///< as last stamped into the journal (see order_event)
  /// A marketplace order's latest import; platform `web` for Mercato's own checkouts.
  imported_order market;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_snapshot& x) {
  return f(caf::meta::type_name("order_snapshot"), x.exists, x.placement, x.status, x.own_status,
           x.cancel_reason, x.compensated, x.timeline, x.eta_ms, x.created_at_ms, x.updated_at_ms,
           x.own_status_at_ms, x.next_check_ms, x.market);
}

/// What importing a marketplace order did.
enum class import_outcome : uint8_t {
  imported,  ///< a new order
  updated,   ///< a later version of a known order: a new event
  unchanged, ///< the same or an older version (by the platform's update time): nothing
};

/// "imported", "updated" or "unchanged".
std::string to_string(import_outcome x);

/// Public view of an order.
struct order_view {
  order_snapshot order;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_view& x) {
  return f(caf::meta::type_name("order_view"), x.order, x.version);
}

/// A status change requested by the checkout (confirm) or, later, by partner events.
struct order_status_cmd {
  caller who;
  std::string status;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_status_cmd& x) {
  return f(caf::meta::type_name("order_status_cmd"), x.who, x.status, x.reason);
}

/// GET /v1/orders: a page of the orders read model, newest first.
struct order_query {
  std::string customer_id; ///< empty: every customer's (admin only)
  std::string status;      ///< empty: any
  int32_t limit = 20;
  std::string cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_query& x) {
  return f(caf::meta::type_name("order_query"), x.customer_id, x.status, x.limit, x.cursor);
}

/// One row of the orders read model.
struct order_summary {
  std::string order_id;
  std::string customer_id;
  std::string status;
  int64_t total_minor = 0;
  std::string currency;
  int64_t lines = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_summary& x) {
  return f(caf::meta::type_name("order_summary"), x.order_id, x.customer_id, x.status,
           x.total_minor, x.currency, x.lines, x.created_at_ms, x.updated_at_ms, x.version);
}

/// A page of orders; `next_cursor` is empty on the last page.
struct order_page {
  std::vector<order_summary> items;
  std::string next_cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_page& x) {
  return f(caf::meta::type_name("order_page"), x.items, x.next_cursor);
}

// -- checkouts --------------------------------------------------------------------------------

/// POST /v1/checkouts, as the API validated it.
struct checkout_cmd {
  caller who;
  std::string idempotency_key;
  std::string body_digest; ///< of the request body: the same key with another body is refused
  std::string cart_id;
  std::string payment_token; ///< used once, never journaled (the started event leaves it out)
  shipping_address ship_to;
  std::string email;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_cmd& x) {
  return f(caf::meta::type_name("checkout_cmd"), x.who, x.idempotency_key, x.body_digest, x.cart_id,
           x.payment_token, x.ship_to, x.email);
}

/// One step of the saga as shown by GET /v1/checkouts/{id}.
struct checkout_step {
  std::string name;   ///< reserve_stock, reserve_coupon, authorize_payment, place_order, ...
  std::string status; ///< pending, done, failed, compensated, skipped
  std::string detail;
  int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_step& x) {
  return f(caf::meta::type_name("checkout_step"), x.name, x.status, x.detail, x.at_ms);
}

/// started | completed | failed | compensated (and `order_placed`, in journals written before the
/// order's existence was derived instead)
struct checkout_event {
  std::string type;
  checkout_cmd cmd;     ///< started
  uint32_t attempt = 0; ///< started: 1, 2, ... (a retryable failure may be retried)
  /// started: a new use of the Idempotency-Key, once the last one's retention had passed; this
  /// attempt's id then names the use's cart claim and order (see checkout::use_id)
  bool renews = false;
  cart_view cart;                   ///< started: what is bought
  int64_t discount_minor = 0;       ///< completed (order_placed)
  std::vector<checkout_step> steps; ///< completed, failed (order_placed)
  std::string code;                 ///< failed: an API.md error code
  std::string detail;               ///< failed
  std::vector<std::string> skus;    ///< failed with insufficient_stock
  bool retryable = false;           ///< failed: the same request may be tried again
  /// failed: compensation steps that did not succeed yet, by the entity that owes each
  /// ("payment:ID", "stock:SKU", ...); retried until they do, or until they are dead-lettered,
  /// which `compensated` records
  std::vector<std::string> owed;
  int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_event& x) {
  return f(caf::meta::type_name("checkout_event"), x.type, x.cmd, x.attempt, x.renews, x.cart,
           x.discount_minor, x.steps, x.code, x.detail, x.skus, x.retryable, x.owed, x.at_ms);
}

/// State of a checkout as stored and shown.
struct checkout_view {
  bool exists = false;
  std::string checkout_id;
  std::string order_id;
  std::string status; ///< processing, completed, failed
  checkout_cmd cmd;
  uint32_t attempt = 0;
  uint32_t first_attempt = 1; ///< the attempt that began the key's current use (a renewal)
  cart_view cart;
  int64_t discount_minor = 0;
  std::vector<checkout_step> steps;
  std::string code;
  std::string detail;
  std::vector<std::string> skus;
  bool retryable = false;
  std::vector<std::string> owed; ///< failed: compensation steps still to be retried
  /// completed: every hold, the coupon and the payment are settled; failed: every step taken
  /// was compensated (or dead-lettered)
  bool finished = false;
  int64_t created_at_ms = 0; ///< of the key's current use: its retention counts from here
  int64_t updated_at_ms = 0;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkout_view& x) {
  return f(caf::meta::type_name("checkout_view"), x.exists, x.checkout_id, x.order_id, x.status,
           x.cmd, x.attempt, x.first_attempt, x.cart, x.discount_minor, x.steps, x.code, x.detail,
           x.skus, x.retryable, x.owed, x.finished, x.created_at_ms, x.updated_at_ms, x.version);
}

// -- customers --------------------------------------------------------------------------------

/// One order as its customer's feed knows it.
struct customer_order {
  std::string order_id;
  std::string status;
  uint64_t order_seq = 0;
  int64_t updated_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, customer_order& x) {
  return f(caf::meta::type_name("customer_order"), x.order_id, x.status, x.order_seq,
           x.updated_at_ms);
}

/// A message of the customer's in-app inbox (a notification on channel in_app).
struct inbox_item {
  std::string id; ///< the notification's id
  std::string order_id;
  std::string kind; ///< the milestone, e.g. order_confirmed
  std::string locale;
  std::string subject;
  std::string body;
  int64_t created_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inbox_item& x) {
  return f(caf::meta::type_name("inbox_item"), x.id, x.order_id, x.kind, x.locale, x.subject,
           x.body, x.created_at_ms);
}

/// An event of a customer's feed (topic customer:{id}): `order_updated`, or `notification` (a
/// new inbox message; `order` then names its order only).
struct customer_event {
  std::string type;
  customer_order order;  ///< the order after the change
  std::string change;    ///< the order event's type
  std::string fact_type; ///< the partner fact's type, if any
  int64_t at_ms = 0;
  inbox_item notification; ///< type `notification`: the message
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, customer_event& x) {
  return f(caf::meta::type_name("customer_event"), x.type, x.order, x.change, x.fact_type, x.at_ms,
           x.notification);
}

/// State of a customer's feed: their most recently updated orders, newest first, and the newest
/// messages of their inbox.
struct customer_snapshot {
  std::string customer_id;
  std::vector<customer_order> orders;
  std::vector<inbox_item> inbox; ///< newest first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, customer_snapshot& x) {
  return f(caf::meta::type_name("customer_snapshot"), x.customer_id, x.orders, x.inbox);
}

struct customer_view {
  customer_snapshot customer;
  uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, customer_view& x) {
  return f(caf::meta::type_name("customer_view"), x.customer, x.version);
}

// -- payments ---------------------------------------------------------------------------------

/// Event of the payment entity. Every event carries the payment as it is after the event, so
/// that recovery and the `payments` read model (projected by the journal) need no history.
/// Types: `requested` (an authorisation is about to go to the provider), `answered` (the
/// provider's answer to it), `captured`, `refunded`, `voided` (our void, the fence: recorded
/// before the provider is told; for an id never requested it is a tombstone), `webhook` (a
/// provider event, recorded even when it changes nothing so that its id is never applied
/// twice), `imported` (a payment recorded before payments were journaled, migration 0007).
struct payment_event {
  std::string type;
  std::string status; ///< the payment's status after the event (payment_status names)
  int64_t amount_minor = 0;
  std::string currency;
  std::string provider;
  std::string provider_ref;
  std::string detail;
  std::string customer_id;
  std::string source;                   ///< command, provider, webhook
  std::string event_id;                 ///< webhook: the provider's event id
  bool changed = true;                  ///< webhook: whether it moved the status
  std::vector<std::string> seen_events; ///< imported: webhook event ids applied before
  std::string request_id;
  int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_event& x) {
  return f(caf::meta::type_name("payment_event"), x.type, x.status, x.amount_minor, x.currency,
           x.provider, x.provider_ref, x.detail, x.customer_id, x.source, x.event_id, x.changed,
           x.seen_events, x.request_id, x.at_ms);
}

/// Durable state of a payment. `seen_events` are the provider's webhook event ids already
/// handled, kept with the payment so that a redelivery after a restart changes nothing.
struct payment_snapshot {
  bool exists = false;
  payment_view payment;
  std::string customer_id;
  std::vector<std::string> seen_events;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_snapshot& x) {
  return f(caf::meta::type_name("payment_snapshot"), x.exists, x.payment, x.customer_id,
           x.seen_events);
}

} // namespace mercato
