#include "adapters/payments/payments.hpp"

#include "adapters/payments/payment_rules.hpp"
#include "adapters/payments/provider.hpp"
#include "adapters/pg/connection.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace mercato::payments {

namespace {

using std::chrono::steady_clock;

// -- database ---------------------------------------------------------------------------------

constexpr const char* columns
  = "payment_id, status, amount_minor, currency, provider, provider_ref, detail";

payment_view to_view(const pqxx::row& row) {
  payment_view v;
  v.payment_id = row[0].as<std::string>();
  if (!from_string(row[1].as<std::string>(), v.status))
    throw std::runtime_error("unknown payment status in the database: " + row[1].as<std::string>());
  v.amount_minor = row[2].as<int64_t>();
  v.currency = row[3].as<std::string>();
  v.provider = row[4].as<std::string>();
  v.provider_ref = row[5].as<std::string>();
  v.detail = row[6].as<std::string>();
  return v;
}

std::optional<payment_view> load(pqxx::transaction_base& txn, const std::string& id,
                                 bool for_update) {
  auto rows
    = txn.exec_params(std::string{"SELECT "} + columns + " FROM payments WHERE payment_id = $1"
                        + (for_update ? " FOR UPDATE" : ""),
                      id);
  if (rows.empty())
    return std::nullopt;
  return to_view(rows[0]);
}

void insert(pqxx::transaction_base& txn, const payment_view& v, const std::string& customer_id) {
  txn.exec_params("INSERT INTO payments (payment_id, provider, provider_ref, status, amount_minor, "
                  "currency, customer_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                  v.payment_id, v.provider, v.provider_ref, to_string(v.status), v.amount_minor,
                  v.currency, customer_id, v.detail);
}

void update(pqxx::transaction_base& txn, const payment_view& v) {
  txn.exec_params("UPDATE payments SET status = $2, provider_ref = $3, detail = $4, "
                  "updated_at = now() WHERE payment_id = $1",
                  v.payment_id, to_string(v.status), v.provider_ref, v.detail);
}

/// One audit row; with an `event_id` it also claims that webhook event: false if it was taken.
bool audit(pqxx::transaction_base& txn, const std::string& payment_id, const char* source,
           payment_event ev, std::optional<payment_status> from, payment_status to, bool changed,
           const std::string& detail, const std::string& request_id,
           const std::string& event_id = {}) {
  auto res = txn.exec_params(
    "INSERT INTO payment_events (payment_id, event_id, source, event, from_status, to_status, "
    "changed, detail, request_id) VALUES ($1, NULLIF($2, ''), $3, $4, NULLIF($5, ''), $6, $7, $8, "
    "$9) ON CONFLICT DO NOTHING",
    payment_id, event_id, source, std::string{to_string(ev)}, from ? to_string(*from) : "",
    to_string(to), changed, detail, request_id);
  return res.affected_rows() == 1;
}

bool event_seen(pqxx::transaction_base& txn, const std::string& event_id) {
  return !txn.exec_params("SELECT 1 FROM payment_events WHERE event_id = $1", event_id).empty();
}

// -- validation -------------------------------------------------------------------------------

caf::error invalid(std::string what) {
  return caf::make_error(mercato_errc::invalid_request, std::move(what));
}

caf::error check_id(const std::string& id) {
  if (id.empty() || id.size() > 200 || !pg::is_storable_text(id))
    return invalid("payment_id must be 1 to 200 bytes of UTF-8 text");
  return caf::none;
}

caf::error validate(const payment_request& req) {
  if (auto err = check_id(req.payment_id))
    return err;
  if (req.amount_minor <= 0)
    return invalid("amount_minor must be positive");
  if (req.currency.size() != 3
      || !std::all_of(req.currency.begin(), req.currency.end(),
                      [](unsigned char c) { return std::isupper(c) != 0; }))
    return invalid("currency must be three upper-case letters (ISO 4217)");
  if (req.token.empty() || req.token.size() > 512 || !pg::is_storable_text(req.token))
    return invalid("token must be 1 to 512 bytes of UTF-8 text");
  if (!pg::is_storable_text(req.customer_id) || !pg::is_storable_text(req.request_id))
    return invalid("customer_id and request_id must be UTF-8 text");
  return caf::none;
}

payment_event event_of(payment_status reported) {
  switch (reported) {
  case payment_status::authorized:
    return payment_event::provider_authorized;
  case payment_status::declined:
    return payment_event::provider_declined;
  case payment_status::captured:
    return payment_event::provider_captured;
  case payment_status::voided:
    return payment_event::provider_voided;
  case payment_status::refunded:
    return payment_event::provider_refunded;
  case payment_status::pending:
    break;
  }
  // A provider that reports "still pending" moves nothing: like a repeated authorisation.
  return payment_event::authorize;
}

// A tombstone (cancel of an id never authorised) has amount 0, which an authorisation never has:
// only payments that reached the provider are voided there.
bool reached_provider(const payment_view& v) {
  return v.amount_minor > 0;
}

// -- worker: the blocking part, one payment at a time ------------------------------------------

struct worker_state {
  static inline const char* name = "payments.worker";
  std::unique_ptr<pg::session> db;
  std::unique_ptr<provider> psp;

