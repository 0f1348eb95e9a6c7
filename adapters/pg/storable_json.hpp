#pragma once

// Internal to adapters/pg: JSON text that PostgreSQL's jsonb accepts.

#include <caf/expected.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace mercato::pg {

/// `j` as text; `invalid_request` if it holds invalid UTF-8 or a NUL character (jsonb cannot
/// store \u0000), so that one bad request is refused alone instead of failing the group commit
/// it would have joined.
caf::expected<std::string> dump_storable(const nlohmann::json& j);

} // namespace mercato::pg
