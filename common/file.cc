#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace buildgate {
namespace {

absl::Status Error(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status TooLarge(const std::string& path, std::size_t max_bytes) {
  return Error(path, absl::StrCat("larger than ", max_bytes, " bytes (limit max_document_bytes)"));
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Error(path, absl::StrCat("cannot read: ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Error(path, absl::StrCat("cannot read: ", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return Error(path, "is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return Error(path, "not a regular file (a device, FIFO or socket)");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) return TooLarge(path, max_bytes);
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);  // One more byte sees growth.
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
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
  return text;
}

}  // namespace buildgate
