#include "search/embed/openai_embedder.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "obs/log.hpp"
#include "search/embed/embedding_cache.hpp"

namespace studio::search {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A hostile or broken server must not make us buffer without bound: 2,048 × 3,072 floats as JSON
// text is ~120 MB, far above any real batch of ours.
constexpr std::size_t kMaxResponseBytes = 256U << 20;
constexpr std::size_t kMaxIdleHandles = 8;

int NativeDimension(std::string_view model) {
  if (model == "text-embedding-3-small" || model == "text-embedding-ada-002") return 1536;
  if (model == "text-embedding-3-large") return 3072;
  return 0;
}

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

std::size_t AppendBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() + n > kMaxResponseBytes) return 0;  // makes curl fail with CURLE_WRITE_ERROR
  body->append(data, n);
  return n;
}

struct HttpResult {
  CURLcode curl = CURLE_OK;
  long status = 0;
  std::string body;
  seconds retry_after{0};  // 0 when absent (or an HTTP date in the past)
};

enum class Outcome { kOk, kRetry, kAuth, kRejected };

Outcome Classify(const HttpResult& r) {
  if (r.curl != CURLE_OK) return Outcome::kRetry;  // connection refused, reset, timeout, TLS …
  if (r.status >= 200 && r.status < 300) return Outcome::kOk;
  if (r.status == 401 || r.status == 403) return Outcome::kAuth;
  if (r.status == 408 || r.status == 429 || r.status >= 500) return Outcome::kRetry;
  return Outcome::kRejected;
}

// The server's own error message ({"error":{"message":…}}), shortened, with the key cut out in
// case a server echoes it. Only used for non-auth 4xx: OpenAI's 401 body quotes part of the key.
std::string ServerMessage(const std::string& body, const std::string& api_key) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return {};
  const auto& e = j["error"];
  std::string message = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  if (message.size() > 300) message = message.substr(0, 300) + "…";
  if (!api_key.empty()) {
    for (auto at = message.find(api_key); at != std::string::npos; at = message.find(api_key)) {
      message.replace(at, api_key.size(), "[redacted]");
    }
  }
  return message;
}

bool IsInsufficientQuota(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("code") &&
         j["error"]["code"] == "insufficient_quota";
}

std::string Describe(const HttpResult& r) {
  if (r.curl != CURLE_OK) return curl_easy_strerror(r.curl);
  return "HTTP " + std::to_string(r.status);
}

Error BadResponse(const std::string& why) {
  return Error(502, "EMBEDDING_BAD_RESPONSE", "Bad Gateway", "The embedding service sent an invalid response: " + why);
}

milliseconds JitteredBackoff(const OpenAIEmbedderOptions& o, int failed_attempts) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int shift = std::min(failed_attempts - 1, 20);
  const auto ceiling = std::min(o.backoff_max.count(), o.backoff_base.count() * (std::int64_t{1} << shift));
  std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, std::max<std::int64_t>(ceiling, 0));
  return milliseconds(pick(rng));
}

}  // namespace

struct OpenAIEmbedder::Impl {
  OpenAIEmbedderOptions options;
  std::string url;
  std::string cache_model;  // "<model>@<dimension>": what the cached vectors depend on
  int dimension = 0;
  curl_slist* headers = nullptr;

  std::mutex pool_mu;
  std::vector<CURL*> idle;  // guarded by pool_mu; easy handles keep their connections alive

