#pragma once

// The cluster's message paths (DESIGN.md "Cluster"). A router stands in front of one kind's
// region and speaks the region protocol: a key whose shard this node owns goes to the local
// region; another up member's key goes to that node's gateway over CAF remoting, with a finite
// timeout and a monitor on the peer, so that a request in flight to a node that dies fails fast
// with `entity_unavailable` (its outcome is unknown; commands are idempotent, so retrying is
// safe). A key whose shard has no serving owner waits (bounded) until the view shows one.
// The gateway is the one actor each node publishes: it serves forwarded keys only if this node
// owns their shard (`moved` otherwise, and the sender re-routes), and answers the admin's
// cluster questions.

#include "actors/protocol/interfaces.hpp"
#include "runtime/cluster/cluster_state.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace mercato::runtime::cluster {

struct router_settings {
  std::string kind;
  /// How long a message may wait for its shard to get a serving owner before `entity_unavailable`.
  std::chrono::milliseconds wait_for_owner{5000};
  /// Deadline of a forwarded request (a checkout's saga takes a few steps).
  std::chrono::milliseconds forward_timeout{30000};
};

/// Spawns the router of one kind. Besides `route` and `route_new`, it passes the region's other
/// messages (`list`, `inspect`, `passivate`, `release`) to the local region: those are about
/// this node's live entities.
caf::actor spawn_router(caf::actor_system& sys, router_settings cfg, caf::actor local_region,
                        std::shared_ptr<state> cluster);

/// Spawns the sink that the journal and the projection runners tell of what committed: it passes
/// each batch to this node's hub (`local`) and, to each connected peer's gateway, the events of
/// the topics that peer has subscribers for (interest.hpp); that peer's hub serves them to the
/// WebSocket subscribers connected there. Counts what it forwards in `metrics`, if given.
event_sink_actor spawn_cluster_sink(caf::actor_system& sys, event_sink_actor local,
                                    std::shared_ptr<state> cluster,
                                    metrics_registry* metrics = nullptr);

/// Spawns the gateway. Messages:
/// - `(atom::route | atom::route_new, std::string kind, std::string key, caf::message msg)`:
///   delivers to the local region of `kind` if this node owns the key's shard, else `moved`.
/// - `(atom::publish, std::vector<committed_event>)`: a peer's commits, for this node's hub
///   (`state::set_local_sink`).
/// - `(atom::put | atom::remove, std::string node, int64_t incarnation, std::vector<std::string>
///   topics)`: that peer now has (put, answered `true`) or no longer has subscribers for them.
/// - `(atom::load)`: a peer changed the shard table; this node's agent reads the view at once.
/// - `(atom::list)` -> `cluster_member_info`: this node and its live entities per kind.
/// - `(atom::list, std::string kind, std::string after, int32_t limit)` -> `entity_page`: a page
///   of this node's live entities of `kind` (the region's `list`), for the admin of another node.
/// - `(atom::get)` -> `cluster_info`: every member of the view, with each up member's live
///   entities (asked with a 1 s deadline; -1 when it did not answer).
caf::actor spawn_gateway(caf::actor_system& sys, std::shared_ptr<state> cluster);

} // namespace mercato::runtime::cluster
