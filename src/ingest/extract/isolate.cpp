// ExtractIsolated: Extract() in a forked child with resource limits, so a parser that crashes,
// loops or balloons on a hostile file costs one child process, not the server.
//
// Trade-off: the server is multi-threaded, and after fork() only async-signal-safe functions are
// strictly allowed in the child. We run the parsers anyway (they need malloc, and a helper binary
// to exec would have to be found, installed and versioned with the server). In practice this is
// safe enough because:
//  - glibc and jemalloc make malloc consistent across fork (their atfork handlers take and release
//    the allocator locks);
//  - the parent initialises every library's global state (libxml2, poppler's error sink, ICU's
//    normaliser) before forking, so the child never needs a one-time initialisation lock that
//    another thread might have held at the moment of fork;
//  - the child touches nothing else of the server (no logging, no database, no sockets: it closes
//    every inherited descriptor but the result pipe), leaves with _exit (no atexit handlers, no
//    static destructors), and dies with the parent thread (PR_SET_PDEATHSIG);
//  - allocators without fork handlers (AddressSanitizer's) can leave the child with a lock some
//    other thread held at the moment of fork; such a child hangs in its first allocations. So the
//    child allocates in several size classes and writes one byte before it parses; a child that
//    stays silent for `start_timeout` is killed and replaced by a fresh fork;
//  - AddressSanitizer's child can also hang later (any allocation may need a lock, e.g. a size
//    class refill or its stack depot); in such builds a child without a result after
//    `stall_timeout` (15 s) is replaced too;
//  - if a lock held by some other thread at fork time (e.g. ICU's converter cache) blocks the
//    child later, the wall-clock timeout kills it and the job fails with PARSER_TIMEOUT.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "ingest/extract/internal.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define STUDIO_EXTRACT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STUDIO_EXTRACT_ASAN 1
#endif
#endif

