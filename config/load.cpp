#include "config/load.hpp"

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <deque>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#ifndef MERCATO_VERSION
#define MERCATO_VERSION "0.1.0"
#endif

namespace mercato::config {

std::vector<std::string> webhook_endpoints(const webhook_settings& s) {
  std::vector<std::string> out;
  std::string_view rest = s.endpoints;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto first = item.find_first_not_of(" \t");
    if (first == std::string_view::npos)
      continue;
    auto last = item.find_last_not_of(" \t");
    out.emplace_back(item.substr(first, last - first + 1));
  }
  return out;
}

namespace {

// One table describes every setting once: its JSON path, its environment variable and its
// flag. The file, env and flag layers, the unknown-key check and the error messages all read
// it, so a new setting cannot be reachable from one source and forgotten in another.
// (STYLE suggests a from_json per struct; a table gives the same result and lets every layer
// report problems with the same key path without repeating each struct three times.)

using value_ref = std::variant<std::string*, int64_t*, int*, bool*>;

struct field {
  std::string_view path;       // "section.key", as in the JSON file
  value_ref (*get)(settings&); // the member it sets
  std::string_view env;        // empty: not settable from the environment
  std::string_view flag;       // empty: no flag; bool fields have a switch instead
  std::string_view type_name;  // shown by --help
  std::string_view help;       // shown by --help
  bool switch_sets = true;     // the value a bool switch stores when given
};

// The macro keeps the path string and the member it names from drifting apart.
// clang-format off
#define MERCATO_FIELD(section, key) \
  #section "." #key, [](settings& s) -> value_ref { return &s.section.key; }
// clang-format on

const std::vector<field>& fields() {
  static const std::vector<field> table{
    {MERCATO_FIELD(server, http_addr), "MERCATO_HTTP_ADDR", "--http-addr", "HOST:PORT",
     "HTTP listen address; port 0 picks a free port"},
    {MERCATO_FIELD(server, io_threads), "MERCATO_IO_THREADS", "--io-threads", "N",
     "Asio I/O threads (1..64)"},
    {MERCATO_FIELD(server, max_body_bytes), "MERCATO_MAX_BODY_BYTES", "--max-body-bytes", "BYTES",
     "largest accepted request body (1024..67108864)"},
    {MERCATO_FIELD(server, read_timeout_ms), "", "", "MS", "idle keep-alive timeout"},
    {MERCATO_FIELD(limits, read_rps), "MERCATO_RATE_READ_RPS", "--rate-read-rps", "N",
     "reads per client and second; 0 = unlimited"},
    {MERCATO_FIELD(limits, read_burst), "", "--rate-read-burst", "N",
     "reads a client may make at once"},
    {MERCATO_FIELD(limits, write_rps), "MERCATO_RATE_WRITE_RPS", "--rate-write-rps", "N",
     "writes per client and second; 0 = unlimited"},
    {MERCATO_FIELD(limits, write_burst), "", "--rate-write-burst", "N",
     "writes a client may make at once"},
    {MERCATO_FIELD(limits, exempt_roles), "", "--rate-exempt-roles", "ROLES",
     "comma-separated roles that are not rate limited"},
    {MERCATO_FIELD(limits, max_connections), "MERCATO_MAX_CONNECTIONS", "--max-connections", "N",
     "open HTTP and WebSocket connections; more are refused"},
    {MERCATO_FIELD(server, port_file), "MERCATO_PORT_FILE", "--port-file", "FILE",
     "write the bound port to FILE once listening"},
    {MERCATO_FIELD(server, pages_dir), "MERCATO_PAGES_DIR", "--pages-dir", "DIR",
     "the built pages (default: web/ beside the binary's folder)"},
    {MERCATO_FIELD(db, url), "MERCATO_DATABASE_URL", "--database-url", "DSN",
     "PostgreSQL URI or key=value string (required)"},
    {MERCATO_FIELD(db, readers), "", "--db-readers", "N",
     "detached recovery/catalogue readers (1..32)"},
    {MERCATO_FIELD(db, migrate), "", "--no-migrate", "", "do not apply migrations at start", false},
    {MERCATO_FIELD(db, stall_timeout_ms), "", "--db-stall-timeout-ms", "MS",
     "a database round trip that takes longer is cut and answered 503 (0 = never; 1000..600000)"},
    {MERCATO_FIELD(db, rebuild_projection), "", "--rebuild-projection", "NAME",
     "rebuild projection NAME (orders, payments, checkouts_open, customer_feed, daily_stats) from "
     "the journal, "
     "then exit"},
    {MERCATO_FIELD(journal, batch_max), "MERCATO_JOURNAL_BATCH_MAX", "--journal-batch-max", "N",
     "most persist requests per journal transaction"},
    {MERCATO_FIELD(journal, batch_delay_us), "MERCATO_JOURNAL_BATCH_DELAY_US",
     "--journal-batch-delay-us", "US", "extra wait to fill a batch; 0 = commit when idle"},
    {MERCATO_FIELD(journal, snapshot_every), "MERCATO_SNAPSHOT_EVERY", "--snapshot-every", "N",
     "events between snapshots of one entity"},
    {MERCATO_FIELD(entity, passivate_after_ms), "MERCATO_PASSIVATE_AFTER_MS",
     "--passivate-after-ms", "MS", "idle time before an entity stops"},
    {MERCATO_FIELD(entity, default_hold_ttl_ms), "MERCATO_HOLD_TTL_MS", "--hold-ttl-ms", "MS",
     "hold TTL when a reservation names none"},
    {MERCATO_FIELD(entity, max_hold_ttl_ms), "", "--max-hold-ttl-ms", "MS",
     "longest hold TTL a reservation may ask for"},
    {MERCATO_FIELD(entity, max_waiting_reservations), "", "--max-waiting-reservations", "N",
     "reservations of one stock item waiting for the journal, at most; more get 503 at once"},
    {MERCATO_FIELD(entity, request_timeout_ms), "", "--request-timeout-ms", "MS",
     "timeout of API -> entity requests"},
    {MERCATO_FIELD(entity, restart_budget), "", "--restart-budget", "N",
     "entity restarts allowed per window before 503"},
    {MERCATO_FIELD(entity, restart_window_ms), "", "", "MS", ""},
    {MERCATO_FIELD(entity, backoff_min_ms), "", "", "MS", ""},
    {MERCATO_FIELD(entity, backoff_max_ms), "", "", "MS", ""},
    {MERCATO_FIELD(checkout, cart_ttl_ms), "MERCATO_CART_TTL_MS", "--cart-ttl-ms", "MS",
     "idle time after which a cart expires"},
    {MERCATO_FIELD(checkout, hold_ttl_ms), "", "--checkout-hold-ttl-ms", "MS",
     "TTL of the holds a checkout takes"},
    {MERCATO_FIELD(checkout, step_timeout_ms), "", "--checkout-step-timeout-ms", "MS",
     "timeout of the reserve, coupon and order steps of a checkout"},
    {MERCATO_FIELD(checkout, payment_timeout_ms), "MERCATO_PAYMENT_TIMEOUT_MS",
     "--payment-timeout-ms", "MS", "authorisation timeout; past it the checkout compensates"},
    {MERCATO_FIELD(checkout, shipping_flat_minor), "", "--shipping-flat-minor", "MINOR",
     "shipping charged per order, in minor units"},
    {MERCATO_FIELD(checkout, compensation_attempts), "", "--compensation-attempts", "N",
     "rounds of a failing compensation before it is dead-lettered"},
    {MERCATO_FIELD(checkout, compensation_backoff_ms), "", "--compensation-backoff-ms", "MS",
     "delay before a compensation's second round, doubled up to a minute"},
    {MERCATO_FIELD(checkout, idempotency_retention_ms), "MERCATO_IDEMPOTENCY_RETENTION_MS",
     "--idempotency-retention-ms", "MS",
     "how long an Idempotency-Key answers its first checkout; 0 = for ever"},
    {MERCATO_FIELD(orders, expected_paid_ms), "MERCATO_ORDER_EXPECTED_PAID_MS",
     "--order-expected-paid-ms", "MS", "stay in paid before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, expected_confirmed_ms), "MERCATO_ORDER_EXPECTED_CONFIRMED_MS",
     "--order-expected-confirmed-ms", "MS", "stay in confirmed before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, expected_in_production_ms), "MERCATO_ORDER_EXPECTED_IN_PRODUCTION_MS",
     "--order-expected-in-production-ms", "MS",
     "stay in in_production before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, expected_produced_ms), "MERCATO_ORDER_EXPECTED_PRODUCED_MS",
     "--order-expected-produced-ms", "MS", "stay in produced before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, expected_shipped_ms), "MERCATO_ORDER_EXPECTED_SHIPPED_MS",
     "--order-expected-shipped-ms", "MS", "stay in shipped before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, expected_out_for_delivery_ms),
     "MERCATO_ORDER_EXPECTED_OUT_FOR_DELIVERY_MS", "--order-expected-out-for-delivery-ms", "MS",
     "stay in out_for_delivery before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, expected_delivery_failed_ms),
     "MERCATO_ORDER_EXPECTED_DELIVERY_FAILED_MS", "--order-expected-delivery-failed-ms", "MS",
     "stay in delivery_failed before a delay warning; 0 = none"},
    {MERCATO_FIELD(orders, delivery_soon_window_ms), "MERCATO_ORDER_DELIVERY_SOON_WINDOW_MS",
     "--order-delivery-soon-window-ms", "MS",
     "ETA this close records delivery_expected_soon; 0 = never"},
    {MERCATO_FIELD(orders, delay_sweep_ms), "MERCATO_ORDER_DELAY_SWEEP_MS",
     "--order-delay-sweep-ms", "MS",
     "how often passivated orders with a delay check due are woken"},
    {MERCATO_FIELD(payments, provider), "MERCATO_PAYMENT_PROVIDER", "--payment-provider", "NAME",
     "sandbox or http"},
    {MERCATO_FIELD(payments, psp_url), "MERCATO_PSP_URL", "--psp-url", "URL",
     "base URL of the http payment provider"},
    {MERCATO_FIELD(payments, psp_api_key), "MERCATO_PSP_API_KEY", "", "KEY",
     "bearer key for the http payment provider"},
    {MERCATO_FIELD(payments, webhook_secret), "MERCATO_PAYMENT_WEBHOOK_SECRET", "", "SECRET",
     "HMAC-SHA256 key of payment webhooks"},
    {MERCATO_FIELD(payments, sandbox_slow_ms), "", "--sandbox-slow-ms", "MS",
     "how long the sandbox provider takes for tok_slow"},
    {MERCATO_FIELD(projections, list_wait_ms), "", "--list-wait-ms", "MS",
     "longest wait of a list for the projection to reach the caller's own writes"},
    {MERCATO_FIELD(projections, poll_ms), "", "--projection-poll-ms", "MS",
     "how often projections look for rows other nodes wrote"},
    {MERCATO_FIELD(projections, batch), "", "", "N", "events a projection applies per transaction"},
    {MERCATO_FIELD(projections, stats_time_zone), "MERCATO_STATS_TIME_ZONE", "--stats-time-zone",
     "ZONE", "IANA time zone of the shop's days in the daily statistics (default UTC)"},
    {MERCATO_FIELD(webhooks, endpoints), "MERCATO_WEBHOOK_ENDPOINTS", "--webhook-endpoints", "URLS",
     "comma-separated http:// URLs the outbox is delivered to"},
    {MERCATO_FIELD(webhooks, secret), "MERCATO_WEBHOOK_SECRET", "", "SECRET",
     "HMAC-SHA256 key of outgoing webhooks (X-Signature)"},
    {MERCATO_FIELD(webhooks, max_attempts), "", "--webhook-max-attempts", "N",
     "attempts of one webhook delivery before it is dead-lettered"},
    {MERCATO_FIELD(webhooks, backoff_min_ms), "", "--webhook-backoff-min-ms", "MS",
     "first retry delay of a webhook delivery"},
    {MERCATO_FIELD(webhooks, backoff_max_ms), "", "--webhook-backoff-max-ms", "MS",
     "longest retry delay of a webhook delivery"},
    {MERCATO_FIELD(webhooks, batch), "", "--webhook-batch", "N", "outbox rows read per query"},
    {MERCATO_FIELD(webhooks, poll_ms), "", "--webhook-poll-ms", "MS",
     "wait before reading the outbox again when it had nothing new"},
    {MERCATO_FIELD(notifications, rules), "MERCATO_NOTIFICATION_RULES", "--notification-rules",
     "RULES", "overrides of the notification rules: KIND=CHANNEL,...[:all,urgent];..."},
    {MERCATO_FIELD(notifications, smtp_url), "MERCATO_SMTP_URL", "--smtp-url", "URL",
     "smtp:// or smtps:// server notifications are emailed through; none = no email"},
    {MERCATO_FIELD(notifications, smtp_from), "MERCATO_SMTP_FROM", "--smtp-from", "ADDRESS",
     "sender address of notification emails"},
    {MERCATO_FIELD(notifications, smtp_username), "MERCATO_SMTP_USERNAME", "", "USER",
     "SMTP user name"},
    {MERCATO_FIELD(notifications, smtp_password), "MERCATO_SMTP_PASSWORD", "", "PASSWORD",
     "SMTP password"},
    {MERCATO_FIELD(notifications, smtp_timeout_ms), "", "--smtp-timeout-ms", "MS",
     "longest submission of one email"},
    {MERCATO_FIELD(notifications, sms_url), "MERCATO_SMS_URL", "--sms-url", "URL",
     "http:// base URL of the SMS provider's API; none = no SMS"},
    {MERCATO_FIELD(notifications, sms_api_key), "MERCATO_SMS_API_KEY", "", "KEY",
     "bearer token of the SMS provider"},
    {MERCATO_FIELD(notifications, push_url), "MERCATO_PUSH_URL", "--push-url", "URL",
     "http:// base URL of the push provider's API; none = no push"},
    {MERCATO_FIELD(notifications, push_api_key), "MERCATO_PUSH_API_KEY", "", "KEY",
     "bearer token of the push provider"},
    {MERCATO_FIELD(notifications, provider_timeout_ms), "", "--notification-provider-timeout-ms",
     "MS", "longest SMS or push call, connect to answer"},
    {MERCATO_FIELD(notifications, max_attempts), "", "--notification-max-attempts", "N",
     "attempts on one channel before the next allowed channel"},
    {MERCATO_FIELD(notifications, backoff_min_ms), "", "--notification-backoff-min-ms", "MS",
     "delay before a notification's second attempt, doubled per attempt and jittered"},
    {MERCATO_FIELD(notifications, backoff_max_ms), "", "--notification-backoff-max-ms", "MS",
     "longest delay between attempts of a notification"},
    {MERCATO_FIELD(marketplace_sync, shops_file), "MERCATO_MARKETPLACE_SHOPS_FILE",
     "--marketplace-shops-file", "FILE",
     "JSON array of marketplace shops whose orders are pulled; empty = no pull sync"},
    {MERCATO_FIELD(marketplace_sync, initial_lookback_ms), "", "--marketplace-lookback-ms", "MS",
     "how far back the first sync of a shop without `since` reaches"},
    {MERCATO_FIELD(marketplace_sync, settle_ms), "", "--marketplace-settle-ms", "MS",
     "orders updated this recently wait for the next sync"},
    {MERCATO_FIELD(marketplace_sync, request_timeout_ms), "", "--marketplace-request-timeout-ms",
     "MS", "one marketplace API call, connect to answer"},
    {MERCATO_FIELD(marketplace_sync, max_attempts), "", "--marketplace-max-attempts", "N",
     "failed calls of one page before a sync ends until its next interval"},
    {MERCATO_FIELD(marketplace_sync, backoff_min_ms), "", "--marketplace-backoff-min-ms", "MS",
     "wait after a failed marketplace call, doubled per failure"},
    {MERCATO_FIELD(marketplace_sync, backoff_max_ms), "", "--marketplace-backoff-max-ms", "MS",
     "longest wait between failed marketplace calls"},
    {MERCATO_FIELD(marketplace_sync, max_retry_after_ms), "", "", "MS", ""},
    {MERCATO_FIELD(ws, max_subscriptions), "", "--ws-max-subscriptions", "N",
     "topics one WebSocket session may follow"},
    {MERCATO_FIELD(ws, max_queued_frames), "", "--ws-max-queued-frames", "N",
     "unsent frames of one session before it is closed as slow (1008)"},
    {MERCATO_FIELD(ws, max_queued_bytes), "", "--ws-max-queued-bytes", "BYTES",
     "unsent bytes of one session before it is closed as slow (1008)"},
    {MERCATO_FIELD(ws, max_frame_bytes), "", "--ws-max-frame-bytes", "BYTES",
     "largest frame a client may send"},
    {MERCATO_FIELD(ws, max_replay), "", "--ws-max-replay", "N",
     "most events replayed for last_seq before a snapshot is sent instead"},
    {MERCATO_FIELD(ws, idle_timeout_ms), "", "--ws-idle-timeout-ms", "MS",
     "silence after which a session is pinged, then closed"},
    {MERCATO_FIELD(ws, close_timeout_ms), "", "--ws-close-timeout-ms", "MS",
     "closing handshake limit"},
    {MERCATO_FIELD(ws, send_buffer_bytes), "", "--ws-send-buffer-bytes", "BYTES",
     "SO_SNDBUF of WebSocket sessions; 0 = the kernel's default"},
    {MERCATO_FIELD(ws, threads), "MERCATO_WS_THREADS", "--ws-threads", "N",
     "threads that own the WebSocket sessions and fan events out to them"},
    {MERCATO_FIELD(auth, jwt_secret), "MERCATO_JWT_SECRET", "--jwt-secret", "SECRET",
     "HS256 secret, at least 32 bytes (required)"},
    {MERCATO_FIELD(auth, jwt_issuer), "MERCATO_JWT_ISSUER", "--jwt-issuer", "ISS",
     "when set, tokens must carry this iss"},
    {MERCATO_FIELD(auth, jwt_audience), "MERCATO_JWT_AUDIENCE", "--jwt-audience", "AUD",
     "when set, tokens' aud must name it"},
    {MERCATO_FIELD(log, level), "MERCATO_LOG_LEVEL", "--log-level", "LEVEL",
     "trace, debug, info, warn or error"},
    {MERCATO_FIELD(log, format), "MERCATO_LOG_FORMAT", "--log-format", "FORMAT", "json or text"},
    {MERCATO_FIELD(actors, scheduler_threads), "MERCATO_SCHEDULER_THREADS", "--scheduler-threads",
     "N", "CAF scheduler threads; 0 = number of cores"},
    {MERCATO_FIELD(actors, scheduler_policy), "MERCATO_SCHEDULER_POLICY", "--scheduler-policy",
     "POLICY", "CAF scheduler: stealing or sharing"},
    {MERCATO_FIELD(cluster, enabled), "MERCATO_CLUSTER", "--cluster", "",
     "join the cluster of nodes that share the database"},
    {MERCATO_FIELD(cluster, node_id), "MERCATO_NODE_ID", "--node-id", "ID",
     "this node's name in the cluster (default: hostname and random hex)"},
    {MERCATO_FIELD(cluster, host), "MERCATO_CLUSTER_HOST", "--cluster-host", "HOST",
     "address peers reach this node's remoting port at"},
    {MERCATO_FIELD(cluster, port), "MERCATO_CLUSTER_PORT", "--cluster-port", "PORT",
     "remoting port; 0 picks a free one"},
    {MERCATO_FIELD(cluster, shard_count), "MERCATO_SHARD_COUNT", "--shard-count", "N",
     "shards of a new cluster (fixed once it exists)"},
    {MERCATO_FIELD(cluster, heartbeat_ms), "", "--cluster-heartbeat-ms", "MS", "heartbeat period"},
    {MERCATO_FIELD(cluster, lease_ms), "", "--cluster-lease-ms", "MS",
     "a heartbeat's validity on the database's clock"},
    {MERCATO_FIELD(cluster, self_fence_ms), "", "--cluster-self-fence-ms", "MS",
     "stop answering after this long without renewing (below the lease)"},
    {MERCATO_FIELD(cluster, mark_dead_after_ms), "", "--cluster-mark-dead-after-ms", "MS",
     "mark expired members dead only after being alive this long"},
    {MERCATO_FIELD(cluster, moves_per_round), "", "--cluster-moves-per-round", "N",
     "shards handed to a joining node at a time"},
    {MERCATO_FIELD(cluster, wait_for_owner_ms), "", "--cluster-wait-for-owner-ms", "MS",
     "how long a message waits for its shard to get a serving owner"},
    {MERCATO_FIELD(cluster, forward_timeout_ms), "", "--cluster-forward-timeout-ms", "MS",
     "deadline of a request forwarded to another node"},
    {MERCATO_FIELD(cluster, peer_heartbeat_ms), "", "--cluster-peer-heartbeat-ms", "MS",
     "remoting heartbeat between nodes"},
    {MERCATO_FIELD(cluster, peer_timeout_ms), "", "--cluster-peer-timeout-ms", "MS",
     "a silent peer connection is closed after it"},
    {MERCATO_FIELD(testing, fault_injection), "MERCATO_FAULT_INJECTION", "--fault-injection", "",
     "enable entity fault hooks (tests only)"},
    {MERCATO_FIELD(testing, settle_delay_ms), "", "--settle-delay-ms", "MS",
     "with --fault-injection: wait between a checkout's answer and settling (tests only)"},
  };
  return table;
}

#undef MERCATO_FIELD

std::string_view section_of(std::string_view path) {
  return path.substr(0, path.find('.'));
}

std::string_view key_of(std::string_view path) {
  return path.substr(path.find('.') + 1);
}

const field* find_field(std::string_view path) {
  for (const auto& f : fields())
    if (f.path == path)
      return &f;
  return nullptr;
}

std::string join_keys_of(std::string_view section) {
  std::string out;
  for (const auto& f : fields()) {
    if (section_of(f.path) != section)
      continue;
    if (!out.empty())
      out += ", ";
    out += key_of(f.path);
  }
  return out;
}

std::vector<std::string_view> sections() {
  std::vector<std::string_view> out;
  for (const auto& f : fields())
    if (std::find(out.begin(), out.end(), section_of(f.path)) == out.end())
      out.push_back(section_of(f.path));
  return out;
}

// Collects every problem; `origin` remembers which layer set each path last so that a
// validation error can say where the bad value came from.
struct report {
  std::vector<std::string>& errors;
  std::map<std::string, std::string, std::less<>> origin;

