#include "actors/checkout/checkout_actor.hpp"

#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <memory>
#include <stdexcept>

// The saga: claim the cart -> record `started` while reserving every line and the coupon use
// (in parallel: one group commit) -> authorise the payment -> place the order -> reply -> sell
// the holds, spend the coupon use, capture. What the checkout journals: `started` (durable
// before the provider is asked, so that a restarted saga knows what it may have done),
// `completed` (all settled) or `failed` (after every step taken was compensated). That the order
// was placed is not journaled here: the order's own `placed` proves it, and a resumed saga asks
// the order. Every id a step uses derives from the checkout id and the attempt, so compensation
// needs no record of which steps ran: releasing a hold that was never taken, or voiding a
// payment that was never sent, is harmless, and the void fences out a late authorisation.

namespace mercato {

namespace {

using self_ptr = checkout_actor::stateful_pointer<checkout_state>;

std::shared_ptr<spdlog::logger> log() {
  return runtime::logger("actors");
}

bool is_retryable(const caf::error& err) {
  switch (errc_of(err)) {
  case mercato_errc::storage_unavailable:
  case mercato_errc::entity_unavailable:
  case mercato_errc::stale_writer:
    return true;
  case mercato_errc::none:
    return err.category() == caf::atom("system")
           && (err.code() == static_cast<uint8_t>(caf::sec::request_timeout)
               || err.code() == static_cast<uint8_t>(caf::sec::request_receiver_down));
  default:
    return false;
  }
}

bool is_timeout(const caf::error& err) {
  return err.category() == caf::atom("system")
         && err.code() == static_cast<uint8_t>(caf::sec::request_timeout);
}

std::string attempt_key(const checkout_state& st) {
  return checkout::attempt_id(st.data.checkout_id, st.data.attempt);
}

// The saga's own steps (settling, resuming) act as the system on the customer's behalf.
caller as_system(const checkout_state& st) {
  caller c;
  c.sub = st.data.cmd.who.sub;
  c.admin = true;
  c.request_id = st.data.cmd.who.request_id;
  return c;
}

void set_step(checkout_state& st, const std::string& name, std::string status,
              std::string detail = {}) {
  for (auto& s : st.steps)
    if (s.name == name) {
      s.status = std::move(status);
      s.detail = std::move(detail);
      s.at_ms = st.env.now();
      return;
    }
  st.steps.push_back(checkout_step{name, std::move(status), std::move(detail), st.env.now()});
}

// The record as answered: with its version, and while an attempt runs, its live steps.
checkout_view view_of(const checkout_state& st) {
  auto view = st.data;
  view.version = st.log.durable_seq;
  if (st.data.status == "processing")
    view.steps = st.steps;
  return view;
}

void answer_waiters(self_ptr self) {
  auto waiters = std::move(self->state.waiters);
  self->state.waiters.clear();
  for (auto& rp : waiters)
    rp.deliver(view_of(self->state));
}

void fail_waiters(checkout_state& st, const caf::error& err) {
  auto waiters = std::move(st.waiters);
  st.waiters.clear();
  for (auto& rp : waiters)
    rp.deliver(err);
}

// Counts the answers of steps sent in parallel; runs `done` after the last one. The answer
// handlers own it; `done` must not (a cycle would leak it), so it captures the raw pointer,
// valid while the last handler runs.
struct fan_in {
  size_t pending = 0;
  std::vector<std::string> short_skus; ///< reserve, sell: not enough stock (any more)
  caf::error other;                    ///< the first failure of another kind
  std::vector<std::string> owed;       ///< compensate: steps that did not succeed
  int64_t discount = 0;                ///< the coupon use's, once held
  std::string coupon_refused;          ///< why the coupon cannot be used (final)
  std::function<void()> done;

