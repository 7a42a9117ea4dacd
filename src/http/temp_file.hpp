#pragma once
// The temporary file an upload route's request body is streamed into. Names are random (never
// derived from client input) and files are created with O_EXCL and mode 0600, so nothing else on
// the machine can pre-create, follow or read them.

#include <chrono>
#include <cstddef>
#include <string>

namespace studio::http {

class TempFile {
 public:
  /// Creates <dir>/studio-upload-<22 random base62 chars>.part, open for writing.
  /// Throws std::system_error when the directory is missing or not writable.
  static TempFile Create(const std::string& dir);

  TempFile() = default;
  ~TempFile() { Remove(); }
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  bool active() const { return !path_.empty(); }
  /// Hands the open descriptor to the caller, who then closes it. The file itself stays owned.
  int ReleaseFd();
  /// Closes the descriptor (if still held) and unlinks the file. Idempotent; never throws.
  void Remove() noexcept;

 private:
  std::string path_;
  int fd_ = -1;
};

/// True for names TempFile::Create produces (only those are ever swept).
bool IsTempFileName(const std::string& filename);

/// Deletes upload temp files in `dir` whose last change is older than `max_age`: a crash or kill
/// skips the destructors that normally remove them. Returns how many were removed; never throws.
std::size_t RemoveStaleTempFiles(const std::string& dir, std::chrono::seconds max_age);

}  // namespace studio::http
