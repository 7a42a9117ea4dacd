#pragma once
// Byte-pair merging of one pre-tokenised piece: start from single bytes and repeatedly merge the
// adjacent pair whose concatenation has the lowest rank (the leftmost one on ties) until no
// adjacent pair is a token. This is tiktoken's algorithm; the tokens are the ranks of the parts.

#include <string_view>
#include <vector>

#include "search/tokenizer/rank_table.hpp"

namespace studio::search::detail {

/// Appends the tokens of `piece` (non-empty) to `out`. Picks one of the two implementations below
/// by length; both give identical results.
void BytePairEncode(const RankTable& ranks, std::string_view piece, std::vector<int>& out);

/// tiktoken's quadratic scan over the parts: fastest for the short pieces of ordinary text.
void BytePairEncodeScan(const RankTable& ranks, std::string_view piece, std::vector<int>& out);
/// A min-heap of candidate pairs (rank, position) over a linked list of parts: O(n log n), so a
/// pathological piece (a megabyte without a space) cannot stall a worker.
void BytePairEncodeHeap(const RankTable& ranks, std::string_view piece, std::vector<int>& out);

}  // namespace studio::search::detail
