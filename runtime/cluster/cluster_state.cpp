#include "runtime/cluster/cluster_state.hpp"

#include "runtime/cluster/shard_map.hpp"

#include <algorithm>
#include <iterator>

namespace mercato::runtime::cluster {

placement place(const view& v, std::string_view kind, std::string_view key) {
  placement p;
  p.shard = shard_of(kind, key, v.shard_count);
  auto s = static_cast<size_t>(p.shard);
  if (s >= v.owner.size() || v.owner[s] < 0)
    return p;
  if (s < v.releasing.size() && v.releasing[s])
    return p;
  const auto& m = v.members[static_cast<size_t>(v.owner[s])];
  if (m.status != "up")
    return p;
  p.member = v.owner[s];
  p.where = p.member == v.self ? placement_kind::local : placement_kind::remote;
  return p;
}

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

state::state(std::string node_id, std::chrono::milliseconds self_fence_after)
    : node_id_(std::move(node_id)), self_fence_after_(self_fence_after),
      view_(std::make_shared<view>()) {}

std::shared_ptr<const view> state::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return view_;
}

void state::publish(std::shared_ptr<const view> v) {
  std::lock_guard<std::mutex> guard{mtx_};
  view_ = std::move(v);
  // A peer's interests go once the view says its incarnation is gone: dead or left, or replaced
  // by a newer one. A peer this view does not list yet may have joined since it was read.
  for (auto i = interest_.begin(); i != interest_.end();) {
    auto gone = std::any_of(view_->members.begin(), view_->members.end(), [&](const member& m) {
      if (m.node_id != i->first.first)
        return false;
      return m.incarnation > i->first.second
             || (m.incarnation == i->first.second && m.status != "up" && m.status != "joining");
    });
    i = gone ? interest_.erase(i) : std::next(i);
  }
}

void state::renewed() {
  renewed_at_ns_ = steady_ns();
}

bool state::lease_valid() const {
  auto at = renewed_at_ns_.load();
  if (at == 0)
    return false;
  return steady_ns() - at
         < std::chrono::duration_cast<std::chrono::nanoseconds>(self_fence_after_).count();
}

caf::actor state::peer(const std::string& node_id, int64_t incarnation) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = peers_.find({node_id, incarnation});
  return i == peers_.end() ? caf::actor{} : i->second;
}

void state::set_peer(const std::string& node_id, int64_t incarnation, caf::actor gateway) {
  std::lock_guard<std::mutex> guard{mtx_};
  peers_[{node_id, incarnation}] = std::move(gateway);
}

void state::drop_peer(const std::string& node_id, int64_t incarnation) {
  std::lock_guard<std::mutex> guard{mtx_};
  peers_.erase({node_id, incarnation});
}

void state::set_local_sink(caf::actor sink) {
  std::lock_guard<std::mutex> guard{mtx_};
  local_sink_ = std::move(sink);
}

caf::actor state::local_sink() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return local_sink_;
}

std::vector<caf::actor> state::peers() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<caf::actor> out;
  out.reserve(peers_.size());
  for (const auto& [key, gateway] : peers_)
    out.push_back(gateway);
  return out;
}

void state::set_interest(const std::string& node_id, int64_t incarnation,
                         const std::vector<std::string>& topics, bool wanted) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& set = interest_[{node_id, incarnation}];
  for (const auto& t : topics) {
    if (wanted)
      set.insert(t);
    else
      set.erase(t);
  }
}

bool state::any_interest() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::any_of(interest_.begin(), interest_.end(),
                     [](const auto& entry) { return !entry.second.empty(); });
}

std::vector<state::interested_peer>
state::interested_peers(const std::vector<std::string>& topics) const {
  std::vector<interested_peer> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& [key, gateway] : peers_) {
    auto i = interest_.find(key);
    if (i == interest_.end() || i->second.empty())
      continue;
    std::vector<size_t> wanted;
    for (size_t k = 0; k < topics.size(); ++k)
      if (i->second.count(topics[k]) > 0)
        wanted.push_back(k);
    if (!wanted.empty())
      out.push_back(interested_peer{key.first, gateway, std::move(wanted)});
  }
  return out;
}

void state::set_announcer(caf::actor announcer) {
  std::lock_guard<std::mutex> guard{mtx_};
  announcer_ = announcer.address();
}

caf::actor state::announcer() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return caf::actor_cast<caf::actor>(announcer_);
}

void state::set_agent(caf::actor agent) {
  std::lock_guard<std::mutex> guard{mtx_};
  agent_ = agent.address();
}

caf::actor state::agent() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return caf::actor_cast<caf::actor>(agent_);
}

void state::set_regions(std::map<std::string, caf::actor> regions) {
  std::lock_guard<std::mutex> guard{mtx_};
  regions_ = std::move(regions);
}

caf::actor state::region(const std::string& kind) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = regions_.find(kind);
  return i == regions_.end() ? caf::actor{} : i->second;
}

std::map<std::string, caf::actor> state::regions() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return regions_;
}

} // namespace mercato::runtime::cluster
