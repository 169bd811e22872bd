// The one place absl::Status becomes grpc::Status. An INVALID_ARGUMENT that
// carries a field (common/input_error.h's payload: InvalidField and the
// nesting helpers set it) also carries the standard rich-error details: a
// google.rpc.Status holding a google.rpc.BadRequest with that field and the
// rest of the message as its description, and, when the error has a file,
// line, column or value too, a buildgate.v1.InputError with all of them,
// which gRPC clients in any language read from the grpc-status-details-bin
// trailer. Nothing here parses the message.
//
// Thread-safe: pure.
#ifndef BUILDGATE_SERVICE_GRPC_STATUS_H_
#define BUILDGATE_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "buildgate/v1/common.pb.h"
#include "common/input_error.h"
#include "input/input_error_message.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace buildgate {

// Longest status message sent (bytes); errors quote input through
// QuoteInput already, this is the backstop that keeps any message within
// what gRPC's metadata allows.
inline constexpr std::size_t kMaxStatusMessageBytes = 1024;

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  absl::string_view message = status.message();
  std::string text(message.substr(0, kMaxStatusMessageBytes));
  if (message.size() > kMaxStatusMessageBytes) {
    // Never end inside a UTF-8 sequence.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
    text.append("…(truncated)");
  }
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() != absl::StatusCode::kInvalidArgument) return grpc::Status(code, std::move(text));
  const InputLocation location = GetInputLocation(status);
  if (location.field.empty()) return grpc::Status(code, std::move(text));
  // The message begins with its field (the payload's contract); the
  // description is the rest.
  const std::string head = absl::StrCat(location.field, ": ");
  google::rpc::BadRequest bad;
  google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
  v->set_field(location.field);
  v->set_description(absl::StartsWith(text, head) ? text.substr(head.size()) : text);
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(text);
  details.add_details()->PackFrom(bad);
  if (!location.file.empty() || location.line > 0 || !location.value.empty()) {
    v1::InputError where = InputErrorMessage(status);
    where.set_message(text);  // Bounded as the status message is.
    details.add_details()->PackFrom(where);
  }
  return grpc::Status(code, std::move(text), details.SerializeAsString());
}

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_GRPC_STATUS_H_
