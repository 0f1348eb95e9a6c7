// The sequencing of WebSocket subscriptions (topic_cursor) and the event frames.

#include "actors/protocol/commerce.hpp"
#include "api/ws/frames.hpp"
#include "api/ws/lane.hpp"
#include "api/ws/topic_cursor.hpp"
#include "runtime/topic_hub.hpp"

#include <caf/make_message.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>

namespace {

using mercato::api::ws::topic_cursor;
using mercato::runtime::frame_ptr;
using mercato::runtime::topic_frame;

frame_ptr frame(uint64_t seq) {
  return std::make_shared<const topic_frame>(topic_frame{"order:o-1", seq, std::to_string(seq)});
}

// Plays a client's subscription: `sent` collects what it would receive; fills are answered
// from the "journal" (every seq up to `head`) at once.
struct client {
  topic_cursor cursor;
  std::vector<uint64_t> sent;
  size_t fills = 0;

  void run(topic_cursor::step step) {
    ASSERT_FALSE(step.overflow);
    for (const auto& f : step.send)
      sent.push_back(f->seq);
    if (step.fill) {
      ++fills;
      std::vector<frame_ptr> journal;
      for (auto s = step.fill->after + 1; s <= step.fill->upto; ++s)
        journal.push_back(frame(s));
      run(cursor.filled(journal));
    }
  }
};

TEST(TopicCursor, HoldsLiveFramesUntilTheStartPointThenSendsOnlyWhatFollows) {
  client c;
  c.run(c.cursor.offer(frame(5)));
  c.run(c.cursor.offer(frame(6)));
  c.run(c.cursor.offer(frame(4)));
  EXPECT_TRUE(c.sent.empty()) << "nothing before the snapshot";
  c.run(c.cursor.start(4)); // the snapshot covered seq 4
  EXPECT_EQ(c.sent, (std::vector<uint64_t>{5, 6}));
  c.run(c.cursor.offer(frame(6))); // a late duplicate
  c.run(c.cursor.offer(frame(7)));
  EXPECT_EQ(c.sent, (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(c.fills, 0u);
}

TEST(TopicCursor, AGapIsFilledFromTheJournalBeforeLaterFrames) {
  client c;
  c.run(c.cursor.start(10));
  c.run(c.cursor.offer(frame(11)));
  auto step = c.cursor.offer(frame(14)); // 12 and 13 were never announced
  ASSERT_TRUE(step.fill);
  EXPECT_EQ(step.fill->after, 11u);
  EXPECT_EQ(step.fill->upto, 13u);
  EXPECT_TRUE(step.send.empty());
  // While the read runs, later frames are held.
  c.run(c.cursor.offer(frame(15)));
  c.run(c.cursor.filled({frame(12), frame(13)}));
  EXPECT_EQ(c.sent, (std::vector<uint64_t>{11, 12, 13, 14, 15}));
}

TEST(TopicCursor, AFailedFillIsAskedAgainByTheNextFrame) {
  topic_cursor cursor;
  cursor.start(1);
  auto step = cursor.offer(frame(3));
  ASSERT_TRUE(step.fill);
  cursor.fill_failed();
  auto again = cursor.offer(frame(4));
  ASSERT_TRUE(again.fill);
  EXPECT_EQ(again.fill->after, 1u);
  EXPECT_EQ(again.fill->upto, 2u);
}

TEST(TopicCursor, TooManyHeldFramesOverflow) {
  topic_cursor cursor{3};
  for (uint64_t s = 1; s <= 3; ++s)
    EXPECT_FALSE(cursor.offer(frame(s)).overflow);
  EXPECT_TRUE(cursor.offer(frame(4)).overflow);
}

// Whatever the interleaving of the start point, live frames (shuffled, duplicated, some lost)
// and fills, the client receives every seq after its start point exactly once, in order.
TEST(TopicCursor, AnyArrivalOrderGivesConsecutiveSeqs) {
  std::mt19937 rng{20261121};
  for (int round = 0; round < 500; ++round) {
    const uint64_t head = 1 + rng() % 40;
    const uint64_t start = rng() % (head + 1);
    std::vector<uint64_t> live;
    for (uint64_t s = 1; s <= head; ++s) {
      if (rng() % 5 != 0) // some announcements are lost
        live.push_back(s);
      if (rng() % 4 == 0)
        live.push_back(s); // and some arrive twice
    }
    // Roughly in order, as the hub delivers, with local swaps.
    for (size_t i = 1; i < live.size(); ++i)
      if (rng() % 3 == 0)
        std::swap(live[i - 1], live[i]);
    live.push_back(head); // the newest change is announced last
    client c;
    auto start_at = rng() % (live.size() + 1);
    for (size_t i = 0; i <= live.size(); ++i) {
      if (i == start_at)
        c.run(c.cursor.start(start));
      if (i < live.size())
        c.run(c.cursor.offer(frame(live[i])));
    }
    std::vector<uint64_t> want;
    for (auto s = start + 1; s <= head; ++s)
      want.push_back(s);
    ASSERT_EQ(c.sent, want) << "round " << round << " start " << start << " head " << head;
  }
}

TEST(WsFrames, AnOrderFactIsRenderedOnceWithItsTimelineEntry) {
  mercato::order_event e;
  e.type = "fact_recorded";
  e.status_after = "shipped";
  e.at_ms = 1767225600000;
  e.fact.seq = 3;
  e.fact.type = "handed_to_carrier";
  e.fact.source = "logistics";
  e.fact.external_id = "dhl-42";
  e.fact.label = "Handed to the carrier";
  e.fact.data = R"({"carrier":"DHL"})";
  mercato::committed_event ce{"order", "o-1", 7, caf::make_message(e)};
  auto f = mercato::api::ws::encode_event("order:o-1", ce);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->seq, 7u);
  auto j = nlohmann::json::parse(f->text);
  EXPECT_EQ(j.at("type"), "event");
  EXPECT_EQ(j.at("topic"), "order:o-1");
  EXPECT_EQ(j.at("seq"), 7);
  EXPECT_EQ(j.at("data").at("status"), "shipped");
  EXPECT_EQ(j.at("data").at("event").at("external_id"), "dhl-42");
  EXPECT_EQ(j.at("data").at("event").at("data").at("carrier"), "DHL");
  EXPECT_EQ(j.at("data").at("at"), "2026-01-01T00:00:00.000Z");
}

// One rendering of an order event goes to every subscriber of the topic, partners (`service`)
// included, so it must carry nothing personal: the placement's address and email stay out.
TEST(WsFrames, APlacedOrderIsRenderedWithoutPersonalData) {
  mercato::order_event e;
  e.type = "placed";
  e.status = "paid";
  e.status_after = "paid";
  e.at_ms = 1767225600000;
  auto& p = e.placement;
  p.order_id = "o-1";
  p.customer_id = "ada";
  p.ship_to = {"Ada Lovelace", "1 Analytical Row", "London", "N1 9GU", "GB", "+44 20 7946 0000"};
  p.email = "ada@example.com";
  mercato::committed_event ce{"order", "o-1", 1, caf::make_message(e)};
  auto f = mercato::api::ws::encode_event("order:o-1", ce);
  ASSERT_TRUE(f);
  auto j = nlohmann::json::parse(f->text);
  EXPECT_EQ(j.at("data").at("type"), "placed");
  EXPECT_EQ(j.at("data").at("status"), "paid");
  for (const auto& s : {p.ship_to.name, p.ship_to.line1, p.ship_to.city, p.ship_to.postal_code,
                        p.ship_to.phone, p.email})
    EXPECT_EQ(f->text.find(s), std::string::npos) << s << " in " << f->text;
}

TEST(WsFrames, KindsWithoutTopicsAreNotRendered) {
  mercato::committed_event ce{"coupon", "SAVE10", 1, caf::make_message(std::string{"x"})};
  EXPECT_FALSE(mercato::api::ws::encode_event("coupon:SAVE10", ce));
}

} // namespace

namespace {

struct counting_member : mercato::api::ws::lane_member {
  std::atomic<int> offered{0};
  std::atomic<int> lagged{0};
  void offer(const frame_ptr&, void*) override {
    ++offered;
  }
  void lagging() override {
    ++lagged;
  }
};

// A lane whose thread does not run yet, with one member following `stock:a`, and `n` frames of
// that topic delivered to it.
struct stalled_lane {
  std::shared_ptr<mercato::api::ws::ws_lane> lane;
  std::shared_ptr<counting_member> member = std::make_shared<counting_member>();

