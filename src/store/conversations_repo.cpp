#include "store/conversations_repo.hpp"

#include "core/error.hpp"

namespace studio::store {
namespace {

constexpr Query kInsert{"conversations.insert",
                        "INSERT INTO conversations (id, workspace_id, agent, channel, user_id, title, summary, "
                        "summary_through, context_start, message_count, created_at_ms, updated_at_ms) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"};
constexpr Query kFind{"conversations.find",
                      "SELECT id, workspace_id, agent, channel, user_id, title, summary, summary_through, "
                      "context_start, message_count, created_at_ms, updated_at_ms FROM conversations "
                      "WHERE workspace_id = $1 AND id = $2"};
// The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before the seq is read
// back, so concurrent appends to one conversation are serialised and never share a seq.
constexpr Query kNextSeq{"conversations.next_seq",
                         "UPDATE conversations SET message_count = message_count + 1, updated_at_ms = $3 "
                         "WHERE workspace_id = $1 AND id = $2 RETURNING message_count"};
constexpr Query kInsertMessage{"messages.insert",
                               "INSERT INTO messages (id, conversation_id, workspace_id, seq, role, content, status, "
                               "sources, usage, confidence, model, created_at_ms) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"};
constexpr Query kMessages{"messages.page",
                          "SELECT id, conversation_id, workspace_id, seq, role, content, status, sources, usage, "
                          "confidence, model, created_at_ms FROM messages "
                          "WHERE workspace_id = $1 AND conversation_id = $2 AND seq >= $3 ORDER BY seq LIMIT $4"};
constexpr Query kSetSummary{"conversations.set_summary",
                            "UPDATE conversations SET summary = $3, summary_through = $4 "
                            "WHERE workspace_id = $1 AND id = $2"};
constexpr Query kStartSession{"conversations.start_session",
                              "UPDATE conversations SET summary = '', summary_through = $3 - 1, context_start = $3 "
                              "WHERE workspace_id = $1 AND id = $2"};
constexpr Query kListFirst{"conversations.list_first",
                           "SELECT id, workspace_id, agent, channel, user_id, title, summary, summary_through, "
                           "context_start, message_count, created_at_ms, updated_at_ms FROM conversations "
                           "WHERE workspace_id = $1 ORDER BY updated_at_ms DESC, id DESC LIMIT $2"};
constexpr Query kListAfter{"conversations.list_after",
                           "SELECT id, workspace_id, agent, channel, user_id, title, summary, summary_through, "
                           "context_start, message_count, created_at_ms, updated_at_ms FROM conversations "
                           "WHERE workspace_id = $1 AND (updated_at_ms < $2 OR (updated_at_ms = $2 AND id < $3)) "
                           "ORDER BY updated_at_ms DESC, id DESC LIMIT $4"};
// Messages first: the schema cascades, but SQLite only honours it with foreign_keys on.
constexpr Query kDeleteMessages{"messages.delete_conversation",
                                "DELETE FROM messages WHERE workspace_id = $1 AND conversation_id = $2"};
constexpr Query kDelete{"conversations.delete", "DELETE FROM conversations WHERE workspace_id = $1 AND id = $2"};
constexpr Query kActive{"conversations.active",
                        "SELECT workspace_id, COUNT(*) FROM conversations WHERE updated_at_ms > $1 "
                        "GROUP BY workspace_id"};

ConversationRecord ConversationOf(const Row& r) {
  ConversationRecord c;
  c.id = r.GetString(0);
  c.workspace_id = r.GetString(1);
  c.agent = r.GetString(2);
  c.channel = r.GetString(3);
  c.user_id = r.GetOptString(4);
  c.title = r.GetString(5);
  c.summary = r.GetString(6);
  c.summary_through = r.GetInt(7);
  c.context_start = r.GetInt(8);
  c.message_count = r.GetInt(9);
  c.created_at_ms = r.GetInt(10);
  c.updated_at_ms = r.GetInt(11);
  return c;
}

MessageRecord MessageOf(const Row& r) {
  MessageRecord m;
  m.id = r.GetString(0);
  m.conversation_id = r.GetString(1);
  m.workspace_id = r.GetString(2);
  m.seq = r.GetInt(3);
  m.role = r.GetString(4);
  m.content = r.GetString(5);
  m.status = r.GetString(6);
  m.sources_json = r.GetString(7);
  m.usage_json = r.GetOptString(8);
  m.confidence = r.GetOptDouble(9);
  m.model = r.GetOptString(10);
  m.created_at_ms = r.GetInt(11);
  return m;
}

}  // namespace

namespace conversations {

void Insert(Tx& tx, const ConversationRecord& c) {
  tx.Exec(kInsert, {c.id, c.workspace_id, c.agent, c.channel, c.user_id, c.title, c.summary, c.summary_through,
                    c.context_start, c.message_count, c.created_at_ms, c.updated_at_ms});
}

std::optional<ConversationRecord> Find(Tx& tx, std::string_view workspace_id, std::string_view id) {
  Result r = tx.Exec(kFind, {workspace_id, id});
  if (r.empty()) return std::nullopt;
  return ConversationOf(r.front());
}

std::int64_t Append(Tx& tx, std::string_view workspace_id, MessageRecord m) {
  Result r = tx.Exec(kNextSeq, {workspace_id, m.conversation_id, m.created_at_ms});
  if (r.empty()) throw NotFound("The conversation does not exist.", "CONVERSATION_NOT_FOUND");
  m.seq = r.front().GetInt(0);
  tx.Exec(kInsertMessage, {m.id, m.conversation_id, workspace_id, m.seq, m.role, m.content, m.status, m.sources_json,
                           m.usage_json, m.confidence, m.model, m.created_at_ms});
  return m.seq;
}

std::vector<MessageRecord> Messages(Tx& tx, std::string_view workspace_id, std::string_view conversation_id,
                                    std::int64_t from_seq, int limit) {
  std::vector<MessageRecord> out;
  for (const Row& row : tx.Exec(kMessages, {workspace_id, conversation_id, from_seq, limit})) {
    out.push_back(MessageOf(row));
  }
  return out;
}

void SetSummary(Tx& tx, std::string_view workspace_id, std::string_view id, std::string_view summary,
                std::int64_t through) {
  tx.Exec(kSetSummary, {workspace_id, id, summary, through});
}

void StartSession(Tx& tx, std::string_view workspace_id, std::string_view id, std::int64_t context_start) {
  tx.Exec(kStartSession, {workspace_id, id, context_start});
}

std::vector<ConversationRecord> List(Tx& tx, std::string_view workspace_id,
                                     const std::optional<std::pair<std::int64_t, std::string>>& after, int limit) {
  Result r = after ? tx.Exec(kListAfter, {workspace_id, after->first, after->second, limit})
                   : tx.Exec(kListFirst, {workspace_id, limit});
  std::vector<ConversationRecord> out;
  for (const Row& row : r) out.push_back(ConversationOf(row));
  return out;
}

bool Delete(Tx& tx, std::string_view workspace_id, std::string_view id) {
  tx.Exec(kDeleteMessages, {workspace_id, id});
  return tx.Exec(kDelete, {workspace_id, id}).affected() == 1;
}

std::vector<std::pair<std::string, std::int64_t>> ActiveByWorkspace(Tx& tx, std::int64_t since_ms) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const Row& row : tx.Exec(kActive, {since_ms})) out.emplace_back(row.GetString(0), row.GetInt(1));
  return out;
}

}  // namespace conversations
}  // namespace studio::store
