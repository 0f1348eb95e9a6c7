#pragma once

// Fan-out lanes of the WebSocket endpoint. A lane is one thread with its own io_context that
// owns the sessions placed on it. The hub hands a lane each frame once, in one locked push and
// at most one post per batch, whatever the number of its sessions; the lane then offers the
// frame to each of its sessions that follow the topic, on its own thread. A session therefore
// needs no strand, no lock and no post of its own per frame: the fan-out of one event to N
// subscribers costs N queue operations and N socket writes, nothing more.

#include "runtime/topic_hub.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace mercato::api::ws {

namespace asio = boost::asio;

/// A session as its lane sees it. `offer` runs on the lane's thread, with the tag the member
/// joined the frame's topic with (its subscription: no lookup per frame).
class lane_member {
public:
  virtual ~lane_member() = default;
  virtual void offer(const runtime::frame_ptr& frame, void* tag) = 0;
  /// The lane fell so far behind that it dropped frames: the member must end its session (the
  /// client resumes with `last_seq`, replayed from the journal).
  virtual void lagging() = 0;
};

class ws_lane final : public runtime::topic_subscriber,
                      public std::enable_shared_from_this<ws_lane> {
public:
  ws_lane(std::shared_ptr<runtime::topic_hub> hub, size_t index);
  ~ws_lane() override;

  ws_lane(const ws_lane&) = delete;
  ws_lane& operator=(const ws_lane&) = delete;

  asio::io_context& context() noexcept {
    return ioc_;
  }

  /// Starts the lane's thread.
  void start();

  /// Lets the thread run out of work (its sessions closed) and joins it; with `force`, abandons
  /// what is left (a session still held elsewhere; its socket is closed already). Called by the
  /// HTTP server's stop, never from the lane's own thread.
  void stop(bool force = false);

  /// Lane thread: `member` follows `topic` from now on. The lane subscribes at the hub on the
  /// topic's first member, before the member reads its start point, so nothing is missed.
  void join(const std::string& topic, const std::shared_ptr<lane_member>& member, void* tag);

  /// Lane thread: `member` no longer follows `topic`; harmless if it did not.
  void leave(const std::string& topic, const lane_member* member);

  /// Hub thread: queues the frame and wakes the lane once per batch. Past `max_inbox` waiting
  /// frames the lane drops them and, on its thread, closes every member as lagging: a lane that
  /// cannot keep up must not grow without bound.
  void deliver(const runtime::frame_ptr& frame) override;

  static constexpr size_t max_inbox = 65536;

  /// Frames waiting for the lane's thread.
  size_t queued();

private:
  void drain();
  void offer(const runtime::frame_ptr& frame);
  void close_all_lagging();

  std::shared_ptr<runtime::topic_hub> hub_;
  size_t index_;
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;

  std::mutex mtx_;
  std::vector<runtime::frame_ptr> inbox_;
  bool posted_ = false;
  bool overflowed_ = false;

  // Lane thread only.
  struct entry {
    std::shared_ptr<lane_member> member;
    void* tag;
  };
  std::unordered_map<std::string, std::vector<entry>> topics_;
  std::vector<runtime::frame_ptr> draining_;
  size_t next_ = 0; // of draining_
};

/// The endpoint's lanes; sessions are placed round-robin.
class ws_lanes {
public:
  ws_lanes(std::shared_ptr<runtime::topic_hub> hub, int count);
  ~ws_lanes();

  ws_lane& next() noexcept;

  /// Joins every lane's thread once their sessions are closed (see ws_lane::stop).
  void stop(bool force = false);

private:
  std::vector<std::shared_ptr<ws_lane>> lanes_;
  std::atomic<size_t> next_{0};
};

} // namespace mercato::api::ws
