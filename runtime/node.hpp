#pragma once

// The handles one node exposes to its front ends (HTTP, WebSocket, admin). Built by runtime/.

#include "actors/protocol/interfaces.hpp"
#include "config/settings.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace mercato::runtime {

class topic_hub;
class circuit_registry;

namespace cluster {
class state;
} // namespace cluster

/// Who this node is, as the admin API reports it. The HTTP port is known only once the server
/// listens, hence the atomic.
struct node_identity {
  std::string node_id;   ///< generated at start: "<hostname>-<random hex>"
  std::string http_host; ///< the host part of server.http_addr
  std::atomic<uint16_t> http_port{0};
  int64_t started_at_ms = 0;
};

/// What the API layer may talk to. Copyable; all members outlive the servers that use them.
struct node_handles {
  caf::actor_system* sys = nullptr;
  caf::actor stock_region;            ///< route to `stock_actor` by SKU
  caf::actor cart_region;             ///< route to `cart_actor` by cart id
  caf::actor coupon_region;           ///< route to `coupon_actor` by code
  caf::actor checkout_region;         ///< route to `checkout_actor` by checkout id
  caf::actor order_region;            ///< route to `order_actor` by order id
  caf::actor payment_region;          ///< route to `payment_actor` by payment id
  order_index_actor orders;           ///< the orders read model
  customer_feed_actor customer_feed;  ///< the customer:{id} topics' read model
  stats_store_actor stats;            ///< the daily statistics read model
  marketplace_importer import_orders; ///< maps native marketplace orders; empty: no imports
  product_store_actor products;       ///< the catalogue (also answers readiness pings)
  metrics_registry* metrics = nullptr;
  config::settings cfg;

  recovery_actor recovery;                 ///< journal reads (WebSocket replays)
  std::shared_ptr<topic_hub> hub;          ///< live subscriptions; null: no /v1/ws
  dead_letter_store_actor dead_letters;    ///< deliveries and messages set aside
  webhook_redeliverer_actor webhooks;      ///< sends a dead-lettered webhook again
  notification_store_actor notifications;  ///< preferences, inbox and delivery log
  std::shared_ptr<node_identity> identity; ///< this node, for the admin API (may be null)
  /// In a cluster: the node's view and lease (null: a single node owning every entity) and its
  /// gateway, which answers `(atom::get)` with `cluster_info`.
  std::shared_ptr<cluster::state> cluster;
  caf::actor cluster_gateway;
  /// The admin:cluster topic's source (api/ws/admin_feed.hpp); null: the topic is not served.
  caf::actor admin_feed;
  /// The node's circuit breakers (the payment provider's), for `GET /v1/admin/circuits`.
  std::shared_ptr<circuit_registry> circuits;
};

} // namespace mercato::runtime