  void finish() {
    if (--pending == 0)
      done();
  }
};

// -- compensation -------------------------------------------------------------------------------

// One round returning what the attempt may have taken: every hold, the coupon use, the
// authorisation, and the cart's claim. Every step is safe to repeat and to run for something
// never taken. `then(owed, last_error)` names, by the entity each is owed by ("payment:ID",
// "stock:SKU", "coupon:CODE", "cart:ID"), the steps that failed in a way worth retrying (a store
// or the provider out of reach); `not_found` and `conflict` are final.
template <class Then>
void compensate(self_ptr self, Then then) {
  auto& st = self->state;
  set_step(st, "compensate", "pending");
  auto id = attempt_key(st);
  auto fan = std::make_shared<fan_in>();
  fan->pending = st.data.cart.lines.size() + 2 + (st.may_have_authorised ? 1 : 0);
  fan->done = [self, then, f = fan.get()]() mutable {
    set_step(self->state, "compensate", f->owed.empty() ? "done" : "failed");
    then(std::move(f->owed), f->other ? render(f->other) : std::string{});
  };
  auto step = [self, fan](std::string name) {
    return [self, fan, name = std::move(name)](const caf::error& err) {
      auto ec = errc_of(err);
      if (ec == mercato_errc::conflict)
        log()->warn("checkout {}: compensating {}: {}", self->state.log.id, name, render(err));
      if (ec != mercato_errc::not_found && ec != mercato_errc::conflict) {
        log()->warn("checkout {}: compensating {} failed: {}; will retry", self->state.log.id, name,
                    render(err));
        fan->owed.push_back(name);
        if (!fan->other)
          fan->other = err;
      }
      fan->finish();
    };
  };
  auto ok = [fan](auto&&...) { fan->finish(); };
  const auto& rid = st.data.cmd.who.request_id;
  for (const auto& line : st.data.cart.lines)
    runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.step_timeout,
                            atom::release_v, hold_cmd{id, rid, false})
      .then([ok](const stock_view& v) { ok(v); }, step("stock:" + line.sku));
  if (!st.data.cart.coupon_code.empty())
    runtime::request_entity(self, st.cfg.coupon_region, st.data.cart.coupon_code,
                            st.cfg.step_timeout, atom::release_v,
                            coupon_use_cmd{id, st.data.cmd.who.sub, 0, rid})
      .then([ok](bool b) { ok(b); }, step("coupon:" + st.data.cart.coupon_code));
  else
    fan->finish();
  // Voided by id, also when this incarnation never saw it authorised (see payment_actor).
  if (st.may_have_authorised)
    runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.step_timeout, atom::cancel_v,
                            id)
      .then([ok](const payment_view& v) { ok(v); }, step("payment:" + id));
  runtime::request_entity(self, st.cfg.cart_region, st.data.cmd.cart_id, st.cfg.step_timeout,
                          atom::release_v, as_system(st), checkout::use_id(st.data))
    .then([ok](const cart_view& v) { ok(v); }, step("cart:" + st.data.cmd.cart_id));
}

// Sets what a failed saga still owes aside for an operator (dead letters, kind `message`), then
// records that the saga is done with it.
void set_aside(self_ptr self, std::vector<std::string> owed, std::string last_error) {
  auto& st = self->state;
  auto record = [self, owed] {
    auto& st = self->state;
    persist(
      self, std::vector<checkout_event>{checkout::compensated(owed, st.env.now())}, [] {},
      [](const caf::error&) {});
  };
  if (!st.cfg.dead_letters) {
    log()->error("checkout {}: compensation still owes {} step(s) and no dead-letter store is "
                 "set; giving up",
                 st.log.id, owed.size());
    record();
    return;
  }
  auto fan = std::make_shared<fan_in>();
  fan->pending = owed.size();
  fan->done = [self, record, f = fan.get()] {
    if (f->other) { // the store is out of reach: what is owed is retried, then set aside again
      log()->warn("checkout {}: dead-lettering failed: {}", self->state.log.id, render(f->other));
      self->delayed_send(self, self->state.cfg.retry_after, atom::resume_v);
      return;
    }
    record();
  };
  auto id = attempt_key(st);
  for (const auto& target : owed) {
    dead_letter x;
    x.kind = "message";
    x.target = target;
    x.aggregate_type = "checkout";
    x.aggregate_id = st.log.id;
    x.event_id = id + "/" + target;
    util::json_text j;
    j.begin_object().key("compensation_of").value(id).key("checkout_id").value(st.log.id);
    j.key("target").value(target).end_object();
    x.payload = std::move(j).str();
    x.last_error = last_error;
    x.attempts = st.compensation_rounds;
    x.first_failed_at_ms = st.data.updated_at_ms;
    log()->error("checkout {}: compensating {} still fails after {} rounds ({}); dead-lettered",
                 st.log.id, target, st.compensation_rounds, last_error);
    self->request(st.cfg.dead_letters, st.cfg.step_timeout, atom::put_v, std::move(x))
      .then([fan](const std::string&) { fan->finish(); },
            [fan](const caf::error& err) {
              if (!fan->other)
                fan->other = err;
              fan->finish();
            });
  }
}

// After a round that left steps owed: another round after a backoff, or the dead letters once
// the rounds are spent.
void after_round(self_ptr self, std::vector<std::string> owed, std::string last_error) {
  auto& st = self->state;
  if (owed.empty())
    return;
  if (++st.compensation_rounds >= st.cfg.compensation_attempts) {
    set_aside(self, std::move(owed), std::move(last_error));
    return;
  }
  auto delay = st.cfg.compensation_backoff * (1LL << std::min(st.compensation_rounds - 1, 16));
  self->delayed_send(self, std::min<std::chrono::milliseconds>(delay, std::chrono::minutes{1}),
                     atom::resume_v);
}

