#include "actors/coupon/coupon_rules.hpp"

#include "actors/protocol/errors.hpp"

namespace mercato::coupon {

namespace {

constexpr int64_t max_value = 1'000'000'000'000;

caf::error conflict(std::string why) {
  return caf::make_error(mercato_errc::conflict, std::move(why));
}

coupon_event make_event(std::string type, const coupon_use_cmd& cmd, int64_t now_ms) {
  coupon_event e;
  e.type = std::move(type);
  e.use_id = cmd.use_id;
  e.customer_id = cmd.customer_id;
  e.at_ms = now_ms;
  return e;
}

} // namespace

std::string validate(const coupon_terms& t) {
  if (t.kind != "percent" && t.kind != "fixed")
    return "kind must be percent or fixed";
  if (t.kind == "percent" && (t.value < 1 || t.value > 100))
    return "a percent coupon's value must be between 1 and 100";
  if (t.kind == "fixed" && (t.value < 1 || t.value > max_value))
    return "a fixed coupon's value must be a positive amount in minor units";
  if (t.min_subtotal_minor < 0 || t.min_subtotal_minor > max_value)
    return "min_subtotal_minor must be between 0 and 10^12";
  if (t.usage_limit < 0 || t.per_customer_limit < 0)
    return "limits must not be negative";
  if (t.starts_at_ms != 0 && t.ends_at_ms != 0 && t.ends_at_ms <= t.starts_at_ms)
    return "ends_at must be after starts_at";
  return {};
}

int64_t discount_of(const coupon_terms& t, int64_t subtotal_minor) {
  if (subtotal_minor <= 0)
    return 0;
  // Percent of a subtotal bounded by 10^12 cannot overflow (10^14).
  auto d = t.kind == "percent" ? subtotal_minor * t.value / 100 : t.value;
  return std::min(d, subtotal_minor);
}

caf::expected<int64_t> check(const state& s, const std::string& customer_id, int64_t subtotal_minor,
                             int64_t now_ms) {
  if (!s.exists)
    return caf::make_error(mercato_errc::not_found, "no such coupon");
  const auto& t = s.terms;
  if (t.starts_at_ms != 0 && now_ms < t.starts_at_ms)
    return conflict("the coupon is not valid yet");
  if (t.ends_at_ms != 0 && now_ms >= t.ends_at_ms)
    return conflict("the coupon has expired");
  if (subtotal_minor < t.min_subtotal_minor)
    return conflict("the subtotal is below the coupon's minimum of "
                    + std::to_string(t.min_subtotal_minor));
  if (t.usage_limit > 0 && s.held + s.committed >= t.usage_limit)
    return conflict("the coupon is exhausted");
  if (t.per_customer_limit > 0) {
    auto i = s.per_customer.find(customer_id);
    if (i != s.per_customer.end() && i->second >= t.per_customer_limit)
      return conflict("the coupon was already used the allowed number of times");
  }
  return discount_of(t, subtotal_minor);
}

decision decide_define(const state&, const coupon_terms& t, int64_t now_ms) {
  if (auto why = validate(t); !why.empty())
    return caf::make_error(mercato_errc::invalid_request, std::move(why));
  coupon_event e;
  e.type = "defined";
  e.terms = t;
  e.at_ms = now_ms;
  return std::vector<coupon_event>{std::move(e)};
}

decision decide_reserve(const state& s, const coupon_use_cmd& cmd, int64_t now_ms) {
  if (cmd.use_id.empty())
    return caf::make_error(mercato_errc::invalid_request, "use id required");
  if (auto i = s.uses.find(cmd.use_id); i != s.uses.end()) {
    if (i->second.customer_id != cmd.customer_id)
      return conflict("the use id belongs to another customer");
    return std::vector<coupon_event>{};
  }
  if (auto d = check(s, cmd.customer_id, cmd.subtotal_minor, now_ms); !d)
    return std::move(d.error());
  return std::vector<coupon_event>{make_event("use_reserved", cmd, now_ms)};
}

decision decide_commit(const state& s, const coupon_use_cmd& cmd, int64_t now_ms) {
  auto i = s.uses.find(cmd.use_id);
  if (i == s.uses.end())
    return caf::make_error(mercato_errc::not_found, "no such coupon use");
  if (i->second.committed)
    return std::vector<coupon_event>{};
  return std::vector<coupon_event>{make_event("use_committed", cmd, now_ms)};
}

decision decide_release(const state& s, const coupon_use_cmd& cmd, int64_t now_ms) {
  auto i = s.uses.find(cmd.use_id);
  if (i == s.uses.end())
    return std::vector<coupon_event>{};
  if (i->second.committed)
    return conflict("the coupon use was already spent");
  return std::vector<coupon_event>{make_event("use_released", cmd, now_ms)};
}

void apply(state& s, const coupon_event& e) {
  if (e.type == "defined") {
    s.exists = true;
    s.terms = e.terms;
  } else if (e.type == "use_reserved") {
    s.uses[e.use_id] = coupon_use{e.use_id, e.customer_id, false};
    ++s.held;
    ++s.per_customer[e.customer_id];
  } else if (e.type == "use_committed") {
    auto i = s.uses.find(e.use_id);
    if (i != s.uses.end() && !i->second.committed) {
      i->second.committed = true;
      --s.held;
      ++s.committed;
    }
  } else if (e.type == "use_released") {
    auto i = s.uses.find(e.use_id);
    if (i != s.uses.end() && !i->second.committed) {
      if (--s.per_customer[i->second.customer_id] <= 0)
        s.per_customer.erase(i->second.customer_id);
      --s.held;
      s.uses.erase(i);
    }
  }
}

coupon_snapshot to_snapshot(const state& s) {
  coupon_snapshot snap;
  snap.exists = s.exists;
  snap.terms = s.terms;
  snap.uses.reserve(s.uses.size());
  for (const auto& [id, u] : s.uses)
    snap.uses.push_back(u);
  return snap;
}

state from_state_snapshot(const coupon_snapshot& snap) {
  state s;
  s.exists = snap.exists;
  s.terms = snap.terms;
  for (const auto& u : snap.uses) {
    s.uses.emplace(u.use_id, u);
    ++(u.committed ? s.committed : s.held);
    ++s.per_customer[u.customer_id];
  }
  return s;
}

coupon_view to_view(const state& s, uint64_t version) {
  return coupon_view{s.terms, s.committed, s.held, version};
}

} // namespace mercato::coupon
