// The daily statistics projection (adapters/pg/daily_stats_projection.cpp) against a real
// PostgreSQL: kept incrementally from order events it equals the table rebuilt from the journal,
// a from-scratch SQL aggregation over the orders' contributions, and the statistics the test
// computes itself from the orders it wrote; a late cancellation restates the order's own day.

#include "actors/order/order_rules.hpp"
#include "adapters/pg/stats_store.hpp"
#include "tests/support/projection_fixture.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <tuple>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

constexpr int64_t day_ms = 86400000;
constexpr int64_t t0 = 1733011200000; // 2024-12-01T00:00:00Z

// One order's final state as the test wrote it.
struct written_order {
  std::string day;
  std::string platform;
  std::string currency;
  std::string status; // pending | completed | cancelled | returned
  int64_t gross = 0;
  int64_t discount = 0;
  int64_t final_amount = 0;
};

class DailyStatsProjection : public projection_test {
protected:
  std::string projection_name() const override {
    return "daily_stats";
  }

  std::string table() {
    return dump("daily_stats", "stat_date, platform, currency");
  }

  // The statistics of API.md, aggregated from scratch over the orders' contributions (the query
  // `tools/dev stats-check` runs).
  std::string aggregated() {
    static const std::string query =
#include "tools/stats/daily_stats_aggregate.sql"
      ;
    return scalar<std::string>(
      "SELECT COALESCE(string_agg(t::text, E'\\n' ORDER BY stat_date, platform, currency), '') "
      "FROM ("
      + query + ") t");
  }

  // The same statistics from what the test wrote, in the text form of daily_stats rows.
  std::string expected() const {
    std::map<std::tuple<std::string, std::string, std::string>, std::array<int64_t, 8>> rows;
    for (const auto& [id, o] : orders) {
      auto& r = rows[{o.day, o.platform, o.currency}];
      bool lost = o.status == "cancelled" || o.status == "returned";
      r[0] += 1;
      r[1] += o.status == "completed";
      r[2] += o.status == "cancelled";
      r[3] += o.status == "returned";
      r[4] += o.status == "pending";
      r[5] += lost ? 0 : o.gross;
      r[6] += o.status == "completed" ? o.final_amount : 0;
      r[7] += lost ? 0 : o.discount;
    }
    std::string out;
    for (const auto& [key, r] : rows) {
      if (!out.empty())
        out += '\n';
      out += "(" + std::get<0>(key) + "," + std::get<1>(key) + "," + std::get<2>(key);
      for (auto v : r)
        out += "," + std::to_string(v);
      out += ")";
    }
    return out;
  }

  static imported_order market(sales_platform platform, const std::string& code,
                               imported_status status, int64_t order_date_ms, int64_t updated_ms,
                               int64_t gross, int64_t discount) {
    imported_order o;
    o.platform = platform;
    o.order_code = code;
    o.order_id = to_string(platform) + "-" + code;
    o.currency = platform == sales_platform::shopee ? "MYR" : "USD";
    o.gross_minor = gross;
    o.seller_discount_minor = discount / 2;
    o.platform_discount_minor = discount - discount / 2;
    o.final_minor = gross - discount + 100;
    o.status = status;
    o.order_date_ms = order_date_ms;
    o.updated_at_ms = updated_ms;
    return o;
  }

  // Imports (or updates) a marketplace order through the order rules, as the entity would.
  void import(const imported_order& o, int64_t at_ms) {
    auto& s = states[o.order_id];
    auto d = order::decide_import(s, o, at_ms);
    ASSERT_TRUE(d);
    if (d->empty())
      return;
    std::vector<caf::message> msgs;
    for (const auto& e : *d) {
      order::apply(s, e);
      msgs.push_back(caf::make_message(e));
    }
    append("order", o.order_id, next_seq(o.order_id, d->size()), std::move(msgs));
    auto date = util_day(o.order_date_ms);
    orders[o.order_id] = {date,          to_string(o.platform),
                          o.currency,    to_string(o.status),
                          o.gross_minor, o.seller_discount_minor + o.platform_discount_minor,
                          o.final_minor};
  }

  void web_order(const std::string& id, int64_t at_ms, int64_t subtotal, int64_t discount) {
    auto e = placed(id, "ada", subtotal - discount, at_ms);
    e.placement.sums.subtotal_minor = subtotal;
    e.placement.sums.discount_minor = discount;
    append("order", id, next_seq(id, 1), {caf::make_message(e)});
    orders[id]
      = {util_day(at_ms), "web", "EUR", "pending", subtotal, discount, subtotal - discount};
  }

  void web_change(const std::string& id, const std::string& type, const std::string& status,
                  int64_t at_ms, const std::string& counted_as) {
    append("order", id, next_seq(id, 1), {caf::make_message(order_ev(type, status, at_ms))});
    orders[id].status = counted_as;
  }

