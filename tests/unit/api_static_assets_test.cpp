// The pages' files (api/http/static_assets, api/routes/page_routes): names that may be served,
// media types, caching and security headers, what a directory contributes, and the routes over
// loopback, with paths that try to leave the directory.

#include "api/http/server.hpp"
#include "api/http/static_assets.hpp"
#include "api/routes/common.hpp"
#include "tests/unit/api_test_http.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

using namespace mercato;
using namespace mercato::api;
using mercato::api::test::http_client;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary};
  out << text;
}

// A built pages directory beside a file that must never be served.
class PagesDir : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::path{::testing::TempDir()} / ("pages-" + std::to_string(::getpid()));
    fs::remove_all(root);
    dir = root / "web";
    fs::create_directories(dir / "assets" / "nested");
    write_file(root / "secret.txt", "the secret");
    write_file(dir / "track.html", "<!doctype html><title>track</title>");
    write_file(dir / "admin.html", "<!doctype html><title>admin</title>");
    write_file(dir / "notes.txt", "not a page");
    write_file(dir / "assets" / "track-Ab12_x.js", "console.log(1)");
    write_file(dir / "assets" / "base-Zz9.css", "body{}");
    write_file(dir / "assets" / ".hidden.js", "hidden");
    write_file(dir / "assets" / "nested" / "deep.js", "deep");
    fs::create_symlink(root / "secret.txt", dir / "assets" / "link.txt");
  }
  void TearDown() override {
    fs::remove_all(root);
  }
  fs::path root;
  fs::path dir;
};

} // namespace

TEST(StaticAssets, AcceptsPlainBuiltNames) {
  EXPECT_TRUE(is_safe_asset_name("track-Lw0XiSPq.js"));
  EXPECT_TRUE(is_safe_asset_name("base-CogGVj7y.css"));
  EXPECT_TRUE(is_safe_asset_name("admin_1.2.3.woff2"));
  EXPECT_TRUE(is_safe_asset_name(std::string(128, 'a')));
}

TEST(StaticAssets, RejectsNamesThatCouldLeaveTheDirectory) {
  for (std::string_view bad : {"", ".", "..", "../secret.txt", "..%2Fsecret.txt", "%2e%2e",
                               "a/b.js", "a\\b.js", "/etc/passwd", "x..js", ".hidden.js", ".env",
                               "a b.js", "a?b.js", "a#b.js", "a;b.js", "C:secret", "~root"})
    EXPECT_FALSE(is_safe_asset_name(bad)) << bad;
  EXPECT_FALSE(is_safe_asset_name(std::string_view{"a\0.js", 5}));
  EXPECT_FALSE(is_safe_asset_name(std::string(129, 'a')));
  EXPECT_FALSE(is_safe_asset_name("caf\xc3\xa9.js"));
}

