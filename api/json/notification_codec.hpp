#pragma once

// Notification preferences and deliveries <-> JSON (API.md "Notifications").

#include "actors/protocol/notification.hpp"
#include "api/json/codec.hpp"

#include <string>
#include <string_view>

namespace mercato::api {

/// PUT /v1/customers/{id}/preferences: {channels:{in_app?, email?, sms?, push?}, kinds?:{KIND:
/// {CHANNEL: bool}}, email?, phone?, locale?, quiet_hours?:{start:"HH:MM", end:"HH:MM",
/// time_zone}|null}. A channel left out of `channels` is off (in_app: on); a channel left out of
/// a kind's override takes the general choice. email and sms need their address.
validation parse_preferences(std::string_view body, std::string_view customer_id,
                             notification_preferences& out);

/// True for an IANA time zone name the system's tz database knows (or "UTC").
bool is_time_zone(std::string_view name);

/// {customer_id, channels, kinds, email, phone, locale, quiet_hours|null, version, updated_at}
std::string to_json(const notification_preferences& x);

/// {id, order_id, kind, milestone, channel, status, priority, locale, subject, body, attempts,
/// last_error?, template:{id, version}, created_at, updated_at, delivered_at|null}
std::string to_json(const notification_record& x);

/// {items:[...], next_cursor}
std::string to_json(const notification_page& x);

/// GET ...notifications?status=&limit=&cursor=
validation parse_notification_query(std::string_view query, notification_query& out);

} // namespace mercato::api
