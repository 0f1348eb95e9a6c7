#include "runtime/util/text.hpp"

#include <cstdint>

namespace mercato::util {

size_t utf8_sequence_length(std::string_view s, size_t i) noexcept {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0)
    n = 1, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    n = 2, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    n = 3, cp = c & 0x07;
  else
    return 0;
  if (i + n >= s.size())
    return 0;
  for (size_t k = 1; k <= n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values beyond U+10FFFF are not UTF-8.
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
      || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return n + 1;
}

bool is_storable_text(std::string_view s) noexcept {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == 0)
      return false;
    auto n = utf8_sequence_length(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

} // namespace mercato::util
