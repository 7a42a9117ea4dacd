// JobQueue on both backends, on a manual clock: enqueue, leases, fairness, retries, the
// dead-letter queue, cleanup and counts.

#include "queue/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "queue/test_fixture.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
// test_support.cpp instantiates StoreTest for store_test; this binary uses fixtures derived from it.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreTest);
}  // namespace studio::store::testing

namespace studio::queue::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::string_view_literals;

NewJob MakeJob(const char* workspace, std::string queue = "ingest", Priority priority = Priority::kNormal) {
  NewJob j;
  if (workspace != nullptr) j.workspace_id = workspace;
  j.queue = std::move(queue);
  j.type = "document.extract";
  j.payload = R"({"doc":"doc_1"})";
  j.priority = priority;
  return j;
}

LeaseRequest Request(std::string worker = "w1", int max_jobs = 1, milliseconds visibility = seconds(30)) {
  return LeaseRequest{"ingest", std::move(worker), visibility, max_jobs};
}

class JobQueueTest : public QueueTest {
 protected:
  std::optional<LeasedJob> LeaseOne(JobQueue& q, const std::string& worker = "w1",
                                    milliseconds visibility = seconds(30)) {
    std::vector<LeasedJob> jobs = q.Lease(db(), Request(worker, 1, visibility));
    if (jobs.empty()) return std::nullopt;
    return jobs.front();
  }
  template <class F>
  auto Write(F&& fn) {
    return db().WriteValue(std::forward<F>(fn));
  }
  /// Enqueues a job and takes it to the dead-letter queue (non-retryable failure) at now().
  std::string MakeDead(JobQueue& q, const char* workspace, const std::string& queue, const std::string& error) {
    NewJob j = MakeJob(workspace, queue);
    std::string id = Enqueue(q, j);
    std::vector<LeasedJob> leased = q.Lease(db(), LeaseRequest{queue, "w", seconds(30), 1});
    EXPECT_EQ(leased.size(), 1u);
    EXPECT_EQ(leased.front().lease.job_id, id);
    EXPECT_EQ(Write([&](store::Tx& tx) { return q.Fail(tx, leased.front().lease, error, false); }), FailOutcome::kDead);
    return id;
  }
};

TEST_P(JobQueueTest, EnqueuedJobIsVisibleInItsWorkspaceOnly) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA, "ingest", Priority::kUrgent));
  EXPECT_EQ(id.rfind("job_", 0), 0u);

  std::optional<queue::Job> job = db().ReadValue([&](store::Tx& tx) { return q.Get(tx, Scope::Workspace(kWsA), id); });
  ASSERT_TRUE(job);
  EXPECT_EQ(job->workspace_id, kWsA);
  EXPECT_EQ(job->queue, "ingest");
  EXPECT_EQ(job->type, "document.extract");
  EXPECT_EQ(job->payload, R"({"doc":"doc_1"})");
  EXPECT_EQ(job->status, JobStatus::kWaiting);
  EXPECT_EQ(job->priority, Priority::kUrgent);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_EQ(job->max_attempts, 5);
  EXPECT_EQ(job->run_at_ms, now());
  EXPECT_EQ(job->created_at_ms, now());
  EXPECT_EQ(job->errors_json, "[]");
  EXPECT_FALSE(job->finished_at_ms);

  EXPECT_FALSE(db().ReadValue([&](store::Tx& tx) { return q.Get(tx, Scope::Workspace(kWsB), id); }));
  EXPECT_TRUE(Get(q, id));  // platform scope
  EXPECT_FALSE(Get(q, "job_missing"));
}

TEST_P(JobQueueTest, EnqueueCommitsOrRollsBackWithTheCallersTransaction) {
  JobQueue q(ManualClock());
  std::string id;
  EXPECT_THROW(db().Write([&](store::Tx& tx) {
    id = q.Enqueue(tx, MakeJob(kWsA));
    throw std::runtime_error("the document insert failed");
  }),
               std::runtime_error);
  EXPECT_FALSE(Get(q, id));
  EXPECT_TRUE(q.Lease(db(), Request()).empty());
}

