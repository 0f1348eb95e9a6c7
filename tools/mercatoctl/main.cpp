// mercatoctl: the operator's terminal client of Mercato.
//
// Global options (every subcommand): --url (MERCATO_URL), --token (MERCATO_TOKEN), --json,
// --timeout. Subcommands: `token`, `cluster`, `actors`, `inspect KIND KEY`,
// `passivate KIND KEY`, `dead-letters`, `import PLATFORM FILE`, `stats`, `notifications`,
// `watch TOPIC`; each one is a
// `add_<name>_command(CLI::App&, const global_options&, int& exit_code)` registered in main().
// `token` works offline, `watch` subscribes over GET /v1/ws (API.md "WebSocket"), the others
// call the HTTP admin API (API.md "Admin and operations") at `--url`.
//
// Exit codes: see `exit_codes_text` (printed by --help).

#include "runtime/util/crypto.hpp"
#include "runtime/util/encoding.hpp"
#include "tools/ws/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
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
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
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

using base_url = mercato::tools::http_target;

base_url parse_url(const std::string& url) {
  try {
    return mercato::tools::parse_http_url(url);
  } catch (const std::invalid_argument& e) {
    throw command_error(exit_usage, std::string{"--url: "} + e.what());
  }
}

/// A query string from the pairs whose value is not empty ("" when none).
std::string query_string(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (v.empty())
      continue;
    out += out.empty() ? '?' : '&';
    out += k + "=" + mercato::util::percent_encode(v);
  }
  return out;
}

struct http_answer {
  int status = 0;
  std::string body;
};

/// One synchronous request (with a JSON `body` unless empty). Throws
/// command_error(exit_unreachable) when no answer arrives.
http_answer call(const global_options& g, http::verb method, const std::string& target,
                 const std::string& body = {}) {
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
  http::request<http::string_body> req{method, base.prefix + target, 11};
  req.set(http::field::host, base.host + ":" + base.port);
  req.set(http::field::user_agent, "mercatoctl");
  req.set(http::field::accept, "application/json");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
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
json admin_call(const global_options& g, http::verb method, const std::string& target,
                const std::string& request_body = {}) {
  if (g.token.empty())
    throw command_error(exit_auth, "no token: pass --token or set MERCATO_TOKEN (mint one with "
                                   "`mercatoctl token --sub ID --role admin`)");
  auto res = call(g, method, target, request_body);
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
  std::string issuer;
  std::string audience;
  std::string order; ///< claim `order`: a tracking token of this order only
  int64_t ttl_s = 3600;
};

// The server's rule for order ids (API.md): a token naming anything else would be refused.
bool is_order_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

int run_token(const global_options& g, const token_options& o) {
  if (o.secret.empty()) {
    std::cerr << "mercatoctl token: no secret: pass --secret or set MERCATO_JWT_SECRET\n";
    return exit_usage;
  }
  if (o.sub.empty()) {
    std::cerr << "mercatoctl token: --sub must not be empty\n";
    return exit_usage;
  }
  if (!o.order.empty() && o.role != "customer") {
    std::cerr << "mercatoctl token: --order needs --role customer (only a customer owns orders)\n";
    return exit_usage;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  json claims = {{"sub", o.sub}, {"role", o.role}, {"iat", now}, {"exp", now + o.ttl_s}};
  if (!o.issuer.empty())
    claims["iss"] = o.issuer;
  if (!o.audience.empty())
    claims["aud"] = o.audience;
  if (!o.order.empty())
    claims["order"] = o.order;
  auto token = mercato::util::sign_jwt_hs256(o.secret, claims.dump());
  if (g.json) {
    json out = {{"token", token}, {"sub", o.sub}, {"role", o.role}};
    if (!o.order.empty())
      out["order"] = o.order;
    out["expires_at"] = now + o.ttl_s;
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
  // The server refuses tokens without exp: every token minted here ends.
  cmd->add_option("--ttl", opts->ttl_s, "Lifetime in seconds (1 s to 10 years)")
    ->capture_default_str()
    ->check(CLI::Range(int64_t{1}, int64_t{10} * 365 * 86400));
  cmd->add_option("--iss", opts->issuer, "Issuer claim (default: $MERCATO_JWT_ISSUER)")
    ->envname("MERCATO_JWT_ISSUER");
  cmd->add_option("--aud", opts->audience, "Audience claim (default: $MERCATO_JWT_AUDIENCE)")
    ->envname("MERCATO_JWT_AUDIENCE");
  cmd
    ->add_option("--order", opts->order,
                 "A tracking token: reads only this order of its customer (--role customer)")
    ->check(CLI::Validator(
      [](const std::string& id) {
        return is_order_id(id) ? std::string{} : "must be 1 to 64 characters of [A-Za-z0-9._-]";
      },
      "ORDER_ID"));
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

// -- sync ----------------------------------------------------------------------------------------

void run_sync(const global_options& g) {
  auto body = admin_call(g, http::verb::get, "/v1/admin/marketplaces/sync");
  if (g.json)
    return print_json(body);
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : body.value("shops", json::array()))
    rows.push_back({cell(x.value("shop", json())), cell(x.value("platform", json())),
                    cell(x.value("synced_to", json())), cell(x.value("window_to", json())),
                    cell(x.value("pages", json())), cell(x.value("orders", json())),
                    cell(x.value("last_error", json()))});
  print_table({"SHOP", "PLATFORM", "SYNCED_TO", "PAGING_TO", "PAGES", "ORDERS", "LAST_ERROR"},
              rows);
}

void add_sync_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto* cmd = app.add_subcommand(
    "sync", "Show where each shop's marketplace pull sync stands (its cursor and last error)");
  cmd->callback([&g, &exit_code] { exit_code = guarded("sync", [&] { run_sync(g); }); });
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
                  "Only this kind: cart, checkout, coupon, customer, order, payment, stock");
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
  return "/v1/admin/actors/" + mercato::util::percent_encode(o.kind) + "/"
         + mercato::util::percent_encode(o.key);
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
  std::string retry; ///< a letter to send again instead of listing
};

void run_dead_letters(const global_options& g, const dead_letter_options& o) {
  if (!o.retry.empty()) {
    auto body
      = admin_call(g, http::verb::post,
                   "/v1/admin/dead-letters/" + mercato::util::percent_encode(o.retry) + "/retry");
    if (g.json)
      return print_json(body);
    std::cout << "dead letter " << cell(body.value("id", json())) << " went again; resolved at "
              << cell(body.value("resolved_at", json())) << "\n";
    return;
  }
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
                    cell(x.value("dead_at", json())),
                    x.value("resolved_at", json()).is_string() ? "resolved" : "open", error});
  }
  print_table({"ID", "KIND", "TARGET", "ATTEMPTS", "DEAD_AT", "STATE", "LAST_ERROR"}, rows);
  print_next(body, "mercatoctl dead-letters");
}

