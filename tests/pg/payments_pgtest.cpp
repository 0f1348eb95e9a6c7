// Payment entities in their region, on the real journal and recovery, with the sandbox and the
// http provider (against tests/support/fake_psp), against a real PostgreSQL.

#include "adapters/payments/payments.hpp"

#include "actors/payment/payment_actor.hpp"
#include "adapters/pg/journal.hpp"
#include "adapters/pg/recovery.hpp"
#include "runtime/shard_region.hpp"
#include "tests/support/fake_psp.hpp"
#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

#include <future>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

payment_request request_for(const std::string& id, const std::string& token,
                            int64_t amount = 2599) {
  payment_request req;
  req.payment_id = id;
  req.customer_id = "cust-1";
  req.amount_minor = amount;
  req.currency = "EUR";
  req.token = token;
  req.request_id = "req-" + id;
  return req;
}

class SandboxPayments : public migrated_pg_test {
protected:
  void spawn_actors() override {
    journal = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
    recovery = pg::spawn_recovery(sys(), url(), 2);
    start();
  }

  void TearDown() override {
    // Parked authorisations and their timers hold entities: the region ends only when told to.
    stop();
    for (const auto& a :
         {caf::actor_cast<caf::actor>(recovery), caf::actor_cast<caf::actor>(journal)})
      if (a)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    recovery = nullptr;
    journal = nullptr;
    pg_test::TearDown();
  }

  virtual config::payment_settings provider_settings() {
    config::payment_settings p;
    p.provider = "sandbox";
    p.sandbox_slow_ms = slow_ms;
    return p;
  }

  // The provider port and the payment region, as the server wires them.
  void start() {
    auto p = provider_settings();
    provider = payments::spawn_payment_provider(sys(), p);
    payment_entity_settings cfg;
    cfg.env.journal = journal;
    cfg.env.recovery = recovery;
    cfg.env.snapshot_every = snapshot_every;
    cfg.env.fault_injection = true;
    cfg.provider = provider;
    cfg.provider_name = p.provider;
    cfg.park_limit = 60s;
    runtime::region_settings rs;
    rs.kind = "payment";
    rs.passivate_after = 3600s;
    rs.backoff_min = 1ms;
    rs.backoff_max = 10ms;
    region = runtime::spawn_region(sys(), rs, make_payment_spawner(cfg), nullptr);
  }

  void stop() {
    if (region)
      caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
    if (provider)
      caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    region = nullptr;
    provider = nullptr;
  }

  // A new region and provider: every payment recovers from the journal on its next message.
  void restart(int64_t slow = 100) {
    stop();
    slow_ms = slow;
    start();
  }

  caf::expected<payment_view> authorize(const payment_request& req) {
    return ask<payment_view>(region, atom::route_v, req.payment_id,
                             caf::make_message(atom::authorize_v, req));
  }

  template <class Atom>
  caf::expected<payment_view> command(Atom op, const std::string& id) {
    return ask<payment_view>(region, atom::route_v, id, caf::make_message(op, id));
  }

  // Sends an authorisation from its own actor and returns the future of its answer, so that the
  // test can act while it waits.
  std::future<caf::expected<payment_view>> authorize_async(const payment_request& req,
                                                           std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::promise<caf::expected<payment_view>>>();
    auto fut = done->get_future();
    sys().spawn([r = region, req, timeout, done](caf::event_based_actor* self) {
      runtime::request_entity(self, r, req.payment_id, timeout, atom::authorize_v, req)
        .then([done](const payment_view& v) { done->set_value(v); },
              [done](const caf::error& err) { done->set_value(err); });
    });
    return fut;
  }

  // The payments read model, once its projection has applied every committed event.
  pqxx::result payments_table(const std::string& sql) {
    catch_up("payments");
    return query(sql);
  }

  std::string status_in_db(const std::string& id) {
    auto rows = payments_table("SELECT status FROM payments WHERE payment_id = '" + id + "'");
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }

  // The payment's journal: event types, or the statuses they record, in seq order.
  std::string journal_of(const std::string& id, const std::string& column = "event_type") {
    return scalar<std::string>("SELECT COALESCE(string_agg(" + column
                               + ", ',' ORDER BY seq), '') FROM journal WHERE entity_kind = "
                                 "'payment' AND entity_id = '"
                               + id + "'");
  }

