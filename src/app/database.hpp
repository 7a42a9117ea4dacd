#pragma once
// Opening the configured database: shared by `studio serve`, `studio migrate` and `studio admin`,
// so every entry point creates the data dir and migrates the schema the same way.

#include <memory>

#include "app/config.hpp"
#include "store/db.hpp"

namespace studio::app {

/// Opens the configured database (creating the data dir for SQLite) and brings its schema up
/// to date. With `report`, each applied migration is logged.
std::unique_ptr<store::Db> OpenAndMigrate(const Config& config, bool report);

}  // namespace studio::app
