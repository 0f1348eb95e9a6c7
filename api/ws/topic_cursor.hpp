#pragma once

// The per-subscription sequencing of /v1/ws, kept pure so that its promise — a start point (a
// snapshot or a replay), then every event once, in seq order, with no gap — is unit-tested.
//
// Frames reach a subscription from two sides that race: the hub's live announcements, and the
// start point or a journal read fetched by the session. Until the start point is known, live
// frames are held; afterwards each frame is sent only if it is the next seq. A frame beyond the
// next one reveals a gap (e.g. an announcement lost with a crashed node), which the session
// fills from the journal while later frames are held.

#include "runtime/topic_hub.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace mercato::api::ws {

class topic_cursor {
public:
  /// A journal read the session must make: the events with seq in (after, upto].
  struct fill_request {
    uint64_t after = 0;
    uint64_t upto = 0;
  };

  /// What to do after an input: frames to send (in order), and perhaps a read to make.
  struct step {
    std::vector<runtime::frame_ptr> send;
    std::optional<fill_request> fill;
    bool overflow = false; ///< more frames held than allowed: the subscriber cannot keep up
  };

  explicit topic_cursor(size_t max_held = 4096) : max_held_(max_held) {}

  bool started() const noexcept {
    return started_;
  }
  uint64_t last() const noexcept {
    return last_;
  }

  /// The client has everything up to `seq` (a snapshot at `seq` was sent, or a replay ended
  /// there). Held frames after it follow.
  step start(uint64_t seq) {
    started_ = true;
    last_ = seq;
    step out;
    drain(out);
    return out;
  }

  /// A live frame from the hub.
  step offer(runtime::frame_ptr f) {
    step out;
    if (started_ && !filling_ && f->seq == last_ + 1) {
      last_ = f->seq;
      out.send.push_back(std::move(f));
      drain(out);
      return out;
    }
    if (f->seq > last_ || !started_)
      hold(std::move(f), out);
    if (started_ && !filling_)
      drain(out);
    return out;
  }

  /// The journal read of `fill` came back with `frames` (seqs after `fill.after`, in order).
  step filled(const std::vector<runtime::frame_ptr>& frames) {
    filling_ = false;
    step out;
    for (const auto& f : frames)
      if (f->seq == last_ + 1) {
        last_ = f->seq;
        out.send.push_back(f);
      }
    drain(out);
    return out;
  }

  /// The journal read failed: the next frame that reveals the gap asks again.
  void fill_failed() noexcept {
    filling_ = false;
  }

private:
  void hold(runtime::frame_ptr f, step& out) {
    auto seq = f->seq;
    held_.emplace(seq, std::move(f));
    if (held_.size() > max_held_)
      out.overflow = true;
  }

  // Sends held frames that follow `last_`; on a gap, asks for a fill up to the first held one.
  void drain(step& out) {
    while (!held_.empty()) {
      auto it = held_.begin();
      if (it->first <= last_) {
        held_.erase(it);
        continue;
      }
      if (it->first == last_ + 1) {
        last_ = it->first;
        out.send.push_back(std::move(it->second));
        held_.erase(it);
        continue;
      }
      if (!filling_) {
        filling_ = true;
        out.fill = fill_request{last_, it->first - 1};
      }
      return;
    }
  }

  size_t max_held_;
  bool started_ = false;
  bool filling_ = false;
  uint64_t last_ = 0;
  std::map<uint64_t, runtime::frame_ptr> held_;
};

} // namespace mercato::api::ws
