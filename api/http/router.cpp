#include "api/http/router.hpp"

#include "runtime/util/encoding.hpp"

#include <stdexcept>

namespace mercato::api {

namespace {

constexpr size_t max_segments = 16;

// Splits "/a/b/c" into {"a","b","c"}; false if `path` does not start with '/' or has too many
// segments. "/" is one empty segment, so it only matches the pattern "/".
bool split(std::string_view path, std::array<std::string_view, max_segments>& out, size_t& n) {
  n = 0;
  if (path.empty() || path.front() != '/')
    return false;
  path.remove_prefix(1);
  for (;;) {
    if (n == max_segments)
      return false;
    auto pos = path.find('/');
    if (pos == std::string_view::npos) {
      out[n++] = path;
      return true;
    }
    out[n++] = path.substr(0, pos);
    path.remove_prefix(pos + 1);
  }
}

} // namespace

void router::add(http_method method, std::string_view pattern, handler h,
                 std::chrono::milliseconds deadline) {
  if (method == http_method::other || method == http_method::head)
    throw std::invalid_argument("router: cannot register OTHER or HEAD (HEAD follows GET)");
  if (!h)
    throw std::invalid_argument("router: empty handler");
  // Same pattern: add the method to the existing entry.
  entry* existing = nullptr;
  for (auto& e : entries_)
    if (e.pattern == pattern)
      existing = &e;
  if (existing != nullptr) {
    auto& slot = existing->handlers[static_cast<size_t>(method)];
    if (slot)
      throw std::invalid_argument("router: duplicate route " + std::string{to_string(method)} + " "
                                  + std::string{pattern});
    slot = std::move(h);
    existing->deadlines[static_cast<size_t>(method)] = deadline;
  } else {
    auto& e = entries_.emplace_back();
    e.pattern = std::string{pattern};
    std::array<std::string_view, max_segments> segs;
    size_t n = 0;
    if (!split(e.pattern, segs, n)) {
      entries_.pop_back();
      throw std::invalid_argument("router: malformed pattern " + std::string{pattern});
    }
    for (size_t i = 0; i < n; ++i) {
      auto s = segs[i];
      if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
        auto name = s.substr(1, s.size() - 2);
        if (name.find_first_of("{}/") != std::string_view::npos) {
          entries_.pop_back();
          throw std::invalid_argument("router: malformed parameter in " + std::string{pattern});
        }
        e.segments.push_back({true, name});
      } else {
        if (s.find_first_of("{}") != std::string_view::npos) {
          entries_.pop_back();
          throw std::invalid_argument("router: malformed pattern " + std::string{pattern});
        }
        e.segments.push_back({false, s});
      }
    }
    // Reject a second pattern with the same shape: it could never be chosen.
    for (size_t j = 0; j + 1 < entries_.size(); ++j) {
      auto& other = entries_[j];
      if (other.segments.size() != e.segments.size())
        continue;
      bool same = true;
      for (size_t i = 0; i < e.segments.size() && same; ++i) {
        auto& a = e.segments[i];
        auto& b = other.segments[i];
        same = a.is_param == b.is_param && (a.is_param || a.text == b.text);
      }
      if (same) {
        std::string msg = "router: pattern " + std::string{pattern} + " shadows " + other.pattern;
        entries_.pop_back();
        throw std::invalid_argument(msg);
      }
    }
    e.handlers[static_cast<size_t>(method)] = std::move(h);
    e.deadlines[static_cast<size_t>(method)] = deadline;
  }
  for (auto& e : entries_) {
    e.allow.clear();
    for (size_t i = 0; i < http_method_count; ++i) {
      auto m = static_cast<http_method>(i);
      bool has = static_cast<bool>(e.handlers[i]);
      if (m == http_method::head)
        has = static_cast<bool>(e.handlers[static_cast<size_t>(http_method::get)]);
      if (!has)
        continue;
      if (!e.allow.empty())
        e.allow += ", ";
      e.allow += to_string(m);
    }
  }
}

router::match_result router::match(http_method method, std::string_view path,
                                   path_params& params) const {
  match_result res;
  res.pattern_id = entries_.size();
  params.clear();
  std::array<std::string_view, max_segments> segs;
  size_t n = 0;
  if (!split(path, segs, n))
    return res;
  const entry* best = nullptr;
  size_t best_id = 0;
  for (size_t id = 0; id < entries_.size(); ++id) {
    auto& e = entries_[id];
    if (e.segments.size() != n)
      continue;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      auto& s = e.segments[i];
      ok = s.is_param ? !segs[i].empty() : s.text == segs[i];
    }
    if (!ok)
      continue;
    if (best != nullptr) {
      // Prefer a literal at the first position where the two patterns differ.
      bool better = false;
      for (size_t i = 0; i < n; ++i) {
        if (best->segments[i].is_param != e.segments[i].is_param) {
          better = !e.segments[i].is_param;
          break;
        }
      }
      if (!better)
        continue;
    }
    best = &e;
    best_id = id;
  }
  if (best == nullptr)
    return res;
  res.pattern_id = best_id;
  res.pattern = best->pattern;
  auto idx = static_cast<size_t>(method == http_method::head ? http_method::get : method);
  if (method == http_method::other || !best->handlers[idx]) {
    res.result = outcome::method_not_allowed;
    res.allow = best->allow;
    return res;
  }
  for (size_t i = 0; i < n; ++i) {
    auto& s = best->segments[i];
    if (!s.is_param)
      continue;
    std::string value;
    if (!util::percent_decode(segs[i], value))
      value.assign(segs[i]); // kept raw: the handler's validation rejects the '%'
    params.push(s.text, std::move(value));
  }
  res.result = outcome::found;
  res.fn = &best->handlers[idx];
  res.deadline = best->deadlines[idx];
  if (method == http_method::options)
    res.allow = best->allow;
  return res;
}

std::vector<std::string_view> router::patterns() const {
  std::vector<std::string_view> out;
  out.reserve(entries_.size());
  for (auto& e : entries_)
    out.emplace_back(e.pattern);
  return out;
}

std::vector<std::pair<http_method, std::string_view>> router::routes() const {
  std::vector<std::pair<http_method, std::string_view>> out;
  for (auto& e : entries_)
    for (size_t i = 0; i < http_method_count; ++i)
      if (e.handlers[i])
        out.emplace_back(static_cast<http_method>(i), e.pattern);
  return out;
}

response unrouted_response(router::match_result&& m, http_method method,
                           std::string_view method_name, std::string_view path) {
  if (m.result == router::outcome::method_not_allowed) {
    if (method == http_method::options) {
      response res;
      res.status = 204;
      res.allow = std::move(m.allow);
      return res;
    }
    std::string detail = "method ";
    detail += method_name.substr(0, 32);
    detail += " is not allowed on ";
    detail += m.pattern;
    auto res = problem_response(405, "invalid_request", std::move(detail));
    res.allow = std::move(m.allow);
    return res;
  }
  std::string detail = "no route for ";
  detail += to_string(method);
  detail += ' ';
  detail += path.substr(0, 256);
  return problem_response(404, "not_found", std::move(detail));
}

} // namespace mercato::api
