// The request signatures of the pull sync (adapters/marketplaces/platform_api.hpp), against
// values computed independently from each platform's documented recipe (Python's hmac module);
// the fake platforms of the e2e tests check the same recipes on every call. Then the token
// refresh calls and the detection of a refused access token, through an in-process http_fn.

#include "adapters/marketplaces/platform_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

namespace mp = mercato::marketplaces;
using json = nlohmann::json;
using mercato::sales_platform;
using namespace std::chrono_literals;

// Records every request and answers each with `answer`.
struct recording_http {
  std::vector<mercato::net::http_call_request> seen;
  mercato::net::http_call_result answer;

  mp::http_fn fn() {
    return [this](const mercato::net::http_call_request& req) {
      seen.push_back(req);
      return answer;
    };
  }

  void answer_json(const json& body, int status = 200) {
    answer.status = status;
    answer.body = body.dump();
  }
};

mp::api_shop shop_of(sales_platform platform, std::string app_key, std::string secret,
                     std::string shop_id = "") {
  mp::api_shop s;
  s.platform = platform;
  s.base_url = "https://api.example";
  s.app_key = std::move(app_key);
  s.app_secret = std::move(secret);
  s.access_token = "at-1";
  s.shop_id = std::move(shop_id);
  return s;
}

// 2024-12-01T08:00:00.123Z
constexpr int64_t now_ms = 1733040000123;

TEST(MarketplaceSignature, TikTokSignsPathSortedQueryAndBodyWrappedInTheSecret) {
  // The access token travels in a header and is not signed; the order of the query is not
  // the signed order.
  std::vector<std::pair<std::string, std::string>> query{
    {"timestamp", "1733040000"}, {"app_key", "29a39d"}, {"shop_cipher", "ROW_x1"},
    {"page_size", "50"},         {"page_token", "abc"}, {"access_token", "zzz"}};
  EXPECT_EQ(mp::tiktok_sign("app-secret-1", "/order/202309/orders/search", query,
                            R"({"update_time_ge":1733000000,"update_time_lt":1733040000})"),
            "786fa4a97c1f70db6724a4a18425cad76e88048aeaed260283c6faadd7d483d9");
  query[4].second = "abd";
  EXPECT_NE(mp::tiktok_sign("app-secret-1", "/order/202309/orders/search", query,
                            R"({"update_time_ge":1733000000,"update_time_lt":1733040000})"),
            "786fa4a97c1f70db6724a4a18425cad76e88048aeaed260283c6faadd7d483d9");
}

TEST(MarketplaceSignature, ShopeeSignsPartnerPathTimestampTokenAndShop) {
  EXPECT_EQ(mp::shopee_sign("partner-key-2", "2001887", "/api/v2/order/get_order_list", 1733040000,
                            "tok-3", "600000"),
            "6f8373aabd670b04b9018488ad68cc4bc1258fb2f94544e414eb2a0d962482e0");
}

TEST(MarketplaceSignature, LazadaSignsPathAndSortedParametersInUpperCaseHex) {
  std::vector<std::pair<std::string, std::string>> params{
    {"limit", "100"},          {"app_key", "123456"},     {"timestamp", "1733040000123"},
    {"sign_method", "sha256"}, {"access_token", "tok-4"}, {"offset", "0"}};
  EXPECT_EQ(mp::lazada_sign("lz-secret", "/orders/get", params),
            "4E46F0BA08CC7DAF8C33F8842B24B72FA7B34488CF47E966FBD38C904D81631B");
  params.emplace_back("sign", "ignored"); // a sign parameter never signs itself
  EXPECT_EQ(mp::lazada_sign("lz-secret", "/orders/get", params),
            "4E46F0BA08CC7DAF8C33F8842B24B72FA7B34488CF47E966FBD38C904D81631B");
}

// -- token refresh --

