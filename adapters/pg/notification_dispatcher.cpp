#include "adapters/pg/notification_dispatcher.hpp"

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/notification_store.hpp"
#include "adapters/pg/projections.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>

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

// What came back from one attempt at the provider.
struct answered {
  due_delivery delivery;
  channels::send_result result;
  int64_t started_ms = 0;
};

} // namespace
} // namespace mercato::pg

// Messages between the sender, the notifiers and the channel port; they never leave the node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mercato::pg::due_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mercato::pg::answered)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mercato::channels::send_result)

namespace mercato::pg {
namespace {

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
// it ends. Of those at the front of the queue, what falls due inside its customer's quiet hours is
// deferred to their end instead (migration 0016), unless its rule made it urgent; it stays
// pending meanwhile. One statement, whose cost follows the claimed rows, not the queue's length.
std::vector<due_delivery> claim(pqxx::connection& conn, const dispatcher_settings& cfg,
                                const std::string& sender, int limit) {
  pqxx::work txn{conn, "notify-claim"};
  auto rows = txn.exec_params(
    "WITH due AS (SELECT id, customer_id, priority, next_attempt_at AS due_at FROM notifications "
    "WHERE status = 'pending' AND channel = ANY($3::text[]) AND next_attempt_at <= now() ORDER "
    "BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED), "
    "quiet AS MATERIALIZED (SELECT d.id, mercato_quiet_until(p.time_zone, p.quiet_start_min, "
    "p.quiet_end_min, now()) AS until FROM due d JOIN notification_preferences p ON "
    "p.customer_id = d.customer_id WHERE d.priority = 'normal' AND p.quiet_enabled), "
    "claimed AS (UPDATE notifications n SET next_attempt_at = COALESCE(q.until, now() + $1 * "
    "interval '1 millisecond'), claimed_by = CASE WHEN q.until IS NULL THEN $4 END, updated_at "
    "= now() FROM due LEFT JOIN quiet q ON q.id = due.id WHERE n.id = due.id RETURNING n.id, "
    "due.due_at, q.until IS NOT NULL AS deferred, delivery_key, n.customer_id, order_id, kind, "
    "milestone, address, subject, body, n.priority, locale, template_id, template_version, "
    "attempts, channel) "
    // In the order they fell due: a customer's notifier sends them in the order it gets them.
    "SELECT id::text, delivery_key, customer_id, order_id, kind, milestone, address, subject, "
    "body, priority, locale, template_id, template_version, attempts, channel FROM claimed "
    "WHERE NOT deferred ORDER BY due_at, id",
    static_cast<int64_t>(cfg.lease.count()), limit, sent_channels(cfg), sender);
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

// Writes the outcome of one failed attempt into `txn` (accepted ones: record_accepted); returns
// what to log once it is committed.
std::function<void()> record_one(pqxx::work& txn, const dispatcher_settings& cfg, const answered& a,
                                 std::mt19937_64& rng) {
  const auto& d = a.delivery;
  const auto& res = a.result;
  auto started_ms = a.started_ms;
  auto attempts = d.attempts + 1;
  txn.exec_params("INSERT INTO notification_attempts (notification_id, attempt, channel, outcome, "
                  "detail, idempotency_key, started_at) VALUES ($1::bigint, $2, $7, $3, $4, "
                  "$5, to_timestamp($6::double precision / 1000))",
                  d.id, attempts, outcome_name(res.result), res.detail.substr(0, 1000),
                  notify::idempotency_key(d.delivery_key), started_ms, d.channel);
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
    return [d, attempts, max = cfg.retry.max_attempts, error, wait] {
      runtime::logger("pg")->warn("notification {} {} attempt {}/{} failed: {}; retries in {} ms",
                                  d.id, d.channel, attempts, max, error, wait);
    };
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
    return [d, attempts, error, channel] {
      runtime::logger("pg")->warn(
        "notification {} gives up on {} after {} attempts ({}); falls back to {}", d.id, d.channel,
        attempts, error, channel);
    };
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
  return [d, attempts, error] {
    runtime::logger("pg")->error(
      "notification {} ({} of order {}) is dead after {} {} attempts: {}", d.id, d.kind, d.order_id,
      attempts, d.channel, error);
  };
}

channels::send_result send(const dispatcher_settings& cfg, const due_delivery& d) {
  auto key = notify::idempotency_key(d.delivery_key);
  if (d.channel == "email")
    return channels::send_email(cfg.smtp, {d.address, d.subject, d.body, key});
  channels::text_message m{d.address, d.customer_id, d.subject, d.body, key};
  return d.channel == "sms" ? channels::send_sms(cfg.sms, m) : channels::send_push(cfg.push, m);
}

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Records the outcomes in one transaction (one commit for a whole round of answers). When that
// fails, each is tried on its own so that one the database refuses holds up no other; what is
// still not recorded is sent again once its lease ends, with the same idempotency key.
// Writes the accepted ones of [first, last) into `txn` in one statement (their attempts and
// their new status); returns what to observe once it is committed.
template <class It>
std::function<void()> record_accepted(pqxx::work& txn, const dispatcher_settings& cfg, It first,
                                      It last) {
  array_literal ids, attempts, channels, details, keys, started;
  for (auto i = first; i != last; ++i) {
    ids.add_raw(i->delivery.id);
    attempts.add_raw(std::to_string(i->delivery.attempts + 1));
    channels.add_quoted(i->delivery.channel);
    details.add_quoted(i->result.detail.substr(0, 1000));
    keys.add_quoted(notify::idempotency_key(i->delivery.delivery_key));
    started.add_raw(std::to_string(i->started_ms));
  }
  auto rows = txn.exec_params(
    "WITH a AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], "
    "$5::text[], $6::bigint[]) AS t(id, attempt, channel, detail, key, started_ms)), "
    "logged AS (INSERT INTO notification_attempts (notification_id, attempt, channel, outcome, "
    "detail, idempotency_key, started_at) SELECT id, attempt, channel, 'accepted', detail, key, "
    "to_timestamp(started_ms::double precision / 1000) FROM a) "
    "UPDATE notifications n SET status = 'delivered', attempts = a.attempt, last_error = '', "
    "claimed_by = NULL, delivered_at = now(), updated_at = now() FROM a WHERE n.id = a.id "
    "RETURNING n.id::text, n.channel, n.kind, n.order_id, "
    "extract(epoch FROM now() - n.event_recorded_at)::double precision",
    ids.done(), attempts.done(), channels.done(), details.done(), keys.done(), started.done());
  return [&cfg, rows] {
    auto log = runtime::logger("pg");
    for (const auto& row : rows) {
      if (auto latency = delivery_histogram(cfg.metrics, row[1].as<std::string>()))
        latency->observe(std::max(0.0, row[4].as<double>()));
      log->debug("notification {} ({} of order {}) delivered by {}", row[0].as<std::string>(),
                 row[2].as<std::string>(), row[3].as<std::string>(), row[1].as<std::string>());
    }
  };
}

void record_all(session& db, const dispatcher_settings& cfg, std::vector<answered>& batch,
                std::mt19937_64& rng) {
  // The accepted ones first, together: under load nearly all of them are.
  std::stable_partition(batch.begin(), batch.end(), [](const answered& a) {
    return a.result.result == channels::send_result::outcome::accepted;
  });
  auto write = [&](auto first, auto last) {
    return db.run<bool>(
      [&](pqxx::connection& conn) {
        pqxx::work txn{conn, "notify-record"};
        std::vector<std::function<void()>> after;
        auto i = first;
        while (i != last && i->result.result == channels::send_result::outcome::accepted)
          ++i;
        if (i != first)
          after.push_back(record_accepted(txn, cfg, first, i));
        for (; i != last; ++i)
          after.push_back(record_one(txn, cfg, *i, rng));
        txn.commit();
        for (auto& f : after)
          f();
        return true;
      },
      retry_policy::before_write_only);
  };
  if (batch.empty() || write(batch.begin(), batch.end()))
    return;
  for (auto i = batch.begin(); i != batch.end(); ++i)
    if (auto ok = write(i, i + 1); !ok)
      runtime::logger("pg")->warn("notification {}: its {} outcome is not recorded ({}); it goes "
                                  "again when its claim ends",
                                  i->delivery.id, outcome_name(i->result.result),
                                  to_string(ok.error()));
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

// Keeps the claims of deliveries still queued or at a provider from running out while they wait.
void renew_claims(pqxx::connection& conn, const dispatcher_settings& cfg, const std::string& sender,
                  const std::vector<std::string>& ids) {
  array_literal list;
  for (const auto& id : ids)
    list.add_raw(id);
  pqxx::work txn{conn, "notify-renew"};
  txn.exec_params("UPDATE notifications SET next_attempt_at = now() + $1 * interval '1 "
                  "millisecond' WHERE id = ANY($2::bigint[]) AND claimed_by = $3 AND status = "
                  "'pending'",
                  static_cast<int64_t>(cfg.lease.count()), list.done(), sender);
  txn.commit();
}

// ---- the channel port: blocking provider calls on a few detached workers ----

// One worker: sends what it is given, one at a time.
caf::behavior channel_worker(caf::event_based_actor*, dispatcher_settings cfg) {
  return {
    [cfg](const due_delivery& d) { return send(cfg, d); },
  };
}

struct port_state {
  static inline const char* name = "notify.channel-port";
  std::deque<std::pair<due_delivery, caf::response_promise>> waiting;
  std::vector<caf::actor> idle;
};

// Hands each call to an idle worker, so that a worker stuck at a slow provider holds up only the
// call it has: the next ones go to the others.
void pump(caf::stateful_actor<port_state>* self) {
  auto& st = self->state;
  while (!st.waiting.empty() && !st.idle.empty()) {
    auto worker = st.idle.back();
    st.idle.pop_back();
    auto d = std::move(st.waiting.front().first);
    auto rp = std::move(st.waiting.front().second);
    st.waiting.pop_front();
    self->request(worker, caf::infinite, d)
      .then(
        [self, worker, rp](const channels::send_result& res) mutable {
          rp.deliver(res);
          self->state.idle.push_back(worker);
          pump(self);
        },
        [self, rp](caf::error& err) mutable {
          // The worker is gone: the message may or may not have left.
          channels::send_result res;
          res.result = channels::send_result::outcome::unknown;
          res.detail = "channel worker failed: " + to_string(err);
          rp.deliver(res);
          pump(self);
        });
  }
}

caf::behavior channel_port(caf::stateful_actor<port_state>* self, dispatcher_settings cfg) {
  for (int i = 0; i < std::max(cfg.senders, 1); ++i)
    self->state.idle.push_back(self->spawn<caf::detached + caf::linked>(channel_worker, cfg));
  return {
    [self](due_delivery& d) {
      auto rp = self->make_response_promise();
      self->state.waiting.emplace_back(std::move(d), rp);
      pump(self);
      return rp;
    },
  };
}

// ---- one notifier per customer ----

// A customer's messages go out one at a time, in the order they fell due, whatever channel each
// takes: "shipped" never overtakes "paid", and a provider hanging on one customer's message
// holds up nobody else's.
struct notifier_state {
  static inline const char* name = "notify.customer";
  std::deque<due_delivery> queue;
  bool busy = false;
};

void send_next(caf::stateful_actor<notifier_state>* self, const caf::actor& port,
               const caf::actor& sender, milliseconds deadline) {
  auto& st = self->state;
  if (st.busy || st.queue.empty())
    return;
  st.busy = true;
  auto d = std::move(st.queue.front());
  st.queue.pop_front();
  auto started = now_ms();
  auto done = [self, port, sender, deadline, d, started](channels::send_result res) {
    self->send(sender, answered{d, std::move(res), started});
    self->state.busy = false;
    send_next(self, port, sender, deadline);
  };
  self->request(port, deadline, d)
    .then([done](const channels::send_result& res) { done(res); },
          [done](caf::error& err) {
            channels::send_result res;
            res.result = channels::send_result::outcome::unknown;
            res.detail = "no answer from the channel: " + to_string(err);
            done(std::move(res));
          });
}

caf::behavior notifier(caf::stateful_actor<notifier_state>* self, caf::actor port,
                       caf::actor sender, milliseconds deadline) {
  return {
    [=](due_delivery& d) {
      self->state.queue.push_back(std::move(d));
      send_next(self, port, sender, deadline);
    },
  };
}

// ---- the sender: claims, hands out, records ----

struct sender_state {
  static inline const char* name = "pg.notify-sender";
  struct lane {
    caf::actor notifier;
    std::set<std::string> in_flight; ///< delivery ids handed to it and not answered yet
    std::chrono::steady_clock::time_point last_used;
  };
  std::unique_ptr<session> db;
  dispatcher_settings cfg;
  std::mt19937_64 rng{std::random_device{}()};
  std::string sender;    ///< this sender's name on its claims, new per start
  bool released = false; ///< the claims of earlier senders are handed back
  caf::actor port;
  std::map<std::string, lane> lanes;              ///< by customer
  std::map<caf::actor_addr, std::string> by_addr; ///< notifier -> customer
  size_t in_flight = 0;
  std::vector<answered> answers; ///< not recorded yet
  std::chrono::steady_clock::time_point last_renewal = std::chrono::steady_clock::now();
};

using sender_actor = caf::stateful_actor<sender_state>;

void hand_out(sender_actor* self, std::vector<due_delivery> due) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  for (auto& d : due) {
    auto& l = st.lanes[d.customer_id];
    if (!l.notifier) {
      l.notifier = self->spawn<caf::linked>(notifier, st.port, caf::actor{self}, st.cfg.lease);
      st.by_addr[l.notifier.address()] = d.customer_id;
    }
    l.last_used = now;
    if (l.in_flight.insert(d.id).second)
      ++st.in_flight;
    self->send(l.notifier, std::move(d));
  }
}

// Renews the claims of what waits, every quarter lease, and ends notifiers idle for long.
void housekeeping(sender_actor* self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  bool renew = st.in_flight > 0 && now - st.last_renewal >= st.cfg.lease / 4;
  std::vector<std::string> waiting;
  for (auto i = st.lanes.begin(); i != st.lanes.end();) {
    auto& l = i->second;
    if (renew)
      waiting.insert(waiting.end(), l.in_flight.begin(), l.in_flight.end());
    if (l.in_flight.empty() && now - l.last_used > st.cfg.notifier_idle) {
      // Nothing of it is queued anywhere: only the sender feeds it.
      st.by_addr.erase(l.notifier.address());
      self->unlink_from(l.notifier);
      self->send_exit(l.notifier, caf::exit_reason::normal);
      i = st.lanes.erase(i);
    } else {
      ++i;
    }
  }
  if (waiting.empty())
    return;
  st.last_renewal = now;
  auto ok = st.db->run<bool>([&](pqxx::connection& conn) {
    renew_claims(conn, st.cfg, st.sender, waiting);
    return true;
  });
  if (!ok)
    runtime::logger("pg")->warn("notifications: claims not renewed: {}", to_string(ok.error()));
}

// Claims as much as fits under max_in_flight; returns how long to wait before the next round:
// nothing after a full batch (more may be due), a little after some (more are coming: the time
// to notify stays short under load), the poll interval after none.
milliseconds claim_round(sender_actor* self) {
  auto& st = self->state;
  auto room = static_cast<int64_t>(st.cfg.max_in_flight) - static_cast<int64_t>(st.in_flight);
  if (room <= 0)
    return st.cfg.busy_poll;
  auto limit = static_cast<int>(std::min<int64_t>(room, st.cfg.batch));
  auto due = st.db->run<std::vector<due_delivery>>([&](pqxx::connection& conn) {
    if (!st.released) {
      if (auto n = release_claims_of_others(conn, st.sender); n > 0)
        runtime::logger("pg")->warn("notifications: {} deliveries an earlier sender claimed "
                                    "and never recorded go again",
                                    n);
      st.released = true;
    }
    return claim(conn, st.cfg, st.sender, limit);
  });
  if (!due) {
    runtime::logger("pg")->warn("notification round fails: {}", to_string(due.error()));
    return st.cfg.poll;
  }
  auto found = static_cast<int>(due->size());
  hand_out(self, std::move(*due));
  return found == limit ? milliseconds{0} : found > 0 ? st.cfg.busy_poll : st.cfg.poll;
}

void flush_answers(sender_actor* self) {
  auto& st = self->state;
  auto batch = std::move(st.answers);
  st.answers.clear();
  record_all(*st.db, st.cfg, batch, st.rng);
}

caf::behavior dispatcher(sender_actor* self, std::string db_url, dispatcher_settings cfg) {
  auto& st = self->state;
  st.db = std::make_unique<session>(std::move(db_url), "notify-sender");
  st.cfg = std::move(cfg);
  char sender[17];
  std::snprintf(sender, sizeof sender, "%016llx", static_cast<unsigned long long>(st.rng()));
  st.sender = sender;
  st.port = self->spawn<caf::linked>(channel_port, st.cfg);
  // A notifier that fails drops what it had: those claims go again when their lease ends. Any
  // other exit ends the sender and, through their links, the notifiers and the port.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    auto i = st.by_addr.find(msg.source);
    if (i == st.by_addr.end()) {
      self->quit(msg.reason);
      return;
    }
    if (auto l = st.lanes.find(i->second); l != st.lanes.end()) {
      runtime::logger("pg")->warn("notifications: the notifier of customer {} failed ({}); its {} "
                                  "deliveries go again when their claims end",
                                  i->second, to_string(msg.reason), l->second.in_flight.size());
      st.in_flight -= l->second.in_flight.size();
      st.lanes.erase(l);
    }
    st.by_addr.erase(i);
  });
  self->send(self, caf::tick_atom_v);
  return {
    [self](caf::tick_atom) {
      housekeeping(self);
      // Even without a wait, the next round queues behind what arrived meanwhile (answers, an
      // exit message).
      if (auto wait = claim_round(self); wait.count() == 0)
        self->send(self, caf::tick_atom_v);
      else
        self->delayed_send(self, wait, caf::tick_atom_v);
    },
    [self](answered& a) {
      auto& st = self->state;
      if (auto l = st.lanes.find(a.delivery.customer_id); l != st.lanes.end())
        if (l->second.in_flight.erase(a.delivery.id) > 0)
          --st.in_flight;
      // The first answer of a round asks for a flush behind whatever else already arrived.
      if (st.answers.empty())
        self->send(self, atom::flush_v);
      st.answers.push_back(std::move(a));
    },
    [self](atom::flush) { flush_answers(self); },
  };
}

} // namespace

caf::actor spawn_notification_dispatcher(caf::actor_system& sys, std::string db_url,
                                         dispatcher_settings cfg) {
  return sys.spawn<caf::detached>(dispatcher, std::move(db_url), std::move(cfg));
}

int dispatch_once(const std::string& db_url, const dispatcher_settings& cfg) {
  session db{db_url, "notify-once"};
  std::mt19937_64 rng{42};
  auto due = db.run<std::vector<due_delivery>>(
    [&](pqxx::connection& conn) { return claim(conn, cfg, "once", cfg.batch); });
  if (!due)
    return 0;
  std::vector<answered> batch;
  for (const auto& d : *due) {
    auto started = now_ms();
    batch.push_back({d, send(cfg, d), started});
  }
  record_all(db, cfg, batch, rng);
  return static_cast<int>(batch.size());
}

} // namespace mercato::pg
