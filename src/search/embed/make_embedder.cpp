#include "search/embed/make_embedder.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "search/embed/embedding_cache.hpp"
#include "search/embed/local_embedder.hpp"
#include "search/embed/openai_embedder.hpp"

namespace studio::search {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

EmbedderKind ParseEmbedderKind(std::string_view name) {
  if (name == "local") return EmbedderKind::kLocal;
  if (name == "openai") return EmbedderKind::kOpenAI;
  throw std::invalid_argument("embedder must be \"local\" or \"openai\", not \"" + std::string(name) + "\"");
}

std::string DefaultModelsDir() {
  if (auto dir = Env("STUDIO_MODELS_DIR"); !dir.empty()) return dir;
  std::string cache = Env("STUDIO_CACHE_DIR");
  if (cache.empty()) {
    std::string xdg = Env("XDG_CACHE_HOME");
    if (xdg.empty()) xdg = Env("HOME") + "/.cache";
    cache = xdg + "/studio";
  }
  return cache + "/models";
}

std::unique_ptr<Embedder> MakeEmbedder(const EmbedderConfig& config) {
  if (config.kind == EmbedderKind::kLocal) {
    const std::string dir = config.models_dir.empty() ? DefaultModelsDir() : config.models_dir;
    const std::string path = (std::filesystem::path(dir) / LocalEmbedder::kFileName).string();
    if (!std::filesystem::exists(path)) {
      throw std::runtime_error("the local embedder needs " + path + ": run scripts/fetch-models.sh");
    }
    return std::make_unique<LocalEmbedder>(path);
  }
  OpenAIEmbedderOptions options;
  options.base_url = config.base_url;
  options.api_key = config.api_key;
  options.model = config.model;
  options.dimensions = config.dimensions;
  options.batch_size = config.batch_size;
  options.request_timeout = config.request_timeout;
  options.connect_timeout = config.connect_timeout;
  options.max_attempts = config.max_attempts;
  if (config.cache_entries > 0) options.cache = std::make_shared<LruEmbeddingCache>(config.cache_entries);
  return std::make_unique<OpenAIEmbedder>(std::move(options));
}

}  // namespace studio::search
