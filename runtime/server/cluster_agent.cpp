#include "runtime/server/cluster_agent.hpp"

#include "actors/protocol/atoms.hpp"
#include "adapters/pg/cluster_store.hpp"
#include "runtime/cluster/shard_map.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

namespace mercato::runtime {

namespace {

using steady = std::chrono::steady_clock;
using peer_key = std::pair<std::string, int64_t>;

// The lease of the cluster's singleton work; rendezvous-hashed like a shard of its own.
constexpr const char* singleton_name = "workers";
constexpr int32_t singleton_slot = -1;

constexpr auto connect_timeout = std::chrono::seconds{2};
constexpr auto release_timeout = std::chrono::seconds{7};
constexpr auto release_cooldown = std::chrono::seconds{5};
constexpr auto drain_poll = std::chrono::milliseconds{100};
// Leaving: how long it keeps asking busy entities (an append in flight) to stop, and how often.
constexpr auto leave_limit = std::chrono::seconds{6};
constexpr auto leave_retry = std::chrono::milliseconds{50};

struct handover {
  int32_t shard = 0;
  int64_t epoch = 0;
  std::string node_id;
  int64_t incarnation = 0;
};

struct agent_state {
  static inline const char* name = "cluster_agent";
  cluster_agent_settings cfg;
  std::shared_ptr<cluster::state> cl;
  std::unique_ptr<pg::cluster_store> store;
  std::optional<steady::time_point> alive_since; // since the last failed renewal
  pg::cluster_snapshot last;
  std::set<peer_key> connecting;
  std::map<caf::actor_addr, peer_key> peers;
  std::vector<handover> releasing;
  steady::time_point release_after{};
  std::vector<caf::actor> singleton_workers;
  bool db_down_logged = false;
  bool address_recorded = false;
  bool leaving = false;             // SIGTERM: hand everything over, take nothing
  caf::response_promise leave_rp;   // answered once the leaving handover ended
  steady::time_point leave_until{}; // leaving: the last moment to hand more shards over
  bool draining = false;            // leaving: handed over, waiting until nobody routes here
  bool handed_all = true;
  int64_t drain_version = 0;
  steady::time_point drain_until{};
};

using agent_ptr = caf::stateful_actor<agent_state>*;

std::shared_ptr<spdlog::logger> log() {
  return logger("runtime");
}

bool is_me(const agent_state& st, const std::string& node_id, int64_t incarnation) {
  return node_id == st.cl->node_id() && incarnation == st.cl->incarnation();
}

// The member row an owner row names, if it is in the snapshot.
const pg::cluster_member_row* member_of(const pg::cluster_snapshot& s,
                                        const pg::cluster_owner_row& o) {
  for (const auto& m : s.members)
    if (m.node_id == o.node_id && m.incarnation == o.incarnation)
      return &m;
  return nullptr;
}

bool serves(const pg::cluster_snapshot& s, const pg::cluster_owner_row& o) {
  auto m = member_of(s, o);
  return m != nullptr && m->status == "up";
}

// The up members, as candidates for shards: copies (a refresh replaces the snapshot) with their
// rendezvous names and every shard's target, computed once per round rather than once per shard.
struct candidates {
  std::vector<pg::cluster_member_row> members;
  std::vector<std::string> names;
  std::vector<int> targets; // by shard, balanced (cluster::balanced_owners)