void add_dead_letters_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<dead_letter_options>();
  auto* cmd = app.add_subcommand(
    "dead-letters", "List deliveries and messages that could not be processed, or retry one");
  cmd->add_option("--kind", opts->kind, "Only this kind: webhook, notification, message");
  cmd->add_option("--limit", opts->limit, "Page size")
    ->capture_default_str()
    ->check(CLI::Range(1, 500));
  cmd->add_option("--cursor", opts->cursor, "Continue after a previous page (its next_cursor)");
  cmd->add_option("--retry", opts->retry,
                  "Send this letter again (a webhook to its endpoint, a notification to its "
                  "queue, a compensation as one more round)");
  cmd->callback([&g, &exit_code, opts] {
    exit_code = guarded("dead-letters", [&] { run_dead_letters(g, *opts); });
  });
}

// -- import --------------------------------------------------------------------------------------

/// The top-level elements of the JSON array `text`, each as the text it was written as (so that
/// money in JSON numbers reaches the server with its own decimals). Throws command_error when
/// `text` is not a JSON array.
std::vector<std::string_view> array_elements(std::string_view text) {
  if (!json::accept(text))
    throw command_error(exit_usage, "the file is not JSON");
  std::vector<std::string_view> out;
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || text[i] != '[')
    throw command_error(exit_usage, "the file must hold a JSON array of orders");
  int depth = 0;
  bool in_string = false;
  size_t start = i + 1;
  for (++i; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ',' || c == ']') && depth == 0) {
      auto element = text.substr(start, i - start);
      auto first = element.find_first_not_of(" \t\r\n");
      if (first != std::string_view::npos)
        out.push_back(element.substr(first));
      start = i + 1;
      if (c == ']')
        break;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return out;
}

