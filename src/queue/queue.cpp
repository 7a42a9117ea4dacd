#include "queue/queue.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"

namespace studio::queue {
namespace {

using store::Param;
using store::Query;
using store::Result;
using store::Row;
using store::Tx;

// Every statement that acts on a leased job checks `status = 'active' AND lease_seq = token`:
// that is the whole guarantee that a stale worker cannot touch a job someone else now holds.

constexpr Query kInsert{"jobs.insert",
                        "INSERT INTO jobs (id, workspace_id, queue, type, payload, priority, max_attempts, run_at_ms, "
                        "idempotency_key, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                        "$10, $10)"};
// With a key: a duplicate inserts nothing (on PostgreSQL it waits for a concurrent insert of the
// same key to commit or roll back), and the existing id is looked up after.
constexpr Query kInsertIdempotent{
    "jobs.insert_idempotent",
    "INSERT INTO jobs (id, workspace_id, queue, type, payload, priority, max_attempts, run_at_ms, idempotency_key, "
    "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
    "ON CONFLICT (workspace_key, queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id"};
constexpr Query kFindByKey{"jobs.find_by_idempotency_key",
                           "SELECT id FROM jobs WHERE workspace_key = $1 AND queue = $2 AND idempotency_key = $3"};

// A crashed worker's expired lease: the lost attempt counts (it may be the job that crashes its
// worker), so a job that has used all its attempts goes dead instead of running again.
constexpr Query kReclaimExpired{
    "jobs.reclaim_expired",
    "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'waiting' END, "
    "run_at_ms = $1, updated_at_ms = $1, "
    "finished_at_ms = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, "
    "lease_owner = NULL, lease_expires_at_ms = NULL, last_error = $2, "
    "errors = json_insert(errors, '$[#]', json_object('attempt', attempts, 'at', $1, 'error', $2)) "
    "WHERE id IN (SELECT id FROM jobs WHERE status = 'active' AND lease_expires_at_ms <= $1 LIMIT 100)",
    "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'waiting' END, "
    "run_at_ms = $1::bigint, updated_at_ms = $1::bigint, "
    "finished_at_ms = CASE WHEN attempts >= max_attempts THEN $1::bigint ELSE NULL END, "
    "lease_owner = NULL, lease_expires_at_ms = NULL, last_error = $2::text, "
    "errors = (errors::jsonb || jsonb_build_array(jsonb_build_object('attempt', attempts, 'at', $1::bigint, "
    "'error', $2::text)))::text "
    "WHERE id IN (SELECT id FROM jobs WHERE status = 'active' AND lease_expires_at_ms <= $1::bigint LIMIT 100 "
    "FOR UPDATE SKIP LOCKED)"};

// The fair pick. The workspace is the first one after the cursor ($2, the workspace served last;
// NULL at the start) that has an eligible job, wrapping around to the first; then that
// workspace's best job. Both lookups walk the partial index jobs_dequeue.
// PostgreSQL: SKIP LOCKED makes concurrent workers pass over each other's picks.
constexpr Query kLeaseFair{
    "jobs.lease_fair",
    "UPDATE jobs SET status = 'active', attempts = attempts + 1, lease_seq = lease_seq + 1, lease_owner = $4, "
    "lease_expires_at_ms = $5, updated_at_ms = $3 "
    "WHERE id = (SELECT id FROM jobs WHERE queue = $1 AND status = 'waiting' AND run_at_ms <= $3 AND workspace_key = "
    "coalesce((SELECT workspace_key FROM jobs WHERE queue = $1 AND status = 'waiting' AND run_at_ms <= $3 "
    "AND workspace_key > $2 ORDER BY workspace_key LIMIT 1), "
    "(SELECT workspace_key FROM jobs WHERE queue = $1 AND status = 'waiting' AND run_at_ms <= $3 "
    "ORDER BY workspace_key LIMIT 1)) "
    "ORDER BY priority, run_at_ms LIMIT 1) "
    "RETURNING id, workspace_id, workspace_key, queue, type, payload, priority, attempts, max_attempts, lease_seq, "
    "lease_expires_at_ms",
    "UPDATE jobs SET status = 'active', attempts = attempts + 1, lease_seq = lease_seq + 1, lease_owner = $4::text, "
    "lease_expires_at_ms = $5::bigint, updated_at_ms = $3::bigint "
    "WHERE id = (SELECT id FROM jobs WHERE queue = $1::text AND status = 'waiting' AND run_at_ms <= $3::bigint "
    "AND workspace_key = "
    "coalesce((SELECT workspace_key FROM jobs WHERE queue = $1::text AND status = 'waiting' "
    "AND run_at_ms <= $3::bigint AND workspace_key > $2::text ORDER BY workspace_key LIMIT 1), "
    "(SELECT workspace_key FROM jobs WHERE queue = $1::text AND status = 'waiting' AND run_at_ms <= $3::bigint "
    "ORDER BY workspace_key LIMIT 1)) "
    "ORDER BY priority, run_at_ms LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, workspace_id, workspace_key, queue, type, payload, priority, attempts, max_attempts, lease_seq, "
    "lease_expires_at_ms"};
// PostgreSQL only: when the fair pick's workspace has only jobs other workers hold right now,
// take any unlocked eligible job rather than report an empty queue.
constexpr Query kLeaseAny{
    "jobs.lease_any",
    "UPDATE jobs SET status = 'active', attempts = attempts + 1, lease_seq = lease_seq + 1, lease_owner = $3::text, "
    "lease_expires_at_ms = $4::bigint, updated_at_ms = $2::bigint "
    "WHERE id = (SELECT id FROM jobs WHERE queue = $1::text AND status = 'waiting' AND run_at_ms <= $2::bigint "
    "ORDER BY workspace_key, priority, run_at_ms LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, workspace_id, workspace_key, queue, type, payload, priority, attempts, max_attempts, lease_seq, "
    "lease_expires_at_ms"};

constexpr Query kHeartbeat{"jobs.heartbeat",
                           "UPDATE jobs SET lease_expires_at_ms = $3 WHERE id = $1 AND lease_seq = $2 "
                           "AND status = 'active'"};
constexpr Query kProgress{"jobs.progress",
                          "UPDATE jobs SET progress = $3, stage = $4, updated_at_ms = $5 WHERE id = $1 "
                          "AND lease_seq = $2 AND status = 'active'"};
constexpr Query kComplete{"jobs.complete",
                          "UPDATE jobs SET status = 'completed', progress = 100, result = $3, finished_at_ms = $4, "
                          "updated_at_ms = $4, lease_owner = NULL, lease_expires_at_ms = NULL WHERE id = $1 "
                          "AND lease_seq = $2 AND status = 'active'"};
// $3 = 1 when the failure is retryable; the job retries only while attempts remain.
constexpr Query kFail{
    "jobs.fail",
    "UPDATE jobs SET "
    "status = CASE WHEN $3 = 1 AND attempts < max_attempts THEN 'waiting' ELSE 'dead' END, "
    "run_at_ms = CASE WHEN $3 = 1 AND attempts < max_attempts THEN $4 ELSE run_at_ms END, "
    "finished_at_ms = CASE WHEN $3 = 1 AND attempts < max_attempts THEN NULL ELSE $5 END, "
    "updated_at_ms = $5, lease_owner = NULL, lease_expires_at_ms = NULL, last_error = $6, "
    "errors = json_insert(errors, '$[#]', json_object('attempt', attempts, 'at', $5, 'error', $6)) "
    "WHERE id = $1 AND lease_seq = $2 AND status = 'active' RETURNING status",
    "UPDATE jobs SET "
    "status = CASE WHEN $3::int = 1 AND attempts < max_attempts THEN 'waiting' ELSE 'dead' END, "
    "run_at_ms = CASE WHEN $3::int = 1 AND attempts < max_attempts THEN $4::bigint ELSE run_at_ms END, "
    "finished_at_ms = CASE WHEN $3::int = 1 AND attempts < max_attempts THEN NULL ELSE $5::bigint END, "
    "updated_at_ms = $5::bigint, lease_owner = NULL, lease_expires_at_ms = NULL, last_error = $6::text, "
    "errors = (errors::jsonb || jsonb_build_array(jsonb_build_object('attempt', attempts, 'at', $5::bigint, "
    "'error', $6::text)))::text "
    "WHERE id = $1 AND lease_seq = $2 AND status = 'active' RETURNING status"};
// A released attempt does not count: shutting down is not the job's fault.
constexpr Query kRelease{"jobs.release",
                         "UPDATE jobs SET status = 'waiting', run_at_ms = $3, updated_at_ms = $3, "
                         "attempts = attempts - 1, lease_owner = NULL, lease_expires_at_ms = NULL "
                         "WHERE id = $1 AND lease_seq = $2 AND status = 'active'"};

// The column list of Job, in JobFromRow's order.
#define STUDIO_JOB_COLUMNS                                                                                     \
  "id, workspace_id, queue, type, payload, status, priority, attempts, max_attempts, run_at_ms, lease_owner, " \
  "lease_expires_at_ms, progress, stage, errors, last_error, idempotency_key, result, created_at_ms, "         \
  "updated_at_ms, finished_at_ms"

constexpr Query kGetAny{"jobs.get_any", "SELECT " STUDIO_JOB_COLUMNS " FROM jobs WHERE id = $1"};
constexpr Query kGetByKey{"jobs.get_by_idempotency_key", "SELECT " STUDIO_JOB_COLUMNS
                          " FROM jobs WHERE workspace_key = $1 AND queue = $2 AND idempotency_key = $3"};
constexpr Query kGetInWorkspace{"jobs.get_in_workspace",
                                "SELECT " STUDIO_JOB_COLUMNS " FROM jobs WHERE id = $1 AND workspace_id = $2"};

// Optional filters are written `CAST($n AS TEXT) IS NULL OR col = $n`: NULL means "all".
// Dead and completed jobs always have finished_at_ms; the queries say so, which is what lets
// SQLite use the partial index jobs_finished. Keyset pagination on (finished_at_ms, id), newest first.
constexpr Query kListDead{
    "jobs.dead_list",
    "SELECT " STUDIO_JOB_COLUMNS
    " FROM jobs WHERE status = 'dead' AND finished_at_ms IS NOT NULL "
    "AND (CAST($1 AS TEXT) IS NULL OR workspace_id = $1) AND (CAST($2 AS TEXT) IS NULL OR queue = $2) "
    "AND (finished_at_ms < $3 OR (finished_at_ms = $3 AND id < $4)) "
    "ORDER BY finished_at_ms DESC, id DESC LIMIT $5"};
#undef STUDIO_JOB_COLUMNS

constexpr Query kDeadByQueue{
    "jobs.dead_by_queue",
    "SELECT queue, count(*), min(finished_at_ms) FROM jobs WHERE status = 'dead' "
    "AND finished_at_ms IS NOT NULL AND (CAST($1 AS TEXT) IS NULL OR workspace_id = $1) GROUP BY queue ORDER BY queue"};
constexpr Query kDeadByWorkspace{"jobs.dead_by_workspace",
                                 "SELECT workspace_id, count(*) AS n, min(finished_at_ms) FROM jobs "
                                 "WHERE status = 'dead' AND finished_at_ms IS NOT NULL "
                                 "AND (CAST($1 AS TEXT) IS NULL OR workspace_id = $1) GROUP BY workspace_id ORDER BY n "
                                 "DESC, workspace_id LIMIT 100"};
constexpr Query kRetryDead{"jobs.dead_retry",
                           "UPDATE jobs SET status = 'waiting', attempts = 0, run_at_ms = $3, updated_at_ms = $3, "
                           "finished_at_ms = NULL, progress = 0, stage = NULL WHERE id = $1 AND status = 'dead' "
                           "AND (CAST($2 AS TEXT) IS NULL OR workspace_id = $2)"};
constexpr Query kRetryAllDead{"jobs.dead_retry_all",
                              "UPDATE jobs SET status = 'waiting', attempts = 0, run_at_ms = $3, updated_at_ms = $3, "
                              "finished_at_ms = NULL, progress = 0, stage = NULL WHERE id IN (SELECT id FROM jobs "
                              "WHERE status = 'dead' AND finished_at_ms IS NOT NULL "
                              "AND (CAST($1 AS TEXT) IS NULL OR workspace_id = $1) AND (CAST($2 AS TEXT) IS NULL OR "
                              "queue = $2) ORDER BY finished_at_ms LIMIT $4)"};
constexpr Query kPurgeDead{"jobs.dead_purge",
                           "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'dead' "
                           "AND finished_at_ms IS NOT NULL AND (CAST($1 AS TEXT) IS NULL OR workspace_id = $1) "
                           "AND (CAST($2 AS TEXT) IS NULL OR queue = $2) ORDER BY finished_at_ms LIMIT $3)"};
constexpr Query kCleanup{"jobs.cleanup",
                         "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = $1 "
                         "AND finished_at_ms < $2 ORDER BY finished_at_ms LIMIT $3)"};
constexpr Query kCounts{"jobs.counts",
                        "SELECT queue, status, count(*), sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) FROM jobs "
                        "GROUP BY queue, status ORDER BY queue"};

constexpr std::string_view kLeaseExpiredError = "lease expired: the worker stopped (crashed, killed or stalled)";
constexpr std::size_t kMaxErrorBytes = 2000;
constexpr std::size_t kMaxNameBytes = 200;

std::int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Random01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

JobStatus ParseStatus(const std::string& s) {
  if (s == "waiting") return JobStatus::kWaiting;
  if (s == "active") return JobStatus::kActive;
  if (s == "completed") return JobStatus::kCompleted;
  if (s == "dead") return JobStatus::kDead;
  throw store::DbError("jobs", "unknown job status '" + s + "'");
}

Priority PriorityFromInt(std::int64_t p) {
  if (p < 0 || p > 2) throw store::DbError("jobs", "unknown job priority " + std::to_string(p));
  return static_cast<Priority>(p);
}

/// Error text fit for a JSON string in PostgreSQL: invalid UTF-8 replaced (through nlohmann's
/// replacing serializer), NUL dropped (TEXT cannot hold it), cut at a character boundary.
std::string CleanErrorText(std::string_view error) {
  std::string text =
      Json::parse(Json(std::string(error)).dump(-1, ' ', false, Json::error_handler_t::replace)).get<std::string>();
  std::erase(text, '\0');
  if (text.size() > kMaxErrorBytes) {
    std::size_t cut = kMaxErrorBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  if (text.empty()) text = "(no message)";
  return text;
}

Job JobFromRow(const Row& r) {
  Job j;
  j.id = r.GetString(0);
  j.workspace_id = r.GetOptString(1);
  j.queue = r.GetString(2);
  j.type = r.GetString(3);
  j.payload = r.GetString(4);
  j.status = ParseStatus(r.GetString(5));
  j.priority = PriorityFromInt(r.GetInt(6));
  j.attempts = static_cast<int>(r.GetInt(7));
  j.max_attempts = static_cast<int>(r.GetInt(8));
  j.run_at_ms = r.GetInt(9);
  j.lease_owner = r.GetOptString(10);
  j.lease_expires_at_ms = r.GetOptInt(11);
  j.progress = static_cast<int>(r.GetInt(12));
  j.stage = r.GetOptString(13);
  j.errors_json = r.GetString(14);
  j.last_error = r.GetOptString(15);
  j.idempotency_key = r.GetOptString(16);
  j.result_json = r.GetOptString(17);
  j.created_at_ms = r.GetInt(18);
  j.updated_at_ms = r.GetInt(19);
  j.finished_at_ms = r.GetOptInt(20);
  return j;
}

LeasedJob LeasedFromRow(const Row& r) {
  LeasedJob j;
  j.lease.job_id = r.GetString(0);
  j.workspace_id = r.GetOptString(1);
  j.queue = r.GetString(3);
  j.type = r.GetString(4);
  j.payload = r.GetString(5);
  j.priority = PriorityFromInt(r.GetInt(6));
  j.lease.attempt = static_cast<int>(r.GetInt(7));
  j.max_attempts = static_cast<int>(r.GetInt(8));
  j.lease.token = r.GetInt(9);
  j.lease_expires_at_ms = r.GetInt(10);
  return j;
}

void CheckName(std::string_view what, std::string_view value) {
  if (value.empty() || value.size() > kMaxNameBytes) {
    throw std::invalid_argument("job " + std::string(what) + " must be 1.." + std::to_string(kMaxNameBytes) + " bytes");
  }
}

/// Cursor text: "<finished_at_ms>.<job id>".
std::string EncodeCursor(const Job& last) { return std::to_string(last.finished_at_ms.value_or(0)) + "." + last.id; }

std::pair<std::int64_t, std::string> DecodeCursor(std::string_view cursor) {
  std::size_t dot = cursor.find('.');
  std::int64_t ms = 0;
  if (dot != std::string_view::npos && dot + 1 < cursor.size()) {
    auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + dot, ms);
    if (ec == std::errc() && end == cursor.data() + dot) return {ms, std::string(cursor.substr(dot + 1))};
  }
  throw BadRequest("The cursor is not valid; pass next_cursor from the previous page.", {}, "INVALID_CURSOR");
}

Param ScopeParam(const Scope& scope) { return Param(scope.workspace_id()); }

}  // namespace

std::string_view PriorityName(Priority priority) {
  switch (priority) {
    case Priority::kUrgent: return "urgent";
    case Priority::kNormal: return "normal";
    case Priority::kLow: return "low";
  }
  return "normal";
}

std::optional<Priority> ParsePriority(std::string_view name) {
  if (name == "urgent") return Priority::kUrgent;
  if (name == "normal") return Priority::kNormal;
  if (name == "low") return Priority::kLow;
  return std::nullopt;
}

std::string_view StatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kWaiting: return "waiting";
    case JobStatus::kActive: return "active";
    case JobStatus::kCompleted: return "completed";
    case JobStatus::kDead: return "dead";
  }
  return "waiting";
}

