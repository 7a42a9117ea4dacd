// Upload routes over a real socket: bodies streamed to temp files, limits, content types and
// the temp file's lifetime.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "http/multipart.hpp"
#include "http/server.hpp"
#include "http/temp_file.hpp"
#include "http/test_client.hpp"

namespace studio::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Fetch;
using testing::TestConnection;

constexpr std::string_view kBoundary = "----UploadTestBoundary0123";

std::string HexSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

// Random bytes with CR/LF runs and boundary prefixes mixed in.
std::string FileContent(std::size_t n) {
  std::mt19937 gen(1234);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xFF);
  std::string tricky = "\r\n--" + std::string(kBoundary).substr(0, 12) + "\r\n\r\n--";
  for (std::size_t at = 1000; at + tricky.size() < n; at += 100'000) out.replace(at, tricky.size(), tricky);
  return out;
}

std::string FormBody(std::string_view title, std::string_view file, std::string_view filename) {
  std::string b(kBoundary);
  return "--" + b + "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n" + std::string(title) + "\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + std::string(filename) +
         "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + std::string(file) + "\r\n--" + b + "--\r\n";
}

Headers MultipartHeaders() { return {{"Content-Type", "multipart/form-data; boundary=" + std::string(kBoundary)}}; }

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "upload-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    upload_dir_ = base_ + "/data/tmp";
  }

  void Start(ServerOptions options = {}) {
    auto handler = [this](Request& r) { return HandleUpload(r); };
    router_.Add("POST", "/upload", handler,
                {.body_limit = 1024, .upload_to_file = true, .upload_limit = std::size_t{8} << 20});
    router_.Add("POST", "/small-upload", handler, {.upload_to_file = true, .upload_limit = std::size_t{64} * 1024});
    router_.Add("GET", "/ping", [](Request&) { return Response::MakeJson(200, {{"ok", true}}); });
    options.port = 0;
    options.io_threads = 2;
    options.upload_dir = upload_dir_;
    if (options.header_timeout == ServerOptions{}.header_timeout) options.header_timeout = 500ms;
    pool_ = std::make_unique<BlockingPool>(2, 8);
    ServerHooks hooks;
    hooks.on_complete = [this](const AccessRecord& rec) {
      std::lock_guard lock(mu_);
      records_.push_back(rec);
    };
    server_ = std::make_unique<Server>(options, router_, *pool_, hooks);
    server_->Listen();
    port_ = server_->port();
    thread_ = std::thread([this] { server_->Run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->BeginShutdown();
      thread_.join();
      pool_->Stop();
    }
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // Reports what the handler saw; parses the body as the documents route will.
  Response HandleUpload(Request& r) {
    handler_calls_++;
    Json out;
    out["file_path"] = r.body_file;
    if (r.body_file.empty()) {
      out["json"] = r.JsonBody();
      return Response::MakeJson(200, out);
    }
    out["existed"] = fs::exists(r.body_file);
    out["size"] = r.body_file_size;
    auto parts = multipart::ParseFile(r.body_file, multipart::BoundaryFromContentType(*r.Header("Content-Type")));
    const multipart::Part* title = multipart::FindPart(parts, "title");
    const multipart::Part* file = multipart::FindPart(parts, "file");
    if (!file || !file->is_file()) throw BadRequest("A file part is required.");
    out["title"] = title ? title->value : "";
    out["filename"] = *file->filename;
    out["length"] = file->length;
    out["sha256"] = multipart::Sha256OfPart(r.body_file, *file);
    return Response::MakeJson(200, out);
  }

  std::size_t UploadEntries() const {
    std::error_code ec;
    std::size_t n = 0;
    for (fs::directory_iterator it(upload_dir_, ec), end; !ec && it != end; it.increment(ec)) ++n;
    return n;
  }

  std::vector<AccessRecord> Records() {
    std::lock_guard lock(mu_);
    return records_;
  }

  std::string base_;
  std::string upload_dir_;
  Router router_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<int> handler_calls_{0};
  std::mutex mu_;
  std::vector<AccessRecord> records_;
};

TEST_F(UploadTest, FiveMegabyteUploadArrivesIntactAndTheTempFileIsGone) {
  Start();
  struct stat st {};
  ASSERT_EQ(stat(upload_dir_.c_str(), &st), 0) << "Listen creates the upload directory";
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  std::string data = FileContent(std::size_t{5} << 20);
  std::string body = FormBody("Five megabytes", data, "big \\\"one\\\".bin");
  TestConnection c(port_);
  auto r = c.Request("POST", "/upload", body, MultipartHeaders());
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["sha256"], HexSha256(data));
  EXPECT_EQ(j["length"], data.size());
  EXPECT_EQ(j["size"], body.size());
  EXPECT_EQ(j["title"], "Five megabytes");
  EXPECT_EQ(j["filename"], "big \"one\".bin");
  EXPECT_EQ(j["existed"], true);
  std::string path = j["file_path"];
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(upload_dir_));
  EXPECT_TRUE(IsTempFileName(fs::path(path).filename().string())) << path;
  // Removed before the response was written, so this needs no waiting.
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(UploadEntries(), 0u);

  EXPECT_FALSE(r.closed);
  EXPECT_EQ(c.Request("GET", "/ping").status, 200) << "the connection stays usable after an upload";

  bool recorded = WaitFor([&] {
    for (const auto& rec : Records())
      if (rec.route == "/upload" && rec.bytes_in == body.size()) return true;
    return false;
  });
  EXPECT_TRUE(recorded) << "the access record counts the uploaded bytes";
}

