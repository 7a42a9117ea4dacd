#pragma once
// The one database interface. Repositories are written once against Db/Tx and run on SQLite
// (embedded, the default) or PostgreSQL (scale-out). Driver headers stay out of this file so
// every module that talks to the store compiles quickly.
//
// Rules the interface enforces or relies on:
//  - SQL lives in named `Query` constants next to the repository that uses them; the name shows
//    up in errors, logs and metrics. Placeholders are $1, $2, … on both backends.
//  - Work happens inside Db::Read (read-only snapshot) or Db::Write (commits when the callback
//    returns, rolls back when it throws). There is no autocommit path.
//  - An exception from Tx::Exec dooms the transaction (PostgreSQL aborts it; SQLite is made to
//    behave the same): let it propagate. If the callback swallows it anyway, Write still rolls
//    back and rethrows the first error.
//  - PostgreSQL writes run at READ COMMITTED. A read-modify-write must be one atomic statement
//    (UPDATE … SET n = n + 1) or lock the row (SELECT … FOR UPDATE on postgres; SQLite's single
//    writer is already serial).
//  - On PostgreSQL parameter types are inferred from the SQL; cast where the context is
//    ambiguous ($1::bigint, $1::text). Booleans are sent as true/false, so target BOOLEAN
//    columns on postgres (INTEGER 0/1 on SQLite).
//
// Errors: unique / foreign-key violations throw ConstraintViolation (a studio::Conflict);
// an unreachable or overloaded database throws DbUnavailable (a studio::ServiceUnavailable,
// code DB_UNAVAILABLE); everything else throws DbError (a 500: logged, never shown to clients).

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace studio::store {

enum class Backend { kSqlite, kPostgres };

/// "sqlite" or "postgres" — for logs, metrics labels and test names.
std::string_view BackendName(Backend backend);

/// A named SQL statement. Declare as a namespace-scope constant:
///   constexpr Query kGetSetting{"settings.get", "SELECT value FROM settings WHERE key = $1"};
///   constexpr Query kNow{"clock.now", "SELECT strftime('%s','now')", "SELECT extract(epoch FROM now())"};
/// The strings are not copied: they must outlive every use (string literals do).
struct Query {
  std::string_view name;
  std::string_view sqlite;
  std::string_view postgres;

  /// SQL that is the same on both backends.
  constexpr Query(std::string_view query_name, std::string_view sql) : name(query_name), sqlite(sql), postgres(sql) {}
  /// SQL that differs between backends.
  constexpr Query(std::string_view query_name, std::string_view sqlite_sql, std::string_view postgres_sql)
      : name(query_name), sqlite(sqlite_sql), postgres(postgres_sql) {}

  constexpr std::string_view Sql(Backend backend) const { return backend == Backend::kSqlite ? sqlite : postgres; }
};

/// A statement parameter. Converts implicitly from integers, floating point, bool, strings,
/// nullptr / std::nullopt (NULL) and std::optional<T> (NULL when empty), so calls read
/// naturally: tx.Exec(kQuery, {id, name, 42, std::nullopt}).
class Param {
 public:
  using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string, bool>;

  Param() noexcept = default;
  Param(std::nullptr_t) noexcept {}
  Param(std::nullopt_t) noexcept {}
  Param(bool v) noexcept : value_(v) {}
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char> && !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
           !std::same_as<T, char16_t> && !std::same_as<T, char32_t>) Param(T v)
      : value_(ToInt64(v)) {}
  template <std::floating_point T>
  Param(T v) noexcept : value_(static_cast<double>(v)) {}
  /// A null `const char*` binds NULL rather than crashing.
  Param(const char* v) {
    if (v != nullptr) value_ = std::string(v);
  }
  Param(std::string_view v) : value_(std::string(v)) {}
  Param(std::string v) noexcept : value_(std::move(v)) {}
  template <class T>
  Param(const std::optional<T>& v) {
    if (v.has_value()) value_ = Param(*v).value_;
  }

  const Value& value() const { return value_; }
  bool is_null() const { return std::holds_alternative<std::nullptr_t>(value_); }

 private:
  template <class T>
  static std::int64_t ToInt64(T v) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      // Silently wrapping a huge unsigned value into a negative id would be a data bug.
      if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
        throw std::out_of_range("store::Param: unsigned value does not fit in a 64-bit signed integer");
      }
    }
    return static_cast<std::int64_t>(v);
  }

  Value value_;
};

