#include "runtime/shard_region.hpp"

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "runtime/cluster/shard_map.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <memory>
#include <set>
#include <unordered_map>

namespace mercato::runtime {

namespace {

// Time comes from the actor clock, so that tests can drive it virtually.
using time_point = caf::actor_clock::time_point;

enum class slot_status {
  running,      ///< child alive and routed to
  stopping,     ///< asked to passivate; messages wait for its answer or its exit
  backing_off,  ///< crashed; respawns after a delay, messages wait
  storage_wait, ///< stopped by a storage failure; respawns after a delay, messages refused
  failed,       ///< over the restart budget; messages are refused until the window passes
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
  uint64_t restarts_total = 0;     // since the key became live
  int64_t mailbox = -1;            // last sampled depth of the child's mailbox; -1 = none yet
  uint64_t writes = 0;             // messages routed that are not reads (`is_read`)
  bool absent_on_stop = false;     // stopping because it answered a read `not_found`
};

const char* to_string(slot_status x) {
  switch (x) {
  case slot_status::running:
    return "running";
  case slot_status::stopping:
    return "stopping";
  case slot_status::backing_off:
    return "restarting";
  case slot_status::storage_wait:
    return "waiting_for_storage";
  case slot_status::failed:
    return "failed";
  }
  return "unknown";
}

// A probe that finds the entity busy for this long leaves the last sample in place.
constexpr auto probe_timeout = std::chrono::milliseconds{1000};

// Running entities sampled per sweep: bounds the fan-out (CAF 0.17's work stealing pays
// O(n) per target when one actor wakes many at once).
constexpr size_t probes_per_sweep = 256;

constexpr int32_t max_list_limit = 1000;

// A handover of shards in progress (`atom::release`).
struct release_job {
  std::set<int32_t> shards;
  int32_t shard_count = 1;
  caf::response_promise rp;
  time_point deadline;
};

constexpr auto release_poll = std::chrono::milliseconds{20};
constexpr auto release_limit = std::chrono::seconds{5};

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
  gauge* mailbox_depth = nullptr;
  std::vector<std::string> probe_round; // keys still to sample in this round of sweeps
  uint64_t next_release = 0;
  std::unordered_map<uint64_t, release_job> releases;
  // Keys known not to exist, until when; `absent_order` evicts the oldest first.
  std::unordered_map<std::string, time_point> absent;
  std::deque<std::pair<std::string, time_point>> absent_order;
  caf::error absent_answer; // the entities' own answer to a read of an absent key
  counter* absent_hits = nullptr;
  counter* storage_waits = nullptr;
};

using self_ptr = caf::stateful_actor<region_state>*;

caf::error unavailable(const std::string& key) {
  return caf::make_error(mercato_errc::entity_unavailable,
                         "entity " + key + " is over its restart budget; retry later");
}

caf::error storage_down(const region_state& st, const std::string& key) {
  return caf::make_error(mercato_errc::storage_unavailable,
                         st.cfg.kind + " " + key + " waits for the database; retry");
}

bool is_system_error(const caf::error& err, caf::sec code) {
  return err.category() == caf::atom("system") && err.code() == static_cast<uint8_t>(code);
}

void remember_absent(self_ptr self, const std::string& key) {
  auto& st = self->state;
  if (st.cfg.absent_max == 0)
    return;
  auto until = self->clock().now() + st.cfg.absent_ttl;
  st.absent[key] = until;
  st.absent_order.emplace_back(key, until);
  while (st.absent_order.size() > st.cfg.absent_max) {
    auto& [k, t] = st.absent_order.front();
    auto i = st.absent.find(k);
    if (i != st.absent.end() && i->second == t)
      st.absent.erase(i);
    st.absent_order.pop_front();
  }
}

void forget_absent(region_state& st) {
  st.absent.clear();
  st.absent_order.clear();
}

void start_child(self_ptr self, const std::string& key, slot& s, bool known_new = false) {
  s.child = self->state.spawner(self, key, known_new);
  self->monitor(s.child);
  self->state.keys[s.child.address()] = key;
  s.status = slot_status::running;
  s.last_active = self->clock().now();
  s.mailbox = -1;
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
  if (st.cfg.watch && dm.source == st.cfg.watch.address()) {
    for (const auto& entry : st.slots)
      if (entry.second.child)
        self->send(entry.second.child, dm); // handled as their own down_msg
    return;
  }
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
    if (s.waiting.empty()) {
      if (s.absent_on_stop)
        remember_absent(self, key);
      st.slots.erase(i);
    } else {
      s.absent_on_stop = false;
      start_child(self, key, s);
    }
    return;
  }
  s.absent_on_stop = false;
  if (errc_of(dm.reason) == mercato_errc::storage_unavailable) {
    // The database failed, not the entity: a short outage must not spend the restart budget
    // (it would refuse the key long after the database is back), and nobody should wait.
    if (st.restarts)
      st.restarts->inc();
    if (st.storage_waits)
      st.storage_waits->inc();
    ++s.restarts_total;
    s.mailbox = -1;
    s.status = slot_status::storage_wait;
    for (auto& w : s.waiting)
      w.rp.deliver(storage_down(st, key));
    s.waiting.clear();
    logger("runtime")->debug("{} {} stopped ({}); restart in {} ms", st.cfg.kind, key,
                             render(dm.reason), st.cfg.storage_retry.count());
    self->delayed_send(self, st.cfg.storage_retry, atom::respawn_v, key);
    return;
  }
  if (st.restarts)
    st.restarts->inc();
  ++s.restarts_total;
  s.mailbox = -1;
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

// Asks the child of `key` for its mailbox depth; the answer lands in its slot if the same child
// still lives there.
void probe(self_ptr self, const std::string& key, const caf::actor& child,
           std::function<void()> done = {}) {
  self->request<caf::message_priority::high>(child, probe_timeout, atom::mailbox_v)
    .then(
      [self, key, child, done](uint64_t depth) {
        auto i = self->state.slots.find(key);
        if (i != self->state.slots.end() && i->second.child == child)
          i->second.mailbox = static_cast<int64_t>(depth);
        if (done)
          done();
      },
      [done](caf::error&) {
        if (done)
          done();
      });
}

void sample_mailboxes(self_ptr self) {
  auto& st = self->state;
  if (st.probe_round.empty())
    for (const auto& [key, s] : st.slots)
      if (s.status == slot_status::running)
        st.probe_round.push_back(key);
  for (size_t n = 0; n < probes_per_sweep && !st.probe_round.empty(); ++n) {
    auto key = std::move(st.probe_round.back());
    st.probe_round.pop_back();
    auto i = st.slots.find(key);
    if (i != st.slots.end() && i->second.status == slot_status::running)
      probe(self, key, i->second.child);
  }
  if (st.mailbox_depth) {
    int64_t sum = 0;
    for (const auto& [key, s] : st.slots)
      sum += std::max<int64_t>(s.mailbox, 0) + static_cast<int64_t>(s.waiting.size());
    st.mailbox_depth->set(sum);
  }
}

entity_info info_of(self_ptr self, const std::string& key, const slot& s) {
  entity_info x;
  x.kind = self->state.cfg.kind;
  x.key = key;
  x.status = to_string(s.status);
  // Messages the region holds back wait for the entity as much as those in its mailbox.
  x.mailbox = s.child ? s.mailbox : 0;
  if (x.mailbox >= 0)
    x.mailbox += static_cast<int64_t>(s.waiting.size());
  x.restarts = s.restarts_total;
  x.idle_ms = std::max<int64_t>(
    0, std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - s.last_active)
         .count());
  return x;
}

