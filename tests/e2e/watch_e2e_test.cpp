// End-to-end tests of `mercatoctl watch`: the real binary subscribed over GET /v1/ws, to the
// real server (snapshot, then the event of a partner fact) and to a scripted loopback WebSocket
// server for what the real one does not do on demand (dropping the connection, refusing the
// upgrade, answering with error frames).

#include "tests/support/e2e_env.hpp"
#include "tests/support/shop_fixture.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;

/// The lines of `text` that are JSON objects, parsed.
std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object())
      out.push_back(std::move(j));
  }
  return out;
}

/// Runs `mercatoctl watch` in the background against `url`.
std::unique_ptr<mt::background_command>
start_watch(const std::string& url, const std::string& token, std::vector<std::string> args) {
  args.insert(args.begin(), {mt::mercatoctl_binary(), "--url", url});
  std::map<std::string, std::string> env;
  if (!token.empty())
    env["MERCATO_TOKEN"] = token;
  return std::make_unique<mt::background_command>(
    args, env, std::vector<std::string>{"MERCATO_URL", "MERCATO_TOKEN"});
}

// -- against the real server -------------------------------------------------------------------

class WatchE2E : public mt::shop_test {
protected:
  void SetUp() override {
    shop_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    start_server();
    service_ = env_->token("service");
  }

  /// A confirmed order of `customer`, through a product, its stock, a cart and a checkout.
  std::string confirmed_order(const std::string& customer) {
    auto order = place_order(mt::mint_token(env_->secret(), customer, "customer"), "watch");
    EXPECT_TRUE(mt::eventually(
      [&] {
        return http().get("/v1/orders/" + order, admin_).json().value("status", "") == "confirmed";
      },
      10s))
      << "order " << order << " is not confirmed";
    return order;
  }

  std::string service_;
};

TEST_F(WatchE2E, FollowsTheClusterAsALinePerMember) {
  auto watch = start_watch(env_->server().base_url(), admin_, {"watch", "admin:cluster"});
  auto node = http().get("/v1/admin/cluster", admin_).json().at("self").get<std::string>();
  // "admin:cluster #1 snapshot NODE=up/7 shards/N live"
  auto line_start = "admin:cluster #";
  ASSERT_TRUE(mt::eventually(
    [&] { return watch->out().find(" snapshot " + node + "=up/") != std::string::npos; }, 10s))
    << "stdout: " << watch->out() << "; stderr: " << watch->err();
  EXPECT_EQ(watch->out().rfind(line_start, 0), 0u) << watch->out();
  // A new live entity is the next line, an event.
  ASSERT_EQ(
    http().put("/v1/coupons/WATCH-CLUSTER", {{"kind", "percent"}, {"value", 5}}, admin_).status,
    201);
  ASSERT_TRUE(mt::eventually(
    [&] { return watch->out().find(" event " + node + "=up/") != std::string::npos; }, 10s))
    << "stdout: " << watch->out() << "; stderr: " << watch->err();
  watch->signal(SIGINT);
  auto done = watch->wait(10s);
  ASSERT_TRUE(done) << "still running after SIGINT; stderr: " << watch->err();
  EXPECT_EQ(done->exit_code, 0) << done->describe();
}

TEST_F(WatchE2E, PrintsTheSnapshotThenTheEventOfAPartnerFact) {
  auto order = confirmed_order("watch-ada");
  ASSERT_FALSE(order.empty());
  auto topic = "order:" + order;
  auto watch = start_watch(env_->server().base_url(), admin_, {"watch", topic, "--json"});

  ASSERT_TRUE(mt::eventually([&] { return !json_lines(watch->out()).empty(); }, 10s))
    << "no snapshot; stdout: " << watch->out() << "; stderr: " << watch->err();

  auto res = http().post("/v1/orders/" + order + "/events",
                         {{"source", "logistics"},
                          {"type", "in_transit"},
                          {"external_id", "watch-e2e-1"},
                          {"occurred_at", "2026-11-21T10:00:00Z"}},
                         service_);
  ASSERT_EQ(res.status, 202) << res.describe();
  ASSERT_TRUE(mt::eventually(
    [&] { return watch->out().find("\"external_id\":\"watch-e2e-1\"") != std::string::npos; }, 10s))
    << "no event; stdout: " << watch->out() << "; stderr: " << watch->err();

  watch->signal(SIGINT);
  auto done = watch->wait(10s);
  ASSERT_TRUE(done) << "still running after SIGINT; stderr: " << watch->err();
  EXPECT_EQ(done->exit_code, 0) << done->describe();

  // The snapshot first, then the fact's event, after it in seq.
  auto frames = json_lines(done->out);
  ASSERT_GE(frames.size(), 2u) << done->out;
  EXPECT_EQ(frames.front()["type"], "snapshot") << frames.front();
  EXPECT_EQ(frames.front()["topic"], topic);
  EXPECT_EQ(frames.front()["data"]["order_id"], order) << frames.front();
  // The fact's frame. Frames may follow it: a fact that occurred days ago can make the order
  // overdue at once, and its delay warning then comes right after (how soon is a race).
  auto fact = std::find_if(frames.begin(), frames.end(), [](const json& f) {
    return f.contains("data") && f["data"].contains("event")
           && f["data"]["event"].value("external_id", "") == "watch-e2e-1";
  });
  ASSERT_NE(fact, frames.end()) << done->out;
  const auto& last = *fact;
  EXPECT_EQ(last["type"], "event") << last;
  EXPECT_EQ(last["topic"], topic);
  EXPECT_GT(last["seq"].get<uint64_t>(), frames.front()["seq"].get<uint64_t>()) << done->out;
  EXPECT_EQ(last["data"]["order_id"], order) << last;
  EXPECT_EQ(last["data"]["event"]["external_id"], "watch-e2e-1") << last;
  EXPECT_EQ(last["data"]["event"]["type"], "in_transit") << last;
  EXPECT_EQ(last["data"]["event"]["source"], "logistics") << last;
}