  void add(std::string_view path, const std::string& what) {
    std::string msg{path};
    msg += ": ";
    msg += what;
    if (auto i = origin.find(path); i != origin.end()) {
      msg += " (from ";
      msg += i->second;
      msg += ')';
    }
    errors.push_back(std::move(msg));
  }
};

std::string shown_as(std::string_view text) {
  constexpr size_t max_shown = 80;
  std::string out{"'"};
  out += text.substr(0, max_shown);
  if (text.size() > max_shown)
    out += "...";
  out += '\'';
  return out;
}

// Outbound calls go through libcurl (net::http_call), which takes http:// and https:// URLs.
void check_http_url(report& rep, std::string_view path, const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    rep.add(path, "expected http(s)://HOST[:PORT][/PATH], got " + shown_as(url));
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t out = 0;
  const char* first = text.data();
  const char* last = first + text.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (text.empty() || ec != std::errc{} || ptr != last)
    return std::nullopt;
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower{text};
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1")
    return true;
  if (lower == "false" || lower == "0")
    return false;
  return std::nullopt;
}

// The layers differ in how they read a value, not in how they store it: a source says what its
// value is as each member type (nullopt: not that type) and how to show it in a message, and
// `assign` sets the member, range checks included, the same way for every layer.

// Text from the environment or a flag.
struct text_source {
  static constexpr std::string_view bool_words = "true, false, 1 or 0";
  std::string_view text;
  std::optional<std::string> string() const {
    return std::string{text};
  }
  std::optional<int64_t> integer() const {
    return parse_int(text);
  }
  std::optional<bool> boolean() const {
    return parse_bool(text);
  }
  std::string show() const {
    return shown_as(text);
  }
};

// A value of the JSON file; types must match exactly (no "10" for 10, no 10.0).
struct json_source {
  static constexpr std::string_view bool_words = "true or false";
  const nlohmann::json& j;
  std::optional<std::string> string() const {
    if (!j.is_string())
      return std::nullopt;
    return j.get<std::string>();
  }
  std::optional<int64_t> integer() const {
    if (j.is_number_unsigned()) {
      auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return std::nullopt;
      return static_cast<int64_t>(u);
    }
    if (j.is_number_integer())
      return j.get<int64_t>();
    return std::nullopt;
  }
  std::optional<bool> boolean() const {
    if (!j.is_boolean())
      return std::nullopt;
    return j.get<bool>();
  }
  std::string show() const {
    return shown_as(j.dump());
  }
};

// Sets a field from `src`; returns the problem, if any.
template <class Source>
std::optional<std::string> assign(value_ref ref, const Source& src) {
  struct visitor {
    const Source& src;
    std::optional<std::string> operator()(std::string* p) const {
      auto v = src.string();
      if (!v)
        return "expected a string, got " + src.show();
      *p = std::move(*v);
      return std::nullopt;
    }
    std::optional<std::string> operator()(int64_t* p) const {
      auto v = src.integer();
      if (!v)
        return "expected an integer, got " + src.show();
      *p = *v;
      return std::nullopt;
    }
    std::optional<std::string> operator()(int* p) const {
      auto v = src.integer();
      if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())
        return "expected an integer, got " + src.show();
      *p = static_cast<int>(*v);
      return std::nullopt;
    }
    std::optional<std::string> operator()(bool* p) const {
      auto v = src.boolean();
      if (!v)
        return "expected " + std::string{Source::bool_words} + ", got " + src.show();
      *p = *v;
      return std::nullopt;
    }
  };
  return std::visit(visitor{src}, ref);
}

