#include "config/load.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace {

using mercato::config::load;
using mercato::config::load_result;
using env_map = std::map<std::string, std::string>;

// The two required settings, so that a test sees only the problems it provokes.
const env_map required{{"MERCATO_DATABASE_URL", "host=/tmp dbname=mercato"},
                       {"MERCATO_JWT_SECRET", "0123456789abcdef-0123456789abcdef-test"}};

env_map with_required(env_map extra) {
  extra.insert(required.begin(), required.end());
  return extra;
}

load_result run(std::vector<std::string> args, const env_map& env) {
  args.insert(args.begin(), "mercato");
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return load(static_cast<int>(args.size()), argv.data(), env);
}

// A config file in the test's temporary directory, removed when the test ends.
class temp_file {
public:
  explicit temp_file(const std::string& text) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = ::testing::TempDir() + "mercato_config_" + info->test_suite_name() + "_" + info->name()
            + ".json";
    std::ofstream out{path_, std::ios::binary | std::ios::trunc};
    out << text;
  }
  ~temp_file() {
    std::remove(path_.c_str());
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

// True if some error starts with `path` (errors name their setting first).
bool has_error_for(const load_result& r, const std::string& path) {
  for (const auto& e : r.errors)
    if (e.rfind(path + ":", 0) == 0)
      return true;
  return false;
}

std::string all_errors(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors)
    out += e + "\n";
  return out;
}

} // namespace

TEST(ConfigLoad, DefaultsMatchTheSettingsHeader) {
  auto r = run({}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.exit_early);
  const mercato::config::settings defaults;
  EXPECT_EQ(r.values.server.http_addr, defaults.server.http_addr);
  EXPECT_EQ(r.values.server.io_threads, defaults.server.io_threads);
  EXPECT_EQ(r.values.server.max_body_bytes, defaults.server.max_body_bytes);
  EXPECT_EQ(r.values.server.read_timeout_ms, defaults.server.read_timeout_ms);
  EXPECT_EQ(r.values.server.port_file, "");
  EXPECT_EQ(r.values.db.readers, defaults.db.readers);
  EXPECT_TRUE(r.values.db.migrate);
  EXPECT_EQ(r.values.journal.batch_max, defaults.journal.batch_max);
  EXPECT_EQ(r.values.journal.batch_delay_us, defaults.journal.batch_delay_us);
  EXPECT_EQ(r.values.journal.snapshot_every, defaults.journal.snapshot_every);
  EXPECT_EQ(r.values.entity.passivate_after_ms, defaults.entity.passivate_after_ms);
  EXPECT_EQ(r.values.entity.default_hold_ttl_ms, defaults.entity.default_hold_ttl_ms);
  EXPECT_EQ(r.values.entity.max_hold_ttl_ms, defaults.entity.max_hold_ttl_ms);
  EXPECT_EQ(r.values.log.level, "info");
  EXPECT_EQ(r.values.log.format, "json");
  EXPECT_EQ(r.values.actors.scheduler_threads, 0);
  EXPECT_FALSE(r.values.testing.fault_injection);
}

TEST(ConfigLoad, DefaultsPassValidation) {
  // Every default except the two required secrets must be valid on its own.
  auto r = run({}, {});
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "db.url")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "auth.jwt_secret")) << all_errors(r);
}

TEST(ConfigLoad, EnvironmentSetsRequiredValues) {
  auto r = run({}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.db.url, "host=/tmp dbname=mercato");
  EXPECT_EQ(r.values.auth.jwt_secret, "0123456789abcdef-0123456789abcdef-test");
}

TEST(ConfigLoad, FileOverridesDefaults) {
  temp_file file{R"({
    // comments are allowed
    "server": {"http_addr": "0.0.0.0:9000", "io_threads": 4, "read_timeout_ms": 1000},
    "db": {"readers": 3, "migrate": false},
    "journal": {"batch_max": 64},
    "entity": {"backoff_min_ms": 10, "backoff_max_ms": 100},
    "log": {"level": "debug", "format": "text"},
    "actors": {"scheduler_threads": 8},
    "testing": {"fault_injection": true}
  })"};
  auto r = run({"--config", file.path()}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.server.http_addr, "0.0.0.0:9000");
  EXPECT_EQ(r.values.server.io_threads, 4);
  EXPECT_EQ(r.values.server.read_timeout_ms, 1000);
  EXPECT_EQ(r.values.db.readers, 3);
  EXPECT_FALSE(r.values.db.migrate);
  EXPECT_EQ(r.values.journal.batch_max, 64);
  EXPECT_EQ(r.values.entity.backoff_min_ms, 10);
  EXPECT_EQ(r.values.entity.backoff_max_ms, 100);
  EXPECT_EQ(r.values.log.level, "debug");
  EXPECT_EQ(r.values.log.format, "text");
  EXPECT_EQ(r.values.actors.scheduler_threads, 8);
  EXPECT_TRUE(r.values.testing.fault_injection);
}

