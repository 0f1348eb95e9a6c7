#pragma once

// A deterministic actor system (CAF's test coordinator and virtual clock) with the in-memory
// journal and recovery of fake_store.hpp, for tests of one entity kind behind its shard region.
// The test spawns `region`; the fixture asks entities through it and stops everything at the end.

#include "runtime/metrics.hpp"
#include "runtime/shard_region.hpp"
#include "tests/support/fake_store.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mercato::test {

class entity_fixture : public ::testing::Test {
protected:
  entity_fixture() : db(std::make_shared<fake_db>()) {
    raw_journal = sys.spawn(fake_journal_impl, db);
    journal = caf::actor_cast<journal_actor>(raw_journal);
    recovery = sys.spawn(fake_recovery, db);
  }

  ~entity_fixture() override {
    caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(raw_journal, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(recovery, caf::exit_reason::user_shutdown);
    sched.run();
    sched.trigger_timeouts();
    sched.run();
  }

  /// Wall clock on the virtual clock: `epoch_ms` plus the virtual time elapsed.
  int64_t virtual_now_ms() const {
    return epoch_ms
           + std::chrono::duration_cast<std::chrono::milliseconds>(
               sched.clock().now().time_since_epoch())
               .count();
  }

  /// Sends a request to entity `id` behind `region`; the reply lands in the returned slot once
  /// the scheduler ran far enough (tests decide when). `answered(i)` tells whether the i-th
  /// request sent so far has its reply.
  template <class Result, class... Ts>
  std::shared_ptr<caf::expected<Result>> send(const std::string& id, Ts... xs) {
    return send_as<Result>(false, id, xs...);
  }

  /// `send`; with `as_new`, for an id the caller has just minted (`atom::route_new`).
  template <class Result, class... Ts>
  std::shared_ptr<caf::expected<Result>> send_as(bool as_new, const std::string& id, Ts... xs) {
    auto out = std::make_shared<caf::expected<Result>>(caf::sec::request_timeout);
    auto pending = std::make_shared<bool>(true);
    pendings.push_back(pending);
    sys.spawn([out, pending, region = region, id, as_new, xs...](caf::event_based_actor* self) {
      auto timeout = std::chrono::milliseconds{60000};
      (as_new ? runtime::request_new_entity(self, region, id, timeout, xs...)
              : runtime::request_entity(self, region, id, timeout, xs...))
        .then(
          [out, pending](Result r) {
            *out = std::move(r);
            *pending = false;
          },
          [out, pending](caf::error& e) {
            *out = std::move(e);
            *pending = false;
          });
    });
    return out;
  }

  /// Sends and runs the scheduler until nothing is left to do.
  template <class Result, class... Ts>
  caf::expected<Result> ask(const std::string& id, Ts... xs) {
    auto out = send<Result>(id, xs...);
    sched.run();
    return *out;
  }

  /// `ask` for an id the caller has just minted (`atom::route_new`).
  template <class Result, class... Ts>
  caf::expected<Result> ask_new(const std::string& id, Ts... xs) {
    auto out = send_as<Result>(true, id, xs...);
    sched.run();
    return *out;
  }

  bool answered(size_t i) const {
    return !*pendings.at(i);
  }

  static caf::actor_system_config& make_test_config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.add_message_types<caf::id_block::mercato>();
    return cfg;
  }

  int64_t epoch_ms = 1'700'000'000'000;
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{make_test_config(sys_cfg)};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<fake_db> db;
  caf::actor raw_journal;
  journal_actor journal;
  recovery_actor recovery;
  runtime::metrics_registry metrics;
  caf::actor region;
  std::vector<std::shared_ptr<bool>> pendings;
};

} // namespace mercato::test
