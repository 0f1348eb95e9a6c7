// End-to-end tests of GET /v1/ws: the real `mercato` binary on a fresh PostgreSQL database,
// WebSocket clients over real sockets, changes made over REST.

#include "tests/support/shop_fixture.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::ws_client;
using json = nlohmann::json;
using namespace std::chrono_literals;

// A partner fact of one order, `k` making its external id unique. It occurred a moment ago (k
// orders them), so that no status looks overdue and no delay warning joins the events.
json fact(const std::string& source, const std::string& type, int k) {
  auto t = std::time(nullptr) - 600 + k;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char at[32];
  std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {{"source", source},
          {"type", type},
          {"external_id", type + "-" + std::to_string(k)},
          {"occurred_at", at}};
}

class WebSocketE2E : public mt::shop_test {
protected:
  void SetUp() override {
    shop_test::SetUp();
    if (env_)
      service_ = env_->token("service");
  }

  uint16_t port() {
    return env_->server().port();
  }

  std::unique_ptr<ws_client> connect(const std::string& token, int rcvbuf = 0) {
    ws_client::options o;
    o.token = token;
    o.receive_buffer_bytes = rcvbuf;
    return std::make_unique<ws_client>(port(), o);
  }

  void post_fact(const std::string& order_id, const json& f) {
    auto res = http().post("/v1/orders/" + order_id + "/events", f, service_);
    ASSERT_EQ(res.status, 202) << res.describe();
  }

  std::string service_;
};

// Reads event frames until one's data satisfies `done`; checks that seqs follow `last`.
template <class Done>
std::vector<json> events_until(ws_client& c, uint64_t& last, Done done) {
  std::vector<json> out;
  for (;;) {
    auto f = c.next();
    EXPECT_EQ(f.at("type"), "event") << f.dump();
    EXPECT_EQ(f.at("seq").get<uint64_t>(), last + 1) << f.dump();
    last = f.at("seq").get<uint64_t>();
    out.push_back(f);
    if (done(f.at("data")))
      return out;
  }
}

std::vector<json> events_until_status(ws_client& c, uint64_t& last, const std::string& status) {
  return events_until(c, last, [&](const json& d) { return d.at("status") == status; });
}

TEST_F(WebSocketE2E, OrderTopicFollowsAnOrderToDeliveryAndResumesFromLastSeq) {
  start_server();
  auto order_id = place_order(ada_);
  auto topic = "order:" + order_id;
  auto c = connect(ada_);
  auto snap = c->subscribe(topic);
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  EXPECT_EQ(snap.at("topic"), topic);
  EXPECT_EQ(snap.at("data").at("order_id"), order_id);
  auto last = snap.at("seq").get<uint64_t>();
  EXPECT_EQ(last, snap.at("data").at("version").get<uint64_t>());

  // The checkout confirms in the background: whatever it did after the snapshot follows.
  if (snap.at("data").at("status") != "confirmed")
    events_until_status(*c, last, "confirmed");

  post_fact(order_id, fact("manufacturing", "production_started", 1));
  post_fact(order_id, fact("manufacturing", "production_completed", 2));
  auto produced = events_until_status(*c, last, "produced");
  ASSERT_EQ(produced.size(), 2u);
  EXPECT_EQ(produced[0].at("data").at("event").at("type"), "production_started");
  EXPECT_EQ(produced[0].at("data").at("status"), "in_production");
  EXPECT_EQ(produced[1].at("data").at("event").at("external_id"), "production_completed-2");
  auto seen_before_drop = last;
  c->close();

  // Missed while disconnected:
  post_fact(order_id, fact("fulfillment", "packed", 3));
  post_fact(order_id, fact("logistics", "handed_to_carrier", 4));
  post_fact(order_id, fact("logistics", "in_transit", 5));
  post_fact(order_id, fact("logistics", "in_transit", 5)); // a duplicate: no event

  auto again = connect(ada_);
  auto first = again->subscribe(topic, seen_before_drop);
  ASSERT_EQ(first.at("type"), "event") << "a resume replays, without a snapshot: " << first.dump();
  std::vector<json> replayed{first};
  last = first.at("seq").get<uint64_t>();
  EXPECT_EQ(last, seen_before_drop + 1);
  auto rest = events_until_status(*again, last, "shipped");
  replayed.insert(replayed.end(), rest.begin(), rest.end());
  // packed keeps `produced`; handed_to_carrier ships; in_transit is the third, once.
  if (replayed.back().at("data").at("event").at("type") != "in_transit") {
    auto f = again->next();
    EXPECT_EQ(f.at("seq").get<uint64_t>(), last + 1);
    last = f.at("seq").get<uint64_t>();
    replayed.push_back(f);
  }
  ASSERT_EQ(replayed.size(), 3u);
  EXPECT_EQ(replayed[0].at("data").at("event").at("type"), "packed");
  EXPECT_EQ(replayed[1].at("data").at("event").at("type"), "handed_to_carrier");
  EXPECT_EQ(replayed[2].at("data").at("event").at("type"), "in_transit");

  // Live again after the replay:
  post_fact(order_id, fact("logistics", "out_for_delivery", 6));
  post_fact(order_id, fact("logistics", "delivered", 7));
  auto tail = events_until_status(*again, last, "delivered");
  EXPECT_EQ(tail.back().at("data").at("event").at("type"), "delivered");
  auto order = http().get("/v1/orders/" + order_id, ada_);
  EXPECT_EQ(order.json().at("version").get<uint64_t>(), last);

  // A resume at the newest seq gets nothing until the next change; one from the future, or one
  // from beyond the replay limit, gets a snapshot.
  auto future = connect(ada_);
  auto snap2 = future->subscribe(topic, last + 100);
  EXPECT_EQ(snap2.at("type"), "snapshot");
  EXPECT_EQ(snap2.at("seq").get<uint64_t>(), last);
}