// A later round for a failed saga that still owes compensation (also after a restart).
void compensate_again(self_ptr self) {
  auto& st = self->state;
  if (st.compensating || st.data.status != "failed" || st.data.finished)
    return;
  st.compensating = true;
  st.steps = st.data.steps;
  compensate(self, [self](std::vector<std::string> owed, std::string last_error) {
    auto& st = self->state;
    st.compensating = false;
    if (owed.empty()) {
      log()->info("checkout {}: compensation completed after {} round(s)", st.log.id,
                  st.compensation_rounds + 1);
      persist(
        self, std::vector<checkout_event>{checkout::compensated({}, st.env.now())}, [] {},
        [](const caf::error&) {});
      return;
    }
    after_round(self, std::move(owed), std::move(last_error));
  });
}

void begin_attempt(self_ptr self, const checkout_cmd& cmd, bool renews = false);

void fail_deferred_retry(checkout_state& st, const caf::error& err) {
  st.retry_after_failure.reset();
  auto waiters = std::move(st.retry_waiters);
  st.retry_waiters.clear();
  for (auto& rp : waiters)
    rp.deliver(err);
}

// A retry held back while the failure it follows was being made durable: a new attempt now, as
// if it had come a moment later.
void start_deferred_retry(self_ptr self) {
  auto& st = self->state;
  if (!st.retry_after_failure)
    return;
  auto cmd = std::move(*st.retry_after_failure);
  st.retry_after_failure.reset();
  auto waiters = std::move(st.retry_waiters);
  st.retry_waiters.clear();
  if (!st.data.retryable) {
    for (auto& rp : waiters)
      rp.deliver(view_of(st));
    return;
  }
  if (!st.data.finished) {
    for (auto& rp : waiters)
      rp.deliver(caf::make_error(mercato_errc::entity_unavailable,
                                 "the previous attempt is still being compensated; retry"));
    return;
  }
  for (auto& rp : waiters)
    st.waiters.push_back(std::move(rp));
  begin_attempt(self, cmd);
}

// Compensates, records the failure (with what is still owed), and answers everyone waiting.
void fail(self_ptr self, std::string code, std::string detail, std::vector<std::string> skus = {},
          bool retryable = false) {
  self->state.payment_token.clear();
  compensate(self,
             [self, code = std::move(code), detail = std::move(detail), skus = std::move(skus),
              retryable](std::vector<std::string> owed, std::string last_error) mutable {
               auto& st = self->state;
               log()->info("checkout {} failed: {} ({})", st.log.id, code, detail);
               st.compensation_rounds = 0;
               auto ev = checkout::failed(std::move(code), std::move(detail), std::move(skus),
                                          retryable, st.steps, owed, st.env.now());
               persist(
                 self, std::vector<checkout_event>{std::move(ev)},
                 [self, owed = std::move(owed), last_error = std::move(last_error)]() mutable {
                   self->state.running = false;
                   answer_waiters(self);
                   after_round(self, std::move(owed), std::move(last_error));
                   start_deferred_retry(self);
                 },
                 [self](const caf::error& err) {
                   fail_waiters(self->state, err);
                   fail_deferred_retry(self->state, err);
                 });
             });
}

void fail_unavailable(self_ptr self, const std::string& step, const caf::error& err) {
  fail(self, "unavailable", step + " could not complete (" + render(err) + "); retry", {}, true);
}

// -- settling -----------------------------------------------------------------------------------

void retry_settling(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  st.settling = false;
  log()->warn("checkout {}: settling failed ({}); retrying", st.log.id, render(err));
  self->delayed_send(self, st.cfg.retry_after, atom::resume_v);
}

void record_completed(self_ptr self) {
  auto& st = self->state;
  st.settling = false;
  set_step(st, "settle", "done");
  persist(
    self,
    std::vector<checkout_event>{
      checkout::completed(st.data.discount_minor, st.steps, st.env.now())},
    [] {}, [](const caf::error&) {});
}

// The last steps of settling, sent in parallel: once all have answered, settling is retried if
// one of them was unavailable, and recorded as completed otherwise.
std::shared_ptr<fan_in> last_steps(self_ptr self, size_t steps) {
  auto fan = std::make_shared<fan_in>();
  fan->pending = steps;
  fan->done = [self, f = fan.get()] {
    if (f->other)
      retry_settling(self, f->other);
    else
      record_completed(self);
  };
  return fan;
}

