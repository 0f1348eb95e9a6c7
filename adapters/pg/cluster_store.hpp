#pragma once

// Cluster membership and ownership in PostgreSQL (migration 0014, DESIGN.md "Cluster"): the
// members with their incarnations and heartbeats, the shard owners with their epochs, and the
// singleton owners. Blocking calls on one connection of their own: for the cluster agent, which
// is a detached actor.

#include "runtime/cluster/member.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mercato::pg {

class session;

using cluster_member_row = runtime::cluster::member;

struct cluster_owner_row {
  std::string name;    ///< the shard number in decimal, or the singleton's name
  std::string node_id; ///< empty: nobody owns it
  int64_t incarnation = 0;
  int64_t epoch = 0;
};

/// What the database says now. Members: every member not dead or left, plus those that own a
/// shard or singleton still (their successors must see them to take over).
struct cluster_snapshot {
  int64_t version = 0;
  int32_t shard_count = 0;
  std::vector<cluster_member_row> members;
  std::vector<cluster_owner_row> shards; ///< index = shard
  std::vector<cluster_owner_row> singletons;
};

/// This node as it joins.
struct cluster_join {
  std::string node_id;
  std::string http_address;
  std::string caf_host;
  int32_t caf_port = 0;
  int32_t protocol_version = 0;
  int32_t shard_count = 256; ///< used only if this node creates the cluster
  int64_t lease_ms = 3000;
};

class cluster_store {
public:
  explicit cluster_store(std::string url);
  ~cluster_store();

  /// Creates the cluster's rows if this is its first node, then enters this node as `joining`
  /// with a heartbeat. Refused (`invalid_request`) while a live member speaks another protocol
  /// version. Returns the new incarnation.
  caf::expected<int64_t> join(const cluster_join& me);

  /// Sets this incarnation's status (`up` or `left`); false if it is no longer live.
  caf::expected<bool> set_status(const std::string& node_id, int64_t incarnation,
                                 const std::string& status);

  /// Marks this member as leaving: it stays up (and keeps its fence) while it hands its shards
  /// over, but no shard moves to it any more (`move_shard` refuses it as a target).
  caf::expected<bool> set_leaving(const std::string& node_id, int64_t incarnation);

  /// Records where this member serves HTTP (known only once it listens).
  caf::expected<bool> set_http_address(const std::string& node_id, int64_t incarnation,
                                       const std::string& address);

  /// Moves this incarnation's heartbeat to now + lease and records the view version its routers
  /// use. False: the row is gone or the member is no longer joining or up, i.e. the cluster
  /// declared it dead.
  caf::expected<bool> renew(const std::string& node_id, int64_t incarnation, int64_t lease_ms,
                            int64_t seen_version);

  /// The oldest view version any other up member routes by (INT64_MAX when there is none).
  caf::expected<int64_t> least_seen_version(const std::string& node_id, int64_t incarnation);

  /// Marks dead every joining or up member whose heartbeat expired; waits for their journal
  /// batches in flight (the row lock). Returns how many.
  caf::expected<int64_t> mark_expired_dead();

  /// The whole view, if its version differs from `known_version` (else an empty snapshot with
  /// version == known_version).
  caf::expected<cluster_snapshot> read(int64_t known_version);

  /// Compare-and-swap of a shard's owner on its epoch. True if it moved; false also when the
  /// target is leaving.
  caf::expected<bool> move_shard(int32_t shard, int64_t expected_epoch, const std::string& node_id,
                                 int64_t incarnation);

  /// Compare-and-swap of a singleton's owner on its epoch (a new name starts at epoch 0 without
  /// an owner). True if it moved.
  caf::expected<bool> move_singleton(const std::string& name, int64_t expected_epoch,
                                     const std::string& node_id, int64_t incarnation);

private:
  std::unique_ptr<session> db_;
};

} // namespace mercato::pg