  explicit stalled_lane(size_t n) {
    auto hub = std::make_shared<mercato::runtime::topic_hub>(
      [](const std::string&, const mercato::committed_event&) { return frame_ptr{}; });
    lane = std::make_shared<mercato::api::ws::ws_lane>(hub, 0);
    lane->join("stock:a", member, nullptr);
    auto frame = std::make_shared<topic_frame>(topic_frame{"stock:a", 1, "{}"});
    for (size_t i = 0; i < n; ++i)
      lane->deliver(frame);
  }

  void run() {
    lane->start();
    lane->stop(); // runs what was posted, then joins
  }
};

} // namespace

// A lane whose thread cannot keep up holds at most max_inbox frames; past that it drops them and
// closes its sessions as lagging (they resume with last_seq), rather than growing.
TEST(WsLane, AnInboxOverItsBoundClosesItsMembersAsLaggingInsteadOfGrowing) {
  using mercato::api::ws::ws_lane;
  stalled_lane s{ws_lane::max_inbox + 100};
  EXPECT_EQ(s.lane->queued(), ws_lane::max_inbox);
  s.run();
  EXPECT_EQ(s.member->lagged.load(), 1);
  EXPECT_EQ(s.member->offered.load(), 0) << "frames of a stream with a hole are not offered";
  EXPECT_EQ(s.lane->queued(), 0u);
}

TEST(WsLane, ABacklogUnderTheBoundIsDeliveredWhole) {
  stalled_lane s{1000};
  s.run();
  EXPECT_EQ(s.member->offered.load(), 1000);
  EXPECT_EQ(s.member->lagged.load(), 0);
}

// The hub tells its interest listener (in a cluster: the announcer to peers) when a topic gets
// its first subscriber and loses its last, whatever the number in between.
TEST(TopicHub, TellsWhenATopicGetsItsFirstSubscriberAndLosesItsLast) {
  auto hub = std::make_shared<mercato::runtime::topic_hub>(
    [](const std::string&, const mercato::committed_event&) { return frame_ptr{}; });
  std::vector<std::pair<std::string, bool>> told;
  hub->set_interest_listener(
    [&](const std::string& topic, bool wanted) { told.emplace_back(topic, wanted); });
  struct sink : mercato::runtime::topic_subscriber {
    void deliver(const frame_ptr&) override {}
  };
  auto one = std::make_shared<sink>();
  auto two = std::make_shared<sink>();
  hub->subscribe("stock:a", one);
  hub->subscribe("stock:a", one); // again: nothing new
  hub->subscribe("stock:a", two);
  hub->subscribe("order:o-1", two);
  hub->unsubscribe("stock:a", one.get());
  hub->unsubscribe("stock:a", one.get()); // not subscribed any more: nothing
  hub->unsubscribe("stock:a", two.get());
  hub->unsubscribe("order:o-1", two.get());
  hub->subscribe("stock:a", one);
  using told_t = std::vector<std::pair<std::string, bool>>;
  EXPECT_EQ(told, (told_t{{"stock:a", true},
                          {"order:o-1", true},
                          {"stock:a", false},
                          {"order:o-1", false},
                          {"stock:a", true}}));
}
