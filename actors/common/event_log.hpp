#pragma once

// The persistence shell shared by the entities whose traffic is per customer (cart, coupon,
// checkout, order): decide, apply to the one in-memory state at once, append, and answer only
// when the append is durable. Appends leave in order, one in flight, the next batch gathering
// meanwhile. Applying before durability is safe because every answer waits for its own events
// and all earlier ones: if an append fails, every answer still owed fails with it and the entity
// restarts from the journal, so nothing a client saw acknowledged was decided on lost state.
// (The stock item keeps a second, conservative state instead, to pipeline a hot SKU harder.)

#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/logging.hpp"
#include "runtime/shard_region.hpp"
#include "runtime/util/json_text.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mercato {

/// The journal, recovery and timing every event-sourced entity of a node shares.
struct entity_env {
  journal_actor journal;
  recovery_actor recovery;
  int64_t snapshot_every = 200;
  std::chrono::milliseconds recovery_timeout{10000};
  bool fault_injection = false;
  /// This entity's id was just minted by this node (a new checkout attempt's order or payment):
  /// it starts empty without a recovery query. Should the id exist after all, its first append
  /// (seq 1) is refused by the journal's fence and the entity restarts with recovery.
  bool known_new = false;
  std::function<int64_t()> now_ms; ///< wall clock, epoch ms; injected for tests

  int64_t now() const {
    return now_ms ? now_ms()
                  : std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  }
};

/// Events, and the answers owed once they are durable.
template <class Event>
struct event_batch {
  std::vector<Event> events;
  std::vector<std::function<void()>> on_durable;
  std::vector<std::function<void(const caf::error&)>> on_failed;

  bool empty() const noexcept {
    return events.empty() && on_durable.empty();
  }

  void fail(const caf::error& err) {
    for (auto& f : on_failed)
      f(err);
    *this = event_batch{};
  }
};

/// What inspection shows of a durable event: its type and time. Not the event itself: an order's
/// events carry its lines and address, and twenty of them would outweigh the order.
struct recent_event {
  std::string type;
  int64_t at_ms = 0;
};

/// Journal bookkeeping of one entity; lives in the actor's state as `log`.
template <class Event>
struct event_log {
  using event_type = Event;

  std::string kind;
  std::string id;
  uint64_t durable_seq = 0; ///< the entity's version
  uint64_t next_seq = 1;
  uint64_t last_snapshot_seq = 0;
  bool in_flight = false;
  event_batch<Event> sending; ///< the append under way
  event_batch<Event> buffer;  ///< decided meanwhile
  /// The last durable events, for inspection; a vector, which allocates nothing until used
  /// (an idle entity is most entities).
  std::vector<recent_event> recent;

  static constexpr size_t recent_max = 20;

  void remember(const Event& e) {
    if (recent.size() == recent_max)
      recent.erase(recent.begin());
    recent.push_back({e.type, e.at_ms});
  }

  bool idle() const noexcept {
    return !in_flight && buffer.empty();
  }

  void fail_all(const caf::error& err) {
    sending.fail(err);
    buffer.fail(err);
    in_flight = false;
  }
};

namespace detail {

// The state type must have: `entity_env env; event_log<Event> log;` and a `data` member that
// `apply(data, event)` folds into and `snapshot_of(data)` turns into the snapshot message type.
template <class Self>
void send_next(Self* self);

template <class Self>
void restart_after(Self* self, caf::error err) {
  auto& log = self->state.log;
  auto reply_err = errc_of(err) == mercato_errc::stale_writer
                     ? caf::make_error(mercato_errc::entity_unavailable, log.kind + " moved; retry")
                     : caf::make_error(mercato_errc::storage_unavailable,
                                       "could not make the change durable; retry");
  log.fail_all(reply_err);
  self->quit(std::move(err));
}

template <class Self>
void on_durable(Self* self, uint64_t last_seq) {
  auto& st = self->state;
  auto& log = st.log;
  if (last_seq != log.durable_seq + log.sending.events.size()) {
    restart_after(self, caf::make_error(mercato_errc::storage_unavailable,
                                        "journal acknowledged an unexpected seq"));
    return;
  }
  log.durable_seq = last_seq;
  log.in_flight = false;
  auto batch = std::move(log.sending);
  log.sending = {};
  for (const auto& e : batch.events)
    log.remember(e);
  for (auto& f : batch.on_durable)
    f();
  send_next(self);
}

template <class Self>
void send_next(Self* self) {
  auto& st = self->state;
  auto& log = st.log;
  if (log.in_flight || log.buffer.empty())
    return;
  if (log.buffer.events.empty()) { // only answers that wait for what is already durable
    auto b = std::move(log.buffer);
    log.buffer = {};
    for (auto& f : b.on_durable)
      f();
    return;
  }
  log.sending = std::move(log.buffer);
  log.buffer = {};
  log.in_flight = true;
  persist_request req;
  req.kind = log.kind;
  req.entity_id = log.id;
  req.first_seq = log.next_seq;
  for (const auto& e : log.sending.events)
    req.events.emplace_back(caf::make_message(e));
  log.next_seq += log.sending.events.size();
  auto last_seq = log.next_seq - 1;
  // The state already holds every decided event, and the batch is the tail of what is decided.
  if (static_cast<int64_t>(last_seq - log.last_snapshot_seq) >= st.env.snapshot_every) {
    req.snapshot = caf::make_message(snapshot_of(st.data));
    log.last_snapshot_seq = last_seq;
  }
  self->request(st.env.journal, caf::infinite, atom::append_v, std::move(req))
    .then([self](uint64_t seq) { on_durable(self, seq); },
          [self](caf::error& err) { restart_after(self, std::move(err)); });
}

} // namespace detail

