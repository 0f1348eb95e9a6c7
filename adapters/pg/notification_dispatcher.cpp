#include "adapters/pg/notification_dispatcher.hpp"

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/notification_store.hpp"
#include "adapters/pg/projections.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <cstdio>
#include <random>

namespace mercato::pg {

namespace {

using std::chrono::milliseconds;

struct due_delivery {
  std::string id;
  std::string channel; ///< email, sms or push
  std::string delivery_key;
  std::string customer_id;
  std::string order_id;
  std::string kind;
  std::string milestone;
  std::string address;
  std::string subject;
  std::string body;
  std::string priority;
  std::string locale;
  std::string template_id;
  int32_t template_version = 0;
  int32_t attempts = 0;
};

// The channels this sender has a provider for, as a PostgreSQL array literal.
std::string sent_channels(const dispatcher_settings& cfg) {
  array_literal out;
  if (!cfg.smtp.url.empty())
    out.add_raw("email");
  if (!cfg.sms.url.empty())
    out.add_raw("sms");
  if (!cfg.push.url.empty())
    out.add_raw("push");
  return out.done();
}

// Claims due deliveries of the channels it sends by moving their due time past the lease, in its
// own committed transaction: another sender (or this one after a crash) takes them again only once
// it ends. First, what falls due inside its customer's quiet hours is deferred to their end
// (migration 0016), unless its rule made it urgent; it stays pending meanwhile.
std::vector<due_delivery> claim(pqxx::connection& conn, const dispatcher_settings& cfg,
                                const std::string& sender) {
  pqxx::work txn{conn, "notify-claim"};
  txn.exec("UPDATE notifications n SET next_attempt_at = q.until, updated_at = now() FROM ("
           "SELECT d.id, mercato_quiet_until(p.time_zone, p.quiet_start_min, p.quiet_end_min, "
           "now()) AS until FROM notifications d JOIN notification_preferences p "
           "ON p.customer_id = d.customer_id WHERE d.status = 'pending' AND d.channel <> "
           "'in_app' AND d.priority = 'normal' AND d.next_attempt_at <= now() AND "
           "p.quiet_enabled) q WHERE n.id = q.id AND q.until IS NOT NULL");
  auto rows = txn.exec_params(
    "UPDATE notifications n SET next_attempt_at = now() + $1 * interval '1 millisecond', "
    "claimed_by = $4, updated_at = now() WHERE id IN (SELECT id FROM notifications WHERE status = "
    "'pending' AND "
    "channel = ANY($3::text[]) AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT "
    "$2 FOR UPDATE SKIP LOCKED) RETURNING id::text, delivery_key, customer_id, order_id, kind, "
    "milestone, address, subject, body, priority, locale, template_id, template_version, "
    "attempts, channel",
    static_cast<int64_t>(cfg.lease.count()), cfg.batch, sent_channels(cfg), sender);
  txn.commit();
  std::vector<due_delivery> out;
  for (const auto& r : rows) {
    due_delivery d;
    d.id = r[0].as<std::string>();
    d.delivery_key = r[1].as<std::string>();
    d.customer_id = r[2].as<std::string>();
    d.order_id = r[3].as<std::string>();
    d.kind = r[4].as<std::string>();
    d.milestone = r[5].as<std::string>();
    d.address = r[6].as<std::string>();
    d.subject = r[7].as<std::string>();
    d.body = r[8].as<std::string>();
    d.priority = r[9].as<std::string>();
    d.locale = r[10].as<std::string>();
    d.template_id = r[11].as<std::string>();
    d.template_version = r[12].as<int32_t>();
    d.attempts = r[13].as<int32_t>();
    d.channel = r[14].as<std::string>();
    out.push_back(std::move(d));
  }
  return out;
}

const char* outcome_name(channels::send_result::outcome o) {
  switch (o) {
  case channels::send_result::outcome::accepted:
    return "accepted";
  case channels::send_result::outcome::unknown:
    return "unknown";
  default:
    return "failed";
  }
}

// The channel after `d`'s, in the rule's order, among those the customer allows for this kind.
bool next_channel(pqxx::work& txn, const due_delivery& d, notification_channel& out,
                  std::string& address) {
  auto prefs = load_preferences(txn, d.customer_id);
  auto allowed = allowed_channels(prefs, d.kind);
  bool seen = false;
  for (auto c : notification_rule(d.kind).channels) {
    if (c == notification_channel::in_app || !allowed.allows(c))
      continue;
    if (seen) {
      out = c;
      address = c == notification_channel::sms     ? prefs.phone
                : c == notification_channel::email ? prefs.email
                                                   : std::string{};
      return true;
    }
    seen = seen || to_string(c) == d.channel;
  }
  return false;
}

// Seconds from a durable order event to an accepted message: seconds for the inbox, minutes
// when a provider is slow or retried, hours when quiet hours defer it.
runtime::histogram* delivery_histogram(runtime::metrics_registry* metrics,
                                       const std::string& channel) {
  if (metrics == nullptr)
    return nullptr;
  return &metrics->get_histogram(
    "mercato_notification_delivery_seconds",
    "Time from an order event becoming durable to a channel accepting its notification.",
    {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}, {{"channel", channel}});
}

void record(pqxx::connection& conn, const dispatcher_settings& cfg, const due_delivery& d,
            const channels::send_result& res, int64_t started_ms, std::mt19937_64& rng) {
  auto log = runtime::logger("pg");
  pqxx::work txn{conn, "notify-record"};
  auto attempts = d.attempts + 1;
  txn.exec_params("INSERT INTO notification_attempts (notification_id, attempt, channel, outcome, "
                  "detail, idempotency_key, started_at) VALUES ($1::bigint, $2, $7, $3, $4, "
                  "$5, to_timestamp($6::double precision / 1000))",
                  d.id, attempts, outcome_name(res.result), res.detail.substr(0, 1000),
                  notify::idempotency_key(d.delivery_key), started_ms, d.channel);
  if (res.result == channels::send_result::outcome::accepted) {
    auto row = txn.exec_params1(
      "UPDATE notifications SET status = 'delivered', attempts = $2, last_error = '', "
      "claimed_by = NULL, "
      "delivered_at = now(), updated_at = now() WHERE id = $1::bigint "
      "RETURNING extract(epoch FROM now() - event_recorded_at)::double precision",
      d.id, attempts);
    txn.commit();
    if (auto latency = delivery_histogram(cfg.metrics, d.channel))
      latency->observe(std::max(0.0, row[0].as<double>()));
    log->info("notification {} ({} of order {}) delivered by {}", d.id, d.kind, d.order_id,
              d.channel);
    return;
  }
  auto error = res.detail.empty() ? std::string{"refused"} : res.detail;
  notification_channel next{};
  std::string address;
  // An unknown outcome is repeated on the same channel (same Message-ID): moving on could tell
  // the customer twice.
  bool permanent = res.permanent && res.result != channels::send_result::outcome::unknown;
  bool has_next = next_channel(txn, d, next, address);
  auto action = notify::after_failure(cfg.retry, attempts, permanent, has_next);
  if (action == notify::failure_action::retry) {
    std::uniform_real_distribution<double> jitter{0.0, 1.0};
    auto wait = notify::backoff_ms(cfg.retry, attempts, jitter(rng));
    txn.exec_params("UPDATE notifications SET attempts = $2, last_error = $3, claimed_by = NULL, "
                    "next_attempt_at = "
                    "now() + $4 * interval '1 millisecond', updated_at = now() WHERE id = "
                    "$1::bigint",
                    d.id, attempts, error.substr(0, 1000), wait);
    txn.commit();
    log->warn("notification {} {} attempt {}/{} failed: {}; retries in {} ms", d.id, d.channel,
              attempts, cfg.retry.max_attempts, error, wait);
    return;
  }
  if (action == notify::failure_action::fallback) {
    txn.exec_params("UPDATE notifications SET status = 'failed', attempts = $2, last_error = $3, "
                    "claimed_by = NULL, "
                    "updated_at = now() WHERE id = $1::bigint",
                    d.id, attempts, error.substr(0, 1000));
    auto channel = to_string(next);
    // Keyed like every delivery: a repeated fallback plans nothing twice.
    txn.exec_params(
      "INSERT INTO notifications (delivery_key, customer_id, order_id, kind, milestone, channel, "
      "status, priority, address, locale, template_id, template_version, render_note, subject, "
      "body, event_recorded_at) SELECT $1, customer_id, order_id, kind, milestone, $2, "
      "'pending', priority, $3, locale, template_id, template_version, 'fallback after ' || $5, "
      "subject, body, event_recorded_at FROM notifications WHERE id = $4::bigint "
      "ON CONFLICT (delivery_key) DO NOTHING",
      d.order_id + "/" + d.milestone + "/" + channel, channel, address, d.id, d.channel);
    txn.commit();
    log->warn("notification {} gives up on {} after {} attempts ({}); falls back to {}", d.id,
              d.channel, attempts, error, channel);
    return;
  }
  txn.exec_params("UPDATE notifications SET status = 'dead', attempts = $2, last_error = $3, "
                  "claimed_by = NULL, "
                  "updated_at = now() WHERE id = $1::bigint",
                  d.id, attempts, error.substr(0, 1000));
  // The address is personal: the letter names the delivery, not where it was going.
  txn.exec_params("INSERT INTO dead_letters (kind, target, aggregate_type, aggregate_id, "
                  "event_id, payload, last_error, attempts) VALUES ('notification', $1, 'order', "
                  "$2, $3, jsonb_build_object('notification_id', $4::text, 'kind', $5::text, "
                  "'channel', $8::text), $6, $7)",
                  "customer:" + d.customer_id, d.order_id, d.delivery_key, d.id, d.kind,
                  error.substr(0, 1000), attempts, d.channel);
  txn.commit();
  log->error("notification {} ({} of order {}) is dead after {} {} attempts: {}", d.id, d.kind,
             d.order_id, attempts, d.channel, error);
}

channels::send_result send(const dispatcher_settings& cfg, const due_delivery& d) {
  auto key = notify::idempotency_key(d.delivery_key);
  if (d.channel == "email")
    return channels::send_email(cfg.smtp, {d.address, d.subject, d.body, key});
  channels::text_message m{d.address, d.customer_id, d.subject, d.body, key};
  return d.channel == "sms" ? channels::send_sms(cfg.sms, m) : channels::send_push(cfg.push, m);
}

// Hands back, due now, what an earlier sender claimed and never recorded (it died while
// sending): the sender is the only one, so whoever else holds a claim is gone.
int64_t release_claims_of_others(pqxx::connection& conn, const std::string& sender) {
  pqxx::work txn{conn, "notify-release"};
  auto rows
    = txn.exec_params("UPDATE notifications SET next_attempt_at = now(), claimed_by = NULL, "
                      "updated_at = now() WHERE status = 'pending' AND claimed_by IS NOT "
                      "NULL AND claimed_by <> $1 RETURNING 1",
                      sender);
  txn.commit();
  return static_cast<int64_t>(rows.size());
}

int round(pqxx::connection& conn, const dispatcher_settings& cfg, const std::string& sender,
          std::mt19937_64& rng) {
  auto due = claim(conn, cfg, sender);
  for (const auto& d : due) {
    auto started = std::chrono::duration_cast<milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    record(conn, cfg, d, send(cfg, d), started, rng);
  }
  return static_cast<int>(due.size());
}

struct dispatcher_state {
  static inline const char* name = "pg.notify-sender";
  std::unique_ptr<session> db;
  dispatcher_settings cfg;
  std::mt19937_64 rng{std::random_device{}()};
  std::string sender;    ///< this sender's name on its claims, new per start
  bool released = false; ///< the claims of earlier senders are handed back
};

caf::behavior dispatcher(caf::stateful_actor<dispatcher_state>* self, std::string db_url,
                         dispatcher_settings cfg) {
  self->state.db = std::make_unique<session>(std::move(db_url), "notify-sender");
  self->state.cfg = std::move(cfg);
  char sender[17];
  std::snprintf(sender, sizeof sender, "%016llx",
                static_cast<unsigned long long>(self->state.rng()));
  self->state.sender = sender;
  self->send(self, caf::tick_atom_v);
  return {
    [self](caf::tick_atom) {
      auto& st = self->state;
      auto n = st.db->run<int>([&](pqxx::connection& conn) {
        if (!st.released) {
          if (auto n = release_claims_of_others(conn, st.sender); n > 0)
            runtime::logger("pg")->warn("notifications: {} deliveries an earlier sender claimed "
                                        "and never recorded go again",
                                        n);
          st.released = true;
        }
        return round(conn, st.cfg, st.sender, st.rng);
      });
      if (!n)
        runtime::logger("pg")->warn("notification round fails: {}", to_string(n.error()));
      // A full batch may have more behind it; otherwise wait (an exit message gets in between).
      if (n && *n >= st.cfg.batch)
        self->send(self, caf::tick_atom_v);
      else
        self->delayed_send(self, st.cfg.poll, caf::tick_atom_v);
    },
  };
}

} // namespace

caf::actor spawn_notification_dispatcher(caf::actor_system& sys, std::string db_url,
                                         dispatcher_settings cfg) {
  return sys.spawn<caf::detached>(dispatcher, std::move(db_url), std::move(cfg));
}

int dispatch_once(const std::string& db_url, const dispatcher_settings& cfg) {
  pqxx::connection conn{db_url};
  std::mt19937_64 rng{42};
  return round(conn, cfg, "once", rng);
}

} // namespace mercato::pg