TEST_P(JobQueueTest, IdempotencyKeyReturnsTheExistingJob) {
  JobQueue q(ManualClock());
  NewJob j = MakeJob(kWsA);
  j.idempotency_key = "doc_1:v1";
  std::string first = Enqueue(q, j);
  EXPECT_EQ(Enqueue(q, j), first);
  // Inside one transaction too.
  EXPECT_EQ(Write([&](store::Tx& tx) {
              q.Enqueue(tx, j);
              return q.Enqueue(tx, j);
            }),
            first);

  NewJob other_workspace = j;
  other_workspace.workspace_id = kWsB;
  EXPECT_NE(Enqueue(q, other_workspace), first);
  NewJob other_queue = j;
  other_queue.queue = "index";
  EXPECT_NE(Enqueue(q, other_queue), first);
  NewJob platform = j;
  platform.workspace_id.reset();
  std::string platform_id = Enqueue(q, platform);
  EXPECT_NE(platform_id, first);
  EXPECT_EQ(Enqueue(q, platform), platform_id);  // platform jobs are deduplicated too

  NewJob no_key = MakeJob(kWsA);
  EXPECT_NE(Enqueue(q, no_key), Enqueue(q, no_key));
  std::vector<QueueCounts> counts = db().ReadValue([&](store::Tx& tx) { return q.Counts(tx); });
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].queue, "index");
  EXPECT_EQ(counts[0].waiting, 1);
  EXPECT_EQ(counts[1].waiting, 5);  // A: keyed + 2 unkeyed; B; platform
}

TEST_P(JobQueueTest, RejectsInvalidJobs) {
  JobQueue q(ManualClock());
  auto enqueue = [&](NewJob j) { return Enqueue(q, std::move(j)); };
  NewJob no_queue = MakeJob(kWsA, "");
  EXPECT_THROW(enqueue(no_queue), std::invalid_argument);
  NewJob no_type = MakeJob(kWsA);
  no_type.type.clear();
  EXPECT_THROW(enqueue(no_type), std::invalid_argument);
  NewJob bad_payload = MakeJob(kWsA);
  bad_payload.payload = "{not json";
  EXPECT_THROW(enqueue(bad_payload), std::invalid_argument);
  NewJob no_attempts = MakeJob(kWsA);
  no_attempts.max_attempts = 0;
  EXPECT_THROW(enqueue(no_attempts), std::invalid_argument);
  NewJob unknown_workspace = MakeJob("wks_nope");
  EXPECT_THROW(enqueue(unknown_workspace), store::ConstraintViolation);
}

TEST_P(JobQueueTest, PriorityOrdersJobsWithinAWorkspace) {
  JobQueue q(ManualClock());
  std::string low = Enqueue(q, MakeJob(kWsA, "ingest", Priority::kLow));
  std::string normal = Enqueue(q, MakeJob(kWsA, "ingest", Priority::kNormal));
  Advance(milliseconds(1));
  std::string urgent = Enqueue(q, MakeJob(kWsA, "ingest", Priority::kUrgent));
  std::string normal_later = Enqueue(q, MakeJob(kWsA, "ingest", Priority::kNormal));
  std::vector<std::string> order;
  while (auto job = LeaseOne(q)) order.push_back(job->lease.job_id);
  EXPECT_EQ(order, (std::vector<std::string>{urgent, normal, normal_later, low}));
}

TEST_P(JobQueueTest, AWorkspaceWithThousandsOfJobsDoesNotStarveAnother) {
  JobQueue q(ManualClock());
  db().Write([&](store::Tx& tx) {
    for (int i = 0; i < 1000; ++i) q.Enqueue(tx, MakeJob(kWsA, "ingest", Priority::kUrgent));
  });
  Advance(milliseconds(5));
  std::string b_job = Enqueue(q, MakeJob(kWsB, "ingest", Priority::kLow));

  const std::string first = LeaseOne(q).value().lease.job_id;
  const std::string second = LeaseOne(q).value().lease.job_id;
  const std::vector<std::string> first_two{first, second};
  EXPECT_NE(std::find(first_two.begin(), first_two.end(), b_job), first_two.end());
}

