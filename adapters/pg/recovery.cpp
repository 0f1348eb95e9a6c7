#include "adapters/pg/recovery.hpp"

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/codec.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

namespace mercato::pg {

namespace {

constexpr const char* load_statement = "mercato_recovery_load";

// The entities ($1 kinds, $2 ids, numbered n from 1) that start together, in one statement, so
// that each one's snapshot and events come from the same database snapshot: per entity, its
// snapshot row (part 's') before its events (part 'e').
constexpr const char* load_sql
  = "WITH k AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (kind, id, n)), "
    "s AS (SELECT k.n, sn.seq, sn.state FROM k JOIN snapshots sn ON sn.entity_kind = k.kind "
    "AND sn.entity_id = k.id) "
    "SELECT s.n, 's' AS part, s.seq, NULL::text AS event_type, s.state::text AS body FROM s "
    "UNION ALL "
    "SELECT k.n, 'e', j.seq, j.event_type, j.payload::text FROM k JOIN journal j "
    "ON j.entity_kind = k.kind AND j.entity_id = k.id "
    "AND j.seq > coalesce((SELECT s.seq FROM s WHERE s.n = k.n), 0) "
    "ORDER BY 1, 2 DESC, 3";

// Entities that start at once arrive together: a reader loads the ones queued in its mailbox
// in one statement, up to this many.
constexpr size_t max_loads_per_statement = 256;

constexpr const char* read_statement = "mercato_recovery_read";

// Replay: the entity's newest seq (part 'h') and up to $4 events after $3 (part 'e').
constexpr const char* read_sql
  = "SELECT 'h' AS part, coalesce(max(seq), 0) AS seq, NULL::text, NULL::text FROM journal "
    "WHERE entity_kind = $1 AND entity_id = $2 "
    "UNION ALL "
    "(SELECT 'e', seq, event_type, payload::text FROM journal "
    "WHERE entity_kind = $1 AND entity_id = $2 AND seq > $3 ORDER BY seq LIMIT $4)";

struct pending_load {
  std::string kind;
  std::string id;
  caf::typed_response_promise<recovery_data> rp;
};

struct reader_state {
  static inline const char* name = "pg.recovery";
  std::unique_ptr<session> db;
  runtime::metrics_registry* metrics = nullptr;
  std::map<std::string, runtime::counter*, std::less<>> loads; // by kind
  std::vector<pending_load> pending;
  bool flush_queued = false;
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

// One entity's rows (all of one n, in the statement's order) decoded.
caf::expected<recovery_data> decode(const entity_codec& codec, const std::string& kind,
                                    const std::string& id, const pqxx::result& rows, size_t begin,
                                    size_t end) {
  recovery_data out;
  for (auto i = begin; i < end; ++i) {
    const auto& row = rows[static_cast<pqxx::result::size_type>(i)];
    auto seq = row[2].as<uint64_t>();
    auto body = row[4].as<std::string>();
    if (row[1].as<std::string>() == "s") {
      auto snapshot = codec.decode_snapshot(body);
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
    auto event = codec.decode_event(row[3].as<std::string>(), body);
    if (!event)
      return std::move(event.error());
    out.events.push_back(std::move(*event));
    out.last_seq = seq;
  }
  return out;
}

// Loads `batch` in one statement; an entity whose rows do not decode fails alone.
std::vector<caf::expected<recovery_data>> load(pqxx::connection& conn,
                                               const std::vector<pending_load>& batch) {
  array_literal kinds, ids;
  for (const auto& l : batch) {
    kinds.add_quoted(l.kind);
    ids.add_quoted(l.id);
  }
  // One statement is its own transaction with one snapshot; BEGIN and COMMIT around it would
  // cost two more round trips for every batch.
  pqxx::nontransaction txn{conn};
  auto rows = txn.exec_prepared(load_statement, kinds.done(), ids.done());
  std::vector<caf::expected<recovery_data>> out;
  out.reserve(batch.size());
  size_t at = 0;
  for (size_t n = 1; n <= batch.size(); ++n) {
    auto begin = at;
    while (at < rows.size() && rows[static_cast<pqxx::result::size_type>(at)][0].as<size_t>() == n)
      ++at;
    const auto& l = batch[n - 1];
    auto codec = find_codec(l.kind);
    if (!codec)
      out.emplace_back(
        caf::make_error(mercato_errc::invalid_request, "no codec for entity kind " + l.kind));
    else
      out.push_back(decode(*codec, l.kind, l.id, rows, begin, at));
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

using reader_impl = recovery_actor::extend<caf::reacts_to<atom::flush>>;
using reader_self = reader_impl::stateful_pointer<reader_state>;

// Answers the loads queued so far (the flush comes after every load already in the mailbox).
void flush_loads(reader_self self) {
  auto& st = self->state;
  st.flush_queued = false;
  while (!st.pending.empty()) {
    auto n = std::min(st.pending.size(), max_loads_per_statement);
    std::vector<pending_load> batch(std::make_move_iterator(st.pending.begin()),
                                    std::make_move_iterator(st.pending.begin() + n));
    st.pending.erase(st.pending.begin(), st.pending.begin() + n);
    auto res = st.db->run<std::vector<caf::expected<recovery_data>>>(
      [&](pqxx::connection& conn) { return load(conn, batch); });
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& l = batch[i];
      auto one = res ? std::move((*res)[i]) : caf::expected<recovery_data>{res.error()};
      if (!one)
        runtime::logger("pg")->debug("recovery of {} {} fails: {}", l.kind, l.id,
                                     render(one.error()));
      if (one)
        l.rp.deliver(std::move(*one));
      else
        l.rp.deliver(std::move(one.error()));
    }
  }
}

reader_impl::behavior_type reader(reader_self self, std::string url,
                                  runtime::metrics_registry* metrics, int index) {
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
      auto& st = self->state;
      count_load(st, kind);
      auto rp = self->make_response_promise<recovery_data>();
      st.pending.push_back({kind, id, rp});
      if (!std::exchange(st.flush_queued, true))
        self->send(self, atom::flush_v);
      return rp;
    },
    [self](atom::flush) { flush_loads(self); },
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
