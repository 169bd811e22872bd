#include "store/file_write_tracker.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace buildgate {

FileWriteTracker::~FileWriteTracker() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status FileWriteTracker::Watch(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot watch ", dir, ": ", std::strerror(errno)));
  }
  if (wd_ >= 0 && dir == dir_ && st.st_dev == dev_ && st.st_ino == ino_) return absl::OkStatus();
  if (fd_ < 0) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot watch ", dir, " for writers: inotify_init1: ", std::strerror(errno)));
    }
  }
  if (wd_ >= 0) ::inotify_rm_watch(fd_, wd_);  // The old directory; fails harmlessly if gone.
  Drain();                                     // Events of the old directory.
  names_.clear();
  forgotten_seq_ = ++seq_;
  overflowed_ = false;
  wd_ = ::inotify_add_watch(fd_, dir.c_str(),
                            IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                IN_DELETE | IN_ONLYDIR | IN_EXCL_UNLINK);
  if (wd_ < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot watch ", dir, " for writers: inotify_add_watch: ", std::strerror(errno)));
  }
  dir_ = dir;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return absl::OkStatus();
}

void FileWriteTracker::Drain() {
  if (fd_ < 0) return;
  alignas(struct inotify_event) char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof(buffer));
    if (n <= 0) return;  // EAGAIN: nothing queued.
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      ++seq_;
      if (event->mask & IN_Q_OVERFLOW) {
        overflowed_ = true;
        forgotten_seq_ = seq_;
        for (auto& [name, state] : names_) state.last = LastWrite::kOpen;
        continue;
      }
      if (event->wd != wd_) continue;  // A watch removed by Watch().
      if (event->mask & IN_IGNORED) {  // The directory is gone.
        wd_ = -1;
        continue;
      }
      if (event->len > 0 && !(event->mask & IN_ISDIR)) OnEvent(event->mask, event->name);
    }
  }
}

void FileWriteTracker::OnEvent(uint32_t mask, const std::string& name) {
  if (mask & (IN_DELETE | IN_MOVED_FROM)) {
    names_.erase(name);
    forgotten_seq_ = seq_;
    return;
  }
  Name& state = names_[name];
  state.seq = seq_;
  if (mask & IN_CREATE) {
    // A regular file created here is open for writing; a symlink, FIFO or a
    // hard link to an existing file is not written through this name.
    struct stat st;
    const std::string path = absl::StrCat(dir_, "/", name);
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
      state.last = LastWrite::kOpen;
    }
  } else if (mask & IN_MODIFY) {
    state.last = LastWrite::kOpen;
  } else if (mask & IN_CLOSE_WRITE) {
    state.last = LastWrite::kClosed;
  } else if (mask & IN_MOVED_TO) {
    state.last = LastWrite::kRenamedIn;
  }
}

FileWriteTracker::LastWrite FileWriteTracker::Last(const std::string& name) const {
  auto it = names_.find(name);
  if (it != names_.end()) return it->second.last;
  return overflowed_ ? LastWrite::kOpen : LastWrite::kNone;
}

uint64_t FileWriteTracker::LastEvent(const std::string& name) const {
  auto it = names_.find(name);
  return std::max(forgotten_seq_, it == names_.end() ? 0 : it->second.seq);
}

}  // namespace buildgate
