#include "actors/order/order_actor.hpp"

#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <memory>

namespace mercato {

namespace {

using self_ptr = order_actor::stateful_pointer<order_state>;

order_view view_of(const order_state& st) {
  return order_view{st.data, st.log.durable_seq};
}

// One timer per order, for its earliest delay check. delayed_send cannot be cancelled, so the
// timer carries the time it was set for and is ignored when an earlier one replaced it.
void arm_check_timer(self_ptr self) {
  auto& st = self->state;
  auto now = st.env.now();
  auto due = order::next_check_ms(st.data, st.cfg.delays, now);
  if (due == 0 || (st.check_at != 0 && st.check_at <= due))
    return;
  st.check_at = due;
  // Capped: a far-off check then runs early, finds nothing due and sets the timer again.
  auto wait = std::min(std::chrono::milliseconds{std::max<int64_t>(0, due - now)},
                       runtime::max_entity_timer);
  self->delayed_send(self, wait, atom::check_v, due);
}

// Every change of an order goes through here: each event carries when the next delay check is
// due (the orders read model keeps it, so that passivated orders are woken), and the timer
// follows the change.
template <class Ok, class Failed>
void record(self_ptr self, std::vector<order_event> events, Ok ok, Failed failed) {
  auto& st = self->state;
  order::stamp_next_check(st.data, events, st.cfg.delays, st.env.now());
  persist(self, std::move(events), std::move(ok), std::move(failed));
  arm_check_timer(self);
}

// Records what is due now (a delay warning, delivery expected soon, or a corrected schedule)
// and arms the timer for what comes next. A lost append restarts the order, which checks again.
void check_delays(self_ptr self) {
  auto& st = self->state;
  auto events = order::decide_checks(st.data, st.cfg.delays, st.env.now());
  if (!events.empty()) {
    auto log = runtime::logger("actors");
    for (const auto& e : events)
      if (e.type == "fact_recorded")
        log->debug("order {} records {} ({})", st.log.id, e.fact.type, e.fact.external_id);
    persist(
      self, std::move(events), [] {}, [](const caf::error&) {});
  }
  arm_check_timer(self);
}

caf::result<order_view> answer(self_ptr self, order::decision d) {
  if (!d)
    return std::move(d.error());
  auto rp = self->make_response_promise<order_view>();
  record(
    self, std::move(*d), [self, rp]() mutable { rp.deliver(view_of(self->state)); },
    [rp](const caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// Counts the outstanding steps of one compensation round; the last one to finish decides
// whether the round succeeded or must be retried.
struct round {
  size_t pending = 0;
  bool retry = false;
};

void finish_step(self_ptr self, const std::shared_ptr<round>& r, bool ok) {
  if (!ok)
    r->retry = true;
  if (--r->pending > 0)
    return;
  auto& st = self->state;
  st.compensating = false;
  if (r->retry) {
    self->delayed_send(self, st.cfg.retry_after, atom::resume_v);
    return;
  }
  auto d = order::decide_compensated(st.data, "stock returned, payment voided or refunded",
                                     st.env.now());
  if (d && !d->empty())
    record(
      self, std::move(*d), [] {}, [](const caf::error&) {});
}

// Returns the stock and the money of a cancelled order. A hold still open is released; one
// already sold is put back with an adjustment. An authorisation is voided; a capture refunded.
// Every step is safe to repeat except the adjustment, which runs only for a sold hold.
void compensate(self_ptr self) {
  auto& st = self->state;
  // A marketplace order holds no stock or payment of Mercato's.
  if (st.compensating || st.data.status != "cancelled" || st.data.compensated
      || order::is_imported(st.data))
    return;
  st.compensating = true;
  const auto& p = st.data.placement;
  auto r = std::make_shared<round>();
  r->pending = p.lines.size() + 1;
  auto log = runtime::logger("actors");
  for (const auto& line : p.lines) {
    hold_cmd release{p.reservation_id, p.request_id};
    runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.ask_timeout,
                            atom::release_v, release)
      .then([self, r](const stock_view&) { finish_step(self, r, true); },
            [self, r, line, log](const caf::error& err) {
              if (errc_of(err) == mercato_errc::not_found) {
                finish_step(self, r, true);
                return;
              }
              if (errc_of(err) != mercato_errc::conflict) {
                log->warn("order {}: releasing {} failed: {}", self->state.log.id, line.sku,
                          render(err));
                finish_step(self, r, false);
                return;
              }
              auto& st = self->state;
              stock_adjust_cmd back{line.quantity, "order " + st.log.id + " cancelled",
                                    st.data.placement.request_id};
              runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.ask_timeout,
                                      atom::adjust_v, back)
                .then([self, r](const stock_view&) { finish_step(self, r, true); },
                      [self, r](const caf::error&) { finish_step(self, r, false); });
            });
  }
  runtime::request_entity(self, st.cfg.payment_region, p.payment_id, st.cfg.ask_timeout,
                          atom::cancel_v, p.payment_id)
    .then([self, r](const payment_view&) { finish_step(self, r, true); },
          [self, r](const caf::error& err) {
            if (errc_of(err) != mercato_errc::conflict) {
              finish_step(self, r, false);
              return;
            }
            auto& st = self->state;
            const auto& id = st.data.placement.payment_id;
            runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.ask_timeout,
                                    atom::refund_v, id)
              .then([self, r](const payment_view&) { finish_step(self, r, true); },
                    [self, r](const caf::error&) { finish_step(self, r, false); });
          });
}

// A returned order gets its money back: refund the capture, then move to `refunded`. Safe to
// repeat (a refund is idempotent per payment); retried on its own timer while the payment port
// is unavailable.
void refund_return(self_ptr self) {
  auto& st = self->state;
  if (st.refunding || st.data.status != "returned" || order::is_imported(st.data))
    return;
  st.refunding = true;
  const auto& id = st.data.placement.payment_id;
  runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.ask_timeout, atom::refund_v, id)
    .then(
      [self](const payment_view&) {
        auto& st = self->state;
        caller system{st.data.placement.customer_id, true, st.data.placement.request_id};
        auto d = order::decide_advance(st.data, order_status_cmd{system, "refunded", "returned"},
                                       st.env.now());
        if (!d || d->empty()) {
          st.refunding = false;
          return;
        }
        record(
          self, std::move(*d), [self] { self->state.refunding = false; },
          [self](const caf::error&) { self->state.refunding = false; });
      },
      [self](const caf::error& err) {
        auto& st = self->state;
        st.refunding = false;
        runtime::logger("actors")->warn("order {}: refund failed: {}", st.log.id, render(err));
        if (errc_of(err) != mercato_errc::conflict) // conflict: nothing was captured to refund
          self->delayed_send(self, st.cfg.retry_after, atom::resume_v);
      });
}

// What an order still owes after a restart, a failed attempt or a wake-up by the sweeper.
void settle_obligations(self_ptr self) {
  compensate(self);
  refund_return(self);
  check_delays(self);
}

} // namespace

