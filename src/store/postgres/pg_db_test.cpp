// PostgreSQL-specific behaviour: result types, reconnects, connect failures, secrets.

#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "store/test_support.hpp"

namespace studio::store::testing {
namespace {

using namespace std::chrono_literals;

constexpr Query kTypes{"test.types",
                       "SELECT 1::int2 AS i2, 2::int4 AS i4, 9223372036854775807::int8 AS i8, true AS b,"
                       " 1.5::float4 AS f4, 'NaN'::float8 AS nan, '-Infinity'::float8 AS ninf,"
                       " 12.50::numeric AS num, 'x'::varchar AS v, NULL::int4 AS null_int"};
constexpr Query kBackendPid{"test.backend_pid", "SELECT pg_backend_pid()"};
constexpr Query kTerminate{"test.terminate", "SELECT pg_terminate_backend($1::int, 5000)"};
constexpr Query kTimeout{"test.timeout", "SHOW statement_timeout"};
constexpr Query kIsolation{"test.isolation", "SHOW transaction_isolation"};
constexpr Query kReadOnly{"test.read_only", "SHOW transaction_read_only"};

TEST_F(PostgresTest, ResultTypesFollowTheColumnType) {
  Row row = db_->ReadValue([](Tx& tx) { return tx.Exec(kTypes).front(); });
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(row.cell(row.ColumnIndex("i2"))));
  EXPECT_EQ(row.GetInt("i2"), 1);
  EXPECT_EQ(row.GetInt("i4"), 2);
  EXPECT_EQ(row.GetInt("i8"), 9223372036854775807LL);
  EXPECT_EQ(row.cell(row.ColumnIndex("b")), Row::Cell(std::int64_t{1}));
  EXPECT_TRUE(row.GetBool("b"));
  EXPECT_EQ(row.cell(row.ColumnIndex("f4")), Row::Cell(1.5));
  EXPECT_TRUE(std::isnan(row.GetDouble("nan")));
  EXPECT_EQ(row.GetDouble("ninf"), -INFINITY);
  EXPECT_EQ(row.cell(row.ColumnIndex("num")), Row::Cell(std::string("12.50")));  // numeric stays exact text
  EXPECT_EQ(row.GetDouble("num"), 12.5);
  EXPECT_EQ(row.GetString("v"), "x");
  EXPECT_TRUE(row.IsNull("null_int"));
}

TEST_F(PostgresTest, SessionAndTransactionSettings) {
  db_->Read([](Tx& tx) {
    EXPECT_EQ(tx.Exec(kTimeout).front().GetString(0), "10s");  // TestDatabase::Defaults()
    EXPECT_EQ(tx.Exec(kIsolation).front().GetString(0), "repeatable read");
    EXPECT_EQ(tx.Exec(kReadOnly).front().GetString(0), "on");
  });
  db_->Write([](Tx& tx) {
    EXPECT_EQ(tx.Exec(kIsolation).front().GetString(0), "read committed");
    EXPECT_EQ(tx.Exec(kReadOnly).front().GetString(0), "off");
  });
}

TEST_F(PostgresTest, ConnectsLazilyAndReconnectsAfterTheBackendDies) {
  DbOptions options = TestDatabase::Defaults();
  options.pool_size = 1;
  auto db = database_->Open(options);
  EXPECT_EQ(db->Stats().connects_total, 0u);  // nothing until first use
  std::int64_t pid = db->ReadValue([](Tx& tx) { return tx.Exec(kBackendPid).front().GetInt(0); });
  EXPECT_EQ(db->Stats().connects_total, 1u);

  // Kill the pooled connection's server process (as a restart or failover would).
  EXPECT_TRUE(db_->ReadValue([&](Tx& tx) { return tx.Exec(kTerminate, {pid}).front().GetBool(0); }));

  // The next transaction notices at BEGIN and transparently uses a fresh connection.
  std::int64_t new_pid = db->ReadValue([](Tx& tx) { return tx.Exec(kBackendPid).front().GetInt(0); });
  EXPECT_NE(new_pid, pid);
  PoolStats stats = db->Stats();
  EXPECT_EQ(stats.reconnects_total, 1u);
  EXPECT_EQ(stats.connects_total, 2u);
  EXPECT_EQ(stats.open, 1u);
}

TEST_F(PostgresTest, ConnectionLostMidTransactionIsDbUnavailable) {
  DbOptions options = TestDatabase::Defaults();
  options.pool_size = 1;
  auto db = database_->Open(options);
  EXPECT_THROW(db->Read([&](Tx& tx) {
    std::int64_t pid = tx.Exec(kBackendPid).front().GetInt(0);
    db_->Read([&](Tx& admin) { admin.Exec(kTerminate, {pid}); });
    tx.Exec(kBackendPid);
  }),
               DbUnavailable);
  EXPECT_EQ(db->Stats().reconnects_total, 1u);
  db->Ping();  // and the pool recovers
}

// No server needed: nothing listens on 127.0.0.1:1.
TEST(PostgresConnectTest, PingAgainstAClosedPortFailsQuicklyWithoutLeakingThePassword) {
  DbOptions options = TestDatabase::Defaults();
  options.url = "postgresql://studio:hunter2secret@127.0.0.1:1/studio?password=alsosecret";
  options.connect_timeout = 2s;
  auto db = OpenDb(options);  // lazy: opening does not connect
  auto start = std::chrono::steady_clock::now();
  std::optional<DbUnavailable> error;
  try {
    db->Ping();
  } catch (const DbUnavailable& e) {
    error = e;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(error.has_value()) << "expected DbUnavailable";
  std::string all = std::string(error->what()) + error->detail() + error->driver_message() + error->query();
  EXPECT_EQ(all.find("hunter2secret"), std::string::npos) << all;
  EXPECT_EQ(all.find("alsosecret"), std::string::npos) << all;
  EXPECT_FALSE(error->driver_message().empty());
  EXPECT_EQ(error->code(), "DB_UNAVAILABLE");
  EXPECT_THROW(db->Write([](Tx&) {}), DbUnavailable);
  EXPECT_EQ(db->Stats().open, 0u);
}

TEST(PostgresConnectTest, InvalidUrlIsRejectedWithoutThePassword) {
  // libpq's parse errors quote the URI or the offending token; none of it may leak.
  for (const char* url :
       {"postgresql://studio:hunter2secret@[::1/db", "postgresql://studio:hunter2secret@h/db?nosuch=1",
        "postgresql://studio:hunter2%zzsecret@h/db"}) {
    DbOptions options;
    options.url = url;
    try {
      OpenDb(options);
      ADD_FAILURE() << "expected std::invalid_argument for " << RedactUrl(url);
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
  }
}

TEST(PostgresConnectTest, AnUnreachableHostFailsWithinConnectTimeout) {
  // A blackholed address exercises connect_timeout itself; 192.0.2.0/24 is TEST-NET-1.
  DbOptions options = TestDatabase::Defaults();
  options.url = "postgresql://u:pw_abc@192.0.2.1:5432/db";
  options.connect_timeout = 2s;
  auto db = OpenDb(options);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(db->Ping(), DbUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace studio::store::testing
