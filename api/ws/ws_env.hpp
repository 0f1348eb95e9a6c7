#pragma once

// What the WebSocket endpoint shares between its sessions, and the asynchronous reads a
// subscription starts with (fetch.cpp, the only CAF behaviour code of api/ws).

#include "api/auth/jwt.hpp"
#include "runtime/node.hpp"
#include "runtime/topic_hub.hpp"

#include <spdlog/logger.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::api::ws {

struct ws_env {
  runtime::node_handles handles;
  std::shared_ptr<const jwt_verifier> jwt;
  std::shared_ptr<spdlog::logger> log;
  runtime::gauge* sessions = nullptr;      ///< mercato_ws_sessions
  runtime::counter* slow_closed = nullptr; ///< mercato_ws_slow_closed_total
  runtime::counter* frames_sent = nullptr; ///< mercato_ws_frames_sent_total
};

/// A parsed topic: "order:{id}", "customer:{id}", "stock:{sku}", "cart:{id}" or "admin:cluster".
struct topic_ref {
  std::string topic; ///< as the client wrote it (and as frames name it)
  std::string kind;  ///< the entity kind (order, customer, stock, cart), or admin
  std::string id;
};

/// Parses and validates a topic; false with `error` (an API.md code) and `detail` otherwise.
bool parse_topic(std::string_view text, topic_ref& out, std::string& error, std::string& detail);

/// Whether `who` may ever see topics of `kind` (ownership is checked against the entity later).
bool may_subscribe(const std::optional<principal>& who, const std::string& kind);

/// Where a subscription starts: a snapshot at `seq`, or the frames after the client's
/// `last_seq` up to `seq`; or an error frame's code and detail.
struct start_point {
  std::string error;  ///< empty on success
  std::string detail; ///< of the error
  uint64_t seq = 0;
  std::optional<std::string> snapshot;    ///< data of the snapshot frame
  std::vector<runtime::frame_ptr> replay; ///< when resuming
};

/// Reads the entity's durable view (checking that `who` may see it) and, with `last_seq`, the
/// events the client missed from the journal. `done` runs on a CAF thread.
void fetch_start(const ws_env& env, const std::optional<principal>& who, const topic_ref& t,
                 std::optional<uint64_t> last_seq, std::function<void(start_point)> done);

/// Reads the events with seq in (after, upto] from the journal, rendered as live frames;
/// `done(false, {})` on failure. `done` runs on a CAF thread.
void fetch_range(const ws_env& env, const topic_ref& t, uint64_t after, uint64_t upto,
                 std::function<void(bool, std::vector<runtime::frame_ptr>)> done);

} // namespace mercato::api::ws
