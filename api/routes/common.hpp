#pragma once

// What every route file shares: the environment handlers capture, authorization, path checks.
// Free of Beast; CAF only through the handles.

#include "api/auth/jwt.hpp"
#include "api/http/router.hpp"
#include "api/http/types.hpp"
#include "runtime/node.hpp"

#include <chrono>
#include <memory>
#include <string_view>

namespace mercato::api {

/// Captured by the handlers: the node's actors, the token verifier and the timeouts.
struct route_env {
  runtime::node_handles handles;
  std::shared_ptr<const jwt_verifier> jwt;
  std::chrono::milliseconds timeout{5000};       ///< API -> actor requests
  std::chrono::milliseconds ready_timeout{2000}; ///< readiness ping
};

/// Bit set of roles allowed on a route.
enum role_mask : uint8_t {
  allow_customer = 1 << static_cast<int>(role::customer),
  allow_service = 1 << static_cast<int>(role::service),
  allow_admin = 1 << static_cast<int>(role::admin),
  /// A tracking token (a customer's, scoped to one order by claim `order`) may call the route
  /// when the path parameter `id` is that order. Without this bit a route refuses it: a route
  /// added later is closed to tracking links until it says otherwise.
  allow_tracking = 1 << 3,
};

/// Checks the bearer token and its role, and refuses a tracking token unless the route allows it
/// for the order in its path. On failure answers 401 (with WWW-Authenticate) or 403 through
/// `reply` and returns false.
bool authorize(const route_env& env, const request& req, const responder& reply, uint8_t allowed,
               principal* who = nullptr);

/// The 401 problem for `err` (with `WWW-Authenticate: Bearer ...`).
response unauthorized_response(jwt_error err);

/// Reads and validates the path parameter `sku`; on failure answers 400 and returns false.
bool sku_param(const request& req, const responder& reply, std::string& sku);

/// Reads and validates the path parameter `id` (a reservation id); answers 400 if invalid.
bool reservation_param(const request& req, const responder& reply, std::string& id);

/// Registers the routes of each resource (one file each).
void add_product_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_stock_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_ops_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_cart_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_coupon_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_checkout_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_order_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_admin_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_payment_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_marketplace_routes(router& r, const std::shared_ptr<const route_env>& env);
void add_notification_routes(router& r, const std::shared_ptr<const route_env>& env);
/// The pages of `server.pages_dir` (page_routes.cpp).
void add_page_routes(router& r, const std::shared_ptr<const route_env>& env);

/// Builds the router with every route of the API for `handles` (fault injection routes only
/// when `handles.cfg.testing.fault_injection`).
std::shared_ptr<const router> make_router(const runtime::node_handles& handles);

} // namespace mercato::api
