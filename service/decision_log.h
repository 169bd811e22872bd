// DecisionLog: one JSON line per decision (or refused request), written by
// spdlog's async logger so the request path only enqueues.
//
// Entries carry ids, verdict, builder, policy identity and latency, never
// step content: credentials cannot reach the log. Free text (error messages)
// passes through RedactSecrets first as a second line of defence.
//
// Thread-safe.
#ifndef BUILDGATE_SERVICE_DECISION_LOG_H_
#define BUILDGATE_SERVICE_DECISION_LOG_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/step.pb.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace buildgate {

struct DecisionLogEntry {
  std::string decision_id;
  absl::Time time;
  std::string caller;
  std::string rpc;  // "Decide", "DecideBatch".
  const v1::BuildStep* step = nullptr;      // Ids only are logged.
  const v1::Decision* decision = nullptr;   // Null when the request failed.
  absl::Status status;
  int64_t latency_us = 0;
};

// Appends `text` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string* out, absl::string_view text);

// Replaces values that look like credentials in free text (password=...,
// token: ..., Authorization: Bearer ...) with [REDACTED].
std::string RedactSecrets(absl::string_view text);

class DecisionLog {
 public:
  // `path`: "-" for stdout, "" for no log, else a file appended to.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(const std::string& path);
  ~DecisionLog();

  void Record(const DecisionLogEntry& entry);
  // Blocks until everything recorded so far is written.
  void Flush();

  // The JSON line Record writes (without newline); for tests.
  static std::string Format(const DecisionLogEntry& entry);

 private:
  explicit DecisionLog(std::shared_ptr<spdlog::logger> logger);
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_DECISION_LOG_H_
