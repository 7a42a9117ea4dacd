#include "llm/http_client.hpp"

#include <curl/curl.h>
#include <pthread.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace studio::llm::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a waiting call looks at its CancellationToken and idle clock. Bounds how late a
// cancellation takes effect; the wakeups cost nothing next to a model's answer.
constexpr milliseconds kPollMs{50};
// Idle connections kept for reuse (CURLMOPT_MAXCONNECTS); calls beyond that open new ones.
constexpr long kMaxIdleConnections = 8;
// libcurl's receive buffer per transfer (CURLOPT_BUFFERSIZE; its default is 16 KiB, the least it
// takes 1 KiB). A streamed answer arrives as events of a few hundred bytes, a non-streamed one is
// a JSON body of a few KiB: small reads cost a few more calls, and an open stream's transfer holds
// ~13 KiB instead of ~32 KiB (measured with jemalloc's statistics).
constexpr long kReceiveBufferBytes = 1024;
// Response bytes the driver holds for a call before pausing the transfer until the call has
// handed them to its sink: a fast server cannot make us buffer without bound.
constexpr std::size_t kMaxUndelivered = std::size_t{64} * 1024;
// The driver thread's longest sleep without a wakeup; libcurl's own timers shorten it.
constexpr int kDriverPollMs = 1000;

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

// One call's transfer. It lives on the stack of the thread that called Post; the driver thread
// reaches it through libcurl's callbacks and its request queue until it acknowledges kDetach.
struct Transfer {
  CURL* easy = nullptr;
  // CURLOPT_POSTFIELDS points into it (libcurl does not copy). Touched only by the driver once
  // the transfer is added, which frees it when it is no longer needed (OnBody).
  std::string body;

  std::mutex mu;
  std::condition_variable cv;  // the driver notifies the caller: bytes, completion, detached
  // Guarded by mu:
  std::string undelivered;  // response body bytes the caller has not handed to its sink yet
  bool paused = false;      // OnBody refused bytes (undelivered is full); the caller asks to resume
  Clock::time_point last_activity = Clock::now();
  std::optional<CURLcode> result;  // libcurl finished the transfer (every byte is in undelivered)
  bool add_failed = false;
  bool detached = false;  // the driver no longer refers to this transfer
  // Written once by the driver before the first body bytes are put in `undelivered`, and never
  // again: the caller reads it without the lock once it has seen bytes.
  HttpHead head;
  bool head_known = false;
};

std::size_t OnHeader(char* /*data*/, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::lock_guard lock(t->mu);
  t->last_activity = Clock::now();
  return size * count;
}

// Runs on the driver thread. The bytes are handed to the caller's thread, which runs the sink
// (the parser and the token callback): one slow callback must not hold up every other call.
std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (!t->head_known) {
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->head.status);
    const char* type = nullptr;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
      t->head.content_type = type;
    }
    t->head_known = true;
  }
  // The request body is not needed once it is all sent and the answer has begun: libcurl sends it
  // again only when a reused connection turns out dead before any response byte. Freed now, a
  // streamed answer does not keep it in memory for its whole length.
  if (!t->body.empty()) {
    curl_off_t sent = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK &&
        sent >= static_cast<curl_off_t>(t->body.size())) {
      std::string().swap(t->body);
    }
  }
  {
    std::lock_guard lock(t->mu);
    t->last_activity = Clock::now();
    if (!t->undelivered.empty() && t->undelivered.size() + n > kMaxUndelivered) {
      t->paused = true;  // libcurl keeps these bytes and offers them again once resumed
      return CURL_WRITEFUNC_PAUSE;
    }
    t->undelivered.append(data, n);
  }
  t->cv.notify_all();
  return n;
}

}  // namespace

// All calls share one libcurl multi handle (and so its connection cache), driven by one thread.
// A multi handle per call cost ~12 KiB and two descriptors (its wakeup socket pair) per open
// stream. libcurl's multi interface is not thread-safe, so only the driver thread touches the
// multi handle and the easy handles while they are in it; callers hand it work through
// `requests` and curl_multi_wakeup (the one multi function documented as callable from any thread).
struct HttpClient::Impl {
  enum class Ask { kAdd, kResume, kDetach };
  struct Request {
    Transfer* transfer;
    Ask ask;
  };

  std::string url;
  curl_slist* headers = nullptr;
  HttpClientOptions options;
  CURLM* multi = nullptr;
  std::thread driver;
  std::mutex mu;
  std::vector<Request> requests;  // guarded by mu; done in order by the driver
  bool stopping = false;          // guarded by mu

  ~Impl() {
    if (driver.joinable()) {
      {
        std::lock_guard lock(mu);
        stopping = true;
      }
      curl_multi_wakeup(multi);
      driver.join();
    }
    if (multi != nullptr) curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
  }

  void Send(Transfer& t, Ask ask) {
    {
      std::lock_guard lock(mu);
      requests.push_back({&t, ask});
    }
    curl_multi_wakeup(multi);
  }

