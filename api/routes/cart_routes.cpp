// Cart routes (customers, and admins for any cart). Every command names the caller; the cart
// answers 404 to anyone but its owner.

#include "actors/protocol/interfaces.hpp"
#include "api/http/request_id.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/routes/ask.hpp"

namespace mercato::api {

namespace {

response cart_ok(const cart_view& v) {
  return json_response(200, to_json(v));
}

response cart_created(const cart_view& v) {
  auto res = json_response(201, to_json(v));
  res.location = "/v1/carts/" + v.cart_id;
  return res;
}

// Token, then path; on success `who` and `cart_id` are set.
bool cart_request(const route_env& env, const request& req, const responder& reply, caller& who,
                  std::string& cart_id) {
  principal p;
  if (!authorize(env, req, reply, allow_customer | allow_admin, &p)
      || !id_param(req, reply, "id", cart_id))
    return false;
  who = caller_of(p, req);
  return true;
}

} // namespace

bool id_param(const request& req, const responder& reply, const char* name, std::string& out) {
  auto value = req.params.get(name);
  if (!is_valid_entity_id(value)) {
    validation v;
    v.add(name, "must be 1 to 64 characters of [A-Za-z0-9._-]");
    reply(v.to_response());
    return false;
  }
  out.assign(value);
  return true;
}

void add_cart_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // POST /v1/carts {currency?} -> 201 cart
  r.add(http_method::post, "/v1/carts", [env](const request& req, const responder& reply) {
    principal p;
    if (!authorize(*env, req, reply, allow_customer | allow_admin, &p))
      return;
    std::string currency;
    if (auto v = parse_cart_create(req.body, currency); !v.ok())
      return reply(v.to_response());
    auto id = "cart_" + new_request_id();
    ask_entity<cart_view>(*env, env->handles.cart_region, id, req, reply, cart_created,
                          atom::create_v, caller_of(p, req), currency);
  });

  // GET /v1/carts/{id}
  r.add(http_method::get, "/v1/carts/{id}", [env](const request& req, const responder& reply) {
    caller who;
    std::string id;
    if (!cart_request(*env, req, reply, who, id))
      return;
    ask_entity<cart_view>(*env, env->handles.cart_region, id, req, reply, cart_ok, atom::get_v,
                          who);
  });

  // PUT /v1/carts/{id}/lines/{sku} {quantity} (0 removes)
  r.add(http_method::put, "/v1/carts/{id}/lines/{sku}",
        [env](const request& req, const responder& reply) {
          cart_line_cmd cmd;
          std::string id;
          if (!cart_request(*env, req, reply, cmd.who, id) || !sku_param(req, reply, cmd.sku))
            return;
          if (auto v = parse_cart_line(req.body, cmd.quantity); !v.ok())
            return reply(v.to_response());
          ask_entity<cart_view>(*env, env->handles.cart_region, id, req, reply, cart_ok,
                                atom::put_v, cmd);
        });

  // DELETE /v1/carts/{id}/lines/{sku}
  r.add(http_method::delete_, "/v1/carts/{id}/lines/{sku}",
        [env](const request& req, const responder& reply) {
          cart_line_cmd cmd;
          std::string id;
          if (!cart_request(*env, req, reply, cmd.who, id) || !sku_param(req, reply, cmd.sku))
            return;
          ask_entity<cart_view>(*env, env->handles.cart_region, id, req, reply, cart_ok,
                                atom::remove_v, cmd);
        });

  // PUT /v1/carts/{id}/coupon {code}
  r.add(http_method::put, "/v1/carts/{id}/coupon",
        [env](const request& req, const responder& reply) {
          caller who;
          std::string id, code;
          if (!cart_request(*env, req, reply, who, id))
            return;
          if (auto v = parse_coupon_code(req.body, code); !v.ok())
            return reply(v.to_response());
          ask_entity<cart_view>(*env, env->handles.cart_region, id, req, reply, cart_ok,
                                atom::check_v, who, code);
        });
}

} // namespace mercato::api