// Answers a list request: the page in key order, after sampling the mailbox of each running
// entity on it (each probe ends by its answer or its timeout, so the reply always comes).
caf::result<entity_page> list_page(self_ptr self, const std::string& after, int32_t limit) {
  if (limit < 0 || limit > max_list_limit)
    return caf::make_error(mercato_errc::invalid_request,
                           "limit must be between 0 and " + std::to_string(max_list_limit));
  auto& st = self->state;
  std::vector<const std::string*> keys;
  for (const auto& [key, s] : st.slots)
    if (key > after)
      keys.push_back(&key);
  auto n = std::min(keys.size(), static_cast<size_t>(limit));
  auto by_key = [](const std::string* a, const std::string* b) { return *a < *b; };
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), keys.end(),
                    by_key);
  auto page = std::make_shared<entity_page>();
  page->more = keys.size() > n;
  page->total = st.slots.size();
  std::vector<std::pair<std::string, caf::actor>> running;
  for (size_t i = 0; i < n; ++i) {
    const auto& s = st.slots.at(*keys[i]);
    page->items.push_back(info_of(self, *keys[i], s));
    if (s.status == slot_status::running)
      running.emplace_back(*keys[i], s.child);
  }
  if (running.empty())
    return std::move(*page);
  auto rp = self->make_response_promise<entity_page>();
  auto left = std::make_shared<size_t>(running.size());
  for (auto& [key, child] : running) {
    probe(self, key, child, [self, rp, page, left]() mutable {
      if (--*left > 0)
        return;
      for (auto& item : page->items) {
        auto i = self->state.slots.find(item.key);
        if (i != self->state.slots.end())
          item = info_of(self, item.key, i->second);
      }
      rp.deliver(std::move(*page));
    });
  }
  return rp;
}

