#include "llm/http_client.hpp"

#include <curl/curl.h>

#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace studio::llm::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a transfer looks at its CancellationToken and idle clock while waiting for the server.
// Bounds how late a cancellation takes effect; the wakeups cost nothing next to a model's answer,
// and each call already occupies one blocking-pool thread, so there are few at a time.
constexpr int kPollMs = 50;
constexpr std::size_t kMaxIdleConnections = 8;

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

// What libcurl's callbacks share with Post, for one transfer.
struct Transfer {
  CURL* easy = nullptr;
  const BodySink* sink = nullptr;
  HttpHead head;
  bool head_known = false;
  Clock::time_point last_activity = Clock::now();
  bool stopped = false;
  std::exception_ptr thrown;
};

std::size_t OnHeader(char* /*data*/, std::size_t size, std::size_t count, void* user) {
  static_cast<Transfer*>(user)->last_activity = Clock::now();
  return size * count;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t->last_activity = Clock::now();
  if (!t->head_known) {
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->head.status);
    const char* type = nullptr;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
      t->head.content_type = type;
    }
    t->head_known = true;
  }
  // An exception must not unwind through libcurl's C frames: keep it for Post to rethrow.
  try {
    if (!(*t->sink)(t->head, std::string_view(data, n))) {
      t->stopped = true;
      return CURL_WRITEFUNC_ERROR;
    }
  } catch (...) {
    t->thrown = std::current_exception();
    return CURL_WRITEFUNC_ERROR;
  }
  return n;
}

// An easy handle and the multi handle that drives it. The multi handle owns the connection
// cache, so the pair is pooled together to keep connections alive between calls.
struct Connection {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
};

void Destroy(Connection c) {
  if (c.easy != nullptr) curl_easy_cleanup(c.easy);
  if (c.multi != nullptr) curl_multi_cleanup(c.multi);
}

}  // namespace

struct HttpClient::Impl {
  std::string url;
  curl_slist* headers = nullptr;
  HttpClientOptions options;
  std::mutex mu;
  std::vector<Connection> idle;  // guarded by mu

  ~Impl() {
    for (const Connection& c : idle) Destroy(c);
    curl_slist_free_all(headers);
  }

  Connection Acquire() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        const Connection c = idle.back();
        idle.pop_back();
        return c;
      }
    }
    Connection c{curl_multi_init(), curl_easy_init()};
    if (c.multi == nullptr || c.easy == nullptr) {
      Destroy(c);
      throw std::runtime_error("libcurl could not create a handle");
    }
    return c;
  }

  void Release(Connection c) {
    {
      std::lock_guard lock(mu);
      if (idle.size() < kMaxIdleConnections) {
        idle.push_back(c);
        return;
      }
    }
    Destroy(c);
  }

  void Configure(CURL* h, const std::string& body, Transfer& t) const {
    curl_easy_reset(h);  // keeps the connection cache (in the multi handle)
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // required with timeouts in a multi-threaded process
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    // No Accept-Encoding: a compressed event stream tempts proxies to buffer it, and chat answers
    // are small anyway.
    curl_easy_setopt(h, CURLOPT_USERAGENT, "studio");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  }
};

HttpClient::HttpClient(std::string url, const std::vector<std::string>& headers, HttpClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  GlobalInitCurl();
  impl_->url = std::move(url);
  impl_->options = options;
  for (const std::string& line : headers) {
    curl_slist* next = curl_slist_append(impl_->headers, line.c_str());
    if (next == nullptr) throw std::runtime_error("curl_slist_append failed");
    impl_->headers = next;
  }
}

HttpClient::~HttpClient() = default;

HttpOutcome HttpClient::Post(const std::string& body, const BodySink& sink, const CancellationToken* cancel) {
  Impl& impl = *impl_;
  const Connection c = impl.Acquire();
  Transfer t;
  t.easy = c.easy;
  t.sink = &sink;
  impl.Configure(c.easy, body, t);
  HttpOutcome out;
  if (curl_multi_add_handle(c.multi, c.easy) != CURLM_OK) {
    Destroy(c);
    throw std::runtime_error("curl_multi_add_handle failed");
  }
  std::optional<CURLcode> result;  // set when libcurl reports the transfer done
  t.last_activity = Clock::now();
  while (true) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(c.multi, &running);
    if (mc != CURLM_OK) {
      out.error = curl_multi_strerror(mc);
      break;
    }
    int queued = 0;
    while (const CURLMsg* m = curl_multi_info_read(c.multi, &queued)) {
      if (m->msg == CURLMSG_DONE) result = m->data.result;
    }
    if (result || running == 0) break;
    if (cancel != nullptr && cancel->cancelled()) {
      out.end = HttpOutcome::End::kCancelled;
      break;
    }
    if (Clock::now() - t.last_activity >= impl.options.idle_timeout) {
      out.error = "no data from the server for " + std::to_string(impl.options.idle_timeout.count()) + " ms";
      break;
    }
    curl_multi_poll(c.multi, nullptr, 0, kPollMs, nullptr);
  }
  // Removing the handle before the response is complete closes its connection: that is how the
  // server learns that nobody is reading any more.
  curl_multi_remove_handle(c.multi, c.easy);
  curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &out.status);
  if (result) {
    if (*result == CURLE_OK) {
      out.end = HttpOutcome::End::kComplete;
      curl_off_t retry_after = 0;  // curl parses both forms (delta seconds and HTTP date)
      if (curl_easy_getinfo(c.easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
        out.retry_after = std::chrono::seconds(retry_after);
      }
    } else if (t.stopped) {
      out.end = HttpOutcome::End::kStopped;
    } else {
      out.error = curl_easy_strerror(*result);
    }
  } else if (out.end == HttpOutcome::End::kFailed && out.error.empty()) {
    out.error = "the transfer ended without a result";
  }
  impl.Release(c);
  if (t.thrown) std::rethrow_exception(t.thrown);
  return out;
}

}  // namespace studio::llm::detail
