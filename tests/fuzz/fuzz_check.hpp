#pragma once

// What the fuzz targets share: a check that stops the run with a message (libFuzzer then writes
// the input as a crash reproducer), and the properties every answer must have.

#include "api/http/types.hpp"
#include "api/json/problem.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace mercato::fuzz {

/// Stops the run when `ok` is false. Active in every build type (unlike assert).
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

/// True if `text` is one JSON value in strict UTF-8 (what every client's parser expects).
inline bool is_json(std::string_view text) {
  return nlohmann::json::accept(text.begin(), text.end());
}

/// A refusal must be a client error with an API.md code, and render as a JSON problem.
inline void check_refusal(const api::response& res) {
  check(res.status >= 400 && res.status < 500, "a refusal answers 4xx");
  check(res.is_problem && !res.prob.code.empty(), "a refusal is a problem with a code");
  check(is_json(api::render_problem(res.prob, res.status, "fuzz")), "the problem renders as JSON");
}

} // namespace mercato::fuzz
