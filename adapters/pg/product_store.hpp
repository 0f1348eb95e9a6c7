#pragma once

// The catalogue in PostgreSQL (table `products`).

#include "actors/protocol/interfaces.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace mercato::pg {

/// Spawns the product store port: `workers` detached workers (one connection each, at least
/// one) behind a round-robin router.
/// - put: upsert by SKU; a new product gets version 1 (`created` = true), a replaced one its
///   version + 1 and a new `updated_at`, keeping `created_at`. `invalid_request` for an empty
///   SKU or name, a negative price or a currency that is not three letters.
/// - get: `not_found` if absent.
/// - search: `q` (web search syntax: words, "phrases", -not, or) over name, SKU, description
///   and category, optional exact `category`, ordered by SKU; `limit` 1..100 (else
///   `invalid_request`); `cursor` is the opaque `next_cursor` of the previous page
///   (`invalid_request` if malformed); `next_cursor` is empty on the last page.
/// - ping: true when the database answers, else `storage_unavailable`.
product_store_actor spawn_product_store(caf::actor_system& sys, std::string url, int workers);

} // namespace mercato::pg