std::string strip_json_exception_prefix(std::string what) {
  // "[json.exception.parse_error.101] parse error at line 2, ..." -> "parse error at line 2, ..."
  if (!what.empty() && what.front() == '[')
    if (auto close = what.find("] "); close != std::string::npos)
      what.erase(0, close + 2);
  return what;
}

void apply_file(const std::string& file, settings& s, report& rep) {
  const std::string source = "config file " + shown_as(file);
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    rep.errors.push_back("--config: cannot read " + shown_as(file));
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json doc;
  try {
    // Comments are allowed: a config file is written by people.
    doc = nlohmann::json::parse(text.str(), nullptr, true, true);
  } catch (const nlohmann::json::parse_error& e) {
    rep.errors.push_back(source + ": " + strip_json_exception_prefix(e.what()));
    return;
  }
  if (!doc.is_object()) {
    rep.errors.push_back(source + ": expected a JSON object with sections as keys");
    return;
  }
  const auto known_sections = sections();
  for (const auto& [section, body] : doc.items()) {
    if (std::find(known_sections.begin(), known_sections.end(), section) == known_sections.end()) {
      std::string known;
      for (auto name : known_sections)
        known += (known.empty() ? "" : ", ") + std::string{name};
      rep.errors.push_back(section + ": unknown section (known: " + known + ") in " + source);
      continue;
    }
    if (!body.is_object()) {
      rep.errors.push_back(section + ": expected an object, got " + shown_as(body.dump()) + " in "
                           + source);
      continue;
    }
    for (const auto& [key, value] : body.items()) {
      const std::string path = section + "." + key;
      const field* f = find_field(path);
      if (f == nullptr) {
        rep.errors.push_back(path + ": unknown key (known: " + join_keys_of(section) + ") in "
                             + source);
        continue;
      }
      if (auto err = assign(f->get(s), json_source{value})) {
        rep.errors.push_back(path + ": " + *err + " in " + source);
        continue;
      }
      rep.origin[path] = source;
    }
  }
}

