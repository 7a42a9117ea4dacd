#pragma once
// Builds the configured embedder. The application maps its settings (and OPENAI_API_KEY) onto
// EmbedderConfig; this module reads no environment variable except for DefaultModelsDir.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "search/embed/embedder.hpp"

namespace studio::search {

enum class EmbedderKind { kLocal, kOpenAI };

/// "local" or "openai" (exactly). Throws std::invalid_argument otherwise.
EmbedderKind ParseEmbedderKind(std::string_view name);

struct EmbedderConfig {
  EmbedderKind kind = EmbedderKind::kLocal;
  /// local: the directory holding glove-100d.bin; empty means DefaultModelsDir().
  std::string models_dir;
  /// openai: see OpenAIEmbedderOptions for each of these.
  std::string base_url = "https://api.openai.com";
  std::string api_key;
  std::string model = "text-embedding-3-small";
  int dimensions = 0;
  int batch_size = 100;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_attempts = 5;
  /// openai: entries of the in-memory LRU cache; 0 disables it.
  std::size_t cache_entries = 4096;
};

/// Throws std::invalid_argument for a bad setting, std::runtime_error when the local model file is
/// missing or malformed (the message says to run scripts/fetch-models.sh).
std::unique_ptr<Embedder> MakeEmbedder(const EmbedderConfig& config);

/// Where scripts/fetch-models.sh puts the models: $STUDIO_MODELS_DIR, else
/// ${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/studio}/models.
std::string DefaultModelsDir();

}  // namespace studio::search
