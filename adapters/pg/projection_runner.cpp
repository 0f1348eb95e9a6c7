#include "adapters/pg/connection.hpp"
#include "adapters/pg/projection.hpp"
#include "adapters/pg/projections.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace mercato::pg {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Events of a projection's kinds counted past its cursor, at most (the lag gauge).
constexpr int64_t behind_cap = 100000;

std::vector<const projection*> all_projections() {
  return {&orders_projection(),        &payments_projection(),    &open_checkouts_projection(),
          &customer_feed_projection(), &daily_stats_projection(), &notifications_projection(),
          &stock_holds_projection()};
}

const projection* find_projection(const std::string& name) {
  for (const auto* p : all_projections())
    if (p->name == name)
      return p;
  return nullptr;
}

std::string kinds_literal(pqxx::transaction_base& txn, const projection& p) {
  std::string out = "ARRAY[";
  for (size_t i = 0; i < p.kinds.size(); ++i)
    out += (i > 0 ? ", " : "") + txn.quote(p.kinds[i]);
  return out + "]::text[]";
}

// One projection at a time, whichever node: rounds (and a rebuild) of one projection queue up
// behind each other. An advisory lock takes no transaction id, so an idle round writes nothing.
std::string lock_sql(pqxx::transaction_base& txn, const projection& p) {
  return "SELECT pg_advisory_xact_lock(1836217204, hashtext(" + txn.quote(p.name) + "))";
}

void lock(pqxx::transaction_base& txn, const projection& p) {
  txn.exec(lock_sql(txn, p));
}

void store_offset(pqxx::transaction_base& txn, const projection& p, const journal_position& at,
                  size_t applied) {
  txn.exec("INSERT INTO projection_offsets (name, last_tx, last_pos, applied) VALUES ("
           + txn.quote(p.name) + ", " + at.tx_literal() + ", " + at.pos_literal() + ", "
           + std::to_string(applied)
           + ") ON CONFLICT (name) DO UPDATE SET last_tx = EXCLUDED.last_tx, "
             "last_pos = EXCLUDED.last_pos, applied = projection_offsets.applied + "
             "EXCLUDED.applied, updated_at = now()");
}

struct batch_read {
  std::vector<projection_event> events;
  uint64_t xmin = 0;
  uint64_t xmax = 0;
  int64_t behind = -1; // not counted
};

// The rows of `p`'s kinds, as a condition on journal row `alias`. `by_position` for a walk along
// the position index: with a plain `entity_kind =` the planner ANDs in a bitmap of every event of
// the kinds in the primary key, a cost that grows with the whole journal.
std::string rows_of(pqxx::transaction_base& txn, const projection& p, const std::string& alias,
                    bool by_position = false) {
  auto out = alias + ".entity_kind" + (by_position ? " || ''" : "") + " = ANY("
             + kinds_literal(txn, p) + ")";
  if (p.skips_imports)
    out += " AND NOT (" + alias + ".payload ? 'market')";
  return out;
}

