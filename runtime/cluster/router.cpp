#include "runtime/cluster/router.hpp"

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "runtime/logging.hpp"
#include "runtime/topic_hub.hpp"

#include <caf/all.hpp>

#include <deque>
#include <unordered_map>

namespace mercato::runtime::cluster {

namespace {

using time_point = caf::actor_clock::time_point;

constexpr auto retry_tick = std::chrono::milliseconds{50};
constexpr auto peer_answer_timeout = std::chrono::seconds{1};

using peer_key = std::pair<std::string, int64_t>;

struct waiting_message {
  caf::response_promise rp;
  std::string key;
  caf::message msg;
  bool known_new = false;
  time_point deadline;
};

struct in_flight {
  peer_key peer;
  waiting_message m;
};

struct router_state {
  static inline const char* name = "cluster_router";
  router_settings cfg;
  caf::actor region;
  std::shared_ptr<state> cluster;
  std::deque<waiting_message> waiting;
  bool tick_scheduled = false;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, in_flight> flying;
  std::unordered_map<caf::actor_addr, peer_key> monitored;
};

using router_ptr = caf::stateful_actor<router_state>*;

bool is_system_error(const caf::error& err, caf::sec code) {
  return err.category() == caf::atom("system") && err.code() == static_cast<uint8_t>(code);
}

caf::error no_owner(const router_state& st, const std::string& key) {
  return caf::make_error(mercato_errc::entity_unavailable,
                         "no node serves " + st.cfg.kind + " " + key + " yet; retry later");
}

void dispatch(router_ptr self, waiting_message m);

void wait_for_view(router_ptr self, waiting_message m) {
  auto& st = self->state;
  if (self->clock().now() >= m.deadline) {
    m.rp.deliver(no_owner(st, m.key));
    return;
  }
  st.waiting.push_back(std::move(m));
  if (!st.tick_scheduled) {
    st.tick_scheduled = true;
    self->delayed_send(self, retry_tick, atom::retry_v);
  }
}

void fail_peer(router_ptr self, const peer_key& peer) {
  auto& st = self->state;
  for (auto i = st.flying.begin(); i != st.flying.end();) {
    if (i->second.peer == peer) {
      i->second.m.rp.deliver(caf::make_error(mercato_errc::entity_unavailable,
                                             "node " + peer.first
                                               + " went down while handling the "
                                                 "request; its outcome is unknown, retry it"));
      i = st.flying.erase(i);
    } else {
      ++i;
    }
  }
}

void forward(router_ptr self, const member& owner, caf::actor gateway, waiting_message m) {
  auto& st = self->state;
  peer_key peer{owner.node_id, owner.incarnation};
  if (st.monitored.emplace(gateway.address(), peer).second)
    self->monitor(gateway);
  auto id = ++st.next_id;
  auto key = m.key;
  auto msg = m.msg;
  auto known_new = m.known_new;
  st.flying.emplace(id, in_flight{peer, std::move(m)});
  auto handle = known_new ? self->request(gateway, st.cfg.forward_timeout, atom::route_new_v,
                                          st.cfg.kind, key, std::move(msg))
                          : self->request(gateway, st.cfg.forward_timeout, atom::route_v,
                                          st.cfg.kind, key, std::move(msg));
  // CAF 0.17 has no catch-all response handler: the answer of any type comes to the error
  // handler as `unexpected_response`, holding the answer as its context. `respawn` is never an
  // answer.
  handle.then([](atom::respawn) {},
              [self, id](caf::error& err) {
                auto& st = self->state;
                auto i = st.flying.find(id);
                if (i == st.flying.end())
                  return; // failed already, when the peer went down
                auto m = std::move(i->second.m);
                st.flying.erase(i);
                if (is_system_error(err, caf::sec::unexpected_response)) {
                  m.rp.deliver(err.context());
                } else if (errc_of(err) == mercato_errc::moved
                           || is_system_error(err, caf::sec::request_receiver_down)) {
                  // The peer's view is newer, or the peer was gone before the message reached
                  // it (never handled): read ours again.
                  wait_for_view(self, std::move(m));
                } else if (is_system_error(err, caf::sec::request_timeout)) {
                  m.rp.deliver(caf::make_error(mercato_errc::entity_unavailable,
                                               "the node serving " + st.cfg.kind + " " + m.key
                                                 + " did not answer in time; the outcome is "
                                                   "unknown, retry it"));
                } else {
                  m.rp.deliver(std::move(err));
                }
              });
}

void dispatch(router_ptr self, waiting_message m) {
  auto& st = self->state;
  if (!st.cluster->lease_valid()) {
    m.rp.deliver(caf::make_error(mercato_errc::entity_unavailable,
                                 "this node lost contact with the cluster; retry on another"));
    return;
  }
  auto v = st.cluster->current();
  auto p = place(*v, st.cfg.kind, m.key);
  switch (p.where) {
  case placement_kind::local:
    if (m.known_new)
      m.rp.delegate(st.region, atom::route_new_v, std::move(m.key), std::move(m.msg));
    else
      m.rp.delegate(st.region, atom::route_v, std::move(m.key), std::move(m.msg));
    return;
  case placement_kind::remote: {
    const auto& owner = v->members[static_cast<size_t>(p.member)];
    if (auto gw = st.cluster->peer(owner.node_id, owner.incarnation)) {
      forward(self, owner, std::move(gw), std::move(m));
      return;
    }
    break; // not connected yet: wait for the agent
  }
  case placement_kind::nowhere:
    break;
  }
  wait_for_view(self, std::move(m));
}

caf::behavior router(router_ptr self, router_settings cfg, caf::actor region,
                     std::shared_ptr<state> cluster) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.region = std::move(region);
  st.cluster = std::move(cluster);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.monitored.find(dm.source);
    if (i == st.monitored.end())
      return;
    auto peer = i->second;
    st.monitored.erase(i);
    st.cluster->drop_peer(peer.first, peer.second);
    fail_peer(self, peer);
  });
  auto accept = [self](const std::string& key, caf::message& msg, bool known_new) {
    waiting_message m{self->make_response_promise(), key, std::move(msg), known_new,
                      self->clock().now() + self->state.cfg.wait_for_owner};
    dispatch(self, std::move(m));
  };
  return {
    [accept](atom::route, const std::string& key, caf::message& msg) { accept(key, msg, false); },
    [accept](atom::route_new, const std::string& key, caf::message& msg) {
      accept(key, msg, true);
    },
    [self](atom::retry) {
      auto& st = self->state;
      st.tick_scheduled = false;
      auto waiting = std::move(st.waiting);
      st.waiting.clear();
      for (auto& m : waiting)
        dispatch(self, std::move(m));
    },
    [self](atom::list, const std::string& after, int32_t limit) {
      return self->delegate(self->state.region, atom::list_v, after, limit);
    },
    [self](atom::inspect, const std::string& key) {
      return self->delegate(self->state.region, atom::inspect_v, key);
    },
    [self](atom::passivate, const std::string& key) {
      return self->delegate(self->state.region, atom::passivate_v, key);
    },
    [self](atom::release, std::vector<int32_t>& shards, int32_t shard_count) {
      return self->delegate(self->state.region, atom::release_v, std::move(shards), shard_count);
    },
  };
}