struct import_options {
  std::string platform;
  std::string file;
  size_t batch = 500;
  std::string currency;
};

void run_import(const global_options& g, const import_options& o) {
  std::ifstream in{o.file, std::ios::binary};
  if (!in)
    throw command_error(exit_usage, "cannot read " + o.file);
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto elements = array_elements(text);
  json total{{"imported", 0}, {"updated", 0}, {"unchanged", 0}, {"rejected", json::array()}};
  auto target = "/v1/marketplaces/" + mercato::util::percent_encode(o.platform) + "/orders"
                + query_string({{"currency", o.currency}});
  for (size_t from = 0; from < elements.size(); from += o.batch) {
    auto to = std::min(elements.size(), from + o.batch);
    std::string body = "[";
    for (size_t i = from; i < to; ++i) {
      if (i > from)
        body += ',';
      body += elements[i];
    }
    body += ']';
    auto res = admin_call(g, http::verb::post, target, body);
    for (const char* key : {"imported", "updated", "unchanged"})
      total[key] = total[key].get<int64_t>() + res.value(key, int64_t{0});
    for (auto r : res.value("rejected", json::array())) {
      r["index"] = r.value("index", int64_t{0}) + static_cast<int64_t>(from); // in the file
      total["rejected"].push_back(std::move(r));
    }
    // The progress bar on stderr, so that stdout stays the result.
    constexpr size_t width = 30;
    auto done = elements.empty() ? width : width * to / elements.size();
    std::cerr << "\r[" << std::string(done, '#') << std::string(width - done, '.') << "] " << to
              << "/" << elements.size() << " orders" << (to == elements.size() ? "\n" : "")
              << std::flush;
  }
  if (g.json) {
    print_json(total);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : total["rejected"])
      rows.push_back({cell(r.value("index", json())), cell(r.value("code", json())),
                      cell(r.value("detail", json()))});
    if (!rows.empty())
      print_table({"INDEX", "CODE", "DETAIL"}, rows);
    std::cout << "imported " << total["imported"] << ", updated " << total["updated"]
              << ", unchanged " << total["unchanged"] << ", rejected " << rows.size() << '\n';
  }
  if (!total["rejected"].empty())
    throw command_error(exit_failed, std::to_string(total["rejected"].size()) + " of "
                                       + std::to_string(elements.size()) + " orders were rejected");
}

void add_import_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<import_options>();
  auto* cmd = app.add_subcommand(
    "import", "Import a file holding a JSON array of a marketplace's own order payloads (exit 1 "
              "when a record was rejected)");
  cmd->add_option("platform", opts->platform, "tiktok, shopee or lazada")->required();
  cmd->add_option("file", opts->file, "The JSON file")->required();
  cmd->add_option("--batch", opts->batch, "Orders per request")
    ->capture_default_str()
    ->check(CLI::Range(1, 1000));
  cmd->add_option("--currency", opts->currency,
                  "The shop's ISO 4217 currency, for Lazada orders that name none");
  cmd->callback(
    [&g, &exit_code, opts] { exit_code = guarded("import", [&] { run_import(g, *opts); }); });
}

// -- stats ---------------------------------------------------------------------------------------

struct stats_options {
  std::string from;
  std::string to;
  std::string platform;
  int summary = 0;        ///< --summary DAYS: the last DAYS days, summed over the platforms
  bool platforms = false; ///< --platforms: one row per platform over --from..--to
  bool monthly = false;   ///< --monthly: one row per month over --from..--to (YYYY-MM)
};

// The request of the chosen view: GET /v1/stats/daily, summary, platforms or monthly.
std::string stats_target(const stats_options& o) {
  auto need_range = [&](const char* format) {
    if (o.from.empty() || o.to.empty())
      throw command_error(exit_usage, std::string{"--from and --to ("} + format + ") are required");
  };
  if (o.summary > 0)
    return "/v1/stats/summary"
           + query_string(
             {{"days", std::to_string(o.summary)}, {"to", o.to}, {"platform", o.platform}});
  if (o.platforms) {
    need_range("YYYY-MM-DD");
    return "/v1/stats/platforms" + query_string({{"from", o.from}, {"to", o.to}});
  }
  auto path = o.monthly ? "/v1/stats/monthly" : "/v1/stats/daily";
  need_range(o.monthly ? "YYYY-MM" : "YYYY-MM-DD");
  return path + query_string({{"from", o.from}, {"to", o.to}, {"platform", o.platform}});
}

