#pragma once
// Chunking: cuts a document's extracted text into pieces small enough to embed and to put in a
// prompt, each remembering where it came from (byte range, heading path, pages).
//
// Three strategies:
//   fixed     windows of max_tokens cl100k_base tokens over the whole text (paragraphs and
//             sections do not stop them), consecutive windows sharing overlap_tokens tokens; a
//             window ends at a line break, sentence end or whitespace in its last 10% if it can.
//   paragraph paragraphs (text between blank lines, never across a section boundary), small ones
//             merged up to max_tokens, oversize ones cut with the fixed strategy.
//   semantic  sentences (ICU sentence breaks) grouped while they stay on topic: a group ends where
//             the cosine similarity of two neighbouring sentences' embeddings is unusually low for
//             this document (below mean - semantic_threshold * stddev of all neighbour
//             similarities), at a section boundary, or before it would exceed max_tokens.
//
// Guarantees, for every strategy: chunk.text == text.substr(begin, end - begin); chunks are never
// empty or whitespace-only; chunk boundaries are on UTF-8 code point boundaries; token_count is
// the cl100k_base count of chunk.text and never exceeds max_tokens; output is deterministic.

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace studio::search {
class Tokenizer;
class Embedder;
}  // namespace studio::search

namespace studio::chunk {

/// A heading's span of the text, e.g. {"Guide > Install > Linux", 1200, 3400}. Sections are
/// expected not to overlap; text outside every section has an empty heading path.
struct Section {
  std::string heading_path;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// The bytes of the text that come from one page (1-based), for paginated sources such as PDF.
struct PageSpan {
  int page = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct ChunkInput {
  std::string_view text;  // UTF-8; not copied, must outlive the call
  std::vector<Section> sections;
  std::vector<PageSpan> pages;
};

struct ChunkOptions {
  enum Strategy { kFixed, kParagraph, kSemantic };
  Strategy strategy = kParagraph;
  /// Upper bound on every chunk's token count. At least 8 (a window must hold a whole code point
  /// even when each of its bytes is its own token).
  int max_tokens = 1000;
  /// Tokens shared by consecutive fixed windows (also used when paragraph or semantic chunking has
  /// to cut an oversize paragraph or sentence). 0 <= overlap_tokens <= max_tokens / 2.
  int overlap_tokens = 200;
  /// Semantic only: split where neighbour similarity < mean - semantic_threshold * stddev. Higher
  /// values split less often. A relative cut-off because absolute similarities depend on the
  /// embedder (averaged word vectors rate almost everything above 0.7; OpenAI models rarely do).
  double semantic_threshold = 1.0;
};

struct Chunk {
  int ordinal = 0;  // 0, 1, 2, ... in text order
  std::string text;
  std::size_t begin = 0;  // byte offsets into ChunkInput::text
  std::size_t end = 0;
  std::string heading_path;  // of the section the chunk's first non-space character is in
  int page_start = 0;        // first and last page the chunk overlaps; 0 when unknown
  int page_end = 0;
  int token_count = 0;
};

/// One vector per text, in order (the shape of search::Embedder::Embed).
using EmbedFn = std::function<std::vector<std::vector<float>>(std::span<const std::string>)>;

/// Adapts an Embedder (which must outlive the returned function).
EmbedFn EmbedWith(search::Embedder& embedder);

/// Chunks `input`. `embed` is required for kSemantic (std::invalid_argument otherwise) and unused by
/// the other strategies; exceptions it throws propagate. Throws std::invalid_argument for options
/// out of range or sections/pages outside the text.
std::vector<Chunk> ChunkText(const ChunkInput& input, const ChunkOptions& options, const search::Tokenizer& tokenizer,
                             const EmbedFn& embed = {});

}  // namespace studio::chunk