// Once every unit is the order's: spend the coupon use and capture (the order was placed
// `confirmed`). A step the order's own cancel overtook (the authorisation voided) answers
// `conflict`; that is final too.
void finish_sale(self_ptr self) {
  auto& st = self->state;
  auto id = attempt_key(st);
  auto fan = last_steps(self, 2);
  auto ok = [fan](auto&&...) { fan->finish(); };
  auto settled = [self, fan](const caf::error& err) {
    if (is_retryable(err)) {
      if (!fan->other)
        fan->other = err;
    } else {
      // Final: a cancel overtook the step (expected), or the provider refused it (look here).
      log()->warn("checkout {}: a settling step ended with {}", self->state.log.id, render(err));
    }
    fan->finish();
  };
  const auto& rid = st.data.cmd.who.request_id;
  if (!st.data.cart.coupon_code.empty())
    runtime::request_entity(self, st.cfg.coupon_region, st.data.cart.coupon_code,
                            st.cfg.step_timeout, atom::commit_v,
                            coupon_use_cmd{id, st.data.cmd.who.sub, 0, rid})
      .then([ok](bool b) { ok(b); }, settled);
  else
    fan->finish();
  // The authorisation as the order recorded it: the payment entity holds it only in memory.
  // (An order placed before orders recorded it has none: the entity has it in its journal.)
  if (!st.authorisation.payment_id.empty())
    runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.step_timeout, atom::capture_v,
                            st.authorisation)
      .then([ok](const payment_view& v) { ok(v); }, settled);
  else
    runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.step_timeout, atom::capture_v,
                            id)
      .then([ok](const payment_view& v) { ok(v); }, settled);
}

// The order was placed but some of its units are gone (a hold expired while the node or the
// database was down and others bought them, or the order was cancelled meanwhile): the coupon
// use goes back and the order is cancelled, which returns its stock and voids its payment.
// Nothing is captured.
void cancel_unfulfillable(self_ptr self, std::vector<std::string> skus) {
  auto& st = self->state;
  std::string list;
  for (const auto& sku : skus)
    list += (list.empty() ? "" : ", ") + sku;
  log()->warn("checkout {}: order {} lost its units of {}; cancelling it", st.log.id,
              st.data.order_id, list);
  set_step(st, "settle", "failed", "units no longer available: " + list);
  auto id = attempt_key(st);
  auto fan = last_steps(self, 2);
  auto ok = [fan](auto&&...) { fan->finish(); };
  auto failed = [fan](const caf::error& err) {
    auto ec = errc_of(err);
    if (ec != mercato_errc::not_found && ec != mercato_errc::conflict && !fan->other)
      fan->other = err;
    fan->finish();
  };
  const auto& rid = st.data.cmd.who.request_id;
  if (!st.data.cart.coupon_code.empty())
    runtime::request_entity(self, st.cfg.coupon_region, st.data.cart.coupon_code,
                            st.cfg.step_timeout, atom::release_v,
                            coupon_use_cmd{id, st.data.cmd.who.sub, 0, rid})
      .then([ok](bool b) { ok(b); }, failed);
  else
    fan->finish();
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::cancel_v,
                          order_status_cmd{as_system(st), "cancelled", "out_of_stock: " + list})
    .then([ok](const order_view& v) { ok(v); }, failed);
}

// After the order is durable: first every hold becomes a sale (also one that expired meanwhile,
// while its units are still there), and only then is the money taken. Unavailability is retried;
// a unit that is gone cancels the order instead of confirming it.
void settle(self_ptr self) {
  auto& st = self->state;
  if (st.settling || st.data.finished || st.data.status != "completed")
    return;
  st.settling = true;
  auto id = attempt_key(st);
  auto fan = std::make_shared<fan_in>();
  fan->pending = st.data.cart.lines.size();
  fan->done = [self, f = fan.get()] {
    if (f->other)
      retry_settling(self, f->other);
    else if (!f->short_skus.empty())
      cancel_unfulfillable(self, std::move(f->short_skus));
    else
      finish_sale(self);
  };
  for (const auto& line : st.data.cart.lines)
    runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.step_timeout,
                            atom::commit_v, hold_cmd{id, st.data.cmd.who.request_id, true})
      .then([fan](const stock_view&) { fan->finish(); },
            [fan, sku = line.sku](const caf::error& err) {
              auto ec = errc_of(err);
              if (ec == mercato_errc::insufficient_stock || ec == mercato_errc::conflict
                  || ec == mercato_errc::not_found)
                fan->short_skus.push_back(sku);
              else if (!fan->other)
                fan->other = err;
              fan->finish();
            });
}

// Settles now, or once after the test-only delay (so that a test can stop the node between the
// answer and the settling, also of a saga resumed after a restart).
void settle_soon(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.settle_delay.count() > 0) {
    if (st.settle_not_before_ms == 0) {
      st.settle_not_before_ms = st.env.now() + st.cfg.settle_delay.count();
      self->delayed_send(self, st.cfg.settle_delay, atom::resume_v);
      return;
    }
    if (st.env.now() < st.settle_not_before_ms)
      return; // another wake-up (a restart sends two): the delayed one settles
  }
  settle(self);
}

