#include "http/temp_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/ids.hpp"

namespace studio::http {
namespace {

constexpr std::string_view kPrefix = "studio-upload-";
constexpr std::string_view kSuffix = ".part";

}  // namespace

TempFile TempFile::Create(const std::string& dir) {
  // 131 random bits: a collision is not a practical concern, but O_EXCL makes one an error
  // rather than a shared file, and a few retries make it a non-event.
  for (int attempt = 0;; ++attempt) {
    std::string path = dir + "/" + std::string(kPrefix) + NewId("") + std::string(kSuffix);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      TempFile f;
      f.path_ = std::move(path);
      f.fd_ = fd;
      return f;
    }
    if (errno != EEXIST || attempt >= 3) {
      throw std::system_error(errno, std::generic_category(), "cannot create an upload file in " + dir);
    }
  }
}

TempFile::TempFile(TempFile&& other) noexcept
    : path_(std::exchange(other.path_, {})), fd_(std::exchange(other.fd_, -1)) {}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

int TempFile::ReleaseFd() { return std::exchange(fd_, -1); }

void TempFile::Remove() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!path_.empty()) {
    ::unlink(path_.c_str());  // ENOENT is fine: a handler may have renamed the file away
    path_.clear();
  }
}

bool IsTempFileName(const std::string& filename) {
  return filename.size() > kPrefix.size() + kSuffix.size() && filename.starts_with(kPrefix) &&
         filename.ends_with(kSuffix);
}

std::size_t RemoveStaleTempFiles(const std::string& dir, std::chrono::seconds max_age) {
  namespace fs = std::filesystem;
  std::size_t removed = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (!IsTempFileName(it->path().filename().string()) || !fs::is_regular_file(it->symlink_status(fec))) continue;
    auto changed = fs::last_write_time(it->path(), fec);
    if (fec || now - changed < max_age) continue;
    if (fs::remove(it->path(), fec)) ++removed;
  }
  return removed;
}

}  // namespace studio::http
