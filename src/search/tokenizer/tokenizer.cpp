#include "search/tokenizer/tokenizer.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "search/tokenizer/bpe.hpp"
#include "search/tokenizer/pretokenize.hpp"
#include "search/tokenizer/rank_table.hpp"

namespace studio::search {
namespace {

std::string EnvOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

/// Calls on_piece with every pre-tokenised piece, in order.
template <typename OnPiece>
void ForEachPiece(std::string_view text, OnPiece&& on_piece) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t end = detail::NextPieceEnd(text, i);
    on_piece(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<const detail::RankTable> ranks) : ranks_(std::move(ranks)) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::Load(const std::string& tiktoken_path) {
  std::ifstream in(tiktoken_path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open the cl100k_base rank file " + tiktoken_path +
                             ": run scripts/fetch-models.sh to download it (or set STUDIO_MODELS_DIR to the "
                             "directory that holds cl100k_base.tiktoken)");
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + tiktoken_path);
  try {
    auto ranks = std::make_unique<const detail::RankTable>(detail::RankTable::Parse(contents.str()));
    return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(ranks)));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(tiktoken_path + ": " + e.what() + " (run scripts/fetch-models.sh again)");
  }
}

std::string Tokenizer::DefaultPath() {
  std::string models = EnvOrEmpty("STUDIO_MODELS_DIR");
  if (models.empty()) {
    std::string cache = EnvOrEmpty("STUDIO_CACHE_DIR");
    if (cache.empty()) {
      std::string base = EnvOrEmpty("XDG_CACHE_HOME");
      if (base.empty()) base = EnvOrEmpty("HOME") + "/.cache";
      cache = base + "/studio";
    }
    models = cache + "/models";
  }
  return models + "/cl100k_base.tiktoken";
}

std::vector<int> Tokenizer::Encode(std::string_view utf8) const {
  std::vector<int> out;
  out.reserve(utf8.size() / 4 + 1);
  ForEachPiece(utf8, [&](std::string_view piece) {
    const int rank = ranks_->Find(piece);
    if (rank != detail::RankTable::kNone) {
      out.push_back(rank);
    } else {
      detail::BytePairEncode(*ranks_, piece, out);
    }
  });
  return out;
}

std::size_t Tokenizer::Count(std::string_view utf8) const {
  std::size_t count = 0;
  std::vector<int> scratch;
  ForEachPiece(utf8, [&](std::string_view piece) {
    if (ranks_->Find(piece) != detail::RankTable::kNone) {
      ++count;
      return;
    }
    scratch.clear();
    detail::BytePairEncode(*ranks_, piece, scratch);
    count += scratch.size();
  });
  return count;
}

std::string Tokenizer::Decode(std::span<const int> tokens) const {
  std::string out;
  for (int token : tokens) out += TokenBytes(token);
  return out;
}

std::string_view Tokenizer::TokenBytes(int token) const {
  const std::string_view bytes = ranks_->Bytes(token);
  if (bytes.empty()) throw std::out_of_range("unknown cl100k_base token id " + std::to_string(token));
  return bytes;
}

std::size_t Tokenizer::VocabularySize() const { return ranks_->size(); }

}  // namespace studio::search