// -- the steps ------------------------------------------------------------------------------------

// The order is durable: the answer goes out, and settling follows. Nothing is journaled here.
void order_placed(self_ptr self, const order_placement& placed) {
  auto& st = self->state;
  auto discount = placed.sums.discount_minor;
  st.authorisation = placed.payment;
  set_step(st, "place_order", "done", st.data.order_id);
  set_step(st, "settle", "pending");
  checkout::order_exists(st.data, discount, st.steps, st.env.now());
  st.running = false;
  st.payment_token.clear();
  answer_waiters(self);
  settle_soon(self);
}

// When placing the order failed, whether it nevertheless exists decides between finishing and
// compensating; an order that cannot be asked keeps the saga waiting (and its holds alive).
void after_place_failed(self_ptr self, const caf::error& first) {
  auto& st = self->state;
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::get_v, as_system(st))
    .then([self](const order_view& ov) { order_placed(self, ov.order.placement); },
          [self, first](const caf::error& err) {
            if (errc_of(err) == mercato_errc::not_found) {
              set_step(self->state, "place_order", "failed", render(first));
              fail_unavailable(self, "placing the order", first);
              return;
            }
            auto& st = self->state;
            log()->warn("checkout {}: order {} unknown ({}); retrying", st.log.id, st.data.order_id,
                        render(err));
            fail_waiters(st, caf::make_error(mercato_errc::entity_unavailable,
                                             "the checkout is still being processed; retry"));
            st.running = false;
            self->delayed_send(self, st.cfg.retry_after, atom::resume_v);
          });
}

void place_order(self_ptr self, int64_t discount) {
  auto& st = self->state;
  set_step(st, "place_order", "pending");
  order_placement p;
  p.order_id = st.data.order_id;
  p.customer_id = st.data.cmd.who.sub;
  p.checkout_id = st.data.checkout_id;
  p.cart_id = st.data.cmd.cart_id;
  p.reservation_id = attempt_key(st);
  p.payment_id = attempt_key(st);
  p.coupon_code = st.data.cart.coupon_code;
  p.lines = st.data.cart.lines;
  p.sums = st.data.cart.sums;
  p.sums.discount_minor = discount;
  p.sums.total_minor = p.sums.subtotal_minor - discount + p.sums.shipping_minor;
  p.payment = st.authorisation;
  p.ship_to = st.data.cmd.ship_to;
  p.email = st.data.cmd.email;
  p.request_id = st.data.cmd.who.request_id;
  p.initial_status = "confirmed"; // authorised, and every unit held
  // The attempt's order id is new: its entity starts without a recovery query.
  runtime::request_new_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                              atom::place_v, std::move(p))
    .then([self](const order_view& ov) { order_placed(self, ov.order.placement); },
          [self](const caf::error& err) { after_place_failed(self, err); });
}

void authorize(self_ptr self, int64_t discount) {
  auto& st = self->state;
  set_step(st, "authorize_payment", "pending");
  const auto& sums = st.data.cart.sums;
  payment_request req;
  req.payment_id = attempt_key(st);
  req.customer_id = st.data.cmd.who.sub;
  req.amount_minor = sums.subtotal_minor - discount + sums.shipping_minor;
  req.currency = sums.currency;
  req.token = st.payment_token;
  req.request_id = st.data.cmd.who.request_id;
  auto id = req.payment_id;
  st.may_have_authorised = true;
  runtime::request_new_entity(self, st.cfg.payment_region, id, st.cfg.payment_timeout,
                              atom::authorize_v, std::move(req))
    .then(
      [self, discount](const payment_view& pv) {
        self->state.authorisation = pv;
        set_step(self->state, "authorize_payment", "done", pv.provider_ref);
        place_order(self, discount);
      },
      [self](const caf::error& err) {
        auto& st = self->state;
        if (errc_of(err) == mercato_errc::payment_declined) {
          set_step(st, "authorize_payment", "failed", detail_of(err));
          fail(self, "payment_declined",
               detail_of(err).empty() ? "the payment was declined" : detail_of(err));
        } else if (is_timeout(err)) {
          set_step(st, "authorize_payment", "failed", "timed out");
          fail(self, "payment_declined",
               "the payment provider did not answer in time; nothing was charged");
        } else {
          set_step(st, "authorize_payment", "failed", render(err));
          fail_unavailable(self, "authorising the payment", err);
        }
      });
}

