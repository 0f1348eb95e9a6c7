#include "adapters/marketplaces/importer.hpp"

#include "adapters/marketplaces/native.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/text.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace mercato::marketplaces {

namespace {

// The DOM builder of nlohmann, except that a number with a fraction or an exponent stays the
// text it was written as: Shopee sends money as JSON numbers, and a double cannot hold 0.1.
class exact_number_parser : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
public:
  using base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
  explicit exact_number_parser(nlohmann::json& root) : base(root, true) {}
  bool number_float(double, const std::string& text) {
    auto copy = text;
    return base::string(copy);
  }
};

bool is_plain_token(std::string_view s) {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
          || c == '-'))
      return false;
  return !s.empty();
}

// Integer or integer text, for ids and counts that platforms send either way.
bool integer_of(const nlohmann::json& v, int64_t& out) {
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 18)
      return false;
    int64_t x = 0;
    for (char c : s) {
      if (c < '0' || c > '9')
        return false;
      x = x * 10 + (c - '0');
    }
    out = x;
    return true;
  }
  return false;
}

const nlohmann::json* field(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return nullptr;
  return &*it;
}

} // namespace

nlohmann::json parse_exact(std::string_view text) {
  nlohmann::json root;
  exact_number_parser sax{root};
  nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  return root;
}

int minor_digits(std::string_view currency) {
  static constexpr std::array<std::string_view, 17> zero{"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                                         "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                                         "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::array<std::string_view, 7> three{"BHD", "IQD", "JOD", "KWD",
                                                         "LYD", "OMR", "TND"};
  for (auto c : zero)
    if (c == currency)
      return 0;
  for (auto c : three)
    if (c == currency)
      return 3;
  return 2;
}

bool parse_minor(std::string_view text, int digits, int64_t& out) {
  if (text.empty() || text.size() > 40)
    return false;
  int64_t units = 0;
  size_t i = 0;
  size_t int_digits = 0;
  auto push = [&units](char c) {
    return !__builtin_mul_overflow(units, 10, &units)
           && !__builtin_add_overflow(units, c - '0', &units);
  };
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++int_digits)
    if (!push(text[i]))
      return false;
  if (int_digits == 0)
    return false;
  int frac = 0;
  if (i < text.size()) {
    if (text[i] != '.' || i + 1 == text.size())
      return false;
    for (++i; i < text.size(); ++i) {
      char c = text[i];
      if (c < '0' || c > '9')
        return false;
      if (frac < digits) {
        if (!push(c))
          return false;
        ++frac;
      } else if (c != '0') {
        return false; // a fraction of a minor unit: not money
      }
    }
  }
  for (; frac < digits; ++frac)
    if (!push('0'))
      return false;
  out = units;
  return true;
}

std::string marketplace_order_id(sales_platform platform, std::string_view order_code) {
  auto name = to_string(platform);
  // A '.' never appears in a plain id, so a hashed id cannot equal a plain one.
  if (order_code.size() <= 48 && is_plain_token(order_code))
    return name + "-" + std::string{order_code};
  return name + ".h" + util::sha256_hex(order_code).substr(0, 32);
}

bool read_text(const nlohmann::json& obj, const char* key, std::string& out, mapping_error& err,
               bool required) {
  const auto* v = field(obj, key);
  if (v == nullptr) {
    if (required)
      err = invalid(std::string{key} + ": required");
    return !required;
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > 256 || !util::is_storable_text(s) || (required && s.empty())) {
      err = invalid(std::string{key} + ": must be 1 to 256 bytes of UTF-8 text");
      return false;
    }
    out = s;
    return true;
  }
  int64_t n = 0;
  if (v->is_number_integer() && integer_of(*v, n) && n >= 0) {
    out = std::to_string(n);
    return true;
  }
  err = invalid(std::string{key} + ": must be a string");
  return false;
}

