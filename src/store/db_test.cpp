// The Db contract, run against both backends (StoreTest is instantiated for sqlite and postgres
// in test_support.cpp).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/test_support.hpp"

namespace studio::store::testing {
namespace {

using namespace std::chrono_literals;

constexpr Query kCreateItems{
    "test.create_items",
    "CREATE TABLE items (id INTEGER PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b INTEGER, n TEXT)",
    "CREATE TABLE items (id INTEGER PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b BOOLEAN, n TEXT)"};
constexpr Query kInsertItem{"test.insert_item",
                            "INSERT INTO items (id, i, d, s, b, n) VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kGetItem{"test.get_item", "SELECT id, i, d, s, b, n FROM items WHERE id = $1"};
constexpr Query kCountItems{"test.count_items", "SELECT count(*) AS n FROM items"};
constexpr Query kInsertId{"test.insert_id", "INSERT INTO items (id) VALUES ($1)"};
constexpr Query kBumpAll{"test.bump_all", "UPDATE items SET i = COALESCE(i, 0) + 1"};
constexpr Query kDeleteReturning{"test.delete_returning", "DELETE FROM items WHERE id >= $1 RETURNING id"};
constexpr Query kParents{"test.parents",
                         "CREATE TABLE parents (id INTEGER PRIMARY KEY);"
                         "CREATE TABLE children (id INTEGER PRIMARY KEY,"
                         " parent_id INTEGER NOT NULL REFERENCES parents (id))"};
constexpr Query kInsertParent{"test.insert_parent", "INSERT INTO parents (id) VALUES ($1)"};
constexpr Query kInsertChild{"test.insert_child", "INSERT INTO children (id, parent_id) VALUES ($1, $2)"};
constexpr Query kNoSuchTable{"test.no_such_table", "SELECT * FROM no_such_table"};
constexpr Query kSwapOrder{"test.swap_order", "SELECT $2 || '-' || $1 AS s", "SELECT $2::text || '-' || $1::text AS s"};
// Runs far longer than any timeout: a count over an endless recursive sequence (SQLite) or a
// server-side sleep (PostgreSQL).
constexpr Query kSlow{"test.slow",
                      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                      "SELECT pg_sleep(30)"};

void CreateItems(Db& db) {
  db.Write([](Tx& tx) { tx.ExecScript(kCreateItems); });
}

std::int64_t CountItems(Db& db) {
  return db.ReadValue([](Tx& tx) { return tx.Exec(kCountItems).front().GetInt("n"); });
}

TEST_P(StoreTest, ParamsOfEveryTypeRoundTrip) {
  CreateItems(db());
  const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89";  // héllo ✓ 日本 🎉
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const std::int64_t small = std::numeric_limits<std::int64_t>::min();
  std::optional<int> no_int;
  std::optional<std::string> some_text = "opt";
  const char* null_cstr = nullptr;

  db().Write([&](Tx& tx) {
    EXPECT_EQ(tx.Exec(kInsertItem, {1, big, 0.1, unicode, true, nullptr}).affected(), 1);
    tx.Exec(kInsertItem, {2, small, -1e300, std::string(), false, std::nullopt});
    tx.Exec(kInsertItem, {3u, no_int, 2.5f, some_text, std::optional<bool>(true), null_cstr});
    tx.Exec(kInsertItem, {std::int16_t{4}, std::uint64_t{42}, 0.0, std::string_view("sv"), false, "x"});
  });

  db().Read([&](Tx& tx) {
    Row r1 = tx.Exec(kGetItem, {1}).front();
    EXPECT_EQ(r1.GetInt("id"), 1);
    EXPECT_EQ(r1.GetInt("i"), big);
    EXPECT_EQ(r1.GetDouble("d"), 0.1);
    EXPECT_EQ(r1.GetString("s"), unicode);
    EXPECT_TRUE(r1.GetBool("b"));
    EXPECT_TRUE(r1.IsNull("n"));
    EXPECT_EQ(r1.GetOptString("n"), std::nullopt);
    EXPECT_THROW(r1.GetString("n"), DbError);

    Row r2 = tx.Exec(kGetItem, {2}).front();
    EXPECT_EQ(r2.GetInt("i"), small);
    EXPECT_EQ(r2.GetDouble("d"), -1e300);
    EXPECT_EQ(r2.GetString("s"), "");  // empty text is not NULL
    EXPECT_FALSE(r2.IsNull("s"));
    EXPECT_EQ(r2.GetOptBool("b"), false);
    EXPECT_TRUE(r2.IsNull("n"));

    Row r3 = tx.Exec(kGetItem, {3}).front();
    EXPECT_EQ(r3.GetOptInt("i"), std::nullopt);
    EXPECT_EQ(r3.GetDouble("d"), 2.5);
    EXPECT_EQ(r3.GetString("s"), "opt");
    EXPECT_TRUE(r3.GetBool("b"));
    EXPECT_TRUE(r3.IsNull("n"));

    Row r4 = tx.Exec(kGetItem, {4}).front();
    EXPECT_EQ(r4.GetInt("i"), 42);
    EXPECT_EQ(r4.GetDouble("d"), 0.0);
    EXPECT_EQ(r4.GetString("s"), "sv");
    EXPECT_EQ(r4.GetString("n"), "x");

    EXPECT_TRUE(tx.Exec(kGetItem, {99}).empty());
    // $2 before $1 binds by number, not by position in the text.
    EXPECT_EQ(tx.Exec(kSwapOrder, {"a", "b"}).front().GetString("s"), "b-a");
  });

  // Values that cannot be represented are refused before reaching the database.
  EXPECT_THROW(Param{std::numeric_limits<std::uint64_t>::max()}, std::out_of_range);
  EXPECT_THROW(db().Write([](Tx& tx) {
    tx.Exec(kInsertItem, {5, 1, 1.0, std::string("a\0b", 3), true, nullptr});
  }),
               DbError);
}

TEST_P(StoreTest, AffectedCountsOnlyChangedRows) {
  CreateItems(db());
  db().Write([](Tx& tx) {
    for (int id = 1; id <= 3; ++id) EXPECT_EQ(tx.Exec(kInsertId, {id}).affected(), 1);
    EXPECT_EQ(tx.Exec(kBumpAll).affected(), 3);
    Result count = tx.Exec(kCountItems);
    EXPECT_EQ(count.affected(), 0);  // a SELECT changes nothing
    EXPECT_EQ(count.columns(), std::vector<std::string>{"n"});
    Result deleted = tx.Exec(kDeleteReturning, {2});
    EXPECT_EQ(deleted.affected(), 2);
    EXPECT_EQ(deleted.size(), 2u);
  });
  EXPECT_EQ(CountItems(db()), 1);
}

TEST_P(StoreTest, WriteCommitsAndRollsBackOnThrow) {
  CreateItems(db());
  db().Write([](Tx& tx) { tx.Exec(kInsertId, {1}); });
  EXPECT_THROW(db().Write([](Tx& tx) {
    tx.Exec(kInsertId, {2});
    throw std::runtime_error("callback failed");
  }),
               std::runtime_error);
  EXPECT_EQ(CountItems(db()), 1);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return tx.Exec(kInsertId, {3}).affected(); }), 1);
  EXPECT_EQ(CountItems(db()), 2);
}

