// buildgated's operational log: to standard error, as JSON lines by default
//   {"time":"...Z","level":"info","logger":"buildgated","pid":7,
//    "message":"policy reload","fields":{"files_read":"2","failed":"0"}}
// or as plain text for people (--log_format=text): "... info buildgated:
// policy reload files_read=2 failed=0". The decision log is a separate
// stream (decision_log.h): standard output or a file, one JSON object per
// line, never mixed with these lines.
//
// Log only through LogEvent (gRPC's own lines are routed through it too), so
// every line has the chosen format.
//
// Thread-safe after SetUpLogging (spdlog's sinks lock).
#ifndef BUILDGATE_SERVICE_LOGGING_H_
#define BUILDGATE_SERVICE_LOGGING_H_

#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/common.h"

namespace buildgate {

// `format` is "json" or "text"; anything else is kInvalidArgument. Before
// this is called, LogEvent writes text lines to stderr (tests).
absl::Status SetUpLogging(absl::string_view format);

struct LogField {
  absl::string_view key;
  std::string value;
};

// One line: `message` (a fixed description of the event) and its fields.
void LogEvent(spdlog::level::level_enum level, absl::string_view message,
              std::initializer_list<LogField> fields = {});

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_LOGGING_H_
