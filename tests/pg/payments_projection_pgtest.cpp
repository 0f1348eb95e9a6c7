// The payments projection (adapters/pg/payments_projection.cpp): each payment's row is the
// newest state its events carry, or the authorisation its order recorded until it has events of
// its own; rebuilt from scratch it equals the incrementally kept table; its offset survives a
// restart without applying an event twice.

#include "tests/support/projection_fixture.hpp"

namespace mercato::test {
namespace {

class PaymentsProjection : public projection_test {
protected:
  std::string projection_name() const override {
    return "payments";
  }

  std::string table() {
    return dump("payments", "payment_id");
  }

  // Payments authorised, captured, refunded, declined, voided; some in one append, some over
  // several commits, between order events the projection does not read.
  void write_history(int payments) {
    const int64_t t0 = 1'700'000'000'000;
    for (int i = 0; i < payments; ++i) {
      auto id = "pay-" + std::to_string(i);
      auto amount = 1000 + i;
      auto at = t0 + i * 10;
      append("payment", id, 1,
             {caf::make_message(payment_ev("requested", "pending", amount, at)),
              caf::make_message(
                payment_ev("answered", i % 5 == 0 ? "declined" : "authorized", amount, at + 1))});
      append("order", "ord-" + std::to_string(i), 1,
             {caf::make_message(placed("ord-" + std::to_string(i), "ada", amount, at))});
    }
    for (int i = 0; i < payments; ++i) {
      if (i % 5 == 0)
        continue;
      auto id = "pay-" + std::to_string(i);
      auto at = t0 + 100000 + i * 10;
      if (i % 3 == 0) {
        append("payment", id, 3, {caf::make_message(payment_ev("voided", "voided", 1000 + i, at))});
        continue;
      }
      append("payment", id, 3,
             {caf::make_message(payment_ev("captured", "captured", 1000 + i, at))});
      if (i % 2 == 0)
        append("payment", id, 4,
               {caf::make_message(payment_ev("refunded", "refunded", 1000 + i, at + 5))});
    }
  }
};

TEST_F(PaymentsProjection, RebuiltFromScratchEqualsTheIncrementallyKeptTable) {
  batch = 5;
  stop_runner();
  start_runner();
  write_history(20);
  ASSERT_TRUE(synced());
  auto incremental = table();
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM payments"), 20);
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version || ':' || amount_minor FROM "
                                "payments WHERE payment_id = 'pay-0'"),
            "declined:2:1000");
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM payments WHERE payment_id "
                                "= 'pay-2'"),
            "refunded:4");
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM payments WHERE payment_id "
                                "= 'pay-3'"),
            "voided:3");
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM payments WHERE payment_id "
                                "= 'pay-1'"),
            "captured:3");
  // created_at is the first event's time, updated_at the newest's.
  EXPECT_EQ(scalar<int64_t>("SELECT (extract(epoch FROM updated_at - created_at) * 1000)::bigint "
                            "FROM payments WHERE payment_id = 'pay-2'"),
            100000 + 5);
  EXPECT_EQ(pg::rebuild_projection(url(), "payments"),
            static_cast<size_t>(journaled("payment") + journaled("order")));
  EXPECT_EQ(table(), incremental);
}

TEST_F(PaymentsProjection, OffsetSurvivesARestartAndNoEventIsAppliedTwice) {
  write_history(6);
  ASSERT_TRUE(synced());
  EXPECT_EQ(applied(), journaled("payment") + journaled("order"));
  stop_runner();
  auto applied_before = metric("applied");
  append("payment", "pay-1", 4,
         {caf::make_message(payment_ev("refunded", "refunded", 1001, 1'800'000'000'000))});
  append("payment", "pay-new", 1,
         {caf::make_message(payment_ev("requested", "pending", 5, 1'800'000'000'001))});
  start_runner();
  ASSERT_TRUE(synced());
  EXPECT_EQ(applied(), journaled("payment") + journaled("order"))
    << "an event was applied twice or not at all";
  EXPECT_EQ(metric("applied") - applied_before, 2);
  EXPECT_EQ(metric("lag"), 0);
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM payments WHERE payment_id "
                                "= 'pay-1'"),
            "refunded:4");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM payments"), 7);
  auto kept = table();
  pg::rebuild_projection(url(), "payments");
  EXPECT_EQ(table(), kept);
}

// A checkout's authorisation is journaled by the order it pays for: the payment appears with the
// order, as version 0, and its own first event (the capture) replaces it.
TEST_F(PaymentsProjection, AnAuthorisationRecordedByItsOrderIsListedUntilThePaymentsOwnEvents) {
  const int64_t t0 = 1'700'000'000'000;
  auto with_payment = placed("ord-a", "ada", 2599, t0);
  with_payment.placement.payment.payment_id = "co_a";
  with_payment.placement.payment.status = payment_status::authorized;
  with_payment.placement.payment.amount_minor = 2599;
  with_payment.placement.payment.currency = "EUR";
  with_payment.placement.payment.provider = "sandbox";
  with_payment.placement.payment.provider_ref = "sbx_co_a";
  append("order", "ord-a", 1, {caf::make_message(with_payment)});
  append("order", "ord-old", 1, {caf::make_message(placed("ord-old", "ada", 10, t0))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version || ':' || amount_minor || ':' || "
                                "customer_id || ':' || provider_ref FROM payments"),
            "authorized:0:2599:ada:sbx_co_a")
    << "an order without a recorded authorisation adds no row";
  append("payment", "co_a", 1,
         {caf::make_message(payment_ev("captured", "captured", 2599, t0 + 5000))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM payments"), "captured:1");
  EXPECT_EQ(scalar<int64_t>("SELECT (extract(epoch FROM updated_at - created_at) * 1000)::bigint "
                            "FROM payments"),
            5000)
    << "created when authorised";
  auto kept = table();
  pg::rebuild_projection(url(), "payments");
  EXPECT_EQ(table(), kept);
}

} // namespace
} // namespace mercato::test
