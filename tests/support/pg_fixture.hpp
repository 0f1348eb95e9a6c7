#pragma once

// Fixture for tests that need PostgreSQL (`*_pgtest.cpp`). Each test gets a fresh database
// `mercato_test_<pid>_<n>` (tests/support/test_db), created through MERCATO_TEST_DATABASE_URL (a
// superuser key=value DSN, e.g. "host=/tmp/pgdev dbname=postgres user=postgres") and dropped in
// TearDown; the test is skipped when that variable is unset. A real CAF actor system with Mercato's
// types registered runs the actors; test bodies talk to them through `self` (a scoped_actor). A
// subclass that keeps actor handles in members must reset them in its TearDown before calling
// pg_test::TearDown: the actor system's destructor waits for every actor still referenced.

#include "actors/protocol/atoms.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/messages.hpp"
#include "adapters/pg/migrate.hpp"
#include "adapters/pg/projections.hpp"
#include "tests/support/test_db.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace mercato::test {

/// The actor system config every pg test uses: Mercato's types and error renderer.
struct pg_test_config : caf::actor_system_config {
  pg_test_config() {
    add_message_types<caf::id_block::mercato>();
    add_error_category(caf::atom("mercato"),
                       [](uint8_t code, caf::atom_value, const caf::message&) {
                         return "mercato::" + to_string(static_cast<mercato_errc>(code));
                       });
    set("scheduler.max-threads", 2);
  }
};

/// A reserve event of `qty` units under `reservation_id`.
inline stock_event reserved_event(const std::string& reservation_id, int64_t qty, int64_t at_ms) {
  stock_event ev;
  ev.type = stock_event_type::reserved;
  ev.reservation_id = reservation_id;
  ev.qty = qty;
  ev.expires_at_ms = at_ms + 900000;
  ev.at_ms = at_ms;
  return ev;
}

/// A persist request for stock item `sku` with `n` adjust events (delta = seq) from `first_seq`.
inline persist_request stock_request(const std::string& sku, uint64_t first_seq, size_t n,
                                     const std::string& request_id = "req-test") {
  persist_request req;
  req.kind = "stock";
  req.entity_id = sku;
  req.first_seq = first_seq;
  req.request_id = request_id;
  for (size_t i = 0; i < n; ++i) {
    stock_event ev;
    ev.type = stock_event_type::adjusted;
    ev.delta = static_cast<int64_t>(first_seq + i);
    ev.reason = "restock";
    ev.at_ms = 1700000000000 + static_cast<int64_t>(first_seq + i);
    req.events.push_back(caf::make_message(ev));
  }
  return req;
}

/// Gives an empty database the schema of the migrations before `version`, recorded as applied,
/// in `txn`: a database as an older node left it, for a test to fill and then migrate the rest.
inline void migrate_before(pqxx::work& txn, int version) {
  txn.exec("CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, "
           "applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& m : pg::migrations()) {
    if (m.version >= version)
      break;
    txn.exec(m.sql);
    txn.exec("INSERT INTO schema_migrations (version, name) VALUES (" + txn.quote(m.version) + ", "
             + txn.quote(m.name) + ")");
  }
}

class pg_test : public ::testing::Test {
protected:
  void SetUp() override {
    const char* url = std::getenv("MERCATO_TEST_DATABASE_URL");
    if (url == nullptr || *url == '\0')
      GTEST_SKIP() << "MERCATO_TEST_DATABASE_URL is not set";
    admin_url_ = url;
    db_.emplace(admin_url_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    self_ = std::make_unique<caf::scoped_actor>(*sys_);
  }

  void TearDown() override {
    // Actors (and their connections) first, then the database.
    self_.reset();
    sys_.reset();
    db_.reset();
  }

  /// Runs `sql` on the server's maintenance database as the superuser (outside a transaction).
  void admin_exec(const std::string& sql) {
    pqxx::connection conn{admin_url_};
    pqxx::nontransaction txn{conn};
    txn.exec(sql);
  }

  /// Runs `sql` on the maintenance database and returns the first column of the first row.
  template <class T>
  T admin_scalar(const std::string& sql) {
    pqxx::connection conn{admin_url_};
    pqxx::nontransaction txn{conn};
    return txn.exec1(sql)[0].as<T>();
  }

  /// Runs `sql` in the test database and returns the result.
  pqxx::result query(const std::string& sql) {
    pqxx::connection conn{url()};
    pqxx::nontransaction txn{conn};
    return txn.exec(sql);
  }

  /// The first column of the first row of `sql`, as T.
  template <class T>
  T scalar(const std::string& sql) {
    return query(sql)[0][0].as<T>();
  }

  /// Brings projection `name` ("orders", "payments", "checkouts_open") up to every event
  /// committed so far, so that the test reads its table deterministically.
  void catch_up(const std::string& name) {
    pg::catch_up_projection(url(), name, std::chrono::seconds{10});
  }

  /// Sends a request and waits up to 5 s for its answer.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& dst, Ts&&... xs) {
    caf::expected<T> out = caf::make_error(caf::sec::request_timeout);
    (*self_)
      ->request(dst, std::chrono::seconds{5}, std::forward<Ts>(xs)...)
      .receive([&out](T& x) { out = std::move(x); }, [&out](caf::error& e) { out = std::move(e); });
    return out;
  }

  caf::actor_system& sys() {
    return *sys_;
  }

  caf::scoped_actor& self() {
    return *self_;
  }

  /// The test database's DSN.
  const std::string& url() const {
    return db_->dsn();
  }

  const std::string& dbname() const {
    return db_->name();
  }

  const std::string& admin_url() const {
    return admin_url_;
  }

private:
  std::string admin_url_;
  std::optional<test_database> db_; // dropped in TearDown, after the actors
  pg_test_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> self_;
};

/// A pg_test whose database has the current schema: SetUp migrates it, then calls
/// `spawn_actors()`, where a subclass starts the actors under test.
class migrated_pg_test : public pg_test {
protected:
  void SetUp() override {
    pg_test::SetUp();
    if (IsSkipped())
      return;
    ASSERT_EQ(pg::migrate(url()), "");
    spawn_actors();
  }

  /// Runs only once the database is migrated, so that actors never see a schema-less database.
  virtual void spawn_actors() {}
};

} // namespace mercato::test
