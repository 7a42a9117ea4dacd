#pragma once
// Conversation memory: the messages that slide out of the window are folded into a running
// summary, written by the chat model when it is a real LLM, extractively otherwise.

#include <cstddef>
#include <string>
#include <vector>

#include "llm/chat_model.hpp"

namespace studio::agent {

struct TurnText {
  llm::Role role = llm::Role::kUser;
  std::string content;
};

/// The previous summary followed by one line per folded message: "Customer asked: <first
/// sentence>" / "Agent answered: <first two sentences, citation markers removed>". Keeps the
/// newest lines within max_bytes (whole lines; the oldest go first).
std::string ExtractiveSummary(const std::string& summary, const std::vector<TurnText>& folded,
                              std::size_t max_bytes = 2000);

/// Asks `model` to fold `folded` into `summary` (at most ~150 words). Returns the extractive
/// summary when the model is the extractive one, fails, or answers with nothing. `usage` gets the
/// call's token counts when a model was called.
std::string ModelSummary(llm::ChatModel& model, const std::string& summary, const std::vector<TurnText>& folded,
                         llm::Usage* usage, bool* called);

}  // namespace studio::agent
