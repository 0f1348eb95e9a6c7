#pragma once

// A blocking WebSocket client for the end-to-end tests of /v1/ws: each call runs the client's
// own io_context until the operation completes or its deadline passes (then it throws).

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mercato::test {

class ws_client {
public:
  struct options {
    std::string token;            ///< sent as `Authorization: Bearer`
    std::string query;            ///< appended to /v1/ws (e.g. "access_token=...")
    int receive_buffer_bytes = 0; ///< SO_RCVBUF before connecting; 0 = the kernel's default
  };

  /// Connects to 127.0.0.1:port and completes the handshake; throws std::runtime_error with
  /// the HTTP status on refusal (e.g. "handshake refused: 401").
  ws_client(uint16_t port, options opts);
  ~ws_client();

  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  void send(const std::string& text);
  void send_binary(const std::string& bytes);

  /// The next frame, parsed. Throws std::runtime_error on timeout, close or bad JSON.
  nlohmann::json next(std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// The next frame as text, or nullopt once the server closed (close_code() tells the code).
  std::optional<std::string> next_text(std::chrono::milliseconds timeout
                                       = std::chrono::seconds{10});

  /// Reads until the server closes; returns its close code (0 if the connection just ended).
  /// Frames still arriving on the way are counted in `frames_skipped`.
  int wait_closed(std::chrono::milliseconds timeout, size_t* frames_skipped = nullptr);

  /// {"op":"subscribe","topic":T[,"last_seq":N]} then the first frame (snapshot, error, or
  /// the first replayed event).
  nlohmann::json subscribe(const std::string& topic, std::optional<uint64_t> last_seq = {});

  /// Closes with 1000 (best effort).
  void close();

  std::optional<int> close_code() const noexcept {
    return close_code_;
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::optional<int> close_code_;
};

} // namespace mercato::test
