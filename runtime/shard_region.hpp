#pragma once

// A shard region owns every live entity of one kind on this node: it spawns an entity on the
// first message for its key, routes by key, supervises (restart with backoff and a budget), and
// passivates idle entities. Callers only name a key, so a later cluster layer can route the same
// message to another node's region without touching the entities.

#include "actors/protocol/atoms.hpp"
#include "runtime/metrics.hpp"

#include <caf/actor.hpp>
#include <caf/duration.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace mercato::runtime {

/// Spawns the entity `key` as a child of `parent` (the region). `known_new`: the key was just
/// minted by this node (see `atom::route_new`), so the entity may start without reading the
/// journal; its first append (seq 1) still fails on the journal's fence if that was wrong.
using entity_spawner
  = std::function<caf::actor(caf::local_actor* parent, const std::string& key, bool known_new)>;

/// How a region treats its entities.
struct region_settings {
  std::string kind;                                  ///< "stock", "cart", ...
  std::chrono::milliseconds passivate_after{120000}; ///< idle time before asking to stop
  int restart_budget = 5;                            ///< restarts per window
  std::chrono::milliseconds restart_window{60000};
  std::chrono::milliseconds backoff_min{20};
  std::chrono::milliseconds backoff_max{5000};
  size_t max_buffered = 10000; ///< messages held per entity while it restarts or stops
  /// After a storage failure (the database, not the entity, failed): the delay before the
  /// entity is started again. Such restarts spend no restart budget; meanwhile its messages are
  /// refused at once with `storage_unavailable`.
  std::chrono::milliseconds storage_retry{500};
  /// Messages that only read and whose `not_found` answer means the entity does not exist
  /// (empty: none). An entity that answers such a message `not_found` when it has just started
  /// is stopped and its key remembered as absent, so that reading keys that do not exist costs
  /// neither an actor nor a query each.
  std::function<bool(const caf::message&)> is_read;
  size_t absent_max = 100000;                  ///< absent keys remembered at most
  std::chrono::milliseconds absent_ttl{60000}; ///< and for how long each
  /// A port the entities depend on (the journal), or none. The region monitors it and forwards
  /// its `down_msg` to every live entity, which fails what it waits for and restarts. Entities
  /// do not monitor it themselves: CAF 0.17 keeps a monitor in the monitored actor's list until
  /// that actor exits, so each entity ever started would stay allocated, and removing one on
  /// exit walks the whole list (O(live entities) under the port's lock, on every passivation).
  caf::actor watch;
};

/// Spawns a region. Messages:
/// - `(atom::route, std::string key, caf::message msg)`: delivers `msg` to the entity, which
///   answers the original sender. While the entity restarts, the message waits; over the
///   restart budget the sender gets `entity_unavailable`; while the entity waits for the database
///   after a storage failure, `storage_unavailable` at once. A read (`is_read`) of a key
///   remembered as absent is answered by the region itself, as the entity answered it.
/// - `(atom::route_new, std::string key, caf::message msg)`: the same, for a key the sender has
///   just minted (a checkout attempt's order and payment): an entity not live yet is spawned
///   `known_new`, without a recovery query. Restarts always recover.
/// - `(atom::passivate, std::string key)` -> bool: asks the entity to stop now (it may refuse,
///   e.g. a stock item with active holds); `false` while it restarts; `not_found` if not live.
/// - `(atom::list, std::string after_key, int32_t limit)` -> `entity_page`: the live entities
///   with keys after `after_key`, in key order, at most `limit` (0..1000, else
///   `invalid_request`; 0 only counts them). The mailbox depth of each listed running entity
///   is sampled first.
/// - `(atom::release, std::vector<int32_t> shards, int32_t shard_count)` ->
///   `std::vector<int32_t>`: asks every live entity whose key falls in `shards` to stop (each
///   refuses while an append is pending or it holds live timers) and answers, once each has
///   stopped or refused (at most 5 s), the shards that still have live entities: the others may
///   move. The cluster's handover: the router sends nothing to those shards meanwhile.
/// - `(atom::inspect, std::string key)` -> std::string: the entity's answer to `(atom::inspect)`.
///   Never spawns: `not_found` if the key is not live, `entity_unavailable` while it restarts.
///   Does not count as activity (inspecting does not delay passivation).
///
/// Mailbox depths are sampled by asking each entity (see `answer_mailbox_probes`): a region
/// cannot read another actor's mailbox safely (`fifo_inbox::size()` moves elements between its
/// internal queues, which only the owner may do). Each sweep samples a bounded batch of running
/// entities, so the family `mercato_entity_mailbox_depth{kind}` (the sum of the last samples
/// plus the messages the region holds back) stays cheap with many live entities.
caf::actor spawn_region(caf::actor_system& sys, region_settings cfg, entity_spawner spawner,
                        metrics_registry* metrics);

/// What an entity whose recovery failed stops with: a recovery that timed out waited for the
/// database, so the region treats it as the storage failure it is (see `storage_retry`).
caf::error recovery_failure(caf::error err);

/// Makes `self` answer the region's mailbox probe `(atom::mailbox)` with its own mailbox depth
/// (`uint64_t`), as a high-priority message, so the answer counts the normal messages waiting
/// behind it. Every entity calls this once when it starts; other unexpected messages are
/// dropped with `unexpected_message` as before.
void answer_mailbox_probes(caf::scheduled_actor* self);

/// The longest an entity sets its own timer for. CAF 0.17 cannot cancel a delayed message, and a
/// pending one holds its receiver: an entity that passivates stays allocated until its last
/// timer fires, however far off. A timer due later fires at this bound and is set again while
/// the entity runs; a passivated entity's checks are woken by the sweeps of its read model.
inline constexpr std::chrono::milliseconds max_entity_timer{60000};

/// Sends `xs...` to entity `key` behind `region` as a request of `self`. `timeout` may be
/// `caf::infinite` where the caller enforces its own deadline (the HTTP edge does): every finite
/// timeout is registered with, and wakes, CAF's clock thread.
/// `request_entity` for a key `self` has just minted (`atom::route_new`).
template <class Self, class Timeout, class... Ts>
auto request_new_entity(Self* self, const caf::actor& region, const std::string& key,
                        Timeout timeout, Ts&&... xs) {
  return self->request(region, timeout, atom::route_new_v, key,
                       caf::make_message(std::forward<Ts>(xs)...));
}

template <class Self, class Timeout, class... Ts>
auto request_entity(Self* self, const caf::actor& region, const std::string& key, Timeout timeout,
                    Ts&&... xs) {
  return self->request(region, timeout, atom::route_v, key,
                       caf::make_message(std::forward<Ts>(xs)...));
}

} // namespace mercato::runtime
