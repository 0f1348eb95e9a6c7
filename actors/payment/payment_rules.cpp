#include "actors/payment/payment_rules.hpp"

#include "runtime/util/text.hpp"

#include <algorithm>
#include <cctype>

namespace mercato::payment {

namespace {

using ps = payment_status;

caf::expected<step> stay(ps s) {
  return step{s, false};
}

caf::expected<step> go(ps s) {
  return step{s, true};
}

caf::error conflict(ps from, trigger ev) {
  return caf::make_error(mercato_errc::conflict, "cannot " + std::string{to_string(ev)}
                                                   + " a payment that is " + to_string(from));
}

} // namespace

std::string_view to_string(trigger x) noexcept {
  switch (x) {
  case trigger::authorize:
    return "authorize";
  case trigger::provider_authorized:
    return "provider_authorized";
  case trigger::provider_declined:
    return "provider_declined";
  case trigger::capture:
    return "capture";
  case trigger::cancel:
    return "cancel";
  case trigger::refund:
    return "refund";
  case trigger::provider_captured:
    return "provider_captured";
  case trigger::provider_voided:
    return "provider_voided";
  case trigger::provider_refunded:
    return "provider_refunded";
  }
  return "unknown";
}

bool is_failed(payment_status s) noexcept {
  return s == ps::declined || s == ps::voided;
}

caf::expected<step> next_status(std::optional<payment_status> current, trigger ev) {
  if (!current) {
    switch (ev) {
    case trigger::authorize:
      return go(ps::pending);
    case trigger::cancel:
      return go(ps::voided);
    default:
      return caf::make_error(mercato_errc::not_found, "no such payment");
    }
  }
  auto from = *current;
  switch (ev) {
  case trigger::authorize:
    return stay(from);
  case trigger::provider_authorized:
    return from == ps::pending ? go(ps::authorized) : stay(from);
  case trigger::provider_declined:
    return from == ps::pending ? go(ps::declined) : stay(from);
  case trigger::capture:
    if (from == ps::authorized)
      return go(ps::captured);
    if (from == ps::captured)
      return stay(from);
    return conflict(from, ev);
  case trigger::cancel:
    if (from == ps::pending || from == ps::authorized)
      return go(ps::voided);
    if (from == ps::voided || from == ps::declined)
      return stay(from);
    return conflict(from, ev);
  case trigger::refund:
    if (from == ps::captured)
      return go(ps::refunded);
    if (from == ps::refunded)
      return stay(from);
    return conflict(from, ev);
  case trigger::provider_captured:
    return from == ps::authorized ? go(ps::captured) : stay(from);
  case trigger::provider_voided:
    return from == ps::pending || from == ps::authorized ? go(ps::voided) : stay(from);
  case trigger::provider_refunded:
    return from == ps::captured ? go(ps::refunded) : stay(from);
  }
  return conflict(from, ev);
}

trigger trigger_of(payment_status reported) noexcept {
  switch (reported) {
  case payment_status::authorized:
    return trigger::provider_authorized;
  case payment_status::declined:
    return trigger::provider_declined;
  case payment_status::captured:
    return trigger::provider_captured;
  case payment_status::voided:
    return trigger::provider_voided;
  case payment_status::refunded:
    return trigger::provider_refunded;
  case payment_status::pending:
    break;
  }
  return trigger::authorize;
}

// -- the entity's decisions --------------------------------------------------------------------

namespace {

caf::error invalid(std::string what) {
  return caf::make_error(mercato_errc::invalid_request, std::move(what));
}

std::optional<payment_status> current(const state& s) {
  return s.exists ? std::optional{s.view.status} : std::nullopt;
}

// An event that records `v` (the payment after it).
payment_event event_of(std::string type, const state& s, const payment_view& v, int64_t now_ms) {
  payment_event e;
  e.type = std::move(type);
  e.status = to_string(v.status);
  e.amount_minor = v.amount_minor;
  e.currency = v.currency;
  e.provider = v.provider;
  e.provider_ref = v.provider_ref;
  e.detail = v.detail;
  e.customer_id = s.customer_id;
  e.source = "command";
  e.at_ms = now_ms;
  return e;
}

std::vector<payment_event> one(payment_event e) {
  std::vector<payment_event> out;
  out.push_back(std::move(e));
  return out;
}

} // namespace

caf::error check_id(const std::string& id) {
  if (id.empty() || id.size() > 200 || !util::is_storable_text(id))
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
  if (req.token.empty() || req.token.size() > 512 || !util::is_storable_text(req.token))
    return invalid("token must be 1 to 512 bytes of UTF-8 text");
  if (!util::is_storable_text(req.customer_id) || !util::is_storable_text(req.request_id))
    return invalid("customer_id and request_id must be UTF-8 text");
  return caf::none;
}

caf::error validate(const payment_confirmation& c) {
  if (auto err = check_id(c.payment_id))
    return err;
  if (c.event_id.empty() || !util::is_storable_text(c.event_id)
      || !util::is_storable_text(c.provider_ref) || !util::is_storable_text(c.detail)
      || !util::is_storable_text(c.request_id))
    return invalid("event_id, provider_ref and detail must be UTF-8 text, event_id not empty");
  return caf::none;
}

bool reached_provider(const state& s) noexcept {
  return s.exists && s.view.amount_minor > 0;
}

decision decide_authorize(const state& s, const payment_request& req, const std::string& provider,
                          int64_t now_ms) {
  if (auto err = validate(req))
    return err;
  if (s.exists) {
    if (reached_provider(s)
        && (s.view.amount_minor != req.amount_minor || s.view.currency != req.currency))
      return caf::make_error(mercato_errc::idempotency_mismatch,
                             "payment " + req.payment_id
                               + " was authorised with another amount or currency");
    return std::vector<payment_event>{};
  }
  payment_view v;
  v.payment_id = req.payment_id;
  v.status = payment_status::pending;
  v.amount_minor = req.amount_minor;
  v.currency = req.currency;
  v.provider = provider;
  state after;
  after.customer_id = req.customer_id;
  auto e = event_of("requested", after, v, now_ms);
  e.request_id = req.request_id;
  return one(std::move(e));
}

decision decide_answer(const state& s, const provider_outcome& out, const std::string& request_id,
                       int64_t now_ms) {
  auto st = next_status(current(s), trigger_of(out.status));
  if (!st)
    return st.error();
  bool new_ref = !out.provider_ref.empty() && out.provider_ref != s.view.provider_ref;
  if (!st->changes && !new_ref)
    return std::vector<payment_event>{};
  auto v = s.view;
  v.status = st->to;
  if (new_ref)
    v.provider_ref = out.provider_ref;
  if (st->changes && !out.detail.empty())
    v.detail = out.detail;
  auto e = event_of("answered", s, v, now_ms);
  e.source = "provider";
  e.request_id = request_id;
  return one(std::move(e));
}

decision decide_adopt(const state& s, const payment_view& authorisation, int64_t now_ms) {
  if (s.exists)
    return std::vector<payment_event>{};
  if (authorisation.payment_id != s.view.payment_id
      || authorisation.status != payment_status::authorized || authorisation.amount_minor <= 0
      || authorisation.currency.size() != 3)
    return invalid("payment " + s.view.payment_id
                   + " can only take an authorised payment of its own id with an amount");
  state after;
  after.view.payment_id = s.view.payment_id;
  auto e = event_of("answered", after, authorisation, now_ms);
  e.source = "order";
  return one(std::move(e));
}

caf::expected<step> check_settle(const state& s, trigger ev) {
  return next_status(current(s), ev);
}

decision decide_settled(const state& s, trigger ev, int64_t now_ms) {
  auto st = next_status(current(s), ev);
  if (!st)
    return st.error();
  if (!st->changes)
    return std::vector<payment_event>{};
  auto v = s.view;
  v.status = st->to;
  return one(event_of(ev == trigger::capture ? "captured" : "refunded", s, v, now_ms));
}

decision decide_cancel(const state& s, const std::string& provider, int64_t now_ms) {
  auto st = next_status(current(s), trigger::cancel);
  if (!st)
    return st.error();
  if (!st->changes)
    return std::vector<payment_event>{};
  auto v = s.view;
  v.status = payment_status::voided;
  v.detail = s.exists ? "voided" : "voided before authorisation";
  if (!s.exists)
    v.provider = provider;
  return one(event_of("voided", s, v, now_ms));
}

bool is_duplicate(const state& s, const payment_confirmation& c) {
  return s.seen_events.count(c.event_id) > 0;
}

decision decide_webhook(const state& s, const payment_confirmation& c, int64_t now_ms) {
  if (auto err = validate(c))
    return err;
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no payment " + c.payment_id);
  if (reached_provider(s) && c.amount_minor > 0 && c.amount_minor != s.view.amount_minor)
    return caf::make_error(mercato_errc::conflict, "amount_minor " + std::to_string(c.amount_minor)
                                                     + " differs from the payment's "
                                                     + std::to_string(s.view.amount_minor));
  auto st = next_status(s.view.status, trigger_of(c.status));
  if (!st)
    return st.error();
  auto v = s.view;
  if (st->changes) {
    v.status = st->to;
    if (!c.provider_ref.empty())
      v.provider_ref = c.provider_ref;
    if (!c.detail.empty())
      v.detail = c.detail;
  }
  auto e = event_of("webhook", s, v, now_ms);
  e.source = "webhook";
  e.event_id = c.event_id;
  e.changed = st->changes;
  e.request_id = c.request_id;
  return one(std::move(e));
}

caf::expected<payment_view> authorisation_answer(const state& s) {
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no payment " + s.view.payment_id);
  if (is_failed(s.view.status))
    return caf::make_error(mercato_errc::payment_declined, s.view.detail.empty()
                                                             ? "payment " + to_string(s.view.status)
                                                             : s.view.detail);
  return s.view;
}

void apply(state& s, const payment_event& e) {
  s.exists = true;
  payment_status status = payment_status::pending;
  if (from_string(e.status, status))
    s.view.status = status;
  s.view.amount_minor = e.amount_minor;
  s.view.currency = e.currency;
  s.view.provider = e.provider;
  s.view.provider_ref = e.provider_ref;
  s.view.detail = e.detail;
  s.customer_id = e.customer_id;
  if (!e.event_id.empty())
    s.seen_events.insert(e.event_id);
  s.seen_events.insert(e.seen_events.begin(), e.seen_events.end());
}

payment_snapshot snapshot_of(const state& s) {
  return payment_snapshot{s.exists, s.view, s.customer_id,
                          std::vector<std::string>(s.seen_events.begin(), s.seen_events.end())};
}

state from_state_snapshot(const payment_snapshot& snap) {
  state s;
  s.exists = snap.exists;
  s.view = snap.payment;
  s.customer_id = snap.customer_id;
  s.seen_events.insert(snap.seen_events.begin(), snap.seen_events.end());
  return s;
}

} // namespace mercato::payment