TEST(MarketplaceTokenRefresh, TikTokAsksTheAuthHostWithTheAppCredentials) {
  recording_http http;
  http.answer_json({{"code", 0},
                    {"message", "success"},
                    {"data",
                     {{"access_token", "at-2"},
                      {"access_token_expire_in", 1733054400},
                      {"refresh_token", "rt-2"},
                      {"refresh_token_expire_in", 1735632000}}}});
  auto r = mp::refresh_token(shop_of(sales_platform::tiktok, "29a39d", "app-secret-1"),
                             "https://auth.tiktok-shops.com", "rt-1", http.fn(), now_ms, 5s);
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].method, "GET");
  EXPECT_EQ(http.seen[0].url, "https://auth.tiktok-shops.com/api/v2/token/refresh?app_key=29a39d"
                              "&app_secret=app-secret-1&refresh_token=rt-1"
                              "&grant_type=refresh_token");
  EXPECT_EQ(http.seen[0].timeout, 5s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.access_token, "at-2");
  EXPECT_EQ(r.refresh_token, "rt-2");
  EXPECT_EQ(r.expires_at_s, 1733054400); // TikTok names the expiry itself
}

TEST(MarketplaceTokenRefresh, ShopeeSignsPartnerPathAndTimestampAndPostsTheShop) {
  recording_http http;
  http.answer_json({{"access_token", "at-2"},
                    {"refresh_token", "rt-2"},
                    {"expire_in", 14400},
                    {"request_id", "r1"},
                    {"error", ""},
                    {"message", ""}});
  auto r = mp::refresh_token(shop_of(sales_platform::shopee, "2001887", "partner-key-2", "600000"),
                             "https://partner.shopeemobile.com", "rt-1", http.fn(), now_ms, 5s);
  ASSERT_EQ(http.seen.size(), 1u);
  const auto& req = http.seen[0];
  EXPECT_EQ(req.method, "POST");
  // No access token and no shop id in the URL or the signed string.
  EXPECT_EQ(req.url, "https://partner.shopeemobile.com/api/v2/auth/access_token/get"
                     "?partner_id=2001887&timestamp=1733040000"
                     "&sign=00901a35a5150318c4df8ddeca5faa36cab8cd9ac43f50d1c5ec8fb4070675dc");
  EXPECT_EQ(json::parse(req.body),
            (json{{"refresh_token", "rt-1"}, {"partner_id", 2001887}, {"shop_id", 600000}}));
  EXPECT_TRUE(json::parse(req.body)["partner_id"].is_number_integer());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.access_token, "at-2");
  EXPECT_EQ(r.refresh_token, "rt-2");
  EXPECT_EQ(r.expires_at_s, 1733040000 + 14400);
}

TEST(MarketplaceTokenRefresh, ShopeeNeedsNumericPartnerAndShopIds) {
  recording_http http;
  auto r = mp::refresh_token(shop_of(sales_platform::shopee, "2001887", "k", "shop-a"),
                             "https://partner.shopeemobile.com", "rt-1", http.fn(), now_ms, 5s);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(http.seen.empty());
}

TEST(MarketplaceTokenRefresh, LazadaSignsPathAndSortedParametersLikeItsOtherCalls) {
  recording_http http;
  http.answer_json({{"code", "0"},
                    {"access_token", "at-2"},
                    {"refresh_token", "rt-2"},
                    {"expires_in", 604800},
                    {"refresh_expires_in", 2592000},
                    {"request_id", "r1"}});
  auto r = mp::refresh_token(shop_of(sales_platform::lazada, "123456", "lz-secret"),
                             "https://auth.lazada.com/rest", "rt-1", http.fn(), now_ms, 5s);
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].method, "GET");
  EXPECT_EQ(http.seen[0].url,
            "https://auth.lazada.com/rest/auth/token/refresh?app_key=123456"
            "&timestamp=1733040000123&sign_method=sha256&refresh_token=rt-1"
            "&sign=8857AC71780843B189C228AC5AA97A7705356D5020B2129DC9F08263735012C1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.access_token, "at-2");
  EXPECT_EQ(r.refresh_token, "rt-2");
  EXPECT_EQ(r.expires_at_s, 1733040000 + 604800);
}

struct refresh_error_case {
  sales_platform platform;
  int status;
  json body;
  std::string named; // what the error must name
};

class MarketplaceTokenRefreshError : public ::testing::TestWithParam<refresh_error_case> {};

