#pragma once
// Conversations and their messages (migration 0007). Every call takes the workspace id and every
// statement filters by it, so an id of another workspace behaves as if it did not exist.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct ConversationRecord {
  std::string id;
  std::string workspace_id;
  std::string agent;
  std::string channel;  // api | widget | openai | cli
  std::optional<std::string> user_id;
  std::string title;
  std::string summary;             // running summary of the folded messages
  std::int64_t summary_through = 0;  // messages with seq <= this are in the summary
  std::int64_t context_start = 1;    // messages with seq < this belong to an earlier session
  std::int64_t message_count = 0;    // the seq of the last message
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct MessageRecord {
  std::string id;
  std::string conversation_id;
  std::string workspace_id;
  std::int64_t seq = 0;
  std::string role;  // user | assistant
  std::string content;
  std::string status = "complete";  // complete | interrupted | failed
  std::string sources_json = "[]";
  std::optional<std::string> usage_json;
  std::optional<double> confidence;
  std::optional<std::string> model;
  std::int64_t created_at_ms = 0;
};

namespace conversations {

void Insert(Tx& tx, const ConversationRecord& conversation);
std::optional<ConversationRecord> Find(Tx& tx, std::string_view workspace_id, std::string_view id);

/// Appends a message: takes the next seq (locking the conversation row on PostgreSQL, so two
/// concurrent turns get distinct seqs), bumps updated_at_ms and inserts. `message.seq` is ignored;
/// returns the seq given. Throws NotFound when the conversation is not in the workspace.
std::int64_t Append(Tx& tx, std::string_view workspace_id, MessageRecord message);

/// Messages with seq >= from_seq, oldest first, at most `limit`.
std::vector<MessageRecord> Messages(Tx& tx, std::string_view workspace_id, std::string_view conversation_id,
                                    std::int64_t from_seq, int limit);

/// Folds messages up to `through` into `summary`.
void SetSummary(Tx& tx, std::string_view workspace_id, std::string_view id, std::string_view summary,
                std::int64_t through);
/// Starts a fresh context (a session idle past the timeout): earlier messages and the summary are
/// no longer sent to the model; they stay stored.
void StartSession(Tx& tx, std::string_view workspace_id, std::string_view id, std::int64_t context_start);

/// A page of the workspace's conversations, most recently updated first; `after` is the
/// (updated_at_ms, id) of the last row of the previous page.
std::vector<ConversationRecord> List(Tx& tx, std::string_view workspace_id,
                                     const std::optional<std::pair<std::int64_t, std::string>>& after, int limit);

/// Deletes the conversation and its messages. False when it is not in the workspace.
bool Delete(Tx& tx, std::string_view workspace_id, std::string_view id);

/// Conversations updated since `since_ms`, per workspace (for agent_conversations_active).
std::vector<std::pair<std::string, std::int64_t>> ActiveByWorkspace(Tx& tx, std::int64_t since_ms);

}  // namespace conversations
}  // namespace studio::store
