#include "obs/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <string>

#include "obs/redact.hpp"

namespace studio::obs {
namespace {

std::atomic<Level> g_level{Level::kInfo};
// Serialises writes (so a line longer than PIPE_BUF that needs several write calls still cannot
// interleave with another thread's) and guards the sink. std::mutex has a trivial destructor, so
// logging from other static destructors stays safe.
std::mutex g_mu;

// Leaked on purpose: a static std::function would be destroyed at exit, before late log calls.
std::function<void(std::string_view)>& Sink() {
  static auto* sink = new std::function<void(std::string_view)>();
  return *sink;
}

void AppendDigits(std::string& out, int value, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

// 2026-11-24T12:34:56.789Z
void AppendTime(std::string& out, std::chrono::system_clock::time_point now) {
  auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  auto millis = static_cast<int>((since_epoch - seconds).count());
  std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  AppendDigits(out, utc.tm_year + 1900, 4);
  out += '-';
  AppendDigits(out, utc.tm_mon + 1, 2);
  out += '-';
  AppendDigits(out, utc.tm_mday, 2);
  out += 'T';
  AppendDigits(out, utc.tm_hour, 2);
  out += ':';
  AppendDigits(out, utc.tm_min, 2);
  out += ':';
  AppendDigits(out, utc.tm_sec, 2);
  out += '.';
  AppendDigits(out, millis, 3);
  out += 'Z';
}

void AppendJson(std::string& out, const Json& value) {
  // replace: invalid UTF-8 becomes U+FFFD instead of throwing type_error 316.
  out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string FormatLine(Level level, std::string_view msg, const Json& fields) {
  std::string line;
  line.reserve(128 + msg.size());
  line += "{\"time\":\"";
  AppendTime(line, std::chrono::system_clock::now());
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":";
  AppendJson(line, Json(RedactText(msg)));
  if (!fields.is_null()) {
    Json redacted = RedactJson(fields.is_object() ? fields : Json{{"fields", fields}});
    for (auto it = redacted.begin(); it != redacted.end(); ++it) {
      std::string key = it.key();
      // Duplicate keys would make the line ambiguous to every log processor.
      if (key == "time" || key == "level" || key == "msg") key.insert(0, "fields.");
      line += ',';
      AppendJson(line, Json(key));
      line += ':';
      AppendJson(line, it.value());
    }
  }
  line += "}\n";
  return line;
}

// Escapes a trusted string: quotes, backslashes and control characters as JSON requires; bytes
// outside printable ASCII become U+FFFD (trusted fields are ASCII by contract).
void AppendTrustedString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else if (c >= 0x7f) {
      out += "\\ufffd";
    } else {
      out += ch;
    }
  }
  out += '"';
}

void WriteLine(std::string_view line) {
  std::lock_guard lock(g_mu);
  if (auto& sink = Sink()) {
    sink(line);
    return;
  }
  while (!line.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stdout is gone; there is nowhere left to report that
    }
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

Level GetLevel() { return g_level.load(std::memory_order_relaxed); }

bool LogEnabled(Level level) { return level >= GetLevel(); }

Level ParseLevel(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  throw std::invalid_argument("unknown log level '" + std::string(name) + "' (expected debug, info, warn or error)");
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void Log(Level level, std::string_view msg, const Json& fields) noexcept {
  if (!LogEnabled(level)) return;
  // Logging runs in error paths and destructors; failing to log must not become a second failure.
  try {
    WriteLine(FormatLine(level, msg, fields));
  } catch (...) {
  }
}

void LogTrusted(Level level, std::string_view msg, std::initializer_list<TrustedField> fields) noexcept {
  if (!LogEnabled(level)) return;
  try {
    std::string line;
    line.reserve(256);
    line += "{\"time\":\"";
    AppendTime(line, std::chrono::system_clock::now());
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":";
    AppendTrustedString(line, msg);
    for (const auto& f : fields) {
      line += ',';
      AppendTrustedString(line, f.key);
      line += ':';
      if (const auto* s = std::get_if<std::string_view>(&f.value)) {
        AppendTrustedString(line, *s);
      } else if (const auto* i = std::get_if<std::int64_t>(&f.value)) {
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *i);
        line.append(buf, end);
      } else {
        double d = std::get<double>(f.value);
        if (!std::isfinite(d)) {
          line += "null";
          continue;
        }
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, 3);
        line.append(buf, end);
      }
    }
    line += "}\n";
    WriteLine(line);
  } catch (...) {
    // Out of memory: drop the line, as Log does.
  }
}

void LogDebug(std::string_view msg, const Json& fields) noexcept { Log(Level::kDebug, msg, fields); }
void LogInfo(std::string_view msg, const Json& fields) noexcept { Log(Level::kInfo, msg, fields); }
void LogWarn(std::string_view msg, const Json& fields) noexcept { Log(Level::kWarn, msg, fields); }
void LogError(std::string_view msg, const Json& fields) noexcept { Log(Level::kError, msg, fields); }

void SetSinkForTesting(std::function<void(std::string_view line)> sink) {
  std::lock_guard lock(g_mu);
  Sink() = std::move(sink);
}

}  // namespace studio::obs