TEST(ConfigLoad, EnvironmentOverridesFile) {
  temp_file file{R"({"journal": {"batch_max": 10}, "db": {"url": "from-file"}})"};
  auto r = run({"--config", file.path()}, with_required({{"MERCATO_JOURNAL_BATCH_MAX", "20"}}));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.journal.batch_max, 20);
  EXPECT_EQ(r.values.db.url, "host=/tmp dbname=mercato");
}

TEST(ConfigLoad, FlagOverridesEnvironmentAndFile) {
  temp_file file{R"({"journal": {"batch_max": 10}, "server": {"http_addr": "127.0.0.1:1"}})"};
  auto r = run(
    {"--config", file.path(), "--journal-batch-max", "30", "--http-addr=[::1]:0"},
    with_required({{"MERCATO_JOURNAL_BATCH_MAX", "20"}, {"MERCATO_HTTP_ADDR", "127.0.0.1:2"}}));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.journal.batch_max, 30);
  EXPECT_EQ(r.values.server.http_addr, "[::1]:0");
}

TEST(ConfigLoad, FileKeepsValuesNotOverridden) {
  temp_file file{R"({"journal": {"batch_max": 10, "snapshot_every": 7}})"};
  auto r = run({"--config", file.path(), "--journal-batch-max", "30"}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.journal.batch_max, 30);
  EXPECT_EQ(r.values.journal.snapshot_every, 7);
}

TEST(ConfigLoad, EveryDocumentedVariableIsRead) {
  auto r = run({}, {{"MERCATO_DATABASE_URL", "postgresql:///mercato"},
                    {"MERCATO_HTTP_ADDR", "localhost:0"},
                    {"MERCATO_JWT_SECRET", "a-very-long-secret-value-0123456789"},
                    {"MERCATO_LOG_LEVEL", "warn"},
                    {"MERCATO_LOG_FORMAT", "text"},
                    {"MERCATO_PASSIVATE_AFTER_MS", "500"},
                    {"MERCATO_HOLD_TTL_MS", "60000"},
                    {"MERCATO_JOURNAL_BATCH_MAX", "16"},
                    {"MERCATO_JOURNAL_BATCH_DELAY_US", "250"},
                    {"MERCATO_SNAPSHOT_EVERY", "50"},
                    {"MERCATO_IO_THREADS", "2"},
                    {"MERCATO_SCHEDULER_THREADS", "3"},
                    {"MERCATO_FAULT_INJECTION", "1"},
                    {"MERCATO_PORT_FILE", "/tmp/port"},
                    {"MERCATO_MAX_BODY_BYTES", "4096"}});
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& v = r.values;
  EXPECT_EQ(v.db.url, "postgresql:///mercato");
  EXPECT_EQ(v.server.http_addr, "localhost:0");
  EXPECT_EQ(v.auth.jwt_secret, "a-very-long-secret-value-0123456789");
  EXPECT_EQ(v.log.level, "warn");
  EXPECT_EQ(v.log.format, "text");
  EXPECT_EQ(v.entity.passivate_after_ms, 500);
  EXPECT_EQ(v.entity.default_hold_ttl_ms, 60000);
  EXPECT_EQ(v.journal.batch_max, 16);
  EXPECT_EQ(v.journal.batch_delay_us, 250);
  EXPECT_EQ(v.journal.snapshot_every, 50);
  EXPECT_EQ(v.server.io_threads, 2);
  EXPECT_EQ(v.actors.scheduler_threads, 3);
  EXPECT_TRUE(v.testing.fault_injection);
  EXPECT_EQ(v.server.port_file, "/tmp/port");
  EXPECT_EQ(v.server.max_body_bytes, 4096);
}

