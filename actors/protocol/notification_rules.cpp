#include "actors/protocol/notification_rules.hpp"

#include "actors/protocol/commerce.hpp"

#include <algorithm>
#include <utility>

namespace mercato::notify {

namespace {

using ch = notification_channel;

struct kind_info {
  const char* kind;
  const char* status; // the order status the milestone is, or nullptr
  const char* label_en;
  const char* label_vi;
};

// Every kind once; the API.md milestones first, then cancellations and refunds.
constexpr kind_info kind_table[] = {
  {"order_confirmed", "confirmed", "Order confirmed", "Đơn hàng đã được xác nhận"},
  {"production_started", "in_production", "Production started", "Đã bắt đầu sản xuất"},
  {"production_completed", "produced", "Production completed", "Đã sản xuất xong"},
  {"handed_to_carrier", "shipped", "Handed to the carrier", "Đã giao cho đơn vị vận chuyển"},
  {"out_for_delivery", "out_for_delivery", "Out for delivery", "Đang giao hàng"},
  {"delivery_expected_soon", nullptr, "Delivery expected within 24 hours",
   "Dự kiến giao trong 24 giờ"},
  {"delivered", "delivered", "Delivered", "Đã giao hàng"},
  {"delay_warning", nullptr, "Delayed", "Đơn hàng bị chậm trễ"},
  {"delivery_failed", "delivery_failed", "Delivery failed", "Giao hàng không thành công"},
  {"order_cancelled", "cancelled", "Order cancelled", "Đơn hàng đã bị hủy"},
  {"refunded", "refunded", "Refunded", "Đã hoàn tiền"},
};

const kind_info* find_kind(std::string_view kind) {
  for (const auto& k : kind_table)
    if (kind == k.kind)
      return &k;
  return nullptr;
}

// The kind whose milestone is reaching `status`, or "".
std::string kind_of_status(std::string_view status) {
  for (const auto& k : kind_table)
    if (k.status != nullptr && status == k.status)
      return k.kind;
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto i = s.find(sep);
    out.push_back(trim(s.substr(0, i)));
    if (i == std::string_view::npos)
      return out;
    s.remove_prefix(i + 1);
  }
}

bool is_template_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

bool has_value(const std::map<std::string, std::string>& vars, const std::string& name) {
  auto i = vars.find(name);
  return i != vars.end() && !i->second.empty();
}

// Expands `text`; false (with `missing` set) when a required variable has no value.
bool expand(std::string_view text, const std::map<std::string, std::string>& vars, std::string& out,
            std::string& missing) {
  while (!text.empty()) {
    auto open = text.find("{{");
    if (open == std::string_view::npos) {
      out.append(text);
      return true;
    }
    out.append(text.substr(0, open));
    auto close = text.find("}}", open);
    if (close == std::string_view::npos) { // a stray "{{" is text
      out.append(text.substr(open));
      return true;
    }
    auto tag = text.substr(open + 2, close - open - 2);
    text.remove_prefix(close + 2);
    if (!tag.empty() && tag.front() == '?') {
      auto name = std::string{tag.substr(1)};
      auto end_tag = "{{/" + name + "}}";
      auto end = text.find(end_tag);
      auto inner = text.substr(0, end);
      text.remove_prefix(end == std::string_view::npos ? text.size() : end + end_tag.size());
      if (has_value(vars, name) && !expand(inner, vars, out, missing))
        return false;
      continue;
    }
    auto name = std::string{tag};
    if (!has_value(vars, name)) {
      missing = name;
      return false;
    }
    out.append(vars.at(name));
  }
  return true;
}

void add(template_table& t, const char* id, const char* locale, const char* subject,
         const char* body) {
  t[{id, locale}] = message_template{id, locale, 1, subject, body};
}

} // namespace

const std::vector<std::string>& kinds() {
  static const std::vector<std::string> out = [] {
    std::vector<std::string> v;
    for (const auto& k : kind_table)
      v.emplace_back(k.kind);
    return v;
  }();
  return out;
}

bool is_kind(std::string_view kind) {
  return find_kind(kind) != nullptr;
}

