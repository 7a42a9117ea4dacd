#include "store/sqlite/sqlite_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "store/internal.hpp"
#include "store/pool.hpp"

namespace studio::store::sqlite {
namespace {

using Clock = std::chrono::steady_clock;

// Transaction control and connection setup; named like any other query so errors say which
// step failed. Names must be distinct: the statement cache is keyed by name.
constexpr Query kBeginRead{"begin.read", "BEGIN"};
constexpr Query kBeginWrite{"begin.write", "BEGIN IMMEDIATE"};
constexpr Query kCommit{"commit", "COMMIT"};
constexpr Query kRollback{"rollback", "ROLLBACK"};
constexpr Query kQueryOnlyOn{"pragma.query_only_on", "PRAGMA query_only = ON"};
constexpr Query kQueryOnlyOff{"pragma.query_only_off", "PRAGMA query_only = OFF"};
constexpr Query kJournalModeWal{"pragma.journal_mode", "PRAGMA journal_mode = WAL"};
// trusted_schema stays ON (SQLite's default): databases created before migration 0008 have
// triggers that write to an FTS5 virtual table, which SQLite refuses with it OFF, until that
// migration drops them. Turning it off guards against database files from untrusted sources;
// ours is created and only written by studio in its own data directory.
constexpr Query kCommonPragmas{"pragma.setup", "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = ON"};
constexpr Query kSynchronousFull{"pragma.synchronous_full", "PRAGMA synchronous = FULL"};
constexpr Query kSynchronousNormal{"pragma.synchronous_normal", "PRAGMA synchronous = NORMAL"};
constexpr Query kPing{"ping", "SELECT 1"};

// SQLITE_STATIC is a C-style cast in sqlite3.h; binding with a null destructor is the same
// thing (the parameter buffers outlive the statement's execution).
const sqlite3_destructor_type kStatic = nullptr;

[[noreturn]] void ThrowSqlite(std::string_view query, int rc, const std::string& message, bool timed_out) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID: throw ConstraintViolation(ConstraintKind::kUnique, std::string(query), message);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      throw ConstraintViolation(ConstraintKind::kForeignKey, std::string(query), message);
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      // Another process held the lock for longer than busy_timeout.
      throw DbUnavailable(std::string(detail::kBusyDetail), std::string(query), message);
    case SQLITE_INTERRUPT:
      throw DbUnavailable(std::string(detail::kBusyDetail), std::string(query),
                          timed_out ? "statement timeout exceeded" : message);
    default: throw DbError(std::string(query), message, "sqlite:" + std::to_string(rc));
  }
}

/// A prepared statement and how Param i maps onto its bind slots.
struct CachedStmt {
  sqlite3_stmt* stmt = nullptr;
  std::string_view sql;
  std::vector<int> slot_for_param;  // [i] = bind index of "$<i+1>"
};

/// Resets a statement when execution ends, however it ends: an un-reset SELECT would keep its
/// read transaction (and WAL snapshot) open.
class StmtReset {
 public:
  explicit StmtReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

/// One sqlite3 handle with its statement cache. Used by one thread at a time (the pool
/// guarantees it), hence SQLITE_OPEN_NOMUTEX.
class Connection {
 public:
  enum class Role { kWriter, kReader };

