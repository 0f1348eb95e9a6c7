#pragma once

// An in-memory journal and recovery port for actor tests: same contract as adapters/pg
// (consecutive seqs per entity, stale_writer on a taken seq), plus switches to hold back or
// fail appends so that tests can observe what happens before and after durability.

#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace mercato::test {

struct fake_db {
  struct entity {
    std::vector<caf::message> events; // events[i] has seq i + 1
    caf::message snapshot;
    uint64_t snapshot_seq = 0;
  };
  std::map<std::pair<std::string, std::string>, entity> entities;
  bool hold_appends = false; ///< park appends until release_held()
  int fail_appends = 0;      ///< fail this many next appends with storage_unavailable
  size_t appends = 0;
  std::map<std::string, size_t> loads; ///< recovery queries, by entity kind
  int fail_loads = 0;                  ///< fail this many next loads with storage_unavailable
  std::vector<std::pair<persist_request, caf::response_promise>> held;

  caf::result<uint64_t> write(const persist_request& req) {
    auto& e = entities[{req.kind, req.entity_id}];
    if (req.first_seq != e.events.size() + 1)
      return caf::make_error(mercato_errc::stale_writer, "seq taken");
    e.events.insert(e.events.end(), req.events.begin(), req.events.end());
    if (!req.snapshot.empty()) {
      e.snapshot = req.snapshot;
      e.snapshot_seq = e.events.size();
    }
    ++appends;
    return static_cast<uint64_t>(e.events.size());
  }

  // Runs inside the fake journal (promises are delivered from their actor's context only).
  void release_held() {
    auto held_now = std::move(held);
    held.clear();
    for (auto& [req, rp] : held_now) {
      auto r = write(req);
      if (r.flag == caf::rt_value)
        rp.deliver(r.value.get_as<uint64_t>(0));
      else
        rp.deliver(r.err);
    }
  }

  size_t event_count(const std::string& kind, const std::string& id) {
    return entities[{kind, id}].events.size();
  }
};

/// Implements `journal_actor`; `atom::flush` (test only) writes and answers held appends.
inline caf::behavior fake_journal_impl(caf::event_based_actor* self, std::shared_ptr<fake_db> db) {
  return {
    [self, db](atom::append, const persist_request& req) -> caf::result<uint64_t> {
      if (db->fail_appends > 0) {
        --db->fail_appends;
        return caf::make_error(mercato_errc::storage_unavailable, "fake database down");
      }
      if (db->hold_appends) {
        db->held.emplace_back(req, self->make_response_promise());
        return caf::delegated<uint64_t>{};
      }
      return db->write(req);
    },
    [db](atom::flush) { db->release_held(); },
  };
}

inline recovery_actor::behavior_type fake_recovery(std::shared_ptr<fake_db> db) {
  return {
    [db](atom::load, const std::string& kind, const std::string& id) -> caf::result<recovery_data> {
      ++db->loads[kind];
      if (db->fail_loads > 0) {
        --db->fail_loads;
        return caf::make_error(mercato_errc::storage_unavailable, "fake database down");
      }
      recovery_data out;
      auto i = db->entities.find({kind, id});
      if (i == db->entities.end())
        return out;
      const auto& e = i->second;
      out.snapshot = e.snapshot;
      out.snapshot_seq = e.snapshot_seq;
      out.events.assign(e.events.begin() + static_cast<std::ptrdiff_t>(e.snapshot_seq),
                        e.events.end());
      out.last_seq = e.events.size();
      return out;
    },
    [db](atom::read, const std::string& kind, const std::string& id, uint64_t after,
         uint64_t limit) {
      recovery_data out;
      auto i = db->entities.find({kind, id});
      if (i == db->entities.end())
        return out;
      const auto& events = i->second.events;
      for (auto seq = after + 1; seq <= events.size() && seq <= after + limit; ++seq)
        out.events.push_back(events[seq - 1]);
      out.last_seq = events.size();
      return out;
    },
  };
}

} // namespace mercato::test
