#include "adapters/marketplaces/pull_sync.hpp"

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/marketplace.hpp"
#include "adapters/marketplaces/native.hpp"
#include "adapters/marketplaces/platform_api.hpp"
#include "adapters/pg/sync_cursor_store.hpp"
#include "runtime/logging.hpp"
#include "runtime/shard_region.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

namespace mercato::marketplaces {

namespace {

using std::chrono::milliseconds;
using outcome = page_result::outcome;

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct sync_state {
  static inline const char* name = "marketplace.pull-sync";
  config::marketplace_sync_settings cfg;
  config::marketplace_shop shop;
  api_shop api;
  import_options opts;
  caf::actor order_region;
  std::unique_ptr<pg::sync_cursor_store> store;
  std::shared_ptr<spdlog::logger> log;
  std::optional<pg::sync_cursor> cursor; // unset until read from the database
  int failures = 0;                      // failed attempts of the current page
  bool busy = false;                     // a page's upserts are in flight
  int64_t run_orders = 0;                // orders imported by the current sync
  int64_t run_pages = 0;
};

using self_ptr = caf::stateful_actor<sync_state>*;

milliseconds backoff(const sync_state& st) {
  auto wait = st.cfg.backoff_min_ms;
  for (int i = 1; i < st.failures && wait < st.cfg.backoff_max_ms; ++i)
    wait *= 2;
  return milliseconds{std::min(wait, st.cfg.backoff_max_ms)};
}

// The sync ends (well or after too many failures); the next starts an interval later.
void end_sync(self_ptr self, const std::string& error) {
  auto& st = self->state;
  if (error.empty())
    st.log->info("marketplace sync {}: {} orders in {} pages, synced to {}", st.shop.name,
                 st.run_orders, st.run_pages, st.cursor ? st.cursor->synced_to : 0);
  else
    st.log->error("marketplace sync {} ends early: {}", st.shop.name, error);
  if (st.cursor)
    if (auto err = st.store->note_error(error))
      st.log->warn("marketplace sync {} cannot record its outcome: {}", st.shop.name, render(err));
  st.failures = 0;
  st.run_orders = 0;
  st.run_pages = 0;
  self->delayed_send(self, milliseconds{st.shop.interval_ms}, caf::tick_atom_v);
}

// A failed attempt of the current step: try it again after a backoff, or give up until the next
// interval.
void retry(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (++st.failures >= st.cfg.max_attempts)
    return end_sync(self, why + " (" + std::to_string(st.failures) + " attempts)");
  auto wait = backoff(st);
  st.log->warn("marketplace sync {}: {}; again in {} ms", st.shop.name, why, wait.count());
  self->delayed_send(self, wait, caf::tick_atom_v);
}

// Every order of the page is in its entity: the cursor moves past the page, durably, and the
// next page (or window) follows at once.
void commit_page(self_ptr self, const page_result& page) {
  auto& st = self->state;
  auto next = *st.cursor;
  if (page.more && (page.next_token.empty() || page.next_token == next.page_token))
    // A platform that names this page as the next would hold the sync on it for ever.
    return retry(self,
                 "the platform's next page is the page just read ('" + page.next_token + "')");
  if (page.more) {
    next.page_token = page.next_token;
  } else {
    next.synced_to = next.window_to;
    next.window_to = 0;
    next.page_token.clear();
  }
  if (auto err = st.store->save(next, static_cast<int64_t>(page.orders.size())))
    return retry(self, "cannot record the cursor: " + render(err));
  st.cursor = next;
  st.failures = 0;
  st.run_orders += static_cast<int64_t>(page.orders.size());
  ++st.run_pages;
  self->send(self, caf::tick_atom_v);
}

// Upserts the page's orders; commits the page once all are in, or tries the page again if an
// entity could not take its order now.
void import_page(self_ptr self, page_result page) {
  auto& st = self->state;
  if (page.orders.empty()) // an empty window
    return commit_page(self, page);
  auto batch = map_records(st.api.platform, page.orders, st.opts);
  for (const auto& r : batch.rejected) // the platform's data, not ours: skip, but say so
    st.log->warn("marketplace sync {}: order {} of the page rejected: {} ({})", st.shop.name,
                 r.index, r.detail, r.code);
  if (batch.orders.empty())
    return commit_page(self, page);
  struct tally {
    size_t pending = 0;
    std::string transient; // the first error worth a retry of the page
  };
  auto t = std::make_shared<tally>();
  t->pending = batch.orders.size();
  auto shared_page = std::make_shared<page_result>(std::move(page));
  st.busy = true;
  auto done = [self, t, shared_page] {
    if (--t->pending > 0)
      return;
    self->state.busy = false;
    if (!t->transient.empty())
      return retry(self, "orders not stored: " + t->transient);
    commit_page(self, *shared_page);
  };
  auto timeout = std::chrono::seconds{30};
  for (auto& rec : batch.orders) {
    auto key = rec.order.order_id;
    runtime::request_entity(self, st.order_region, key, timeout, atom::upsert_v,
                            std::move(rec.order))
      .then([done](import_outcome) { done(); },
            [self, t, done, key](const caf::error& err) {
              auto code = errc_of(err);
              if (code == mercato_errc::invalid_request || code == mercato_errc::conflict)
                self->state.log->warn("marketplace sync {}: order {} refused: {}",
                                      self->state.shop.name, key, render(err));
              else if (t->transient.empty())
                t->transient = key + ": " + render(err);
              done();
            });
  }
}

void step(self_ptr self) {
  auto& st = self->state;
  if (st.busy)
    return;
  if (!st.cursor) {
    int64_t start
      = st.shop.since_s > 0 ? st.shop.since_s : (now_ms() - st.cfg.initial_lookback_ms) / 1000;
    auto c = st.store->load(st.shop.platform, start);
    if (!c)
      return retry(self, "cannot read the cursor: " + render(c.error()));
    st.cursor = *c;
    st.log->info("marketplace sync {} resumes at {} (window to {}, page '{}')", st.shop.name,
                 c->synced_to, c->window_to, c->page_token);
  }
  auto& cur = *st.cursor;
  if (cur.window_to == 0) {
    int64_t settled = (now_ms() - st.cfg.settle_ms) / 1000;
    if (cur.synced_to >= settled)
      return end_sync(self, "");
    cur.window_to = std::min(settled, cur.synced_to + max_window_s);
    cur.page_token.clear();
  }
  auto page = fetch_page(st.api, {cur.synced_to, cur.window_to}, cur.page_token, net::http_call,
                         now_ms(), milliseconds{st.cfg.request_timeout_ms});
  switch (page.result) {
  case outcome::rate_limited: {
    // The platform's own wait, not a failure: it does not count towards max_attempts.
    auto wait = page.retry_after ? std::chrono::duration_cast<milliseconds>(*page.retry_after)
                                 : milliseconds{st.cfg.backoff_min_ms};
    wait = std::min(wait, milliseconds{st.cfg.max_retry_after_ms});
    st.log->warn("marketplace sync {}: rate-limited ({}); again in {} ms", st.shop.name, page.error,
                 wait.count());
    self->delayed_send(self, wait, caf::tick_atom_v);
    return;
  }
  case outcome::failed:
    return retry(self, page.error);
  case outcome::ok:
    return import_page(self, std::move(page));
  }
}

caf::behavior pull_sync(self_ptr self, std::string url, config::marketplace_sync_settings cfg,
                        config::marketplace_shop shop, caf::actor order_region) {
  auto& st = self->state;
  st.log = runtime::logger("marketplace");
  st.store = std::make_unique<pg::sync_cursor_store>(std::move(url), shop.name);
  from_string(shop.platform, st.api.platform);
  st.api.base_url = shop.base_url;
  while (!st.api.base_url.empty() && st.api.base_url.back() == '/')
    st.api.base_url.pop_back();
  st.api.app_key = shop.app_key;
  st.api.app_secret = shop.app_secret;
  st.api.access_token = shop.access_token;
  st.api.shop_id = shop.shop_id;
  st.api.page_size = shop.page_size;
  st.opts.lazada_currency = shop.currency;
  st.cfg = std::move(cfg);
  st.shop = std::move(shop);
  st.order_region = std::move(order_region);
  self->send(self, caf::tick_atom_v);
  return {
    [self](caf::tick_atom) {
      try {
        step(self);
      } catch (const std::exception& e) { // a bug: keep syncing rather than stop for good
        self->state.busy = false;
        retry(self, std::string{"unexpected: "} + e.what());
      }
    },
  };
}

} // namespace

caf::actor spawn_pull_sync(caf::actor_system& sys, std::string db_url,
                           const config::marketplace_sync_settings& cfg,
                           config::marketplace_shop shop, caf::actor order_region) {
  runtime::logger("marketplace")
    ->info("marketplace sync {} starts ({} at {}, every {} ms)", shop.name, shop.platform,
           shop.base_url, shop.interval_ms);
  return sys.spawn<caf::detached>(pull_sync, std::move(db_url), cfg, std::move(shop),
                                  std::move(order_region));
}

} // namespace mercato::marketplaces
