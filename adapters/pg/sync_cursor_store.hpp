#pragma once

// The marketplace pull sync's durable cursors (table marketplace_sync_cursors, migration 0022)
// and OAuth tokens (migration 0026): blocking calls on one connection of their own, for the
// detached sync worker of one shop.

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mercato::pg {

class session;

/// Where a shop's sync stands.
struct sync_cursor {
  int64_t synced_to = 0;  ///< unix s: every order updated before it is imported
  int64_t window_to = 0;  ///< unix s: the window being paged; 0 = none
  std::string page_token; ///< where the window's next page starts ("" = its first page)
};

/// The token pair a shop's sync holds. Secrets: never logged, never in `last_error`, never in an
/// API answer.
struct sync_tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_at = 0; ///< unix s when access_token expires; 0 = unknown
  std::string seed;       ///< hex SHA-256 of the configured refresh token the pair descends from
};

class sync_cursor_store {
public:
  sync_cursor_store(std::string url, const std::string& shop);
  ~sync_cursor_store();

  sync_cursor_store(const sync_cursor_store&) = delete;
  sync_cursor_store& operator=(const sync_cursor_store&) = delete;

  /// The shop's cursor; a shop seen for the first time starts at `synced_to` with no window.
  caf::expected<sync_cursor> load(const std::string& platform, int64_t synced_to);

  /// Records `c` after a page of `orders` orders was imported.
  caf::error save(const sync_cursor& c, int64_t orders);

  /// Records why a sync ended early ("" after a good one).
  caf::error note_error(const std::string& why);

  /// The stored token pair, if any. Call after load(), which creates the row.
  caf::expected<std::optional<sync_tokens>> load_tokens();

  /// Stores `t` as the pair in use, durably, before it is first used.
  caf::error save_tokens(const sync_tokens& t);

private:
  std::string shop_;
  std::unique_ptr<session> db_;
};

} // namespace mercato::pg
