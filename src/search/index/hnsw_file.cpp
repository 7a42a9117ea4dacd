#include "search/index/hnsw_file.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace studio::search::detail {
namespace {

// The header hnswlib 0.6.2 saveIndex writes, field by field (hnswalg.h): offsetLevel0_,
// max_elements_, cur_element_count, size_data_per_element_, label_offset_, offsetData_ (size_t),
// maxlevel_ (int), enterpoint_node_ (unsigned), maxM_, maxM0_, M_ (size_t), mult_ (double),
// ef_construction_ (size_t). Then cur_element_count level-0 records, then per element a uint32
// byte count followed by that many bytes of upper-level link lists.
struct Header {
  std::uint64_t offset_level0 = 0;
  std::uint64_t max_elements = 0;
  std::uint64_t element_count = 0;
  std::uint64_t size_data_per_element = 0;
  std::uint64_t label_offset = 0;
  std::uint64_t offset_data = 0;
  std::int32_t max_level = 0;
  std::uint32_t entry_point = 0;
  std::uint64_t max_m = 0;
  std::uint64_t max_m0 = 0;
  std::uint64_t m = 0;
  double mult = 0;
  std::uint64_t ef_construction = 0;
};

constexpr std::uint64_t kHeaderBytes = 6 * 8 + 4 + 4 + 3 * 8 + 8 + 8;
constexpr std::uint64_t kMaxM = 1024;   // far above any sensible M; bounds the link list sizes
constexpr std::int32_t kMaxLevel = 64;  // levels are ~log_M(n); 64 cannot be reached
constexpr std::uint32_t kDeleteMark = 0x01;

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Reads the file front to back, hashing every byte it hands out.
class HashingReader {
 public:
  explicit HashingReader(const std::filesystem::path& file)
      : file_(std::fopen(file.c_str(), "rb")), ctx_(EVP_MD_CTX_new()) {
    if (file_) std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
    if (ctx_) EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  bool ok() const { return file_ != nullptr && ctx_ != nullptr; }

  bool Read(void* out, std::size_t n) {
    if (n == 0) return true;
    if (std::fread(out, 1, n, file_.get()) != n) return false;
    EVP_DigestUpdate(ctx_.get(), out, n);
    consumed_ += n;
    return true;
  }
  template <class T>
  bool ReadPod(T& value) {
    return Read(&value, sizeof(T));
  }
  std::uint64_t consumed() const { return consumed_; }
  bool AtEnd() { return std::fgetc(file_.get()) == EOF && !std::ferror(file_.get()); }

  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 0xf];
    }
    return hex;
  }

 private:
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter> ctx_;
  std::uint64_t consumed_ = 0;
};

bool ReadHeader(HashingReader& in, Header& h) {
  return in.ReadPod(h.offset_level0) && in.ReadPod(h.max_elements) && in.ReadPod(h.element_count) &&
         in.ReadPod(h.size_data_per_element) && in.ReadPod(h.label_offset) && in.ReadPod(h.offset_data) &&
         in.ReadPod(h.max_level) && in.ReadPod(h.entry_point) && in.ReadPod(h.max_m) && in.ReadPod(h.max_m0) &&
         in.ReadPod(h.m) && in.ReadPod(h.mult) && in.ReadPod(h.ef_construction);
}

std::uint32_t LoadU32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A link list: a uint32 whose low 16 bits are the count (hnswlib's getListCount reads an unsigned
// short) followed by `capacity` neighbour ids.
std::string CheckLinks(const unsigned char* list, std::uint64_t capacity, std::uint64_t elements,
                       std::vector<std::uint32_t>* neighbours) {
  std::uint32_t count = LoadU32(list) & 0xffffu;
  if (count > capacity) return "link count above M";
  for (std::uint32_t j = 0; j < count; ++j) {
    std::uint32_t id = LoadU32(list + 4 + 4 * static_cast<std::size_t>(j));
    if (id >= elements) return "link to a missing element";
    if (neighbours) neighbours->push_back(id);
  }
  return {};
}

std::string CheckHeader(const Header& h, std::uint64_t file_bytes, std::size_t dimension) {
  if (h.offset_level0 != 0) return "unexpected level-0 offset";
  if (h.m < 2 || h.m > kMaxM || h.max_m != h.m || h.max_m0 != 2 * h.m) return "unexpected M";
  const std::uint64_t links0 = h.max_m0 * 4 + 4;
  const std::uint64_t data = static_cast<std::uint64_t>(dimension) * sizeof(float);
  if (h.offset_data != links0 || h.label_offset != links0 + data || h.size_data_per_element != links0 + data + 8) {
    return "record layout does not match the dimension";
  }
  if (h.element_count > std::numeric_limits<std::uint32_t>::max()) return "too many elements";
  if (h.element_count > (file_bytes - kHeaderBytes) / h.size_data_per_element)
    return "file shorter than its header says";
  if (h.max_elements < h.element_count) return "capacity below element count";
  if (!std::isfinite(h.mult) || std::abs(h.mult - 1 / std::log(static_cast<double>(h.m))) > 1e-9) {
    return "unexpected level multiplier";
  }
  if (h.ef_construction < h.m || h.ef_construction > 100000) return "unexpected ef_construction";
  if (h.element_count == 0) {
    if (h.max_level != -1 || h.entry_point != std::numeric_limits<std::uint32_t>::max()) return "bad empty header";
  } else if (h.max_level < 0 || h.max_level > kMaxLevel || h.entry_point >= h.element_count) {
    return "bad entry point";
  }
  return {};
}

}  // namespace

