#pragma once
// The durable job queue (table `jobs`, migration 0003) on store::Db, the same on SQLite and
// PostgreSQL.
//
//  - Enqueue runs in the caller's transaction, so a job commits (or not) with the row it concerns.
//  - Lease claims jobs for a worker with a visibility timeout; Heartbeat extends it. Every lease
//    gets a fresh token, and Heartbeat/Progress/Complete/Fail/Release act only while the job is
//    still active under that token: a worker whose lease expired and was taken over cannot touch
//    the job any more (they return false / kLeaseLost).
//  - A lease that expires (its worker crashed or stalled) is reclaimed by the next Lease call:
//    the job waits again (or goes dead when it has used all its attempts), with the lost attempt
//    in its error history.
//  - Order: per queue, workspaces take turns (round robin over the workspaces that have eligible
//    jobs, in workspace-id order, platform jobs first; the position is kept in memory per
//    JobQueue), and within a workspace urgent > normal > low, then earliest run_at. So one
//    workspace's 10,000 queued jobs delay another workspace's job by at most one lease per other
//    busy workspace, and priority orders a workspace's own jobs without letting a tenant jump the
//    line of others.
//  - Fail retries after RetryDelay (backoff.hpp) until max_attempts, then (or at once for a
//    non-retryable failure) the job is dead: the dead-letter queue, with its whole error history.
//
// Times are Unix milliseconds from the injectable clock (JobQueueOptions::now_ms). Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/backoff.hpp"
#include "store/db.hpp"

namespace studio::queue {

enum class Priority { kUrgent = 0, kNormal = 1, kLow = 2 };
/// "urgent", "normal", "low".
std::string_view PriorityName(Priority priority);
/// nullopt for anything else.
std::optional<Priority> ParsePriority(std::string_view name);

enum class JobStatus { kWaiting, kActive, kCompleted, kDead };
/// "waiting", "active", "completed", "dead".
std::string_view StatusName(JobStatus status);

struct NewJob {
  std::optional<std::string> workspace_id;  ///< nullopt only for platform jobs
  std::string queue;
  std::string type;
  std::string payload = "{}";  ///< JSON text
  Priority priority = Priority::kNormal;
  int max_attempts = 5;
  std::chrono::milliseconds delay{0};  ///< first eligible at now + delay
  /// When set and this workspace+queue already has a job with the key, Enqueue returns that job's
  /// id instead of adding one (until the old job is cleaned up).
  std::optional<std::string> idempotency_key;
};

/// A whole row, for GET /api/v1/jobs/{id}, the DLQ and the CLI.
struct Job {
  std::string id;
  std::optional<std::string> workspace_id;
  std::string queue;
  std::string type;
  std::string payload;
  JobStatus status = JobStatus::kWaiting;
  Priority priority = Priority::kNormal;
  int attempts = 0;
  int max_attempts = 0;
  std::int64_t run_at_ms = 0;
  std::optional<std::string> lease_owner;
  std::optional<std::int64_t> lease_expires_at_ms;
  int progress = 0;
  std::optional<std::string> stage;
  std::string errors_json = "[]";  ///< [{"attempt": n, "at": ms, "error": "…"}, …]
  std::optional<std::string> last_error;
  std::optional<std::string> idempotency_key;
  std::optional<std::string> result_json;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
};

/// Names one lease of one job; what the lease-holder passes back.
struct JobLease {
  std::string job_id;
  std::int64_t token = 0;
  int attempt = 0;  ///< 1 for the first run
};

struct LeasedJob {
  JobLease lease;
  std::optional<std::string> workspace_id;
  std::string queue;
  std::string type;
  std::string payload;
  Priority priority = Priority::kNormal;
  int max_attempts = 0;
  std::int64_t lease_expires_at_ms = 0;
};

struct LeaseRequest {
  std::string queue;
  std::string worker_id;  ///< stored as lease_owner, for people looking at a stuck job
  std::chrono::milliseconds visibility{30000};
  /// Up to this many jobs in one transaction (each picked by the same fair rule).
  int max_jobs = 1;
};

enum class FailOutcome {
  kRetrying,   ///< waiting again, run_at = now + RetryDelay
  kDead,       ///< in the dead-letter queue
  kLeaseLost,  ///< not this worker's job any more: nothing changed
};

/// Whose jobs an operation sees: one workspace (its members) or every workspace (platform admins).
/// Explicit so that a caller cannot forget the tenant.
class Scope {
 public:
  static Scope Workspace(std::string workspace_id) { return Scope(std::move(workspace_id)); }
  static Scope Platform() { return Scope(std::nullopt); }
  /// nullopt for Platform().
  const std::optional<std::string>& workspace_id() const { return workspace_id_; }