  Connection(const std::string& path, Role role, const DbOptions& options)
      : statement_timeout_(options.statement_timeout) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == Role::kWriter) flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw DbError("open", "cannot open " + path + ": " + message, "sqlite:" + std::to_string(rc));
    }
    try {
      sqlite3_extended_result_codes(db_, 1);
      sqlite3_busy_timeout(db_, static_cast<int>(std::min<std::int64_t>(options.busy_timeout.count(), INT32_MAX)));
      sqlite3_progress_handler(db_, kProgressInterval, &Connection::OnProgress, this);
      ExecScript(kCommonPragmas.name, kCommonPragmas.sqlite);
      if (role == Role::kWriter) {
        // journal_mode is persistent in the file; setting it once from the writer is enough.
        std::string mode = Exec(kJournalModeWal, {}).front().GetString(0);
        if (mode != "wal" && mode != "memory") {
          throw DbError("open", "could not enable WAL on " + path + " (journal_mode=" + mode + ")");
        }
        Exec(options.sqlite_synchronous_full ? kSynchronousFull : kSynchronousNormal, {});
      } else {
        // Readers never write; a stray write fails loudly instead of taking the write lock.
        Exec(kQueryOnlyOn, {});
      }
    } catch (...) {
      Finalize();
      throw;
    }
  }

  ~Connection() { Finalize(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }

  Result Exec(const Query& query, std::span<const Param> params) {
    CachedStmt& cached = Prepare(query);
    sqlite3_stmt* stmt = cached.stmt;
    StmtReset reset(stmt);
    if (params.size() != cached.slot_for_param.size()) {
      throw DbError(std::string(query.name), "expects " + std::to_string(cached.slot_for_param.size()) +
                                                 " parameters, got " + std::to_string(params.size()));
    }
    for (std::size_t i = 0; i < params.size(); ++i) Bind(query, stmt, cached.slot_for_param[i], i, params[i]);

    auto meta = std::make_shared<detail::ResultMeta>();
    meta->query = std::string(query.name);
    int columns = sqlite3_column_count(stmt);
    meta->columns.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      const char* name = sqlite3_column_name(stmt, c);
      meta->columns.emplace_back(name != nullptr ? name : "");
    }

    std::int64_t changes_before = sqlite3_total_changes64(db_);
    Deadline deadline(*this);
    std::vector<Row> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) ThrowSqlite(query.name, rc, sqlite3_errmsg(db_), timed_out_);
      std::vector<Row::Cell> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) cells.push_back(ReadCell(stmt, c));
      rows.emplace_back(meta, std::move(cells));
    }
    // sqlite3_changes() keeps the count of the last DML statement, so a DDL statement or a
    // SELECT would report a stale number; only trust it when this statement changed something.
    std::int64_t affected = sqlite3_total_changes64(db_) != changes_before ? sqlite3_changes64(db_) : 0;
    return Result(std::move(meta), std::move(rows), affected);
  }

  /// Runs ;-separated statements (no parameters, no statement timeout: migrations may be slow).
  void ExecScript(std::string_view name, std::string_view sql) {
    std::string text(sql);
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) ThrowSqlite(name, rc, sqlite3_errmsg(db_), false);
  }

  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  static constexpr int kProgressInterval = 1000;  // VM steps between deadline checks

  /// Arms the statement timeout for one Exec.
  class Deadline {
   public:
    explicit Deadline(Connection& conn) : conn_(conn) {
      conn_.timed_out_ = false;
      if (conn_.statement_timeout_.count() > 0) {
        conn_.deadline_ = Clock::now() + conn_.statement_timeout_;
        conn_.deadline_armed_ = true;
      }
    }
    ~Deadline() { conn_.deadline_armed_ = false; }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

   private:
    Connection& conn_;
  };

  static int OnProgress(void* self) {
    auto* conn = static_cast<Connection*>(self);
    if (conn->deadline_armed_ && Clock::now() >= conn->deadline_) {
      conn->timed_out_ = true;
      return 1;  // interrupts the statement with SQLITE_INTERRUPT
    }
    return 0;
  }

  CachedStmt& Prepare(const Query& query) {
    if (auto it = cache_.find(query.name); it != cache_.end()) {
      if (it->second.sql != query.sqlite) {
        throw DbError(std::string(query.name), "two different queries share this name");
      }
      return it->second;
    }
    std::string_view sql = query.sqlite;
    if (sql.size() > static_cast<std::size_t>(INT32_MAX)) throw DbError(std::string(query.name), "SQL too long");
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) ThrowSqlite(query.name, rc, sqlite3_errmsg(db_), false);
    if (stmt == nullptr) throw DbError(std::string(query.name), "empty statement");
    auto fail = [&](const std::string& why) {
      sqlite3_finalize(stmt);
      throw DbError(std::string(query.name), why);
    };
    // Only comments and whitespace may follow: a second statement would be silently ignored.
    const char* end = sql.data() + sql.size();
    while (tail != nullptr && tail < end) {
      sqlite3_stmt* extra = nullptr;
      const char* next = nullptr;
      int extra_rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &extra, &next);
      sqlite3_finalize(extra);
      if (extra_rc != SQLITE_OK || extra != nullptr) fail("contains more than one statement (use ExecScript)");
      if (next == tail) break;
      tail = next;
    }
    // $1…$N are named parameters to SQLite, numbered in order of first appearance; map each
    // one by name so "$2 … $1" binds correctly, and reject ?, :name or gaps.
    int count = sqlite3_bind_parameter_count(stmt);
    std::vector<int> slots(static_cast<std::size_t>(count));
    for (int n = 1; n <= count; ++n) {
      // Built with append: `"$" + std::to_string(n)` trips GCC 12's -Wrestrict false positive at -O3.
      std::string name(1, '$');
      name.append(std::to_string(n));
      int slot = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (slot == 0)
        fail("placeholders must be $1..$" + std::to_string(count) + " without gaps (" + name + " missing)");
      slots[static_cast<std::size_t>(n - 1)] = slot;
    }
    auto [it, inserted] = cache_.emplace(std::string(query.name), CachedStmt{stmt, sql, std::move(slots)});
    return it->second;
  }

  void Bind(const Query& query, sqlite3_stmt* stmt, int slot, std::size_t i, const Param& param) {
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return sqlite3_bind_null(stmt, slot);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            return sqlite3_bind_int64(stmt, slot, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(stmt, slot, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            return sqlite3_bind_int(stmt, slot, v ? 1 : 0);
          } else {
            // PostgreSQL text cannot hold NUL; refusing it here too keeps the backends alike.
            if (v.find('\0') != std::string::npos) {
              throw DbError(std::string(query.name), "parameter $" + std::to_string(i + 1) + " contains a NUL byte");
            }
            return sqlite3_bind_text64(stmt, slot, v.data(), v.size(), kStatic, SQLITE_UTF8);
          }
        },
        param.value());
    if (rc != SQLITE_OK) ThrowSqlite(query.name, rc, sqlite3_errmsg(db_), false);
  }

  static Row::Cell ReadCell(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER: return std::int64_t{sqlite3_column_int64(stmt, c)};
      case SQLITE_FLOAT: return sqlite3_column_double(stmt, c);
      case SQLITE_TEXT: {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        int bytes = sqlite3_column_bytes(stmt, c);
        return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
      }
      case SQLITE_BLOB: {
        const void* blob = sqlite3_column_blob(stmt, c);
        int bytes = sqlite3_column_bytes(stmt, c);
        if (blob == nullptr) return std::string();
        return std::string(static_cast<const char*>(blob), static_cast<std::size_t>(bytes));
      }
      default: return nullptr;
    }
  }

  void Finalize() {
    for (auto& [name, cached] : cache_) sqlite3_finalize(cached.stmt);
    cache_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  std::map<std::string, CachedStmt, std::less<>> cache_;
  std::chrono::milliseconds statement_timeout_;
  Clock::time_point deadline_{};
  bool deadline_armed_ = false;
  bool timed_out_ = false;
};