// -- gateway ----------------------------------------------------------------------------------

struct gateway_state {
  static inline const char* name = "cluster_gateway";
  std::shared_ptr<state> cluster;
};

using gateway_ptr = caf::stateful_actor<gateway_state>*;

void serve(gateway_ptr self, const std::string& kind, std::string& key, caf::message& msg,
           bool known_new) {
  auto& cluster = *self->state.cluster;
  auto rp = self->make_response_promise();
  auto v = cluster.current();
  auto p = place(*v, kind, key);
  auto region = cluster.region(kind);
  if (!cluster.lease_valid() || p.where != placement_kind::local || !region) {
    rp.deliver(caf::make_error(mercato_errc::moved, "node " + cluster.node_id() + " does not serve "
                                                      + kind + " " + key + " now"));
    return;
  }
  if (known_new)
    rp.delegate(region, atom::route_new_v, std::move(key), std::move(msg));
  else
    rp.delegate(region, atom::route_v, std::move(key), std::move(msg));
}

// This node's live entities per kind, counted by its regions.
caf::result<cluster_member_info> local_load(gateway_ptr self) {
  auto& cluster = *self->state.cluster;
  auto info = std::make_shared<cluster_member_info>();
  info->node_id = cluster.node_id();
  info->incarnation = cluster.incarnation();
  info->entities = 0;
  auto regions = cluster.regions();
  if (regions.empty())
    return *info;
  auto rp = self->make_response_promise<cluster_member_info>();
  auto left = std::make_shared<size_t>(regions.size());
  for (const auto& [kind, region] : regions) {
    self->request(region, peer_answer_timeout, atom::list_v, std::string{}, int32_t{0})
      .then(
        [info, rp, left, kind = kind](const entity_page& page) mutable {
          info->kinds.push_back(kind);
          info->counts.push_back(page.total);
          info->entities += static_cast<int64_t>(page.total);
          if (--*left == 0)
            rp.deliver(std::move(*info));
        },
        [info, rp, left](caf::error&) mutable {
          info->entities = -1;
          if (--*left == 0)
            rp.deliver(std::move(*info));
        });
  }
  return rp;
}

