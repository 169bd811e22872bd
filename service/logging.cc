#include "service/logging.h"

#include <grpc/support/log.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/decision_log.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace buildgate {
namespace {

std::atomic<bool> g_json{false};

// gRPC's own log lines (a failed bind, a TLS handshake) through the same
// logger, so standard error stays one format.
void GrpcLogToSpdlog(gpr_log_func_args* args) {
  const spdlog::level::level_enum level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::err
      : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                : spdlog::level::debug;
  LogEvent(level, "grpc",
           {{"detail", args->message}, {"source", absl::StrCat(args->file, ":", args->line)}});
}

}  // namespace

absl::Status SetUpLogging(absl::string_view format) {
  if (format != "json" && format != "text") {
    return InvalidField("--log_format", absl::StrCat("\"", format, "\": json or text"));
  }
  auto logger = std::make_shared<spdlog::logger>("buildgated",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  g_json.store(format == "json");
  if (format == "json") {
    // LogEvent writes the "message" and "fields" members as the payload.
    formatter->set_pattern(
        absl::StrCat(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"buildgated","pid":)",
                     ::getpid(), ",%v}"));
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l buildgated: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->flush_on(spdlog::level::info);  // Every line is whole when a collector reads it.
  spdlog::set_default_logger(std::move(logger));
  gpr_set_log_function(GrpcLogToSpdlog);
  return absl::OkStatus();
}

void LogEvent(spdlog::level::level_enum level, absl::string_view message,
              std::initializer_list<LogField> fields) {
  std::string line;
  if (g_json.load()) {
    line = "\"message\":";
    AppendJsonString(&line, message);
    if (fields.size() > 0) {
      line.append(",\"fields\":{");
      bool first = true;
      for (const LogField& f : fields) {
        if (!first) line.push_back(',');
        first = false;
        AppendJsonString(&line, f.key);
        line.push_back(':');
        AppendJsonString(&line, f.value);
      }
      line.push_back('}');
    }
  } else {
    line.assign(message.data(), message.size());
    for (const LogField& f : fields) absl::StrAppend(&line, " ", f.key, "=", f.value);
  }
  spdlog::log(level, "{}", line);
}

}  // namespace buildgate