TEST_P(JobQueueTest, WorkspacesTakeTurnsIncludingPlatformJobs) {
  JobQueue q(ManualClock());
  for (int i = 0; i < 3; ++i) {
    Enqueue(q, MakeJob(kWsA));
    Enqueue(q, MakeJob(kWsB));
    Enqueue(q, MakeJob(nullptr));
  }
  // One transaction of several leases follows the same rotation.
  std::vector<LeasedJob> jobs = q.Lease(db(), Request("w1", 6));
  ASSERT_EQ(jobs.size(), 6u);
  std::vector<std::string> owners;
  owners.reserve(9);
  for (const LeasedJob& j : jobs) owners.push_back(j.workspace_id.value_or("platform"));
  for (int i = 6; i < 9; ++i) owners.push_back(LeaseOne(q).value().workspace_id.value_or("platform"));
  EXPECT_EQ(owners, (std::vector<std::string>{"platform", kWsA, kWsB, "platform", kWsA, kWsB, "platform", kWsA, kWsB}));
  EXPECT_FALSE(LeaseOne(q));
}

TEST_P(JobQueueTest, QueuesAreSeparate) {
  JobQueue q(ManualClock());
  Enqueue(q, MakeJob(kWsA, "index"));
  EXPECT_FALSE(LeaseOne(q));
  EXPECT_EQ(q.Lease(db(), LeaseRequest{"index", "w1", seconds(30), 1}).size(), 1u);
}

TEST_P(JobQueueTest, DelayedJobWaitsForItsTime) {
  JobQueue q(ManualClock());
  NewJob j = MakeJob(kWsA);
  j.delay = seconds(5);
  std::string id = Enqueue(q, j);
  EXPECT_FALSE(LeaseOne(q));
  Advance(milliseconds(4999));
  EXPECT_FALSE(LeaseOne(q));
  Advance(milliseconds(1));
  EXPECT_EQ(LeaseOne(q).value().lease.job_id, id);
}

TEST_P(JobQueueTest, LeaseMarksTheJobActive) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob leased = LeaseOne(q, "host:1/ingest/0", seconds(10)).value();
  EXPECT_EQ(leased.lease.job_id, id);
  EXPECT_EQ(leased.lease.attempt, 1);
  EXPECT_EQ(leased.workspace_id, kWsA);
  EXPECT_EQ(leased.type, "document.extract");
  EXPECT_EQ(leased.payload, R"({"doc":"doc_1"})");
  EXPECT_EQ(leased.lease_expires_at_ms, now() + 10000);
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kActive);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.lease_owner, "host:1/ingest/0");
  EXPECT_EQ(job.lease_expires_at_ms, now() + 10000);
  EXPECT_FALSE(LeaseOne(q, "w2"));  // nobody else gets it
}

TEST_P(JobQueueTest, AnExpiredLeaseIsTakenOverAndTheOldHolderLocksOut) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob old = LeaseOne(q, "w1", seconds(1)).value();
  Advance(milliseconds(999));
  EXPECT_FALSE(LeaseOne(q, "w2"));
  Advance(milliseconds(1));
  LeasedJob fresh = LeaseOne(q, "w2", seconds(30)).value();
  EXPECT_EQ(fresh.lease.job_id, id);
  EXPECT_EQ(fresh.lease.attempt, 2);
  EXPECT_NE(fresh.lease.token, old.lease.token);

  // The worker that lost its lease can change nothing.
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.Heartbeat(tx, old.lease, seconds(30)); }));
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.Progress(tx, old.lease, 50, "late"); }));
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.Complete(tx, old.lease); }));
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.Fail(tx, old.lease, "late failure"); }), FailOutcome::kLeaseLost);
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.Release(tx, old.lease); }));

  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Complete(tx, fresh.lease, R"({"ok":true})"); }));
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kCompleted);
  EXPECT_EQ(job.lease_owner, std::nullopt);
  Json errors = Json::parse(job.errors_json);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["attempt"], 1);
  EXPECT_EQ(errors[0]["at"], kStartMs + 1000);
  EXPECT_NE(errors[0]["error"].get<std::string>().find("lease expired"), std::string::npos);
}