// Reads customer-feed frames until order `order_id` reaches `status`.
std::vector<json> feed_until(ws_client& c, uint64_t& last, const std::string& order_id,
                             const std::string& status) {
  return events_until(c, last, [&](const json& d) {
    return d.at("order_id") == order_id && d.at("status") == status;
  });
}

TEST_F(WebSocketE2E, CustomerTopicMergesAllTheirOrdersWithItsOwnSeq) {
  start_server();
  // Order changes only here: with no channel, no inbox message joins the feed (the next test
  // has them).
  auto prefs = http().put(
    "/v1/customers/ada/preferences",
    {{"channels", {{"in_app", false}, {"email", false}, {"sms", false}, {"push", false}}}}, ada_);
  ASSERT_EQ(prefs.status, 200) << prefs.describe();
  auto c = connect(ada_);
  auto snap = c->subscribe("customer:ada");
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  EXPECT_EQ(snap.at("data").at("customer_id"), "ada");
  EXPECT_TRUE(snap.at("data").at("orders").empty());
  auto last = snap.at("seq").get<uint64_t>();
  EXPECT_EQ(last, 0u);

  auto first = place_order(ada_);
  auto placed = feed_until(*c, last, first, "confirmed");
  EXPECT_EQ(placed.front().at("data").at("change"), "placed");
  auto second = place_order(ada_);
  feed_until(*c, last, second, "confirmed");
  post_fact(first, fact("manufacturing", "production_started", 1));
  auto started = feed_until(*c, last, first, "in_production");
  EXPECT_EQ(started.back().at("data").at("fact_type"), "production_started");
  auto seen = last;
  c->close();

  post_fact(second, fact("manufacturing", "production_started", 2));
  auto again = connect(ada_);
  auto resumed = again->subscribe("customer:ada", seen);
  ASSERT_EQ(resumed.at("type"), "event") << resumed.dump();
  EXPECT_EQ(resumed.at("seq").get<uint64_t>(), seen + 1);
  EXPECT_EQ(resumed.at("data").at("order_id"), second);
  EXPECT_EQ(resumed.at("data").at("status"), "in_production");

  // The snapshot lists both orders, newest update first; nobody else may follow the feed.
  auto fresh = connect(admin_)->subscribe("customer:ada");
  ASSERT_EQ(fresh.at("type"), "snapshot");
  EXPECT_EQ(fresh.at("seq").get<uint64_t>(), seen + 1);
  ASSERT_EQ(fresh.at("data").at("orders").size(), 2u);
  EXPECT_EQ(fresh.at("data").at("orders")[0].at("order_id"), second);
  auto bob = mt::mint_token(env_->secret(), "bob", "customer");
  EXPECT_EQ(connect(bob)->subscribe("customer:ada").at("code"), "forbidden");
  EXPECT_EQ(connect(service_)->subscribe("customer:ada").at("code"), "forbidden");
}