/// Applies `events` to the state at once and runs `ok` (typically delivering a response promise)
/// once they and everything decided before are durable; `failed` runs instead if they are lost.
template <class Self, class Event, class Ok, class Failed>
void persist(Self* self, std::vector<Event> events, Ok ok, Failed failed) {
  auto& st = self->state;
  for (auto& e : events) {
    apply(st.data, e);
    st.log.buffer.events.push_back(std::move(e));
  }
  st.log.buffer.on_durable.emplace_back(std::move(ok));
  st.log.buffer.on_failed.emplace_back(std::move(failed));
  detail::send_next(self);
}

/// Persists `events` and answers the promise `rp` with `view()` once durable (or with the error).
template <class Self, class Event, class Promise, class View>
void persist_then_answer(Self* self, std::vector<Event> events, Promise rp, View view) {
  persist(
    self, std::move(events), [rp, view]() mutable { rp.deliver(view()); },
    [rp](const caf::error& err) mutable { rp.deliver(err); });
}

/// Rebuilds `data` from a recovery answer (`Snapshot` and `Event` are the kind's types).
template <class Snapshot, class Event, class State>
void recover_into(State& st, const recovery_data& data) {
  if (!data.snapshot.empty() && data.snapshot.template match_elements<Snapshot>())
    st.data = from_snapshot(data.snapshot.template get_as<Snapshot>(0));
  for (const auto& msg : data.events)
    if (msg.template match_elements<Event>()) {
      const auto& e = msg.template get_as<Event>(0);
      apply(st.data, e);
      st.log.remember(e);
    }
  st.log.durable_seq = data.last_seq;
  st.log.next_seq = data.last_seq + 1;
  st.log.last_snapshot_seq = data.snapshot_seq;
}

/// The start every such entity shares: recovery before anything else is served (await holds
/// back all other messages), restart when the journal dies, and a fault handler that fails the
/// answers still owed. `on_recovered` runs once the state is rebuilt; `on_crash(err)` when an
/// exception stops the entity, to fail what else it owes.
template <class Snapshot, class Event, class Self, class OnRecovered,
          class OnCrash = void (*)(const caf::error&)>
void start_entity(
  Self* self, std::string kind, std::string id, entity_env env, OnRecovered on_recovered,
  OnCrash on_crash = [](const caf::error&) {}) {
  auto& st = self->state;
  st.env = std::move(env);
  st.log.kind = kind;
  st.log.id = std::move(id);
  if (st.env.known_new)
    on_recovered(); // nothing to read: the state is the empty one
  else
    self
      ->request(st.env.recovery, st.env.recovery_timeout, atom::load_v, std::move(kind), st.log.id)
      .await(
        [self, on_recovered](recovery_data& data) mutable {
          recover_into<Snapshot, Event>(self->state, data);
          on_recovered();
        },
        [self](caf::error& err) { self->quit(runtime::recovery_failure(std::move(err))); });
  runtime::answer_mailbox_probes(self); // the region samples mailbox depths for the admin API
  // The region watches the journal and forwards its down_msg (region_settings::watch).
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.env.journal.address())
      detail::restart_after(self,
                            caf::make_error(mercato_errc::storage_unavailable, "journal stopped"));
  });
  self->set_exception_handler([self, on_crash](std::exception_ptr& ep) -> caf::error {
    auto what = runtime::describe_exception(ep);
    runtime::logger("actors")->error("{} {} failed: {}", self->state.log.kind, self->state.log.id,
                                     what);
    auto err
      = caf::make_error(mercato_errc::entity_unavailable, self->state.log.kind + " restarted");
    self->state.log.fail_all(err);
    on_crash(err);
    return caf::make_error(mercato_errc::fault_injected, what);
  });
}

/// Answers `rp` with `view()` once everything decided so far is durable: reads must not show
/// state that may still be lost.
template <class Self, class Promise, class View>
void answer_when_durable(Self* self, Promise rp, View view) {
  persist_then_answer(self, std::vector<typename decltype(self->state.log)::event_type>{},
                      std::move(rp), std::move(view));
}

/// The answer to the region's passivation request of an entity with nothing else to wait for:
/// it stops unless appends are still under way.
template <class Self>
bool passivate_if_idle(Self* self) {
  if (!self->state.log.idle())
    return false;
  self->quit();
  return true;
}

/// The admin API's view of an entity: `{"state":{...}, "version", "pending", "recent_events"}`;
/// `fill` writes the members of `state`.
template <class Event, class Fill>
std::string inspect_text(const event_log<Event>& log, Fill fill) {
  util::json_text j;
  j.begin_object().key("state").begin_object();
  fill(j);
  j.end_object();
  j.key("version").value(log.durable_seq).key("pending").value(!log.idle());
  j.key("recent_events").begin_array();
  for (const auto& e : log.recent)
    j.begin_object().key("type").value(e.type).key("at").time_ms(e.at_ms).end_object();
  j.end_array().end_object();
  return std::move(j).str();
}

} // namespace mercato
