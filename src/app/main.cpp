// studio: one program for the API server, migrations and (later) workers and admin tasks.
// main() only parses the command line and hands a validated Config to a subcommand.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/version.hpp"
#include "obs/log.hpp"

// jemalloc's settings (release builds link it; the symbol is unused otherwise): a background
// thread returns freed pages to the system while the server is idle, instead of waiting for the
// next burst of allocations (measured after 1,000 streams closed: docs/PERFORMANCE.md).
extern "C" {
// NOLINTNEXTLINE(readability-identifier-naming): the name jemalloc reads.
const char* malloc_conf = "background_thread:true";
}

namespace {

using studio::app::ConfigError;
using studio::app::RawSettings;

// Adds every setting as a flag with its environment variable to a subcommand; values land in
// `values` keyed by the setting's TOML key.
void AddSettingOptions(CLI::App& cmd, std::map<std::string, CLI::Option*>& options,
                       std::map<std::string, std::string>& values, std::string& config_path) {
  cmd.add_option("--config", config_path, "TOML config file")->envname("STUDIO_CONFIG");
  for (const auto& s : studio::app::Settings()) {
    options[s.key] = cmd.add_option(s.flag, values[s.key], s.help)->envname(s.env);
  }
}

// defaults < TOML file < environment < flags (CLI11 already prefers a flag over its env var).
RawSettings Layer(const std::map<std::string, CLI::Option*>& options, const std::map<std::string, std::string>& values,
                  const std::string& config_path) {
  RawSettings raw;
  if (!config_path.empty()) raw = studio::app::ReadTomlFile(config_path);
  for (const auto& [key, opt] : options) {
    if (opt->count() > 0) raw[key] = values.at(key);
  }
  return raw;
}

// `studio admin SUBCOMMAND`: each subcommand fills `req`. The settings live on `admin` itself;
// fallthrough lets them follow the subcommand too (`studio admin create-user --data-dir D …`).
// There is deliberately no password option: see RunAdmin.
void AddAdminCommands(CLI::App& admin, studio::app::AdminRequest& req) {
  admin.require_subcommand(1);
  auto* user = admin.add_subcommand("create-user",
                                    "Create a user; the password is read from stdin or "
                                    "STUDIO_ADMIN_PASSWORD. Prints the user id");
  user->add_option("--email", req.email, "e-mail address")->required();
  user->add_option("--name", req.name, "display name");
  user->add_flag("--admin", req.admin, "make the user a platform admin");
  user->add_flag("--password-stdin", req.password_stdin, "read the password from the first line of stdin")
      ->disable_flag_override();
  auto* ws = admin.add_subcommand("create-workspace", "Create a workspace owned by an existing user. Prints ID SLUG");
  ws->add_option("--name", req.name, "workspace name")->required();
  ws->add_option("--slug", req.slug, "URL slug (default: derived from the name)");
  ws->add_option("--owner", req.owner, "the owner's e-mail address")->required();
  auto* grant = admin.add_subcommand("grant-admin", "Make a user a platform admin (--revoke: no longer)");
  grant->add_option("--email", req.email, "e-mail address")->required();
  grant->add_flag("--revoke", req.revoke, "remove the platform admin flag instead");
  auto* key = admin.add_subcommand("create-api-key",
                                   "Create a workspace API key. Prints the key (once) on stdout, "
                                   "its id and prefix on stderr");
  key->add_option("--workspace", req.workspace, "workspace id or slug")->required();
  key->add_option("--name", req.name, "key name")->required();
  key->add_option("--role", req.role, "service (default), agent, member or owner");
  key->add_option("--scope", req.scopes, "a scope (repeatable; none = everything the role allows)");
  for (auto* sub : {user, ws, grant, key}) {
    sub->fallthrough();
    sub->callback([&req, sub] { req.command = sub->get_name(); });
  }
}

void AddDlqCommands(CLI::App& dlq, studio::app::DlqRequest& req) {
  dlq.require_subcommand(1);
  auto* stats = dlq.add_subcommand("stats", "Dead jobs per queue and per workspace");
  auto* list = dlq.add_subcommand("list", "The most recently dead jobs");
  list->add_option("--queue", req.queue, "only this queue (e.g. ingest)");
  list->add_option("--limit", req.limit, "how many (1..500, default 50)")->check(CLI::Range(1, 500));
  auto* inspect = dlq.add_subcommand("inspect", "One dead job with its error history (JSON)");
  inspect->add_option("JOB_ID", req.job_id)->required();
  auto* retry = dlq.add_subcommand("retry", "Put one dead job back in its queue");
  retry->add_option("JOB_ID", req.job_id)->required();
  auto* retry_all = dlq.add_subcommand("retry-all", "Put every dead job (of --queue) back in its queue");
  retry_all->add_option("--queue", req.queue, "only this queue");
  auto* purge = dlq.add_subcommand("purge", "Delete every dead job (of --queue)");
  purge->add_option("--queue", req.queue, "only this queue");
  for (auto* sub : {stats, list, inspect, retry, retry_all, purge}) {
    sub->add_option("--workspace", req.workspace, "only this workspace (id or slug)");
    sub->fallthrough();
    sub->callback([&req, sub] { req.command = sub->get_name(); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"studio — multi-tenant AI business agents: API server, workers and tools", "studio"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(studio::app::Version()));

  std::map<std::string, CLI::Option*> serve_opts, migrate_opts, admin_opts, worker_opts, ingest_opts, dlq_opts,
      chat_opts;
  std::map<std::string, std::string> serve_values, migrate_values, admin_values, worker_values, ingest_values,
      dlq_values, chat_values;
  std::string serve_config, migrate_config, admin_config, worker_config, ingest_config, dlq_config, chat_config;

  auto* serve = app.add_subcommand("serve", "Serve the HTTP API (embedded SQLite by default)");
  AddSettingOptions(*serve, serve_opts, serve_values, serve_config);
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  AddSettingOptions(*migrate, migrate_opts, migrate_values, migrate_config);
  auto* admin = app.add_subcommand("admin", "Operator tasks: create users, workspaces and API keys; grant admin");
  AddSettingOptions(*admin, admin_opts, admin_values, admin_config);
  studio::app::AdminRequest admin_request;
  AddAdminCommands(*admin, admin_request);
  auto* worker = app.add_subcommand("worker", "Run background jobs (document ingestion) from the shared database");
  AddSettingOptions(*worker, worker_opts, worker_values, worker_config);
  auto* ingest = app.add_subcommand("ingest", "Add files and directories to a workspace's knowledge base");
  AddSettingOptions(*ingest, ingest_opts, ingest_values, ingest_config);
  studio::app::IngestRequest ingest_request;
  ingest->add_option("PATH", ingest_request.paths, "files or directories (walked recursively)")->required();
  ingest->add_option("--workspace", ingest_request.workspace, "workspace id or slug")->required();
  bool no_wait = false;
  ingest->add_flag("--no-wait", no_wait, "only submit; leave the jobs to running servers and workers");
  auto* dlq = app.add_subcommand("dlq", "The dead-letter queue: stats, list, inspect, retry, retry-all, purge");
  AddSettingOptions(*dlq, dlq_opts, dlq_values, dlq_config);
  studio::app::DlqRequest dlq_request;
  AddDlqCommands(*dlq, dlq_request);
  auto* chat = app.add_subcommand("chat", "Talk to a workspace's agent in the terminal (questions from stdin)");
  AddSettingOptions(*chat, chat_opts, chat_values, chat_config);
  studio::app::ChatRequest chat_request;
  chat->add_option("--workspace", chat_request.workspace, "workspace id or slug")->required();
  auto* chat_message =
      chat->add_option("--message", chat_request.message, "answer this one question and exit (default: read stdin)");
  chat->add_flag("--json", chat_request.json, "print each turn as one JSON line (reply, sources, usage, …)");
  auto* version = app.add_subcommand("version", "Print the version and commit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    // Under `admin` the unexpected words may be a password typed as a flag: do not echo them.
    if (!admin->parsed()) return app.exit(e) == 0 ? 0 : 2;
    std::fprintf(stderr,
                 "studio admin: unexpected arguments; a password is only read from --password-stdin or "
                 "STUDIO_ADMIN_PASSWORD (see --help)\n");
    return 2;
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a usage error exits 2, like a bad setting.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (version->parsed()) {
    std::printf("studio %s (commit %s)\n", std::string(studio::app::Version()).c_str(),
                std::string(studio::app::Commit()).c_str());
    return 0;
  }

  studio::app::Config config;
  try {
    config = studio::app::BuildConfig(serve->parsed()    ? Layer(serve_opts, serve_values, serve_config)
                                      : admin->parsed()  ? Layer(admin_opts, admin_values, admin_config)
                                      : worker->parsed() ? Layer(worker_opts, worker_values, worker_config)
                                      : ingest->parsed() ? Layer(ingest_opts, ingest_values, ingest_config)
                                      : dlq->parsed()    ? Layer(dlq_opts, dlq_values, dlq_config)
                                      : chat->parsed()   ? Layer(chat_opts, chat_values, chat_config)
                                                         : Layer(migrate_opts, migrate_values, migrate_config));
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "studio: %s\n", e.what());
    return 2;
  }
  studio::obs::SetLevel(studio::obs::ParseLevel(config.log_level));
  if (admin->parsed()) return studio::app::RunAdmin(config, admin_request);
  if (worker->parsed()) return studio::app::RunWorker(config);
  if (ingest->parsed()) {
    ingest_request.wait = !no_wait;
    return studio::app::RunIngest(config, ingest_request);
  }
  if (dlq->parsed()) return studio::app::RunDlq(config, dlq_request);
  if (chat->parsed()) {
    chat_request.one_shot = chat_message->count() > 0;
    return studio::app::RunChat(config, chat_request);
  }
  return serve->parsed() ? studio::app::RunServe(config) : studio::app::RunMigrate(config);
}