  // Polls the payment entity until it holds the payment in status `want` (an authorisation is
  // held in memory, not journaled) or 10 s have passed.
  bool wait_until_held(const std::string& id, payment_status want) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto got = command(atom::get_v, id);
      if (got && got->status == want)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  int64_t slow_ms = 100;
  int64_t snapshot_every = 200;
  journal_actor journal;
  recovery_actor recovery;
  payment_provider_actor provider;
  caf::actor region;
};

TEST_F(SandboxPayments, TokOkAuthorisesOnceAndRepeatsTheOutcome) {
  auto first = authorize(request_for("p-ok", "tok_ok"));
  ASSERT_TRUE(first) << render(first.error());
  EXPECT_EQ(first->status, payment_status::authorized);
  EXPECT_EQ(first->amount_minor, 2599);
  EXPECT_EQ(first->currency, "EUR");
  EXPECT_EQ(first->provider, "sandbox");
  EXPECT_FALSE(first->provider_ref.empty());
  auto again = authorize(request_for("p-ok", "tok_ok"));
  ASSERT_TRUE(again) << render(again.error());
  EXPECT_EQ(again->status, payment_status::authorized);
  EXPECT_EQ(again->provider_ref, first->provider_ref);
  auto held = command(atom::get_v, "p-ok");
  ASSERT_TRUE(held) << render(held.error());
  EXPECT_EQ(held->status, payment_status::authorized);
  // Nothing journaled: the order the authorisation pays for records it.
  EXPECT_EQ(journal_of("p-ok"), "");
  EXPECT_EQ(payments_table("SELECT count(*) FROM payments")[0][0].as<int>(), 0);
}

TEST_F(SandboxPayments, AnAuthorisationRepeatedWithAnotherAmountIsRefused) {
  ASSERT_TRUE(authorize(request_for("p-amt", "tok_ok", 100)));
  auto other = authorize(request_for("p-amt", "tok_ok", 200));
  ASSERT_FALSE(other);
  EXPECT_EQ(errc_of(other.error()), mercato_errc::idempotency_mismatch);
}

TEST_F(SandboxPayments, TokDeclineIsDeclinedEveryTime) {
  for (int i = 0; i < 2; ++i) {
    auto res = authorize(request_for("p-dec", "tok_decline"));
    ASSERT_FALSE(res);
    EXPECT_EQ(errc_of(res.error()), mercato_errc::payment_declined);
    EXPECT_EQ(detail_of(res.error()), "card declined");
  }
  auto held = command(atom::get_v, "p-dec");
  ASSERT_TRUE(held) << render(held.error());
  EXPECT_EQ(held->status, payment_status::declined);
  // Capturing what was declined is a conflict; cancelling it changes nothing.
  auto cap = command(atom::capture_v, "p-dec");
  ASSERT_FALSE(cap);
  EXPECT_EQ(errc_of(cap.error()), mercato_errc::conflict);
  auto can = command(atom::cancel_v, "p-dec");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::declined);
}

TEST_F(SandboxPayments, AnUnknownTokenIsDeclined) {
  auto res = authorize(request_for("p-unk", "tok_whatever"));
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::payment_declined);
  EXPECT_EQ(detail_of(res.error()), "unknown test token");
}

TEST_F(SandboxPayments, InvalidRequestsChangeNothing) {
  auto zero = authorize(request_for("p-zero", "tok_ok", 0));
  ASSERT_FALSE(zero);
  EXPECT_EQ(errc_of(zero.error()), mercato_errc::invalid_request);
  auto req = request_for("p-cur", "tok_ok");
  req.currency = "eur";
  auto cur = authorize(req);
  ASSERT_FALSE(cur);
  EXPECT_EQ(errc_of(cur.error()), mercato_errc::invalid_request);
  auto empty = command(atom::cancel_v, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(errc_of(empty.error()), mercato_errc::invalid_request);
  EXPECT_EQ(payments_table("SELECT count(*) FROM payments")[0][0].as<int>(), 0);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_kind = 'payment'"), 0);
}

TEST_F(SandboxPayments, TokSlowAnswersAuthorisedAfterTheDelay) {
  auto res = authorize(request_for("p-slow", "tok_slow"));
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->status, payment_status::authorized);
  auto held = command(atom::get_v, "p-slow");
  ASSERT_TRUE(held) << render(held.error());
  EXPECT_EQ(held->status, payment_status::authorized);
}