// The events of `p`'s kinds after `from` whose transactions (and all before) have ended, in
// commit position order, with the snapshot's bounds. One statement: one snapshot. With
// `count_behind`, also how many of its kinds lie after `from` (capped), counted along the position
// index so that it costs what lies ahead of the cursor.
batch_read read_batch(pqxx::transaction_base& txn, const projection& p,
                      const journal_position& from, int batch, bool count_behind) {
  auto behind = count_behind
                  ? "(SELECT count(*) FROM (SELECT 1 FROM journal b WHERE (b.tx, b.pos) > ("
                      + from.tx_literal() + ", " + from.pos_literal() + ") AND "
                      + rows_of(txn, p, "b", true) + " ORDER BY b.tx, b.pos LIMIT "
                      + std::to_string(behind_cap) + ") c)"
                  : std::string{"-1"};
  std::string payload = "j.payload";
  for (const auto& path : p.unread)
    payload = "(" + payload + " #- " + txn.quote(path) + ")";
  // The read must walk the position index from the cursor and stop at its batch. Right after a
  // burst, with statistics that do not know it yet, the planner would rather gather every row
  // after the cursor and sort them: 40 ms instead of 5 ms per round 20,000 events behind. The
  // two settings pin the walk; apply() restores the defaults for the read model's own statements.
  auto rows = txn.exec(
    "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off; "
    "SELECT h.xmin::text, h.xmax::text, j.entity_kind, j.entity_id, j.seq, j.event_type, "
    + payload + "::text, (extract(epoch FROM j.recorded_at) * 1000)::bigint, j.tx::text, j.pos, "
    + behind
    + " FROM (SELECT pg_snapshot_xmin(s) AS xmin, pg_snapshot_xmax(s) AS xmax "
      "FROM pg_current_snapshot() s) h LEFT JOIN LATERAL (SELECT * FROM journal j WHERE "
    + journal_readable_sql(from, "h.xmin") + " AND " + rows_of(txn, p, "j")
    + " ORDER BY j.tx, j.pos LIMIT " + std::to_string(batch) + ") j ON true");
  batch_read out;
  out.events.reserve(rows.size());
  for (const auto& row : rows) {
    out.xmin = row[0].as<uint64_t>();
    out.xmax = row[1].as<uint64_t>();
    out.behind = row[10].as<int64_t>();
    if (row[2].is_null())
      continue; // the lateral join's empty side: nothing to read
    projection_event ev;
    ev.kind = row[2].as<std::string>();
    ev.entity_id = row[3].as<std::string>();
    ev.seq = row[4].as<int64_t>();
    ev.type = row[5].as<std::string>();
    ev.payload = nlohmann::json::parse(row[6].c_str());
    ev.recorded_ms = row[7].as<int64_t>();
    ev.at = {row[8].as<uint64_t>(), row[9].as<int64_t>()};
    out.events.push_back(std::move(ev));
  }
  return out;
}

// Applies `events` with the planner's defaults back (read_batch pins its own walk in the
// transaction): a round that applies nothing, and the probe, never pay for the reset.
void apply(pqxx::work& txn, const projection& p, const std::vector<projection_event>& events,
           std::vector<committed_event>& published) {
  txn.exec("RESET enable_bitmapscan; RESET enable_sort");
  p.apply(txn, events, published);
}

// Where the next read goes on from: after the last event of a full batch; otherwise every row of
// its kinds below xmin has been read.
journal_position next_cursor(const batch_read& b, const journal_position& from, int batch) {
  if (b.events.size() >= static_cast<size_t>(batch))
    return b.events.back().at;
  return std::max(from, journal_position::horizon(b.xmin));
}

} // namespace

round_result run_round(pqxx::connection& conn, const projection& p, const journal_position& from,
                       int batch, bool count_behind) {
  {
    // Most rounds find nothing new (a reader's check, the poll, a ping for rows of other kinds):
    // one statement tells, without the transaction, the lock and the offset that applying needs.
    // Nothing is written on its word, so it needs no lock: an event it sees is applied (or found
    // applied by another node) by the full round below.
    pqxx::nontransaction probe{conn};
    auto seen = read_batch(probe, p, from, 1, false);
    if (seen.events.empty()) {
      round_result out;
      out.xmin = seen.xmin;
      out.xmax = seen.xmax;
      out.cursor = next_cursor(seen, from, 1);
      out.behind = 0;
      return out;
    }
  }
  pqxx::work txn{conn, "projection"};
  // The read model is derived: a commit lost in a crash is replayed from the stored offset,
  // which it carries. Waiting for the flush would only slow the round. One round trip for the
  // setting, the lock and the offset (the result is the last statement's).
  auto offset = txn.exec("SET LOCAL synchronous_commit = off; " + lock_sql(txn, p)
                         + "; SELECT last_tx::text, last_pos FROM projection_offsets WHERE name = "
                         + txn.quote(p.name));
  journal_position stored;
  if (!offset.empty())
    stored = {offset[0][0].as<uint64_t>(), offset[0][1].as<int64_t>()};
  auto start = std::max(stored, from);
  auto read = read_batch(txn, p, start, batch, count_behind);
  round_result out;
  out.xmin = read.xmin;
  out.xmax = read.xmax;
  out.more = read.events.size() >= static_cast<size_t>(batch);
  out.cursor = next_cursor(read, start, batch);
  if (!out.more)
    out.behind = 0;
  else if (read.behind >= 0)
    out.behind = std::max<int64_t>(0, read.behind - static_cast<int64_t>(read.events.size()));
  if (read.events.empty()) {
    txn.abort(); // nothing to write: the cursor moves in memory only
    return out;
  }
  apply(txn, p, read.events, out.published);
  store_offset(txn, p, out.cursor, read.events.size());
  auto now_ms
    = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  txn.commit();
  out.applied = read.events.size();
  out.oldest_age_s
    = std::max<double>(0, static_cast<double>(now_ms - read.events.front().recorded_ms) / 1000.0);
  return out;
}