TEST(ConfigLoad, EveryDocumentedFlagIsRead) {
  auto r = run({"--http-addr",
                "127.0.0.1:0",
                "--database-url",
                "dbname=x",
                "--jwt-secret",
                "flag-secret-0123456789-0123456789",
                "--port-file",
                "/tmp/p",
                "--log-level",
                "trace",
                "--log-format",
                "text",
                "--passivate-after-ms",
                "5",
                "--hold-ttl-ms",
                "2000",
                "--max-hold-ttl-ms",
                "3000",
                "--journal-batch-max",
                "7",
                "--journal-batch-delay-us",
                "9",
                "--snapshot-every",
                "11",
                "--io-threads",
                "3",
                "--scheduler-threads",
                "4",
                "--db-readers",
                "5",
                "--max-body-bytes",
                "2048",
                "--request-timeout-ms",
                "700",
                "--restart-budget",
                "2",
                "--payment-timeout-ms",
                "300",
                "--checkout-step-timeout-ms",
                "100",
                "--compensation-attempts",
                "4",
                "--compensation-backoff-ms",
                "50",
                "--fault-injection",
                "--settle-delay-ms",
                "60",
                "--no-migrate"},
               {});
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& v = r.values;
  EXPECT_EQ(v.server.http_addr, "127.0.0.1:0");
  EXPECT_EQ(v.db.url, "dbname=x");
  EXPECT_EQ(v.auth.jwt_secret, "flag-secret-0123456789-0123456789");
  EXPECT_EQ(v.server.port_file, "/tmp/p");
  EXPECT_EQ(v.log.level, "trace");
  EXPECT_EQ(v.log.format, "text");
  EXPECT_EQ(v.entity.passivate_after_ms, 5);
  EXPECT_EQ(v.entity.default_hold_ttl_ms, 2000);
  EXPECT_EQ(v.entity.max_hold_ttl_ms, 3000);
  EXPECT_EQ(v.journal.batch_max, 7);
  EXPECT_EQ(v.journal.batch_delay_us, 9);
  EXPECT_EQ(v.journal.snapshot_every, 11);
  EXPECT_EQ(v.server.io_threads, 3);
  EXPECT_EQ(v.actors.scheduler_threads, 4);
  EXPECT_EQ(v.db.readers, 5);
  EXPECT_EQ(v.checkout.payment_timeout_ms, 300);
  EXPECT_EQ(v.checkout.step_timeout_ms, 100);
  EXPECT_EQ(v.checkout.compensation_attempts, 4);
  EXPECT_EQ(v.checkout.compensation_backoff_ms, 50);
  EXPECT_EQ(v.testing.settle_delay_ms, 60);
  EXPECT_EQ(v.server.max_body_bytes, 2048);
  EXPECT_EQ(v.entity.request_timeout_ms, 700);
  EXPECT_EQ(v.entity.restart_budget, 2);
  EXPECT_TRUE(v.testing.fault_injection);
  EXPECT_FALSE(v.db.migrate);
}

TEST(ConfigLoad, FaultInjectionVariableAcceptsBooleanWords) {
  for (auto [text, expected] : std::initializer_list<std::pair<const char*, bool>>{
         {"true", true}, {"1", true}, {"TRUE", true}, {"false", false}, {"0", false}}) {
    auto r = run({}, with_required({{"MERCATO_FAULT_INJECTION", text}}));
    ASSERT_TRUE(r.errors.empty()) << text << ": " << all_errors(r);
    EXPECT_EQ(r.values.testing.fault_injection, expected) << text;
  }
  auto r = run({}, with_required({{"MERCATO_FAULT_INJECTION", "maybe"}}));
  EXPECT_TRUE(has_error_for(r, "testing.fault_injection")) << all_errors(r);
}

TEST(ConfigLoad, UnknownKeyIsRejectedWithItsPath) {
  temp_file file{R"({"journal": {"batch_maxx": 5}})"};
  auto r = run({"--config", file.path()}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "journal.batch_maxx")) << all_errors(r);
  EXPECT_NE(r.errors[0].find("unknown key"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find("batch_max"), std::string::npos) << "lists the known keys";
}

TEST(ConfigLoad, UnknownSectionIsRejected) {
  temp_file file{R"({"gossip": {"seeds": []}})"};
  auto r = run({"--config", file.path()}, required);
  EXPECT_TRUE(has_error_for(r, "gossip")) << all_errors(r);
}

TEST(ConfigLoad, ClusterTimingsThatCouldLetTwoNodesServeTheSameShardAreRefused) {
  auto r = run({"--cluster", "--cluster-lease-ms=2000", "--cluster-self-fence-ms=2000"}, required);
  EXPECT_TRUE(has_error_for(r, "cluster.self_fence_ms")) << all_errors(r);
  r = run({"--cluster-heartbeat-ms=2000"}, required);
  EXPECT_TRUE(has_error_for(r, "cluster.heartbeat_ms")) << all_errors(r);
  r = run({"--cluster-peer-heartbeat-ms=1000", "--cluster-peer-timeout-ms=2000"}, required);
  EXPECT_TRUE(has_error_for(r, "cluster.peer_timeout_ms")) << all_errors(r);
  r = run({"--cluster", "--node-id=a", "--cluster-port=7000"}, required);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.values.cluster.enabled);
  EXPECT_EQ(r.values.cluster.node_id, "a");
  EXPECT_EQ(r.values.cluster.port, 7000);
}

TEST(ConfigLoad, NotificationProvidersNeedHttpUrls) {
  auto r = run({"--sms-url=smtp://sms.example", "--push-url=ftp://push.example"}, required);
  EXPECT_TRUE(has_error_for(r, "notifications.sms_url")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "notifications.push_url")) << all_errors(r);
  r = run({"--sms-url=https://sms.example/v2", "--push-url=https://push.example"}, required);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  r = run({"--sms-url=http://127.0.0.1:9000/api", "--notification-provider-timeout-ms=50"},
          required);
  EXPECT_TRUE(has_error_for(r, "notifications.provider_timeout_ms")) << all_errors(r);
  r = run({"--sms-url=http://127.0.0.1:9000/api", "--push-url=http://127.0.0.1:9001"}, required);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.notifications.sms_url, "http://127.0.0.1:9000/api");
}

