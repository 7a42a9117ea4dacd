#pragma once
// How a chunk's embedding is stored in the database (chunks.embedding / embedding_model, migration
// 0005): the float32 components, little-endian, as unpadded base64url; and the identity string
// "embedder/model/dimension" of the embedder that produced it. Ingestion writes with these and the
// retriever reads with them, so both sides agree on one format.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "search/embed/embedder.hpp"
#include "search/index/vector_index.hpp"

namespace studio::search {

/// "local/glove-100d-sif/100": the value of chunks.embedding_model for this embedder's vectors.
std::string EmbeddingModelId(const Embedder& embedder);

/// The identity an index of this embedder's vectors carries (IndexRegistry, VectorIndex::Load).
IndexIdentity IdentityOf(const Embedder& embedder);

/// float32 little-endian bytes, base64url without padding.
std::string EncodeEmbedding(std::span<const float> vector);

/// The inverse of EncodeEmbedding. std::nullopt when the text is not canonical base64url, its
/// length is not a multiple of 4 bytes, it does not have `dimension` components (when dimension
/// > 0), or a component is not finite: a damaged row must not poison an index.
std::optional<Vector> DecodeEmbedding(std::string_view text, int dimension = 0);

}  // namespace studio::search
