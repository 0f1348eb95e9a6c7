// The email channel's SMTP client (adapters/notify/smtp_email.cpp) against a real SMTP server on
// loopback (tests/support/smtp_sink): what arrives, the same Message-ID on every attempt of one
// delivery, temporary and permanent refusals, and a server that is not there.

#include "adapters/notify/smtp_email.hpp"

#include "actors/protocol/notification_rules.hpp"
#include "tests/support/smtp_sink.hpp"

#include <gtest/gtest.h>

namespace mercato::test {
namespace {

using channels::email_message;
using channels::send_result;
using channels::smtp_settings;

class SmtpEmail : public ::testing::Test {
protected:
  smtp_settings settings() const {
    smtp_settings s;
    s.url = sink.url();
    s.from = "orders@mercato.test";
    s.connect_timeout = std::chrono::milliseconds{2000};
    s.timeout = std::chrono::milliseconds{5000};
    return s;
  }

  email_message message() const {
    email_message m;
    m.to = "ada@example.com";
    m.subject = "Đơn hàng o-1 đã được giao";
    m.body = "Line one\n.starts with a dot\nĐã giao.";
    m.idempotency_key = notify::idempotency_key("o-1/delivered/email");
    return m;
  }

  smtp_sink sink;
};

TEST_F(SmtpEmail, DeliversHeadersAndBodyIntact) {
  auto res = channels::send_email(settings(), message());
  ASSERT_EQ(res.result, send_result::outcome::accepted) << res.detail;
  auto got = sink.messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].mail_from, "<orders@mercato.test>");
  ASSERT_EQ(got[0].rcpt_to.size(), 1u);
  EXPECT_EQ(got[0].rcpt_to[0], "<ada@example.com>");
  EXPECT_EQ(got[0].message_id,
            "<" + notify::idempotency_key("o-1/delivered/email") + "@mercato.invalid>");
  // The UTF-8 subject as one encoded word; the body with CRLF and its leading dot kept.
  EXPECT_NE(got[0].data.find("Subject: =?UTF-8?B?"), std::string::npos) << got[0].data;
  EXPECT_NE(got[0].data.find("\r\n\r\nLine one\r\n.starts with a dot\r\nĐã giao.\r\n"),
            std::string::npos)
    << got[0].data;
}

TEST_F(SmtpEmail, TemporaryRefusalIsNotPermanentAndARepeatKeepsTheMessageId) {
  sink.refuse_next(1);
  auto first = channels::send_email(settings(), message());
  EXPECT_EQ(first.result, send_result::outcome::refused);
  EXPECT_FALSE(first.permanent);
  EXPECT_EQ(first.smtp_code, 451);
  auto second = channels::send_email(settings(), message());
  ASSERT_EQ(second.result, send_result::outcome::accepted) << second.detail;
  EXPECT_EQ(sink.refused(), 1);
  auto counts = sink.count_by_message_id();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts.begin()->second, 1);
}

TEST_F(SmtpEmail, PermanentRefusalSaysSo) {
  sink.refuse_always(true);
  auto res = channels::send_email(settings(), message());
  EXPECT_EQ(res.result, send_result::outcome::refused);
  EXPECT_TRUE(res.permanent);
  EXPECT_EQ(res.smtp_code, 550);
  EXPECT_TRUE(sink.messages().empty());
}

TEST_F(SmtpEmail, AnUnreachableServerIsATemporaryRefusal) {
  auto s = settings();
  s.url = "smtp://127.0.0.1:1"; // nothing listens there
  auto res = channels::send_email(s, message());
  EXPECT_EQ(res.result, send_result::outcome::refused);
  EXPECT_FALSE(res.permanent);
  EXPECT_FALSE(res.detail.empty());
}

TEST(SmtpEmailFormat, HeaderInjectionThroughAnyFieldIsImpossible) {
  smtp_settings s;
  s.from = "orders@mercato.test";
  email_message m;
  m.to = "ada@example.com\r\nBcc: eve@example.com";
  m.subject = "Hi\r\nBcc: eve@example.com";
  m.body = "text";
  m.idempotency_key = "k";
  auto text = channels::format_email(s, m, 1'700'000'000'000);
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos) << text;
  EXPECT_NE(text.find("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos) << text;
}

} // namespace
} // namespace mercato::test
