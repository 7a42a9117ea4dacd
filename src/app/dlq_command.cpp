// `studio dlq …`: the dead-letter queue straight against the database, for operators without
// HTTP access (or with the server down). The same operations and JSON as /api/v1/admin/dlq.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "api/v1/job_json.hpp"
#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/database.hpp"
#include "queue/queue.hpp"

namespace studio::app {
namespace {

void Print(const Json& j) { std::printf("%s\n", j.dump(2).c_str()); }

Json Groups(const std::vector<queue::DeadGroup>& groups) {
  Json out = Json::array();
  for (const auto& g : groups) {
    out.push_back(Json{{"key", g.key ? Json(*g.key) : Json(nullptr)}, {"count", g.count}});
  }
  return out;
}

}  // namespace

int RunDlq(const Config& c, const DlqRequest& r) {
  constexpr const char* kCmd = "dlq";
  std::unique_ptr<store::Db> db;
  try {
    db = OpenAndMigrate(c, false);
  } catch (const std::exception& e) {
    return Fail(kCmd, e.what(), kRuntimeFailure);
  }
  queue::JobQueue jobs;
  const std::optional<std::string> queue_name = r.queue.empty() ? std::nullopt : std::optional(r.queue);
  try {
    const queue::Scope scope =
        r.workspace.empty() ? queue::Scope::Platform() : queue::Scope::Workspace(FindWorkspace(*db, r.workspace).id);
    if (r.command == "stats") {
      auto s = db->ReadValue([&](store::Tx& tx) { return jobs.CountDead(tx, scope); });
      Print(Json{{"total", s.total}, {"byQueue", Groups(s.by_queue)}, {"byWorkspace", Groups(s.by_workspace)}});
    } else if (r.command == "list") {
      queue::DeadQuery q;
      q.queue = queue_name;
      q.limit = r.limit;
      auto page = db->ReadValue([&](store::Tx& tx) { return jobs.ListDead(tx, scope, q); });
      for (const auto& j : page.jobs) {
        std::printf("%s  %-10s %-28s attempts %d  %s\n", j.id.c_str(), j.queue.c_str(),
                    j.workspace_id.value_or("-").c_str(), j.attempts, j.last_error.value_or("").c_str());
      }
      std::fprintf(stderr, "%zu dead job(s) shown%s\n", page.jobs.size(), page.next_cursor ? "; more exist" : "");
    } else if (r.command == "inspect") {
      auto job = db->ReadValue([&](store::Tx& tx) { return jobs.Get(tx, scope, r.job_id); });
      if (!job || job->status != queue::JobStatus::kDead) throw NotFound("No dead job has the id " + r.job_id + ".");
      Print(api::v1::JobJson(*job));
    } else if (r.command == "retry") {
      bool ok = db->WriteValue([&](store::Tx& tx) { return jobs.RetryDead(tx, scope, r.job_id); });
      if (!ok) throw NotFound("No dead job has the id " + r.job_id + ".");
      Print(Json{{"retried", 1}});
    } else if (r.command == "retry-all") {
      Print(Json{{"retried", jobs.RetryAllDead(*db, scope, queue_name)}});
    } else if (r.command == "purge") {
      Print(Json{{"purged", jobs.PurgeDead(*db, scope, queue_name)}});
    } else {
      return Fail(kCmd, "unknown command '" + r.command + "'", kBadInput);
    }
  } catch (const Error& e) {
    return Fail(kCmd, Describe(e), e.status() >= 400 && e.status() < 500 ? kBadInput : kRuntimeFailure);
  } catch (const std::exception& e) {
    return Fail(kCmd, e.what(), kRuntimeFailure);
  }
  db->Close();
  return 0;
}

}  // namespace studio::app
