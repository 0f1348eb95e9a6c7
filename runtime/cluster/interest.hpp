#pragma once

// Live push across nodes (DESIGN.md "Cluster"): each node tells its peers which topics it has
// WebSocket subscribers for, and a committing node forwards a batch's events only to the peers
// that want them (spawn_cluster_sink in router.hpp).

#include "runtime/cluster/cluster_state.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

namespace mercato::runtime::cluster {

/// Spawns the actor that announces this node's topics to its peers' gateways. Messages:
/// - `(atom::put, std::string topic)`: the topic got its first local subscriber (the hub's
///   interest listener); announced to every connected peer.
/// - `(atom::remove, std::string topic)`: it lost its last one; peers are told to stop.
/// - `(atom::get, std::string topic)` -> `bool`: answers once every peer connected when the
///   topic was announced acknowledged it (or failed to within 1 s), so that a subscription reads
///   its starting snapshot only after the entity's owner forwards what commits next. At once
///   for a topic that is not (or no longer) wanted here.
/// - `(atom::start, caf::actor gateway)`: a peer (re)connected; it gets every wanted topic.
/// Peers are told with requests and messages from this one actor, so a topic's announcement and
/// its withdrawal reach each peer in the order they were made.
caf::actor spawn_interest_announcer(caf::actor_system& sys, std::shared_ptr<state> cluster);

} // namespace mercato::runtime::cluster
