#include "api/ws/lane.hpp"

#include "runtime/logging.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <exception>
#include <utility>

namespace mercato::api::ws {

ws_lane::ws_lane(std::shared_ptr<runtime::topic_hub> hub, size_t index)
    : hub_(std::move(hub)), index_(index), work_(ioc_.get_executor()) {}

ws_lane::~ws_lane() {
  stop();
}

void ws_lane::start() {
  thread_ = std::thread{[this] {
    auto log = runtime::logger("ws");
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log->error("ws lane {} catches: {}", index_, e.what());
      }
    }
  }};
}

void ws_lane::stop(bool force) {
  work_.reset();
  if (force)
    ioc_.stop();
  if (!thread_.joinable())
    return;
  thread_.join();
}

void ws_lane::join(const std::string& topic, const std::shared_ptr<lane_member>& member,
                   void* tag) {
  auto& members = topics_[topic];
  if (members.empty())
    hub_->subscribe(topic, shared_from_this());
  members.push_back(entry{member, tag});
}

void ws_lane::leave(const std::string& topic, const lane_member* member) {
  auto it = topics_.find(topic);
  if (it == topics_.end())
    return;
  auto& members = it->second;
  auto at = std::find_if(members.begin(), members.end(),
                         [member](const entry& e) { return e.member.get() == member; });
  if (at == members.end())
    return;
  // Order among a topic's members does not matter: swap-remove keeps leaving O(1) after the find.
  std::swap(*at, members.back());
  members.pop_back();
  if (members.empty()) {
    topics_.erase(it);
    hub_->unsubscribe(topic, this);
  }
}

void ws_lane::deliver(const runtime::frame_ptr& frame) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (inbox_.size() >= max_inbox)
      overflowed_ = true;
    else
      inbox_.push_back(frame);
    if (posted_)
      return;
    posted_ = true;
  }
  asio::post(ioc_, [self = shared_from_this()] { self->drain(); });
}

size_t ws_lane::queued() {
  std::lock_guard<std::mutex> guard{mtx_};
  return inbox_.size();
}

void ws_lane::close_all_lagging() {
  std::vector<std::shared_ptr<lane_member>> members;
  for (const auto& [topic, entries] : topics_)
    for (const auto& e : entries)
      members.push_back(e.member);
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  runtime::logger("ws")->warn("ws lane {} fell {} frames behind: closing its {} sessions", index_,
                              max_inbox, members.size());
  for (const auto& m : members) // each leaves its topics as it closes
    m->lagging();
}

void ws_lane::drain() {
  if (next_ == draining_.size()) {
    draining_.clear();
    next_ = 0;
    bool overflowed = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      draining_.swap(inbox_);
      overflowed = std::exchange(overflowed_, false);
      if (draining_.empty() && !overflowed) {
        posted_ = false;
        return;
      }
    }
    if (overflowed) {
      // Frames were dropped: nobody on this lane may go on as if its stream were whole.
      draining_.clear();
      close_all_lagging();
      asio::post(ioc_, [self = shared_from_this()] { self->drain(); });
      return;
    }
  }
  offer(draining_[next_++]);
  // One frame per turn: the socket writes it started complete (and shorten their sessions'
  // queues) before the next frame is offered, so that a burst of events that reached the lane
  // together does not look like a slow client.
  asio::post(ioc_, [self = shared_from_this()] { self->drain(); });
}

void ws_lane::offer(const runtime::frame_ptr& frame) {
  auto it = topics_.find(frame->topic);
  if (it == topics_.end())
    return;
  // An offer may close its member, which leaves its topics: `leave` swaps the last member into
  // the gap, so walking backwards by index never skips one that is still to be offered (one
  // already offered may be offered again, which its cursor ignores as a duplicate).
  auto& members = it->second;
  for (size_t i = members.size(); i-- > 0;) {
    if (i >= members.size())
      continue;
    auto e = members[i]; // keeps the member alive through its own close
    e.member->offer(frame, e.tag);
    if (topics_.find(frame->topic) == topics_.end())
      return; // the last member left and the list is gone
  }
}

ws_lanes::ws_lanes(std::shared_ptr<runtime::topic_hub> hub, int count) {
  for (int i = 0; i < std::max(count, 1); ++i) {
    lanes_.push_back(std::make_shared<ws_lane>(hub, static_cast<size_t>(i)));
    lanes_.back()->start();
  }
}

ws_lanes::~ws_lanes() {
  stop();
}

ws_lane& ws_lanes::next() noexcept {
  return *lanes_[next_.fetch_add(1, std::memory_order_relaxed) % lanes_.size()];
}

void ws_lanes::stop(bool force) {
  for (auto& lane : lanes_)
    lane->stop(force);
}

} // namespace mercato::api::ws
