// SQLite-specific behaviour: pragmas, the single writer across processes, :memory:.

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "store/test_support.hpp"

namespace studio::store::testing {
namespace {

using namespace std::chrono_literals;

constexpr Query kJournalMode{"test.journal_mode", "PRAGMA journal_mode"};
constexpr Query kForeignKeys{"test.foreign_keys", "PRAGMA foreign_keys"};
constexpr Query kSynchronous{"test.synchronous", "PRAGMA synchronous"};
constexpr Query kCreate{"test.create", "CREATE TABLE t (id INTEGER PRIMARY KEY)"};
constexpr Query kInsert{"test.insert", "INSERT INTO t (id) VALUES ($1)"};
constexpr Query kCount{"test.count", "SELECT count(*) FROM t"};
constexpr Query kTwoStatements{"test.two", "SELECT 1; SELECT 2"};

TEST(SqliteTest, WalForeignKeysAndSynchronous) {
  TestDatabase database(Backend::kSqlite);
  DbOptions options = TestDatabase::Defaults();
  options.sqlite_synchronous_full = true;
  auto db = database.Open(options);
  // Readers and the writer are separate connections; check both.
  db->Read([](Tx& tx) {
    EXPECT_EQ(tx.Exec(kJournalMode).front().GetString(0), "wal");
    EXPECT_EQ(tx.Exec(kForeignKeys).front().GetInt(0), 1);
  });
  db->Write([](Tx& tx) {
    EXPECT_EQ(tx.Exec(kJournalMode).front().GetString(0), "wal");
    EXPECT_EQ(tx.Exec(kForeignKeys).front().GetInt(0), 1);
    EXPECT_EQ(tx.Exec(kSynchronous).front().GetInt(0), 2);  // FULL
  });
  db->Close();

  options.sqlite_synchronous_full = false;
  auto normal = database.Open(options);
  normal->Write([](Tx& tx) { EXPECT_EQ(tx.Exec(kSynchronous).front().GetInt(0), 1); });  // NORMAL
}

TEST(SqliteTest, DefaultOptionsAreDurable) { EXPECT_TRUE(DbOptions{}.sqlite_synchronous_full); }

TEST(SqliteTest, SecondProcessWriterGetsDbUnavailableAfterBusyTimeout) {
  TestDatabase database(Backend::kSqlite);
  auto first = database.Open();
  first->Write([](Tx& tx) { tx.Exec(kCreate); });
  DbOptions options = TestDatabase::Defaults();
  options.busy_timeout = 200ms;
  auto second = database.Open(options);  // another "process": its own writer connection

  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread holder([&] {
    first->Write([&](Tx& tx) {
      tx.Exec(kInsert, {1});
      holding.set_value();
      released.wait();
    });
  });
  holding.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(second->Write([](Tx& tx) { tx.Exec(kInsert, {2}); }), DbUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  release.set_value();
  holder.join();
  second->Write([](Tx& tx) { tx.Exec(kInsert, {2}); });
  EXPECT_EQ(second->ReadValue([](Tx& tx) { return tx.Exec(kCount).front().GetInt(0); }), 2);
}

TEST(SqliteTest, NestedWriteFailsInsteadOfDeadlocking) {
  TestDatabase database(Backend::kSqlite);
  auto db = database.Open();
  EXPECT_THROW(db->Write([&](Tx&) { db->Write([](Tx&) {}); }), std::logic_error);
  db->Write([](Tx&) {});
}

TEST(SqliteTest, MultipleStatementsInExecAreRejected) {
  TestDatabase database(Backend::kSqlite);
  auto db = database.Open();
  EXPECT_THROW(db->Read([](Tx& tx) { tx.Exec(kTwoStatements); }), DbError);
}

TEST(SqliteTest, InMemoryDatabase) {
  DbOptions options = TestDatabase::Defaults();
  options.url = "sqlite::memory:";
  auto db = OpenDb(options);
  db->Write([](Tx& tx) {
    tx.Exec(kCreate);
    tx.Exec(kInsert, {1});
  });
  EXPECT_EQ(db->ReadValue([](Tx& tx) { return tx.Exec(kCount).front().GetInt(0); }), 1);
  EXPECT_THROW(db->Read([](Tx& tx) { tx.Exec(kInsert, {2}); }), DbError);  // Read is read-only
  db->Write([](Tx& tx) { tx.Exec(kInsert, {2}); });                        // and writable again after
  EXPECT_EQ(db->ReadValue([](Tx& tx) { return tx.Exec(kCount).front().GetInt(0); }), 2);
}

TEST(SqliteTest, OpenCreatesTheParentDirectory) {
  TestDatabase database(Backend::kSqlite);
  std::string dir = database.url().substr(std::string_view("sqlite:").size());
  dir = std::filesystem::path(dir).parent_path() / "nested" / "deeper";
  DbOptions options = TestDatabase::Defaults();
  options.url = "sqlite://" + dir + "/x.db";
  auto db = OpenDb(options);
  db->Ping();
  EXPECT_TRUE(std::filesystem::exists(dir + "/x.db"));
}

}  // namespace
}  // namespace studio::store::testing