void apply_environment(const std::map<std::string, std::string>& env, settings& s, report& rep) {
  for (const auto& f : fields()) {
    if (f.env.empty())
      continue;
    auto i = env.find(std::string{f.env});
    if (i == env.end())
      continue;
    if (auto err = assign(f.get(s), text_source{i->second})) {
      rep.errors.push_back(std::string{f.path} + ": " + *err + " (from " + std::string{f.env}
                           + ")");
      continue;
    }
    rep.origin[std::string{f.path}] = std::string{f.env};
  }
}

// Host and port of HOST:PORT or [V6]:PORT; nullopt if malformed, port unchecked beyond digits.
struct host_port {
  std::string_view host;
  std::string_view port;
};

std::optional<host_port> split_host_port(std::string_view addr) {
  host_port out;
  if (!addr.empty() && addr.front() == '[') {
    auto close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
      return std::nullopt;
    out.host = addr.substr(1, close - 1);
    out.port = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    out.host = addr.substr(0, colon);
    out.port = addr.substr(colon + 1);
    if (out.host.find(':') != std::string_view::npos) // bare IPv6 needs brackets
      return std::nullopt;
  }
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (out.host.empty() || out.port.empty() || out.port.size() > 5
      || !std::all_of(out.port.begin(), out.port.end(), is_digit))
    return std::nullopt;
  return out;
}

