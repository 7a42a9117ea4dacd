#pragma once
// The transport under OpenAIChatModel: a JSON POST over libcurl whose response body is handed over
// piece by piece as it arrives, and which can be abandoned at any moment — by a CancellationToken,
// by the receiver, or after too long without a byte — closing the connection so the server notices.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llm/chat_model.hpp"

namespace studio::llm::detail {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds total_timeout{300'000};
};

struct HttpHead {
  long status = 0;
  std::string content_type;  // as sent, e.g. "text/event-stream; charset=utf-8"
};

/// Gets the response body as it arrives (after the final status line and headers). Returns false
/// to abandon the transfer. May throw: the exception ends the transfer and leaves Post.
using BodySink = std::function<bool(const HttpHead& head, std::string_view bytes)>;

struct HttpOutcome {
  enum class End {
    kComplete,   // the whole response was received
    kFailed,     // no complete response: connection error, timeout (`error` says which)
    kCancelled,  // the CancellationToken was set
    kStopped,    // the sink returned false
  };
  End end = End::kFailed;
  long status = 0;  // 0 when no response head arrived
  std::string error;
  std::chrono::seconds retry_after{0};  // from Retry-After (seconds or HTTP date); 0 when absent
};

/// Thread-safe. All calls share one connection cache (a few idle connections are kept for reuse)
/// and one thread that drives the transfers; the sink still runs on the thread that called Post.
class HttpClient {
 public:
  /// `headers` are complete header lines ("Name: value"). Throws std::runtime_error when libcurl
  /// cannot be initialised.
  HttpClient(std::string url, const std::vector<std::string>& headers, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// POSTs `body` (JSON) and feeds the response to `sink`. `cancel` may be null. The body is
  /// freed as soon as it has been sent and the response has begun (a streamed answer can last
  /// minutes); a retry needs a new one.
  HttpOutcome Post(std::string body, const BodySink& sink, const CancellationToken* cancel);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::llm::detail