/// Any database failure that is not a constraint violation or unavailability: a bug or a broken
/// schema. Carries the query name and the driver's message for server-side logs; the HTTP layer
/// answers 500 without showing it. Never contains connection strings or passwords.
class DbError : public std::runtime_error {
 public:
  DbError(std::string query, std::string message, std::string sqlstate = {});

  /// The Query::name that failed ("begin.write", "commit", "connect", … for internal steps).
  const std::string& query() const { return query_; }
  /// The driver's primary message (no row values).
  const std::string& driver_message() const { return message_; }
  /// PostgreSQL SQLSTATE, or "sqlite:<extended result code>" on SQLite; empty when not from a driver.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string query_;
  std::string message_;
  std::string sqlstate_;
};

enum class ConstraintKind { kUnique, kForeignKey };

/// A unique or foreign-key constraint rejected the statement. what()/detail() are safe for
/// clients; repositories that want a more specific message catch it and check query()/kind().
class ConstraintViolation : public studio::Conflict {
 public:
  ConstraintViolation(ConstraintKind kind, std::string query, std::string driver_message);

  ConstraintKind kind() const { return kind_; }
  const std::string& query() const { return query_; }
  /// For server logs only (names the constraint or columns, never the values).
  const std::string& driver_message() const { return driver_message_; }

 private:
  ConstraintKind kind_;
  std::string query_;
  std::string driver_message_;
};

/// The database cannot serve the request right now: unreachable, restarting, pool exhausted,
/// locked past busy_timeout, statement timeout or deadlock. A 503 with Retry-After; code
/// "DB_UNAVAILABLE". driver_message() is for server logs.
class DbUnavailable : public studio::ServiceUnavailable {
 public:
  DbUnavailable(std::string detail, std::string query, std::string driver_message, int retry_after_seconds = 1);

  const std::string& query() const { return query_; }
  const std::string& driver_message() const { return driver_message_; }

 private:
  std::string query_;
  std::string driver_message_;
};

namespace detail {
struct ResultMeta;
struct ExecStats;
}  // namespace detail

/// One result row. Getters take a column index (0-based) or a column name. Conversions are
/// lossless only: GetInt on 1.5 or on "abc" throws DbError, as does any non-optional getter on
/// NULL. Rows stay valid after their Result is gone.
class Row {
 public:
  /// A cell as the driver delivered it. PostgreSQL integers and booleans arrive as int64,
  /// float4/float8 as double, everything else (text, numeric, timestamptz, …) as text.
  using Cell = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

  Row(std::shared_ptr<const detail::ResultMeta> meta, std::vector<Cell> cells);

  std::size_t size() const { return cells_.size(); }
  /// Throws DbError when there is no such column.
  std::size_t ColumnIndex(std::string_view name) const;
  const Cell& cell(std::size_t i) const;

  bool IsNull(std::size_t i) const { return std::holds_alternative<std::nullptr_t>(cell(i)); }
  std::int64_t GetInt(std::size_t i) const;
  double GetDouble(std::size_t i) const;
  std::string GetString(std::size_t i) const;
  /// Integers are true when non-zero; text accepts t/true/1 and f/false/0.
  bool GetBool(std::size_t i) const;
  std::optional<std::int64_t> GetOptInt(std::size_t i) const;
  std::optional<double> GetOptDouble(std::size_t i) const;
  std::optional<std::string> GetOptString(std::size_t i) const;
  std::optional<bool> GetOptBool(std::size_t i) const;

