// The orders read model's next delay check (migration 0006), as the journal projects it from
// order events, and the query the delay sweeper wakes orders by.

#include "adapters/pg/delay_sweeper.hpp"

#include "adapters/pg/journal.hpp"
#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

namespace mercato::test {
namespace {

class DelaySweeper : public migrated_pg_test {
protected:
  void spawn_actors() override {
    journal = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
  }

  void TearDown() override {
    journal = nullptr;
    pg_test::TearDown();
  }

  // Appends `events` to order `id` from `first_seq`.
  void append(const std::string& id, uint64_t first_seq, std::vector<order_event> events) {
    persist_request req;
    req.kind = "order";
    req.entity_id = id;
    req.first_seq = first_seq;
    for (auto& e : events)
      req.events.push_back(caf::make_message(std::move(e)));
    auto res = ask<uint64_t>(journal, atom::append_v, std::move(req));
    ASSERT_TRUE(res) << render(res.error());
  }

  void place(const std::string& id, int64_t next_check_ms) {
    order_event e;
    e.type = "placed";
    e.placement.order_id = id;
    e.placement.customer_id = "ada";
    e.placement.sums.currency = "USD";
    e.placement.lines.push_back(cart_line{"a", "A", 1, 100});
    e.status = "paid";
    e.status_after = "paid";
    e.at_ms = 1'700'000'000'000;
    e.next_check_ms = next_check_ms;
    append(id, 1, {e});
  }

  int64_t next_check_of(const std::string& id) {
    catch_up("orders");
    pqxx::connection conn{url()};
    pqxx::nontransaction tx{conn};
    return tx.exec_params("SELECT next_check_ms FROM orders WHERE order_id = $1", id)[0][0]
      .as<int64_t>();
  }

  std::vector<std::string> due(const pg::sweep_position& after, int64_t upto_ms, int limit = 10) {
    catch_up("orders");
    std::vector<std::string> out;
    for (const auto& d : pg::orders_due(url(), after, upto_ms, limit))
      out.push_back(d.order_id);
    return out;
  }

  journal_actor journal;
};

order_event with_check(std::string type, int64_t next_check_ms, int64_t at_ms) {
  order_event e;
  e.type = std::move(type);
  e.status_after = "paid";
  e.at_ms = at_ms;
  e.next_check_ms = next_check_ms;
  if (e.type == "fact_recorded") {
    e.fact.seq = 1;
    e.fact.type = "delay_warning";
    e.fact.source = "mercato";
    e.fact.external_id = "delay_warning:paid";
  }
  return e;
}

TEST_F(DelaySweeper, TheReadModelKeepsTheNewestScheduledCheck) {
  place("o1", 5000);
  EXPECT_EQ(next_check_of("o1"), 5000);
  append("o1", 2, {with_check("fact_recorded", 0, 1'700'000'000'100)});
  EXPECT_EQ(next_check_of("o1"), 0);
  append("o1", 3, {with_check("checks_rescheduled", 9000, 1'700'000'000'200)});
  EXPECT_EQ(next_check_of("o1"), 9000);
  // Several in one append: the newest wins.
  append("o1", 4,
         {with_check("status_changed", 100, 1'700'000'000'300),
          with_check("checks_rescheduled", 200, 1'700'000'000'400)});
  EXPECT_EQ(next_check_of("o1"), 200);
}

TEST_F(DelaySweeper, DueOrdersComeInCheckOrderAfterThePosition) {
  place("a", 3000);
  place("b", 1000);
  place("c", 2000);
  place("d", 2000);
  place("none", 0);
  place("later", 9000);
  EXPECT_EQ(due({}, 2500), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(due({}, 2000, 2), (std::vector<std::string>{"b", "c"}));
  // Going on from the last one woken, ties broken by order id.
  EXPECT_EQ(due({2000, "c"}, 5000), (std::vector<std::string>{"d", "a"}));
  EXPECT_EQ(due({3000, "a"}, 5000), (std::vector<std::string>{}));
  EXPECT_EQ(due({3000, "a"}, 9000), (std::vector<std::string>{"later"}));
}

} // namespace
} // namespace mercato::test
