#include "runtime/logging.hpp"

#include "runtime/util/json_text.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <array>
#include <mutex>

namespace mercato::runtime {

namespace {

// "marketplace": the pull sync, whose lifecycle lines (syncs, token refreshes) are info.
constexpr std::array<const char*, 5> logger_names{"api", "actors", "pg", "runtime", "marketplace"};

// JSON lines: the message itself carries `key=value` pairs; the pattern wraps them with time,
// level, logger and thread so that every line parses as one JSON object.
constexpr const char* json_pattern
  = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","thread":%t,"msg":"%*"})";
constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v";

std::mutex init_mtx;

// `%*`: the message, escaped so that every JSON line stays parseable whatever it says.
class escaped_message final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string s;
    util::append_json_escaped(s, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<escaped_message>();
  }
};

} // namespace

void init_logging(const std::string& level, const std::string& format) {
  std::lock_guard<std::mutex> guard{init_mtx};
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  for (const char* name : logger_names) {
    spdlog::drop(name);
    auto log = std::make_shared<spdlog::logger>(name, sink);
    log->set_level(spdlog::level::from_str(level));
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<escaped_message>('*').set_pattern(format == "json" ? json_pattern
                                                                           : text_pattern);
    log->set_formatter(std::move(formatter));
    log->flush_on(spdlog::level::warn);
    spdlog::register_logger(log);
  }
}

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  if (auto log = spdlog::get(name))
    return log;
  std::lock_guard<std::mutex> guard{init_mtx};
  if (auto log = spdlog::get(name))
    return log;
  auto log
    = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::warn);
  spdlog::register_logger(log);
  return log;
}

std::string describe_exception(const std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

} // namespace mercato::runtime
