#include "runtime/server/server.hpp"

#include "actors/cart/cart_actor.hpp"
#include "actors/checkout/checkout_actor.hpp"
#include "actors/coupon/coupon_actor.hpp"
#include "actors/order/order_actor.hpp"
#include "actors/payment/payment_actor.hpp"
#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/stock/stock_actor.hpp"
#include "adapters/marketplaces/importer.hpp"
#include "adapters/marketplaces/pull_sync.hpp"
#include "adapters/payments/payments.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/customer_feed.hpp"
#include "adapters/pg/dead_letter_store.hpp"
#include "adapters/pg/delay_sweeper.hpp"
#include "adapters/pg/journal.hpp"
#include "adapters/pg/migrate.hpp"
#include "adapters/pg/notification_dispatcher.hpp"
#include "adapters/pg/notification_store.hpp"
#include "adapters/pg/order_index.hpp"
#include "adapters/pg/outbox_publisher.hpp"
#include "adapters/pg/product_store.hpp"
#include "adapters/pg/projections.hpp"
#include "adapters/pg/recovery.hpp"
#include "adapters/pg/stats_store.hpp"
#include "api/http/server.hpp"
#include "api/ws/admin_feed.hpp"
#include "api/ws/frames.hpp"
#include "runtime/cluster/interest.hpp"
#include "runtime/cluster/router.hpp"
#include "runtime/cluster/shard_map.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"
#include "runtime/node.hpp"
#include "runtime/server/cluster_agent.hpp"
#include "runtime/shard_region.hpp"
#include "runtime/topic_hub.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <random>
#include <set>
#include <string_view>
#include <thread>

namespace mercato::runtime {

namespace {

// Blocks SIGINT/SIGTERM (and SIGHUP, which reloads) in every thread (threads inherit the mask)
// so that sigwait() in serve() is the only place that sees them.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// The database may still be starting: retry migrations for a while before giving up.
bool migrate_with_retry(const std::string& url) {
  auto log = logger("runtime");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  auto wait = std::chrono::milliseconds{100};
  for (;;) {
    auto err = pg::migrate(url);
    if (err.empty())
      return true;
    if (std::chrono::steady_clock::now() > deadline) {
      log->error("migrations failed: {}", err);
      return false;
    }
    log->warn("database not ready ({}); retrying in {} ms", err, wait.count());
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds{2000});
  }
}

// A node id unique enough to tell the nodes of one cluster apart, and readable in logs.
std::string generate_node_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof host, "node");
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return std::string{host} + "-" + suffix;
}

std::shared_ptr<node_identity> make_identity(const config::settings& cfg) {
  auto id = std::make_shared<node_identity>();
  id->node_id = cfg.cluster.node_id.empty() ? generate_node_id() : cfg.cluster.node_id;
  const auto& addr = cfg.server.http_addr;
  auto colon = addr.rfind(':');
  id->http_host = colon == std::string::npos ? addr : addr.substr(0, colon);
  id->started_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return id;
}

struct node_config : caf::actor_system_config {
  explicit node_config(const config::settings& cfg) {
    add_message_types<caf::id_block::mercato>();
    add_error_category(caf::atom("mercato"),
                       [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                         return "mercato::" + to_string(static_cast<mercato_errc>(code))
                                + (ctx.empty() ? "" : " " + caf::to_string(ctx));
                       });
    auto threads = cfg.actors.scheduler_threads > 0
                     ? cfg.actors.scheduler_threads
                     : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
    set("scheduler.max-threads", threads);
    set("scheduler.policy",
        cfg.actors.scheduler_policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
    if (cfg.cluster.enabled) {
      load<caf::io::middleman>();
      // Heartbeats between nodes: a frozen peer's connection closes, which fails the requests
      // in flight to it at once (CAF-NOTES.md §5).
      set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::milliseconds{cfg.cluster.peer_heartbeat_ms}});
      set("middleman.connection-timeout",
          caf::timespan{std::chrono::milliseconds{cfg.cluster.peer_timeout_ms}});
    }
  }
};

