#include "ratelimit/limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace studio::ratelimit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A fixed, arbitrary origin: tests drive time explicitly so they are deterministic.
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1000);

Limit MakeLimit(std::uint32_t requests, milliseconds period, std::uint32_t burst, std::string name = "test") {
  return Limit{std::move(name), requests, period, burst};
}

int CountAllowed(Limiter& l, const Limit& limit, std::string_view key, Clock::time_point now, int attempts) {
  int allowed = 0;
  for (int i = 0; i < attempts; ++i) allowed += l.Take(limit, key, now).allowed ? 1 : 0;
  return allowed;
}

std::string Header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  std::string value;
  int found = 0;
  for (const auto& [k, v] : headers) {
    if (k == name) {
      value = v;
      ++found;
    }
  }
  EXPECT_LE(found, 1) << "duplicate header " << name;
  return found ? value : "<missing>";
}

// --- GCRA semantics ---------------------------------------------------------------------------------

TEST(InProcessLimiter, BurstAllowsBurstAtOnceThenDenies) {
  InProcessLimiter l;
  const auto limit = MakeLimit(10, 1s, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(l.Take(limit, "k", kT0).allowed) << i;
  EXPECT_FALSE(l.Take(limit, "k", kT0).allowed);
  EXPECT_FALSE(l.Take(limit, "k", kT0).allowed);  // denials do not consume, but also do not refill
}

TEST(InProcessLimiter, SteadyRateAllowsExactlyRequestsPerPeriodAfterBurst) {
  InProcessLimiter l;
  const auto limit = MakeLimit(10, 1s, 3);
  ASSERT_EQ(CountAllowed(l, limit, "k", kT0, 100), 3);  // burst spent
  // Walk time in 1 ms steps and take greedily: every period must admit exactly `requests`.
  for (int period = 0; period < 3; ++period) {
    int allowed = 0;
    for (int ms = 1; ms <= 1000; ++ms) {
      const auto now = kT0 + milliseconds(period * 1000 + ms);
      while (l.Take(limit, "k", now).allowed) ++allowed;
    }
    EXPECT_EQ(allowed, 10) << "period " << period;
  }
}

TEST(InProcessLimiter, IdleTimeIsNotBankedBeyondTheBurst) {
  InProcessLimiter l;
  const auto limit = MakeLimit(10, 1s, 3);
  // Many older entries first, so the sweep (bounded per call) has not removed "k" yet when it
  // returns: the TAT clamp, not the sweep, must stop the idle hour from being banked.
  for (int i = 0; i < 2000; ++i) l.Take(limit, "other-" + std::to_string(i), kT0);
  EXPECT_EQ(CountAllowed(l, limit, "k", kT0 + 1ms, 1), 1);
  // An hour idle refills the bucket to the burst, not to an hour's worth of requests.
  EXPECT_EQ(CountAllowed(l, limit, "k", kT0 + std::chrono::hours(1), 100), 3);
}

TEST(InProcessLimiter, IntervalsThatDoNotDivideThePeriodRoundTowardsFewerRequests) {
  InProcessLimiter l;
  const auto limit = MakeLimit(3, 1ms, 1);  // one request per 333333.33... ns
  ASSERT_TRUE(l.Take(limit, "k", kT0).allowed);
  // Rounding the interval down would admit this one a third of a nanosecond early, which over
  // many periods adds up to more than `requests` per `period`.
  EXPECT_FALSE(l.Take(limit, "k", kT0 + std::chrono::nanoseconds(333'333)).allowed);
  EXPECT_TRUE(l.Take(limit, "k", kT0 + std::chrono::nanoseconds(333'334)).allowed);
}

TEST(InProcessLimiter, RatesAboveOnePerNanosecondStillLimit) {
  // The interval would round down to 0 ns; it must not divide by zero or admit without bound.
  InProcessLimiter l;
  const auto limit = MakeLimit(4'000'000'000u, 1ms, 10);
  EXPECT_EQ(CountAllowed(l, limit, "k", kT0, 100), 10);
}

TEST(InProcessLimiter, RetryAfterIsAccurate) {
  // 3 per second: the emission interval (333.33... ms) is not a whole number of milliseconds, so this
  // also checks that retry_after rounds up rather than down.
  const auto limit = MakeLimit(3, 1s, 2);
  for (const auto offset : {0ms, 1ms, 50ms, 333ms, 334ms, 999ms}) {
    InProcessLimiter l;
    ASSERT_EQ(CountAllowed(l, limit, "k", kT0, 2), 2);
    const auto now = kT0 + offset;
    const auto d = l.Take(limit, "k", now);
    if (d.allowed) continue;  // a cell had already refilled at this offset; nothing to check
    ASSERT_GT(d.retry_after, 0ms) << offset.count();
    EXPECT_FALSE(l.Take(limit, "k", now + d.retry_after - 1ms).allowed) << offset.count();
    EXPECT_TRUE(l.Take(limit, "k", now + d.retry_after).allowed) << offset.count();
  }
  // At offset 0 the wait is one full interval, rounded up.
  InProcessLimiter l;
  CountAllowed(l, limit, "k", kT0, 2);
  EXPECT_EQ(l.Take(limit, "k", kT0).retry_after, 334ms);
}

TEST(InProcessLimiter, AllowedDecisionHasZeroRetryAfter) {
  InProcessLimiter l;
  const auto d = l.Take(MakeLimit(1, 1s, 1), "k", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.retry_after, 0ms);
}

TEST(InProcessLimiter, KeysAreIndependent) {
  InProcessLimiter l;
  const auto limit = MakeLimit(1, 1min, 2);
  EXPECT_EQ(CountAllowed(l, limit, "alice", kT0, 10), 2);
  EXPECT_EQ(CountAllowed(l, limit, "bob", kT0, 10), 2);
  EXPECT_FALSE(l.Take(limit, "alice", kT0).allowed);
}

TEST(InProcessLimiter, LimitsWithDifferentNamesOnTheSameKeyAreIndependent) {
  InProcessLimiter l;
  const auto login = MakeLimit(1, 1min, 2, "login:ip");
  const auto api = MakeLimit(1, 1min, 3, "api:ip");
  EXPECT_EQ(CountAllowed(l, login, "10.0.0.1", kT0, 10), 2);
  EXPECT_EQ(CountAllowed(l, api, "10.0.0.1", kT0, 10), 3);
  // Name/key boundaries cannot be confused: ("a", "b:c") vs ("a:b", "c").
  EXPECT_EQ(CountAllowed(l, MakeLimit(1, 1min, 1, "a"), "b:c", kT0, 5), 1);
  EXPECT_EQ(CountAllowed(l, MakeLimit(1, 1min, 1, "a:b"), "c", kT0, 5), 1);
  EXPECT_EQ(l.size(), 4u);
}

TEST(InProcessLimiter, CostGreaterThanOne) {
  InProcessLimiter l;
  const auto limit = MakeLimit(10, 1s, 10);  // interval 100 ms
  auto d = l.Take(limit, "k", kT0, 4);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 6u);
  d = l.Take(limit, "k", kT0, 4);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2u);
  // Needs 4, has 2: denied, nothing consumed, and the wait is for the 2 missing cells.
  d = l.Take(limit, "k", kT0, 4);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 2u);
  EXPECT_EQ(d.retry_after, 200ms);
  d = l.Take(limit, "k", kT0, 2);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_TRUE(l.Take(limit, "k", kT0 + 400ms, 4).allowed);
}

TEST(InProcessLimiter, CostAboveBurstIsAlwaysDeniedAndConsumesNothing) {
  InProcessLimiter l;
  const auto limit = MakeLimit(10, 1s, 5);
  const auto d = l.Take(limit, "k", kT0, 6);
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after, 0ms);
  EXPECT_FALSE(l.Take(limit, "k", kT0 + std::chrono::hours(1), 6).allowed);
  EXPECT_EQ(CountAllowed(l, limit, "k", kT0 + std::chrono::hours(1), 10), 5);
}

TEST(InProcessLimiter, RemainingAndReset) {
  InProcessLimiter l;
  const auto limit = MakeLimit(10, 1s, 5);  // interval 100 ms
  auto d = l.Take(limit, "k", kT0);
  EXPECT_EQ(d.limit, 5u);
  EXPECT_EQ(d.remaining, 4u);
  EXPECT_EQ(d.reset, 100ms);
  for (int i = 0; i < 3; ++i) d = l.Take(limit, "k", kT0);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 400ms);
  // 150 ms later one cell has come back (2 available), we take one.
  d = l.Take(limit, "k", kT0 + 150ms);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 350ms);
  // cost 0 reports without consuming.
  d = l.Take(limit, "k", kT0 + 150ms, 0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 350ms);
  d = l.Take(limit, "k", kT0 + 150ms);
  d = l.Take(limit, "k", kT0 + 150ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 450ms);
  EXPECT_EQ(d.retry_after, 50ms);
  // Once the reset time has passed the bucket is full again.
  d = l.Take(limit, "k", kT0 + 600ms, 0);
  EXPECT_EQ(d.remaining, 5u);
  EXPECT_EQ(d.reset, 0ms);
}

TEST(InProcessLimiter, InvalidLimitsAndCapacityThrow) {
  InProcessLimiter l;
  EXPECT_THROW(l.Take(MakeLimit(0, 1s, 1), "k", kT0), std::invalid_argument);
  EXPECT_THROW(l.Take(MakeLimit(1, 0ms, 1), "k", kT0), std::invalid_argument);
  EXPECT_THROW(l.Take(MakeLimit(1, 1s, 0), "k", kT0), std::invalid_argument);
  EXPECT_THROW(l.Take(MakeLimit(1, milliseconds(std::chrono::hours(24 * 365 * 100)), 4'000'000'000u), "k", kT0),
               std::invalid_argument);
  EXPECT_THROW(InProcessLimiter(0), std::invalid_argument);
}

// --- Concurrency and memory ------------------------------------------------------------------------

TEST(InProcessLimiter, ConcurrentTakesOnOneKeyNeverOverAdmit) {
  InProcessLimiter l;
  // Half of all takes are admitted, so half of them write the TAT: a lost update anywhere shows
  // up as over-admission.
  const auto limit = MakeLimit(100, 1s, 40'000);
  constexpr int kThreads = 8;
  constexpr int kTakesPerThread = 10'000;
  auto run = [&](Clock::time_point now) {
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        int mine = 0;
        for (int i = 0; i < kTakesPerThread; ++i) mine += l.Take(limit, "shared", now).allowed ? 1 : 0;
        allowed += mine;
      });
    }
    for (auto& th : threads) th.join();
    return allowed.load();
  };
  EXPECT_EQ(run(kT0), 40'000);    // the burst, exactly
  EXPECT_EQ(run(kT0 + 1s), 100);  // one period later: exactly `requests` more
}

TEST(InProcessLimiter, ConcurrentTakesOnManyKeys) {
  InProcessLimiter l(100'000);
  const auto limit = MakeLimit(1, 1min, 2);
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::atomic<int> allowed{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        // 500 keys per thread, each taken 4 times: exactly 2 of the 4 are admitted.
        allowed += l.Take(limit, "t" + std::to_string(t) + "-" + std::to_string(i % 500), kT0).allowed ? 1 : 0;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 8 * 500 * 2);
  EXPECT_EQ(l.size(), 8u * 500u);
}

TEST(InProcessLimiter, KeyFloodStaysBoundedAndHotKeyStaysLimited) {
  InProcessLimiter l(1000);
  const auto limit = MakeLimit(10, 1s, 5);
  ASSERT_EQ(CountAllowed(l, limit, "hot", kT0, 5), 5);
  const auto hot_denied = l.Take(limit, "hot", kT0);
  ASSERT_FALSE(hot_denied.allowed);

  // 100k distinct keys, 1 µs apart: none expire during the flood, so the cap must do the work.
  for (int i = 0; i < 100'000; ++i) {
    l.Take(limit, "flood-" + std::to_string(i), kT0 + std::chrono::microseconds(i));
    if (i % 10'000 == 0) {
      ASSERT_LE(l.size(), 1000u) << i;
    }
  }
  EXPECT_LE(l.size(), 1000u);
  EXPECT_GT(l.size(), 900u);  // the cap is used, not thrown away wholesale

  // The hot key kept its state: still denied, with the same wait measured from the same TAT.
  const auto d = l.Take(limit, "hot", kT0 + 50ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, hot_denied.retry_after - 50ms);
}

TEST(InProcessLimiter, ExpiredEntriesAreSweptOpportunistically) {
  InProcessLimiter l(100'000);  // far from the cap: only sweeping can shrink it
  const auto limit = MakeLimit(10, 1s, 5);
  for (int i = 0; i < 1000; ++i) l.Take(limit, "old-" + std::to_string(i), kT0);
  ASSERT_EQ(l.size(), 1000u);
  // Long after every old entry expired, ordinary traffic on new keys clears them out as it goes.
  for (int i = 0; i < 500; ++i) l.Take(limit, "new-" + std::to_string(i), kT0 + 1min);
  EXPECT_LT(l.size(), 600u);
  EXPECT_GE(l.size(), 500u);
}

TEST(InProcessLimiter, TinyCapacityIsExact) {
  InProcessLimiter l(3);  // fewer keys than the default shard count
  const auto limit = MakeLimit(1, 1min, 1);
  for (int i = 0; i < 100; ++i) l.Take(limit, std::to_string(i), kT0);
  EXPECT_LE(l.size(), 3u);
}

// --- Headers and enforcement -----------------------------------------------------------------------

TEST(RateLimitHeaders, AllowedHasNoRetryAfterAndRoundsResetUp) {
  const auto h = RateLimitHeaders(Decision{true, 5, 3, 1500ms, 0ms});
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"RateLimit-Limit", "5"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"RateLimit-Remaining", "3"}));
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>{"RateLimit-Reset", "2"}));
  EXPECT_EQ(Header(RateLimitHeaders(Decision{true, 5, 5, 0ms, 0ms}), "RateLimit-Reset"), "0");
  EXPECT_EQ(Header(RateLimitHeaders(Decision{true, 5, 4, 1000ms, 0ms}), "RateLimit-Reset"), "1");
  EXPECT_EQ(Header(RateLimitHeaders(Decision{true, 5, 4, 1001ms, 0ms}), "RateLimit-Reset"), "2");
}

