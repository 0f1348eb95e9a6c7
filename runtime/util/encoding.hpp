#pragma once

// Byte encodings every layer needs: base64url (RFC 4648 §5, no padding), lower-case hex, and
// percent-encoding of a URL path segment (RFC 3986 unreserved characters kept).

#include <string>
#include <string_view>

namespace mercato::util {

std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url into `out`; false for a character outside the alphabet, a length
/// no encoding has, or leftover bits that are not zero (only the canonical form is accepted).
bool base64url_decode(std::string_view text, std::string& out);

/// Lower-case hex of `bytes`, two characters per byte.
std::string hex_encode(std::string_view bytes);

/// Decodes hex (either case) into `out`; false for an odd length or a non-hex character.
bool hex_decode(std::string_view text, std::string& out);

/// A path segment with every byte outside A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex).
std::string percent_encode(std::string_view segment);

/// Decodes %XX escapes (and `+` as a space with `plus_is_space`, as in query strings); false
/// (and `out` unspecified) for a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

} // namespace mercato::util
