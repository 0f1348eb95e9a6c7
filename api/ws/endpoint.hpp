#pragma once

// GET /v1/ws: live subscriptions to entity topics (API.md, WebSocket).

#include "api/http/session.hpp"
#include "runtime/node.hpp"

#include <memory>

namespace mercato::api::ws {

/// The upgrade handler the HTTP sessions hand /v1/ws upgrades to: checks the token (header or
/// `access_token`; none = anonymous, public topics only), answers 401 to a bad one, else accepts
/// the handshake and runs a WebSocket session on the connection's strand. Null when the node has
/// no topic hub.
ws_upgrade_fn make_upgrade_handler(const runtime::node_handles& handles,
                                   const std::shared_ptr<session_shared>& shared);

} // namespace mercato::api::ws
