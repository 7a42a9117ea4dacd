#include "llm/openai_chat_model.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "llm/errors.hpp"
#include "llm/http_client.hpp"
#include "llm/openai_wire.hpp"
#include "llm/sse_parser.hpp"
#include "obs/log.hpp"

namespace studio::llm {
namespace {

using Json = nlohmann::json;
using detail::IsEventStream;
using detail::IsInsufficientQuota;
using detail::ReadChunk;
using detail::ReadCompletion;
using detail::ServerMessage;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A non-streamed answer (or an error body) larger than this is not a chat completion we asked for.
constexpr std::size_t kMaxJsonBody = 16U << 20;

// Why an attempt failed, and whether another attempt may help.
struct Failure {
  enum class Kind { kRetry, kConfiguration, kBadRequest, kBadResponse };
  Kind kind = Kind::kRetry;
  std::string what;    // short: "HTTP 503", "Timeout was reached", "the stream ended early"
  std::string detail;  // the whole message, for the non-retried kinds
  long status = 0;
  seconds retry_after{0};
};

Failure Retryable(std::string what, long status = 0, seconds retry_after = seconds(0)) {
  return {Failure::Kind::kRetry, std::move(what), {}, status, retry_after};
}

Failure BadResponse(const std::string& why) {
  return {Failure::Kind::kBadResponse, why, "The language model service sent an invalid response: " + why + ".", 0,
          seconds(0)};
}

Failure HttpFailure(long status, const std::string& body, seconds retry_after, const std::string& api_key,
                    const std::string& model) {
  const Json j = Json::parse(body, nullptr, false);
  const std::string what = "HTTP " + std::to_string(status);
  const std::string message = ServerMessage(j, api_key);
  const std::string suffix = message.empty() ? "." : ": " + message;
  if (status == 401 || status == 403) {
    return {Failure::Kind::kConfiguration, what,
            "The language model service refused the API key (" + what +
                "): check that it is set, valid and allowed to use model " + model + ".",
            status, retry_after};
  }
  if (status == 404) {
    return {Failure::Kind::kConfiguration, what,
            "The language model service does not know this URL or model " + model + " (" + what +
                "): check the base URL and the model name" + suffix,
            status, retry_after};
  }
  if (status == 429 && IsInsufficientQuota(j)) {  // a 429 that waiting does not fix
    return {Failure::Kind::kConfiguration, what,
            "The language model service rejected the request (" + what + "): the account's quota is exhausted.", status,
            retry_after};
  }
  if (status == 408 || status == 429 || status >= 500) return Retryable(what, status, retry_after);
  return {Failure::Kind::kBadRequest, what, "The language model service rejected the request (" + what + ")" + suffix,
          status, retry_after};
}

// What one attempt came to.
struct AttemptResult {
  enum class Kind { kOk, kCancelled, kFailed };
  Kind kind = Kind::kFailed;
  ChatResponse response;   // kOk: the answer; otherwise what arrived before the end
  bool delivered = false;  // a delta reached the token callback: no retry may follow
  Failure failure;         // kFailed
};

}  // namespace

struct OpenAIChatModel::Impl {
  OpenAIChatOptions options;
  std::string url;
  std::unique_ptr<detail::HttpClient> http;