bool is_supported_locale(std::string_view locale) {
  return locale == "en" || locale == "vi";
}

milestone milestone_of(const order_change& c) {
  milestone m;
  if (c.type == "fact_recorded") {
    // Mercato's own entries may repeat per status or per ETA: their external id (already
    // prefixed with the type) says which.
    if (c.fact_type == "delay_warning" || c.fact_type == "delivery_expected_soon") {
      m.kind = c.fact_type;
      m.key = c.fact_id.empty() ? c.fact_type : c.fact_id;
      return m;
    }
    auto status = mercato::status_of_fact(c.fact_type);
    if (status.empty() || status != c.status_after)
      return m; // informational, or late: the order is past it
    m.kind = kind_of_status(status);
  } else if (c.type == "placed" || c.type == "status_changed" || c.type == "cancelled") {
    // A placement tells only once it is confirmed; a status change only when it took effect.
    const auto& status = c.type == "placed" ? c.status_after : c.status;
    if (status.empty() || status != c.status_after)
      return m;
    m.kind = kind_of_status(status);
  }
  m.key = m.kind;
  return m;
}

rule_table default_rules() {
  rule_table t;
  for (const auto& k : kind_table) {
    rule r;
    r.kind = k.kind;
    r.template_id = k.kind;
    r.channels = {ch::in_app, ch::email, ch::sms, ch::push};
    t[r.kind] = std::move(r);
  }
  // Where the customer must act or be at home, a text message reaches them sooner than email.
  for (const char* kind : {"out_for_delivery", "delivery_failed"})
    t[kind].channels = {ch::in_app, ch::sms, ch::push, ch::email};
  t["delivery_failed"].urgent = true;
  return t;
}

std::string apply_rule_overrides(rule_table& table, std::string_view text) {
  auto out = table;
  for (auto entry : split(text, ';')) {
    if (entry.empty())
      continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      return "expected KIND=CHANNELS in \"" + std::string{entry} + "\"";
    auto kind = trim(entry.substr(0, eq));
    if (!is_kind(kind))
      return "unknown kind \"" + std::string{kind} + "\"";
    auto rest = entry.substr(eq + 1);
    auto colon = rest.find(':');
    rule r;
    r.kind = std::string{kind};
    r.template_id = r.kind;
    for (auto name : split(rest.substr(0, colon), ',')) {
      notification_channel c;
      if (!parse_notification_channel(name, c))
        return "unknown channel \"" + std::string{name} + "\" for " + r.kind;
      if (std::find(r.channels.begin(), r.channels.end(), c) != r.channels.end())
        return "channel " + std::string{name} + " twice for " + r.kind;
      r.channels.push_back(c);
    }
    if (colon != std::string_view::npos)
      for (auto flag : split(rest.substr(colon + 1), ',')) {
        if (flag == "all")
          r.all = true;
        else if (flag == "urgent")
          r.urgent = true;
        else if (flag.substr(0, 9) == "template=" && is_template_id(flag.substr(9)))
          r.template_id = std::string{flag.substr(9)};
        else
          return "unknown flag \"" + std::string{flag} + "\" for " + r.kind;
      }
    out[r.kind] = std::move(r);
  }
  table = std::move(out);
  return {};
}

plan plan_deliveries(const rule& r, const notification_preferences& p) {
  plan out;
  auto allowed = allowed_channels(p, r.kind);
  bool primary = false;
  for (auto c : r.channels) {
    if (!allowed.allows(c))
      continue; // opted out, or no address: never receives anything
    if (c == ch::in_app || r.all || !primary) {
      out.now.push_back(c);
      primary = primary || c != ch::in_app;
    } else {
      out.fallbacks.push_back(c);
    }
  }
  return out;
}

