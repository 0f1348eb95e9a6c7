#include "adapters/pg/product_store.hpp"

#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

#include <set>

namespace mercato::test {
namespace {

class ProductStore : public migrated_pg_test {
protected:
  void spawn_actors() override {
    store = pg::spawn_product_store(sys(), url(), 2);
  }

  void TearDown() override {
    // Handles first: the actor system waits for every actor before it goes away.
    store = nullptr;
    pg_test::TearDown();
  }

  static product make(const std::string& sku, const std::string& name,
                      const std::string& category = "shoes", const std::string& description = "") {
    product p;
    p.sku = sku;
    p.name = name;
    p.description = description;
    p.category = category;
    p.seller_id = "seller-1";
    p.price_minor = 1999;
    p.currency = "EUR";
    return p;
  }

  product_put_result put(const product& p) {
    auto res = ask<product_put_result>(store, atom::put_v, p);
    EXPECT_TRUE(res) << render(res.error());
    return res ? *res : product_put_result{};
  }

  caf::expected<product_page> search(std::string q, std::string category, int32_t limit,
                                     std::string cursor = "") {
    product_query query;
    query.q = std::move(q);
    query.category = std::move(category);
    query.limit = limit;
    query.cursor = std::move(cursor);
    return ask<product_page>(store, atom::search_v, query);
  }

  product_store_actor store;
};

TEST_F(ProductStore, PutCreatesThenReplacesWithANewVersion) {
  auto created = put(make("sku-1", "Red Shoe"));
  EXPECT_TRUE(created.created);
  EXPECT_EQ(created.item.version, 1u);
  EXPECT_EQ(created.item.name, "Red Shoe");
  EXPECT_EQ(created.item.currency, "EUR");
  EXPECT_GT(created.item.created_at_ms, 1600000000000);
  EXPECT_EQ(created.item.created_at_ms, created.item.updated_at_ms);
  auto changed = make("sku-1", "Red Shoe v2");
  changed.price_minor = 2499;
  auto replaced = put(changed);
  EXPECT_FALSE(replaced.created);
  EXPECT_EQ(replaced.item.version, 2u);
  EXPECT_EQ(replaced.item.price_minor, 2499);
  EXPECT_EQ(replaced.item.created_at_ms, created.item.created_at_ms);
  EXPECT_GE(replaced.item.updated_at_ms, created.item.updated_at_ms);
  auto got = ask<product>(store, atom::get_v, std::string{"sku-1"});
  ASSERT_TRUE(got) << render(got.error());
  EXPECT_EQ(got->name, "Red Shoe v2");
  EXPECT_EQ(got->version, 2u);
  EXPECT_EQ(got->seller_id, "seller-1");
}

TEST_F(ProductStore, GetOfAnUnknownSkuIsNotFound) {
  auto got = ask<product>(store, atom::get_v, std::string{"nope"});
  ASSERT_FALSE(got);
  EXPECT_EQ(errc_of(got.error()), mercato_errc::not_found);
}

TEST_F(ProductStore, PutRefusesInvalidProducts) {
  auto bad_currency = make("sku-1", "x");
  bad_currency.currency = "euro";
  auto negative = make("sku-2", "x");
  negative.price_minor = -1;
  for (const auto& p : {bad_currency, negative, make("", "x"), make("sku-3", ""),
                        make("sku-4", std::string{"a\0b", 3}), make("sku-5", "\xc3\x28")}) {
    auto res = ask<product_put_result>(store, atom::put_v, p);
    ASSERT_FALSE(res);
    EXPECT_EQ(errc_of(res.error()), mercato_errc::invalid_request) << render(res.error());
  }
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM products"), 0);
}

TEST_F(ProductStore, SearchPagesThroughEverythingInSkuOrder) {
  for (int i = 0; i < 25; ++i) {
    char sku[16];
    std::snprintf(sku, sizeof(sku), "p-%03d", i);
    put(make(sku, "Product " + std::to_string(i), i % 2 == 0 ? "shoes" : "hats"));
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = search("", "", 10, cursor);
    ASSERT_TRUE(page) << render(page.error());
    ++pages;
    for (const auto& p : page->items)
      seen.push_back(p.sku);
    cursor = page->next_cursor;
    EXPECT_LE(page->items.size(), 10u);
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25u);
  // Category filter with a cursor.
  auto hats = search("", "hats", 5);
  ASSERT_TRUE(hats);
  ASSERT_EQ(hats->items.size(), 5u);
  for (const auto& p : hats->items)
    EXPECT_EQ(p.category, "hats");
  auto more_hats = search("", "hats", 100, hats->next_cursor);
  ASSERT_TRUE(more_hats);
  EXPECT_EQ(more_hats->items.size(), 7u); // 12 odd numbers below 25
  EXPECT_EQ(more_hats->next_cursor, "");
  EXPECT_GT(more_hats->items.front().sku, hats->items.back().sku);
}

TEST_F(ProductStore, SearchIsFullTextOverNameDescriptionAndCategory) {
  put(make("a-1", "Red running shoe", "shoes", "Light and fast"));
  put(make("a-2", "Blue running shoe", "shoes", "Waterproof"));
  put(make("a-3", "Red wool hat", "hats", "Warm for winter"));
  put(make("a-4", "Green scarf", "accessories", "Soft red stripes"));
  auto skus = [&](const std::string& q, const std::string& category = "") {
    std::vector<std::string> out;
    auto page = search(q, category, 100);
    EXPECT_TRUE(page) << render(page.error());
    if (page)
      for (const auto& p : page->items)
        out.push_back(p.sku);
    return out;
  };
  using v = std::vector<std::string>;
  EXPECT_EQ(skus("red"), (v{"a-1", "a-3", "a-4"}));
  EXPECT_EQ(skus("RED shoe"), (v{"a-1"}));
  EXPECT_EQ(skus("running -blue"), (v{"a-1"}));
  EXPECT_EQ(skus("\"wool hat\""), (v{"a-3"}));
  EXPECT_EQ(skus("waterproof or winter"), (v{"a-2", "a-3"}));
  EXPECT_EQ(skus("red", "hats"), (v{"a-3"}));
  EXPECT_EQ(skus("accessories"), (v{"a-4"}));
  EXPECT_EQ(skus("a-2"), (v{"a-2"}));
  EXPECT_EQ(skus("nothing-matches-this"), v{});
  EXPECT_EQ(skus("\" & | ! :*"), v{}); // operators are text to websearch_to_tsquery
}

TEST_F(ProductStore, SearchRefusesBadLimitsAndCursors) {
  for (int32_t limit : {0, -1, 101}) {
    auto res = search("", "", limit);
    ASSERT_FALSE(res);
    EXPECT_EQ(errc_of(res.error()), mercato_errc::invalid_request);
  }
  for (std::string cursor : {"!!", "a", "%%%"}) {
    auto res = search("", "", 10, cursor);
    ASSERT_FALSE(res) << cursor;
    EXPECT_EQ(errc_of(res.error()), mercato_errc::invalid_request);
  }
}

TEST_F(ProductStore, PingTellsWhetherTheDatabaseAnswers) {
  auto ok = ask<bool>(store, atom::ping_v);
  ASSERT_TRUE(ok) << render(ok.error());
  EXPECT_TRUE(*ok);
  auto broken = pg::spawn_product_store(sys(), "host=/nonexistent/dir dbname=x user=nobody", 1);
  auto down = ask<bool>(broken, atom::ping_v);
  ASSERT_FALSE(down);
  EXPECT_EQ(errc_of(down.error()), mercato_errc::storage_unavailable);
}

} // namespace
} // namespace mercato::test