JobQueue::JobQueue(JobQueueOptions options) : options_(std::move(options)) {}

std::int64_t JobQueue::NowMs() const { return options_.now_ms ? options_.now_ms() : SystemNowMs(); }

std::string JobQueue::Enqueue(Tx& tx, const NewJob& job) {
  CheckName("queue", job.queue);
  CheckName("type", job.type);
  if (job.max_attempts < 1) throw std::invalid_argument("job max_attempts must be at least 1");
  if (job.delay.count() < 0) throw std::invalid_argument("job delay must not be negative");
  if (!Json::accept(job.payload)) throw std::invalid_argument("job payload must be JSON");
  if (job.idempotency_key) CheckName("idempotency_key", *job.idempotency_key);

  const std::int64_t now = NowMs();
  std::string id = NewId("job_");
  const auto priority = static_cast<std::int64_t>(job.priority);
  if (!job.idempotency_key) {
    tx.Exec(kInsert, {id, job.workspace_id, job.queue, job.type, job.payload, priority, job.max_attempts,
                      now + job.delay.count(), std::nullopt, now});
    return id;
  }
  Result inserted = tx.Exec(kInsertIdempotent, {id, job.workspace_id, job.queue, job.type, job.payload, priority,
                                                job.max_attempts, now + job.delay.count(), job.idempotency_key, now});
  if (!inserted.empty()) return id;
  Result existing = tx.Exec(kFindByKey, {job.workspace_id.value_or(""), job.queue, job.idempotency_key});
  return existing.front().GetString(0);
}

