#include "service/decision_log.h"

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

std::string DecisionLog::Format(const DecisionLogEntry& e) {
  std::string line;
  line.reserve(384);
  auto field = [&](absl::string_view key, absl::string_view value) {
    if (line.size() > 1) line.push_back(',');
    AppendJsonString(&line, key);
    line.push_back(':');
    AppendJsonString(&line, value);
  };
  line.push_back('{');
  field("time", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", e.time, absl::UTCTimeZone()));
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

DecisionLog::DecisionLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

DecisionLog::~DecisionLog() { Flush(); }

void DecisionLog::Record(const DecisionLogEntry& entry) {
  if (!logger_) return;
  logger_->info(Format(entry));
}

void DecisionLog::Flush() {
  if (!logger_) return;
  logger_->flush();
  // The async flush is queued; wait until the pool has drained it.
  for (int i = 0; i < 2000 && spdlog::thread_pool() && spdlog::thread_pool()->queue_size() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace buildgate
