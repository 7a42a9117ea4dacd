#pragma once
// The customer-service agent: one turn of a conversation, end to end.
//
//   load settings + conversation ─► memory (session timeout, fold old messages into the summary)
//   ─► retrieve (hybrid search, cosine threshold, de-duplicated by the retriever)
//   ─► prompt within the token budget (prompt.hpp) ─► chat model (streamed or not)
//   ─► store the answer with its cited sources, confidence and token usage; meter usage.
//
// Two transactions per turn (three when the summary moves): the user's message is committed
// before the model is called, the answer after. A turn refused before that (404, 422
// MESSAGE_TOO_LONG, 429 QUOTA_EXCEEDED) stores nothing. An answer cut short by a client that left
// is stored as it stands, status "interrupted".
//
// Sources are exactly the passages the reply cites ("[n]" markers, llm/citations.hpp), in order
// of first citation; a marker naming a passage the model was not given is ignored. Below the
// threshold nothing is retrieved: the agent answers with the configured fallback (without calling
// the model, by default) and cites nothing.
//
// Confidence: the highest cosine similarity (question ↔ passage, from the retriever) among the
// cited passages, clamped to [0, 1]; 0 when the reply cites nothing (fallback included). It says
// how closely the best evidence the answer rests on matches the question.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_config.hpp"
#include "core/json.hpp"
#include "llm/chat_model.hpp"
#include "obs/metrics.hpp"
#include "store/agent_repo.hpp"

namespace studio::store {
class Db;
}
namespace studio::search {
class Retriever;
class Tokenizer;
}  // namespace studio::search

namespace studio::agent {

struct TurnRequest {
  std::string workspace_id;
  std::string channel = "api";  // api | widget | openai | cli: recorded on the conversation
  std::optional<std::string> user_id;
  /// Continue this conversation (404 CONVERSATION_NOT_FOUND when it is not in the workspace);
  /// unset: a new one.
  std::optional<std::string> conversation_id;
  std::string message;
  /// Facts from the client about the customer or page (the request's `context` object), shown to
  /// the model as information, never as instructions.
  Json context;
  /// The client keeps the history (`/run` with input.messages, the OpenAI-compatible endpoint):
  /// these earlier messages are used instead of stored ones, and only this turn is stored.
  std::optional<std::vector<llm::Message>> client_history;
  /// System messages the client sent (OpenAI-compatible clients): added as instructions.
  std::vector<std::string> client_instructions;
};

struct Source {
  int n = 0;  // the reply's [n]
  std::string document_id;
  std::int64_t chunk_id = 0;
  std::string title;
  std::optional<std::string> url;
  double score = 0;  // cosine similarity to the question
  std::string snippet;
};

struct TurnResult {
  std::string conversation_id;
  std::string message_id;
  std::string reply;
  std::vector<Source> sources;
  double confidence = 0;
  llm::Usage usage;        // of the answer (reported by the model, else counted with cl100k_base)
  std::string status;      // complete | interrupted
  bool fallback = false;   // nothing reached the threshold
  std::string model;
  std::string finish_reason;
  int context_budget = 0;  // what the prompt had to fit in
  /// The prompt's tokens as the agent counted them (cl100k_base, Prompt::prompt_tokens): always
  /// <= context_budget; 0 when the model was not called (the fallback message).
  int context_tokens = 0;
};

struct AgentOptions {
  /// Messages answered per calendar month (UTC) by plan; a plan not listed is unlimited.
  std::map<std::string, std::int64_t, std::less<>> monthly_message_quota;
  /// Retrieval candidates fetched per passage kept, before the threshold.
  int candidate_factor = 2;
};

class AgentService {
 public:
  AgentService(store::Db& db, search::Retriever& retriever, const search::Tokenizer& tokenizer,
               llm::ChatModel& model, AgentOptions options = {});

  AgentConfig Config(std::string_view workspace_id);
  /// Applies a PUT body (agent_config.hpp MergeUpdate) and returns the effective settings.
  AgentConfig UpdateConfig(std::string_view workspace_id, const Json& body);

  /// Runs one turn. With `on_token`, the answer is streamed through it (return kStop to end it,
  /// as `cancel` does); the result then has status "interrupted". Throws NotFound, 422
  /// MESSAGE_TOO_LONG, 429 QUOTA_EXCEEDED, llm errors (errors.hpp) and database errors.
  TurnResult Turn(const TurnRequest& request, const llm::TokenCallback& on_token = {},
                  const llm::CancellationToken* cancel = nullptr);

  /// Usage between two days (YYYY-MM-DD, inclusive).
  store::AgentUsage Usage(std::string_view workspace_id, std::string_view from_day, std::string_view to_day);

  /// llm_api_calls_total, llm_tokens_used, agent_conversations_active.
  void RegisterMetrics(obs::Registry& registry);

  const llm::ChatModel& model() const { return model_; }

 private:
  void CheckQuota(store::Tx& tx, std::string_view workspace_id, std::int64_t now_ms);
  void StoreFailedAnswer(std::string_view workspace_id, const std::string& conversation_id);
  void CountCall(std::string_view workspace_id, std::string_view model, std::string_view status,
                 const llm::Usage& usage);

  store::Db& db_;
  search::Retriever& retriever_;
  const search::Tokenizer& tokenizer_;
  llm::ChatModel& model_;
  AgentOptions options_;
  obs::CounterFamily* calls_ = nullptr;
  obs::CounterFamily* tokens_ = nullptr;
};

/// "2026-11-25" for a Unix-ms time (UTC).
std::string DayOf(std::int64_t unix_ms);

/// The API shape of a source, and of a reply's list of them.
Json SourceJson(const Source& s);
Json SourcesJson(const std::vector<Source>& sources);

}  // namespace studio::agent