void run_stats(const global_options& g, const stats_options& o) {
  auto body = admin_call(g, http::verb::get, stats_target(o));
  if (g.json)
    return print_json(body);
  // The row's key columns (the day, the month, or none), then what every view has.
  std::vector<std::string> header;
  std::vector<std::string> keys;
  if (o.platforms) {
    keys = {"platform", "currency", "days"};
    header = {"PLATFORM", "CUR", "DAYS"};
  } else if (o.monthly) {
    keys = {"month", "platform", "currency", "days"};
    header = {"MONTH", "PLATFORM", "CUR", "DAYS"};
  } else {
    keys = {"stat_date", "platform", "currency"};
    header = {"DATE", "PLATFORM", "CUR"};
  }
  for (const char* h : {"ORDERS", "DONE", "CANCELLED", "RETURNED", "PENDING", "GMV", "REVENUE",
                        "DISCOUNT", "CANCEL_RATE", "AOV", "FINAL"})
    header.emplace_back(h);
  for (const char* k :
       {"total_orders", "completed_orders", "cancelled_orders", "returned_orders", "pending_orders",
        "gross_merchandise_value_minor", "total_revenue_minor", "total_discount_minor",
        "cancellation_rate", "avg_order_value_minor", "is_final"})
    keys.emplace_back(k);
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : body) {
    std::vector<std::string> row;
    for (const auto& k : keys)
      row.push_back(cell(x.value(k, json())));
    rows.push_back(std::move(row));
  }
  print_table(header, rows);
}

void add_stats_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<stats_options>();
  auto* cmd = app.add_subcommand(
    "stats", "Statistics per day, platform and currency (amounts in minor units); --summary, "
             "--platforms or --monthly for the dashboard's views");
  cmd->add_option("--from", opts->from,
                  "First day, YYYY-MM-DD (--monthly: first month, YYYY-MM); not with --summary");
  cmd->add_option("--to", opts->to,
                  "Last day, YYYY-MM-DD (--monthly: YYYY-MM; --summary: default today in UTC)");
  cmd->add_option("--platform", opts->platform,
                  "Only web, tiktok, shopee or lazada (not with --platforms)");
  auto* summary = cmd
                    ->add_option("--summary", opts->summary,
                                 "The last DAYS days, one row per day and currency summed "
                                 "over the platforms (or for --platform)")
                    ->check(CLI::Range(1, 366));
  auto* platforms = cmd->add_flag("--platforms", opts->platforms,
                                  "One row per platform and currency over --from..--to");
  auto* monthly = cmd->add_flag("--monthly", opts->monthly,
                                "One row per month and currency over --from..--to (YYYY-MM), "
                                "summed over the platforms (or for --platform)");
  summary->excludes(platforms)->excludes(monthly);
  platforms->excludes(monthly);
  cmd->get_option("--from")->excludes(summary);
  cmd->get_option("--platform")->excludes(platforms);
  cmd->callback(
    [&g, &exit_code, opts] { exit_code = guarded("stats", [&] { run_stats(g, *opts); }); });
}

// -- notifications -------------------------------------------------------------------------------

struct notification_options {
  std::string status;
  std::string customer;
  int limit = 20;
  std::string cursor;
  std::string retry; ///< a notification id to put back to pending instead of listing
};