  const pg::cluster_member_row* target_of(int32_t slot) const {
    // The singleton's slot is outside the shards: plain rendezvous, as it has no load to share.
    auto i = slot >= 0 && static_cast<size_t>(slot) < targets.size()
               ? targets[static_cast<size_t>(slot)]
               : cluster::rendezvous_owner(slot, names);
    return i < 0 ? nullptr : &members[static_cast<size_t>(i)];
  }
};

// Every up member of `s` that is not leaving, but `except` (node, incarnation) if given.
candidates up_members(const pg::cluster_snapshot& s, const peer_key* except = nullptr) {
  candidates out;
  for (const auto& m : s.members) {
    if (m.status != "up" || m.leaving
        || (except && m.node_id == except->first && m.incarnation == except->second))
      continue;
    out.members.push_back(m);
    out.names.push_back(m.node_id + "#" + std::to_string(m.incarnation));
  }
  out.targets = cluster::balanced_owners(static_cast<int32_t>(s.shards.size()), out.names);
  return out;
}

void publish_view(agent_ptr self) {
  auto& st = self->state;
  const auto& s = st.last;
  auto v = std::make_shared<cluster::view>();
  v->version = s.version;
  v->shard_count = std::max(s.shard_count, 1);
  for (const auto& m : s.members) {
    if (is_me(st, m.node_id, m.incarnation))
      v->self = static_cast<int>(v->members.size());
    v->members.push_back(m);
  }
  v->owner.assign(static_cast<size_t>(v->shard_count), -1);
  v->releasing.assign(static_cast<size_t>(v->shard_count), false);
  for (size_t i = 0; i < s.shards.size() && i < v->owner.size(); ++i) {
    const auto& o = s.shards[i];
    for (size_t k = 0; k < s.members.size(); ++k)
      if (s.members[k].node_id == o.node_id && s.members[k].incarnation == o.incarnation)
        v->owner[i] = static_cast<int>(k);
  }
  for (const auto& h : st.releasing)
    if (static_cast<size_t>(h.shard) < v->releasing.size())
      v->releasing[static_cast<size_t>(h.shard)] = true;
  // Leaving: what could not be handed over waits for this node to leave, then for a survivor.
  if (st.leaving)
    for (size_t i = 0; i < v->owner.size(); ++i)
      if (v->owner[i] >= 0 && v->owner[i] == v->self)
        v->releasing[i] = true;
  st.cl->publish(std::move(v));
}

void connect_peers(agent_ptr self) {
  auto& st = self->state;
  auto mm = self->system().middleman().actor_handle();
  for (const auto& m : st.last.members) {
    if ((m.status != "up" && m.status != "joining") || is_me(st, m.node_id, m.incarnation))
      continue;
    peer_key key{m.node_id, m.incarnation};
    if (st.cl->peer(m.node_id, m.incarnation) || st.connecting.count(key) > 0)
      continue;
    st.connecting.insert(key);
    self
      ->request(mm, connect_timeout, caf::connect_atom_v, m.caf_host,
                static_cast<uint16_t>(m.caf_port))
      .then(
        [self, key](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
          auto& st = self->state;
          st.connecting.erase(key);
          if (!ptr)
            return;
          auto gw = caf::actor_cast<caf::actor>(ptr);
          st.peers[gw.address()] = key;
          self->monitor(gw);
          st.cl->set_peer(key.first, key.second, gw);
          // The peer learns which topics this node's subscribers follow (again, after a drop).
          if (auto announcer = st.cl->announcer())
            self->send(announcer, atom::start_v, gw);
          log()->info("cluster: connected to {} (incarnation {})", key.first, key.second);
        },
        [self, key](caf::error& err) {
          self->state.connecting.erase(key);
          log()->debug("cluster: cannot connect to {} yet: {}", key.first,
                       self->system().render(err));
        });
  }
}

// Re-reads the tables if their version moved; publishes the new view. False if the database
// could not be read.
bool refresh(agent_ptr self) {
  auto& st = self->state;
  auto s = st.store->read(st.last.version);
  if (!s)
    return false;
  if (s->version == st.last.version && !st.last.shards.empty())
    return true; // unchanged (the answer carries the version only)
  st.last = std::move(*s);
  publish_view(self);
  connect_peers(self);
  return true;
}

void start_leave(agent_ptr self);

// Leaving, with the shards handed over: a member that has not read their new owners yet still
// routes here, and this node's gateway answers it `moved` only while it lives. So it stops once
// every other up member routes by a view at least as new (each records its own with its
// heartbeat), or after a few heartbeats at most.
void check_drain(agent_ptr self) {
  auto& st = self->state;
  if (!st.draining || !st.leave_rp.pending())
    return;
  // A handover to this node that began before it was marked leaving may have landed since:
  // hand that over too, while there is anyone to take it.
  peer_key me{st.cl->node_id(), st.cl->incarnation()};
  if (refresh(self) && steady::now() < st.leave_until
      && !up_members(st.last, &me).members.empty()) {
    for (const auto& o : st.last.shards)
      if (is_me(st, o.node_id, o.incarnation)) {
        st.draining = false;
        self->delayed_send(self, leave_retry, atom::retry_v);
        return;
      }
  }
  auto least = st.store->least_seen_version(st.cl->node_id(), st.cl->incarnation());
  bool seen = least && *least >= st.drain_version;
  if (!seen && steady::now() < st.drain_until) {
    self->delayed_send(self, drain_poll, atom::check_v);
    return;
  }
  if (!seen)
    log()->warn("cluster: leaving before every member read view {}", st.drain_version);
  st.leave_rp.deliver(st.handed_all);
  st.leave_rp = caf::response_promise{};
}

void start_drain(agent_ptr self, bool handed_all) {
  auto& st = self->state;
  st.draining = true;
  st.handed_all = handed_all;
  st.drain_version = st.last.version;
  st.drain_until = steady::now()
                   + std::max<std::chrono::milliseconds>(
                     3 * std::chrono::milliseconds{st.cfg.cluster.heartbeat_ms},
                     std::chrono::milliseconds{1500});
  check_drain(self);
}

// Tells every peer that the shard table changed, so that each reads it now instead of at its
// next heartbeat: the new owner starts serving, and the others route to it, at once.
void nudge_peers(agent_ptr self) {
  for (const auto& gw : self->state.cl->peers())
    self->send(gw, atom::load_v);
}

// The end of a handover: moves the shards whose entities all stopped, by a compare-and-swap on
// the epoch read when the handover began; the others stay here (and, while leaving, routed
// nowhere until this node has left).
void finish_release(agent_ptr self, const std::set<int32_t>& still_live) {
  auto& st = self->state;
  auto moves = std::move(st.releasing);
  st.releasing.clear();
  size_t moved = 0;
  for (const auto& h : moves)
    if (still_live.count(h.shard) == 0)
      if (auto ok = st.store->move_shard(h.shard, h.epoch, h.node_id, h.incarnation); ok && *ok)
        ++moved;
  if (moved < moves.size() && !st.leaving)
    st.release_after = steady::now() + release_cooldown;
  log()->info("cluster: handed {} of {} shards over{}", moved, moves.size(),
              still_live.empty() ? "" : " (the others still have live entities)");
  // Keeps the releasing flags on (old view) until the new owners are read.
  if (!refresh(self))
    publish_view(self);
  if (moved > 0)
    nudge_peers(self);
  if (st.leaving && st.leave_rp.pending()) {
    // A shard whose entities were busy stays here until they stop: a request for it would fail
    // when this node does. Asked again shortly, for a while.
    if (moved < moves.size() && steady::now() < st.leave_until)
      self->delayed_send(self, leave_retry, atom::retry_v);
    else
      start_drain(self, moved == moves.size());
  }
}

void start_release(agent_ptr self, std::vector<handover> moves) {
  auto& st = self->state;
  st.releasing = std::move(moves);
  publish_view(self); // from here on the routers and the gateway send nothing to these shards
  std::vector<int32_t> shards;
  for (const auto& h : st.releasing)
    shards.push_back(h.shard);
  auto left = std::make_shared<size_t>(st.cfg.regions.size());
  auto live = std::make_shared<std::set<int32_t>>();
  if (*left == 0)
    return finish_release(self, *live);
  for (const auto& region : st.cfg.regions)
    self->request(region, release_timeout, atom::release_v, shards, st.last.shard_count)
      .then(
        [self, left, live](const std::vector<int32_t>& still_live) {
          live->insert(still_live.begin(), still_live.end());
          if (--*left == 0)
            finish_release(self, *live);
        },
        [self, left, live, shards](caf::error&) {
          live->insert(shards.begin(), shards.end()); // unknown: keep them all
          if (--*left == 0)
            finish_release(self, *live);
        });
}

// Leaving (SIGTERM): every shard of this node goes to its target among the other up members.
void start_leave(agent_ptr self) {
  auto& st = self->state;
  peer_key me{st.cl->node_id(), st.cl->incarnation()};
  auto up = up_members(st.last, &me);
  std::vector<handover> moves;
  for (size_t i = 0; i < st.last.shards.size(); ++i) {
    const auto& o = st.last.shards[i];
    if (!is_me(st, o.node_id, o.incarnation))
      continue;
    if (auto t = up.target_of(static_cast<int32_t>(i)))
      moves.push_back(handover{static_cast<int32_t>(i), o.epoch, t->node_id, t->incarnation});
  }
  log()->info("cluster: leaving; handing {} shards to {} members", moves.size(), up.members.size());
  if (moves.empty())
    return start_drain(self, true);
  start_release(self, std::move(moves));
}

void manage_ownership(agent_ptr self) {
  auto& st = self->state;
  const auto& s = st.last;
  auto up = up_members(s);
  const auto& me_node = st.cl->node_id();
  auto me_inc = st.cl->incarnation();
  bool claimed = false;
  std::vector<int32_t> taken;
  for (size_t i = 0; i < s.shards.size(); ++i) {
    const auto& o = s.shards[i];
    if (serves(s, o))
      continue;
    auto t = up.target_of(static_cast<int32_t>(i));
    if (t == nullptr || !is_me(st, t->node_id, t->incarnation))
      continue;
    auto ok = st.store->move_shard(static_cast<int32_t>(i), o.epoch, me_node, me_inc);
    if (ok && *ok) {
      claimed = true;
      taken.push_back(static_cast<int32_t>(i));
    }
  }
  // The singleton work: its lease moves only when its holder no longer serves.
  pg::cluster_owner_row single{singleton_name, {}, 0, 0};
  for (const auto& x : s.singletons)
    if (x.name == singleton_name)
      single = x;
  if (!serves(s, single)) {
    auto t = up.target_of(singleton_slot);
    if (t != nullptr && is_me(st, t->node_id, t->incarnation)) {
      auto ok = st.store->move_singleton(singleton_name, single.epoch, me_node, me_inc);
      if (ok && *ok && st.cfg.start_singletons && st.singleton_workers.empty()) {
        log()->info("cluster: this node runs the cluster's singleton work");
        st.singleton_workers = st.cfg.start_singletons();
        claimed = true;
      }
    }
  }
  if (claimed) {
    refresh(self);
    nudge_peers(self);
    up = up_members(st.last);
  }
  if (!taken.empty() && st.cfg.on_takeover)
    st.cfg.on_takeover(taken, static_cast<int32_t>(s.shards.size()));
  // Hand over what a newer member is the target of, a few shards at a time.
  if (!st.releasing.empty() || steady::now() < st.release_after)
    return;
  std::vector<handover> moves;
  for (size_t i = 0; i < st.last.shards.size(); ++i) {
    const auto& o = st.last.shards[i];
    if (!is_me(st, o.node_id, o.incarnation))
      continue;
    auto t = up.target_of(static_cast<int32_t>(i));
    if (t == nullptr || is_me(st, t->node_id, t->incarnation))
      continue;
    // One target per round keeps the log and the test of a join simple to follow.
    if (!moves.empty() && moves.front().node_id != t->node_id)
      continue;
    moves.push_back(handover{static_cast<int32_t>(i), o.epoch, t->node_id, t->incarnation});
    if (static_cast<int>(moves.size()) >= st.cfg.cluster.moves_per_round)
      break;
  }
  if (!moves.empty())
    start_release(self, std::move(moves));
}

void tick(agent_ptr self) {
  auto& st = self->state;
  const auto& c = st.cfg.cluster;
  auto renewed = st.store->renew(st.cl->node_id(), st.cl->incarnation(), c.lease_ms,
                                 st.cl->current()->version);
  if (!renewed) {
    if (!st.db_down_logged)
      log()->warn("cluster: cannot renew the heartbeat: {}",
                  self->system().render(renewed.error()));
    st.db_down_logged = true;
    st.alive_since.reset();
    return;
  }
  st.db_down_logged = false;
  if (!*renewed) {
    log()->critical("cluster: node {} incarnation {} was declared dead; exiting", st.cl->node_id(),
                    st.cl->incarnation());
    spdlog::shutdown();
    std::_Exit(75);
  }
  st.cl->renewed();
  auto now = steady::now();
  if (!st.alive_since)
    st.alive_since = now;
  // Only a node that has itself been renewing for a while judges others: after a database
  // outage everybody's heartbeat looks expired, and nobody must die of that.
  if (now - *st.alive_since >= std::chrono::milliseconds{c.mark_dead_after_ms}) {
    auto dead = st.store->mark_expired_dead();
    if (dead && *dead > 0)
      log()->warn("cluster: marked {} members dead (heartbeat expired)", *dead);
  }
  if (!refresh(self))
    return;
  connect_peers(self); // again: an attempt may have failed while the peer was starting
  if (!st.address_recorded && st.cfg.http_address) {
    if (auto addr = st.cfg.http_address(); !addr.empty()) {
      auto ok = st.store->set_http_address(st.cl->node_id(), st.cl->incarnation(), addr);
      st.address_recorded = ok && *ok;
    }
  }
  if (!st.cl->is_up()) {
    // Up once connected to every up peer, so that nothing routed here waits for a connection.
    for (const auto& m : up_members(st.last).members)
      if (!is_me(st, m.node_id, m.incarnation) && !st.cl->peer(m.node_id, m.incarnation))
        return;
    auto ok = st.store->set_status(st.cl->node_id(), st.cl->incarnation(), "up");
    if (!ok || !*ok)
      return;
    st.cl->set_up(true);
    log()->info("cluster: node {} incarnation {} is up", st.cl->node_id(), st.cl->incarnation());
    refresh(self);
  }
  if (st.leaving) {
    if (st.leave_rp.pending() && st.releasing.empty() && !st.draining)
      start_leave(self);
    return;
  }
  manage_ownership(self);
}

caf::behavior agent(agent_ptr self, cluster_agent_settings cfg,
                    std::shared_ptr<cluster::state> cl) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.cl = std::move(cl);
  st.store = std::make_unique<pg::cluster_store>(st.cfg.url);
  // Without its agent a node can neither renew its lease nor follow the view: better gone (its
  // shards move on) than serving stale.
  self->set_exception_handler([](std::exception_ptr& ep) -> caf::error {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      log()->critical("cluster: the agent failed ({}); exiting", e.what());
    }
    spdlog::shutdown();
    std::_Exit(70);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.peers.find(dm.source);
    if (i == st.peers.end())
      return;
    log()->warn("cluster: lost the connection to {} (incarnation {})", i->second.first,
                i->second.second);
    st.cl->drop_peer(i->second.first, i->second.second);
    st.peers.erase(i);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    for (auto& w : st.singleton_workers)
      self->send_exit(w, em.reason);
    st.cl->set_up(false);
    // Leaving: the survivors take this node's shards at once instead of after the lease.
    auto left = st.store->set_status(st.cl->node_id(), st.cl->incarnation(), "left");
    if (left && *left)
      log()->info("cluster: node {} left the cluster", st.cl->node_id());
    self->quit(em.reason);
  });
  self->send(self, atom::sweep_v);
  return {
    [self](atom::remove) -> caf::result<bool> {
      auto& st = self->state;
      if (st.leaving)
        return false;
      st.leaving = true;
      st.leave_until = steady::now() + leave_limit;
      st.leave_rp = self->make_response_promise();
      // From now on nobody hands this node a shard; the view read next shows what it owns.
      if (auto marked = st.store->set_leaving(st.cl->node_id(), st.cl->incarnation()); !marked)
        log()->warn("cluster: cannot mark this node as leaving: {}",
                    self->system().render(marked.error()));
      refresh(self);
      auto rp = st.leave_rp;
      if (st.releasing.empty())
        start_leave(self); // else the handover in progress ends first, then the next tick
      return rp;
    },
    [self](atom::check) { check_drain(self); },
    [self](atom::load) { refresh(self); },
    [self](atom::retry) {
      auto& st = self->state;
      if (st.leaving && st.leave_rp.pending() && st.releasing.empty() && !st.draining)
        start_leave(self);
    },
    [self](atom::sweep) {
      tick(self);
      self->delayed_send(self, std::chrono::milliseconds{self->state.cfg.cluster.heartbeat_ms},
                         atom::sweep_v);
    },
  };
}

} // namespace

caf::expected<int64_t> enter_cluster(const std::string& url, const config::cluster_settings& cfg,
                                     const std::string& node_id, const std::string& http_address,
                                     uint16_t caf_port) {
  pg::cluster_store store{url};
  pg::cluster_join me;
  me.node_id = node_id;
  me.http_address = http_address;
  me.caf_host = cfg.host;
  me.caf_port = caf_port;
  me.protocol_version = cluster::protocol_version;
  me.shard_count = cfg.shard_count;
  me.lease_ms = cfg.lease_ms;
  return store.join(me);
}

caf::actor spawn_cluster_agent(caf::actor_system& sys, cluster_agent_settings cfg,
                               std::shared_ptr<cluster::state> cluster) {
  return sys.spawn<caf::detached>(agent, std::move(cfg), std::move(cluster));
}

} // namespace mercato::runtime
