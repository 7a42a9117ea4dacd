#pragma once
// Exact cl100k_base tokenisation (the BPE of GPT-4, GPT-3.5 and text-embedding-3), for counting
// tokens against model limits and for cutting text into token-sized chunks.
//
// The ranks come from cl100k_base.tiktoken, which scripts/fetch-models.sh puts in the models
// directory at setup. Encode() treats every input as ordinary text: "<|endoftext|>" and the other
// special-token strings are encoded as the characters they are, never as special tokens.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace studio::search {

namespace detail {
class RankTable;
}

class Tokenizer {
 public:
  /// Loads a .tiktoken rank file (about 20 ms for cl100k_base's 100k ranks). Throws
  /// std::runtime_error when the file is missing (the message says to run scripts/fetch-models.sh)
  /// or malformed.
  static std::shared_ptr<const Tokenizer> Load(const std::string& tiktoken_path);

  /// Where fetch-models.sh puts cl100k_base.tiktoken: $STUDIO_MODELS_DIR, else
  /// $STUDIO_CACHE_DIR/models, else ${XDG_CACHE_HOME:-$HOME/.cache}/studio/models.
  static std::string DefaultPath();

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  /// Token ids of `utf8`, identical to tiktoken's encode_ordinary. Any bytes are accepted: bytes
  /// that are not valid UTF-8 are encoded as byte tokens. Thread-safe (the object is immutable).
  std::vector<int> Encode(std::string_view utf8) const;
  /// Number of tokens Encode would return, without building the vector.
  std::size_t Count(std::string_view utf8) const;
  /// The bytes of the tokens, concatenated. Decode(Encode(s)) == s for every s. Throws
  /// std::out_of_range for an id that is not in the rank file.
  std::string Decode(std::span<const int> tokens) const;
  /// The bytes of one token (a token may end inside a UTF-8 sequence). Throws std::out_of_range
  /// for an unknown id.
  std::string_view TokenBytes(int token) const;
  /// Number of ranks loaded (100256 for cl100k_base).
  std::size_t VocabularySize() const;

 private:
  explicit Tokenizer(std::unique_ptr<const detail::RankTable> ranks);

  std::unique_ptr<const detail::RankTable> ranks_;
};

}  // namespace studio::search
