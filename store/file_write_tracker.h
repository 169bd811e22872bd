// FileWriteTracker: tells, from Linux inotify events on one directory,
// whether a writer has finished each file in it, so the policy store never
// loads a file that is still open for writing, however long its writer
// stalls.
//
// Per file name it keeps the last write event seen:
//   IN_CREATE (a new regular file), IN_MODIFY (a write or a truncation)
//       -> kOpen: being written; wait for the writer to close it;
//   IN_CLOSE_WRITE -> kClosed: a writer closed it (it may open it again);
//   IN_MOVED_TO    -> kRenamedIn: renamed into place, finished by its writer;
//   IN_DELETE, IN_MOVED_FROM -> forgotten.
// A name with no event since the watch started is kNone: it was there (and
// taken as finished) when watching began. inotify reports only what happens
// after the watch is added, so a file being written at that moment looks
// finished; the store documents that (docs/operating.md). When the event
// queue overflows, events were lost: every name counts as kOpen until its
// next close or rename.
//
// Usage, once per reload: Watch(dir), Drain(), then Last(name) for each
// changed file; LastEvent(name) before and after reading a file (with a
// Drain() between) tells whether an event came for it while it was read.
//
// Thread-compatible: one thread (the store's controlling thread) uses it.
#ifndef BUILDGATE_STORE_FILE_WRITE_TRACKER_H_
#define BUILDGATE_STORE_FILE_WRITE_TRACKER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

namespace buildgate {

class FileWriteTracker {
 public:
  enum class LastWrite { kNone, kOpen, kClosed, kRenamedIn };

  FileWriteTracker() = default;
  ~FileWriteTracker();
  FileWriteTracker(const FileWriteTracker&) = delete;
  FileWriteTracker& operator=(const FileWriteTracker&) = delete;

  // Watches the directory now at `dir`. A no-op while that same directory
  // (device and inode) is watched; otherwise (first call, the directory
  // replaced, moved away or deleted) starts over and forgets every name.
  // Errors: kUnavailable (no inotify instance or watch: a system limit such
  // as fs.inotify.max_user_watches, or `dir` cannot be read).
  absl::Status Watch(const std::string& dir);

  // Reads every queued event. Cheap when there is none.
  void Drain();

  // The last write event seen for `name` (a file directly in the directory).
  LastWrite Last(const std::string& name) const;

  // The sequence number of the last event that may concern `name` (an
  // overflow, a deletion or a restart of the watch may concern any name).
  // Equal before and after a read: no event came for the file meanwhile.
  uint64_t LastEvent(const std::string& name) const;

  bool watching() const { return wd_ >= 0; }

 private:
  struct Name {
    LastWrite last = LastWrite::kNone;
    uint64_t seq = 0;  // Of its last event.
  };
  void OnEvent(uint32_t mask, const std::string& name);

  int fd_ = -1;  // The inotify instance.
  int wd_ = -1;  // The directory's watch; -1 when none.
  std::string dir_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool overflowed_ = false;     // Events were lost: names without an entry count as kOpen.
  uint64_t seq_ = 0;            // Of the last event read.
  uint64_t forgotten_seq_ = 0;  // Of the last time names were forgotten or lost.
  absl::flat_hash_map<std::string, Name> names_;
};

}  // namespace buildgate

#endif  // BUILDGATE_STORE_FILE_WRITE_TRACKER_H_
