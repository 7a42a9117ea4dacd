#include "search/tokenizer/rank_table.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace studio::search::detail {
namespace {

// Ranks above this are rejected rather than allocated for (cl100k_base has about 100k).
constexpr long kMaxRank = 1 << 22;

std::uint64_t Mix(std::uint64_t h) {
  h ^= h >> 31;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 29;
  return h;
}

// Eight bytes at a time: keys are looked up once per BPE candidate pair, so this is hot.
std::uint64_t HashBytes(std::string_view k) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ k.size();
  std::size_t i = 0;
  for (; i + 8 <= k.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, k.data() + i, 8);
    h = Mix((h ^ w) * 0xbf58476d1ce4e5b9ULL);
  }
  std::uint64_t w = 0;
  if (i < k.size()) std::memcpy(&w, k.data() + i, k.size() - i);
  return Mix((h ^ w) * 0xbf58476d1ce4e5b9ULL);
}

// Standard base64 with padding, as in .tiktoken files, appended to `out`. Hand-written because it
// is a dozen lines: the tree's only base64 is base64url in auth/, and OpenSSL's EVP_DecodeBlock
// leaves padding bytes in its output.
bool AppendBase64Decoded(std::string_view in, std::string& out) {
  static constexpr std::array<std::int8_t, 256> kValues = [] {
    std::array<std::int8_t, 256> v{};
    v.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return v;
  }();
  if (in.empty() || in.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (in.back() == '=') padding = in[in.size() - 2] == '=' ? 2 : 1;
  std::uint32_t acc = 0;
  for (std::size_t i = 0; i < in.size() - padding; ++i) {
    const std::int8_t v = kValues[static_cast<unsigned char>(in[i])];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (i % 4 == 3) {
      out.push_back(static_cast<char>(acc >> 16));
      out.push_back(static_cast<char>(acc >> 8));
      out.push_back(static_cast<char>(acc));
      acc = 0;
    }
  }
  if (padding == 1) {  // 3 symbols = 18 bits = 2 bytes + 2 zero bits
    out.push_back(static_cast<char>(acc >> 10));
    out.push_back(static_cast<char>(acc >> 2));
  } else if (padding == 2) {  // 2 symbols = 12 bits = 1 byte + 4 zero bits
    out.push_back(static_cast<char>(acc >> 4));
  }
  return true;
}

[[noreturn]] void Malformed(std::size_t line_no, const std::string& why) {
  throw std::runtime_error("malformed .tiktoken file, line " + std::to_string(line_no) + ": " + why);
}

}  // namespace

RankTable RankTable::Parse(std::string_view contents) {
  RankTable t;
  // First pass: decode every token into bytes_ (one buffer, no per-token allocation).
  struct Entry {
    std::uint32_t offset;
    std::uint32_t length;
    long rank;
    std::size_t line_no;
  };
  std::vector<Entry> entries;
  t.bytes_.reserve(contents.size() / 2);
  long max_rank = -1;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < contents.size()) {
    std::size_t eol = contents.find('\n', pos);
    if (eol == std::string_view::npos) eol = contents.size();
    std::string_view line = contents.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) Malformed(line_no, "expected \"base64 rank\"");
    const std::size_t offset = t.bytes_.size();
    if (!AppendBase64Decoded(line.substr(0, space), t.bytes_) || t.bytes_.size() == offset) {
      Malformed(line_no, "invalid base64");
    }
    if (t.bytes_.size() > 0xFFFFFFFFu) Malformed(line_no, "file too large");
    const std::string_view rank_text = line.substr(space + 1);
    long rank = -1;
    const auto [end, ec] = std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (ec != std::errc() || end != rank_text.data() + rank_text.size() || rank < 0 || rank > kMaxRank) {
      Malformed(line_no, "invalid rank");
    }
    entries.push_back(
        Entry{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(t.bytes_.size() - offset), rank, line_no});
    max_rank = std::max(max_rank, rank);
  }
  if (entries.empty()) throw std::runtime_error("malformed .tiktoken file: no ranks");

  // Second pass: index by rank and by bytes.
  t.spans_.resize(static_cast<std::size_t>(max_rank + 1));
  std::size_t capacity = 16;
  while (capacity < entries.size() * 2) capacity *= 2;
  t.slots_.resize(capacity);
  t.mask_ = capacity - 1;
  for (const Entry& e : entries) {
    const std::string_view bytes = std::string_view(t.bytes_).substr(e.offset, e.length);
    Span& span = t.spans_[static_cast<std::size_t>(e.rank)];
    if (span.length != 0) Malformed(e.line_no, "duplicate rank " + std::to_string(e.rank));
    if (t.Find(bytes) != kNone) Malformed(e.line_no, "duplicate token");
    span = Span{e.offset, e.length};
    t.Insert(HashBytes(bytes), static_cast<std::uint32_t>(e.rank));
    ++t.count_;
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (t.Find(std::string_view(&c, 1)) == kNone) {
      throw std::runtime_error("malformed .tiktoken file: byte " + std::to_string(b) + " has no rank");
    }
  }
  return t;
}

void RankTable::Insert(std::uint64_t hash, std::uint32_t rank) {
  std::size_t i = hash & mask_;
  while (slots_[i].rank != kEmpty) i = (i + 1) & mask_;
  slots_[i] = Slot{rank, static_cast<std::uint32_t>(hash >> 32)};
}

int RankTable::Find(std::string_view bytes) const {
  if (slots_.empty()) return kNone;
  const std::uint64_t hash = HashBytes(bytes);
  const auto tag = static_cast<std::uint32_t>(hash >> 32);
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.rank == kEmpty) return kNone;
    if (slot.hash != tag) continue;
    const Span& span = spans_[slot.rank];
    if (span.length == bytes.size() && std::memcmp(bytes_.data() + span.offset, bytes.data(), bytes.size()) == 0) {
      return static_cast<int>(slot.rank);
    }
  }
}

std::string_view RankTable::Bytes(int rank) const {
  if (rank < 0 || static_cast<std::size_t>(rank) >= spans_.size()) return {};
  const Span& span = spans_[static_cast<std::size_t>(rank)];
  return std::string_view(bytes_).substr(span.offset, span.length);
}

}  // namespace studio::search::detail