TEST(ConfigLoad, AnHttpPaymentProviderNeedsAnHttpOrHttpsUrl) {
  auto env = with_required({{"MERCATO_PAYMENT_WEBHOOK_SECRET", "psp-webhook-secret-0123"}});
  auto r = run({"--payment-provider=http"}, env);
  EXPECT_TRUE(has_error_for(r, "payments.psp_url")) << all_errors(r);
  r = run({"--payment-provider=http", "--psp-url=psp.example:443"}, env);
  EXPECT_TRUE(has_error_for(r, "payments.psp_url")) << all_errors(r);
  r = run({"--payment-provider=http", "--psp-url=https://psp.example/api"}, env);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  r = run({"--payment-provider=http", "--psp-url=http://127.0.0.1:9100"}, env);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
}

TEST(ConfigLoad, WrongTypeInFileNamesItsPath) {
  temp_file file{R"({"server": {"io_threads": "four", "http_addr": 8080},
                     "db": {"migrate": "no"}, "journal": {"batch_max": 1.5},
                     "entity": {"passivate_after_ms": null}, "log": []})"};
  auto r = run({"--config", file.path()}, required);
  EXPECT_TRUE(has_error_for(r, "server.io_threads")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "server.http_addr")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "db.migrate")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "journal.batch_max")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "entity.passivate_after_ms")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "log")) << all_errors(r);
}

TEST(ConfigLoad, IntegerOutOfRangeOfItsFieldIsRejected) {
  temp_file file{R"({"server": {"io_threads": 4294967296}})"};
  auto r = run({"--config", file.path()}, required);
  EXPECT_TRUE(has_error_for(r, "server.io_threads")) << all_errors(r);
}

TEST(ConfigLoad, MalformedFileIsReported) {
  temp_file file{R"({"server": {"io_threads": 2,}})"};
  auto r = run({"--config", file.path()}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_NE(r.errors[0].find(file.path()), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find("line 1"), std::string::npos) << r.errors[0];
}

TEST(ConfigLoad, TopLevelMustBeAnObject) {
  temp_file file{"[1, 2]"};
  auto r = run({"--config", file.path()}, required);
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
}

TEST(ConfigLoad, MissingFileIsReported) {
  auto r = run({"--config", ::testing::TempDir() + "mercato_no_such_file.json"}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "--config")) << all_errors(r);
}

TEST(ConfigLoad, NonNumericEnvironmentValueNamesVariable) {
  auto r = run({}, with_required({{"MERCATO_JOURNAL_BATCH_MAX", "lots"}}));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "journal.batch_max")) << all_errors(r);
  EXPECT_NE(r.errors[0].find("MERCATO_JOURNAL_BATCH_MAX"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[0].find("'lots'"), std::string::npos) << r.errors[0];
}

TEST(ConfigLoad, ValidationErrorNamesWhereTheValueCameFrom) {
  auto r = run({"--journal-batch-max", "0"}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "journal.batch_max")) << all_errors(r);
  EXPECT_NE(r.errors[0].find("--journal-batch-max"), std::string::npos) << r.errors[0];
}

TEST(ConfigLoad, UnknownFlagIsReported) {
  auto r = run({"--bogus", "--journal-batch-max=5"}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_NE(r.errors[0].find("--bogus"), std::string::npos) << r.errors[0];
  EXPECT_EQ(r.values.journal.batch_max, 5);
}

TEST(ConfigLoad, UnknownFlagValueIsNotEchoed) {
  auto r = run({"--jwt-secrt=hunter2hunter2hunter2"}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].find("hunter2"), std::string::npos) << r.errors[0];
}

TEST(ConfigLoad, ShortSecretIsRejectedWithoutEchoingIt) {
  auto r = run({"--jwt-secret", "tooshort"}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "auth.jwt_secret")) << all_errors(r);
  EXPECT_EQ(r.errors[0].find("tooshort"), std::string::npos) << r.errors[0];
}

// RFC 7518 §3.2: an HS256 key has at least the hash's 256 bits.
TEST(ConfigLoad, ASecretNeedsThirtyTwoBytes) {
  auto r = run({"--jwt-secret", std::string(31, 'k')}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_NE(r.errors[0].find("at least 32 bytes, got 31"), std::string::npos) << r.errors[0];
  EXPECT_TRUE(run({"--jwt-secret", std::string(32, 'k')}, required).errors.empty());
}

TEST(ConfigLoad, IssuerAndAudienceAreReadFromFlagsAndEnvironment) {
  auto r = run({"--jwt-secret", std::string(32, 'k'), "--jwt-issuer", "https://id.example"},
               with_required({{"MERCATO_JWT_AUDIENCE", "mercato-api"}}));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.values.auth.jwt_issuer, "https://id.example");
  EXPECT_EQ(r.values.auth.jwt_audience, "mercato-api");
  EXPECT_TRUE(run({"--jwt-secret", std::string(32, 'k')}, required).values.auth.jwt_issuer.empty())
    << "no check unless configured";
}

TEST(ConfigLoad, EmptyRequiredValuesAreRejected) {
  auto r = run({}, {{"MERCATO_DATABASE_URL", ""}, {"MERCATO_JWT_SECRET", ""}});
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "db.url")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "auth.jwt_secret")) << all_errors(r);
}

