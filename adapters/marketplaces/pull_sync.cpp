#include "adapters/marketplaces/pull_sync.hpp"

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/marketplace.hpp"
#include "adapters/marketplaces/native.hpp"
#include "adapters/marketplaces/platform_api.hpp"
#include "adapters/pg/sync_cursor_store.hpp"
#include "runtime/logging.hpp"
#include "runtime/shard_region.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/time.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

namespace mercato::marketplaces {

namespace {

using std::chrono::milliseconds;
using outcome = page_result::outcome;

// An access token this close to its expiry is refreshed before the next page.
constexpr int64_t refresh_margin_s = 300;

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
  // The shop's own OAuth tokens, when its entry names a refresh_token.
  bool refreshes = false;
  std::string auth_url;
  std::string seed;                      // hex SHA-256 of the configured refresh token
  std::optional<pg::sync_tokens> tokens; // the pair in use; unset until read from the database
  bool tokens_unsaved = false;           // refreshed but not yet durable: not to be used
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

// Makes the refreshed pair durable and only then lets the calls use it: the platform has spent
// the old refresh token, so a crash must not lose the new one. False: the attempt failed.
bool save_tokens(self_ptr self) {
  auto& st = self->state;
  if (auto err = st.store->save_tokens(*st.tokens)) {
    retry(self, "cannot record the refreshed access token: " + render(err));
    return false;
  }
  st.tokens_unsaved = false;
  st.api.access_token = st.tokens->access_token;
  return true;
}

// Trades the refresh token for a new pair. False: the attempt failed.
bool refresh(self_ptr self, const char* why) {
  auto& st = self->state;
  auto r = refresh_token(st.api, st.auth_url, st.tokens->refresh_token, net::http_call, now_ms(),
                         milliseconds{st.cfg.request_timeout_ms});
  if (!r.ok) {
    retry(self, "cannot refresh the access token: " + r.error);
    return false;
  }
  st.tokens = pg::sync_tokens{std::move(r.access_token), std::move(r.refresh_token), r.expires_at_s,
                              st.seed};
  st.tokens_unsaved = true;
  if (!save_tokens(self))
    return false;
  st.log->info("marketplace sync {} refreshes its access token ({}); the new one is valid until {}",
               st.shop.name, why, util::format_rfc3339_ms(r.expires_at_s * 1000));
  return true;
}

// Gives st.api an access token fit for the next page: the stored pair if it descends from the
// configured refresh token, else the configured pair; refreshed when its expiry is unknown or
// near. Sets `refreshed` when it spends the attempt's refresh. False: the attempt failed.
bool ensure_token(self_ptr self, bool& refreshed) {
  auto& st = self->state;
  if (!st.tokens) {
    auto stored = st.store->load_tokens();
    if (!stored) {
      retry(self, "cannot read the stored access token: " + render(stored.error()));
      return false;
    }
    if (*stored && (*stored)->seed == st.seed) {
      st.tokens = std::move(**stored);
      st.log->info("marketplace sync {} uses its stored access token (valid until {})",
                   st.shop.name, util::format_rfc3339_ms(st.tokens->expires_at * 1000));
    } else {
      // A first start, or the operator re-authorised the shop: the shops file's pair wins.
      if (*stored)
        st.log->info("marketplace sync {} drops its stored tokens: the shops file names another "
                     "refresh token",
                     st.shop.name);
      st.tokens = pg::sync_tokens{st.shop.access_token, st.shop.refresh_token, 0, st.seed};
    }
    st.api.access_token = st.tokens->access_token;
  }
  if (st.tokens_unsaved && !save_tokens(self))
    return false;
  const int64_t expires_at = st.tokens->expires_at;
  if (expires_at != 0 && expires_at - now_ms() / 1000 > refresh_margin_s)
    return true;
  refreshed = true;
  return refresh(self, expires_at == 0 ? "its expiry is unknown" : "it expires soon");
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
  bool refreshed = false;
  if (st.refreshes && !ensure_token(self, refreshed))
    return;
  auto fetch = [&st, &cur] {
    return fetch_page(st.api, {cur.synced_to, cur.window_to}, cur.page_token, net::http_call,
                      now_ms(), milliseconds{st.cfg.request_timeout_ms});
  };
  auto page = fetch();
  if (page.result == outcome::unauthorized && st.refreshes && !refreshed) {
    // Refused before its announced expiry (revoked, or the clocks disagree): one refresh per
    // attempt; refused again, the attempt has failed.
    if (!refresh(self, "the platform refused it"))
      return;
    page = fetch();
  }
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
  case outcome::unauthorized:
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
  st.refreshes = !shop.refresh_token.empty();
  if (st.refreshes) {
    st.auth_url = shop.auth_url;
    while (!st.auth_url.empty() && st.auth_url.back() == '/')
      st.auth_url.pop_back();
    st.seed = util::sha256_hex(shop.refresh_token);
  }
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
