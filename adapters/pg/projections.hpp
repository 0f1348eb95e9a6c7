#pragma once

// Projections: read models kept from the journal by commit position (migrations 0009, 0010), as
// Akka Projections keep theirs. One runner actor per projection reads the journal rows of the
// kinds it needs after its stored offset and applies them in a transaction that also stores the
// new offset, so each event takes effect exactly once. The journal pings the runners after each
// commit; a slow poll finds rows that other nodes wrote.

#include "actors/protocol/interfaces.hpp"
#include "actors/protocol/notification_rules.hpp"
#include "config/settings.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mercato::pg {

/// What the journal tells a runner after each commit: new rows may be there.
using projection_wakeup_actor = caf::typed_actor<caf::reacts_to<atom::ping>>;

/// A projection runner.
using projection_actor = projection_wakeup_actor::extend<
  /// Answers true once the projection has applied every event committed before the request
  /// arrived, false when that took longer than `max_wait_ms`. For reads that must see the
  /// caller's own writes.
  caf::replies_to<atom::check, int64_t>::with<bool>>;

/// A runner the journal pings after a commit that holds events of one of `kinds`.
struct projection_wakeup {
  projection_wakeup_actor runner;
  std::vector<std::string> kinds;
};

/// The projections, by name: "orders", "payments", "checkouts_open", "customer_feed",
/// "daily_stats", "notifications" (the notification feeder, which plans deliveries rather than
/// keeping a read model), "stock_holds" (the open holds a new owner wakes).
std::vector<std::string> projection_names();

/// The entity kinds projection `name` reads (throws std::invalid_argument for an unknown name).
std::vector<std::string> projection_kinds(const std::string& name);

/// Spawns the detached runner of projection `name` (one connection). `metrics` may be null;
/// otherwise it keeps mercato_projection_lag_events (events of its kinds committed and not yet
/// applied, as of its last round), mercato_projection_delay_seconds (age of the oldest event of
/// each round, when applied) and mercato_projection_applied_total, labelled projection=name.
/// A read model with topics of its own (customer_feed) announces its new rows to `sink` (the
/// node's topic hub) after each round has committed; `sink` may be null.
projection_actor spawn_projection(caf::actor_system& sys, std::string url, const std::string& name,
                                  config::projection_settings cfg,
                                  runtime::metrics_registry* metrics, event_sink_actor sink = {});

/// Empties the tables of projection `name` and replays the whole journal into them in one
/// transaction; returns the events applied. Blocking; throws std::exception on failure.
size_t rebuild_projection(const std::string& url, const std::string& name);

/// Makes `zone` (IANA) the shop's time zone of the daily statistics (table stats_settings); when
/// it differs from the one they were counted in, rebuilds them on its days in the same
/// transaction. Returns "" or why not (a zone PostgreSQL does not know). Blocking; throws
/// std::exception when the database fails.
std::string use_stats_time_zone(const std::string& url, const std::string& zone);

/// Replaces the notification feeder's rules by the defaults with `overrides` applied
/// (notify::apply_rule_overrides syntax); the next batch uses them. Returns "" or what is wrong
/// (the rules in use are then unchanged).
std::string set_notification_rules(const std::string& overrides);

/// The rule of `kind` the feeder uses now (the default when the kind has none).
notify::rule notification_rule(const std::string& kind);

/// Thrown by catch_up_projection when transactions that stay open keep it from its target.
struct catch_up_timeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Applies projection `name` up to every event committed before the call. Blocking; throws
/// catch_up_timeout when in-flight transactions keep it from getting there within `timeout`,
/// another std::exception on failure.
void catch_up_projection(const std::string& url, const std::string& name,
                         std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// The first column of `sql`'s rows, read once projection `name` has every event committed before
/// the call (or, when open transactions keep it from that for 30 s, as far as it got, with a
/// warning): the lists a node wakes after a crash. Blocking; throws std::exception when the
/// database fails.
std::vector<std::string> caught_up_column(const std::string& url, const std::string& name,
                                          const std::string& sql);

} // namespace mercato::pg