// The in-app inbox rides on customer:{id}: each message is a frame in the same gapless sequence
// as the order changes, with the same text as GET /v1/customers/{id}/notifications; a resume
// replays missed messages with their text, and a snapshot lists the newest ones.
TEST_F(WebSocketE2E, CustomerTopicPushesTheirInboxInTheSameSequenceAsTheirOrders) {
  start_server();
  auto c = connect(ada_);
  auto snap = c->subscribe("customer:ada");
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  EXPECT_TRUE(snap.at("data").at("inbox").empty());
  auto last = snap.at("seq").get<uint64_t>();

  auto is_message = [](const std::string& kind) {
    return [kind](const json& d) {
      return d.at("type") == "notification" && d.at("notification").at("kind") == kind;
    };
  };
  auto first = place_order(ada_);
  auto frames = events_until(*c, last, is_message("order_confirmed"));
  const auto message = frames.back().at("data");
  EXPECT_EQ(message.at("order_id"), first);
  EXPECT_EQ(message.at("notification").at("order_id"), first);
  EXPECT_EQ(message.at("notification").at("locale"), "en");
  EXPECT_NE(message.at("notification").at("body").get<std::string>().find(first), std::string::npos)
    << message.dump();
  // The same message as the inbox lists, and nothing about other channels.
  auto inbox = http().get("/v1/customers/ada/notifications", ada_);
  ASSERT_EQ(inbox.status, 200) << inbox.describe();
  const auto listed = inbox.json();
  bool found = false;
  for (const auto& item : listed.at("items"))
    if (item.at("id") == message.at("notification").at("id")) {
      found = true;
      EXPECT_EQ(item.at("channel"), "in_app");
      EXPECT_EQ(item.at("subject"), message.at("notification").at("subject"));
      EXPECT_EQ(item.at("body"), message.at("notification").at("body"));
    }
  EXPECT_TRUE(found) << listed.dump();
  EXPECT_EQ(message.at("notification").count("address"), 0u);
  auto seen = last;
  c->close();

  // Missed while away: the order change and its message, replayed with their text, in one
  // gapless sequence whichever of the two committed first.
  post_fact(first, fact("manufacturing", "production_started", 1));
  ASSERT_TRUE(mt::eventually(
    [&] {
      auto page = http().get("/v1/customers/ada/notifications", ada_).json();
      for (const auto& item : page.at("items"))
        if (item.at("kind") == "production_started" && item.at("channel") == "in_app")
          return true;
      return false;
    },
    10s));
  auto again = connect(ada_);
  auto resumed = again->subscribe("customer:ada", seen);
  ASSERT_EQ(resumed.at("type"), "event") << resumed.dump();
  EXPECT_EQ(resumed.at("seq").get<uint64_t>(), seen + 1);
  std::vector<json> replayed{resumed.at("data")};
  last = resumed.at("seq").get<uint64_t>();
  int messages = 0;
  int changes = 0;
  auto count = [&](const json& d) {
    if (d.at("type") == "notification") {
      ++messages;
      EXPECT_EQ(d.at("notification").at("kind"), "production_started");
      EXPECT_FALSE(d.at("notification").at("body").get<std::string>().empty());
    } else if (d.at("status") == "in_production") {
      ++changes;
    } else {
      // A change of the order from before production that committed after the confirmation's
      // message: the feed is in commit order, so it comes now.
      EXPECT_EQ(d.at("status"), "confirmed") << d.dump();
    }
  };
  count(replayed.back());
  while (messages < 1 || changes < 1) {
    auto f = again->next();
    ASSERT_EQ(f.at("type"), "event") << f.dump();
    EXPECT_EQ(f.at("seq").get<uint64_t>(), last + 1) << f.dump();
    last = f.at("seq").get<uint64_t>();
    replayed.push_back(f.at("data"));
    count(replayed.back());
  }
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(changes, 1);

  // A snapshot lists the newest messages first, at the seq the feed is at.
  auto fresh = connect(admin_)->subscribe("customer:ada");
  ASSERT_EQ(fresh.at("type"), "snapshot");
  EXPECT_EQ(fresh.at("seq").get<uint64_t>(), last);
  const auto listed_now = fresh.at("data").at("inbox");
  ASSERT_EQ(listed_now.size(), 2u) << fresh.dump();
  EXPECT_EQ(listed_now[0].at("kind"), "production_started");
  EXPECT_EQ(listed_now[1].at("kind"), "order_confirmed");
  EXPECT_EQ(listed_now[1].at("id"), message.at("notification").at("id"));
}