  AttemptResult Attempt(std::string body, const ChatRequest& request, const std::string& model,
                        const TokenCallback& on_token, const CancellationToken* cancel) const {
    AttemptResult r;
    r.response.model = model;  // until the server names itself
    const bool deliver = request.stream && on_token;
    SseParser sse;
    std::string json_body;
    bool is_sse = false;
    bool done = false;     // "data: [DONE]" seen
    bool stopped = false;  // the callback returned kStop
    std::optional<Failure> stream_failure;

    const auto on_event = [&](const SseEvent& event) {
      if (stopped || stream_failure) return;
      if (event.data == "[DONE]") {
        done = true;
        return;
      }
      const Json j = Json::parse(event.data, nullptr, false);
      if (!j.is_object()) {
        stream_failure = BadResponse("a stream event is not a JSON object");
        return;
      }
      if (j.contains("error")) {  // OpenAI, vLLM and llama.cpp report late failures this way
        const std::string message = ServerMessage(j, options.api_key);
        stream_failure = Retryable("an error in the stream" + (message.empty() ? "" : ": " + message));
        return;
      }
      const std::string delta = ReadChunk(j, r.response);
      if (delta.empty()) return;
      r.response.content += delta;
      if (deliver) {
        r.delivered = true;
        if (on_token(delta) == StreamAction::kStop) stopped = true;
      }
    };
    const detail::BodySink sink = [&](const detail::HttpHead& head, std::string_view bytes) {
      is_sse = head.status >= 200 && head.status < 300 && IsEventStream(head.content_type);
      if (is_sse) {
        if (!sse.Feed(bytes, on_event)) stream_failure = BadResponse("a stream event exceeds 8 MiB");
        return !stopped && !stream_failure;
      }
      if (json_body.size() + bytes.size() > kMaxJsonBody) {
        stream_failure = BadResponse("the response exceeds 16 MiB");
        return false;
      }
      json_body.append(bytes);
      return true;
    };

    const detail::HttpOutcome outcome = http->Post(std::move(body), sink, cancel);
    using End = detail::HttpOutcome::End;
    if (outcome.end == End::kCancelled || (outcome.end == End::kStopped && stopped)) {
      r.kind = AttemptResult::Kind::kCancelled;
      return r;
    }
    if (outcome.end == End::kStopped) {
      r.failure = *stream_failure;
      return r;
    }
    if (outcome.end == End::kFailed) {
      r.failure = Retryable(outcome.error);
      return r;
    }
    if (outcome.status < 200 || outcome.status >= 300) {
      r.failure = HttpFailure(outcome.status, json_body, outcome.retry_after, options.api_key, model);
      return r;
    }
    if (is_sse) {
      // Without [DONE] or a finish_reason the connection ended mid-answer (a proxy cut it).
      if (!done && r.response.finish_reason.empty()) {
        r.failure = Retryable("the stream ended before the answer was complete");
        return r;
      }
      r.kind = AttemptResult::Kind::kOk;
      return r;
    }
    if (!ReadCompletion(Json::parse(json_body, nullptr, false), r.response)) {
      r.failure = BadResponse("the body is not a chat completion");
      return r;
    }
    r.kind = AttemptResult::Kind::kOk;
    // A server that ignores "stream": true answers in one piece; the caller still gets its token.
    if (deliver && !r.response.content.empty()) {
      r.delivered = true;
      if (on_token(r.response.content) == StreamAction::kStop) r.kind = AttemptResult::Kind::kCancelled;
    }
    return r;
  }

  milliseconds Backoff(int failed_attempts) const {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int shift = std::min(failed_attempts - 1, 20);
    const auto ceiling =
        std::min(options.backoff_max.count(), options.backoff_base.count() * (std::int64_t{1} << shift));
    std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, std::max<std::int64_t>(ceiling, 0));
    return milliseconds(pick(rng));
  }

  /// Waits between attempts; true when cancelled meanwhile.
  bool Wait(milliseconds delay, const CancellationToken* cancel) const {
    if (options.sleep) {
      options.sleep(delay);
      return cancel != nullptr && cancel->cancelled();
    }
    if (cancel != nullptr) return cancel->WaitFor(delay);
    std::this_thread::sleep_for(delay);
    return false;
  }
};

OpenAIChatModel::OpenAIChatModel(OpenAIChatOptions options) : impl_(std::make_unique<Impl>()) {
  auto& o = options;
  if (o.model.empty()) throw std::invalid_argument("the LLM model must be set");
  if (o.max_attempts < 1) throw std::invalid_argument("LLM max attempts must be at least 1");
  if (o.connect_timeout.count() <= 0 || o.idle_timeout.count() <= 0 || o.total_timeout.count() <= 0) {
    throw std::invalid_argument("LLM timeouts must be positive");
  }
  if (o.backoff_base.count() < 0 || o.backoff_max < o.backoff_base) throw std::invalid_argument("bad LLM backoff");
  if (o.api_key.find_first_of("\r\n") != std::string::npos) throw std::invalid_argument("API key contains a newline");
  const detail::Endpoint endpoint = detail::ParseBaseUrl(o.base_url);
  std::vector<std::string> headers = {"Content-Type: application/json", "Expect:"};
  if (!o.api_key.empty()) {
    const bool api_key_header =
        o.auth_header == AuthHeader::kApiKey || (o.auth_header == AuthHeader::kAuto && endpoint.azure);
    headers.push_back(api_key_header ? "api-key: " + o.api_key : "Authorization: Bearer " + o.api_key);
  }
  impl_->url = endpoint.url;
  impl_->http = std::make_unique<detail::HttpClient>(
      endpoint.url, headers, detail::HttpClientOptions{o.connect_timeout, o.idle_timeout, o.total_timeout});
  impl_->options = std::move(options);
}