// `started` could not be made durable: the entity restarts, so what the first steps may have
// taken is given back by messages that need no answer (a hold missed here expires).
void give_back_unrecorded(checkout_state& st, const cart_view& cart, uint32_t attempt) {
  auto id = checkout::attempt_id(st.data.checkout_id, attempt);
  const auto& rid = st.data.cmd.who.request_id;
  for (const auto& line : cart.lines)
    caf::anon_send(st.cfg.stock_region, atom::route_v, line.sku,
                   caf::make_message(atom::release_v, hold_cmd{id, rid, false}));
  if (!cart.coupon_code.empty())
    caf::anon_send(
      st.cfg.coupon_region, atom::route_v, cart.coupon_code,
      caf::make_message(atom::release_v, coupon_use_cmd{id, st.data.cmd.who.sub, 0, rid}));
  caf::anon_send(st.cfg.cart_region, atom::route_v, st.data.cmd.cart_id,
                 caf::make_message(atom::release_v, as_system(st), checkout::use_id(st.data)));
}

// The first steps, sent together so that their appends share one group commit: `started`, a
// hold per line, the coupon use, and the cart's claim made durable (the cart answered the claim
// before its append; its `get` answers once durable). The provider is asked only after all of
// them, so that a restarted saga always knows an attempt that may have reached it.
void take_first_steps(self_ptr self, checkout_cmd recorded, uint32_t attempt, const cart_view& cart,
                      bool renews) {
  auto& st = self->state;
  st.may_have_authorised = false; // until authorize() asks the provider
  st.authorisation = {};
  set_step(st, "reserve_stock", "pending");
  if (!cart.coupon_code.empty())
    set_step(st, "reserve_coupon", "pending");
  auto fan = std::make_shared<fan_in>();
  fan->pending = cart.lines.size() + 3; // the holds, the coupon use, the claim, `started`
  fan->done = [self, f = fan.get()] {
    auto& st = self->state;
    if (!f->short_skus.empty()) {
      set_step(st, "reserve_stock", "failed", "insufficient stock");
      fail(self, "insufficient_stock", "not enough units available", f->short_skus);
    } else if (f->other) {
      set_step(st, "reserve_stock", "failed", render(f->other));
      fail_unavailable(self, "starting the checkout", f->other);
    } else if (!f->coupon_refused.empty()) {
      set_step(st, "reserve_stock", "done");
      set_step(st, "reserve_coupon", "failed", f->coupon_refused);
      fail(self, "conflict",
           "coupon " + st.data.cart.coupon_code + " cannot be used: " + f->coupon_refused);
    } else {
      set_step(st, "reserve_stock", "done");
      if (!st.data.cart.coupon_code.empty())
        set_step(st, "reserve_coupon", "done");
      authorize(self, f->discount);
    }
  };
  auto unavailable = [fan](const caf::error& err) {
    if (!fan->other)
      fan->other = err;
    fan->finish();
  };
  persist(
    self,
    std::vector<checkout_event>{
      checkout::started(recorded, attempt, cart, self->state.env.now(), renews)},
    [fan] { fan->finish(); },
    [self, cart, attempt](const caf::error& err) {
      auto& st = self->state;
      st.running = false;
      st.payment_token.clear();
      give_back_unrecorded(st, cart, attempt);
      fail_waiters(st, err);
    });
  // Applying `started` set the attempt, and with it the ids below.
  auto id = attempt_key(st);
  const auto& rid = st.data.cmd.who.request_id;
  for (const auto& line : cart.lines) {
    reserve_cmd cmd{id, line.quantity, st.cfg.hold_ttl_ms, rid};
    runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.step_timeout,
                            atom::reserve_v, cmd)
      .then([fan](const reservation_view&) { fan->finish(); },
            [fan, sku = line.sku](const caf::error& err) {
              auto ec = errc_of(err);
              if (ec == mercato_errc::insufficient_stock || ec == mercato_errc::not_found)
                fan->short_skus.push_back(sku);
              else if (!fan->other)
                fan->other = err;
              fan->finish();
            });
  }
  if (cart.coupon_code.empty()) {
    fan->finish();
  } else {
    coupon_use_cmd use{id, st.data.cmd.who.sub, cart.sums.subtotal_minor, rid};
    runtime::request_entity(self, st.cfg.coupon_region, cart.coupon_code, st.cfg.step_timeout,
                            atom::reserve_v, use)
      .then(
        [fan](int64_t discount) {
          fan->discount = discount;
          fan->finish();
        },
        [fan](const caf::error& err) {
          if (is_retryable(err) && !fan->other)
            fan->other = err;
          else if (!is_retryable(err))
            fan->coupon_refused = detail_of(err).empty() ? render(err) : detail_of(err);
          fan->finish();
        });
  }
  runtime::request_entity(self, st.cfg.cart_region, st.data.cmd.cart_id, st.cfg.step_timeout,
                          atom::get_v, st.data.cmd.who)
    .then(
      [self, fan](const cart_view& durable) {
        // A lost claim restarted the cart, which then answers without it.
        if (durable.checkout_id != checkout::use_id(self->state.data) && !fan->other)
          fan->other = caf::make_error(mercato_errc::storage_unavailable,
                                       "the cart's claim was not made durable");
        fan->finish();
      },
      unavailable);
}

