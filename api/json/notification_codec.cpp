#include "api/json/notification_codec.hpp"

#include "actors/protocol/notification_rules.hpp"
#include "api/json/fields.hpp"
#include "api/json/writer.hpp"

#include <algorithm>
#include <filesystem>

namespace mercato::api {

namespace jw = json;
using namespace detail;

namespace {

constexpr size_t max_email = 254;

bool is_email(std::string_view s) {
  auto at = s.find('@');
  if (at == 0 || at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos)
    return false;
  auto domain = s.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == 0 || dot == std::string_view::npos || domain.back() == '.')
    return false;
  // No spaces, controls, or characters that would break a mail header.
  return std::none_of(s.begin(), s.end(), [](unsigned char c) {
    return c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"'
           || c == '\\';
  });
}

bool is_e164(std::string_view s) {
  return s.size() >= 9 && s.size() <= 16 && s[0] == '+' && s[1] != '0'
         && std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "HH:MM" -> minutes after midnight.
bool parse_clock(const njson& v, int32_t& out) {
  if (!v.is_string())
    return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 5 || s[2] != ':')
    return false;
  for (int i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9')
      return false;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    return false;
  out = h * 60 + m;
  return true;
}

std::string clock_text(int32_t min) {
  std::string out(5, ':');
  out[0] = static_cast<char>('0' + min / 600);
  out[1] = static_cast<char>('0' + (min / 60) % 10);
  out[3] = static_cast<char>('0' + (min % 60) / 10);
  out[4] = static_cast<char>('0' + min % 10);
  return out;
}

// Reads {CHANNEL: bool, ...} into `out`; unknown channels and non-booleans are errors.
void read_channels(const njson& obj, const std::string& path, channel_set& out, validation& v) {
  if (!obj.is_object()) {
    v.add(path, "must be an object of channel names to booleans");
    return;
  }
  for (const auto& [name, value] : obj.items()) {
    notification_channel c;
    if (!parse_notification_channel(name, c)) {
      v.add(path + "." + name, "unknown channel; expected in_app, email, sms or push");
      continue;
    }
    if (!value.is_boolean()) {
      v.add(path + "." + name, "must be true or false");
      continue;
    }
    out.at(c) = value.get<bool>();
  }
}

void append_channels(std::string& out, const channel_set& c) {
  jw::object_writer w{out};
  w.field("in_app", c.in_app).field("email", c.email).field("sms", c.sms).field("push", c.push);
  w.close();
}

void append_record(std::string& out, const notification_record& x) {
  jw::object_writer w{out};
  w.field("id", x.id)
    .field("order_id", x.order_id)
    .field("kind", x.kind)
    .field("milestone", x.milestone)
    .field("channel", x.channel)
    .field("status", x.status)
    .field("priority", x.priority)
    .field("locale", x.locale)
    .field("subject", x.subject)
    .field("body", x.body)
    .field("attempts", static_cast<int64_t>(x.attempts));
  if (!x.last_error.empty())
    w.field("last_error", x.last_error);
  w.raw_key("template");
  {
    jw::object_writer t{out};
    t.field("id", x.template_id).field("version", static_cast<int64_t>(x.template_version));
    t.close();
  }
  w.time_field("created_at", x.created_at_ms).time_field("updated_at", x.updated_at_ms);
  if (x.delivered_at_ms > 0)
    w.time_field("delivered_at", x.delivered_at_ms);
  else
    w.null_field("delivered_at");
  w.close();
}

} // namespace

bool is_time_zone(std::string_view name) {
  if (name == "UTC")
    return true;
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/'
      || name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos)
    return false;
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
               || c == '/' || c == '_' || c == '-' || c == '+';
      }))
    return false;
  // The name was checked above to stay inside the tz database's directory.
  std::error_code ec;
  return std::filesystem::is_regular_file(
    std::filesystem::path{"/usr/share/zoneinfo"} / std::string{name}, ec);
}