TEST_F(WatchE2E, HumanLinesNameTheFrameAndTheFact) {
  auto order = confirmed_order("watch-bob");
  ASSERT_FALSE(order.empty());
  auto watch = start_watch(env_->server().base_url(), admin_, {"watch", "order:" + order});
  ASSERT_TRUE(
    mt::eventually([&] { return watch->out().find("snapshot") != std::string::npos; }, 10s))
    << watch->out() << watch->err();
  auto res = http().post("/v1/orders/" + order + "/events",
                         {{"source", "logistics"},
                          {"type", "in_transit"},
                          {"external_id", "watch-e2e-2"},
                          {"occurred_at", "2026-11-21T10:00:00Z"}},
                         service_);
  ASSERT_EQ(res.status, 202) << res.describe();
  ASSERT_TRUE(mt::eventually(
    [&] { return watch->out().find("external_id=watch-e2e-2") != std::string::npos; }, 10s))
    << watch->out() << watch->err();
  watch->signal(SIGINT);
  auto done = watch->wait(10s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->exit_code, 0) << done->describe();
  EXPECT_NE(done->out.find("order:" + order + " #"), std::string::npos) << done->out;
  EXPECT_NE(done->out.find("status=confirmed"), std::string::npos) << done->out;
  EXPECT_NE(done->out.find("logistics/in_transit"), std::string::npos) << done->out;
}

// -- against a scripted server -----------------------------------------------------------------

/// A loopback server that hands its i-th accepted connection to the i-th script, one at a
/// time, on its own thread, and records what the scripts record.
class scripted_server {
public:
  using script = std::function<void(tcp::socket&)>;