std::vector<LeasedJob> JobQueue::Lease(store::Db& db, const LeaseRequest& request) {
  CheckName("queue", request.queue);
  if (request.visibility.count() <= 0) throw std::invalid_argument("lease visibility must be positive");
  const int max_jobs = std::clamp(request.max_jobs, 1, 1000);

  std::optional<std::string> cursor;
  {
    std::lock_guard lock(mutex_);
    if (auto it = cursors_.find(request.queue); it != cursors_.end()) cursor = it->second;
  }
  std::vector<LeasedJob> leased;
  db.Write([&](Tx& tx) {
    leased.clear();
    const std::int64_t now = NowMs();
    tx.Exec(kReclaimExpired, {now, kLeaseExpiredError});
    std::optional<std::string> position = cursor;
    for (int i = 0; i < max_jobs; ++i) {
      std::optional<LeasedJob> job = LeaseOne(tx, request, now, position);
      if (!job) break;
      leased.push_back(std::move(*job));
    }
    cursor = std::move(position);
  });
  if (cursor) {
    std::lock_guard lock(mutex_);
    cursors_.insert_or_assign(request.queue, *cursor);
  }
  return leased;
}

std::optional<LeasedJob> JobQueue::LeaseOne(Tx& tx, const LeaseRequest& request, std::int64_t now,
                                            std::optional<std::string>& cursor) {
  const std::int64_t expires = now + request.visibility.count();
  Result r = tx.Exec(kLeaseFair, {request.queue, cursor, now, request.worker_id, expires});
  if (r.empty() && tx.backend() == store::Backend::kPostgres) {
    r = tx.Exec(kLeaseAny, {request.queue, now, request.worker_id, expires});
  }
  if (r.empty()) return std::nullopt;
  cursor = r.front().GetString(2);
  return LeasedFromRow(r.front());
}

