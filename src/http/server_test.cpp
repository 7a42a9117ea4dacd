#include "http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/error.hpp"
#include "http/sse.hpp"
#include "http/test_client.hpp"

namespace studio::http {
namespace {

using namespace std::chrono_literals;
using testing::Fetch;
using testing::TestConnection;

// A real server on a free loopback port with routes that exercise each part of the core.
class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}, std::size_t pool_threads = 2, std::size_t pool_queue = 8) {
    router_.Add("GET", "/ping",
                [](Request&) {
                  return Response::MakeJson(200, {{"ok", true}});
                },
                {.execution = Execution::kInline});
    router_.Add("GET", "/items/{id}", [](Request& r) { return Response::MakeJson(200, {{"id", r.Param("id")}}); });
    router_.Add("DELETE", "/items/{id}", [](Request&) { return Response::NoContent(); });
    router_.Add("POST", "/echo", [](Request& r) { return Response::MakeJson(200, r.JsonBody()); },
                {.body_limit = 1024});
    router_.Add("POST", "/raw", [](Request& r) { return Response::Text(200, "text/plain", r.body); },
                {.body_limit = 64, .json_body = false});
    router_.Add("GET", "/slow", [this](Request& r) {
      auto ms = std::stoi(std::string(r.Query("ms").value_or("200")));
      slow_started_++;
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return Response::MakeJson(200, {{"slept", ms}});
    });
    router_.Add("GET", "/boom",
                [](Request&) -> Response { throw std::runtime_error("secret internals at 0xdeadbeef"); });
    router_.Add("GET", "/conflict", [](Request&) -> Response { throw Conflict("Slug taken.", "SLUG_TAKEN"); });
    router_.AddSse("GET", "/events", [this](Request& r, SseStream& s) {
      int n = std::stoi(std::string(r.Query("n").value_or("3")));
      for (int i = 0; i < n && !s.Cancelled(); ++i) {
        s.Send("tick", "line one\nline " + std::to_string(i), std::to_string(i));
        s.WaitFor(std::chrono::milliseconds(std::stoi(std::string(r.Query("gap").value_or("10")))));
      }
      if (s.Cancelled()) sse_cancelled_ = true;
      sse_done_ = true;
    });
    // A handler that prepares (e.g. waits on a model) before its first event.
    router_.AddSse("GET", "/prepare", [this](Request& r, SseStream& s) {
      s.OnCancel([this] { prepare_cancelled_ = true; });
      prepare_started_ = true;
      if (s.WaitFor(std::chrono::milliseconds(std::stoi(std::string(r.Query("ms").value_or("5000")))))) {
        s.Send("done", "prepared");
      }
    });
    // One handler that answers in whichever way ?mode= asks.
    router_.AddSse("GET", "/answer", [this](Request& r, SseStream& s) {
      std::string mode(r.Query("mode").value_or(""));
      if (mode == "respond") {
        s.Respond(Response::MakeJson(201, {{"answered", true}}));
      } else if (mode == "respond_at_gate") {
        prepare_started_ = true;
        while (!gate_open_ && s.WaitFor(5ms)) {
        }
        s.Respond(Response::MakeJson(201, {{"answered", true}}));
      } else if (mode == "rate_limited") {
        throw TooManyRequests("Slow down.", 7);
      } else if (mode == "unprocessable") {
        throw Error(422, "UNPROCESSABLE", "Unprocessable Content", "The question is empty.");
      } else if (mode == "crash") {
        throw std::runtime_error("secret stream internals");
      } else if (mode == "fail_after") {
        s.Send("token", "partial");
        throw Error(422, "UNPROCESSABLE", "Unprocessable Content", "Gave up midway.");
      } else if (mode == "respond_after_send") {
        s.Send("token", "a");
        try {
          s.Respond(Response::NoContent());
        } catch (const std::logic_error&) {
          s.Send("refused", "respond after send");
        }
      }
      // "empty": returns without a word
    });
    // Holds its stream open until cancelled; ?linger=MS delays the return after cancellation.
    router_.AddSse("GET", "/hold", [this](Request& r, SseStream& s) {
      s.OnCancel([this] { hold_cancelled_++; });
      s.Send("ready", "1");
      while (s.WaitFor(50ms)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(r.Query("linger").value_or("0")))));
      hold_exited_++;
    });
    router_.AddSse(
        "POST", "/chat",
        [](Request& r, SseStream& s) { s.Send("echo", r.JsonBody().at("prompt").get<std::string>()); },
        {.body_limit = 256});
    options.port = 0;
    options.io_threads = 2;
    if (options.header_timeout == ServerOptions{}.header_timeout) options.header_timeout = 500ms;
    pool_ = std::make_unique<BlockingPool>(pool_threads, pool_queue);
    ServerHooks hooks;
    hooks.on_complete = [this](const AccessRecord& rec) {
      std::lock_guard lock(mu_);
      records_.push_back(rec);
    };
    server_ = std::make_unique<Server>(options, router_, *pool_, hooks);
    server_->Listen();
    port_ = server_->port();
    thread_ = std::thread([this] { server_->Run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->BeginShutdown();
      thread_.join();
      pool_->Stop();
    }
  }

  std::vector<AccessRecord> Records() {
    std::lock_guard lock(mu_);
    return records_;
  }

  Router router_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<AccessRecord> records_;
  std::atomic<int> slow_started_{0};
  std::atomic<bool> sse_cancelled_{false};
  std::atomic<bool> sse_done_{false};
  std::atomic<bool> prepare_started_{false};
  std::atomic<bool> gate_open_{false};
  std::atomic<bool> prepare_cancelled_{false};
  std::atomic<int> hold_cancelled_{0};
  std::atomic<int> hold_exited_{0};
};

