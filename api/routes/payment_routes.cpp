// Payment routes: the provider's webhook. It carries no JWT: the body is authenticated by its
// HMAC-SHA256 signature (X-Signature) under payments.webhook_secret.

#include "actors/protocol/interfaces.hpp"
#include "api/json/codec.hpp"
#include "api/json/fields.hpp"
#include "api/json/problem.hpp"
#include "api/routes/common.hpp"
#include "runtime/logging.hpp"
#include "runtime/shard_region.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/text.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <nlohmann/json.hpp>

namespace mercato::api {

namespace {

constexpr size_t max_id = 200;
constexpr size_t max_detail = 500;

// Reads an optional (or, with `required`, mandatory) string field of at most `max` bytes.
bool string_field(const nlohmann::json& body, const char* name, size_t max, bool required,
                  std::string& out, validation& v) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null()) {
    if (required)
      v.add(name, "is required");
    return !required;
  }
  if (!i->is_string()) {
    v.add(name, "must be a string");
    return false;
  }
  out = i->get<std::string>();
  if ((required && out.empty()) || out.size() > max) {
    v.add(name, (required ? "must be 1 to " : "must be at most ") + std::to_string(max) + " bytes");
    return false;
  }
  if (!util::is_storable_text(out)) {
    v.add(name, detail::unstorable_text);
    return false;
  }
  return true;
}

} // namespace

/// POST /v1/payments/webhook: {event_id, payment_id, status, provider_ref?, amount_minor?,
/// detail?}. Exposed for tests.
validation parse_payment_webhook(std::string_view text, payment_confirmation& out) {
  validation v;
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    v.add("body", "must be a JSON object");
    return v;
  }
  string_field(body, "event_id", max_id, true, out.event_id, v);
  string_field(body, "payment_id", max_id, true, out.payment_id, v);
  string_field(body, "provider_ref", max_id, false, out.provider_ref, v);
  string_field(body, "detail", max_detail, false, out.detail, v);
  std::string status;
  if (string_field(body, "status", 32, true, status, v) && !from_string(status, out.status))
    v.add("status", "must be one of pending, authorized, declined, captured, voided, refunded");
  if (auto i = body.find("amount_minor"); i != body.end() && !i->is_null()) {
    if (!i->is_number_integer() || (i->is_number_unsigned() && i->get<uint64_t>() > INT64_MAX)
        || i->get<int64_t>() < 0)
      v.add("amount_minor", "must be a non-negative integer");
    else
      out.amount_minor = i->get<int64_t>();
  }
  return v;
}

void add_payment_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // POST /v1/payments/webhook (signed by the provider): 200 {accepted, changed}. A duplicate or
  // late event is accepted with changed=false; an unknown payment is 404 (a payment is journaled
  // before the provider hears of it, so an unknown id is not ours).
  r.add(
    http_method::post, "/v1/payments/webhook", [env](const request& req, const responder& reply) {
      const auto& secret = env->handles.cfg.payments.webhook_secret;
      if (!util::verify_hmac_sha256_hex(secret, req.body, req.signature)) {
        reply(problem_response(401, "unauthorized",
                               req.signature.empty() ? "X-Signature is missing"
                                                     : "X-Signature does not match the body"));
        return;
      }
      payment_confirmation c;
      if (auto v = parse_payment_webhook(req.body, c); !v.ok()) {
        reply(v.to_response());
        return;
      }
      c.request_id = std::string{req.request_id};
      env->handles.sys->spawn([region = env->handles.payment_region, c = std::move(c),
                               timeout = env->timeout, reply](caf::event_based_actor* self) {
        runtime::request_entity(self, region, c.payment_id, timeout, atom::confirm_v, c)
          .then(
            [reply, c](bool changed) {
              runtime::logger("api")->info("[{}] payment webhook {} for {} ({}): {}", c.request_id,
                                           c.event_id, c.payment_id, to_string(c.status),
                                           changed ? "changed" : "no change");
              reply(json_response(200, changed ? R"({"accepted":true,"changed":true})"
                                               : R"({"accepted":true,"changed":false})"));
            },
            [reply, rid = c.request_id](const caf::error& err) {
              reply(error_response(err, rid));
            });
      });
    });
}

} // namespace mercato::api
