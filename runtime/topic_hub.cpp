#include "runtime/topic_hub.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>

namespace mercato::runtime {

std::string topic_of(const std::string& kind, const std::string& id) {
  std::string t;
  t.reserve(kind.size() + 1 + id.size());
  t += kind;
  t += ':';
  t += id;
  return t;
}

topic_hub::topic_hub(frame_encoder encode, metrics_registry* metrics) : encode_(std::move(encode)) {
  if (metrics) {
    published_ = &metrics->get_counter("mercato_ws_frames_published_total",
                                       "Committed events rendered once for their subscribers.");
    delivered_ = &metrics->get_counter("mercato_ws_frames_delivered_total",
                                       "Rendered events handed to subscribers.");
  }
}

void topic_hub::subscribe(const std::string& topic, const std::shared_ptr<topic_subscriber>& sub) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& list = subs_[topic];
  if (std::find(list.begin(), list.end(), sub) != list.end())
    return;
  if (list.empty() && interest_)
    interest_(topic, true);
  list.push_back(sub);
}

void topic_hub::set_interest_listener(interest_listener listener) {
  std::lock_guard<std::mutex> guard{mtx_};
  interest_ = std::move(listener);
}

void topic_hub::unsubscribe(const std::string& topic, const topic_subscriber* sub) {
  std::shared_ptr<topic_subscriber> last_ref; // released after the lock: it may be the last one
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = subs_.find(topic);
  if (it == subs_.end())
    return;
  auto& list = it->second;
  auto pos
    = std::find_if(list.begin(), list.end(), [sub](const auto& s) { return s.get() == sub; });
  if (pos == list.end())
    return;
  last_ref = std::move(*pos);
  // Order among subscribers does not matter: swap-and-pop keeps removal O(1).
  *pos = std::move(list.back());
  list.pop_back();
  if (list.empty()) {
    if (interest_)
      interest_(topic, false);
    subs_.erase(it);
  }
}

frame_ptr topic_hub::encode(const std::string& topic, const committed_event& event) const {
  return encode_(topic, event);
}

void topic_hub::publish(const std::vector<committed_event>& events) {
  std::string topic;
  std::lock_guard<std::mutex> guard{mtx_};
  if (subs_.empty())
    return;
  for (const auto& e : events) {
    topic.clear();
    topic += e.kind;
    topic += ':';
    topic += e.entity_id;
    auto it = subs_.find(topic);
    if (it == subs_.end())
      continue;
    if (auto frame = encode_(topic, e))
      deliver_locked(it->second, frame);
  }
}

void topic_hub::deliver_locked(const std::vector<std::shared_ptr<topic_subscriber>>& subs,
                               const frame_ptr& frame) {
  for (const auto& s : subs)
    s->deliver(frame);
  if (published_) {
    published_->inc();
    delivered_->inc(subs.size());
  }
}

void topic_hub::publish_frame(const frame_ptr& frame) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto it = subs_.find(frame->topic); it != subs_.end())
    deliver_locked(it->second, frame);
}

size_t topic_hub::subscribers(const std::string& topic) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = subs_.find(topic);
  return it == subs_.end() ? 0 : it->second.size();
}

size_t topic_hub::topics() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return subs_.size();
}

event_sink_actor spawn_hub_actor(caf::actor_system& sys, std::shared_ptr<topic_hub> hub) {
  return sys.spawn([hub](event_sink_actor::pointer) -> event_sink_actor::behavior_type {
    return {
      [hub](atom::publish, const std::vector<committed_event>& events) { hub->publish(events); },
    };
  });
}

} // namespace mercato::runtime
