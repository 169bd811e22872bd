#include "service/decision_log.h"

#include <cstdio>
#include <limits>
#include <regex>

#include "absl/strings/str_cat.h"
#include "spdlog/async.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace buildgate {

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string RedactSecrets(absl::string_view text) {
  static const std::regex* pattern = new std::regex(
      R"(((password|passwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|json[_-]?key|authorization)\s*[:=]\s*(bearer\s+)?)("[^"]*"|'[^']*'|[^\s,;}]+))",
      std::regex::icase);
  return std::regex_replace(std::string(text), *pattern, "$1[REDACTED]");
}

namespace {

// "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" with the per-second prefix formatted once per
// second per thread (absl::FormatTime costs more than the rest of a line).
void AppendTime(std::string* out, absl::Time t) {
  struct Cache {
    int64_t second = std::numeric_limits<int64_t>::min();
    std::string prefix;
  };
  thread_local Cache cache;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t second = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --second;
  }
  if (second != cache.second) {
    cache.second = second;
    cache.prefix = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
  }
  out->append(cache.prefix);
  char buf[9];
  std::snprintf(buf, sizeof(buf), ".%06dZ", static_cast<int>(frac));
  out->append(buf, 8);
}

}  // namespace

std::string DecisionLog::Format(const DecisionLogEntry& e) {
  std::string line;
  line.reserve(384);
  auto field = [&](absl::string_view key, absl::string_view value) {
    if (line.size() > 1) line.push_back(',');
    AppendJsonString(&line, key);
    line.push_back(':');
    AppendJsonString(&line, value);
  };
  line.append("{\"time\":\"");
  AppendTime(&line, e.time);
  line.push_back('"');
  field("decision_id", e.decision_id);
  field("rpc", e.rpc);
  field("caller", e.caller);
  if (e.step != nullptr) {
    field("org", e.step->org_id());
    field("project", e.step->project_id());
    field("pipeline", e.step->pipeline_id());
    field("stage", e.step->stage_id());
    field("step", e.step->step_id());
  }
  field("status", absl::StatusCodeToString(e.status.code()));
  if (!e.status.ok()) field("error", RedactSecrets(e.status.message()));
  if (e.decision != nullptr && e.status.ok()) {
    field("verdict", v1::Verdict_Name(e.decision->verdict()));
    field("builder", v1::Builder_Name(e.decision->builder()));
    field("policy_scope", e.decision->policy_scope());
    field("policy_revision", e.decision->policy_revision());
    field("policy_fingerprint", e.decision->policy_fingerprint());
  }
  absl::StrAppend(&line, ",\"latency_us\":", e.latency_us, "}");
  return line;
}

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<DecisionLog>(new DecisionLog(nullptr));
  static std::once_flag pool_once;
  std::call_once(pool_once, [] { spdlog::init_thread_pool(16384, 1); });
  std::shared_ptr<spdlog::logger> logger;
  try {
    const std::string name = absl::StrCat("decisions:", path, ":", reinterpret_cast<uintptr_t>(&path));
    if (path == "-") {
      auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
      logger = std::make_shared<spdlog::async_logger>(name, sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    } else {
      auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
      logger = std::make_shared<spdlog::async_logger>(name, sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return absl::InvalidArgumentError(absl::StrCat("decision log ", path, ": ", e.what()));
  }
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  return std::unique_ptr<DecisionLog>(new DecisionLog(std::move(logger)));
}

namespace {
std::atomic<uint64_t> g_next_log_id{1};
}  // namespace

struct DecisionLog::ThreadBuffer {
  std::mutex mu;
  std::string lines;  // Complete lines, each ending in '\n'.
};

DecisionLog::DecisionLog(std::shared_ptr<spdlog::logger> logger)
    : logger_(std::move(logger)), id_(g_next_log_id.fetch_add(1)) {
  if (!logger_) return;
  flusher_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(kBatchInterval), [this] { return stop_; })) {
      lock.unlock();
      FlushBuffers();
      lock.lock();
    }
  });
}

DecisionLog::~DecisionLog() {
  if (flusher_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    flusher_.join();
  }
  Flush();
}

DecisionLog::ThreadBuffer& DecisionLog::Local() {
  struct Slot {
    uint64_t log = 0;
    std::shared_ptr<ThreadBuffer> buffer;
  };
  thread_local Slot slot;
  if (slot.log != id_) {
    slot.log = id_;
    slot.buffer = std::make_shared<ThreadBuffer>();
    std::lock_guard<std::mutex> lock(buffers_mu_);
    buffers_.push_back(slot.buffer);
  }
  return *slot.buffer;
}

void DecisionLog::Emit(ThreadBuffer& buffer) {
  if (buffer.lines.empty()) return;
  buffer.lines.pop_back();  // The logger adds the last newline.
  logger_->info(buffer.lines);
  buffer.lines.clear();
}

void DecisionLog::FlushBuffers() {
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    buffers = buffers_;
  }
  for (auto& b : buffers) {
    std::lock_guard<std::mutex> lock(b->mu);
    Emit(*b);
  }
}

void DecisionLog::Record(const DecisionLogEntry& entry) {
  if (!logger_) return;
  ThreadBuffer& buffer = Local();
  std::lock_guard<std::mutex> lock(buffer.mu);  // Uncontended but for the flusher.
  buffer.lines.append(Format(entry));
  buffer.lines.push_back('\n');
  if (buffer.lines.size() >= kBatchBytes) Emit(buffer);
}

void DecisionLog::Flush() {
  if (!logger_) return;
  FlushBuffers();
  logger_->flush();
  // The async flush is queued; wait until the pool has drained it.
  for (int i = 0; i < 2000 && spdlog::thread_pool() && spdlog::thread_pool()->queue_size() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace buildgate
