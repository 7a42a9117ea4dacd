#pragma once
// The BPE vocabulary: byte string <-> rank (the rank is the token id), parsed from a .tiktoken
// file (one "base64(bytes) rank" per line). Immutable once parsed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace studio::search::detail {

class RankTable {
 public:
  static constexpr int kNone = -1;

  /// Parses a .tiktoken file's contents. Throws std::runtime_error naming the line on malformed
  /// input, a duplicate token or rank, or when a single byte has no rank (then some inputs could
  /// not be encoded at all).
  static RankTable Parse(std::string_view contents);

  /// The rank of exactly these bytes, or kNone.
  int Find(std::string_view bytes) const;
  /// The bytes of `rank`; empty when there is no such rank.
  std::string_view Bytes(int rank) const;
  /// Number of ranks present.
  std::size_t size() const { return count_; }

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;  // 0: no token has this rank
  };
  struct Slot {
    std::uint32_t rank = kEmpty;
    std::uint32_t hash = 0;  // low bits of the key's hash, compared before the bytes
  };
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

  void Insert(std::uint64_t hash, std::uint32_t rank);

  std::string bytes_;        // every token's bytes, back to back
  std::vector<Span> spans_;  // by rank
  std::vector<Slot> slots_;  // open addressing, linear probing, power-of-two size
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

}  // namespace studio::search::detail