TEST_F(SandboxPayments, TokSlowDoesNotHoldUpOtherPayments) {
  restart(600000); // settles after ten minutes: only a cancel ends it in this test
  auto slow = authorize_async(request_for("p-slow", "tok_slow"), 60s);
  ASSERT_TRUE(wait_until_held("p-slow", payment_status::pending));
  // Other payments are answered meanwhile.
  for (int i = 0; i < 6; ++i) {
    auto ok = authorize(request_for("p-other-" + std::to_string(i), "tok_ok"));
    ASSERT_TRUE(ok) << render(ok.error());
    EXPECT_EQ(ok->status, payment_status::authorized);
  }
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);
  // The parked authorisation is answered by the cancel that fences it.
  auto can = command(atom::cancel_v, "p-slow");
  ASSERT_TRUE(can) << render(can.error());
  ASSERT_EQ(slow.wait_for(10s), std::future_status::ready);
  auto outcome = slow.get();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(errc_of(outcome.error()), mercato_errc::payment_declined);
}

TEST_F(SandboxPayments, TokTimeoutNeverAnswersAndACancelFencesALateAuthorisation) {
  auto timed_out = authorize_async(request_for("p-to", "tok_timeout"), 300ms);
  ASSERT_EQ(timed_out.wait_for(10s), std::future_status::ready);
  auto res = timed_out.get();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), caf::sec::request_timeout) << render(res.error());
  EXPECT_EQ(journal_of("p-to"), "") << "an authorisation is not journaled by its payment";
  // The saga compensates ...
  auto can = command(atom::cancel_v, "p-to");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  // ... and a late or repeated authorisation never charges.
  auto late = authorize(request_for("p-to", "tok_timeout"));
  ASSERT_FALSE(late);
  EXPECT_EQ(errc_of(late.error()), mercato_errc::payment_declined);
  auto late_ok = authorize(request_for("p-to", "tok_ok"));
  ASSERT_FALSE(late_ok);
  EXPECT_EQ(errc_of(late_ok.error()), mercato_errc::payment_declined);
  auto cap = command(atom::capture_v, "p-to");
  ASSERT_FALSE(cap);
  EXPECT_EQ(errc_of(cap.error()), mercato_errc::conflict);
  EXPECT_EQ(status_in_db("p-to"), "voided");
}

TEST_F(SandboxPayments, CancelOfAnUnknownIdLeavesATombstone) {
  auto can = command(atom::cancel_v, "p-never");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  auto again = command(atom::cancel_v, "p-never");
  ASSERT_TRUE(again) << render(again.error());
  EXPECT_EQ(again->status, payment_status::voided);
  auto late = authorize(request_for("p-never", "tok_ok"));
  ASSERT_FALSE(late);
  EXPECT_EQ(errc_of(late.error()), mercato_errc::payment_declined);
  EXPECT_EQ(status_in_db("p-never"), "voided");
  EXPECT_EQ(payments_table("SELECT provider || ':' || amount_minor FROM payments "
                           "WHERE payment_id = 'p-never'")[0][0]
              .as<std::string>(),
            "sandbox:0");
}

