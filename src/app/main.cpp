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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"studio — multi-tenant AI business agents: API server, workers and tools", "studio"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(studio::app::Version()));

  std::map<std::string, CLI::Option*> serve_opts, migrate_opts;
  std::map<std::string, std::string> serve_values, migrate_values;
  std::string serve_config, migrate_config;

  auto* serve = app.add_subcommand("serve", "Serve the HTTP API (embedded SQLite by default)");
  AddSettingOptions(*serve, serve_opts, serve_values, serve_config);
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  AddSettingOptions(*migrate, migrate_opts, migrate_values, migrate_config);
  auto* version = app.add_subcommand("version", "Print the version and commit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (version->parsed()) {
    std::printf("studio %s (commit %s)\n", std::string(studio::app::Version()).c_str(),
                std::string(studio::app::Commit()).c_str());
    return 0;
  }

  bool is_serve = serve->parsed();
  studio::app::Config config;
  try {
    config = studio::app::BuildConfig(is_serve ? Layer(serve_opts, serve_values, serve_config)
                                               : Layer(migrate_opts, migrate_values, migrate_config));
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "studio: %s\n", e.what());
    return 2;
  }
  studio::obs::SetLevel(studio::obs::ParseLevel(config.log_level));
  return is_serve ? studio::app::RunServe(config) : studio::app::RunMigrate(config);
}