template_table default_templates() {
  template_table t;
  add(t, "generic", "en", "Update on order {{order_id}}",
      "Your order {{order_id}} has an update: {{label}}.");
  add(t, "generic", "vi", "Cập nhật đơn hàng {{order_id}}",
      "Đơn hàng {{order_id}} của bạn có cập nhật mới: {{label}}.");
  add(t, "order_confirmed", "en", "Order {{order_id}} is confirmed",
      "Thank you! Your order {{order_id}}{{?total}} ({{total}}){{/total}} is confirmed.");
  add(t, "order_confirmed", "vi", "Đơn hàng {{order_id}} đã được xác nhận",
      "Cảm ơn bạn! Đơn hàng {{order_id}}{{?total}} ({{total}}){{/total}} đã được xác nhận.");
  add(t, "production_started", "en", "Order {{order_id}} is in production",
      "We have started making your order {{order_id}}.");
  add(t, "production_started", "vi", "Đơn hàng {{order_id}} đang được sản xuất",
      "Chúng tôi đã bắt đầu sản xuất đơn hàng {{order_id}} của bạn.");
  add(t, "production_completed", "en", "Order {{order_id}} is ready",
      "Your order {{order_id}} is made and will be shipped soon.");
  add(t, "production_completed", "vi", "Đơn hàng {{order_id}} đã sẵn sàng",
      "Đơn hàng {{order_id}} của bạn đã sản xuất xong và sẽ sớm được gửi đi.");
  add(t, "handed_to_carrier", "en", "Order {{order_id}} is on its way",
      "Your order {{order_id}} was handed to {{?carrier}}{{carrier}}{{/carrier}}"
      "{{?no_carrier}}the carrier{{/no_carrier}}."
      "{{?tracking_url}} Track it at {{tracking_url}}{{/tracking_url}}");
  add(t, "handed_to_carrier", "vi", "Đơn hàng {{order_id}} đang trên đường đến",
      "Đơn hàng {{order_id}} của bạn đã được giao cho {{?carrier}}{{carrier}}{{/carrier}}"
      "{{?no_carrier}}đơn vị vận chuyển{{/no_carrier}}."
      "{{?tracking_url}} Theo dõi tại {{tracking_url}}{{/tracking_url}}");
  add(t, "out_for_delivery", "en", "Order {{order_id}} is out for delivery",
      "Your order {{order_id}} is out for delivery today.");
  add(t, "out_for_delivery", "vi", "Đơn hàng {{order_id}} đang được giao",
      "Đơn hàng {{order_id}} của bạn đang được giao hôm nay.");
  add(t, "delivery_expected_soon", "en", "Order {{order_id}} arrives within 24 hours",
      "Your order {{order_id}} is expected by {{eta}}.");
  add(t, "delivery_expected_soon", "vi", "Đơn hàng {{order_id}} sẽ đến trong 24 giờ",
      "Đơn hàng {{order_id}} của bạn dự kiến đến trước {{eta}}.");
  add(t, "delivered", "en", "Order {{order_id}} was delivered",
      "Your order {{order_id}} was delivered. Enjoy!");
  add(t, "delivered", "vi", "Đơn hàng {{order_id}} đã được giao",
      "Đơn hàng {{order_id}} của bạn đã được giao thành công.");
  add(t, "delay_warning", "en", "Order {{order_id}} is delayed",
      "Your order {{order_id}} is taking longer than expected; we are on it."
      "{{?eta}} The current estimate is {{eta}}.{{/eta}}");
  add(t, "delay_warning", "vi", "Đơn hàng {{order_id}} bị chậm trễ",
      "Đơn hàng {{order_id}} của bạn đang chậm hơn dự kiến; chúng tôi đang xử lý."
      "{{?eta}} Thời gian dự kiến hiện tại là {{eta}}.{{/eta}}");
  add(t, "delivery_failed", "en", "Delivery of order {{order_id}} failed",
      "The carrier could not deliver your order {{order_id}}. We will contact you to arrange "
      "a new attempt.");
  add(t, "delivery_failed", "vi", "Giao đơn hàng {{order_id}} không thành công",
      "Đơn vị vận chuyển chưa giao được đơn hàng {{order_id}}. Chúng tôi sẽ liên hệ để sắp xếp "
      "giao lại.");
  add(t, "order_cancelled", "en", "Order {{order_id}} was cancelled",
      "Your order {{order_id}} was cancelled. Any payment is returned to you.");
  add(t, "order_cancelled", "vi", "Đơn hàng {{order_id}} đã bị hủy",
      "Đơn hàng {{order_id}} của bạn đã bị hủy. Khoản thanh toán sẽ được hoàn lại.");
  add(t, "refunded", "en", "Order {{order_id}} was refunded",
      "We refunded your order {{order_id}}{{?total}} ({{total}}){{/total}}.");
  add(t, "refunded", "vi", "Đơn hàng {{order_id}} đã được hoàn tiền",
      "Chúng tôi đã hoàn tiền đơn hàng {{order_id}}{{?total}} ({{total}}){{/total}}.");
  return t;
}

