#include "runtime/shard_region.hpp"

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace mercato::runtime {

namespace {

// Time comes from the actor clock, so that tests can drive it virtually.
using time_point = caf::actor_clock::time_point;

enum class slot_status {
  running,     ///< child alive and routed to
  stopping,    ///< asked to passivate; messages wait for its answer or its exit
  backing_off, ///< crashed; respawns after a delay, messages wait
  failed,      ///< over the restart budget; messages are refused until the window passes
};

struct pending_message {
  caf::response_promise rp;
  caf::message msg;
};

struct slot {
  caf::actor child;
  slot_status status = slot_status::running;
  time_point last_active;
  std::vector<pending_message> waiting;
  std::deque<time_point> restarts; // within the window
};

struct region_state {
  static inline const char* name = "shard_region";
  region_settings cfg;
  entity_spawner spawner;
  std::unordered_map<std::string, slot> slots;
  std::unordered_map<caf::actor_addr, std::string> keys; // child address -> key
  gauge* live = nullptr;
  counter* restarts = nullptr;
  counter* passivations = nullptr;
  counter* refused = nullptr;
};

using self_ptr = caf::stateful_actor<region_state>*;

caf::error unavailable(const std::string& key) {
  return caf::make_error(mercato_errc::entity_unavailable,
                         "entity " + key + " is over its restart budget; retry later");
}

void start_child(self_ptr self, const std::string& key, slot& s) {
  s.child = self->state.spawner(self, key);
  self->monitor(s.child);
  self->state.keys[s.child.address()] = key;
  s.status = slot_status::running;
  s.last_active = self->clock().now();
  if (self->state.live)
    self->state.live->add(1);
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& w : waiting)
    w.rp.delegate(s.child, std::move(w.msg));
}

void hold_back(self_ptr self, const std::string& key, slot& s, caf::message msg) {
  auto rp = self->make_response_promise();
  if (s.waiting.size() >= self->state.cfg.max_buffered) {
    rp.deliver(unavailable(key));
    return;
  }
  s.waiting.push_back(pending_message{std::move(rp), std::move(msg)});
}

void ask_to_passivate(self_ptr self, const std::string& key, slot& s) {
  s.status = slot_status::stopping;
  auto child = s.child;
  self->request(child, std::chrono::seconds{5}, atom::passivate_v)
    .then(
      [self, key, child](bool stops) {
        if (stops)
          return; // the down_msg finishes the job
        auto i = self->state.slots.find(key);
        if (i == self->state.slots.end() || i->second.child != child)
          return;
        i->second.status = slot_status::running;
        i->second.last_active = self->clock().now();
        auto waiting = std::move(i->second.waiting);
        i->second.waiting.clear();
        for (auto& w : waiting)
          w.rp.delegate(child, std::move(w.msg));
      },
      [](caf::error&) {
        // The child died meanwhile; its down_msg restarts or removes it.
      });
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto k = st.keys.find(dm.source);
  if (k == st.keys.end())
    return;
  auto key = k->second;
  st.keys.erase(k);
  auto i = st.slots.find(key);
  if (i == st.slots.end())
    return;
  auto& s = i->second;
  s.child = nullptr;
  if (st.live)
    st.live->add(-1);
  if (!dm.reason) { // passivated
    if (st.passivations)
      st.passivations->inc();
    if (s.waiting.empty())
      st.slots.erase(i);
    else
      start_child(self, key, s);
    return;
  }
  if (st.restarts)
    st.restarts->inc();
  auto now = self->clock().now();
  s.restarts.push_back(now);
  while (!s.restarts.empty() && now - s.restarts.front() > st.cfg.restart_window)
    s.restarts.pop_front();
  auto n = static_cast<int>(s.restarts.size());
  if (n > st.cfg.restart_budget) {
    logger("runtime")->error("{} {} exceeded its restart budget ({} in {} ms): {}", st.cfg.kind,
                             key, n, st.cfg.restart_window.count(), render(dm.reason));
    s.status = slot_status::failed;
    for (auto& w : s.waiting)
      w.rp.deliver(unavailable(key));
    s.waiting.clear();
    return;
  }
  auto backoff = std::min<std::chrono::milliseconds>(
    st.cfg.backoff_min * (int64_t{1} << std::min(n - 1, 20)), st.cfg.backoff_max);
  logger("runtime")->warn("{} {} stopped ({}); restart {} in {} ms", st.cfg.kind, key,
                          render(dm.reason), n, backoff.count());
  s.status = slot_status::backing_off;
  self->delayed_send(self, backoff, atom::respawn_v, key);
}

std::chrono::milliseconds sweep_interval(const region_settings& cfg) {
  auto d = cfg.passivate_after / 2;
  return std::clamp(d, std::chrono::milliseconds{20}, std::chrono::milliseconds{10000});
}

caf::behavior region(self_ptr self, region_settings cfg, entity_spawner spawner,
                     metrics_registry* metrics) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.spawner = std::move(spawner);
  if (metrics) {
    labels lbl{{"kind", st.cfg.kind}};
    st.live = &metrics->get_gauge("mercato_entities_live", "Live entity actors by kind", lbl);
    st.restarts = &metrics->get_counter("mercato_entity_restarts_total",
                                        "Entity restarts after a failure", lbl);
    st.passivations = &metrics->get_counter("mercato_entity_passivations_total",
                                            "Entities stopped after being idle", lbl);
    st.refused = &metrics->get_counter("mercato_entity_refused_total",
                                       "Messages refused: entity over its restart budget", lbl);
  }
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  // Children are kept alive by their own pending timers (hold expiry), not only by this
  // region's handles: stop them explicitly, or the actor system never finishes shutting down.
  self->set_exit_handler([self](caf::exit_msg& em) {
    for (auto& [key, s] : self->state.slots) {
      if (s.child)
        self->send_exit(s.child, em.reason);
      for (auto& w : s.waiting)
        w.rp.deliver(caf::make_error(mercato_errc::entity_unavailable, "node shutting down"));
    }
    self->quit(em.reason);
  });
  self->delayed_send(self, sweep_interval(st.cfg), atom::sweep_v);
  return {
    [self](atom::route, const std::string& key, caf::message& msg) {
      auto& st = self->state;
      auto [i, added] = st.slots.try_emplace(key);
      auto& s = i->second;
      if (added) {
        start_child(self, key, s);
      } else if (s.status == slot_status::failed) {
        if (s.restarts.empty() || self->clock().now() - s.restarts.back() > st.cfg.restart_window) {
          s.restarts.clear();
          start_child(self, key, s);
        } else {
          if (st.refused)
            st.refused->inc();
          auto rp = self->make_response_promise();
          rp.deliver(unavailable(key));
          return;
        }
      }
      if (s.status == slot_status::running) {
        s.last_active = self->clock().now();
        auto rp = self->make_response_promise();
        rp.delegate(s.child, std::move(msg));
        return;
      }
      hold_back(self, key, s, std::move(msg));
    },
    [self](atom::respawn, const std::string& key) {
      auto i = self->state.slots.find(key);
      if (i != self->state.slots.end() && i->second.status == slot_status::backing_off)
        start_child(self, key, i->second);
    },
    [self](atom::sweep) {
      auto& st = self->state;
      auto deadline = self->clock().now() - st.cfg.passivate_after;
      for (auto& [key, s] : st.slots)
        if (s.status == slot_status::running && s.last_active < deadline)
          ask_to_passivate(self, key, s);
      self->delayed_send(self, sweep_interval(st.cfg), atom::sweep_v);
    },
    [self](atom::passivate, const std::string& key) -> bool {
      auto i = self->state.slots.find(key);
      if (i == self->state.slots.end() || i->second.status != slot_status::running)
        return false;
      ask_to_passivate(self, key, i->second);
      return true;
    },
  };
}

} // namespace

caf::actor spawn_region(caf::actor_system& sys, region_settings cfg, entity_spawner spawner,
                        metrics_registry* metrics) {
  return sys.spawn(region, std::move(cfg), std::move(spawner), metrics);
}

} // namespace mercato::runtime