  uint64_t next_seq(const std::string& id, size_t n) {
    auto& s = seqs[id];
    auto first = s + 1;
    s += n;
    return first;
  }

  static std::string util_day(int64_t ms) {
    auto days = ms / day_ms; // the test's times are after 1970
    auto civil = std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{days}}};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(civil.year()),
                  static_cast<unsigned>(civil.month()), static_cast<unsigned>(civil.day()));
    return buf;
  }

  // Orders over three days and four platforms; a quarter change days later (completed,
  // cancelled, returned), some imports are replayed or older, web orders move on and cancel.
  void write_history(int n) {
    const std::array<sales_platform, 3> platforms{sales_platform::tiktok, sales_platform::shopee,
                                                  sales_platform::lazada};
    for (int i = 0; i < n; ++i) {
      auto day = t0 + (i % 3) * day_ms + (i * 7919) % day_ms;
      if (i % 4 == 3) {
        web_order("ord-" + std::to_string(i), day, 1000 + i, i % 2 == 0 ? 100 : 0);
        continue;
      }
      auto o = market(platforms[i % 3], "c" + std::to_string(i), imported_status::pending, day,
                      day + 1000, 2000 + 10 * i, i % 5 == 0 ? 300 : 0);
      import(o, day + 2000);
    }
    for (int i = 0; i < n; ++i) {
      auto later = t0 + 5 * day_ms + i * 1000;
      if (i % 4 == 3) {
        auto id = "ord-" + std::to_string(i);
        if (i % 8 == 3)
          web_change(id, "cancelled", "cancelled", later, "cancelled");
        else
          web_change(id, "fact_recorded", "delivered", later, "completed");
        continue;
      }
      auto day = t0 + (i % 3) * day_ms + (i * 7919) % day_ms;
      auto o = market(platforms[i % 3], "c" + std::to_string(i), imported_status::pending, day,
                      day + 1000, 2000 + 10 * i, i % 5 == 0 ? 300 : 0);
      if (i % 3 == 0) {
        o.status = i % 2 == 0 ? imported_status::completed : imported_status::cancelled;
        o.updated_at_ms = later;
        import(o, later);
        import(o, later + 1); // replayed: nothing
      } else if (i % 5 == 1) {
        o.status = imported_status::returned;
        o.updated_at_ms = later;
        import(o, later);
        auto older = o;
        older.status = imported_status::completed;
        older.updated_at_ms = later - 1;
        import(older, later + 1); // older: nothing
      }
    }
  }

  std::map<std::string, order::state> states;
  std::map<std::string, uint64_t> seqs;
  std::map<std::string, written_order> orders;
};

TEST_F(DailyStatsProjection, RebuiltAndAggregatedFromScratchEqualTheIncrementallyKeptTable) {
  batch = 7; // many rounds, and batches that end in the middle of an order's events
  stop_runner();
  start_runner();
  write_history(48);
  ASSERT_TRUE(synced());
  auto incremental = table();
  ASSERT_FALSE(incremental.empty());
  EXPECT_EQ(incremental, expected());
  EXPECT_EQ(aggregated(), incremental);
  EXPECT_EQ(pg::rebuild_projection(url(), "daily_stats"), static_cast<size_t>(journaled("order")));
  EXPECT_EQ(table(), incremental);
  EXPECT_EQ(applied(), journaled("order"));
}

TEST_F(DailyStatsProjection, ALateCancellationRestatesTheOrdersOwnDay) {
  auto o = market(sales_platform::tiktok, "late", imported_status::pending, t0 + 3600000,
                  t0 + 3600000, 5000, 500);
  import(o, t0 + 3600000);
  ASSERT_TRUE(synced());
  EXPECT_EQ(table(), "(2024-12-01,tiktok,USD,1,0,0,0,1,5000,0,500)");
  o.status = imported_status::cancelled;
  o.updated_at_ms = t0 + 6 * day_ms;
  import(o, t0 + 6 * day_ms);
  ASSERT_TRUE(synced());
  EXPECT_EQ(table(), "(2024-12-01,tiktok,USD,1,0,1,0,0,0,0,0)");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM order_stat_contributions"), 1);
}

TEST_F(DailyStatsProjection, AWebOrderCountsOnItsPlacementDayUntilDelivered) {
  web_order("ord-w", t0 + day_ms + 5, 1200, 200);
  ASSERT_TRUE(synced());
  EXPECT_EQ(table(), "(2024-12-02,web,EUR,1,0,0,0,1,1200,0,200)");
  web_change("ord-w", "fact_recorded", "delivered", t0 + 4 * day_ms, "completed");
  ASSERT_TRUE(synced());
  EXPECT_EQ(table(), "(2024-12-02,web,EUR,1,1,0,0,0,1200,1000,200)");
  EXPECT_EQ(table(), expected());
}

