#pragma once

// The handles one node exposes to its front ends (HTTP, WebSocket, admin). Built by runtime/.

#include "actors/protocol/interfaces.hpp"
#include "config/settings.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace mercato::runtime {

/// What the API layer may talk to. Copyable; all members outlive the servers that use them.
struct node_handles {
  caf::actor_system* sys = nullptr;
  caf::actor stock_region;      ///< route to `stock_actor` by SKU
  caf::actor cart_region;       ///< route to `cart_actor` by cart id
  caf::actor coupon_region;     ///< route to `coupon_actor` by code
  caf::actor checkout_region;   ///< route to `checkout_actor` by checkout id
  caf::actor order_region;      ///< route to `order_actor` by order id
  payment_actor payments;       ///< the configured payment provider
  product_store_actor products; ///< the catalogue (also answers readiness pings)
  metrics_registry* metrics = nullptr;
  config::settings cfg;
};

} // namespace mercato::runtime
