// The HTTP layer over loopback, with test routes (no actors): framing, keep-alive, pipelining,
// limits, request ids, metrics, graceful stop.

#include "api/http/server.hpp"
#include "tests/unit/api_test_http.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

using namespace mercato;
using namespace mercato::api;
using mercato::api::test::http_client;

namespace {

// A responder parked by a handler, answered later by the test thread.
struct parked {
  std::mutex mtx;
  std::condition_variable cv;
  std::optional<responder> reply;
  int fast_calls = 0;

  void park(const responder& r) {
    std::lock_guard<std::mutex> guard{mtx};
    reply = r;
    cv.notify_all();
  }
  responder wait() {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [this] { return reply.has_value(); });
    auto r = *reply;
    reply.reset();
    return r;
  }
};

class HttpServer : public ::testing::Test {
protected:
  void SetUp() override {
    auto r = std::make_shared<router>();
    r->add(http_method::get, "/hello", [](const request& req, const responder& reply) {
      reply(json_response(200, R"({"hello":")" + std::string{req.query} + "\"}"));
    });
    r->add(http_method::post, "/echo", [](const request& req, const responder& reply) {
      reply(json_response(201, std::string{req.body}));
    });
    r->add(http_method::get, "/items/{id}", [](const request& req, const responder& reply) {
      reply(json_response(200, std::string{req.params.get("id")}));
    });
    r->add(http_method::get, "/slow",
           [this](const request&, const responder& reply) { slow.park(reply); });
    r->add(http_method::get, "/fast", [this](const request&, const responder& reply) {
      {
        std::lock_guard<std::mutex> guard{slow.mtx};
        ++slow.fast_calls;
      }
      reply(json_response(200, "fast"));
    });
    r->add(http_method::get, "/twice", [](const request&, const responder& reply) {
      reply(json_response(200, "first"));
      reply(json_response(200, "second"));
    });
    r->add(http_method::get, "/throws",
           [](const request&, const responder&) { throw std::runtime_error("boom"); });
    r->add(http_method::get, "/problem", [](const request&, const responder& reply) {
      auto res = problem_response(503, "unavailable", "later");
      res.retry_after_s = 1;
      reply(std::move(res));
    });
    r->add(http_method::delete_, "/items/{id}", [](const request&, const responder& reply) {
      response res;
      res.status = 204;
      reply(std::move(res));
    });
    runtime::node_handles h;
    h.metrics = &metrics;
    h.cfg.server.http_addr = "127.0.0.1:0";
    h.cfg.server.io_threads = 2;
    h.cfg.server.max_body_bytes = 1024;
    h.cfg.server.read_timeout_ms = read_timeout_ms;
    h.cfg.entity.request_timeout_ms = 1000;
    h.cfg.server.port_file = port_file;
    server.emplace(h, r);
    server->start();
  }

  void TearDown() override {
    server.reset();
    std::remove(port_file.c_str());
  }

  uint16_t port() const {
    return server->port();
  }

  int64_t read_timeout_ms = 30000;
  std::string port_file = ::testing::TempDir() + "api_server_test.port";
  runtime::metrics_registry metrics;
  parked slow;
  std::optional<http_server> server;
};

} // namespace

TEST_F(HttpServer, AnswersOnEphemeralPortAndWritesPortFile) {
  EXPECT_NE(port(), 0);
  std::ifstream in{port_file};
  int written = 0;
  in >> written;
  EXPECT_EQ(written, port());
  http_client c{port()};
  auto r = c.request("GET", "/hello?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"hello":"x=1"})");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("date").empty());
}

TEST_F(HttpServer, GeneratesRequestId) {
  http_client c{port()};
  auto r = c.request("GET", "/hello");
  auto id = r.header("x-request-id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(c.request("GET", "/hello").header("x-request-id"), id);
}

TEST_F(HttpServer, EchoesValidClientRequestId) {
  http_client c{port()};
  auto r = c.request("GET", "/hello", {}, "X-Request-ID: client-1:a.b_c\r\n");
  EXPECT_EQ(r.header("x-request-id"), "client-1:a.b_c");
}

TEST_F(HttpServer, ReplacesUnsafeClientRequestId) {
  http_client c{port()};
  auto r = c.request("GET", "/hello", {}, "X-Request-ID: bad id<script>\r\n");
  EXPECT_EQ(r.header("x-request-id").size(), 32u);
  auto long_id = std::string(129, 'a');
  r = c.request("GET", "/hello", {}, "X-Request-ID: " + long_id + "\r\n");
  EXPECT_EQ(r.header("x-request-id").size(), 32u);
}

TEST_F(HttpServer, AcceptsTraceparent) {
  http_client c{port()};
  auto r = c.request("GET", "/hello", {},
                     "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n");
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServer, KeepsConnectionAlive) {
  http_client c{port()};
  for (int i = 0; i < 5; ++i) {
    auto r = c.request("GET", "/items/" + std::to_string(i));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::to_string(i));
    EXPECT_EQ(r.header("connection"), "");
  }
  EXPECT_EQ(server->connections(), 1u);
}

