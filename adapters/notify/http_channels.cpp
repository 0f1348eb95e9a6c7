#include "adapters/notify/http_channels.hpp"

#include "adapters/net/http_call.hpp"

#include <nlohmann/json.hpp>

namespace mercato::channels {

namespace {

send_result post(const http_provider_settings& s, const std::string& path,
                 const nlohmann::json& body, const std::string& idempotency_key) {
  send_result out;
  auto url = s.url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  auto req = net::json_post(url + path, body.dump(), s.api_key, idempotency_key);
  req.timeout = s.timeout;
  auto res = net::http_call(req);
  if (res.status >= 200 && res.status < 300) {
    out.result = send_result::outcome::accepted;
    return out;
  }
  if (res.status == 0) {
    // It may have been taken before the connection broke: repeated with the same key.
    out.result = send_result::outcome::unknown;
    out.detail = res.error;
    return out;
  }
  out.detail = "HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
  out.permanent = res.status < 500 && res.status != 408 && res.status != 429;
  return out;
}

} // namespace

send_result send_sms(const http_provider_settings& s, const text_message& m) {
  return post(s, "/v1/messages",
              {{"to", m.to}, {"body", m.body}, {"idempotency_key", m.idempotency_key}},
              m.idempotency_key);
}

send_result send_push(const http_provider_settings& s, const text_message& m) {
  return post(s, "/v1/push",
              {{"customer_id", m.customer_id},
               {"title", m.title},
               {"body", m.body},
               {"idempotency_key", m.idempotency_key}},
              m.idempotency_key);
}

} // namespace mercato::channels
