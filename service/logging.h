// buildgated's operational log: spdlog to standard error, as JSON lines by
// default ({"time":..., "level":..., "logger":"buildgated", "pid":...,
// "message":...}) or as plain text for people (--log_format=text). The
// decision log is a separate stream (decision_log.h): standard output or a
// file, every line one JSON object, never mixed with these lines.
//
// Thread-safe after SetUpLogging (spdlog's sinks lock).
#ifndef BUILDGATE_SERVICE_LOGGING_H_
#define BUILDGATE_SERVICE_LOGGING_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace buildgate {

// `format` is "json" or "text"; anything else is kInvalidArgument.
absl::Status SetUpLogging(absl::string_view format);

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_LOGGING_H_
