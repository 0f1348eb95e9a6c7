// Overload protection of the real server over real sockets: a client over its rate gets 429
// with Retry-After while other clients go on being served, and connections over the cap are
// refused with a readable 503 instead of piling up.

#include "tests/support/shop_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

class LimitsE2E : public shop_test {};

// Everything a fresh connection to 127.0.0.1:`port` receives before the server closes it,
// without sending anything.
std::string read_until_closed(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return "socket() failed";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0}; // a server that neither answers nor closes fails the test, not hangs it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST_F(LimitsE2E, AFloodFromOneClientGets429WhileOthersAreServed) {
  start_server({"--rate-read-rps", "5", "--rate-read-burst", "5", "--rate-write-rps", "2",
                "--rate-write-burst", "2"});
  if (HasFatalFailure())
    return;
  auto bob = mint_token(env_->secret(), "bob", "customer");
  int ok = 0;
  int limited = 0;
  // 50 reads back to back: ten times what a second of ada's limit allows.
  for (int i = 0; i < 50; ++i) {
    auto res = http().get("/v1/orders", ada_);
    if (res.status == 429) {
      ++limited;
      EXPECT_EQ(res.json().value("code", ""), "rate_limited") << res.describe();
      auto retry = res.header("Retry-After");
      EXPECT_FALSE(retry.empty()) << res.describe();
      EXPECT_GE(std::atoi(retry.c_str()), 1) << res.describe();
    } else {
      ASSERT_EQ(res.status, 200) << res.describe();
      ++ok;
    }
    if (i % 10 == 5) { // bob is not held back by ada
      auto theirs = http().get("/v1/orders", bob);
      EXPECT_EQ(theirs.status, 200) << "request " << i << ": " << theirs.describe();
    }
  }
  EXPECT_GE(ok, 5) << "the burst goes through";
  EXPECT_GE(limited, 30) << ok << " answered, " << limited << " limited";
  // Writes have their own bucket; a refused write changes nothing.
  int carts = 0;
  for (int i = 0; i < 10; ++i) {
    auto res = http().post("/v1/carts", json::object(), bob);
    if (res.status == 201)
      ++carts;
    else
      EXPECT_EQ(res.status, 429) << res.describe();
  }
  EXPECT_GE(carts, 2);
  EXPECT_LT(carts, 10);
  // The shop's own back ends and operators are exempt by default.
  for (int i = 0; i < 30; ++i)
    ASSERT_EQ(http().get("/v1/orders", admin_).status, 200) << "request " << i;
  // Without a token the address pays: the burst, then 429.
  int anonymous_limited = 0;
  for (int i = 0; i < 20; ++i)
    if (http().get("/v1/products").status == 429)
      ++anonymous_limited;
  EXPECT_GE(anonymous_limited, 10);
  auto metrics = http().get("/metrics", admin_);
  EXPECT_NE(metrics.body.find("mercato_http_rate_limited_total"), std::string::npos);
}

TEST_F(LimitsE2E, ConnectionsOverTheCapAreRefusedWithA503) {
  start_server({"--max-connections", "3"});
  if (HasFatalFailure())
    return;
  auto port = env_->server().port();
  ASSERT_EQ(http().get("/healthz").status, 200); // one
  http_client second{"127.0.0.1", port};
  http_client third{"127.0.0.1", port};
  ASSERT_EQ(second.get("/healthz").status, 200); // two
  ASSERT_EQ(third.get("/healthz").status, 200);  // three: the cap
  auto refused = read_until_closed(port);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  EXPECT_NE(refused.find("\"code\":\"unavailable\""), std::string::npos) << refused;
  // The connections that are in keep being served, and a freed place is taken again.
  EXPECT_EQ(second.get("/healthz").status, 200);
  third.close();
  EXPECT_TRUE(eventually(
    [&] {
      http_client again{"127.0.0.1", port};
      return again.try_request(http_request{"GET", "/healthz"}).status == 200;
    },
    10s));
}

} // namespace
} // namespace mercato::test
