// Reading whole files, for the binaries and the service (the engine never
// touches the file system). Thread-safe: pure.
#ifndef BUILDGATE_COMMON_FILE_H_
#define BUILDGATE_COMMON_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace buildgate {

// Files larger than this are refused unless the caller passes its own cap.
inline constexpr std::size_t kDefaultMaxFileBytes = 1 << 20;

// The whole content of the regular file `path`, at most `max_bytes` long.
// Errors (kInvalidArgument, "PATH: ..."): cannot open or read it; not a
// regular file (a directory, FIFO, socket or device is refused without
// reading from it, so `/dev/urandom` or a FIFO never blocks); larger than
// `max_bytes` (named with the limit, also when it grows while read).
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             std::size_t max_bytes = kDefaultMaxFileBytes);

}  // namespace buildgate

#endif  // BUILDGATE_COMMON_FILE_H_
