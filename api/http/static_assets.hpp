#pragma once

// The pages the server serves itself (issue 19): the HTML of /track/{order_id} and /admin and the
// scripts and styles they load from /assets/, as built by Vite from api/web/ (README, "Pages").
// Free of Beast and CAF: the route file and the tests use it.
//
// The files are read once, when the router is built, and served from memory: a request never
// touches the file system, so no request path can reach a file the catalogue did not list, and
// no I/O thread ever waits for a disk.

#include "api/http/types.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mercato::api {

/// How long a browser may keep a file.
enum class cache_policy : uint8_t {
  /// Asset names carry a hash of their content: a changed file gets a new name, so the old one
  /// may be kept for a year without asking again.
  immutable,
  /// HTML names stay the same across builds: the browser asks every time (it then loads the
  /// new hashed assets the new HTML names).
  revalidate,
};

/// The Cache-Control value of `p`.
std::string_view cache_control(cache_policy p) noexcept;

/// The Content-Security-Policy of the pages: scripts, styles, images, fonts and API calls
/// (WebSocket included) from this origin only; no inline script or style element, no plugins,
/// no framing, no <base>, forms only to this origin.
std::string_view content_security_policy() noexcept;

/// The media type of a file by its extension (case-insensitive), with `charset=utf-8` for
/// text; "application/octet-stream" for an extension not listed. Points to static storage.
std::string_view content_type_of(std::string_view name) noexcept;

/// Whether `name` may be served as a file of a flat directory: 1 to 128 characters of
/// [A-Za-z0-9._-], not starting with '.', with no "..". Rejects every separator, encoded or
/// not (the router has already percent-decoded the segment), and hidden files.
bool is_safe_asset_name(std::string_view name) noexcept;

/// Whether an If-None-Match value names `etag`: `*`, or a comma-separated list of entity tags
/// (weak ones compare by their opaque part, RFC 9110 §13.1.2).
bool etag_matches(std::string_view if_none_match, std::string_view etag) noexcept;

/// One file held in memory.
struct static_file {
  std::string body;
  std::string_view content_type; ///< from content_type_of
  std::string etag;              ///< strong entity tag: "<first 32 hex digits of its SHA-256>"
};

/// The built pages: `<dir>/*.html` and the files of `<dir>/assets/`, each read once. Only
/// regular files whose names pass is_safe_asset_name are taken (symbolic links are not followed);
/// anything else is skipped.
class static_assets {
public:
  /// Largest total the catalogue reads; the rest is skipped (a wrong directory must not fill
  /// the server's memory).
  static constexpr size_t max_total_bytes = size_t{64} << 20;

  /// Reads `dir`. A missing or empty directory gives an empty catalogue.
  static static_assets load(const std::filesystem::path& dir);

  /// A page by its file name ("track.html"), or nullptr.
  const static_file* page(std::string_view name) const;

  /// A file of assets/ by its name, or nullptr (also for an unsafe name).
  const static_file* asset(std::string_view name) const;

  size_t page_count() const noexcept {
    return pages_.size();
  }
  size_t asset_count() const noexcept {
    return assets_.size();
  }

private:
  std::unordered_map<std::string, static_file> pages_;
  std::unordered_map<std::string, static_file> assets_;
};

/// A 200 response with `f`'s body and type, its ETag and Cache-Control, `X-Content-Type-Options:
/// nosniff`, and for HTML the Content-Security-Policy and `Referrer-Policy: no-referrer` (the
/// tracking page's token must never leave in a Referer); a bodiless 304 with the same headers
/// when `if_none_match` names its ETag (a revalidated page costs no body).
response file_response(const static_file& f, cache_policy p, std::string_view if_none_match = {});

} // namespace mercato::api
