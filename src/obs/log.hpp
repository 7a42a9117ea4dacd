#pragma once
// Structured logging: one JSON object per line on stdout, e.g.
//   {"time":"2026-11-24T12:34:56.789Z","level":"info","msg":"listening","port":8080}
// Each line goes out in a single write(2) under a process-wide lock, so lines from concurrent threads
// never interleave. Every line is redacted (obs/redact.hpp) before it is written.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <variant>

#include "core/json.hpp"

namespace studio::obs {

enum class Level { kDebug, kInfo, kWarn, kError };

/// Lines below `level` are dropped. The default is kInfo.
void SetLevel(Level level);
Level GetLevel();
/// Whether a line at `level` would be written: check it before building costly fields for debug lines.
bool LogEnabled(Level level);

/// "debug", "info", "warn" (or "warning"), "error", in any case. Throws std::invalid_argument otherwise.
Level ParseLevel(std::string_view name);
/// "debug", "info", "warn", "error".
std::string_view LevelName(Level level);

/// Writes {"time":<UTC, ms>,"level":…,"msg":…, …fields}. `fields` is normally an object whose members
/// follow msg; one named time/level/msg is written as "fields.time" etc.; a non-object (other than
/// null) is written as "fields". The message goes through RedactText and the fields through RedactJson.
/// Invalid UTF-8 becomes U+FFFD and control characters are escaped, so a line is always one valid JSON
/// document. Never throws: a line that cannot be built (out of memory) is dropped.
void Log(Level level, std::string_view msg, const Json& fields = {}) noexcept;
void LogDebug(std::string_view msg, const Json& fields = {}) noexcept;
void LogInfo(std::string_view msg, const Json& fields = {}) noexcept;
void LogWarn(std::string_view msg, const Json& fields = {}) noexcept;
void LogError(std::string_view msg, const Json& fields = {}) noexcept;

/// A field for LogTrusted: a number, or a string the caller guarantees holds no secret or personal
/// data (a route template, a method, an id this process generated or validated).
struct TrustedField {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double> value;
};

/// The per-request fast path (the access log): same line shape as Log, but the fields skip
/// redaction and are written without building a Json document. Strings are still escaped, and
/// any byte outside printable ASCII becomes U+FFFD, so a line is always one valid JSON object.
void LogTrusted(Level level, std::string_view msg, std::initializer_list<TrustedField> fields) noexcept;

/// Hands every line (including its trailing '\n') to `sink` instead of writing it to stdout; an empty
/// function restores stdout. The sink runs under the logging lock: it must not log.
void SetSinkForTesting(std::function<void(std::string_view line)> sink);

}  // namespace studio::obs
