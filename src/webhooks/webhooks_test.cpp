// Webhooks: endpoint rules, the event body, signed headers, enqueueing with the status change and
// delivery to a real (loopback) HTTP receiver. The database cases run on SQLite and PostgreSQL.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "queue/test_fixture.hpp"
#include "queue/webhook.hpp"
#include "queue/worker_pool.hpp"
#include "store/webhooks_repo.hpp"
#include "webhooks/delivery.hpp"
#include "webhooks/endpoint.hpp"
#include "webhooks/events.hpp"

namespace studio::store::testing {
// test_support.cpp instantiates StoreTest for store_test; this binary uses a fixture derived from it.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreTest);
}  // namespace studio::store::testing

namespace studio::webhooks {
namespace {

using queue::testing::Eventually;
using queue::testing::kWsA;
using queue::testing::kWsB;

TEST(UrlProblem, AcceptsHttpAndHttpsUrlsWithAHost) {
  for (const char* ok : {"https://hooks.example.com/studio", "http://127.0.0.1:8080/in?token=abc",
                         "HTTPS://Example.COM", "https://[::1]:9000/x#frag"}) {
    EXPECT_EQ(UrlProblem(ok), std::nullopt) << ok;
  }
}

TEST(UrlProblem, RefusesOtherSchemesCredentialsAndJunk) {
  EXPECT_EQ(UrlProblem(""), "is required");
  for (const char* scheme : {"ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "example.com/hook",
                             "//example.com/hook", "gopher://example.com/"}) {
    EXPECT_EQ(UrlProblem(scheme), "must be an http:// or https:// URL") << scheme;
  }
  for (const char* credentials : {"https://user:pass@example.com/", "http://user@example.com", "https://@example.com/",
                                  "https://a:b@c@example.com/"}) {
    EXPECT_EQ(UrlProblem(credentials), "must not contain credentials (user:password@)") << credentials;
  }
  // An '@' after the authority is only a path or query character.
  EXPECT_EQ(UrlProblem("https://example.com/a@b?c=d@e"), std::nullopt);
  EXPECT_TRUE(UrlProblem("https://exa mple.com/").has_value());
  EXPECT_TRUE(UrlProblem("https://example.com/\n").has_value());
  EXPECT_TRUE(UrlProblem("https://bücher.example/").has_value());
  EXPECT_TRUE(UrlProblem("https:///path-without-host").has_value());
  EXPECT_TRUE(UrlProblem("https://").has_value());
  const std::string longest = "https://example.com/" + std::string(kMaxUrlBytes - 20, 'a');
  EXPECT_EQ(UrlProblem(longest), std::nullopt);
  EXPECT_EQ(UrlProblem(longest + "a"), "must be at most 2048 bytes");
}

TEST(UrlOrigin, KeepsSchemeHostAndPortOnly) {
  EXPECT_EQ(UrlOrigin("https://hooks.example.com/services/T0/B0/secret-token?x=1"), "https://hooks.example.com");
  EXPECT_EQ(UrlOrigin("http://127.0.0.1:8080?token=abc"), "http://127.0.0.1:8080");
  EXPECT_EQ(UrlOrigin("http://127.0.0.1:8080#frag"), "http://127.0.0.1:8080");
  EXPECT_EQ(UrlOrigin("https://example.com"), "https://example.com");
}

TEST(Events, KnownTypesAndSubscriptions) {
  EXPECT_TRUE(IsKnownEventType("document.ready"));
  EXPECT_TRUE(IsKnownEventType("document.failed"));
  EXPECT_FALSE(IsKnownEventType("document.deleted"));
  EXPECT_FALSE(IsKnownEventType(""));
  EXPECT_TRUE(Subscribes(R"(["document.ready","document.failed"])", "document.failed"));
  EXPECT_FALSE(Subscribes(R"(["document.ready"])", "document.failed"));
  EXPECT_FALSE(Subscribes("[]", "document.ready"));
  EXPECT_FALSE(Subscribes("not json", "document.ready"));
  EXPECT_FALSE(Subscribes(R"({"document.ready":true})", "document.ready"));
}

TEST(NewSecret, IsPrefixedRandomAndLongEnough) {
  const std::string a = NewSecret();
  const std::string b = NewSecret();
  EXPECT_TRUE(a.starts_with("whsec_")) << a;
  EXPECT_EQ(a.size(), 6u + 43u);  // 256 bits, base64url
  EXPECT_NE(a, b);
}

store::DocumentRecord Document() {
  store::DocumentRecord d;
  d.id = "doc_1";
  d.workspace_id = kWsA;
  d.title = "Refund policy";
  d.status = "ready";
  d.version = 3;
  d.chunk_count = 12;
  return d;
}

TEST(DocumentEvent, CarriesTheDocumentSummary) {
  const Json ready = DocumentEvent("evt_1", "document.ready", Document(), 1'700'000'000'123);
  EXPECT_EQ(ready, Json::parse(R"({"id":"evt_1","type":"document.ready","createdAt":"2023-11-14T22:13:20.123Z",
      "workspaceId":"wks_a","document":{"id":"doc_1","title":"Refund policy","status":"ready","version":3,
      "chunkCount":12,"error":null}})"));

  store::DocumentRecord failed = Document();
  failed.status = "failed";
  failed.chunk_count = 0;
  failed.error_code = "EMPTY_DOCUMENT";
  failed.error = "the document has no text";
  const Json event = DocumentEvent("evt_2", "document.failed", failed, 1'700'000'000'000);
  EXPECT_EQ(event["document"]["status"], "failed");
  EXPECT_EQ(event["document"]["error"],
            Json::parse(R"({"code":"EMPTY_DOCUMENT","message":"the document has no text"})"));
}

TEST(DeliveryHeaders, SignTheExactBody) {
  const std::string body = R"({"id":"evt_1","type":"document.ready"})";
  const auto headers = DeliveryHeaders("whsec_k", "evt_1", body, 1'700'000'000, "studio-webhooks/1.2.3");
  ASSERT_EQ(headers.size(), 5u);
  EXPECT_EQ(headers[0], "Content-Type: application/json");
  ASSERT_TRUE(headers[1].starts_with("Studio-Signature: "));
  const std::string signature = headers[1].substr(18);
  EXPECT_EQ(signature, "t=1700000000,v1=" + queue::HmacSha256Hex("whsec_k", "1700000000." + body));
  EXPECT_TRUE(queue::VerifyWebhookSignature("whsec_k", signature, body, 1'700'000'010));
  EXPECT_FALSE(queue::VerifyWebhookSignature("whsec_other", signature, body, 1'700'000'010));
  EXPECT_EQ(headers[2], "Studio-Event-Id: evt_1");
  EXPECT_EQ(headers[3], "User-Agent: studio-webhooks/1.2.3");
  EXPECT_EQ(headers[4], "Expect:");
}

// --- with a database ---------------------------------------------------------------------------

class WebhooksTest : public queue::testing::QueueTest {
 protected:
  void Subscribe(const char* workspace, const std::string& url, const char* events_json) {
    db().Write([&](store::Tx& tx) {
      store::webhooks::Insert(tx, store::WebhookRecord{workspace, url, "whsec_test", events_json, 1, 1});
    });
  }
  std::optional<std::string> Emit(queue::JobQueue& q, const store::DocumentRecord& doc, std::string_view type) {
    return db().WriteValue([&](store::Tx& tx) { return EnqueueDocumentEvent(tx, q, doc, type); });
  }
};

TEST_P(WebhooksTest, EventsAreEnqueuedOnlyForSubscribedEndpointsOncePerVersion) {
  queue::JobQueue q(ManualClock());
  EXPECT_EQ(Emit(q, Document(), "document.ready"), std::nullopt);  // no endpoint
  Subscribe(kWsA, "https://hooks.example.com/a", R"(["document.ready"])");
  EXPECT_EQ(Emit(q, Document(), "document.failed"), std::nullopt);  // not subscribed to it

  const auto id = Emit(q, Document(), "document.ready");
  ASSERT_TRUE(id.has_value());
  const queue::Job job = Get(q, *id).value();
  EXPECT_EQ(job.workspace_id, kWsA);
  EXPECT_EQ(job.queue, "webhooks");
  EXPECT_EQ(job.type, "webhook.deliver");
  EXPECT_EQ(job.max_attempts, 8);
  const Json payload = Json::parse(job.payload);
  EXPECT_TRUE(payload["id"].get<std::string>().starts_with("evt_"));
  EXPECT_EQ(payload["type"], "document.ready");
  EXPECT_EQ(payload["document"]["id"], "doc_1");
  EXPECT_EQ(payload["document"]["version"], 3);

  // A re-run of the same ingestion finds its event: same job, same event id.
  EXPECT_EQ(Emit(q, Document(), "document.ready"), id);
  EXPECT_EQ(Json::parse(Get(q, *id)->payload)["id"], payload["id"]);
  // A new version is a new event.
  store::DocumentRecord next = Document();
  next.version = 4;
  const auto next_id = Emit(q, next, "document.ready");
  ASSERT_TRUE(next_id.has_value());
  EXPECT_NE(next_id, id);

  // Another workspace's documents never reach this endpoint.
  store::DocumentRecord other = Document();
  other.id = "doc_b";
  other.workspace_id = kWsB;
  EXPECT_EQ(Emit(q, other, "document.ready"), std::nullopt);
}

TEST_P(WebhooksTest, AnEventCommitsOrRollsBackWithItsTransaction) {
  queue::JobQueue q(ManualClock());
  Subscribe(kWsA, "https://hooks.example.com/a", R"(["document.ready","document.failed"])");
  std::string enqueued;
  EXPECT_THROW(db().Write([&](store::Tx& tx) {
    enqueued = EnqueueDocumentEvent(tx, q, Document(), "document.failed").value();
    throw std::runtime_error("the status change failed");
  }),
               std::runtime_error);
  ASSERT_FALSE(enqueued.empty());
  EXPECT_FALSE(Get(q, enqueued).has_value());
}

// A loopback HTTP/1.1 receiver: answers each connection with the next scripted status and records
// the raw requests. Enough for libcurl's one request per connection here.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void Serve() {
    for (std::size_t i = 0; !stop_; ++i) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buf[4096];
      for (;;) {  // headers, then Content-Length bytes of body
        const std::size_t end = request.find("\r\n\r\n");
        if (end != std::string::npos) {
          const std::size_t cl = request.find("Content-Length: ");
          const std::size_t length = cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16));
          if (request.size() >= end + 4 + length) break;
        }
        const ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      const int status = i < statuses_.size() ? statuses_[i] : 200;
      const std::string response = "HTTP/1.1 " + std::to_string(status) +
                                   " Scripted\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 2\r\n"
                                   "Connection: close\r\n\r\nok";
      (void)::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(client);
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
    }
  }

  std::vector<int> statuses_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

std::string HeaderOf(const std::string& request, const std::string& name) {
  const std::size_t at = request.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  const std::size_t begin = at + name.size() + 4;
  return request.substr(begin, request.find("\r\n", begin) - begin);
}

// Runs the queue "webhooks" with a Deliverer until `done`.
template <class Done>
bool Deliver(store::Db& db, queue::JobQueue& q, Done done) {
  Deliverer deliverer(db, DeliveryOptions{.user_agent = "studio-webhooks/test"});
  queue::WorkerPool pool(db, q);
  pool.AddQueue({.name = std::string(kQueue), .concurrency = 1});
  pool.Handle(std::string(kDeliverJobType), [&](queue::JobContext& job) { deliverer.Run(job); });
  pool.Start();
  const bool finished = Eventually(done);
  pool.Stop(std::chrono::seconds(10));
  return finished;
}

queue::JobQueueOptions FastRetries() {
  queue::JobQueueOptions o;
  o.backoff = queue::BackoffPolicy{std::chrono::milliseconds(10), std::chrono::milliseconds(50)};
  return o;
}

TEST_P(WebhooksTest, DeliversSignedUntilA2xxWithoutFollowingRedirects) {
  Receiver receiver({500, 302, 204});
  queue::JobQueue q(FastRetries());
  Subscribe(kWsA, receiver.url("/hook?token=receiver-secret"), R"(["document.ready"])");
  const std::string id = Emit(q, Document(), "document.ready").value();
  ASSERT_TRUE(Deliver(db(), q, [&] { return Get(q, id)->status == queue::JobStatus::kCompleted; }));

  const queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.attempts, 3);
  const Json errors = Json::parse(job.errors_json);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0]["error"], "HTTP 500 from " + receiver.url(""));
  EXPECT_EQ(errors[1]["error"], "HTTP 302 from " + receiver.url(""));     // the Location was not followed
  EXPECT_EQ(job.errors_json.find("receiver-secret"), std::string::npos);  // the query never shows
  EXPECT_EQ(Json::parse(job.result_json.value())["status"], 204);

  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const std::string& r : requests) {
    EXPECT_TRUE(r.starts_with("POST /hook?token=receiver-secret HTTP/1.1\r\n")) << r;
    const std::string body = r.substr(r.find("\r\n\r\n") + 4);
    EXPECT_EQ(body, job.payload);  // every attempt sends the same bytes
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
    EXPECT_EQ(HeaderOf(r, "User-Agent"), "studio-webhooks/test");
    EXPECT_EQ(HeaderOf(r, "Studio-Event-Id"), Json::parse(body)["id"]);
    EXPECT_TRUE(queue::VerifyWebhookSignature(
        "whsec_test", HeaderOf(r, "Studio-Signature"), body,
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()));
  }
}

