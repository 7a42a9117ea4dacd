#pragma once
// The agent's per-workspace settings, publishable widget keys and usage counters (migration
// 0007). Every call takes the workspace id first (widget_keys::FindByKey excepted: the key is
// what names the workspace).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct WidgetKeyRecord {
  std::string id;
  std::string workspace_id;
  std::string key;  // "pk_…"
  std::string name;
  std::string allowed_origins_json = "[]";
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> revoked_at_ms;
};

struct AgentUsage {
  std::int64_t messages = 0;
  std::int64_t llm_calls = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
};

namespace agent_configs {

/// The JSON object of overridden settings, or nullopt when the workspace kept every default.
std::optional<std::string> Find(Tx& tx, std::string_view workspace_id, std::string_view agent);
void Put(Tx& tx, std::string_view workspace_id, std::string_view agent, std::string_view config_json,
         std::int64_t now_ms);

}  // namespace agent_configs

namespace widget_keys {

void Insert(Tx& tx, const WidgetKeyRecord& key);
/// Not revoked, any workspace.
std::optional<WidgetKeyRecord> FindByKey(Tx& tx, std::string_view key);
/// Every key of the workspace, revoked ones included, newest first.
std::vector<WidgetKeyRecord> List(Tx& tx, std::string_view workspace_id);
/// False when there is no such key in the workspace, or it was revoked already.
bool Revoke(Tx& tx, std::string_view workspace_id, std::string_view id, std::int64_t now_ms);

}  // namespace widget_keys

namespace agent_usage {

/// Adds to the workspace's counters of `day` (YYYY-MM-DD, UTC).
void Add(Tx& tx, std::string_view workspace_id, std::string_view day, const AgentUsage& delta);
/// Sums the days in [from_day, to_day].
AgentUsage Sum(Tx& tx, std::string_view workspace_id, std::string_view from_day, std::string_view to_day);

}  // namespace agent_usage
}  // namespace studio::store
