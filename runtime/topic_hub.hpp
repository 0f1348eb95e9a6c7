#pragma once

// The node's topic hub: live subscribers of entity topics ("order:o-1", "stock:SKU-1", ...)
// and the fan-out of committed events to them. The journal announces each committed batch to
// the hub's actor once, whatever the number of subscribers; the hub renders each event's frame
// once and hands the same frame to every subscriber of its topic. Subscribers (WebSocket
// sessions, api/ws) queue frames without blocking, so a slow one never delays the others.

#include "actors/protocol/interfaces.hpp"
#include "runtime/metrics.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace mercato::runtime {

/// One rendered change of a topic: the complete text frame sent to every subscriber.
struct topic_frame {
  std::string topic;
  uint64_t seq = 0;
  std::string text;
};

using frame_ptr = std::shared_ptr<const topic_frame>;

/// A live subscriber. `deliver` is called with the hub's lock held, from a CAF thread: it must
/// only queue the frame (and wake its own executor), never block or call back into the hub.
class topic_subscriber {
public:
  virtual ~topic_subscriber() = default;
  virtual void deliver(const frame_ptr& frame) = 0;
};

/// Renders a committed event for `topic` (the event's entity topic, "kind:id"); null when the
/// event is not published (e.g. a kind without topics).
using frame_encoder = std::function<frame_ptr(const std::string& topic, const committed_event&)>;

class topic_hub {
public:
  explicit topic_hub(frame_encoder encode, metrics_registry* metrics = nullptr);

  topic_hub(const topic_hub&) = delete;
  topic_hub& operator=(const topic_hub&) = delete;

  /// Adds `sub` to `topic` (idempotent). Frames published from now on reach it.
  void subscribe(const std::string& topic, const std::shared_ptr<topic_subscriber>& sub);

  /// Removes `sub` from `topic`; harmless if it was not subscribed.
  void unsubscribe(const std::string& topic, const topic_subscriber* sub);

  /// Renders each event whose topic has subscribers once, and delivers it to all of them.
  void publish(const std::vector<committed_event>& events);

  /// Delivers a frame rendered elsewhere (a topic that is not an entity's, e.g. admin:cluster)
  /// to the subscribers of its topic.
  void publish_frame(const frame_ptr& frame);

  /// Renders one event for `topic` with the hub's encoder (replays use the same frames).
  frame_ptr encode(const std::string& topic, const committed_event& event) const;

  /// Called with the hub's lock held whenever a topic gets its first subscriber (`true`) or
  /// loses its last (`false`), in that order per topic; it must only queue (a CAF send). Set it
  /// before the first subscription.
  using interest_listener = std::function<void(const std::string& topic, bool wanted)>;
  void set_interest_listener(interest_listener listener);

  size_t subscribers(const std::string& topic) const;
  size_t topics() const;

private:
  void deliver_locked(const std::vector<std::shared_ptr<topic_subscriber>>& subs,
                      const frame_ptr& frame);

  frame_encoder encode_;
  interest_listener interest_;
  counter* published_ = nullptr; // frames rendered
  counter* delivered_ = nullptr; // frames handed to subscribers
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<topic_subscriber>>> subs_;
};

/// The "kind:id" topic of an entity.
std::string topic_of(const std::string& kind, const std::string& id);

/// Spawns the actor that the journal announces commits to; it publishes them through `hub`.
event_sink_actor spawn_hub_actor(caf::actor_system& sys, std::shared_ptr<topic_hub> hub);

} // namespace mercato::runtime
