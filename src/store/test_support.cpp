#include "store/test_support.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace studio::store::testing {

std::optional<std::string> PgAdminUrl() {
  const char* url = std::getenv("STUDIO_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

bool PgRequired() {
  const char* v = std::getenv("STUDIO_REQUIRE_PG");
  return v != nullptr && std::string_view(v) == "1";
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  std::size_t authority = url.find("://");
  authority = authority == std::string::npos ? 0 : authority + 3;
  std::size_t path = url.find_first_of("/?#", authority);
  if (path == std::string::npos) return url + "/" + dbname;
  std::size_t path_end = url.find_first_of("?#", path);
  if (path_end == std::string::npos) path_end = url.size();
  return url.substr(0, path) + "/" + dbname + url.substr(path_end);
}

void PgAdminExec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to " + RedactUrl(url) + ": " + message);
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(conn, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  std::string message = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(conn);
  if (!ok) throw std::runtime_error(sql + ": " + message);
}

DbOptions TestDatabase::Defaults() {
  DbOptions o;
  o.pool_size = 4;
  o.statement_timeout = std::chrono::milliseconds(10000);
  o.acquire_timeout = std::chrono::milliseconds(5000);
  o.busy_timeout = std::chrono::milliseconds(5000);
  o.connect_timeout = std::chrono::milliseconds(3000);
  // Tests do not need durability against power loss.
  o.sqlite_synchronous_full = false;
  return o;
}

TestDatabase::TestDatabase(Backend backend) : backend_(backend) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  if (backend == Backend::kSqlite) {
    std::string templ = (std::filesystem::temp_directory_path() / "studio-store-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    url_ = "sqlite:" + dir_ + "/test.db";
    return;
  }
  std::optional<std::string> admin = PgAdminUrl();
  if (!admin) throw std::logic_error("TestDatabase(kPostgres) needs STUDIO_TEST_PG_URL");
  // Unique across the processes ctest may run in parallel, and across tests in one process.
  dbname_ = "studio_t_" + std::to_string(getpid()) + "_" + std::to_string(n);
  PgAdminExec(*admin, "DROP DATABASE IF EXISTS " + dbname_ + " WITH (FORCE)");
  PgAdminExec(*admin, "CREATE DATABASE " + dbname_);
  url_ = WithDatabase(*admin, dbname_);
}

TestDatabase::~TestDatabase() {
  try {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (!dbname_.empty()) PgAdminExec(*PgAdminUrl(), "DROP DATABASE IF EXISTS " + dbname_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cleaning up the test database failed: " << e.what();
  }
}

std::unique_ptr<Db> TestDatabase::Open(DbOptions options) const {
  options.url = url_;
  return OpenDb(options);
}

void StoreTest::SetUp() {
  if (backend() == Backend::kPostgres) STUDIO_SKIP_WITHOUT_POSTGRES();
  database_ = std::make_unique<TestDatabase>(backend());
  db_ = database_->Open();
}

void StoreTest::TearDown() {
  if (db_) db_->Close();
  db_.reset();
  database_.reset();
}

void PostgresTest::SetUp() {
  STUDIO_SKIP_WITHOUT_POSTGRES();
  database_ = std::make_unique<TestDatabase>(Backend::kPostgres);
  db_ = database_->Open();
}

void PostgresTest::TearDown() {
  if (db_) db_->Close();
  db_.reset();
  database_.reset();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return std::string(BackendName(param.param));
                         });

}  // namespace studio::store::testing
