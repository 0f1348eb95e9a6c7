#pragma once

// The rules of a cart as pure functions (see stock_rules.hpp for the pattern). Prices are a
// snapshot taken when a line is set; availability is checked softly here and for real by the
// reservations of the checkout.

#include "actors/protocol/commerce.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato::cart {

/// Most lines per cart and units per line.
constexpr size_t max_lines = 100;
constexpr int64_t max_quantity = 10'000;

/// The state is the snapshot itself: small, and read whole for every view.
using state = cart_snapshot;

/// Events of one decision; empty when nothing changes.
using decision = caf::expected<std::vector<cart_event>>;

/// Settings the rules depend on.
struct policy {
  int64_t ttl_ms = 86400000;
  int64_t shipping_flat_minor = 0;
};

/// `not_found` unless the cart exists and `who` owns it (or is an admin); `cart_expired` past
/// its idle TTL.
caf::error check_access(const state& s, const caller& who, const policy& p, int64_t now_ms);

decision decide_create(const state& s, const caller& who, const std::string& currency,
                       int64_t now_ms);

/// Sets line `sku` to `quantity` units of `item` with `available` units in stock.
decision decide_set_line(const state& s, const product& item, int64_t quantity, int64_t available,
                         int64_t now_ms);
decision decide_remove_line(const state& s, const std::string& sku, int64_t now_ms);
decision decide_coupon(const state& s, const coupon_terms& terms, int64_t now_ms);
/// Claims the cart for checkout `checkout_id` when that checkout starts: from then on no line
/// changes and no other checkout (`conflict`) until the claim is given back. Idempotent for the
/// same checkout; `conflict` for an empty cart.
decision decide_checkout(const state& s, const std::string& checkout_id, int64_t now_ms);

/// Gives the claim of a failed checkout back (`reopened`); nothing if `checkout_id` does not
/// hold the cart.
decision decide_reopen(const state& s, const std::string& checkout_id, int64_t now_ms);

/// `conflict` once the cart is checked out.
caf::error check_open(const state& s);

void apply(state& s, const cart_event& e);
totals totals_of(const state& s, const policy& p);
cart_view to_view(const std::string& cart_id, const state& s, const policy& p, uint64_t version);

} // namespace mercato::cart

namespace mercato {
// Found by the event log shell (actors/common/event_log.hpp).
inline void apply(cart::state& s, const cart_event& e) {
  cart::apply(s, e);
}
inline cart_snapshot snapshot_of(const cart::state& s) {
  return s;
}
inline cart::state from_snapshot(const cart_snapshot& snap) {
  return snap;
}
} // namespace mercato