TEST_P(JobQueueTest, HeartbeatKeepsTheLease) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob held = LeaseOne(q, "w1", seconds(1)).value();
  for (int i = 0; i < 3; ++i) {
    Advance(milliseconds(800));
    EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Heartbeat(tx, held.lease, seconds(1)); }));
    EXPECT_FALSE(LeaseOne(q, "w2"));
  }
  EXPECT_EQ(Get(q, id)->lease_expires_at_ms, now() + 1000);
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Complete(tx, held.lease); }));
}

TEST_P(JobQueueTest, FailedAttemptsRetryWithBackoffThenGoDead) {
  JobQueue q(ManualClock());
  NewJob j = MakeJob(kWsA);
  j.max_attempts = 3;
  std::string id = Enqueue(q, j);

  const std::int64_t ceilings[] = {2000, 4000};
  for (int attempt = 1; attempt <= 2; ++attempt) {
    LeasedJob leased = LeaseOne(q).value();
    EXPECT_EQ(leased.lease.attempt, attempt);
    EXPECT_EQ(Write([&](store::Tx& tx) { return q.Fail(tx, leased.lease, "boom " + std::to_string(attempt)); }),
              FailOutcome::kRetrying);
    queue::Job job = Get(q, id).value();
    EXPECT_EQ(job.status, JobStatus::kWaiting);
    const std::int64_t ceiling = ceilings[attempt - 1];
    EXPECT_GE(job.run_at_ms, now() + ceiling / 2);
    EXPECT_LE(job.run_at_ms, now() + ceiling);
    EXPECT_EQ(job.last_error, "boom " + std::to_string(attempt));
    EXPECT_FALSE(LeaseOne(q));  // not before its retry time
    Advance(milliseconds(job.run_at_ms - now()));
  }
  LeasedJob last = LeaseOne(q).value();
  EXPECT_EQ(last.lease.attempt, 3);
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.Fail(tx, last.lease, "boom 3"); }), FailOutcome::kDead);

  queue::Job dead = Get(q, id).value();
  EXPECT_EQ(dead.status, JobStatus::kDead);
  EXPECT_EQ(dead.finished_at_ms, now());
  EXPECT_EQ(dead.attempts, 3);
  Json errors = Json::parse(dead.errors_json);
  ASSERT_EQ(errors.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(errors[i]["attempt"], i + 1);
    EXPECT_EQ(errors[i]["error"], "boom " + std::to_string(i + 1));
  }
  EXPECT_EQ(errors[2]["at"], now());
  Advance(std::chrono::hours(1));
  EXPECT_FALSE(LeaseOne(q));
}

TEST_P(JobQueueTest, NonRetryableFailureGoesStraightToDead) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob leased = LeaseOne(q).value();
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.Fail(tx, leased.lease, "not a PDF", false); }), FailOutcome::kDead);
  EXPECT_EQ(Get(q, id)->status, JobStatus::kDead);
  EXPECT_EQ(Get(q, id)->attempts, 1);
}

TEST_P(JobQueueTest, ErrorTextIsCleanedAndBounded) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob leased = LeaseOne(q).value();
  std::string nasty = std::string("bad \xff\xfe bytes and a NUL \0 here"sv) + std::string(5000, 'x');
  Write([&](store::Tx& tx) { return q.Fail(tx, leased.lease, nasty, false); });
  queue::Job job = Get(q, id).value();
  ASSERT_TRUE(job.last_error);
  EXPECT_LE(job.last_error->size(), 2000u);
  EXPECT_EQ(job.last_error->find('\0'), std::string::npos);
  EXPECT_EQ(job.last_error->rfind("bad \xEF\xBF\xBD\xEF\xBF\xBD bytes", 0), 0u);  // U+FFFD each
  EXPECT_NO_THROW(Json::parse(job.errors_json));
}

