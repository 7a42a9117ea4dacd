#pragma once
// Hybrid ranking, pure functions: reciprocal-rank fusion of ranked lists (keyword + vector),
// then maximal marginal relevance and a near-duplicate filter to keep the context diverse.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "search/index/vector_index.hpp"

namespace studio::search {

/// Where one input list placed a fused result.
struct ListRank {
  std::size_t rank = 0;  // 1-based
  float score = 0;       // the score that list gave it

  bool operator==(const ListRank&) const = default;
};

struct FusedHit {
  std::int64_t id = 0;
  /// Sum of weight / (k + rank) over the lists that contain the id.
  double score = 0;
  /// One entry per input list, in input order; std::nullopt where that list lacks the id.
  /// Kept so an answer can explain why a source was chosen.
  std::vector<std::optional<ListRank>> lists;
};

/// The constant from Cormack, Clarke & Büttcher (2009): large enough that one first place does
/// not outweigh agreement between lists.
inline constexpr double kDefaultRrfK = 60;

/// Reciprocal-rank fusion. Each list is best first; an id repeated within a list counts once, at
/// its best rank. Result best first; equal scores go to the better best rank, then the lower id.
/// `weights` (one per list, >= 0; empty = all 1) scale each list's 1 / (k + rank): weighted RRF,
/// for when one list is known to be more reliable than the other.
std::vector<FusedHit> ReciprocalRankFusion(std::span<const std::vector<Hit>> lists, double k = kDefaultRrfK,
                                           std::span<const double> weights = {});

struct Candidate {
  std::int64_t id = 0;
  /// Any scale, higher is better (e.g. the fused score).
  double relevance = 0;
  /// Its embedding; empty when unknown, which counts as similar to nothing.
  std::span<const float> vector;
};

/// Cosine similarity; 0 when either vector is empty or zero. Throws std::invalid_argument when
/// both are non-empty with different sizes.
double CosineSimilarity(std::span<const float> a, std::span<const float> b);

/// Maximal marginal relevance (Carbonell & Goldstein 1998): repeatedly picks the candidate that
/// maximises lambda * relevance - (1 - lambda) * (highest cosine to an already picked one), up
/// to `count`. Relevance is first rescaled to [0, 1] (min-max; all 1 when equal) so it is on the
/// cosine's scale — fused scores are around 0.03. lambda 1 keeps relevance order, 0 maximises
/// diversity. Returns indices into `candidates` in pick order; ties go to the lower index.
std::vector<std::size_t> MaximalMarginalRelevance(std::span<const Candidate> candidates, std::size_t count,
                                                  double lambda = 0.7);

/// Walks `candidates` in order and keeps each one whose cosine to every kept one is at most
/// `max_cosine`. Returns the kept indices.
std::vector<std::size_t> DropNearDuplicates(std::span<const Candidate> candidates, double max_cosine = 0.95);

}  // namespace studio::search
