// The payment port with the sandbox provider against a real PostgreSQL.

#include "adapters/payments/payments.hpp"

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
    payments = spawn(slow_ms);
  }

  void TearDown() override {
    // Parked authorisations and their timers hold the adapter: it ends only when told to.
    if (payments)
      caf::anon_send_exit(payments, caf::exit_reason::user_shutdown);
    payments = nullptr;
    pg_test::TearDown();
  }

  payment_actor spawn(int64_t slow) {
    config::settings cfg;
    cfg.payments.provider = "sandbox";
    cfg.payments.sandbox_slow_ms = slow;
    cfg.checkout.payment_timeout_ms = 60000;
    return payments::spawn_payments(sys(), url(), cfg);
  }

  caf::expected<payment_view> authorize(const payment_request& req) {
    return ask<payment_view>(payments, atom::authorize_v, req);
  }

  template <class Atom>
  caf::expected<payment_view> command(Atom op, const std::string& id) {
    return ask<payment_view>(payments, op, id);
  }

  // Sends an authorisation from its own actor and returns the future of its answer, so that the
  // test can act while it waits.
  std::future<caf::expected<payment_view>> authorize_async(const payment_request& req,
                                                           std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::promise<caf::expected<payment_view>>>();
    auto fut = done->get_future();
    sys().spawn([p = payments, req, timeout, done](caf::event_based_actor* self) {
      self->request(p, timeout, atom::authorize_v, req)
        .then([done](const payment_view& v) { done->set_value(v); },
              [done](const caf::error& err) { done->set_value(err); });
    });
    return fut;
  }

  std::string status_in_db(const std::string& id) {
    auto rows = query("SELECT status FROM payments WHERE payment_id = '" + id + "'");
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }

  // Polls the payment's stored status until it is `want` or 10 s have passed.
  bool wait_for_status(const std::string& id, const std::string& want) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (status_in_db(id) == want)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  int64_t slow_ms = 100;
  payment_actor payments;
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
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM payments"), 1);
  EXPECT_EQ(status_in_db("p-ok"), "authorized");
  // Two transitions (none -> pending -> authorized) and one repeat, each audited.
  EXPECT_EQ(
    scalar<int>("SELECT count(*) FROM payment_events WHERE payment_id = 'p-ok' AND changed"), 2);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM payment_events WHERE payment_id = 'p-ok'"), 3);
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
  EXPECT_EQ(status_in_db("p-dec"), "declined");
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
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM payments"), 0);
}

TEST_F(SandboxPayments, TokSlowAnswersAuthorisedAfterTheDelay) {
  auto res = authorize(request_for("p-slow", "tok_slow"));
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->status, payment_status::authorized);
  EXPECT_EQ(status_in_db("p-slow"), "authorized");
}

TEST_F(SandboxPayments, TokSlowDoesNotHoldUpOtherPayments) {
  caf::anon_send_exit(payments, caf::exit_reason::user_shutdown);
  payments = spawn(600000); // settles after ten minutes: only a cancel ends it in this test
  auto slow = authorize_async(request_for("p-slow", "tok_slow"), 60s);
  ASSERT_TRUE(wait_for_status("p-slow", "pending"));
  // Other payments, in every worker, are answered meanwhile.
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
  EXPECT_EQ(status_in_db("p-to"), "pending");
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
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(to_status, ',' ORDER BY id) FROM payment_events "
                                "WHERE payment_id = 'p-sm' AND changed"),
            "pending,authorized,captured,refunded");
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

TEST_F(SandboxPayments, StateSurvivesARespawnOfTheAdapter) {
  ASSERT_TRUE(authorize(request_for("p-dur", "tok_ok")));
  ASSERT_TRUE(command(atom::capture_v, "p-dur"));
  ASSERT_TRUE(command(atom::cancel_v, "p-fence"));
  caf::anon_send_exit(payments, caf::exit_reason::user_shutdown);
  payments = spawn(slow_ms);
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
  void spawn_actors() override {
    payments = spawn_http();
  }

  payment_actor spawn_http() {
    config::settings cfg;
    cfg.payments.provider = "http";
    cfg.payments.psp_url = psp.url();
    cfg.payments.psp_api_key = "psp-key-1";
    cfg.checkout.payment_timeout_ms = 60000;
    return payments::spawn_payments(sys(), url(), cfg);
  }

  caf::expected<bool> confirm(const std::string& event_id, const std::string& id,
                              payment_status status) {
    payment_confirmation c;
    c.event_id = event_id;
    c.payment_id = id;
    c.status = status;
    c.request_id = "req-" + event_id;
    return ask<bool>(payments, atom::confirm_v, c);
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
  EXPECT_EQ(status_in_db("h-dec"), "declined");
}

TEST_F(HttpPayments, PendingIsAnsweredWhenTheWebhookConfirms) {
  psp.answer_authorizations_with("pending");
  auto res = authorize_async(request_for("h-pend", "card-1"), 30s);
  ASSERT_TRUE(wait_for_status("h-pend", "pending"));
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
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM payment_events WHERE source = 'webhook' AND changed"),
            1);
}

TEST_F(HttpPayments, ADeclinedWebhookAnswersThePendingAuthorisation) {
  psp.answer_authorizations_with("pending");
  auto res = authorize_async(request_for("h-pdec", "card-1"), 30s);
  ASSERT_TRUE(wait_for_status("h-pdec", "pending"));
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
  EXPECT_EQ(status_in_db("h-down"), "pending");
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

TEST_F(HttpPayments, AWebhookForAnUnknownPaymentIsNotFound) {
  auto res = confirm("evt-x", "h-unknown", payment_status::authorized);
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::not_found);
}

} // namespace
} // namespace mercato::test