// Empties `p`'s tables and replays the journal into them inside `txn`.
size_t rebuild_in(pqxx::work& txn, const projection& p, int batch) {
  lock(txn, p);
  if (p.kept.keep)
    p.kept.keep(txn);
  // DELETE rather than TRUNCATE: readers keep seeing the old rows until the new ones commit.
  for (const auto& table : p.tables)
    txn.exec("DELETE FROM " + txn.quote_name(table));
  journal_position at;
  size_t total = 0;
  for (;;) {
    auto read = read_batch(txn, p, at, batch, false);
    std::vector<committed_event> unannounced; // a rebuild renumbers nothing: subscribers have it
    if (!read.events.empty())
      apply(txn, p, read.events, unannounced);
    total += read.events.size();
    at = next_cursor(read, at, batch);
    if (read.events.size() < static_cast<size_t>(batch))
      break;
  }
  if (p.kept.restore)
    p.kept.restore(txn);
  txn.exec("DELETE FROM projection_offsets WHERE name = " + txn.quote(p.name));
  store_offset(txn, p, at, total);
  return total;
}

size_t rebuild(pqxx::connection& conn, const projection& p, int batch) {
  pqxx::work txn{conn, "projection-rebuild"};
  auto total = rebuild_in(txn, p, batch);
  txn.commit();
  return total;
}

void catch_up(pqxx::connection& conn, const projection& p, int batch, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  journal_position from;
  uint64_t target = 0;
  for (;;) {
    auto r = run_round(conn, p, from, batch);
    from = r.cursor;
    if (target == 0)
      target = r.xmax; // committed before the call: below the first snapshot's xmax
    if (!r.more && r.xmin >= target)
      return;
    if (steady_clock::now() > deadline)
      throw catch_up_timeout("projection " + p.name + " cannot catch up: transaction "
                             + std::to_string(r.xmin) + " stays open");
    if (!r.more) // a transaction below the target is still open: it ends in milliseconds
      std::this_thread::sleep_for(milliseconds{2});
  }
}