// What a crash leaves without a live actor, woken among the keys `mine` accepts (in a cluster,
// those of the shards just taken): sagas cut short hold stock and perhaps an authorisation, so
// each resumes, finishing (its order exists) or compensating, without waiting for its customer;
// a hold's expiry timer lived in its stock item's actor, so each item with an open hold is read
// once, which recovers it, re-arms its timers and expires its overdue holds at once. Both lists
// are brought up to the journal's head first, so that what committed just before the crash is
// not missed.
using key_filter = std::function<bool(std::string_view kind, const std::string& key)>;

// Sends `msg` through `region` to each key of `kind` in `keys` (read by `list`) that `mine`
// accepts; says how many as `what`.
void wake_each(std::string_view kind, const std::function<std::vector<std::string>()>& list,
               const caf::actor& region, const caf::message& msg, const key_filter& mine,
               const char* what) {
  auto log = logger("runtime");
  try {
    size_t n = 0;
    for (const auto& key : list()) {
      if (!mine(kind, key))
        continue;
      caf::anon_send(region, atom::route_v, key, msg);
      ++n;
    }
    if (n > 0)
      log->info("waking {} {}", n, what);
  } catch (const std::exception& e) {
    log->error("cannot list the {}: {}", what, e.what());
  }
}

void wake_after_crash(const std::string& url, const caf::actor& checkouts, const caf::actor& stock,
                      const key_filter& mine) {
  wake_each(
    "checkout", [&] { return pg::open_checkouts(url); }, checkouts,
    caf::make_message(atom::resume_v), mine, "unfinished checkouts");
  wake_each(
    "stock", [&] { return pg::skus_with_holds(url); }, stock, caf::make_message(atom::get_v), mine,
    "stock items with open holds");
}

// `mercato --rebuild-projection NAME`: replays the journal into one read model, then exits. Safe
// while nodes serve: the rebuild holds the projection's lock, so their runners wait for it.
int rebuild_projection(const std::string& url, const std::string& name) {
  auto log = logger("runtime");
  try {
    auto n = pg::rebuild_projection(url, name);
    log->info("projection {} rebuilt from {} events", name, n);
    return 0;
  } catch (const std::exception& e) {
    log->error("cannot rebuild projection {}: {}", name, e.what());
    return 1;
  }
}

order::delay_policy delay_policy_of(const config::orders_settings& o) {
  order::delay_policy p;
  p.expected_ms = {{"paid", o.expected_paid_ms},
                   {"confirmed", o.expected_confirmed_ms},
                   {"in_production", o.expected_in_production_ms},
                   {"produced", o.expected_produced_ms},
                   {"shipped", o.expected_shipped_ms},
                   {"out_for_delivery", o.expected_out_for_delivery_ms},
                   {"delivery_failed", o.expected_delivery_failed_ms}};
  p.soon_window_ms = o.delivery_soon_window_ms;
  return p;
}

// The adapters behind the ports of actors/protocol/interfaces.hpp.
struct ports {
  event_sink_actor hub_actor;
  journal_actor journal;
  recovery_actor recovery;
  product_store_actor products;
  dead_letter_store_actor dead_letters;
  webhook_redeliverer_actor webhooks;
  payment_provider_actor provider;
  order_index_actor orders;
  customer_feed_actor customer_feed;
  pg::projection_actor orders_projection;
  pg::projection_actor customer_feed_projection;
  stats_store_actor stats;
  pg::projection_actor stats_projection;
  notification_store_actor notifications;
  std::shared_ptr<circuit_registry> circuits;
};

// The entity regions, as everything else addresses them: in a cluster, each kind's router.
struct regions {
  caf::actor stock, coupon, payment, cart, order, checkout;
  std::map<std::string, caf::actor> local; ///< the regions themselves, by kind
};

