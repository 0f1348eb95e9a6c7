#include "actors/protocol/errors.hpp"
#include "api/json/problem.hpp"

#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

using namespace mercato;
using namespace mercato::api;

namespace {

struct error_case {
  const char* label;
  caf::error err;
  uint16_t status;
  const char* code;
  uint32_t retry_after;
};

std::ostream& operator<<(std::ostream& os, const error_case& c) {
  return os << c.label;
}

class ErrorMapping : public ::testing::TestWithParam<error_case> {};

} // namespace

TEST_P(ErrorMapping, MapsToStatusAndCode) {
  const auto& c = GetParam();
  auto m = map_error(c.err);
  EXPECT_EQ(m.status, c.status);
  EXPECT_EQ(m.code, c.code);
  EXPECT_EQ(m.retry_after_s, c.retry_after);
  EXPECT_EQ(m.is_internal, c.status == 500);
  auto res = error_response(c.err, "rid-1");
  EXPECT_TRUE(res.is_problem);
  EXPECT_EQ(res.status, c.status);
  EXPECT_EQ(res.prob.code, c.code);
  EXPECT_EQ(res.retry_after_s, c.retry_after);
  EXPECT_EQ(res.content_type, "application/problem+json");
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Table, ErrorMapping, ::testing::Values(
  error_case{"invalid_request", caf::make_error(mercato_errc::invalid_request), 400, "invalid_request", 0},
  error_case{"not_found", caf::make_error(mercato_errc::not_found), 404, "not_found", 0},
  error_case{"conflict", caf::make_error(mercato_errc::conflict), 409, "conflict", 0},
  error_case{"insufficient_stock", caf::make_error(mercato_errc::insufficient_stock), 409, "insufficient_stock", 0},
  error_case{"storage_unavailable", caf::make_error(mercato_errc::storage_unavailable), 503, "unavailable", 1},
  error_case{"entity_unavailable", caf::make_error(mercato_errc::entity_unavailable), 503, "unavailable", 1},
  error_case{"stale_writer", caf::make_error(mercato_errc::stale_writer), 503, "unavailable", 1},
  error_case{"request_timeout", caf::make_error(caf::sec::request_timeout), 503, "unavailable", 1},
  error_case{"receiver_down", caf::make_error(caf::sec::request_receiver_down), 503, "unavailable", 1},
  error_case{"fault_injected", caf::make_error(mercato_errc::fault_injected), 500, "internal", 0},
  error_case{"runtime_error", caf::make_error(caf::sec::runtime_error), 500, "internal", 0},
  error_case{"unexpected_message", caf::make_error(caf::sec::unexpected_message), 500, "internal", 0},
  error_case{"exit_reason", caf::make_error(caf::exit_reason::user_shutdown), 500, "internal", 0},
  error_case{"empty", caf::error{}, 500, "internal", 0}
), [](const ::testing::TestParamInfo<error_case>& info) { return std::string{info.param.label}; });
// clang-format on

TEST(ErrorMappingDetail, CarriesTheDomainDetail) {
  auto m = map_error(caf::make_error(mercato_errc::insufficient_stock, std::string{"only 2 left"}));
  EXPECT_EQ(m.detail, "only 2 left");
}

TEST(ErrorMappingDetail, HidesInternalDetail) {
  auto m = map_error(caf::make_error(caf::sec::runtime_error, std::string{"secret stack"}));
  EXPECT_EQ(m.detail.find("secret"), std::string::npos);
}

TEST(Problem, RendersRfc9457Body) {
  problem p{"insufficient_stock", "only 2 left", {}};
  auto doc = nlohmann::json::parse(render_problem(p, 409, "req-7"));
  EXPECT_EQ(doc["type"], "https://mercato.dev/problems/insufficient_stock");
  EXPECT_EQ(doc["title"], "Insufficient stock");
  EXPECT_EQ(doc["status"], 409);
  EXPECT_EQ(doc["detail"], "only 2 left");
  EXPECT_EQ(doc["code"], "insufficient_stock");
  EXPECT_EQ(doc["request_id"], "req-7");
  EXPECT_FALSE(doc.contains("errors"));
}

TEST(Problem, RendersFieldErrors) {
  problem p{"invalid_request", "quantity: bad", {{"quantity", "bad"}, {"ttl_s", "worse \"x\""}}};
  auto doc = nlohmann::json::parse(render_problem(p, 400, "r"));
  ASSERT_EQ(doc["errors"].size(), 2u);
  EXPECT_EQ(doc["errors"][0]["field"], "quantity");
  EXPECT_EQ(doc["errors"][1]["message"], "worse \"x\"");
}

TEST(Problem, HasTitleForEveryApiCode) {
  for (auto code :
       {"invalid_request", "unauthorized", "forbidden", "not_found", "conflict",
        "insufficient_stock", "payment_declined", "cart_expired", "idempotency_mismatch",
        "rate_limited", "payload_too_large", "unavailable", "internal"})
    EXPECT_NE(problem_title(code), "Error") << code;
}
