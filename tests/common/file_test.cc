// ReplaceFileContent as a careful editor: what it keeps (owner, mode,
// extended attributes), what it refuses (links, read-only files, a file
// changed since it was read), and that no error leaves a temp file or a
// message without its reason. The tests run as root (chown to another uid).
#include "common/file.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;

// A fresh, empty directory for one test.
std::string FreshDir(const std::string& name) {
  const std::string dir = testing::ScratchPath(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// The names in `dir`.
std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

FileSnapshot Snapshot(const std::string& path) {
  auto read = ReadFileSnapshot(path);
  EXPECT_TRUE(read.ok()) << read.status();
  return read.ok() ? *read : FileSnapshot{};
}

// Proves the content is replaced and the owner, group, mode and extended
// attributes are those of the file before.
TEST(ReplaceFileContent, KeepsOwnerModeAndExtendedAttributes) {
  const std::string dir = FreshDir("file_keeps");
  const std::string path = dir + "/p.yaml";
  Write(path, "old\n");
  ASSERT_EQ(::chown(path.c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  const bool xattrs = ::setxattr(path.c_str(), "user.team", "storefront", 10, 0) == 0;
  const FileSnapshot read = Snapshot(path);
  ASSERT_TRUE(ReplaceFileContent(path, read, "new\n").ok());
  EXPECT_EQ(testing::ReadAll(path), "new\n");
  const struct stat st = Lstat(path);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_NE(st.st_ino, read.identity.inode) << "replaced by rename, not written in place";
  if (!xattrs) GTEST_SKIP() << "no user extended attributes on this file system";
  char value[32] = {};
  ASSERT_EQ(::getxattr(path.c_str(), "user.team", value, sizeof(value)), 10);
  EXPECT_EQ(std::string(value), "storefront");
}

// Proves a temp name already taken (a planted symbolic link to a file
// outside, a file of the user's) is left alone and another name tried:
// nothing outside is written, the user's file survives, no temp is left.
TEST(ReplaceFileContent, TakenTempNamesAreNeitherFollowedNorReplaced) {
  const std::string dir = FreshDir("file_taken_names");
  const std::string outside = FreshDir("file_taken_names_outside") + "/secret";
  Write(outside, "outside\n");
  const std::string path = dir + "/p.yaml";
  Write(path, "old\n");
  fs::create_symlink(outside, dir + "/.planted");
  Write(dir + "/.users", "keep me\n");
  std::vector<std::string> names = {".planted", ".users", ".free"};
  std::size_t next = 0;
  const TempNamer namer = [&](const std::string& base) {
    EXPECT_EQ(base, "p.yaml");
    return names[std::min(next++, names.size() - 1)];
  };
  const absl::Status s = ReplaceFileContent(path, Snapshot(path), "new\n", namer);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(next, 3u);
  EXPECT_EQ(testing::ReadAll(path), "new\n");
  EXPECT_EQ(testing::ReadAll(outside), "outside\n");
  EXPECT_TRUE(fs::is_symlink(dir + "/.planted"));
  EXPECT_EQ(testing::ReadAll(dir + "/.users"), "keep me\n");
  EXPECT_EQ(Names(dir), (std::set<std::string>{".planted", ".users", "p.yaml"}));
}

// Proves the default temp names are random and in the file's directory
// (two replacements never try the same first name).
TEST(ReplaceFileContent, DefaultTempNamesAreRandom) {
  const std::string a = RandomTempName("p.yaml"), b = RandomTempName("p.yaml");
  EXPECT_NE(a, b);
  EXPECT_TRUE(absl::StartsWith(a, ".p.yaml.")) << a;
  EXPECT_FALSE(absl::StrContains(a, "/")) << a;
  EXPECT_LE(RandomTempName(std::string(255, 'x')).size(), 255u);
}

// Proves a symbolic link is refused: the link and its target unchanged.
TEST(ReplaceFileContent, SymbolicLinkRefused) {
  const std::string dir = FreshDir("file_symlink");
  Write(dir + "/real.yaml", "old\n");
  fs::create_symlink("real.yaml", dir + "/link.yaml");
  const absl::Status s =
      ReplaceFileContent(dir + "/link.yaml", Snapshot(dir + "/link.yaml"), "new\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), dir + "/link.yaml: is a symbolic link")) << s;
  EXPECT_TRUE(fs::is_symlink(dir + "/link.yaml"));
  EXPECT_EQ(testing::ReadAll(dir + "/real.yaml"), "old\n");
  EXPECT_EQ(Names(dir), (std::set<std::string>{"link.yaml", "real.yaml"}));
}

// Proves a file without write permission (0444) is refused, also for root.
TEST(ReplaceFileContent, ReadOnlyFileRefused) {
  const std::string dir = FreshDir("file_read_only");
  const std::string path = dir + "/p.yaml";
  Write(path, "old\n");
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
  const absl::Status s = ReplaceFileContent(path, Snapshot(path), "new\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "is read-only (mode 0444)")) << s;
  EXPECT_EQ(testing::ReadAll(path), "old\n");
  EXPECT_EQ(Names(dir), (std::set<std::string>{"p.yaml"}));
}

// Proves a file with another hard link is refused (a rename would leave
// the other name with the old content).
TEST(ReplaceFileContent, HardLinkedFileRefused) {
  const std::string dir = FreshDir("file_hard_link");
  const std::string path = dir + "/p.yaml";
  Write(path, "old\n");
  fs::create_hard_link(path, dir + "/q.yaml");
  const absl::Status s = ReplaceFileContent(path, Snapshot(path), "new\n");
  EXPECT_TRUE(absl::StrContains(s.message(), "has 2 hard links")) << s;
  EXPECT_EQ(testing::ReadAll(path), "old\n");
  EXPECT_EQ(Names(dir), (std::set<std::string>{"p.yaml", "q.yaml"}));
}

// Proves a file edited in place, replaced or removed after it was read is
// not replaced: kAborted, saying so, the newer content kept, no temp left;
// whether it changed before the call or during it (from the temp namer,
// after the first check: only the last check before the rename sees it).
TEST(ReplaceFileContent, FileChangedSinceReadIsNotReplaced) {
  const std::string dir = FreshDir("file_changed");
  const std::string path = dir + "/p.yaml";
  struct Case {
    const char* what;
    void (*change)(const std::string& path);
  };
  const Case cases[] = {
      {"edited in place, same size and mtime",
       [](const std::string& p) {
         struct stat st = Lstat(p);
         Write(p, "OLD\n");
         const struct timespec times[2] = {st.st_atim, st.st_mtim};
         ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
       }},
      {"appended to", [](const std::string& p) { std::ofstream(p, std::ios::app) << "more\n"; }},
      {"replaced by rename",
       [](const std::string& p) {
         Write(p + ".editor", "old\n");
         fs::rename(p + ".editor", p);
       }},
      {"removed", [](const std::string& p) { fs::remove(p); }},
  };
  for (const Case& c : cases) {
    for (const bool during : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.what, during ? ", during the write" : ", before the call"));
      fs::remove(path);
      Write(path, "old\n");
      const FileSnapshot read = Snapshot(path);
      if (!during) c.change(path);
      const TempNamer change_then_name = [&](const std::string& base) {
        if (during) c.change(path);
        return RandomTempName(base);
      };
      const absl::Status s = ReplaceFileContent(path, read, "new\n", change_then_name);
      EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
      EXPECT_TRUE(absl::StrContains(s.message(), path + ": changed while buildgate was working"))
          << s;
      EXPECT_NE(testing::ReadAll(path), "new\n");
      for (const std::string& name : Names(dir)) EXPECT_EQ(name, "p.yaml");
    }
  }
}

// Runs `body` in a forked child (to change its limits or user without
// touching this process) and returns the text it returns; a child that
// does not finish says so.
std::string InChild(const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(pipe_fds[0]);
    const std::string text = body();
    (void)!::write(pipe_fds[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "the child did not finish: " + text;
  }
  return text;
}

// In a child: drops root for user and group 65534 (nobody), no other groups.
bool BecomeNobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
}

// Proves a write that fails part way (here EFBIG: the file size limit of a
// forked child) names the file and the reason, keeps the file and leaves
// no temp file.
TEST(ReplaceFileContent, FailedWriteSaysWhyAndLeavesNoTemp) {
  const std::string dir = FreshDir("file_write_fails");
  const std::string path = dir + "/p.yaml";
  Write(path, "old\n");
  const FileSnapshot read = Snapshot(path);
  const std::string message = InChild([&] {
    std::signal(SIGXFSZ, SIG_IGN);  // write() fails with EFBIG instead.
    const struct rlimit limit = {4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    return ReplaceFileContent(path, read, std::string(100000, 'x')).ToString();
  });
  EXPECT_TRUE(absl::StrContains(message, path + ": cannot write the new content: ")) << message;
  EXPECT_TRUE(absl::StrContains(message, std::strerror(EFBIG))) << message;
  EXPECT_EQ(testing::ReadAll(path), "old\n");
  EXPECT_EQ(Names(dir), (std::set<std::string>{"p.yaml"}));
}

// Proves a user who may not write the file (EACCES), or may write it but
// cannot give the new file its group (a group the user is not in), gets
// the reason and nothing is written, rather than a file changing owner.
TEST(ReplaceFileContent, NotPermittedSaysWhyAndWritesNothing) {
  const std::string dir = FreshDir("file_not_permitted");
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  const std::string roots = dir + "/roots.yaml", own = dir + "/own.yaml";
  Write(roots, "old\n");
  Write(own, "old\n");
  ASSERT_EQ(::chown(own.c_str(), 65534, 0), 0);  // nobody's file, group root.
  ASSERT_EQ(::chmod(own.c_str(), 0664), 0);
  const FileSnapshot roots_read = Snapshot(roots), own_read = Snapshot(own);
  const std::string messages = InChild([&] {
    if (!BecomeNobody()) return std::string("cannot become nobody");
    return ReplaceFileContent(roots, roots_read, "new\n").ToString() + "\n" +
           ReplaceFileContent(own, own_read, "new\n").ToString();
  });
  EXPECT_TRUE(absl::StrContains(messages, roots + ": is not writable: " + std::strerror(EACCES)))
      << messages;
  EXPECT_TRUE(absl::StrContains(messages, own + ": cannot keep its owner 65534:0")) << messages;
  EXPECT_TRUE(absl::StrContains(messages, std::strerror(EPERM))) << messages;
  EXPECT_EQ(testing::ReadAll(roots), "old\n");
  EXPECT_EQ(testing::ReadAll(own), "old\n");
  EXPECT_EQ(Names(dir), (std::set<std::string>{"own.yaml", "roots.yaml"}));
}

// Proves reading a symbolic link whose target is missing says so.
TEST(ReadFileSnapshot, DanglingSymbolicLinkSaysSo) {
  const std::string dir = FreshDir("file_dangling");
  fs::create_symlink("missing.yaml", dir + "/p.yaml");
  auto read = ReadFileSnapshot(dir + "/p.yaml");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(absl::StrContains(read.status().message(),
                                dir + "/p.yaml: cannot read: No such file or directory (a symbolic "
                                      "link whose target does not exist)"))
      << read.status();
}

}  // namespace
}  // namespace buildgate