std::chrono::milliseconds sweep_interval(const region_settings& cfg) {
  auto d = cfg.passivate_after / 2;
  return std::clamp(d, std::chrono::milliseconds{20}, std::chrono::milliseconds{10000});
}

// The first message of an entity just started is a read: asked rather than delegated, so that
// a `not_found` (the key does not exist) stops the entity and remembers the key, unless a write
// came meanwhile. CAF 0.17 has no catch-all response handler: any other answer arrives as
// `unexpected_response`, holding it as its context.
void check_absence(self_ptr self, const std::string& key, slot& s, caf::message msg) {
  auto rp = self->make_response_promise();
  auto child = s.child;
  auto writes = s.writes;
  s.last_active = self->clock().now();
  self->request(child, caf::infinite, std::move(msg))
    .then([](atom::respawn) {},
          [self, rp, key, child, writes](caf::error& err) mutable {
            if (is_system_error(err, caf::sec::unexpected_response)) {
              rp.deliver(err.context());
              return;
            }
            rp.deliver(err);
            auto& st = self->state;
            auto i = st.slots.find(key);
            if (errc_of(err) != mercato_errc::not_found || i == st.slots.end()
                || i->second.child != child || i->second.writes != writes
                || i->second.status != slot_status::running)
              return;
            st.absent_answer = err;
            i->second.absent_on_stop = true;
            ask_to_passivate(self, key, i->second);
          });
}

