#pragma once

// What leaves Mercato of each event: the outbox (and so every webhook endpoint and a Debezium
// connector) carries only the members listed here per entity kind and event type. Everything
// else stays in the journal: shipping addresses, emails, customer ids of payments and coupon
// uses, provider references, partner data, idempotency keys. A kind that is not listed (carts,
// customer feeds) is never published. README's webhook section mirrors this table.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace mercato::pg {

/// The public form of an event of `kind` and `type` whose stored form is `stored`, or nothing
/// when such events are not published.
std::optional<nlohmann::json> published_form(const std::string& kind, const std::string& type,
                                             const nlohmann::json& stored);

/// True when events of `kind` are published at all.
bool is_published_kind(const std::string& kind);

} // namespace mercato::pg
