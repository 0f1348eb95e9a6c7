#include "adapters/pg/order_index.hpp"

#include "actors/protocol/errors.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "adapters/pg/read_your_writes.hpp"
#include "runtime/util/cursor.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

namespace mercato::pg {

namespace {

constexpr const char* columns = "order_id, customer_id, status, total_minor, currency, lines, "
                                "(extract(epoch FROM created_at) * 1000)::bigint, "
                                "(extract(epoch FROM updated_at) * 1000)::bigint, version, "
                                "placed_ms";

// The cursor is the position of the last row: when it was placed (epoch ms) and its id.
std::string position_of(int64_t placed_ms, const std::string& order_id) {
  return std::to_string(placed_ms) + ":" + order_id;
}

bool parse_position(const std::string& text, int64_t& placed_ms, std::string& order_id) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size())
    return false;
  try {
    size_t used = 0;
    placed_ms = std::stoll(text.substr(0, colon), &used);
    if (used != colon)
      return false;
  } catch (const std::exception&) {
    return false;
  }
  order_id = text.substr(colon + 1);
  return order_id.find('\0') == std::string::npos;
}

caf::expected<order_page> search(pqxx::connection& conn, const order_query& q) {
  if (q.limit < 1 || q.limit > 100)
    return caf::make_error(mercato_errc::invalid_request, "limit must be between 1 and 100");
  int64_t after_ms = 0;
  std::string after_id;
  if (!q.cursor.empty()) {
    std::string pos;
    if (!util::decode_cursor(q.cursor, pos) || !parse_position(pos, after_ms, after_id))
      return caf::make_error(mercato_errc::invalid_request, "malformed cursor");
  }
  pqxx::read_transaction txn{conn};
  // Only the predicates in use, with literals, so that the planner picks the matching index.
  std::string sql = std::string{"SELECT "} + columns + " FROM orders WHERE true";
  if (!q.customer_id.empty())
    sql += " AND customer_id = " + txn.quote(q.customer_id);
  if (!q.status.empty())
    sql += " AND status = " + txn.quote(q.status);
  if (!q.cursor.empty())
    sql += " AND (placed_ms, order_id) < (" + std::to_string(after_ms) + ", " + txn.quote(after_id)
           + ")";
  sql += " ORDER BY placed_ms DESC, order_id DESC LIMIT " + std::to_string(q.limit + 1);
  auto rows = txn.exec(sql);
  txn.commit();
  order_page page;
  int64_t last_ms = 0;
  for (const auto& row : rows) {
    if (page.items.size() == static_cast<size_t>(q.limit)) {
      page.next_cursor = util::encode_cursor(position_of(last_ms, page.items.back().order_id));
      break;
    }
    order_summary o;
    o.order_id = row[0].as<std::string>();
    o.customer_id = row[1].as<std::string>();
    o.status = row[2].as<std::string>();
    o.total_minor = row[3].as<int64_t>();
    o.currency = row[4].as<std::string>();
    o.lines = row[5].as<int64_t>();
    o.created_at_ms = row[6].as<int64_t>();
    o.updated_at_ms = row[7].as<int64_t>();
    o.version = row[8].as<uint64_t>();
    last_ms = row[9].as<int64_t>();
    page.items.push_back(std::move(o));
  }
  return page;
}

struct worker_state {
  static inline const char* name = "pg.orders";
  std::unique_ptr<session> db;
  projection_actor projection;
  std::chrono::milliseconds wait{0};
};

using worker_self = order_index_actor::stateful_pointer<worker_state>;

void answer(worker_self self, caf::typed_response_promise<order_page>& rp, const order_query& q) {
  auto res
    = self->state.db->run<order_page>([&](pqxx::connection& conn) { return search(conn, q); });
  if (res)
    rp.deliver(std::move(*res));
  else
    rp.deliver(std::move(res.error()));
}

order_index_actor::behavior_type worker(worker_self self, std::string url,
                                        projection_actor projection, std::chrono::milliseconds wait,
                                        int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "orders-" + std::to_string(index), nullptr);
  self->state.projection = std::move(projection);
  self->state.wait = wait;
  return {
    [self](atom::search, const order_query& q) -> caf::result<order_page> {
      auto rp = self->make_response_promise<order_page>();
      after_projection(self, self->state.projection, self->state.wait, "orders list",
                       [self, rp, q]() mutable { answer(self, rp, q); });
      return rp;
    },
  };
}

} // namespace

order_index_actor spawn_order_index(caf::actor_system& sys, std::string url, int workers,
                                    projection_actor projection, std::chrono::milliseconds wait) {
  return spawn_pool<order_index_actor>(sys, "pg.orders", workers, worker, std::move(url),
                                       std::move(projection), wait);
}

} // namespace mercato::pg
