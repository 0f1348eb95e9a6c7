#pragma once

// The node's member of the cluster (DESIGN.md "Cluster"): keeps this node's heartbeat in
// PostgreSQL, marks members whose heartbeat expired dead, connects to the other members over
// CAF remoting, takes the shards it is the target owner of when nobody serves them, hands shards
// to a joining target after draining their entities, and keeps the shared view
// (runtime/cluster/cluster_state.hpp) current for the routers and the gateway.

#include "config/settings.hpp"
#include "runtime/cluster/cluster_state.hpp"

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mercato::runtime {

/// Enters this node into the cluster's tables as `joining` (blocking, on the caller's thread),
/// creating the cluster if it is the first node. Refused while a live member speaks another
/// protocol version. Returns the new incarnation.
caf::expected<int64_t> enter_cluster(const std::string& url, const config::cluster_settings& cfg,
                                     const std::string& node_id, const std::string& http_address,
                                     uint16_t caf_port);

struct cluster_agent_settings {
  std::string url; ///< the database
  config::cluster_settings cluster;
  /// This node's HTTP address once it listens ("" before): shown by the admin API.
  std::function<std::string()> http_address;
  /// The local regions (not the routers), asked to drain shards before they move.
  std::vector<caf::actor> regions;
  /// Called (on the agent's thread) after this node claimed `shards` (of `shard_count`), from a
  /// dead member or unowned: wakes what must stay live there (open checkouts, stock items with
  /// open holds), since their actors died with their owner.
  std::function<void(const std::vector<int32_t>& shards, int32_t shard_count)> on_takeover;
  /// Called once this node holds the lease of the cluster's singleton work (the delay sweeper and
  /// the webhook publishers); returns what it spawned, which the agent stops when it stops.
  std::function<std::vector<caf::actor>()> start_singletons;
};

/// Spawns the agent of the member `cluster` describes (after `enter_cluster`). It marks the
/// member `up` once connected to every up peer, and `left` when it stops. `(atom::remove)` ->
/// bool starts leaving: every shard goes to its target among the other members once its
/// entities stopped (true if all went); shards that could not go are routed nowhere until the
/// member has left, then taken over like a dead member's.
caf::actor spawn_cluster_agent(caf::actor_system& sys, cluster_agent_settings cfg,
                               std::shared_ptr<cluster::state> cluster);

} // namespace mercato::runtime
