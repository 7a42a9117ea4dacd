#pragma once
// The customer-service agent's settings for one workspace (GET|PUT
// /api/v1/agents/customer-service/config). Stored as the JSON object of the fields an owner set
// (store/agent_repo.hpp); Defaults() fills the rest, so a changed default reaches every workspace
// that kept it.

#include <string>
#include <string_view>

#include "core/json.hpp"

namespace studio::agent {

inline constexpr std::string_view kCustomerService = "customer-service";

enum class Persona { kProfessional, kFriendly, kTechnical };
enum class ResponseLength { kShort, kMedium, kLong };
/// What the agent does when no passage reaches the score threshold.
enum class FallbackMode {
  kMessage,  // answer with fallback_message, without calling the model
  kModel,    // let the model answer, told that nothing in the documents matched (no sources)
};

struct AgentConfig {
  std::string system_prompt;
  Persona persona = Persona::kProfessional;
  double temperature = 0.2;
  int max_tokens = 512;
  ResponseLength response_length = ResponseLength::kMedium;
  std::string custom_instructions;
  /// Minimum cosine similarity between question and passage for the passage to be used.
  double score_threshold = 0.3;
  int top_k = 5;
  /// The most prompt tokens (cl100k_base) one turn may send: instructions, passages, summary,
  /// history and the user's message together.
  int context_budget = 8192;
  /// How many recent messages are sent verbatim; older ones are folded into a running summary.
  int memory_window = 10;
  /// A conversation idle this long starts a fresh context.
  int session_timeout_minutes = 30;
  FallbackMode fallback_mode = FallbackMode::kMessage;
  std::string fallback_message;
};

AgentConfig Defaults();

/// The effective settings: Defaults() overridden by the stored object (unknown or invalid stored
/// fields, from an older version, are ignored).
AgentConfig FromStored(const Json& stored);

/// Merges a PUT body into the stored overrides and returns the new stored object. A field set to
/// null goes back to its default. Throws BadRequest (UNKNOWN_FIELDS) for an unknown field and
/// ValidationFailed, naming each bad field, for a value out of range.
Json MergeUpdate(const Json& stored, const Json& body);

/// The API shape: every setting, camelCase.
Json ToJson(const AgentConfig& config);

/// The system message the model gets: system prompt, persona, response length, custom
/// instructions and the citation rules. Each persona and length is a different instruction.
std::string SystemMessage(const AgentConfig& config);

std::string_view PersonaName(Persona p);
std::string_view ResponseLengthName(ResponseLength l);
std::string_view FallbackModeName(FallbackMode m);

}  // namespace studio::agent
