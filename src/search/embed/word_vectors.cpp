#include "search/embed/word_vectors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace studio::search {
namespace {

static_assert(std::endian::native == std::endian::little, "the word-vector file is little-endian");

constexpr char kMagic[8] = {'S', 'T', 'U', 'D', 'I', 'O', 'W', 'V'};
constexpr std::size_t kHeaderBytes = 128;

template <typename T>
T ReadAt(const unsigned char* p, std::size_t offset) {
  T value;
  std::memcpy(&value, p + offset, sizeof value);
  return value;
}

}  // namespace

std::uint32_t Fnv1a32(std::string_view bytes) {
  std::uint32_t h = 0x811c9dc5U;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x01000193U;
  }
  return h;
}

WordVectors::WordVectors(const std::string& path) {
  auto fail = [&path](const std::string& problem) {
    return std::runtime_error("word vectors " + path + ": " + problem);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw fail(std::strerror(err));
  }
  bytes_ = static_cast<std::size_t>(st.st_size);
  if (bytes_ < kHeaderBytes) {
    ::close(fd);
    throw fail("file too short");
  }
  void* mapped = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file
  if (mapped == MAP_FAILED) throw fail(std::string("mmap: ") + std::strerror(map_errno));
  base_ = static_cast<const unsigned char*>(mapped);

  try {
    if (std::memcmp(base_, kMagic, sizeof kMagic) != 0) throw fail("not a word-vector file (bad magic)");
    const auto version = ReadAt<std::uint32_t>(base_, 8);
    if (version != kVersion) {
      throw fail("format version " + std::to_string(version) + ", expected " + std::to_string(kVersion) +
                 " (delete it and run scripts/fetch-models.sh)");
    }
    dimension_ = ReadAt<std::uint32_t>(base_, 12);
    count_ = ReadAt<std::uint32_t>(base_, 16);
    slots_ = ReadAt<std::uint32_t>(base_, 20);
    sif_a_ = ReadAt<float>(base_, 24);
    const auto words_at = ReadAt<std::uint64_t>(base_, 32);
    const auto words_bytes = ReadAt<std::uint64_t>(base_, 40);
    const auto vectors_at = ReadAt<std::uint64_t>(base_, 48);
    const auto weights_at = ReadAt<std::uint64_t>(base_, 56);
    const auto common_at = ReadAt<std::uint64_t>(base_, 64);
    const auto offsets_at = ReadAt<std::uint64_t>(base_, 72);
    const auto hash_at = ReadAt<std::uint64_t>(base_, 80);
    const auto file_bytes = ReadAt<std::uint64_t>(base_, 88);
    if (file_bytes != bytes_) throw fail("truncated or padded: header says " + std::to_string(file_bytes) + " bytes");
    if (dimension_ == 0 || dimension_ > 4096 || count_ == 0) throw fail("bad dimension or word count");
    if (slots_ <= count_ || !std::has_single_bit(slots_)) throw fail("bad hash table size");
    const std::uint64_t d = dimension_;
    const std::uint64_t n = count_;
    // Each section must lie inside the file, in order, with floats and integers 4-byte aligned.
    const struct {
      std::uint64_t at, size;
    } sections[] = {{words_at, words_bytes}, {vectors_at, n * d * 4}, {weights_at, n * 4},
                    {common_at, d * 4},      {offsets_at, n * 4},     {hash_at, std::uint64_t{slots_} * 4}};
    std::uint64_t previous_end = kHeaderBytes;
    for (std::size_t i = 0; i < std::size(sections); ++i) {
      const auto& s = sections[i];
      if (s.at < previous_end || s.at > bytes_ || s.size > bytes_ - s.at || (i > 0 && s.at % 4 != 0)) {
        throw fail("section " + std::to_string(i) + " out of bounds");
      }
      previous_end = s.at + s.size;
    }
    words_ = base_ + words_at;
    vectors_ = reinterpret_cast<const float*>(base_ + vectors_at);
    weights_ = reinterpret_cast<const float*>(base_ + weights_at);
    common_ = reinterpret_cast<const float*>(base_ + common_at);
    word_offsets_ = reinterpret_cast<const std::uint32_t*>(base_ + offsets_at);
    hash_ = reinterpret_cast<const std::uint32_t*>(base_ + hash_at);

    // The index tables are checked entry by entry (a few ms) so that a corrupt file fails here
    // rather than as an out-of-bounds read later. The vectors themselves are not touched.
    for (std::uint32_t i = 0; i < count_; ++i) {
      const std::uint64_t at = word_offsets_[i];
      if (at >= words_bytes || at + 1 + words_[at] > words_bytes) throw fail("word offset out of bounds");
      if (!std::isfinite(weights_[i])) throw fail("non-finite SIF weight");
    }
    std::uint32_t used = 0;
    for (std::uint32_t s = 0; s < slots_; ++s) {
      if (hash_[s] > count_) throw fail("hash entry out of bounds");
      used += hash_[s] != 0 ? 1 : 0;
    }
    if (used != count_) throw fail("hash table does not hold every word");
    double norm = 0;
    for (std::uint32_t k = 0; k < dimension_; ++k) norm += double{common_[k]} * common_[k];
    if (std::abs(norm - 1.0) > 1e-3) throw fail("common component is not a unit vector");
  } catch (...) {
    ::munmap(const_cast<unsigned char*>(base_), bytes_);
    throw;
  }
}

WordVectors::~WordVectors() { ::munmap(const_cast<unsigned char*>(base_), bytes_); }

std::optional<std::uint32_t> WordVectors::Find(std::string_view word) const {
  const std::uint32_t mask = slots_ - 1;
  std::uint32_t slot = Fnv1a32(word) & mask;
  // slots_ > count_ guarantees an empty slot, so this ends; the bound is for corrupt files.
  for (std::uint32_t probes = 0; probes < slots_; ++probes) {
    const std::uint32_t entry = hash_[slot];
    if (entry == 0) return std::nullopt;
    if (Word(entry - 1) == word) return entry - 1;
    slot = (slot + 1) & mask;
  }
  return std::nullopt;
}

std::string_view WordVectors::Word(std::uint32_t index) const {
  const unsigned char* record = words_ + word_offsets_[index];
  return {reinterpret_cast<const char*>(record + 1), record[0]};
}

std::span<const float> WordVectors::Vector(std::uint32_t index) const {
  return {vectors_ + std::size_t{index} * dimension_, dimension_};
}

}  // namespace studio::search