bool JobQueue::Heartbeat(Tx& tx, const JobLease& lease, std::chrono::milliseconds visibility) {
  return tx.Exec(kHeartbeat, {lease.job_id, lease.token, NowMs() + visibility.count()}).affected() > 0;
}

bool JobQueue::Progress(Tx& tx, const JobLease& lease, int percent, std::string_view stage) {
  return tx.Exec(kProgress, {lease.job_id, lease.token, std::clamp(percent, 0, 100), stage, NowMs()}).affected() > 0;
}

bool JobQueue::Complete(Tx& tx, const JobLease& lease, const std::optional<std::string>& result_json) {
  if (result_json && !Json::accept(*result_json)) throw std::invalid_argument("job result must be JSON");
  return tx.Exec(kComplete, {lease.job_id, lease.token, result_json, NowMs()}).affected() > 0;
}

FailOutcome JobQueue::Fail(Tx& tx, const JobLease& lease, std::string_view error, bool retryable) {
  const std::int64_t now = NowMs();
  const std::int64_t retry_at = now + RetryDelay(options_.backoff, lease.attempt, Random01()).count();
  Result r = tx.Exec(kFail, {lease.job_id, lease.token, retryable ? 1 : 0, retry_at, now, CleanErrorText(error)});
  if (r.empty()) return FailOutcome::kLeaseLost;
  return r.front().GetString(0) == "dead" ? FailOutcome::kDead : FailOutcome::kRetrying;
}

