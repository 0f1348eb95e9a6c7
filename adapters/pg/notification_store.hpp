#pragma once

// Notification preferences and deliveries in PostgreSQL (tables notification_preferences and
// notifications, migration 0013). The deliveries are written by the notification feeder
// (notifications_projection.cpp); this store reads them and answers the API.

#include "actors/protocol/interfaces.hpp"

#include <caf/actor_system.hpp>

#include <map>
#include <set>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace mercato::pg {

/// Spawns the notification store port: `workers` detached workers (one connection each).
/// - put: upserts the preferences (version + 1); `invalid_request` for an empty customer id or
///   text the database cannot store.
/// - get: the stored preferences, or the defaults (in-app only, version 0).
/// - list: newest first; `limit` 1..100, `status` "" or a delivery status, `cursor` as returned.
/// - retry: a failed or dead delivery back to pending, due now.
notification_store_actor spawn_notification_store(caf::actor_system& sys, std::string url,
                                                  int workers);

/// The preferences of `customer_id` as stored, or the defaults (version 0). Shared with the
/// feeder, which reads them in its own transaction.
notification_preferences load_preferences(pqxx::transaction_base& txn,
                                          const std::string& customer_id);

/// The same for several customers in one query: every one of `customer_ids` is in the answer.
std::map<std::string, notification_preferences>
load_preferences(pqxx::transaction_base& txn, const std::set<std::string>& customer_ids);

} // namespace mercato::pg