HnswFileInfo InspectHnswFile(const std::filesystem::path& file, std::size_t dimension) {
  HnswFileInfo info;
  std::error_code ec;
  const std::uint64_t file_bytes = std::filesystem::file_size(file, ec);
  if (ec) {
    info.problem = "cannot stat index file: " + ec.message();
    return info;
  }
  info.bytes = file_bytes;
  if (file_bytes < kHeaderBytes) {
    info.problem = "index file shorter than its header";
    return info;
  }
  HashingReader in(file);
  if (!in.ok()) {
    info.problem = "cannot open index file";
    return info;
  }
  Header h;
  if (!ReadHeader(in, h)) {
    info.problem = "cannot read index header";
    return info;
  }
  if (std::string problem = CheckHeader(h, file_bytes, dimension); !problem.empty()) {
    info.problem = problem;
    return info;
  }

  // Level 0: one fixed-size record per element (links, vector, label).
  std::vector<unsigned char> record(h.size_data_per_element);
  for (std::uint64_t i = 0; i < h.element_count; ++i) {
    if (!in.Read(record.data(), record.size())) {
      info.problem = "truncated level-0 records";
      return info;
    }
    if (std::string problem = CheckLinks(record.data(), h.max_m0, h.element_count, nullptr); !problem.empty()) {
      info.problem = "level 0: " + problem;
      return info;
    }
    if ((record[2] & kDeleteMark) != 0) ++info.deleted;
  }

  // Upper levels. A search walks level L only through elements that have level L, so every
  // upper-level neighbour must reach that level too; checked once all levels are known.
  const std::uint64_t links = h.max_m * 4 + 4;
  std::vector<std::int32_t> levels(h.element_count, 0);
  std::vector<std::pair<std::uint32_t, std::int32_t>> upper_neighbours;  // (element, level it is reached at)
  std::vector<unsigned char> block;
  std::vector<std::uint32_t> neighbours;
  for (std::uint64_t i = 0; i < h.element_count; ++i) {
    std::uint32_t block_bytes = 0;
    if (!in.ReadPod(block_bytes)) {
      info.problem = "truncated link lists";
      return info;
    }
    if (block_bytes % links != 0 || block_bytes / links > static_cast<std::uint64_t>(h.max_level)) {
      info.problem = "bad upper-level link list size";
      return info;
    }
    if (block_bytes > file_bytes - in.consumed()) {
      info.problem = "truncated link lists";
      return info;
    }
    block.resize(block_bytes);
    if (!in.Read(block.data(), block.size())) {
      info.problem = "truncated link lists";
      return info;
    }
    levels[i] = static_cast<std::int32_t>(block_bytes / links);
    for (std::int32_t level = 1; level <= levels[i]; ++level) {
      neighbours.clear();
      const unsigned char* list = block.data() + (static_cast<std::size_t>(level) - 1) * links;
      if (std::string problem = CheckLinks(list, h.max_m, h.element_count, &neighbours); !problem.empty()) {
        info.problem = "upper level: " + problem;
        return info;
      }
      for (std::uint32_t n : neighbours) upper_neighbours.emplace_back(n, level);
    }
  }
  if (in.consumed() != file_bytes || !in.AtEnd()) {
    info.problem = "trailing bytes after the index";
    return info;
  }
  for (const auto& [element, level] : upper_neighbours) {
    if (levels[element] < level) {
      info.problem = "upper-level link to an element without that level";
      return info;
    }
  }
  if (h.element_count > 0 && levels[h.entry_point] != h.max_level) {
    info.problem = "entry point is not on the top level";
    return info;
  }

  info.elements = h.element_count;
  info.m = h.m;
  info.ef_construction = h.ef_construction;
  info.sha256 = in.HexDigest();
  return info;
}

}  // namespace studio::search::detail
