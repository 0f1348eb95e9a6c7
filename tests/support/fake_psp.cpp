#include "tests/support/fake_psp.hpp"

#include "tests/support/loopback_http_server.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>

namespace mercato::test {

namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

struct fake_psp::impl {
  struct payment {
    std::string id; // the PSP's id
    std::string status;
  };

  mutable std::mutex mtx;
  std::vector<call> log;
  std::string authorize_answer = "authorized";
  int failures = 0;
  std::map<std::string, payment> payments; // by payment_id
  std::unique_ptr<loopback_http_server> server;

  payment* find(const std::string& id) {
    if (auto i = payments.find(id); i != payments.end())
      return &i->second;
    for (auto& [key, p] : payments)
      if (p.id == id)
        return &p;
    return nullptr;
  }

  std::pair<http::status, std::string> handle(const http::request<http::string_body>& req) {
    std::lock_guard<std::mutex> guard{mtx};
    log.push_back({std::string{req.method_string()}, std::string{req.target()}, req.body(),
                   std::string{req[http::field::authorization]},
                   std::string{req["Idempotency-Key"]}});
    if (failures > 0) {
      --failures;
      return {http::status::internal_server_error, R"({"error":"injected"})"};
    }
    std::string target{req.target()};
    if (req.method() != http::verb::post)
      return {http::status::method_not_allowed, "{}"};
    if (target == "/v1/payments") {
      auto body = json::parse(req.body(), nullptr, false);
      if (body.is_discarded() || !body.contains("payment_id"))
        return {http::status::bad_request, R"({"error":"malformed"})"};
      auto key = std::string{req["Idempotency-Key"]};
      auto& p = payments[key];
      if (p.id.empty()) {
        p.id = "psp_" + key;
        p.status = authorize_answer;
      }
      json out{{"id", p.id}, {"status", p.status}};
      if (p.status == "declined")
        out["detail"] = "insufficient funds";
      return {http::status::ok, out.dump()};
    }
    const std::string prefix = "/v1/payments/";
    auto last = target.rfind('/');
    if (target.rfind(prefix, 0) != 0 || last <= prefix.size())
      return {http::status::not_found, "{}"};
    auto id = target.substr(prefix.size(), last - prefix.size());
    auto op = target.substr(last + 1);
    auto* p = find(id);
    if (p == nullptr)
      return {http::status::not_found, R"({"error":"no such payment"})"};
    auto move = [&](std::initializer_list<const char*> from, const char* to) {
      for (const char* f : from)
        if (p->status == f || p->status == to) {
          p->status = to;
          return std::pair{http::status::ok, json{{"status", to}}.dump()};
        }
      return std::pair{http::status::conflict, json{{"error", "payment is " + p->status}}.dump()};
    };
    if (op == "capture")
      return move({"authorized"}, "captured");
    if (op == "void")
      return move({"authorized", "pending"}, "voided");
    if (op == "refund")
      return move({"captured"}, "refunded");
    return {http::status::not_found, "{}"};
  }
};

fake_psp::fake_psp() : impl_(std::make_unique<impl>()) {
  impl_->server = std::make_unique<loopback_http_server>([this](const auto& req) {
    auto [status, body] = impl_->handle(req);
    return loopback_http_server::answer{status, "application/json", std::move(body), {}};
  });
}

fake_psp::~fake_psp() {
  impl_->server.reset(); // stops its thread before the state it serves goes
}

uint16_t fake_psp::port() const {
  return impl_->server->port();
}

std::string fake_psp::url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

void fake_psp::answer_authorizations_with(std::string status) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->authorize_answer = std::move(status);
}

void fake_psp::fail_next(int n) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failures = n;
}

void fake_psp::set_status(const std::string& payment_id, std::string status) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->payments[payment_id].status = std::move(status);
}

std::vector<fake_psp::call> fake_psp::calls() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->log;
}

size_t fake_psp::count(const std::string& suffix) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  size_t n = 0;
  for (const auto& c : impl_->log)
    if (c.target.size() >= suffix.size()
        && c.target.compare(c.target.size() - suffix.size(), suffix.size(), suffix) == 0)
      ++n;
  return n;
}

std::string fake_psp::status_of(const std::string& payment_id) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->payments.find(payment_id);
  return i == impl_->payments.end() ? "" : i->second.status;
}

} // namespace mercato::test
