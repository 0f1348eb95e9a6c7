#include "tests/support/webhook_receiver.hpp"

#include "tests/support/loopback_http_server.hpp"

#include <boost/beast/http.hpp>

#include <mutex>

namespace mercato::test {

namespace beast = boost::beast;
namespace http = beast::http;

struct webhook_receiver::impl {
  mutable std::mutex mtx;
  std::vector<request> log;
  int failures = 0;
  bool fail_all = false;
  std::set<std::string> failing_ids;
  std::unique_ptr<loopback_http_server> server;

  http::status record(const http::request<http::string_body>& req) {
    std::lock_guard<std::mutex> guard{mtx};
    request r{std::string{req.target()}, std::string{req["X-Mercato-Event-Id"]},
              std::string{req["X-Signature"]}, req.body(), 200};
    if (failures > 0 || fail_all || failing_ids.count(r.event_id) > 0) {
      if (failures > 0)
        --failures;
      r.answered = 500;
    }
    log.push_back(r);
    return static_cast<http::status>(r.answered);
  }
};

webhook_receiver::webhook_receiver() : impl_(std::make_unique<impl>()) {
  impl_->server = std::make_unique<loopback_http_server>([this](const auto& req) {
    auto status = impl_->record(req);
    return loopback_http_server::answer{
      status, "text/plain", status == http::status::ok ? "ok" : "injected failure", {}};
  });
}

webhook_receiver::~webhook_receiver() {
  impl_->server.reset(); // stops its thread before the state it serves goes
}

std::string webhook_receiver::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->server->port()) + "/hook";
}

void webhook_receiver::fail_next(int n) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failures = n;
}

void webhook_receiver::fail_always(bool on) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->fail_all = on;
}

void webhook_receiver::fail_event(const std::string& id) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failing_ids.insert(id);
}

void webhook_receiver::clear_failures() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failures = 0;
  impl_->fail_all = false;
  impl_->failing_ids.clear();
}

std::vector<webhook_receiver::request> webhook_receiver::requests() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->log;
}

std::vector<webhook_receiver::request> webhook_receiver::deduped() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  std::vector<request> out;
  std::set<std::string> seen;
  for (const auto& r : impl_->log)
    if (r.answered == 200 && seen.insert(r.event_id).second)
      out.push_back(r);
  return out;
}

size_t webhook_receiver::delivered_count() const {
  return deduped().size();
}

} // namespace mercato::test
