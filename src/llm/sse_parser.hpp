#pragma once
// Incremental parser for a Server-Sent Events stream (the WHATWG "event stream interpretation"),
// fed bytes as they arrive from the network, in pieces that may split lines anywhere.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace studio::llm {

struct SseEvent {
  std::string event;  // the "event:" field; empty means "message"
  std::string data;   // the "data:" lines joined with '\n'
};

class SseParser {
 public:
  /// An event (or a line) growing beyond `max_event_bytes` makes Feed fail: a broken or hostile
  /// server must not make us buffer without bound.
  explicit SseParser(std::size_t max_event_bytes = 8U << 20) : max_event_bytes_(max_event_bytes) {}

  /// Consumes `bytes`, calling `on_event` for each event completed by them (a blank line ends an
  /// event; one without data lines is not dispatched). Lines end in "\n", "\r\n" or "\r"; lines
  /// starting with ':' are comments (keep-alives); "id" and "retry" are ignored. Returns false,
  /// and then stays failed, when the size limit is exceeded.
  bool Feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event);

 private:
  void Line(std::string_view line, const std::function<void(const SseEvent&)>& on_event);

  std::size_t max_event_bytes_;
  std::string line_;       // the incomplete line carried over from the previous Feed
  bool skip_lf_ = false;   // the last piece ended in '\r': a leading '\n' belongs to it
  SseEvent event_;         // being built
  bool has_data_ = false;  // event_ has seen a data line (possibly empty)
  bool failed_ = false;
};

}  // namespace studio::llm