bool JobQueue::Release(Tx& tx, const JobLease& lease) {
  return tx.Exec(kRelease, {lease.job_id, lease.token, NowMs()}).affected() > 0;
}

std::optional<Job> JobQueue::Get(Tx& tx, const Scope& scope, std::string_view job_id) {
  Result r =
      scope.workspace_id() ? tx.Exec(kGetInWorkspace, {job_id, *scope.workspace_id()}) : tx.Exec(kGetAny, {job_id});
  if (r.empty()) return std::nullopt;
  return JobFromRow(r.front());
}

std::optional<Job> JobQueue::FindByIdempotencyKey(Tx& tx, const std::string& workspace_id, std::string_view queue,
                                                  std::string_view key) {
  Result r = tx.Exec(kGetByKey, {workspace_id, queue, key});
  if (r.empty()) return std::nullopt;
  return JobFromRow(r.front());
}

DeadPage JobQueue::ListDead(Tx& tx, const Scope& scope, const DeadQuery& query) {
  const int limit = std::clamp(query.limit, 1, 500);
  std::int64_t after_ms = std::numeric_limits<std::int64_t>::max();
  std::string after_id;
  if (query.cursor) std::tie(after_ms, after_id) = DecodeCursor(*query.cursor);
  DeadPage page;
  // One extra row tells whether another page exists.
  for (const Row& r : tx.Exec(kListDead, {ScopeParam(scope), query.queue, after_ms, after_id, limit + 1})) {
    page.jobs.push_back(JobFromRow(r));
  }
  if (page.jobs.size() > static_cast<std::size_t>(limit)) {
    page.jobs.pop_back();
    page.next_cursor = EncodeCursor(page.jobs.back());
  }
  return page;
}