  explicit scripted_server(std::vector<script> scripts)
      : acceptor_(ioc_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}),
        scripts_(std::move(scripts)) {
    thread_ = std::thread([this] { serve(); });
  }

  ~scripted_server() {
    stopping_ = true;
    // Wakes a blocked accept(); the thread sees stopping_ and ends.
    try {
      asio::io_context io;
      tcp::socket s{io};
      s.connect(acceptor_.local_endpoint());
    } catch (const std::exception&) {
    }
    thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

  void record(const std::string& what) {
    std::lock_guard lock{mutex_};
    recorded_.push_back(what);
  }

  std::vector<std::string> recorded() {
    std::lock_guard lock{mutex_};
    return recorded_;
  }

  int accepted() const {
    return accepted_;
  }

private:
  void serve() {
    for (auto& run : scripts_) {
      tcp::socket socket{ioc_};
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_)
        return;
      ++accepted_;
      try {
        run(socket);
      } catch (const std::exception& e) {
        record(std::string{"script failed: "} + e.what());
      }
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<script> scripts_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<std::string> recorded_;
};

std::string frame(const std::string& type, uint64_t seq, const json& data) {
  return json{{"type", type}, {"topic", "order:o-1"}, {"seq", seq}, {"data", data}}.dump();
}

/// Upgrades, records the client's first frame (its subscription) and sends `frames`.
std::unique_ptr<websocket::stream<tcp::socket>>
accept_and_send(scripted_server& server, tcp::socket& socket,
                const std::vector<std::string>& frames) {
  auto ws = std::make_unique<websocket::stream<tcp::socket>>(std::move(socket));
  ws->accept();
  beast::flat_buffer buf;
  ws->read(buf);
  server.record(beast::buffers_to_string(buf.data()));
  ws->text(true);
  for (const auto& f : frames)
    ws->write(asio::buffer(f));
  return ws;
}

/// Reads until the client closes (or the connection fails).
void until_closed(websocket::stream<tcp::socket>& ws) {
  beast::flat_buffer buf;
  beast::error_code ec;
  while (!ec) {
    buf.clear();
    ws.read(buf, ec);
  }
}

TEST(WatchScripted, ReconnectsAfterADropAndResumesAfterTheLastSeq) {
  scripted_server* self = nullptr;
  scripted_server server{{
    [&](tcp::socket& s) {
      auto ws = accept_and_send(
        *self, s,
        {frame("snapshot", 5, {{"order_id", "o-1"}, {"status", "paid"}}),
         frame("event", 6,
               {{"order_id", "o-1"}, {"type", "status_changed"}, {"status", "confirmed"}})});
      // Too slow, as the real server would say.
      ws->close({websocket::close_code::policy_error, "slow consumer"});
      until_closed(*ws);
    },
    [&](tcp::socket& s) {
      auto ws = accept_and_send(
        *self, s,
        {frame("event", 7,
               {{"order_id", "o-1"}, {"type", "fact_recorded"}, {"status", "in_transit"}})});
      until_closed(*ws);
    },
  }};
  self = &server;
  auto watch = start_watch(server.url(), "any-token", {"watch", "order:o-1", "--json"});
  ASSERT_TRUE(mt::eventually([&] { return json_lines(watch->out()).size() >= 3; }, 15s))
    << watch->out() << watch->err();
  watch->signal(SIGINT);
  auto done = watch->wait(10s);
  ASSERT_TRUE(done) << watch->err();
  EXPECT_EQ(done->exit_code, 0) << done->describe();

  auto frames = json_lines(done->out);
  ASSERT_EQ(frames.size(), 3u) << done->out;
  EXPECT_EQ(frames[0]["seq"], 5);
  EXPECT_EQ(frames[1]["seq"], 6);
  EXPECT_EQ(frames[2]["seq"], 7);
  EXPECT_NE(done->err.find("1008"), std::string::npos) << done->err;
  EXPECT_NE(done->err.find("reconnecting"), std::string::npos) << done->err;

  // The first subscription asks for a snapshot; the second resumes after seq 6.
  auto recorded = server.recorded();
  ASSERT_EQ(recorded.size(), 2u);
  auto first = json::parse(recorded[0], nullptr, false);
  auto second = json::parse(recorded[1], nullptr, false);
  EXPECT_EQ(first, json({{"op", "subscribe"}, {"topic", "order:o-1"}})) << recorded[0];
  EXPECT_EQ(second, json({{"op", "subscribe"}, {"topic", "order:o-1"}, {"last_seq", 6}}))
    << recorded[1];
}

TEST(WatchScripted, SendsTheTokenAndMapsRefusedUpgradesToExitCodes) {
  for (auto [status, exit_code] : std::vector<std::pair<int, int>>{{401, 4}, {403, 4}, {404, 5}}) {
    scripted_server* self = nullptr;
    scripted_server server{{[&, status = status](tcp::socket& s) {
      beast::flat_buffer buf;
      beast::http::request<beast::http::string_body> req;
      beast::http::read(s, buf, req);
      self->record(std::string{req[beast::http::field::authorization]});
      beast::http::response<beast::http::string_body> res{static_cast<beast::http::status>(status),
                                                          11};
      res.set(beast::http::field::content_type, "application/problem+json");
      res.body() = R"({"code":"refused","status":)" + std::to_string(status) + "}";
      res.prepare_payload();
      beast::http::write(s, res);
    }}};
    self = &server;
    auto watch = start_watch(server.url(), "tok-123", {"watch", "order:o-1"});
    auto done = watch->wait(15s);
    ASSERT_TRUE(done) << "HTTP " << status << ": still running; " << watch->err();
    EXPECT_EQ(done->exit_code, exit_code) << "HTTP " << status << ": " << done->describe();
    EXPECT_NE(done->err.find(std::to_string(status)), std::string::npos) << done->err;
    auto recorded = server.recorded();
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0], "Bearer tok-123");
  }
}

TEST(WatchScripted, ErrorFramesGoToStderrAndEndTheWatchWithTheirExitCode) {
  for (auto [code, exit_code] :
       std::vector<std::pair<std::string, int>>{{"forbidden", 4}, {"not_found", 5}}) {
    scripted_server* self = nullptr;
    scripted_server server{{[&, code = code](tcp::socket& s) {
      auto ws = accept_and_send(
        *self, s, {json{{"type", "error"}, {"code", code}, {"topic", "order:o-1"}}.dump()});
      until_closed(*ws);
    }}};
    self = &server;
    auto watch = start_watch(server.url(), "tok", {"watch", "order:o-1", "--json"});
    auto done = watch->wait(15s);
    ASSERT_TRUE(done) << code << ": still running; " << watch->err();
    EXPECT_EQ(done->exit_code, exit_code) << code << ": " << done->describe();
    EXPECT_NE(done->err.find("error " + code), std::string::npos) << done->err;
    EXPECT_EQ(done->out, "") << "error frames are not data";
  }
}

TEST(WatchScripted, UnreachableServerExitsWithCode3) {
  uint16_t dead_port = 0;
  {
    // A free port: bound here, closed at the end of this block.
    asio::io_context ioc;
    tcp::acceptor acc{ioc, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
    dead_port = acc.local_endpoint().port();
  }
  auto r = mt::run_command({mt::mercatoctl_binary(), "--url",
                            "http://127.0.0.1:" + std::to_string(dead_port), "--token", "t",
                            "watch", "order:o-1"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_NE(r.err.find("cannot reach"), std::string::npos) << r.describe();
}

} // namespace