TEST_P(StoreTest, SwallowedErrorStillRollsBackAndRethrows) {
  CreateItems(db());
  try {
    db().Write([](Tx& tx) {
      tx.Exec(kInsertId, {1});
      try {
        tx.Exec(kNoSuchTable);
      } catch (const DbError&) {
        // Ignoring the error must not let the first insert commit.
      }
      // The transaction is doomed: further statements fail at once.
      EXPECT_THROW(tx.Exec(kInsertId, {2}), DbError);
      EXPECT_TRUE(tx.failure() != nullptr);
    });
    FAIL() << "Write should rethrow the swallowed error";
  } catch (const DbError& e) {
    EXPECT_EQ(e.query(), "test.no_such_table");
  }
  EXPECT_EQ(CountItems(db()), 0);
}

TEST_P(StoreTest, ReadIsReadOnly) {
  CreateItems(db());
  db().Read([](Tx& tx) { EXPECT_TRUE(tx.read_only()); });
  EXPECT_THROW(db().Read([](Tx& tx) { tx.Exec(kInsertId, {1}); }), DbError);
  EXPECT_EQ(CountItems(db()), 0);
  // The reader connection is still usable afterwards.
  EXPECT_EQ(CountItems(db()), 0);
}

TEST_P(StoreTest, ConstraintViolationsCarryKind) {
  CreateItems(db());
  db().Write([](Tx& tx) {
    tx.ExecScript(kParents);
    tx.Exec(kInsertParent, {1});
    tx.Exec(kInsertId, {1});
  });
  try {
    db().Write([](Tx& tx) { tx.Exec(kInsertId, {1}); });
    FAIL() << "expected a unique violation";
  } catch (const ConstraintViolation& e) {
    EXPECT_EQ(e.kind(), ConstraintKind::kUnique);
    EXPECT_EQ(e.query(), "test.insert_id");
    EXPECT_EQ(e.status(), 409);
  }
  try {
    db().Write([](Tx& tx) { tx.Exec(kInsertChild, {1, 999}); });
    FAIL() << "expected a foreign-key violation";
  } catch (const ConstraintViolation& e) {
    EXPECT_EQ(e.kind(), ConstraintKind::kForeignKey);
    EXPECT_EQ(e.query(), "test.insert_child");
  }
  // Catchable as the generic HTTP conflict too.
  EXPECT_THROW(db().Write([](Tx& tx) { tx.Exec(kInsertParent, {1}); }), studio::Conflict);
  db().Write([](Tx& tx) { tx.Exec(kInsertChild, {1, 1}); });
}

