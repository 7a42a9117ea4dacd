#include "search/tokenizer/bpe.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <queue>
#include <stdexcept>
#include <tuple>

namespace studio::search::detail {
namespace {

constexpr int kNoRank = std::numeric_limits<int>::max();
// Pieces up to this many bytes use the scan (parts fit in a stack array); longer ones the heap.
constexpr std::size_t kScanMaxBytes = 128;

int RankOrMax(const RankTable& ranks, std::string_view bytes) {
  const int r = ranks.Find(bytes);
  return r == RankTable::kNone ? kNoRank : r;
}

void EmitPart(const RankTable& ranks, std::string_view part, std::vector<int>& out) {
  const int r = ranks.Find(part);
  // Unreachable with a table that passed Parse (every single byte has a rank).
  if (r == RankTable::kNone) throw std::logic_error("BPE produced a part with no rank");
  out.push_back(r);
}

}  // namespace

void BytePairEncode(const RankTable& ranks, std::string_view piece, std::vector<int>& out) {
  if (piece.size() <= kScanMaxBytes) {
    BytePairEncodeScan(ranks, piece, out);
  } else {
    BytePairEncodeHeap(ranks, piece, out);
  }
}

void BytePairEncodeScan(const RankTable& ranks, std::string_view piece, std::vector<int>& out) {
  const std::size_t n = piece.size();
  if (n == 0) return;
  if (n == 1) {
    EmitPart(ranks, piece, out);
    return;
  }
  struct Part {
    std::size_t start;
    int rank;  // rank of the pair (this part + the next), kNoRank if none
  };
  // parts[0..count) with a sentinel part at n; stack storage for the common short pieces.
  std::vector<Part> heap_parts;
  std::array<Part, kScanMaxBytes + 1> stack_parts;
  Part* parts = stack_parts.data();
  if (n > kScanMaxBytes) {
    heap_parts.resize(n + 1);
    parts = heap_parts.data();
  }
  std::size_t count = n + 1;
  for (std::size_t i = 0; i + 1 < n; ++i) parts[i] = {i, RankOrMax(ranks, piece.substr(i, 2))};
  parts[n - 1] = {n - 1, kNoRank};
  parts[n] = {n, kNoRank};

  // The rank of parts i and i+1 merged, i.e. bytes [parts[i].start, parts[i + 2].start).
  auto pair_rank = [&](std::size_t i) {
    if (i + 2 >= count) return kNoRank;
    return RankOrMax(ranks, piece.substr(parts[i].start, parts[i + 2].start - parts[i].start));
  };

  while (true) {
    int best = kNoRank;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < count; ++i) {
      if (parts[i].rank < best) {
        best = parts[i].rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    // Merge parts at and at+1: drop at+1, then refresh the pairs that now end or start at `at`.
    for (std::size_t i = at + 1; i + 1 < count; ++i) parts[i] = parts[i + 1];
    --count;
    parts[at].rank = pair_rank(at);
    if (at > 0) parts[at - 1].rank = pair_rank(at - 1);
  }
  for (std::size_t i = 0; i + 1 < count; ++i) {
    EmitPart(ranks, piece.substr(parts[i].start, parts[i + 1].start - parts[i].start), out);
  }
}

void BytePairEncodeHeap(const RankTable& ranks, std::string_view piece, std::vector<int>& out) {
  const std::size_t n = piece.size();
  if (n == 0) return;
  // Parts are identified by their start byte; next/prev link the live ones (n = end sentinel).
  std::vector<std::size_t> next(n + 1);
  std::vector<std::size_t> prev(n + 1);
  std::vector<std::uint32_t> version(n + 1, 0);  // bumped whenever the pair starting here changes
  for (std::size_t i = 0; i <= n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? 0 : i - 1;
  }

  using Candidate = std::tuple<int, std::size_t, std::uint32_t>;  // rank, start, version
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push_pair = [&](std::size_t start) {
    ++version[start];
    const std::size_t mid = next[start];
    if (mid >= n) return;
    const std::size_t end = next[mid];
    const int r = ranks.Find(piece.substr(start, end - start));
    if (r != RankTable::kNone) heap.emplace(r, start, version[start]);
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push_pair(i);

  // Popping the smallest (rank, start) among current pairs is exactly the scan's choice of the
  // lowest rank, leftmost on ties, so both produce the same merges in the same order.
  while (!heap.empty()) {
    const auto [rank, start, ver] = heap.top();
    heap.pop();
    if (ver != version[start]) continue;  // stale: the pair at `start` changed since
    const std::size_t mid = next[start];
    next[start] = next[mid];
    prev[next[mid]] = start;
    ++version[mid];  // `mid` is no longer a part; its pending candidates are stale
    push_pair(start);
    if (start > 0) push_pair(prev[start]);
  }
  for (std::size_t i = 0; i < n; i = next[i]) EmitPart(ranks, piece.substr(i, next[i] - i), out);
}

}  // namespace studio::search::detail
