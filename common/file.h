// Reading whole files, and replacing a file's content as a careful editor
// does, for the binaries and the service (the engine never touches the file
// system).
//
//   auto read = ReadFileSnapshot(path);          // content + identity
//   ... compute `fixed` from read->content ...
//   absl::Status s = ReplaceFileContent(path, *read, fixed);
//
// Thread-safe: the functions keep no state. Two callers replacing the same
// file at once are not coordinated (the second sees the file changed and
// writes nothing, or, inside the last check's few microseconds, wins).
#ifndef BUILDGATE_COMMON_FILE_H_
#define BUILDGATE_COMMON_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <ctime>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace buildgate {

// Files larger than this are refused unless the caller passes its own cap.
inline constexpr std::size_t kDefaultMaxFileBytes = 1 << 20;

// Which file a snapshot was read from, and its size and modification time
// then: a file replaced (a new inode) or written in place (new mtime or
// size) no longer matches.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  struct timespec mtime = {};
};
bool operator==(const FileIdentity& a, const FileIdentity& b);
inline bool operator!=(const FileIdentity& a, const FileIdentity& b) { return !(a == b); }

// A file's content and the identity of the file it was read from.
struct FileSnapshot {
  std::string content;
  FileIdentity identity;
};

// The whole content of the regular file `path` (symbolic links followed), at
// most `max_bytes` long, with its identity. Errors (kInvalidArgument,
// "PATH: ..." with the reason): cannot open or read it (a symbolic link
// whose target is missing says so); not a regular file (a directory, FIFO,
// socket or device is refused without reading from it, so `/dev/urandom` or
// a FIFO never blocks); larger than `max_bytes` (named with the limit, also
// when it grows while read).
absl::StatusOr<FileSnapshot> ReadFileSnapshot(const std::string& path,
                                              std::size_t max_bytes = kDefaultMaxFileBytes);

// Writes all of `data` to the open file `fd`, again after a partial write
// or EINTR; 0, or the errno of the write that failed.
int WriteAll(int fd, absl::string_view data);

// ReadFileSnapshot's content alone.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             std::size_t max_bytes = kDefaultMaxFileBytes);

// Names a temp file for the file named `base` (no directory); called once
// per attempt until a name is free.
using TempNamer = std::function<std::string(const std::string& base)>;

// ReplaceFileContent's temp names: ".BASE.<16 random hex digits>.buildgate-tmp"
// (BASE cut to 200 bytes), hidden and not matching *.yaml, *.yml or *.json.
std::string RandomTempName(const std::string& base);

// Replaces the content of the regular file `path` by `content`, as read in
// `as_read` (from ReadFileSnapshot(path)), the way a careful editor saves:
//
//  - the new content goes to a new temp file, created exclusively (never
//    following or reusing anything already there) under a new name from
//    `namer` (tests choose the names) in the same directory, then
//    renamed over `path`; the temp file is synced
//    before the rename and the directory after it;
//  - the file keeps its owner, group, mode and extended attributes (all
//    of them, or nothing is written);
//  - refused, writing nothing: `path` is a symbolic link (edit the file
//    it points to by its own name), not a regular file, read-only (no write
//    permission for the caller, or no write bit at all, which also holds
//    for root), or has other hard links (a rename would leave them with the
//    old content); the owner cannot be kept (a caller who is not root
//    editing a file of another group or user);
//  - the file is checked unchanged just before the rename: the same inode,
//    size, modification time and content as `as_read`; if it changed
//    (kAborted), nothing is written;
//  - on every error the temp file is removed, and the message names `path`
//    and gives the reason (strerror: ENOSPC, EACCES, EROFS, ...).
//
// The last check and the rename are two system calls: a write landing
// between them (microseconds) is still replaced. Directories named in
// `path` are followed as given.
absl::Status ReplaceFileContent(const std::string& path, const FileSnapshot& as_read,
                                absl::string_view content, const TempNamer& namer = RandomTempName);

}  // namespace buildgate

#endif  // BUILDGATE_COMMON_FILE_H_
