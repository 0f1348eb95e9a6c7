#include "api/http/request_id.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

namespace mercato::api {

namespace {

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool all_zero(std::string_view s) noexcept {
  return s.find_first_not_of('0') == std::string_view::npos;
}

// xoshiro256** seeded from random_device: fast, good enough for ids (not for secrets).
struct id_generator {
  uint64_t s[4];

  id_generator() {
    std::random_device rd;
    auto mix = [](uint64_t& x) { // splitmix64
      uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      return z ^ (z >> 31);
    };
    uint64_t seed = (uint64_t{rd()} << 32) ^ rd();
    seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id());
    for (auto& x : s)
      x = mix(seed);
  }

  static uint64_t rotl(uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }

  uint64_t next() noexcept {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

} // namespace

bool is_valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_request_id_length)
    return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
              || c == '_' || c == ':' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::string new_request_id() {
  thread_local id_generator gen;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t v = gen.next();
    for (int i = 0; i < 16; ++i) {
      out[half * 16 + i] = digits[v & 0xF];
      v >>= 4;
    }
  }
  return out;
}

bool parse_traceparent(std::string_view value, trace_context& out) noexcept {
  // version "-" trace-id "-" parent-id "-" flags  =  2+1+32+1+16+1+2 = 55
  if (value.size() < 55)
    return false;
  auto version = value.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff")
    return false;
  if (version == "00" && value.size() != 55)
    return false;
  if (value.size() > 55 && value[55] != '-')
    return false;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-')
    return false;
  auto trace_id = value.substr(3, 32);
  auto parent_id = value.substr(36, 16);
  auto flags = value.substr(53, 2);
  if (!is_lower_hex(trace_id) || all_zero(trace_id) || !is_lower_hex(parent_id)
      || all_zero(parent_id) || !is_lower_hex(flags))
    return false;
  out = {version, trace_id, parent_id, flags};
  return true;
}

} // namespace mercato::api