/// Polls `pred` for up to `timeout`.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = 3s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

Json ParseBody(const testing::ClientResponse& r) { return Json::parse(r.body); }

TEST_F(ServerTest, RoutesWithPathParametersAndKeepAlive) {
  Start();
  TestConnection c(port_);
  auto a = c.Request("GET", "/items/abc%20def");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(ParseBody(a)["id"], "abc def");
  auto b = c.Request("GET", "/ping");  // same connection
  EXPECT_EQ(b.status, 200);
  EXPECT_FALSE(b.closed);
}

TEST_F(ServerTest, UnknownPathIsProblem404WithRequestId) {
  Start();
  auto r = Fetch(port_, "GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/problem+json");
  auto j = ParseBody(r);
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(j["code"], "NOT_FOUND");
  EXPECT_EQ(j["title"], "Not Found");
  EXPECT_TRUE(j["type"].is_string());
  EXPECT_TRUE(j["detail"].is_string());
  ASSERT_TRUE(r.Header("X-Request-Id"));
  EXPECT_EQ(j["requestId"], std::string(*r.Header("X-Request-Id")));
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  Start();
  auto r = Fetch(port_, "POST", "/items/1", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow").value_or(""), "DELETE, GET, HEAD");
  EXPECT_EQ(ParseBody(r)["code"], "METHOD_NOT_ALLOWED");
}

TEST_F(ServerTest, SaneRequestIdIsEchoedAndHostileOneReplaced) {
  Start();
  auto a = Fetch(port_, "GET", "/ping", {}, {{"X-Request-Id", "client-abc.123"}});
  EXPECT_EQ(a.Header("X-Request-Id").value_or(""), "client-abc.123");
  auto b = Fetch(port_, "GET", "/ping", {}, {{"X-Request-Id", "bad id with spaces"}});
  std::string id(b.Header("X-Request-Id").value_or(""));
  EXPECT_EQ(id.rfind("req_", 0), 0u) << id;
}

TEST_F(ServerTest, SecurityHeadersOnEveryResponseAndNoServerBanner) {
  Start();
  for (auto target : {"/ping", "/nope", "/boom"}) {
    auto r = Fetch(port_, "GET", target);
    EXPECT_EQ(r.Header("X-Content-Type-Options").value_or(""), "nosniff") << target;
    EXPECT_EQ(r.Header("X-Frame-Options").value_or(""), "DENY") << target;
    EXPECT_EQ(r.Header("Referrer-Policy").value_or(""), "no-referrer") << target;
    EXPECT_NE(r.Header("Content-Security-Policy").value_or("").find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_FALSE(r.Header("Server")) << target;
    EXPECT_FALSE(r.Header("Strict-Transport-Security")) << "HSTS is off unless configured";
  }
}

TEST_F(ServerTest, HstsWhenConfigured) {
  ServerOptions o;
  o.hsts_max_age = 31536000;
  Start(o);
  auto r = Fetch(port_, "GET", "/ping");
  EXPECT_EQ(r.Header("Strict-Transport-Security").value_or(""), "max-age=31536000; includeSubDomains");
}

TEST_F(ServerTest, BodyOverRouteLimitIs413) {
  Start();
  auto r = Fetch(port_, "POST", "/echo", std::string(2000, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ParseBody(r)["code"], "PAYLOAD_TOO_LARGE");
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  Start();
  TestConnection c(port_);
  std::string chunk(40, 'x');
  std::string raw = "POST /raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) raw += "28\r\n" + chunk + "\r\n";
  raw += "0\r\n\r\n";
  c.SendRaw(raw);
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 413);
}

TEST_F(ServerTest, ChunkedBodyUnderLimitIsAccepted) {
  Start();
  TestConnection c(port_);
  c.SendRaw(
      "POST /raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
}

TEST_F(ServerTest, LongUrlIs414) {
  Start();
  auto r = Fetch(port_, "GET", "/items/" + std::string(9000, 'a'));
  EXPECT_EQ(r.status, 414);
  auto huge = Fetch(port_, "GET", "/items/" + std::string(20000, 'a'));  // past the header limit too
  EXPECT_EQ(huge.status, 414);
}

TEST_F(ServerTest, HugeHeadersAre431) {
  Start();
  auto r = Fetch(port_, "GET", "/ping", {}, {{"X-Big", std::string(20000, 'b')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(ParseBody(r)["code"], "HEADERS_TOO_LARGE");
}

TEST_F(ServerTest, WrongContentTypeIs415) {
  Start();
  auto r = Fetch(port_, "POST", "/echo", "a=1", {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 415);
  auto ok = Fetch(port_, "POST", "/echo", "{\"a\":1}", {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ServerTest, MalformedJsonIs400NamingTheProblem) {
  Start();
  auto r = Fetch(port_, "POST", "/echo", "{\"a\": tru}");
  EXPECT_EQ(r.status, 400);
  auto j = ParseBody(r);
  EXPECT_EQ(j["code"], "INVALID_JSON") << r.body;
  EXPECT_NE(j["detail"].get<std::string>().find("byte"), std::string::npos);
  EXPECT_EQ(j["errors"][0]["field"], "body");
}

TEST_F(ServerTest, HundredThousandDeepBodyRejectedFast) {
  router_.Add("POST", "/big-echo", [](Request& r) { return Response::MakeJson(200, r.JsonBody()); },
              {.body_limit = 1 << 20});
  Start();
  auto start = std::chrono::steady_clock::now();
  auto r = Fetch(port_, "POST", "/big-echo", std::string(100000, '['));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ParseBody(r)["code"], "JSON_TOO_DEEP");
  RecordProperty("deep_reject_ms",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(Fetch(port_, "GET", "/ping").status, 200);  // process unharmed
}

TEST_F(ServerTest, UnexpectedExceptionIs500WithoutInternals) {
  Start();
  auto r = Fetch(port_, "GET", "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  EXPECT_EQ(r.body.find("deadbeef"), std::string::npos);
  auto j = ParseBody(r);
  EXPECT_EQ(j["code"], "INTERNAL");
  EXPECT_EQ(j["requestId"], std::string(*r.Header("X-Request-Id")));
  // The internal detail reaches the server-side log record only.
  // The record is written after the response went out, so allow the server a moment.
  bool logged = false;
  for (int i = 0; i < 200 && !logged; ++i) {
    for (const auto& rec : Records())
      logged |= rec.status == 500 && rec.error.find("secret internals") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(logged);
}

TEST_F(ServerTest, TypedErrorKeepsStatusAndCode) {
  Start();
  auto r = Fetch(port_, "GET", "/conflict");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ParseBody(r)["code"], "SLUG_TAKEN");
}

TEST_F(ServerTest, HeadReturnsHeadersWithoutBody) {
  Start();
  TestConnection c(port_);
  c.SendRaw("HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto raw = c.ReadUntilClose(300ms, closed);
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(raw.find("Content-Length: 11"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("{\"ok\""), std::string::npos);
}

TEST_F(ServerTest, AccessRecordsCarryRouteTemplateNotRawPath) {
  Start();
  Fetch(port_, "GET", "/items/secret-id-123");
  auto recs = Records();
  for (int i = 0; i < 200 && recs.empty(); ++i) {  // recorded just after the response is written
    std::this_thread::sleep_for(5ms);
    recs = Records();
  }
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back().route, "/items/{id}");
  EXPECT_EQ(recs.back().status, 200);
  EXPECT_GT(recs.back().bytes_out, 0u);
}

TEST_F(ServerTest, CorsAllowListAndPreflight) {
  ServerOptions o;
  o.cors_origins = {"https://app.example.com"};
  Start(o);
  auto ok = Fetch(port_, "GET", "/ping", {}, {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(ok.Header("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
  auto denied = Fetch(port_, "GET", "/ping", {}, {{"Origin", "https://evil.example.com"}});
  EXPECT_FALSE(denied.Header("Access-Control-Allow-Origin"));
  auto pre = Fetch(port_, "OPTIONS", "/items/1", {},
                   {{"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "DELETE"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_NE(pre.Header("Access-Control-Allow-Methods").value_or("").find("DELETE"), std::string::npos);
  EXPECT_EQ(pre.Header("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
}

TEST_F(ServerTest, OpenCorsPathsAnswerAnyOriginWithoutCredentials) {
  ServerOptions o;
  o.cors_origins = {"https://app.example.com"};
  o.open_cors_paths = {"/ping"};
  Start(o);
  auto shop = Fetch(port_, "GET", "/ping", {}, {{"Origin", "https://shop.example.org"}});
  EXPECT_EQ(shop.Header("Access-Control-Allow-Origin").value_or(""), "https://shop.example.org");
  EXPECT_FALSE(shop.Header("Access-Control-Allow-Credentials"));
  auto elsewhere = Fetch(port_, "GET", "/items/1", {}, {{"Origin", "https://shop.example.org"}});
  EXPECT_FALSE(elsewhere.Header("Access-Control-Allow-Origin"));
  auto pre = Fetch(port_, "OPTIONS", "/ping", {},
                   {{"Origin", "https://shop.example.org"}, {"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "x-widget-key, content-type"}});
  EXPECT_EQ(pre.Header("Access-Control-Allow-Origin").value_or(""), "https://shop.example.org");
  EXPECT_NE(pre.Header("Access-Control-Allow-Headers").value_or("").find("X-Widget-Key"), std::string::npos);
}

TEST_F(ServerTest, SlowlorisConnectionIsClosed) {
  Start();  // header_timeout = 500 ms
  TestConnection c(port_);
  c.SendRaw("GET /ping HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  std::string got;
  for (int i = 0; i < 10 && !closed; ++i) {
    try {
      c.SendRaw("X-Drip: 1\r\n");  // keeps dripping bytes, which must not extend the deadline
    } catch (const std::exception&) {
      closed = true;  // the server already hung up (EPIPE / reset)
      break;
    }
    got += c.ReadUntilClose(200ms, closed);
  }
  EXPECT_TRUE(closed) << "server kept a slowloris connection open";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(got.find("200 OK"), std::string::npos);
}

TEST_F(ServerTest, FullBlockingPoolAnswers503WithRetryAfter) {
  Start({}, /*pool_threads=*/1, /*pool_queue=*/0);
  std::thread busy([this] { Fetch(port_, "GET", "/slow?ms=800"); });
  while (slow_started_ == 0) std::this_thread::sleep_for(5ms);
  auto r = Fetch(port_, "GET", "/items/1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After").value_or(""), "1");
  EXPECT_EQ(ParseBody(r)["code"], "SERVER_BUSY");
  EXPECT_EQ(Fetch(port_, "GET", "/ping").status, 200);  // inline routes still answer
  busy.join();
}

TEST_F(ServerTest, ConnectionCapRefusesExtraConnections) {
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  TestConnection a(port_), b(port_);
  EXPECT_EQ(a.Request("GET", "/ping").status, 200);
  EXPECT_EQ(b.Request("GET", "/ping").status, 200);
  TestConnection c(port_);
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 503);
  a.Close();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Fetch(port_, "GET", "/ping").status, 200);
}

TEST_F(ServerTest, SseStreamsEventsInOrder) {
  Start();
  TestConnection c(port_);
  c.SendRaw("GET /events?n=3 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  bool closed = false;
  auto raw = c.ReadUntilClose(3s, closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(raw.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos);
  auto p0 = raw.find("id: 0\nevent: tick\ndata: line one\ndata: line 0\n\n");
  auto p2 = raw.find("id: 2\nevent: tick\ndata: line one\ndata: line 2\n\n");
  ASSERT_NE(p0, std::string::npos) << raw;
  ASSERT_NE(p2, std::string::npos) << raw;
  EXPECT_LT(p0, p2);
  EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos) << "stream must end with the last chunk";
}

TEST_F(ServerTest, SseHeartbeatsWhileQuiet) {
  ServerOptions o;
  o.sse_heartbeat = 50ms;
  Start(o);
  TestConnection c(port_);
  c.SendRaw("GET /events?n=2&gap=400 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto raw = c.ReadUntil("id: 1", 3s);
  EXPECT_NE(raw.find(": heartbeat"), std::string::npos) << raw;
}

TEST_F(ServerTest, SseClientDisconnectCancelsHandler) {
  Start();
  {
    TestConnection c(port_);
    c.SendRaw("GET /events?n=100000&gap=20 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.ReadUntil("id: 1", 3s);
  }  // client goes away
  for (int i = 0; i < 200 && !sse_done_; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(sse_done_);
  EXPECT_TRUE(sse_cancelled_);
}

// --- Event streams: lazy head, Respond, threads of their own -----------------------------------

TEST_F(ServerTest, SseErrorBeforeFirstEventIsAnOrdinaryProblemResponse) {
  Start();
  TestConnection c(port_);
  auto r = c.Request("GET", "/answer?mode=rate_limited");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/problem+json");
  EXPECT_EQ(r.Header("Retry-After").value_or(""), "7");
  EXPECT_EQ(ParseBody(r)["code"], "RATE_LIMITED");
  EXPECT_EQ(ParseBody(r)["requestId"], std::string(r.Header("X-Request-Id").value_or("?")));
  EXPECT_FALSE(r.closed) << "kept alive like any route's error";
  auto u = c.Request("GET", "/answer?mode=unprocessable");  // same connection
  EXPECT_EQ(u.status, 422);
  EXPECT_EQ(ParseBody(u)["code"], "UNPROCESSABLE");
  auto crash = c.Request("GET", "/answer?mode=crash");
  EXPECT_EQ(crash.status, 500);
  EXPECT_EQ(crash.body.find("secret"), std::string::npos);
  EXPECT_EQ(c.Request("GET", "/ping").status, 200);

  std::vector<int> statuses;
  bool crash_logged = false;
  ASSERT_TRUE(WaitUntil([&] {
    statuses.clear();
    for (const auto& rec : Records()) {
      if (rec.route != "/answer") continue;
      statuses.push_back(rec.status);
      crash_logged |= rec.status == 500 && rec.error.find("secret stream internals") != std::string::npos;
    }
    return statuses.size() == 3;
  }));
  EXPECT_EQ(statuses, (std::vector<int>{429, 422, 500}));
  EXPECT_TRUE(crash_logged);
}

TEST_F(ServerTest, SseErrorAfterFirstEventIsAnErrorEvent) {
  Start();
  TestConnection c(port_);
  c.SendRaw("GET /answer?mode=fail_after HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto raw = c.ReadUntilClose(3s, closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_NE(raw.find("text/event-stream"), std::string::npos);
  auto token = raw.find("event: token\ndata: partial\n\n");
  auto error = raw.find("event: error\ndata: {\"code\":\"UNPROCESSABLE\",\"message\":\"Gave up midway.\"}\n\n");
  ASSERT_NE(token, std::string::npos) << raw;
  ASSERT_NE(error, std::string::npos) << raw;
  EXPECT_LT(token, error);
}

TEST_F(ServerTest, SseRespondAnswersJsonAndKeepsTheConnection) {
  Start();
  TestConnection c(port_);
  auto a = c.Request("GET", "/answer?mode=respond");
  EXPECT_EQ(a.status, 201);
  EXPECT_EQ(a.Header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(ParseBody(a)["answered"], true);
  EXPECT_FALSE(a.closed);
  EXPECT_EQ(a.Header("X-Content-Type-Options").value_or(""), "nosniff") << "common headers as on any route";
  auto b = c.Request("GET", "/items/7");  // the same connection reads its next request
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(ParseBody(b)["id"], "7");
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& rec : Records())
      if (rec.route == "/answer" && rec.status == 201) return true;
    return false;
  })) << "the access record carries the status of the Respond answer";
}

TEST_F(ServerTest, SseRespondKeepsAPipelinedRequest) {
  Start();
  TestConnection c(port_);
  // The second request arrives while the stream's handler still prepares: the disconnect watcher
  // reads it and must keep its bytes for the next request.
  c.SendRaw("GET /answer?mode=respond_at_gate HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(WaitUntil([this] { return prepare_started_.load(); }));
  c.SendRaw("GET /items/42 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(50ms);  // let the watcher take it in
  gate_open_ = true;
  auto a = c.ReadResponse();
  EXPECT_EQ(a.status, 201);
  EXPECT_FALSE(a.closed);
  auto b = c.ReadResponse();
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(ParseBody(b)["id"], "42");
  // Both in one write: the second is already buffered when the stream starts.
  c.SendRaw(
      "GET /answer?mode=respond HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /items/43 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().status, 201);
  EXPECT_EQ(ParseBody(c.ReadResponse())["id"], "43");
}

TEST_F(ServerTest, SseRespondAfterSendIsRefused) {
  Start();
  TestConnection c(port_);
  c.SendRaw("GET /answer?mode=respond_after_send HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto raw = c.ReadUntilClose(3s, closed);
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_NE(raw.find("event: refused\ndata: respond after send\n\n"), std::string::npos) << raw;
}

TEST_F(ServerTest, SseHandlerThatSaysNothingGetsAnEmptyStream) {
  Start();
  TestConnection c(port_);
  c.SendRaw("GET /answer?mode=empty HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  auto raw = c.ReadUntilClose(3s, closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Type: text/event-stream"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\r\n\r\n0\r\n\r\n"), std::string::npos) << "the head, then at once the last chunk: " << raw;
}

TEST_F(ServerTest, SseHeadIsWrittenOnlyAtTheFirstEvent) {
  router_.AddSse("GET", "/gate", [this](Request&, SseStream& s) {
    prepare_started_ = true;
    while (!gate_open_ && s.WaitFor(5ms)) {
    }
    s.Send("done", "prepared");
  });
  Start();
  // A raw socket: the test client's timed reads close the connection when they time out.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req = "GET /gate HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  ASSERT_TRUE(WaitUntil([this] { return prepare_started_.load(); }));
  pollfd pfd{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 300), 0) << "nothing may be written while the handler prepares";
  gate_open_ = true;
  std::string raw;
  char buf[4096];
  while (raw.find("data: prepared") == std::string::npos && ::poll(&pfd, 1, 3000) == 1) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
  EXPECT_NE(raw.find("event: done\ndata: prepared\n\n"), std::string::npos) << raw;
}

TEST_F(ServerTest, SseDisconnectWhilePreparingCancelsTheHandler) {
  Start();
  {
    TestConnection c(port_);
    c.SendRaw("GET /prepare?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(WaitUntil([this] { return prepare_started_.load(); }));
  }  // the client leaves before the first event
  EXPECT_TRUE(WaitUntil([this] { return prepare_cancelled_.load(); })) << "OnCancel must run";
  EXPECT_TRUE(WaitUntil([this] { return server_->open_streams() == 0; }));
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& rec : Records())
      if (rec.route == "/prepare" && rec.status == 499) return true;
    return false;
  })) << "recorded as a request the client closed";
}

TEST_F(ServerTest, SseDisconnectWhileStreamingRunsOnCancel) {
  Start();
  {
    TestConnection c(port_);
    c.SendRaw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    auto raw = c.ReadUntil("data: 1", 3s);
    ASSERT_NE(raw.find("event: ready"), std::string::npos) << raw;
    EXPECT_EQ(server_->open_streams(), 1u);
  }
  EXPECT_TRUE(WaitUntil([this] { return hold_cancelled_ == 1; }, 1s)) << "cancelled promptly";
  EXPECT_TRUE(WaitUntil([this] { return hold_exited_ == 1 && server_->open_streams() == 0; }));
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& rec : Records())
      if (rec.route == "/hold" && rec.status == 200) return true;
    return false;
  }));
}

TEST_F(ServerTest, ManyOpenStreamsLeaveTheBlockingPoolFree) {
  Start({}, /*pool_threads=*/2, /*pool_queue=*/8);
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<TestConnection>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<TestConnection>(port_));
    clients.back()->SendRaw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (auto& c : clients) {
    auto raw = c->ReadUntil("data: 1", 10s);
    ASSERT_NE(raw.find("event: ready"), std::string::npos) << raw;
  }
  EXPECT_EQ(server_->open_streams(), static_cast<std::size_t>(kStreams));
  // Database-style work on the pool still gets a thread.
  auto slow = Fetch(port_, "GET", "/slow?ms=10");
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(Fetch(port_, "GET", "/items/1").status, 200);
  clients.clear();
  EXPECT_TRUE(WaitUntil([this] { return server_->open_streams() == 0; }, 10s));
  EXPECT_EQ(hold_exited_, kStreams);
}

TEST_F(ServerTest, StreamsPastMaxStreamsAre503) {
  ServerOptions o;
  o.max_streams = 2;
  Start(o);
  TestConnection a(port_), b(port_);
  a.SendRaw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  b.SendRaw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  a.ReadUntil("data: 1", 3s);
  b.ReadUntil("data: 1", 3s);
  TestConnection c(port_);
  c.SendRaw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After").value_or(""), "1");
  EXPECT_EQ(ParseBody(r)["code"], "SERVER_BUSY");
  EXPECT_EQ(Fetch(port_, "GET", "/items/1").status, 200) << "ordinary routes are not limited by it";
  a.Close();
  ASSERT_TRUE(WaitUntil([this] { return server_->open_streams() == 1; }));
  TestConnection d(port_);
  d.SendRaw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(d.ReadUntil("data: 1", 3s).find("event: ready"), std::string::npos) << "a freed slot is reused";
}

TEST_F(ServerTest, SsePostReadsItsJsonBodyUnderTheRouteLimits) {
  Start();
  TestConnection c(port_);
  c.SendRaw(
      "POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n"
      "{\"prompt\":\"hello\"}");
  auto raw = c.ReadUntil("data: hello", 3s);
  EXPECT_NE(raw.find("event: echo\ndata: hello\n\n"), std::string::npos) << raw;
  EXPECT_EQ(Fetch(port_, "POST", "/chat", "prompt=hello", {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(Fetch(port_, "POST", "/chat", "{\"prompt\":\"" + std::string(300, 'x') + "\"}").status, 413);
  auto bad = Fetch(port_, "POST", "/chat", "{\"prompt\": tru}");
  EXPECT_EQ(bad.status, 400) << "malformed JSON thrown before the first event is a problem response";
  EXPECT_EQ(ParseBody(bad)["code"], "INVALID_JSON");
}

TEST_F(ServerTest, ShutdownWaitsForStreamHandlersToReturn) {
  ServerOptions o;
  o.shutdown_grace = 1500ms;
  Start(o);
  std::vector<std::unique_ptr<TestConnection>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<TestConnection>(port_));
    clients.back()->SendRaw("GET /hold?linger=300 HTTP/1.1\r\nHost: x\r\n\r\n");
    clients.back()->ReadUntil("data: 1", 3s);
  }
  TestConnection preparing(port_);
  preparing.SendRaw("GET /prepare?ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(WaitUntil([this] { return prepare_started_.load(); }));
  ASSERT_EQ(server_->open_streams(), 6u);
  server_->BeginShutdown();
  // A stream still preparing at the deadline has no head yet: it gets a plain 503.
  auto r = preparing.ReadResponse(5s);
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.closed);
  thread_.join();  // Run() returns only once every handler has returned, lingering ones included
  EXPECT_EQ(hold_exited_, 5);
  EXPECT_EQ(server_->open_streams(), 0u);
  pool_->Stop();
  server_.reset();
}

TEST_F(ServerTest, ShutdownLetsInFlightRequestsFinish) {
  Start();
  testing::ClientResponse slow;
  std::thread t([&] { slow = Fetch(port_, "GET", "/slow?ms=600"); });
  while (slow_started_ == 0) std::this_thread::sleep_for(5ms);
  TestConnection idle(port_);  // an idle keep-alive connection must not hold shutdown up
  server_->BeginShutdown();
  t.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_TRUE(slow.closed) << "responses during drain close the connection";
  thread_.join();
  pool_->Stop();
  server_.reset();
  EXPECT_THROW(Fetch(port_, "GET", "/ping"), std::exception);  // no longer accepting
}

TEST_F(ServerTest, ShutdownSendsRetryHintAndClosesStreamsByDeadline) {
  ServerOptions o;
  o.shutdown_grace = 1500ms;
  Start(o);
  TestConnection c(port_);
  c.SendRaw("GET /events?n=100000&gap=50 HTTP/1.1\r\nHost: x\r\n\r\n");
  c.ReadUntil("id: 0", 3s);
  auto start = std::chrono::steady_clock::now();
  server_->BeginShutdown();
  bool closed = false;
  auto raw = c.ReadUntilClose(5s, closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_NE(raw.find("retry: 2000"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos) << "closed cleanly with the last chunk";
  thread_.join();
  pool_->Stop();
  server_.reset();
}

}  // namespace
}  // namespace studio::http
