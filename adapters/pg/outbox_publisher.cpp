#include "adapters/pg/outbox_publisher.hpp"

#include "adapters/net/http_post.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/journal_position.hpp"
#include "config/load.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/crypto.hpp"

#include <caf/all.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <deque>

namespace mercato::pg {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// Ordering. The journal is the outbox (migration 0009): the publisher reads published journal
// rows in commit position order, `(tx, pos)` after its cursor and only from transactions below
// its snapshot's xmin, which have all ended. A row can therefore never commit behind the cursor,
// however many writers (nodes) append, and each aggregate's events (appended one transaction
// after the other) arrive in seq order.

// While the database is unreachable the publisher looks again after this long at the least.
constexpr milliseconds storage_retry{500};

struct outbox_row {
  std::string id;
  journal_position at;
  std::string aggregate_type;
  std::string aggregate_id;
  std::string body; // the JSON envelope, exactly as signed and sent
};

// What is done with the head of the queue but not yet durable in the cursor.
enum class pending { none, delivered, dead };

struct publisher_state {
  static inline const char* name = "pg.outbox_publisher";
  publisher_settings cfg;
  net::http_url where;
  std::unique_ptr<session> db;
  std::shared_ptr<spdlog::logger> log;
  bool cursor_loaded = false;
  journal_position cursor; // durable: the last row delivered or dead-lettered
  journal_position seen;   // >= cursor: rows up to here were read (unpublished ones skipped)
  std::deque<outbox_row> queue;
  pending unsaved = pending::none;
  int attempts = 0; // failed attempts of the head
  std::string last_error;
  bool storage_down = false;
};

std::string envelope(const pqxx::row& row) {
  auto payload = json::parse(row[4].c_str(), nullptr, false);
  json out{{"id", row[0].as<std::string>()},
           {"aggregate_type", row[1].as<std::string>()},
           {"aggregate_id", row[2].as<std::string>()},
           {"type", row[3].as<std::string>()},
           {"seq", row[5].is_null() ? json(nullptr) : json(row[5].as<int64_t>())},
           {"payload", payload.is_discarded() ? json(row[4].as<std::string>()) : payload},
           {"request_id", row[6].is_null() ? json(nullptr) : json(row[6].as<std::string>())},
           {"created_at", row[7].as<std::string>()}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Creates the endpoint's cursor row on first use and reads it.
journal_position load_cursor(pqxx::connection& conn, const std::string& endpoint) {
  pqxx::work txn{conn};
  txn.exec("INSERT INTO outbox_delivery (endpoint) VALUES (" + txn.quote(endpoint)
           + ") ON CONFLICT (endpoint) DO NOTHING");
  auto row = txn.exec1("SELECT last_tx::text, last_pos FROM outbox_delivery WHERE endpoint = "
                       + txn.quote(endpoint));
  txn.commit();
  return {row[0].as<uint64_t>(), row[1].as<int64_t>()};
}

struct fetched {
  std::deque<outbox_row> rows;
  uint64_t xmin = 0; // every transaction below it has ended
};

fetched fetch(pqxx::connection& conn, const journal_position& after, int batch) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec(
    "SELECT j.id::text, j.entity_kind, j.entity_id, j.event_type, j.published::text, j.seq, "
    "j.request_id, to_char(j.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "j.tx::text, j.pos, h.xmin::text "
    "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) h LEFT JOIN LATERAL "
    "(SELECT * FROM journal j WHERE "
    + journal_readable_sql(after, "h.xmin")
    + " AND j.published IS NOT NULL ORDER BY j.tx, j.pos LIMIT " + std::to_string(batch)
    + ") j ON true");
  txn.commit();
  fetched out;
  for (const auto& row : rows) {
    out.xmin = row[10].as<uint64_t>();
    if (row[0].is_null())
      continue; // no row: the lateral join's empty side
    out.rows.push_back({row[0].as<std::string>(),
                        {row[8].as<uint64_t>(), row[9].as<int64_t>()},
                        row[1].as<std::string>(),
                        row[2].as<std::string>(),
                        envelope(row)});
  }
  return out;
}

// One signed POST of an event's envelope, as every receiver verifies it.
net::post_result post_event(const net::http_url& where, const publisher_settings& cfg,
                            const std::string& event_id, const std::string& body) {
  return net::post_json(
    where, body,
    {{"X-Mercato-Event-Id", event_id}, {"X-Signature", util::hmac_sha256_hex(cfg.secret, body)}},
    cfg.request_timeout);
}

// Moves the cursor to `row` (and records its dead letter) in one transaction. Only a forward
// move takes effect, so a retry after a commit whose answer was lost changes nothing twice.
void advance(pqxx::connection& conn, const std::string& endpoint, const outbox_row& row,
             pending what, int attempts, const std::string& last_error) {
  pqxx::work txn{conn};
  auto counter = what == pending::dead ? "dead" : "delivered";
  std::string sql = "WITH adv AS (UPDATE outbox_delivery SET last_tx = " + row.at.tx_literal()
                    + ", last_pos = " + row.at.pos_literal() + ", " + counter + " = " + counter
                    + " + 1, updated_at = now() WHERE endpoint = " + txn.quote(endpoint)
                    + " AND (last_tx, last_pos) < (" + row.at.tx_literal() + ", "
                    + row.at.pos_literal() + ") RETURNING 1) ";
  if (what == pending::dead)
    sql += "INSERT INTO dead_letters (kind, target, aggregate_type, aggregate_id, event_id, "
           "payload, last_error, attempts) SELECT 'webhook', "
           + txn.quote(endpoint) + ", " + txn.quote(row.aggregate_type) + ", "
           + txn.quote(row.aggregate_id) + ", " + txn.quote(row.id) + ", " + txn.quote(row.body)
           + "::jsonb, " + txn.quote(last_error.substr(0, 1000)) + ", " + std::to_string(attempts)
           + " FROM adv";
  else
    sql += "SELECT count(*) FROM adv";
  txn.exec(sql);
  txn.commit();
}

milliseconds backoff(const publisher_settings& cfg, int failed_attempts) {
  auto delay = cfg.backoff_min;
  for (int i = 1; i < failed_attempts && delay < cfg.backoff_max; ++i)
    delay *= 2;
  return std::min(delay, cfg.backoff_max);
}

// Runs `f` on the database; false (and the state notes the outage) when it failed.
template <class F>
bool with_db(publisher_state& st, const char* what, F f) {
  auto res = st.db->run<bool>([&](pqxx::connection& conn) {
    f(conn);
    return true;
  });
  if (!res) {
    if (!st.storage_down)
      st.log->warn("webhook publisher for {} cannot {}: {}", st.cfg.endpoint, what,
                   caf::to_string(res.error()));
    st.storage_down = true;
    return false;
  }
  if (st.storage_down)
    st.log->info("webhook publisher for {} reaches the database again", st.cfg.endpoint);
  st.storage_down = false;
  return true;
}

// One step of the loop; returns how long to wait before the next.
milliseconds step(publisher_state& st) {
  auto storage_wait = std::max(st.cfg.poll, storage_retry);
  if (!st.cursor_loaded) {
    if (!with_db(st, "read its cursor",
                 [&](pqxx::connection& c) { st.cursor = load_cursor(c, st.cfg.endpoint); }))
      return storage_wait;
    st.seen = st.cursor;
    st.cursor_loaded = true;
    st.log->info("webhook publisher for {} starts after journal position {}", st.cfg.endpoint,
                 st.cursor.to_string());
  }
  if (st.unsaved != pending::none) {
    const auto& head = st.queue.front();
    if (!with_db(st, "move its cursor", [&](pqxx::connection& c) {
          advance(c, st.cfg.endpoint, head, st.unsaved, st.attempts, st.last_error);
        }))
      return storage_wait;
    st.cursor = head.at;
    st.queue.pop_front();
    st.unsaved = pending::none;
    st.attempts = 0;
    st.last_error.clear();
  }
  if (st.queue.empty()) {
    fetched got;
    if (!with_db(st, "read the journal",
                 [&](pqxx::connection& c) { got = fetch(c, st.seen, st.cfg.batch); }))
      return storage_wait;
    st.queue = std::move(got.rows);
    if (st.queue.size() < static_cast<size_t>(st.cfg.batch)) {
      // Nothing published below xmin is left after these: the next read starts there rather
      // than scanning the unpublished rows in between again. (Not durable: a restart scans them
      // once more from the cursor.)
      st.seen = std::max(st.seen, journal_position::horizon(got.xmin));
    } else {
      st.seen = st.queue.back().at;
    }
    if (st.queue.empty())
      return st.cfg.poll;
  }
  const auto& head = st.queue.front();
  auto& breaker = st.cfg.breaker;
  bool probing = breaker && breaker->current() == runtime::circuit_breaker::state::half_open;
  if (breaker && !breaker->allow())
    return std::max(breaker->retry_after(), st.cfg.poll);
  auto res = post_event(st.where, st.cfg, head.id, head.body);
  if (breaker) {
    // Any answer but a server error means the endpoint is there.
    if (res.status != 0 && res.status < 500)
      breaker->succeeded();
    else
      breaker->failed();
  }
  if (res.is_success()) {
    st.log->debug("webhook {} delivers {} ({} {})", st.cfg.endpoint, head.id, head.aggregate_type,
                  head.aggregate_id);
    st.unsaved = pending::delivered;
    return milliseconds{0}; // the next step makes it durable first
  }
  if (!probing)
    ++st.attempts; // an endpoint known to be down defers its events rather than failing them
  st.last_error = res.status == 0
                    ? res.error
                    : "HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
  if (st.attempts >= st.cfg.max_attempts) {
    // Later events of the same aggregate still go out after this one: a receiver that needs
    // strict order must notice the gap in `seq` and fetch the dead letter (or the entity).
    st.log->error("webhook {} gives up on {} ({} {}) after {} attempts: {}", st.cfg.endpoint,
                  head.id, head.aggregate_type, head.aggregate_id, st.attempts, st.last_error);
    st.unsaved = pending::dead;
    return milliseconds{0};
  }
  if (breaker && breaker->current() == runtime::circuit_breaker::state::open)
    return std::max(breaker->retry_after(), st.cfg.poll);
  auto wait = backoff(st.cfg, st.attempts);
  st.log->warn("webhook {} attempt {}/{} of {} failed: {}; retries in {} ms", st.cfg.endpoint,
               st.attempts, st.cfg.max_attempts, head.id, st.last_error, wait.count());
  return wait;
}

caf::behavior publisher(caf::stateful_actor<publisher_state>* self, std::string db_url,
                        publisher_settings cfg) {
  auto& st = self->state;
  st.log = runtime::logger("pg");
  st.where = net::parse_http_url(cfg.endpoint);
  if (!st.where.error.empty()) {
    st.log->error("webhook endpoint {} is unusable: {}", cfg.endpoint, st.where.error);
    self->quit(caf::make_error(caf::sec::invalid_argument, cfg.endpoint));
    return {};
  }
  st.db = std::make_unique<session>(std::move(db_url), "outbox-publisher");
  st.cfg = std::move(cfg);
  // One tick in flight at a time; delayed rather than slept, so that an exit message is
  // handled between two steps instead of after a whole backoff.
  self->send(self, caf::tick_atom_v);
  return {
    [self](caf::tick_atom) {
      milliseconds wait{0};
      try {
        wait = step(self->state);
      } catch (const std::exception& e) { // a bug: keep going rather than stop delivering
        self->state.log->error("webhook publisher for {} fails a step: {}",
                               self->state.cfg.endpoint, e.what());
        wait = storage_retry;
      }
      if (wait.count() == 0)
        self->send(self, caf::tick_atom_v);
      else
        self->delayed_send(self, wait, caf::tick_atom_v);
    },
  };
}

} // namespace

std::vector<publisher_settings> publisher_settings_of(const config::webhook_settings& cfg) {
  std::vector<publisher_settings> out;
  for (auto& url : config::webhook_endpoints(cfg)) {
    publisher_settings p;
    p.endpoint = std::move(url);
    p.secret = cfg.secret;
    p.max_attempts = std::max(cfg.max_attempts, 1);
    p.backoff_min = milliseconds{cfg.backoff_min_ms};
    p.backoff_max = milliseconds{std::max(cfg.backoff_max_ms, cfg.backoff_min_ms)};
    p.batch = std::max(cfg.batch, 1);
    p.poll = milliseconds{cfg.poll_ms};
    out.push_back(std::move(p));
  }
  return out;
}

caf::actor spawn_outbox_publisher(caf::actor_system& sys, std::string db_url,
                                  publisher_settings cfg) {
  return sys.spawn<caf::detached>(publisher, std::move(db_url), std::move(cfg));
}

webhook_redeliverer_actor spawn_webhook_redeliverer(caf::actor_system& sys,
                                                    std::vector<publisher_settings> endpoints) {
  return sys.spawn<caf::detached>(
    [endpoints = std::move(endpoints)]() -> webhook_redeliverer_actor::behavior_type {
      return {
        [endpoints](atom::publish, const dead_letter& x) -> caf::result<bool> {
          auto cfg
            = std::find_if(endpoints.begin(), endpoints.end(),
                           [&](const publisher_settings& p) { return p.endpoint == x.target; });
          if (x.kind != "webhook" || cfg == endpoints.end())
            return caf::make_error(mercato_errc::conflict,
                                   "webhook endpoint " + x.target + " is no longer configured");
          auto res = post_event(net::parse_http_url(cfg->endpoint), *cfg, x.event_id, x.payload);
          if (res.is_success()) {
            runtime::logger("pg")->info("webhook {} takes dead letter {} ({} {}) on retry",
                                        x.target, x.id, x.aggregate_type, x.aggregate_id);
            return true;
          }
          return caf::make_error(mercato_errc::entity_unavailable,
                                 "the endpoint did not take it: "
                                   + (res.status == 0 ? res.error
                                                      : "HTTP " + std::to_string(res.status) + ": "
                                                          + res.body.substr(0, 200)));
        },
      };
    });
}

} // namespace mercato::pg