void run_notifications(const global_options& g, const notification_options& o) {
  if (!o.retry.empty()) {
    auto body
      = admin_call(g, http::verb::post,
                   "/v1/admin/notifications/" + mercato::util::percent_encode(o.retry) + "/retry");
    if (g.json)
      return print_json(body);
    std::cout << "notification " << cell(body.value("id", json())) << " is "
              << cell(body.value("status", json())) << " again\n";
    return;
  }
  auto base = o.customer.empty()
                ? std::string{"/v1/admin/notifications"}
                : "/v1/customers/" + mercato::util::percent_encode(o.customer) + "/notifications";
  auto body = admin_call(
    g, http::verb::get,
    base
      + query_string(
        {{"status", o.status}, {"limit", std::to_string(o.limit)}, {"cursor", o.cursor}}));
  if (g.json)
    return print_json(body);
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : body.value("items", json::array())) {
    auto error = cell(x.value("last_error", json()));
    if (error.size() > 40)
      error = error.substr(0, 37) + "...";
    rows.push_back({cell(x.value("id", json())), cell(x.value("order_id", json())),
                    cell(x.value("kind", json())), cell(x.value("channel", json())),
                    cell(x.value("status", json())), cell(x.value("attempts", json())),
                    cell(x.value("updated_at", json())), error});
  }
  print_table({"ID", "ORDER", "KIND", "CHANNEL", "STATUS", "ATTEMPTS", "UPDATED_AT", "LAST_ERROR"},
              rows);
  print_next(body, "mercatoctl notifications");
}

void add_notifications_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<notification_options>();
  auto* cmd = app.add_subcommand("notifications", "List notification deliveries, or retry one");
  cmd->add_option("--status", opts->status, "Only this status: pending, delivered, failed, dead")
    ->check(CLI::IsMember({"pending", "delivered", "failed", "dead"}));
  cmd->add_option("--customer", opts->customer, "Only this customer's (inbox and deliveries)");
  cmd->add_option("--limit", opts->limit, "Page size")
    ->capture_default_str()
    ->check(CLI::Range(1, 100));
  cmd->add_option("--cursor", opts->cursor, "Continue after a previous page (its next_cursor)");
  cmd->add_option("--retry", opts->retry, "Put this failed or dead notification back to pending");
  cmd->callback([&g, &exit_code, opts] {
    exit_code = guarded("notifications", [&] { run_notifications(g, *opts); });
  });
}

// -- watch ---------------------------------------------------------------------------------------

struct watch_options {
  std::string topic;
  std::optional<uint64_t> last_seq;
  int64_t max_backoff_ms = 10000;
};

/// The exit code of an error frame that ends a watch (nothing will come on that topic), or
/// nullopt for one that does not.
std::optional<int> fatal_error_code(const std::string& code) {
  if (code == "unauthorized" || code == "forbidden")
    return exit_auth;
  if (code == "not_found")
    return exit_not_found;
  if (code == "invalid_request")
    return exit_usage;
  return std::nullopt;
}

/// The exit code of a refused upgrade: 4xx answers end a watch, others may be retried.
std::optional<int> refused_code(int status) {
  if (status == 401 || status == 403)
    return exit_auth;
  if (status == 404)
    return exit_not_found;
  if (status >= 400 && status < 500)
    return status == 400 ? exit_usage : exit_failed;
  return std::nullopt;
}

std::string shortened(const json& v, size_t max = 200) {
  auto text = v.dump();
  return text.size() > max ? text.substr(0, max - 3) + "..." : text;
}

/// One line for a frame: topic, seq, type, then what matters of its data.
std::string human_line(const json& f) {
  auto type = f.value("type", "");
  if (type == "pong")
    return "pong";
  std::string line = f.value("topic", "");
  if (f.contains("seq"))
    line += " #" + cell(f["seq"]);
  line += " " + type;
  const auto data = f.value("data", json::object());
  if (!data.is_object())
    return line + " " + shortened(data);
  std::string details;
  auto add = [&details](const std::string& text) { details += " " + text; };
  if (type == "event" && data.contains("type"))
    add(cell(data["type"]));
  if (data.contains("status"))
    add("status=" + cell(data["status"]));
  // customer:ID: a message of the inbox, by its kind and subject.
  if (const auto& n = data.value("notification", json()); n.is_object())
    add(cell(n.value("kind", json())) + " \"" + cell(n.value("subject", json())) + "\"");
  if (const auto& ev = data.value("event", json()); ev.is_object()) {
    add(cell(ev.value("source", json())) + "/" + cell(ev.value("type", json())));
    if (ev.contains("label"))
      add("\"" + cell(ev["label"]) + "\"");
    if (ev.contains("external_id"))
      add("external_id=" + cell(ev["external_id"]));
    if (ev.contains("occurred_at"))
      add("occurred_at=" + cell(ev["occurred_at"]));
  }
  if (const auto& totals = data.value("totals", json()); totals.is_object())
    add("total=" + cell(totals.value("total_minor", json())) + " "
        + cell(totals.value("currency", json())));
  // admin:cluster: a member a word, "node=status/shards/entities".
  if (const auto& members = data.value("members", json()); members.is_array())
    for (const auto& m : members)
      if (m.is_object())
        add(cell(m.value("node_id", json())) + "=" + cell(m.value("status", json())) + "/"
            + cell(m.value("shards", json())) + " shards/" + cell(m.value("entities", json()))
            + " live");
  if (data.contains("version"))
    add("version=" + cell(data["version"]));
  if (data.contains("at"))
    add("at=" + cell(data["at"]));
  if (details.empty() && !data.empty())
    add(shortened(data));
  return line + details;
}

