#pragma once

// Notification messages: a customer's preferences, and the deliveries (one per order, milestone
// and channel) that tell them of their orders. The rules that choose channels and render the
// text are pure functions in notification_rules.hpp.

#include <caf/meta/type_name.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercato {

/// The channels a notification may take, in the order they are tried when a rule lists all.
enum class notification_channel : uint8_t { in_app, email, sms, push };

inline constexpr std::array<notification_channel, 4> all_notification_channels{
  notification_channel::in_app, notification_channel::email, notification_channel::sms,
  notification_channel::push};

/// "in_app", "email", "sms", "push".
std::string to_string(notification_channel c);

/// Parses a channel name; false for an unknown one.
bool parse_notification_channel(std::string_view name, notification_channel& out);

/// Whether each channel is allowed.
struct channel_set {
  bool in_app = true;
  bool email = false;
  bool sms = false;
  bool push = false;

  bool allows(notification_channel c) const noexcept {
    return const_cast<channel_set&>(*this).at(c);
  }
  bool& at(notification_channel c) noexcept {
    switch (c) {
    case notification_channel::email:
      return email;
    case notification_channel::sms:
      return sms;
    case notification_channel::push:
      return push;
    default:
      return in_app;
    }
  }
  friend bool operator==(const channel_set&, const channel_set&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_set& x) {
  return f(caf::meta::type_name("channel_set"), x.in_app, x.email, x.sms, x.push);
}

/// The channels one kind of message may take, overriding the customer's general choice.
struct kind_channels {
  std::string kind; ///< a notification kind (is_notification_kind)
  channel_set channels;
  friend bool operator==(const kind_channels&, const kind_channels&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kind_channels& x) {
  return f(caf::meta::type_name("kind_channels"), x.kind, x.channels);
}

/// Hours in which only urgent messages go out; the rest waits until they end. Minutes after
/// local midnight in `time_zone` (an IANA name); start > end spans midnight.
struct quiet_hours {
  bool enabled = false;
  int32_t start_min = 0;
  int32_t end_min = 0;
  std::string time_zone = "UTC";
  friend bool operator==(const quiet_hours&, const quiet_hours&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quiet_hours& x) {
  return f(caf::meta::type_name("quiet_hours"), x.enabled, x.start_min, x.end_min, x.time_zone);
}

/// What a customer lets Mercato send them (PUT /v1/customers/{id}/preferences).
struct notification_preferences {
  std::string customer_id;
  channel_set channels;             ///< every kind, unless `kinds` names it
  std::vector<kind_channels> kinds; ///< per-kind overrides, each kind at most once
  std::string email;                ///< address for the email channel ("" = none)
  std::string phone;                ///< E.164 for SMS ("" = none)
  std::string locale = "en";        ///< en or vi; others fall back to en when rendered
  quiet_hours quiet;
  uint64_t version = 0;      ///< 0: never set (the defaults)
  int64_t updated_at_ms = 0; ///< 0: never set
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_preferences& x) {
  return f(caf::meta::type_name("notification_preferences"), x.customer_id, x.channels, x.kinds,
           x.email, x.phone, x.locale, x.quiet, x.version, x.updated_at_ms);
}

/// The channels `p` allows for messages of `kind`.
channel_set allowed_channels(const notification_preferences& p, std::string_view kind);

/// One delivery: a milestone of an order on one channel, once (its key is order, milestone and
/// channel). In-app deliveries are the customer's inbox.
struct notification_record {
  std::string id;
  std::string customer_id;
  std::string order_id;
  std::string kind;      ///< order_confirmed, ... (is_notification_kind)
  std::string milestone; ///< the kind, or for repeatable kinds what makes it unique
  std::string channel;   ///< in_app, email, sms, push
  std::string status;    ///< pending, delivered, failed, dead
  std::string priority;  ///< normal or urgent
  std::string locale;    ///< the locale the text was rendered in
  std::string template_id;
  int32_t template_version = 0;
  std::string subject;
  std::string body;
  int32_t attempts = 0;
  std::string last_error;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t delivered_at_ms = 0; ///< 0: not (yet) delivered
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_record& x) {
  return f(caf::meta::type_name("notification_record"), x.id, x.customer_id, x.order_id, x.kind,
           x.milestone, x.channel, x.status, x.priority, x.locale, x.template_id,
           x.template_version, x.subject, x.body, x.attempts, x.last_error, x.created_at_ms,
           x.updated_at_ms, x.delivered_at_ms);
}

/// A page of deliveries: one customer's (inbox and history) or, for admins, all of a status.
struct notification_query {
  std::string customer_id; ///< "" = every customer
  std::string status;      ///< "" = any; else pending, delivered, failed, dead
  int32_t limit = 50;
  std::string cursor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_query& x) {
  return f(caf::meta::type_name("notification_query"), x.customer_id, x.status, x.limit, x.cursor);
}

struct notification_page {
  std::vector<notification_record> items; ///< newest first
  std::string next_cursor;                ///< "" on the last page
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_page& x) {
  return f(caf::meta::type_name("notification_page"), x.items, x.next_cursor);
}

/// True for the delivery statuses: pending, delivered, failed, dead.
bool is_notification_status(std::string_view status);

} // namespace mercato
