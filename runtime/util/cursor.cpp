#include "runtime/util/cursor.hpp"

#include "runtime/util/encoding.hpp"

namespace mercato::util {

std::string encode_cursor(const std::string& key) {
  return base64url_encode(key);
}

bool decode_cursor(const std::string& cursor, std::string& key) {
  // A cursor never encodes an empty key.
  return base64url_decode(cursor, key) && !key.empty();
}

} // namespace mercato::util
