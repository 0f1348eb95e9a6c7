#include "api/routes/common.hpp"

#include "api/json/codec.hpp"

namespace mercato::api {

response unauthorized_response(jwt_error err) {
  auto res = problem_response(401, "unauthorized", std::string{to_string(err)});
  if (err == jwt_error::missing) {
    res.extra_headers = "WWW-Authenticate: Bearer realm=\"mercato\"\r\n";
  } else {
    res.extra_headers = "WWW-Authenticate: Bearer realm=\"mercato\", error=\"invalid_token\", "
                        "error_description=\"";
    res.extra_headers += to_string(err);
    res.extra_headers += "\"\r\n";
  }
  return res;
}

bool authorize(const route_env& env, const request& req, const responder& reply, uint8_t allowed,
               principal* who) {
  auto res = env.jwt->verify_header(req.authorization, jwt_verifier::now());
  if (!res.ok()) {
    reply(unauthorized_response(res.error));
    return false;
  }
  if (res.who.is_scoped()
      && ((allowed & allow_tracking) == 0 || req.params.get("id") != res.who.order_scope)) {
    reply(problem_response(403, "forbidden", "a tracking token only reads its own order"));
    return false;
  }
  if ((allowed & (1u << static_cast<unsigned>(res.who.who))) == 0) {
    std::string detail = "role '";
    detail += to_string(res.who.who);
    detail += "' may not do this";
    reply(problem_response(403, "forbidden", std::move(detail)));
    return false;
  }
  if (who != nullptr)
    *who = std::move(res.who);
  return true;
}

bool sku_param(const request& req, const responder& reply, std::string& sku) {
  auto value = req.params.get("sku");
  if (!is_valid_sku(value)) {
    validation v;
    v.add("sku", "must be 1 to 64 characters of [A-Za-z0-9._-]");
    reply(v.to_response());
    return false;
  }
  sku.assign(value);
  return true;
}

bool reservation_param(const request& req, const responder& reply, std::string& id) {
  auto value = req.params.get("id");
  if (!is_valid_reservation_id(value)) {
    validation v;
    v.add("reservation_id", "must be 1 to 128 characters of [A-Za-z0-9._:-]");
    reply(v.to_response());
    return false;
  }
  id.assign(value);
  return true;
}

std::shared_ptr<const router> make_router(const runtime::node_handles& handles) {
  auto env = std::make_shared<route_env>();
  env->handles = handles;
  env->jwt = make_verifier(handles.cfg.auth);
  auto timeout_ms
    = handles.cfg.entity.request_timeout_ms > 0 ? handles.cfg.entity.request_timeout_ms : 5000;
  env->timeout = std::chrono::milliseconds{timeout_ms};
  auto r = std::make_shared<router>();
  std::shared_ptr<const route_env> cenv = std::move(env);
  add_ops_routes(*r, cenv);
  add_product_routes(*r, cenv);
  add_stock_routes(*r, cenv);
  add_cart_routes(*r, cenv);
  add_coupon_routes(*r, cenv);
  add_checkout_routes(*r, cenv);
  add_order_routes(*r, cenv);
  add_admin_routes(*r, cenv);
  add_payment_routes(*r, cenv);
  add_marketplace_routes(*r, cenv);
  add_notification_routes(*r, cenv);
  add_page_routes(*r, cenv);
  return r;
}

} // namespace mercato::api
