#include "actors/protocol/notification.hpp"

#include <algorithm>

namespace mercato {

std::string to_string(notification_channel c) {
  switch (c) {
  case notification_channel::in_app:
    return "in_app";
  case notification_channel::email:
    return "email";
  case notification_channel::sms:
    return "sms";
  case notification_channel::push:
    return "push";
  }
  return "in_app";
}

bool parse_notification_channel(std::string_view name, notification_channel& out) {
  for (auto c : all_notification_channels)
    if (to_string(c) == name) {
      out = c;
      return true;
    }
  return false;
}

channel_set allowed_channels(const notification_preferences& p, std::string_view kind) {
  auto i = std::find_if(p.kinds.begin(), p.kinds.end(),
                        [kind](const kind_channels& k) { return k.kind == kind; });
  auto out = i != p.kinds.end() ? i->channels : p.channels;
  // A channel without an address cannot be used, whatever the switches say.
  if (p.email.empty())
    out.email = false;
  if (p.phone.empty())
    out.sms = false;
  return out;
}

bool is_notification_status(std::string_view status) {
  return status == "pending" || status == "delivered" || status == "failed" || status == "dead";
}

} // namespace mercato