void validate(const settings& s, report& rep) {
  auto between = [&rep](std::string_view path, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      rep.add(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)
                      + ", got " + std::to_string(v));
  };
  auto at_least = [&rep](std::string_view path, int64_t v, int64_t lo) {
    if (v < lo)
      rep.add(path, "must be at least " + std::to_string(lo) + ", got " + std::to_string(v));
  };
  auto one_of = [&rep](std::string_view path, const std::string& v,
                       std::initializer_list<std::string_view> allowed) {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end())
      return;
    std::string names;
    for (auto a : allowed)
      names += (names.empty() ? "" : ", ") + std::string{a};
    rep.add(path, "expected one of " + names + ", got " + shown_as(v));
  };

  if (auto hp = split_host_port(s.server.http_addr); !hp)
    rep.add("server.http_addr", "expected HOST:PORT, got " + shown_as(s.server.http_addr));
  else if (std::stol(std::string{hp->port}) > 65535)
    rep.add("server.http_addr",
            "port must be between 0 and 65535, got " + shown_as(s.server.http_addr));
  between("server.io_threads", s.server.io_threads, 1, 64);
  between("server.max_body_bytes", s.server.max_body_bytes, 1024, int64_t{64} << 20);
  at_least("server.read_timeout_ms", s.server.read_timeout_ms, 1);
  between("limits.read_rps", s.limits.read_rps, 0, 1000000);
  between("limits.read_burst", s.limits.read_burst, 0, 1000000);
  between("limits.write_rps", s.limits.write_rps, 0, 1000000);
  between("limits.write_burst", s.limits.write_burst, 0, 1000000);
  between("limits.max_connections", s.limits.max_connections, 1, 1000000);
  for (std::string_view rest = s.limits.exempt_roles; !rest.empty();) {
    auto comma = rest.find(',');
    auto name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if ((name != "customer" && name != "service" && name != "admin")
        || (comma != std::string_view::npos && rest.empty())) {
      rep.add("limits.exempt_roles", "expected roles (customer, service, admin) separated by "
                                     "commas, got "
                                       + shown_as(s.limits.exempt_roles));
      break;
    }
  }

  // The DSN and the secret are never echoed: they may hold credentials.
  if (s.db.url.empty())
    rep.add("db.url", "required (set MERCATO_DATABASE_URL or --database-url)");
  between("db.readers", s.db.readers, 1, 32);
  if (s.db.stall_timeout_ms != 0)
    between("db.stall_timeout_ms", s.db.stall_timeout_ms, 1000, 600000);

  at_least("journal.batch_max", s.journal.batch_max, 1);
  between("journal.batch_delay_us", s.journal.batch_delay_us, 0, 1'000'000);
  at_least("journal.snapshot_every", s.journal.snapshot_every, 1);

  at_least("entity.passivate_after_ms", s.entity.passivate_after_ms, 1);
  at_least("entity.max_hold_ttl_ms", s.entity.max_hold_ttl_ms, 1000);
  between("entity.max_waiting_reservations", s.entity.max_waiting_reservations, 1, 1'000'000);
  if (s.entity.default_hold_ttl_ms < 1000)
    at_least("entity.default_hold_ttl_ms", s.entity.default_hold_ttl_ms, 1000);
  else if (s.entity.default_hold_ttl_ms > s.entity.max_hold_ttl_ms)
    rep.add("entity.default_hold_ttl_ms", "must not exceed entity.max_hold_ttl_ms ("
                                            + std::to_string(s.entity.max_hold_ttl_ms) + "), got "
                                            + std::to_string(s.entity.default_hold_ttl_ms));
  at_least("entity.request_timeout_ms", s.entity.request_timeout_ms, 1);
  at_least("entity.restart_budget", s.entity.restart_budget, 0);
  at_least("entity.restart_window_ms", s.entity.restart_window_ms, 1);
  at_least("entity.backoff_min_ms", s.entity.backoff_min_ms, 1);
  if (s.entity.backoff_max_ms < s.entity.backoff_min_ms)
    rep.add("entity.backoff_max_ms", "must not be below entity.backoff_min_ms ("
                                       + std::to_string(s.entity.backoff_min_ms) + "), got "
                                       + std::to_string(s.entity.backoff_max_ms));

  at_least("checkout.cart_ttl_ms", s.checkout.cart_ttl_ms, 1000);
  at_least("checkout.hold_ttl_ms", s.checkout.hold_ttl_ms, 1000);
  between("checkout.step_timeout_ms", s.checkout.step_timeout_ms, 1, 600000);
  between("checkout.payment_timeout_ms", s.checkout.payment_timeout_ms, 1, 600000);
  at_least("checkout.shipping_flat_minor", s.checkout.shipping_flat_minor, 0);
  between("checkout.compensation_attempts", s.checkout.compensation_attempts, 1, 1000);
  between("checkout.compensation_backoff_ms", s.checkout.compensation_backoff_ms, 1, 60000);
  if (s.checkout.idempotency_retention_ms != 0)
    between("checkout.idempotency_retention_ms", s.checkout.idempotency_retention_ms, 1000,
            366LL * 86400000);
  // A checkout's holds must outlive its slowest path to the order (reserve, coupon, payment,
  // placement), with room to spare: a hold that expires before the order is placed would sell
  // the same units twice or leave the order without them.
  {
    auto ttl = std::min(s.checkout.hold_ttl_ms, s.entity.max_hold_ttl_ms);
    auto path = s.checkout.payment_timeout_ms + 4 * s.checkout.step_timeout_ms;
    if (ttl >= 1000 && ttl < 2 * path)
      rep.add("checkout.hold_ttl_ms",
              "must be at least twice checkout.payment_timeout_ms + 4 x checkout.step_timeout_ms ("
                + std::to_string(2 * path) + "), got " + std::to_string(ttl)
                + (ttl < s.checkout.hold_ttl_ms ? " (capped by entity.max_hold_ttl_ms)" : ""));
  }
  // A year bounds the expectations: beyond it a delay warning means nothing, and due times
  // stay far from overflowing.
  constexpr int64_t year_ms = 365 * 86400000LL;
  between("orders.expected_paid_ms", s.orders.expected_paid_ms, 0, year_ms);
  between("orders.expected_confirmed_ms", s.orders.expected_confirmed_ms, 0, year_ms);
  between("orders.expected_in_production_ms", s.orders.expected_in_production_ms, 0, year_ms);
  between("orders.expected_produced_ms", s.orders.expected_produced_ms, 0, year_ms);
  between("orders.expected_shipped_ms", s.orders.expected_shipped_ms, 0, year_ms);
  between("orders.expected_out_for_delivery_ms", s.orders.expected_out_for_delivery_ms, 0, year_ms);
  between("orders.expected_delivery_failed_ms", s.orders.expected_delivery_failed_ms, 0, year_ms);
  between("orders.delivery_soon_window_ms", s.orders.delivery_soon_window_ms, 0, year_ms);
  between("orders.delay_sweep_ms", s.orders.delay_sweep_ms, 10, 3600000);
  between("projections.list_wait_ms", s.projections.list_wait_ms, 0, 60000);
  between("projections.poll_ms", s.projections.poll_ms, 10, 3600000);
  between("projections.batch", s.projections.batch, 1, 100000);

  at_least("testing.settle_delay_ms", s.testing.settle_delay_ms, 0);
  if (s.testing.settle_delay_ms > 0 && !s.testing.fault_injection)
    rep.add("testing.settle_delay_ms", "only with testing.fault_injection");

  one_of("payments.provider", s.payments.provider, {"sandbox", "http"});
  at_least("payments.sandbox_slow_ms", s.payments.sandbox_slow_ms, 0);
  if (s.payments.provider == "http") {
    if (s.payments.psp_url.empty())
      rep.add("payments.psp_url", "required with payments.provider http");
    else
      check_http_url(rep, "payments.psp_url", s.payments.psp_url);
    if (s.payments.webhook_secret.size() < 16)
      rep.add("payments.webhook_secret", "must be at least 16 bytes with payments.provider http");
  }

  if (!s.webhooks.endpoints.empty()) {
    for (const auto& url : webhook_endpoints(s.webhooks))
      if (url.rfind("http://", 0) != 0 || url.size() == 7 || url.find(' ') != std::string::npos)
        rep.add("webhooks.endpoints", "expected http://HOST[:PORT][/PATH], got " + shown_as(url));
    if (webhook_endpoints(s.webhooks).empty())
      rep.add("webhooks.endpoints", "names no URL");
    // Never echoed: it is a credential.
    if (s.webhooks.secret.size() < 16)
      rep.add("webhooks.secret", "must be at least 16 bytes when webhooks.endpoints is set");
  }
  between("webhooks.max_attempts", s.webhooks.max_attempts, 1, 1000);
  at_least("webhooks.backoff_min_ms", s.webhooks.backoff_min_ms, 1);
  if (s.webhooks.backoff_max_ms < s.webhooks.backoff_min_ms)
    rep.add("webhooks.backoff_max_ms", "must not be below webhooks.backoff_min_ms ("
                                         + std::to_string(s.webhooks.backoff_min_ms) + "), got "
                                         + std::to_string(s.webhooks.backoff_max_ms));
  between("webhooks.batch", s.webhooks.batch, 1, 10000);
  if (!s.notifications.smtp_url.empty()) {
    const auto& u = s.notifications.smtp_url;
    if (u.rfind("smtp://", 0) != 0 && u.rfind("smtps://", 0) != 0)
      rep.add("notifications.smtp_url", "expected smtp://HOST[:PORT] or smtps://HOST[:PORT]");
    if (s.notifications.smtp_from.find('@') == std::string::npos)
      rep.add("notifications.smtp_from", "must be an email address when smtp_url is set");
  }
  between("notifications.smtp_timeout_ms", s.notifications.smtp_timeout_ms, 100, 600000);
  for (auto [name, url] : {std::pair{"notifications.sms_url", &s.notifications.sms_url},
                           std::pair{"notifications.push_url", &s.notifications.push_url}})
    if (!url->empty())
      check_http_url(rep, name, *url);
  between("notifications.provider_timeout_ms", s.notifications.provider_timeout_ms, 100, 600000);
  between("notifications.max_attempts", s.notifications.max_attempts, 1, 100);
  at_least("notifications.backoff_min_ms", s.notifications.backoff_min_ms, 1);
  if (s.notifications.backoff_max_ms < s.notifications.backoff_min_ms)
    rep.add("notifications.backoff_max_ms", "must not be below notifications.backoff_min_ms");
  between("webhooks.poll_ms", s.webhooks.poll_ms, 1, 600000);

  const auto& ms = s.marketplace_sync;
  at_least("marketplace_sync.initial_lookback_ms", ms.initial_lookback_ms, 0);
  between("marketplace_sync.settle_ms", ms.settle_ms, 0, 86400000);
  between("marketplace_sync.request_timeout_ms", ms.request_timeout_ms, 100, 600000);
  between("marketplace_sync.max_attempts", ms.max_attempts, 1, 100);
  at_least("marketplace_sync.backoff_min_ms", ms.backoff_min_ms, 1);
  if (ms.backoff_max_ms < ms.backoff_min_ms)
    rep.add("marketplace_sync.backoff_max_ms", "must not be below marketplace_sync.backoff_min_ms");
  at_least("marketplace_sync.max_retry_after_ms", ms.max_retry_after_ms, 1000);

  between("ws.max_subscriptions", s.ws.max_subscriptions, 1, 10000);
  between("ws.max_queued_frames", s.ws.max_queued_frames, 1, 1000000);
  between("ws.max_queued_bytes", s.ws.max_queued_bytes, 1024, int64_t{1} << 32);
  between("ws.max_frame_bytes", s.ws.max_frame_bytes, 256, 1 << 20);
  between("ws.max_replay", s.ws.max_replay, 0, 100000);
  between("ws.idle_timeout_ms", s.ws.idle_timeout_ms, 100, 3600000);
  between("ws.close_timeout_ms", s.ws.close_timeout_ms, 100, 600000);
  between("ws.send_buffer_bytes", s.ws.send_buffer_bytes, 0, 64 << 20);
  between("ws.threads", s.ws.threads, 1, 64);

  if (s.auth.jwt_secret.empty())
    rep.add("auth.jwt_secret", "required (set MERCATO_JWT_SECRET or --jwt-secret)");
  else if (s.auth.jwt_secret.size() < 32) // RFC 7518 §3.2: at least the hash's 256 bits
    rep.add("auth.jwt_secret",
            "must be at least 32 bytes, got " + std::to_string(s.auth.jwt_secret.size()));

  one_of("log.level", s.log.level, {"trace", "debug", "info", "warn", "error"});
  one_of("log.format", s.log.format, {"json", "text"});
  one_of("actors.scheduler_policy", s.actors.scheduler_policy, {"stealing", "sharing"});

  between("actors.scheduler_threads", s.actors.scheduler_threads, 0, 256);

  between("cluster.port", s.cluster.port, 0, 65535);
  between("cluster.shard_count", s.cluster.shard_count, 1, 65536);
  between("cluster.heartbeat_ms", s.cluster.heartbeat_ms, 50, 60000);
  between("cluster.lease_ms", s.cluster.lease_ms, 200, 600000);
  between("cluster.self_fence_ms", s.cluster.self_fence_ms, 100, 600000);
  between("cluster.mark_dead_after_ms", s.cluster.mark_dead_after_ms, 0, 600000);
  between("cluster.moves_per_round", s.cluster.moves_per_round, 1, 65536);
  between("cluster.wait_for_owner_ms", s.cluster.wait_for_owner_ms, 0, 600000);
  between("cluster.forward_timeout_ms", s.cluster.forward_timeout_ms, 100, 600000);
  between("cluster.peer_heartbeat_ms", s.cluster.peer_heartbeat_ms, 10, 60000);
  between("cluster.peer_timeout_ms", s.cluster.peer_timeout_ms, 100, 600000);
  if (s.cluster.self_fence_ms >= s.cluster.lease_ms)
    rep.add("cluster.self_fence_ms", "must be below cluster.lease_ms, or a node may serve after "
                                     "the cluster took its shards");
  if (s.cluster.heartbeat_ms * 2 > s.cluster.self_fence_ms)
    rep.add("cluster.heartbeat_ms", "must be at most half of cluster.self_fence_ms");
  if (s.cluster.peer_timeout_ms < 4 * s.cluster.peer_heartbeat_ms)
    rep.add("cluster.peer_timeout_ms", "must be at least 4 times cluster.peer_heartbeat_ms");
}

