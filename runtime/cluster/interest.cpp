#include "runtime/cluster/interest.hpp"

#include "actors/protocol/atoms.hpp"

#include <caf/all.hpp>

#include <string>
#include <unordered_map>
#include <vector>

namespace mercato::runtime::cluster {

namespace {

constexpr auto ack_timeout = std::chrono::seconds{1};

struct wanted_topic {
  uint64_t generation = 0; ///< of this announcement: acks of an earlier one are ignored
  size_t pending = 0;      ///< peers yet to acknowledge
  std::vector<caf::response_promise> waiters;
};

struct announcer_state {
  static inline const char* name = "cluster_interest";
  std::shared_ptr<state> cluster;
  std::unordered_map<std::string, wanted_topic> topics; ///< wanted here
  uint64_t generation = 0;
};

using announcer_ptr = caf::stateful_actor<announcer_state>*;

void release(wanted_topic& t) {
  for (auto& rp : t.waiters)
    rp.deliver(true);
  t.waiters.clear();
}

void acknowledged(announcer_ptr self, const std::string& topic, uint64_t generation) {
  auto i = self->state.topics.find(topic);
  if (i == self->state.topics.end() || i->second.generation != generation)
    return;
  if (i->second.pending > 0 && --i->second.pending == 0)
    release(i->second);
}

void announce(announcer_ptr self, const std::string& topic) {
  auto& st = self->state;
  auto& t = st.topics[topic];
  t.generation = ++st.generation;
  auto peers = st.cluster->peers();
  t.pending = peers.size();
  if (peers.empty())
    return release(t);
  std::vector<std::string> one{topic};
  for (const auto& gw : peers) {
    // A peer that does not answer in time may be dying; the subscription goes on without it and
    // heals any gap from the journal, as it would for a lost frame.
    self
      ->request(gw, ack_timeout, atom::put_v, st.cluster->node_id(), st.cluster->incarnation(), one)
      .then([self, topic, g = t.generation](bool) { acknowledged(self, topic, g); },
            [self, topic, g = t.generation](caf::error&) { acknowledged(self, topic, g); });
  }
}

caf::behavior announcer(announcer_ptr self, std::shared_ptr<state> cluster) {
  self->state.cluster = std::move(cluster);
  return {
    [self](atom::put, const std::string& topic) { announce(self, topic); },
    [self](atom::remove, const std::string& topic) {
      auto& st = self->state;
      auto i = st.topics.find(topic);
      if (i == st.topics.end())
        return;
      release(i->second);
      st.topics.erase(i);
      std::vector<std::string> one{topic};
      for (const auto& gw : st.cluster->peers())
        self->send(gw, atom::remove_v, st.cluster->node_id(), st.cluster->incarnation(), one);
    },
    [self](atom::get, const std::string& topic) {
      auto rp = self->make_response_promise();
      auto i = self->state.topics.find(topic);
      if (i == self->state.topics.end() || i->second.pending == 0)
        rp.deliver(true);
      else
        i->second.waiters.push_back(std::move(rp));
    },
    [self](atom::start, const caf::actor& gateway) {
      auto& st = self->state;
      if (st.topics.empty())
        return;
      std::vector<std::string> all;
      all.reserve(st.topics.size());
      for (const auto& [topic, t] : st.topics)
        all.push_back(topic);
      self->send(gateway, atom::put_v, st.cluster->node_id(), st.cluster->incarnation(),
                 std::move(all));
    },
  };
}

} // namespace

caf::actor spawn_interest_announcer(caf::actor_system& sys, std::shared_ptr<state> cluster) {
  return sys.spawn(announcer, std::move(cluster));
}

} // namespace mercato::runtime::cluster