DeadStats JobQueue::CountDead(Tx& tx, const Scope& scope) {
  DeadStats stats;
  for (const Row& r : tx.Exec(kDeadByQueue, {ScopeParam(scope)})) {
    DeadGroup g{r.GetString(0), r.GetInt(1), r.GetInt(2)};
    stats.total += g.count;
    if (!stats.oldest_finished_at_ms || g.oldest_finished_at_ms < *stats.oldest_finished_at_ms) {
      stats.oldest_finished_at_ms = g.oldest_finished_at_ms;
    }
    stats.by_queue.push_back(std::move(g));
  }
  for (const Row& r : tx.Exec(kDeadByWorkspace, {ScopeParam(scope)})) {
    stats.by_workspace.push_back(DeadGroup{r.GetOptString(0), r.GetInt(1), r.GetInt(2)});
  }
  return stats;
}

bool JobQueue::RetryDead(Tx& tx, const Scope& scope, std::string_view job_id) {
  return tx.Exec(kRetryDead, {job_id, ScopeParam(scope), NowMs()}).affected() > 0;
}

std::int64_t JobQueue::RetryAllDead(Tx& tx, const Scope& scope, const std::optional<std::string>& queue, int limit) {
  return tx.Exec(kRetryAllDead, {ScopeParam(scope), queue, NowMs(), std::max(limit, 1)}).affected();
}