  template <class T, class F>
  caf::expected<T> write(F&& f) {
    // A write whose commit is in doubt is not retried here: the caller repeats the command,
    // which is idempotent.
    return db->run<T>(std::forward<F>(f), pg::retry_policy::before_write_only);
  }

  caf::expected<payment_view> get(const std::string& id) {
    return db->run<payment_view>([&](pqxx::connection& conn) -> caf::expected<payment_view> {
      pqxx::read_transaction txn{conn};
      auto v = load(txn, id, false);
      if (!v)
        return caf::make_error(mercato_errc::not_found, "no payment " + id);
      return *v;
    });
  }

  // Records what the provider answered (or a webhook told) and returns the payment after it.
  caf::expected<payment_view> record(const std::string& id, payment_status reported,
                                     const provider_outcome& out, const char* source,
                                     const std::string& request_id) {
    return write<payment_view>([&](pqxx::connection& conn) -> caf::expected<payment_view> {
      pqxx::work txn{conn};
      auto v = load(txn, id, true);
      if (!v)
        return caf::make_error(mercato_errc::not_found, "no payment " + id);
      auto ev = event_of(reported);
      auto step = next_status(v->status, ev);
      if (!step)
        return step.error();
      auto from = v->status;
      bool new_ref = !out.provider_ref.empty() && out.provider_ref != v->provider_ref;
      if (step->changes || new_ref) {
        v->status = step->to;
        if (new_ref)
          v->provider_ref = out.provider_ref;
        if (step->changes && !out.detail.empty())
          v->detail = out.detail;
        update(txn, *v);
      }
      audit(txn, id, source, ev, from, v->status, step->changes, out.detail, request_id);
      txn.commit();
      return *v;
    });
  }

