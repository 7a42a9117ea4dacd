#include "http/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace studio::http {
namespace {

TEST(BlockingPool, RunsTasksAndRefusesWhenFull) {
  BlockingPool pool(1, 1);
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.TrySubmit([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++ran;
  }));
  while (pool.busy() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));   // fills the one queue slot
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));  // full
  EXPECT_EQ(pool.rejected_total(), 1u);
  release = true;
  pool.Stop();
  EXPECT_EQ(ran, 2);
  EXPECT_FALSE(pool.TrySubmit([] {}));  // stopped
}

TEST(BlockingPool, StopDrainsQueuedWork) {
  std::atomic<int> ran{0};
  {
    BlockingPool pool(2, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }
  EXPECT_EQ(ran, 50);
}

}  // namespace
}  // namespace studio::http
