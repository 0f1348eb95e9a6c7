// mercatoctl: the operator's terminal client of Mercato.
//
// Global options (every subcommand): --url (MERCATO_URL), --token (MERCATO_TOKEN), --json.
// Subcommands now: `token`. Planned (API.md "Admin and operations"): `cluster`, `actors`,
// `inspect KIND KEY`, `passivate KIND KEY`, `watch TOPIC`, `dead-letters`; each one is a
// `add_<name>_command(CLI::App&, const global_options&, int& exit_code)` registered in main(),
// talking to the HTTP API at `--url` with `--token`.
//
// Exit codes: 0 ok, 1 the server or the operation failed, 2 usage or configuration error.

#include "api/auth/jwt.hpp"

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;

/// Options every subcommand sees.
struct global_options {
  std::string url = "http://127.0.0.1:8080"; ///< base URL of a node's HTTP API
  std::string token;                         ///< bearer token for admin endpoints
  bool json = false;                         ///< machine-readable output
};

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
  nlohmann::json claims = {{"sub", o.sub}, {"role", o.role}, {"iat", now}};
  if (o.ttl_s > 0)
    claims["exp"] = now + o.ttl_s;
  auto token = mercato::api::mint_hs256(claims, o.secret);
  if (g.json) {
    nlohmann::json out = {{"token", token}, {"sub", o.sub}, {"role", o.role}};
    out["expires_at"] = o.ttl_s > 0 ? nlohmann::json(now + o.ttl_s) : nlohmann::json(nullptr);
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

// Later: add_cluster_command, add_actors_command, add_inspect_command, add_passivate_command,
// add_watch_command, add_dead_letters_command (HTTP client against g.url with g.token).

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"mercatoctl: inspect and operate a Mercato cluster"};
  app.require_subcommand(1);
  global_options g;
  app.add_option("--url", g.url, "Base URL of a Mercato node")
    ->envname("MERCATO_URL")
    ->capture_default_str();
  app.add_option("--token", g.token, "Bearer token for admin endpoints")->envname("MERCATO_TOKEN");
  app.add_flag("--json", g.json, "Print JSON for scripts");
  int exit_code = exit_ok;
  add_token_command(app, g, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "mercatoctl: " << e.what() << '\n';
    return 1;
  }
  return exit_code;
}
