#include "queue/backoff.hpp"

#include <gtest/gtest.h>

#include <climits>

namespace studio::queue {
namespace {

using std::chrono::milliseconds;

TEST(RetryDelay, FirstRetryWaitsBetweenHalfAndAllOfBase) {
  BackoffPolicy p;  // 2 s base
  EXPECT_EQ(RetryDelay(p, 1, 0.0), milliseconds(1000));
  EXPECT_EQ(RetryDelay(p, 1, 0.5), milliseconds(1500));
  EXPECT_EQ(RetryDelay(p, 1, 0.999999), milliseconds(1999));
}

TEST(RetryDelay, CeilingDoublesWithEveryFailure) {
  BackoffPolicy p;
  EXPECT_EQ(RetryDelay(p, 2, 0.0), milliseconds(2000));
  EXPECT_EQ(RetryDelay(p, 2, 1.0), milliseconds(4000));
  EXPECT_EQ(RetryDelay(p, 3, 0.0), milliseconds(4000));
  EXPECT_EQ(RetryDelay(p, 3, 1.0), milliseconds(8000));
  EXPECT_EQ(RetryDelay(p, 5, 1.0), milliseconds(32000));
}

TEST(RetryDelay, StopsAtTheCap) {
  BackoffPolicy p;  // 10 min cap
  EXPECT_EQ(RetryDelay(p, 9, 1.0), milliseconds(512000));
  EXPECT_EQ(RetryDelay(p, 10, 1.0), milliseconds(600000));
  EXPECT_EQ(RetryDelay(p, 10, 0.0), milliseconds(300000));
  EXPECT_EQ(RetryDelay(p, 60, 1.0), milliseconds(600000));
  EXPECT_EQ(RetryDelay(p, INT_MAX, 0.5), milliseconds(450000));  // no overflow, no long loop
}

TEST(RetryDelay, ConfigurableBaseAndCap) {
  BackoffPolicy p{milliseconds(100), milliseconds(250)};
  EXPECT_EQ(RetryDelay(p, 1, 1.0), milliseconds(100));
  EXPECT_EQ(RetryDelay(p, 2, 1.0), milliseconds(200));
  EXPECT_EQ(RetryDelay(p, 3, 1.0), milliseconds(250));
  EXPECT_EQ(RetryDelay(p, 3, 0.0), milliseconds(125));
}

TEST(RetryDelay, OddInputsStayInRange) {
  BackoffPolicy p;
  EXPECT_EQ(RetryDelay(p, 0, 0.0), milliseconds(1000));  // treated as the first failure
  EXPECT_EQ(RetryDelay(p, -3, 1.0), milliseconds(2000));
  EXPECT_EQ(RetryDelay(p, 1, -5.0), milliseconds(1000));  // randomness clamped into [0, 1]
  EXPECT_EQ(RetryDelay(p, 1, 7.0), milliseconds(2000));
  EXPECT_EQ(RetryDelay(BackoffPolicy{milliseconds(0), milliseconds(0)}, 1000, 0.7), milliseconds(0));
  // A cap below the base wins.
  EXPECT_EQ(RetryDelay(BackoffPolicy{milliseconds(5000), milliseconds(1000)}, 1, 1.0), milliseconds(1000));
}

}  // namespace
}  // namespace studio::queue
