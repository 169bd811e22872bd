#include "common/file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace buildgate {
namespace {

absl::Status Error(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status TooLarge(const std::string& path, std::size_t max_bytes) {
  return Error(path, absl::StrCat("larger than ", max_bytes, " bytes (limit max_document_bytes)"));
}

// "PATH: WHAT: REASON" with the code errno `error` maps to (ENOSPC is
// kResourceExhausted, EACCES kPermissionDenied, ...).
absl::Status ErrnoError(int error, const std::string& path, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(path, ": ", what, ": ", std::strerror(error)));
}

// ErrnoError for ReplaceFileContent's errors before the rename.
absl::Status NotWritten(int error, const std::string& path, absl::string_view what) {
  return absl::Status(
      absl::ErrnoToStatusCode(error),
      absl::StrCat(path, ": ", what, ": ", std::strerror(error), "; nothing written"));
}

absl::Status Refused(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", why, "; nothing written"));
}

absl::Status Changed(const std::string& path) {
  return absl::AbortedError(
      absl::StrCat(path,
                   ": changed while buildgate was working on it (edited, replaced or removed "
                   "since it was read); nothing written, run again on the new content"));
}

// Owns a file descriptor: closes it when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

FileIdentity IdentityOf(const struct stat& st) {
  FileIdentity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = st.st_size;
  id.mtime = st.st_mtim;
  return id;
}

// Why `path` cannot be opened for reading, for errno `error`.
std::string CannotRead(const std::string& path, int error) {
  struct stat st;
  if (error == ENOENT && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return absl::StrCat("cannot read: ", std::strerror(error),
                        " (a symbolic link whose target does not exist)");
  }
  return absl::StrCat("cannot read: ", std::strerror(error));
}

// Reads up to `limit` bytes of `fd` from offset 0 into `out`; errno on error.
int ReadUpTo(int fd, std::size_t limit, std::string* out) {
  out->resize(limit);
  std::size_t got = 0;
  while (got < limit) {
    const ssize_t n = ::pread(fd, out->data() + got, limit - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out->resize(got);
  return 0;
}

// Copies every extended attribute of `from` to `to` (ACLs and security
// labels included, as far as the caller may read and set them).
absl::Status CopyExtendedAttributes(int from, int to, const std::string& path) {
  std::string names;
  for (;;) {
    const ssize_t size = ::flistxattr(from, nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return absl::OkStatus();  // The file system has none.
      return NotWritten(errno, path, "cannot list its extended attributes");
    }
    names.resize(static_cast<std::size_t>(size));
    const ssize_t got = ::flistxattr(from, names.data(), names.size());
    if (got >= 0) {
      names.resize(static_cast<std::size_t>(got));
      break;
    }
    if (errno != ERANGE) return NotWritten(errno, path, "cannot list its extended attributes");
  }
  for (absl::string_view name_view : absl::StrSplit(names, '\0', absl::SkipEmpty())) {
    const std::string name(name_view);
    std::string value;
    for (;;) {
      const ssize_t size = ::fgetxattr(from, name.c_str(), nullptr, 0);
      if (size < 0) {
        return NotWritten(errno, path, absl::StrCat("cannot read extended attribute ", name));
      }
      value.resize(static_cast<std::size_t>(size));
      const ssize_t got = ::fgetxattr(from, name.c_str(), value.data(), value.size());
      if (got >= 0) {
        value.resize(static_cast<std::size_t>(got));
        break;
      }
      if (errno != ERANGE) {
        return NotWritten(errno, path, absl::StrCat("cannot read extended attribute ", name));
      }
    }
    if (::fsetxattr(to, name.c_str(), value.data(), value.size(), 0) != 0) {
      return NotWritten(errno, path, absl::StrCat("cannot keep extended attribute ", name));
    }
  }
  return absl::OkStatus();
}

// A temp file in a directory, removed when this goes out of scope unless
// it was renamed into place (Renamed()).
class TempFile {
 public:
  TempFile(int dir_fd, std::string name, int fd)
      : dir_fd_(dir_fd), name_(std::move(name)), fd_(fd) {}
  ~TempFile() {
    if (!renamed_) ::unlinkat(dir_fd_, name_.c_str(), 0);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  void Renamed() { renamed_ = true; }

 private:
  int dir_fd_;
  std::string name_;
  Fd fd_;
  bool renamed_ = false;
};

}  // namespace

bool operator==(const FileIdentity& a, const FileIdentity& b) {
  return a.device == b.device && a.inode == b.inode && a.size == b.size &&
         a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec;
}

std::string RandomTempName(const std::string& base) {
  std::uint64_t bits = 0;
  if (::getrandom(&bits, sizeof(bits), GRND_NONBLOCK) != sizeof(bits)) {
    // Uniqueness does not rest on this: the file is created exclusively.
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    bits = static_cast<std::uint64_t>(now.tv_nsec) ^ (static_cast<std::uint64_t>(::getpid()) << 32);
  }
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(bits));
  // Short enough for NAME_MAX (255) whatever the length of `base`.
  return absl::StrCat(".", base.substr(0, 200), ".", suffix, ".buildgate-tmp");
}

absl::StatusOr<FileSnapshot> ReadFileSnapshot(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.ok()) return Error(path, CannotRead(path, errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error(path, CannotRead(path, errno));
  if (S_ISDIR(st.st_mode)) return Error(path, "is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return Error(path, "not a regular file (a device, FIFO or socket)");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) return TooLarge(path, max_bytes);
  FileSnapshot snapshot;
  snapshot.identity = IdentityOf(st);
  std::string& text = snapshot.content;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);  // One more byte sees growth.
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(path, absl::StrCat("read error: ", std::strerror(errno)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got > max_bytes) return TooLarge(path, max_bytes);
    if (got == text.size()) text.resize(std::min(text.size() * 2, max_bytes + 1));
  }
  text.resize(got);
  return snapshot;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, std::size_t max_bytes) {
  absl::StatusOr<FileSnapshot> snapshot = ReadFileSnapshot(path, max_bytes);
  if (!snapshot.ok()) return snapshot.status();
  return std::move(snapshot->content);
}

absl::Status ReplaceFileContent(const std::string& path, const FileSnapshot& as_read,
                                absl::string_view content, const TempNamer& namer) {
  const std::filesystem::path p(path);
  const std::string base = p.filename().string();
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (base.empty() || base == "." || base == "..") return Refused(path, "not a file name");
  // Every step below names the file relative to this one directory, so the
  // temp file, the checks and the rename all happen where the file is.
  const Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.ok()) return NotWritten(errno, path, "cannot open its directory");

  struct stat st;
  if (::fstatat(dir_fd.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Changed(path);
    return NotWritten(errno, path, "cannot examine it");
  }
  if (S_ISLNK(st.st_mode)) {
    return Refused(path,
                   "is a symbolic link; only regular files are edited (name the file it "
                   "points to)");
  }
  if (!S_ISREG(st.st_mode)) return Refused(path, "is not a regular file");
  if (st.st_nlink > 1) {
    return Refused(path, absl::StrCat("has ", st.st_nlink,
                                      " hard links; replacing it would leave the other names "
                                      "with the old content"));
  }
  // Root may write anything; a file with no write bit at all is read-only
  // to root too, as editors treat it.
  if ((st.st_mode & 0222) == 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Refused(path, absl::StrCat("is read-only (mode ", mode, ")"));
  }
  if (::faccessat(dir_fd.get(), base.c_str(), W_OK, AT_EACCESS) != 0) {
    return NotWritten(errno, path, "is not writable");
  }
  const Fd original(::openat(dir_fd.get(), base.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!original.ok()) return NotWritten(errno, path, "cannot open it");
  if (::fstat(original.get(), &st) != 0) return NotWritten(errno, path, "cannot examine it");
  if (IdentityOf(st) != as_read.identity) return Changed(path);

  int temp_fd = -1;
  std::string temp_name;
  for (int attempt = 0; attempt < 100 && temp_fd < 0; ++attempt) {
    temp_name = namer(base);
    // O_EXCL|O_NOFOLLOW: whatever already has this name (a file, a planted
    // symbolic link) is left alone and another name tried.
    temp_fd = ::openat(dir_fd.get(), temp_name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (temp_fd < 0 && errno != EEXIST) {
      return NotWritten(errno, path, absl::StrCat("cannot create a temp file in ", dir));
    }
  }
  if (temp_fd < 0) {
    return Refused(path, absl::StrCat("no free temp file name in ", dir, " after 100 tries"));
  }
  TempFile temp(dir_fd.get(), temp_name, temp_fd);

  // Owner first: changing it clears set-user-ID bits, which the mode sets back.
  if (::fchown(temp.fd(), st.st_uid, st.st_gid) != 0) {
    return NotWritten(errno, path,
                      absl::StrCat("cannot keep its owner ", st.st_uid, ":", st.st_gid,
                                   " (run as that user, or as root)"));
  }
  if (absl::Status s = CopyExtendedAttributes(original.get(), temp.fd(), path); !s.ok()) return s;
  if (::fchmod(temp.fd(), st.st_mode & 07777) != 0) {
    return NotWritten(errno, path, "cannot keep its mode");
  }
  if (const int error = WriteAll(temp.fd(), content); error != 0) {
    return NotWritten(error, path, "cannot write the new content");
  }
  if (::fsync(temp.fd()) != 0) {
    return NotWritten(errno, path, "cannot sync the new content");
  }

  // Unchanged since it was read: the same file at the name, and the same bytes.
  struct stat now;
  if (::fstatat(dir_fd.get(), base.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Changed(path);
    return NotWritten(errno, path, "cannot examine it");
  }
  if (IdentityOf(now) != as_read.identity) return Changed(path);
  std::string current;
  if (const int error = ReadUpTo(original.get(), as_read.content.size() + 1, &current);
      error != 0) {
    return NotWritten(error, path, "cannot read it again");
  }
  if (current != as_read.content) return Changed(path);

  if (::renameat(dir_fd.get(), temp.name().c_str(), dir_fd.get(), base.c_str()) != 0) {
    return NotWritten(errno, path, "cannot replace it");
  }
  temp.Renamed();
  if (::fsync(dir_fd.get()) != 0) {
    return ErrnoError(errno, path, "replaced, but its directory could not be synced");
  }
  return absl::OkStatus();
}

int WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace buildgate