/// Subscribes to one topic and prints its frames until interrupted; reconnects when the
/// connection drops and resumes after the last frame seen.
class watcher {
public:
  watcher(const global_options& g, const watch_options& o)
      : g_(g), o_(o), target_(parse_url(g.url)), signals_(ioc_, SIGINT, SIGTERM), retry_(ioc_),
        last_seq_(o.last_seq) {}

  int run() {
    asio::ip::tcp::resolver resolver{ioc_};
    beast::error_code ec;
    endpoints_ = resolver.resolve(target_.host, target_.port, ec);
    if (ec)
      throw command_error(exit_unreachable, "cannot resolve " + g_.url + ": " + ec.message());
    signals_.async_wait([this](beast::error_code e, int) {
      if (!e)
        stop(exit_ok);
    });
    connect();
    ioc_.run();
    return exit_code_;
  }

private:
  void connect() {
    mercato::tools::ws_options opts;
    opts.token = g_.token;
    opts.connect_timeout = std::chrono::milliseconds{g_.timeout_ms};
    // Pings keep an idle subscription alive and find a connection that died silently.
    opts.idle_timeout = std::chrono::seconds{30};
    mercato::tools::ws_handlers h;
    h.on_open = [this] { conn_->send(mercato::tools::subscribe_frame(o_.topic, last_seq_)); };
    h.on_message = [this](std::string_view m) { on_message(m); };
    h.on_end = [this](const mercato::tools::ws_end& e) { on_end(e); };
    conn_ = mercato::tools::make_ws_connection(ioc_, target_, std::move(opts), std::move(h));
    live_ = true;
    conn_->start(endpoints_);
  }

  void on_message(std::string_view m) {
    auto f = json::parse(m, nullptr, false);
    if (!f.is_object()) {
      std::cerr << "mercatoctl watch: a frame that is not a JSON object: "
                << std::string{m.substr(0, 200)} << '\n';
      return;
    }
    auto type = f.value("type", "");
    if (type == "error") {
      auto code = f.value("code", "");
      std::cerr << "mercatoctl watch: error " << code;
      if (f.contains("topic"))
        std::cerr << " (topic " << cell(f["topic"]) << ")";
      for (const char* key : {"detail", "message"})
        if (f.contains(key) && f[key].is_string())
          std::cerr << ": " << f[key].get<std::string>();
      std::cerr << '\n';
      auto about_us = !f.contains("topic") || f.value("topic", "") == o_.topic;
      if (auto fatal = fatal_error_code(code); fatal && about_us)
        stop(*fatal);
      return;
    }
    if (g_.json)
      std::cout << m << std::endl; // a line per frame, as it arrives
    else
      std::cout << human_line(f) << std::endl;
    if ((type == "snapshot" || type == "event") && f.value("topic", "") == o_.topic
        && f.contains("seq") && f["seq"].is_number_unsigned()) {
      auto seq = f["seq"].get<uint64_t>();
      if (type == "event" && last_seq_ && seq != *last_seq_ + 1)
        std::cerr << "mercatoctl watch: seq " << seq << " follows " << *last_seq_ << '\n';
      last_seq_ = seq;
      delivered_ = true;
      backoff_ms_ = 0;
    }
  }