TEST_F(WebSocketE2E, ThousandSubscribersGetEveryEventAndASlowOneIsClosedWithoutDelayingThem) {
  // Small kernel send buffers and queue, so that a client that does not read overflows within
  // the 80 events below (it holds ~40 of them: a few in its buffers, 32 queued); two fan-out
  // lanes, so that the slow client shares its lane with half of the others. The readers are
  // paced (see below), so they never have more than a few frames outstanding, however loaded
  // the machine is. The slow client reads only once the others are done, which takes seconds on
  // a loaded machine: the server waits for it to take the close frame (no close timeout), so
  // that it gets 1008 rather than a dropped connection.
  start_server({"--ws-send-buffer-bytes", "4096", "--ws-max-queued-frames", "32", "--ws-threads",
                "2", "--ws-close-timeout-ms", "600000"});
  auto order_id = place_order(ada_);
  auto topic = "order:" + order_id;
  // The order is placed confirmed and settling does not change it: every subscriber starts at
  // one seq.
  ASSERT_TRUE(mt::eventually(
    [&] {
      return http().get("/v1/orders/" + order_id, ada_).json().value("status", "") == "confirmed";
    },
    10s));

  auto slow = connect(ada_, 1024);
  auto slow_snap = slow->subscribe(topic);
  ASSERT_EQ(slow_snap.at("type"), "snapshot");

  constexpr size_t subscribers = 1000;
  std::vector<std::unique_ptr<ws_client>> clients;
  clients.reserve(subscribers);
  uint64_t start_seq = 0;
  for (size_t i = 0; i < subscribers; ++i) {
    clients.push_back(connect(i % 2 == 0 ? ada_ : admin_));
    auto snap = clients.back()->subscribe(topic);
    ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
    if (i == 0)
      start_seq = snap.at("seq").get<uint64_t>();
    ASSERT_EQ(snap.at("seq").get<uint64_t>(), start_seq);
  }

  // One thread reads every reader, event by event, while this one posts; a post waits until
  // the readers are at most `window` events behind. So a reader never has more than
  // window + 1 frames on their way (well under the queue limit) and is never taken for slow,
  // while the slow client, which reads nothing, falls further behind with every event.
  constexpr int events = 80;
  constexpr int window = 8;
  std::atomic<int> all_read{0}; // events that every reader has received
  std::atomic<bool> read_failed{false};
  std::string failure;
  std::thread reader([&] {
    try {
      for (int k = 0; k < events; ++k) {
        for (size_t i = 0; i < subscribers; ++i) {
          auto f = clients[i]->next();
          auto want_seq = start_seq + 1 + static_cast<uint64_t>(k);
          auto want_id = "eta_updated-" + std::to_string(100 + k);
          if (f.at("seq").get<uint64_t>() != want_seq
              || f.at("data").at("event").at("external_id") != want_id) {
            failure = "client " + std::to_string(i) + " expected seq " + std::to_string(want_seq)
                      + ", got " + f.dump();
            read_failed = true;
            return;
          }
        }
        all_read = k + 1;
      }
    } catch (const std::exception& e) {
      failure = e.what();
      read_failed = true;
    }
  });
  bool paced = true;
  std::string post_error;
  try { // the reader thread must be joined whatever happens here
    for (int k = 0; k < events && paced; ++k) {
      paced = mt::eventually([&] { return read_failed || all_read.load() >= k - window; }, 20s, 1ms)
              && !read_failed;
      if (!paced)
        break;
      auto f = fact("logistics", "eta_updated", 100 + k);
      f["data"] = {{"eta", "2026-03-09T12:00:00Z"}};
      post_fact(order_id, f);
    }
  } catch (const std::exception& e) {
    paced = false;
    post_error = e.what();
  }
  reader.join();
  // Every reader got all of them, in order, while the slow client has read nothing at all.
  ASSERT_TRUE(paced) << "readers fell behind: " << failure << post_error;
  ASSERT_FALSE(read_failed) << failure;
  ASSERT_EQ(all_read.load(), events);
  size_t slow_frames = 0;
  EXPECT_EQ(slow->wait_closed(20s, &slow_frames), 1008) << slow_frames << " frames read";
  EXPECT_LT(slow_frames, static_cast<size_t>(events)) << "the slow client was cut short";

  EXPECT_GE(
    mt::metric_value(http().get("/metrics").body, "mercato_ws_slow_closed_total").value_or(0), 1.0);
  // The slow session ends once its closing handshake completes.
  EXPECT_TRUE(mt::eventually(
    [&] {
      return mt::metric_value(http().get("/metrics").body, "mercato_ws_sessions").value_or(-1)
             == static_cast<double>(subscribers);
    },
    10s));
}