class SqliteTx final : public Tx {
 public:
  SqliteTx(Connection& conn, bool read_only, detail::ExecStats* stats)
      : Tx(Backend::kSqlite, read_only, stats), conn_(conn) {}

 protected:
  Result DoExec(const Query& query, std::span<const Param> params) override { return conn_.Exec(query, params); }
  void DoExecScript(const Query& script) override { conn_.ExecScript(script.name, script.sqlite); }

 private:
  Connection& conn_;
};

using Pool = detail::ConnectionPool<Connection>;

/// Marks "this thread is inside Write on this Db" so a nested Write fails at once instead of
/// waiting on the single writer connection it already holds.
class WriteScope {
 public:
  explicit WriteScope(const Db* db) : db_(db) {
    if (std::find(Active().begin(), Active().end(), db_) != Active().end()) {
      throw std::logic_error("nested Db::Write on the same SQLite database would deadlock");
    }
    Active().push_back(db_);
  }
  ~WriteScope() { Active().erase(std::find(Active().begin(), Active().end(), db_)); }
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;

 private:
  static std::vector<const Db*>& Active() {
    thread_local std::vector<const Db*> active;
    return active;
  }
  const Db* db_;
};

class SqliteDb final : public Db {
 public:
  SqliteDb(const DbOptions& options, std::string path)
      : path_(std::move(path)), memory_(path_ == ":memory:"), writer_(1, options.acquire_timeout, [this, options] {
          return std::make_unique<Connection>(path_, Connection::Role::kWriter, options);
        }) {
    stats_.backend = Backend::kSqlite;
    stats_.observer = options.on_query;
    if (!memory_) {
      CreateParentDirectory();
      readers_ = std::make_unique<Pool>(
          static_cast<std::size_t>(options.pool_size), options.acquire_timeout,
          [this, options] { return std::make_unique<Connection>(path_, Connection::Role::kReader, options); });
    }
    // Open the writer now: it creates the file and switches it to WAL before any reader opens,
    // and a bad path fails here rather than on the first request.
    { Pool::Lease lease = writer_.Acquire(); }
  }