// A reader that holds rows asks whether they are still current: the store answers `unchanged`
// (without rows) until an order change reaches the statistics, or anyone writes the table.
TEST_F(DailyStatsProjection, TheStoreTellsAReaderWhoseRowsAreStillCurrent) {
  auto store = pg::spawn_stats_store(sys(), url(), 1, runner, std::chrono::seconds{5});
  auto search = [&](std::string unless) {
    auto page = ask<daily_stats_page>(
      store, atom::search_v, daily_stats_query{"2024-12-01", "2024-12-31", "", std::move(unless)});
    EXPECT_TRUE(page) << render(page.error());
    return page ? *page : daily_stats_page{};
  };
  web_order("ord-v", t0 + 5, 1200, 0);
  auto first = search("");
  ASSERT_FALSE(first.unchanged);
  ASSERT_EQ(first.rows.size(), 1u);
  EXPECT_FALSE(first.version.empty());

  auto again = search(first.version);
  EXPECT_TRUE(again.unchanged);
  EXPECT_TRUE(again.rows.empty());
  EXPECT_EQ(again.version, first.version);

  // A change waits for the projection, then comes with a new version.
  web_change("ord-v", "fact_recorded", "delivered", t0 + day_ms, "completed");
  auto changed = search(first.version);
  EXPECT_FALSE(changed.unchanged);
  EXPECT_NE(changed.version, first.version);
  ASSERT_EQ(changed.rows.size(), 1u);
  EXPECT_EQ(changed.rows[0].completed_orders, 1);

  // A write that bypasses the projection changes the version too.
  query("UPDATE daily_stats SET total_orders = total_orders + 1");
  auto patched = search(changed.version);
  EXPECT_FALSE(patched.unchanged);
  ASSERT_EQ(patched.rows.size(), 1u);
  EXPECT_EQ(patched.rows[0].total_orders, 2);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
}

// The shop's time zone names the days: 20:30 UTC on 1 December is already 2 December in Ho Chi
// Minh City (UTC+7) and still 1 December in New York. A new zone recounts every bucket at once;
// the same zone again changes nothing; a zone PostgreSQL does not know is refused.
TEST_F(DailyStatsProjection, OrdersCountOnTheirDayInTheShopsTimeZone) {
  auto evening = t0 + 20 * 3600000 + 30 * 60000; // 2024-12-01T20:30:00Z
  import(market(sales_platform::tiktok, "tz", imported_status::pending, evening, evening, 3000, 0),
         evening);
  web_order("ord-tz", evening, 1000, 0);
  ASSERT_TRUE(synced());
  EXPECT_EQ(table(), "(2024-12-01,tiktok,USD,1,0,0,0,1,3000,0,0)\n"
                     "(2024-12-01,web,EUR,1,0,0,0,1,1000,0,0)");

  stop_runner(); // a node changes its zone at start, before its projections run
  EXPECT_EQ(pg::use_stats_time_zone(url(), "Asia/Ho_Chi_Minh"), "");
  EXPECT_EQ(table(), "(2024-12-02,tiktok,USD,1,0,0,0,1,3000,0,0)\n"
                     "(2024-12-02,web,EUR,1,0,0,0,1,1000,0,0)");
  EXPECT_EQ(aggregated(), table());
  start_runner();
  // Kept incrementally in the new zone too: a second order that evening joins the 2nd.
  web_order("ord-tz2", evening + 60000, 500, 0);
  ASSERT_TRUE(synced());
  EXPECT_EQ(table(), "(2024-12-02,tiktok,USD,1,0,0,0,1,3000,0,0)\n"
                     "(2024-12-02,web,EUR,2,0,0,0,2,1500,0,0)");

  stop_runner();
  EXPECT_EQ(pg::use_stats_time_zone(url(), "America/New_York"), "");
  EXPECT_EQ(table(), "(2024-12-01,tiktok,USD,1,0,0,0,1,3000,0,0)\n"
                     "(2024-12-01,web,EUR,2,0,0,0,2,1500,0,0)");
  // The same zone again recounts nothing: the offset row is not written again.
  auto offset_version = [&] {
    return scalar<std::string>(
      "SELECT xmin::text FROM projection_offsets WHERE name = 'daily_stats'");
  };
  auto before = offset_version();
  EXPECT_EQ(pg::use_stats_time_zone(url(), "America/New_York"), "");
  EXPECT_EQ(offset_version(), before);
  auto refused = pg::use_stats_time_zone(url(), "Mars/Olympus_Mons");
  EXPECT_NE(refused.find("Mars/Olympus_Mons"), std::string::npos) << refused;
  EXPECT_EQ(scalar<std::string>("SELECT time_zone FROM stats_settings"), "America/New_York");
  start_runner();
}

} // namespace
} // namespace mercato::test
