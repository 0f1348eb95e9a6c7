// mercatoctl: the operator's terminal client of Mercato.
//
// Global options (every subcommand): --url (MERCATO_URL), --token (MERCATO_TOKEN), --json,
// --timeout. Subcommands: `token`, `cluster`, `actors`, `inspect KIND KEY`,
// `passivate KIND KEY`, `dead-letters`; each one is a
// `add_<name>_command(CLI::App&, const global_options&, int& exit_code)` registered in main().
// All but `token` talk to the HTTP admin API (API.md "Admin and operations") at `--url`.
//
// Exit codes: see `exit_codes_text` (printed by --help).

#include "api/auth/jwt.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;      // the server answered with an error, or anything else failed
constexpr int exit_usage = 2;       // bad arguments (also a 400 from the server)
constexpr int exit_unreachable = 3; // no answer from --url (refused, unresolvable, timed out)
constexpr int exit_auth = 4;        // no token, or the server refused it (401/403)
constexpr int exit_not_found = 5;   // no such entity, or not live (404)

constexpr const char* exit_codes_text = "Exit codes:\n"
                                        "  0  ok\n"
                                        "  1  the server answered with another error, or the "
                                        "command failed otherwise\n"
                                        "  2  usage error (bad arguments; also a 400 answer)\n"
                                        "  3  server unreachable (refused, unresolvable, timed "
                                        "out)\n"
                                        "  4  missing token, or the token was refused (401/403)\n"
                                        "  5  not found (404: unknown or not live entity)\n";

/// Options every subcommand sees.
struct global_options {
  std::string url = "http://127.0.0.1:8080"; ///< base URL of a node's HTTP API
  std::string token;                         ///< bearer token for admin endpoints
  bool json = false;                         ///< machine-readable output
  int timeout_ms = 10000;                    ///< per request
};

/// A failed command: what to print and the exit code.
struct command_error : std::runtime_error {
  command_error(int code, const std::string& what) : std::runtime_error(what), exit_code(code) {}
  int exit_code;
};

// -- HTTP ----------------------------------------------------------------------------------------

struct base_url {
  std::string host;
  std::string port;
  std::string prefix; ///< path before /v1, without a trailing slash
};

base_url parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    throw command_error(exit_usage, "--url must start with http:// (got '" + url + "')");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  base_url out;
  out.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/')
    out.prefix.pop_back();
  std::string port = "80";
  if (!authority.empty() && authority.front() == '[') { // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos)
      throw command_error(exit_usage, "--url has an unclosed '[': " + url);
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos)
      port = authority.substr(colon + 1);
  }
  if (out.host.empty() || port.empty()
      || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw command_error(exit_usage, "--url is not http://HOST[:PORT][/PATH]: " + url);
  out.port = port;
  return out;
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass).
std::string encode_segment(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// A query string from the pairs whose value is not empty ("" when none).
std::string query_string(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (v.empty())
      continue;
    out += out.empty() ? '?' : '&';
    out += k + "=" + encode_segment(v);
  }
  return out;
}

struct http_answer {
  int status = 0;
  std::string body;
};

/// One synchronous request. Throws command_error(exit_unreachable) when no answer arrives.
http_answer call(const global_options& g, http::verb method, const std::string& target) {
  auto base = parse_url(g.url);
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::error_code ec;
  auto unreachable = [&](const std::string& step) {
    return command_error(exit_unreachable,
                         "cannot reach " + g.url + " (" + step + "): " + ec.message());
  };
  asio::ip::tcp::resolver resolver{ioc};
  auto endpoints = resolver.resolve(base.host, base.port, ec);
  if (ec)
    throw unreachable("resolve");
  stream.expires_after(std::chrono::milliseconds{g.timeout_ms});
  stream.connect(endpoints, ec);
  if (ec)
    throw unreachable("connect");
  http::request<http::empty_body> req{method, base.prefix + target, 11};
  req.set(http::field::host, base.host + ":" + base.port);
  req.set(http::field::user_agent, "mercatoctl");
  req.set(http::field::accept, "application/json");
  if (!g.token.empty())
    req.set(http::field::authorization, "Bearer " + g.token);
  req.prepare_payload();
  stream.expires_after(std::chrono::milliseconds{g.timeout_ms});
  http::write(stream, req, ec);
  if (ec)
    throw unreachable("send");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(stream, buffer, parser, ec);
  if (ec)
    throw unreachable(ec == beast::error::timeout ? "no answer in time" : "read");
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  auto res = parser.release();
  return {static_cast<int>(res.result_int()), std::move(res.body())};
}