// Delivers `msg` to entity `key`, spawning it on first use (`known_new`: without recovery).
void route(self_ptr self, const std::string& key, caf::message& msg, bool known_new) {
  auto& st = self->state;
  bool read = st.cfg.is_read && st.cfg.is_read(msg);
  if (auto a = st.absent.empty() ? st.absent.end() : st.absent.find(key); a != st.absent.end()) {
    bool fresh = self->clock().now() < a->second;
    if (fresh && read) {
      if (st.absent_hits)
        st.absent_hits->inc();
      auto rp = self->make_response_promise();
      rp.deliver(st.absent_answer);
      return;
    }
    // A write may create it: known empty, it starts without a query (its first append would
    // be fenced, and the entity recovered, had it come to exist elsewhere after all).
    known_new = known_new || fresh;
    st.absent.erase(a);
  }
  auto [i, added] = st.slots.try_emplace(key);
  auto& s = i->second;
  if (!read)
    ++s.writes;
  if (added) {
    start_child(self, key, s, known_new);
    if (read && !known_new) {
      check_absence(self, key, s, std::move(msg));
      return;
    }
  } else if (s.status == slot_status::storage_wait) {
    auto rp = self->make_response_promise();
    rp.deliver(storage_down(st, key));
    return;
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
}

// Answers a release with the shards that still have live entities (none: all drained), once
// every asked entity has stopped or refused to (or crashed), or when the limit passed.
void check_release(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto j = st.releases.find(id);
  if (j == st.releases.end())
    return;
  auto& job = j->second;
  std::set<int32_t> live;
  bool stopping = false;
  for (const auto& [key, s] : st.slots) {
    auto shard = cluster::shard_of(st.cfg.kind, key, job.shard_count);
    if (job.shards.count(shard) == 0)
      continue;
    live.insert(shard);
    stopping = stopping || s.status == slot_status::stopping;
  }
  if (!stopping || self->clock().now() >= job.deadline) {
    job.rp.deliver(std::vector<int32_t>(live.begin(), live.end()));
    st.releases.erase(j);
    return;
  }
  self->delayed_send(self, release_poll, atom::check_v, id);
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
    st.absent_hits
      = &metrics->get_counter("mercato_entity_absent_hits_total",
                              "Reads of keys known not to exist, answered without an entity", lbl);
    st.storage_waits = &metrics->get_counter(
      "mercato_entity_storage_waits_total",
      "Entities stopped by a storage failure, restarted without spending their budget", lbl);
    st.mailbox_depth = &metrics->get_gauge(
      "mercato_entity_mailbox_depth",
      "Messages waiting for live entities by kind (sampled; includes those held by the region)",
      lbl);
  }
  if (self->state.cfg.watch)
    self->monitor(self->state.cfg.watch);
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
      route(self, key, msg, false);
    },
    [self](atom::route_new, const std::string& key, caf::message& msg) {
      route(self, key, msg, true);
    },
    [self](atom::respawn, const std::string& key) {
      auto i = self->state.slots.find(key);
      if (i != self->state.slots.end()
          && (i->second.status == slot_status::backing_off
              || i->second.status == slot_status::storage_wait))
        start_child(self, key, i->second);
    },
    [self](atom::sweep) {
      auto& st = self->state;
      auto deadline = self->clock().now() - st.cfg.passivate_after;
      for (auto& [key, s] : st.slots)
        if (s.status == slot_status::running && s.last_active < deadline)
          ask_to_passivate(self, key, s);
      sample_mailboxes(self);
      self->delayed_send(self, sweep_interval(st.cfg), atom::sweep_v);
    },
    [self](atom::passivate, const std::string& key) -> caf::result<bool> {
      auto i = self->state.slots.find(key);
      if (i == self->state.slots.end())
        return caf::make_error(mercato_errc::not_found,
                               self->state.cfg.kind + " " + key + " is not live");
      auto& s = i->second;
      if (s.status == slot_status::stopping)
        return true;
      if (s.status != slot_status::running)
        return false;
      ask_to_passivate(self, key, s);
      return true;
    },
    [self](atom::list, const std::string& after, int32_t limit) -> caf::result<entity_page> {
      return list_page(self, after, limit);
    },
    [self](atom::release, const std::vector<int32_t>& shards, int32_t shard_count) {
      auto& st = self->state;
      forget_absent(st); // the shards may come back after another node created their keys
      release_job job;
      job.shards.insert(shards.begin(), shards.end());
      job.shard_count = shard_count;
      job.rp = self->make_response_promise();
      job.deadline = self->clock().now() + release_limit;
      for (auto& [key, s] : st.slots)
        if (s.status == slot_status::running
            && job.shards.count(cluster::shard_of(st.cfg.kind, key, shard_count)) > 0)
          ask_to_passivate(self, key, s);
      auto id = ++st.next_release;
      st.releases.emplace(id, std::move(job));
      // The passivation answers arrive first: the entities answer before they stop.
      self->delayed_send(self, release_poll, atom::check_v, id);
    },
    [self](atom::check, uint64_t id) { check_release(self, id); },
    [self](atom::inspect, const std::string& key) {
      auto rp = self->make_response_promise();
      auto i = self->state.slots.find(key);
      if (i == self->state.slots.end()) {
        rp.deliver(caf::make_error(mercato_errc::not_found,
                                   self->state.cfg.kind + " " + key + " is not live"));
        return;
      }
      if (!i->second.child) {
        rp.deliver(caf::make_error(mercato_errc::entity_unavailable,
                                   self->state.cfg.kind + " " + key + " is restarting"));
        return;
      }
      // Straight to the child, around the slot's queue and its activity clock: inspecting must
      // neither wait for nor delay anything the entity does.
      rp.delegate(i->second.child, atom::inspect_v);
    },
  };
}

} // namespace

void answer_mailbox_probes(caf::scheduled_actor* self) {
  self->set_default_handler(
    [](caf::scheduled_actor* ptr, caf::message_view& xs) -> caf::result<caf::message> {
      if (xs.content().match_elements<atom::mailbox>())
        return caf::make_message(static_cast<uint64_t>(ptr->mailbox().size()));
      return caf::print_and_drop(ptr, xs);
    });
}

caf::error recovery_failure(caf::error err) {
  if (is_system_error(err, caf::sec::request_timeout))
    return caf::make_error(mercato_errc::storage_unavailable, "recovery timed out");
  return err;
}

caf::actor spawn_region(caf::actor_system& sys, region_settings cfg, entity_spawner spawner,
                        metrics_registry* metrics) {
  return sys.spawn(region, std::move(cfg), std::move(spawner), metrics);
}

} // namespace mercato::runtime