TEST_F(HttpServer, AnswersPipelinedRequestsInOrder) {
  http_client c{port()};
  c.send_raw(http_client::format("GET", "/slow") + http_client::format("GET", "/fast")
             + http_client::format("POST", "/echo", "{\"n\":3}"));
  auto reply = slow.wait();
  {
    std::lock_guard<std::mutex> guard{slow.mtx};
    EXPECT_EQ(slow.fast_calls, 0); // not dispatched before the first one is answered
  }
  reply(json_response(200, "slow"));
  EXPECT_EQ(c.read_reply().body, "slow");
  EXPECT_EQ(c.read_reply().body, "fast");
  auto third = c.read_reply();
  EXPECT_EQ(third.status, 201);
  EXPECT_EQ(third.body, "{\"n\":3}");
}

TEST_F(HttpServer, IgnoresSecondAnswer) {
  http_client c{port()};
  EXPECT_EQ(c.request("GET", "/twice").body, "first");
  EXPECT_EQ(c.request("GET", "/hello").status, 200);
}

TEST_F(HttpServer, UnknownRouteIsNotFoundProblem) {
  http_client c{port()};
  auto r = c.request("GET", "/nope", {}, "X-Request-ID: rid-404\r\n");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  auto doc = nlohmann::json::parse(r.body);
  EXPECT_EQ(doc["code"], "not_found");
  EXPECT_EQ(doc["status"], 404);
  EXPECT_EQ(doc["type"], "https://mercato.dev/problems/not_found");
  EXPECT_EQ(doc["request_id"], "rid-404");
}

TEST_F(HttpServer, WrongMethodIs405WithAllow) {
  http_client c{port()};
  auto r = c.request("PUT", "/items/1", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "invalid_request");
  // The connection stays usable.
  EXPECT_EQ(c.request("GET", "/items/2").body, "2");
}

TEST_F(HttpServer, UnknownMethodIs405) {
  http_client c{port()};
  EXPECT_EQ(c.request("BREW", "/hello").status, 405);
}

TEST_F(HttpServer, OptionsListsMethods) {
  http_client c{port()};
  auto r = c.request("OPTIONS", "/items/1");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(r.header("content-length"), "");
}

TEST_F(HttpServer, NoContentHasNoBody) {
  http_client c{port()};
  auto r = c.request("DELETE", "/items/1");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("content-length"), "");
  EXPECT_EQ(c.request("GET", "/items/3").body, "3");
}

TEST_F(HttpServer, HeadSendsHeadersOnly) {
  http_client c{port()};
  auto r = c.request("HEAD", "/items/12345");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "5");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(c.request("GET", "/items/6").body, "6");
}

TEST_F(HttpServer, RetryAfterOnProblems) {
  http_client c{port()};
  auto r = c.request("GET", "/problem");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
}

TEST_F(HttpServer, OversizeBodyIs413AndCloses) {
  http_client c{port()};
  auto r = c.request("POST", "/echo", std::string(2000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "payload_too_large");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServer, OversizeUploadStillGets413) {
  // The client sends the whole body before reading: the server must drain it rather than reset
  // the connection, or the 413 would be lost.
  http_client c{port()};
  c.send_raw(http_client::format("POST", "/echo", std::string(4 * 1024 * 1024, 'x')));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServer, BodyAtLimitIsAccepted) {
  http_client c{port()};
  auto r = c.request("POST", "/echo", std::string(1024, 'x'));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body.size(), 1024u);
}

TEST_F(HttpServer, AnswersExpectContinue) {
  http_client c{port()};
  c.send_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_reply();
  EXPECT_EQ(interim.status, 100);
  c.send_raw("{}");
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "{}");
}

TEST_F(HttpServer, MalformedRequestIs400AndCloses) {
  http_client c{port()};
  c.send_raw("GET /hello HTTP/1.1\r\nHost x\r\n\r\n");
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "invalid_request");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServer, OversizeHeaderIs431) {
  http_client c{port()};
  auto r = c.request("GET", "/hello", {}, "X-Big: " + std::string(20000, 'a') + "\r\n");
  EXPECT_EQ(r.status, 431);
}

