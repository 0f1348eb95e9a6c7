#include "api/json/problem.hpp"

#include "actors/protocol/errors.hpp"
#include "api/json/writer.hpp"
#include "runtime/logging.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

namespace mercato::api {

namespace {

error_mapping unavailable(std::string detail) {
  return {503, "unavailable", std::move(detail), 1, false};
}

} // namespace

error_mapping map_error(const caf::error& err) {
  if (!err)
    return {500, "internal", "the request failed without an error code", 0, true};
  if (auto ec = errc_of(err); ec != mercato_errc::none) {
    auto detail = mercato::detail_of(err);
    switch (ec) {
    case mercato_errc::invalid_request:
      return {400, "invalid_request", detail.empty() ? "invalid request" : detail, 0, false};
    case mercato_errc::not_found:
      return {404, "not_found", detail.empty() ? "not found" : detail, 0, false};
    case mercato_errc::conflict:
      return {409, "conflict",
              detail.empty() ? "the request conflicts with the current state" : detail, 0, false};
    case mercato_errc::insufficient_stock:
      return {409, "insufficient_stock", detail.empty() ? "not enough units available" : detail, 0,
              false};
    case mercato_errc::payment_declined:
      return {402, "payment_declined", detail.empty() ? "the payment was declined" : detail, 0,
              false};
    case mercato_errc::cart_expired:
      return {410, "cart_expired", detail.empty() ? "the cart expired" : detail, 0, false};
    case mercato_errc::idempotency_mismatch:
      return {409, "idempotency_mismatch",
              detail.empty() ? "the Idempotency-Key was used with another request" : detail, 0,
              false};
    case mercato_errc::storage_unavailable:
      return unavailable("storage is unavailable, retry later");
    case mercato_errc::entity_unavailable:
      // The entity layer says why (restarting, over its budget, its node went down, no owner
      // yet): nothing private, and it tells a client and an operator what to expect.
      return unavailable(detail.empty() ? "the entity is restarting, retry later" : detail);
    case mercato_errc::stale_writer:
      return unavailable("the entity is recovering after a concurrent write, retry later");
    case mercato_errc::moved:
      return unavailable(detail.empty() ? "the entity is moving between nodes, retry later"
                                        : detail);
    case mercato_errc::none:
    case mercato_errc::fault_injected:
      break;
    }
  } else if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
    case caf::sec::request_timeout:
      return unavailable("the request timed out; its outcome is unknown, retry it");
    case caf::sec::request_receiver_down:
      return unavailable("the entity went down while handling the request, retry it");
    default:
      break;
    }
  }
  return {500, "internal", "internal error", 0, true};
}

response error_response(const caf::error& err, std::string_view request_id) {
  auto m = map_error(err);
  if (m.is_internal)
    runtime::logger("api")->error("request {} fails with unexpected error {}", request_id,
                                  mercato::render(err));
  auto res = problem_response(m.status, std::string{m.code}, std::move(m.detail));
  res.retry_after_s = m.retry_after_s;
  return res;
}

std::string_view problem_title(std::string_view code) noexcept {
  struct entry {
    std::string_view code;
    std::string_view title;
  };
  static constexpr entry titles[] = {
    {"invalid_request", "Invalid request"},
    {"unauthorized", "Unauthorized"},
    {"forbidden", "Forbidden"},
    {"not_found", "Not found"},
    {"conflict", "Conflict"},
    {"insufficient_stock", "Insufficient stock"},
    {"payment_declined", "Payment declined"},
    {"cart_expired", "Cart expired"},
    {"idempotency_mismatch", "Idempotency key reused with another request"},
    {"rate_limited", "Too many requests"},
    {"payload_too_large", "Payload too large"},
    {"unavailable", "Service unavailable"},
    {"internal", "Internal error"},
  };
  for (auto& e : titles)
    if (e.code == code)
      return e.title;
  return "Error";
}

std::string render_problem(const problem& p, uint16_t status, std::string_view request_id) {
  std::string out;
  out.reserve(192 + p.detail.size() + request_id.size());
  json::object_writer w{out};
  std::string type = "https://mercato.dev/problems/";
  type += p.code;
  w.field("type", type)
    .field("title", problem_title(p.code))
    .field("status", static_cast<int64_t>(status))
    .field("detail", p.detail)
    .field("code", p.code)
    .field("request_id", request_id);
  if (!p.errors.empty()) {
    w.raw_key("errors");
    out.push_back('[');
    for (size_t i = 0; i < p.errors.size(); ++i) {
      if (i > 0)
        out.push_back(',');
      json::object_writer e{out};
      e.field("field", p.errors[i].field).field("message", p.errors[i].message).close();
    }
    out.push_back(']');
  }
  if (!p.skus.empty()) {
    w.raw_key("skus");
    out.push_back('[');
    for (size_t i = 0; i < p.skus.size(); ++i) {
      if (i > 0)
        out.push_back(',');
      json::append_string(out, p.skus[i]);
    }
    out.push_back(']');
  }
  w.close();
  return out;
}

} // namespace mercato::api
