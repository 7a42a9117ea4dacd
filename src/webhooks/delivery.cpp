#include "webhooks/delivery.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "core/json.hpp"
#include "obs/log.hpp"
#include "queue/webhook.hpp"
#include "store/webhooks_repo.hpp"
#include "webhooks/endpoint.hpp"

namespace studio::webhooks {
namespace {

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

// The receiver's answer is not used: read and dropped (the total timeout bounds how long).
std::size_t DiscardBody(char*, std::size_t size, std::size_t count, void*) { return size * count; }

struct Attempt {
  CURLcode curl = CURLE_OK;
  long status = 0;
  bool ok() const { return curl == CURLE_OK && status >= 200 && status < 300; }
  // curl_easy_strerror never contains the URL; a status line is just the number.
  std::string Describe() const {
    return curl != CURLE_OK ? curl_easy_strerror(curl) : "HTTP " + std::to_string(status);
  }
};

Attempt Post(const std::string& url, const std::vector<std::string>& headers, const std::string& body,
             const DeliveryOptions& options) {
  CurlHandle h(curl_easy_init(), &curl_easy_cleanup);
  if (!h) throw std::runtime_error("curl_easy_init failed");
  curl_slist* raw = nullptr;
  for (const auto& header : headers) {
    curl_slist* next = curl_slist_append(raw, header.c_str());
    if (next == nullptr) {
      curl_slist_free_all(raw);
      throw std::runtime_error("curl_slist_append failed");
    }
    raw = next;
  }
  HeaderList list(raw, &curl_slist_free_all);
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer, not 2xx: retried
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);        // required with timeouts in a multi-threaded process
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, DiscardBody);
  Attempt a;
  a.curl = curl_easy_perform(h.get());
  if (a.curl == CURLE_OK) curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

}  // namespace

std::vector<std::string> DeliveryHeaders(std::string_view secret, std::string_view event_id, std::string_view body,
                                         std::int64_t unix_seconds, std::string_view user_agent) {
  return {"Content-Type: application/json", "Studio-Signature: " + queue::SignWebhook(secret, unix_seconds, body),
          "Studio-Event-Id: " + std::string(event_id), "User-Agent: " + std::string(user_agent), "Expect:"};
}

Deliverer::Deliverer(store::Db& db, DeliveryOptions options) : db_(db), options_(std::move(options)) {
  GlobalInitCurl();
}

std::int64_t Deliverer::NowSeconds() const {
  if (options_.now_seconds) return options_.now_seconds();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Deliverer::Run(queue::JobContext& job) {
  if (!job.workspace_id()) throw queue::PermanentJobError("a webhook delivery needs a workspace");
  const std::string& workspace = *job.workspace_id();
  const Json event = Json::parse(job.payload(), nullptr, false);
  if (!event.is_object() || !event.contains("id") || !event["id"].is_string() || !event.contains("type") ||
      !event["type"].is_string()) {
    throw queue::PermanentJobError("the event payload is not an event");
  }
  const std::string event_id = event["id"].get<std::string>();
  const std::string type = event["type"].get<std::string>();

  const auto endpoint = db_.ReadValue([&](store::Tx& tx) { return store::webhooks::Find(tx, workspace); });
  if (!endpoint || !Subscribes(endpoint->events_json, type)) {
    job.SetResult(Json{{"skipped", "no endpoint subscribed to " + type}}.dump());
    return;
  }
  const std::string origin = UrlOrigin(endpoint->url);
  if (auto problem = UrlProblem(endpoint->url)) {
    throw queue::PermanentJobError("the endpoint URL " + *problem);  // stored before a rule changed
  }

  const auto headers = DeliveryHeaders(endpoint->secret, event_id, job.payload(), NowSeconds(), options_.user_agent);
  const Attempt attempt = Post(endpoint->url, headers, job.payload(), options_);
  if (attempt.ok()) {
    job.SetResult(Json{{"status", attempt.status}, {"endpoint", origin}}.dump());
    return;
  }
  const std::string error = attempt.Describe() + " from " + origin;
  obs::LogWarn("webhook delivery failed", {{"workspace", workspace},
                                           {"eventId", event_id},
                                           {"attempt", job.attempt()},
                                           {"maxAttempts", job.max_attempts()},
                                           {"endpoint", origin},
                                           {"error", error}});
  throw std::runtime_error(error);  // retryable: the queue's backoff decides when
}

}  // namespace studio::webhooks