TEST(ConfigLoad, ACheckoutHoldTtlShorterThanItsSlowestPathIsRejected) {
  auto r = run({"--checkout-hold-ttl-ms", "20000", "--payment-timeout-ms", "8000",
                "--checkout-step-timeout-ms", "1000"},
               required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "checkout.hold_ttl_ms")) << all_errors(r);
  auto capped = run({"--max-hold-ttl-ms", "10000", "--hold-ttl-ms", "5000"}, required);
  ASSERT_EQ(capped.errors.size(), 1u) << all_errors(capped);
  EXPECT_NE(capped.errors[0].find("capped by entity.max_hold_ttl_ms"), std::string::npos)
    << all_errors(capped);
  EXPECT_TRUE(run({"--checkout-hold-ttl-ms", "24000", "--payment-timeout-ms", "8000",
                   "--checkout-step-timeout-ms", "1000"},
                  required)
                .errors.empty());
}

TEST(ConfigLoad, SettleDelayNeedsFaultInjection) {
  auto r = run({"--settle-delay-ms", "100"}, required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "testing.settle_delay_ms")) << all_errors(r);
}

TEST(ConfigLoad, HoldTtlAboveMaximumIsRejected) {
  auto r = run({"--hold-ttl-ms", "5000", "--max-hold-ttl-ms", "4000", "--payment-timeout-ms", "200",
                "--checkout-step-timeout-ms", "200"},
               required);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "entity.default_hold_ttl_ms")) << all_errors(r);
}

TEST(ConfigLoad, HelpPrintsUsageAndExitsEarly) {
  ::testing::internal::CaptureStdout();
  auto r = run({"--help"}, {});
  auto out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(r.exit_early);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_NE(out.find("--http-addr"), std::string::npos) << out;
  EXPECT_NE(out.find("MERCATO_DATABASE_URL"), std::string::npos) << out;
}

TEST(ConfigLoad, VersionPrintsAndExitsEarly) {
  ::testing::internal::CaptureStdout();
  auto r = run({"--version"}, {});
  auto out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(r.exit_early);
  EXPECT_NE(out.find("mercato"), std::string::npos) << out;
}

TEST(ConfigLoad, EveryErrorIsCollected) {
  temp_file file{R"({"journal": {"nope": 1}})"};
  auto r = run(
    {"--config", file.path(), "--io-threads", "0", "--log-format", "xml", "--snapshot-every", "0"},
    {{"MERCATO_LOG_LEVEL", "loud"}, {"MERCATO_HTTP_ADDR", "nowhere"}});
  for (const char* path :
       {"journal.nope", "server.io_threads", "log.format", "journal.snapshot_every", "log.level",
        "server.http_addr", "db.url", "auth.jwt_secret"})
    EXPECT_TRUE(has_error_for(r, path)) << path << " missing from:\n" << all_errors(r);
  EXPECT_EQ(r.errors.size(), 8u) << all_errors(r);
}

// Each bad value, given as a flag, yields an error naming its setting.
struct bad_value {
  const char* flag;
  const char* value;
  const char* path;
};

class ConfigBadValue : public ::testing::TestWithParam<bad_value> {};

TEST_P(ConfigBadValue, IsReportedWithItsSetting) {
  const auto& p = GetParam();
  auto r = run({std::string{p.flag} + "=" + p.value}, required);
  EXPECT_TRUE(has_error_for(r, p.path)) << all_errors(r);
}

INSTANTIATE_TEST_SUITE_P(
  Table, ConfigBadValue,
  ::testing::Values(bad_value{"--http-addr", "x", "server.http_addr"},
                    bad_value{"--http-addr", "127.0.0.1", "server.http_addr"},
                    bad_value{"--http-addr", ":8080", "server.http_addr"},
                    bad_value{"--http-addr", "host:", "server.http_addr"},
                    bad_value{"--http-addr", "host:65536", "server.http_addr"},
                    bad_value{"--http-addr", "host:-1", "server.http_addr"},
                    bad_value{"--http-addr", "::1:80", "server.http_addr"},
                    bad_value{"--http-addr", "[::1]80", "server.http_addr"},
                    bad_value{"--log-level", "verbose", "log.level"},
                    bad_value{"--log-format", "xml", "log.format"},
                    bad_value{"--journal-batch-max", "0", "journal.batch_max"},
                    bad_value{"--journal-batch-max", "ten", "journal.batch_max"},
                    bad_value{"--journal-batch-delay-us", "-1", "journal.batch_delay_us"},
                    bad_value{"--snapshot-every", "0", "journal.snapshot_every"},
                    bad_value{"--passivate-after-ms", "0", "entity.passivate_after_ms"},
                    bad_value{"--hold-ttl-ms", "999", "entity.default_hold_ttl_ms"},
                    bad_value{"--max-hold-ttl-ms", "100", "entity.max_hold_ttl_ms"},
                    bad_value{"--io-threads", "0", "server.io_threads"},
                    bad_value{"--io-threads", "65", "server.io_threads"},
                    bad_value{"--io-threads", "99999999999", "server.io_threads"},
                    bad_value{"--scheduler-threads", "-1", "actors.scheduler_threads"},
                    bad_value{"--scheduler-threads", "257", "actors.scheduler_threads"},
                    bad_value{"--max-body-bytes", "1023", "server.max_body_bytes"},
                    bad_value{"--max-body-bytes", "67108865", "server.max_body_bytes"},
                    bad_value{"--db-readers", "0", "db.readers"},
                    bad_value{"--db-readers", "33", "db.readers"},
                    bad_value{"--request-timeout-ms", "0", "entity.request_timeout_ms"},
                    bad_value{"--restart-budget", "-1", "entity.restart_budget"}));

