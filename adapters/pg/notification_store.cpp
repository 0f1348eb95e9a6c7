#include "adapters/pg/notification_store.hpp"

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "runtime/util/cursor.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

#include <algorithm>

namespace mercato::pg {

namespace {

constexpr const char* pref_columns
  = "customer_id, in_app, email_enabled, sms_enabled, push_enabled, kinds, kind_masks, email, "
    "phone, locale, quiet_enabled, quiet_start_min, quiet_end_min, time_zone, version, "
    "floor(extract(epoch FROM updated_at) * 1000)::bigint";

constexpr const char* record_columns
  = "id::text, customer_id, order_id, kind, milestone, channel, status, priority, locale, "
    "template_id, template_version, subject, body, attempts, last_error, "
    "floor(extract(epoch FROM created_at) * 1000)::bigint, "
    "floor(extract(epoch FROM updated_at) * 1000)::bigint, "
    "coalesce(floor(extract(epoch FROM delivered_at) * 1000)::bigint, 0)";

int mask_of(const channel_set& c) {
  return (c.in_app ? 1 : 0) | (c.email ? 2 : 0) | (c.sms ? 4 : 0) | (c.push ? 8 : 0);
}

channel_set set_of(int mask) {
  return channel_set{(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0, (mask & 8) != 0};
}

// Elements of a one-dimensional array of simple values (kind names, small integers): they hold
// no quotes, commas or braces, which the API and the kind list guarantee.
std::vector<std::string> array_items(const pqxx::field& f) {
  std::vector<std::string> out;
  auto text = f.as<std::string>();
  if (text.size() < 2)
    return out;
  std::string cur;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (text[i] != '"') {
      cur += text[i];
    }
  }
  if (!cur.empty())
    out.push_back(std::move(cur));
  return out;
}

notification_preferences to_preferences(const pqxx::row& row) {
  notification_preferences p;
  p.customer_id = row[0].as<std::string>();
  p.channels = {row[1].as<bool>(), row[2].as<bool>(), row[3].as<bool>(), row[4].as<bool>()};
  auto kinds = array_items(row[5]);
  auto masks = array_items(row[6]);
  for (size_t i = 0; i < kinds.size() && i < masks.size(); ++i)
    p.kinds.push_back({kinds[i], set_of(std::stoi(masks[i]))});
  p.email = row[7].as<std::string>();
  p.phone = row[8].as<std::string>();
  p.locale = row[9].as<std::string>();
  p.quiet
    = {row[10].as<bool>(), row[11].as<int32_t>(), row[12].as<int32_t>(), row[13].as<std::string>()};
  p.version = row[14].as<uint64_t>();
  p.updated_at_ms = row[15].as<int64_t>();
  return p;
}

notification_record to_record(const pqxx::row& row) {
  notification_record r;
  r.id = row[0].as<std::string>();
  r.customer_id = row[1].as<std::string>();
  r.order_id = row[2].as<std::string>();
  r.kind = row[3].as<std::string>();
  r.milestone = row[4].as<std::string>();
  r.channel = row[5].as<std::string>();
  r.status = row[6].as<std::string>();
  r.priority = row[7].as<std::string>();
  r.locale = row[8].as<std::string>();
  r.template_id = row[9].as<std::string>();
  r.template_version = row[10].as<int32_t>();
  r.subject = row[11].as<std::string>();
  r.body = row[12].as<std::string>();
  r.attempts = row[13].as<int32_t>();
  r.last_error = row[14].as<std::string>();
  r.created_at_ms = row[15].as<int64_t>();
  r.updated_at_ms = row[16].as<int64_t>();
  r.delivered_at_ms = row[17].as<int64_t>();
  return r;
}

caf::error validate(const notification_preferences& p) {
  auto invalid = [](std::string what) {
    return caf::make_error(mercato_errc::invalid_request, std::move(what));
  };
  if (p.customer_id.empty())
    return invalid("customer id must not be empty");
  for (const auto* s : {&p.customer_id, &p.email, &p.phone, &p.locale, &p.quiet.time_zone})
    if (!is_storable_text(*s))
      return invalid("text must be UTF-8 without NUL characters");
  for (const auto& k : p.kinds)
    if (k.kind.empty() || !std::all_of(k.kind.begin(), k.kind.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || c == '_';
        }))
      return invalid("kind names are lower-case letters and underscores");
  if (p.quiet.start_min < 0 || p.quiet.start_min > 1439 || p.quiet.end_min < 0
      || p.quiet.end_min > 1439)
    return invalid("quiet hours must lie within a day");
  return caf::none;
}

notification_preferences put(pqxx::connection& conn, const notification_preferences& p) {
  pqxx::work txn{conn};
  std::string kinds = "{", masks = "{";
  for (size_t i = 0; i < p.kinds.size(); ++i) {
    kinds += (i > 0 ? "," : "") + p.kinds[i].kind;
    masks += (i > 0 ? "," : "") + std::to_string(mask_of(p.kinds[i].channels));
  }
  kinds += "}";
  masks += "}";
  auto row = txn.exec_params1(
    std::string{"INSERT INTO notification_preferences (customer_id, in_app, email_enabled, "
                "sms_enabled, push_enabled, kinds, kind_masks, email, phone, locale, "
                "quiet_enabled, quiet_start_min, quiet_end_min, time_zone) "
                "VALUES ($1, $2, $3, $4, $5, $6::text[], $7::smallint[], $8, $9, $10, $11, $12, "
                "$13, $14) ON CONFLICT (customer_id) DO UPDATE SET in_app = EXCLUDED.in_app, "
                "email_enabled = EXCLUDED.email_enabled, sms_enabled = EXCLUDED.sms_enabled, "
                "push_enabled = EXCLUDED.push_enabled, kinds = EXCLUDED.kinds, "
                "kind_masks = EXCLUDED.kind_masks, email = EXCLUDED.email, "
                "phone = EXCLUDED.phone, locale = EXCLUDED.locale, "
                "quiet_enabled = EXCLUDED.quiet_enabled, "
                "quiet_start_min = EXCLUDED.quiet_start_min, "
                "quiet_end_min = EXCLUDED.quiet_end_min, time_zone = EXCLUDED.time_zone, "
                "version = notification_preferences.version + 1, updated_at = now() "
                "RETURNING "}
      + pref_columns,
    p.customer_id, p.channels.in_app, p.channels.email, p.channels.sms, p.channels.push, kinds,
    masks, p.email, p.phone, p.locale, p.quiet.enabled, p.quiet.start_min, p.quiet.end_min,
    p.quiet.time_zone);
  txn.commit();
  return to_preferences(row);
}

caf::expected<notification_page> list(pqxx::connection& conn, const notification_query& q) {
  if (q.limit < 1 || q.limit > 100)
    return caf::make_error(mercato_errc::invalid_request, "limit must be between 1 and 100");
  if (!q.status.empty() && !is_notification_status(q.status))
    return caf::make_error(mercato_errc::invalid_request,
                           "status must be pending, delivered, failed or dead");
  if (!is_storable_text(q.customer_id))
    return caf::make_error(mercato_errc::invalid_request, "malformed customer id");
  int64_t before = 0;
  if (!q.cursor.empty()) {
    std::string key;
    if (!util::decode_cursor(q.cursor, key) || key.empty() || key.size() > 18
        || !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return caf::make_error(mercato_errc::invalid_request, "malformed cursor");
    before = std::stoll(key);
  }
  pqxx::read_transaction txn{conn};
  std::string sql = std::string{"SELECT "} + record_columns + " FROM notifications WHERE true";
  if (!q.customer_id.empty())
    sql += " AND customer_id = " + txn.quote(q.customer_id);
  if (!q.status.empty())
    sql += " AND status = " + txn.quote(q.status);
  if (before > 0)
    sql += " AND id < " + std::to_string(before);
  // By the table's bigint id: the output column "id" is its text, which sorts "99" after "500".
  sql += " ORDER BY notifications.id DESC LIMIT " + std::to_string(q.limit + 1);
  auto rows = txn.exec(sql);
  txn.commit();
  notification_page page;
  for (const auto& row : rows) {
    if (page.items.size() == static_cast<size_t>(q.limit)) {
      page.next_cursor = util::encode_cursor(page.items.back().id);
      break;
    }
    page.items.push_back(to_record(row));
  }
  return page;
}

caf::expected<notification_record> retry(pqxx::connection& conn, const std::string& id) {
  if (id.empty() || id.size() > 18
      || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return caf::make_error(mercato_errc::not_found, "no notification " + id);
  pqxx::work txn{conn};
  auto rows
    = txn.exec(std::string{"SELECT status FROM notifications WHERE id = "} + id + " FOR UPDATE");
  if (rows.empty())
    return caf::make_error(mercato_errc::not_found, "no notification " + id);
  auto status = rows[0][0].as<std::string>();
  if (status != "failed" && status != "dead")
    return caf::make_error(mercato_errc::conflict,
                           "notification " + id + " is " + status + ", not failed or dead");
  auto row = txn.exec1(std::string{"UPDATE notifications SET status = 'pending', "
                                   "next_attempt_at = now(), claimed_by = NULL, "
                                   "updated_at = now() WHERE id = "}
                       + id + " RETURNING " + record_columns);
  txn.commit();
  return to_record(row);
}

struct worker_state {
  static inline const char* name = "pg.notifications";
  std::unique_ptr<session> db;
};

notification_store_actor::behavior_type
worker(notification_store_actor::stateful_pointer<worker_state> self, std::string url, int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "notifications-" + std::to_string(index));
  return {
    [self](atom::put, const notification_preferences& p) -> caf::result<notification_preferences> {
      if (auto err = validate(p))
        return err;
      // Replaying an upsert after a lost connection only counts the version once more.
      return self->state.db->run<notification_preferences>(
        [&](pqxx::connection& conn) { return put(conn, p); });
    },
    [self](atom::get, const std::string& customer_id) -> caf::result<notification_preferences> {
      return self->state.db->run<notification_preferences>([&](pqxx::connection& conn) {
        pqxx::read_transaction txn{conn};
        auto p = load_preferences(txn, customer_id);
        txn.commit();
        return p;
      });
    },
    [self](atom::list, const notification_query& q) -> caf::result<notification_page> {
      return self->state.db->run<notification_page>(
        [&](pqxx::connection& conn) { return list(conn, q); });
    },
    [self](atom::retry, const std::string& id) -> caf::result<notification_record> {
      return self->state.db->run<notification_record>(
        [&](pqxx::connection& conn) { return retry(conn, id); });
    },
  };
}

} // namespace

notification_preferences load_preferences(pqxx::transaction_base& txn,
                                          const std::string& customer_id) {
  auto rows
    = txn.exec(std::string{"SELECT "} + pref_columns
               + " FROM notification_preferences WHERE customer_id = " + txn.quote(customer_id));
  if (rows.empty()) {
    notification_preferences p;
    p.customer_id = customer_id;
    return p;
  }
  return to_preferences(rows[0]);
}

std::map<std::string, notification_preferences>
load_preferences(pqxx::transaction_base& txn, const std::set<std::string>& customer_ids) {
  std::map<std::string, notification_preferences> out;
  if (customer_ids.empty())
    return out;
  array_literal ids;
  for (const auto& id : customer_ids) {
    ids.add_quoted(id);
    out[id].customer_id = id;
  }
  auto rows = txn.exec_params(std::string{"SELECT "} + pref_columns
                                + " FROM notification_preferences WHERE customer_id = "
                                  "ANY($1::text[])",
                              ids.done());
  for (const auto& row : rows) {
    auto p = to_preferences(row);
    out[p.customer_id] = std::move(p);
  }
  return out;
}

notification_store_actor spawn_notification_store(caf::actor_system& sys, std::string url,
                                                  int workers) {
  return spawn_pool<notification_store_actor>(sys, "pg.notifications", workers, worker,
                                              std::move(url));
}

} // namespace mercato::pg
