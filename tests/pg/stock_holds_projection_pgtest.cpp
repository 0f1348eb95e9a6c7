// The open holds projection (adapters/pg/stock_holds_projection.cpp): the stock items a node
// wakes after a crash or a takeover, so that their holds' timers run again. Rebuilt from scratch
// it equals the incrementally kept table, whatever the batches; and the list read at start-up
// holds an item reserved just before a crash, whatever the runner had applied.

#include "adapters/pg/recovery.hpp"
#include "tests/support/projection_fixture.hpp"

#include <set>

namespace mercato::test {
namespace {

class StockHoldsProjection : public projection_test {
protected:
  std::string projection_name() const override {
    return "stock_holds";
  }

  std::string table() {
    return dump("stock_holds_open", "sku, reservation_id");
  }

  std::set<std::string> wake_list() {
    auto skus = pg::skus_with_holds(url());
    return {skus.begin(), skus.end()};
  }

  static caf::message ev(stock_event_type type, std::string id = {}, int64_t qty = 0,
                         int64_t expires_at_ms = 0) {
    stock_event e;
    e.type = type;
    e.reservation_id = std::move(id);
    e.qty = qty;
    e.expires_at_ms = expires_at_ms;
    e.at_ms = 1700000000000;
    return caf::make_message(e);
  }

  // Holds that stay open, are committed, released or expire (in the batch that took them or a
  // later one), a late sale of an expired hold, and a hold id taken again after it closed.
  void write_history() {
    using t = stock_event_type;
    append("stock", "mug", 1,
           {ev(t::on_hand_set), ev(t::reserved, "h-open", 1, 1700000900000),
            ev(t::reserved, "h-sold", 2, 1700000900000)});
    append("stock", "mug", 4, {ev(t::committed, "h-sold", 2)});
    append("stock", "cup", 1,
           {ev(t::on_hand_set), ev(t::reserved, "h-quick", 1, 1700000900000),
            ev(t::released, "h-quick", 1)});
    append("stock", "cup", 4,
           {ev(t::reserved, "h-late", 1, 1700000900000), ev(t::adjusted, {}, 0)});
    append("stock", "cup", 6, {ev(t::expired, "h-late", 1), ev(t::committed, "h-late", 1)});
    append("stock", "pen", 1, {ev(t::on_hand_set), ev(t::reserved, "h-again", 1, 1700000900000)});
    append("stock", "pen", 3, {ev(t::expired, "h-again", 1)});
    append("stock", "pen", 4, {ev(t::reserved, "h-again", 3, 1700001800000)});
    append("stock", "ink", 1, {ev(t::on_hand_set), ev(t::reserved, "h-gone", 1, 1700000900000)});
    append("stock", "ink", 3, {ev(t::released, "h-gone", 1)});
  }
};

TEST_F(StockHoldsProjection, EveryBatchSizeKeepsTheTableARebuildMakes) {
  write_history();
  for (int b : {1, 2, 3, 500}) {
    SCOPED_TRACE("batch " + std::to_string(b));
    // The runner applies the whole history again, `b` events a round.
    stop_runner();
    query("DELETE FROM stock_holds_open; DELETE FROM projection_offsets WHERE name = "
          "'stock_holds'");
    batch = b;
    start_runner();
    ASSERT_TRUE(synced());
    EXPECT_EQ(scalar<std::string>("SELECT string_agg(sku || ':' || reservation_id || '@' || "
                                  "(extract(epoch FROM expires_at) * 1000)::bigint, ',' "
                                  "ORDER BY sku, reservation_id) FROM stock_holds_open"),
              "mug:h-open@1700000900000,pen:h-again@1700001800000");
    EXPECT_EQ(applied(), journaled("stock"));
    auto incremental = table();
    EXPECT_EQ(pg::rebuild_projection(url(), "stock_holds"),
              static_cast<size_t>(journaled("stock")));
    EXPECT_EQ(table(), incremental);
  }
}

// A node that crashed right after a reservation committed: no runner applied it, yet the list
// the node taking over reads holds the item, because reading it catches the projection up.
TEST_F(StockHoldsProjection, TheWakeListHoldsAnItemReservedJustBeforeACrash) {
  write_history();
  ASSERT_TRUE(synced());
  stop_runner();
  auto crashed_node = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
  persist_request req{
    "stock", "ink", 4, {ev(stock_event_type::reserved, "h-crash", 1, 1700000900000)}, {}, "r"};
  ASSERT_TRUE(ask<uint64_t>(crashed_node, atom::append_v, std::move(req)));
  caf::anon_send_exit(crashed_node, caf::exit_reason::kill);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM stock_holds_open WHERE sku = 'ink'"), 0)
    << "not applied yet";
  EXPECT_EQ(wake_list(), (std::set<std::string>{"ink", "mug", "pen"}));
  EXPECT_EQ(applied(), journaled("stock"));
}

} // namespace
} // namespace mercato::test
