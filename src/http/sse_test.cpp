#include "http/sse.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "http/sse_state.hpp"

namespace studio::http {
namespace {

TEST(FormatSseEvent, SplitsDataLinesAndSanitizesFields) {
  EXPECT_EQ(FormatSseEvent("token", "hello"), "event: token\ndata: hello\n\n");
  EXPECT_EQ(FormatSseEvent("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(FormatSseEvent("x\ny", "d", "1\r\n2"), "id: 12\nevent: xy\ndata: d\n\n");
  EXPECT_EQ(FormatSseEvent("e", ""), "event: e\ndata: \n\n");
}

// The stream's commitment rules, without a server: the io_context only receives the wake-ups.
class SseStreamTest : public ::testing::Test {
 protected:
  void TearDown() override { ioc_.poll(); }

  SsePhase Phase() {
    std::lock_guard lock(state_->mu);
    return state_->phase;
  }

  asio::io_context ioc_;
  std::shared_ptr<SseState> state_ = std::make_shared<SseState>(ioc_.get_executor(), 1024);
  SseStream stream_{state_};
};

TEST_F(SseStreamTest, NothingIsCommittedUntilTheFirstSend) {
  EXPECT_FALSE(stream_.Started());
  EXPECT_EQ(Phase(), SsePhase::kPreparing);
  EXPECT_TRUE(stream_.Send("token", "a"));
  EXPECT_TRUE(stream_.Started());
  EXPECT_EQ(Phase(), SsePhase::kStreaming);
}

TEST_F(SseStreamTest, SendRetryStartsTheStreamToo) {
  EXPECT_TRUE(stream_.SendRetry(std::chrono::milliseconds(500)));
  EXPECT_TRUE(stream_.Started());
  EXPECT_EQ(state_->queue.front(), "retry: 500\n\n");
}

TEST_F(SseStreamTest, RespondBeforeSendIsTheAnswerAndSendsAfterItThrow) {
  EXPECT_TRUE(stream_.Respond(Response::MakeJson(201, Json{{"ok", true}})));
  EXPECT_TRUE(stream_.Started());
  EXPECT_EQ(Phase(), SsePhase::kResponded);
  ASSERT_TRUE(state_->response);
  EXPECT_EQ(state_->response->status, 201);
  EXPECT_THROW(stream_.Send("token", "late"), std::logic_error);
  EXPECT_THROW(stream_.SendRetry(std::chrono::milliseconds(1)), std::logic_error);
  EXPECT_THROW(stream_.Respond(Response::NoContent()), std::logic_error) << "a second answer";
  EXPECT_TRUE(state_->queue.empty());
}

TEST_F(SseStreamTest, RespondAfterSendThrows) {
  ASSERT_TRUE(stream_.Send("token", "a"));
  EXPECT_THROW(stream_.Respond(Response::NoContent()), std::logic_error);
  EXPECT_EQ(Phase(), SsePhase::kStreaming);
  EXPECT_FALSE(state_->response);
}

TEST_F(SseStreamTest, RespondOnACancelledStreamReportsFalse) {
  bool cancelled = false;
  stream_.OnCancel([&cancelled] { cancelled = true; });
  state_->Cancel();
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(stream_.Send("token", "a"));
  EXPECT_FALSE(stream_.Started()) << "a refused event commits to nothing";
  EXPECT_FALSE(stream_.Respond(Response::NoContent()));
}

TEST_F(SseStreamTest, ErrorAnswerOnlyReplacesAStreamThatHasNotStarted) {
  EXPECT_EQ(state_->Answer(Response::NoContent(), "why"), SsePhase::kPreparing);
  EXPECT_EQ(state_->error, "why");
  EXPECT_EQ(state_->Answer(Response::NoContent()), SsePhase::kResponded);

  auto other = std::make_shared<SseState>(ioc_.get_executor(), 1024);
  SseStream s(other);
  ASSERT_TRUE(s.Send("token", "a"));
  EXPECT_EQ(other->Answer(Response::NoContent()), SsePhase::kStreaming);
  EXPECT_FALSE(other->response);
}

}  // namespace
}  // namespace studio::http

namespace studio::http {
namespace {

TEST_F(SseStreamTest, CancelCallbacksNeverRunAfterTheHandlerFinished) {
  bool ran = false;
  {
    SseStream stream(state_);
    stream.OnCancel([&ran] { ran = true; });
  }
  state_->Finish();  // the handler returned; its callbacks point into a gone frame
  state_->Cancel();  // the connection closes afterwards, as every stream's does
  EXPECT_FALSE(ran);
}

TEST_F(SseStreamTest, CancelBeforeFinishRunsTheCallbacksOnce) {
  int runs = 0;
  SseStream stream(state_);
  stream.OnCancel([&runs] { ++runs; });
  state_->Cancel();
  state_->Cancel();
  state_->Finish();
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace studio::http
