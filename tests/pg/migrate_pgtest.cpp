#include "adapters/pg/migrate.hpp"

#include "tests/support/pg_fixture.hpp"

#include <thread>

namespace mercato::test {
namespace {

using Migrate = pg_test;

TEST_F(Migrate, EmbedsTheSqlFilesInVersionOrder) {
  const auto& all = pg::migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().version, 1);
  EXPECT_EQ(all.front().name, "0001_init");
  EXPECT_NE(all.front().sql.find("CREATE TABLE journal"), std::string::npos);
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1].version, all[i].version);
}

TEST_F(Migrate, IsIdempotentAndRecordsEachVersion) {
  EXPECT_EQ(pg::migrate(url()), "");
  EXPECT_EQ(pg::migrate(url()), "");
  auto rows = query("SELECT version, name, applied_at IS NOT NULL FROM schema_migrations "
                    "ORDER BY version");
  ASSERT_EQ(rows.size(), pg::migrations().size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0].as<int>(), pg::migrations()[i].version);
    EXPECT_EQ(rows[i][1].as<std::string>(), pg::migrations()[i].name);
    EXPECT_TRUE(rows[i][2].as<bool>());
  }
  for (auto table : {"journal", "snapshots", "outbox_delivery", "products"})
    EXPECT_EQ(
      scalar<int>(std::string{"SELECT count(*) FROM pg_tables WHERE tablename = '"} + table + "'"),
      1)
      << table;
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM pg_indexes WHERE indexname IN "
                        "('journal_position_idx', 'products_search_idx', "
                        "'products_category_sku_idx')"),
            3);
  // The journal is the outbox (0009): no table of its own.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM pg_tables WHERE tablename = 'outbox'"), 0);
}

TEST_F(Migrate, ConcurrentProcessesApplyEachVersionOnce) {
  std::string a = "unset";
  std::string b = "unset";
  std::thread ta{[&] { a = pg::migrate(url()); }};
  std::thread tb{[&] { b = pg::migrate(url()); }};
  ta.join();
  tb.join();
  EXPECT_EQ(a, "");
  EXPECT_EQ(b, "");
  EXPECT_EQ(scalar<size_t>("SELECT count(*) FROM schema_migrations"), pg::migrations().size());
}

TEST_F(Migrate, ReportsAnUnreachableDatabaseWithoutThePassword) {
  auto err = pg::migrate("host=/nonexistent/socket/dir dbname=x user=nobody password=hunter2");
  EXPECT_NE(err, "");
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

} // namespace
} // namespace mercato::test
