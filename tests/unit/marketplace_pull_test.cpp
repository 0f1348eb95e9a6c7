// The request signatures of the pull sync (adapters/marketplaces/platform_api.hpp), against
// values computed independently from each platform's documented recipe (Python's hmac module);
// the fake platforms of the e2e tests check the same recipes on every call.

#include "adapters/marketplaces/platform_api.hpp"

#include <gtest/gtest.h>

namespace {

namespace mp = mercato::marketplaces;

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

} // namespace