validation parse_preferences(std::string_view body, std::string_view customer_id,
                             notification_preferences& out) {
  validation v;
  auto doc = parse_object(body, v);
  if (!doc)
    return v;
  out = notification_preferences{};
  out.customer_id = std::string{customer_id};
  auto ch = doc->find("channels");
  if (ch == doc->end() || ch->is_null())
    v.add("channels", "is required");
  else
    read_channels(*ch, "channels", out.channels, v);
  if (auto k = doc->find("kinds"); k != doc->end() && !k->is_null()) {
    if (!k->is_object()) {
      v.add("kinds", "must be an object of kinds to channel choices");
    } else {
      for (const auto& [kind, value] : k->items()) {
        if (!notify::is_kind(kind)) {
          v.add("kinds." + kind, "unknown kind of notification");
          continue;
        }
        kind_channels kc{kind, out.channels};
        read_channels(value, "kinds." + kind, kc.channels, v);
        out.kinds.push_back(std::move(kc));
      }
    }
  }
  if (get_string(*doc, "email", 0, max_email, charset::no_control, false, out.email, v)
      && !out.email.empty() && !is_email(out.email))
    v.add("email", "must be an email address");
  if (get_string(*doc, "phone", 0, 16, charset::no_control, false, out.phone, v)
      && !out.phone.empty() && !is_e164(out.phone))
    v.add("phone", "must be an E.164 number such as +84901234567");
  out.locale = std::string{notify::default_locale};
  if (get_string(*doc, "locale", 2, 2, charset::no_control, false, out.locale, v)
      && !notify::is_supported_locale(out.locale))
    v.add("locale", "must be en or vi");
  if (auto q = doc->find("quiet_hours"); q != doc->end() && !q->is_null()) {
    if (!q->is_object()) {
      v.add("quiet_hours", "must be an object {start, end, time_zone} or null");
    } else {
      out.quiet.enabled = true;
      auto start = q->find("start");
      if (start == q->end() || !parse_clock(*start, out.quiet.start_min))
        v.add("quiet_hours.start", "must be a time of day HH:MM");
      auto end = q->find("end");
      if (end == q->end() || !parse_clock(*end, out.quiet.end_min))
        v.add("quiet_hours.end", "must be a time of day HH:MM");
      if (v.ok() && out.quiet.start_min == out.quiet.end_min)
        v.add("quiet_hours.end", "must differ from start");
      auto tz = q->find("time_zone");
      if (tz == q->end() || !tz->is_string() || !is_time_zone(tz->get_ref<const std::string&>()))
        v.add("quiet_hours.time_zone", "must be an IANA time zone such as Asia/Ho_Chi_Minh");
      else
        out.quiet.time_zone = tz->get<std::string>();
    }
  }
  // A channel switched on without its address could never deliver: say so now.
  auto needs = [&](const channel_set& c, const std::string& path) {
    if (c.email && out.email.empty())
      v.add(path + ".email", "needs an email address (field email)");
    if (c.sms && out.phone.empty())
      v.add(path + ".sms", "needs a phone number (field phone)");
  };
  if (v.ok()) {
    needs(out.channels, "channels");
    for (const auto& k : out.kinds)
      needs(k.channels, "kinds." + k.kind);
  }
  return v;
}

std::string to_json(const notification_preferences& x) {
  std::string out;
  jw::object_writer w{out};
  w.field("customer_id", x.customer_id).raw_key("channels");
  append_channels(out, x.channels);
  w.raw_key("kinds");
  out.push_back('{');
  for (size_t i = 0; i < x.kinds.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    jw::append_string(out, x.kinds[i].kind);
    out.push_back(':');
    append_channels(out, x.kinds[i].channels);
  }
  out.push_back('}');
  w.field("email", x.email).field("phone", x.phone).field("locale", x.locale);
  if (x.quiet.enabled) {
    w.raw_key("quiet_hours");
    jw::object_writer q{out};
    q.field("start", clock_text(x.quiet.start_min))
      .field("end", clock_text(x.quiet.end_min))
      .field("time_zone", x.quiet.time_zone)
      .close();
  } else {
    w.null_field("quiet_hours");
  }
  w.field("version", x.version);
  if (x.updated_at_ms > 0)
    w.time_field("updated_at", x.updated_at_ms);
  else
    w.null_field("updated_at");
  w.close();
  return out;
}

std::string to_json(const notification_record& x) {
  std::string out;
  append_record(out, x);
  return out;
}

std::string to_json(const notification_page& x) {
  return jw::page(x.items, x.next_cursor, append_record);
}

validation parse_notification_query(std::string_view query, notification_query& out) {
  validation v;
  out.status.clear();
  out.cursor.clear();
  out.limit = limits::default_page;
  for_each_query_param(query, v, [&](const std::string& key, const std::string& value) {
    if (key == "status") {
      if (!is_notification_status(value))
        v.add("status", "must be pending, delivered, failed or dead");
      else
        out.status = value;
    } else if (key == "limit") {
      get_page_limit(value, out.limit, v);
    } else if (key == "cursor") {
      get_cursor(value, out.cursor, v);
    }
  });
  return v;
}

} // namespace mercato::api
