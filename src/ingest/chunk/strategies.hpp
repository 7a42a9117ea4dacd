#pragma once
// The chunking strategies, as functions from the text to the byte ranges of the chunks.
// chunk.cpp validates the options and turns ranges into Chunk records.

#include <string_view>
#include <vector>

#include "ingest/chunk/chunk.hpp"
#include "ingest/chunk/text_util.hpp"

namespace studio::chunk::detail {

/// Windows over `r` of at most max_tokens tokens, consecutive ones sharing overlap_tokens tokens
/// of r's tokenisation. Every range's own token count is <= max_tokens.
std::vector<Range> FixedWindows(std::string_view text, Range r, int max_tokens, int overlap_tokens,
                                const search::Tokenizer& tokenizer);

/// A unit of text (a paragraph or a sentence) to be grouped into chunks.
struct Unit {
  Range range;
  int tokens = 0;             // token count of the unit alone
  bool break_before = false;  // never put it in the same chunk as the unit before it
};

/// Merges consecutive units greedily into chunks of at most max_tokens; a unit over max_tokens is
/// cut into FixedWindows on its own.
std::vector<Range> GroupUnits(std::string_view text, const std::vector<Unit>& units, const ChunkOptions& options,
                              const search::Tokenizer& tokenizer);

/// The regions between section boundaries (chunks of the paragraph and semantic strategies never
/// cross one).
std::vector<Range> SectionRegions(const ChunkInput& input);

std::vector<Range> ParagraphChunks(const ChunkInput& input, const ChunkOptions& options,
                                   const search::Tokenizer& tokenizer);

/// Sentences of `r` (ICU sentence breaks, trimmed, blank ones dropped).
std::vector<Range> Sentences(std::string_view text, Range r);

std::vector<Range> SemanticChunks(const ChunkInput& input, const ChunkOptions& options,
                                  const search::Tokenizer& tokenizer, const EmbedFn& embed);

}  // namespace studio::chunk::detail
