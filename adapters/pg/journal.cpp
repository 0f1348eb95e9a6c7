#include "adapters/pg/journal.hpp"

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/codec.hpp"
#include "adapters/pg/connection.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>

namespace mercato::pg {

namespace {

// The journal's own interface: the port plus the self-message that commits a batch.
using journal_impl = journal_actor::extend<caf::reacts_to<atom::flush>>;

using entity_key = std::pair<std::string, std::string>; // kind, id

struct pending_append {
  persist_request req;
  caf::typed_response_promise<uint64_t> rp;
};

struct journal_metrics {
  runtime::histogram* batch_size = nullptr;
  runtime::histogram* commit_seconds = nullptr;
  runtime::counter* appends = nullptr;
  runtime::counter* failures = nullptr;
  runtime::counter* fenced = nullptr;
};

struct journal_state {
  static inline const char* name = "pg.journal";
  std::unique_ptr<session> db;
  config::journal_settings settings;
  std::deque<pending_append> pending;
  bool flush_scheduled = false; // a flush (immediate or delayed) is on its way
  bool full_flush_sent = false; // an immediate flush for a full batch is on its way
  journal_metrics metrics;
  event_sink_actor sink;               // told of what committed; may be null
  std::vector<projection_wakeup> wake; // pinged after commits of their kinds
  journal_fence fence;
};

using journal_self = journal_impl::stateful_pointer<journal_state>;

// -- one request of a batch, encoded --------------------------------------------------------

struct encoded_request {
  pending_append* source = nullptr;
  entity_key entity;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0; // first_seq - 1 if the request has no events
  std::vector<encoded_event> events;
  std::optional<std::string> snapshot; // state after last_seq
  std::optional<caf::error> outcome;   // set once the request is answered
};

caf::error encode(const persist_request& req, encoded_request& out) {
  auto invalid = [](std::string what) {
    return caf::make_error(mercato_errc::invalid_request, std::move(what));
  };
  if (req.kind.empty() || req.entity_id.empty())
    return invalid("persist request without kind or entity id");
  if (!is_storable_text(req.kind) || !is_storable_text(req.entity_id)
      || !is_storable_text(req.request_id))
    return invalid("persist request whose kind, id or request id is not UTF-8 without NUL");
  if (req.events.empty() && req.snapshot.empty())
    return invalid("persist request with neither events nor snapshot");
  if (req.first_seq == 0 || (req.events.empty() && req.first_seq < 2))
    return invalid("persist request with seq 0");
  out.entity = {req.kind, req.entity_id};
  out.first_seq = req.first_seq;
  out.last_seq = req.first_seq + req.events.size() - 1;
  out.events.reserve(req.events.size());
  for (const auto& ev : req.events) {
    auto enc = encode_event(req.kind, ev);
    if (!enc)
      return std::move(enc.error());
    out.events.push_back(std::move(*enc));
  }
  if (!req.snapshot.empty()) {
    auto enc = encode_snapshot(req.kind, req.snapshot);
    if (!enc)
      return std::move(enc.error());
    out.snapshot = std::move(*enc);
  }
  return caf::none;
}

// -- event ids --------------------------------------------------------------------------------

/// Time-ordered UUIDs (RFC 9562 version 7): 48-bit Unix milliseconds, a 12-bit counter that
/// keeps ids of one millisecond ascending, then 62 random bits.
class uuid7_generator {
public:
  std::string next() {
    auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    if (ms <= last_ms_) { // same millisecond (or the clock stepped back): count on
      if (++counter_ > 0xfff) {
        counter_ = 0;
        ++last_ms_;
      }
      ms = last_ms_;
    } else {
      last_ms_ = ms;
      counter_ = 0;
    }
    auto hi = (ms << 16) | 0x7000 | counter_;
    auto lo = (rng_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    char buf[37];
    std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                  static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return buf;
  }

private:
  uint64_t last_ms_ = 0;
  uint64_t counter_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

// -- the batch statement --------------------------------------------------------------------

/// What the batch statement reports: rows written per entity, and entities whose predecessor
/// seq is missing from the journal (an earlier append of theirs failed: writing would leave a
/// gap, so their rows were not written).
struct statement_result {
  std::map<entity_key, size_t> inserted;
  std::set<entity_key> gaps;
};

// The batch statement, prepared once per connection: PostgreSQL would otherwise parse and plan
// a new literal statement for every batch (a third of its time with many small appends).
// Arrays carry the rows; `unnest` turns them back into rows.
//   $1..$3   heads: entity kind, id, seq before its first request in this batch
//   $4..$10  events: kind, id, seq, type, payload, request id, event id (UUIDv7)
//   $11..$14 snapshots: kind, id, seq, state (the newest per entity)
//   $15, $16 events: whether the event is published, and its public form when that is not the
//            payload itself (NULL: the payload, sent once)
constexpr const char* batch_core_sql
  = "WITH head AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) "
    "AS h (entity_kind, entity_id, prev_seq)),\n"
    "gap AS (SELECT h.entity_kind, h.entity_id FROM head h WHERE h.prev_seq > 0 "
    "AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.entity_kind = h.entity_kind "
    "AND j.entity_id = h.entity_id AND j.seq = h.prev_seq) "
    // A snapshot at prev_seq also proves it (should old events ever be pruned).
    "AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.entity_kind = h.entity_kind "
    "AND s.entity_id = h.entity_id AND s.seq = h.prev_seq)),\n"
    "ev AS (SELECT * FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::jsonb[], "
    "$9::text[], $10::uuid[], $15::boolean[], $16::jsonb[]) "
    "AS e (entity_kind, entity_id, seq, event_type, payload, request_id, id, publish, "
    "published)),\n"
    // The journal is the outbox (migration 0009): each row carries its id and, when published,
    // its public form (published_events.hpp); tx and pos default to the commit position. Rows
    // go in seq order per entity, so that positions follow seqs.
    "ins AS (INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload, request_id, "
    "id, published) "
    "SELECT e.entity_kind, e.entity_id, e.seq, e.event_type, e.payload, e.request_id, e.id, "
    "CASE WHEN e.publish THEN COALESCE(e.published, e.payload) END "
    "FROM ev e WHERE NOT EXISTS (SELECT 1 FROM gap g WHERE g.entity_kind = e.entity_kind "
    "AND g.entity_id = e.entity_id) ORDER BY e.entity_kind, e.entity_id, e.seq "
    "ON CONFLICT DO NOTHING RETURNING entity_kind, entity_id, seq),\n"
    "sn AS (INSERT INTO snapshots (entity_kind, entity_id, seq, state) "
    "SELECT s.entity_kind, s.entity_id, s.seq, s.state "
    "FROM unnest($11::text[], $12::text[], $13::bigint[], $14::jsonb[]) "
    "AS s (entity_kind, entity_id, seq, state) "
    "WHERE NOT EXISTS (SELECT 1 FROM gap g WHERE g.entity_kind = s.entity_kind "
    "AND g.entity_id = s.entity_id) "
    "ON CONFLICT (entity_kind, entity_id) DO UPDATE "
    "SET seq = EXCLUDED.seq, state = EXCLUDED.state, taken_at = now() "
    "WHERE snapshots.seq < EXCLUDED.seq)\n";

constexpr const char* batch_result_sql = "SELECT 'i', entity_kind, entity_id FROM ins UNION ALL "
                                         "SELECT 'g', entity_kind, entity_id FROM gap";

// The read models are projections that follow the journal (projections.hpp): the statement
// writes the journal rows and snapshots only.
constexpr const char* batch_statement = "mercato_journal_batch";
constexpr const char* member_fence_statement = "mercato_journal_member_fence";

void prepare_batch_statement(pqxx::connection& conn) {
  conn.prepare(batch_statement, std::string{batch_core_sql} + batch_result_sql);
  // The cluster fence: this node's member row, locked so that marking it dead waits for the
  // batch, and absent once it is dead.
  conn.prepare(member_fence_statement,
               "SELECT 1 FROM cluster_members WHERE node_id = $1 AND incarnation = $2 "
               "AND status = 'up' FOR SHARE");
  // Without it the gap check once scanned the whole journal on every batch (commits 1 ms -> 5 ms,
  // growing with the table); every table access of this statement is a key lookup.
  prefer_index_scans(conn);
}

// One statement, one round trip: journal rows (each its own outbox row) and the newest snapshot
// per entity. `ON CONFLICT DO NOTHING` + RETURNING reveals
// the seqs that another writer owns, without aborting the transaction.
statement_result write_rows(pqxx::work& txn, std::vector<encoded_request*> batch) {
  thread_local uuid7_generator ids; // one journal per thread (detached actor)
  // Rows in key order: two journals (two nodes during a partition) inserting the same keys then
  // wait on each other in one direction only, never in a deadlock. Stable: seq order per entity.
  std::stable_sort(
    batch.begin(), batch.end(),
    [](const encoded_request* a, const encoded_request* b) { return a->entity < b->entity; });
  array_literal ev_kind, ev_id, ev_seq, ev_type, ev_payload, ev_request, ev_event_id;
  array_literal ev_publish, ev_published;
  std::map<entity_key, uint64_t> prev_seq;          // per entity: seq before its first request
  std::map<entity_key, encoded_request*> snapshots; // per entity: the newest
  for (auto* r : batch) {
    prev_seq.emplace(r->entity, r->first_seq - 1); // first request of the entity wins
    const auto& request_id = r->source->req.request_id;
    auto seq = r->first_seq;
    for (const auto& ev : r->events) {
      ev_kind.add_quoted(r->entity.first);
      ev_id.add_quoted(r->entity.second);
      ev_seq.add_raw(std::to_string(seq++));
      ev_type.add_quoted(ev.type);
      ev_payload.add_quoted(ev.payload);
      if (request_id.empty())
        ev_request.add_null();
      else
        ev_request.add_quoted(request_id);
      ev_event_id.add_raw(ids.next());
      ev_publish.add_raw(ev.publish == publication::none ? "f" : "t");
      if (ev.publish == publication::form)
        ev_published.add_quoted(ev.published);
      else
        ev_published.add_null();
    }
    if (r->snapshot)
      snapshots[r->entity] = r; // batch order is seq order per entity
  }
  array_literal head_kind, head_id, head_prev;
  for (const auto& [key, prev] : prev_seq) {
    head_kind.add_quoted(key.first);
    head_id.add_quoted(key.second);
    head_prev.add_raw(std::to_string(prev));
  }
  array_literal sn_kind, sn_id, sn_seq, sn_state;
  for (const auto& [key, r] : snapshots) {
    sn_kind.add_quoted(key.first);
    sn_id.add_quoted(key.second);
    sn_seq.add_raw(std::to_string(r->last_seq));
    sn_state.add_quoted(*r->snapshot);
  }
  statement_result out;
  auto rows = txn.exec_prepared(batch_statement, head_kind.done(), head_id.done(), head_prev.done(),
                                ev_kind.done(), ev_id.done(), ev_seq.done(), ev_type.done(),
                                ev_payload.done(), ev_request.done(), ev_event_id.done(),
                                sn_kind.done(), sn_id.done(), sn_seq.done(), sn_state.done(),
                                ev_publish.done(), ev_published.done());
  for (const auto& row : rows) {
    entity_key key{row[1].as<std::string>(), row[2].as<std::string>()};
    if (row[0].as<std::string>() == "g")
      out.gaps.insert(std::move(key));
    else
      ++out.inserted[key];
  }
  return out;
}

/// Outcome of one batch transaction: answers for the requests that were not committed.
struct batch_outcome {
  size_t committed = 0; // requests
  size_t events = 0;
  size_t fenced = 0;
  bool node_fenced = false; // the cluster declared this node dead: nothing was written
};

// Writes `batch` (requests still unanswered) in one transaction. Entities that lost the fence
// or would leave a gap get their answer set in `outcome` and are left out of a redo of the
// transaction; everything else commits.
batch_outcome write_batch(pqxx::connection& conn, std::vector<encoded_request*> batch,
                          const journal_fence& fence) {
  batch_outcome result;
  // A retry after a lost connection starts again from the caller's list: skip the answered.
  batch.erase(std::remove_if(batch.begin(), batch.end(),
                             [](encoded_request* r) { return r->outcome.has_value(); }),
              batch.end());
  // Each round removes at least one entity, so this ends; the bound is a guard only.
  for (int round = 0; !batch.empty(); ++round) {
    std::unique_ptr<pqxx::work> txn;
    try {
      txn = std::make_unique<pqxx::work>(conn, "journal");
    } catch (const pqxx::broken_connection&) {
      throw broken_before_write{}; // nothing was sent: safe to reconnect and retry
    }
    if (!fence.node_id.empty()
        && txn->exec_prepared(member_fence_statement, fence.node_id, fence.incarnation).empty()) {
      txn->abort();
      result.node_fenced = true;
      return result;
    }
    auto rows = write_rows(*txn, batch);
    std::map<entity_key, size_t> expected;
    for (auto* r : batch)
      expected[r->entity] += r->events.size();
    std::set<entity_key> fenced;
    for (const auto& [key, n] : expected) {
      auto i = rows.inserted.find(key);
      auto got = i == rows.inserted.end() ? size_t{0} : i->second;
      if (got != n && rows.gaps.count(key) == 0)
        fenced.insert(key);
    }
    for (auto* r : batch) {
      if (rows.gaps.count(r->entity) > 0)
        r->outcome = caf::make_error(mercato_errc::storage_unavailable,
                                     "seq " + std::to_string(r->first_seq - 1) + " of "
                                       + r->entity.first + " " + r->entity.second
                                       + " is not in the journal: an earlier append failed");
      else if (fenced.count(r->entity) > 0) {
        r->outcome = caf::make_error(mercato_errc::stale_writer,
                                     "another writer owns seqs " + std::to_string(r->first_seq)
                                       + ".." + std::to_string(r->last_seq) + " of "
                                       + r->entity.first + " " + r->entity.second);
        ++result.fenced;
      }
    }
    batch.erase(std::remove_if(batch.begin(), batch.end(),
                               [](encoded_request* r) { return r->outcome.has_value(); }),
                batch.end());
    if (!fenced.empty()) {
      runtime::logger("pg")->warn("journal fences {} entities (first: {} {}): another writer "
                                  "appended their seqs",
                                  fenced.size(), fenced.begin()->first, fenced.begin()->second);
      // Some of the fenced entities' rows went in: undo everything and redo without them.
      txn->abort();
      if (round > 64)
        throw pqxx::failure{"journal batch keeps hitting the fence"};
      continue;
    }
    txn->commit();
    result.committed = batch.size();
    for (auto* r : batch)
      result.events += r->events.size();
    return result;
  }
  return result;
}

// -- the actor --------------------------------------------------------------------------------

void schedule_flush(journal_self self, bool now) {
  auto& st = self->state;
  st.flush_scheduled = true;
  if (now || st.settings.batch_delay_us <= 0)
    self->send(self, atom::flush_v); // lands behind every append already in the mailbox
  else
    self->delayed_send(self, std::chrono::microseconds{st.settings.batch_delay_us}, atom::flush_v);
}

void answer(encoded_request& r, caf::error err) {
  r.outcome = std::move(err);
}

void deliver(journal_state& st, std::vector<encoded_request>& reqs) {
  size_t ok = 0;
  size_t failed = 0;
  for (auto& r : reqs) {
    if (r.outcome) {
      if (errc_of(*r.outcome) != mercato_errc::stale_writer)
        ++failed;
      r.source->rp.deliver(std::move(*r.outcome));
    } else {
      ++ok;
      r.source->rp.deliver(r.last_seq);
    }
  }
  if (st.metrics.appends)
    st.metrics.appends->inc(ok);
  if (st.metrics.failures && failed > 0)
    st.metrics.failures->inc(failed);
}

// After the answers: subscribers learn of a change no sooner than its writer.
void publish(journal_state& st, const std::vector<encoded_request>& reqs) {
  if (!st.sink)
    return;
  std::vector<committed_event> out;
  for (const auto& r : reqs) {
    if (r.outcome)
      continue;
    const auto& req = r.source->req;
    for (size_t i = 0; i < req.events.size(); ++i)
      out.push_back(committed_event{req.kind, req.entity_id, r.first_seq + i, req.events[i]});
  }
  if (!out.empty())
    caf::anon_send(st.sink, atom::publish_v, std::move(out));
}

// The projections read what committed themselves: a ping is all they need, and only those
// that read a kind of this batch get one (a flash sale's stock events wake none).
void wake_projections(journal_state& st, const std::vector<encoded_request>& reqs) {
  if (st.wake.empty())
    return;
  std::set<std::string> kinds;
  for (const auto& r : reqs)
    if (!r.outcome && !r.events.empty())
      kinds.insert(r.entity.first);
  for (const auto& p : st.wake)
    if (std::any_of(p.kinds.begin(), p.kinds.end(),
                    [&](const std::string& k) { return kinds.count(k) > 0; }))
      caf::anon_send(p.runner, atom::ping_v);
}

void flush(journal_self self) {
  auto& st = self->state;
  auto n
    = std::min(st.pending.size(), static_cast<size_t>(std::max<int64_t>(st.settings.batch_max, 1)));
  std::vector<pending_append> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(st.pending.front()));
    st.pending.pop_front();
  }
  // Encode first (pure CPU) and check that each entity's requests follow each other.
  std::vector<encoded_request> reqs(batch.size());
  std::map<entity_key, uint64_t> next_seq; // per entity: the seq its next request must start at
  std::set<entity_key> refused;            // entities with a refused request in this batch
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& r = reqs[i];
    r.source = &batch[i];
    auto& req = batch[i].req;
    entity_key key{req.kind, req.entity_id};
    if (refused.count(key) > 0) {
      answer(r, caf::make_error(mercato_errc::storage_unavailable,
                                "an earlier append of " + req.kind + " " + req.entity_id
                                  + " in the same batch failed"));
      continue;
    }
    if (auto err = encode(req, r)) {
      answer(r, std::move(err));
      refused.insert(std::move(key));
      continue;
    }
    auto i_next = next_seq.find(key);
    if (i_next != next_seq.end() && i_next->second != r.first_seq) {
      // Two writers of one entity behind this journal: the first one in the mailbox wins.
      answer(r, caf::make_error(mercato_errc::stale_writer,
                                "seq " + std::to_string(r.first_seq) + " of " + req.kind + " "
                                  + req.entity_id + " does not follow seq "
                                  + std::to_string(i_next->second - 1) + " of this batch"));
      refused.insert(std::move(key));
      continue;
    }
    next_seq[key] = r.last_seq + 1;
  }
  std::vector<encoded_request*> todo;
  for (auto& r : reqs)
    if (!r.outcome)
      todo.push_back(&r);
  if (!todo.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    auto res = st.db->run<batch_outcome>(
      [&](pqxx::connection& conn) { return write_batch(conn, todo, st.fence); },
      retry_policy::before_write_only);
    if (!res && errc_of(res.error()) == mercato_errc::invalid_request && todo.size() > 1) {
      // A row the database refuses (e.g. text it cannot store) must not fail its neighbours:
      // write the requests one by one so that only the offender is refused.
      runtime::logger("pg")->warn("journal batch of {} refused ({}), retrying one by one",
                                  todo.size(), detail_of(res.error()));
      batch_outcome total;
      for (auto* r : todo) {
        if (r->outcome)
          continue;
        auto one = st.db->run<batch_outcome>(
          [&](pqxx::connection& conn) { return write_batch(conn, {r}, st.fence); },
          retry_policy::before_write_only);
        if (!one)
          answer(*r, one.error());
        else {
          total.committed += one->committed;
          total.events += one->events;
          total.fenced += one->fenced;
          total.node_fenced = total.node_fenced || one->node_fenced;
        }
      }
      res = total;
    }
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (res && res->node_fenced) {
      // Another node may own our entities now: nothing more may commit from here.
      for (auto* r : todo)
        if (!r->outcome)
          answer(*r, caf::make_error(mercato_errc::storage_unavailable,
                                     "this node is no longer a cluster member"));
      runtime::logger("pg")->critical("journal fenced: node {} incarnation {} is no longer up",
                                      st.fence.node_id, st.fence.incarnation);
      if (!st.fence.on_fenced) {
        spdlog::shutdown();
        std::_Exit(75);
      }
      st.fence.on_fenced();
      return deliver(st, reqs);
    }
    if (!res) {
      for (auto* r : todo)
        if (!r->outcome)
          answer(*r, res.error());
      runtime::logger("pg")->debug("journal batch of {} fails: {}", todo.size(),
                                   render(res.error()));
    } else {
      if (st.metrics.batch_size && res->committed > 0)
        st.metrics.batch_size->observe(static_cast<double>(res->committed));
      if (st.metrics.commit_seconds)
        st.metrics.commit_seconds->observe(elapsed);
      if (st.metrics.fenced && res->fenced > 0)
        st.metrics.fenced->inc(res->fenced);
      runtime::logger("pg")->trace("journal commits {} appends, {} events in {:.3f} ms",
                                   res->committed, res->events, elapsed * 1e3);
    }
  }
  deliver(st, reqs);
  publish(st, reqs);
  wake_projections(st, reqs);
}

journal_impl::behavior_type journal(journal_self self, std::string url,
                                    config::journal_settings settings,
                                    runtime::metrics_registry* metrics, event_sink_actor sink,
                                    std::vector<projection_wakeup> wake, journal_fence fence) {
  auto& st = self->state;
  st.fence = std::move(fence);
  st.sink = std::move(sink);
  st.wake = std::move(wake);
  st.db = std::make_unique<session>(std::move(url), "journal", prepare_batch_statement);
  st.settings = settings;
  if (metrics) {
    std::vector<double> sizes;
    for (double b = 1; b <= 4096; b *= 2)
      sizes.push_back(b);
    st.metrics.batch_size = &metrics->get_histogram(
      "mercato_journal_batch_size", "Persist requests committed per journal transaction.", sizes);
    st.metrics.commit_seconds = &metrics->get_histogram(
      "mercato_journal_commit_seconds", "Duration of one journal group commit.",
      runtime::metrics_registry::latency_buckets());
    st.metrics.appends
      = &metrics->get_counter("mercato_journal_appends_total", "Persist requests made durable.");
    st.metrics.failures = &metrics->get_counter(
      "mercato_journal_failures_total",
      "Persist requests refused or failed (storage unavailable, invalid); fenced excluded.");
    st.metrics.fenced = &metrics->get_counter(
      "mercato_journal_fenced_total", "Persist requests refused by the single-writer fence.");
  }
  return {
    [self](atom::append, persist_request& req) -> caf::result<uint64_t> {
      auto& st = self->state;
      auto rp = self->make_response_promise<uint64_t>();
      st.pending.push_back(pending_append{std::move(req), rp});
      auto full = static_cast<int64_t>(st.pending.size()) >= st.settings.batch_max;
      if (full && !st.full_flush_sent) {
        st.full_flush_sent = true;
        schedule_flush(self, true);
      } else if (!st.flush_scheduled) {
        schedule_flush(self, false);
      }
      return rp;
    },
    [self](atom::flush) {
      auto& st = self->state;
      st.flush_scheduled = false;
      st.full_flush_sent = false;
      if (!st.pending.empty())
        flush(self);
      if (!st.pending.empty())
        schedule_flush(self, static_cast<int64_t>(st.pending.size()) >= st.settings.batch_max);
    },
  };
}

} // namespace

journal_actor spawn_journal(caf::actor_system& sys, std::string url,
                            config::journal_settings settings, runtime::metrics_registry* metrics,
                            event_sink_actor sink, std::vector<projection_wakeup> wake,
                            journal_fence fence) {
  runtime::logger("pg")->info("journal starts on {} (batch_max {}, batch_delay_us {})",
                              redact_dsn(url), settings.batch_max, settings.batch_delay_us);
  return sys.spawn<caf::detached>(journal, std::move(url), settings, metrics, std::move(sink),
                                  std::move(wake), std::move(fence));
}

} // namespace mercato::pg
