#include "agent/prompt.hpp"

#include <algorithm>
#include <span>

#include "core/error.hpp"

namespace studio::agent {
namespace {

constexpr int kFramingPerMessage = 3;
constexpr int kReplyPriming = 3;

// The last `max_tokens` tokens of `text`, starting at a character boundary.
std::string TailTokens(const std::string& text, int max_tokens, const search::Tokenizer& tokenizer) {
  if (max_tokens <= 0) return {};
  std::vector<int> ids = tokenizer.Encode(text);
  if (static_cast<int>(ids.size()) <= max_tokens) return text;
  std::string tail = tokenizer.Decode(std::span<const int>(ids).subspan(ids.size() - max_tokens));
  std::size_t start = 0;
  while (start < tail.size() && (static_cast<unsigned char>(tail[start]) & 0xC0) == 0x80) ++start;
  return "…" + tail.substr(start);
}

std::vector<llm::ContextPassage> Numbered(const PromptInput& in, const std::vector<std::size_t>& picked) {
  std::vector<llm::ContextPassage> out;
  for (std::size_t i = 0; i < picked.size(); ++i) {
    const PassageCandidate& p = in.passages[picked[i]];
    out.push_back({static_cast<int>(i) + 1, p.title, p.text});
  }
  return out;
}

llm::ChatRequest Assemble(const PromptInput& in, const std::string& summary, std::size_t history_sent,
                          const std::vector<std::size_t>& picked) {
  llm::ChatRequest r;
  r.messages.push_back({llm::Role::kSystem, in.system});
  if (!summary.empty()) r.messages.push_back({llm::Role::kSystem, std::string(kSummaryHeading) + summary});
  for (std::size_t i = in.history.size() - history_sent; i < in.history.size(); ++i) r.messages.push_back(in.history[i]);
  r.messages.push_back({llm::Role::kUser, in.user_message});
  r.context = Numbered(in, picked);
  return r;
}

}  // namespace

int CountPromptTokens(const std::vector<llm::Message>& messages, const search::Tokenizer& tokenizer) {
  int total = kReplyPriming;
  for (const auto& m : messages) total += kFramingPerMessage + static_cast<int>(tokenizer.Count(m.content));
  return total;
}

Prompt BuildPrompt(const PromptInput& in, const search::Tokenizer& tokenizer) {
  auto count = [&](const std::string& s) { return static_cast<int>(tokenizer.Count(s)); };
  const int fixed = kReplyPriming + 2 * kFramingPerMessage + count(in.system) + count(in.user_message);
  if (fixed > in.budget) {
    throw Error(422, "MESSAGE_TOO_LONG", "Message Too Long",
                "The message is too long for the agent's context budget of " + std::to_string(in.budget) +
                    " tokens; shorten it or raise contextBudget.");
  }
  int left = in.budget - fixed;

  // 2. The summary, at most a quarter of what is left.
  std::string summary;
  bool summary_cut = false;
  if (!in.summary.empty()) {
    const int cap = left / 4 - kFramingPerMessage - count(std::string(kSummaryHeading));
    summary = TailTokens(in.summary, cap, tokenizer);
    summary_cut = summary != in.summary;
    if (!summary.empty()) left -= kFramingPerMessage + count(std::string(kSummaryHeading)) + count(summary);
  }

  // 3. Recent messages, newest first, up to half of what is left.
  std::size_t history_sent = 0;
  int history_cap = left / 2;
  for (auto it = in.history.rbegin(); it != in.history.rend(); ++it) {
    const int cost = kFramingPerMessage + count(it->content);
    if (cost > history_cap) break;
    history_cap -= cost;
    left -= cost;
    ++history_sent;
  }

  // 4. Passages, best first, while they fit (the context message's own framing and heading first).
  std::vector<std::size_t> picked;
  int context_left = left - kFramingPerMessage - count(llm::FormatContext(std::vector<llm::ContextPassage>{{1, "", ""}}));
  for (std::size_t i = 0; i < in.passages.size() && context_left > 0; ++i) {
    const auto& p = in.passages[i];
    // Built with append: GCC 12 at -O3 reports a false -Wrestrict on the chained operator+ form.
    std::string block = "[";
    block.append(std::to_string(picked.size() + 1)).append("] ").append(p.title).append("\n");
    block.append(p.text).append("\n\n");
    const int cost = count(block);
    if (cost <= context_left) {
      picked.push_back(i);
      context_left -= cost;
    }
  }

  // The pieces were counted apart; count the whole exactly and give back what overflows (tokens
  // can merge across a boundary), passages first, then the oldest history.
  Prompt out;
  for (;;) {
    out.request = Assemble(in, summary, history_sent, picked);
    out.prompt_tokens = CountPromptTokens(llm::MessagesWithContext(out.request), tokenizer);
    if (out.prompt_tokens <= in.budget) break;
    if (!picked.empty()) {
      picked.pop_back();
    } else if (history_sent > 0) {
      --history_sent;
    } else if (!summary.empty()) {
      summary.clear();
    } else {
      break;  // cannot happen: system + user alone were checked against the budget above
    }
  }
  out.passage_sources = picked;
  out.history_sent = history_sent;
  out.summary_cut = summary_cut;
  return out;
}

}  // namespace studio::agent
