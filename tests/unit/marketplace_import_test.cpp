// The marketplace importers against each platform's native payloads
// (tests/fixtures/marketplaces/): every fixture record maps to the expected order or is rejected
// with its reason, and the good records of a batch land whatever the bad ones hold.

#include "adapters/marketplaces/importer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace mercato;
using namespace mercato::marketplaces;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in{std::string{MERCATO_FIXTURES_DIR} + "/marketplaces/" + name};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr int64_t ms(int64_t unix_seconds) {
  return unix_seconds * 1000;
}

// The mapped order at `index`, or a failure naming the rejection.
const imported_order* at(const import_result& r, size_t index) {
  for (const auto& rec : r.batch.orders)
    if (rec.index == index)
      return &rec.order;
  for (const auto& rej : r.batch.rejected)
    if (rej.index == index)
      ADD_FAILURE() << "record " << index << " rejected: " << rej.code << " " << rej.detail;
  return nullptr;
}

const import_rejection* rejection(const import_result& r, size_t index) {
  for (const auto& rej : r.batch.rejected)
    if (rej.index == index)
      return &rej;
  ADD_FAILURE() << "record " << index << " was not rejected";
  return nullptr;
}

} // namespace

TEST(MarketplaceMoney, ParsesDecimalTextExactly) {
  int64_t v = 0;
  ASSERT_TRUE(parse_minor("19.99", 2, v));
  EXPECT_EQ(v, 1999);
  ASSERT_TRUE(parse_minor("0.1", 2, v));
  EXPECT_EQ(v, 10);
  ASSERT_TRUE(parse_minor("250000", 0, v));
  EXPECT_EQ(v, 250000);
  ASSERT_TRUE(parse_minor("1.500", 2, v)); // trailing zeros carry no value
  EXPECT_EQ(v, 150);
  ASSERT_TRUE(parse_minor("9.999", 3, v));
  EXPECT_EQ(v, 9999);
  ASSERT_TRUE(parse_minor("92233720368547758.07", 2, v));
  EXPECT_EQ(v, INT64_MAX);
}

TEST(MarketplaceMoney, RejectsWhatIsNotMoney) {
  int64_t v = 0;
  for (const char* bad : {"", "-1", "1.", ".5", "1.005", "1e3", "1,000", " 1", "0x10", "1.2.3",
                          "92233720368547758.08", "99999999999999999999"})
    EXPECT_FALSE(parse_minor(bad, 2, v)) << bad;
  EXPECT_FALSE(parse_minor("1.5", 0, v));
}

TEST(MarketplaceMoney, KnowsCurrencyExponents) {
  EXPECT_EQ(minor_digits("VND"), 0);
  EXPECT_EQ(minor_digits("JPY"), 0);
  EXPECT_EQ(minor_digits("KWD"), 3);
  EXPECT_EQ(minor_digits("MYR"), 2);
  EXPECT_EQ(minor_digits("IDR"), 2);
}

TEST(MarketplaceOrderId, IsDeterministicAndAlwaysAValidEntityId) {
  EXPECT_EQ(marketplace_order_id(sales_platform::tiktok, "576461413038785752"),
            "tiktok-576461413038785752");
  auto odd = marketplace_order_id(sales_platform::shopee, "a/b c");
  EXPECT_EQ(odd, marketplace_order_id(sales_platform::shopee, "a/b c"));
  EXPECT_EQ(odd.rfind("shopee.h", 0), 0u);
  EXPECT_EQ(odd.size(), 8u + 32u);
  EXPECT_NE(marketplace_order_id(sales_platform::lazada, "1"),
            marketplace_order_id(sales_platform::shopee, "1"));
  EXPECT_LE(marketplace_order_id(sales_platform::lazada, std::string(48, 'x')).size(), 64u);
  EXPECT_LE(marketplace_order_id(sales_platform::lazada, std::string(49, 'x')).size(), 64u);
}

TEST(MarketplaceBatch, RejectsABodyThatIsNotAnArrayOfRecords) {
  EXPECT_FALSE(import_orders(sales_platform::tiktok, "{").error.empty());
  EXPECT_FALSE(import_orders(sales_platform::tiktok, "{}").error.empty());
  EXPECT_FALSE(import_orders(sales_platform::tiktok, "[]").error.empty());
  EXPECT_FALSE(import_orders(sales_platform::tiktok, "").error.empty());
  std::string big = "[";
  for (size_t i = 0; i <= max_batch; ++i)
    big += i ? ",{}" : "{}";
  big += "]";
  EXPECT_FALSE(import_orders(sales_platform::tiktok, big).error.empty());
}

