#include "actors/stock/stock_actor.hpp"

#include "actors/protocol/errors.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/json_text.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <stdexcept>

namespace mercato {

namespace {

using self_ptr = stock_actor::stateful_pointer<stock_state>;

int64_t now_of(const stock_state& st) {
  return st.cfg.now_ms();
}

void fail_batch(stock_batch& b, const caf::error& err) {
  for (auto& f : b.on_failed)
    f(err);
  b = stock_batch{};
}

// Fails every reply still owed; used before the actor stops for any reason other than success.
void fail_all(stock_state& st, const caf::error& err) {
  for (auto& b : st.in_flight)
    fail_batch(b, err);
  st.in_flight.clear();
  fail_batch(st.buffer, err);
}

// One timer per item, for its earliest hold: a timer per hold would cost a clock-thread wake-up
// per reservation. delayed_send cannot be cancelled, so a timer carries the time it was set
// for and is ignored when a newer one replaced it.
void arm_timer(self_ptr self) {
  auto& st = self->state;
  if (st.expiries.empty())
    return;
  auto due = st.expiries.top().first;
  if (st.timer_at != 0 && st.timer_at <= due)
    return;
  st.timer_at = due;
  // Capped: a far-off expiry then runs early, finds nothing due and sets the timer again.
  auto wait = std::min(std::chrono::milliseconds{std::max<int64_t>(0, due - now_of(st))},
                       runtime::max_entity_timer);
  self->delayed_send(self, wait, atom::expire_v, due);
}

void track_expiry(self_ptr self, const std::string& id, int64_t expires_at_ms) {
  auto& st = self->state;
  if (st.expiries.size() < 2 * st.decided.holds.size() + 64) {
    st.expiries.emplace(expires_at_ms, id);
  } else { // the new hold is among the decided ones already
    std::vector<std::pair<int64_t, std::string>> open;
    open.reserve(st.decided.holds.size());
    for (const auto& [hold_id, h] : st.decided.holds)
      open.emplace_back(h.expires_at_ms, hold_id);
    st.expiries = stock_state::expiry_queue{std::greater<>{}, std::move(open)};
  }
  arm_timer(self);
}

void send_next(self_ptr self);

void remember(stock_state& st, uint64_t seq, const stock_event& e) {
  st.recent.emplace_back(seq, e);
  while (st.recent.size() > stock_recent_events)
    st.recent.pop_front();
}

void restart_after(self_ptr self, caf::error err) {
  // In-memory state may now hold decisions that never became durable: fail what is owed and
  // restart from the journal rather than patching state by hand.
  runtime::logger("actors")->warn("stock {} append failed: {}; restarting", self->state.sku,
                                  render(err));
  auto reply_err = errc_of(err) == mercato_errc::stale_writer
                     ? caf::make_error(mercato_errc::entity_unavailable, "stock item moved; retry")
                     : caf::make_error(mercato_errc::storage_unavailable,
                                       "could not make the change durable; retry");
  fail_all(self->state, reply_err);
  self->quit(std::move(err));
}

void on_durable(self_ptr self, uint64_t last_seq) {
  auto& st = self->state;
  auto batch = std::move(st.in_flight.front());
  st.in_flight.pop_front();
  if (last_seq != st.durable_seq + batch.events.size()) {
    st.in_flight.push_front(std::move(batch)); // failed below with the rest
    restart_after(self, caf::make_error(mercato_errc::storage_unavailable,
                                        "journal acknowledged seq " + std::to_string(last_seq)
                                          + " out of order"));
    return;
  }
  auto seq = st.durable_seq;
  for (const auto& e : batch.events) {
    stock::apply(st.durable, e);
    stock::apply_durable_to_decided(st.decided, e);
    remember(st, ++seq, e);
  }
  st.durable_seq = last_seq;
  for (auto& f : batch.on_durable)
    f();
  send_next(self);
}

// Sends the buffer as the next append if fewer than `max_appends_in_flight` are under way.
// The journal's group commit batches across entities; the buffer batches within one.
void send_next(self_ptr self) {
  auto& st = self->state;
  if (st.buffer.empty())
    return;
  if (st.buffer.events.empty()) { // only replies that wait for earlier events
    auto b = std::move(st.buffer);
    st.buffer = stock_batch{};
    if (st.in_flight.empty()) {
      for (auto& f : b.on_durable)
        f();
    } else {
      auto& last = st.in_flight.back();
      std::move(b.on_durable.begin(), b.on_durable.end(), std::back_inserter(last.on_durable));
      std::move(b.on_failed.begin(), b.on_failed.end(), std::back_inserter(last.on_failed));
    }
    return;
  }
  if (st.in_flight.size() >= st.cfg.max_appends_in_flight)
    return;
  st.in_flight.push_back(std::move(st.buffer));
  st.buffer = stock_batch{};
  const auto& batch = st.in_flight.back();
  persist_request req;
  req.kind = "stock";
  req.entity_id = st.sku;
  req.first_seq = st.next_seq;
  req.events.reserve(batch.events.size());
  for (const auto& e : batch.events)
    req.events.emplace_back(caf::make_message(e));
  st.next_seq += batch.events.size();
  auto last_seq = st.next_seq - 1;
  // A snapshot costs O(state); taking one only after at least as many events as the state
  // holds keeps the cost per event constant and bounds replay to about twice the state size.
  auto state_size = static_cast<int64_t>(st.durable.holds.size() + st.decided.closed.size());
  if (static_cast<int64_t>(last_seq - st.last_snapshot_seq)
      >= std::max(st.cfg.snapshot_every, state_size)) {
    // The state at last_seq: the durable one with every batch in flight. The buffer is empty
    // here, so the decided state's closed holds are exactly those up to last_seq but for the
    // releases and expiries in flight.
    auto snap = st.durable;
    std::vector<const stock_event*> in_flight;
    for (const auto& b : st.in_flight)
      for (const auto& e : b.events) {
        stock::apply(snap, e);
        in_flight.push_back(&e);
      }
    req.snapshot = caf::make_message(stock::to_snapshot(snap, st.decided.closed, in_flight));
    st.last_snapshot_seq = last_seq;
  }
  // No CAF timeout: one per append would wake CAF's clock thread once per request when every
  // request touches another SKU. The journal answers every append (the database's
  // statement_timeout bounds a hung query), and a journal that dies is seen by the monitor.
  self->request(st.cfg.journal, caf::infinite, atom::append_v, std::move(req))
    .then([self](uint64_t seq) { on_durable(self, seq); },
          [self](caf::error& err) { restart_after(self, std::move(err)); });
}

// Records the events of one decision and arranges `ok` to run once they (and all earlier
// decisions) are durable.
template <class Promise, class Ok>
void commit_decision(self_ptr self, const std::vector<stock_event>& events, Promise rp, Ok ok) {
  auto& st = self->state;
  for (const auto& e : events) {
    stock::apply_decided(st.decided, e);
    st.buffer.events.push_back(e);
    if (e.type == stock_event_type::reserved)
      track_expiry(self, e.reservation_id, e.expires_at_ms);
  }
  st.buffer.on_durable.emplace_back([rp, ok]() mutable { rp.deliver(ok()); });
  st.buffer.on_failed.emplace_back([rp](const caf::error& err) mutable { rp.deliver(err); });
  send_next(self);
}

stock_view view_of(const stock_state& st) {
  return stock::to_view(st.sku, st.durable, st.durable_seq);
}

// Answers a decision with the durable view once its events are durable, or with its error.
caf::result<stock_view> answer_with_view(self_ptr self, stock::decision d) {
  if (!d)
    return std::move(d.error());
  auto rp = self->make_response_promise<stock_view>();
  commit_decision(self, *d, rp, [self] { return view_of(self->state); });
  return rp;
}

void recover(self_ptr self, const recovery_data& data) {
  auto& st = self->state;
  if (!data.snapshot.empty() && data.snapshot.match_elements<stock_snapshot>())
    st.durable = stock::from_snapshot(data.snapshot.get_as<stock_snapshot>(0));
  auto seq = data.last_seq - std::min<uint64_t>(data.last_seq, data.events.size());
  for (const auto& msg : data.events) {
    ++seq;
    if (msg.match_elements<stock_event>()) {
      stock::apply(st.durable, msg.get_as<stock_event>(0));
      remember(st, seq, msg.get_as<stock_event>(0));
    }
  }
  stock::split_recovered(st.durable, st.decided);
  st.durable_seq = data.last_seq;
  st.next_seq = data.last_seq + 1;
  st.last_snapshot_seq = data.snapshot_seq;
  for (const auto& [id, h] : st.durable.holds)
    st.expiries.emplace(h.expires_at_ms, id);
  arm_timer(self);
}

void write_event(util::json_text& j, uint64_t seq, const stock_event& e) {
  j.begin_object().key("seq").value(seq).key("type").value(to_string(e.type));
  j.key("at").time_ms(e.at_ms);
  switch (e.type) {
  case stock_event_type::on_hand_set:
    j.key("delta").value(e.delta);
    break;
  case stock_event_type::adjusted:
    j.key("delta").value(e.delta).key("reason").value(e.reason);
    break;
  case stock_event_type::reserved:
    j.key("reservation_id").value(e.reservation_id).key("qty").value(e.qty);
    j.key("expires_at").time_ms(e.expires_at_ms);
    break;
  case stock_event_type::committed:
  case stock_event_type::released:
  case stock_event_type::expired:
    j.key("reservation_id").value(e.reservation_id).key("qty").value(e.qty);
    break;
  }
  j.end_object();
}

} // namespace

std::string inspect_json(const stock_state& st) {
  util::json_text j;
  const auto& d = st.durable;
  j.begin_object().key("state").begin_object();
  j.key("sku").value(st.sku).key("exists").value(d.exists);
  j.key("on_hand").value(d.on_hand).key("reserved").value(d.reserved);
  j.key("available").value(d.available());
  // Sorted, so that two inspections of the same state read the same.
  std::vector<const std::pair<const std::string, stock::hold>*> holds;
  for (const auto& h : d.holds)
    holds.push_back(&h);
  std::sort(holds.begin(), holds.end(), [](auto* a, auto* b) { return a->first < b->first; });
  j.key("holds_total").value(static_cast<uint64_t>(holds.size()));
  j.key("holds").begin_array();
  for (size_t i = 0; i < holds.size() && i < stock_inspect_holds; ++i) {
    j.begin_object().key("reservation_id").value(holds[i]->first);
    j.key("qty")
      .value(holds[i]->second.qty)
      .key("expires_at")
      .time_ms(holds[i]->second.expires_at_ms);
    j.end_object();
  }
  j.end_array();
  j.key("closed_holds").value(static_cast<uint64_t>(st.decided.closed.size()));
  // Decisions taken but not durable yet: what new commands are judged against.
  j.key("pending").begin_object();
  j.key("appends_in_flight").value(static_cast<uint64_t>(st.in_flight.size()));
  j.key("buffered_events").value(static_cast<uint64_t>(st.buffer.events.size()));
  j.key("expiry_entries").value(static_cast<uint64_t>(st.expiries.size()));
  j.key("decided_on_hand").value(st.decided.on_hand);
  j.key("decided_reserved").value(st.decided.reserved);
  j.end_object();
  j.end_object();
  j.key("version").value(st.durable_seq);
  j.key("recent_events").begin_array();
  for (const auto& [seq, e] : st.recent)
    write_event(j, seq, e);
  j.end_array();
  j.end_object();
  return std::move(j).str();
}

stock_actor::behavior_type stock_item(self_ptr self, std::string sku, stock_settings cfg) {
  auto& st = self->state;
  st.sku = std::move(sku);
  st.cfg = std::move(cfg);
  if (!st.cfg.now_ms)
    st.cfg.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
    };
  // Nothing is served before the state is rebuilt: await() holds back every other message.
  self
    ->request(st.cfg.recovery, st.cfg.recovery_timeout, atom::load_v, std::string{"stock"}, st.sku)
    .await([self](recovery_data& data) { recover(self, data); },
           [self](caf::error& err) {
             runtime::logger("actors")->warn("stock {} recovery failed: {}", self->state.sku,
                                             render(err));
             self->quit(runtime::recovery_failure(std::move(err)));
           });
  runtime::answer_mailbox_probes(self);
  // The region watches the journal and forwards its down_msg (region_settings::watch).
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.cfg.journal.address())
      restart_after(self, caf::make_error(mercato_errc::storage_unavailable, "journal stopped"));
  });
  self->set_exception_handler([self](std::exception_ptr& ep) -> caf::error {
    auto what = runtime::describe_exception(ep);
    runtime::logger("actors")->error("stock {} failed: {}", self->state.sku, what);
    fail_all(self->state,
             caf::make_error(mercato_errc::entity_unavailable, "stock item restarted"));
    return caf::make_error(mercato_errc::fault_injected, what);
  });
  return {
    [self](atom::get) -> caf::result<stock_view> {
      if (!self->state.durable.exists)
        return caf::make_error(mercato_errc::not_found, "stock was never set for this SKU");
      return view_of(self->state);
    },
    [self](atom::set, const stock_set_cmd& cmd) -> caf::result<stock_view> {
      auto& st = self->state;
      return answer_with_view(self, stock::decide_set(st.decided, cmd.on_hand, now_of(st)));
    },
    [self](atom::adjust, const stock_adjust_cmd& cmd) -> caf::result<stock_view> {
      auto& st = self->state;
      return answer_with_view(self,
                              stock::decide_adjust(st.decided, cmd.delta, cmd.reason, now_of(st)));
    },
    [self](atom::reserve, const reserve_cmd& cmd) -> caf::result<reservation_view> {
      auto& st = self->state;
      auto ttl = cmd.ttl_ms > 0 ? cmd.ttl_ms : st.cfg.default_ttl_ms;
      if (ttl > st.cfg.max_ttl_ms)
        return caf::make_error(mercato_errc::invalid_request, "ttl exceeds the maximum");
      if (st.buffer.on_durable.size() >= st.cfg.max_waiting_reservations)
        return caf::make_error(mercato_errc::entity_unavailable,
                               "stock " + st.sku
                                 + " is busy: " + std::to_string(st.buffer.on_durable.size())
                                 + " changes wait for the journal; retry");
      auto d = stock::decide_reserve(st.decided, cmd.reservation_id, cmd.quantity, ttl, now_of(st));
      if (!d)
        return std::move(d.error());
      auto rp = self->make_response_promise<reservation_view>();
      // For a new hold and an idempotent retry alike, answer from the decided hold once
      // everything decided so far is durable.
      const auto& h = d->empty() ? st.decided.holds.at(cmd.reservation_id)
                                 : stock::hold{d->front().qty, d->front().expires_at_ms, false};
      reservation_view v{cmd.reservation_id, st.sku, h.qty, h.expires_at_ms};
      commit_decision(self, *d, rp, [v] { return v; });
      return rp;
    },
    [self](atom::commit, const hold_cmd& cmd) -> caf::result<stock_view> {
      auto& st = self->state;
      return answer_with_view(
        self, stock::decide_commit(st.decided, cmd.reservation_id, now_of(st), cmd.late_sale));
    },
    [self](atom::release, const hold_cmd& cmd) -> caf::result<stock_view> {
      auto& st = self->state;
      return answer_with_view(self,
                              stock::decide_release(st.decided, cmd.reservation_id, now_of(st)));
    },
    [self](atom::expire, int64_t timer_at) {
      auto& st = self->state;
      if (timer_at != st.timer_at)
        return; // replaced by an earlier timer
      st.timer_at = 0;
      auto now = now_of(st);
      // Every hold that is due goes back in one append.
      while (!st.expiries.empty() && st.expiries.top().first <= now) {
        auto [due, id] = st.expiries.top();
        st.expiries.pop();
        auto i = st.decided.holds.find(id);
        if (i == st.decided.holds.end() || i->second.expires_at_ms != due)
          continue; // ended otherwise, or the id now names a newer hold
        for (const auto& e : stock::decide_expire(st.decided, id, now)) {
          stock::apply_decided(st.decided, e);
          st.buffer.events.push_back(e);
        }
      }
      arm_timer(self); // also re-arms a timer that ran early against the wall clock
      send_next(self);
    },
    [self](atom::fault) -> caf::result<bool> {
      if (!self->state.cfg.fault_injection)
        return caf::make_error(mercato_errc::not_found, "fault injection is disabled");
      throw std::runtime_error("injected fault");
    },
    [self](atom::passivate) -> bool {
      auto& st = self->state;
      // Holds need their timers, which die with the actor: stay while any is active.
      if (!st.in_flight.empty() || !st.buffer.empty() || !st.decided.holds.empty())
        return false;
      self->quit();
      return true;
    },
    [self](atom::inspect) -> std::string { return inspect_json(self->state); },
  };
}

bool is_stock_read(const caf::message& msg) {
  return msg.match_elements<atom::get>();
}

runtime::entity_spawner make_stock_spawner(stock_settings cfg) {
  return [cfg](caf::local_actor* parent, const std::string& key, bool) {
    return caf::actor_cast<caf::actor>(parent->spawn(stock_item, key, cfg));
  };
}

} // namespace mercato
