#include "api/v1/audit_routes.hpp"

#include <charconv>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "agent/agent.hpp"
#include "api/v1/iso_time.hpp"
#include "api/v1/or_null.hpp"
#include "api/v1/paging.hpp"
#include "auth/secrets.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "identity/workspace_service.hpp"
#include "store/agent_repo.hpp"
#include "store/audit_repo.hpp"
#include "store/usage_repo.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;
constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 200;

std::string ActionOf(const Request& req) {
  auto text = req.Query("action");
  if (!text) return {};
  bool ok = !text->empty() && text->size() <= 64;
  for (char c : *text) ok = ok && ((c >= 'a' && c <= 'z') || c == '.' || c == '_');
  if (!ok) BadQuery("action", "'action' is an event name such as 'auth.login'.");
  return std::string(*text);
}

Json EventJson(const store::AuditEvent& e) {
  Json details = Json::parse(e.details_json, nullptr, false);
  if (details.is_discarded()) details = e.details_json;  // written by us, but never fail a read on it
  return Json{{"id", e.id},
              {"at", IsoUtcMs(e.created_at_ms)},
              {"actorId", OrNull(e.actor_id)},
              {"action", e.action},
              {"outcome", e.outcome},
              {"ip", OrNull(e.ip)},
              {"userAgent", OrNull(e.user_agent)},
              {"requestId", OrNull(e.request_id)},
              {"details", std::move(details)}};
}

// The billing-style period: the current calendar month in UTC, [start, end).
std::pair<std::int64_t, std::int64_t> CurrentMonth(std::int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  std::int64_t start = timegm(&tm);
  tm.tm_mon += 1;  // timegm normalises December + 1 into January of the next year
  std::int64_t end = timegm(&tm);
  return {start, end};
}

}  // namespace

void AddAuditRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/audit-logs", [&ctx](Request& req, const Caller& caller) {
    int limit = LimitOf(req, kDefaultLimit, kMaxLimit);
    std::optional<TimeCursor> cursor = TimeCursorOf(req);
    std::string action = ActionOf(req);
    std::string workspace_id = req.Param("id");
    auto events = ctx.db->ReadValue([&](store::Tx& tx) {
      identity::RoleOrNotFound(tx, workspace_id, caller.Get());  // 404 for an admin's unknown id
      // One more than asked tells whether another page exists without a second query.
      return store::audit::ListForWorkspace(tx, workspace_id, cursor, limit + 1, action);
    });
    bool more = events.size() > static_cast<std::size_t>(limit);
    if (more) events.resize(static_cast<std::size_t>(limit));
    Json items = Json::array();
    for (const auto& e : events) items.push_back(EventJson(e));
    Json next = more ? Json(EncodeTimeCursor(events.back().created_at_ms, events.back().id)) : Json(nullptr);
    Response res = Response::MakeJson(200, Json{{"items", std::move(items)}, {"nextCursor", std::move(next)}});
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  });

  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/usage", [&ctx](Request& req, const Caller& caller) {
    std::string workspace_id = req.Param("id");
    std::int64_t now = identity::AuthService::Now();
    auto period = CurrentMonth(now);
    std::string plan;
    store::AgentUsage agent_usage;
    // One read transaction: every count comes from the same snapshot. The agent's counters are
    // kept per UTC day (what AgentService::Usage sums): the period's days up to today.
    store::WorkspaceUsage u = ctx.db->ReadValue([&](store::Tx& tx) {
      identity::RoleOrNotFound(tx, workspace_id, caller.Get());
      auto ws = store::workspaces::FindById(tx, workspace_id);
      if (!ws) throw NotFound("The workspace does not exist.");
      plan = ws->plan;
      agent_usage =
          store::agent_usage::Sum(tx, workspace_id, agent::DayOf(period.first * 1000), agent::DayOf(now * 1000));
      return store::usage::ForWorkspace(tx, workspace_id, period.first, now);
    });
    Json body{{"workspaceId", workspace_id},
              {"plan", plan},
              {"period", Json{{"start", IsoUtc(period.first)}, {"end", IsoUtc(period.second)}}},
              {"members",
               Json{{"total", u.MembersTotal()},
                    {"byRole",
                     Json{{"owner", u.owners}, {"member", u.members}, {"agent", u.agents}, {"service", u.services}}}}},
              {"apiKeys", Json{{"active", u.api_keys_active},
                               {"revoked", u.api_keys_revoked},
                               {"usedThisPeriod", u.api_keys_used_in_period}}},
              {"invitations", Json{{"pending", u.invitations_pending}}},
              {"auditEvents", Json{{"thisPeriod", u.audit_events_in_period}}},
              {"agent", Json{{"messages", agent_usage.messages},
                             {"llmCalls", agent_usage.llm_calls},
                             {"tokensIn", agent_usage.tokens_in},
                             {"tokensOut", agent_usage.tokens_out}}},
              {"generatedAt", IsoUtc(now)}};
    return Response::MakeJson(200, body);
  });
}

}  // namespace studio::api::v1