TEST_F(SandboxPayments, CaptureRefundAndCancelFollowTheStateMachine) {
  auto unknown = command(atom::capture_v, "p-sm");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(errc_of(unknown.error()), mercato_errc::not_found);
  ASSERT_TRUE(authorize(request_for("p-sm", "tok_ok")));
  auto early_refund = command(atom::refund_v, "p-sm");
  ASSERT_FALSE(early_refund);
  EXPECT_EQ(errc_of(early_refund.error()), mercato_errc::conflict);
  for (int i = 0; i < 2; ++i) {
    auto cap = command(atom::capture_v, "p-sm");
    ASSERT_TRUE(cap) << render(cap.error());
    EXPECT_EQ(cap->status, payment_status::captured);
  }
  auto can = command(atom::cancel_v, "p-sm");
  ASSERT_FALSE(can);
  EXPECT_EQ(errc_of(can.error()), mercato_errc::conflict);
  for (int i = 0; i < 2; ++i) {
    auto ref = command(atom::refund_v, "p-sm");
    ASSERT_TRUE(ref) << render(ref.error());
    EXPECT_EQ(ref->status, payment_status::refunded);
  }
  auto cap = command(atom::capture_v, "p-sm");
  ASSERT_FALSE(cap);
  EXPECT_EQ(errc_of(cap.error()), mercato_errc::conflict);
  // Only the changes after the authorisation are journaled (its order records that); refusals
  // and repeats are not.
  EXPECT_EQ(journal_of("p-sm", "payload ->> 'status'"), "captured,refunded");
  EXPECT_EQ(journal_of("p-sm"), "captured,refunded");
}

TEST_F(SandboxPayments, CancelVoidsAnAuthorisation) {
  ASSERT_TRUE(authorize(request_for("p-void", "tok_ok")));
  auto can = command(atom::cancel_v, "p-void");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  auto cap = command(atom::capture_v, "p-void");
  ASSERT_FALSE(cap);
  EXPECT_EQ(errc_of(cap.error()), mercato_errc::conflict);
  auto again = authorize(request_for("p-void", "tok_ok"));
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), mercato_errc::payment_declined);
}

TEST_F(SandboxPayments, StateSurvivesARestartOfTheRegion) {
  ASSERT_TRUE(authorize(request_for("p-dur", "tok_ok")));
  ASSERT_TRUE(command(atom::capture_v, "p-dur"));
  ASSERT_TRUE(command(atom::cancel_v, "p-fence"));
  restart();
  auto got = command(atom::get_v, "p-dur");
  ASSERT_TRUE(got) << render(got.error());
  EXPECT_EQ(got->status, payment_status::captured);
  EXPECT_EQ(got->amount_minor, 2599);
  auto again = authorize(request_for("p-dur", "tok_ok"));
  ASSERT_TRUE(again) << render(again.error());
  EXPECT_EQ(again->status, payment_status::captured);
  auto can = command(atom::cancel_v, "p-dur");
  ASSERT_FALSE(can);
  EXPECT_EQ(errc_of(can.error()), mercato_errc::conflict);
  auto fenced = authorize(request_for("p-fence", "tok_ok"));
  ASSERT_FALSE(fenced);
  EXPECT_EQ(errc_of(fenced.error()), mercato_errc::payment_declined);
}

// An authorisation lives in the entity's memory and in the order it pays for: a crash loses a
// pending one (the saga's compensation voids the id, which fences a late one), and an authorised
// one is captured from the order's record.
TEST_F(SandboxPayments, ACrashLosesAPendingAuthorisationWhichTheSagasVoidFences) {
  restart(600000); // tok_slow stays pending for the whole test
  auto parked = authorize_async(request_for("p-crash", "tok_slow"), 30s);
  ASSERT_TRUE(wait_until_held("p-crash", payment_status::pending));
  auto fault
    = ask<bool>(region, atom::route_v, std::string{"p-crash"}, caf::make_message(atom::fault_v));
  ASSERT_FALSE(fault);
  // The authorisation parked in the crashed entity is answered, not left to time out.
  ASSERT_EQ(parked.wait_for(10s), std::future_status::ready);
  auto lost = parked.get();
  ASSERT_FALSE(lost);
  EXPECT_EQ(errc_of(lost.error()), mercato_errc::entity_unavailable) << render(lost.error());
  // Restarted from the journal, which holds nothing of it. A request that reaches the region
  // before it has seen the crash goes to the dead entity and is refused as restarting (503 in the
  // API, which a caller retries), so ask until the restarted entity answers.
  auto got = command(atom::get_v, "p-crash");
  for (int i = 0;
       i < 100 && !got && got.error() == caf::make_error(caf::sec::request_receiver_down); ++i) {
    std::this_thread::sleep_for(10ms);
    got = command(atom::get_v, "p-crash");
  }
  ASSERT_FALSE(got);
  EXPECT_EQ(errc_of(got.error()), mercato_errc::not_found);
  // The saga compensates: voided here (the fence) and at the provider; a late or repeated
  // authorisation never charges.
  auto can = command(atom::cancel_v, "p-crash");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  auto late = authorize(request_for("p-crash", "tok_ok"));
  ASSERT_FALSE(late);
  EXPECT_EQ(errc_of(late.error()), mercato_errc::payment_declined);
  EXPECT_EQ(status_in_db("p-crash"), "voided");
  EXPECT_EQ(journal_of("p-crash"), "voided");
}