TEST_F(WebSocketE2E, TopicsAreAuthorisedPerCallerAndStockIsPublic) {
  start_server();
  auto order_id = place_order(ada_);
  auto bob = mt::mint_token(env_->secret(), "bob", "customer");
  auto b = connect(bob);
  auto err = b->subscribe("order:" + order_id);
  EXPECT_EQ(err.at("type"), "error");
  EXPECT_EQ(err.at("code"), "forbidden");
  EXPECT_EQ(err.at("topic"), "order:" + order_id);
  auto missing = b->subscribe("order:no-such-order");
  EXPECT_EQ(missing.at("code"), "not_found");

  // A partner (service) follows the orders it posts to; an admin follows any.
  EXPECT_EQ(connect(service_)->subscribe("order:" + order_id).at("type"), "snapshot");
  EXPECT_EQ(connect(admin_)->subscribe("order:" + order_id).at("type"), "snapshot");

  // Anonymous (no token): public stock only. A bad token is refused at the handshake.
  auto sku = stocked_product("public", 2500, 7);
  auto anon = connect("");
  EXPECT_EQ(anon->subscribe("order:" + order_id).at("code"), "unauthorized");
  auto snap = anon->subscribe("stock:" + sku);
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  EXPECT_EQ(snap.at("data").at("available"), 7);
  auto last = snap.at("seq").get<uint64_t>();
  auto r = http().post("/v1/stock/" + sku + "/reservations",
                       {{"reservation_id", "ws-r1"}, {"quantity", 2}}, admin_);
  ASSERT_EQ(r.status, 201) << r.describe();
  auto ev = anon->next();
  EXPECT_EQ(ev.at("type"), "event");
  EXPECT_EQ(ev.at("seq").get<uint64_t>(), last + 1);
  EXPECT_EQ(ev.at("data").at("type"), "reserved");
  EXPECT_EQ(ev.at("data").at("qty"), 2);
  EXPECT_THROW(ws_client(port(), ws_client::options{"not-a-token", {}, 0}), std::runtime_error);
  // The token may come in the query instead (browsers cannot set headers).
  ws_client by_query{port(), ws_client::options{{}, "access_token=" + ada_, 0}};
  EXPECT_EQ(by_query.subscribe("order:" + order_id).at("type"), "snapshot");

  // Unsubscribing stops the events of that topic.
  anon->send(R"({"op":"unsubscribe","topic":"stock:)" + sku + R"("})");
  ASSERT_EQ(http()
              .post("/v1/stock/" + sku + "/reservations",
                    {{"reservation_id", "ws-r2"}, {"quantity", 1}}, admin_)
              .status,
            201);
  anon->send(R"({"op":"ping"})");
  EXPECT_EQ(anon->next().at("type"), "pong") << "no stock event after unsubscribe";
}

// The cart count of the only member of a single node's admin:cluster description (0 when no
// cart is live).
int64_t live_carts(const json& description) {
  const auto& kinds = description.at("members").at(0).at("entities_by_kind");
  return kinds.contains("cart") ? kinds.at("cart").get<int64_t>() : 0;
}