TEST(MarketplaceBatch, RejectsWebImports) {
  auto r = import_orders(sales_platform::web, "[{}]");
  ASSERT_TRUE(r.error.empty());
  ASSERT_EQ(r.batch.rejected.size(), 1u);
}

// -- TikTok Shop ------------------------------------------------------------------------------

TEST(TikTokImporter, MapsACompletedOrderWithRepeatedUnitsAsOneLine) {
  auto r = import_orders(sales_platform::tiktok, fixture("tiktok.json"));
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto* o = at(r, 0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->platform, sales_platform::tiktok);
  EXPECT_EQ(o->order_code, "576461413038785752");
  EXPECT_EQ(o->order_id, "tiktok-576461413038785752");
  EXPECT_EQ(o->customer_id, "7021436810468230477");
  EXPECT_EQ(o->customer_name, "Ada Lovelace");
  EXPECT_EQ(o->currency, "USD");
  ASSERT_EQ(o->lines.size(), 2u);
  EXPECT_EQ(o->lines[0].sku, "1729582718312380123");
  EXPECT_EQ(o->lines[0].quantity, 2);
  EXPECT_EQ(o->lines[0].unit_price_minor, 1000);
  EXPECT_EQ(o->lines[1].quantity, 1);
  EXPECT_EQ(o->gross_minor, 2550);
  EXPECT_EQ(o->shipping_minor, 399);
  EXPECT_EQ(o->seller_discount_minor, 0);
  EXPECT_EQ(o->platform_discount_minor, 0);
  EXPECT_EQ(o->final_minor, 2949);
  EXPECT_EQ(o->status, imported_status::completed);
  EXPECT_EQ(o->native_status, "COMPLETED");
  EXPECT_EQ(o->order_date_ms, ms(1733040000));
  EXPECT_EQ(o->updated_at_ms, ms(1733558400));
  EXPECT_EQ(o->completed_at_ms, ms(1733558400));
  EXPECT_EQ(o->cancelled_at_ms, 0);
}

TEST(TikTokImporter, MapsACancelledOrderWithItsReasonAndTime) {
  auto r = import_orders(sales_platform::tiktok, fixture("tiktok.json"));
  const auto* o = at(r, 1);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::cancelled);
  EXPECT_EQ(o->cancel_reason, "Buyer no longer wants the item");
  EXPECT_EQ(o->cancelled_at_ms, ms(1733216400));
  EXPECT_EQ(o->completed_at_ms, 0);
  EXPECT_EQ(o->final_minor, 700);
  EXPECT_EQ(o->currency, "GBP");
}

TEST(TikTokImporter, KeepsSellerAndPlatformDiscountsApart) {
  auto r = import_orders(sales_platform::tiktok, fixture("tiktok.json"));
  const auto* o = at(r, 2);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::pending);
  EXPECT_EQ(o->currency, "IDR");
  EXPECT_EQ(o->gross_minor, 23000000);
  EXPECT_EQ(o->seller_discount_minor, 2000000);
  EXPECT_EQ(o->platform_discount_minor, 1000000);
  EXPECT_EQ(o->shipping_minor, 1200000);
  EXPECT_EQ(o->final_minor, 21200000);
  EXPECT_EQ(o->lines[0].unit_price_minor, 15000000);
}

TEST(TikTokImporter, TakesUnixSecondsAsUtcInstants) {
  auto r = import_orders(sales_platform::tiktok, fixture("tiktok.json"));
  const auto* o = at(r, 3);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->order_date_ms, ms(1733097599)); // 2024-12-01T23:59:59Z
  EXPECT_EQ(o->utc_offset_min, 0);
  EXPECT_EQ(o->gross_minor, 1999);
  EXPECT_EQ(o->final_minor, 1999);
  EXPECT_EQ(o->status, imported_status::pending);
}