/// Calls the admin API and returns the JSON body of a 2xx answer; any other answer becomes a
/// command_error with the problem's detail and the documented exit code.
json admin_call(const global_options& g, http::verb method, const std::string& target) {
  if (g.token.empty())
    throw command_error(exit_auth, "no token: pass --token or set MERCATO_TOKEN (mint one with "
                                   "`mercatoctl token --sub ID --role admin`)");
  auto res = call(g, method, target);
  auto body = json::parse(res.body, nullptr, false);
  if (res.status >= 200 && res.status < 300) {
    if (body.is_discarded())
      throw command_error(exit_failed, "the server answered " + std::to_string(res.status)
                                         + " with a body that is not JSON");
    return body;
  }
  std::string detail = res.body.substr(0, 300);
  std::string code;
  if (body.is_object()) {
    detail = body.value("detail", detail);
    code = body.value("code", "");
  }
  auto what
    = "HTTP " + std::to_string(res.status) + (code.empty() ? "" : " " + code) + ": " + detail;
  switch (res.status) {
  case 400:
    throw command_error(exit_usage, what);
  case 401:
    throw command_error(exit_auth, what + " (check --token / MERCATO_TOKEN and the secret)");
  case 403:
    throw command_error(exit_auth, what + " (an admin token is needed)");
  case 404:
    throw command_error(exit_not_found, what);
  default:
    throw command_error(exit_failed, what);
  }
}

// -- output --------------------------------------------------------------------------------------

/// Text of a scalar JSON value for a table cell ("-" for null).
std::string cell(const json& v) {
  if (v.is_null())
    return "-";
  if (v.is_string())
    return v.get<std::string>();
  return v.dump();
}

/// Prints rows under a header, each column as wide as its widest cell.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i)
    width[i] = header[i].size();
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  };
  print_row(header);
  for (const auto& row : rows)
    print_row(row);
}

void print_json(const json& body) {
  std::cout << body.dump() << '\n';
}

void print_next(const json& body, const std::string& command) {
  if (body.contains("next_cursor") && body["next_cursor"].is_string())
    std::cerr << "more: " << command << " --cursor " << body["next_cursor"].get<std::string>()
              << '\n';
}

/// Runs `fn`, turning a command_error into its message and exit code.
template <class F>
int guarded(const char* name, F fn) {
  try {
    fn();
    return exit_ok;
  } catch (const command_error& e) {
    std::cerr << "mercatoctl " << name << ": " << e.what() << '\n';
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "mercatoctl " << name << ": " << e.what() << '\n';
    return exit_failed;
  }
}

// -- token ---------------------------------------------------------------------------------------

struct token_options {
  std::string sub;
  std::string role;
  std::string secret;
  int64_t ttl_s = 3600;
};

int run_token(const global_options& g, const token_options& o) {
  if (o.secret.empty()) {
    std::cerr << "mercatoctl token: no secret: pass --secret or set MERCATO_JWT_SECRET\n";
    return exit_usage;
  }
  if (o.sub.empty()) {
    std::cerr << "mercatoctl token: --sub must not be empty\n";
    return exit_usage;
  }
  auto now = mercato::api::jwt_verifier::now();
  json claims = {{"sub", o.sub}, {"role", o.role}, {"iat", now}};
  if (o.ttl_s > 0)
    claims["exp"] = now + o.ttl_s;
  auto token = mercato::api::mint_hs256(claims, o.secret);
  if (g.json) {
    json out = {{"token", token}, {"sub", o.sub}, {"role", o.role}};
    out["expires_at"] = o.ttl_s > 0 ? json(now + o.ttl_s) : json(nullptr);
    std::cout << out.dump() << '\n';
  } else {
    std::cout << token << '\n';
  }
  return exit_ok;
}