  ~Impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
    curl_slist_free_all(headers);
  }

  CURL* Acquire() {
    {
      std::lock_guard lock(pool_mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    CURL* h = curl_easy_init();
    if (h == nullptr) throw std::runtime_error("curl_easy_init failed");
    return h;
  }

  void Release(CURL* h) {
    {
      std::lock_guard lock(pool_mu);
      if (idle.size() < kMaxIdleHandles) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  HttpResult Post(const std::string& body) {
    CURL* h = Acquire();
    HttpResult r;
    curl_easy_reset(h);  // keeps the connection cache
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // required with timeouts in a multi-threaded process
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl supports: vectors compress well
    curl_easy_setopt(h, CURLOPT_USERAGENT, "studio");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    r.curl = curl_easy_perform(h);
    if (r.curl == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
      curl_off_t retry_after = 0;  // curl parses both forms (delta seconds and HTTP date)
      if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
        r.retry_after = seconds(retry_after);
      }
    }
    Release(h);
    return r;
  }

  std::string RequestBody(std::span<const std::string* const> batch) const {
    nlohmann::json j = {{"model", options.model}, {"encoding_format", "float"}};
    auto& input = j["input"] = nlohmann::json::array();
    // OpenAI rejects an empty input string; one space embeds as (almost) nothing.
    for (const std::string* text : batch) input.push_back(text->empty() ? std::string(" ") : *text);
    if (options.dimensions > 0) j["dimensions"] = options.dimensions;
    // Invalid UTF-8 would make dump() throw; replacing it with U+FFFD is what a tokenizer would see anyway.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  std::vector<Vector> ParseResponse(const std::string& body, std::size_t expected) const {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) throw BadResponse("no data list");
    const auto& data = j["data"];
    if (data.size() != expected) {
      throw BadResponse(std::to_string(data.size()) + " embeddings for " + std::to_string(expected) + " inputs");
    }
    std::vector<Vector> out(expected);
    std::vector<bool> seen(expected, false);
    for (const auto& item : data) {
      if (!item.is_object() || !item.contains("index") || !item["index"].is_number_unsigned() ||
          !item.contains("embedding") || !item["embedding"].is_array()) {
        throw BadResponse("an item lacks index or embedding");
      }
      const auto index = item["index"].get<std::size_t>();
      if (index >= expected || seen[index]) throw BadResponse("index out of range or repeated");
      seen[index] = true;
      const auto& embedding = item["embedding"];
      if (embedding.size() != static_cast<std::size_t>(dimension)) {
        throw BadResponse("dimension " + std::to_string(embedding.size()) + ", expected " + std::to_string(dimension));
      }
      Vector& v = out[index];
      v.reserve(embedding.size());
      double norm = 0;
      for (const auto& x : embedding) {
        if (!x.is_number()) throw BadResponse("a component is not a number");
        v.push_back(x.get<float>());
        norm += double{v.back()} * v.back();
      }
      // OpenAI's vectors are unit length already; other servers' may not be.
      if (norm > 0 && std::isfinite(norm)) {
        const auto inverse = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : v) x *= inverse;
      }
    }
    return out;
  }

  std::vector<Vector> EmbedBatch(std::span<const std::string* const> batch) {
    const std::string body = RequestBody(batch);
    for (int attempt = 1;; ++attempt) {
      const HttpResult r = Post(body);
      switch (Classify(r)) {
        case Outcome::kOk: return ParseResponse(r.body, batch.size());
        case Outcome::kAuth:
          throw Error(502, "EMBEDDING_AUTH_FAILED", "Bad Gateway",
                      "The embedding service refused the API key (" + Describe(r) +
                          "): check that it is set, valid and allowed to use model " + options.model + ".");
        case Outcome::kRejected: {
          const std::string message = ServerMessage(r.body, options.api_key);
          throw Error(502, "EMBEDDING_REJECTED", "Bad Gateway",
                      "The embedding service rejected the request (" + Describe(r) + ")" +
                          (message.empty() ? "." : ": " + message));
        }
        case Outcome::kRetry: break;
      }
      if (r.status == 429 && IsInsufficientQuota(r.body)) {  // a 429 that waiting does not fix
        throw Error(502, "EMBEDDING_REJECTED", "Bad Gateway",
                    "The embedding service rejected the request (HTTP 429): the account's quota is exhausted.");
      }
      if (r.retry_after > options.max_retry_after) {
        throw ServiceUnavailable("The embedding service is unavailable (" + Describe(r) + ") and asked to wait " +
                                     std::to_string(r.retry_after.count()) + " s.",
                                 static_cast<int>(std::min<std::int64_t>(r.retry_after.count(), 86'400)),
                                 "EMBEDDING_UNAVAILABLE");
      }
      const milliseconds delay =
          r.retry_after.count() > 0 ? milliseconds(r.retry_after) : JitteredBackoff(options, attempt);
      if (attempt >= options.max_attempts) {
        throw ServiceUnavailable("The embedding service is unavailable (" + Describe(r) + " after " +
                                     std::to_string(attempt) + (attempt == 1 ? " attempt)." : " attempts)."),
                                 static_cast<int>(std::max<std::int64_t>(1, (delay.count() + 999) / 1000)),
                                 "EMBEDDING_UNAVAILABLE");
      }
      obs::LogWarn("embedding request failed; retrying", {{"error", Describe(r)},
                                                          {"attempt", attempt},
                                                          {"max_attempts", options.max_attempts},
                                                          {"delay_ms", delay.count()}});
      options.sleep(delay);
    }
  }
};

OpenAIEmbedder::OpenAIEmbedder(OpenAIEmbedderOptions options) : impl_(std::make_unique<Impl>()) {
  auto& o = options;
  if (o.model.empty()) throw std::invalid_argument("embedding model must be set");
  if (o.dimensions < 0 || o.dimensions > 65536) throw std::invalid_argument("embedding dimensions out of range");
  if (o.batch_size < 1 || o.batch_size > 2048) throw std::invalid_argument("embedding batch size must be 1..2048");
  if (o.max_attempts < 1) throw std::invalid_argument("embedding max attempts must be at least 1");
  if (o.request_timeout.count() <= 0 || o.connect_timeout.count() <= 0) {
    throw std::invalid_argument("embedding timeouts must be positive");
  }
  if (o.backoff_base.count() < 0 || o.backoff_max < o.backoff_base)
    throw std::invalid_argument("bad embedding backoff");
  if (o.api_key.find_first_of("\r\n") != std::string::npos) throw std::invalid_argument("API key contains a newline");
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    throw std::invalid_argument("embedding base URL must start with http:// or https://");
  }
  if (base.find_first_of("?# \r\n") != std::string::npos) {
    throw std::invalid_argument("embedding base URL must not have a query, fragment or spaces");
  }
  if (base.ends_with("/v1")) base.resize(base.size() - 3);
  const int dimension = o.dimensions > 0 ? o.dimensions : NativeDimension(o.model);
  if (dimension == 0) throw std::invalid_argument("set the embedding dimensions for model " + o.model);
  if (!o.sleep) o.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };

  GlobalInitCurl();
  impl_->url = base + "/v1/embeddings";
  impl_->dimension = dimension;
  impl_->cache_model = o.model + "@" + std::to_string(dimension);
  impl_->headers = curl_slist_append(impl_->headers, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip before large batches.
  impl_->headers = curl_slist_append(impl_->headers, "Expect:");
  if (!o.api_key.empty()) {
    impl_->headers = curl_slist_append(impl_->headers, ("Authorization: Bearer " + o.api_key).c_str());
  }
  if (impl_->headers == nullptr) throw std::runtime_error("curl_slist_append failed");
  impl_->options = std::move(options);
}

OpenAIEmbedder::~OpenAIEmbedder() = default;

std::string OpenAIEmbedder::model() const { return impl_->options.model; }

int OpenAIEmbedder::dimension() const { return impl_->dimension; }

std::vector<Vector> OpenAIEmbedder::Embed(std::span<const std::string> texts) {
  Impl& impl = *impl_;
  std::vector<std::optional<Vector>> results(texts.size());
  std::vector<std::string> keys;
  if (impl.options.cache) {
    keys.reserve(texts.size());
    for (const auto& text : texts) keys.push_back(EmbeddingCacheKey(impl.cache_model, text));
    results = impl.options.cache->Get(keys);
  }
  // The distinct texts still to embed, and where each one goes.
  std::vector<const std::string*> todo;
  std::vector<std::vector<std::size_t>> positions;
  std::unordered_map<std::string_view, std::size_t> slot_of;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (results[i]) continue;
    const auto [it, inserted] = slot_of.emplace(texts[i], todo.size());
    if (inserted) {
      todo.push_back(&texts[i]);
      positions.emplace_back();
    }
    positions[it->second].push_back(i);
  }
  const auto batch_size = static_cast<std::size_t>(impl.options.batch_size);
  for (std::size_t start = 0; start < todo.size(); start += batch_size) {
    const std::span<const std::string* const> batch(todo.data() + start, std::min(batch_size, todo.size() - start));
    std::vector<Vector> vectors = impl.EmbedBatch(batch);
    if (impl.options.cache) {
      std::vector<std::string> batch_keys;
      batch_keys.reserve(batch.size());
      for (std::size_t k = 0; k < batch.size(); ++k) batch_keys.push_back(keys[positions[start + k].front()]);
      impl.options.cache->Put(batch_keys, vectors);
    }
    for (std::size_t k = 0; k < batch.size(); ++k) {
      for (const std::size_t i : positions[start + k]) results[i] = vectors[k];
    }
  }
  std::vector<Vector> out;
  out.reserve(texts.size());
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

}  // namespace studio::search