class ConfigGoodAddress : public ::testing::TestWithParam<const char*> {};

TEST_P(ConfigGoodAddress, IsAccepted) {
  auto r = run({"--http-addr", GetParam()}, required);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigGoodAddress,
                         ::testing::Values("127.0.0.1:0", "0.0.0.0:65535", "localhost:8080",
                                           "[::1]:8080", "[::]:0"));

TEST(ConfigLoad, ProcessEnvironmentReadsEnviron) {
  ASSERT_EQ(::setenv("MERCATO_CONFIG_TEST_PROBE", "a=b", 1), 0);
  auto env = mercato::config::process_environment();
  ::unsetenv("MERCATO_CONFIG_TEST_PROBE");
  auto i = env.find("MERCATO_CONFIG_TEST_PROBE");
  ASSERT_NE(i, env.end());
  EXPECT_EQ(i->second, "a=b");
}

TEST(ConfigLoad, WebhookSettingsHaveDefaultsAndAreIdleWithoutEndpoints) {
  auto r = run({}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& w = r.values.webhooks;
  EXPECT_EQ(w.endpoints, "");
  EXPECT_EQ(w.max_attempts, 8);
  EXPECT_EQ(w.backoff_min_ms, 200);
  EXPECT_EQ(w.backoff_max_ms, 30000);
  EXPECT_EQ(w.batch, 100);
  EXPECT_EQ(w.poll_ms, 200);
  EXPECT_TRUE(mercato::config::webhook_endpoints(w).empty());
}

TEST(ConfigLoad, WebhookEndpointsAndSecretAreReadAndSplit) {
  auto r = run({"--webhook-endpoints", " http://a:81/x , http://b/ ,", "--webhook-max-attempts",
                "3", "--webhook-backoff-min-ms", "10", "--webhook-backoff-max-ms", "20",
                "--webhook-batch", "7", "--webhook-poll-ms", "5"},
               with_required({{"MERCATO_WEBHOOK_SECRET", "webhook-secret-0123456789"}}));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& w = r.values.webhooks;
  EXPECT_EQ(mercato::config::webhook_endpoints(w),
            (std::vector<std::string>{"http://a:81/x", "http://b/"}));
  EXPECT_EQ(w.secret, "webhook-secret-0123456789");
  EXPECT_EQ(w.max_attempts, 3);
  EXPECT_EQ(w.backoff_min_ms, 10);
  EXPECT_EQ(w.backoff_max_ms, 20);
  EXPECT_EQ(w.batch, 7);
  EXPECT_EQ(w.poll_ms, 5);
}

TEST(ConfigLoad, WebhookEndpointsNeedHttpUrlsAndALongSecret) {
  auto r = run({"--webhook-endpoints", "https://a/x", "--webhook-backoff-min-ms", "100",
                "--webhook-backoff-max-ms", "50", "--webhook-max-attempts", "0"},
               with_required({{"MERCATO_WEBHOOK_SECRET", "short"}}));
  EXPECT_TRUE(has_error_for(r, "webhooks.endpoints")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "webhooks.secret")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "webhooks.backoff_max_ms")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "webhooks.max_attempts")) << all_errors(r);
  // The secret is never echoed.
  EXPECT_EQ(all_errors(r).find("short"), std::string::npos) << all_errors(r);
}