TEST_P(MarketplaceTokenRefreshError, FailsWithoutNamingASecret) {
  const auto& c = GetParam();
  recording_http http;
  http.answer_json(c.body, c.status);
  auto r = mp::refresh_token(shop_of(c.platform, "2001887", "secret-sss", "600000"),
                             "https://auth.example", "refresh-rrr", http.fn(), now_ms, 5s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find(c.named), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("secret-sss"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("refresh-rrr"), std::string::npos) << r.error;
}

INSTANTIATE_TEST_SUITE_P(
  EachPlatform, MarketplaceTokenRefreshError,
  ::testing::Values(
    refresh_error_case{sales_platform::tiktok, 200,
                       json{{"code", 36004005}, {"message", "refresh token is invalid"}},
                       "36004005"},
    refresh_error_case{sales_platform::tiktok, 200, json{{"code", 0}, {"data", json::object()}},
                       "no token pair"},
    refresh_error_case{sales_platform::tiktok, 500, json::object(), "HTTP 500"},
    refresh_error_case{sales_platform::shopee, 200,
                       json{{"error", "error_param"}, {"message", "Invalid refresh_token."}},
                       "error_param"},
    refresh_error_case{sales_platform::shopee, 200,
                       json{{"access_token", "a"}, {"refresh_token", "b"}, {"error", ""}},
                       "no expiry"},
    refresh_error_case{sales_platform::lazada, 200,
                       json{{"code", "IllegalRefreshToken"}, {"message", "invalid"}},
                       "IllegalRefreshToken"},
    refresh_error_case{sales_platform::lazada, 200,
                       json{{"code", "0"}, {"access_token", 7}, {"refresh_token", "b"}},
                       "unexpected answer"}));

TEST(MarketplaceTokenRefresh, ATransportFailureNamesNoSecret) {
  recording_http http;
  http.answer.status = 0;
  http.answer.error = "Timeout was reached";
  auto r = mp::refresh_token(shop_of(sales_platform::tiktok, "k", "secret-sss"),
                             "https://auth.example", "refresh-rrr", http.fn(), now_ms, 5s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("Timeout was reached"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("secret-sss"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("refresh-rrr"), std::string::npos) << r.error;
}

// -- a refused access token --

struct page_case {
  sales_platform platform;
  int status;
  json body;
  mp::page_result::outcome expected;
};

class MarketplacePageOutcome : public ::testing::TestWithParam<page_case> {};

TEST_P(MarketplacePageOutcome, TellsARefusedAccessTokenFromOtherFailures) {
  const auto& c = GetParam();
  recording_http http;
  http.answer_json(c.body, c.status);
  auto page = mp::fetch_page(shop_of(c.platform, "2001887", "secret", "600000"),
                             {1733000000, 1733040000}, "", http.fn(), now_ms, 5s);
  EXPECT_EQ(page.result, c.expected) << page.error;
  EXPECT_EQ(http.seen.size(), 1u); // no detail call after a failed list
  EXPECT_EQ(page.error.find("at-1"), std::string::npos) << page.error;
}

using outcome = mp::page_result::outcome;

INSTANTIATE_TEST_SUITE_P(
  EachPlatform, MarketplacePageOutcome,
  ::testing::Values(
    page_case{sales_platform::tiktok, 200,
              json{{"code", 105002}, {"message", "Access token is expired"}},
              outcome::unauthorized},
    page_case{sales_platform::tiktok, 200, json{{"code", 105001}, {"message", "invalid"}},
              outcome::unauthorized},
    page_case{sales_platform::tiktok, 200, json{{"code", 36004004}, {"message", "invalid"}},
              outcome::unauthorized},
    page_case{sales_platform::tiktok, 401, json{{"code", 105002}}, outcome::unauthorized},
    page_case{sales_platform::tiktok, 200, json{{"code", 36009003}, {"message", "internal"}},
              outcome::failed},
    page_case{sales_platform::tiktok, 500, json::object(), outcome::failed},
    page_case{sales_platform::shopee, 200,
              json{{"error", "invalid_access_token"}, {"message", "Invalid access_token."}},
              outcome::unauthorized},
    page_case{sales_platform::shopee, 200, json{{"error", "error_auth"}, {"message", "no"}},
              outcome::unauthorized},
    page_case{sales_platform::shopee, 403, json{{"error", "error_auth"}}, outcome::unauthorized},
    page_case{sales_platform::shopee, 200, json{{"error", "error_param"}, {"message", "bad"}},
              outcome::failed},
    page_case{sales_platform::lazada, 200,
              json{{"code", "IllegalAccessToken"}, {"message", "invalid or expired"}},
              outcome::unauthorized},
    page_case{sales_platform::lazada, 200, json{{"code", "ApiCallLimit"}}, outcome::rate_limited},
    page_case{sales_platform::lazada, 200, json{{"code", "InvalidParameter"}}, outcome::failed}));

} // namespace