TEST_F(SandboxPayments, AnAuthorisationLostToARestartIsCapturedFromTheOrdersRecord) {
  auto authorised = authorize(request_for("p-rec", "tok_ok"));
  ASSERT_TRUE(authorised) << render(authorised.error());
  restart();
  auto got = command(atom::get_v, "p-rec");
  ASSERT_FALSE(got) << "nothing journaled";
  // What the order recorded, carried by the capture.
  auto cap = ask<payment_view>(region, atom::route_v, std::string{"p-rec"},
                               caf::make_message(atom::capture_v, *authorised));
  ASSERT_TRUE(cap) << render(cap.error());
  EXPECT_EQ(cap->status, payment_status::captured);
  EXPECT_EQ(cap->amount_minor, 2599);
  EXPECT_EQ(cap->provider_ref, authorised->provider_ref);
  EXPECT_EQ(journal_of("p-rec"), "captured");
  EXPECT_EQ(status_in_db("p-rec"), "captured");
  // Repeated (a resumed saga): answered from the record, nothing more journaled.
  restart();
  auto again = ask<payment_view>(region, atom::route_v, std::string{"p-rec"},
                                 caf::make_message(atom::capture_v, *authorised));
  ASSERT_TRUE(again) << render(again.error());
  EXPECT_EQ(again->status, payment_status::captured);
  EXPECT_EQ(journal_of("p-rec"), "captured");
  // Only an authorisation of its own id is taken.
  auto other = *authorised;
  other.payment_id = "p-other";
  auto refused = ask<payment_view>(region, atom::route_v, std::string{"p-rec2"},
                                   caf::make_message(atom::capture_v, other));
  ASSERT_FALSE(refused);
  EXPECT_EQ(errc_of(refused.error()), mercato_errc::invalid_request);
}

TEST_F(SandboxPayments, FaultInjectionCanBeSwitchedOff) {
  ASSERT_TRUE(authorize(request_for("p-nofault", "tok_ok")));
  payment_entity_settings cfg;
  cfg.env.journal = journal;
  cfg.env.recovery = recovery;
  cfg.provider = provider;
  cfg.provider_name = "sandbox";
  runtime::region_settings rs;
  rs.kind = "payment";
  auto other = runtime::spawn_region(sys(), rs, make_payment_spawner(cfg), nullptr);
  auto fault
    = ask<bool>(other, atom::route_v, std::string{"p-nofault"}, caf::make_message(atom::fault_v));
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
  ASSERT_FALSE(fault);
  EXPECT_EQ(errc_of(fault.error()), mercato_errc::not_found);
}

TEST_F(SandboxPayments, GetOfAnUnknownPaymentIsNotFound) {
  auto got = command(atom::get_v, "p-none");
  ASSERT_FALSE(got);
  EXPECT_EQ(errc_of(got.error()), mercato_errc::not_found);
}

} // namespace
} // namespace mercato::test

namespace mercato::test {
namespace {

class HttpPayments : public SandboxPayments {
protected:
  config::payment_settings provider_settings() override {
    config::payment_settings p;
    p.provider = "http";
    p.psp_url = psp.url();
    p.psp_api_key = "psp-key-1";
    return p;
  }

  caf::expected<bool> confirm(const std::string& event_id, const std::string& id,
                              payment_status status) {
    payment_confirmation c;
    c.event_id = event_id;
    c.payment_id = id;
    c.status = status;
    c.request_id = "req-" + event_id;
    return ask<bool>(region, atom::route_v, id, caf::make_message(atom::confirm_v, c));
  }