TEST_P(WebhooksTest, ADeletedEndpointCompletesWithoutSending) {
  Receiver receiver({});
  queue::JobQueue q(FastRetries());
  Subscribe(kWsA, receiver.url("/hook"), R"(["document.ready"])");
  const std::string id = Emit(q, Document(), "document.ready").value();
  db().Write([](store::Tx& tx) { store::webhooks::Delete(tx, kWsA); });
  ASSERT_TRUE(Deliver(db(), q, [&] { return Get(q, id)->status == queue::JobStatus::kCompleted; }));
  EXPECT_EQ(Get(q, id)->attempts, 1);
  EXPECT_NE(Get(q, id)->result_json.value_or("").find("skipped"), std::string::npos);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST_P(WebhooksTest, AnUnreachableEndpointIsRetriedThenDead) {
  queue::JobQueue q(FastRetries());
  // Port 1 on loopback: the connection is refused at once.
  Subscribe(kWsA, "http://127.0.0.1:1/hook?token=receiver-secret", R"(["document.ready"])");
  const std::string id = Emit(q, Document(), "document.ready").value();
  ASSERT_TRUE(Deliver(db(), q, [&] { return Get(q, id)->status == queue::JobStatus::kDead; }));
  const queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.attempts, kMaxDeliveryAttempts);
  EXPECT_EQ(job.last_error, "Couldn't connect to server from http://127.0.0.1:1");
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhooksTest, ::testing::Values(store::Backend::kSqlite, store::Backend::kPostgres),
                         [](const ::testing::TestParamInfo<store::Backend>& param) {
                           return std::string(store::BackendName(param.param));
                         });

}  // namespace
}  // namespace studio::webhooks