namespace {

// -- the runner actor -------------------------------------------------------------------------

using runner_impl
  = projection_actor::extend<caf::reacts_to<atom::flush>, caf::reacts_to<caf::tick_atom>>;

// Waiting for the next round when a reader waits on a transaction still open, or the database.
constexpr milliseconds open_transaction_retry{2};
constexpr milliseconds storage_retry{200};
// The lag gauge's count walks the journal ahead of the cursor: at most this often.
constexpr milliseconds count_interval{1000};

struct waiter {
  caf::typed_response_promise<bool> rp;
  uint64_t target = 0; // 0: the next round's xmax
  steady_clock::time_point deadline;
};

struct runner_state {
  static inline const char* name = "pg.projection";
  const projection* proj = nullptr;
  config::projection_settings cfg;
  std::unique_ptr<session> db;
  std::shared_ptr<spdlog::logger> log;
  journal_position cursor;
  uint64_t horizon = 0; // every event of a transaction below it has been applied
  std::vector<waiter> waiters;
  bool round_queued = false;
  bool storage_down = false;
  steady_clock::time_point next_count; // when a round may count the events left again
  runtime::gauge* lag = nullptr;
  runtime::histogram* delay = nullptr;
  runtime::counter* applied = nullptr;
  event_sink_actor sink; // the topic hub, for read models with topics of their own
};

using runner_self = runner_impl::stateful_pointer<runner_state>;

void queue_round(runner_self self, milliseconds after = milliseconds{0}) {
  auto& st = self->state;
  if (st.round_queued)
    return;
  st.round_queued = true;
  if (after.count() == 0)
    self->send(self, atom::flush_v);
  else
    self->delayed_send(self, after, atom::flush_v);
}

// Answers the waiters whose target is reached, and those whose time is up.
void answer_waiters(runner_state& st) {
  auto now = steady_clock::now();
  auto i = std::remove_if(st.waiters.begin(), st.waiters.end(), [&](waiter& w) {
    if (w.target != 0 && w.target <= st.horizon) {
      w.rp.deliver(true);
      return true;
    }
    if (now >= w.deadline) {
      w.rp.deliver(false);
      return true;
    }
    return false;
  });
  st.waiters.erase(i, st.waiters.end());
}

void round(runner_self self) {
  auto& st = self->state;
  st.round_queued = false;
  auto now = steady_clock::now();
  bool count = st.lag != nullptr && now >= st.next_count;
  auto res = st.db->run<round_result>([&](pqxx::connection& conn) {
    return run_round(conn, *st.proj, st.cursor, st.cfg.batch, count);
  });
  if (!res) {
    if (!st.storage_down)
      st.log->warn("projection {} cannot apply the journal: {}", st.proj->name,
                   caf::to_string(res.error()));
    st.storage_down = true;
    answer_waiters(st);
    if (!st.waiters.empty())
      queue_round(self, storage_retry);
    return;
  }
  if (st.storage_down)
    st.log->info("projection {} applies the journal again", st.proj->name);
  st.storage_down = false;
  st.cursor = res->cursor;
  // Every waiter present arrived before this round's snapshot was taken.
  for (auto& w : st.waiters)
    if (w.target == 0)
      w.target = res->xmax;
  if (!res->more)
    st.horizon = std::max(st.horizon, res->xmin);
  if (count && res->more)
    st.next_count = now + count_interval;
  if (st.lag && res->behind >= 0)
    st.lag->set(res->behind);
  if (res->applied > 0) {
    if (st.applied)
      st.applied->inc(res->applied);
    if (st.delay)
      st.delay->observe(res->oldest_age_s);
    st.log->trace("projection {} applies {} events up to {}", st.proj->name, res->applied,
                  res->cursor.to_string());
  }
  if (st.sink && !res->published.empty())
    self->send(st.sink, atom::publish_v, std::move(res->published));
  answer_waiters(st);
  if (res->more)
    queue_round(self);
  else if (!st.waiters.empty())
    queue_round(self, open_transaction_retry);
}

runner_impl::behavior_type runner(runner_self self, std::string url, const projection* proj,
                                  config::projection_settings cfg,
                                  runtime::metrics_registry* metrics, event_sink_actor sink) {
  auto& st = self->state;
  st.proj = proj;
  st.sink = std::move(sink);
  st.cfg = cfg;
  st.cfg.batch = std::max(st.cfg.batch, 1);
  st.log = runtime::logger("pg");
  st.db = std::make_unique<session>(std::move(url), "projection-" + proj->name);
  if (metrics) {
    runtime::labels lbls{{"projection", proj->name}};
    st.lag = &metrics->get_gauge(
      "mercato_projection_lag_events",
      "Journal events of a projection's kinds committed but not yet applied (at its last round).",
      lbls);
    st.delay = &metrics->get_histogram(
      "mercato_projection_delay_seconds",
      "Age of the oldest event a projection round applied, when it committed.",
      runtime::metrics_registry::latency_buckets(), lbls);
    st.applied = &metrics->get_counter("mercato_projection_applied_total",
                                       "Journal events a projection applied.", lbls);
  }
  // Rows of other nodes' journals come without a ping.
  self->send(self, caf::tick_atom_v);
  return {
    [self](atom::ping) { queue_round(self); },
    [self](atom::check, int64_t max_wait_ms) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      self->state.waiters.push_back(
        {rp, 0, steady_clock::now() + milliseconds{std::max<int64_t>(max_wait_ms, 0)}});
      queue_round(self);
      return rp;
    },
    [self](atom::flush) {
      try {
        round(self);
      } catch (const std::exception& e) { // a bug: keep the runner alive, try again later
        self->state.log->error("projection {} fails a round: {}", self->state.proj->name, e.what());
        queue_round(self, storage_retry);
      }
    },
    [self](caf::tick_atom) {
      queue_round(self);
      self->delayed_send(self, milliseconds{self->state.cfg.poll_ms}, caf::tick_atom_v);
    },
  };
}