TEST(TikTokImporter, RejectsBadRecordsOneByOneAndKeepsTheRest) {
  auto r = import_orders(sales_platform::tiktok, fixture("tiktok.json"));
  EXPECT_EQ(r.batch.orders.size(), 4u);
  ASSERT_EQ(r.batch.rejected.size(), 4u);
  const auto* money = rejection(r, 4);
  ASSERT_NE(money, nullptr);
  EXPECT_EQ(money->code, "invalid_request");
  EXPECT_EQ(money->detail,
            "payment.total_amount: must be a non-negative amount with at most 2 decimals");
  const auto* status = rejection(r, 5);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->code, "unknown_status");
  EXPECT_NE(status->detail.find("TELEPORTED"), std::string::npos);
  const auto* number = rejection(r, 6);
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(number->detail, "record: must be an object");
  const auto* id = rejection(r, 7);
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->detail, "id: required");
}

// -- Shopee -----------------------------------------------------------------------------------

TEST(ShopeeImporter, MapsACompletedOrderWithNumbersReadExactly) {
  auto r = import_orders(sales_platform::shopee, fixture("shopee.json"));
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto* o = at(r, 0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->order_id, "shopee-241201ABCD1234");
  EXPECT_EQ(o->customer_id, "258147369");
  EXPECT_EQ(o->customer_name, "siti.shop");
  EXPECT_EQ(o->currency, "MYR");
  ASSERT_EQ(o->lines.size(), 1u);
  EXPECT_EQ(o->lines[0].sku, "KOPI-500");
  EXPECT_EQ(o->lines[0].quantity, 2);
  EXPECT_EQ(o->lines[0].unit_price_minor, 4990);
  EXPECT_EQ(o->gross_minor, 9980);
  EXPECT_EQ(o->seller_discount_minor, 980 + 100); // item promotion + seller voucher
  EXPECT_EQ(o->platform_discount_minor, 10);
  EXPECT_EQ(o->shipping_minor, 490);
  EXPECT_EQ(o->final_minor, 9380);
  EXPECT_EQ(o->status, imported_status::completed);
  EXPECT_EQ(o->completed_at_ms, ms(1733644800));
}

TEST(ShopeeImporter, MapsACancelledOrderInAZeroDecimalCurrency) {
  auto r = import_orders(sales_platform::shopee, fixture("shopee.json"));
  const auto* o = at(r, 1);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::cancelled);
  EXPECT_EQ(o->currency, "VND");
  EXPECT_EQ(o->final_minor, 250000);
  EXPECT_EQ(o->cancelled_at_ms, ms(1733130000));
  EXPECT_EQ(o->cancel_reason, "Need to change delivery address");
  EXPECT_EQ(o->lines[0].sku, "3000002-77"); // no seller SKU: item and model ids
}

TEST(ShopeeImporter, MapsToReturnAsReturned) {
  auto r = import_orders(sales_platform::shopee, fixture("shopee.json"));
  const auto* o = at(r, 2);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::returned);
  EXPECT_EQ(o->cancelled_at_ms, ms(1733900000));
  EXPECT_EQ(o->final_minor, 3000);
}

TEST(ShopeeImporter, CountsAPartialItemPromotionAsTheSellers) {
  auto r = import_orders(sales_platform::shopee, fixture("shopee.json"));
  const auto* o = at(r, 3);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::pending);
  EXPECT_EQ(o->gross_minor, 2499);
  EXPECT_EQ(o->seller_discount_minor, 500);
  EXPECT_EQ(o->platform_discount_minor, 0); // no escrow detail attached
  EXPECT_EQ(o->final_minor, 1999);
}

TEST(ShopeeImporter, KeepsAnOrderInCancellationPending) {
  auto r = import_orders(sales_platform::shopee, fixture("shopee.json"));
  const auto* o = at(r, 4);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::pending);
  EXPECT_EQ(o->native_status, "IN_CANCEL");
}

TEST(ShopeeImporter, RejectsBadRecordsOneByOneAndKeepsTheRest) {
  auto r = import_orders(sales_platform::shopee, fixture("shopee.json"));
  EXPECT_EQ(r.batch.orders.size(), 5u);
  ASSERT_EQ(r.batch.rejected.size(), 3u);
  EXPECT_EQ(rejection(r, 5)->detail, "order_sn: required");
  EXPECT_EQ(rejection(r, 6)->code, "unknown_status");
  EXPECT_NE(rejection(r, 7)->detail.find("total_amount"), std::string::npos);
}

// -- Lazada -----------------------------------------------------------------------------------

