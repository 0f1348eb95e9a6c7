#include "api/http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace mercato::api;

namespace {

router::handler tag(std::string* hit, std::string name) {
  return [hit, name](const request&, const responder&) { *hit = name; };
}

class Router : public ::testing::Test {
protected:
  void SetUp() override {
    r.add(http_method::get, "/healthz", tag(&hit, "healthz"));
    r.add(http_method::get, "/v1/stock/{sku}", tag(&hit, "get stock"));
    r.add(http_method::put, "/v1/stock/{sku}", tag(&hit, "put stock"));
    r.add(http_method::post, "/v1/stock/{sku}/reservations", tag(&hit, "reserve"));
    r.add(http_method::post, "/v1/stock/{sku}/reservations/{id}/commit", tag(&hit, "commit"));
    r.add(http_method::delete_, "/v1/stock/{sku}/reservations/{id}", tag(&hit, "release"));
    r.add(http_method::get, "/v1/products", tag(&hit, "list"));
    r.add(http_method::get, "/v1/products/featured", tag(&hit, "featured"));
    r.add(http_method::get, "/v1/products/{sku}", tag(&hit, "product"));
  }

  std::string call(http_method m, std::string_view path) {
    hit.clear();
    auto res = r.match(m, path, params);
    if (res.result != router::outcome::found)
      return "";
    (*res.fn)(request{}, responder{});
    return hit;
  }

  router r;
  std::string hit;
  path_params params;
};

} // namespace

TEST_F(Router, MatchesLiteralRoute) {
  EXPECT_EQ(call(http_method::get, "/healthz"), "healthz");
  EXPECT_EQ(params.size(), 0u);
}

TEST_F(Router, ExtractsParameters) {
  EXPECT_EQ(call(http_method::post, "/v1/stock/ABC-1/reservations/r:42/commit"), "commit");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params.get("sku"), "ABC-1");
  EXPECT_EQ(params.get("id"), "r:42");
  EXPECT_EQ(params.get("nope"), "");
}

TEST_F(Router, PercentDecodesParameters) {
  EXPECT_EQ(call(http_method::get, "/v1/stock/a%2Eb"), "get stock");
  EXPECT_EQ(params.get("sku"), "a.b");
}

TEST_F(Router, KeepsMalformedEscapesRaw) {
  EXPECT_EQ(call(http_method::get, "/v1/stock/a%zz"), "get stock");
  EXPECT_EQ(params.get("sku"), "a%zz");
}

TEST_F(Router, ChoosesByMethod) {
  EXPECT_EQ(call(http_method::get, "/v1/stock/x"), "get stock");
  EXPECT_EQ(call(http_method::put, "/v1/stock/x"), "put stock");
}

TEST_F(Router, LiteralBeatsParameter) {
  EXPECT_EQ(call(http_method::get, "/v1/products/featured"), "featured");
  EXPECT_EQ(call(http_method::get, "/v1/products/other"), "product");
}

TEST_F(Router, HeadFallsBackToGet) {
  EXPECT_EQ(call(http_method::head, "/v1/stock/x"), "get stock");
}

TEST_F(Router, UnknownPathIsNotFound) {
  auto res = r.match(http_method::get, "/v1/nothing", params);
  EXPECT_EQ(res.result, router::outcome::not_found);
  EXPECT_EQ(res.pattern, "unmatched");
  EXPECT_EQ(res.pattern_id, r.patterns().size());
}

TEST_F(Router, EmptySegmentDoesNotMatchParameter) {
  EXPECT_EQ(r.match(http_method::get, "/v1/stock/", params).result, router::outcome::not_found);
  EXPECT_EQ(r.match(http_method::get, "/v1/stock//reservations", params).result,
            router::outcome::not_found);
}

TEST_F(Router, TrailingSlashAndExtraSegmentsDoNotMatch) {
  EXPECT_EQ(r.match(http_method::get, "/healthz/", params).result, router::outcome::not_found);
  EXPECT_EQ(r.match(http_method::get, "/v1/stock/x/y", params).result, router::outcome::not_found);
}

TEST_F(Router, RelativeOrEmptyPathIsNotFound) {
  EXPECT_EQ(r.match(http_method::get, "", params).result, router::outcome::not_found);
  EXPECT_EQ(r.match(http_method::get, "healthz", params).result, router::outcome::not_found);
  EXPECT_EQ(r.match(http_method::get, "*", params).result, router::outcome::not_found);
}

TEST_F(Router, WrongMethodIsMethodNotAllowedWithAllow) {
  auto res = r.match(http_method::delete_, "/v1/stock/x", params);
  EXPECT_EQ(res.result, router::outcome::method_not_allowed);
  EXPECT_EQ(res.allow, "GET, HEAD, PUT");
  EXPECT_EQ(res.pattern, "/v1/stock/{sku}");
}

TEST_F(Router, UnknownMethodIsMethodNotAllowed) {
  auto res = r.match(http_method::other, "/healthz", params);
  EXPECT_EQ(res.result, router::outcome::method_not_allowed);
  EXPECT_EQ(res.allow, "GET, HEAD");
}

TEST_F(Router, KeepsPatternForMetrics) {
  auto res = r.match(http_method::delete_, "/v1/stock/s1/reservations/r1", params);
  ASSERT_EQ(res.result, router::outcome::found);
  EXPECT_EQ(res.pattern, "/v1/stock/{sku}/reservations/{id}");
  EXPECT_EQ(r.patterns()[res.pattern_id], res.pattern);
}

TEST_F(Router, RejectsDuplicateRoute) {
  EXPECT_THROW(r.add(http_method::get, "/healthz", tag(&hit, "x")), std::invalid_argument);
}

TEST_F(Router, RejectsShadowingPattern) {
  EXPECT_THROW(r.add(http_method::post, "/v1/stock/{other}", tag(&hit, "x")),
               std::invalid_argument);
}

TEST_F(Router, RejectsMalformedPatterns) {
  EXPECT_THROW(r.add(http_method::get, "relative", tag(&hit, "x")), std::invalid_argument);
  EXPECT_THROW(r.add(http_method::get, "/a/{b", tag(&hit, "x")), std::invalid_argument);
  EXPECT_THROW(r.add(http_method::get, "/a/b}", tag(&hit, "x")), std::invalid_argument);
  EXPECT_THROW(r.add(http_method::head, "/a", tag(&hit, "x")), std::invalid_argument);
}

TEST_F(Router, ListsRoutes) {
  auto routes = r.routes();
  EXPECT_EQ(routes.size(), 9u);
  EXPECT_EQ(routes.front().first, http_method::get);
  EXPECT_EQ(routes.front().second, "/healthz");
}
