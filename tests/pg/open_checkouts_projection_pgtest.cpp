// The open checkouts projection (adapters/pg/open_checkouts_projection.cpp): the checkouts a
// restarted node must wake. Rebuilt from scratch it equals the incrementally kept table; its
// offset survives a restart; and the list read at start-up includes a checkout started just
// before a crash, whatever the runner had applied.

#include "adapters/pg/recovery.hpp"
#include "tests/support/projection_fixture.hpp"

#include <set>

namespace mercato::test {
namespace {

class OpenCheckoutsProjection : public projection_test {
protected:
  std::string projection_name() const override {
    return "checkouts_open";
  }

  std::string table() {
    return dump("checkouts_open", "checkout_id");
  }

  std::set<std::string> open_list() {
    auto ids = pg::open_checkouts(url());
    return {ids.begin(), ids.end()};
  }

  // Checkouts that complete, fail, fail owing compensation and get compensated, are retried, or
  // stay open; between cart events the projection does not read.
  void write_history() {
    auto ev = [](std::string type, std::vector<std::string> owed = {}) {
      return caf::make_message(checkout_ev(std::move(type), std::move(owed)));
    };
    append("checkout", "co-open", 1, {ev("started")});
    cart_event created;
    created.type = "created";
    created.customer_id = "ada";
    append("cart", "cart-1", 1, {caf::make_message(created)});
    append("checkout", "co-placed", 1, {ev("started"), ev("order_placed")});
    append("checkout", "co-done", 1, {ev("started")});
    append("checkout", "co-done", 2, {ev("order_placed"), ev("completed")});
    append("checkout", "co-failed", 1, {ev("started"), ev("failed")});
    append("checkout", "co-owes", 1, {ev("started")});
    append("checkout", "co-owes", 2, {ev("failed", {"payment:co-owes"})});
    append("checkout", "co-owed-paid", 1, {ev("started"), ev("failed", {"stock:mug"})});
    append("checkout", "co-owed-paid", 3, {ev("compensated")});
    append("checkout", "co-retried", 1, {ev("started"), ev("failed")});
    append("checkout", "co-retried", 3, {ev("started")});
  }
};

TEST_F(OpenCheckoutsProjection, RebuiltFromScratchEqualsTheIncrementallyKeptTable) {
  batch = 2;
  stop_runner();
  start_runner();
  write_history();
  ASSERT_TRUE(synced());
  EXPECT_EQ(scalar<std::string>(
              "SELECT string_agg(checkout_id, ',' ORDER BY checkout_id) FROM checkouts_open"),
            "co-open,co-owes,co-placed,co-retried");
  auto incremental = table();
  EXPECT_EQ(pg::rebuild_projection(url(), "checkouts_open"),
            static_cast<size_t>(journaled("checkout")));
  EXPECT_EQ(table(), incremental);
}

TEST_F(OpenCheckoutsProjection, OffsetSurvivesARestartAndNoEventIsAppliedTwice) {
  write_history();
  ASSERT_TRUE(synced());
  stop_runner();
  auto applied_before = metric("applied");
  append("checkout", "co-open", 2, {caf::make_message(checkout_ev("completed"))});
  append("checkout", "co-owes", 3, {caf::make_message(checkout_ev("compensated"))});
  start_runner();
  ASSERT_TRUE(synced());
  EXPECT_EQ(applied(), journaled("checkout")) << "an event was applied twice or not at all";
  EXPECT_EQ(metric("applied") - applied_before, 2);
  EXPECT_EQ(open_list(), (std::set<std::string>{"co-placed", "co-retried"}));
}

// A node that crashed right after a checkout's `started` committed: no runner applied it, yet
// the list the restarted node reads holds it, because reading it catches the projection up.
TEST_F(OpenCheckoutsProjection, TheStartUpListHoldsACheckoutStartedJustBeforeACrash) {
  stop_runner();
  auto crashed_node = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
  persist_request req{"checkout", "co-crash", 1, {caf::make_message(checkout_ev("started"))},
                      {},         "r"};
  ASSERT_TRUE(ask<uint64_t>(crashed_node, atom::append_v, std::move(req)));
  caf::anon_send_exit(crashed_node, caf::exit_reason::kill);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM checkouts_open"), 0) << "not applied yet";
  EXPECT_EQ(open_list(), (std::set<std::string>{"co-crash"}));
  EXPECT_EQ(applied(), 1);
}

} // namespace
} // namespace mercato::test