  fake_psp psp;
};

TEST_F(HttpPayments, AuthorisesSynchronouslyWithKeyAndIdempotencyKey) {
  auto res = authorize(request_for("h-ok", "card-1"));
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->status, payment_status::authorized);
  EXPECT_EQ(res->provider, "http");
  EXPECT_EQ(res->provider_ref, "psp_h-ok");
  auto calls = psp.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].target, "/v1/payments");
  EXPECT_EQ(calls[0].authorization, "Bearer psp-key-1");
  EXPECT_EQ(calls[0].idempotency_key, "h-ok");
  // The outcome is repeated from our record, without asking the PSP again.
  ASSERT_TRUE(authorize(request_for("h-ok", "card-1")));
  EXPECT_EQ(psp.calls().size(), 1u);
}

TEST_F(HttpPayments, ADeclineIsPaymentDeclinedWithThePspReason) {
  psp.answer_authorizations_with("declined");
  auto res = authorize(request_for("h-dec", "card-1"));
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::payment_declined);
  EXPECT_EQ(detail_of(res.error()), "insufficient funds");
  auto held = command(atom::get_v, "h-dec");
  ASSERT_TRUE(held) << render(held.error());
  EXPECT_EQ(held->status, payment_status::declined);
  EXPECT_EQ(journal_of("h-dec"), "") << "nothing to record: the checkout fails";
}

TEST_F(HttpPayments, PendingIsAnsweredWhenTheWebhookConfirms) {
  psp.answer_authorizations_with("pending");
  auto res = authorize_async(request_for("h-pend", "card-1"), 30s);
  ASSERT_TRUE(wait_until_held("h-pend", payment_status::pending));
  EXPECT_EQ(res.wait_for(0s), std::future_status::timeout);
  psp.set_status("h-pend", "authorized");
  auto changed = confirm("evt-1", "h-pend", payment_status::authorized);
  ASSERT_TRUE(changed) << render(changed.error());
  EXPECT_TRUE(*changed);
  ASSERT_EQ(res.wait_for(10s), std::future_status::ready);
  auto outcome = res.get();
  ASSERT_TRUE(outcome) << render(outcome.error());
  EXPECT_EQ(outcome->status, payment_status::authorized);
  // The same event again, and another event with the same news, change nothing.
  auto dup = confirm("evt-1", "h-pend", payment_status::authorized);
  ASSERT_TRUE(dup) << render(dup.error());
  EXPECT_FALSE(*dup);
  auto same = confirm("evt-2", "h-pend", payment_status::authorized);
  ASSERT_TRUE(same) << render(same.error());
  EXPECT_FALSE(*same);
  // Each new event id is journaled (to be remembered), the duplicate is not; one changed.
  EXPECT_EQ(journal_of("h-pend", "event_type || ':' || (payload ->> 'event_id') || ':' || "
                                 "(payload ->> 'changed')"),
            "webhook:evt-1:true,webhook:evt-2:false");
}

TEST_F(HttpPayments, ADuplicateWebhookChangesNothingAfterARestart) {
  snapshot_every = 1; // the seen event ids must survive in the snapshot too
  restart();
  psp.answer_authorizations_with("pending");
  auto res = authorize_async(request_for("h-dedup", "card-1"), 30s);
  ASSERT_TRUE(wait_until_held("h-dedup", payment_status::pending));
  auto changed = confirm("evt-d1", "h-dedup", payment_status::authorized);
  ASSERT_TRUE(changed) << render(changed.error());
  EXPECT_TRUE(*changed);
  ASSERT_EQ(res.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(res.get());
  ASSERT_EQ(scalar<int>("SELECT count(*) FROM snapshots WHERE entity_kind = 'payment' "
                        "AND entity_id = 'h-dedup' AND state -> 'seen_events' ? 'evt-d1'"),
            1);
  restart();
  // A voided payment would make a late "authorized" void again at the PSP: a redelivered
  // event must not even do that.
  auto can = command(atom::cancel_v, "h-dedup");
  ASSERT_TRUE(can) << render(can.error());
  auto voids = psp.count("/void");
  restart();
  auto dup = confirm("evt-d1", "h-dedup", payment_status::authorized);
  ASSERT_TRUE(dup) << render(dup.error());
  EXPECT_FALSE(*dup);
  EXPECT_EQ(psp.count("/void"), voids);
  EXPECT_EQ(status_in_db("h-dedup"), "voided");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_kind = 'payment' "
                        "AND entity_id = 'h-dedup' AND event_type = 'webhook'"),
            1);
}