  caf::expected<payment_view> authorize(const payment_request& req) {
    if (auto err = validate(req))
      return err;
    auto first = write<payment_view>([&](pqxx::connection& conn) -> caf::expected<payment_view> {
      pqxx::work txn{conn};
      if (auto v = load(txn, req.payment_id, true)) {
        if (v->status != payment_status::voided || reached_provider(*v))
          if (v->amount_minor != req.amount_minor || v->currency != req.currency)
            return caf::make_error(mercato_errc::idempotency_mismatch,
                                   "payment " + req.payment_id
                                     + " was authorised with another amount or currency");
        audit(txn, req.payment_id, "command", payment_event::authorize, v->status, v->status, false,
              "", req.request_id);
        txn.commit();
        return *v;
      }
      payment_view v;
      v.payment_id = req.payment_id;
      v.status = payment_status::pending;
      v.amount_minor = req.amount_minor;
      v.currency = req.currency;
      v.provider = psp->name();
      insert(txn, v, req.customer_id);
      audit(txn, req.payment_id, "command", payment_event::authorize, std::nullopt, v.status, true,
            "", req.request_id);
      txn.commit();
      return v;
    });
    // Only a pending payment asks the provider (again): every other status is the first outcome.
    if (!first || first->status != payment_status::pending)
      return first;
    auto out = psp->authorize(req);
    if (!out) {
      runtime::logger("payments")
        ->warn("[{}] authorisation of {} failed at the provider: {}", req.request_id,
               req.payment_id, render(out.error()));
      return out.error();
    }
    if (out->status == payment_status::pending && out->provider_ref == first->provider_ref)
      return first;
    return record(req.payment_id, out->status, *out, "provider", req.request_id);
  }

  caf::expected<payment_view> capture_or_refund(const std::string& id, payment_event ev) {
    if (auto err = check_id(id))
      return err;
    auto before = write<payment_view>([&](pqxx::connection& conn) -> caf::expected<payment_view> {
      pqxx::read_transaction txn{conn};
      auto v = load(txn, id, false);
      auto step = next_status(v ? std::optional{v->status} : std::nullopt, ev);
      if (!step)
        return step.error();
      return *v;
    });
    if (!before)
      return before;
    auto target
      = ev == payment_event::capture ? payment_status::captured : payment_status::refunded;
    if (before->status == target)
      return before;
    // The provider first, then our record: a crash in between leaves the old status, and the
    // repeated command asks the provider again (idempotent there per payment id).
    auto out = ev == payment_event::capture ? psp->capture(*before) : psp->refund(*before);
    if (!out)
      return out.error();
    return write<payment_view>([&](pqxx::connection& conn) -> caf::expected<payment_view> {
      pqxx::work txn{conn};
      auto v = load(txn, id, true);
      if (!v)
        return caf::make_error(mercato_errc::not_found, "no payment " + id);
      auto step = next_status(v->status, ev);
      if (!step)
        return step.error();
      auto from = v->status;
      if (step->changes) {
        v->status = step->to;
        update(txn, *v);
      }
      audit(txn, id, "command", ev, from, v->status, step->changes, "", "");
      txn.commit();
      return *v;
    });
  }

  caf::expected<payment_view> cancel(const std::string& id) {
    if (auto err = check_id(id))
      return err;
    // The fence first: once voided here, no late outcome can authorise this payment.
    auto after = write<payment_view>([&](pqxx::connection& conn) -> caf::expected<payment_view> {
      pqxx::work txn{conn};
      auto v = load(txn, id, true);
      auto step = next_status(v ? std::optional{v->status} : std::nullopt, payment_event::cancel);
      if (!step)
        return step.error();
      if (!v) {
        payment_view t;
        t.payment_id = id;
        t.status = payment_status::voided;
        t.provider = psp->name();
        t.detail = "voided before authorisation";
        insert(txn, t, "");
        audit(txn, id, "command", payment_event::cancel, std::nullopt, t.status, true, t.detail,
              "");
        txn.commit();
        return t;
      }
      auto from = v->status;
      if (step->changes) {
        v->status = step->to;
        v->detail = "voided";
        update(txn, *v);
      }
      audit(txn, id, "command", payment_event::cancel, from, v->status, step->changes, "", "");
      txn.commit();
      return *v;
    });
    if (!after || after->status != payment_status::voided || !reached_provider(*after))
      return after;
    // Repeated on every cancel: an earlier void may not have reached the provider.
    if (auto out = psp->void_payment(*after); !out)
      return out.error();
    return after;
  }

