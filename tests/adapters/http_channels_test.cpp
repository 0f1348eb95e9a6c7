// The SMS and push channels (adapters/notify/http_channels.cpp, over net::http_call) against a
// real HTTP server on loopback that counts its connections: what a provider receives, one
// connection for the messages one worker sends in a row, and a provider that closes each
// connection after its answer still gets every message.

#include "adapters/notify/http_channels.hpp"

#include "actors/protocol/notification_rules.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mercato::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// An HTTP/1.1 server on its own thread that answers every request 202 and keeps connections
/// open when asked to (`keep_alive`), recording each request and counting connections.
class provider_server {
public:
  struct seen {
    std::string target;
    std::string content_type;
    std::string authorization;
    std::string idempotency_key;
    std::string body;
  };

  explicit provider_server(bool keep_alive) : keep_alive_(keep_alive) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    accept();
    runner_ = std::thread{[this] { ioc_.run(); }};
  }

  ~provider_server() {
    ioc_.stop();
    runner_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/api/";
  }

  int connections() const {
    return connections_.load();
  }

  std::vector<seen> requests() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return requests_;
  }

private:
  struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, provider_server& srv) : socket(std::move(s)), server(srv) {}

    void read() {
      req = {};
      http::async_read(socket, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (!ec)
                           self->answer();
                       });
    }

    void answer() {
      {
        std::lock_guard<std::mutex> lock{server.mutex_};
        server.requests_.push_back({std::string{req.target()},
                                    std::string{req[http::field::content_type]},
                                    std::string{req[http::field::authorization]},
                                    std::string{req["Idempotency-Key"]}, req.body()});
      }
      res = {http::status::accepted, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"id":"msg-1"})";
      res.keep_alive(server.keep_alive_ && req.keep_alive());
      res.prepare_payload();
      http::async_write(socket, res, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec)
          return;
        if (self->res.keep_alive()) {
          self->read();
        } else {
          beast::error_code ignored;
          self->socket.shutdown(tcp::socket::shutdown_both, ignored);
        }
      });
    }

    tcp::socket socket;
    provider_server& server;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec)
        return;
      ++connections_;
      std::make_shared<session>(std::move(socket), *this)->read();
      accept();
    });
  }

  bool keep_alive_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::thread runner_;
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<seen> requests_;
};

channels::text_message sms(int i) {
  channels::text_message m;
  m.to = "+84901234567";
  m.body = "Đơn hàng o-" + std::to_string(i) + " đã được giao";
  m.idempotency_key = notify::idempotency_key("o-" + std::to_string(i) + "/delivered/sms");
  return m;
}

TEST(HttpChannels, AProviderGetsJsonWithTheKeyAndTheMessagesOfOneWorkerShareAConnection) {
  provider_server provider{true};
  channels::http_provider_settings s{provider.url(), "sms-key", std::chrono::seconds{5}};
  for (int i = 0; i < 5; ++i) {
    auto r = channels::send_sms(s, sms(i));
    EXPECT_EQ(r.result, channels::send_result::outcome::accepted) << r.detail;
  }
  auto seen = provider.requests();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(provider.connections(), 1) << "one connection for the messages of one thread";
  EXPECT_EQ(seen[0].target, "/api/v1/messages");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].authorization, "Bearer sms-key");
  EXPECT_EQ(seen[0].idempotency_key, sms(0).idempotency_key);
  auto body = nlohmann::json::parse(seen[3].body);
  EXPECT_EQ(body.at("to"), "+84901234567");
  EXPECT_EQ(body.at("body"), sms(3).body);
  EXPECT_EQ(body.at("idempotency_key"), sms(3).idempotency_key);

  // Another worker thread has a connection of its own.
  std::thread other{[&] {
    channels::text_message m;
    m.customer_id = "c-1";
    m.title = "Delivered";
    m.body = "Order o-9 was delivered";
    m.idempotency_key = notify::idempotency_key("o-9/delivered/push");
    auto r = channels::send_push(s, m);
    EXPECT_EQ(r.result, channels::send_result::outcome::accepted) << r.detail;
  }};
  other.join();
  EXPECT_EQ(provider.connections(), 2);
  EXPECT_EQ(provider.requests().back().target, "/api/v1/push");
}

TEST(HttpChannels, AProviderThatClosesEachConnectionStillGetsEveryMessage) {
  provider_server provider{false};
  channels::http_provider_settings s{provider.url(), "sms-key", std::chrono::seconds{5}};
  for (int i = 0; i < 4; ++i) {
    auto r = channels::send_sms(s, sms(i));
    EXPECT_EQ(r.result, channels::send_result::outcome::accepted) << r.detail;
  }
  EXPECT_EQ(provider.requests().size(), 4u);
  EXPECT_EQ(provider.connections(), 4);
}

TEST(HttpChannels, AProviderThatIsNotThereIsAnUnknownOutcomeToRetry) {
  std::string url;
  {
    provider_server gone{true};
    url = gone.url();
  }
  channels::http_provider_settings s{url, "sms-key", std::chrono::seconds{2}};
  auto r = channels::send_sms(s, sms(1));
  EXPECT_EQ(r.result, channels::send_result::outcome::unknown);
  EXPECT_FALSE(r.permanent);
  EXPECT_FALSE(r.detail.empty());
}

} // namespace
} // namespace mercato::test
