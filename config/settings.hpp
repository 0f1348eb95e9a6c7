#pragma once

// One typed configuration. Defaults live here; config/load.cpp layers a JSON file, the
// environment (MERCATO_*) and command-line flags on top and validates the result.

#include <cstdint>
#include <string>
#include <vector>

namespace mercato::config {

/// HTTP front.
struct server_settings {
  std::string http_addr = "127.0.0.1:8080"; ///< MERCATO_HTTP_ADDR; port 0 picks a free port
  int io_threads = 1;                       ///< Asio threads
  int64_t max_body_bytes = 1 << 20;         ///< larger bodies get 413 payload_too_large
  int64_t read_timeout_ms = 30000;          ///< idle keep-alive connections are closed after it
  std::string port_file;                    ///< if set, the bound port is written there
  /// The built pages (/track, /admin, /assets): empty = `web/` beside the binary's folder
  /// (build/bin/mercato serves build/web, where tools/dev builds them).
  std::string pages_dir;
};

/// Overload protection of the HTTP front: token buckets per client (a verified token's subject,
/// else the peer address) and route class, and a cap on open connections.
struct limits_settings {
  int64_t read_rps = 200;    ///< GET, HEAD, OPTIONS per client and second; 0 = unlimited
  int64_t read_burst = 400;  ///< requests a client may make at once
  int64_t write_rps = 50;    ///< other methods per client and second; 0 = unlimited
  int64_t write_burst = 100; ///< requests a client may make at once
  /// Roles whose tokens are not limited: the shop's own back ends and operators.
  std::string exempt_roles = "service,admin";
  int64_t max_connections = 10000; ///< open HTTP and WebSocket connections; more are refused
};

/// PostgreSQL.
struct db_settings {
  std::string url;     ///< MERCATO_DATABASE_URL (libpq URI or key=value string)
  int readers = 2;     ///< detached recovery/catalogue readers
  bool migrate = true; ///< apply migrations at start
  /// A round trip to the database that takes longer is cut (its connection dropped, the work
  /// answered 503): a server that stopped answering cannot enforce its own statement_timeout
  /// (15 s), so this is the last bound on every wait for it. 0 = none.
  int64_t stall_timeout_ms = 20000;
  /// Set: rebuild this projection (orders, payments, checkouts_open, customer_feed, daily_stats)
  /// from the journal and exit.
  std::string rebuild_projection;
};

/// Group commit of the journal.
struct journal_settings {
  int64_t batch_max = 2048;     ///< most persist requests per transaction
  int64_t batch_delay_us = 0;   ///< extra wait to fill a batch; 0 = adaptive (commit when idle)
  int64_t snapshot_every = 200; ///< events between snapshots of one entity
};

/// Entity lifecycle.
struct entity_settings {
  int64_t passivate_after_ms = 120000;  ///< idle time before an entity stops
  int64_t default_hold_ttl_ms = 900000; ///< hold TTL when a reservation names none
  int64_t max_hold_ttl_ms = 7 * 86400000LL;
  /// Reservations of one stock item waiting for the journal, at most; more are refused at once.
  int64_t max_waiting_reservations = 512;
  int64_t request_timeout_ms = 5000; ///< API -> entity requests
  int restart_budget = 5;            ///< restarts allowed per window before 503
  int64_t restart_window_ms = 60000;
  int64_t backoff_min_ms = 20;
  int64_t backoff_max_ms = 5000;
};

/// Carts and the checkout saga.
struct checkout_settings {
  int64_t cart_ttl_ms = 86400000;     ///< idle time after which a cart answers 410 cart_expired
  int64_t hold_ttl_ms = 900000;       ///< TTL of checkout holds (at most entity.max_hold_ttl_ms)
  int64_t step_timeout_ms = 5000;     ///< reserve, coupon and order steps
  int64_t payment_timeout_ms = 10000; ///< authorisation; past it the saga compensates
  int64_t shipping_flat_minor = 0;    ///< shipping charged per order
  /// Rounds of a compensation whose steps failed (a void the provider did not take, a store
  /// that was down) before what is still owed goes to the dead letters (kind `message`).
  int compensation_attempts = 10;
  int64_t compensation_backoff_ms = 500; ///< before the second round, doubled up to a minute
  /// How long an Idempotency-Key answers its first checkout (0: for ever); after it, a request
  /// under the key is a new checkout, as payment APIs do after 24 hours.
  int64_t idempotency_retention_ms = 86400000;
};

/// Delay detection of orders: how long an order may stay in each status before it records a
/// `delay_warning` (0 = no expectation of that status), and how close its ETA must be for
/// `delivery_expected_soon`. Defaults fit made-to-order goods shipped by parcel.
struct orders_settings {
  int64_t expected_paid_ms = 3600000;                    ///< the checkout confirms at once
  int64_t expected_confirmed_ms = 2 * 86400000LL;        ///< until production starts
  int64_t expected_in_production_ms = 5 * 86400000LL;    ///< until production completes
  int64_t expected_produced_ms = 2 * 86400000LL;         ///< until handed to the carrier
  int64_t expected_shipped_ms = 5 * 86400000LL;          ///< until out for delivery
  int64_t expected_out_for_delivery_ms = 12 * 3600000LL; ///< until delivered
  int64_t expected_delivery_failed_ms = 2 * 86400000LL;  ///< until a new attempt or a return
  int64_t delivery_soon_window_ms = 86400000;            ///< 0 = never tell
  int64_t delay_sweep_ms = 60000; ///< how often passivated orders with a check due are woken
};

/// The read models kept from the journal (orders, payments, open checkouts).
struct projection_settings {
  int64_t list_wait_ms = 1000; ///< longest wait of a list read for the caller's own writes
  int64_t poll_ms = 1000;      ///< look for rows of other nodes this often (own commits ping)
  int batch = 500;             ///< events applied per transaction at most
  /// The shop's IANA time zone: the daily statistics count an order on its day there (API.md:
  /// UTC unless configured). Changing it rebuilds the statistics at the next start; every node
  /// of a cluster must name the same.
  std::string stats_time_zone = "UTC";
};

/// The payment provider.
struct payment_settings {
  std::string provider = "sandbox"; ///< sandbox or http
  std::string psp_url;              ///< base URL of the http provider
  std::string psp_api_key;          ///< bearer key sent to the http provider
  std::string webhook_secret;       ///< HMAC-SHA256 key of POST /v1/payments/webhook
  int64_t sandbox_slow_ms = 2000;   ///< how long the sandbox takes for `tok_slow`
};

/// The outbox publisher: delivers outbox rows to webhook endpoints.
struct webhook_settings {
  std::string endpoints;        ///< comma-separated http:// URLs; empty = no publisher
  std::string secret;           ///< HMAC-SHA256 key of X-Signature (>= 16 bytes with endpoints)
  int max_attempts = 8;         ///< attempts of one delivery before it is dead-lettered
  int64_t backoff_min_ms = 200; ///< delay before the second attempt, doubled per attempt
  int64_t backoff_max_ms = 30000;
  int batch = 100;       ///< outbox rows read per query
  int64_t poll_ms = 200; ///< wait before looking again when the outbox had nothing new
};

/// Notifications of order milestones.
struct notification_settings {
  /// Overrides of the built-in rules, `KIND=CHANNEL,CHANNEL[:all,urgent,template=ID];...`
  /// (channels in the order they are tried; see actors/protocol/notification_rules.hpp).
  /// Checked at start: a bad rule stops the node.
  std::string rules;
  /// Email: smtp:// or smtps:// URL of the submission server; empty = email is not sent
  /// (deliveries wait as pending).
  std::string smtp_url;
  std::string smtp_from;     ///< sender address; required with smtp_url
  std::string smtp_username; ///< empty: no authentication
  std::string smtp_password;
  int64_t smtp_timeout_ms = 15000; ///< one submission, connect to answer
  /// SMS and push: http:// base URL of each provider's API (see
  /// adapters/notify/http_channels.hpp); empty = that channel is not sent.
  std::string sms_url;
  std::string sms_api_key;
  std::string push_url;
  std::string push_api_key;
  int64_t provider_timeout_ms = 10000; ///< one SMS or push call, connect to answer
  int max_attempts = 4;                ///< attempts on one channel before its fallback
  int64_t backoff_min_ms = 1000;       ///< delay before the second attempt, doubled, jittered
  int64_t backoff_max_ms = 300000;
};

/// One marketplace shop whose orders are pulled (adapters/marketplaces/pull_sync.hpp); one entry
/// of the JSON array in `marketplace_sync.shops_file`.
struct marketplace_shop {
  std::string name;             ///< unique; names its durable cursor and its log lines
  std::string platform;         ///< tiktok, shopee or lazada
  std::string base_url;         ///< the platform's API root (http:// or https://)
  std::string app_key;          ///< TikTok app_key, Shopee partner_id, Lazada app_key
  std::string app_secret;       ///< HMAC-SHA256 key of the request signature (Shopee: partner key)
  std::string access_token;     ///< the shop's OAuth access token
  std::string refresh_token;    ///< set: the sync refreshes the access token itself (README.md)
  std::string auth_url;         ///< root of the token refresh call; load() fills the default
  std::string shop_id;          ///< TikTok shop_cipher, Shopee shop_id; unused by Lazada
  std::string currency;         ///< Lazada: the shop's ISO 4217 currency (its orders carry none)
  int64_t interval_ms = 900000; ///< time between the ends of two syncs (15 min)
  int page_size = 50;           ///< orders per list page (1..100)
  int64_t since_s = 0;          ///< first sync starts at this update time (unix s); 0 = lookback
};

/// Pulling marketplace orders: each shop is synced by its own worker, one per cluster.
struct marketplace_sync_settings {
  std::string shops_file; ///< JSON array of shops (marketplace_shop); empty = no pull sync
  int64_t initial_lookback_ms = 7LL * 24 * 3600 * 1000; ///< first sync of a shop without since
  /// Orders updated this recently wait for the next sync: platforms index changes with a lag,
  /// and a window is closed for good once its cursor passes it.
  int64_t settle_ms = 60000;
  int64_t request_timeout_ms = 30000; ///< one platform call, connect to answer
  int max_attempts = 5;               ///< failed calls of one page before the sync ends
  int64_t backoff_min_ms = 1000;      ///< wait after the first failure, doubled per failure
  int64_t backoff_max_ms = 60000;
  int64_t max_retry_after_ms = 300000; ///< longest Retry-After a 429 may impose
  std::vector<marketplace_shop> shops; ///< read from shops_file at start
};

/// Authentication.
struct auth_settings {
  std::string jwt_secret;   ///< MERCATO_JWT_SECRET, HS256; required, at least 32 bytes
  std::string jwt_issuer;   ///< non-empty: tokens must carry this `iss`
  std::string jwt_audience; ///< non-empty: tokens' `aud` must name it
};

/// Live subscriptions over WebSocket (/v1/ws).
struct ws_settings {
  int64_t max_subscriptions = 100;    ///< topics one session may follow
  int64_t max_queued_frames = 4096;   ///< unsent frames before a slow client gets 1008
  int64_t max_queued_bytes = 8 << 20; ///< unsent bytes before a slow client gets 1008
  int64_t max_frame_bytes = 4096;     ///< largest client frame; bigger ones close with 1009
  int64_t max_replay = 1000;          ///< events replayed for last_seq; more: a snapshot
  int64_t idle_timeout_ms = 60000;    ///< silent peers are pinged, then closed
  int64_t close_timeout_ms = 5000;    ///< closing handshake limit, then the socket closes
  int64_t send_buffer_bytes = 0;      ///< SO_SNDBUF of sessions; 0 = the kernel's default
  int threads = 1;                    ///< fan-out lanes: threads that own the sessions
};

/// Logging.
struct log_settings {
  std::string level = "info";  ///< trace, debug, info, warn, error
  std::string format = "json"; ///< json or text
};

/// CAF scheduler.
struct actor_settings {
  int scheduler_threads = 0; ///< 0 = number of cores
  /// sharing (idle workers sleep until woken) or stealing (per-worker queues, idle workers poll);
  /// docs/BENCHMARKS.md has the runs behind the default.
  std::string scheduler_policy = "sharing";
};

/// Several nodes sharing one database (DESIGN.md "Cluster"). Off: this node owns every entity.
struct cluster_settings {
  bool enabled = false;
  std::string node_id;                ///< empty: "<hostname>-<random hex>"
  std::string host = "127.0.0.1";     ///< where peers reach this node's CAF port (and it binds)
  int port = 0;                       ///< CAF remoting port; 0 picks a free one
  int shard_count = 256;              ///< used only by the node that creates the cluster
  int64_t heartbeat_ms = 500;         ///< heartbeat period
  int64_t lease_ms = 3000;            ///< a heartbeat's validity on the database's clock
  int64_t self_fence_ms = 2500;       ///< no renewal for this long: stop answering (< lease_ms)
  int64_t mark_dead_after_ms = 3000;  ///< mark others dead only after being alive this long
  int moves_per_round = 16;           ///< shards handed to a joining node at a time
  int64_t wait_for_owner_ms = 5000;   ///< a message for a shard without a serving owner waits
  int64_t forward_timeout_ms = 30000; ///< a request forwarded to the owner's node
  int64_t peer_heartbeat_ms = 250;    ///< CAF remoting heartbeat between nodes
  int64_t peer_timeout_ms = 2000;     ///< a silent peer connection is closed after it
};

/// Test-only switches; never enable in production.
struct testing_settings {
  bool fault_injection = false; ///< enables the fault hooks of entities
  /// With fault_injection: a checkout waits this long between its answer and settling, so that
  /// a test can stop the node in that window.
  int64_t settle_delay_ms = 0;
};

/// Everything, passed by value to what runtime/ spawns.
struct settings {
  server_settings server;
  limits_settings limits;
  db_settings db;
  journal_settings journal;
  entity_settings entity;
  checkout_settings checkout;
  orders_settings orders;
  projection_settings projections;
  payment_settings payments;
  webhook_settings webhooks;
  notification_settings notifications;
  marketplace_sync_settings marketplace_sync;
  ws_settings ws;
  auth_settings auth;
  log_settings log;
  actor_settings actors;
  cluster_settings cluster;
  testing_settings testing;
};

} // namespace mercato::config
