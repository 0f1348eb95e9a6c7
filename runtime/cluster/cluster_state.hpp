#pragma once

// What one node knows of its cluster, shared by the cluster agent (which writes it), the
// routers and the gateway (which read it on every message). The truth is in PostgreSQL
// (pg::cluster_store); this is the node's latest reading of it.

#include "runtime/cluster/member.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mercato::runtime::cluster {

/// Raised whenever the messages between nodes change; a node with another one is refused at
/// join (CAF 0.17 puts type names on the wire and drops what it cannot read without a word).
inline constexpr int32_t protocol_version = 2;

/// One reading of the membership and shard tables.
struct view {
  int64_t version = 0;
  int32_t shard_count = 1;
  std::vector<member> members;
  std::vector<int> owner;      ///< per shard: index into members, -1 if nobody owns it
  std::vector<bool> releasing; ///< per shard: this node hands it over; it routes it nowhere
  int self = -1;               ///< this node's index in members, -1 if not listed
};

enum class placement_kind {
  local,   ///< this node owns the shard and serves it
  remote,  ///< an up member owns it: forward
  nowhere, ///< unowned, owned by a member that is not up, or being handed over: wait
};

struct placement {
  placement_kind where = placement_kind::nowhere;
  int member = -1;
  int32_t shard = 0;
};

/// Where `kind:key` goes according to `v`.
placement place(const view& v, std::string_view kind, std::string_view key);

/// The shared reading plus this node's lease and its connections to peers.
class state {
public:
  state(std::string node_id, std::chrono::milliseconds self_fence_after);

  const std::string& node_id() const {
    return node_id_;
  }

  int64_t incarnation() const {
    return incarnation_.load();
  }

  void set_incarnation(int64_t x) {
    incarnation_ = x;
  }

  std::shared_ptr<const view> current() const;
  void publish(std::shared_ptr<const view> v);

  /// The heartbeat was renewed now (the node's monotonic clock).
  void renewed();

  /// False once the heartbeat has not been renewed for `self_fence_after`: another node may take
  /// this node's shards soon, so it must stop answering before that.
  bool lease_valid() const;

  /// True once this node is an `up` member (and until it stops): /readyz reports it.
  bool is_up() const {
    return up_.load();
  }

  void set_up(bool x) {
    up_ = x;
  }

  /// The gateway of a peer incarnation, or an invalid handle if not connected.
  caf::actor peer(const std::string& node_id, int64_t incarnation) const;
  void set_peer(const std::string& node_id, int64_t incarnation, caf::actor gateway);
  void drop_peer(const std::string& node_id, int64_t incarnation);

  /// This node's hub, for the commits that peers send (the gateway delivers them).
  void set_local_sink(caf::actor sink);
  caf::actor local_sink() const;

  /// Every connected peer's gateway.
  std::vector<caf::actor> peers() const;

  // -- live push across nodes: which topics each peer has subscribers for ---------------------

  /// Peer (node, incarnation) now has (`wanted`) or no longer has subscribers for `topics`.
  void set_interest(const std::string& node_id, int64_t incarnation,
                    const std::vector<std::string>& topics, bool wanted);

  /// A connected peer with subscribers for some of a batch's topics.
  struct interested_peer {
    std::string node_id;
    caf::actor gateway;
    std::vector<size_t> wanted; ///< indices into the topics asked about
  };

  /// False while no peer follows any topic: a batch then needs no topic names at all.
  bool any_interest() const;

  /// The connected peers that have subscribers for any of `topics`.
  std::vector<interested_peer> interested_peers(const std::vector<std::string>& topics) const;

  /// The actor that announces this node's topics to its peers (spawn_interest_announcer).
  void set_announcer(caf::actor announcer);
  caf::actor announcer() const;

  /// The cluster agent: the gateway passes it a peer's word that the view changed.
  void set_agent(caf::actor agent);
  caf::actor agent() const;

  /// This node's regions by entity kind (the gateway delivers to them).
  void set_regions(std::map<std::string, caf::actor> regions);
  caf::actor region(const std::string& kind) const;
  std::map<std::string, caf::actor> regions() const;

private:
  std::string node_id_;
  std::atomic<int64_t> incarnation_{0};
  std::chrono::milliseconds self_fence_after_;
  std::atomic<int64_t> renewed_at_ns_{0}; // steady clock; 0 = never
  std::atomic<bool> up_{false};
  mutable std::mutex mtx_;
  std::shared_ptr<const view> view_;
  std::map<std::pair<std::string, int64_t>, caf::actor> peers_;
  std::map<std::string, caf::actor> regions_;
  caf::actor local_sink_;
  // Weak: the agent is a detached actor, and the actor system's shutdown waits until nothing
  // holds it any more; this state may outlive it.
  caf::actor_addr announcer_;
  caf::actor_addr agent_;
  // Kept across reconnections of a peer (it announces everything again when it reconnects) and
  // dropped with the peer's incarnation once that leaves the view.
  std::map<std::pair<std::string, int64_t>, std::unordered_set<std::string>> interest_;
};

} // namespace mercato::runtime::cluster
