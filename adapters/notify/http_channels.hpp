#pragma once

// SMS and mobile push over their providers' HTTP APIs (http or https, through libcurl): one
// message per call, blocking (for the detached workers of the channel port, each of which keeps
// its connection to the provider open between messages). Every call carries the delivery's
// idempotency key, the same on every attempt, so that a provider that dedupes by it never sends a
// repeat twice.
//
//   POST {sms_url}/v1/messages   Authorization: Bearer <key>   Idempotency-Key: <key>
//        {to, body, idempotency_key}                  (to: the phone number, E.164)
//   POST {push_url}/v1/push      Authorization: Bearer <key>   Idempotency-Key: <key>
//        {customer_id, title, body, idempotency_key}  (the provider knows the devices)
//     -> 2xx accepted; 408, 429 and 5xx: try again later; any other 4xx: refused for good

#include "adapters/notify/smtp_email.hpp"

#include <chrono>
#include <string>

namespace mercato::channels {

/// Where one provider is and how to call it.
struct http_provider_settings {
  std::string url;     ///< http(s)://HOST[:PORT][/PREFIX]
  std::string api_key; ///< sent as a bearer token
  std::chrono::milliseconds timeout{10000};
};

/// One message for a person: `to` is the phone number (SMS); push addresses `customer_id`.
struct text_message {
  std::string to;
  std::string customer_id;
  std::string title;
  std::string body;
  std::string idempotency_key;
};

/// Sends an SMS. Never throws.
send_result send_sms(const http_provider_settings& s, const text_message& m);

/// Sends a push notification. Never throws.
send_result send_push(const http_provider_settings& s, const text_message& m);

} // namespace mercato::channels