TEST_F(WebSocketE2E, AdminClusterIsForAdminsAndFollowsTheNodesLiveEntities) {
  start_server();
  EXPECT_EQ(connect(ada_)->subscribe("admin:cluster").at("code"), "forbidden");
  EXPECT_EQ(connect(service_)->subscribe("admin:cluster").at("code"), "forbidden");
  EXPECT_EQ(connect("")->subscribe("admin:cluster").at("code"), "unauthorized");
  EXPECT_EQ(connect(admin_)->subscribe("admin:nodes").at("code"), "not_found");

  auto a = connect(admin_);
  auto snap = a->subscribe("admin:cluster");
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  const auto& data = snap.at("data");
  auto rest = http().get("/v1/admin/cluster", admin_);
  ASSERT_EQ(rest.status, 200) << rest.describe();
  EXPECT_EQ(data.at("self"), rest.json().at("self"));
  ASSERT_EQ(data.at("members").size(), 1u) << data.dump();
  EXPECT_EQ(data.at("members").at(0).at("status"), "up");
  auto carts = live_carts(data);

  // A new cart is a new live entity: the next description counts it.
  auto c = http().post("/v1/carts", json::object(), ada_);
  ASSERT_EQ(c.status, 201) << c.describe();
  auto last = snap.at("seq").get<uint64_t>();
  auto seen = events_until(*a, last, [&](const json& d) { return live_carts(d) > carts; });
  EXPECT_EQ(live_carts(seen.back().at("data")), carts + 1);

  // A client that resumes from the seq it has gets no snapshot; one from an older seq gets the
  // whole description again, since each event is whole.
  auto b = connect(admin_);
  b->send(R"({"op":"subscribe","topic":"admin:cluster","last_seq":)" + std::to_string(last) + "}");
  b->send(R"({"op":"ping"})");
  auto first = b->next();
  // Unless the description changed meanwhile (then a newer snapshot, or the next event), the
  // pong comes first.
  if (first.at("type") == "snapshot")
    EXPECT_GT(first.at("seq").get<uint64_t>(), last) << first.dump();
  else if (first.at("type") == "event")
    EXPECT_EQ(first.at("seq").get<uint64_t>(), last + 1) << first.dump();
  else
    EXPECT_EQ(first.at("type"), "pong") << first.dump();
  auto older = connect(admin_)->subscribe("admin:cluster", last - 1);
  EXPECT_EQ(older.at("type"), "snapshot") << older.dump();
}

// Sends `{"op":"subscribe",...}` and appends the text of every frame to `bytes` until one (parsed)
// satisfies `done`; returns that frame.
template <class Done>
json record_until(ws_client& c, const std::string& subscribe, std::string& bytes, Done done) {
  if (!subscribe.empty())
    c.send(subscribe);
  for (;;) {
    auto text = c.next_text();
    if (!text)
      throw std::runtime_error("closed while recording; close code "
                               + std::to_string(c.close_code().value_or(0)));
    bytes += *text;
    bytes += '\n';
    auto f = json::parse(*text);
    if (done(f))
      return f;
  }
}