std::int64_t JobQueue::PurgeDead(Tx& tx, const Scope& scope, const std::optional<std::string>& queue, int limit) {
  return tx.Exec(kPurgeDead, {ScopeParam(scope), queue, std::max(limit, 1)}).affected();
}

std::int64_t JobQueue::Cleanup(store::Db& db, const CleanupOptions& options) {
  const int batch = std::max(options.batch, 1);
  const std::int64_t before = NowMs() - options.retention.count();
  std::int64_t total = 0;
  for (std::string_view status : {std::string_view("completed"), std::string_view("dead")}) {
    if (status == "dead" && !options.include_dead) break;
    for (;;) {
      std::int64_t n = db.WriteValue([&](Tx& tx) { return tx.Exec(kCleanup, {status, before, batch}).affected(); });
      total += n;
      if (n < batch) break;
    }
  }
  return total;
}

std::vector<QueueCounts> JobQueue::Counts(Tx& tx) {
  std::vector<QueueCounts> out;
  for (const Row& r : tx.Exec(kCounts)) {
    std::string queue = r.GetString(0);
    if (out.empty() || out.back().queue != queue) out.push_back(QueueCounts{queue});
    QueueCounts& c = out.back();
    const std::string status = r.GetString(1);
    const std::int64_t n = r.GetInt(2);
    if (status == "waiting") {
      c.waiting = n;
      c.failed = r.GetInt(3);
    } else if (status == "active") {
      c.active = n;
    } else if (status == "completed") {
      c.completed = n;
    } else if (status == "dead") {
      c.dead = n;
    }
  }
  return out;
}

namespace {
template <class Step>
std::int64_t InBatches(store::Db& db, int batch, Step step) {
  std::int64_t total = 0;
  for (;;) {
    const std::int64_t n = db.WriteValue([&](Tx& tx) { return step(tx); });
    total += n;
    if (n < batch) return total;
  }
}
}  // namespace

std::int64_t JobQueue::RetryAllDead(store::Db& db, const Scope& scope, const std::optional<std::string>& queue,
                                    int batch) {
  return InBatches(db, batch, [&](Tx& tx) { return RetryAllDead(tx, scope, queue, batch); });
}

std::int64_t JobQueue::PurgeDead(store::Db& db, const Scope& scope, const std::optional<std::string>& queue,
                                 int batch) {
  return InBatches(db, batch, [&](Tx& tx) { return PurgeDead(tx, scope, queue, batch); });
}

}  // namespace studio::queue
