#pragma once
// Test fixtures for store_test: a throwaway database per test on either backend.
//
// SQLite gets a file in a fresh temp directory. PostgreSQL gets a fresh database, created
// through the admin URL in STUDIO_TEST_PG_URL and dropped afterwards, so tests are isolated
// from each other even when ctest runs them in parallel. Without STUDIO_TEST_PG_URL the
// PostgreSQL cases skip, unless STUDIO_REQUIRE_PG=1 makes them fail (CI, with-postgres.sh).

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "store/db.hpp"

namespace studio::store {
/// Test names and failure messages say "sqlite"/"postgres" instead of raw bytes.
inline void PrintTo(Backend backend, std::ostream* os) { *os << BackendName(backend); }
}  // namespace studio::store

namespace studio::store::testing {

/// STUDIO_TEST_PG_URL, or nullopt when unset or empty.
std::optional<std::string> PgAdminUrl();
/// STUDIO_REQUIRE_PG=1.
bool PgRequired();

/// The admin URL with its database name replaced (keeps user, host, port and ?params).
std::string WithDatabase(const std::string& url, const std::string& dbname);

/// Runs one SQL command outside any transaction on a fresh libpq connection (CREATE/DROP
/// DATABASE cannot run inside one, and Db has no autocommit path). Throws std::runtime_error.
void PgAdminExec(const std::string& url, const std::string& sql);

/// A database that exists for the lifetime of this object.
class TestDatabase {
 public:
  /// For kPostgres, PgAdminUrl() must be set.
  explicit TestDatabase(Backend backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Backend backend() const { return backend_; }
  const std::string& url() const { return url_; }
  /// Opens a Db on this database; options.url is overwritten. Short timeouts suit tests.
  std::unique_ptr<Db> Open(DbOptions options = Defaults()) const;
  static DbOptions Defaults();

 private:
  Backend backend_;
  std::string url_;
  std::string dir_;     // SQLite: temp directory to remove
  std::string dbname_;  // PostgreSQL: database to drop
};

/// Skips (or fails, with STUDIO_REQUIRE_PG=1) the current test when PostgreSQL is not
/// configured. A macro because GTEST_SKIP/FAIL return from the calling function.
#define STUDIO_SKIP_WITHOUT_POSTGRES()                                              \
  do {                                                                              \
    if (!::studio::store::testing::PgAdminUrl()) {                                  \
      if (::studio::store::testing::PgRequired()) {                                 \
        FAIL() << "STUDIO_REQUIRE_PG=1 but STUDIO_TEST_PG_URL is not set";          \
      }                                                                             \
      GTEST_SKIP() << "STUDIO_TEST_PG_URL is not set (run under with-postgres.sh)"; \
    }                                                                               \
  } while (false)

/// The one suite that runs on both backends: TEST_P(StoreTest, …).
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend backend() const { return GetParam(); }
  /// A fresh database for this test (created in SetUp) and a Db opened on it.
  TestDatabase& database() { return *database_; }
  Db& db() { return *db_; }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<Db> db_;
};

/// PostgreSQL-only cases (skip or fail like StoreTest's postgres half).
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<Db> db_;
};

}  // namespace studio::store::testing
