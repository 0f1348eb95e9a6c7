#include "adapters/pg/sync_cursor_store.hpp"

#include "adapters/pg/connection.hpp"

namespace mercato::pg {

sync_cursor_store::sync_cursor_store(std::string url, const std::string& shop)
    : shop_(shop), db_(std::make_unique<session>(std::move(url), "marketplace-sync-" + shop)) {}

sync_cursor_store::~sync_cursor_store() = default;

caf::expected<sync_cursor> sync_cursor_store::load(const std::string& platform, int64_t synced_to) {
  return db_->run<sync_cursor>([&](pqxx::connection& conn) {
    pqxx::work txn{conn, "sync-cursor-load"};
    txn.exec_params("INSERT INTO marketplace_sync_cursors (shop, platform, synced_to) "
                    "VALUES ($1, $2, $3) ON CONFLICT (shop) DO NOTHING",
                    shop_, platform, synced_to);
    auto row = txn.exec_params1("SELECT synced_to, COALESCE(window_to, 0), page_token "
                                "FROM marketplace_sync_cursors WHERE shop = $1",
                                shop_);
    txn.commit();
    return sync_cursor{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<std::string>()};
  });
}

caf::error sync_cursor_store::save(const sync_cursor& c, int64_t orders) {
  // The same values again are harmless, so a broken connection is retried (the default).
  auto res = db_->run<bool>([&](pqxx::connection& conn) {
    pqxx::work txn{conn, "sync-cursor-save"};
    txn.exec_params("UPDATE marketplace_sync_cursors SET synced_to = $2, "
                    "window_to = NULLIF($3, 0::bigint), page_token = $4, pages = pages + 1, "
                    "orders = orders + $5, last_error = NULL, updated_at = now() "
                    "WHERE shop = $1",
                    shop_, c.synced_to, c.window_to, c.page_token, orders);
    txn.commit();
    return true;
  });
  return res ? caf::error{} : res.error();
}

caf::error sync_cursor_store::note_error(const std::string& why) {
  auto res = db_->run<bool>([&](pqxx::connection& conn) {
    pqxx::work txn{conn, "sync-cursor-error"};
    txn.exec_params("UPDATE marketplace_sync_cursors SET last_error = NULLIF($2, ''), "
                    "updated_at = now() WHERE shop = $1",
                    shop_, why);
    txn.commit();
    return true;
  });
  return res ? caf::error{} : res.error();
}

caf::expected<std::optional<sync_tokens>> sync_cursor_store::load_tokens() {
  using result = std::optional<sync_tokens>;
  return db_->run<result>([&](pqxx::connection& conn) -> result {
    pqxx::work txn{conn, "sync-tokens-load"};
    auto rows
      = txn.exec_params("SELECT access_token, refresh_token, COALESCE(token_expires_at, 0), "
                        "token_seed FROM marketplace_sync_cursors "
                        "WHERE shop = $1 AND refresh_token IS NOT NULL",
                        shop_);
    txn.commit();
    if (rows.empty())
      return std::nullopt;
    const auto& row = rows[0];
    return sync_tokens{row[0].is_null() ? std::string{} : row[0].as<std::string>(),
                       row[1].as<std::string>(), row[2].as<int64_t>(),
                       row[3].is_null() ? std::string{} : row[3].as<std::string>()};
  });
}

caf::error sync_cursor_store::save_tokens(const sync_tokens& t) {
  // The same values again are harmless, so a broken connection is retried (the default).
  auto res = db_->run<bool>([&](pqxx::connection& conn) -> caf::expected<bool> {
    pqxx::work txn{conn, "sync-tokens-save"};
    auto r = txn.exec_params("UPDATE marketplace_sync_cursors SET access_token = $2, "
                             "refresh_token = $3, token_expires_at = NULLIF($4, 0::bigint), "
                             "token_seed = $5 WHERE shop = $1",
                             shop_, t.access_token, t.refresh_token, t.expires_at, t.seed);
    txn.commit();
    if (r.affected_rows() != 1)
      return caf::make_error(mercato_errc::storage_unavailable, "no cursor row for " + shop_);
    return true;
  });
  return res ? caf::error{} : res.error();
}

} // namespace mercato::pg
