#include "adapters/pg/connection.hpp"

#include "tests/support/pg_fixture.hpp"

namespace mercato::test {
namespace {

TEST(Dsn, RedactsPasswordsInBothForms) {
  EXPECT_EQ(pg::redact_dsn("host=db user=app password=s3cret dbname=m"),
            "host=db user=app password=*** dbname=m");
  EXPECT_EQ(pg::redact_dsn("host=db password = 'two words' dbname=m"),
            "host=db password = *** dbname=m");
  EXPECT_EQ(pg::redact_dsn("postgresql://app:s3cret@db:5432/m?sslmode=require"),
            "postgresql://app:***@db:5432/m?sslmode=require");
  EXPECT_EQ(pg::redact_dsn("postgres://db/m?user=app&password=s3cret&x=1"),
            "postgres://db/m?user=app&password=***&x=1");
  EXPECT_EQ(pg::redact_dsn("postgres://app@db/m"), "postgres://app@db/m");
}

TEST(Dsn, AddsAConnectTimeoutUnlessPresent) {
  EXPECT_EQ(pg::with_connect_timeout("host=db", 5), "host=db connect_timeout=5");
  EXPECT_EQ(pg::with_connect_timeout("host=db connect_timeout=1", 5), "host=db connect_timeout=1");
  EXPECT_EQ(pg::with_connect_timeout("postgres://db/m", 5), "postgres://db/m?connect_timeout=5");
  EXPECT_EQ(pg::with_connect_timeout("postgres://db/m?sslmode=disable", 5),
            "postgres://db/m?sslmode=disable&connect_timeout=5");
}

TEST(Dsn, AddsKeepalivesAndAUserTimeoutUnlessPresent) {
  EXPECT_EQ(pg::with_liveness_checks("host=db"),
            "host=db keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=2 "
            "tcp_user_timeout=10000");
  EXPECT_EQ(pg::with_liveness_checks("postgres://db/m?tcp_user_timeout=500&keepalives=0"),
            "postgres://db/m?tcp_user_timeout=500&keepalives=0&keepalives_idle=5"
            "&keepalives_interval=2&keepalives_count=2");
}

TEST(Dsn, FixtureReplacesTheDatabaseName) {
  EXPECT_EQ(dsn_with_dbname("host=/tmp dbname=postgres user=pg", "t1"),
            "host=/tmp dbname=t1 user=pg");
  EXPECT_EQ(dsn_with_dbname("host=/tmp user=pg", "t1"), "host=/tmp user=pg dbname=t1");
  EXPECT_EQ(dsn_with_dbname("postgresql://u:p@h:5/postgres?x=1", "t1"),
            "postgresql://u:p@h:5/t1?x=1");
  EXPECT_EQ(dsn_with_dbname("postgresql://h", "t1"), "postgresql://h/t1");
}

} // namespace
} // namespace mercato::test