bool read_money(const nlohmann::json& obj, const char* key, int digits, int64_t& out,
                mapping_error& err, bool required) {
  const auto* v = field(obj, key);
  out = 0;
  if (v == nullptr) {
    if (required)
      err = invalid(std::string{key} + ": required");
    return !required;
  }
  if (v->is_string() && v->get_ref<const std::string&>().empty() && !required)
    return true; // platforms send "" for a fee that does not apply
  std::string text;
  if (v->is_string())
    text = v->get_ref<const std::string&>();
  else if (v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0))
    text = v->dump();
  if (text.empty() || !parse_minor(text, digits, out)) {
    err = invalid(std::string{key} + ": must be a non-negative amount with at most "
                  + std::to_string(digits) + " decimals");
    return false;
  }
  return true;
}

bool read_unix_seconds(const nlohmann::json& obj, const char* key, int64_t& out_ms,
                       mapping_error& err, bool required) {
  const auto* v = field(obj, key);
  out_ms = 0;
  if (v == nullptr) {
    if (required)
      err = invalid(std::string{key} + ": required");
    return !required;
  }
  int64_t s = 0;
  // 0 is what platforms send for a time that has not happened yet.
  if (!integer_of(*v, s) || s < 0 || s > 253402300799) { // 9999-12-31T23:59:59Z
    err = invalid(std::string{key} + ": must be Unix seconds");
    return false;
  }
  if (s == 0 && required) {
    err = invalid(std::string{key} + ": required");
    return false;
  }
  out_ms = s * 1000;
  return true;
}

bool read_count(const nlohmann::json& obj, const char* key, int64_t& out, mapping_error& err) {
  const auto* v = field(obj, key);
  if (v == nullptr || !integer_of(*v, out) || out < 1 || out > 1000000) {
    err = invalid(std::string{key} + ": must be a count from 1 to 1000000");
    return false;
  }
  return true;
}

bool is_currency_code(std::string_view s) noexcept {
  return s.size() == 3
         && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

void add_line(std::vector<cart_line>& lines, const std::string& sku, const std::string& name,
              int64_t qty, int64_t unit_price) {
  for (auto& l : lines)
    if (l.sku == sku && l.unit_price_minor == unit_price) {
      l.quantity += qty;
      return;
    }
  lines.push_back(cart_line{sku, name, qty, unit_price});
}

bool add_money(int64_t& acc, int64_t x) {
  return !__builtin_add_overflow(acc, x, &acc);
}

bool mul_money(int64_t x, int64_t n, int64_t& out) {
  return !__builtin_mul_overflow(x, n, &out);
}

import_result import_orders(sales_platform platform, std::string_view body,
                            const import_options& opts) {
  import_result res;
  nlohmann::json doc;
  try {
    doc = parse_exact(body);
  } catch (const nlohmann::json::out_of_range&) {
    // The parser reads a number as a double before handing over its text: 1e400 stops it.
    res.error = "a number is out of range";
    return res;
  } catch (const nlohmann::json::exception&) {
    res.error = "malformed JSON";
    return res;
  }
  if (!doc.is_array() || doc.empty() || doc.size() > max_batch) {
    res.error = "must be an array of 1 to " + std::to_string(max_batch) + " orders";
    return res;
  }
  res.batch = map_records(platform, doc, opts);
  return res;
}

import_batch map_records(sales_platform platform, const nlohmann::json& records,
                         const import_options& opts) {
  import_batch res;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& rec = records[i];
    imported_order out;
    mapping_error err;
    if (!rec.is_object()) {
      err = invalid("record: must be an object");
    } else {
      switch (platform) {
      case sales_platform::tiktok:
        err = map_tiktok(rec, out);
        break;
      case sales_platform::shopee:
        err = map_shopee(rec, out);
        break;
      case sales_platform::lazada:
        err = map_lazada(rec, opts, out);
        break;
      case sales_platform::web:
        err = invalid("platform: web orders come from checkouts, not imports");
        break;
      }
    }
    if (err.ok()) {
      out.platform = platform;
      out.order_id = marketplace_order_id(platform, out.order_code);
      res.orders.push_back({i, std::move(out)});
    } else {
      res.rejected.push_back({i, std::move(err.code), std::move(err.detail)});
    }
  }
  return res;
}

} // namespace mercato::marketplaces