TEST_F(UploadTest, ChunkedUploadUnderTheLimitIsStreamedToo) {
  Start();
  std::string data = FileContent(20'000);
  std::string body = FormBody("chunked", data, "c.bin");
  std::string raw = "POST /small-upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" +
                    std::string(kBoundary) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 4096) {
    std::string piece = body.substr(at, 4096);
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", piece.size());
    raw += len + piece + "\r\n";
  }
  raw += "0\r\n\r\n";
  TestConnection c(port_);
  c.SendRaw(raw);
  auto r = c.ReadResponse();
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["sha256"], HexSha256(data));
  EXPECT_EQ(j["size"], body.size());
  EXPECT_EQ(UploadEntries(), 0u);
}

TEST_F(UploadTest, JsonVariantIsReadIntoMemoryUnderTheJsonLimit) {
  Start();
  auto r = Fetch(port_, "POST", "/upload", R"({"title":"from json"})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["file_path"], "");
  EXPECT_EQ(j["json"]["title"], "from json");
  auto big = Fetch(port_, "POST", "/upload", "\"" + std::string(2000, 'j') + "\"");
  EXPECT_EQ(big.status, 413) << "JSON bodies keep body_limit (1024), not the 8 MiB upload limit";
  EXPECT_EQ(UploadEntries(), 0u);
}

TEST_F(UploadTest, ContentLengthOverTheLimitIs413BeforeTheBodyIsSent) {
  Start();
  TestConnection c(port_);
  // Only the header goes out: the answer must come without the server waiting for 100 MB. With
  // Expect: 100-continue the client must not be told to continue either (the first response is 413).
  c.SendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" +
            std::string(kBoundary) + "\r\nContent-Length: 104857600\r\nExpect: 100-continue\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Json::parse(r.body)["code"], "PAYLOAD_TOO_LARGE");
  EXPECT_TRUE(r.closed) << "the unread body is still on the wire: the connection must close";
  EXPECT_EQ(UploadEntries(), 0u);
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(UploadTest, ChunkedUploadOverTheLimitIs413AndLeavesNoFile) {
  Start();
  std::string raw = "POST /small-upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" +
                    std::string(kBoundary) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk(16384, 'x');
  for (int i = 0; i < 8; ++i) raw += "4000\r\n" + chunk + "\r\n";  // 128 KiB against a 64 KiB limit
  raw += "0\r\n\r\n";
  TestConnection c(port_);
  c.SendRaw(raw);
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Json::parse(r.body)["code"], "PAYLOAD_TOO_LARGE");
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(UploadEntries(), 0u) << "the partial file is deleted before the 413 is sent";
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(UploadTest, OtherContentTypesAre415AndAMissingBoundaryIs400) {
  Start();
  auto text = Fetch(port_, "POST", "/upload", "hello", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(text.status, 415);
  Json p = Json::parse(text.body);
  EXPECT_EQ(p["code"], "UNSUPPORTED_MEDIA_TYPE");
  EXPECT_NE(p["detail"].get<std::string>().find("multipart/form-data"), std::string::npos);
  auto mixed = Fetch(port_, "POST", "/upload", "x", {{"Content-Type", "multipart/mixed; boundary=abc"}});
  EXPECT_EQ(mixed.status, 415);
  auto none = Fetch(port_, "POST", "/upload", "x", {{"Content-Type", "multipart/form-data"}});
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(Json::parse(none.body)["code"], "MALFORMED_MULTIPART");
  EXPECT_EQ(UploadEntries(), 0u);
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(UploadTest, MalformedBodyIs400AndTheFileIsStillRemoved) {
  Start();
  std::string body = FormBody("t", "data", "f.txt");
  body.resize(body.size() - 6);  // cut into the closing boundary
  auto r = Fetch(port_, "POST", "/upload", body, MultipartHeaders());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["code"], "MALFORMED_MULTIPART");
  EXPECT_EQ(handler_calls_, 1);
  EXPECT_EQ(UploadEntries(), 0u);
}

TEST_F(UploadTest, ClientDisconnectMidUploadLeavesNoFile) {
  Start();
  {
    TestConnection c(port_);
    c.SendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" +
              std::string(kBoundary) + "\r\nContent-Length: 1000000\r\n\r\n" + std::string(100'000, 'a'));
    ASSERT_TRUE(WaitFor([&] { return UploadEntries() == 1; })) << "the upload was being streamed to a file";
  }  // the client goes away
  EXPECT_TRUE(WaitFor([&] { return UploadEntries() == 0; }));
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(UploadTest, StalledUploadIsCutOffAndItsFileRemoved) {
  ServerOptions o;
  o.body_timeout = 300ms;
  o.upload_min_rate = 1 << 20;
  Start(o);
  TestConnection c(port_);
  c.SendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" +
            std::string(kBoundary) + "\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'a'));
  bool closed = false;
  c.ReadUntilClose(5s, closed);
  EXPECT_TRUE(closed) << "a stalled upload must not hold the connection";
  EXPECT_TRUE(WaitFor([&] { return UploadEntries() == 0; }));
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(UploadTest, StaleFilesFromACrashAreSweptAtStartup) {
  fs::create_directories(upload_dir_);
  std::string stale = upload_dir_ + "/studio-upload-leftover.part";
  std::string foreign = upload_dir_ + "/not-ours.part";
  std::ofstream(stale) << "x";
  std::ofstream(foreign) << "x";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(24));
  fs::last_write_time(foreign, fs::file_time_type::clock::now() - std::chrono::hours(24));
  Start();
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(foreign));
}

}  // namespace
}  // namespace studio::http