TEST(RateLimitHeaders, DeniedHasRetryAfterRoundedUpAndAtLeastOne) {
  EXPECT_EQ(Header(RateLimitHeaders(Decision{false, 5, 0, 500ms, 1ms}), "Retry-After"), "1");
  EXPECT_EQ(Header(RateLimitHeaders(Decision{false, 5, 0, 500ms, 0ms}), "Retry-After"), "1");
  EXPECT_EQ(Header(RateLimitHeaders(Decision{false, 5, 0, 3000ms, 2000ms}), "Retry-After"), "2");
  EXPECT_EQ(Header(RateLimitHeaders(Decision{false, 5, 0, 3000ms, 2001ms}), "Retry-After"), "3");
  EXPECT_EQ(RateLimitHeaders(Decision{false, 5, 0, 3000ms, 2001ms}).size(), 4u);
}

TEST(EnforceOrThrow, AllowedDoesNotThrow) {
  EXPECT_NO_THROW(EnforceOrThrow(Decision{true, 5, 4, 100ms, 0ms}, "login attempts"));
}

TEST(EnforceOrThrow, DeniedThrows429WithHeaders) {
  try {
    EnforceOrThrow(Decision{false, 5, 0, 4500ms, 2500ms}, "login attempts");
    FAIL() << "expected TooManyRequests";
  } catch (const TooManyRequests& e) {
    EXPECT_EQ(e.status(), 429);
    EXPECT_EQ(e.code(), "RATE_LIMITED");
    EXPECT_EQ(e.detail(), "Too many login attempts. Try again in 3 seconds.");
    EXPECT_EQ(Header(e.headers(), "Retry-After"), "3");
    EXPECT_EQ(Header(e.headers(), "RateLimit-Limit"), "5");
    EXPECT_EQ(Header(e.headers(), "RateLimit-Remaining"), "0");
    EXPECT_EQ(Header(e.headers(), "RateLimit-Reset"), "5");
    EXPECT_EQ(e.headers().size(), 4u);
  }
}