 private:
  explicit Scope(std::optional<std::string> workspace_id) : workspace_id_(std::move(workspace_id)) {}
  std::optional<std::string> workspace_id_;
};

struct DeadQuery {
  std::optional<std::string> queue;
  /// next_cursor of the previous page; throws BadRequest (INVALID_CURSOR) when malformed.
  std::optional<std::string> cursor;
  int limit = 50;  ///< clamped to 1..500
};

/// Dead jobs, most recently dead first.
struct DeadPage {
  std::vector<Job> jobs;
  std::optional<std::string> next_cursor;  ///< set when there may be more
};

struct DeadGroup {
  std::optional<std::string> key;  ///< queue name, or workspace id (nullopt = platform jobs)
  std::int64_t count = 0;
  std::int64_t oldest_finished_at_ms = 0;
};

struct DeadStats {
  std::int64_t total = 0;
  std::optional<std::int64_t> oldest_finished_at_ms;
  std::vector<DeadGroup> by_queue;      ///< by queue name
  std::vector<DeadGroup> by_workspace;  ///< the 100 workspaces with the most dead jobs
};

/// For job_queue_{waiting,active,completed,failed}{queue} and a dead count.
struct QueueCounts {
  std::string queue;
  std::int64_t waiting = 0;  ///< includes `failed`
  std::int64_t active = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;  ///< waiting for a retry after a failed attempt
  std::int64_t dead = 0;
};

struct CleanupOptions {
  /// Completed (and, with include_dead, dead) jobs finished longer ago than this are deleted.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  bool include_dead = false;
  /// Rows per transaction, so cleanup never holds the writer for long.
  int batch = 500;
};

struct JobQueueOptions {
  BackoffPolicy backoff;
  /// Unix milliseconds; empty means the system clock. Tests inject a manual clock.
  std::function<std::int64_t()> now_ms;
};

class JobQueue {
 public:
  explicit JobQueue(JobQueueOptions options = {});

  /// Adds a job in the caller's transaction and returns its id ("job_…"), or the id of the
  /// existing job with the same idempotency key. Throws std::invalid_argument for an empty queue
  /// or type, payload that is not JSON, or max_attempts < 1.
  std::string Enqueue(store::Tx& tx, const NewJob& job);

  /// In its own write transaction (committed before it returns): reclaims expired leases, then
  /// claims up to max_jobs eligible jobs of the queue (waiting and run_at ≤ now). Empty when
  /// there is nothing to do.
  std::vector<LeasedJob> Lease(store::Db& db, const LeaseRequest& request);

  /// Extends the lease to now + visibility; false when the lease was lost.
  bool Heartbeat(store::Tx& tx, const JobLease& lease, std::chrono::milliseconds visibility);
  /// Records progress (clamped to 0..100) and a stage label; false when the lease was lost.
  bool Progress(store::Tx& tx, const JobLease& lease, int percent, std::string_view stage);
  /// Marks the job completed with an optional JSON result; false when the lease was lost.
  bool Complete(store::Tx& tx, const JobLease& lease, const std::optional<std::string>& result_json = std::nullopt);
  /// Records the error; retries with backoff while attempts remain and `retryable`, else dead.
  FailOutcome Fail(store::Tx& tx, const JobLease& lease, std::string_view error, bool retryable = true);
  /// Gives an unfinished job back (graceful shutdown): waiting, eligible now, and the attempt
  /// does not count. False when the lease was lost.
  bool Release(store::Tx& tx, const JobLease& lease);

  /// The job, if it exists in the scope.
  std::optional<Job> Get(store::Tx& tx, const Scope& scope, std::string_view job_id);
  /// The workspace's job of `queue` enqueued with this idempotency key, while it is retained.
  std::optional<Job> FindByIdempotencyKey(store::Tx& tx, const std::string& workspace_id, std::string_view queue,
                                          std::string_view key);

  // Dead-letter queue. Bulk operations touch at most `limit` jobs: call again until they return
  // fewer, each in its own transaction, so no transaction grows without bound.
  DeadPage ListDead(store::Tx& tx, const Scope& scope, const DeadQuery& query);
  DeadStats CountDead(store::Tx& tx, const Scope& scope);
  /// Dead → waiting, eligible now, attempts reset to 0, error history kept. False when the job
  /// is not dead or not in the scope.
  bool RetryDead(store::Tx& tx, const Scope& scope, std::string_view job_id);
  std::int64_t RetryAllDead(store::Tx& tx, const Scope& scope, const std::optional<std::string>& queue,
                            int limit = 1000);
  std::int64_t PurgeDead(store::Tx& tx, const Scope& scope, const std::optional<std::string>& queue, int limit = 1000);
  /// The same over the whole dead-letter queue of the scope: batches of `batch` jobs, each in its
  /// own write transaction, until a batch comes back short. Returns the total.
  std::int64_t RetryAllDead(store::Db& db, const Scope& scope, const std::optional<std::string>& queue,
                            int batch = 1000);
  std::int64_t PurgeDead(store::Db& db, const Scope& scope, const std::optional<std::string>& queue, int batch = 1000);

  /// Deletes finished jobs past retention in bounded transactions of its own; returns how many.
  std::int64_t Cleanup(store::Db& db, const CleanupOptions& options);

  /// Jobs per queue and state. Scans the table: call it at metrics-scrape rate, not per request.
  std::vector<QueueCounts> Counts(store::Tx& tx);

  std::int64_t NowMs() const;

 private:
  std::optional<LeasedJob> LeaseOne(store::Tx& tx, const LeaseRequest& request, std::int64_t now,
                                    std::optional<std::string>& cursor);

  JobQueueOptions options_;
  std::mutex mutex_;
  /// Per queue, the workspace_key served last: where the round robin resumes.
  std::map<std::string, std::string, std::less<>> cursors_;
};

}  // namespace studio::queue
