#include "runtime/cluster/cluster_state.hpp"

#include "runtime/cluster/shard_map.hpp"

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