OpenAIChatModel::~OpenAIChatModel() = default;

std::string OpenAIChatModel::model() const { return impl_->options.model; }

std::string OpenAIChatModel::url() const { return impl_->url; }

ChatResponse OpenAIChatModel::Chat(const ChatRequest& request, const TokenCallback& on_token,
                                   const CancellationToken* cancel) {
  ValidateRequest(request);
  const Impl& impl = *impl_;
  const OpenAIChatOptions& o = impl.options;
  const std::string model = request.model.empty() ? o.model : request.model;
  const auto cancelled = [&model] {
    ChatResponse r;
    r.model = model;
    r.finish_reason = kFinishCancelled;
    return r;
  };
  for (int attempt = 1;; ++attempt) {
    if (cancel != nullptr && cancel->cancelled()) return cancelled();
    // Built for each attempt: the transport frees it once sent, so a long streamed answer does not
    // keep it (~6.5 KB for the agent's prompt) in memory.
    AttemptResult r =
        impl.Attempt(detail::ChatRequestBody(request, model, o.stream_usage), request, model, on_token, cancel);
    if (r.kind == AttemptResult::Kind::kOk) return std::move(r.response);
    if (r.kind == AttemptResult::Kind::kCancelled) {
      r.response.finish_reason = kFinishCancelled;
      return std::move(r.response);
    }
    const Failure& f = r.failure;
    if (r.delivered) {
      r.response.finish_reason = "interrupted";
      throw StreamInterruptedError("The language model's answer was cut off (" + f.what + ").", std::move(r.response));
    }
    switch (f.kind) {
      case Failure::Kind::kConfiguration: throw ConfigurationError(f.detail);
      case Failure::Kind::kBadRequest: throw BadRequestError(f.detail);
      case Failure::Kind::kBadResponse: throw BadResponseError(f.detail);
      case Failure::Kind::kRetry: break;
    }
    const bool rate_limited = f.status == 429;
    if (f.retry_after > o.max_retry_after) {
      const std::string detail = std::string("The language model service is ") +
                                 (rate_limited ? "rate limiting requests" : "unavailable") + " (" + f.what +
                                 ") and asked to wait " + std::to_string(f.retry_after.count()) + " s.";
      const int after = static_cast<int>(std::min<std::int64_t>(f.retry_after.count(), 86'400));
      if (rate_limited) throw RateLimitedError(detail, after);
      throw UnavailableError(detail, after);
    }
    const milliseconds delay = f.retry_after.count() > 0 ? milliseconds(f.retry_after) : impl.Backoff(attempt);
    if (attempt >= o.max_attempts) {
      const std::string detail = std::string("The language model service is ") +
                                 (rate_limited ? "rate limiting requests" : "unavailable") + " (" + f.what + " after " +
                                 std::to_string(attempt) + (attempt == 1 ? " attempt)." : " attempts).");
      const int after = static_cast<int>(std::max<std::int64_t>(1, (delay.count() + 999) / 1000));
      if (rate_limited) throw RateLimitedError(detail, after);
      throw UnavailableError(detail, after);
    }
    obs::LogWarn(
        "chat completion failed; retrying",
        {{"error", f.what}, {"attempt", attempt}, {"max_attempts", o.max_attempts}, {"delay_ms", delay.count()}});
    if (impl.Wait(delay, cancel)) return cancelled();
  }
}

}  // namespace studio::llm
