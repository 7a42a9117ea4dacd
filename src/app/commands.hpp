#pragma once
// The subcommands main() dispatches to. Each returns the process exit code.

#include "app/config.hpp"

namespace studio::app {

/// `studio serve`: opens the database, applies migrations, serves HTTP until SIGTERM/SIGINT,
/// drains, closes the database. 0 on a clean shutdown.
int RunServe(const Config& config);

/// `studio migrate`: applies pending migrations and prints what it applied.
int RunMigrate(const Config& config);

}  // namespace studio::app
