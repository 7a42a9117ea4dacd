#include "store/migrate.hpp"

#include <stdexcept>
#include <string>

#include "store/migrations/embedded.hpp"

namespace studio::store {
namespace {

constexpr Query kCreateTable{"migrate.create_table",
                             "CREATE TABLE IF NOT EXISTS schema_migrations ("
                             " version INTEGER PRIMARY KEY NOT NULL,"
                             " name TEXT NOT NULL,"
                             " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
                             "CREATE TABLE IF NOT EXISTS schema_migrations ("
                             " version INTEGER PRIMARY KEY,"
                             " name TEXT NOT NULL,"
                             " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"};
constexpr Query kTableExists{
    "migrate.table_exists",
    "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations')",
    "SELECT to_regclass('schema_migrations') IS NOT NULL"};
constexpr Query kMaxVersion{"migrate.max_version", "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"};
constexpr Query kRecord{"migrate.record", "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};

// PostgreSQL only. One arbitrary key shared by every studio process: whoever holds it is the
// only migrator, until its transaction ends. The lock wait and the migration itself must not
// hit the request-sized statement timeout: a slow migration is not an overload.
constexpr Query kNoTimeout{"migrate.no_timeout", "SET LOCAL statement_timeout = 0"};
constexpr Query kLock{"migrate.lock", "SELECT pg_advisory_xact_lock(7305740215871925417)"};

/// Serialises migrators. SQLite needs nothing: Write already holds the database's only write
/// lock (BEGIN IMMEDIATE).
void Lock(Tx& tx) {
  if (tx.backend() != Backend::kPostgres) return;
  tx.Exec(kNoTimeout);
  tx.Exec(kLock);
}

int CurrentVersion(Tx& tx) { return static_cast<int>(tx.Exec(kMaxVersion).front().GetInt(0)); }

void RefuseNewer(int current, int latest) {
  if (current > latest) {
    throw std::runtime_error("database schema version " + std::to_string(current) +
                             " is newer than this binary supports (" + std::to_string(latest) + ")");
  }
}

}  // namespace

std::vector<MigrationInfo> KnownMigrations(Backend backend) {
  std::vector<MigrationInfo> out;
  for (const auto& m : detail::EmbeddedMigrations(backend)) out.push_back({m.version, std::string(m.name)});
  return out;
}

int LatestSchemaVersion(Backend backend) {
  auto all = detail::EmbeddedMigrations(backend);
  return all.empty() ? 0 : all.back().version;
}

int SchemaVersion(Db& db) {
  return db.ReadValue([](Tx& tx) {
    if (!tx.Exec(kTableExists).front().GetBool(0)) return 0;
    return CurrentVersion(tx);
  });
}

std::vector<MigrationInfo> PendingMigrations(Db& db) {
  const int current = SchemaVersion(db);
  RefuseNewer(current, LatestSchemaVersion(db.backend()));
  std::vector<MigrationInfo> pending;
  for (const auto& m : detail::EmbeddedMigrations(db.backend())) {
    if (m.version > current) pending.push_back({m.version, std::string(m.name)});
  }
  return pending;
}

std::vector<MigrationInfo> Migrate(Db& db) {
  const Backend backend = db.backend();
  const int latest = LatestSchemaVersion(backend);

  // The bookkeeping table is created under the lock too: two concurrent CREATE TABLE IF NOT
  // EXISTS can fail on PostgreSQL with a duplicate catalog entry.
  const int start = db.WriteValue([&](Tx& tx) {
    Lock(tx);
    tx.Exec(kCreateTable);
    return CurrentVersion(tx);
  });
  RefuseNewer(start, latest);

  std::vector<MigrationInfo> applied;
  for (const auto& m : detail::EmbeddedMigrations(backend)) {
    if (m.version <= start) continue;
    // One transaction per migration: a failure keeps every earlier migration applied and
    // leaves this one entirely unapplied.
    const bool did_apply = db.WriteValue([&](Tx& tx) {
      Lock(tx);
      // Re-check under the lock: another process may have applied it since we looked.
      const int current = CurrentVersion(tx);
      RefuseNewer(current, latest);
      if (current >= m.version) return false;
      const std::string name = "migration." + std::to_string(m.version) + "_" + std::string(m.name);
      tx.ExecScript(Query(name, m.sql));
      tx.Exec(kRecord, {m.version, m.name});
      return true;
    });
    if (did_apply) applied.push_back({m.version, std::string(m.name)});
  }
  return applied;
}

}  // namespace studio::store