TEST(LazadaImporter, MapsADeliveredOrderWithOffsetTimesAndGroupedAmounts) {
  auto r = import_orders(sales_platform::lazada, fixture("lazada.json"));
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto* o = at(r, 0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->order_id, "lazada-405678901234567");
  EXPECT_EQ(o->customer_name, "Mei Tan");
  EXPECT_EQ(o->currency, "MYR"); // from its items
  EXPECT_EQ(o->gross_minor, 129900);
  EXPECT_EQ(o->shipping_minor, 500);
  EXPECT_EQ(o->seller_discount_minor, 600);
  EXPECT_EQ(o->platform_discount_minor, 400);
  EXPECT_EQ(o->final_minor, 129900 + 500 - 1000);
  ASSERT_EQ(o->lines.size(), 2u);
  EXPECT_EQ(o->lines[1].unit_price_minor, 120000);
  EXPECT_EQ(o->status, imported_status::completed);
  EXPECT_EQ(o->order_date_ms, ms(1731290400)); // 2024-11-11T02:00:00Z
  EXPECT_EQ(o->utc_offset_min, 480);
  EXPECT_EQ(o->completed_at_ms, ms(1731546000)); // 2024-11-14T01:00:00Z
}

TEST(LazadaImporter, MapsCanceledAndReturnedOrders) {
  auto r = import_orders(sales_platform::lazada, fixture("lazada.json"));
  const auto* cancelled = at(r, 1);
  ASSERT_NE(cancelled, nullptr);
  EXPECT_EQ(cancelled->status, imported_status::cancelled);
  EXPECT_EQ(cancelled->currency, "PHP");
  EXPECT_EQ(cancelled->cancelled_at_ms, ms(1731299400)); // 2024-11-11T04:30:00Z
  const auto* returned = at(r, 2);
  ASSERT_NE(returned, nullptr);
  EXPECT_EQ(returned->status, imported_status::returned);
  EXPECT_EQ(returned->final_minor, 4550 + 199);
}

TEST(LazadaImporter, CountsAPartlyCancelledDeliveredOrderAsCompleted) {
  auto r = import_orders(sales_platform::lazada, fixture("lazada.json"));
  const auto* o = at(r, 3);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, imported_status::completed);
  EXPECT_EQ(o->native_status, "delivered,canceled");
  EXPECT_EQ(o->seller_discount_minor, 750);
  EXPECT_EQ(o->platform_discount_minor, 0);
  EXPECT_EQ(o->final_minor, 5250);
}

TEST(LazadaImporter, PlacesALocalMidnightOrderOnItsUtcInstant) {
  auto r = import_orders(sales_platform::lazada, fixture("lazada.json"));
  const auto* o = at(r, 4);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->order_date_ms, ms(1732987800)); // 2024-11-30T17:30:00Z: the day before in UTC
  EXPECT_EQ(o->utc_offset_min, 420);
  EXPECT_EQ(o->status, imported_status::pending);
  EXPECT_TRUE(o->lines.empty()); // GetOrders carries no items
}

TEST(LazadaImporter, RejectsBadRecordsOneByOneAndKeepsTheRest) {
  auto r = import_orders(sales_platform::lazada, fixture("lazada.json"));
  EXPECT_EQ(r.batch.orders.size(), 5u);
  ASSERT_EQ(r.batch.rejected.size(), 3u);
  EXPECT_NE(rejection(r, 5)->detail.find("created_at"), std::string::npos);
  EXPECT_EQ(rejection(r, 6)->code, "unknown_status");
  EXPECT_NE(rejection(r, 7)->detail.find("currency"), std::string::npos);
}

TEST(LazadaImporter, TakesTheShopCurrencyWhenTheOrderNamesNone) {
  import_options opts;
  opts.lazada_currency = "MYR";
  auto r = import_orders(sales_platform::lazada, fixture("lazada.json"), opts);
  const auto* o = at(r, 7);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->currency, "MYR");
  EXPECT_EQ(o->final_minor, 1000);
}

TEST(LazadaImporter, RejectsAVoucherThatDisagreesWithItsSplit) {
  auto r = import_orders(sales_platform::lazada, R"([{"order_id": 1, "currency": "MYR",
    "created_at": "2024-11-11 10:00:00 +0800", "updated_at": "2024-11-11 10:00:00 +0800",
    "price": "10.00", "voucher": "3.00", "voucher_seller": "1.00", "statuses": ["pending"]}])");
  ASSERT_EQ(r.batch.rejected.size(), 1u);
  EXPECT_NE(r.batch.rejected[0].detail.find("voucher"), std::string::npos);
}

