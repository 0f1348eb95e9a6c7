#include "adapters/pg/dead_letter_store.hpp"

#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <cctype>

namespace mercato::pg {

namespace {

constexpr int32_t max_limit = 500;

constexpr const char* columns
  = "id::text, kind, target, coalesce(aggregate_type, ''), coalesce(aggregate_id, ''), "
    "coalesce(event_id, ''), payload::text, last_error, attempts, "
    "floor(extract(epoch FROM first_failed_at) * 1000)::bigint, "
    "floor(extract(epoch FROM dead_at) * 1000)::bigint, "
    // The cursor keeps dead_at in microseconds: milliseconds would skip or repeat rows that
    // died within the same millisecond.
    "(extract(epoch FROM dead_at) * 1000000)::bigint, retries, "
    "coalesce(floor(extract(epoch FROM resolved_at) * 1000)::bigint, 0)";

dead_letter letter_of(const pqxx::row& row) {
  dead_letter x;
  x.id = row[0].as<std::string>();
  x.kind = row[1].as<std::string>();
  x.target = row[2].as<std::string>();
  x.aggregate_type = row[3].as<std::string>();
  x.aggregate_id = row[4].as<std::string>();
  x.event_id = row[5].as<std::string>();
  x.payload = row[6].as<std::string>();
  x.last_error = row[7].as<std::string>();
  x.attempts = row[8].as<int32_t>();
  x.first_failed_at_ms = row[9].as<int64_t>();
  x.dead_at_ms = row[10].as<int64_t>();
  x.retries = row[12].as<int32_t>();
  x.resolved_at_ms = row[13].as<int64_t>();
  return x;
}

// -- cursor: "<dead_at µs>.<uuid>" of the last row of a page ----------------------------------

bool is_uuid(const std::string& s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : std::isxdigit(static_cast<unsigned char>(s[i])) == 0)
      return false;
  }
  return true;
}

bool decode_cursor(const std::string& cursor, int64_t& dead_at_us, std::string& id) {
  auto dot = cursor.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 19)
    return false;
  dead_at_us = 0;
  for (size_t i = 0; i < dot; ++i) {
    if (cursor[i] < '0' || cursor[i] > '9')
      return false;
    dead_at_us = dead_at_us * 10 + (cursor[i] - '0');
  }
  id = cursor.substr(dot + 1);
  return is_uuid(id);
}

caf::expected<dead_letter_page> list(pqxx::connection& conn, const dead_letter_query& query) {
  if (query.limit < 1 || query.limit > max_limit)
    return caf::make_error(mercato_errc::invalid_request,
                           "limit must be between 1 and " + std::to_string(max_limit));
  if (!is_storable_text(query.kind))
    return caf::make_error(mercato_errc::invalid_request, "kind must be UTF-8 without NUL");
  int64_t after_us = 0;
  std::string after_id;
  if (!query.cursor.empty() && !decode_cursor(query.cursor, after_us, after_id))
    return caf::make_error(mercato_errc::invalid_request, "malformed cursor");
  pqxx::read_transaction txn{conn};
  std::string sql = std::string{"SELECT "} + columns + " FROM dead_letters WHERE true";
  if (!query.kind.empty())
    sql += " AND kind = " + txn.quote(query.kind);
  if (!after_id.empty())
    // Interval arithmetic is exact in microseconds, unlike to_timestamp(double precision).
    sql += " AND (dead_at, id) < ('epoch'::timestamptz + " + std::to_string(after_us)
           + " * interval '1 microsecond', " + txn.quote(after_id) + "::uuid)";
  // The table's uuid, as the cursor compares it, not the output column's text.
  sql += " ORDER BY dead_at DESC, dead_letters.id DESC LIMIT " + std::to_string(query.limit + 1);
  auto rows = txn.exec(sql);
  txn.commit();
  dead_letter_page page;
  int64_t last_us = 0;
  for (const auto& row : rows) {
    if (page.items.size() == static_cast<size_t>(query.limit)) {
      page.next_cursor = std::to_string(last_us) + "." + page.items.back().id;
      break;
    }
    last_us = row[11].as<int64_t>();
    page.items.push_back(letter_of(row));
  }
  return page;
}

