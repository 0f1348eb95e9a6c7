// The http provider: a PSP behind a small REST contract (README, "Payments"), called over http or
// https through libcurl (net::http_call) from a provider worker, which keeps its connection to
// the PSP open between calls. Workers are detached actors, so blocking here (and sleeping between
// retries) holds up only the provider calls of that worker, never a payment entity.
//
//   POST {base}/v1/payments                      Idempotency-Key: <payment_id>
//        {payment_id, amount_minor, currency, token, customer_id}
//     -> 200 {id, status: "authorized"|"declined"|"pending", detail?}
//   POST {base}/v1/payments/{id}/capture|void|refund      (id: the PSP's id, else payment_id)
//     -> 200 {status}; 404 on void = never seen (nothing to void); 409 = refused for its state
//
// Every call carries `Authorization: Bearer <psp_api_key>` and `Idempotency-Key`; network
// errors, timeouts and 5xx are retried (3 attempts, 100 ms then 200 ms apart) and then fail with
// `storage_unavailable`; other answers are `conflict` with the PSP's text. A call that ends
// without an answer counts as a failure of the circuit breaker the workers share; while it is
// open, calls fail at once instead of each spending its timeouts and retries.

#include "actors/protocol/errors.hpp"
#include "adapters/net/http_call.hpp"
#include "adapters/payments/provider.hpp"
#include "config/settings.hpp"
#include "runtime/circuit_breaker.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/encoding.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

namespace mercato::payments {

namespace {

using json = nlohmann::json;

constexpr std::chrono::seconds request_timeout{10};
constexpr int attempts = 3;
constexpr std::chrono::milliseconds first_backoff{100};

// The PSP's base URL, without a trailing '/': every call's path goes under it.
struct endpoint {
  std::string base;
  std::string error;
};

endpoint parse_url(std::string url) {
  endpoint out;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    out.error = "payments.psp_url: expected http(s)://HOST[:PORT][/PATH] (" + url + ")";
    return out;
  }
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  out.base = std::move(url);
  return out;
}

struct answer {
  int status = 0; ///< 0: no answer (the error says why)
  std::string body;
  std::string error;
};

class http_provider : public provider {
public:
  http_provider(const config::payment_settings& cfg,
                std::shared_ptr<runtime::circuit_breaker> breaker)
      : where_(parse_url(cfg.psp_url)), api_key_(cfg.psp_api_key), breaker_(std::move(breaker)) {
    if (!where_.error.empty())
      runtime::logger("payments")->error("{}", where_.error);
  }

  caf::expected<provider_outcome> authorize(const payment_request& req) override {
    json body{{"payment_id", req.payment_id},
              {"amount_minor", req.amount_minor},
              {"currency", req.currency},
              {"token", req.token},
              {"customer_id", req.customer_id}};
    auto res = call("/v1/payments", body.dump(), req.payment_id, req.request_id);
    if (!res)
      return res.error();
    provider_outcome out;
    auto status = res->value("status", std::string{});
    if (!from_string(status, out.status)
        || (out.status != payment_status::authorized && out.status != payment_status::declined
            && out.status != payment_status::pending))
      return caf::make_error(mercato_errc::storage_unavailable,
                             "payment provider answered an unknown status: " + status);
    out.provider_ref = res->value("id", std::string{});
    out.detail = res->value("detail", std::string{});
    if (out.status == payment_status::declined && out.detail.empty())
      out.detail = "declined by the payment provider";
    return out;
  }

  caf::expected<provider_outcome> capture(const payment_view& p) override {
    return command(p, "capture", payment_status::captured);
  }

  caf::expected<provider_outcome> void_payment(const payment_view& p) override {
    return command(p, "void", payment_status::voided);
  }

  caf::expected<provider_outcome> refund(const payment_view& p) override {
    return command(p, "refund", payment_status::refunded);
  }

private:
  caf::expected<provider_outcome> command(const payment_view& p, const char* op,
                                          payment_status expect) {
    auto id = p.provider_ref.empty() ? p.payment_id : p.provider_ref;
    auto res = call("/v1/payments/" + util::percent_encode(id) + "/" + op, "{}", p.payment_id, "",
                    expect == payment_status::voided);
    if (!res)
      return res.error();
    return provider_outcome{expect, p.provider_ref, "", 0};
  }

  // POSTs `body` with retries; the parsed JSON answer of a 2xx (an empty object for a 404 when
  // `not_found_ok`).
  caf::expected<json> call(const std::string& path, const std::string& body,
                           const std::string& idempotency_key, const std::string& request_id,
                           bool not_found_ok = false) {
    if (!where_.error.empty())
      return caf::make_error(mercato_errc::storage_unavailable, where_.error);
    if (breaker_ && !breaker_->allow())
      return caf::make_error(mercato_errc::storage_unavailable,
                             "payment provider failing: calls fail fast for another "
                               + std::to_string((breaker_->retry_after().count() + 999) / 1000)
                               + " s");
    auto res = attempt_all(path, body, idempotency_key, request_id, not_found_ok);
    if (breaker_) {
      // Answered at all (2xx or a refusal) means reachable; only no answer or 5xx fails.
      if (res || errc_of(res.error()) == mercato_errc::conflict)
        breaker_->succeeded();
      else
        breaker_->failed();
    }
    return res;
  }

  caf::expected<json> attempt_all(const std::string& path, const std::string& body,
                                  const std::string& idempotency_key, const std::string& request_id,
                                  bool not_found_ok) {
    auto log = runtime::logger("payments");
    auto wait = first_backoff;
    answer last;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      last = post(path, body, idempotency_key, request_id);
      if (last.status >= 200 && last.status < 300) {
        auto parsed = json::parse(last.body, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object())
          return caf::make_error(mercato_errc::storage_unavailable,
                                 "payment provider answered malformed JSON on " + path);
        return parsed;
      }
      if (last.status == 404 && not_found_ok)
        return json::object();
      if (last.status >= 400 && last.status < 500)
        return caf::make_error(mercato_errc::conflict, "payment provider refused " + path + " ("
                                                         + std::to_string(last.status)
                                                         + "): " + last.body.substr(0, 200));
      auto why = last.status == 0 ? last.error : "HTTP " + std::to_string(last.status);
      log->warn("[{}] payment provider {} attempt {}/{} failed: {}", request_id, path, attempt,
                attempts, why);
      if (attempt < attempts) {
        std::this_thread::sleep_for(wait);
        wait *= 2;
      }
    }
    return caf::make_error(
      mercato_errc::storage_unavailable,
      "payment provider unavailable: "
        + (last.status == 0 ? last.error : "HTTP " + std::to_string(last.status)));
  }

  // One exchange, on the connection this worker keeps to the PSP when it has one.
  answer post(const std::string& path, const std::string& body, const std::string& idempotency_key,
              const std::string& request_id) {
    auto req = net::json_post(where_.base + path, body, api_key_, idempotency_key);
    if (!request_id.empty())
      req.headers.emplace_back("X-Request-ID", request_id);
    req.timeout = request_timeout;
    auto res = net::http_call(req);
    return answer{res.status, std::move(res.body), std::move(res.error)};
  }

  endpoint where_;
  std::string api_key_;
  std::shared_ptr<runtime::circuit_breaker> breaker_;
};

} // namespace

std::unique_ptr<provider> make_http_provider(const config::payment_settings& cfg,
                                             std::shared_ptr<runtime::circuit_breaker> breaker) {
  return std::make_unique<http_provider>(cfg, std::move(breaker));
}

} // namespace mercato::payments
