// The one place absl::Status becomes grpc::Status. An INVALID_ARGUMENT whose
// message names a field ("step.repo: required") also carries the standard
// rich-error details: a google.rpc.Status holding a google.rpc.BadRequest
// with that field and the rest of the message as its description, which
// gRPC clients in any language read from the grpc-status-details-bin trailer.
//
// Thread-safe: pure.
#ifndef BUILDGATE_SERVICE_GRPC_STATUS_H_
#define BUILDGATE_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
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
  // "FIELD: what" -> BadRequest{field: FIELD, description: what}. A field
  // path has no spaces ("policy.inline_policy.overrides[0].policy.root").
  const std::size_t colon = message.find(": ");
  const absl::string_view field = message.substr(0, colon);
  if (colon == absl::string_view::npos || field.empty() ||
      field.find_first_of(" \t\n") != absl::string_view::npos) {
    return grpc::Status(code, std::move(text));
  }
  google::rpc::BadRequest bad;
  google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
  v->set_field(std::string(field));
  v->set_description(text.size() > colon + 2 ? text.substr(colon + 2) : std::string());
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(text);
  details.add_details()->PackFrom(bad);
  return grpc::Status(code, std::move(text), details.SerializeAsString());
}

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_GRPC_STATUS_H_
