#pragma once
// The `extractive` chat model: the default when no LLM is configured. No network and no model
// file: it answers the user's last message with the passages' own sentences that best match it,
// cites them, and says plainly that it does not know when none does. Deterministic.
//
// How it answers:
//  1. The question is the last user message; its content terms (terms.hpp: stop words dropped,
//     light stemming) are weighted by IDF over the request's passages, idf(t) = 1 + ln(N / df(t)),
//     a term found in no passage weighing as much as the rarest (df = 1).
//  2. Every sentence of every passage (sentences.hpp) scores its coverage: the weight of the
//     question terms it contains over the weight of all of them (0 … 1).
//  3. Candidates must cover at least min_coverage and at least half the best sentence's coverage;
//     near-repeats of a chosen sentence (the chunker's overlap puts one sentence in two passages)
//     are skipped; the best max_sentences (ties: better-ranked passage, then earlier sentence),
//     within request.max_tokens (≈ 4 characters a token) are kept.
//  4. They are written in passage order, then document order, each run of sentences from one
//     passage followed by its marker: "Refunds take 5 days. Shipping is not refunded [2]." —
//     so only passages actually used are cited, each with the `n` the request gave it.
//  5. No candidate: `unknown_answer`, citing nothing.
// The system prompt and history do not change the answer. Usage is reported as zero (no model
// tokens are spent); the model name is "extractive".

#include <string>
#include <string_view>

#include "llm/chat_model.hpp"

namespace studio::llm {

struct ExtractiveOptions {
  /// Sentences in an answer, at most (>= 1).
  int max_sentences = 3;
  /// The least coverage (see above) a sentence needs to be used, in (0, 1].
  double min_coverage = 0.25;
  /// The answer when nothing in the passages matches the question.
  std::string unknown_answer = "I don't know: I could not find anything about that in the documents available to me.";
};

class ExtractiveChatModel final : public ChatModel {
 public:
  static constexpr std::string_view kName = "extractive";

  /// Throws std::invalid_argument for a bad option.
  explicit ExtractiveChatModel(ExtractiveOptions options = {});

  std::string_view name() const override { return kName; }
  std::string model() const override { return std::string(kName); }
  /// Streams the answer word by word (each delta but the first starts with its space).
  ChatResponse Chat(const ChatRequest& request, const TokenCallback& on_token = {},
                    const CancellationToken* cancel = nullptr) override;

  /// The answer alone, without streaming (what Chat returns as content).
  std::string Answer(const ChatRequest& request) const;

 private:
  ExtractiveOptions options_;
};

}  // namespace studio::llm