const projection& named(const std::string& name) {
  auto* p = find_projection(name);
  if (!p)
    throw std::invalid_argument("no projection named " + name);
  return *p;
}

} // namespace

std::vector<std::string> projection_kinds(const std::string& name) {
  return named(name).kinds;
}

std::vector<std::string> projection_names() {
  std::vector<std::string> out;
  for (const auto* p : all_projections())
    out.push_back(p->name);
  return out;
}

projection_actor spawn_projection(caf::actor_system& sys, std::string url, const std::string& name,
                                  config::projection_settings cfg,
                                  runtime::metrics_registry* metrics, event_sink_actor sink) {
  const auto& p = named(name);
  std::string kinds;
  for (const auto& k : p.kinds)
    kinds += (kinds.empty() ? "" : ", ") + k;
  runtime::logger("pg")->info("projection {} starts (kinds: {})", p.name, kinds);
  return caf::actor_cast<projection_actor>(
    sys.spawn<caf::detached>(runner, std::move(url), &p, cfg, metrics, std::move(sink)));
}

size_t rebuild_projection(const std::string& url, const std::string& name) {
  const auto& p = named(name);
  if (p.tables.empty())
    throw std::invalid_argument(name
                                + " sends messages: replaying the journal would send them again");
  pqxx::connection conn{with_connect_timeout(url, 5)};
  auto n = rebuild(conn, p, 1000);
  runtime::logger("pg")->info("projection {} rebuilt from {} journal events", p.name, n);
  return n;
}

std::string use_stats_time_zone(const std::string& url, const std::string& zone) {
  pqxx::connection conn{with_connect_timeout(url, 5)};
  try {
    pqxx::nontransaction check{conn};
    check.exec_params("SELECT now() AT TIME ZONE $1", zone);
  } catch (const pqxx::data_exception&) {
    return "projections.stats_time_zone: PostgreSQL knows no time zone \"" + zone + "\"";
  }
  pqxx::work txn{conn, "stats-time-zone"};
  auto was = txn.exec1("SELECT coalesce((SELECT time_zone FROM stats_settings), 'UTC')")[0]
               .as<std::string>();
  if (was == zone)
    return {};
  // The days move with the zone: every bucket is counted again, in the same transaction, so
  // that nobody reads statistics of two zones at once.
  txn.exec_params("INSERT INTO stats_settings (time_zone) VALUES ($1) ON CONFLICT (only_row) DO "
                  "UPDATE SET time_zone = EXCLUDED.time_zone",
                  zone);
  auto n = rebuild_in(txn, named("daily_stats"), 1000);
  txn.commit();
  runtime::logger("pg")->info("daily statistics counted again on the days of {} (were {}): {} "
                              "journal events",
                              zone, was, n);
  return {};
}

void catch_up_projection(const std::string& url, const std::string& name,
                         std::chrono::milliseconds timeout) {
  pqxx::connection conn{with_connect_timeout(url, 5)};
  catch_up(conn, named(name), 1000, timeout);
}

std::vector<std::string> caught_up_column(const std::string& url, const std::string& name,
                                          const std::string& sql) {
  try {
    catch_up_projection(url, name);
  } catch (const catch_up_timeout& e) {
    // Better the rows found so far than none: what is missed now is found at the next start.
    runtime::logger("pg")->warn("projection {} read before it caught up: {}", name, e.what());
  }
  pqxx::connection conn{url};
  pqxx::nontransaction txn{conn};
  auto rows = txn.exec(sql);
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& row : rows)
    out.push_back(row[0].as<std::string>());
  return out;
}

} // namespace mercato::pg
