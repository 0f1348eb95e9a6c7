#include "runtime/server.hpp"

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/stock/stock_actor.hpp"
#include "adapters/payments/payments.hpp"
#include "adapters/pg/journal.hpp"
#include "adapters/pg/migrate.hpp"
#include "adapters/pg/product_store.hpp"
#include "adapters/pg/recovery.hpp"
#include "api/http/server.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"
#include "runtime/node.hpp"
#include "runtime/shard_region.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <thread>

namespace mercato::runtime {

namespace {

// Blocks SIGINT/SIGTERM in every thread (threads inherit the mask) so that sigwait() in
// main is the only place that sees them.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
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
  }
};

} // namespace

int run_server(const config::settings& cfg) {
  init_logging(cfg.log.level, cfg.log.format);
  auto log = logger("runtime");
  auto signals = block_shutdown_signals();
  if (cfg.db.migrate && !migrate_with_retry(cfg.db.url))
    return 1;
  int exit_code = 0;
  {
    node_config caf_cfg{cfg};
    caf::actor_system sys{caf_cfg};
    metrics_registry metrics;
    auto journal = pg::spawn_journal(sys, cfg.db.url, cfg.journal, &metrics);
    auto recovery = pg::spawn_recovery(sys, cfg.db.url, cfg.db.readers);
    auto products = pg::spawn_product_store(sys, cfg.db.url, cfg.db.readers);
    auto payment_port = payments::spawn_payments(sys, cfg.db.url, cfg);

    stock_settings stock_cfg;
    stock_cfg.journal = journal;
    stock_cfg.recovery = recovery;
    stock_cfg.default_ttl_ms = cfg.entity.default_hold_ttl_ms;
    stock_cfg.max_ttl_ms = cfg.entity.max_hold_ttl_ms;
    stock_cfg.snapshot_every = cfg.journal.snapshot_every;
    stock_cfg.fault_injection = cfg.testing.fault_injection;
    region_settings stock_region_cfg;
    stock_region_cfg.kind = "stock";
    stock_region_cfg.passivate_after = std::chrono::milliseconds{cfg.entity.passivate_after_ms};
    stock_region_cfg.restart_budget = cfg.entity.restart_budget;
    stock_region_cfg.restart_window = std::chrono::milliseconds{cfg.entity.restart_window_ms};
    stock_region_cfg.backoff_min = std::chrono::milliseconds{cfg.entity.backoff_min_ms};
    stock_region_cfg.backoff_max = std::chrono::milliseconds{cfg.entity.backoff_max_ms};
    auto stock_region
      = spawn_region(sys, stock_region_cfg, make_stock_spawner(stock_cfg), &metrics);

    node_handles handles;
    handles.sys = &sys;
    handles.stock_region = stock_region;
    handles.products = products;
    handles.payments = payment_port;
    handles.metrics = &metrics;
    handles.cfg = cfg;
    {
      api::http_server http{handles};
      try {
        http.start();
      } catch (const std::exception& e) {
        log->error("cannot serve HTTP on {}: {}", cfg.server.http_addr, e.what());
        exit_code = 1;
      }
      if (exit_code == 0) {
        log->info("mercato serves http://127.0.0.1:{} (scheduler threads {}, io threads {})",
                  http.port(), sys.scheduler().num_workers(), cfg.server.io_threads);
        int sig = 0;
        sigwait(&signals, &sig);
        log->info("signal {} received; shutting down", sig);
        http.stop();
      }
    }
    // Entities first (their pending appends are answered), then the adapters they use.
    caf::anon_send_exit(stock_region, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(payment_port, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(products, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(recovery, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  }
  log->info("mercato stopped");
  return exit_code;
}

} // namespace mercato::runtime
