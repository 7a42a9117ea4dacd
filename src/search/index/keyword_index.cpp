#include "search/index/keyword_index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "search/index/fts_tokenizer.hpp"

namespace studio::search {
namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
// Longer queries rank chunks with every term first, then all others by BM25 alone, not by how
// many terms they have: on the retrieval-quality set (docs/RETRIEVAL_QUALITY.md) counting terms
// for long queries too measured lower (recall@10 0.788 against 0.797, MRR 0.548 against 0.554).
constexpr std::size_t kLevelTerms = 5;

void AppendVarint(std::vector<std::uint8_t>& out, std::uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

std::uint32_t ReadVarint(const std::uint8_t*& p) {
  std::uint32_t v = 0;
  int shift = 0;
  while ((*p & 0x80) != 0) {
    v |= static_cast<std::uint32_t>(*p++ & 0x7F) << shift;
    shift += 7;
  }
  v |= static_cast<std::uint32_t>(*p++) << shift;
  return v;
}

}  // namespace

void KeywordIndex::PostingList::Append(std::uint32_t slot, std::uint32_t frequency) {
  AppendVarint(bytes, slot - last_slot);
  AppendVarint(bytes, frequency);
  last_slot = slot;
}

template <typename F>
void KeywordIndex::PostingList::ForEach(F&& f) const {
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* const end = p + bytes.size();
  std::uint32_t slot = 0;
  while (p < end) {
    slot += ReadVarint(p);
    const std::uint32_t frequency = ReadVarint(p);
    f(slot, frequency);
  }
}

void KeywordIndex::Add(std::int64_t id, std::string_view text) {
  // Tokenised before taking the lock: searches go on meanwhile.
  std::unordered_map<std::string, std::uint32_t, TermHash, std::equal_to<>> counts;
  std::uint64_t tokens = 0;
  Tokenize(text, TokenizeFor::kDocument, [&](std::string_view token) {
    ++tokens;
    auto it = counts.find(token);
    if (it == counts.end()) it = counts.emplace(std::string(token), 0).first;
    ++it->second;
  });
  tokens = std::min<std::uint64_t>(tokens, std::numeric_limits<std::uint32_t>::max());

  std::unique_lock lock(mutex_);
  if (slot_of_.contains(id)) return;
  if (ids_.size() >= std::numeric_limits<std::uint32_t>::max()) throw std::length_error("KeywordIndex: full");
  const auto slot = static_cast<std::uint32_t>(ids_.size());
  ids_.push_back(id);
  lengths_.push_back(static_cast<std::uint32_t>(tokens));
  distinct_.push_back(static_cast<std::uint32_t>(counts.size()));
  alive_.push_back(true);
  slot_of_.emplace(id, slot);
  live_tokens_ += tokens;
  postings_total_ += counts.size();
  for (auto& [term, frequency] : counts) {
    auto it = terms_.find(term);
    if (it == terms_.end()) {
      it = terms_.emplace(term, static_cast<std::uint32_t>(postings_.size())).first;
      postings_.emplace_back();
    }
    postings_[it->second].Append(slot, frequency);
  }
}

void KeywordIndex::Remove(std::int64_t id) {
  std::unique_lock lock(mutex_);
  auto it = slot_of_.find(id);
  if (it == slot_of_.end()) return;
  const std::uint32_t slot = it->second;
  slot_of_.erase(it);
  alive_[slot] = false;
  live_tokens_ -= lengths_[slot];
  postings_dead_ += distinct_[slot];
  if (static_cast<double>(postings_dead_) > compact_ratio_ * static_cast<double>(postings_total_)) CompactLocked();
}

// Drops the removed chunks' postings and renumbers the live slots in order, so postings stay
// sorted by slot.
void KeywordIndex::CompactLocked() {
  std::vector<std::uint32_t> renumbered(ids_.size(), 0);
  std::vector<std::int64_t> ids;
  std::vector<std::uint32_t> lengths, distinct;
  for (std::uint32_t slot = 0; slot < ids_.size(); ++slot) {
    if (!alive_[slot]) continue;
    renumbered[slot] = static_cast<std::uint32_t>(ids.size());
    slot_of_[ids_[slot]] = renumbered[slot];
    ids.push_back(ids_[slot]);
    lengths.push_back(lengths_[slot]);
    distinct.push_back(distinct_[slot]);
  }
  for (PostingList& list : postings_) {
    PostingList kept;
    list.ForEach([&](std::uint32_t slot, std::uint32_t frequency) {
      if (alive_[slot]) kept.Append(renumbered[slot], frequency);
    });
    kept.bytes.shrink_to_fit();
    list = std::move(kept);
  }
  ids_ = std::move(ids);
  lengths_ = std::move(lengths);
  distinct_ = std::move(distinct);
  alive_.assign(ids_.size(), true);
  postings_total_ -= postings_dead_;
  postings_dead_ = 0;
}

std::vector<Hit> KeywordIndex::Search(std::string_view query, std::size_t limit) const {
  std::vector<std::string> words;
  Tokenize(query, TokenizeFor::kQuery, [&](std::string_view token) {
    if (std::find(words.begin(), words.end(), token) == words.end()) words.emplace_back(token);
  });

  std::shared_lock lock(mutex_);
  std::vector<const PostingList*> lists;
  for (const std::string& word : words) {
    auto it = terms_.find(word);
    if (it != terms_.end()) lists.push_back(&postings_[it->second]);
  }
  const std::size_t live = slot_of_.size();
  if (lists.empty() || live == 0 || limit == 0) return {};

  const double n = static_cast<double>(live);
  const double average_length = std::max(static_cast<double>(live_tokens_) / n, 1e-9);
  std::vector<double> score(ids_.size(), 0);
  std::vector<std::uint8_t> matched(ids_.size(), 0);  // at most 255 terms count (queries have fewer)
  std::vector<std::uint32_t> touched;
  for (const PostingList* list : lists) {
    std::size_t frequency = 0;
    list->ForEach([&](std::uint32_t slot, std::uint32_t) { frequency += alive_[slot] ? 1 : 0; });
    if (frequency == 0) continue;
    const double df = static_cast<double>(frequency);
    const double idf = std::max(std::log((n - df + 0.5) / (df + 0.5)), 1e-6);
    list->ForEach([&](std::uint32_t slot, std::uint32_t tf_count) {
      if (!alive_[slot]) return;
      const double tf = tf_count;
      score[slot] += idf * tf * (kK1 + 1) / (tf + kK1 * (1 - kB + kB * lengths_[slot] / average_length));
      if (matched[slot] == 0) touched.push_back(slot);
      if (matched[slot] < std::numeric_limits<std::uint8_t>::max()) ++matched[slot];
    });
  }
  if (words.size() > kLevelTerms) {
    for (std::uint32_t slot : touched) matched[slot] = matched[slot] == words.size() ? 1 : 0;
  }
  auto better = [&](std::uint32_t a, std::uint32_t b) {
    if (matched[a] != matched[b]) return matched[a] > matched[b];
    if (score[a] != score[b]) return score[a] > score[b];
    return ids_[a] < ids_[b];
  };
  const std::size_t k = std::min(limit, touched.size());
  std::partial_sort(touched.begin(), touched.begin() + static_cast<std::ptrdiff_t>(k), touched.end(), better);
  std::vector<Hit> hits;
  hits.reserve(k);
  for (std::size_t i = 0; i < k; ++i) hits.push_back({ids_[touched[i]], static_cast<float>(score[touched[i]])});
  return hits;
}

void KeywordIndex::AdvanceWatermark(std::int64_t id) {
  std::int64_t current = watermark_.load();
  while (id > current && !watermark_.compare_exchange_weak(current, id)) {
  }
}

std::size_t KeywordIndex::size() const {
  std::shared_lock lock(mutex_);
  return slot_of_.size();
}

}  // namespace studio::search
