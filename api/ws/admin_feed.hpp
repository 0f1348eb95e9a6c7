#pragma once

// The source of the admin:cluster topic on one node (API.md, WebSocket): the description that
// GET /v1/admin/cluster answers, published as an event whenever it changes (a member joins,
// leaves or dies, shards move, live entities come and go). Each event carries the whole
// description, so a client that missed some needs only the latest.

#include "runtime/node.hpp"

#include <caf/actor.hpp>

#include <string_view>

namespace mercato::api::ws {

inline constexpr std::string_view admin_cluster_topic = "admin:cluster";

/// Spawns the feed. While anyone on this node follows admin:cluster it asks for the description
/// every second and publishes it through `handles.hub` when it changed, numbered 1, 2, ... per
/// node. `(atom::get)` -> (uint64_t seq, std::string data): the current description (asked
/// anew) and its seq, for a new subscription's snapshot.
caf::actor spawn_admin_feed(const runtime::node_handles& handles);

} // namespace mercato::api::ws
