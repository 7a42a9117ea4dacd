#include "search/index/fusion.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace studio::search {

std::vector<FusedHit> ReciprocalRankFusion(std::span<const std::vector<Hit>> lists, double k,
                                           std::span<const double> weights) {
  if (!(k >= 0)) throw std::invalid_argument("ReciprocalRankFusion: k must be >= 0");
  if (!weights.empty() && weights.size() != lists.size()) {
    throw std::invalid_argument("ReciprocalRankFusion: one weight per list");
  }
  for (double w : weights) {
    if (!(w >= 0)) throw std::invalid_argument("ReciprocalRankFusion: weights must be >= 0");
  }
  std::vector<FusedHit> fused;
  std::unordered_map<std::int64_t, std::size_t> position;  // id -> index in fused
  for (std::size_t l = 0; l < lists.size(); ++l) {
    for (std::size_t r = 0; r < lists[l].size(); ++r) {
      const Hit& hit = lists[l][r];
      auto [it, inserted] = position.try_emplace(hit.id, fused.size());
      if (inserted) fused.push_back({hit.id, 0, std::vector<std::optional<ListRank>>(lists.size())});
      std::optional<ListRank>& slot = fused[it->second].lists[l];
      if (slot) continue;  // repeated within this list: the first (best) rank counts
      slot = ListRank{r + 1, hit.score};
      fused[it->second].score += (weights.empty() ? 1.0 : weights[l]) / (k + static_cast<double>(r + 1));
    }
  }
  auto best_rank = [](const FusedHit& h) {
    std::size_t best = std::numeric_limits<std::size_t>::max();
    for (const auto& entry : h.lists) {
      if (entry) best = std::min(best, entry->rank);
    }
    return best;
  };
  std::sort(fused.begin(), fused.end(), [&](const FusedHit& a, const FusedHit& b) {
    if (a.score != b.score) return a.score > b.score;
    const std::size_t ra = best_rank(a), rb = best_rank(b);
    return ra != rb ? ra < rb : a.id < b.id;
  });
  return fused;
}

double CosineSimilarity(std::span<const float> a, std::span<const float> b) {
  if (a.empty() || b.empty()) return 0;
  if (a.size() != b.size()) throw std::invalid_argument("CosineSimilarity: vectors of different sizes");
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / std::sqrt(na * nb);
}

std::vector<std::size_t> MaximalMarginalRelevance(std::span<const Candidate> candidates, std::size_t count,
                                                  double lambda) {
  if (!(lambda >= 0 && lambda <= 1)) throw std::invalid_argument("MaximalMarginalRelevance: lambda must be in [0, 1]");
  const std::size_t n = candidates.size();
  if (n == 0 || count == 0) return {};
  double lo = candidates[0].relevance, hi = candidates[0].relevance;
  for (const Candidate& c : candidates) {
    lo = std::min(lo, c.relevance);
    hi = std::max(hi, c.relevance);
  }
  std::vector<double> relevance(n, 1.0);
  if (hi > lo) {
    for (std::size_t i = 0; i < n; ++i) relevance[i] = (candidates[i].relevance - lo) / (hi - lo);
  }

  std::vector<std::size_t> picked;
  std::vector<bool> taken(n, false);
  std::vector<double> max_similarity(n, 0.0);  // to anything picked so far
  while (picked.size() < std::min(count, n)) {
    std::size_t best = n;
    double best_score = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (taken[i]) continue;
      const double score = lambda * relevance[i] - (1 - lambda) * max_similarity[i];
      if (best == n || score > best_score) {
        best = i;
        best_score = score;
      }
    }
    taken[best] = true;
    picked.push_back(best);
    for (std::size_t i = 0; i < n; ++i) {
      if (!taken[i]) {
        max_similarity[i] =
            std::max(max_similarity[i], CosineSimilarity(candidates[i].vector, candidates[best].vector));
      }
    }
  }
  return picked;
}

std::vector<std::size_t> DropNearDuplicates(std::span<const Candidate> candidates, double max_cosine) {
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const bool duplicate = std::any_of(kept.begin(), kept.end(), [&](std::size_t j) {
      return CosineSimilarity(candidates[i].vector, candidates[j].vector) > max_cosine;
    });
    if (!duplicate) kept.push_back(i);
  }
  return kept;
}

}  // namespace studio::search