  bool IsNull(std::string_view column) const { return IsNull(ColumnIndex(column)); }
  std::int64_t GetInt(std::string_view column) const { return GetInt(ColumnIndex(column)); }
  double GetDouble(std::string_view column) const { return GetDouble(ColumnIndex(column)); }
  std::string GetString(std::string_view column) const { return GetString(ColumnIndex(column)); }
  bool GetBool(std::string_view column) const { return GetBool(ColumnIndex(column)); }
  std::optional<std::int64_t> GetOptInt(std::string_view column) const { return GetOptInt(ColumnIndex(column)); }
  std::optional<double> GetOptDouble(std::string_view column) const { return GetOptDouble(ColumnIndex(column)); }
  std::optional<std::string> GetOptString(std::string_view column) const { return GetOptString(ColumnIndex(column)); }
  std::optional<bool> GetOptBool(std::string_view column) const { return GetOptBool(ColumnIndex(column)); }

 private:
  [[noreturn]] void Fail(std::size_t i, std::string_view what) const;

  std::shared_ptr<const detail::ResultMeta> meta_;
  std::vector<Cell> cells_;
};

/// The rows a statement returned plus the number of rows it changed.
class Result {
 public:
  Result() = default;
  Result(std::shared_ptr<const detail::ResultMeta> meta, std::vector<Row> rows, std::int64_t affected);

  const std::vector<Row>& rows() const { return rows_; }
  std::size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  /// Rows changed by INSERT/UPDATE/DELETE (with or without RETURNING); 0 for a SELECT.
  std::int64_t affected() const { return affected_; }
  /// Column names in select-list order.
  const std::vector<std::string>& columns() const;

  const Row& operator[](std::size_t i) const { return rows_.at(i); }
  /// The first row; throws DbError when there is none.
  const Row& front() const;
  std::vector<Row>::const_iterator begin() const { return rows_.begin(); }
  std::vector<Row>::const_iterator end() const { return rows_.end(); }

 private:
  std::shared_ptr<const detail::ResultMeta> meta_;
  std::vector<Row> rows_;
  std::int64_t affected_ = 0;
};

/// A transaction handed to Db::Read / Db::Write callbacks. Not thread-safe; do not keep it
/// beyond the callback.
class Tx {
 public:
  virtual ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  /// Runs one statement with $1… bound to params (in order). Throws as described above.
  Result Exec(const Query& query, std::initializer_list<Param> params = {});
  Result Exec(const Query& query, std::span<const Param> params);
  Result Exec(const Query& query, const std::vector<Param>& params) {
    return Exec(query, std::span<const Param>(params));
  }
  /// Runs several ;-separated statements without parameters (migrations, test fixtures).
  void ExecScript(const Query& script);

  Backend backend() const { return backend_; }
  bool read_only() const { return read_only_; }
  /// The first error an Exec threw in this transaction, if any (the transaction is doomed).
  std::exception_ptr failure() const { return failure_; }

 protected:
  Tx(Backend backend, bool read_only, detail::ExecStats* stats);

  virtual Result DoExec(const Query& query, std::span<const Param> params) = 0;
  virtual void DoExecScript(const Query& script) = 0;

 private:
  Backend backend_;
  bool read_only_;
  detail::ExecStats* stats_;
  std::exception_ptr failure_;
};

/// Pool counters for /metrics and health. SQLite counts its writer and readers together.
struct PoolStats {
  std::size_t size = 0;     ///< maximum connections
  std::size_t open = 0;     ///< connections currently open (idle + in use + being opened)
  std::size_t in_use = 0;   ///< leased to a running transaction
  std::size_t idle = 0;     ///< open and free
  std::size_t waiting = 0;  ///< threads blocked waiting for a connection
  std::uint64_t acquires_total = 0;
  std::uint64_t acquire_timeouts_total = 0;
  std::uint64_t connects_total = 0;    ///< connections opened (including replacements)
  std::uint64_t reconnects_total = 0;  ///< broken connections reset or replaced
  std::uint64_t queries_total = 0;     ///< Tx::Exec / ExecScript calls
  std::uint64_t query_errors_total = 0;
  std::uint64_t commits_total = 0;
  std::uint64_t rollbacks_total = 0;
};

