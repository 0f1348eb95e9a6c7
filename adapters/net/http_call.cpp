#include "adapters/net/http_call.hpp"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <string_view>

namespace mercato::net {

namespace {

struct sink {
  std::string body;
  std::size_t limit = 0;
  bool overflow = false;
  std::optional<std::chrono::seconds> retry_after;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  if (s->body.size() + size * n > s->limit) {
    s->overflow = true;
    return 0; // makes curl fail the transfer
  }
  s->body.append(data, size * n);
  return size * n;
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size())
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i])
      return false;
  return true;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  std::string_view line{data, size * n};
  constexpr std::string_view name = "retry-after:";
  if (iequals_prefix(line, name)) {
    auto v = line.substr(name.size());
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
      v.remove_prefix(1);
    int64_t secs = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc{} && end != v.data() && secs >= 0)
      s->retry_after = std::chrono::seconds{secs};
  }
  return size * n;
}

// This thread's handle, reset: its open connections (and TLS sessions and DNS answers) stay for
// the next call to the same host, so a sender calling one provider after another connects once,
// not once per message. Each handle is used by its own thread only.
CURL* thread_handle() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle{nullptr,
                                                                          curl_easy_cleanup};
  if (handle)
    curl_easy_reset(handle.get());
  else
    handle.reset(curl_easy_init());
  return handle.get();
}

} // namespace

http_call_request json_post(std::string url, std::string body, const std::string& bearer_key,
                            const std::string& idempotency_key) {
  http_call_request req;
  req.method = "POST";
  req.url = std::move(url);
  req.body = std::move(body);
  req.headers = {{"Content-Type", "application/json"},
                 {"Authorization", "Bearer " + bearer_key},
                 {"Idempotency-Key", idempotency_key}};
  req.max_body_bytes = 64 * 1024;
  return req;
}

http_call_result http_call(const http_call_request& req) {
  http_call_result out;
  auto* h = thread_handle();
  if (!h) {
    out.error = "curl_easy_init failed";
    return out;
  }
  struct curl_slist* list = nullptr;
  for (const auto& [k, v] : req.headers)
    list = curl_slist_append(list, (k + ": " + v).c_str());
  if (req.method == "POST") // the body at once, without a 100-continue round trip first
    list = curl_slist_append(list, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{list, curl_slist_free_all};
  sink s;
  s.limit = req.max_body_bytes;
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); // detached threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); // whatever curl can decode
  if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  auto rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    out.error = s.overflow ? "answer longer than " + std::to_string(req.max_body_bytes) + " bytes"
                           : std::string{curl_easy_strerror(rc)};
    return out;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  out.body = std::move(s.body);
  out.retry_after = s.retry_after;
  return out;
}

} // namespace mercato::net
