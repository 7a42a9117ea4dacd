#pragma once
// Checks a file written by hnswlib 0.6.2's saveIndex before hnswlib is allowed to read it.
// hnswlib trusts its input: a truncated or damaged file makes loadIndex allocate whatever the
// header says and makes searches follow links out of bounds. This walks the whole file once,
// checks every header field, size and link against the layout hnswlib expects, and hashes it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace studio::search::detail {

struct HnswFileInfo {
  /// Empty when the file is usable; otherwise why not (for logs).
  std::string problem;
  std::uint64_t bytes = 0;
  std::uint64_t elements = 0;  // including deleted ones
  std::uint64_t deleted = 0;
  std::uint64_t m = 0;
  std::uint64_t ef_construction = 0;
  /// SHA-256 of the whole file, lowercase hex.
  std::string sha256;
};

/// Reads `file` and checks it holds an hnswlib 0.6.2 index of float vectors of `dimension`.
/// Never throws for bad content; I/O errors are reported as problems too.
HnswFileInfo InspectHnswFile(const std::filesystem::path& file, std::size_t dimension);

}  // namespace studio::search::detail
