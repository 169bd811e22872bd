// DecisionLog: one JSON line per decision (or refused request), written by
// a writer thread of its own. The request path only formats its line into a
// per-thread buffer and never waits for I/O. Two modes:
//  - before_reply (buildgated's default): a call hands its lines to the
//    writer when it is done (AfterWritten) and is answered from the writer
//    thread once they are written, so every answered decision is in the log
//    even if the process is then SIGKILLed. Concurrent calls share one
//    write (group commit).
//  - batched: buffers move to the writer's queue in batches (kBatchBytes,
//    or every kBatchInterval from a background flusher); the reply does not
//    wait, and a SIGKILL loses up to kBatchInterval of lines.
//
// Integrity:
//  - every write is whole lines; a file whose last line was torn by a crash
//    is repaired when opened: the torn bytes are moved to PATH.torn and the
//    file cut back to its last whole line, so nothing is appended to a torn
//    line and every line of PATH is valid JSON (torn_bytes_repaired());
//  - the writer's queue is bounded (max_queued_bytes): when the sink stalls
//    (a full pipe, a slow disk) new lines are dropped and counted
//    (dropped_lines()), memory stays bounded;
//  - Flush() waits for the queue to drain, at most flush_timeout; shutdown
//    never blocks longer on a stalled sink.
//
// Entries carry ids, verdict, builder, policy identity and
// latency, never step content: credentials cannot reach the log. Free text
// (error messages) passes through RedactSecrets first as a second line of
// defence.
//
// Thread-safe.
#ifndef BUILDGATE_SERVICE_DECISION_LOG_H_
#define BUILDGATE_SERVICE_DECISION_LOG_H_

#include <atomic>
#include <condition_variable>
#include <functional>
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

struct DecisionLogOptions {
  // Most bytes waiting for a slow sink; lines beyond are dropped and counted.
  std::size_t max_queued_bytes = std::size_t{8} << 20;
  // Longest Flush() (and so shutdown) waits for a stalled sink.
  absl::Duration flush_timeout = absl::Seconds(5);
  // See the modes above.
  bool before_reply = true;
};

class DecisionLog {
 public:
  static constexpr std::size_t kBatchBytes = 32 * 1024;
  static constexpr absl::Duration kBatchInterval = absl::Milliseconds(50);

  // `path`: "-" for stdout, "" for no log, else a file appended to (created
  // 0640; a torn last line is repaired first, see above).
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(
      const std::string& path, DecisionLogOptions options = DecisionLogOptions());
  ~DecisionLog();  // Flushes, waiting at most flush_timeout.

  using WrittenCallback = std::function<void(bool written)>;

  void Record(const DecisionLogEntry& entry);
  // Before-reply mode: hands this thread's recorded lines (the current
  // call's) to the writer and calls `written(true)` from the writer thread
  // once they are in the sink, `written(false)` if they were dropped (queue
  // full) or the write failed. With nothing recorded, in batched mode, or
  // with no log, calls `written(true)` at once, on this thread.
  void AfterWritten(WrittenCallback written);
  // Waits until everything recorded so far is written, at most
  // flush_timeout; false if the sink did not take it all in time.
  bool Flush();

  uint64_t dropped_lines() const;
  // Bytes of a torn last line moved to PATH.torn when the file was opened.
  std::size_t torn_bytes_repaired() const { return torn_bytes_; }

  // Appends the JSON line Record writes for `entry` (without newline).
  static void AppendLine(const DecisionLogEntry& entry, std::string* out);
  // The same line as a string; for tests.
  static std::string Format(const DecisionLogEntry& entry);

 private:
  struct ThreadBuffer;
  struct Writer;
  DecisionLog(std::shared_ptr<Writer> writer, DecisionLogOptions options, std::size_t torn_bytes);
  ThreadBuffer& Local();
  void FlushBuffers();

  std::shared_ptr<Writer> writer_;  // Null: no log. Shared with the writer thread.
  const DecisionLogOptions options_;
  const std::size_t torn_bytes_;
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