TEST(StaticAssets, NamesMediaTypesByExtension) {
  EXPECT_EQ(content_type_of("track.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("TRACK.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("track-Lw0XiSPq.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("base-CogGVj7y.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_of("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_of("font.woff2"), "font/woff2");
  EXPECT_EQ(content_type_of("app.js.map"), "application/json");
  EXPECT_EQ(content_type_of("README"), "application/octet-stream");
  EXPECT_EQ(content_type_of("archive.tar.gz"), "application/octet-stream");
  EXPECT_EQ(content_type_of("js"), "application/octet-stream");
}

TEST(StaticAssets, HashedAssetsAreImmutableAndPagesRevalidate) {
  EXPECT_EQ(cache_control(cache_policy::immutable), "public, max-age=31536000, immutable");
  EXPECT_EQ(cache_control(cache_policy::revalidate), "no-cache");
  static_file page{"<!doctype html>", content_type_of("track.html"), ""};
  auto res = file_response(page, cache_policy::revalidate);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_NE(res.extra_headers.find("Cache-Control: no-cache\r\n"), std::string::npos);
  EXPECT_NE(res.extra_headers.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_NE(res.extra_headers.find("Referrer-Policy: no-referrer\r\n"), std::string::npos);
  EXPECT_NE(
    res.extra_headers.find("Content-Security-Policy: default-src 'none'; script-src 'self'"),
    std::string::npos);
  static_file script{"x", content_type_of("a.js"), ""};
  auto js = file_response(script, cache_policy::immutable);
  EXPECT_NE(js.extra_headers.find("Cache-Control: public, max-age=31536000, immutable\r\n"),
            std::string::npos);
  EXPECT_EQ(js.extra_headers.find("Content-Security-Policy"), std::string::npos);
}

TEST(StaticAssets, IfNoneMatchNamesTheEntityTag) {
  const std::string tag = "\"0123abcd\"";
  EXPECT_TRUE(etag_matches(tag, tag));
  EXPECT_TRUE(etag_matches("\"x\", \"0123abcd\"", tag));
  EXPECT_TRUE(etag_matches(" \"x\" ,\t\"0123abcd\" ", tag));
  EXPECT_TRUE(etag_matches("W/\"0123abcd\"", tag));
  EXPECT_TRUE(etag_matches("*", tag));
  EXPECT_FALSE(etag_matches("", tag));
  EXPECT_FALSE(etag_matches("\"0123abce\"", tag));
  EXPECT_FALSE(etag_matches("0123abcd", tag));
  EXPECT_FALSE(etag_matches(",,", tag));
}

TEST(StaticAssets, AnsweredNotModifiedWithoutBody) {
  static_file page{"<!doctype html>", content_type_of("track.html"), "\"0123abcd\""};
  auto fresh = file_response(page, cache_policy::revalidate, "\"other\"");
  EXPECT_EQ(fresh.status, 200);
  EXPECT_EQ(fresh.body, "<!doctype html>");
  auto same = file_response(page, cache_policy::revalidate, "\"0123abcd\"");
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_NE(same.extra_headers.find("ETag: \"0123abcd\"\r\n"), std::string::npos);
  EXPECT_NE(same.extra_headers.find("Cache-Control: no-cache\r\n"), std::string::npos);
}

TEST(StaticAssets, PolicyAllowsNoOtherOriginAndNoInlineCode) {
  std::string csp{content_security_policy()};
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(csp.find("http"), std::string::npos);
  EXPECT_EQ(csp.find('*'), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
}

TEST_F(PagesDir, TakesPagesAndAssetsOnly) {
  auto files = static_assets::load(dir);
  EXPECT_EQ(files.page_count(), 2u);
  ASSERT_NE(files.page("track.html"), nullptr);
  EXPECT_EQ(files.page("track.html")->body, "<!doctype html><title>track</title>");
  EXPECT_EQ(files.page("notes.txt"), nullptr);
  ASSERT_NE(files.asset("track-Ab12_x.js"), nullptr);
  EXPECT_EQ(files.asset("track-Ab12_x.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(files.asset("base-Zz9.css"), nullptr);
  EXPECT_EQ(files.asset_count(), 2u); // not the hidden file, the folder or the link
  EXPECT_EQ(files.asset(".hidden.js"), nullptr);
  EXPECT_EQ(files.asset("link.txt"), nullptr);
  EXPECT_EQ(files.asset("nested"), nullptr);
  EXPECT_EQ(files.asset("../../secret.txt"), nullptr);
  EXPECT_EQ(files.asset("../track.html"), nullptr);
}

TEST(StaticAssets, MissingDirectoryIsEmpty) {
  auto files = static_assets::load("/nonexistent/mercato/pages");
  EXPECT_EQ(files.page_count(), 0u);
  EXPECT_EQ(files.asset_count(), 0u);
}

namespace {

// The page routes behind the real HTTP server on an ephemeral port.
class PageRoutes : public PagesDir {
protected:
  void SetUp() override {
    PagesDir::SetUp();
    auto env = std::make_shared<route_env>();
    env->handles.cfg.server.pages_dir = dir.string();
    auto r = std::make_shared<router>();
    add_page_routes(*r, env);
    runtime::node_handles h;
    h.metrics = &metrics;
    h.cfg.server.http_addr = "127.0.0.1:0";
    h.cfg.entity.request_timeout_ms = 1000;
    server.emplace(h, r);
    server->start();
  }
  void TearDown() override {
    server.reset();
    PagesDir::TearDown();
  }
  test::http_reply get(const std::string& target) {
    http_client c{server->port()};
    return c.request("GET", target);
  }
  runtime::metrics_registry metrics;
  std::optional<http_server> server;
};

} // namespace

TEST_F(PageRoutes, ServesTheTrackingPageForAnyOrder) {
  auto r = get("/track/ord_123");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>track</title>");
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("content-security-policy"), content_security_policy());
  EXPECT_EQ(get("/admin").body, "<!doctype html><title>admin</title>");
}

TEST_F(PageRoutes, RevalidatesPagesByTheirEntityTag) {
  auto first = get("/track/ord_123");
  auto tag = first.header("etag");
  ASSERT_EQ(tag.size(), 34u) << tag; // a quoted 32 hex digits
  http_client c{server->port()};
  auto again = c.request("GET", "/track/ord_123", {}, "If-None-Match: " + tag + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), tag);
  EXPECT_EQ(again.header("cache-control"), "no-cache");
  auto other = c.request("GET", "/admin", {}, "If-None-Match: " + tag + "\r\n");
  EXPECT_EQ(other.status, 200); // another page, another tag
  EXPECT_NE(other.header("etag"), tag);
}

TEST_F(PageRoutes, ServesHashedAssetsImmutable) {
  auto r = get("/assets/track-Ab12_x.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("/assets/base-Zz9.css").header("content-type"), "text/css; charset=utf-8");
}

TEST_F(PageRoutes, UnknownFilesAreProblems) {
  for (const char* target : {"/assets/nope.js", "/assets/.hidden.js", "/assets/link.txt",
                             "/assets/nested", "/assets/nested/deep.js", "/track", "/admin/x"}) {
    auto r = get(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << target;
    EXPECT_NE(r.body.find("\"code\":\"not_found\""), std::string::npos) << target;
  }
}

TEST_F(PageRoutes, PathsThatClimbOutAreRefused) {
  for (const char* target :
       {"/assets/../secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets/..%2F..%2Fsecret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt", "/assets/..%5c..%5csecret.txt",
        "/assets/%2fetc%2fpasswd", "/assets/..", "/assets/%2e%2e", "/assets/track.html%00.js",
        "/assets/..%2ftrack.html", "/track/..%2f..%2fsecret.txt"}) {
    auto r = get(target);
    EXPECT_EQ(r.body.find("the secret"), std::string::npos) << target;
    if (std::string_view{target}.starts_with("/track/"))
      EXPECT_EQ(r.body, "<!doctype html><title>track</title>") << target; // the page, not a file
    else
      EXPECT_EQ(r.status, 404) << target;
  }
}

namespace {

struct captured : response_sink {
  std::optional<response> last;
  void post_response(uint64_t, response&& res) override {
    last = std::move(res);
  }
};

} // namespace

TEST(PageRoutesUnbuilt, AnswerNotFoundWithoutPages) {
  auto env = std::make_shared<route_env>();
  env->handles.cfg.server.pages_dir = "/nonexistent/mercato/pages";
  router r;
  add_page_routes(r, env);
  for (const char* path : {"/track/ord_1", "/admin", "/assets/track-Lw0XiSPq.js"}) {
    path_params params;
    auto m = r.match(http_method::get, path, params);
    ASSERT_EQ(m.result, router::outcome::found) << path;
    auto sink = std::make_shared<captured>();
    (*m.fn)(request{}, responder{sink, 1});
    ASSERT_TRUE(sink->last.has_value()) << path;
    EXPECT_EQ(sink->last->status, 404) << path;
    EXPECT_TRUE(sink->last->is_problem) << path;
    EXPECT_EQ(sink->last->prob.code, "not_found") << path;
  }
}