TEST_P(JobQueueTest, ACrashedWorkersLastAttemptGoesDead) {
  JobQueue q(ManualClock());
  NewJob j = MakeJob(kWsA);
  j.max_attempts = 1;
  std::string id = Enqueue(q, j);
  ASSERT_TRUE(LeaseOne(q, "w1", seconds(1)));
  Advance(seconds(2));
  EXPECT_FALSE(LeaseOne(q, "w2"));
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kDead);
  EXPECT_EQ(job.finished_at_ms, now());
  EXPECT_NE(job.last_error.value_or("").find("lease expired"), std::string::npos);
}

TEST_P(JobQueueTest, ProgressAndResult) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob leased = LeaseOne(q).value();
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Progress(tx, leased.lease, 40, "extract"); }));
  EXPECT_EQ(Get(q, id)->progress, 40);
  EXPECT_EQ(Get(q, id)->stage, "extract");
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Progress(tx, leased.lease, 250, "embed"); }));
  EXPECT_EQ(Get(q, id)->progress, 100);
  EXPECT_THROW(Write([&](store::Tx& tx) { return q.Complete(tx, leased.lease, "{oops"); }), std::invalid_argument);
  Advance(milliseconds(20));
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Complete(tx, leased.lease, R"({"chunks":12})"); }));
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kCompleted);
  EXPECT_EQ(job.result_json, R"({"chunks":12})");
  EXPECT_EQ(job.finished_at_ms, now());
  EXPECT_EQ(job.progress, 100);
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.Complete(tx, leased.lease); }));  // only once
}

TEST_P(JobQueueTest, ReleaseGivesTheAttemptBack) {
  JobQueue q(ManualClock());
  std::string id = Enqueue(q, MakeJob(kWsA));
  LeasedJob first = LeaseOne(q).value();
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Release(tx, first.lease); }));
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kWaiting);
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.run_at_ms, now());
  LeasedJob second = LeaseOne(q, "w2").value();
  EXPECT_EQ(second.lease.attempt, 1);
  EXPECT_NE(second.lease.token, first.lease.token);
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.Complete(tx, first.lease); }));
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.Complete(tx, second.lease); }));
}

TEST_P(JobQueueTest, DeadLetterQueueListsPagesAndCounts) {
  JobQueue q(ManualClock());
  std::vector<std::string> all;  // oldest first
  auto dead = [&](const char* ws, const char* queue) {
    Advance(milliseconds(10));
    all.push_back(MakeDead(q, ws, queue, "broken"));
  };
  dead(kWsA, "ingest");
  dead(kWsA, "ingest");
  dead(kWsA, "index");
  dead(kWsB, "ingest");
  dead(nullptr, "ingest");
  // Two at the same instant: the id breaks the tie, so paging still sees both.
  all.push_back(MakeDead(q, kWsA, "ingest", "broken"));
  Enqueue(q, MakeJob(kWsA));  // not dead: never listed

  auto list_all = [&](const Scope& scope, std::optional<std::string> queue_name) {
    std::vector<std::string> ids;
    DeadQuery query{std::move(queue_name), std::nullopt, 2};
    for (int page = 0; page < 10; ++page) {
      DeadPage p = db().ReadValue([&](store::Tx& tx) { return q.ListDead(tx, scope, query); });
      for (const queue::Job& j : p.jobs) {
        EXPECT_EQ(j.status, JobStatus::kDead);
        ids.push_back(j.id);
      }
      if (!p.next_cursor) break;
      query.cursor = p.next_cursor;
    }
    return ids;
  };
  std::vector<std::string> platform = list_all(Scope::Platform(), std::nullopt);
  EXPECT_EQ(std::set<std::string>(platform.begin(), platform.end()), std::set<std::string>(all.begin(), all.end()));
  EXPECT_EQ(platform.size(), all.size());
  EXPECT_EQ(platform.back(), all.front());  // newest first
  EXPECT_EQ(list_all(Scope::Workspace(kWsA), std::nullopt).size(), 4u);
  EXPECT_EQ(list_all(Scope::Workspace(kWsA), "ingest").size(), 3u);
  EXPECT_EQ(list_all(Scope::Workspace(kWsB), std::nullopt), (std::vector<std::string>{all[3]}));
  EXPECT_THROW(db().ReadValue([&](store::Tx& tx) {
    return q.ListDead(tx, Scope::Platform(), DeadQuery{std::nullopt, "garbage", 10});
  }),
               BadRequest);

  DeadStats stats = db().ReadValue([&](store::Tx& tx) { return q.CountDead(tx, Scope::Platform()); });
  EXPECT_EQ(stats.total, 6);
  EXPECT_EQ(stats.oldest_finished_at_ms, kStartMs + 10);
  ASSERT_EQ(stats.by_queue.size(), 2u);
  EXPECT_EQ(stats.by_queue[0].key, "index");
  EXPECT_EQ(stats.by_queue[0].count, 1);
  EXPECT_EQ(stats.by_queue[1].key, "ingest");
  EXPECT_EQ(stats.by_queue[1].count, 5);
  EXPECT_EQ(stats.by_queue[1].oldest_finished_at_ms, kStartMs + 10);
  ASSERT_EQ(stats.by_workspace.size(), 3u);
  EXPECT_EQ(stats.by_workspace[0].key, kWsA);
  EXPECT_EQ(stats.by_workspace[0].count, 4);

  DeadStats b = db().ReadValue([&](store::Tx& tx) { return q.CountDead(tx, Scope::Workspace(kWsB)); });
  EXPECT_EQ(b.total, 1);
  ASSERT_EQ(b.by_workspace.size(), 1u);
  EXPECT_EQ(b.by_workspace[0].key, kWsB);
}