  // A webhook: (changed, payment after it).
  caf::expected<std::pair<bool, payment_view>> confirm(const payment_confirmation& c) {
    if (auto err = check_id(c.payment_id))
      return err;
    if (c.event_id.empty() || !pg::is_storable_text(c.event_id)
        || !pg::is_storable_text(c.provider_ref) || !pg::is_storable_text(c.detail))
      return invalid("event_id, provider_ref and detail must be UTF-8 text, event_id not empty");
    auto seen = db->run<std::pair<bool, payment_view>>(
      [&](pqxx::connection& conn) -> caf::expected<std::pair<bool, payment_view>> {
        pqxx::read_transaction txn{conn};
        auto v = load(txn, c.payment_id, false);
        if (!v)
          return caf::make_error(mercato_errc::not_found, "no payment " + c.payment_id);
        return std::pair{event_seen(txn, c.event_id), *v};
      });
    if (!seen)
      return seen.error();
    auto& [duplicate, before] = *seen;
    if (duplicate)
      return std::pair{false, before};
    if (reached_provider(before) && c.amount_minor > 0 && c.amount_minor != before.amount_minor)
      return caf::make_error(mercato_errc::conflict, "amount_minor "
                                                       + std::to_string(c.amount_minor)
                                                       + " differs from the payment's "
                                                       + std::to_string(before.amount_minor));
    // Authorised after we voided (e.g. the checkout timed out): void it at the provider before
    // the event counts as handled, so that a failure here makes the provider deliver it again.
    if (before.status == payment_status::voided && c.status == payment_status::authorized
        && reached_provider(before)) {
      auto target = before;
      if (!c.provider_ref.empty())
        target.provider_ref = c.provider_ref;
      if (auto out = psp->void_payment(target); !out)
        return out.error();
      runtime::logger("payments")
        ->info("[{}] late authorisation of voided payment {} voided at the provider", c.request_id,
               c.payment_id);
    }
    auto applied = write<std::pair<bool, payment_view>>(
      [&](pqxx::connection& conn) -> caf::expected<std::pair<bool, payment_view>> {
        pqxx::work txn{conn};
        auto v = load(txn, c.payment_id, true);
        if (!v)
          return caf::make_error(mercato_errc::not_found, "no payment " + c.payment_id);
        if (event_seen(txn, c.event_id))
          return std::pair{false, *v};
        auto ev = event_of(c.status);
        auto step = next_status(v->status, ev);
        if (!step)
          return step.error();
        auto from = v->status;
        if (step->changes) {
          v->status = step->to;
          if (!c.provider_ref.empty())
            v->provider_ref = c.provider_ref;
          if (!c.detail.empty())
            v->detail = c.detail;
          update(txn, *v);
        }
        if (!audit(txn, c.payment_id, "webhook", ev, from, v->status, step->changes, c.detail,
                   c.request_id, c.event_id)) {
          // The same event id raced in for another payment: that delivery counts.
          txn.abort();
          auto again = load(txn, c.payment_id, false);
          return std::pair{false, again ? *again : *v};
        }
        txn.commit();
        return std::pair{step->changes, *v};
      });
    return applied;
  }

