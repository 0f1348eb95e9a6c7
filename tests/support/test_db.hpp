#pragma once

// A fresh PostgreSQL database per test, created and dropped through a superuser DSN.

#include <optional>
#include <string>

namespace mercato::test {

/// Name of the environment variable holding the superuser DSN.
inline constexpr const char* test_database_url_env = "MERCATO_TEST_DATABASE_URL";

/// The superuser DSN from MERCATO_TEST_DATABASE_URL, or nullopt when it is unset or empty
/// (tests then call GTEST_SKIP()).
std::optional<std::string> superuser_dsn();

/// Returns `dsn` naming database `dbname` instead of its own. Accepts libpq key=value strings
/// (values may be quoted) and postgres:// / postgresql:// URIs.
std::string dsn_with_dbname(const std::string& dsn, const std::string& dbname);

/// Creates `mercato_test_<pid>_<n>` on construction, drops it WITH (FORCE) on destruction
/// (which also ends sessions a killed server may have left behind).
class test_database {
public:
  /// Throws std::runtime_error (with the server's message) when it cannot create the database.
  explicit test_database(std::string superuser_dsn);
  ~test_database();

  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  /// The database name.
  const std::string& name() const {
    return name_;
  }

  /// A DSN for the new database, with the superuser's credentials.
  const std::string& dsn() const {
    return dsn_;
  }

private:
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

} // namespace mercato::test
