#pragma once

// What the node knows of the cluster, as GET /v1/admin/cluster answers it; shared by that route
// and the admin:cluster topic (api/ws/admin_feed.cpp), so both always say the same.

#include "runtime/node.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace mercato::api {

/// Every entity kind the API names, in the order listings walk them (sorted, so that the
/// cursor "after kind/key" is a plain comparison).
constexpr std::array<std::string_view, 7> known_kinds{"cart",  "checkout", "coupon", "customer",
                                                      "order", "payment",  "stock"};

/// The region of `kind`, null while that kind has none on this node (a customer's feed is a read
/// model, not a live entity).
caf::actor region_of(const runtime::node_handles& h, std::string_view kind);

/// This node's id ("local" without an identity).
std::string node_id_of(const runtime::node_handles& h);

/// The gateway of up member `node_id` (another node): an invalid handle when no up member has
/// that id (or this node is alone), `entity_unavailable` when it is up but not connected.
caf::expected<caf::actor> member_gateway(const runtime::node_handles& h,
                                         const std::string& node_id);

/// Asks, from `self`, for the JSON body of GET /v1/admin/cluster: in a cluster, every member of
/// the node's view with each up member's live entities (the gateway asks them); on a single node,
/// this node with its regions' counts. `done` runs in `self`'s context.
void describe_cluster(caf::event_based_actor* self, const runtime::node_handles& h,
                      std::chrono::milliseconds timeout,
                      std::function<void(caf::expected<std::string>)> done);

} // namespace mercato::api
