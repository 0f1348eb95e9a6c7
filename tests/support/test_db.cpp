#include "tests/support/test_db.hpp"

#include <pqxx/pqxx>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace mercato::test {

namespace {

// One key=value pair of a libpq connection string.
struct conninfo_item {
  std::string key;
  std::string value;
};

// Parses a key=value connection string the way libpq does (conninfo_parse): values are either
// bare words or single-quoted, and backslash escapes a quote or a backslash in both.
std::vector<conninfo_item> parse_conninfo(const std::string& dsn) {
  std::vector<conninfo_item> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i])))
      ++i;
  };
  for (;;) {
    skip_ws();
    if (i >= dsn.size())
      return out;
    conninfo_item item;
    while (i < dsn.size() && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i])))
      item.key += dsn[i++];
    skip_ws();
    if (i >= dsn.size() || dsn[i] != '=')
      throw std::invalid_argument("malformed DSN: missing '=' after \"" + item.key + "\"");
    ++i;
    skip_ws();
    if (i < dsn.size() && dsn[i] == '\'') {
      ++i;
      for (;;) {
        if (i >= dsn.size())
          throw std::invalid_argument("malformed DSN: unterminated quoted value");
        if (dsn[i] == '\\' && i + 1 < dsn.size()) {
          item.value += dsn[i + 1];
          i += 2;
        } else if (dsn[i] == '\'') {
          ++i;
          break;
        } else {
          item.value += dsn[i++];
        }
      }
    } else {
      while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) {
          item.value += dsn[i + 1];
          i += 2;
        } else {
          item.value += dsn[i++];
        }
      }
    }
    out.push_back(std::move(item));
  }
}

std::string quote_conninfo_value(const std::string& value) {
  bool bare = !value.empty();
  for (char c : value)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'
          || c == '/' || c == ':' || c == ','))
      bare = false;
  if (bare)
    return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "'";
}

bool is_uri(const std::string& dsn) {
  return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

// CREATE DATABASE copies template1 and fails while anyone else is connected to it; that is
// transient on a shared server, so it is retried for a short while.
bool is_template_busy(const std::exception& e) {
  return std::string_view{e.what()}.find("is being accessed by other users")
         != std::string_view::npos;
}

} // namespace

std::optional<std::string> superuser_dsn() {
  const char* value = std::getenv(test_database_url_env);
  if (value == nullptr || *value == '\0')
    return std::nullopt;
  return std::string{value};
}

std::string dsn_with_dbname(const std::string& dsn, const std::string& dbname) {
  if (is_uri(dsn)) {
    // postgresql://[userspec@][hostspec][/dbname][?paramspec]
    auto start = dsn.find("://") + 3;
    auto end_of_hosts = dsn.find_first_of("/?", start);
    if (end_of_hosts == std::string::npos)
      return dsn + "/" + dbname;
    if (dsn[end_of_hosts] == '?')
      return dsn.substr(0, end_of_hosts) + "/" + dbname + dsn.substr(end_of_hosts);
    auto end_of_db = dsn.find('?', end_of_hosts);
    return dsn.substr(0, end_of_hosts) + "/" + dbname
           + (end_of_db == std::string::npos ? std::string{} : dsn.substr(end_of_db));
  }
  auto items = parse_conninfo(dsn);
  bool replaced = false;
  for (auto& item : items)
    if (item.key == "dbname") {
      item.value = dbname;
      replaced = true;
    }
  if (!replaced)
    items.push_back({"dbname", dbname});
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out += ' ';
    out += item.key + "=" + quote_conninfo_value(item.value);
  }
  return out;
}

test_database::test_database(std::string superuser_dsn) : admin_dsn_(std::move(superuser_dsn)) {
  static std::atomic<int> next_id{0};
  name_ = "mercato_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_id++);
  dsn_ = dsn_with_dbname(admin_dsn_, name_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    try {
      pqxx::connection conn{admin_dsn_};
      pqxx::nontransaction tx{conn};
      tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
      tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
      return;
    } catch (const std::exception& e) {
      if (!is_template_busy(e) || std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("cannot create test database " + name_ + " via "
                                 + test_database_url_env + ": " + e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

test_database::~test_database() {
  try {
    pqxx::connection conn{admin_dsn_};
    pqxx::nontransaction tx{conn};
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "[test_db] could not drop " << name_ << ": " << e.what() << '\n';
  }
}

} // namespace mercato::test
