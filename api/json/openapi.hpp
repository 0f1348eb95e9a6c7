#pragma once

#include <string_view>

namespace mercato::api {

/// The OpenAPI 3.1 document served at `GET /openapi.json` (api/openapi.json, embedded at build
/// time).
std::string_view openapi_document() noexcept;

} // namespace mercato::api
