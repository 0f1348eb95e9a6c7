#include "adapters/pg/recovery.hpp"

#include "adapters/pg/codec.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <map>

namespace mercato::pg {

namespace {

constexpr const char* load_statement = "mercato_recovery_load";

// One statement, so snapshot and events come from the same database snapshot. The snapshot row
// (part 's') sorts before the events (part 'e').
constexpr const char* load_sql
  = "WITH s AS (SELECT seq, state FROM snapshots WHERE entity_kind = $1 AND entity_id = $2) "
    "SELECT 's' AS part, s.seq, NULL::text AS event_type, s.state::text AS body FROM s "
    "UNION ALL "
    "SELECT 'e', j.seq, j.event_type, j.payload::text FROM journal j "
    "WHERE j.entity_kind = $1 AND j.entity_id = $2 "
    "AND j.seq > coalesce((SELECT seq FROM s), 0) "
    "ORDER BY part DESC, seq";

constexpr const char* read_statement = "mercato_recovery_read";

// Replay: the entity's newest seq (part 'h') and up to $4 events after $3 (part 'e').
constexpr const char* read_sql
  = "SELECT 'h' AS part, coalesce(max(seq), 0) AS seq, NULL::text, NULL::text FROM journal "
    "WHERE entity_kind = $1 AND entity_id = $2 "
    "UNION ALL "
    "(SELECT 'e', seq, event_type, payload::text FROM journal "
    "WHERE entity_kind = $1 AND entity_id = $2 AND seq > $3 ORDER BY seq LIMIT $4)";

struct reader_state {
  static inline const char* name = "pg.recovery";
  std::unique_ptr<session> db;
  runtime::metrics_registry* metrics = nullptr;
  std::map<std::string, runtime::counter*, std::less<>> loads; // by kind
};

void count_load(reader_state& st, const std::string& kind) {
  if (!st.metrics)
    return;
  auto i = st.loads.find(kind);
  if (i == st.loads.end())
    i = st.loads
          .emplace(kind, &st.metrics->get_counter("mercato_recovery_loads_total",
                                                  "Entities read back from the journal",
                                                  {{"kind", kind}}))
          .first;
  i->second->inc();
}

caf::expected<recovery_data> load(pqxx::connection& conn, const std::string& kind,
                                  const std::string& id) {
  auto codec = find_codec(kind);
  if (!codec)
    return caf::make_error(mercato_errc::invalid_request, "no codec for entity kind " + kind);
  // One statement is its own transaction with one snapshot; BEGIN and COMMIT around it would
  // cost two more round trips for every entity that starts.
  pqxx::nontransaction txn{conn};
  auto rows = txn.exec_prepared(load_statement, kind, id);
  recovery_data out;
  for (const auto& row : rows) {
    auto seq = row[1].as<uint64_t>();
    auto body = row[3].as<std::string>();
    if (row[0].as<std::string>() == "s") {
      auto snapshot = codec->decode_snapshot(body);
      if (!snapshot)
        return std::move(snapshot.error());
      out.snapshot = std::move(*snapshot);
      out.snapshot_seq = seq;
      out.last_seq = seq;
      continue;
    }
    if (seq != out.last_seq + 1)
      return caf::make_error(caf::sec::runtime_error, "journal of " + kind + " " + id
                                                        + " misses seq "
                                                        + std::to_string(out.last_seq + 1));
    auto event = codec->decode_event(row[2].as<std::string>(), body);
    if (!event)
      return std::move(event.error());
    out.events.push_back(std::move(*event));
    out.last_seq = seq;
  }
  return out;
}

caf::expected<recovery_data> read_after(pqxx::connection& conn, const std::string& kind,
                                        const std::string& id, uint64_t after, uint64_t limit) {
  auto codec = find_codec(kind);
  if (!codec)
    return caf::make_error(mercato_errc::invalid_request, "no codec for entity kind " + kind);
  pqxx::nontransaction txn{conn}; // one statement, as in load()
  auto rows = txn.exec_prepared(read_statement, kind, id, static_cast<int64_t>(after),
                                static_cast<int64_t>(std::min<uint64_t>(limit, 100000)));
  recovery_data out;
  auto expected = after + 1;
  for (const auto& row : rows) {
    auto seq = row[1].as<uint64_t>();
    if (row[0].as<std::string>() == "h") {
      out.last_seq = seq;
      continue;
    }
    if (seq != expected)
      return caf::make_error(caf::sec::runtime_error, "journal of " + kind + " " + id
                                                        + " misses seq "
                                                        + std::to_string(expected));
    auto event = codec->decode_event(row[2].as<std::string>(), row[3].as<std::string>());
    if (!event)
      return std::move(event.error());
    out.events.push_back(std::move(*event));
    ++expected;
  }
  return out;
}

recovery_actor::behavior_type reader(recovery_actor::stateful_pointer<reader_state> self,
                                     std::string url, runtime::metrics_registry* metrics,
                                     int index) {
  self->state.metrics = metrics;
  self->state.db = std::make_unique<session>(std::move(url), "recovery-" + std::to_string(index),
                                             [](pqxx::connection& conn) {
                                               prefer_index_scans(conn);
                                               conn.prepare(load_statement, load_sql);
                                               conn.prepare(read_statement, read_sql);
                                             });
  return {
    [self](atom::load, const std::string& kind,
           const std::string& id) -> caf::result<recovery_data> {
      count_load(self->state, kind);
      auto res = self->state.db->run<recovery_data>(
        [&](pqxx::connection& conn) { return load(conn, kind, id); });
      if (!res)
        runtime::logger("pg")->debug("recovery of {} {} fails: {}", kind, id, render(res.error()));
      return res;
    },
    [self](atom::read, const std::string& kind, const std::string& id, uint64_t after,
           uint64_t limit) -> caf::result<recovery_data> {
      auto res = self->state.db->run<recovery_data>(
        [&](pqxx::connection& conn) { return read_after(conn, kind, id, after, limit); });
      if (!res)
        runtime::logger("pg")->debug("replay of {} {} after {} fails: {}", kind, id, after,
                                     render(res.error()));
      return res;
    },
  };
}

} // namespace

recovery_actor spawn_recovery(caf::actor_system& sys, std::string url, int readers,
                              runtime::metrics_registry* metrics) {
  return spawn_pool<recovery_actor>(sys, "pg.recovery", readers, reader, std::move(url), metrics);
}

} // namespace mercato::pg
