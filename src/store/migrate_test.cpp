// Migrations on both backends.

#include "store/migrate.hpp"

#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/test_support.hpp"

namespace studio::store::testing {
namespace {

constexpr Query kInsertFuture{"test.insert_future", "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};
constexpr Query kCountMigrations{"test.count_migrations", "SELECT count(*) FROM schema_migrations"};
constexpr Query kInsertWorkspace{"test.insert_workspace",
                                 "INSERT INTO workspaces (id, name, slug) VALUES ($1, $2, $3)"};
constexpr Query kInsertUser{"test.insert_user", "INSERT INTO users (id, email) VALUES ($1, $2)"};
constexpr Query kAppliedAt{"test.applied_at", "SELECT applied_at FROM schema_migrations WHERE version = 1"};

TEST(MigrationsTest, EmbeddedMigrationsAreNumberedAndAlike) {
  const auto sqlite = KnownMigrations(Backend::kSqlite);
  const auto postgres = KnownMigrations(Backend::kPostgres);
  ASSERT_FALSE(sqlite.empty());
  EXPECT_EQ(sqlite, postgres);
  for (std::size_t i = 0; i < sqlite.size(); ++i) EXPECT_EQ(sqlite[i].version, static_cast<int>(i) + 1);
  EXPECT_EQ(sqlite.front(), (MigrationInfo{1, "init"}));
  EXPECT_EQ(LatestSchemaVersion(Backend::kSqlite), sqlite.back().version);
  EXPECT_EQ(LatestSchemaVersion(Backend::kPostgres), postgres.back().version);
}

TEST_P(StoreTest, MigrateAppliesAllAndIsIdempotent) {
  const int latest = LatestSchemaVersion(backend());
  EXPECT_EQ(SchemaVersion(db()), 0);
  EXPECT_EQ(PendingMigrations(db()), KnownMigrations(backend()));

  std::vector<MigrationInfo> applied = Migrate(db());
  EXPECT_EQ(applied, KnownMigrations(backend()));
  EXPECT_EQ(SchemaVersion(db()), latest);
  EXPECT_TRUE(PendingMigrations(db()).empty());

  EXPECT_TRUE(Migrate(db()).empty());
  EXPECT_EQ(SchemaVersion(db()), latest);
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return tx.Exec(kCountMigrations).front().GetInt(0); }), latest);
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return tx.Exec(kAppliedAt).front().GetString(0); }).empty());

  // The 0001 skeleton tables exist with their constraints.
  db().Write([](Tx& tx) {
    tx.Exec(kInsertWorkspace, {"w1", "Acme", "acme"});
    tx.Exec(kInsertUser, {"u1", "a@example.com"});
  });
  EXPECT_THROW(db().Write([](Tx& tx) { tx.Exec(kInsertWorkspace, {"w2", "Acme 2", "acme"}); }), ConstraintViolation);
  EXPECT_THROW(db().Write([](Tx& tx) { tx.Exec(kInsertUser, {"u2", "a@example.com"}); }), ConstraintViolation);
}

TEST_P(StoreTest, MigrateRefusesANewerSchema) {
  Migrate(db());
  const int latest = LatestSchemaVersion(backend());
  db().Write([&](Tx& tx) { tx.Exec(kInsertFuture, {latest + 1, "from_the_future"}); });
  EXPECT_EQ(SchemaVersion(db()), latest + 1);
  const std::string expected = "database schema version " + std::to_string(latest + 1) +
                               " is newer than this binary supports (" + std::to_string(latest) + ")";
  try {
    Migrate(db());
    FAIL() << "Migrate should refuse a newer schema";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  EXPECT_THROW(PendingMigrations(db()), std::runtime_error);
}

TEST_P(StoreTest, ConcurrentMigrateFromTwoProcessesIsSafe) {
  // Two Db objects stand in for two processes: separate pools, separate connections.
  auto other = database().Open();
  for (int round = 0; round < 2; ++round) {
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    auto run = [&](Db& db) {
      start.wait();
      return Migrate(db);
    };
    auto a = std::async(std::launch::async, run, std::ref(db()));
    auto b = std::async(std::launch::async, run, std::ref(*other));
    go.set_value();
    std::vector<MigrationInfo> applied_a = a.get();  // rethrows a failure
    std::vector<MigrationInfo> applied_b = b.get();
    // Every migration was applied exactly once, by one of them.
    EXPECT_EQ(applied_a.size() + applied_b.size(), round == 0 ? KnownMigrations(backend()).size() : 0u);
  }
  EXPECT_EQ(SchemaVersion(db()), LatestSchemaVersion(backend()));
  EXPECT_EQ(SchemaVersion(*other), LatestSchemaVersion(backend()));
}

}  // namespace
}  // namespace studio::store::testing