caf::result<cluster_info> cluster_overview(gateway_ptr self) {
  auto& cluster = *self->state.cluster;
  auto v = cluster.current();
  auto out = std::make_shared<cluster_info>();
  out->self = cluster.node_id();
  out->view_version = v->version;
  out->shard_count = v->shard_count;
  std::vector<int32_t> shards(v->members.size(), 0);
  for (auto o : v->owner)
    if (o >= 0)
      ++shards[static_cast<size_t>(o)];
  for (size_t i = 0; i < v->members.size(); ++i) {
    const auto& m = v->members[i];
    cluster_member_info x;
    x.node_id = m.node_id;
    x.incarnation = m.incarnation;
    x.address = m.http_address;
    x.status = m.status;
    x.shards = shards[i];
    out->members.push_back(std::move(x));
  }
  auto rp = self->make_response_promise<cluster_info>();
  auto left = std::make_shared<size_t>(1);
  auto done = [rp, out, left]() mutable {
    if (--*left == 0)
      rp.deliver(std::move(*out));
  };
  auto fill = [out](const cluster_member_info& load) {
    for (auto& m : out->members)
      if (m.node_id == load.node_id && m.incarnation == load.incarnation) {
        m.entities = load.entities;
        m.kinds = load.kinds;
        m.counts = load.counts;
      }
  };
  for (size_t i = 0; i < v->members.size(); ++i) {
    const auto& m = v->members[i];
    if (m.status != "up" || static_cast<int>(i) == v->self)
      continue;
    auto gw = cluster.peer(m.node_id, m.incarnation);
    if (!gw)
      continue;
    ++*left;
    self->request(gw, peer_answer_timeout, atom::list_v)
      .then([fill, done](const cluster_member_info& load) mutable { fill(load), done(); },
            [done](caf::error&) mutable { done(); });
  }
  // This node's own load, asked of itself like any member's.
  ++*left;
  self->request(caf::actor_cast<caf::actor>(self), peer_answer_timeout, atom::list_v)
    .then([fill, done](const cluster_member_info& load) mutable { fill(load), done(); },
          [done](caf::error&) mutable { done(); });
  done(); // the initial count of one
  return rp;
}

