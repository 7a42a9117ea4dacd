#pragma once
// Server-Sent Events from a handler's point of view. Each stream's handler runs on a thread of its
// own (not the blocking pool: it mostly waits, e.g. seconds on a remote model) and calls Send(); the
// connection's single writer coroutine drains the queue onto the socket, sends heartbeats while the
// handler is quiet, and notices when the client goes away.
//
// Nothing is written until the handler commits to an answer, so one handler can still answer
// either way:
//   - the first Send/SendRetry writes the head (200, text/event-stream) and starts the stream;
//   - Respond(res) before any Send writes `res` as an ordinary response instead (keep-alive as on
//     any route: the connection then reads its next request);
//   - a studio::Error thrown before any Send becomes the same problem+json response an ordinary
//     route gives (its status and headers, e.g. 401, 404, 422, 429 + Retry-After); any other
//     exception a 500. Once streaming, a failure becomes an `error` event and the stream ends;
//   - a handler that returns without sending or responding gets an empty stream (the head and the
//     last chunk), as an event stream that had nothing to say.
//
// Client disconnects are watched from the moment the handler starts: a client that leaves while the
// handler is still preparing cancels the stream (OnCancel callbacks run) just as during streaming.
// A client that half-closes its side after the request counts as gone too.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace studio::http {

struct SseState;

class SseStream {
 public:
  explicit SseStream(std::shared_ptr<SseState> state);

  /// Queues one event. Thread-safe. Returns false once the stream is cancelled (client gone,
  /// too slow to keep up, or server shutdown deadline): the handler should stop then.
  /// The first call starts the stream. Throws std::logic_error after Respond.
  bool Send(std::string_view event, std::string_view data, std::string_view id = {});
  /// Sends the reconnection hint ("retry: ms"). Starts the stream like Send.
  bool SendRetry(std::chrono::milliseconds after);
  /// Answers with an ordinary response (e.g. JSON) instead of an event stream. Only before the first
  /// Send/SendRetry, and only once: otherwise throws std::logic_error. Returns false when the stream
  /// is already cancelled (the client will not get the response).
  bool Respond(Response response);
  /// True once the handler has committed to an answer: a Send/SendRetry (an event stream) or a
  /// Respond. Before that, a thrown studio::Error still becomes a problem response.
  bool Started() const;
  bool Cancelled() const;
  /// True once the server is shutting down; the stream may finish, but should do so soon.
  bool Draining() const;
  /// Registers a callback run once when the stream is cancelled (e.g. to abort an outbound call).
  /// Runs immediately if already cancelled. Must be cheap and thread-safe, and must own what it
  /// touches (capture a shared_ptr, never a reference to the handler's locals): a client leaving
  /// just as the handler returns can run it after the handler's frame is gone. Callbacks are
  /// dropped once the server sees the handler finished.
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
