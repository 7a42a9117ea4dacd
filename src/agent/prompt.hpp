#pragma once
// Builds what one turn sends the model, within the workspace's context budget, counted with the
// real cl100k_base tokenizer on exactly the messages the model receives
// (llm::MessagesWithContext), plus OpenAI's per-message framing.
//
// What is kept when not everything fits, in this order:
//  1. the system message and the user's message, always (if these alone exceed the budget the
//     turn is refused: 422 MESSAGE_TOO_LONG);
//  2. the running summary, cut to at most a quarter of what is left;
//  3. recent messages, newest first, up to half of what is left (a contiguous tail, never a
//     message with a gap before the next);
//  4. passages, best first, while they fit (one that does not fit is skipped, a shorter one after
//     it may still go in); they are numbered 1, 2, 3 … in the order given.
//  5. older history is never re-added: the window tail is what the model sees.

#include <cstddef>
#include <string>
#include <vector>

#include "llm/chat_model.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::agent {

struct PassageCandidate {
  std::string title;
  std::string text;
};

struct PromptInput {
  std::string system;                // SystemMessage(config) and any turn-specific notes
  std::string summary;               // of older turns; empty when none
  std::vector<llm::Message> history;  // oldest first, user/assistant only, already the last N
  std::string user_message;
  std::vector<PassageCandidate> passages;  // best first
  int budget = 8192;
};

struct Prompt {
  llm::ChatRequest request;  // messages + context; the caller sets model, temperature, max_tokens, stream
  /// For each context passage n (1-based), the index into PromptInput::passages it came from.
  std::vector<std::size_t> passage_sources;
  int prompt_tokens = 0;        // counted as the model will see it; <= budget
  std::size_t history_sent = 0;  // messages of PromptInput::history included
  bool summary_cut = false;
};

/// Throws studio::Error 422 MESSAGE_TOO_LONG when the system and user messages alone exceed the
/// budget.
Prompt BuildPrompt(const PromptInput& input, const search::Tokenizer& tokenizer);

/// Tokens of `messages` as a chat model counts them: the content of each, 3 tokens of framing
/// per message, 3 more to prime the reply (OpenAI's published counting rule for its chat models).
int CountPromptTokens(const std::vector<llm::Message>& messages, const search::Tokenizer& tokenizer);

/// The heading of the summary message (so tests and the extractive summary can recognise it).
inline constexpr std::string_view kSummaryHeading = "Summary of the earlier conversation:\n";

}  // namespace studio::agent