TEST_P(StoreTest, BadSqlThrowsDbErrorNamingTheQuery) {
  CreateItems(db());
  try {
    db().Read([](Tx& tx) { tx.Exec(kNoSuchTable); });
    FAIL() << "expected DbError";
  } catch (const DbError& e) {
    EXPECT_EQ(e.query(), "test.no_such_table");
    EXPECT_NE(std::string(e.what()).find("test.no_such_table"), std::string::npos) << e.what();
    EXPECT_FALSE(e.driver_message().empty());
    EXPECT_FALSE(e.sqlstate().empty());
  }
  // A wrong parameter count is a bug (DbError), not an outage.
  EXPECT_THROW(db().Read([](Tx& tx) { tx.Exec(kGetItem, {1, 2}); }), DbError);
}

TEST_P(StoreTest, PoolStatsMove) {
  CreateItems(db());
  PoolStats before = db().Stats();
  EXPECT_EQ(before.size, backend() == Backend::kSqlite ? 5u : 4u);  // SQLite: 4 readers + the writer
  db().Write([](Tx& tx) { tx.Exec(kInsertId, {1}); });
  EXPECT_THROW(db().Write([](Tx&) { throw std::runtime_error("no"); }), std::runtime_error);
  EXPECT_THROW(db().Read([](Tx& tx) { tx.Exec(kNoSuchTable); }), DbError);
  PoolStats after = db().Stats();
  EXPECT_EQ(after.acquires_total, before.acquires_total + 3);
  EXPECT_EQ(after.commits_total, before.commits_total + 1);
  EXPECT_EQ(after.rollbacks_total, before.rollbacks_total + 2);
  EXPECT_EQ(after.queries_total, before.queries_total + 2);
  EXPECT_EQ(after.query_errors_total, before.query_errors_total + 1);
  EXPECT_EQ(after.in_use, 0u);
  EXPECT_GE(after.open, 1u);
  EXPECT_GE(after.connects_total, 1u);
  EXPECT_EQ(after.open, after.idle);
}

TEST_P(StoreTest, ObserverSeesEveryStatement) {
  std::vector<std::pair<std::string, bool>> seen;
  DbOptions options = TestDatabase::Defaults();
  options.on_query = [&](const QueryEvent& e) {
    EXPECT_EQ(e.backend, backend());
    seen.emplace_back(std::string(e.name), e.ok);
  };
  auto db = database().Open(options);
  CreateItems(*db);
  EXPECT_THROW(db->Read([](Tx& tx) { tx.Exec(kNoSuchTable); }), DbError);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("test.create_items"), true));
  EXPECT_EQ(seen[1], std::make_pair(std::string("test.no_such_table"), false));
}

TEST_P(StoreTest, AcquireTimeoutWhenPoolExhausted) {
  DbOptions options = TestDatabase::Defaults();
  options.pool_size = 1;
  options.acquire_timeout = 200ms;
  auto db = database().Open(options);
  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread holder([&] {
    db->Read([&](Tx&) {
      holding.set_value();
      released.wait();
    });
  });
  holding.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  try {
    db->Read([](Tx&) {});
    ADD_FAILURE() << "expected DbUnavailable";
  } catch (const DbUnavailable& e) {
    EXPECT_EQ(e.code(), "DB_UNAVAILABLE");
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.query(), "acquire");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(db->Stats().acquire_timeouts_total, 1u);
  release.set_value();
  holder.join();
  db->Read([](Tx&) {});  // the connection came back
}