  void on_end(const mercato::tools::ws_end& e) {
    using kind = mercato::tools::ws_end::kind;
    live_ = false;
    // Beast may leave a WebSocket timer pending after a failed or closed connection; once the
    // connection is over there is nothing left to wait for.
    if (stopping_)
      return ioc_.stop();
    if (e.what == kind::handshake_refused) {
      if (auto code = refused_code(e.http_status))
        return fail(*code, e.describe());
    }
    // Before anything arrived, nothing was being watched: fail as the other commands do.
    if (!delivered_ && !ever_delivered_) {
      if (e.what == kind::connect_failed)
        return fail(exit_unreachable, "cannot reach " + g_.url + ": " + e.detail);
      return fail(exit_failed, e.describe());
    }
    ever_delivered_ = ever_delivered_ || delivered_;
    delivered_ = false;
    backoff_ms_ = backoff_ms_ == 0 ? 250 : std::min(backoff_ms_ * 2, o_.max_backoff_ms);
    // Jitter, so that many watchers of a restarted node do not come back at the same moment.
    auto wait
      = backoff_ms_ / 2 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(backoff_ms_ / 2 + 1));
    std::cerr << "mercatoctl watch: " << e.describe() << "; reconnecting in " << wait << " ms"
              << (last_seq_ ? " after seq " + std::to_string(*last_seq_) : std::string{}) << '\n';
    retry_.expires_after(std::chrono::milliseconds{wait});
    retry_.async_wait([this](beast::error_code ec) {
      if (!ec && !stopping_)
        connect();
    });
  }

  void fail(int code, const std::string& what) {
    std::cerr << "mercatoctl watch: " << what << '\n';
    stop(code);
  }

  void stop(int code) {
    if (stopping_)
      return;
    stopping_ = true;
    exit_code_ = code;
    beast::error_code ignored;
    signals_.cancel(ignored);
    retry_.cancel();
    if (live_)
      conn_->close(); // on_end follows, then the io_context stops
    else
      ioc_.stop();
  }

  const global_options& g_;
  const watch_options& o_;
  base_url target_;
  asio::io_context ioc_;
  asio::ip::tcp::resolver::results_type endpoints_;
  asio::signal_set signals_;
  asio::steady_timer retry_;
  std::shared_ptr<mercato::tools::ws_connection> conn_;
  bool live_ = false; ///< conn_ has not ended yet
  std::optional<uint64_t> last_seq_;
  bool delivered_ = false;      ///< a frame of the topic came on this connection
  bool ever_delivered_ = false; ///< ... or on an earlier one
  int64_t backoff_ms_ = 0;
  std::minstd_rand rng_{std::random_device{}()};
  bool stopping_ = false;
  int exit_code_ = exit_ok;
};

void add_watch_command(CLI::App& app, const global_options& g, int& exit_code) {
  auto opts = std::make_shared<watch_options>();
  auto* cmd = app.add_subcommand(
    "watch", "Subscribe to a topic over WebSocket and print each frame until Ctrl-C (with "
             "--json: the frames as they arrive); reconnects and resumes after a drop");
  cmd
    ->add_option("TOPIC", opts->topic, "order:ID, customer:ID, stock:SKU, cart:ID or admin:cluster")
    ->required();
  cmd->add_option("--last-seq", opts->last_seq,
                  "Resume after this seq (missed events are replayed, no snapshot)");
  cmd
    ->add_option("--max-backoff", opts->max_backoff_ms,
                 "Longest wait between reconnection attempts, in milliseconds")
    ->capture_default_str()
    ->check(CLI::Range(int64_t{250}, int64_t{600000}));
  cmd->callback([&g, &exit_code, opts] {
    exit_code = exit_failed;
    auto rc = guarded("watch", [&] {
      watcher w{g, *opts};
      exit_code = w.run();
    });
    if (rc != exit_ok)
      exit_code = rc;
  });
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"mercatoctl: inspect and operate a Mercato cluster"};
  app.require_subcommand(1);
  // Global options may also follow the subcommand (`mercatoctl watch order:X --json`).
  app.fallthrough();
  app.footer(exit_codes_text);
  global_options g;
  app.add_option("--url", g.url, "Base URL of a Mercato node")
    ->envname("MERCATO_URL")
    ->capture_default_str();
  app
    .add_option("--token", g.token,
                "Bearer token: admin role for the admin endpoints, any allowed one for watch")
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
  add_import_command(app, g, exit_code);
  add_stats_command(app, g, exit_code);
  add_sync_command(app, g, exit_code);
  add_notifications_command(app, g, exit_code);
  add_watch_command(app, g, exit_code);
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
