#include "actors/stock/stock_rules.hpp"

#include "actors/protocol/errors.hpp"

namespace mercato::stock {

namespace {

caf::error fail(mercato_errc code, std::string detail) {
  return caf::make_error(code, std::move(detail));
}

// on_hand as it will be once every decided change is durable.
int64_t projected_on_hand(const state& s) {
  return s.on_hand + s.pending_increase;
}

void remember_closed(state& s, const std::string& id, stock_event_type outcome, int64_t qty) {
  if (s.remembers_closed)
    s.closed.add(id, outcome, qty);
}

void close_hold(state& s, const stock_event& e) {
  auto i = s.holds.find(e.reservation_id);
  if (i == s.holds.end()) {
    // A late sale: the hold had expired, and the units were sold again without it.
    if (e.type == stock_event_type::committed) {
      s.on_hand -= e.qty;
      remember_closed(s, e.reservation_id, e.type, e.qty);
    }
    return;
  }
  s.reserved -= i->second.qty;
  if (e.type == stock_event_type::committed)
    s.on_hand -= i->second.qty;
  s.holds.erase(i);
  remember_closed(s, e.reservation_id, e.type, e.qty);
}

stock_event make_event(stock_event_type type, int64_t now_ms) {
  stock_event e;
  e.type = type;
  e.at_ms = now_ms;
  return e;
}

} // namespace

closed_holds::closed_holds(const closed_holds& other) {
  *this = other;
}

closed_holds& closed_holds::operator=(const closed_holds& other) {
  if (this != &other) {
    clear();
    other.for_each([this](const std::string& id, const entry& e) { add(id, e.outcome, e.qty); });
  }
  return *this;
}

const closed_holds::entry* closed_holds::find(const std::string& id) const {
  auto i = by_id_.find(id);
  return i == by_id_.end() ? nullptr : &i->second.e;
}

void closed_holds::add(const std::string& id, stock_event_type outcome, int64_t qty) {
  auto order = next_order_++;
  auto [i, added] = by_id_.try_emplace(id);
  i->second = slot{entry{outcome, qty}, order};
  fifo_.emplace_back(&i->first, order);
  while (fifo_.size() > max_closed_holds) {
    auto [key, oldest] = fifo_.front();
    fifo_.pop_front();
    if (auto j = by_id_.find(*key); j->second.order == oldest)
      by_id_.erase(j); // its newest entry: no later one points at the node
  }
}

void closed_holds::clear() noexcept {
  fifo_.clear();
  by_id_.clear();
}

decision decide_set(const state& s, int64_t on_hand, int64_t now_ms) {
  if (on_hand < 0 || on_hand > max_on_hand)
    return fail(mercato_errc::invalid_request,
                "on_hand must be between 0 and " + std::to_string(max_on_hand));
  if (on_hand < s.reserved)
    return fail(mercato_errc::conflict, "on_hand " + std::to_string(on_hand) + " is below the "
                                          + std::to_string(s.reserved) + " units currently held");
  auto e = make_event(stock_event_type::on_hand_set, now_ms);
  e.delta = on_hand - projected_on_hand(s);
  return std::vector<stock_event>{e};
}

decision decide_adjust(const state& s, int64_t delta, const std::string& reason, int64_t now_ms) {
  if (!s.exists)
    return fail(mercato_errc::not_found, "stock was never set for this SKU");
  if (delta == 0 || delta < -max_on_hand || delta > max_on_hand)
    return fail(mercato_errc::invalid_request,
                "delta must be non-zero and within +/-" + std::to_string(max_on_hand));
  auto target = projected_on_hand(s) + delta; // both terms bounded: cannot overflow
  if (target < 0 || target > max_on_hand)
    return fail(mercato_errc::conflict, "on_hand would become " + std::to_string(target));
  if (delta < 0 && s.on_hand + delta < s.reserved)
    return fail(mercato_errc::conflict,
                "on_hand would fall below the " + std::to_string(s.reserved) + " units held");
  auto e = make_event(stock_event_type::adjusted, now_ms);
  e.delta = delta;
  e.reason = reason;
  return std::vector<stock_event>{e};
}

decision decide_reserve(const state& s, const std::string& reservation_id, int64_t qty,
                        int64_t ttl_ms, int64_t now_ms) {
  if (!s.exists)
    return fail(mercato_errc::not_found, "stock was never set for this SKU");
  if (reservation_id.empty())
    return fail(mercato_errc::invalid_request, "reservation_id must not be empty");
  if (qty <= 0 || qty > max_on_hand)
    return fail(mercato_errc::invalid_request, "quantity must be positive");
  if (ttl_ms <= 0)
    return fail(mercato_errc::invalid_request, "ttl must be positive");
  if (auto i = s.holds.find(reservation_id); i != s.holds.end()) {
    if (i->second.releasing)
      return fail(mercato_errc::conflict, "reservation is being released");
    if (i->second.qty != qty)
      return fail(mercato_errc::conflict,
                  "reservation exists with quantity " + std::to_string(i->second.qty));
    return std::vector<stock_event>{}; // idempotent retry
  }
  if (const auto* c = s.closed.find(reservation_id))
    return fail(mercato_errc::conflict, "reservation was already " + to_string(c->outcome));
  if (qty > s.available())
    return fail(mercato_errc::insufficient_stock, "requested " + std::to_string(qty)
                                                    + ", available "
                                                    + std::to_string(s.available()));
  auto e = make_event(stock_event_type::reserved, now_ms);
  e.reservation_id = reservation_id;
  e.qty = qty;
  e.expires_at_ms = now_ms + ttl_ms;
  return std::vector<stock_event>{e};
}

decision decide_commit(const state& s, const std::string& reservation_id, int64_t now_ms,
                       bool late_sale) {
  auto sale = [&](int64_t qty) {
    auto e = make_event(stock_event_type::committed, now_ms);
    e.reservation_id = reservation_id;
    e.qty = qty;
    return std::vector<stock_event>{e};
  };
  if (auto i = s.holds.find(reservation_id); i != s.holds.end()) {
    if (i->second.releasing)
      return late_sale ? fail(mercato_errc::entity_unavailable,
                              "reservation is being released; retry once it is")
                       : fail(mercato_errc::conflict, "reservation is being released");
    // Past its time but not yet expired: its units are still held, so a late sale is safe.
    if (now_ms >= i->second.expires_at_ms && !late_sale)
      return fail(mercato_errc::conflict, "reservation expired");
    return sale(i->second.qty);
  }
  if (const auto* c = s.closed.find(reservation_id)) {
    if (c->outcome == stock_event_type::committed)
      return std::vector<stock_event>{}; // idempotent retry
    if (late_sale && c->outcome == stock_event_type::expired) {
      if (c->qty > s.available())
        return fail(mercato_errc::insufficient_stock, "reservation expired and only "
                                                        + std::to_string(s.available())
                                                        + " units are available now");
      return sale(c->qty);
    }
    return fail(mercato_errc::conflict, "reservation was " + to_string(c->outcome));
  }
  return fail(mercato_errc::not_found, "no such reservation");
}

decision decide_release(const state& s, const std::string& reservation_id, int64_t now_ms) {
  if (auto i = s.holds.find(reservation_id); i != s.holds.end()) {
    if (i->second.releasing)
      return std::vector<stock_event>{}; // already on its way back
    auto e = make_event(stock_event_type::released, now_ms);
    e.reservation_id = reservation_id;
    e.qty = i->second.qty;
    return std::vector<stock_event>{e};
  }
  if (const auto* c = s.closed.find(reservation_id)) {
    if (c->outcome == stock_event_type::committed)
      return fail(mercato_errc::conflict, "reservation was already committed");
    return std::vector<stock_event>{}; // released or expired: the caller's wish holds
  }
  return fail(mercato_errc::not_found, "no such reservation");
}

std::vector<stock_event> decide_expire(const state& s, const std::string& reservation_id,
                                       int64_t now_ms) {
  auto i = s.holds.find(reservation_id);
  if (i == s.holds.end() || i->second.releasing || now_ms < i->second.expires_at_ms)
    return {};
  auto e = make_event(stock_event_type::expired, now_ms);
  e.reservation_id = reservation_id;
  e.qty = i->second.qty;
  return {e};
}

void apply(state& s, const stock_event& e) {
  switch (e.type) {
  case stock_event_type::on_hand_set:
  case stock_event_type::adjusted:
    s.exists = true;
    s.on_hand += e.delta;
    break;
  case stock_event_type::reserved:
    s.holds[e.reservation_id] = hold{e.qty, e.expires_at_ms, false};
    s.reserved += e.qty;
    break;
  case stock_event_type::committed:
  case stock_event_type::released:
  case stock_event_type::expired:
    close_hold(s, e);
    break;
  }
}

void apply_decided(state& s, const stock_event& e) {
  switch (e.type) {
  case stock_event_type::on_hand_set:
  case stock_event_type::adjusted:
    s.exists = true;
    if (e.delta < 0)
      s.on_hand += e.delta;
    else
      s.pending_increase += e.delta;
    break;
  case stock_event_type::released:
  case stock_event_type::expired:
    if (auto i = s.holds.find(e.reservation_id); i != s.holds.end())
      i->second.releasing = true;
    break;
  case stock_event_type::reserved:
  case stock_event_type::committed:
    apply(s, e);
    break;
  }
}

void apply_durable_to_decided(state& s, const stock_event& e) {
  switch (e.type) {
  case stock_event_type::on_hand_set:
  case stock_event_type::adjusted:
    if (e.delta > 0) {
      s.pending_increase -= e.delta;
      s.on_hand += e.delta;
    }
    break;
  case stock_event_type::released:
  case stock_event_type::expired:
    close_hold(s, e);
    break;
  case stock_event_type::reserved:
  case stock_event_type::committed:
    break;
  }
}

stock_snapshot to_snapshot(const state& s, const closed_holds& closed,
                           const std::vector<const stock_event*>& freeing) {
  stock_snapshot snap;
  snap.exists = s.exists;
  snap.on_hand = s.on_hand;
  snap.holds.reserve(s.holds.size());
  for (const auto& [id, h] : s.holds)
    snap.holds.push_back(stock_hold{id, h.qty, h.expires_at_ms});
  snap.closed.reserve(closed.size() + freeing.size());
  closed.for_each([&](const std::string& id, const closed_holds::entry& e) {
    snap.closed.push_back(stock_closed_hold{id, e.outcome, e.qty});
  });
  for (const auto* e : freeing)
    if (e->type == stock_event_type::released || e->type == stock_event_type::expired)
      snap.closed.push_back(stock_closed_hold{e->reservation_id, e->type, e->qty});
  return snap;
}

void split_recovered(state& durable, state& decided) {
  auto closed = std::move(durable.closed);
  durable.closed.clear(); // a moved-from map is valid but unspecified
  durable.remembers_closed = false;
  decided = durable;
  decided.remembers_closed = true;
  decided.closed = std::move(closed);
}

state from_snapshot(const stock_snapshot& snap) {
  state s;
  s.exists = snap.exists;
  s.on_hand = snap.on_hand;
  for (const auto& h : snap.holds) {
    s.holds[h.reservation_id] = hold{h.qty, h.expires_at_ms, false};
    s.reserved += h.qty;
  }
  for (const auto& c : snap.closed)
    remember_closed(s, c.reservation_id, c.outcome, c.qty);
  return s;
}

stock_view to_view(const std::string& sku, const state& s, uint64_t version) {
  return stock_view{sku, s.on_hand, s.reserved, s.available(), version};
}

} // namespace mercato::stock