  // The sandbox's delay for tok_slow has passed: the "provider" authorises.
  caf::expected<payment_view> settle_sandbox(const std::string& id) {
    provider_outcome out{payment_status::authorized, "", ""};
    return record(id, payment_status::authorized, out, "provider", "");
  }
};

caf::behavior worker(caf::stateful_actor<worker_state>* self, std::string url,
                     std::shared_ptr<std::function<std::unique_ptr<provider>()>> make_provider,
                     int index) {
  self->state.db
    = std::make_unique<pg::session>(std::move(url), "payments-" + std::to_string(index));
  self->state.psp = (*make_provider)();
  return {
    [self](atom::authorize, const payment_request& req) -> caf::result<payment_view> {
      return self->state.authorize(req);
    },
    [self](atom::capture, const std::string& id) -> caf::result<payment_view> {
      return self->state.capture_or_refund(id, payment_event::capture);
    },
    [self](atom::refund, const std::string& id) -> caf::result<payment_view> {
      return self->state.capture_or_refund(id, payment_event::refund);
    },
    [self](atom::cancel, const std::string& id) -> caf::result<payment_view> {
      return self->state.cancel(id);
    },
    [self](atom::get, const std::string& id) -> caf::result<payment_view> {
      if (auto err = check_id(id))
        return err;
      return self->state.get(id);
    },
    [self](atom::confirm, const payment_confirmation& c) -> caf::result<bool, payment_view> {
      auto r = self->state.confirm(c);
      if (!r)
        return r.error();
      return {r->first, std::move(r->second)};
    },
    [self](atom::advance, const std::string& id) -> caf::result<payment_view> {
      return self->state.settle_sandbox(id);
    },
  };
}

// -- front: routes by payment id, parks pending authorisations ---------------------------------

struct parked {
  caf::typed_response_promise<payment_view> rp;
  steady_clock::time_point deadline;
};

struct front_state {
  static inline const char* name = "payments";
  std::vector<caf::actor> workers;
  std::map<std::string, std::vector<parked>> waiting;
  std::set<std::string> settling; // tok_slow payments with a settle timer running
  bool sandbox = false;
  std::chrono::milliseconds slow{0};
  std::chrono::milliseconds park_limit{0};
  std::chrono::milliseconds worker_timeout{0};

