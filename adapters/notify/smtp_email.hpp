#pragma once

// Email over SMTP with libcurl: one message per call, blocking (for the detached actors of the
// email channel). The Message-ID is the delivery's idempotency key, the same on every attempt,
// so that a sink or relay that dedupes by it never delivers a repeat twice.

#include <chrono>
#include <cstdint>
#include <string>

namespace mercato::channels {

/// Where and how mail is submitted.
struct smtp_settings {
  std::string url;  ///< smtp://host:port (smtps:// for TLS)
  std::string from; ///< envelope and header sender, e.g. orders@example.com
  std::string username;
  std::string password;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{15000}; ///< the whole exchange
  std::string message_id_domain = "mercato.invalid";
};

/// One message.
struct email_message {
  std::string to;
  std::string subject; ///< UTF-8; sent RFC 2047-encoded
  std::string body;    ///< UTF-8 plain text
  std::string idempotency_key;
};

/// What the server said.
struct send_result {
  enum class outcome : uint8_t {
    accepted, ///< the server took the message (250 after DATA)
    refused,  ///< it said no; `permanent` for a 5xx reply
    unknown,  ///< the exchange broke after the message was sent: it may have been taken
  };
  outcome result = outcome::refused;
  bool permanent = false;
  long smtp_code = 0; ///< the last reply code, 0 when none came
  std::string detail;
};

/// The RFC 5322 text of `m` (headers and body, CRLF line ends, dot-stuffing left to libcurl).
std::string format_email(const smtp_settings& s, const email_message& m, int64_t now_ms);

/// Submits `m`. Never throws.
send_result send_email(const smtp_settings& s, const email_message& m);

} // namespace mercato::channels
