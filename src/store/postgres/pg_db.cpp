#include "store/postgres/pg_db.hpp"

#include <exception>
#include <functional>
#include <span>
#include <utility>

#include "store/internal.hpp"
#include "store/pool.hpp"
#include "store/postgres/pg_conn.hpp"

namespace studio::store::postgres {
namespace {

// Reads get a stable snapshot across all their statements; writes use READ COMMITTED, as
// db.hpp documents (explicit, so a changed server default cannot alter behaviour).
constexpr Query kBeginRead{"begin.read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"};
constexpr Query kBeginWrite{"begin.write", "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"};
constexpr Query kCommit{"commit", "COMMIT"};
constexpr Query kRollback{"rollback", "ROLLBACK"};
constexpr Query kPing{"ping", "SELECT 1"};

class PgTx final : public Tx {
 public:
  PgTx(Connection& conn, bool read_only, detail::ExecStats* stats)
      : Tx(Backend::kPostgres, read_only, stats), conn_(conn) {}

 protected:
  Result DoExec(const Query& query, std::span<const Param> params) override { return conn_.Exec(query, params); }
  void DoExecScript(const Query& script) override { conn_.ExecScript(script.name, script.postgres); }

 private:
  Connection& conn_;
};

using Pool = detail::ConnectionPool<Connection>;

class PgDb final : public Db {
 public:
  explicit PgDb(const DbOptions& options)
      : settings_{options.url, options.connect_timeout, options.statement_timeout},
        pool_(static_cast<std::size_t>(options.pool_size), options.acquire_timeout,
              [this] { return std::make_unique<Connection>(settings_); }) {
    stats_.backend = Backend::kPostgres;
    stats_.observer = options.on_query;
  }

  ~PgDb() override { Close(); }

  Backend backend() const override { return Backend::kPostgres; }

  void Read(const std::function<void(Tx&)>& fn) override { RunTx(true, fn); }
  void Write(const std::function<void(Tx&)>& fn) override { RunTx(false, fn); }

  void Ping() override {
    try {
      Read([](Tx& tx) { tx.Exec(kPing); });
    } catch (const DbError& e) {
      throw DbUnavailable(std::string(detail::kUnreachableDetail), "ping", e.driver_message());
    }
  }

  PoolStats Stats() const override {
    detail::PoolCounters c = pool_.Counters();
    PoolStats s;
    s.size = c.size;
    s.open = c.open;
    s.in_use = c.in_use;
    s.idle = c.idle;
    s.waiting = c.waiting;
    s.acquires_total = c.acquires;
    s.acquire_timeouts_total = c.acquire_timeouts;
    s.connects_total = c.connects;
    s.reconnects_total = c.reconnects;
    s.queries_total = stats_.queries.load();
    s.query_errors_total = stats_.errors.load();
    s.commits_total = stats_.commits.load();
    s.rollbacks_total = stats_.rollbacks.load();
    return s;
  }

  void Close() override { pool_.Close(); }

 private:
  /// A leased connection with BEGIN done. A pooled connection can have died while idle (server
  /// restart, failover, idle timeout, pg_terminate_backend); that shows only when it is used.
  /// Nothing has run in the transaction yet, so retrying BEGIN once on a fresh connection is
  /// safe and spares the caller an error.
  Pool::Lease Begin(bool read_only) {
    for (int attempt = 0;; ++attempt) {
      Pool::Lease lease = pool_.Acquire();
      try {
        lease->Exec(read_only ? kBeginRead : kBeginWrite);
        return lease;
      } catch (const DbUnavailable&) {
        if (!lease->broken()) throw;
        lease.Discard();
        pool_.NoteReconnect();
        if (attempt > 0) throw;
      }
    }
  }

  void RunTx(bool read_only, const std::function<void(Tx&)>& fn) {
    Pool::Lease lease = Begin(read_only);
    try {
      PgTx tx(*lease, read_only, &stats_);
      fn(tx);
      // The callback swallowed an error: the transaction is doomed all the same (and COMMIT
      // of an aborted PostgreSQL transaction "succeeds" by rolling back, silently).
      if (tx.failure()) std::rethrow_exception(tx.failure());
      lease->Exec(kCommit);
      ++stats_.commits;
    } catch (...) {
      ++stats_.rollbacks;
      Rollback(lease);
      throw;
    }
    // Belt and braces: never hand the next caller a connection inside a transaction.
    if (!lease->idle()) lease.Discard();
  }

  void Rollback(Pool::Lease& lease) {
    if (lease->broken()) {
      // The connection died mid-transaction (the server rolled it back); replace it.
      lease.Discard();
      pool_.NoteReconnect();
      return;
    }
    if (lease->idle()) return;  // a failed COMMIT already ended the transaction
    try {
      lease->Exec(kRollback);
    } catch (...) {
      lease.Discard();
    }
    if (!lease->idle()) lease.Discard();
  }

  const ConnectSettings settings_;
  detail::ExecStats stats_;
  Pool pool_;
};

}  // namespace

std::unique_ptr<Db> OpenPostgresDb(const DbOptions& options) {
  ValidateUrl(options.url);
  return std::make_unique<PgDb>(options);
}

}  // namespace studio::store::postgres