// Reads the shops of `marketplace_sync.shops_file`; each problem names the entry and its key.
void read_shops_file(marketplace_sync_settings& ms, report& rep) {
  constexpr std::string_view path = "marketplace_sync.shops_file";
  if (ms.shops_file.empty())
    return;
  std::ifstream in{ms.shops_file, std::ios::binary};
  if (!in) {
    rep.add(path, "cannot read " + shown_as(ms.shops_file));
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.str(), nullptr, true, true);
  } catch (const nlohmann::json::parse_error& e) {
    rep.add(path, strip_json_exception_prefix(e.what()));
    return;
  }
  if (!doc.is_array()) {
    rep.add(path, "expected a JSON array of shops");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    const std::string where = std::string{path} + "[" + std::to_string(i) + "]";
    if (!entry.is_object()) {
      rep.add(where, "expected an object");
      continue;
    }
    marketplace_shop shop;
    const std::vector<std::pair<std::string_view, value_ref>> keys{
      {"name", &shop.name},
      {"platform", &shop.platform},
      {"base_url", &shop.base_url},
      {"app_key", &shop.app_key},
      {"app_secret", &shop.app_secret},
      {"access_token", &shop.access_token},
      {"refresh_token", &shop.refresh_token},
      {"auth_url", &shop.auth_url},
      {"shop_id", &shop.shop_id},
      {"currency", &shop.currency},
      {"interval_ms", &shop.interval_ms},
      {"page_size", &shop.page_size},
      {"since", &shop.since_s}};
    for (const auto& item : entry.items()) {
      const auto& key = item.key();
      const auto& value = item.value();
      auto k
        = std::find_if(keys.begin(), keys.end(), [&](const auto& p) { return p.first == key; });
      if (k == keys.end()) {
        rep.add(where + "." + key, "unknown key");
        continue;
      }
      if (auto err = assign(k->second, json_source{value}))
        // A credential of the wrong type is not echoed.
        rep.add(where + "." + key,
                key == "app_secret" || key == "access_token" || key == "refresh_token"
                  ? std::string{"expected a string"}
                  : *err);
    }
    const bool lazada = shop.platform == "lazada";
    if (shop.platform != "tiktok" && shop.platform != "shopee" && !lazada)
      rep.add(where + ".platform",
              "expected tiktok, shopee or lazada, got " + shown_as(shop.platform));
    if (shop.name.empty() || shop.name.size() > 64)
      rep.add(where + ".name", "must be 1 to 64 characters");
    else if (!names.insert(shop.name).second)
      rep.add(where + ".name", "names another shop too: " + shown_as(shop.name));
    auto check_root = [&](const char* key, const std::string& url) {
      check_http_url(rep, where + "." + key, url);
    };
    check_root("base_url", shop.base_url);
    for (auto [key, v] :
         {std::pair{"app_key", &shop.app_key}, std::pair{"app_secret", &shop.app_secret}})
      if (v->empty())
        rep.add(where + "." + key, "is required");
    // With a refresh token the sync gets its own access token; without one it needs the
    // operator's.
    const bool refreshes = entry.contains("refresh_token");
    if (refreshes && shop.refresh_token.empty() && entry.at("refresh_token").is_string())
      rep.add(where + ".refresh_token",
              "must not be empty (leave it out to use access_token as it is)");
    if (!refreshes && shop.access_token.empty())
      rep.add(where + ".access_token", "is required");
    if (shop.auth_url.empty()) {
      if (shop.platform == "tiktok")
        shop.auth_url = "https://auth.tiktok-shops.com";
      else if (lazada)
        shop.auth_url = "https://auth.lazada.com/rest";
      else
        shop.auth_url = shop.base_url;
    } else {
      check_root("auth_url", shop.auth_url);
    }
    // Shopee's refresh call carries both as JSON numbers.
    if (shop.platform == "shopee" && refreshes)
      for (auto [key, v] :
           {std::pair{"app_key", &shop.app_key}, std::pair{"shop_id", &shop.shop_id}})
        if (auto n = parse_int(*v); !v->empty() && (!n || *n < 0))
          rep.add(where + "." + key,
                  "must be a number for shopee's token refresh, got " + shown_as(*v));
    if ((shop.platform == "tiktok" || shop.platform == "shopee") && shop.shop_id.empty())
      rep.add(where + ".shop_id", "is required for " + shop.platform);
    if (lazada && shop.currency.size() != 3)
      rep.add(where + ".currency", "is required for lazada: an ISO 4217 code such as MYR");
    if (shop.interval_ms < 1000 || shop.interval_ms > 7 * 86400000LL)
      rep.add(where + ".interval_ms", "must be between 1000 and 604800000");
    if (shop.page_size < 1 || shop.page_size > 100)
      rep.add(where + ".page_size", "must be between 1 and 100");
    if (shop.since_s < 0)
      rep.add(where + ".since", "must be unix seconds");
    ms.shops.push_back(std::move(shop));
  }
}

