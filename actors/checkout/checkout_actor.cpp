#include "actors/checkout/checkout_actor.hpp"

#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <memory>
#include <stdexcept>

// The saga: reserve every line (in parallel) -> reserve a coupon use -> authorise the payment ->
// place the order -> reply -> commit the holds and the coupon use, capture, confirm the order,
// close the cart. What is journaled: `started` (before any step, so that a restarted saga knows
// what it may have done), `order_placed` (the answer), `completed` (all settled) or `failed`
// (after every step taken was compensated). Every id a step uses derives from the checkout id
// and the attempt, so compensation needs no record of which steps ran: releasing a hold that was
// never taken, or voiding a payment that was never sent, is harmless, and the void fences out a
// late authorisation.

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
  std::vector<std::string> short_skus; ///< reserve: not enough stock
  caf::error other;                    ///< the first failure of another kind
  std::function<void()> done;

  void finish() {
    if (--pending == 0)
      done();
  }
};

// -- compensation -------------------------------------------------------------------------------

// Returns what the attempt may have taken: every hold, the coupon use, the authorisation. Each
// answer that is not a success is logged: holds still expire by their TTL, and the void is
// retried by the payment's own idempotency on the next resume.
template <class Then>
void compensate(self_ptr self, Then then) {
  auto& st = self->state;
  set_step(st, "compensate", "pending");
  auto id = attempt_key(st);
  auto fan = std::make_shared<fan_in>();
  fan->pending = st.data.cart.lines.size() + 2;
  fan->done = [self, then]() mutable {
    set_step(self->state, "compensate", "done");
    then();
  };
  auto warn = [self](const char* what) {
    return [self, what](const caf::error& err) {
      if (errc_of(err) != mercato_errc::not_found)
        log()->warn("checkout {}: compensating {} failed: {}", self->state.log.id, what,
                    render(err));
    };
  };
  for (const auto& line : st.data.cart.lines)
    runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.step_timeout,
                            atom::release_v, hold_cmd{id, st.data.cmd.who.request_id})
      .then([fan](const stock_view&) { fan->finish(); },
            [fan, warn](const caf::error& err) {
              warn("a hold")(err);
              fan->finish();
            });
  if (!st.data.cart.coupon_code.empty()) {
    coupon_use_cmd use{id, st.data.cmd.who.sub, 0, st.data.cmd.who.request_id};
    runtime::request_entity(self, st.cfg.coupon_region, st.data.cart.coupon_code,
                            st.cfg.step_timeout, atom::release_v, use)
      .then([fan](bool) { fan->finish(); },
            [fan, warn](const caf::error& err) {
              warn("the coupon use")(err);
              fan->finish();
            });
  } else {
    fan->finish();
  }
  runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.step_timeout, atom::cancel_v, id)
    .then([fan](const payment_view&) { fan->finish(); },
          [fan, warn](const caf::error& err) {
            warn("the payment")(err);
            fan->finish();
          });
}

// Compensates, records the failure, and answers everyone waiting.
void fail(self_ptr self, std::string code, std::string detail, std::vector<std::string> skus = {},
          bool retryable = false) {
  compensate(self, [self, code = std::move(code), detail = std::move(detail),
                    skus = std::move(skus), retryable]() mutable {
    auto& st = self->state;
    log()->info("checkout {} failed: {} ({})", st.log.id, code, detail);
    auto ev = checkout::failed(std::move(code), std::move(detail), std::move(skus), retryable,
                               st.steps, st.env.now());
    persist(
      self, std::vector<checkout_event>{std::move(ev)},
      [self] {
        self->state.running = false;
        answer_waiters(self);
      },
      [self](const caf::error& err) { fail_waiters(self->state, err); });
  });
}

void fail_unavailable(self_ptr self, const std::string& step, const caf::error& err) {
  fail(self, "unavailable", step + " could not complete (" + render(err) + "); retry", {}, true);
}

// -- settling -----------------------------------------------------------------------------------