void add_token_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<token_options>();
  auto* cmd = app.add_subcommand("token", "Mint an HS256 bearer token for the configured secret");
  cmd->add_option("--sub", opts->sub, "Subject: customer, service or admin id")->required();
  cmd->add_option("--role", opts->role, "Role claim")
    ->required()
    ->check(CLI::IsMember({"customer", "service", "admin"}));
  cmd->add_option("--secret", opts->secret, "HS256 secret (default: $MERCATO_JWT_SECRET)")
    ->envname("MERCATO_JWT_SECRET");
  cmd->add_option("--ttl", opts->ttl_s, "Lifetime in seconds; 0 mints a token without exp")
    ->capture_default_str()
    ->check(CLI::Range(int64_t{0}, int64_t{10} * 365 * 86400));
  cmd->callback([&g, &exit_code, opts] { exit_code = run_token(g, *opts); });
}

// -- cluster -------------------------------------------------------------------------------------

void run_cluster(const global_options& g) {
  auto body = admin_call(g, http::verb::get, "/v1/admin/cluster");
  if (g.json)
    return print_json(body);
  std::vector<std::vector<std::string>> rows;
  auto self = body.value("self", "");
  for (const auto& m : body.value("members", json::array())) {
    auto id = m.value("node_id", "");
    rows.push_back({id == self ? id + " *" : id, cell(m.value("address", json())),
                    cell(m.value("status", json())), cell(m.value("shards", json())),
                    cell(m.value("entities", json()))});
  }
  print_table({"NODE", "ADDRESS", "STATUS", "SHARDS", "ENTITIES"}, rows);
}

void add_cluster_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto* cmd = app.add_subcommand("cluster", "Show the nodes of the cluster (* marks this one)");
  cmd->callback([&g, &exit_code] { exit_code = guarded("cluster", [&] { run_cluster(g); }); });
}

// -- actors --------------------------------------------------------------------------------------

struct actors_options {
  std::string kind;
  std::string node;
  int limit = 100;
  std::string cursor;
};

void run_actors(const global_options& g, const actors_options& o) {
  auto body = admin_call(g, http::verb::get,
                         "/v1/admin/actors"
                           + query_string({{"kind", o.kind},
                                           {"node", o.node},
                                           {"limit", std::to_string(o.limit)},
                                           {"cursor", o.cursor}}));
  if (g.json)
    return print_json(body);
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : body.value("items", json::array()))
    rows.push_back({cell(x.value("kind", json())), cell(x.value("key", json())),
                    cell(x.value("node", json())), cell(x.value("status", json())),
                    cell(x.value("mailbox", json())), cell(x.value("restarts", json())),
                    cell(x.value("idle_ms", json()))});
  print_table({"KIND", "KEY", "NODE", "STATUS", "MAILBOX", "RESTARTS", "IDLE_MS"}, rows);
  print_next(body, "mercatoctl actors" + (o.kind.empty() ? "" : " --kind " + o.kind));
}

void add_actors_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<actors_options>();
  auto* cmd = app.add_subcommand("actors", "List live entities, ordered by kind and key");
  cmd->add_option("--kind", opts->kind,
                  "Only this kind: cart, checkout, coupon, customer, order, stock");
  cmd->add_option("--node", opts->node, "Only entities on this node id");
  cmd->add_option("--limit", opts->limit, "Page size")
    ->capture_default_str()
    ->check(CLI::Range(1, 1000));
  cmd->add_option("--cursor", opts->cursor, "Continue after a previous page (its next_cursor)");
  cmd->callback(
    [&g, &exit_code, opts] { exit_code = guarded("actors", [&] { run_actors(g, *opts); }); });
}

// -- inspect -------------------------------------------------------------------------------------

struct entity_options {
  std::string kind;
  std::string key;
};

std::string entity_path(const entity_options& o) {
  return "/v1/admin/actors/" + encode_segment(o.kind) + "/" + encode_segment(o.key);
}

void run_inspect(const global_options& g, const entity_options& o) {
  auto body = admin_call(g, http::verb::get, entity_path(o));
  if (g.json)
    return print_json(body);
  std::cout << "kind     " << cell(body.value("kind", json())) << '\n'
            << "key      " << cell(body.value("key", json())) << '\n'
            << "node     " << cell(body.value("node", json())) << '\n'
            << "version  " << cell(body.value("version", json())) << '\n'
            << "state    " << body.value("state", json::object()).dump(2) << '\n';
  auto events = body.value("recent_events", json::array());
  std::cout << "recent events (" << events.size() << ")\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : events) {
    std::string details;
    if (e.is_object())
      for (const auto& [k, v] : e.items())
        if (k != "seq" && k != "type" && k != "at")
          details += (details.empty() ? "" : " ") + k + "=" + cell(v);
    rows.push_back({cell(e.value("seq", json())), cell(e.value("type", json())),
                    cell(e.value("at", json())), details});
  }
  if (!rows.empty())
    print_table({"SEQ", "TYPE", "AT", "DETAILS"}, rows);
}

