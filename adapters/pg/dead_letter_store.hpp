#pragma once

// Dead letters in PostgreSQL (table `dead_letters`, migration 0003).

#include "actors/protocol/interfaces.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace mercato::pg {

/// Spawns the dead-letter store port: `workers` detached workers (one connection each, at least
/// one) behind a round-robin router.
/// - list: newest first (`dead_at`, then id), optionally of one `kind`; `limit` 1..500 (else
///   `invalid_request`); `cursor` is the opaque `next_cursor` of the previous page
///   (`invalid_request` if malformed); `next_cursor` is empty on the last page.
dead_letter_store_actor spawn_dead_letter_store(caf::actor_system& sys, std::string url,
                                                int workers);

} // namespace mercato::pg