// Everything spawned, in start order; stopped in reverse, each once the one after it has gone,
// so that nothing outlives what it uses (sagas before the entities they call, entities before
// the journal that answers their appends).
class stop_list {
public:
  template <class Handle>
  Handle add(Handle h) {
    started_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  /// Stopped after everything else (the cluster agent: its heartbeat must outlive the journal's
  /// last batch, which is fenced by it).
  template <class Handle>
  Handle add_last_to_stop(Handle h) {
    started_.insert(started_.begin(), caf::actor_cast<caf::actor>(h));
    return h;
  }

  void stop_all(caf::actor_system& sys) {
    caf::scoped_actor self{sys}; // main's thread, after serving: blocking is fine here
    for (auto i = started_.rbegin(); i != started_.rend(); ++i) {
      self->send_exit(*i, caf::exit_reason::user_shutdown);
      self->wait_for(*i);
    }
    started_.clear();
  }

private:
  std::vector<caf::actor> started_;
};

ports spawn_ports(caf::actor_system& sys, const config::settings& cfg, metrics_registry& metrics,
                  const std::shared_ptr<topic_hub>& hub, const pg::journal_fence& fence,
                  const std::shared_ptr<cluster::state>& cl, stop_list& stops) {
  ports p;
  // The hub learns of every commit from the journal, once per batch, and fans it out to the
  // node's WebSocket subscribers; in a cluster, every node's hub learns of every commit.
  p.hub_actor = stops.add(spawn_hub_actor(sys, hub));
  if (cl) {
    cl->set_local_sink(caf::actor_cast<caf::actor>(p.hub_actor));
    p.hub_actor = stops.add(cluster::spawn_cluster_sink(sys, p.hub_actor, cl, &metrics));
    // Peers forward only the topics this node has subscribers for; the hub says which.
    auto announcer = stops.add(cluster::spawn_interest_announcer(sys, cl));
    cl->set_announcer(announcer);
    hub->set_interest_listener([announcer](const std::string& topic, bool wanted) {
      if (wanted)
        caf::anon_send(announcer, atom::put_v, topic);
      else
        caf::anon_send(announcer, atom::remove_v, topic);
    });
  }
  // The read models follow the journal; it pings their runners after each commit. The
  // customer feed announces its rows to the hub itself.
  std::vector<pg::projection_wakeup> wake;
  for (const auto& name : pg::projection_names()) {
    auto runner = stops.add(
      pg::spawn_projection(sys, cfg.db.url, name, cfg.projections, &metrics, p.hub_actor));
    wake.push_back(
      {caf::actor_cast<pg::projection_wakeup_actor>(runner), pg::projection_kinds(name)});
    if (name == "orders")
      p.orders_projection = runner;
    else if (name == "customer_feed")
      p.customer_feed_projection = runner;
    else if (name == "daily_stats")
      p.stats_projection = runner;
  }
  p.journal = stops.add(
    pg::spawn_journal(sys, cfg.db.url, cfg.journal, &metrics, p.hub_actor, std::move(wake), fence));
  p.recovery = stops.add(pg::spawn_recovery(sys, cfg.db.url, cfg.db.readers, &metrics));
  p.products = stops.add(pg::spawn_product_store(sys, cfg.db.url, cfg.db.readers));
  // Admin reads and the few letters sagas set aside: one connection is plenty.
  p.dead_letters = stops.add(pg::spawn_dead_letter_store(sys, cfg.db.url, 1));
  p.webhooks
    = stops.add(pg::spawn_webhook_redeliverer(sys, pg::publisher_settings_of(cfg.webhooks)));
  // Only provider calls may block (the http provider's detached workers); payments are
  // entities in their region.
  p.circuits = std::make_shared<circuit_registry>();
  std::shared_ptr<circuit_breaker> psp_breaker;
  if (cfg.payments.provider == "http")
    psp_breaker = p.circuits->add("payment_provider", {}, &metrics);
  p.provider = stops.add(payments::spawn_payment_provider(sys, cfg.payments, 2, psp_breaker));
  p.notifications = stops.add(pg::spawn_notification_store(sys, cfg.db.url, 1));
  auto list_wait = std::chrono::milliseconds{cfg.projections.list_wait_ms};
  p.orders = stops.add(
    pg::spawn_order_index(sys, cfg.db.url, cfg.db.readers, p.orders_projection, list_wait));
  p.customer_feed = stops.add(pg::spawn_customer_feed(sys, cfg.db.url, cfg.db.readers,
                                                      p.customer_feed_projection, list_wait));
  p.stats = stops.add(pg::spawn_stats_store(sys, cfg.db.url, 1, p.stats_projection, list_wait));
  return p;
}

region_settings region_settings_of(const config::settings& cfg, std::string kind) {
  region_settings r;
  r.kind = std::move(kind);
  r.passivate_after = std::chrono::milliseconds{cfg.entity.passivate_after_ms};
  r.restart_budget = cfg.entity.restart_budget;
  r.restart_window = std::chrono::milliseconds{cfg.entity.restart_window_ms};
  r.backoff_min = std::chrono::milliseconds{cfg.entity.backoff_min_ms};
  r.backoff_max = std::chrono::milliseconds{cfg.entity.backoff_max_ms};
  return r;
}

// Each region after the regions its entities call.
regions spawn_regions(caf::actor_system& sys, const config::settings& cfg, const ports& p,
                      metrics_registry& metrics, const std::shared_ptr<cluster::state>& cl,
                      stop_list& stops) {
  regions r;
  auto region = [&](const char* kind, runtime::entity_spawner spawner,
                    std::function<bool(const caf::message&)> is_read = {}) {
    auto rs = region_settings_of(cfg, kind);
    rs.is_read = std::move(is_read);
    rs.watch = caf::actor_cast<caf::actor>(p.journal);
    auto local = stops.add(spawn_region(sys, std::move(rs), std::move(spawner), &metrics));
    r.local[kind] = local;
    if (!cl)
      return local;
    cluster::router_settings router_cfg;
    router_cfg.kind = kind;
    router_cfg.wait_for_owner = std::chrono::milliseconds{cfg.cluster.wait_for_owner_ms};
    router_cfg.forward_timeout = std::chrono::milliseconds{cfg.cluster.forward_timeout_ms};
    return stops.add(cluster::spawn_router(sys, std::move(router_cfg), local, cl));
  };
  stock_settings stock_cfg;
  stock_cfg.journal = p.journal;
  stock_cfg.recovery = p.recovery;
  stock_cfg.default_ttl_ms = cfg.entity.default_hold_ttl_ms;
  stock_cfg.max_ttl_ms = cfg.entity.max_hold_ttl_ms;
  stock_cfg.max_waiting_reservations = static_cast<size_t>(cfg.entity.max_waiting_reservations);
  stock_cfg.snapshot_every = cfg.journal.snapshot_every;
  stock_cfg.fault_injection = cfg.testing.fault_injection;
  // Reads of SKUs that do not exist (bots guessing) cost neither an actor nor a query each.
  r.stock = region("stock", make_stock_spawner(stock_cfg), is_stock_read);

  entity_env env;
  env.journal = p.journal;
  env.recovery = p.recovery;
  env.snapshot_every = cfg.journal.snapshot_every;
  env.fault_injection = cfg.testing.fault_injection;
  auto step_timeout = std::chrono::milliseconds{cfg.checkout.step_timeout_ms};
  r.coupon = region("coupon", make_coupon_spawner(env));

  payment_entity_settings payment_cfg;
  payment_cfg.env = env;
  payment_cfg.provider = p.provider;
  payment_cfg.provider_name = cfg.payments.provider == "http" ? "http" : "sandbox";
  payment_cfg.park_limit
    = std::chrono::milliseconds{std::max<int64_t>(cfg.checkout.payment_timeout_ms, 1)};
  r.payment = region("payment", make_payment_spawner(payment_cfg));

  cart_settings cart_cfg;
  cart_cfg.env = env;
  cart_cfg.policy.ttl_ms = cfg.checkout.cart_ttl_ms;
  cart_cfg.policy.shipping_flat_minor = cfg.checkout.shipping_flat_minor;
  cart_cfg.products = p.products;
  cart_cfg.stock_region = r.stock;
  cart_cfg.coupon_region = r.coupon;
  cart_cfg.ask_timeout = step_timeout;
  r.cart = region("cart", make_cart_spawner(cart_cfg));

  order_settings order_cfg;
  order_cfg.env = env;
  order_cfg.stock_region = r.stock;
  order_cfg.payment_region = r.payment;
  order_cfg.ask_timeout = step_timeout;
  order_cfg.delays = delay_policy_of(cfg.orders);
  r.order = region("order", make_order_spawner(order_cfg));

  checkout_settings checkout_cfg;
  checkout_cfg.env = env;
  checkout_cfg.cart_region = r.cart;
  checkout_cfg.coupon_region = r.coupon;
  checkout_cfg.stock_region = r.stock;
  checkout_cfg.order_region = r.order;
  checkout_cfg.payment_region = r.payment;
  checkout_cfg.dead_letters = p.dead_letters;
  checkout_cfg.hold_ttl_ms = std::min(cfg.checkout.hold_ttl_ms, cfg.entity.max_hold_ttl_ms);
  checkout_cfg.step_timeout = step_timeout;
  checkout_cfg.payment_timeout = std::chrono::milliseconds{cfg.checkout.payment_timeout_ms};
  checkout_cfg.compensation_attempts = cfg.checkout.compensation_attempts;
  checkout_cfg.compensation_backoff
    = std::chrono::milliseconds{cfg.checkout.compensation_backoff_ms};
  checkout_cfg.idempotency_retention_ms = cfg.checkout.idempotency_retention_ms;
  if (cfg.testing.fault_injection)
    checkout_cfg.settle_delay = std::chrono::milliseconds{cfg.testing.settle_delay_ms};
  r.checkout = region("checkout", make_checkout_spawner(checkout_cfg));
  return r;
}

// The node's background workers: the delay sweeper and one outbox publisher per endpoint. In a
// cluster they run once, on the node that holds their lease (cluster_agent.hpp).
std::vector<caf::actor> spawn_workers(caf::actor_system& sys, const config::settings& cfg,
                                      const regions& r, metrics_registry& metrics,
                                      circuit_registry& circuits) {
  std::vector<caf::actor> out;
  auto add = [&out](caf::actor a) { out.push_back(std::move(a)); };
  // Orders check their delays on their own timers, which passivation and restarts end: the
  // sweeper wakes those whose check fell due, as the orders read model records it.
  pg::delay_sweeper_settings sweeper_cfg;
  sweeper_cfg.interval = std::chrono::milliseconds{cfg.orders.delay_sweep_ms};
  add(pg::spawn_delay_sweeper(sys, cfg.db.url, sweeper_cfg, r.order));
  // One detached publisher per webhook endpoint, so that a slow endpoint delays only itself.
  // The outbox is durable: what a stopped publisher has not sent goes out on the next start.
  for (auto& settings : pg::publisher_settings_of(cfg.webhooks)) {
    settings.breaker = circuits.add("webhook " + settings.endpoint, {}, &metrics);
    add(pg::spawn_outbox_publisher(sys, cfg.db.url, std::move(settings)));
  }
  // Notifications leave from here; a channel without a provider keeps its deliveries pending.
  const auto& n = cfg.notifications;
  if (!n.smtp_url.empty() || !n.sms_url.empty() || !n.push_url.empty()) {
    pg::dispatcher_settings sender;
    sender.smtp.url = n.smtp_url;
    sender.smtp.from = n.smtp_from;
    sender.smtp.username = n.smtp_username;
    sender.smtp.password = n.smtp_password;
    sender.smtp.timeout = std::chrono::milliseconds{n.smtp_timeout_ms};
    auto provider_timeout = std::chrono::milliseconds{n.provider_timeout_ms};
    sender.sms = {n.sms_url, n.sms_api_key, provider_timeout};
    sender.push = {n.push_url, n.push_api_key, provider_timeout};
    sender.retry = {n.max_attempts, n.backoff_min_ms, n.backoff_max_ms};
    sender.metrics = &metrics;
    add(pg::spawn_notification_dispatcher(sys, cfg.db.url, std::move(sender)));
  }
  // Marketplace orders are pulled from here, one worker per shop so that a slow platform
  // delays only its own shops; each resumes at its durable cursor.
  for (const auto& shop : cfg.marketplace_sync.shops)
    add(marketplaces::spawn_pull_sync(sys, cfg.db.url, cfg.marketplace_sync, shop, r.order));
  return out;
}

node_handles handles_of(caf::actor_system& sys, const config::settings& cfg, const ports& p,
                        const regions& r, const std::shared_ptr<topic_hub>& hub,
                        metrics_registry& metrics, std::shared_ptr<node_identity> identity) {
  node_handles h;
  h.sys = &sys;
  h.stock_region = r.stock;
  h.cart_region = r.cart;
  h.coupon_region = r.coupon;
  h.checkout_region = r.checkout;
  h.order_region = r.order;
  h.payment_region = r.payment;
  h.orders = p.orders;
  h.customer_feed = p.customer_feed;
  h.stats = p.stats;
  h.import_orders = [](sales_platform platform, std::string_view body, const import_options& opts) {
    return marketplaces::import_orders(platform, body, opts);
  };
  h.products = p.products;
  h.dead_letters = p.dead_letters;
  h.webhooks = p.webhooks;
  h.notifications = p.notifications;
  h.recovery = p.recovery;
  h.hub = hub;
  h.identity = std::move(identity);
  h.metrics = &metrics;
  h.cfg = cfg;
  h.circuits = p.circuits;
  return h;
}

// Serves HTTP and WebSocket until SIGINT or SIGTERM; the process exit code.
// SIGHUP: the notification rules change without a restart; a configuration that no longer
// loads changes nothing.
void reload(const settings_reloader& read_again) {
  auto log = logger("runtime");
  if (!read_again) {
    log->warn("SIGHUP ignored: this node cannot read its configuration again");
    return;
  }
  std::vector<std::string> errors;
  auto cfg = read_again(errors);
  if (!cfg) {
    for (const auto& e : errors)
      log->error("configuration not reloaded: {}", e);
    return;
  }
  if (auto err = pg::set_notification_rules(cfg->notifications.rules); !err.empty()) {
    log->error("notification rules not reloaded: {}", err);
    return;
  }
  log->info("notification rules reloaded");
}

int serve(const node_handles& handles, sigset_t& signals, const settings_reloader& read_again) {
  auto log = logger("runtime");
  const auto& cfg = handles.cfg;
  api::http_server http{handles};
  try {
    http.start();
  } catch (const std::exception& e) {
    log->error("cannot serve HTTP on {}: {}", cfg.server.http_addr, e.what());
    return 1;
  }
  handles.identity->http_port = http.port();
  log->info("node {} starts", handles.identity->node_id);
  // In a cluster, the agent does this for each shard it takes over.
  if (!handles.cluster)
    wake_after_crash(cfg.db.url, handles.checkout_region, handles.stock_region,
                     [](std::string_view, const std::string&) { return true; });
  log->info("mercato serves http://127.0.0.1:{} (scheduler threads {}, io threads {})", http.port(),
            handles.sys->scheduler().num_workers(), cfg.server.io_threads);
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
    reload(read_again);
  log->info("signal {} received; shutting down", sig);
  http.stop();
  return 0;
}

} // namespace

