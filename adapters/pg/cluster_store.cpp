#include "adapters/pg/cluster_store.hpp"

#include "adapters/pg/connection.hpp"

#include <utility>

namespace mercato::pg {

namespace {

void bump_view(pqxx::work& txn) {
  txn.exec("UPDATE cluster_settings SET view_version = view_version + 1");
}

// Runs one UPDATE in `txn`; if it changed a row, bumps the view version and commits. True if it
// changed one (else the transaction ends without effect).
template <class... Args>
bool update_view(pqxx::work& txn, const char* sql, Args&&... args) {
  if (txn.exec_params(sql, std::forward<Args>(args)...).affected_rows() == 0)
    return false;
  bump_view(txn);
  txn.commit();
  return true;
}

// One statement on a member row in its own transaction, bumping the view if it changed a row.
template <class... Args>
caf::expected<bool> change_member(session& db, const char* txn_name, const char* sql,
                                  Args&&... args) {
  return db.run<bool>([&](pqxx::connection& conn) {
    pqxx::work txn{conn, txn_name};
    return update_view(txn, sql, std::forward<Args>(args)...);
  });
}

cluster_owner_row owner_of(const pqxx::row& r) {
  cluster_owner_row x;
  x.name = r[0].as<std::string>();
  if (!r[1].is_null()) {
    x.node_id = r[1].as<std::string>();
    x.incarnation = r[2].as<int64_t>();
  }
  x.epoch = r[3].as<int64_t>();
  return x;
}

} // namespace

cluster_store::cluster_store(std::string url)
    : db_(std::make_unique<session>(with_connect_timeout(url, 2), "cluster")) {}

cluster_store::~cluster_store() = default;

caf::expected<int64_t> cluster_store::join(const cluster_join& me) {
  return db_->run<int64_t>([&](pqxx::connection& conn) -> caf::expected<int64_t> {
    pqxx::work txn{conn, "cluster-join"};
    txn.exec_params("INSERT INTO cluster_settings (shard_count) VALUES ($1) ON CONFLICT DO NOTHING",
                    me.shard_count);
    txn.exec("INSERT INTO cluster_shards (shard) SELECT generate_series(0, shard_count - 1) "
             "FROM cluster_settings ON CONFLICT DO NOTHING");
    auto other = txn.exec_params("SELECT node_id, protocol_version FROM cluster_members "
                                 "WHERE status IN ('joining', 'up') AND protocol_version <> $1 "
                                 "LIMIT 1",
                                 me.protocol_version);
    if (!other.empty())
      return caf::make_error(mercato_errc::invalid_request,
                             "member " + other[0][0].as<std::string>() + " speaks protocol "
                               + other[0][1].as<std::string>() + ", this node "
                               + std::to_string(me.protocol_version));
    auto inc = txn.exec("SELECT nextval('cluster_incarnations')")[0][0].as<int64_t>();
    txn.exec_params("INSERT INTO cluster_members (node_id, incarnation, http_address, caf_host, "
                    "caf_port, protocol_version, status) VALUES ($1, $2, $3, $4, $5, $6, "
                    "'joining')",
                    me.node_id, inc, me.http_address, me.caf_host, me.caf_port,
                    me.protocol_version);
    txn.exec_params("INSERT INTO cluster_heartbeats (node_id, incarnation, expires_at) "
                    "VALUES ($1, $2, now() + $3 * interval '1 millisecond')",
                    me.node_id, inc, me.lease_ms);
    bump_view(txn);
    txn.commit();
    return inc;
  });
}

caf::expected<bool> cluster_store::set_status(const std::string& node_id, int64_t incarnation,
                                              const std::string& status) {
  return change_member(*db_, "cluster-status",
                       "UPDATE cluster_members SET status = $3, changed_at = now() "
                       "WHERE node_id = $1 AND incarnation = $2 AND status IN ('joining', 'up')",
                       node_id, incarnation, status);
}

caf::expected<bool> cluster_store::set_leaving(const std::string& node_id, int64_t incarnation) {
  return change_member(*db_, "cluster-leaving",
                       "UPDATE cluster_members SET leaving = true, changed_at = now() "
                       "WHERE node_id = $1 AND incarnation = $2 AND NOT leaving",
                       node_id, incarnation);
}

caf::expected<bool> cluster_store::set_http_address(const std::string& node_id, int64_t incarnation,
                                                    const std::string& address) {
  return change_member(*db_, "cluster-address",
                       "UPDATE cluster_members SET http_address = $3 "
                       "WHERE node_id = $1 AND incarnation = $2",
                       node_id, incarnation, address);
}

caf::expected<bool> cluster_store::renew(const std::string& node_id, int64_t incarnation,
                                         int64_t lease_ms, int64_t seen_version) {
  return db_->run<bool>([&](pqxx::connection& conn) {
    pqxx::work txn{conn, "cluster-renew"};
    auto r = txn.exec_params(
      "UPDATE cluster_heartbeats h SET expires_at = now() + $3 * interval '1 millisecond', "
      "seen_version = $4 "
      "FROM cluster_members m WHERE h.node_id = $1 AND h.incarnation = $2 "
      "AND m.node_id = h.node_id AND m.incarnation = h.incarnation "
      "AND m.status IN ('joining', 'up')",
      node_id, incarnation, lease_ms, seen_version);
    txn.commit();
    return r.affected_rows() > 0;
  });
}

caf::expected<int64_t> cluster_store::least_seen_version(const std::string& node_id,
                                                         int64_t incarnation) {
  return db_->run<int64_t>([&](pqxx::connection& conn) {
    pqxx::nontransaction txn{conn};
    auto r = txn.exec_params(
      "SELECT coalesce(min(h.seen_version), 9223372036854775807) FROM cluster_heartbeats h "
      "JOIN cluster_members m USING (node_id, incarnation) "
      "WHERE m.status = 'up' AND NOT (m.node_id = $1 AND m.incarnation = $2)",
      node_id, incarnation);
    return r[0][0].as<int64_t>();
  });
}

caf::expected<int64_t> cluster_store::mark_expired_dead() {
  return db_->run<int64_t>([&](pqxx::connection& conn) {
    pqxx::work txn{conn, "cluster-mark-dead"};
    // Sets a lock timeout so that a member frozen inside a journal batch cannot hold this
    // update, and every other check of this node, for long: its session times out instead.
    txn.exec("SET LOCAL lock_timeout = '2s'");
    auto r = txn.exec("UPDATE cluster_members m SET status = 'dead', changed_at = now() "
                      "FROM cluster_heartbeats h WHERE h.node_id = m.node_id "
                      "AND h.incarnation = m.incarnation AND m.status IN ('joining', 'up') "
                      "AND h.expires_at < now()");
    auto n = static_cast<int64_t>(r.affected_rows());
    if (n > 0)
      bump_view(txn);
    txn.commit();
    return n;
  });
}

caf::expected<cluster_snapshot> cluster_store::read(int64_t known_version) {
  return db_->run<cluster_snapshot>([&](pqxx::connection& conn) {
    // One snapshot of all three tables: repeatable read.
    pqxx::transaction<pqxx::repeatable_read, pqxx::readwrite_policy::read_only> txn{conn,
                                                                                    "cluster-read"};
    cluster_snapshot s;
    auto head = txn.exec("SELECT view_version, shard_count FROM cluster_settings");
    if (head.empty())
      return s;
    s.version = head[0][0].as<int64_t>();
    s.shard_count = head[0][1].as<int32_t>();
    if (s.version == known_version)
      return s;
    for (const auto& r : txn.exec(
           "SELECT node_id, incarnation, http_address, caf_host, caf_port, protocol_version, "
           "status, leaving FROM cluster_members m WHERE status IN ('joining', 'up') "
           "OR EXISTS (SELECT 1 FROM cluster_shards s WHERE s.node_id = m.node_id "
           "AND s.incarnation = m.incarnation) "
           "OR EXISTS (SELECT 1 FROM cluster_singletons s WHERE s.node_id = m.node_id "
           "AND s.incarnation = m.incarnation) ORDER BY node_id, incarnation")) {
      cluster_member_row m;
      m.node_id = r[0].as<std::string>();
      m.incarnation = r[1].as<int64_t>();
      m.http_address = r[2].as<std::string>();
      m.caf_host = r[3].as<std::string>();
      m.caf_port = r[4].as<int32_t>();
      m.protocol_version = r[5].as<int32_t>();
      m.status = r[6].as<std::string>();
      m.leaving = r[7].as<bool>();
      s.members.push_back(std::move(m));
    }
    for (const auto& r :
         txn.exec("SELECT shard, node_id, incarnation, epoch FROM cluster_shards ORDER BY shard"))
      s.shards.push_back(owner_of(r));
    for (const auto& r :
         txn.exec("SELECT name, node_id, incarnation, epoch FROM cluster_singletons ORDER BY name"))
      s.singletons.push_back(owner_of(r));
    txn.commit();
    return s;
  });
}

caf::expected<bool> cluster_store::move_shard(int32_t shard, int64_t expected_epoch,
                                              const std::string& node_id, int64_t incarnation) {
  return db_->run<bool>(
    [&](pqxx::connection& conn) {
      pqxx::work txn{conn, "cluster-move-shard"};
      return update_view(txn,
                         "UPDATE cluster_shards SET node_id = $3, incarnation = $4, "
                         "epoch = epoch + 1 WHERE shard = $1 AND epoch = $2 AND NOT EXISTS "
                         "(SELECT 1 FROM cluster_members m WHERE m.node_id = $3 AND "
                         "m.incarnation = $4 AND m.leaving)",
                         shard, expected_epoch, node_id, incarnation);
    },
    retry_policy::before_write_only);
}

caf::expected<bool> cluster_store::move_singleton(const std::string& name, int64_t expected_epoch,
                                                  const std::string& node_id, int64_t incarnation) {
  return db_->run<bool>(
    [&](pqxx::connection& conn) {
      pqxx::work txn{conn, "cluster-move-singleton"};
      txn.exec_params("INSERT INTO cluster_singletons (name) VALUES ($1) ON CONFLICT DO NOTHING",
                      name);
      return update_view(txn,
                         "UPDATE cluster_singletons SET node_id = $3, incarnation = $4, "
                         "epoch = epoch + 1 WHERE name = $1 AND epoch = $2",
                         name, expected_epoch, node_id, incarnation);
    },
    retry_policy::before_write_only);
}

} // namespace mercato::pg
