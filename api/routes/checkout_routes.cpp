// Checkout routes. A checkout is keyed by the customer and their Idempotency-Key, so the same
// request sent again (or concurrently) reaches the same saga and gets the first result.

#include "actors/protocol/interfaces.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/routes/ask.hpp"
#include "runtime/util/crypto.hpp"

namespace mercato::api {

namespace {

response checkout_answer(const checkout_view& v) {
  if (v.status == "failed")
    return checkout_failure(v);
  auto res = json_response(201, to_json(v));
  res.location = "/v1/checkouts/" + v.checkout_id;
  return res;
}

} // namespace

void add_checkout_routes(router& r, const std::shared_ptr<const route_env>& env) {
  const auto& cfg = env->handles.cfg.checkout;
  // The saga may wait for every step in turn; the connection must outwait it.
  auto deadline = std::chrono::milliseconds{cfg.payment_timeout_ms + 4 * cfg.step_timeout_ms};

  // POST /v1/checkouts (Idempotency-Key required)
  r.add(
    http_method::post, "/v1/checkouts",
    [env](const request& req, const responder& reply) {
      principal p;
      if (!authorize(*env, req, reply, allow_customer | allow_admin, &p))
        return;
      if (!is_valid_idempotency_key(req.idempotency_key)) {
        validation v;
        v.add("Idempotency-Key", req.idempotency_key.empty()
                                   ? "header is required"
                                   : "must be 1 to 255 printable ASCII characters");
        return reply(v.to_response());
      }
      checkout_cmd cmd;
      if (auto v = parse_checkout(req.body, cmd); !v.ok())
        return reply(v.to_response());
      cmd.who = caller_of(p, req);
      cmd.idempotency_key = std::string{req.idempotency_key};
      auto id = "co_" + util::sha256_hex(p.sub + "\n" + cmd.idempotency_key).substr(0, 32);
      ask_entity<checkout_view>(*env, env->handles.checkout_region, std::move(id), req, reply,
                                checkout_answer, atom::start_v, std::move(cmd));
    },
    deadline);

  // GET /v1/checkouts/{id}
  r.add(http_method::get, "/v1/checkouts/{id}", [env](const request& req, const responder& reply) {
    principal p;
    std::string id;
    if (!authorize(*env, req, reply, allow_customer | allow_admin, &p)
        || !id_param(req, reply, "id", id))
      return;
    ask_entity<checkout_view>(
      *env, env->handles.checkout_region, std::move(id), req, reply,
      [](const checkout_view& v) { return json_response(200, to_json(v)); }, atom::get_v,
      caller_of(p, req));
  });

  // POST /v1/admin/actors/checkout/{id}/fault (admin; test-only): crashes the saga mid-way.
  if (env->handles.cfg.testing.fault_injection) {
    r.add(http_method::post, "/v1/admin/actors/checkout/{id}/fault",
          [env](const request& req, const responder& reply) {
            std::string id;
            if (!authorize(*env, req, reply, allow_admin) || !id_param(req, reply, "id", id))
              return;
            auto injected
              = [](const auto&) { return json_response(202, R"({"status":"fault injected"})"); };
            env->handles.sys->spawn([region = env->handles.checkout_region, id, reply,
                                     injected](caf::event_based_actor* self) {
              runtime::request_entity(self, region, id, caf::infinite, atom::fault_v)
                .then([reply, injected](bool b) { reply(injected(b)); },
                      [reply, injected](const caf::error& e) { reply(injected(e)); });
            });
          });
  }
}

} // namespace mercato::api
