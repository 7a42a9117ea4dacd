#include "http/sse.hpp"

#include <stdexcept>

#include "http/sse_state.hpp"

namespace studio::http {
namespace {

void AppendSanitizedLine(std::string& out, std::string_view field, std::string_view value) {
  out.append(field);
  out.append(": ");
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  out.push_back('\n');
}

}  // namespace

std::string FormatSseEvent(std::string_view event, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(data.size() + event.size() + 32);
  if (!id.empty()) AppendSanitizedLine(out, "id", id);
  if (!event.empty()) AppendSanitizedLine(out, "event", event);
  // Every line of data becomes its own "data:" line; CRLF, CR and LF all count as line ends.
  std::size_t start = 0;
  for (std::size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\n' || data[i] == '\r') {
      out.append("data: ");
      out.append(data.substr(start, i - start));
      out.push_back('\n');
      if (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out.push_back('\n');
  return out;
}

void SseState::Notify() {
  asio::post(strand, [self = shared_from_this()] { self->wake.cancel(); });
}

void SseState::Cancel() {
  if (cancelled.load()) return;  // also keeps a Cancel() from a cancel callback from waiting on itself
  {
    // Held while the callbacks run, so Finish() (the handler returning) waits for them: a callback
    // may point into the handler's stack frame and must never run after the handler is gone.
    std::lock_guard running(callbacks_mu);
    std::vector<std::function<void()>> callbacks;
    {
      // The callbacks are taken together with the flag: a handler that sees the flag may return at
      // once, and Finish() would then drop callbacks still in on_cancel without running them.
      std::lock_guard lock(mu);
      if (cancelled.exchange(true)) return;
      callbacks.swap(on_cancel);
    }
    for (auto& fn : callbacks) fn();
  }
  cv.notify_all();
  Notify();
}

bool SseState::Push(std::string bytes) {
  {
    std::lock_guard lock(mu);
    if (phase == SsePhase::kResponded) {
      throw std::logic_error("an event stream cannot send after Respond(): the response is already decided");
    }
    if (cancelled || finished) return false;
    phase = SsePhase::kStreaming;  // even an event too big to queue commits to a stream
    if (queued_bytes + bytes.size() > max_queued_bytes) {
      // The client reads slower than we produce: drop it rather than buffer without bound.
      queue.clear();
      queued_bytes = 0;
    } else {
      queued_bytes += bytes.size();
      queue.push_back(std::move(bytes));
      return true;
    }
  }
  Cancel();
  return false;
}

SsePhase SseState::Answer(Response res, std::string why) {
  {
    std::lock_guard lock(mu);
    if (phase != SsePhase::kPreparing) return phase;
    phase = SsePhase::kResponded;
    response = std::move(res);
    error = std::move(why);
  }
  Notify();
  return SsePhase::kPreparing;
}

void SseState::Finish() {
  std::lock_guard running(callbacks_mu);  // waits for callbacks a concurrent Cancel() is running
  std::lock_guard lock(mu);
  finished = true;
  on_cancel.clear();  // the handler (and whatever its callbacks point to) is gone
}

SseStream::SseStream(std::shared_ptr<SseState> state) : state_(std::move(state)) {}

bool SseStream::Send(std::string_view event, std::string_view data, std::string_view id) {
  bool ok = state_->Push(FormatSseEvent(event, data, id));
  state_->Notify();
  return ok;
}

bool SseStream::SendRetry(std::chrono::milliseconds after) {
  bool ok = state_->Push("retry: " + std::to_string(after.count()) + "\n\n");
  state_->Notify();
  return ok;
}

bool SseStream::Respond(Response response) {
  switch (state_->Answer(std::move(response))) {
    case SsePhase::kPreparing:
      return !state_->cancelled.load();
    case SsePhase::kStreaming:
      throw std::logic_error("Respond() after Send(): the event stream has already started");
    case SsePhase::kResponded:
      break;
  }
  throw std::logic_error("Respond() called twice");
}

bool SseStream::Started() const {
  std::lock_guard lock(state_->mu);
  return state_->phase != SsePhase::kPreparing;
}

bool SseStream::Cancelled() const { return state_->cancelled.load(); }

bool SseStream::Draining() const { return state_->draining.load(); }

void SseStream::OnCancel(std::function<void()> fn) {
  {
    std::lock_guard lock(state_->mu);
    if (!state_->cancelled) {
      state_->on_cancel.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

bool SseStream::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(state_->mu);
  state_->cv.wait_for(lock, d, [this] { return state_->cancelled.load(); });
  return !state_->cancelled.load();
}

}  // namespace studio::http