int64_t backoff_ms(const retry_policy& p, int32_t attempts, double random01) {
  auto d = std::max<int64_t>(p.backoff_min_ms, 0);
  for (int32_t i = 1; i < attempts && d < p.backoff_max_ms; ++i)
    d *= 2;
  d = std::min(d, p.backoff_max_ms);
  random01 = std::clamp(random01, 0.0, 1.0);
  return d / 2 + static_cast<int64_t>(static_cast<double>(d - d / 2) * random01);
}

failure_action after_failure(const retry_policy& p, int32_t attempts, bool permanent,
                             bool has_fallback) {
  if (!permanent && attempts < p.max_attempts)
    return failure_action::retry;
  return has_fallback ? failure_action::fallback : failure_action::dead;
}

std::string idempotency_key(std::string_view delivery_key) {
  // FNV-1a, twice with different offsets: 128 bits is plenty to keep apart the deliveries one
  // provider ever sees, and the key reveals nothing of the order it is about.
  auto fnv = [&](uint64_t h) {
    for (unsigned char c : delivery_key) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    return h;
  };
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "ntf-";
  for (uint64_t h : {fnv(14695981039346656037ULL), fnv(0x6c62272e07bb0142ULL)})
    for (int shift = 60; shift >= 0; shift -= 4)
      out.push_back(digits[(h >> shift) & 0xf]);
  return out;
}

std::string label_of(std::string_view kind, std::string_view locale) {
  const auto* k = find_kind(kind);
  if (k == nullptr)
    return std::string{kind};
  return locale == "vi" ? k->label_vi : k->label_en;
}

rendered render(const template_table& table, const std::string& id, const std::string& locale,
                const std::map<std::string, std::string>& vars) {
  rendered out;
  out.locale = locale;
  if (!is_supported_locale(locale)) {
    out.locale = std::string{default_locale};
    out.fallback = "locale " + locale + " has no templates; used " + out.locale;
  }
  auto all = vars;
  all["label"] = label_of(id, out.locale);
  // Lets a template say "the carrier" when the partner named none.
  if (!has_value(all, "carrier"))
    all["no_carrier"] = "1";
  auto try_render = [&](const std::string& tid, std::string& missing) {
    auto i = table.find({tid, out.locale});
    if (i == table.end() && out.locale != default_locale)
      i = table.find({tid, std::string{default_locale}});
    if (i == table.end()) {
      missing = "template " + tid;
      return false;
    }
    std::string subject, body, var;
    if (!expand(i->second.subject, all, subject, var) || !expand(i->second.body, all, body, var)) {
      missing = "variable " + var;
      return false;
    }
    if (i->second.locale != out.locale) {
      out.fallback
        = "template " + tid + " has no " + out.locale + " text; used " + i->second.locale;
      out.locale = i->second.locale;
    }
    out.subject = std::move(subject);
    out.body = std::move(body);
    out.template_id = tid;
    out.version = i->second.version;
    return true;
  };
  std::string missing;
  if (try_render(id, missing))
    return out;
  auto why = "missing " + missing;
  if (all.count("order_id") == 0 || all["order_id"].empty())
    all["order_id"] = "-";
  std::string ignored;
  if (!try_render("generic", ignored)) {
    // A table without generic text still gives a whole sentence.
    out.subject = all["label"];
    out.body = all["label"] + ": " + all["order_id"];
    out.template_id = "builtin";
    out.version = 0;
  }
  out.fallback = out.fallback.empty() ? why : out.fallback + "; " + why;
  return out;
}

} // namespace mercato::notify
