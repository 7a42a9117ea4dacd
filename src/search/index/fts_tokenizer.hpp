#pragma once
// The words of a text as SQLite's FTS5 tokenizer `porter unicode61 remove_diacritics 2` sees them:
// Unicode-aware word splitting, case folding, diacritics removed, English Porter stemming
// ("Refunds" and "refunding" are both "refund").
//
// The in-memory keyword index (keyword_index.hpp) uses SQLite's own tokenizer, reached through
// the public fts5_api of an in-memory connection, rather than a second implementation of
// Unicode folding and stemming: the tokens are exactly those of SQLite full-text search.

#include <functional>
#include <string_view>

namespace studio::search {

enum class TokenizeFor { kDocument, kQuery };

/// Calls `on_token` with each token of `text`, in order (a token is valid only during the call).
/// Thread-safe: tokenizers come from a small shared pool (a tokenizer holds per-call buffers).
/// Throws std::runtime_error when SQLite has no FTS5 (a build without it).
void Tokenize(std::string_view text, TokenizeFor purpose, const std::function<void(std::string_view)>& on_token);

}  // namespace studio::search