TEST_P(JobQueueTest, DeadJobsCanBeRetriedAndPurgedWithinTheirScope) {
  JobQueue q(ManualClock());
  std::string a1 = MakeDead(q, kWsA, "ingest", "first failure");
  std::string a2 = MakeDead(q, kWsA, "ingest", "x");
  std::string a3 = MakeDead(q, kWsA, "index", "x");
  std::string b1 = MakeDead(q, kWsB, "ingest", "x");
  std::string p1 = MakeDead(q, nullptr, "ingest", "x");

  // Another workspace's owner cannot retry it.
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.RetryDead(tx, Scope::Workspace(kWsB), a1); }));
  EXPECT_TRUE(Write([&](store::Tx& tx) { return q.RetryDead(tx, Scope::Workspace(kWsA), a1); }));
  EXPECT_FALSE(Write([&](store::Tx& tx) { return q.RetryDead(tx, Scope::Workspace(kWsA), a1); }));  // not dead now
  queue::Job retried = Get(q, a1).value();
  EXPECT_EQ(retried.status, JobStatus::kWaiting);
  EXPECT_EQ(retried.attempts, 0);
  EXPECT_FALSE(retried.finished_at_ms);
  EXPECT_EQ(Json::parse(retried.errors_json).size(), 1u);  // history kept
  LeasedJob again = LeaseOne(q).value();
  EXPECT_EQ(again.lease.job_id, a1);
  EXPECT_EQ(again.lease.attempt, 1);

  EXPECT_EQ(Write([&](store::Tx& tx) { return q.RetryAllDead(tx, Scope::Workspace(kWsB), "index"); }), 0);
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.RetryAllDead(tx, Scope::Workspace(kWsA), "ingest"); }), 1);
  EXPECT_EQ(Get(q, a2)->status, JobStatus::kWaiting);
  EXPECT_EQ(Get(q, a3)->status, JobStatus::kDead);

  // Bounded: one at a time until none are left.
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.PurgeDead(tx, Scope::Platform(), "ingest", 1); }), 1);
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.PurgeDead(tx, Scope::Platform(), "ingest", 1); }), 1);
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.PurgeDead(tx, Scope::Platform(), "ingest", 1); }), 0);
  EXPECT_FALSE(Get(q, b1));
  EXPECT_FALSE(Get(q, p1));
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.PurgeDead(tx, Scope::Workspace(kWsB), std::nullopt); }), 0);
  EXPECT_EQ(Write([&](store::Tx& tx) { return q.RetryAllDead(tx, Scope::Platform(), std::nullopt); }), 1);
  EXPECT_EQ(Get(q, a3)->status, JobStatus::kWaiting);
}