std::string environment_footer() {
  std::string out = "Precedence: defaults < --config FILE (JSON) < environment < flags.\n"
                    "Environment:";
  for (const auto& f : fields())
    if (!f.env.empty())
      out += "\n  " + std::string{f.env} + " (" + std::string{f.path} + ")";
  return out;
}

// Hides the value of `--name=value` so that a mistyped `--jwt-secrt=...` is not echoed.
std::string without_value(const std::string& arg) {
  if (arg.rfind("-", 0) == 0)
    if (auto eq = arg.find('='); eq != std::string::npos)
      return arg.substr(0, eq) + "=...";
  return arg;
}

} // namespace

load_result load(int argc, const char* const* argv, const std::map<std::string, std::string>& env) {
  load_result result;
  report rep{result.errors, {}};

  CLI::App app{"Mercato: an actor-based commerce backend.", "mercato"};
  app.allow_extras();
  app.footer(environment_footer());
  app.set_version_flag("--version", "mercato " MERCATO_VERSION);

  std::string config_file;
  auto* config_opt = app.add_option("--config", config_file, "JSON settings file")
                       ->type_name("FILE")
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  // Flags bind to text (or a bool for switches) and are applied after the file and the
  // environment, so that the order of layers does not depend on CLI11.
  struct bound {
    const field* f;
    CLI::Option* opt;
    std::string text;
    bool on = false;
  };
  std::deque<bound> flags; // deque: options keep pointers to the members
  for (const auto& f : fields()) {
    if (f.flag.empty())
      continue;
    auto& b = flags.emplace_back(bound{&f, nullptr, {}, false});
    std::string help{f.help};
    if (!f.env.empty())
      help += " [env " + std::string{f.env} + "]";
    if (std::holds_alternative<bool*>(f.get(result.values))) {
      b.opt = app.add_flag(std::string{f.flag}, b.on, help);
    } else {
      b.opt = app.add_option(std::string{f.flag}, b.text, help)
                ->type_name(std::string{f.type_name})
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) { // --help or --version
    app.exit(e, std::cout, std::cerr);
    result.exit_early = true;
    return result;
  } catch (const CLI::ParseError& e) {
    result.errors.push_back(std::string{"command line: "} + e.what());
  }
  for (const auto& extra : app.remaining())
    result.errors.push_back("command line: unknown argument " + shown_as(without_value(extra)));

  if (config_opt->count() > 0)
    apply_file(config_file, result.values, rep);
  apply_environment(env, result.values, rep);
  for (const auto& b : flags) {
    if (b.opt->count() == 0)
      continue;
    const std::string path{b.f->path};
    value_ref ref = b.f->get(result.values);
    if (auto* flag = std::get_if<bool*>(&ref)) {
      // A switch stores switch_sets; `--fault-injection=false` (CLI11 syntax) stores false.
      **flag = b.on ? b.f->switch_sets : !b.f->switch_sets;
    } else if (auto err = assign(ref, text_source{b.text})) {
      result.errors.push_back(path + ": " + *err + " (from " + std::string{b.f->flag} + ")");
      continue;
    }
    rep.origin[path] = std::string{b.f->flag};
  }

  read_shops_file(result.values.marketplace_sync, rep);
  validate(result.values, rep);
  return result;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view kv{*entry};
    auto eq = kv.find('=');
    if (eq == std::string_view::npos)
      continue;
    out.emplace(std::string{kv.substr(0, eq)}, std::string{kv.substr(eq + 1)});
  }
  return out;
}

} // namespace mercato::config
