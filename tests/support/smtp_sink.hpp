#pragma once

// An SMTP server on 127.0.0.1 (a free port) that keeps what it receives, for the email channel's
// tests: it can refuse the next N messages (451 after DATA) or refuse for good (550), and it
// counts every message by Message-ID, so that a test sees repeats.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mercato::test {

class smtp_sink {
public:
  /// One accepted message.
  struct message {
    std::string mail_from;
    std::vector<std::string> rcpt_to;
    std::string data; ///< headers and body as received (dot-unstuffed, CRLF)
    std::string message_id;
  };

  smtp_sink();
  ~smtp_sink();
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  uint16_t port() const;
  /// smtp://127.0.0.1:PORT
  std::string url() const;

  /// Answers the next `n` messages with 451 (try again later).
  void refuse_next(int n);
  /// Answers every message with 550 (refused for good) while set.
  void refuse_always(bool on);

  /// Messages accepted so far, in order.
  std::vector<message> messages() const;
  /// Messages accepted per Message-ID.
  std::map<std::string, int> count_by_message_id() const;
  /// Messages refused so far.
  int refused() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mercato::test
