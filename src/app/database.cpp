#include "app/database.hpp"

#include <filesystem>

#include "obs/log.hpp"
#include "store/migrate.hpp"

namespace studio::app {

std::unique_ptr<store::Db> OpenAndMigrate(const Config& c, bool report) {
  std::string url = c.EffectiveDatabaseUrl();
  if (store::BackendForUrl(url) == store::Backend::kSqlite) std::filesystem::create_directories(c.data_dir);
  store::DbOptions options;
  options.url = url;
  options.pool_size = c.db_pool_size;
  options.statement_timeout = c.db_statement_timeout;
  auto db = store::OpenDb(options);
  auto applied = store::Migrate(*db);
  for (const auto& m : applied) {
    if (report) obs::LogInfo("migration applied", {{"version", m.version}, {"name", m.name}});
  }
  return db;
}

}  // namespace studio::app