  const caf::actor& worker_for(const std::string& id) const {
    return workers[std::hash<std::string>{}(id) % workers.size()];
  }
};

// The answer an authorisation gets once its payment left `pending`.
void answer(caf::typed_response_promise<payment_view>& rp, const payment_view& v) {
  if (is_failed(v.status))
    rp.deliver(caf::make_error(mercato_errc::payment_declined,
                               v.detail.empty() ? "payment " + to_string(v.status) : v.detail));
  else
    rp.deliver(v);
}

caf::behavior front(caf::stateful_actor<front_state>* self, std::vector<caf::actor> workers,
                    bool sandbox, std::chrono::milliseconds slow,
                    std::chrono::milliseconds park_limit,
                    std::chrono::milliseconds worker_timeout) {
  auto& st = self->state;
  st.workers = std::move(workers);
  st.sandbox = sandbox;
  st.slow = slow;
  st.park_limit = park_limit;
  st.worker_timeout = worker_timeout;
  for (auto& w : st.workers)
    self->link_to(w);
  // Answers every parked authorisation of `v` once its outcome is known.
  auto settle = [self](const payment_view& v) {
    if (v.status == payment_status::pending)
      return;
    auto i = self->state.waiting.find(v.payment_id);
    if (i == self->state.waiting.end())
      return;
    auto parked_now = std::move(i->second);
    self->state.waiting.erase(i);
    for (auto& p : parked_now)
      answer(p.rp, v);
  };
  // Forwards a command whose reply is the payment view.
  auto forward = [self, settle](auto op, const std::string& id) {
    auto rp = self->make_response_promise<payment_view>();
    self->request(self->state.worker_for(id), self->state.worker_timeout, op, id)
      .then(
        [rp, settle](payment_view& v) mutable {
          settle(v);
          rp.deliver(v);
        },
        [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    return rp;
  };
  return {
    [self, settle](atom::authorize, const payment_request& req) -> caf::result<payment_view> {
      auto rp = self->make_response_promise<payment_view>();
      if (auto err = check_id(req.payment_id)) {
        rp.deliver(std::move(err));
        return rp;
      }
      self
        ->request(self->state.worker_for(req.payment_id), self->state.worker_timeout,
                  atom::authorize_v, req)
        .then(
          [self, rp, settle, req](payment_view& v) mutable {
            auto& st = self->state;
            if (v.status != payment_status::pending) {
              settle(v);
              answer(rp, v);
              return;
            }
            st.waiting[v.payment_id].push_back({rp, steady_clock::now() + st.park_limit});
            self->delayed_send(self, st.park_limit, atom::expire_v, v.payment_id);
            if (st.sandbox && req.token == sandbox_slow_token
                && st.settling.insert(v.payment_id).second)
              self->delayed_send(self, st.slow, atom::advance_v, v.payment_id);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [forward](atom::capture, const std::string& id) -> caf::result<payment_view> {
      return forward(atom::capture_v, id);
    },
    [forward](atom::cancel, const std::string& id) -> caf::result<payment_view> {
      return forward(atom::cancel_v, id);
    },
    [forward](atom::refund, const std::string& id) -> caf::result<payment_view> {
      return forward(atom::refund_v, id);
    },
    [forward](atom::get, const std::string& id) -> caf::result<payment_view> {
      return forward(atom::get_v, id);
    },
    [self, settle](atom::confirm, const payment_confirmation& c) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      self
        ->request(self->state.worker_for(c.payment_id), self->state.worker_timeout, atom::confirm_v,
                  c)
        .then(
          [rp, settle](bool changed, payment_view& v) mutable {
            settle(v);
            rp.deliver(changed);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    // Internal: the sandbox's delay for a tok_slow payment has passed.
    [self, settle](atom::advance, const std::string& id) {
      self->state.settling.erase(id);
      self->request(self->state.worker_for(id), self->state.worker_timeout, atom::advance_v, id)
        .then(
          [settle](payment_view& v) { settle(v); },
          [self, id](caf::error& err) {
            runtime::logger("payments")->warn("sandbox settle of {} failed: {}", id, render(err));
            // Parked callers would otherwise wait for nothing.
            if (errc_of(err) == mercato_errc::storage_unavailable
                && self->state.waiting.count(id) > 0 && self->state.settling.insert(id).second)
              self->delayed_send(self, self->state.slow + std::chrono::milliseconds{100},
                                 atom::advance_v, id);
          });
    },
    // Internal: parked authorisations of `id` past their limit; their callers have given up.
    [self](atom::expire, const std::string& id) {
      auto i = self->state.waiting.find(id);
      if (i == self->state.waiting.end())
        return;
      auto now = steady_clock::now();
      auto& list = i->second;
      auto keep = std::stable_partition(list.begin(), list.end(),
                                        [now](const parked& p) { return p.deadline > now; });
      for (auto j = keep; j != list.end(); ++j)
        j->rp.deliver(caf::make_error(caf::sec::request_timeout));
      list.erase(keep, list.end());
      if (list.empty())
        self->state.waiting.erase(i);
    },
  };
}

std::function<std::unique_ptr<provider>()> provider_factory(const config::payment_settings& cfg) {
  if (cfg.provider == "http")
    return [cfg] { return make_http_provider(cfg); };
  return [] { return std::make_unique<sandbox_provider>(); };
}

} // namespace

payment_actor spawn_payments(caf::actor_system& sys, const std::string& db_url,
                             const config::settings& cfg, payment_options opts) {
  auto make
    = std::make_shared<std::function<std::unique_ptr<provider>()>>(provider_factory(cfg.payments));
  std::vector<caf::actor> workers;
  for (int i = 0; i < std::max(opts.workers, 1); ++i)
    workers.push_back(sys.spawn<caf::detached>(worker, db_url, make, i));
  auto park = opts.park_limit.count() > 0
                ? opts.park_limit
                : std::chrono::milliseconds{std::max<int64_t>(cfg.checkout.payment_timeout_ms, 1)};
  auto h
    = sys.spawn(front, std::move(workers), cfg.payments.provider != "http",
                std::chrono::milliseconds{cfg.payments.sandbox_slow_ms}, park, opts.worker_timeout);
  return caf::actor_cast<payment_actor>(h);
}

} // namespace mercato::payments
