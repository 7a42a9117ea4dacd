#pragma once
// Schema migrations: numbered SQL files per backend (src/store/migrations/<backend>/NNNN_name.sql)
// compiled into the binary and applied in order, each in its own Write transaction together
// with its row in schema_migrations. Run by `studio migrate` and at startup.
//
// Safe to run concurrently from several processes against one database: on PostgreSQL every
// migration transaction takes an advisory lock and re-checks the version; on SQLite the single
// writer (BEGIN IMMEDIATE) already serialises them. A database migrated by a newer binary is
// refused with std::runtime_error instead of being run against a schema this code does not know.

#include <string>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct MigrationInfo {
  int version;
  std::string name;

  bool operator==(const MigrationInfo&) const = default;
};

/// Applies every pending migration, oldest first, and returns the ones this call applied
/// (empty when the schema is current or another process applied them first).
/// Throws std::runtime_error when the database is newer than this binary, and the usual
/// DbError / DbUnavailable when a migration fails (that migration is rolled back; earlier ones
/// stay applied).
std::vector<MigrationInfo> Migrate(Db& db);

/// The highest applied version; 0 for a database that was never migrated.
int SchemaVersion(Db& db);

/// Migrations this binary would apply, oldest first. Throws std::runtime_error when the
/// database is newer than this binary.
std::vector<MigrationInfo> PendingMigrations(Db& db);

/// The newest version this binary carries for the backend.
int LatestSchemaVersion(Backend backend);

/// Every migration this binary carries for the backend, oldest first.
std::vector<MigrationInfo> KnownMigrations(Backend backend);

}  // namespace studio::store
