#pragma once

// Opaque page cursors: base64url (no padding) of the last key of a page. Shared by the stores
// (adapters/) and the API routes that page over live state.

#include <string>

namespace mercato::util {

/// The cursor of `key` (not empty).
std::string encode_cursor(const std::string& key);

/// The key of `cursor`; false if it is malformed or encodes nothing.
bool decode_cursor(const std::string& cursor, std::string& key);

} // namespace mercato::util
