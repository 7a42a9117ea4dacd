#include "llm/sse_parser.hpp"

namespace studio::llm {

bool SseParser::Feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event) {
  if (failed_) return false;
  std::size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes.front() == '\n') pos = 1;
    skip_lf_ = false;
  }
  while (pos < bytes.size()) {
    const std::size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      break;
    }
    // Complete lines are parsed in place when nothing is carried over: the common case, no copy.
    if (line_.empty()) {
      Line(bytes.substr(pos, end - pos), on_event);
    } else {
      line_.append(bytes.substr(pos, end - pos));
      Line(line_, on_event);
      line_.clear();
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos < bytes.size()) {
        if (bytes[pos] == '\n') ++pos;
      } else {
        skip_lf_ = true;  // the '\n' of a "\r\n" may come with the next piece
      }
    }
    if (failed_) return false;
  }
  if (line_.size() + event_.data.size() > max_event_bytes_) failed_ = true;
  return !failed_;
}

void SseParser::Line(std::string_view line, const std::function<void(const SseEvent&)>& on_event) {
  if (line.empty()) {  // end of the event
    if (has_data_) on_event(event_);
    event_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment
  const std::size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) event_.data.push_back('\n');
    event_.data.append(value);
    has_data_ = true;
    if (event_.data.size() > max_event_bytes_) failed_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
  }
}

}  // namespace studio::llm