TEST_P(StoreTest, CloseRefusesNewTransactions) {
  db().Ping();
  db().Close();
  db().Close();  // idempotent
  EXPECT_THROW(db().Read([](Tx&) {}), DbUnavailable);
  EXPECT_THROW(db().Write([](Tx&) {}), DbUnavailable);
  EXPECT_THROW(db().Ping(), DbUnavailable);
  EXPECT_EQ(db().Stats().open, 0u);
}

TEST_P(StoreTest, StatementTimeoutIsDbUnavailable) {
  DbOptions options = TestDatabase::Defaults();
  options.statement_timeout = 300ms;
  auto db = database().Open(options);
  auto start = std::chrono::steady_clock::now();
  try {
    db->Read([](Tx& tx) { tx.Exec(kSlow); });
    ADD_FAILURE() << "expected DbUnavailable";
  } catch (const DbUnavailable& e) {
    EXPECT_EQ(e.query(), "test.slow");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // The connection recovered and the timeout did not leak into the next statement.
  db->Ping();
  CreateItems(*db);
}

TEST_P(StoreTest, ReadersProceedWhileAWriterHoldsItsTransaction) {
  CreateItems(db());
  db().Write([](Tx& tx) { tx.Exec(kInsertId, {1}); });
  std::promise<void> inserted;
  std::promise<void> finish;
  std::shared_future<void> finished = finish.get_future().share();
  std::thread writer([&] {
    db().Write([&](Tx& tx) {
      tx.Exec(kInsertId, {2});
      inserted.set_value();
      finished.wait();
    });
  });
  inserted.get_future().wait();
  // Readers see the last committed state and do not wait for the writer.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(CountItems(db()), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  finish.set_value();
  writer.join();
  EXPECT_EQ(CountItems(db()), 2);
}

TEST_P(StoreTest, ConcurrentWritesAreAllApplied) {
  CreateItems(db());
  db().Write([](Tx& tx) { tx.Exec(kInsertId, {1}); });
  constexpr int kThreads = 4;
  constexpr int kEach = 20;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) db().Write([](Tx& tx) { tx.Exec(kBumpAll); });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return tx.Exec(kGetItem, {1}).front().GetInt("i"); }), kThreads * kEach);
}

TEST_P(StoreTest, PingWorks) {
  db().Ping();
  EXPECT_GE(db().Stats().connects_total, 1u);
  EXPECT_EQ(db().backend(), backend());
}

// ---- backend-independent helpers ------------------------------------------------------------

TEST(StoreUrlTest, RedactUrlHidesPasswords) {
  EXPECT_EQ(RedactUrl("postgres://app:s3cret@db:5432/studio"), "postgres://app:***@db:5432/studio");
  EXPECT_EQ(RedactUrl("postgresql://app@db/studio"), "postgresql://app@db/studio");
  EXPECT_EQ(RedactUrl("postgresql://db/studio?sslmode=require&password=s3cret"),
            "postgresql://db/studio?sslmode=require&password=***");
  EXPECT_EQ(RedactUrl("postgresql://app:p%40ss@db/x?password=two&x=1"), "postgresql://app:***@db/x?password=***&x=1");
  EXPECT_EQ(RedactUrl("sqlite:/var/lib/studio/studio.db"), "sqlite:/var/lib/studio/studio.db");
}

TEST(StoreUrlTest, BackendForUrl) {
  EXPECT_EQ(BackendForUrl("sqlite:/tmp/x.db"), Backend::kSqlite);
  EXPECT_EQ(BackendForUrl("/tmp/x.db"), Backend::kSqlite);
  EXPECT_EQ(BackendForUrl("postgres://h/db"), Backend::kPostgres);
  EXPECT_EQ(BackendForUrl("postgresql://h/db"), Backend::kPostgres);
  EXPECT_THROW(BackendForUrl("mysql://u:secret@h/db"), std::invalid_argument);
  try {
    BackendForUrl("mysql://u:secret@h/db");
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  DbOptions options;
  EXPECT_THROW(OpenDb(options), std::invalid_argument);  // empty url
  options.url = "postgres://h/db";
  options.pool_size = 0;
  EXPECT_THROW(OpenDb(options), std::invalid_argument);
}

}  // namespace
}  // namespace studio::store::testing