TEST(ConfigLoad, OrderDelaySettingsHaveProductionDefaults) {
  auto r = run({}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& o = r.values.orders;
  EXPECT_EQ(o.expected_paid_ms, 3600000);
  EXPECT_EQ(o.expected_confirmed_ms, 2 * 86400000LL);
  EXPECT_EQ(o.expected_in_production_ms, 5 * 86400000LL);
  EXPECT_EQ(o.expected_produced_ms, 2 * 86400000LL);
  EXPECT_EQ(o.expected_shipped_ms, 5 * 86400000LL);
  EXPECT_EQ(o.expected_out_for_delivery_ms, 12 * 3600000LL);
  EXPECT_EQ(o.expected_delivery_failed_ms, 2 * 86400000LL);
  EXPECT_EQ(o.delivery_soon_window_ms, 86400000);
  EXPECT_EQ(o.delay_sweep_ms, 60000);
}

TEST(ConfigLoad, OrderDelaySettingsComeFromFileEnvironmentAndFlags) {
  temp_file file{R"({"orders": {"expected_paid_ms": 0, "expected_confirmed_ms": 1000,
                                "expected_shipped_ms": 2000, "delivery_soon_window_ms": 0}})"};
  auto r = run({"--config", file.path(), "--order-expected-shipped-ms", "3000",
                "--order-delay-sweep-ms", "250"},
               with_required({{"MERCATO_ORDER_EXPECTED_CONFIRMED_MS", "1500"},
                              {"MERCATO_ORDER_EXPECTED_IN_PRODUCTION_MS", "7"},
                              {"MERCATO_ORDER_EXPECTED_PRODUCED_MS", "8"},
                              {"MERCATO_ORDER_EXPECTED_OUT_FOR_DELIVERY_MS", "9"},
                              {"MERCATO_ORDER_EXPECTED_DELIVERY_FAILED_MS", "10"},
                              {"MERCATO_ORDER_DELAY_SWEEP_MS", "100"}}));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& o = r.values.orders;
  EXPECT_EQ(o.expected_paid_ms, 0);
  EXPECT_EQ(o.expected_confirmed_ms, 1500);
  EXPECT_EQ(o.expected_in_production_ms, 7);
  EXPECT_EQ(o.expected_produced_ms, 8);
  EXPECT_EQ(o.expected_shipped_ms, 3000);
  EXPECT_EQ(o.expected_out_for_delivery_ms, 9);
  EXPECT_EQ(o.expected_delivery_failed_ms, 10);
  EXPECT_EQ(o.delivery_soon_window_ms, 0);
  EXPECT_EQ(o.delay_sweep_ms, 250);

  auto window = run({}, with_required({{"MERCATO_ORDER_DELIVERY_SOON_WINDOW_MS", "3600000"}}));
  ASSERT_TRUE(window.errors.empty()) << all_errors(window);
  EXPECT_EQ(window.values.orders.delivery_soon_window_ms, 3600000);
}

TEST(ConfigLoad, NegativeOrderDurationsAreRejected) {
  temp_file file{R"({"orders": {"expected_produced_ms": -1, "delivery_soon_window_ms": -5}})"};
  auto r = run({"--config", file.path(), "--order-delay-sweep-ms", "0"},
               with_required({{"MERCATO_ORDER_EXPECTED_SHIPPED_MS", "-100"}}));
  EXPECT_TRUE(has_error_for(r, "orders.expected_produced_ms")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "orders.delivery_soon_window_ms")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "orders.expected_shipped_ms")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "orders.delay_sweep_ms")) << all_errors(r);
  EXPECT_NE(all_errors(r).find("MERCATO_ORDER_EXPECTED_SHIPPED_MS"), std::string::npos)
    << all_errors(r);
  EXPECT_EQ(r.errors.size(), 4u) << all_errors(r);
}

TEST(ConfigLoad, ShopsFileNamesEachShopToPull) {
  temp_file shops{R"([
    // Comments are allowed, as in the config file.
    {"name": "tt-my", "platform": "tiktok", "base_url": "https://open-api.tiktokglobalshop.com",
     "app_key": "k", "app_secret": "s", "access_token": "t", "shop_id": "cipher"},
    {"name": "lz-my", "platform": "lazada", "base_url": "https://api.lazada.com.my/rest",
     "app_key": "k2", "app_secret": "s2", "access_token": "t2", "currency": "MYR",
     "interval_ms": 1800000, "page_size": 100, "since": 1733000000}
  ])"};
  auto r = run({"--marketplace-shops-file", shops.path()}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& s = r.values.marketplace_sync.shops;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "tt-my");
  EXPECT_EQ(s[0].shop_id, "cipher");
  EXPECT_EQ(s[0].interval_ms, 900000); // 15 minutes unless told
  EXPECT_EQ(s[0].page_size, 50);
  EXPECT_EQ(s[1].platform, "lazada");
  EXPECT_EQ(s[1].currency, "MYR");
  EXPECT_EQ(s[1].interval_ms, 1800000);
  EXPECT_EQ(s[1].page_size, 100);
  EXPECT_EQ(s[1].since_s, 1733000000);
}

TEST(ConfigLoad, ABadShopsFileNamesEachProblemWithItsEntry) {
  temp_file shops{R"([
    {"name": "a", "platform": "amazon", "base_url": "ftp://x", "app_key": "k",
     "app_secret": "s", "access_token": "", "page_size": 500, "colour": "red"},
    {"name": "a", "platform": "lazada", "base_url": "http://x", "app_key": "k",
     "app_secret": "s", "access_token": "t", "interval_ms": "often"},
    {"name": "b", "platform": "shopee", "base_url": "http://x", "app_key": "k",
     "app_secret": "s", "access_token": "t"}
  ])"};
  auto r = run({"--marketplace-shops-file", shops.path()}, required);
  const std::string at = "marketplace_sync.shops_file";
  for (const auto& path : {at + "[0].platform", at + "[0].base_url", at + "[0].access_token",
                           at + "[0].page_size", at + "[0].colour", at + "[1].name",
                           at + "[1].interval_ms", at + "[1].currency", at + "[2].shop_id"})
    EXPECT_TRUE(has_error_for(r, path)) << path << "\n" << all_errors(r);
  EXPECT_EQ(r.errors.size(), 9u) << all_errors(r);
}

