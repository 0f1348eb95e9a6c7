#include "api/http/static_assets.hpp"

#include "runtime/util/crypto.hpp"

#include <array>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace mercato::api {

namespace fs = std::filesystem;

namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

bool is_html(std::string_view name) noexcept {
  auto dot = name.rfind('.');
  return dot != std::string_view::npos && iequals(name.substr(dot + 1), "html");
}

// Reads the regular files with safe names directly in `dir` that `want` accepts.
void read_files(const fs::path& dir, bool (*want)(std::string_view),
                std::unordered_map<std::string, static_file>& out, size_t& total) {
  std::error_code ec;
  fs::directory_iterator it{dir, ec};
  if (ec)
    return;
  for (; it != fs::directory_iterator{}; it.increment(ec)) {
    if (ec)
      return;
    auto name = it->path().filename().string();
    // symlink_status: a link is not followed, so nothing outside the directory comes in.
    if (!is_safe_asset_name(name) || !want(name) || !fs::is_regular_file(it->symlink_status()))
      continue;
    auto size = it->file_size(ec);
    if (ec || total + size > static_assets::max_total_bytes)
      continue;
    std::ifstream in{it->path(), std::ios::binary};
    if (!in)
      continue;
    static_file f;
    f.body.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
    f.content_type = content_type_of(name);
    f.etag = '"' + util::sha256_hex(f.body).substr(0, 32) + '"';
    total += f.body.size();
    out.emplace(std::move(name), std::move(f));
  }
}

} // namespace

std::string_view cache_control(cache_policy p) noexcept {
  switch (p) {
  case cache_policy::immutable:
    return "public, max-age=31536000, immutable";
  case cache_policy::revalidate:
    break;
  }
  return "no-cache";
}

std::string_view content_security_policy() noexcept {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
         "form-action 'self'; frame-ancestors 'none'";
}

std::string_view content_type_of(std::string_view name) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> types{{
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"webp", "image/webp"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
  }};
  auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    auto ext = name.substr(dot + 1);
    for (const auto& [e, type] : types)
      if (iequals(ext, e))
        return type;
  }
  return "application/octet-stream";
}

bool is_safe_asset_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128 || name.front() == '.')
    return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
              || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return name.find("..") == std::string_view::npos;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) noexcept {
  auto opaque = [](std::string_view t) {
    if (t.starts_with("W/"))
      t.remove_prefix(2);
    return t;
  };
  auto want = opaque(etag);
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto item = if_none_match.substr(0, comma);
    if_none_match.remove_prefix(comma == std::string_view::npos ? if_none_match.size() : comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (item == "*" || (!item.empty() && opaque(item) == want))
      return true;
  }
  return false;
}

static_assets static_assets::load(const fs::path& dir) {
  static_assets out;
  size_t total = 0;
  read_files(dir, is_html, out.pages_, total);
  read_files(
    dir / "assets", [](std::string_view) { return true; }, out.assets_, total);
  return out;
}

const static_file* static_assets::page(std::string_view name) const {
  auto it = pages_.find(std::string{name});
  return it == pages_.end() ? nullptr : &it->second;
}

const static_file* static_assets::asset(std::string_view name) const {
  if (!is_safe_asset_name(name))
    return nullptr;
  auto it = assets_.find(std::string{name});
  return it == assets_.end() ? nullptr : &it->second;
}

response file_response(const static_file& f, cache_policy p, std::string_view if_none_match) {
  response res;
  res.content_type = f.content_type;
  if (!f.etag.empty() && etag_matches(if_none_match, f.etag))
    res.status = 304;
  else
    res.body = f.body;
  if (!f.etag.empty())
    res.extra_headers = "ETag: " + f.etag + "\r\n";
  res.extra_headers += "Cache-Control: ";
  res.extra_headers += cache_control(p);
  res.extra_headers += "\r\nX-Content-Type-Options: nosniff\r\n";
  if (f.content_type.starts_with("text/html")) {
    res.extra_headers += "Content-Security-Policy: ";
    res.extra_headers += content_security_policy();
    res.extra_headers += "\r\nReferrer-Policy: no-referrer\r\n";
  }
  return res;
}

} // namespace mercato::api