TEST_F(HttpPayments, ADeclinedWebhookAnswersThePendingAuthorisation) {
  psp.answer_authorizations_with("pending");
  auto res = authorize_async(request_for("h-pdec", "card-1"), 30s);
  ASSERT_TRUE(wait_until_held("h-pdec", payment_status::pending));
  auto changed = confirm("evt-d", "h-pdec", payment_status::declined);
  ASSERT_TRUE(changed) << render(changed.error());
  EXPECT_TRUE(*changed);
  ASSERT_EQ(res.wait_for(10s), std::future_status::ready);
  auto outcome = res.get();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(errc_of(outcome.error()), mercato_errc::payment_declined);
}

TEST_F(HttpPayments, ServerErrorsAreRetriedWithTheSameIdempotencyKey) {
  psp.fail_next(2);
  auto res = authorize(request_for("h-retry", "card-1"));
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->status, payment_status::authorized);
  auto calls = psp.calls();
  ASSERT_EQ(calls.size(), 3u);
  for (const auto& c : calls)
    EXPECT_EQ(c.idempotency_key, "h-retry");
}

TEST_F(HttpPayments, APspThatKeepsFailingIsUnavailableAndTheRetryLaterSucceeds) {
  psp.fail_next(3);
  auto res = authorize(request_for("h-down", "card-1"));
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::storage_unavailable);
  EXPECT_TRUE(wait_until_held("h-down", payment_status::pending));
  auto again = authorize(request_for("h-down", "card-1"));
  ASSERT_TRUE(again) << render(again.error());
  EXPECT_EQ(again->status, payment_status::authorized);
  EXPECT_EQ(psp.status_of("h-down"), "authorized");
}

TEST_F(HttpPayments, CancelVoidsAtThePspAndCaptureRefundReachIt) {
  ASSERT_TRUE(authorize(request_for("h-void", "card-1")));
  auto can = command(atom::cancel_v, "h-void");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  EXPECT_EQ(psp.status_of("h-void"), "voided");
  EXPECT_EQ(psp.count("/v1/payments/psp_h-void/void"), 1u);

  ASSERT_TRUE(authorize(request_for("h-cap", "card-1")));
  auto cap = command(atom::capture_v, "h-cap");
  ASSERT_TRUE(cap) << render(cap.error());
  EXPECT_EQ(cap->status, payment_status::captured);
  EXPECT_EQ(psp.status_of("h-cap"), "captured");
  auto ref = command(atom::refund_v, "h-cap");
  ASSERT_TRUE(ref) << render(ref.error());
  EXPECT_EQ(ref->status, payment_status::refunded);
  EXPECT_EQ(psp.status_of("h-cap"), "refunded");
  // Repeats are answered from our record.
  ASSERT_TRUE(command(atom::refund_v, "h-cap"));
  EXPECT_EQ(psp.count("/refund"), 1u);
}

TEST_F(HttpPayments, AWebhookAfterATimedOutCheckoutVoidsAndNeverCaptures) {
  psp.answer_authorizations_with("pending");
  auto timed_out = authorize_async(request_for("h-late", "card-1"), 300ms);
  ASSERT_EQ(timed_out.wait_for(10s), std::future_status::ready);
  auto res = timed_out.get();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), caf::sec::request_timeout) << render(res.error());
  // The saga compensates: the payment is voided here and at the PSP.
  auto can = command(atom::cancel_v, "h-late");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  EXPECT_EQ(psp.count("/void"), 1u);
  // The PSP authorises anyway and says so: it is voided again there, nothing changes here.
  psp.set_status("h-late", "authorized");
  auto late = confirm("evt-late", "h-late", payment_status::authorized);
  ASSERT_TRUE(late) << render(late.error());
  EXPECT_FALSE(*late);
  EXPECT_EQ(psp.count("/void"), 2u);
  EXPECT_EQ(psp.status_of("h-late"), "voided");
  EXPECT_EQ(status_in_db("h-late"), "voided");
  auto cap = command(atom::capture_v, "h-late");
  ASSERT_FALSE(cap);
  EXPECT_EQ(errc_of(cap.error()), mercato_errc::conflict);
  EXPECT_EQ(psp.count("/capture"), 0u);
  // Delivered again, the event is a duplicate: not even the void is repeated.
  auto dup = confirm("evt-late", "h-late", payment_status::authorized);
  ASSERT_TRUE(dup) << render(dup.error());
  EXPECT_FALSE(*dup);
  EXPECT_EQ(psp.count("/void"), 2u);
}