void add_entity_args(CLI::App* cmd, entity_options& o) {
  cmd->add_option("KIND", o.kind, "cart, checkout, coupon, customer, order or stock")->required();
  cmd->add_option("KEY", o.key, "The entity's key (a SKU for stock)")->required();
}

void add_inspect_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<entity_options>();
  auto* cmd = app.add_subcommand("inspect", "Show a live entity's state, version, recent events");
  add_entity_args(cmd, *opts);
  cmd->callback(
    [&g, &exit_code, opts] { exit_code = guarded("inspect", [&] { run_inspect(g, *opts); }); });
}

// -- passivate -----------------------------------------------------------------------------------

void run_passivate(const global_options& g, const entity_options& o) {
  auto body = admin_call(g, http::verb::post, entity_path(o) + "/passivate");
  if (g.json)
    return print_json(body);
  std::cout << o.kind << " " << o.key << ": asked to stop (it stays while it has work it owns, "
            << "e.g. active holds)\n";
}

void add_passivate_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<entity_options>();
  auto* cmd = app.add_subcommand("passivate", "Ask a live entity to stop now (it recovers from "
                                              "the journal on its next message)");
  add_entity_args(cmd, *opts);
  cmd->callback(
    [&g, &exit_code, opts] { exit_code = guarded("passivate", [&] { run_passivate(g, *opts); }); });
}

// -- dead-letters --------------------------------------------------------------------------------

struct dead_letter_options {
  std::string kind;
  int limit = 50;
  std::string cursor;
};

void run_dead_letters(const global_options& g, const dead_letter_options& o) {
  auto body = admin_call(
    g, http::verb::get,
    "/v1/admin/dead-letters"
      + query_string({{"kind", o.kind}, {"limit", std::to_string(o.limit)}, {"cursor", o.cursor}}));
  if (g.json)
    return print_json(body);
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : body.value("items", json::array())) {
    auto error = cell(x.value("last_error", json()));
    if (error.size() > 60)
      error = error.substr(0, 57) + "...";
    rows.push_back({cell(x.value("id", json())), cell(x.value("kind", json())),
                    cell(x.value("target", json())), cell(x.value("attempts", json())),
                    cell(x.value("dead_at", json())), error});
  }
  print_table({"ID", "KIND", "TARGET", "ATTEMPTS", "DEAD_AT", "LAST_ERROR"}, rows);
  print_next(body, "mercatoctl dead-letters");
}

void add_dead_letters_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<dead_letter_options>();
  auto* cmd = app.add_subcommand("dead-letters",
                                 "List deliveries and messages that could not be processed");
  cmd->add_option("--kind", opts->kind, "Only this kind: webhook, notification, message");
  cmd->add_option("--limit", opts->limit, "Page size")
    ->capture_default_str()
    ->check(CLI::Range(1, 500));
  cmd->add_option("--cursor", opts->cursor, "Continue after a previous page (its next_cursor)");
  cmd->callback([&g, &exit_code, opts] {
    exit_code = guarded("dead-letters", [&] { run_dead_letters(g, *opts); });
  });
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"mercatoctl: inspect and operate a Mercato cluster"};
  app.require_subcommand(1);
  app.footer(exit_codes_text);
  global_options g;
  app.add_option("--url", g.url, "Base URL of a Mercato node")
    ->envname("MERCATO_URL")
    ->capture_default_str();
  app.add_option("--token", g.token, "Bearer token (admin role) for the admin endpoints")
    ->envname("MERCATO_TOKEN");
  app.add_flag("--json", g.json, "Print the server's JSON for scripts");
  app.add_option("--timeout", g.timeout_ms, "Per-request timeout in milliseconds")
    ->capture_default_str()
    ->check(CLI::Range(1, 600000));
  int exit_code = exit_ok;
  add_token_command(app, g, exit_code);
  add_cluster_command(app, g, exit_code);
  add_actors_command(app, g, exit_code);
  add_inspect_command(app, g, exit_code);
  add_passivate_command(app, g, exit_code);
  add_dead_letters_command(app, g, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "mercatoctl: " << e.what() << '\n';
    return exit_failed;
  }
  return exit_code;
}