// Claims the cart (as its owner) for this checkout, then takes the first steps. The claim comes
// first: a second checkout of the same cart, under any key, is refused before it can reserve or
// charge anything. The card token stays in memory: `started` never holds it. A renewal (the
// key's next use, `checkout::renews`) claims under the new attempt's id: a cart its last use
// checked out stays refused.
void begin_attempt(self_ptr self, const checkout_cmd& cmd, bool renews) {
  auto& st = self->state;
  st.running = true;
  auto claimant = renews ? checkout::attempt_id(st.log.id, st.data.attempt + 1)
                         : checkout::attempt_id(st.log.id, st.data.first_attempt);
  runtime::request_entity(self, st.cfg.cart_region, cmd.cart_id, st.cfg.step_timeout,
                          atom::commit_v, cmd.who, claimant)
    .then(
      [self, cmd, renews](const cart_view& cart) {
        auto& st = self->state;
        st.renewing.reset(); // `started` now records the new use
        st.steps.clear();
        st.payment_token = cmd.payment_token;
        auto recorded = cmd;
        recorded.payment_token.clear();
        take_first_steps(self, std::move(recorded), st.data.attempt + 1, cart, renews);
      },
      [self](const caf::error& err) {
        // Nothing was taken: the error is answered, not recorded, so the key stays usable.
        auto& st = self->state;
        st.running = false;
        st.renewing.reset();
        if (errc_of(err) == mercato_errc::not_found)
          fail_waiters(st, caf::make_error(mercato_errc::invalid_request, "no such cart"));
        else
          fail_waiters(st, err);
      });
}

// A saga found unfinished after a restart: if its order exists, it finishes; otherwise it
// compensates everything the attempt may have taken and fails (retryable).
void resume(self_ptr self) {
  auto& st = self->state;
  if (st.running || !st.data.exists)
    return;
  if (st.data.status == "completed") {
    st.steps = st.data.steps;
    settle_soon(self);
    return;
  }
  if (st.data.status == "failed") {
    compensate_again(self);
    return;
  }
  if (st.data.status != "processing")
    return;
  st.running = true;
  st.steps = st.data.steps;
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::get_v, as_system(st))
    .then([self](const order_view& ov) { order_placed(self, ov.order.placement); },
          [self](const caf::error& err) {
            if (errc_of(err) == mercato_errc::not_found) {
              fail(self, "unavailable", "the checkout was interrupted; retry", {}, true);
              return;
            }
            self->state.running = false;
            self->delayed_send(self, self->state.cfg.retry_after, atom::resume_v);
          });
}

} // namespace

// An operator's retry of what a failed attempt's compensation set aside: one more round, then
// `compensated` with what is still owed (nothing, once it all went). Only the checkout's last
// attempt, and only once it failed: an old letter must never give back what a later attempt
// took.
caf::result<std::vector<std::string>> retry_compensation(self_ptr self,
                                                         const std::string& attempt) {
  auto& st = self->state;
  if (!st.data.exists)
    return caf::make_error(mercato_errc::not_found, "no checkout " + st.data.checkout_id);
  if (st.data.status != "failed" || attempt_key(st) != attempt)
    return caf::make_error(mercato_errc::conflict,
                           "attempt " + attempt + " is not this checkout's failed attempt");
  if (st.running || st.compensating)
    return caf::make_error(mercato_errc::entity_unavailable,
                           "the checkout is compensating already; retry");
  auto rp = self->make_response_promise<std::vector<std::string>>();
  st.compensating = true;
  st.steps = st.data.steps;
  compensate(self, [self, rp](std::vector<std::string> owed, std::string last_error) mutable {
    auto& st = self->state;
    st.compensating = false;
    log()->info("checkout {}: an operator's compensation round leaves {} step(s) owed{}{}",
                st.log.id, owed.size(), last_error.empty() ? "" : ": ", last_error);
    persist(
      self, std::vector<checkout_event>{checkout::compensated(owed, st.env.now())},
      [rp, owed]() mutable { rp.deliver(owed); },
      [rp](const caf::error& err) mutable { rp.deliver(err); });
  });
  return rp;
}

