#include "adapters/notify/smtp_email.hpp"

#include "runtime/util/encoding.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>

namespace mercato::channels {

namespace {

// Standard base64 (RFC 2045) from the utilities' base64url.
std::string base64(std::string_view bytes) {
  auto out = util::base64url_encode(bytes);
  std::replace(out.begin(), out.end(), '-', '+');
  std::replace(out.begin(), out.end(), '_', '/');
  while (out.size() % 4 != 0)
    out.push_back('=');
  return out;
}

// Header text: ASCII as is, anything else as one RFC 2047 encoded word.
std::string header_text(std::string_view s) {
  bool plain
    = std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
  return plain ? std::string{s} : "=?UTF-8?B?" + base64(s) + "?=";
}

// A header value must not break the header block: line breaks become spaces.
std::string one_line(std::string s) {
  std::replace_if(
    s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return s;
}

std::string rfc5322_date(int64_t now_ms) {
  std::time_t secs = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

struct upload {
  std::string text;
  size_t pos = 0;
};

size_t read_payload(char* dst, size_t size, size_t n, void* user) {
  auto* u = static_cast<upload*>(user);
  auto len = std::min(size * n, u->text.size() - u->pos);
  std::memcpy(dst, u->text.data() + u->pos, len);
  u->pos += len;
  return len;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

} // namespace

std::string format_email(const smtp_settings& s, const email_message& m, int64_t now_ms) {
  std::string body;
  // CRLF line ends, as SMTP requires; a lone LF in the text becomes one.
  for (size_t i = 0; i < m.body.size(); ++i) {
    if (m.body[i] == '\n' && (i == 0 || m.body[i - 1] != '\r'))
      body += '\r';
    body += m.body[i];
  }
  std::string out;
  out += "Date: " + rfc5322_date(now_ms) + "\r\n";
  out += "From: " + one_line(s.from) + "\r\n";
  out += "To: " + one_line(m.to) + "\r\n";
  out += "Message-ID: <" + one_line(m.idempotency_key) + "@" + s.message_id_domain + ">\r\n";
  out += "Subject: " + header_text(one_line(m.subject)) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n" + body + "\r\n";
  return out;
}

send_result send_email(const smtp_settings& s, const email_message& m) {
  global_init();
  send_result res;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    res.detail = "cannot create a libcurl handle";
    return res;
  }
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  upload up{format_email(s, m, now_ms)};
  std::string from = "<" + s.from + ">";
  std::string to = "<" + m.to + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, s.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &up);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); // worker threads: no SIGALRM for timeouts
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(s.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  if (!s.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, s.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, s.password.c_str());
  }
  auto rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  res.smtp_code = code;
  if (rc == CURLE_OK) {
    res.result = send_result::outcome::accepted;
  } else {
    res.detail = error[0] != '\0' ? error : curl_easy_strerror(rc);
    if (code > 0)
      res.detail = "SMTP " + std::to_string(code) + ": " + res.detail;
    res.permanent = code >= 500 && code < 600;
    // Cut off after the whole message went out, before the server's answer: it may have it.
    bool sent_all = up.pos == up.text.size();
    res.result
      = sent_all
            && (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING)
          ? send_result::outcome::unknown
          : send_result::outcome::refused;
  }
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  return res;
}

} // namespace mercato::channels