namespace studio::extract {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The descriptor the child writes its result to, after closing everything else.
constexpr int kResultFd = 3;
// The child's first byte: it forked cleanly and can allocate.
constexpr char kAlive = '+';

Format ParseFormat(const std::string& name) {
  for (const Format f : {Format::kPdf, Format::kDocx, Format::kHtml, Format::kMarkdown, Format::kText}) {
    if (FormatName(f) == name) return f;
  }
  throw ExtractError("PARSER_CRASHED", "The parser returned an unknown format.");
}

json ToJson(const ExtractedDocument& doc) {
  json sections = json::array();
  for (const auto& s : doc.sections) sections.push_back({s.heading_path, s.begin, s.end});
  json pages = json::array();
  for (const auto& p : doc.pages) pages.push_back({p.page, p.begin, p.end});
  return json{{"format", FormatName(doc.format)},
              {"text", doc.text},
              {"sections", std::move(sections)},
              {"pages", std::move(pages)},
              {"title", doc.title},
              {"author", doc.author},
              {"created", doc.created},
              {"modified", doc.modified},
              {"language", doc.language},
              {"page_count", doc.page_count},
              {"detected_encoding", doc.detected_encoding}};
}

ExtractedDocument FromJson(const json& j) {
  ExtractedDocument doc;
  doc.format = ParseFormat(j.at("format").get<std::string>());
  doc.text = j.at("text").get<std::string>();
  for (const auto& s : j.at("sections")) {
    doc.sections.push_back(Section{s.at(0).get<std::string>(), s.at(1).get<std::size_t>(), s.at(2).get<std::size_t>()});
  }
  for (const auto& p : j.at("pages")) {
    doc.pages.push_back(PageSpan{p.at(0).get<int>(), p.at(1).get<std::size_t>(), p.at(2).get<std::size_t>()});
  }
  doc.title = j.at("title").get<std::string>();
  doc.author = j.at("author").get<std::string>();
  doc.created = j.at("created").get<std::string>();
  doc.modified = j.at("modified").get<std::string>();
  doc.language = j.at("language").get<std::string>();
  doc.page_count = j.at("page_count").get<int>();
  doc.detected_encoding = j.at("detected_encoding").get<std::string>();
  return doc;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string ErrorMessage(const std::string& code, const std::string& message, bool permanent) {
  return Dump(json{{"ok", false}, {"code", code}, {"message", message}, {"permanent", permanent}});
}

// The parent's current virtual size, so the child's RLIMIT_AS is a budget on top of it (a server
// with many thread stacks and allocator arenas may already be past any fixed number).
std::uint64_t CurrentAddressSpace() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

void SetLimit(int resource, rlim_t soft, rlim_t hard) {
  const rlimit limit{soft, hard};
  setrlimit(resource, &limit);
}

// In the child: everything from here on ends in _exit.
[[noreturn]] void RunChild(int result_fd, const std::string& path, Format format, const ExtractLimits& limits,
                           const IsolationOptions& options, std::uint64_t inherited_address_space) {
  // Only the result pipe stays open: sockets and other children's pipes must not be held by us.
  if (result_fd != kResultFd) {
    if (dup2(result_fd, kResultFd) < 0) _exit(120);
  }
  syscall(SYS_close_range, kResultFd + 1, ~0U, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGXCPU, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);

  const auto cpu = static_cast<rlim_t>(options.cpu_seconds);
  SetLimit(RLIMIT_CPU, cpu, cpu + 1);  // SIGXCPU at the soft limit, SIGKILL a second later
  SetLimit(RLIMIT_CORE, 0, 0);         // a crashing parser must not write core files of customer data
#ifndef STUDIO_EXTRACT_ASAN
  const auto address_space = static_cast<rlim_t>(inherited_address_space + options.address_space_bytes);
  SetLimit(RLIMIT_AS, address_space, address_space);
#else
  (void)inherited_address_space;
#endif

  if (options.start_hook != nullptr) options.start_hook();
  // Every size class of a size-class allocator (steps of a quarter), then a large block.
  for (std::size_t size = 16; size <= (std::size_t{2} << 20); size += std::max<std::size_t>(size / 4, 16)) {
    void* block = std::malloc(size);
    if (block == nullptr) _exit(123);
    static_cast<volatile char*>(block)[0] = 1;
    std::free(block);
  }
  const char alive = kAlive;
  while (write(kResultFd, &alive, 1) < 0 && errno == EINTR) {
  }

  std::string message;
  try {
    if (options.child_hook != nullptr) options.child_hook();
    const ExtractedDocument doc = Extract(path, format, limits);
    message = Dump(json{{"ok", true}, {"document", ToJson(doc)}});
  } catch (const ExtractError& e) {
    message = ErrorMessage(e.code(), e.what(), e.permanent());
  } catch (const std::bad_alloc&) {
    message = ErrorMessage("PARSER_CRASHED", "The parser ran out of memory.", true);
  } catch (const std::exception& e) {
    message = ErrorMessage("INTERNAL", std::string("extraction failed: ") + e.what(), false);
  } catch (...) {
    _exit(121);
  }

  const char* data = message.data();
  std::size_t left = message.size();
  while (left > 0) {
    const ssize_t n = write(kResultFd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(122);
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  _exit(0);
}

[[noreturn]] void Crashed(const std::string& why) {
  throw ExtractError("PARSER_CRASHED", "The document parser crashed (" + why + ").", true);
}

[[noreturn]] void TimedOut(const std::string& why) {
  throw ExtractError("PARSER_TIMEOUT", "The document parser took too long (" + why + ").", true);
}

struct ChildResult {
  std::string output;
  int status = 0;
  rusage usage{};
  bool timed_out = false;
};

void Reap(pid_t pid, ChildResult& result) {
  while (wait4(pid, &result.status, 0, &result.usage) < 0) {
    if (errno != EINTR) throw ExtractError("INTERNAL", std::string("wait4: ") + std::strerror(errno), false);
  }
}

// Reads the child's output until EOF or the deadline, then reaps it.
ChildResult Collect(pid_t pid, int fd, Clock::time_point deadline, std::size_t max_output) {
  ChildResult result;
  char buffer[1 << 16];
  for (;;) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(std::min<long long>(remaining, INT_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline check above ends the loop
    const ssize_t n = ready < 0 ? -1 : read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (the child exited or closed the pipe) or an error
    result.output.append(buffer, static_cast<std::size_t>(n));
    if (result.output.size() > max_output) {
      kill(pid, SIGKILL);
      Reap(pid, result);
      Crashed("its result was too large");
    }
  }
  if (result.timed_out) kill(pid, SIGKILL);
  Reap(pid, result);
  return result;
}

std::chrono::milliseconds StallTimeout(const IsolationOptions& options) {
  if (options.stall_timeout.count() >= 0) return options.stall_timeout;
#ifdef STUDIO_EXTRACT_ASAN
  return std::chrono::seconds(15);
#else
  return std::chrono::milliseconds(0);
#endif
}

enum class Start { kRunning, kExited, kSilent };

// Waits for the child's proof of life (one byte) for at most `limit`.
Start AwaitStart(int fd, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  for (;;) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (remaining <= 0) return Start::kSilent;
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(remaining));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    char byte = 0;
    const ssize_t n = ready < 0 ? -1 : read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    return n == 1 && byte == kAlive ? Start::kRunning : Start::kExited;  // EOF: Collect reports the crash
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

ExtractedDocument ExtractIsolated(const std::string& path, Format format, const ExtractLimits& limits,
                                  const IsolationOptions& options) {
  detail::InitLibraries();
  const std::uint64_t inherited_address_space = CurrentAddressSpace();
  // JSON escaping at most doubles the text; sections and metadata add a bounded amount.
  const std::size_t max_output = static_cast<std::size_t>(
      std::min<std::uint64_t>(limits.max_text_bytes * 8 + (64ull << 20), std::numeric_limits<std::size_t>::max() / 2));
  const auto deadline = Clock::now() + options.wall_timeout;

  ChildResult result;
  for (int child = 1;; ++child) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      throw ExtractError("INTERNAL", std::string("pipe: ") + std::strerror(errno), false);
    }
    Fd read_end(fds[0]);
    Fd write_end(fds[1]);
    const pid_t pid = fork();
    if (pid < 0) throw ExtractError("INTERNAL", std::string("fork: ") + std::strerror(errno), false);
    if (pid == 0) RunChild(write_end.get(), path, format, limits, options, inherited_address_space);
    write_end.Close();  // so that EOF arrives when the child exits

    if (AwaitStart(read_end.get(), options.start_timeout) == Start::kSilent) {
      kill(pid, SIGKILL);
      Reap(pid, result);
      if (child < options.start_attempts && Clock::now() < deadline) continue;
      TimedOut("the parser process did not start");
    }
    const auto stall = StallTimeout(options);
    const bool may_retry = stall.count() > 0 && child < options.start_attempts;
    result = Collect(pid, read_end.get(), may_retry ? std::min(deadline, Clock::now() + stall) : deadline, max_output);
    if (result.timed_out && may_retry && Clock::now() < deadline) continue;  // killed and reaped: a fresh child
    break;
  }

  if (result.timed_out) TimedOut("no result within " + std::to_string(options.wall_timeout.count()) + " ms");
  if (WIFSIGNALED(result.status)) {
    const int sig = WTERMSIG(result.status);
    const char* abbrev = sigabbrev_np(sig);  // thread-safe, unlike strsignal
    const std::string name = abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
    const auto cpu_seconds = result.usage.ru_utime.tv_sec + result.usage.ru_stime.tv_sec;
    // RLIMIT_CPU sends SIGXCPU, then SIGKILL at the hard limit.
    if (sig == SIGXCPU || (sig == SIGKILL && cpu_seconds >= options.cpu_seconds)) TimedOut("CPU limit, " + name);
    Crashed(name);
  }
  if (!WIFEXITED(result.status) || WEXITSTATUS(result.status) != 0) {
    Crashed("exit status " + std::to_string(WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1));
  }

  std::string code;
  std::string message;
  bool permanent = true;
  try {
    const json reply = json::parse(result.output);
    if (reply.at("ok").get<bool>()) return FromJson(reply.at("document"));
    code = reply.at("code").get<std::string>();
    message = reply.at("message").get<std::string>();
    permanent = reply.at("permanent").get<bool>();
  } catch (const json::exception&) {
    Crashed("unreadable result");
  }
  throw ExtractError(code, message, permanent);
}

}  // namespace studio::extract
