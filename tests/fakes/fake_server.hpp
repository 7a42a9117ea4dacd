#pragma once
// Runs one of the protocol fakes in this directory (e.g. fake_openai.py) as a child process for a
// C++ test, and talks to its /_fake/* control routes. Header-only; the test links PkgConfig::CURL
// and defines STUDIO_PYTHON3 (the interpreter) and STUDIO_FAKES_DIR (this directory).
//
//   studio::fakes::FakeServer fake("fake_openai.py", {"--api-key", "sk-test"});
//   client.base_url = fake.base_url();
//   fake.Post("/_fake/faults", R"({"faults":[{"status":500,"count":2}]})");
//   auto requests = nlohmann::json::parse(fake.Get("/_fake/requests"))["requests"];

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace studio::fakes {

class FakeServer {
 public:
  /// Starts `python3 STUDIO_FAKES_DIR/script args… --exit-on-eof` and waits (up to 20 s) for the
  /// port it prints. The fake's stdin is a pipe held by this object: if the test process dies, the
  /// pipe closes and the fake exits by itself.
  explicit FakeServer(const std::string& script, const std::vector<std::string>& args = {}) {
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) throw Fail("pipe");
    std::vector<std::string> argv_storage = {STUDIO_PYTHON3, std::string(STUDIO_FAKES_DIR) + "/" + script};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    argv_storage.emplace_back("--exit-on-eof");
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    const int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      ::close(out[0]);
      ::close(stdin_);
      throw std::runtime_error("cannot start " + script + ": " + std::strerror(rc));
    }
    std::string line;
    pollfd pfd{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos) {
      if (::poll(&pfd, 1, 20'000) <= 0) break;
      char buf[64];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    try {
      port_ = std::stoi(line);
    } catch (const std::exception&) {
      Stop();
      throw std::runtime_error(script + " did not print its port (got \"" + line + "\")");
    }
  }

  ~FakeServer() { Stop(); }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Control requests. Return the body; throw on a transport error or a non-2xx status.
  std::string Get(const std::string& path) { return Request(path, nullptr); }
  std::string Post(const std::string& path, const std::string& json) { return Request(path, &json); }

 private:
  static std::runtime_error Fail(const char* what) {
    return std::runtime_error(std::string(what) + ": " + std::strerror(errno));
  }

  static std::size_t Append(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
  }

  std::string Request(const std::string& path, const std::string* json) {
    CURL* h = curl_easy_init();
    if (h == nullptr) throw std::runtime_error("curl_easy_init failed");
    const std::string url = base_url() + path;
    std::string body;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10'000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (json != nullptr) {
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, json->c_str());
    }
    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) throw std::runtime_error(url + ": " + curl_easy_strerror(rc));
    if (status < 200 || status >= 300) throw std::runtime_error(url + ": HTTP " + std::to_string(status) + " " + body);
    return body;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::close(stdin_);
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
  }

  pid_t pid_ = 0;
  int stdin_ = -1;
  int port_ = 0;
};

}  // namespace studio::fakes