checkout_actor::behavior_type checkout_entity(self_ptr self, std::string checkout_id,
                                              checkout_settings cfg) {
  self->state.cfg = std::move(cfg);
  auto env = self->state.cfg.env;
  // Before recovery: replaying `started` derives the order id from it.
  self->state.data.checkout_id = checkout_id;
  start_entity<checkout_view, checkout_event>(
    self, "checkout", checkout_id, std::move(env),
    [self] {
      auto& st = self->state;
      if (st.data.exists && !st.data.finished)
        self->send(self, atom::resume_v);
    },
    // The requests waiting for the outcome must hear of a crash too.
    [self](const caf::error& err) {
      fail_waiters(self->state, err);
      fail_deferred_retry(self->state, err);
    });
  return {
    [self](atom::start, const checkout_cmd& cmd) -> caf::result<checkout_view> {
      auto& st = self->state;
      if (!st.running && !st.settling && !st.compensating
          && checkout::renews(st.data, st.cfg.idempotency_retention_ms, st.env.now())) {
        // The key's last use ended longer ago than its retention: this request is a new one.
        auto rp = self->make_response_promise<checkout_view>();
        st.waiters.push_back(rp);
        st.renewing = cmd;
        begin_attempt(self, cmd, true);
        return rp;
      }
      if (st.renewing) { // the same request again answers with the renewal, another is refused
        if (auto err = checkout::check_same_request(*st.renewing, cmd))
          return err;
        auto rp = self->make_response_promise<checkout_view>();
        st.waiters.push_back(rp);
        return rp;
      }
      if (st.data.exists) {
        if (auto err = checkout::check_same_request(st.data, cmd))
          return err;
        if (st.data.status == "completed" || (st.data.status == "failed" && !st.data.retryable))
          return view_of(st);
        // A new attempt takes new ids: the old one's compensation must be done first.
        if (st.data.status == "failed" && !st.data.finished)
          return caf::make_error(mercato_errc::entity_unavailable,
                                 "the previous attempt is still being compensated; retry");
        if (st.data.status == "failed" && st.running) {
          // The failure shows already but is not durable yet: retry once it is.
          auto rp = self->make_response_promise<checkout_view>();
          if (!st.retry_after_failure)
            st.retry_after_failure = cmd;
          st.retry_waiters.push_back(rp);
          return rp;
        }
      }
      auto rp = self->make_response_promise<checkout_view>();
      st.waiters.push_back(rp);
      if (!st.running && (!st.data.exists || st.data.status == "failed"))
        begin_attempt(self, cmd);
      return rp;
    },
    [self](atom::get, const caller& who) -> caf::result<checkout_view> {
      auto& st = self->state;
      if (auto err = checkout::check_access(st.data, who))
        return err;
      return view_of(st);
    },
    [self](atom::resume) { resume(self); },
    [self](atom::retry, const std::string& attempt) -> caf::result<std::vector<std::string>> {
      return retry_compensation(self, attempt);
    },
    [self](atom::inspect) -> std::string {
      const auto& st = self->state;
      const auto& d = st.data;
      return inspect_text(st.log, [&](util::json_text& j) {
        j.key("checkout_id").value(d.checkout_id).key("exists").value(d.exists);
        j.key("status").value(d.status).key("attempt").value(static_cast<uint64_t>(d.attempt));
        j.key("order_id").value(d.order_id).key("finished").value(d.finished);
        j.key("running").value(st.running).key("settling").value(st.settling);
        j.key("compensating").value(st.compensating);
        j.key("compensation_rounds").value(static_cast<int64_t>(st.compensation_rounds));
        j.key("owed").begin_array();
        for (const auto& o : d.owed)
          j.value(o);
        j.end_array();
        j.key("waiting_requests").value(static_cast<uint64_t>(st.waiters.size()));
        j.key("steps").begin_array();
        for (const auto& s : d.status == "processing" ? st.steps : d.steps)
          j.begin_object().key("name").value(s.name).key("status").value(s.status).end_object();
        j.end_array();
      });
    },
    [self](atom::fault) -> caf::result<bool> {
      if (!self->state.env.fault_injection)
        return caf::make_error(mercato_errc::not_found, "fault injection is disabled");
      throw std::runtime_error("injected fault");
    },
    [self](atom::passivate) -> bool {
      auto& st = self->state;
      if (!st.log.idle() || st.running || st.settling || st.compensating || !st.waiters.empty()
          || (st.data.exists && !st.data.finished))
        return false;
      self->quit();
      return true;
    },
  };
}

runtime::entity_spawner make_checkout_spawner(checkout_settings cfg) {
  return [cfg](caf::local_actor* parent, const std::string& key, bool) {
    return caf::actor_cast<caf::actor>(parent->spawn(checkout_entity, key, cfg));
  };
}

} // namespace mercato