TEST(EnforceOrThrow, EndToEndWithLimiter) {
  InProcessLimiter l;
  const auto limit = MakeLimit(1, 1min, 1, "login:ip");
  EXPECT_NO_THROW(EnforceOrThrow(l.Take(limit, "10.0.0.1", kT0), "login attempts"));
  try {
    EnforceOrThrow(l.Take(limit, "10.0.0.1", kT0 + 1s), "login attempts");
    FAIL() << "expected TooManyRequests";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), 429);
    EXPECT_EQ(Header(e.headers(), "Retry-After"), "59");
  }
}

// --- ClientIpResolver ------------------------------------------------------------------------------

TEST(ClientIpResolver, UntrustedPeerIgnoresForwardedFor) {
  const ClientIpResolver r({"10.0.0.0/8"});
  // A client connecting directly cannot choose its own rate-limit key by sending the header.
  EXPECT_EQ(r.Resolve("203.0.113.9", "1.2.3.4"), "203.0.113.9");
  EXPECT_EQ(r.Resolve("203.0.113.9", "10.0.0.1"), "203.0.113.9");
  EXPECT_EQ(r.Resolve("203.0.113.9", std::nullopt), "203.0.113.9");
  EXPECT_EQ(ClientIpResolver({}).Resolve("10.0.0.1", "1.2.3.4"), "10.0.0.1");
}

