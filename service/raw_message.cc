#include "service/raw_message.h"

#include <cstdio>
#include <mutex>

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"

namespace buildgate {
namespace {

// Where protobuf's log messages go while this thread parses a request.
thread_local std::string* t_parse_error = nullptr;

void CapturingLogHandler(google::protobuf::LogLevel level, const char* filename, int line,
                         const std::string& message) {
  if (t_parse_error != nullptr) {
    if (t_parse_error->empty()) *t_parse_error = message;
    return;
  }
  // Everything else as protobuf's default handler prints it.
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  std::fprintf(stderr, "[libprotobuf %s %s:%d] %s\n", kLevels[level], filename, line, message.c_str());
  std::fflush(stderr);
}

// "String field 'buildgate.v1.BuildStep.repo' contains invalid UTF-8 data
// when parsing ..." -> "invalid UTF-8 in string field buildgate.v1.BuildStep.repo".
// The name comes from our schema, never from the request.
std::string Explain(const std::string& protobuf_error) {
  const std::size_t open = protobuf_error.find('\'');
  const std::size_t close = open == std::string::npos ? open : protobuf_error.find('\'', open + 1);
  if (close != std::string::npos && protobuf_error.find("invalid UTF-8") != std::string::npos) {
    return absl::StrCat("invalid UTF-8 in string field ", protobuf_error.substr(open + 1, close - open - 1));
  }
  return "malformed protobuf";
}

}  // namespace

void InstallProtobufLogCapture() {
  static std::once_flag install;
  std::call_once(install, [] { google::protobuf::SetLogHandler(&CapturingLogHandler); });
}

absl::Status ParseRawMessage(const grpc::ByteBuffer& bytes, google::protobuf::Message* out) {
  grpc::ByteBuffer copy(bytes);  // Shares the slices; the reader needs a mutable buffer.
  grpc::ProtoBufferReader reader(&copy);
  std::string error;
  t_parse_error = &error;
  const bool ok = reader.status().ok() && out->ParseFromZeroCopyStream(&reader);
  t_parse_error = nullptr;
  if (ok) return absl::OkStatus();
  out->Clear();
  return absl::InvalidArgumentError(absl::StrCat(
      "request: not a valid ", out->GetDescriptor()->full_name(), ": ", Explain(error)));
}

grpc::Status SerializeRawMessage(const google::protobuf::Message& message, grpc::ByteBuffer* out) {
  bool own_buffer = false;
  return grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(message, out,
                                                                                    &own_buffer);
}

}  // namespace buildgate
