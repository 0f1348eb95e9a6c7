#include "api/routes/cluster_view.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "runtime/cluster/cluster_state.hpp"
#include "runtime/util/time.hpp"

#include <caf/event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <utility>
#include <vector>

namespace mercato::api {

namespace {

using json = nlohmann::json;
using done_fn = std::function<void(caf::expected<std::string>)>;

std::string address_of(const runtime::node_handles& h) {
  const auto* id = h.identity.get();
  if (id == nullptr)
    return h.cfg.server.http_addr;
  auto port = id->http_port.load();
  return port == 0 ? h.cfg.server.http_addr : id->http_host + ":" + std::to_string(port);
}

// In a cluster: the gateway's view, each up member's live entities asked of it.
void describe_members(caf::event_based_actor* self, const runtime::node_handles& h,
                      std::chrono::milliseconds timeout, done_fn done) {
  self->request(h.cluster_gateway, timeout, atom::get_v)
    .then(
      [done](const cluster_info& info) {
        json members = json::array();
        for (const auto& m : info.members) {
          json kinds = json::object();
          for (size_t i = 0; i < m.kinds.size() && i < m.counts.size(); ++i)
            kinds[m.kinds[i]] = m.counts[i];
          json x
            = {{"node_id", m.node_id},     {"incarnation", m.incarnation}, {"address", m.address},
               {"status", m.status},       {"shards", m.shards},           {"entities", nullptr},
               {"entities_by_kind", kinds}};
          if (m.entities >= 0)
            x["entities"] = m.entities;
          members.push_back(std::move(x));
        }
        json out = {{"self", info.self},
                    {"view_version", info.view_version},
                    {"shard_count", info.shard_count},
                    {"members", std::move(members)}};
        done(out.dump());
      },
      [done](caf::error& err) { done(std::move(err)); });
}

// A single node: itself, owning every key of every kind its regions serve.
void describe_single(caf::event_based_actor* self, const runtime::node_handles& h,
                     std::chrono::milliseconds timeout, done_fn done) {
  struct counting {
    json kinds = json::object();
    uint64_t entities = 0;
    size_t left = 0;
    bool failed = false;
  };
  auto c = std::make_shared<counting>();
  auto answer = [c, done, node = node_id_of(h), address = address_of(h), identity = h.identity] {
    json member = {{"node_id", node},
                   {"address", address},
                   {"status", "up"},
                   // No shard table: each region owns every key of its kind.
                   {"shards", c->kinds.size()},
                   {"entities", c->entities},
                   {"entities_by_kind", c->kinds}};
    if (identity)
      member["started_at"] = util::format_rfc3339_ms(identity->started_at_ms);
    done(json{{"self", node}, {"members", json::array({member})}}.dump());
  };
  std::vector<std::pair<std::string, caf::actor>> regions;
  for (auto kind : known_kinds)
    if (auto region = region_of(h, kind))
      regions.emplace_back(std::string{kind}, region);
  c->left = regions.size();
  if (regions.empty())
    return answer();
  for (const auto& [kind, region] : regions) {
    self->request(region, timeout, atom::list_v, std::string{}, int32_t{0})
      .then(
        [c, answer, kind = kind](const entity_page& page) {
          c->kinds[kind] = page.total;
          c->entities += page.total;
          if (--c->left == 0 && !c->failed)
            answer();
        },
        [c, done](caf::error& err) {
          if (!c->failed) {
            c->failed = true;
            done(std::move(err));
          }
        });
  }
}

} // namespace

caf::actor region_of(const runtime::node_handles& h, std::string_view kind) {
  if (kind == "stock")
    return h.stock_region;
  if (kind == "cart")
    return h.cart_region;
  if (kind == "coupon")
    return h.coupon_region;
  if (kind == "checkout")
    return h.checkout_region;
  if (kind == "order")
    return h.order_region;
  if (kind == "payment")
    return h.payment_region;
  return nullptr;
}

std::string node_id_of(const runtime::node_handles& h) {
  return h.identity ? h.identity->node_id : std::string{"local"};
}

caf::expected<caf::actor> member_gateway(const runtime::node_handles& h,
                                         const std::string& node_id) {
  if (!h.cluster)
    return caf::actor{};
  auto v = h.cluster->current();
  for (const auto& m : v->members) {
    if (m.node_id != node_id || m.status != "up")
      continue;
    if (auto gw = h.cluster->peer(m.node_id, m.incarnation))
      return gw;
    return caf::make_error(mercato_errc::entity_unavailable,
                           "node " + node_id + " is up but not connected to this node; retry");
  }
  return caf::actor{};
}

void describe_cluster(caf::event_based_actor* self, const runtime::node_handles& h,
                      std::chrono::milliseconds timeout, done_fn done) {
  if (h.cluster_gateway)
    describe_members(self, h, timeout, std::move(done));
  else
    describe_single(self, h, timeout, std::move(done));
}

} // namespace mercato::api
