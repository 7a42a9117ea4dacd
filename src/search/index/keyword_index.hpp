#pragma once
// One workspace's keyword index, in memory: an inverted index (term -> chunks with the term's
// frequency) ranked by BM25, for embedded (SQLite) deployments.
//
// Why not SQLite FTS5: ranking is what costs there, and FTS5 pays it row by row through its
// expression engine. A five-word question over 11,000 chunks took 8.5 ms (bench/agent_bench.py:
// the "at least k of the words" levels are ORs of AND groups FTS5 evaluates one group at a time),
// over half of an agent turn; here the same search scores a few thousand postings in a loop,
// well under a millisecond. The FTS5 table also held every workspace's chunks in one ranking
// space, so its statistics mixed tenants; this index is per workspace.
//
// Like the vector index it is a cache of the database (the chunks' text), filled by the
// retriever's catch-up (ids above Watermark()) and told about deletions; every hit is hydrated
// from the database before it is returned. It is not saved: a process builds it on a workspace's
// first search (about 0.2 s per 10,000 chunks of 150 words).
//
// Ranking (what `Search` returns first): chunks with more of the query's distinct terms (for
// queries of more than five terms: chunks with every term, then the rest), then by BM25 (k1 1.2,
// b 0.75, the formula and constants of FTS5's bm25(): idf = ln((N - n + 0.5) / (n + 0.5)), at
// least 1e-6, N and n counted in the workspace), then by id. Terms are FTS5's (fts_tokenizer.hpp).
// This is the ranking SQLite's FTS5 queries gave before (levels of "at least k of the words"),
// and measures the same on the retrieval-quality set.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "search/index/vector_index.hpp"

namespace studio::search {

class KeywordIndex {
 public:
  /// Remove() compacts the postings when more than this fraction of them belongs to removed chunks.
  explicit KeywordIndex(double compact_ratio = 0.25) : compact_ratio_(compact_ratio) {}
  KeywordIndex(const KeywordIndex&) = delete;
  KeywordIndex& operator=(const KeywordIndex&) = delete;

  /// Indexes a chunk's text. An id already present is left as it is (ids are never reused, so
  /// catching up twice is harmless).
  void Add(std::int64_t id, std::string_view text);
  /// Forgets a chunk; unknown ids are ignored.
  void Remove(std::int64_t id);

  /// The best `limit` chunks for the query's terms, best first (see the ranking above); the score
  /// is the chunk's BM25 (> 0). No terms in common with any chunk: nothing.
  std::vector<Hit> Search(std::string_view query, std::size_t limit) const;

  /// The highest chunk id the index has been brought up to (catch-up adds the ones above it).
  std::int64_t Watermark() const { return watermark_.load(); }
  void AdvanceWatermark(std::int64_t id);

  std::size_t size() const;

 private:
  // A term's postings, slots ascending: each is varint(slot - previous slot), varint(frequency),
  // about 2.5 bytes instead of 8 for a pair of 32-bit integers (1.4 KB per 150-word chunk with
  // pairs; search decodes a list in one pass).
  struct PostingList {
    std::vector<std::uint8_t> bytes;
    std::uint32_t last_slot = 0;

    void Append(std::uint32_t slot, std::uint32_t frequency);
    template <typename F>
    void ForEach(F&& f) const;
  };
  struct TermHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void CompactLocked();

  const double compact_ratio_;
  std::atomic<std::int64_t> watermark_{0};

  mutable std::shared_mutex mutex_;
  // Guarded by mutex_:
  std::unordered_map<std::string, std::uint32_t, TermHash, std::equal_to<>> terms_;
  std::vector<PostingList> postings_;                        // by term number
  std::vector<std::int64_t> ids_;                            // by slot
  std::vector<std::uint32_t> lengths_;                       // by slot: the chunk's number of tokens
  std::vector<std::uint32_t> distinct_;                      // by slot: its number of distinct terms (= postings)
  std::vector<bool> alive_;                                  // by slot
  std::unordered_map<std::int64_t, std::uint32_t> slot_of_;  // live chunks only
  std::uint64_t live_tokens_ = 0;
  std::size_t postings_total_ = 0;
  std::size_t postings_dead_ = 0;
};

}  // namespace studio::search
