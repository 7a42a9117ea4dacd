#include "http/temp_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace studio::http {
namespace {

namespace fs = std::filesystem;

class TempFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tempfile-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::size_t Entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }
  std::string dir_;
};

TEST_F(TempFileTest, RandomPrivateNamesRemovedOnDestruction) {
  std::string a_path, b_path;
  {
    TempFile a = TempFile::Create(dir_);
    TempFile b = TempFile::Create(dir_);
    a_path = a.path();
    b_path = b.path();
    EXPECT_NE(a_path, b_path);
    EXPECT_EQ(fs::path(a_path).parent_path(), fs::path(dir_));
    EXPECT_TRUE(IsTempFileName(fs::path(a_path).filename().string())) << a_path;
    struct stat st {};
    ASSERT_EQ(stat(a_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    int fd = a.ReleaseFd();
    ASSERT_GE(fd, 0);
    EXPECT_EQ(write(fd, "hi", 2), 2);
    close(fd);
    EXPECT_EQ(fs::file_size(a_path), 2u);
    TempFile moved = std::move(b);
    // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move): the moved-from state is the point
    EXPECT_FALSE(b.active());
    EXPECT_TRUE(moved.active());
    EXPECT_EQ(Entries(), 2u);
  }
  EXPECT_FALSE(fs::exists(a_path));
  EXPECT_FALSE(fs::exists(b_path));
}

TEST_F(TempFileTest, RemoveIsIdempotentAndToleratesARenamedFile) {
  TempFile f = TempFile::Create(dir_);
  fs::rename(f.path(), dir_ + "/kept");  // a handler that moved the upload away
  f.Remove();
  f.Remove();
  EXPECT_FALSE(f.active());
  EXPECT_TRUE(fs::exists(dir_ + "/kept"));
}

TEST_F(TempFileTest, MissingDirectoryIsASystemError) {
  EXPECT_THROW(TempFile::Create(dir_ + "/missing"), std::system_error);
}

TEST_F(TempFileTest, SweepRemovesOnlyOldUploadFiles) {
  auto touch = [this](const std::string& name, std::chrono::hours age) {
    std::ofstream(dir_ + "/" + name) << "x";
    fs::last_write_time(dir_ + "/" + name, fs::file_time_type::clock::now() - age);
  };
  touch("studio-upload-old.part", std::chrono::hours(7));
  touch("studio-upload-fresh.part", std::chrono::hours(0));
  touch("other-old.part", std::chrono::hours(7));
  EXPECT_EQ(RemoveStaleTempFiles(dir_, std::chrono::hours(6)), 1u);
  EXPECT_FALSE(fs::exists(dir_ + "/studio-upload-old.part"));
  EXPECT_TRUE(fs::exists(dir_ + "/studio-upload-fresh.part"));
  EXPECT_TRUE(fs::exists(dir_ + "/other-old.part"));
  EXPECT_EQ(RemoveStaleTempFiles(dir_ + "/missing", std::chrono::hours(1)), 0u);
}

}  // namespace
}  // namespace studio::http