TEST(ConfigLoad, AShopsFileNeverEchoesACredential) {
  temp_file shops{R"([{"name": "a", "platform": "lazada", "base_url": "http://x", "app_key": "k",
    "app_secret": 987654321, "access_token": ["tok-1234567"], "currency": "MYR"}])"};
  auto r = run({"--marketplace-shops-file", shops.path()}, required);
  EXPECT_TRUE(has_error_for(r, "marketplace_sync.shops_file[0].app_secret")) << all_errors(r);
  EXPECT_TRUE(has_error_for(r, "marketplace_sync.shops_file[0].access_token")) << all_errors(r);
  EXPECT_EQ(all_errors(r).find("987654321"), std::string::npos) << all_errors(r);
  EXPECT_EQ(all_errors(r).find("tok-1234567"), std::string::npos) << all_errors(r);
}

TEST(ConfigLoad, AShopMayNameARefreshTokenAndItsAuthRoot) {
  temp_file shops{R"([
    {"name": "tt", "platform": "tiktok", "base_url": "https://open-api.tiktokglobalshop.com",
     "app_key": "k", "app_secret": "s", "access_token": "t", "refresh_token": "r1",
     "shop_id": "cipher"},
    {"name": "sp", "platform": "shopee", "base_url": "https://partner.shopeemobile.com",
     "app_key": "2001887", "app_secret": "s", "refresh_token": "r2", "shop_id": "600000"},
    {"name": "lz", "platform": "lazada", "base_url": "https://api.lazada.com.my/rest",
     "app_key": "k", "app_secret": "s", "access_token": "t", "refresh_token": "r3",
     "auth_url": "http://127.0.0.1:9000", "currency": "MYR"},
    {"name": "lz2", "platform": "lazada", "base_url": "https://api.lazada.com.my/rest",
     "app_key": "k", "app_secret": "s", "access_token": "t", "currency": "MYR"}
  ])"};
  auto r = run({"--marketplace-shops-file", shops.path()}, required);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& s = r.values.marketplace_sync.shops;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].refresh_token, "r1");
  EXPECT_EQ(s[0].auth_url, "https://auth.tiktok-shops.com");
  // With a refresh token the access token may be left out: the first page waits for a refresh.
  EXPECT_EQ(s[1].access_token, "");
  EXPECT_EQ(s[1].auth_url, "https://partner.shopeemobile.com"); // Shopee's: the API root
  EXPECT_EQ(s[2].auth_url, "http://127.0.0.1:9000");
  EXPECT_EQ(s[3].refresh_token, ""); // the access token is used as it is
  EXPECT_EQ(s[3].auth_url, "https://auth.lazada.com/rest");
}

TEST(ConfigLoad, ABadTokenRefreshSetupNamesItsKeyAndNoCredential) {
  temp_file shops{R"([
    {"name": "a", "platform": "tiktok", "base_url": "http://x", "app_key": "k",
     "app_secret": "s", "access_token": "t", "refresh_token": "", "shop_id": "c"},
    {"name": "b", "platform": "lazada", "base_url": "http://x", "app_key": "k",
     "app_secret": "s", "refresh_token": "r", "auth_url": "auth.lazada.com", "currency": "MYR"},
    {"name": "c", "platform": "shopee", "base_url": "http://x", "app_key": "partner-a",
     "app_secret": "s", "refresh_token": "r", "shop_id": "600000"},
    {"name": "d", "platform": "shopee", "base_url": "http://x", "app_key": "1",
     "app_secret": "s", "shop_id": "600000"},
    {"name": "e", "platform": "tiktok", "base_url": "http://x", "app_key": "k",
     "app_secret": "s", "access_token": "t", "refresh_token": 24681357, "shop_id": "c"}
  ])"};
  auto r = run({"--marketplace-shops-file", shops.path()}, required);
  const std::string at = "marketplace_sync.shops_file";
  for (const auto& path : {at + "[0].refresh_token", at + "[1].auth_url", at + "[2].app_key",
                           at + "[3].access_token", at + "[4].refresh_token"})
    EXPECT_TRUE(has_error_for(r, path)) << path << "\n" << all_errors(r);
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_EQ(all_errors(r).find("24681357"), std::string::npos) << all_errors(r);
}

TEST(ConfigLoad, AShopsFileMustBeAReadableArray) {
  temp_file object{R"({"name": "a"})"};
  EXPECT_TRUE(has_error_for(run({"--marketplace-shops-file", object.path()}, required),
                            "marketplace_sync.shops_file"));
  EXPECT_TRUE(has_error_for(run({"--marketplace-shops-file", "/nonexistent/shops.json"}, required),
                            "marketplace_sync.shops_file"));
}
