// Reading whole files, for the binaries and the service (the engine never
// touches the file system). Thread-safe: pure.
#ifndef BUILDGATE_COMMON_FILE_H_
#define BUILDGATE_COMMON_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace buildgate {

// The whole content of `path`; kInvalidArgument "PATH: cannot read: REASON".
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace buildgate

#endif  // BUILDGATE_COMMON_FILE_H_
