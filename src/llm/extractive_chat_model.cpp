#include "llm/extractive_chat_model.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "llm/sentences.hpp"
#include "llm/terms.hpp"

namespace studio::llm {
namespace {

// A chosen sentence whose terms overlap a chosen one's this much (Jaccard) adds nothing.
constexpr double kRepeatOverlap = 0.7;
// What one token is worth in characters when keeping an answer within max_tokens.
constexpr std::size_t kCharsPerToken = 4;

struct Candidate {
  std::size_t passage = 0;   // index into request.context (its retrieval rank)
  std::size_t position = 0;  // sentence index within the passage
  std::string text;
  std::set<std::string> terms;
  double coverage = 0;
};

std::set<std::string> TermSet(std::string_view text) {
  const auto terms = ContentTerms(text);
  return {terms.begin(), terms.end()};
}

double Jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::size_t common = 0;
  for (const auto& t : a) common += b.contains(t) ? 1 : 0;
  const std::size_t all = a.size() + b.size() - common;
  return all == 0 ? 1.0 : static_cast<double>(common) / static_cast<double>(all);
}

const Message* LastUserMessage(const ChatRequest& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == Role::kUser) return &*it;
  }
  return nullptr;
}

// "Text." + 3 → "Text [3]."; a sentence without final punctuation gets a full stop after the marker.
std::string WithMarker(const std::string& sentence, int n) {
  const std::string marker = " [" + std::to_string(n) + "]";
  std::size_t end = sentence.size();
  while (end > 0 && (sentence[end - 1] == '"' || sentence[end - 1] == '\'' || sentence[end - 1] == ')')) --end;
  if (end > 0 && (sentence[end - 1] == '.' || sentence[end - 1] == '!' || sentence[end - 1] == '?')) {
    std::size_t cut = end - 1;
    while (cut > 0 && sentence[cut - 1] == '.') --cut;  // "…" written as dots stays together
    return sentence.substr(0, cut) + marker + sentence.substr(cut);
  }
  return sentence + marker + ".";
}

}  // namespace

ExtractiveChatModel::ExtractiveChatModel(ExtractiveOptions options) : options_(std::move(options)) {
  if (options_.max_sentences < 1) throw std::invalid_argument("extractive max sentences must be at least 1");
  if (!(options_.min_coverage > 0 && options_.min_coverage <= 1)) {
    throw std::invalid_argument("extractive min coverage must be in (0, 1]");
  }
  if (options_.unknown_answer.empty()) throw std::invalid_argument("extractive unknown answer must be set");
}

std::string ExtractiveChatModel::Answer(const ChatRequest& request) const {
  const Message* question = LastUserMessage(request);
  if (question == nullptr || request.context.empty()) return options_.unknown_answer;
  const std::set<std::string> asked = TermSet(question->content);
  if (asked.empty()) return options_.unknown_answer;

  // Sentences and document frequencies over the passages.
  std::vector<Candidate> candidates;
  std::map<std::string, int> df;
  for (std::size_t p = 0; p < request.context.size(); ++p) {
    std::set<std::string> in_passage;
    const auto sentences = SplitSentences(request.context[p].text);
    for (std::size_t s = 0; s < sentences.size(); ++s) {
      Candidate c{p, s, sentences[s], TermSet(sentences[s]), 0};
      in_passage.insert(c.terms.begin(), c.terms.end());
      candidates.push_back(std::move(c));
    }
    for (const auto& t : in_passage) ++df[t];
  }
  const double n = static_cast<double>(request.context.size());
  std::map<std::string, double> weight;
  double total = 0;
  for (const auto& t : asked) {
    const auto it = df.find(t);
    weight[t] = 1.0 + std::log(n / (it == df.end() ? 1.0 : it->second));
    total += weight[t];
  }
  double best = 0;
  for (Candidate& c : candidates) {
    double covered = 0;
    for (const auto& [t, w] : weight) covered += c.terms.contains(t) ? w : 0;
    c.coverage = covered / total;
    best = std::max(best, c.coverage);
  }
  const double floor = std::max(options_.min_coverage, best / 2);

  // Best first; ties go to the better-ranked passage, then the earlier sentence.
  std::vector<const Candidate*> ranked;
  for (const Candidate& c : candidates) {
    if (c.coverage >= floor) ranked.push_back(&c);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Candidate* a, const Candidate* b) { return a->coverage > b->coverage; });
  std::vector<const Candidate*> chosen;
  const std::size_t budget = request.max_tokens && *request.max_tokens > 0
                                 ? static_cast<std::size_t>(*request.max_tokens) * kCharsPerToken
                                 : 0;
  std::size_t length = 0;
  for (const Candidate* c : ranked) {
    if (chosen.size() >= static_cast<std::size_t>(options_.max_sentences)) break;
    const bool repeat = std::any_of(chosen.begin(), chosen.end(), [&](const Candidate* k) {
      return k->text == c->text || Jaccard(k->terms, c->terms) >= kRepeatOverlap;
    });
    if (repeat) continue;
    if (budget > 0 && !chosen.empty() && length + c->text.size() > budget) break;
    length += c->text.size() + 1;
    chosen.push_back(c);
  }
  if (chosen.empty()) return options_.unknown_answer;

  // Reading order, one marker after each run of sentences from the same passage.
  std::sort(chosen.begin(), chosen.end(), [](const Candidate* a, const Candidate* b) {
    return a->passage != b->passage ? a->passage < b->passage : a->position < b->position;
  });
  std::string answer;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const Candidate& c = *chosen[i];
    const bool last_of_run = i + 1 == chosen.size() || chosen[i + 1]->passage != c.passage;
    if (!answer.empty()) answer.push_back(' ');
    answer += last_of_run ? WithMarker(c.text, request.context[c.passage].n) : c.text;
  }
  return answer;
}

ChatResponse ExtractiveChatModel::Chat(const ChatRequest& request, const TokenCallback& on_token,
                                       const CancellationToken* cancel) {
  ValidateRequest(request);
  ChatResponse response;
  response.model = model();
  response.usage.reported = true;  // exactly zero: no model tokens were spent
  const std::string answer = Answer(request);
  if (!request.stream || !on_token) {
    response.content = answer;
    response.finish_reason = "stop";
    return response;
  }
  // Word by word, like a model's stream; each delta but the first carries its leading space.
  std::size_t begin = 0;
  while (begin < answer.size()) {
    if (cancel != nullptr && cancel->cancelled()) {
      response.finish_reason = kFinishCancelled;
      return response;
    }
    std::size_t end = answer.find(' ', begin + 1);
    if (end == std::string::npos) end = answer.size();
    const std::string_view delta = std::string_view(answer).substr(begin, end - begin);
    response.content.append(delta);
    begin = end;
    if (on_token(delta) == StreamAction::kStop) {
      response.finish_reason = kFinishCancelled;
      return response;
    }
  }
  response.finish_reason = "stop";
  return response;
}

}  // namespace studio::llm
