#include "agent/memory.hpp"

#include <deque>

#include "llm/sentences.hpp"

namespace studio::agent {
namespace {

// Drops "[1]", "[2, 3]" markers: a summary cites nothing (its passages are gone next turn).
std::string WithoutMarkers(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') {
      std::size_t j = i + 1;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ',' || s[j] == ' ')) ++j;
      if (j < s.size() && s[j] == ']' && j > i + 1) {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        i = j;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string FirstSentences(const std::string& text, std::size_t n) {
  std::vector<std::string> sentences = llm::SplitSentences(text);
  std::string out;
  for (std::size_t i = 0; i < sentences.size() && i < n; ++i) out += (out.empty() ? "" : " ") + sentences[i];
  if (out.empty()) out = text;
  if (out.size() > 400) {
    std::size_t cut = 400;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "…";
  }
  return out;
}

std::string Transcript(const std::vector<TurnText>& folded) {
  std::string out;
  for (const auto& m : folded) {
    out += m.role == llm::Role::kUser ? "Customer: " : "Agent: ";
    out += WithoutMarkers(m.content) + "\n";
  }
  return out;
}

}  // namespace

std::string ExtractiveSummary(const std::string& summary, const std::vector<TurnText>& folded, std::size_t max_bytes) {
  std::deque<std::string> lines;
  std::size_t start = 0;
  while (start < summary.size()) {
    std::size_t end = summary.find('\n', start);
    if (end == std::string::npos) end = summary.size();
    if (end > start) lines.push_back(summary.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& m : folded) {
    if (m.role == llm::Role::kUser) {
      lines.push_back("Customer asked: " + FirstSentences(m.content, 1));
    } else if (m.role == llm::Role::kAssistant) {
      lines.push_back("Agent answered: " + FirstSentences(WithoutMarkers(m.content), 2));
    }
  }
  std::size_t total = 0;
  for (const auto& l : lines) total += l.size() + 1;
  while (total > max_bytes && lines.size() > 1) {
    total -= lines.front().size() + 1;
    lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

std::string ModelSummary(llm::ChatModel& model, const std::string& summary, const std::vector<TurnText>& folded,
                         llm::Usage* usage, bool* called) {
  if (called) *called = false;
  if (model.name() == "extractive") return ExtractiveSummary(summary, folded);
  llm::ChatRequest request;
  request.messages.push_back(
      {llm::Role::kSystem,
       "You maintain the memory of a customer-service conversation. Merge the summary so far and the new messages "
       "into one updated summary of at most 150 words. Keep names, order or account numbers, products, what the "
       "customer wants and what was already answered or promised. Write plain sentences, no preamble."});
  request.messages.push_back({llm::Role::kUser, "Summary so far:\n" + (summary.empty() ? std::string("(none)") : summary) +
                                                    "\n\nNew messages:\n" + Transcript(folded)});
  request.temperature = 0;
  request.max_tokens = 300;
  try {
    llm::ChatResponse r = model.Chat(request);
    if (called) *called = true;
    if (usage) *usage = r.usage;
    if (!r.content.empty()) return r.content;
  } catch (const std::exception&) {
    // The summary is an optimisation of the prompt; the turn goes on with the extractive one.
  }
  return ExtractiveSummary(summary, folded);
}

}  // namespace studio::agent