TEST(MarketplaceBatch, RejectsACurrencyThatIsNotAnIsoCode) {
  // Three bytes are not a currency: "MY$" or "myr" would reach the totals and statistics as is.
  auto tiktok = import_orders(sales_platform::tiktok, R"([{"id": "1", "status": "COMPLETED",
    "create_time": 1733040000, "update_time": 1733040000, "payment": {"currency": "us$",
    "total_amount": "1.00"}, "line_items": [{"sku_id": "A", "original_price": "1.00"}]}])");
  ASSERT_EQ(tiktok.batch.rejected.size(), 1u);
  EXPECT_NE(tiktok.batch.rejected[0].detail.find("currency"), std::string::npos);
  auto shopee = import_orders(sales_platform::shopee, R"([{"order_sn": "S1", "currency": "myr",
    "order_status": "COMPLETED", "create_time": 1733040000, "update_time": 1733040000,
    "total_amount": 1, "item_list": [{"item_sku": "A", "model_quantity_purchased": 1,
    "model_original_price": 1}]}])");
  ASSERT_EQ(shopee.batch.rejected.size(), 1u);
  EXPECT_NE(shopee.batch.rejected[0].detail.find("currency"), std::string::npos);
  auto lazada = import_orders(sales_platform::lazada, R"([{"order_id": 1, "currency": "MY$",
    "created_at": "2024-11-11 10:00:00 +0800", "updated_at": "2024-11-11 10:00:00 +0800",
    "price": "10.00", "statuses": ["pending"]}])");
  ASSERT_EQ(lazada.batch.rejected.size(), 1u);
  EXPECT_NE(lazada.batch.rejected[0].detail.find("currency"), std::string::npos);
}

TEST(LazadaImporter, RejectsTimesBefore1970) {
  // TikTok and Shopee send Unix seconds, which cannot be negative; Lazada's dates must not be
  // either, or an order would land on a day of year 1012 in the statistics.
  auto r = import_orders(sales_platform::lazada, R"([{"order_id": 1, "currency": "MYR",
    "created_at": "1012-11-11 10:00:00 +0800", "updated_at": "2024-11-11 10:00:00 +0800",
    "price": "10.00", "statuses": ["pending"]}])");
  ASSERT_EQ(r.batch.rejected.size(), 1u);
  EXPECT_NE(r.batch.rejected[0].detail.find("created_at"), std::string::npos);
}

// No input crashes an importer: every prefix of every fixture, and every field of every record
// replaced by a value of each other JSON type, either maps or is rejected, index by index.
TEST(MarketplaceBatch, AnswersEveryMangledInputWithoutThrowing) {
  const std::pair<sales_platform, const char*> files[] = {{sales_platform::tiktok, "tiktok.json"},
                                                          {sales_platform::shopee, "shopee.json"},
                                                          {sales_platform::lazada, "lazada.json"}};
  const char* replacements[]
    = {"null", "-1", "0",    "1e400", "18446744073709551616", "\"\"", "\"x\"",
       "[]",   "{}", "true", "-0.5",  "\"\\u0000\""};
  for (const auto& [platform, name] : files) {
    auto text = fixture(name);
    for (size_t n = 0; n < text.size(); n += 7)
      EXPECT_NO_THROW(import_orders(platform, text.substr(0, n))) << name << " prefix " << n;
    auto doc = nlohmann::json::parse(text);
    for (size_t i = 0; i < doc.size(); ++i) {
      if (!doc[i].is_object())
        continue;
      for (const auto& [key, _] : doc[i].items()) {
        for (const char* r : replacements) {
          auto copy = doc;
          copy[i][key] = nlohmann::json::parse(r, nullptr, false, false);
          std::string body = copy.dump();
          if (copy[i][key].is_discarded()) { // 1e400: splice the text in by hand
            copy[i][key] = "@@";
            body = copy.dump();
            body.replace(body.find("\"@@\""), 4, r);
          }
          import_result res;
          ASSERT_NO_THROW(res = import_orders(platform, body)) << name << " " << key << " " << r;
          if (std::string_view{r} == "1e400") { // no double holds it: the body is refused
            EXPECT_EQ(res.error, "a number is out of range");
            continue;
          }
          ASSERT_TRUE(res.error.empty()) << res.error << " " << key << " " << r;
          EXPECT_EQ(res.batch.orders.size() + res.batch.rejected.size(), doc.size());
        }
      }
    }
  }
}