  ~SqliteDb() override { Close(); }

  Backend backend() const override { return Backend::kSqlite; }

  void Read(const std::function<void(Tx&)>& fn) override {
    if (memory_) {
      // The single in-memory connection, made read-only for the duration.
      Pool::Lease lease = writer_.Acquire();
      lease->Exec(kQueryOnlyOn, {});
      try {
        RunTx(lease, true, fn);
      } catch (...) {
        RestoreWritable(lease);
        throw;
      }
      RestoreWritable(lease);
      return;
    }
    Pool::Lease lease = readers_->Acquire();
    RunTx(lease, true, fn);
  }

  void Write(const std::function<void(Tx&)>& fn) override {
    WriteScope scope(this);
    Pool::Lease lease = writer_.Acquire();
    RunTx(lease, false, fn);
  }

  void Ping() override {
    try {
      Read([](Tx& tx) { tx.Exec(kPing); });
    } catch (const DbError& e) {
      throw DbUnavailable(std::string(detail::kUnreachableDetail), "ping", e.driver_message());
    }
  }

  PoolStats Stats() const override {
    PoolStats s;
    Add(s, writer_.Counters());
    if (readers_ != nullptr) Add(s, readers_->Counters());
    s.queries_total = stats_.queries.load();
    s.query_errors_total = stats_.errors.load();
    s.commits_total = stats_.commits.load();
    s.rollbacks_total = stats_.rollbacks.load();
    return s;
  }

  void Close() override {
    if (readers_ != nullptr) readers_->Close();
    writer_.Close();
  }

 private:
  static void Add(PoolStats& s, const detail::PoolCounters& c) {
    s.size += c.size;
    s.open += c.open;
    s.in_use += c.in_use;
    s.idle += c.idle;
    s.waiting += c.waiting;
    s.acquires_total += c.acquires;
    s.acquire_timeouts_total += c.acquire_timeouts;
    s.connects_total += c.connects;
    s.reconnects_total += c.reconnects;
  }

  void CreateParentDirectory() const {
    std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw DbError("open", "cannot create directory " + parent.string() + ": " + ec.message());
  }

  void RunTx(Pool::Lease& lease, bool read_only, const std::function<void(Tx&)>& fn) {
    Connection& conn = *lease;
    conn.Exec(read_only ? kBeginRead : kBeginWrite, {});
    try {
      SqliteTx tx(conn, read_only, &stats_);
      fn(tx);
      // The callback swallowed an error: the transaction is doomed all the same.
      if (tx.failure()) std::rethrow_exception(tx.failure());
      conn.Exec(kCommit, {});
      ++stats_.commits;
    } catch (...) {
      ++stats_.rollbacks;
      Rollback(lease);
      throw;
    }
  }

  static void Rollback(Pool::Lease& lease) {
    // Some errors (SQLITE_FULL, SQLITE_IOERR, …) already rolled the transaction back.
    if (!lease->in_transaction()) return;
    try {
      lease->Exec(kRollback, {});
    } catch (...) {
      // A connection stuck in a transaction would block every later writer: drop it.
      lease.Discard();
    }
  }

  static void RestoreWritable(Pool::Lease& lease) {
    try {
      lease->Exec(kQueryOnlyOff, {});
    } catch (...) {
      lease.Discard();
    }
  }

  std::string path_;
  bool memory_;
  detail::ExecStats stats_;
  Pool writer_;
  std::unique_ptr<Pool> readers_;  // null for :memory:
};

}  // namespace

std::unique_ptr<Db> OpenSqliteDb(const DbOptions& options, std::string path) {
  return std::make_unique<SqliteDb>(options, std::move(path));
}

}  // namespace studio::store::sqlite
