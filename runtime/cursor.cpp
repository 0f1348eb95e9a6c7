#include "runtime/cursor.hpp"

#include <cstdint>
#include <cstring>

namespace mercato::runtime {

namespace {

constexpr const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

} // namespace

std::string encode_cursor(const std::string& sku) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : sku) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0)
    out += b64[(acc << (6 - bits)) & 0x3F];
  return out;
}

bool decode_cursor(const std::string& cursor, std::string& sku) {
  sku.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    const char* pos = c != '\0' ? std::strchr(b64, c) : nullptr;
    if (!pos)
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(pos - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      sku += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be padding zeros, and a cursor never encodes an empty SKU.
  return !sku.empty() && bits < 6 && (acc & ((1u << bits) - 1)) == 0;
}

} // namespace mercato::runtime