int run_server(const config::settings& cfg, settings_reloader read_again) {
  init_logging(cfg.log.level, cfg.log.format);
  auto log = logger("runtime");
  auto signals = block_shutdown_signals();
  if (cfg.db.migrate && !migrate_with_retry(cfg.db.url))
    return 1;
  if (!cfg.db.rebuild_projection.empty())
    return rebuild_projection(cfg.db.url, cfg.db.rebuild_projection);
  try {
    if (auto err = pg::use_stats_time_zone(cfg.db.url, cfg.projections.stats_time_zone);
        !err.empty()) {
      log->error("{}", err);
      return 1;
    }
  } catch (const std::exception& e) {
    log->error("cannot set the time zone of the daily statistics: {}", e.what());
    return 1;
  }
  pg::set_stall_timeout(std::chrono::milliseconds{cfg.db.stall_timeout_ms});
  if (auto err = pg::set_notification_rules(cfg.notifications.rules); !err.empty()) {
    log->error("notifications.rules: {}", err);
    return 1;
  }
  int exit_code = 0;
  {
    // Declared before the actor system, so it outlives every actor that records into it (the
    // system's destructor waits for actors still finishing their work).
    metrics_registry metrics;
    node_config caf_cfg{cfg};
    caf::actor_system sys{caf_cfg};
    stop_list stops;
    auto hub = std::make_shared<topic_hub>(api::ws::encode_event, &metrics);
    auto identity = make_identity(cfg);
    std::shared_ptr<cluster::state> cl;
    caf::actor gateway;
    caf::actor agent;
    pg::journal_fence fence;
    if (cfg.cluster.enabled) {
      cl = std::make_shared<cluster::state>(identity->node_id,
                                            std::chrono::milliseconds{cfg.cluster.self_fence_ms});
      gateway = stops.add(cluster::spawn_gateway(sys, cl));
      auto port = sys.middleman().publish(gateway, static_cast<uint16_t>(cfg.cluster.port),
                                          cfg.cluster.host.c_str(), true);
      if (!port) {
        log->error("cannot serve the cluster port on {}:{}: {}", cfg.cluster.host, cfg.cluster.port,
                   sys.render(port.error()));
        stops.stop_all(sys);
        return 1;
      }
      auto inc = enter_cluster(cfg.db.url, cfg.cluster, identity->node_id, "", *port);
      if (!inc) {
        log->error("cannot join the cluster: {}", sys.render(inc.error()));
        stops.stop_all(sys);
        return 1;
      }
      cl->set_incarnation(*inc);
      fence.node_id = identity->node_id;
      fence.incarnation = *inc;
      log->info("node {} joins the cluster as incarnation {} (remoting on {}:{})",
                identity->node_id, *inc, cfg.cluster.host, *port);
    }
    auto p = spawn_ports(sys, cfg, metrics, hub, fence, cl, stops);
    auto r = spawn_regions(sys, cfg, p, metrics, cl, stops);
    if (cl) {
      cl->set_regions(r.local);
      cluster_agent_settings a;
      a.url = cfg.db.url;
      a.cluster = cfg.cluster;
      a.http_address = [identity] {
        auto port = identity->http_port.load();
        return port == 0 ? std::string{} : identity->http_host + ":" + std::to_string(port);
      };
      for (const auto& [kind, region] : r.local)
        a.regions.push_back(region);
      a.on_takeover = [url = cfg.db.url, checkouts = r.checkout,
                       stock = r.stock](const std::vector<int32_t>& shards, int32_t shard_count) {
        std::set<int32_t> taken(shards.begin(), shards.end());
        wake_after_crash(url, checkouts, stock, [&](std::string_view kind, const std::string& key) {
          return taken.count(cluster::shard_of(kind, key, shard_count)) > 0;
        });
      };
      a.start_singletons = [&sys, cfg, r, &metrics, circuits = p.circuits] {
        return spawn_workers(sys, cfg, r, metrics, *circuits);
      };
      agent = stops.add_last_to_stop(spawn_cluster_agent(sys, std::move(a), cl));
      cl->set_agent(agent);
    } else {
      for (auto& w : spawn_workers(sys, cfg, r, metrics, *p.circuits))
        stops.add(std::move(w));
    }
    auto handles = handles_of(sys, cfg, p, r, hub, metrics, identity);
    handles.cluster = cl;
    handles.cluster_gateway = gateway;
    handles.admin_feed = stops.add(api::ws::spawn_admin_feed(handles));
    exit_code = serve(handles, signals, read_again);
    if (agent) {
      // Hand the shards over while everything still runs, so that no request fails.
      caf::scoped_actor self{sys};
      self->request(agent, std::chrono::seconds{15}, atom::remove_v)
        .receive(
          [&log](bool all) { log->info("cluster: shards handed over: {}", all ? "all" : "some"); },
          [&log](const caf::error& err) {
            log->warn("cluster: leaving without handing shards over: {}", render(err));
          });
    }
    stops.stop_all(sys);
  }
  log->info("mercato stopped");
  return exit_code;
}

} // namespace mercato::runtime