// After the order is durable: sell the holds, spend the coupon use, capture the payment, confirm
// the order and close the cart. A step the order's own cancel overtook (the hold released, the
// authorisation voided) answers `conflict`; that is final too. Only unavailability is retried.
void settle(self_ptr self) {
  auto& st = self->state;
  if (st.settling || st.data.finished || st.data.status != "completed")
    return;
  st.settling = true;
  auto id = attempt_key(st);
  auto fan = std::make_shared<fan_in>();
  fan->pending = st.data.cart.lines.size() + 4;
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
  fan->done = [self, f = fan.get()] {
    auto& st = self->state;
    st.settling = false;
    if (f->other) {
      log()->warn("checkout {}: settling failed ({}); retrying", st.log.id, render(f->other));
      self->delayed_send(self, st.cfg.retry_after, atom::resume_v);
      return;
    }
    set_step(st, "settle", "done");
    persist(
      self, std::vector<checkout_event>{checkout::completed(st.steps, st.env.now())}, [] {},
      [](const caf::error&) {});
  };
  const auto& rid = st.data.cmd.who.request_id;
  for (const auto& line : st.data.cart.lines)
    runtime::request_entity(self, st.cfg.stock_region, line.sku, st.cfg.step_timeout,
                            atom::commit_v, hold_cmd{id, rid})
      .then([ok](const stock_view& v) { ok(v); }, settled);
  if (!st.data.cart.coupon_code.empty())
    runtime::request_entity(self, st.cfg.coupon_region, st.data.cart.coupon_code,
                            st.cfg.step_timeout, atom::commit_v,
                            coupon_use_cmd{id, st.data.cmd.who.sub, 0, rid})
      .then([ok](bool b) { ok(b); }, settled);
  else
    fan->finish();
  runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.step_timeout, atom::capture_v, id)
    .then([ok](const payment_view& v) { ok(v); }, settled);
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::advance_v, order_status_cmd{as_system(st), "confirmed", "checkout"})
    .then([ok](const order_view& v) { ok(v); }, settled);
  runtime::request_entity(self, st.cfg.cart_region, st.data.cmd.cart_id, st.cfg.step_timeout,
                          atom::commit_v, as_system(st), st.data.checkout_id)
    .then([ok](const cart_view& v) { ok(v); }, settled);
}

// -- the steps ------------------------------------------------------------------------------------

void record_placed(self_ptr self, int64_t discount) {
  auto& st = self->state;
  set_step(st, "place_order", "done", st.data.order_id);
  set_step(st, "settle", "pending");
  persist(
    self, std::vector<checkout_event>{checkout::order_placed(discount, st.steps, st.env.now())},
    [self] {
      self->state.running = false;
      answer_waiters(self);
      settle(self);
    },
    [self](const caf::error& err) {
      // The order exists but this record was lost: the restarted saga finds the order.
      fail_waiters(self->state, err);
    });
}

