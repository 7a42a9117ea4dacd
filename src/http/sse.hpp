#pragma once
// Server-Sent Events from a handler's point of view. The handler runs on the blocking pool and
// calls Send(); the connection's single writer coroutine drains the queue onto the socket, sends
// heartbeats while the handler is quiet, and notices when the client goes away.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace studio::http {

struct SseState;

class SseStream {
 public:
  explicit SseStream(std::shared_ptr<SseState> state);

  /// Queues one event. Thread-safe. Returns false once the stream is cancelled (client gone,
  /// too slow to keep up, or server shutdown deadline): the handler should stop then.
  bool Send(std::string_view event, std::string_view data, std::string_view id = {});
  /// Sends the reconnection hint ("retry: ms").
  bool SendRetry(std::chrono::milliseconds after);
  bool Cancelled() const;
  /// True once the server is shutting down; the stream may finish, but should do so soon.
  bool Draining() const;
  /// Registers a callback run once when the stream is cancelled (e.g. to abort an outbound call).
  /// Runs immediately if already cancelled. Must be cheap and thread-safe.
  void OnCancel(std::function<void()> fn);
  /// Sleeps up to `d`, waking early on cancellation. Returns false if cancelled.
  bool WaitFor(std::chrono::milliseconds d);

 private:
  std::shared_ptr<SseState> state_;
};

/// Formats one event: "id: …\nevent: …\ndata: …\n\n", one data line per input line. CR/LF in the
/// event name or id are dropped so a value can never end the event early.
std::string FormatSseEvent(std::string_view event, std::string_view data, std::string_view id = {});

}  // namespace studio::http
