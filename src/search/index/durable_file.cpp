#include "search/index/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace studio::search::detail {
namespace {

[[noreturn]] void ThrowErrno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

class Fd {
 public:
  Fd(const std::filesystem::path& path, int flags, mode_t mode = 0) : fd_(::open(path.c_str(), flags, mode)) {
    if (fd_ < 0) ThrowErrno("open", path);
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  /// close(2) can report a delayed write error, so it is checked where data was written.
  void Close(const std::filesystem::path& path) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) ThrowErrno("close", path);
  }

 private:
  int fd_;
};

}  // namespace

void FsyncFile(const std::filesystem::path& file) {
  Fd fd(file, O_RDONLY | O_CLOEXEC);
  if (::fsync(fd.get()) != 0) ThrowErrno("fsync", file);
}

void FsyncDir(const std::filesystem::path& dir) {
  Fd fd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (::fsync(fd.get()) != 0) ThrowErrno("fsync", dir);
}

void WriteFileAtomically(const std::filesystem::path& target, std::string_view content) {
  std::filesystem::path tmp = target;
  tmp += ".tmp";
  {
    Fd fd(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::size_t written = 0;
    while (written < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ThrowErrno("write", tmp);
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) ThrowErrno("fsync", tmp);
    fd.Close(tmp);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) ThrowErrno("rename", tmp);
  FsyncDir(target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path());
}

}  // namespace studio::search::detail