// When placing the order failed, whether it nevertheless exists decides between finishing and
// compensating; an order that cannot be asked keeps the saga waiting (and its holds alive).
void after_place_failed(self_ptr self, int64_t discount, const caf::error& first) {
  auto& st = self->state;
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::get_v, as_system(st))
    .then([self, discount](const order_view&) { record_placed(self, discount); },
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
  p.ship_to = st.data.cmd.ship_to;
  p.email = st.data.cmd.email;
  p.request_id = st.data.cmd.who.request_id;
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::place_v, std::move(p))
    .then([self, discount](const order_view&) { record_placed(self, discount); },
          [self, discount](const caf::error& err) { after_place_failed(self, discount, err); });
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
  req.token = st.data.cmd.payment_token;
  req.request_id = st.data.cmd.who.request_id;
  auto id = req.payment_id;
  runtime::request_entity(self, st.cfg.payment_region, id, st.cfg.payment_timeout,
                          atom::authorize_v, std::move(req))
    .then(
      [self, discount](const payment_view& pv) {
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

void reserve_coupon(self_ptr self) {
  auto& st = self->state;
  const auto& code = st.data.cart.coupon_code;
  if (code.empty()) {
    authorize(self, 0);
    return;
  }
  set_step(st, "reserve_coupon", "pending");
  coupon_use_cmd use{attempt_key(st), st.data.cmd.who.sub, st.data.cart.sums.subtotal_minor,
                     st.data.cmd.who.request_id};
  runtime::request_entity(self, st.cfg.coupon_region, code, st.cfg.step_timeout, atom::reserve_v,
                          use)
    .then(
      [self](int64_t discount) {
        set_step(self->state, "reserve_coupon", "done");
        authorize(self, discount);
      },
      [self](const caf::error& err) {
        set_step(self->state, "reserve_coupon", "failed", detail_of(err));
        if (is_retryable(err))
          fail_unavailable(self, "reserving the coupon", err);
        else
          fail(self, "conflict",
               "coupon " + self->state.data.cart.coupon_code
                 + " cannot be used: " + detail_of(err));
      });
}

void reserve_lines(self_ptr self) {
  auto& st = self->state;
  set_step(st, "reserve_stock", "pending");
  auto fan = std::make_shared<fan_in>();
  fan->pending = st.data.cart.lines.size();
  fan->done = [self, f = fan.get()] {
    auto& st = self->state;
    if (!f->short_skus.empty()) {
      set_step(st, "reserve_stock", "failed", "insufficient stock");
      fail(self, "insufficient_stock", "not enough units available", f->short_skus);
    } else if (f->other) {
      set_step(st, "reserve_stock", "failed", render(f->other));
      fail_unavailable(self, "reserving stock", f->other);
    } else {
      set_step(st, "reserve_stock", "done");
      reserve_coupon(self);
    }
  };
  auto id = attempt_key(st);
  for (const auto& line : st.data.cart.lines) {
    reserve_cmd cmd{id, line.quantity, st.cfg.hold_ttl_ms, st.data.cmd.who.request_id};
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
}

// Reads the cart (as its owner), records the start, and runs the steps.
void begin_attempt(self_ptr self, const checkout_cmd& cmd) {
  auto& st = self->state;
  st.running = true;
  runtime::request_entity(self, st.cfg.cart_region, cmd.cart_id, st.cfg.step_timeout, atom::get_v,
                          cmd.who)
    .then(
      [self, cmd](const cart_view& cart) {
        auto& st = self->state;
        caf::error refused;
        if (cart.lines.empty())
          refused = caf::make_error(mercato_errc::conflict, "the cart is empty");
        else if (!cart.checkout_id.empty() && cart.checkout_id != st.log.id)
          refused = caf::make_error(mercato_errc::conflict, "the cart was already checked out");
        if (refused) {
          st.running = false;
          fail_waiters(st, refused);
          return;
        }
        st.steps.clear();
        auto attempt = st.data.attempt + 1;
        persist(
          self, std::vector<checkout_event>{checkout::started(cmd, attempt, cart, st.env.now())},
          [self] { reserve_lines(self); },
          [self](const caf::error& err) {
            self->state.running = false;
            fail_waiters(self->state, err);
          });
      },
      [self](const caf::error& err) {
        // Nothing was taken: the error is answered, not recorded, so the key stays usable.
        auto& st = self->state;
        st.running = false;
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
    settle(self);
    return;
  }
  if (st.data.status != "processing")
    return;
  st.running = true;
  st.steps = st.data.steps;
  runtime::request_entity(self, st.cfg.order_region, st.data.order_id, st.cfg.step_timeout,
                          atom::get_v, as_system(st))
    .then(
      [self](const order_view& ov) { record_placed(self, ov.order.placement.sums.discount_minor); },
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
    [self](const caf::error& err) { fail_waiters(self->state, err); });
  return {
    [self](atom::start, const checkout_cmd& cmd) -> caf::result<checkout_view> {
      auto& st = self->state;
      if (st.data.exists) {
        if (auto err = checkout::check_same_request(st.data, cmd))
          return err;
        if (st.data.status == "completed" || (st.data.status == "failed" && !st.data.retryable))
          return view_of(st);
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
    [self](atom::inspect) -> std::string {
      const auto& st = self->state;
      const auto& d = st.data;
      return inspect_text(st.log, [&](runtime::json_text& j) {
        j.key("checkout_id").value(d.checkout_id).key("exists").value(d.exists);
        j.key("status").value(d.status).key("attempt").value(static_cast<uint64_t>(d.attempt));
        j.key("order_id").value(d.order_id).key("finished").value(d.finished);
        j.key("running").value(st.running).key("settling").value(st.settling);
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
      if (!st.log.idle() || st.running || st.settling || !st.waiters.empty()
          || (st.data.exists && !st.data.finished))
        return false;
      self->quit();
      return true;
    },
  };
}

runtime::entity_spawner make_checkout_spawner(checkout_settings cfg) {
  return [cfg](caf::local_actor* parent, const std::string& key) {
    return caf::actor_cast<caf::actor>(parent->spawn(checkout_entity, key, cfg));
  };
}

} // namespace mercato
