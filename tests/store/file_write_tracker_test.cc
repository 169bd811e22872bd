#include "store/file_write_tracker.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;
using LastWrite = FileWriteTracker::LastWrite;

class FileWriteTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDirectory("bg_tracker");
    ASSERT_TRUE(tracker_.Watch(dir_.string()).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  LastWrite Last(const std::string& name) {
    tracker_.Drain();
    return tracker_.Last(name);
  }

  fs::path dir_;
  FileWriteTracker tracker_;
};

// Proves a file is open from its creation, and from a write into an existing
// file, until its writer closes it, however long that takes.
TEST_F(FileWriteTrackerTest, OpenUntilClosed) {
  int fd = ::open((dir_ / "a.yaml").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Last("a.yaml"), LastWrite::kOpen);  // Created, nothing written yet.
  ASSERT_EQ(::write(fd, "org_id: a\n", 10), 10);
  EXPECT_EQ(Last("a.yaml"), LastWrite::kOpen);
  ::close(fd);
  EXPECT_EQ(Last("a.yaml"), LastWrite::kClosed);
  fd = ::open((dir_ / "a.yaml").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);  // The truncation counts.
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Last("a.yaml"), LastWrite::kOpen);
  ::close(fd);
  EXPECT_EQ(Last("a.yaml"), LastWrite::kClosed);
}

// Proves a rename into place reads as finished, a symlink made in place is
// not "open", a name never touched is kNone, and a deleted name is forgotten.
TEST_F(FileWriteTrackerTest, RenamesSymlinksAndDeletions) {
  std::ofstream(dir_ / ".tmp") << "org_id: a\n";
  fs::rename(dir_ / ".tmp", dir_ / "a.yaml");
  EXPECT_EQ(Last("a.yaml"), LastWrite::kRenamedIn);
  fs::create_symlink("a.yaml", dir_ / "b.yaml");
  EXPECT_EQ(Last("b.yaml"), LastWrite::kNone);
  EXPECT_EQ(Last("never.yaml"), LastWrite::kNone);
  const uint64_t before = tracker_.LastEvent("a.yaml");
  fs::remove(dir_ / "a.yaml");
  EXPECT_EQ(Last("a.yaml"), LastWrite::kNone);
  EXPECT_NE(tracker_.LastEvent("a.yaml"), before);
}

// Proves Watch() follows a replaced directory and forgets what it knew of
// the old one.
TEST_F(FileWriteTrackerTest, ReplacedDirectoryStartsOver) {
  const int fd = ::open((dir_ / "a.yaml").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Last("a.yaml"), LastWrite::kOpen);
  fs::rename(dir_, dir_.string() + ".old");
  fs::create_directories(dir_);
  ASSERT_TRUE(tracker_.Watch(dir_.string()).ok());
  EXPECT_EQ(Last("a.yaml"), LastWrite::kNone);
  std::ofstream(dir_ / "b.yaml") << "org_id: b\n";
  EXPECT_EQ(Last("b.yaml"), LastWrite::kClosed);
  ::close(fd);
  fs::remove_all(dir_.string() + ".old");
  EXPECT_FALSE(tracker_.Watch((dir_ / "missing").string()).ok());
}

}  // namespace
}  // namespace buildgate
