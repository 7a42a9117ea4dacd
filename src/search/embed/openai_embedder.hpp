#pragma once
// The `openai` embedder: any OpenAI-compatible POST {base}/v1/embeddings (OpenAI, Azure-style
// gateways, vLLM, Ollama, LiteLLM …) over libcurl.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "search/embed/embedder.hpp"

namespace studio::search {

class EmbeddingCache;

struct OpenAIEmbedderOptions {
  /// Scheme, host and optional path prefix; "/v1/embeddings" is appended (a trailing "/v1" is
  /// accepted too, as the OpenAI SDKs spell it).
  std::string base_url = "https://api.openai.com";
  /// Sent as "Authorization: Bearer …"; none is sent when empty (local servers). Never logged and
  /// never put in a URL or an error message.
  std::string api_key;
  std::string model = "text-embedding-3-small";
  /// 0: the model's native size (known OpenAI models only). > 0: sent as `dimensions` (the
  /// text-embedding-3 models shorten their vectors) and required of every response.
  int dimensions = 0;
  /// Inputs per request, 1..2048 (OpenAI's cap is 2048).
  int batch_size = 100;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  /// Attempts per batch, including the first (>= 1).
  int max_attempts = 5;
  /// Backoff before retry k (1-based) is uniform in [c/2, c], c = min(backoff_max, backoff_base · 2^(k-1)).
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{20'000};
  /// A Retry-After (seconds or HTTP date) is waited out as given when it is at most this; a longer
  /// one ends the retries at once with ServiceUnavailable carrying it, so that the job queue, not a
  /// blocked worker thread, does the waiting.
  std::chrono::seconds max_retry_after{60};
  /// Optional; shared between embedders is fine (keys include the model and dimension).
  std::shared_ptr<EmbeddingCache> cache;
  /// How to wait between attempts; tests pass a recorder. Default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// Thread-safe: concurrent Embed calls each use their own connection from a small pool.
///
/// Errors (all studio::Error, messages safe to show and free of the key):
///  * ServiceUnavailable, code EMBEDDING_UNAVAILABLE: connection errors, timeouts, 408, 429, 5xx,
///    still failing after max_attempts (or a Retry-After beyond max_retry_after).
///  * 502 EMBEDDING_AUTH_FAILED: 401/403, not retried (the key is wrong or lacks access).
///  * 502 EMBEDDING_REJECTED: any other 4xx (unknown model, quota exhausted …), not retried.
///  * 502 EMBEDDING_BAD_RESPONSE: a 2xx whose body is not a matching list of embeddings.
class OpenAIEmbedder final : public Embedder {
 public:
  static constexpr std::string_view kName = "openai";

  /// Throws std::invalid_argument for a bad option (URL scheme, batch size, unknown model without
  /// `dimensions` …).
  explicit OpenAIEmbedder(OpenAIEmbedderOptions options);
  ~OpenAIEmbedder() override;
  OpenAIEmbedder(const OpenAIEmbedder&) = delete;
  OpenAIEmbedder& operator=(const OpenAIEmbedder&) = delete;

  std::string_view name() const override { return kName; }
  std::string model() const override;
  int dimension() const override;
  /// Cached texts are served from the cache and identical texts are sent once; the rest go out in
  /// batches of batch_size, one request after another.
  std::vector<Vector> Embed(std::span<const std::string> texts) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::search