caf::behavior gateway(gateway_ptr self, std::shared_ptr<state> cluster) {
  self->state.cluster = std::move(cluster);
  return {
    [self](atom::route, const std::string& kind, std::string& key, caf::message& msg) {
      serve(self, kind, key, msg, false);
    },
    [self](atom::route_new, const std::string& kind, std::string& key, caf::message& msg) {
      serve(self, kind, key, msg, true);
    },
    [self](atom::publish, std::vector<committed_event>& events) {
      if (auto sink = self->state.cluster->local_sink())
        self->send(caf::actor_cast<event_sink_actor>(sink), atom::publish_v, std::move(events));
    },
    [self](atom::put, const std::string& node, int64_t incarnation,
           const std::vector<std::string>& topics) {
      self->state.cluster->set_interest(node, incarnation, topics, true);
      return true;
    },
    [self](atom::remove, const std::string& node, int64_t incarnation,
           const std::vector<std::string>& topics) {
      self->state.cluster->set_interest(node, incarnation, topics, false);
    },
    // A peer moved shards: read the view now rather than at the next heartbeat, so that requests
    // held for those shards go on within milliseconds.
    [self](atom::load) {
      if (auto agent = self->state.cluster->agent())
        self->send(agent, atom::load_v);
    },
    [self](atom::list) { return local_load(self); },
    [self](atom::list, const std::string& kind, std::string& after, int32_t limit) {
      auto rp = self->make_response_promise();
      if (auto region = self->state.cluster->region(kind))
        rp.delegate(region, atom::list_v, std::move(after), limit);
      else
        rp.deliver(caf::make_error(mercato_errc::not_found, "no entities of kind " + kind));
    },
    [self](atom::get) { return cluster_overview(self); },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system& sys, router_settings cfg, caf::actor local_region,
                        std::shared_ptr<state> cluster) {
  return sys.spawn(router, std::move(cfg), std::move(local_region), std::move(cluster));
}

namespace {

// The sink's forwarded-events counters, one per peer node, made on first use.
class peer_counters {
public:
  explicit peer_counters(metrics_registry* metrics) : metrics_(metrics) {}

  counter* of(const std::string& node) {
    if (!metrics_)
      return nullptr;
    auto& c = by_peer_[node];
    if (!c)
      c = &metrics_->get_counter("mercato_cluster_events_forwarded_total",
                                 "Committed events sent to a peer that has subscribers for them.",
                                 {{"peer", node}});
    return c;
  }

private:
  metrics_registry* metrics_;
  std::unordered_map<std::string, counter*> by_peer_;
};

} // namespace

event_sink_actor spawn_cluster_sink(caf::actor_system& sys, event_sink_actor local,
                                    std::shared_ptr<state> cluster, metrics_registry* metrics) {
  // Per peer node, so that one can see who gets what.
  auto forwarded = std::make_shared<peer_counters>(metrics);
  return sys.spawn([local = std::move(local), cluster = std::move(cluster),
                    forwarded](event_sink_actor::pointer self) -> event_sink_actor::behavior_type {
    return {
      [self, local, cluster, forwarded](atom::publish, std::vector<committed_event>& events) {
        if (!cluster->any_interest())
          return self->send(local, atom::publish_v, std::move(events));
        std::vector<std::string> topics;
        topics.reserve(events.size());
        for (const auto& e : events)
          topics.push_back(topic_of(e.kind, e.entity_id));
        for (auto& peer : cluster->interested_peers(topics)) {
          std::vector<committed_event> part;
          part.reserve(peer.wanted.size());
          for (auto k : peer.wanted)
            part.push_back(events[k]);
          if (auto* c = forwarded->of(peer.node_id))
            c->inc(part.size());
          caf::anon_send(peer.gateway, atom::publish_v, std::move(part));
        }
        self->send(local, atom::publish_v, std::move(events));
      },
    };
  });
}

caf::actor spawn_gateway(caf::actor_system& sys, std::shared_ptr<state> cluster) {
  return sys.spawn(gateway, std::move(cluster));
}

} // namespace mercato::runtime::cluster
