#include "actors/payment/payment_actor.hpp"

#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <algorithm>

// One payment as an entity. Provider calls go through the provider port and never block here;
// commands that may reach the provider run one at a time (a small queue), so that a capture and
// a void of the same payment can never cross at the provider. The durability order is what
// makes compensation safe:
// - authorise: kept in memory, not journaled. The checkout asks only once its `started` is
//   durable, records the answer in the order's `placed`, and after a crash always voids the
//   attempt's id; so neither the request nor the answer needs a record of its own here.
// - capture, refund: the provider first, then the journal; a crash in between leaves the old
//   status and the repeated command asks the provider again (idempotent there). A capture
//   carries the authorisation as the order recorded it, for an entity that lost it.
// - cancel: `voided` is durable (the fence) before the provider is asked to void, which it is
//   for every id: an authorisation this entity no longer knows may have reached the provider.
// An authorisation whose outcome is pending is parked here and answered when the outcome
// arrives (the provider settling by itself, a webhook, a cancel), or `request_timeout` at the
// park limit.

namespace mercato {

namespace {

using self_ptr = payment_actor::stateful_pointer<payment_state>;
using view_promise = caf::typed_response_promise<payment_view>;

auto log() {
  return runtime::logger("actors");
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

template <class Promise, class T>
void deliver(Promise& rp, caf::expected<T> x) {
  if (x)
    rp.deliver(std::move(*x));
  else
    rp.deliver(std::move(x.error()));
}

// -- one command at a time ---------------------------------------------------------------------

void enqueue(self_ptr self, std::function<void()> run,
             std::function<void(const caf::error&)> fail) {
  auto& st = self->state;
  if (!st.busy) {
    st.busy = true;
    run();
    return;
  }
  st.queued.push_back(queued_command{std::move(run), std::move(fail)});
}

// The command under way is finished: the next one starts.
void done(self_ptr self) {
  auto& st = self->state;
  if (st.queued.empty()) {
    st.busy = false;
    return;
  }
  auto next = std::move(st.queued.front());
  st.queued.pop_front();
  next.run();
}

// Answers everything still waiting: the entity stops after this (crash or lost append).
void fail_waiting(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto parked = std::move(st.parked);
  st.parked.clear();
  for (auto& p : parked)
    p.rp.deliver(err);
  auto queued = std::move(st.queued);
  st.queued.clear();
  for (auto& q : queued)
    q.fail(err);
  st.busy = false;
}

// Parked authorisations get their answer once the payment left `pending`.
void answer_parked(self_ptr self) {
  auto& st = self->state;
  if (st.parked.empty() || st.data.view.status == payment_status::pending)
    return;
  auto answer = payment::authorisation_answer(st.data);
  auto parked = std::move(st.parked);
  st.parked.clear();
  for (auto& p : parked)
    deliver(p.rp, answer);
}

void park(self_ptr self, view_promise rp) {
  auto& st = self->state;
  st.parked.push_back(parked_authorisation{std::move(rp), steady_ms() + st.cfg.park_limit.count()});
  self->delayed_send(self, st.cfg.park_limit, atom::expire_v);
}

// Persists `events` and runs `ok` once they (and everything before) are durable; if they are
// lost, `rp` gets the error and so does everything else waiting, as the entity restarts.
template <class Promise, class Ok>
void record(self_ptr self, std::vector<payment_event> events, Promise rp, Ok ok) {
  persist(
    self, std::move(events),
    [self, ok]() mutable {
      answer_parked(self);
      ok();
    },
    [self, rp](const caf::error& err) mutable {
      rp.deliver(err);
      fail_waiting(self, err);
    });
}

// Applies events that are not journaled (an authorisation and its answer): every journaled
// event after them carries the whole payment, and the order keeps the authorisation.
void remember(self_ptr self, std::vector<payment_event> events) {
  for (const auto& e : events)
    payment::apply(self->state.data, e);
  answer_parked(self);
}

// Voids `target` at the provider; `then(error)` (none on success).
template <class Then>
void void_at_provider(self_ptr self, const payment_view& target, Then then) {
  auto& st = self->state;
  self->request(st.cfg.provider, st.cfg.provider_timeout, atom::cancel_v, target)
    .then([then](const provider_outcome&) mutable { then(caf::error{}); },
          [then](caf::error& err) mutable { then(std::move(err)); });
}

// -- commands ----------------------------------------------------------------------------------

void ask_provider(self_ptr self, const payment_request& req, view_promise rp) {
  auto& st = self->state;
  self->request(st.cfg.provider, st.cfg.provider_timeout, atom::authorize_v, req)
    .then(
      [self, req, rp](provider_outcome& out) mutable {
        auto& st = self->state;
        auto d = payment::decide_answer(st.data, out, req.request_id, st.env.now());
        if (!d) {
          rp.deliver(std::move(d.error()));
          done(self);
          return;
        }
        if (out.status == payment_status::pending && out.settle_after_ms > 0 && !st.settle_armed) {
          st.settle_armed = true;
          self->delayed_send(self, std::chrono::milliseconds{out.settle_after_ms}, atom::advance_v);
        }
        remember(self, std::move(*d));
        if (st.data.view.status == payment_status::pending)
          park(self, rp);
        else
          deliver(rp, payment::authorisation_answer(st.data));
        done(self);
      },
      [self, req, rp](caf::error& err) mutable {
        log()->warn("[{}] authorisation of {} failed at the provider: {}", req.request_id,
                    req.payment_id, render(err));
        rp.deliver(std::move(err));
        done(self);
      });
}

void authorize(self_ptr self, const payment_request& req, view_promise rp) {
  auto& st = self->state;
  auto d = payment::decide_authorize(st.data, req, st.cfg.provider_name, st.env.now());
  if (!d) {
    rp.deliver(std::move(d.error()));
    done(self);
    return;
  }
  if (d->empty() && st.data.view.status != payment_status::pending) {
    // Known and settled: the first outcome stands, without asking the provider again.
    record(self, {}, rp, [self, rp]() mutable {
      deliver(rp, payment::authorisation_answer(self->state.data));
      done(self);
    });
    return;
  }
  if (!d->empty())
    log()->debug("[{}] payment {} requests {} {} from {}", req.request_id, req.payment_id,
                 req.amount_minor, req.currency, st.cfg.provider_name);
  // New: asked at once. Still pending: asked again, since the call or its answer may have been
  // lost, and a provider that was unreachable may answer now.
  remember(self, std::move(*d));
  ask_provider(self, req, rp);
}

template <class Atom>
void settle(self_ptr self, Atom op, payment::trigger ev, view_promise rp) {
  auto& st = self->state;
  auto step = payment::check_settle(st.data, ev);
  if (!step) {
    rp.deliver(std::move(step.error()));
    done(self);
    return;
  }
  auto reply_view = [self, rp]() mutable {
    rp.deliver(self->state.data.view);
    done(self);
  };
  if (!step->changes) {
    record(self, {}, rp, reply_view);
    return;
  }
  self->request(st.cfg.provider, st.cfg.provider_timeout, op, st.data.view)
    .then(
      [self, ev, rp, reply_view](const provider_outcome&) mutable {
        auto& st = self->state;
        auto d = payment::decide_settled(st.data, ev, st.env.now());
        if (!d) {
          rp.deliver(std::move(d.error()));
          done(self);
          return;
        }
        record(self, std::move(*d), rp, reply_view);
      },
      [self, rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
        done(self);
      });
}

// A capture of the authorisation its order recorded: taken over first if this entity holds
// nothing of the payment.
void capture_recorded(self_ptr self, const payment_view& authorisation, view_promise rp) {
  auto& st = self->state;
  auto d = payment::decide_adopt(st.data, authorisation, st.env.now());
  if (!d) {
    rp.deliver(std::move(d.error()));
    done(self);
    return;
  }
  remember(self, std::move(*d));
  settle(self, atom::capture_v, payment::trigger::capture, rp);
}

void cancel(self_ptr self, view_promise rp) {
  auto& st = self->state;
  auto d = payment::decide_cancel(st.data, st.cfg.provider_name, st.env.now());
  if (!d) {
    rp.deliver(std::move(d.error()));
    done(self);
    return;
  }
  // The fence first: once `voided` is durable, no late outcome can authorise this payment.
  record(self, std::move(*d), rp, [self, rp]() mutable {
    auto& st = self->state;
    if (st.data.view.status != payment_status::voided) { // declined: nothing was authorised
      rp.deliver(st.data.view);
      done(self);
      return;
    }
    // Repeated on every cancel: an earlier void may not have reached the provider. Also for an
    // id this entity never saw authorised: a restart may have lost an authorisation that
    // reached the provider (a void of an id the provider does not know succeeds).
    void_at_provider(self, st.data.view, [self, rp](caf::error err) mutable {
      if (err)
        rp.deliver(std::move(err));
      else
        rp.deliver(self->state.data.view);
      done(self);
    });
  });
}

void confirm(self_ptr self, const payment_confirmation& c, caf::typed_response_promise<bool> rp) {
  auto& st = self->state;
  if (!st.data.exists) {
    rp.deliver(caf::make_error(mercato_errc::not_found, "no payment " + c.payment_id));
    done(self);
    return;
  }
  if (payment::is_duplicate(st.data, c)) {
    record(self, {}, rp, [self, rp]() mutable {
      rp.deliver(false);
      done(self);
    });
    return;
  }
  auto d = payment::decide_webhook(st.data, c, st.env.now());
  if (!d) {
    rp.deliver(std::move(d.error()));
    done(self);
    return;
  }
  auto apply_event = [self, rp, events = std::move(*d)]() mutable {
    auto changed = !events.empty() && events.front().changed;
    record(self, std::move(events), rp, [self, rp, changed]() mutable {
      rp.deliver(changed);
      done(self);
    });
  };
  // Authorised after we voided (e.g. the checkout timed out): void it at the provider before
  // the event counts as handled, so that a failure here makes the provider deliver it again.
  if (st.data.view.status == payment_status::voided && c.status == payment_status::authorized) {
    auto target = st.data.view;
    if (!c.provider_ref.empty())
      target.provider_ref = c.provider_ref;
    void_at_provider(self, target, [self, rp, c, apply_event](caf::error err) mutable {
      if (err) {
        rp.deliver(std::move(err));
        done(self);
        return;
      }
      log()->info("[{}] late authorisation of voided payment {} voided at the "
                  "provider",
                  c.request_id, c.payment_id);
      apply_event();
    });
    return;
  }
  apply_event();
}

// The provider's own settle time has come (the sandbox's tok_slow): it authorises.
void settle_by_provider(self_ptr self) {
  auto& st = self->state;
  provider_outcome out{payment_status::authorized, "", "", 0};
  auto d = payment::decide_answer(st.data, out, "", st.env.now());
  if (d && !d->empty())
    remember(self, std::move(*d));
  done(self);
}

caf::error mismatch(const std::string& id, const std::string& key) {
  return caf::make_error(mercato_errc::invalid_request,
                         "payment " + id + " sent to the entity of " + key);
}

} // namespace

payment_actor::behavior_type payment_entity(self_ptr self, std::string payment_id,
                                            payment_entity_settings cfg) {
  self->state.cfg = std::move(cfg);
  self->state.data.view.payment_id = payment_id;
  start_entity<payment_snapshot, payment_event>(
    self, "payment", payment_id, self->state.cfg.env,
    [self] { self->state.data.view.payment_id = self->state.log.id; },
    [self](const caf::error& err) { fail_waiting(self, err); });
  // Every command that may reach the provider: checked, then queued behind the one under way.
  auto command = [self](const std::string& id, auto rp, auto run) {
    auto& key = self->state.log.id;
    if (auto err = payment::check_id(key)) {
      rp.deliver(std::move(err));
      return;
    }
    if (id != key) {
      rp.deliver(mismatch(id, key));
      return;
    }
    enqueue(self, std::move(run), [rp](const caf::error& err) mutable { rp.deliver(err); });
  };
  return {
    [self, command](atom::authorize, const payment_request& req) -> caf::result<payment_view> {
      if (auto err = payment::validate(req))
        return err;
      auto rp = self->make_response_promise<payment_view>();
      command(req.payment_id, rp, [self, req, rp] { authorize(self, req, rp); });
      return rp;
    },
    [self, command](atom::capture, const std::string& id) -> caf::result<payment_view> {
      auto rp = self->make_response_promise<payment_view>();
      command(id, rp, [self, rp] { settle(self, atom::capture_v, payment::trigger::capture, rp); });
      return rp;
    },
    [self, command](atom::capture, const payment_view& authorisation) -> caf::result<payment_view> {
      auto rp = self->make_response_promise<payment_view>();
      command(authorisation.payment_id, rp,
              [self, authorisation, rp] { capture_recorded(self, authorisation, rp); });
      return rp;
    },
    [self, command](atom::refund, const std::string& id) -> caf::result<payment_view> {
      auto rp = self->make_response_promise<payment_view>();
      command(id, rp, [self, rp] { settle(self, atom::refund_v, payment::trigger::refund, rp); });
      return rp;
    },
    [self, command](atom::cancel, const std::string& id) -> caf::result<payment_view> {
      auto rp = self->make_response_promise<payment_view>();
      command(id, rp, [self, rp] { cancel(self, rp); });
      return rp;
    },
    [self, command](atom::confirm, const payment_confirmation& c) -> caf::result<bool> {
      if (auto err = payment::validate(c))
        return err;
      auto rp = self->make_response_promise<bool>();
      command(c.payment_id, rp, [self, c, rp] { confirm(self, c, rp); });
      return rp;
    },
    [self](atom::get, const std::string& id) -> caf::result<payment_view> {
      auto& st = self->state;
      if (auto err = payment::check_id(id))
        return err;
      if (id != st.log.id)
        return mismatch(id, st.log.id);
      if (!st.data.exists)
        return caf::make_error(mercato_errc::not_found, "no payment " + id);
      auto rp = self->make_response_promise<payment_view>();
      answer_when_durable(self, rp, [self] { return self->state.data.view; });
      return rp;
    },
    [self](atom::advance) {
      self->state.settle_armed = false;
      enqueue(
        self, [self] { settle_by_provider(self); }, [](const caf::error&) {});
    },
    [self](atom::expire) {
      // Parked past their limit: their callers have given up.
      auto& parked = self->state.parked;
      auto now = steady_ms();
      auto keep = std::stable_partition(parked.begin(), parked.end(),
                                        [now](const auto& p) { return p.deadline_ms > now; });
      for (auto i = keep; i != parked.end(); ++i)
        i->rp.deliver(caf::make_error(caf::sec::request_timeout));
      parked.erase(keep, parked.end());
    },
    [self](atom::fault) -> caf::result<bool> {
      if (!self->state.env.fault_injection)
        return caf::make_error(mercato_errc::not_found, "fault injection is disabled");
      throw std::runtime_error("injected fault");
    },
    [self](atom::inspect) -> std::string {
      const auto& st = self->state;
      const auto& v = st.data.view;
      return inspect_text(st.log, [&](util::json_text& j) {
        j.key("payment_id").value(v.payment_id).key("exists").value(st.data.exists);
        j.key("status").value(to_string(v.status)).key("amount_minor").value(v.amount_minor);
        j.key("currency").value(v.currency).key("provider").value(v.provider);
        j.key("provider_ref").value(v.provider_ref).key("detail").value(v.detail);
        j.key("customer_id").value(st.data.customer_id);
        j.key("seen_events").value(static_cast<uint64_t>(st.data.seen_events.size()));
        j.key("waiting_authorisations").value(static_cast<uint64_t>(st.parked.size()));
        j.key("busy").value(st.busy);
      });
    },
    [self](atom::passivate) {
      auto& st = self->state;
      // Parked callers, queued commands and the provider's settle timer live only here.
      if (st.busy || !st.queued.empty() || !st.parked.empty() || st.settle_armed)
        return false;
      return passivate_if_idle(self);
    },
  };
}

runtime::entity_spawner make_payment_spawner(payment_entity_settings cfg) {
  return [cfg](caf::local_actor* parent, const std::string& key, bool known_new) {
    auto c = cfg;
    c.env.known_new = known_new; // its id was just minted: nothing to recover
    return caf::actor_cast<caf::actor>(parent->spawn(payment_entity, key, std::move(c)));
  };
}

} // namespace mercato