  void Drive() {
    pthread_setname_np(pthread_self(), "studio-llm");
    std::vector<Request> batch;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) return;
        batch.swap(requests);
      }
      for (const Request& r : batch) Do(r);
      batch.clear();
      int running = 0;
      curl_multi_perform(multi, &running);
      int queued = 0;
      while (const CURLMsg* m = curl_multi_info_read(multi, &queued)) {
        if (m->msg != CURLMSG_DONE) continue;
        const CURLcode result = m->data.result;
        CURL* easy = m->easy_handle;  // m is invalid after remove_handle
        Transfer* t = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
        curl_multi_remove_handle(multi, easy);
        {
          std::lock_guard lock(t->mu);
          t->result = result;
        }
        t->cv.notify_all();
      }
      curl_multi_poll(multi, nullptr, 0, kDriverPollMs, nullptr);
    }
  }

  // Driver thread only.
  void Do(const Request& r) {
    Transfer& t = *r.transfer;
    switch (r.ask) {
      case Ask::kAdd:
        if (curl_multi_add_handle(multi, t.easy) != CURLM_OK) {
          {
            std::lock_guard lock(t.mu);
            t.add_failed = true;
          }
          t.cv.notify_all();
        }
        return;
      case Ask::kResume:
        curl_easy_pause(t.easy, CURLPAUSE_CONT);  // may deliver the held bytes at once (OnBody)
        return;
      case Ask::kDetach: {
        // Removing a transfer before its response is complete closes its connection: that is how
        // the server learns that nobody is reading any more. (A finished one was removed already;
        // removing it again is a harmless no-op.)
        curl_multi_remove_handle(multi, t.easy);
        std::lock_guard lock(t.mu);
        t.detached = true;
        // Under the lock: once the caller sees `detached` it may destroy the transfer, cv included.
        t.cv.notify_all();
        return;
      }
    }
  }

  void Configure(Transfer& t) const {
    CURL* h = t.easy;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // required with timeouts in a multi-threaded process
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, t.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.body.size()));
    // No Accept-Encoding: a compressed event stream tempts proxies to buffer it, and chat answers
    // are small anyway.
    curl_easy_setopt(h, CURLOPT_USERAGENT, "studio");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_PRIVATE, &t);
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
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) throw std::runtime_error("libcurl could not create a handle");
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, kMaxIdleConnections);
  // One connection per call, as with a handle of its own: no HTTP/2 multiplexing of concurrent
  // calls over one connection.
  curl_multi_setopt(impl_->multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  impl_->driver = std::thread([impl = impl_.get()] { impl->Drive(); });
}

HttpClient::~HttpClient() = default;

HttpOutcome HttpClient::Post(std::string body, const BodySink& sink, const CancellationToken* cancel) {
  Impl& impl = *impl_;
  Transfer t;
  t.body = std::move(body);
  t.easy = curl_easy_init();
  if (t.easy == nullptr) throw std::runtime_error("libcurl could not create a handle");
  impl.Configure(t);
  impl.Send(t, Impl::Ask::kAdd);

  HttpOutcome out;
  std::exception_ptr thrown;
  bool add_failed = false;
  std::string bytes;  // what is being handed to the sink, outside the lock
  {
    std::unique_lock lock(t.mu);
    for (;;) {
      if (t.add_failed) {
        add_failed = true;
        break;
      }
      if (t.result && t.undelivered.empty()) break;  // complete or failed, and every byte delivered
      if (cancel != nullptr && cancel->cancelled()) {
        out.end = HttpOutcome::End::kCancelled;
        break;
      }
      if (!t.undelivered.empty()) {
        bytes.swap(t.undelivered);
        const bool resume = std::exchange(t.paused, false);
        lock.unlock();
        if (resume) impl.Send(t, Impl::Ask::kResume);
        bool go = false;
        // An exception must not leave the transfer in the driver's hands: kept, rethrown below.
        try {
          go = sink(t.head, bytes);
        } catch (...) {
          thrown = std::current_exception();
        }
        bytes.clear();
        lock.lock();
        if (thrown) break;
        if (!go) {
          out.end = HttpOutcome::End::kStopped;
          break;
        }
        continue;
      }
      if (Clock::now() - t.last_activity >= impl.options.idle_timeout) {
        out.error = "no data from the server for " + std::to_string(impl.options.idle_timeout.count()) + " ms";
        break;
      }
      t.cv.wait_for(lock, kPollMs);
    }
  }
  impl.Send(t, Impl::Ask::kDetach);
  std::optional<CURLcode> result;
  {
    std::unique_lock lock(t.mu);
    t.cv.wait(lock, [&t] { return t.detached; });
    result = t.result;
  }
  // The easy handle is ours again.
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &out.status);
  if (out.end == HttpOutcome::End::kFailed && out.error.empty()) {
    if (!result) {
      out.error = "the transfer ended without a result";
    } else if (*result == CURLE_OK) {
      out.end = HttpOutcome::End::kComplete;
      curl_off_t retry_after = 0;  // curl parses both forms (delta seconds and HTTP date)
      if (curl_easy_getinfo(t.easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
        out.retry_after = std::chrono::seconds(retry_after);
      }
    } else {
      out.error = curl_easy_strerror(*result);
    }
  }
  curl_easy_cleanup(t.easy);
  if (add_failed) throw std::runtime_error("curl_multi_add_handle failed");
  if (thrown) std::rethrow_exception(thrown);
  return out;
}

}  // namespace studio::llm::detail