TEST_F(HttpServer, HonoursConnectionClose) {
  http_client c{port()};
  auto r = c.request("GET", "/hello", {}, "Connection: close\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServer, Http10ClosesUnlessKeepAlive) {
  http_client c{port()};
  c.send_raw("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 200);
  EXPECT_TRUE(c.closed_by_peer());
  http_client k{port()};
  k.send_raw("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = k.read_reply();
  EXPECT_EQ(r.header("connection"), "keep-alive");
  k.send_raw("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(k.read_reply().status, 200);
}

TEST_F(HttpServer, HandlerExceptionIs500) {
  http_client c{port()};
  auto r = c.request("GET", "/throws");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "internal");
  EXPECT_EQ(c.request("GET", "/hello").status, 200);
}

TEST_F(HttpServer, RecordsMetricsPerRoute) {
  http_client c{port()};
  c.request("GET", "/items/1");
  c.request("GET", "/items/2");
  c.request("GET", "/missing");
  auto text = metrics.render();
  EXPECT_NE(text.find("mercato_http_requests_total"), std::string::npos);
  EXPECT_NE(text.find("/items/{id}"), std::string::npos);
  EXPECT_NE(text.find("unmatched"), std::string::npos);
  EXPECT_NE(text.find("mercato_http_request_duration_seconds"), std::string::npos);
  EXPECT_EQ(metrics
              .get_counter("mercato_http_requests_total", "",
                           {{"route", "/items/{id}"}, {"method", "GET"}, {"status", "200"}})
              .value(),
            2u);
}

TEST_F(HttpServer, StopClosesIdleConnections) {
  http_client c{port()};
  EXPECT_EQ(c.request("GET", "/hello").status, 200);
  server->stop();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(server->connections(), 0u);
}

TEST_F(HttpServer, StopLetsRequestInFlightFinish) {
  http_client c{port()};
  c.send_raw(http_client::format("GET", "/slow"));
  auto reply = slow.wait();
  std::thread stopper{[this] { server->stop(); }};
  // Wait until stop() has begun: the listener refuses new connections.
  for (;;) {
    try {
      http_client probe{port()};
      std::this_thread::yield();
    } catch (const std::runtime_error&) {
      break;
    }
  }
  reply(json_response(200, "done"));
  auto r = c.read_reply();
  EXPECT_EQ(r.body, "done");
  EXPECT_EQ(r.header("connection"), "close");
  stopper.join();
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServer, LateAnswerAfterCloseIsDropped) {
  std::optional<responder> reply;
  {
    http_client c{port()};
    c.send_raw(http_client::format("GET", "/slow"));
    reply = slow.wait();
  } // client gone
  (*reply)(json_response(200, "nobody listens"));
  http_client d{port()};
  EXPECT_EQ(d.request("GET", "/hello").status, 200);
}

TEST(HttpServerStart, RejectsBadAddress) {
  runtime::node_handles h;
  h.cfg.server.http_addr = "not-an-address";
  http_server s{h, std::make_shared<router>()};
  EXPECT_THROW(s.start(), std::runtime_error);
}

TEST(HttpServerStart, RejectsPortInUse) {
  runtime::node_handles h;
  h.cfg.server.http_addr = "127.0.0.1:0";
  http_server a{h, std::make_shared<router>()};
  a.start();
  h.cfg.server.http_addr = "127.0.0.1:" + std::to_string(a.port());
  http_server b{h, std::make_shared<router>()};
  EXPECT_THROW(b.start(), std::runtime_error);
}

TEST(HttpServerIdle, ReadTimeoutClosesIdleConnection) {
  runtime::node_handles h;
  h.cfg.server.http_addr = "127.0.0.1:0";
  h.cfg.server.read_timeout_ms = 100;
  http_server s{h, std::make_shared<router>()};
  s.start();
  http_client c{s.port()};
  EXPECT_TRUE(c.closed_by_peer()); // within the client's 5 s receive timeout
}

TEST_F(HttpServer, UnansweredRequestGets503AtItsDeadline) {
  http_client c{port()};
  c.send_raw(http_client::format("GET", "/slow"));
  auto reply = slow.wait(); // parked: nothing will answer it in time
  auto r = c.read_reply();  // the connection's deadline (request_timeout_ms = 1000) answers
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(R"("code":"unavailable")"), std::string::npos);
  EXPECT_EQ(r.header("retry-after"), "1");
  reply(json_response(200, "too late")); // dropped as stale
  auto next = c.request("GET", "/hello");
  EXPECT_EQ(next.status, 200) << "the connection stays usable after a timed-out request";
  EXPECT_EQ(next.body, R"({"hello":""})");
}
