#include "actors/checkout/checkout_rules.hpp"

#include "actors/protocol/errors.hpp"

namespace mercato::checkout {

std::string order_id_of(const std::string& checkout_id) {
  if (checkout_id.rfind("co_", 0) == 0)
    return "ord_" + checkout_id.substr(3);
  return "ord_" + checkout_id;
}

std::string attempt_id(const std::string& checkout_id, uint32_t attempt) {
  return attempt <= 1 ? checkout_id : checkout_id + "-" + std::to_string(attempt);
}

std::string use_id(const state& s) {
  return attempt_id(s.checkout_id, s.first_attempt);
}

bool renews(const state& s, int64_t retention_ms, int64_t now_ms) {
  return s.exists && retention_ms > 0 && s.finished
         && (s.status == "completed" || s.status == "failed")
         && now_ms - s.created_at_ms >= retention_ms;
}

caf::error check_access(const state& s, const caller& who) {
  if (!s.exists || (!who.admin && who.sub != s.cmd.who.sub))
    return caf::make_error(mercato_errc::not_found, "no such checkout");
  return {};
}

caf::error check_same_request(const checkout_cmd& first, const checkout_cmd& cmd) {
  if (first.who.sub != cmd.who.sub || first.body_digest != cmd.body_digest)
    return caf::make_error(mercato_errc::idempotency_mismatch,
                           "this Idempotency-Key was used with another request body");
  return {};
}

caf::error check_same_request(const state& s, const checkout_cmd& cmd) {
  return check_same_request(s.cmd, cmd);
}

checkout_event started(const checkout_cmd& cmd, uint32_t attempt, const cart_view& cart,
                       int64_t now_ms, bool renews) {
  checkout_event e;
  e.type = "started";
  e.cmd = cmd;
  e.attempt = attempt;
  e.renews = renews;
  e.cart = cart;
  e.at_ms = now_ms;
  return e;
}

void order_exists(state& s, int64_t discount_minor, std::vector<checkout_step> steps,
                  int64_t now_ms) {
  s.status = "completed";
  s.discount_minor = discount_minor;
  s.steps = std::move(steps);
  s.updated_at_ms = now_ms;
}

checkout_event completed(int64_t discount_minor, std::vector<checkout_step> steps, int64_t now_ms) {
  checkout_event e;
  e.type = "completed";
  e.discount_minor = discount_minor;
  e.steps = std::move(steps);
  e.at_ms = now_ms;
  return e;
}

checkout_event failed(std::string code, std::string detail, std::vector<std::string> skus,
                      bool retryable, std::vector<checkout_step> steps,
                      std::vector<std::string> owed, int64_t now_ms) {
  checkout_event e;
  e.type = "failed";
  e.code = std::move(code);
  e.detail = std::move(detail);
  e.skus = std::move(skus);
  e.retryable = retryable;
  e.steps = std::move(steps);
  e.owed = std::move(owed);
  e.at_ms = now_ms;
  return e;
}

checkout_event compensated(std::vector<std::string> dead_lettered, int64_t now_ms) {
  checkout_event e;
  e.type = "compensated";
  e.owed = std::move(dead_lettered);
  e.at_ms = now_ms;
  return e;
}

void apply(state& s, const checkout_event& e) {
  s.updated_at_ms = e.at_ms;
  if (e.type == "started") {
    if (!s.exists || e.renews)
      s.created_at_ms = e.at_ms;
    if (e.renews)
      s.first_attempt = e.attempt;
    s.exists = true;
    s.cmd = e.cmd;
    s.attempt = e.attempt;
    s.cart = e.cart;
    s.order_id = order_id_of(use_id(s));
    s.status = "processing";
    s.steps.clear();
    s.code.clear();
    s.detail.clear();
    s.skus.clear();
    s.retryable = false;
    s.owed.clear();
    s.finished = false;
    s.discount_minor = 0;
  } else if (e.type == "order_placed") { // journaled before the order's existence was derived
    order_exists(s, e.discount_minor, e.steps, e.at_ms);
  } else if (e.type == "completed") {
    s.status = "completed";
    if (e.discount_minor != 0)
      s.discount_minor = e.discount_minor;
    s.finished = true;
    s.steps = e.steps;
  } else if (e.type == "failed") {
    s.status = "failed";
    s.code = e.code;
    s.detail = e.detail;
    s.skus = e.skus;
    s.retryable = e.retryable;
    s.steps = e.steps;
    s.owed = e.owed;
    s.finished = e.owed.empty();
  } else if (e.type == "compensated") {
    // What is still listed was dead-lettered: an operator owns it now.
    s.owed = e.owed;
    s.finished = true;
  }
}

} // namespace mercato::checkout
