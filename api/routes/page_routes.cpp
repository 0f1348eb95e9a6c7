// The pages people look at (issue 19): /track/{order_id} for a customer, /admin for operators,
// and the hashed scripts and styles they load from /assets/. The pages call the public API
// themselves with the token they were given; serving them needs none.

#include "api/http/static_assets.hpp"
#include "api/routes/common.hpp"
#include "runtime/logging.hpp"

#include <memory>
#include <string>

namespace mercato::api {

namespace {

void serve_page(const std::shared_ptr<const static_assets>& files, std::string_view name,
                const request& req, const responder& reply) {
  if (const auto* f = files->page(name))
    return reply(file_response(*f, cache_policy::revalidate, req.if_none_match));
  reply(problem_response(404, "not_found", "the pages are not built on this server"));
}

} // namespace

void add_page_routes(router& r, const std::shared_ptr<const route_env>& env) {
  const auto& dir = env->handles.cfg.server.pages_dir;
  auto files = std::make_shared<const static_assets>(dir.empty() ? static_assets{}
                                                                 : static_assets::load(dir));
  if (!dir.empty()) {
    auto log = runtime::logger("api");
    if (files->page("track.html") == nullptr || files->page("admin.html") == nullptr)
      log->warn("server.pages_dir {} holds no built pages (tools/dev builds them): /track and "
                "/admin answer 404",
                dir);
    else
      log->info("serves {} pages and {} assets from {}", files->page_count(), files->asset_count(),
                dir);
  }

  // GET /track/{order_id}: the page reads the order id from its own path and the token from
  // the link's fragment, which browsers never send.
  r.add(http_method::get, "/track/{order_id}", [files](const request& req, const responder& reply) {
    serve_page(files, "track.html", req, reply);
  });

  // GET /admin: the operators' dashboard; it asks for an admin token itself.
  r.add(http_method::get, "/admin", [files](const request& req, const responder& reply) {
    serve_page(files, "admin.html", req, reply);
  });

  // GET /assets/{file}: names carry a hash of their content, so they never change.
  r.add(http_method::get, "/assets/{file}", [files](const request& req, const responder& reply) {
    if (const auto* f = files->asset(req.params.get("file")))
      return reply(file_response(*f, cache_policy::immutable, req.if_none_match));
    reply(problem_response(404, "not_found", "no such asset"));
  });
}

} // namespace mercato::api
