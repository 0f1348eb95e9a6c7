#include "adapters/pg/product_store.hpp"

#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/cursor.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>

namespace mercato::pg {

namespace {

constexpr const char* columns
  = "sku, name, description, category, seller_id, price_minor, currency, "
    "floor(extract(epoch FROM created_at) * 1000)::bigint, "
    "floor(extract(epoch FROM updated_at) * 1000)::bigint, version";

constexpr const char* put_statement = "mercato_product_put";
constexpr const char* get_statement = "mercato_product_get";

product to_product(const pqxx::row& row) {
  product p;
  p.sku = row[0].as<std::string>();
  p.name = row[1].as<std::string>();
  p.description = row[2].as<std::string>();
  p.category = row[3].as<std::string>();
  p.seller_id = row[4].as<std::string>();
  p.price_minor = row[5].as<int64_t>();
  p.currency = row[6].as<std::string>();
  p.created_at_ms = row[7].as<int64_t>();
  p.updated_at_ms = row[8].as<int64_t>();
  p.version = row[9].as<uint64_t>();
  return p;
}

// -- queries ----------------------------------------------------------------------------------

caf::error validate(const product& p) {
  auto invalid = [](std::string what) {
    return caf::make_error(mercato_errc::invalid_request, std::move(what));
  };
  if (p.sku.empty())
    return invalid("sku must not be empty");
  if (p.name.empty())
    return invalid("name must not be empty");
  if (p.price_minor < 0)
    return invalid("price_minor must not be negative");
  if (p.currency.size() != 3
      || !std::all_of(p.currency.begin(), p.currency.end(),
                      [](unsigned char c) { return std::isupper(c) != 0; }))
    return invalid("currency must be three upper-case letters (ISO 4217)");
  for (const auto* s : {&p.sku, &p.name, &p.description, &p.category, &p.seller_id})
    if (!is_storable_text(*s))
      return invalid("text must be UTF-8 without NUL characters");
  return caf::none;
}

product_put_result put(pqxx::connection& conn, const product& p) {
  pqxx::work txn{conn};
  auto row = txn.exec_prepared1(put_statement, p.sku, p.name, p.description, p.category,
                                p.seller_id, p.price_minor, p.currency);
  txn.commit();
  product_put_result out;
  out.item = to_product(row);
  out.created = row[10].as<bool>();
  return out;
}

caf::expected<product> get(pqxx::connection& conn, const std::string& sku) {
  pqxx::nontransaction txn{conn}; // one statement: no BEGIN and COMMIT round trips
  auto rows = txn.exec_prepared(get_statement, sku);
  if (rows.empty())
    return caf::make_error(mercato_errc::not_found, "no product " + sku);
  return to_product(rows[0]);
}

caf::expected<product_page> search(pqxx::connection& conn, const product_query& query) {
  if (query.limit < 1 || query.limit > 100)
    return caf::make_error(mercato_errc::invalid_request, "limit must be between 1 and 100");
  if (!is_storable_text(query.q) || !is_storable_text(query.category))
    return caf::make_error(mercato_errc::invalid_request,
                           "q and category must be UTF-8 without NUL characters");
  std::string after;
  if (!query.cursor.empty()
      && (!util::decode_cursor(query.cursor, after) || !is_storable_text(after)))
    return caf::make_error(mercato_errc::invalid_request, "malformed cursor");
  pqxx::read_transaction txn{conn};
  // Only the predicates in use, with literals: the planner then picks the GIN index for `q` or
  // the (category, sku) index, which a generic prepared plan with "$1 = '' OR ..." would not.
  std::string sql = std::string{"SELECT "} + columns + " FROM products WHERE true";
  if (!query.q.empty())
    sql += " AND search @@ websearch_to_tsquery('simple', " + txn.quote(query.q) + ")";
  if (!query.category.empty())
    sql += " AND category = " + txn.quote(query.category);
  if (!after.empty())
    sql += " AND sku > " + txn.quote(after);
  // One row more than asked tells whether there is a next page.
  sql += " ORDER BY sku LIMIT " + std::to_string(query.limit + 1);
  auto rows = txn.exec(sql);
  txn.commit();
  product_page page;
  for (const auto& row : rows) {
    if (page.items.size() == static_cast<size_t>(query.limit)) {
      page.next_cursor = util::encode_cursor(page.items.back().sku);
      break;
    }
    page.items.push_back(to_product(row));
  }
  return page;
}

void prepare(pqxx::connection& conn) {
  // Lookups by sku, and searches by the GIN or (category, sku) index, or in sku order.
  prefer_index_scans(conn);
  conn.prepare(put_statement,
               std::string{"INSERT INTO products "
                           "(sku, name, description, category, seller_id, price_minor, currency) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                           "ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, "
                           "description = EXCLUDED.description, category = EXCLUDED.category, "
                           "seller_id = EXCLUDED.seller_id, price_minor = EXCLUDED.price_minor, "
                           "currency = EXCLUDED.currency, updated_at = now(), "
                           "version = products.version + 1 "
                           // xmax is 0 for a row this statement inserted, and set for a row
                           // it updated (the updating transaction locked the old version).
                           "RETURNING "}
                 + columns + ", (xmax = 0) AS created");
  conn.prepare(get_statement, std::string{"SELECT "} + columns + " FROM products WHERE sku = $1");
}

struct worker_state {
  static inline const char* name = "pg.products";
  std::unique_ptr<session> db;
};

product_store_actor::behavior_type worker(product_store_actor::stateful_pointer<worker_state> self,
                                          std::string url, int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "products-" + std::to_string(index), prepare);
  return {
    [self](atom::put, const product& p) -> caf::result<product_put_result> {
      if (auto err = validate(p))
        return err;
      // An upsert is idempotent per content: retrying it after a lost connection is safe
      // (at worst the version counts one more).
      return self->state.db->run<product_put_result>(
        [&](pqxx::connection& conn) { return put(conn, p); });
    },
    [self](atom::get, const std::string& sku) -> caf::result<product> {
      return self->state.db->run<product>([&](pqxx::connection& conn) { return get(conn, sku); });
    },
    [self](atom::search, const product_query& query) -> caf::result<product_page> {
      return self->state.db->run<product_page>(
        [&](pqxx::connection& conn) { return search(conn, query); });
    },
    [self](atom::ping) -> caf::result<bool> {
      return self->state.db->run<bool>([](pqxx::connection& conn) {
        pqxx::nontransaction txn{conn};
        return txn.exec1("SELECT 1")[0].as<int>() == 1;
      });
    },
  };
}

} // namespace

product_store_actor spawn_product_store(caf::actor_system& sys, std::string url, int workers) {
  return spawn_pool<product_store_actor>(sys, "pg.products", workers, worker, std::move(url));
}

} // namespace mercato::pg