TEST(ClientIpResolver, TrustedPeerUsesRightMostUntrustedHop) {
  const ClientIpResolver r({"10.0.0.0/8"});
  // 6.6.6.6 was written by the client; 198.51.100.7 was appended by our proxy.
  EXPECT_EQ(r.Resolve("10.0.0.1", "6.6.6.6, 198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("10.0.0.1", "198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("10.0.0.1", std::nullopt), "10.0.0.1");
}

TEST(ClientIpResolver, ChainsOfTrustedProxies) {
  const ClientIpResolver r({"10.0.0.0/8", "192.0.2.10"});
  EXPECT_EQ(r.Resolve("10.1.1.1", "6.6.6.6, 198.51.100.7, 192.0.2.10, 10.2.2.2"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("10.1.1.1", "6.6.6.6,198.51.100.7,\t192.0.2.10 ,10.2.2.2"), "198.51.100.7");
  // 192.0.2.11 is not trusted (exact IP entry, not a network).
  EXPECT_EQ(r.Resolve("10.1.1.1", "198.51.100.7, 192.0.2.11, 10.2.2.2"), "192.0.2.11");
  // Every hop ours (e.g. an internal health check): the furthest one.
  EXPECT_EQ(r.Resolve("10.1.1.1", "10.9.9.9, 192.0.2.10"), "10.9.9.9");
}

TEST(ClientIpResolver, Ipv4Cidr) {
  const ClientIpResolver r({"10.0.0.0/8", "172.16.0.0/12"});
  EXPECT_EQ(r.Resolve("10.255.255.255", "198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("11.0.0.0", "198.51.100.7"), "11.0.0.0");
  EXPECT_EQ(r.Resolve("9.255.255.255", "198.51.100.7"), "9.255.255.255");
  // A prefix that does not end on a byte boundary.
  EXPECT_EQ(r.Resolve("172.31.255.255", "198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("172.32.0.0", "198.51.100.7"), "172.32.0.0");
  // Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6.
  EXPECT_EQ(r.Resolve("::ffff:10.0.0.1", "198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("::ffff:203.0.113.9", "198.51.100.7"), "203.0.113.9");
}

TEST(ClientIpResolver, Ipv6Cidr) {
  const ClientIpResolver r({"fd00::/8", "2001:db8:1::/48"});
  EXPECT_EQ(r.Resolve("fd12:3456::1", "2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(r.Resolve("fc00::1", "2001:db8::1"), "fc00::1");
  EXPECT_EQ(r.Resolve("fe80::1", "2001:db8::1"), "fe80::1");
  EXPECT_EQ(r.Resolve("fd00::1", "2001:db8::1, 2001:db8:1:ffff::9"), "2001:db8::1");
  EXPECT_EQ(r.Resolve("fd00::1", "2001:db8::1, 2001:db8:2::9"), "2001:db8:2::9");
  // Canonical form so one client is one key; mixed v4 hop behind a v6 proxy works too.
  EXPECT_EQ(r.Resolve("fd00::1", "2001:0DB8:0000::0001"), "2001:db8::1");
  EXPECT_EQ(r.Resolve("fd00::1", "198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("2001:0db8::0001", std::nullopt), "2001:db8::1");
}

TEST(ClientIpResolver, HopsWithPorts) {
  const ClientIpResolver r({"10.0.0.0/8"});
  EXPECT_EQ(r.Resolve("10.0.0.1", "198.51.100.7:5678"), "198.51.100.7");
  EXPECT_EQ(r.Resolve("10.0.0.1", "[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(r.Resolve("10.0.0.1", "[2001:db8::1]"), "2001:db8::1");
}

TEST(ClientIpResolver, GarbageForwardedForFallsBackToPeer) {
  const ClientIpResolver r({"10.0.0.0/8"});
  for (const std::string_view bad : {"", " ", ",", "not-an-ip", "unknown", "999.1.1.1", "1.2.3", "01.2.3.4",
                                     "1.2.3.4:port", "1.2.3.4:123456", "[1.2.3.4]", "[2001:db8::1", "2001:db8::1]:80",
                                     "fe80::1%eth0", "198.51.100.7,", "198.51.100.7, garbage", "1.2.3.4 5.6.7.8"}) {
    EXPECT_EQ(r.Resolve("10.0.0.1", bad), "10.0.0.1") << '"' << bad << '"';
  }
  // Garbage to the left of the first untrusted hop is never examined (the client wrote it).
  EXPECT_EQ(r.Resolve("10.0.0.1", "garbage, 198.51.100.7"), "198.51.100.7");
  // An unparsable peer is passed through rather than trusted.
  EXPECT_EQ(r.Resolve("not-an-ip", "198.51.100.7"), "not-an-ip");
}

TEST(ClientIpResolver, BadTrustedEntriesThrow) {
  for (const char* bad :
       {"", "nonsense", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.1/8",
        "fd00::/129", "fd00::1/8", "256.0.0.0/8", "::ffff:10.0.0.0/95", "10.0.0.0/0008"}) {
    EXPECT_THROW(ClientIpResolver({bad}), std::invalid_argument) << bad;
  }
  EXPECT_NO_THROW(ClientIpResolver({"0.0.0.0/0", "::/0", "::1", "127.0.0.1/32", "::ffff:10.0.0.0/104"}));
  // ::ffff:10.0.0.0/104 is 10.0.0.0/8 in IPv4 terms.
  EXPECT_EQ(ClientIpResolver({"::ffff:10.0.0.0/104"}).Resolve("10.1.2.3", "198.51.100.7"), "198.51.100.7");
}

}  // namespace
}  // namespace studio::ratelimit