TEST_F(WebSocketE2E, PartnersNeverSeeTheCustomersAddressEmailOrPhone) {
  start_server();
  // Strings that appear nowhere but in this checkout's personal data.
  const std::string name = "Augusta Wsvis Byron";
  const std::string line1 = "17 Quillfeather Mews Wsvis";
  const std::string city = "Wsvisbury";
  const std::string postal_code = "QX7 4WV";
  const std::string phone = "+44 20 7946 0917";
  const std::string email = "augusta.wsvis@example.org";
  const std::vector<std::string> personal{name, line1, city, postal_code, phone, email};

  auto cart_id = filled_cart(ada_, {{stocked_product("wsvis", 2500, 10), 1}});
  auto body = mt::checkout_body(cart_id);
  body["shipping_address"]
    = {{"name", name},    {"line1", line1}, {"city", city}, {"postal_code", postal_code},
       {"country", "GB"}, {"phone", phone}};
  body["email"] = email;
  auto placed = http().request(mt::checkout_request("wsvis-" + cart_id, body, ada_));
  ASSERT_EQ(placed.status, 201) << placed.describe();
  auto order_id = placed.json().at("order_id").get<std::string>();
  auto topic = "order:" + order_id;
  // REST gives a partner no order read at all, let alone its personal data.
  EXPECT_EQ(http().get("/v1/orders/" + order_id, service_).status, 403);

  // Each role follows the order live (snapshot, then events) and replays it from the journal
  // from its first event (`placed`) on.
  struct watcher {
    std::unique_ptr<ws_client> live;
    std::string bytes;
    uint64_t snapshot_seq = 0;
    bool replayed_placed = false;
  };
  auto watch = [&](const std::string& token) {
    watcher w;
    w.live = connect(token);
    auto snap = record_until(*w.live, R"({"op":"subscribe","topic":")" + topic + R"("})", w.bytes,
                             [](const json&) { return true; });
    EXPECT_EQ(snap.at("type"), "snapshot") << snap.dump();
    w.snapshot_seq = snap.at("seq").get<uint64_t>();
    auto replay = connect(token);
    record_until(*replay, R"({"op":"subscribe","topic":")" + topic + R"(","last_seq":0})", w.bytes,
                 [&](const json& f) {
                   EXPECT_EQ(f.at("type"), "event") << f.dump();
                   if (f.at("data").value("type", "") == "placed")
                     w.replayed_placed = true;
                   return f.at("seq").get<uint64_t>() >= w.snapshot_seq;
                 });
    return w;
  };
  auto partner = watch(service_);
  auto admin = watch(admin_);
  EXPECT_TRUE(partner.replayed_placed);
  EXPECT_TRUE(admin.replayed_placed);

  // Live events after the snapshot, up to a partner fact.
  post_fact(order_id, fact("manufacturing", "production_started", 1));
  for (auto* w : {&partner, &admin})
    record_until(*w->live, {}, w->bytes, [](const json& f) {
      return f.at("data").contains("event")
             && f.at("data").at("event").at("type") == "production_started";
    });

  for (const auto& s : personal) {
    EXPECT_NE(admin.bytes.find(s), std::string::npos) << "the admin does not see " << s;
    EXPECT_EQ(partner.bytes.find(s), std::string::npos) << "a partner sees " << s << " in\n"
                                                        << partner.bytes;
  }
  // What a partner follows the order for is still there.
  EXPECT_NE(partner.bytes.find(R"("order_id":")" + order_id + '"'), std::string::npos);
  EXPECT_NE(partner.bytes.find(R"("status":"in_production")"), std::string::npos);

  // Customer and cart topics are the customer's own (REST has no partner read of them either).
  EXPECT_EQ(connect(service_)->subscribe("customer:ada").at("code"), "forbidden");
  EXPECT_EQ(connect(service_)->subscribe("cart:" + cart_id).at("code"), "forbidden");
}

// A customer's cancel reason is their own words: partners following the order see that it was
// cancelled, not why; the customer reads the reason through REST.
TEST_F(WebSocketE2E, PartnersNeverSeeTheCustomersOwnCancelReason) {
  start_server();
  const std::string reason = "Wsvis private reason 9931";
  auto order_id = place_order(ada_, "wsreason");
  ASSERT_FALSE(order_id.empty());
  auto topic = "order:" + order_id;
  std::string bytes;
  auto partner = connect(service_);
  auto snap = record_until(*partner, R"({"op":"subscribe","topic":")" + topic + R"("})", bytes,
                           [](const json&) { return true; });
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  auto cancelled = http().post("/v1/orders/" + order_id + "/cancel", {{"reason", reason}}, ada_);
  ASSERT_EQ(cancelled.status, 200) << cancelled.describe();
  record_until(*partner, {}, bytes,
               [](const json& f) { return f.at("data").value("status", "") == "cancelled"; });
  // A later subscription's snapshot and a replay from the start.
  record_until(*connect(service_), R"({"op":"subscribe","topic":")" + topic + R"("})", bytes,
               [](const json& f) { return f.at("type") == "snapshot"; });
  auto replay = connect(service_);
  record_until(*replay, R"({"op":"subscribe","topic":")" + topic + R"(","last_seq":0})", bytes,
               [](const json& f) { return f.at("data").value("status", "") == "cancelled"; });
  EXPECT_EQ(bytes.find(reason), std::string::npos) << "a partner sees the reason in\n" << bytes;
  EXPECT_NE(bytes.find(R"("status":"cancelled")"), std::string::npos) << bytes;
  auto own = http().get("/v1/orders/" + order_id, ada_);
  EXPECT_EQ(own.json().value("cancel_reason", ""), reason) << own.describe();
}

TEST_F(WebSocketE2E, BadFramesGetErrorsOrACloseNeverACrash) {
  start_server({"--ws-max-frame-bytes", "1024"});
  auto c = connect(ada_);
  auto expect_error = [&](const std::string& text, const std::string& code) {
    c->send(text);
    auto f = c->next();
    EXPECT_EQ(f.at("type"), "error") << text;
    EXPECT_EQ(f.at("code"), code) << text << " -> " << f.dump();
  };
  expect_error("not json", "invalid_request");
  expect_error("[1,2]", "invalid_request");
  expect_error(R"({"op":"dance"})", "invalid_request");
  expect_error(R"({"op":"subscribe"})", "invalid_request");
  expect_error(R"({"op":"subscribe","topic":42})", "invalid_request");
  expect_error(R"({"op":"subscribe","topic":"weather:today"})", "invalid_request");
  expect_error(R"({"op":"subscribe","topic":"order:bad id!"})", "invalid_request");
  expect_error(R"({"op":"subscribe","topic":"stock:x","last_seq":-1})", "invalid_request");
  expect_error(R"({"op":"subscribe","topic":"stock:x","last_seq":"7"})", "invalid_request");
  c->send_binary(std::string("\x00\x01\x02", 3));
  EXPECT_EQ(c->next().at("code"), "invalid_request");
  c->send(R"({"op":"ping"})");
  EXPECT_EQ(c->next().at("type"), "pong") << "the session survives bad frames";

  // An oversize frame closes with 1009 (message too big).
  c->send(R"({"op":"ping","pad":")" + std::string(4096, 'x') + R"("})");
  EXPECT_EQ(c->wait_closed(10s), 1009);

  // A plain GET of /v1/ws is 426; the server still serves everyone else.
  auto plain = http().get("/v1/ws");
  EXPECT_EQ(plain.status, 426) << plain.describe();
  EXPECT_EQ(http().get("/healthz").status, 200);
}

// A session lives as long as its token (close 4401 at `exp`) unless the client sends a fresh one
// for the same subject and role; a token that never ends is refused at the upgrade and on REST.
TEST_F(WebSocketE2E, ASessionEndsWithItsTokenUnlessAFreshOneArrives) {
  start_server();
  using std::chrono::system_clock;
  auto expiring = connect(mt::mint_token(env_->secret(), "ada", "customer", 2s));
  ASSERT_EQ(expiring->subscribe("customer:ada").at("type"), "snapshot");
  EXPECT_EQ(expiring->wait_closed(10s), 4401);

  auto first_end = system_clock::now() + 2s;
  auto renewed = connect(mt::mint_token(env_->secret(), "ada", "customer", 2s));
  auto auth = [&](const std::string& token) {
    renewed->send(json{{"op", "auth"}, {"token", token}}.dump());
    return renewed->next();
  };
  EXPECT_EQ(auth(mt::mint_token(env_->secret(), "bob", "customer")).at("code"), "forbidden");
  EXPECT_EQ(auth(mt::mint_token(env_->secret(), "ada", "admin")).at("code"), "forbidden")
    << "no new role mid-session";
  EXPECT_EQ(auth("not-a-token").at("code"), "unauthorized");
  auto ok = auth(mt::mint_token(env_->secret(), "ada", "customer", 1h));
  ASSERT_EQ(ok.at("type"), "authenticated") << ok.dump();
  EXPECT_TRUE(ok.at("expires_at").is_string());
  // Past the first token's end (plus a second of rounding), the session still answers.
  ASSERT_TRUE(mt::eventually([&] { return system_clock::now() > first_end + 1s; }, 10s));
  renewed->send(R"({"op":"ping"})");
  EXPECT_EQ(renewed->next().at("type"), "pong");

  auto now_s
    = std::chrono::duration_cast<std::chrono::seconds>(system_clock::now().time_since_epoch())
        .count();
  auto endless
    = mt::mint_hs256({{"sub", "ada"}, {"role", "customer"}, {"iat", now_s}}, env_->secret());
  try {
    connect(endless);
    ADD_FAILURE() << "a token without exp opened a session";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("401"), std::string::npos) << e.what();
  }
  auto rest = http().get("/v1/orders", endless);
  EXPECT_EQ(rest.status, 401) << rest.describe();
  EXPECT_EQ(rest.json().value("detail", ""), "the token has no expiry (exp is required)");
}

} // namespace
