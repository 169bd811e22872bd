// DecisionLog: one JSON line per decision (or refused request), written by
// spdlog's async logger. The request path only formats its line into a
// per-thread buffer; buffers go to spdlog in batches (kBatchBytes, or every
// kBatchInterval from a background flusher), so the logger's queue sees one
// message per batch rather than a lock and a thread wake-up per decision.
// Flush() (called at shutdown) writes every buffer out; a crash can lose at
// most the last kBatchInterval.
//
// Entries carry ids, verdict, builder, policy identity and latency, never
// step content: credentials cannot reach the log. Free text (error messages)
// passes through RedactSecrets first as a second line of defence.
//
// Thread-safe.
#ifndef BUILDGATE_SERVICE_DECISION_LOG_H_
#define BUILDGATE_SERVICE_DECISION_LOG_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
  static constexpr std::size_t kBatchBytes = 32 * 1024;
  static constexpr absl::Duration kBatchInterval = absl::Milliseconds(50);

  // `path`: "-" for stdout, "" for no log, else a file appended to.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(const std::string& path);
  ~DecisionLog();

  void Record(const DecisionLogEntry& entry);
  // Blocks until everything recorded so far is written.
  void Flush();

  // The JSON line Record writes (without newline); for tests.
  static std::string Format(const DecisionLogEntry& entry);

 private:
  struct ThreadBuffer;
  explicit DecisionLog(std::shared_ptr<spdlog::logger> logger);
  ThreadBuffer& Local();
  void Emit(ThreadBuffer& buffer);  // Requires buffer.mu.
  void FlushBuffers();

  std::shared_ptr<spdlog::logger> logger_;
  const uint64_t id_;
  std::mutex buffers_mu_;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_DECISION_LOG_H_