// Sets a letter aside once: a repeated put of the same (kind, target, event id), as after an
// answer that was lost, answers the first letter's id.
caf::expected<std::string> put(pqxx::connection& conn, const dead_letter& x) {
  if (x.kind != "webhook" && x.kind != "notification" && x.kind != "message")
    return caf::make_error(mercato_errc::invalid_request, "unknown dead letter kind " + x.kind);
  for (const auto* text :
       {&x.target, &x.aggregate_type, &x.aggregate_id, &x.event_id, &x.payload, &x.last_error})
    if (!is_storable_text(*text))
      return caf::make_error(mercato_errc::invalid_request,
                             "a dead letter's texts must be UTF-8 without NUL");
  pqxx::work txn{conn};
  auto row = txn.exec_params1(
    "WITH old AS (SELECT id FROM dead_letters WHERE kind = $1 AND target = $2 AND event_id = $5 "
    "LIMIT 1), new AS (INSERT INTO dead_letters (kind, target, aggregate_type, aggregate_id, "
    "event_id, payload, last_error, attempts, first_failed_at) SELECT $1, $2, NULLIF($3, ''), "
    "NULLIF($4, ''), $5, COALESCE(NULLIF($6, ''), '{}')::jsonb, $7, $8, "
    "to_timestamp($9::double precision / 1000) WHERE NOT EXISTS (SELECT 1 FROM old) "
    "RETURNING id) SELECT id::text FROM new UNION ALL SELECT id::text FROM old",
    x.kind, x.target, x.aggregate_type, x.aggregate_id, x.event_id, x.payload,
    x.last_error.substr(0, 1000), x.attempts, x.first_failed_at_ms);
  txn.commit();
  return row[0].as<std::string>();
}

// The letter `id` as `txn` sees it (committing it is the caller's part).
caf::expected<dead_letter> read_letter(pqxx::transaction_base& txn, const std::string& id) {
  auto rows = txn.exec_params(
    std::string{"SELECT "} + columns + " FROM dead_letters WHERE id = $1::uuid", id);
  if (rows.empty())
    return caf::make_error(mercato_errc::not_found, "no dead letter " + id);
  return letter_of(rows[0]);
}

caf::expected<dead_letter> get(pqxx::connection& conn, const std::string& id) {
  if (!is_uuid(id))
    return caf::make_error(mercato_errc::not_found, "no dead letter " + id.substr(0, 64));
  pqxx::read_transaction txn{conn};
  auto letter = read_letter(txn, id);
  txn.commit();
  return letter;
}

// A resolved letter stays resolved: a late outcome of a second retry changes nothing.
caf::expected<dead_letter> confirm(pqxx::connection& conn, const std::string& id,
                                   const std::string& error) {
  if (!is_uuid(id))
    return caf::make_error(mercato_errc::not_found, "no dead letter " + id.substr(0, 64));
  if (!is_storable_text(error))
    return caf::make_error(mercato_errc::invalid_request, "the error must be UTF-8 without NUL");
  pqxx::work txn{conn};
  if (error.empty())
    txn.exec_params("UPDATE dead_letters SET resolved_at = now() WHERE id = $1::uuid AND "
                    "resolved_at IS NULL",
                    id);
  else
    txn.exec_params("UPDATE dead_letters SET retries = retries + 1, last_error = $2 WHERE id = "
                    "$1::uuid AND resolved_at IS NULL",
                    id, error.substr(0, 1000));
  auto letter = read_letter(txn, id);
  txn.commit();
  return letter;
}

struct worker_state {
  static inline const char* name = "pg.dead_letters";
  std::unique_ptr<session> db;
};

dead_letter_store_actor::behavior_type
worker(dead_letter_store_actor::stateful_pointer<worker_state> self, std::string url, int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "dead-letters-" + std::to_string(index));
  return {
    [self](atom::list, const dead_letter_query& query) -> caf::result<dead_letter_page> {
      return self->state.db->run<dead_letter_page>(
        [&](pqxx::connection& conn) { return list(conn, query); });
    },
    [self](atom::put, const dead_letter& x) -> caf::result<std::string> {
      return self->state.db->run<std::string>([&](pqxx::connection& conn) { return put(conn, x); });
    },
    [self](atom::get, const std::string& id) -> caf::result<dead_letter> {
      return self->state.db->run<dead_letter>(
        [&](pqxx::connection& conn) { return get(conn, id); });
    },
    [self](atom::confirm, const std::string& id,
           const std::string& error) -> caf::result<dead_letter> {
      return self->state.db->run<dead_letter>(
        [&](pqxx::connection& conn) { return confirm(conn, id, error); });
    },
  };
}

} // namespace

dead_letter_store_actor spawn_dead_letter_store(caf::actor_system& sys, std::string url,
                                                int workers) {
  return spawn_pool<dead_letter_store_actor>(sys, "pg.dead_letters", workers, worker,
                                             std::move(url));
}

} // namespace mercato::pg