/// What a QueryObserver sees after every statement (for metrics and slow-query logs).
struct QueryEvent {
  std::string_view name;
  Backend backend;
  std::chrono::nanoseconds elapsed;
  bool ok;
};
using QueryObserver = std::function<void(const QueryEvent&)>;

struct DbOptions {
  /// sqlite:PATH (also sqlite:///abs/path, or a bare path), sqlite::memory:, postgres://… or
  /// postgresql://… (libpq URI; user, password, host, port, dbname, sslmode…).
  std::string url;
  /// PostgreSQL: maximum connections. SQLite: reader connections (plus one writer).
  int pool_size = 4;
  /// Per-statement limit (PostgreSQL statement_timeout; SQLite interrupts the statement).
  /// Zero disables it.
  std::chrono::milliseconds statement_timeout{5000};
  /// How long Read/Write wait for a free connection before DbUnavailable.
  std::chrono::milliseconds acquire_timeout{2000};
  /// SQLite: how long to wait for another process's lock before DbUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
  /// PostgreSQL: connect timeout (libpq rounds to whole seconds, minimum 2).
  std::chrono::milliseconds connect_timeout{5000};
  /// SQLite: synchronous=FULL fsyncs the WAL on every commit so acknowledged writes survive
  /// power loss; false uses NORMAL (survives a process crash, may lose the last commits on
  /// power loss, faster).
  bool sqlite_synchronous_full = true;
  /// Called after every statement on the calling thread; must be cheap and not throw.
  QueryObserver on_query;
};

/// A connection pool plus transactions. Thread-safe. Destroying it (or Close) waits for running
/// transactions to finish.
class Db {
 public:
  virtual ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  virtual Backend backend() const = 0;
  /// Runs fn in a read-only transaction on a reader connection (a consistent snapshot).
  virtual void Read(const std::function<void(Tx&)>& fn) = 0;
  /// Runs fn in a read-write transaction; commits when fn returns, rolls back and rethrows when
  /// it throws. Do not call Write from inside Write on the same Db.
  virtual void Write(const std::function<void(Tx&)>& fn) = 0;
  /// Round-trips a trivial query; throws DbUnavailable when the database cannot be reached.
  virtual void Ping() = 0;
  virtual PoolStats Stats() const = 0;
  /// Refuses new transactions (DbUnavailable), waits for running ones, closes connections.
  /// Idempotent.
  virtual void Close() = 0;

  /// Read that returns fn's value: auto n = db.ReadValue([&](Tx& tx) { return …; });
  template <class F>
  auto ReadValue(F&& fn) -> std::remove_cvref_t<std::invoke_result_t<F&, Tx&>> {
    std::optional<std::remove_cvref_t<std::invoke_result_t<F&, Tx&>>> out;
    Read([&](Tx& tx) { out.emplace(std::invoke(fn, tx)); });
    return std::move(*out);
  }
  /// Write that returns fn's value once the transaction has committed.
  template <class F>
  auto WriteValue(F&& fn) -> std::remove_cvref_t<std::invoke_result_t<F&, Tx&>> {
    std::optional<std::remove_cvref_t<std::invoke_result_t<F&, Tx&>>> out;
    Write([&](Tx& tx) { out.emplace(std::invoke(fn, tx)); });
    return std::move(*out);
  }

 protected:
  Db() = default;
};

/// The backend a DATABASE_URL selects; std::invalid_argument for anything else.
Backend BackendForUrl(std::string_view url);

/// The url with any password replaced by "***" (userinfo and password= parameters), for logs.
std::string RedactUrl(std::string_view url);

/// Opens a database. SQLite opens the file now (creating it and its parent directory);
/// PostgreSQL validates the URL and connects lazily, so a database that is down at startup
/// shows up as DbUnavailable from Ping/Migrate rather than here. Throws std::invalid_argument
/// for an unusable url or options.
std::unique_ptr<Db> OpenDb(const DbOptions& options);

}  // namespace studio::store