TEST_P(JobQueueTest, CleanupDeletesOldFinishedJobsInBatches) {
  JobQueue q(ManualClock());
  std::vector<std::string> old_done;
  for (int i = 0; i < 5; ++i) {
    old_done.push_back(Enqueue(q, MakeJob(kWsA)));
    LeasedJob leased = LeaseOne(q).value();
    Write([&](store::Tx& tx) { return q.Complete(tx, leased.lease); });
  }
  std::string old_dead = MakeDead(q, kWsA, "ingest", "x");
  std::string waiting = Enqueue(q, MakeJob(kWsA, "index"));
  Advance(std::chrono::hours(24 * 7) + milliseconds(1));
  std::string recent = Enqueue(q, MakeJob(kWsB));
  LeasedJob leased = LeaseOne(q).value();
  ASSERT_EQ(leased.lease.job_id, recent);
  Write([&](store::Tx& tx) { return q.Complete(tx, leased.lease); });

  EXPECT_EQ(q.Cleanup(db(), CleanupOptions{std::chrono::hours(24 * 7), false, 2}), 5);
  for (const std::string& id : old_done) EXPECT_FALSE(Get(q, id));
  EXPECT_TRUE(Get(q, old_dead));
  EXPECT_TRUE(Get(q, waiting));
  EXPECT_TRUE(Get(q, recent));
  EXPECT_EQ(q.Cleanup(db(), CleanupOptions{std::chrono::hours(24 * 7), true, 2}), 1);
  EXPECT_FALSE(Get(q, old_dead));
  EXPECT_TRUE(Get(q, recent));
}

TEST_P(JobQueueTest, CountsPerQueueAndState) {
  JobQueue q(ManualClock());
  MakeDead(q, kWsA, "ingest", "x");
  Enqueue(q, MakeJob(kWsA, "index"));
  for (const char* ws : {kWsA, kWsB, kWsB}) Enqueue(q, MakeJob(ws));
  // Lease the three ingest jobs: fail one (it waits for its retry), complete one, keep one active.
  std::vector<LeasedJob> leased = q.Lease(db(), Request("w1", 3));
  ASSERT_EQ(leased.size(), 3u);
  Write([&](store::Tx& tx) {
    EXPECT_EQ(q.Fail(tx, leased[0].lease, "x"), FailOutcome::kRetrying);
    EXPECT_TRUE(q.Complete(tx, leased[1].lease));
    return 0;
  });
  std::vector<QueueCounts> counts = db().ReadValue([&](store::Tx& tx) { return q.Counts(tx); });
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].queue, "index");
  EXPECT_EQ(counts[0].waiting, 1);
  EXPECT_EQ(counts[1].queue, "ingest");
  EXPECT_EQ(counts[1].waiting, 1);
  EXPECT_EQ(counts[1].failed, 1);
  EXPECT_EQ(counts[1].active, 1);
  EXPECT_EQ(counts[1].completed, 1);
  EXPECT_EQ(counts[1].dead, 1);
}

TEST_P(JobQueueTest, DeletingAWorkspaceDeletesItsJobs) {
  JobQueue q(ManualClock());
  std::string a = Enqueue(q, MakeJob(kWsA));
  std::string b = Enqueue(q, MakeJob(kWsB));
  Write([&](store::Tx& tx) { return store::workspaces::Delete(tx, kWsA); });
  EXPECT_FALSE(Get(q, a));
  EXPECT_TRUE(Get(q, b));
}

INSTANTIATE_TEST_SUITE_P(Backends, JobQueueTest, ::testing::Values(store::Backend::kSqlite, store::Backend::kPostgres),
                         [](const ::testing::TestParamInfo<store::Backend>& param) {
                           return std::string(store::BackendName(param.param));
                         });

}  // namespace
}  // namespace studio::queue::testing
