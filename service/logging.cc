#include "service/logging.h"

#include <grpc/support/log.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/decision_log.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace buildgate {
namespace {

// %J in a pattern: the message as a JSON string, quotes included.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string quoted;
    AppendJsonString(&quoted, absl::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// gRPC's own log lines (a failed bind, a TLS handshake) through the same
// logger, so standard error stays one format.
void GrpcLogToSpdlog(gpr_log_func_args* args) {
  const spdlog::level::level_enum level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::err
      : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                : spdlog::level::debug;
  spdlog::log(level, "grpc: {}", args->message);
}

}  // namespace

absl::Status SetUpLogging(absl::string_view format) {
  if (format != "json" && format != "text") {
    return InvalidField("--log_format", absl::StrCat("\"", format, "\": json or text"));
  }
  auto logger = std::make_shared<spdlog::logger>("buildgated",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('J').set_pattern(
        absl::StrCat(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"buildgated","pid":)",
                     ::getpid(), R"(,"message":%J})"));
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l buildgated: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->flush_on(spdlog::level::info);  // Every line is whole when a collector reads it.
  spdlog::set_default_logger(std::move(logger));
  gpr_set_log_function(GrpcLogToSpdlog);
  return absl::OkStatus();
}

}  // namespace buildgate
