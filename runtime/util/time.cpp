#include "runtime/util/time.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

namespace mercato::util {

namespace {

// Howard Hinnant's civil_from_days: days since 1970-01-01 -> (y, m, d), proleptic Gregorian.
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

void put2(char* p, unsigned v) noexcept {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
}

} // namespace

void append_rfc3339_ms(std::string& out, int64_t epoch_ms) {
  // Clamp to 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z.
  constexpr int64_t min_ms = -62167219200000LL;
  constexpr int64_t max_ms = 253402300799999LL;
  if (epoch_ms < min_ms)
    epoch_ms = min_ms;
  if (epoch_ms > max_ms)
    epoch_ms = max_ms;
  int64_t days = epoch_ms >= 0 ? epoch_ms / 86400000 : -((-epoch_ms + 86399999) / 86400000);
  int64_t rem = epoch_ms - days * 86400000; // 0 .. 86399999
  int64_t y = 0;
  unsigned mo = 0;
  unsigned d = 0;
  civil_from_days(days, y, mo, d);
  auto ms = static_cast<unsigned>(rem % 1000);
  auto secs = static_cast<unsigned>(rem / 1000);
  char buf[24]; // YYYY-MM-DDTHH:MM:SS.mmmZ
  auto yy = static_cast<unsigned>(y);
  put2(buf, yy / 100);
  put2(buf + 2, yy % 100);
  buf[4] = '-';
  put2(buf + 5, mo);
  buf[7] = '-';
  put2(buf + 8, d);
  buf[10] = 'T';
  put2(buf + 11, secs / 3600);
  buf[13] = ':';
  put2(buf + 14, secs / 60 % 60);
  buf[16] = ':';
  put2(buf + 17, secs % 60);
  buf[19] = '.';
  buf[20] = static_cast<char>('0' + ms / 100);
  put2(buf + 21, ms % 100);
  buf[23] = 'Z';
  out.append(buf, sizeof(buf));
}

std::string format_rfc3339_ms(int64_t epoch_ms) {
  std::string out;
  out.reserve(24);
  append_rfc3339_ms(out, epoch_ms);
  return out;
}

} // namespace mercato::util

namespace mercato::util {

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) noexcept {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

} // namespace

bool parse_rfc3339_ms(std::string_view s, int64_t& epoch_ms) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-'
      || !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h)
      || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return false;
  if (h > 23 || mi > 59 || sec > 60)
    return false;
  auto ymd = std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(mo)}
             / std::chrono::day{static_cast<unsigned>(d)};
  if (!ymd.ok())
    return false;
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 3)
        ms = ms * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start)
      return false;
    for (size_t n = pos - start; n < 3; ++n)
      ms *= 10;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':'
        || !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return false;
    offset_min = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size())
    return false;
  auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  epoch_ms = ((static_cast<int64_t>(days) * 24 + h) * 60 + mi - offset_min) * 60000
             + static_cast<int64_t>(std::min(sec, 59)) * 1000 + ms;
  return true;
}

std::string format_utc(int64_t epoch_s, const char* strftime_format) {
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  auto n = std::strftime(buf, sizeof buf, strftime_format, &tm);
  return std::string(buf, n);
}

} // namespace mercato::util