// A restart lost the authorisation (it is recorded by the order, not here): the compensation's
// void still reaches the PSP, by our payment id.
TEST_F(HttpPayments, ACancelAfterARestartVoidsAtThePspByPaymentId) {
  ASSERT_TRUE(authorize(request_for("h-lost", "card-1")));
  EXPECT_EQ(psp.status_of("h-lost"), "authorized");
  restart();
  auto can = command(atom::cancel_v, "h-lost");
  ASSERT_TRUE(can) << render(can.error());
  EXPECT_EQ(can->status, payment_status::voided);
  EXPECT_EQ(psp.status_of("h-lost"), "voided");
  EXPECT_EQ(psp.count("/v1/payments/h-lost/void"), 1u);
  EXPECT_EQ(journal_of("h-lost"), "voided");
}

TEST_F(HttpPayments, AWebhookForAnUnknownPaymentIsNotFound) {
  auto res = confirm("evt-x", "h-unknown", payment_status::authorized);
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::not_found);
}

} // namespace
} // namespace mercato::test

namespace mercato::test {
namespace {

// A database that ran the payments adapter before payments were journaled (migration 0007).
class LegacyPayments : public SandboxPayments {
protected:
  void SetUp() override {
    pg_test::SetUp();
    if (IsSkipped())
      return;
    {
      pqxx::connection conn{url()};
      pqxx::work txn{conn};
      migrate_before(txn, 7);
      txn.exec("INSERT INTO payments (payment_id, provider, provider_ref, status, amount_minor, "
               "currency, customer_id) VALUES ('old-1', 'sandbox', 'sbx_old-1', 'authorized', "
               "1500, 'EUR', 'cust-1')");
      txn.exec("INSERT INTO payment_events (payment_id, event_id, source, event, from_status, "
               "to_status, changed) VALUES ('old-1', 'evt-old', 'webhook', "
               "'provider_authorized', 'pending', 'authorized', true)");
      txn.commit();
    }
    ASSERT_EQ(pg::migrate(url()), "");
    spawn_actors();
  }
};

TEST_F(LegacyPayments, AreImportedWithTheWebhookEventsTheyHadSeen) {
  EXPECT_EQ(journal_of("old-1"), "imported");
  auto got = command(atom::get_v, "old-1");
  ASSERT_TRUE(got) << render(got.error());
  EXPECT_EQ(got->status, payment_status::authorized);
  EXPECT_EQ(got->amount_minor, 1500);
  EXPECT_EQ(got->provider_ref, "sbx_old-1");
  payment_confirmation c;
  c.event_id = "evt-old";
  c.payment_id = "old-1";
  c.status = payment_status::authorized;
  auto dup
    = ask<bool>(region, atom::route_v, std::string{"old-1"}, caf::make_message(atom::confirm_v, c));
  ASSERT_TRUE(dup) << render(dup.error());
  EXPECT_FALSE(*dup);
  auto cap = command(atom::capture_v, "old-1");
  ASSERT_TRUE(cap) << render(cap.error());
  EXPECT_EQ(cap->status, payment_status::captured);
  EXPECT_EQ(status_in_db("old-1"), "captured");
  EXPECT_EQ(
    payments_table("SELECT version FROM payments WHERE payment_id = 'old-1'")[0][0].as<int>(), 2);
}

} // namespace
} // namespace mercato::test
