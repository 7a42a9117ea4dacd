#include "store/agent_repo.hpp"

namespace studio::store {
namespace {

constexpr Query kFindConfig{"agent_configs.find",
                            "SELECT config FROM agent_configs WHERE workspace_id = $1 AND agent = $2"};
constexpr Query kPutConfig{"agent_configs.put",
                           "INSERT INTO agent_configs (workspace_id, agent, config, updated_at_ms) VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT (workspace_id, agent) DO UPDATE SET config = excluded.config, "
                           "updated_at_ms = excluded.updated_at_ms"};

constexpr Query kInsertKey{"widget_keys.insert",
                           "INSERT INTO widget_keys (id, workspace_id, key, name, allowed_origins, created_at_ms) "
                           "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kFindKey{"widget_keys.find_by_key",
                         "SELECT id, workspace_id, key, name, allowed_origins, created_at_ms, revoked_at_ms "
                         "FROM widget_keys WHERE key = $1 AND revoked_at_ms IS NULL"};
constexpr Query kListKeys{"widget_keys.list",
                          "SELECT id, workspace_id, key, name, allowed_origins, created_at_ms, revoked_at_ms "
                          "FROM widget_keys WHERE workspace_id = $1 ORDER BY created_at_ms DESC, id DESC"};
constexpr Query kRevokeKey{"widget_keys.revoke",
                           "UPDATE widget_keys SET revoked_at_ms = $3 "
                           "WHERE workspace_id = $1 AND id = $2 AND revoked_at_ms IS NULL"};

constexpr Query kAddUsage{"agent_usage.add",
                          "INSERT INTO agent_usage (workspace_id, day, messages, llm_calls, tokens_in, tokens_out) "
                          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, day) DO UPDATE SET "
                          "messages = agent_usage.messages + excluded.messages, "
                          "llm_calls = agent_usage.llm_calls + excluded.llm_calls, "
                          "tokens_in = agent_usage.tokens_in + excluded.tokens_in, "
                          "tokens_out = agent_usage.tokens_out + excluded.tokens_out"};
constexpr Query kSumUsage{"agent_usage.sum",
                          "SELECT COALESCE(SUM(messages), 0), COALESCE(SUM(llm_calls), 0), COALESCE(SUM(tokens_in), 0), "
                          "COALESCE(SUM(tokens_out), 0) FROM agent_usage "
                          "WHERE workspace_id = $1 AND day >= $2 AND day <= $3"};

WidgetKeyRecord KeyOf(const Row& r) {
  return WidgetKeyRecord{r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
                         r.GetString(4), r.GetInt(5),    r.GetOptInt(6)};
}

}  // namespace

namespace agent_configs {

std::optional<std::string> Find(Tx& tx, std::string_view workspace_id, std::string_view agent) {
  Result r = tx.Exec(kFindConfig, {workspace_id, agent});
  if (r.empty()) return std::nullopt;
  return r.front().GetString(0);
}

void Put(Tx& tx, std::string_view workspace_id, std::string_view agent, std::string_view config_json,
         std::int64_t now_ms) {
  tx.Exec(kPutConfig, {workspace_id, agent, config_json, now_ms});
}

}  // namespace agent_configs

namespace widget_keys {

void Insert(Tx& tx, const WidgetKeyRecord& k) {
  tx.Exec(kInsertKey, {k.id, k.workspace_id, k.key, k.name, k.allowed_origins_json, k.created_at_ms});
}

std::optional<WidgetKeyRecord> FindByKey(Tx& tx, std::string_view key) {
  Result r = tx.Exec(kFindKey, {key});
  if (r.empty()) return std::nullopt;
  return KeyOf(r.front());
}

std::vector<WidgetKeyRecord> List(Tx& tx, std::string_view workspace_id) {
  std::vector<WidgetKeyRecord> out;
  for (const Row& row : tx.Exec(kListKeys, {workspace_id})) out.push_back(KeyOf(row));
  return out;
}

bool Revoke(Tx& tx, std::string_view workspace_id, std::string_view id, std::int64_t now_ms) {
  return tx.Exec(kRevokeKey, {workspace_id, id, now_ms}).affected() == 1;
}

}  // namespace widget_keys

namespace agent_usage {

void Add(Tx& tx, std::string_view workspace_id, std::string_view day, const AgentUsage& d) {
  tx.Exec(kAddUsage, {workspace_id, day, d.messages, d.llm_calls, d.tokens_in, d.tokens_out});
}

AgentUsage Sum(Tx& tx, std::string_view workspace_id, std::string_view from_day, std::string_view to_day) {
  Result r = tx.Exec(kSumUsage, {workspace_id, from_day, to_day});
  const Row& row = r.front();
  return AgentUsage{row.GetInt(0), row.GetInt(1), row.GetInt(2), row.GetInt(3)};
}

}  // namespace agent_usage
}  // namespace studio::store