order_actor::behavior_type order_entity(self_ptr self, std::string order_id, order_settings cfg) {
  self->state.cfg = std::move(cfg);
  auto env = self->state.cfg.env;
  start_entity<order_snapshot, order_event>(self, "order", std::move(order_id), std::move(env),
                                            [self] { settle_obligations(self); });
  return {
    [self](atom::place, const order_placement& p) -> caf::result<order_view> {
      return answer(self, order::decide_place(self->state.data, p, self->state.env.now()));
    },
    [self](atom::get, const caller& who) -> caf::result<order_view> {
      if (auto err = order::check_access(self->state.data, who))
        return err;
      auto rp = self->make_response_promise<order_view>();
      answer_when_durable(self, rp, [self] { return view_of(self->state); });
      return rp;
    },
    [self](atom::advance, const order_status_cmd& cmd) -> caf::result<order_view> {
      if (auto err = order::check_access(self->state.data, cmd.who))
        return err;
      return answer(self, order::decide_advance(self->state.data, cmd, self->state.env.now()));
    },
    [self](atom::cancel, const order_status_cmd& cmd) -> caf::result<order_view> {
      auto& st = self->state;
      if (auto err = order::check_access(st.data, cmd.who))
        return err;
      auto d = order::decide_cancel(st.data, cmd, st.env.now());
      if (!d)
        return std::move(d.error());
      auto rp = self->make_response_promise<order_view>();
      record(
        self, std::move(*d),
        [self, rp]() mutable {
          rp.deliver(view_of(self->state));
          compensate(self);
        },
        [rp](const caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](atom::append, const order_fact_cmd& cmd) -> caf::result<bool> {
      auto& st = self->state;
      auto d = order::decide_fact(st.data, cmd, st.env.now());
      if (!d)
        return std::move(d.error());
      auto recorded = !d->empty();
      auto rp = self->make_response_promise<bool>();
      record(
        self, std::move(*d),
        [self, rp, recorded]() mutable {
          rp.deliver(recorded);
          refund_return(self);
        },
        [rp](const caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](atom::upsert, const imported_order& o) -> caf::result<import_outcome> {
      auto& st = self->state;
      auto existed = st.data.exists;
      auto d = order::decide_import(st.data, o, st.env.now());
      if (!d)
        return std::move(d.error());
      auto outcome = d->empty() ? import_outcome::unchanged
                     : existed  ? import_outcome::updated
                                : import_outcome::imported;
      auto rp = self->make_response_promise<import_outcome>();
      record(
        self, std::move(*d), [rp, outcome]() mutable { rp.deliver(outcome); },
        [rp](const caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](atom::resume) { settle_obligations(self); },
    [self](atom::check, int64_t due) {
      auto& st = self->state;
      if (due != st.check_at)
        return; // an earlier timer replaced this one
      st.check_at = 0;
      check_delays(self);
    },
    [self](atom::inspect) -> std::string {
      const auto& st = self->state;
      const auto& d = st.data;
      return inspect_text(st.log, [&](util::json_text& j) {
        j.key("order_id").value(d.placement.order_id).key("exists").value(d.exists);
        j.key("customer_id").value(d.placement.customer_id).key("status").value(d.status);
        j.key("lines").value(static_cast<uint64_t>(d.placement.lines.size()));
        j.key("total_minor").value(d.placement.sums.total_minor);
        j.key("compensated").value(d.compensated).key("compensating").value(st.compensating);
        j.key("timeline_entries").value(static_cast<uint64_t>(d.timeline.size()));
        j.key("timeline_whole")
          .value(static_cast<uint64_t>(std::count_if(
            d.timeline.begin(), d.timeline.end(), [](const auto& f) { return !is_trimmed(f); })));
        if (d.exists)
          j.key("status_since").time_ms(order::status_since_ms(d));
        auto next = order::next_check_ms(d, st.cfg.delays, st.env.now());
        j.key("next_check");
        if (next > 0)
          j.time_ms(next);
        else
          j.null();
      });
    },
    [self](atom::passivate) -> bool {
      auto& st = self->state;
      // A cancelled order stays until its stock and payment are back: its retry timer dies with
      // it. (A returned one may go: starting again retries its refund.)
      if (!st.log.idle() || st.compensating || st.refunding
          || (st.data.status == "cancelled" && !st.data.compensated))
        return false;
      self->quit();
      return true;
    },
  };
}

runtime::entity_spawner make_order_spawner(order_settings cfg) {
  return [cfg](caf::local_actor* parent, const std::string& key, bool known_new) {
    auto c = cfg;
    c.env.known_new = known_new; // its id was just minted: nothing to recover
    return caf::actor_cast<caf::actor>(parent->spawn(order_entity, key, std::move(c)));
  };
}

} // namespace mercato
